//! Pods as nodes: for each node whose label it serves, the provider creates a
//! pod (in a namespace of the build's own under the per-build policy), waits
//! until it runs, opens a console tunnel to it, and hands Ansible the pod
//! through the kubectl connection. Release stops the tunnels and deletes the
//! pods and the build's namespace.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use actix::Addr;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use portcullis_actors::tunnel::{
    CloseTunnel, GetTunnelState, Tunnel, TunnelLog, TunnelSettings, TunnelSpec,
};
use portcullis_config::server::{KubernetesProvider, NamespacePolicy, PodLabel};
use serde_json::{json, Map, Value};

use super::NodeLog;

/// Why a build got no pod; every kind ends the build as NODE_FAILURE.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The kubeconfig could not be read or names no usable context.
    #[error("kubernetes provider {provider}: kubeconfig {path}: {reason}", path = .path.display())]
    Kubeconfig {
        /// The provider.
        provider: String,
        /// The kubeconfig.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The cluster refused or failed a request.
    #[error("kubernetes provider {provider}: {what}: {reason}")]
    Api {
        /// The provider.
        provider: String,
        /// What was asked.
        what: String,
        /// The answer.
        reason: String,
    },
    /// A pod was not running within the start timeout, or failed.
    #[error("pod {namespace}/{pod} did not run: {reason}")]
    NotRunning {
        /// The pod's namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// Its last phase or the timeout.
        reason: String,
    },
    /// kubectl is missing or not executable.
    #[error("kubectl {path} cannot run: {reason}", path = .path.display())]
    Kubectl {
        /// The configured path.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The console tunnel to a pod did not come up.
    #[error("console tunnel to pod {pod}: {reason}")]
    Tunnel {
        /// The pod.
        pod: String,
        /// The tunnel's error.
        reason: String,
    },
}

/// One Kubernetes provider. Cheap to clone.
#[derive(Clone)]
pub struct KubernetesNodes {
    config: KubernetesProvider,
    tunnel_marker: String,
}

/// What a provider needs to reach the cluster, read from the kubeconfig.
struct Cluster {
    client: Client,
    context: String,
}

impl KubernetesNodes {
    /// A provider with this config whose tunnels carry `tunnel_marker`.
    pub fn new(config: KubernetesProvider, tunnel_marker: &str) -> KubernetesNodes {
        KubernetesNodes {
            config,
            tunnel_marker: tunnel_marker.to_string(),
        }
    }

    /// True when this provider makes nodes of `label`.
    pub fn serves(&self, label: &str) -> bool {
        self.config.labels.contains_key(label)
    }

    /// Pods for `nodes` (name, label) of build `build`; on error, whatever
    /// was made is deleted before it returns.
    pub async fn acquire(
        &self,
        build: &str,
        nodes: &[(String, String)],
        log: NodeLog,
    ) -> Result<PodLease, NodeError> {
        self.check_kubectl()?;
        let cluster = self.cluster().await?;
        let namespace = match &self.config.namespace {
            NamespacePolicy::PerBuild => format!("portcullis-{}", k8s_name(build)),
            NamespacePolicy::Shared(ns) => ns.clone(),
        };
        let mut lease = PodLease {
            provider: self.config.name.clone(),
            client: Some(cluster.client.clone()),
            own_namespace: None,
            namespace: namespace.clone(),
            pods: Vec::new(),
        };
        let result = self.fill(&mut lease, &cluster, build, nodes, log).await;
        match result {
            Ok(()) => Ok(lease),
            Err(e) => {
                lease.release().await;
                Err(e)
            }
        }
    }

    async fn fill(
        &self,
        lease: &mut PodLease,
        cluster: &Cluster,
        build: &str,
        nodes: &[(String, String)],
        log: NodeLog,
    ) -> Result<(), NodeError> {
        if self.config.namespace == NamespacePolicy::PerBuild {
            self.create_namespace(&cluster.client, &lease.namespace)
                .await?;
            lease.own_namespace = Some(lease.namespace.clone());
        }
        let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &lease.namespace);
        for (node, label) in nodes {
            let name = format!("{}-{}", k8s_name(build), k8s_name(node));
            let spec = &self.config.labels[label];
            log(&format!(
                "Creating pod {}/{name} for node {node} ({label})",
                lease.namespace
            ));
            pods.create(&PostParams::default(), &pod_of(&name, build, spec))
                .await
                .map_err(|e| self.api_error(format!("creating pod {name}"), e))?;
            lease.pods.push(PodNode {
                node: node.clone(),
                name: name.clone(),
                context: cluster.context.clone(),
                kubeconfig: self.config.kubeconfig.clone(),
                kubectl: self.config.kubectl.clone(),
                tunnel: None,
                console_port: None,
            });
            self.wait_running(&pods, &lease.namespace, &name).await?;
            log(&format!("Pod {}/{name} is running", lease.namespace));
            let (tunnel, port) = self
                .open_tunnel(cluster, &lease.namespace, &name, build, log.clone())
                .await?;
            if let Some(pod) = lease.pods.last_mut() {
                pod.tunnel = Some(tunnel);
                pod.console_port = Some(port);
            }
        }
        Ok(())
    }

    fn check_kubectl(&self) -> Result<(), NodeError> {
        use std::os::unix::fs::PermissionsExt;
        let path = &self.config.kubectl;
        let error = |reason: String| NodeError::Kubectl {
            path: path.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return Err(error("not an executable file".into()));
        }
        Ok(())
    }

    async fn cluster(&self) -> Result<Cluster, NodeError> {
        let error = |reason: String| NodeError::Kubeconfig {
            provider: self.config.name.clone(),
            path: self.config.kubeconfig.clone(),
            reason,
        };
        let kubeconfig =
            Kubeconfig::read_from(&self.config.kubeconfig).map_err(|e| error(e.to_string()))?;
        let context = self
            .config
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| error("no context given and no current-context".into()))?;
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| error(e.to_string()))?;
        let client = Client::try_from(config).map_err(|e| error(e.to_string()))?;
        Ok(Cluster { client, context })
    }

    async fn create_namespace(&self, client: &Client, name: &str) -> Result<(), NodeError> {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".into(),
                    "portcullis".into(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .map(drop)
            .map_err(|e| self.api_error(format!("creating namespace {name}"), e))
    }

    /// Waits, by watching the pod, until it runs; bounded by the start timeout.
    async fn wait_running(
        &self,
        pods: &Api<Pod>,
        namespace: &str,
        name: &str,
    ) -> Result<(), NodeError> {
        let not_running = |reason: String| NodeError::NotRunning {
            namespace: namespace.to_string(),
            pod: name.to_string(),
            reason,
        };
        let limit = Duration::from_secs_f64(self.config.start_timeout);
        let watch = async {
            let pod = pods
                .get(name)
                .await
                .map_err(|e| self.api_error(format!("reading pod {name}"), e))?;
            if let Some(done) = running(&pod) {
                return done.map_err(not_running);
            }
            let version = pod.metadata.resource_version.clone().unwrap_or_default();
            let params = WatchParams::default()
                .fields(&format!("metadata.name={name}"))
                .timeout(290);
            let mut events = pods
                .watch(&params, &version)
                .await
                .map_err(|e| self.api_error(format!("watching pod {name}"), e))?
                .boxed();
            while let Some(event) = events
                .try_next()
                .await
                .map_err(|e| self.api_error(format!("watching pod {name}"), e))?
            {
                match event {
                    WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                        if let Some(done) = running(&pod) {
                            return done.map_err(not_running);
                        }
                    }
                    WatchEvent::Deleted(_) => return Err(not_running("it was deleted".into())),
                    WatchEvent::Bookmark(_) => {}
                    WatchEvent::Error(e) => return Err(not_running(e.to_string())),
                }
            }
            Err(not_running("the watch ended before it ran".into()))
        };
        match tokio::time::timeout(limit, watch).await {
            Ok(result) => result,
            Err(_) => Err(not_running(format!(
                "still not running after {} s (start-timeout)",
                self.config.start_timeout
            ))),
        }
    }

    async fn open_tunnel(
        &self,
        cluster: &Cluster,
        namespace: &str,
        pod: &str,
        build: &str,
        log: NodeLog,
    ) -> Result<(Addr<Tunnel>, u16), NodeError> {
        let mut spec = TunnelSpec::new(&self.config.kubeconfig, &cluster.context, namespace, pod);
        spec.build = build.to_string();
        let settings = TunnelSettings {
            kubectl: self.config.kubectl.clone(),
            instance: self.tunnel_marker.clone(),
            ..TunnelSettings::default()
        };
        let tunnel_log: TunnelLog = log;
        let error = |reason: String| NodeError::Tunnel {
            pod: pod.to_string(),
            reason,
        };
        let tunnel = Tunnel::start(spec, settings, tunnel_log, None)
            .await
            .map_err(|e| error(e.to_string()))?;
        match tunnel.send(GetTunnelState).await {
            Ok(state) => Ok((tunnel, state.port)),
            Err(e) => Err(error(e.to_string())),
        }
    }

    fn api_error(&self, what: String, e: kube::Error) -> NodeError {
        NodeError::Api {
            provider: self.config.name.clone(),
            what,
            reason: e.to_string(),
        }
    }
}

/// `Some(Ok)` once a pod runs, `Some(Err)` once it never will, `None` while pending.
fn running(pod: &Pod) -> Option<Result<(), String>> {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    match phase {
        Some("Running") => Some(Ok(())),
        Some(phase @ ("Succeeded" | "Failed")) => Some(Err(format!("its phase is {phase}"))),
        _ => None,
    }
}

/// The pod of one node: `spec`'s image kept alive by a sleeping shell.
fn pod_of(name: &str, build: &str, spec: &PodLabel) -> Pod {
    let mut limits = BTreeMap::new();
    if let Some(cpu) = &spec.cpu {
        limits.insert("cpu".to_string(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &spec.memory {
        limits.insert("memory".to_string(), Quantity(memory.clone()));
    }
    let resources = (!limits.is_empty()).then(|| ResourceRequirements {
        limits: Some(limits.clone()),
        requests: Some(limits),
        ..ResourceRequirements::default()
    });
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "portcullis".to_string(),
        ),
        ("portcullis/build".to_string(), k8s_name(build)),
    ]);
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels),
            annotations: (!spec.annotations.is_empty()).then(|| spec.annotations.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "node".into(),
                image: Some(spec.image.clone()),
                // Ansible execs into the pod; the container itself only waits.
                command: Some(vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done".into(),
                ]),
                resources,
                ..Container::default()
            }],
            restart_policy: Some("Never".into()),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// `s` as a DNS label part: lower-case alphanumerics and dashes, at most 40.
fn k8s_name(s: &str) -> String {
    let name: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    name.trim_matches('-').to_string()
}

/// One pod of a lease.
struct PodNode {
    node: String,
    name: String,
    context: String,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    tunnel: Option<Addr<Tunnel>>,
    console_port: Option<u16>,
}

/// The pods one provider gave a build; released explicitly, or on drop.
pub struct PodLease {
    provider: String,
    /// `None` once released.
    client: Option<Client>,
    namespace: String,
    /// The namespace made for this build, deleted with it.
    own_namespace: Option<String>,
    pods: Vec<PodNode>,
}

impl PodLease {
    /// The inventory host vars of each pod, by node name.
    pub fn host_vars(&self) -> Vec<(String, Value)> {
        self.pods
            .iter()
            .map(|pod| {
                let mut vars = Map::new();
                vars.insert("ansible_connection".into(), json!("kubectl"));
                vars.insert("ansible_kubectl_kubeconfig".into(), json!(pod.kubeconfig));
                vars.insert("ansible_kubectl_context".into(), json!(pod.context));
                vars.insert("ansible_kubectl_namespace".into(), json!(self.namespace));
                vars.insert("ansible_kubectl_pod".into(), json!(pod.name));
                vars.insert("ansible_kubectl_executable".into(), json!(pod.kubectl));
                if let Some(port) = pod.console_port {
                    vars.insert("zuul_console_port".into(), json!(port));
                }
                (pod.node.clone(), Value::Object(vars))
            })
            .collect()
    }

    /// Stops the tunnels, then deletes the pods and the build's namespace.
    pub async fn release(mut self) {
        let tunnels: Vec<_> = self
            .pods
            .iter_mut()
            .filter_map(|p| p.tunnel.take())
            .collect();
        for tunnel in tunnels {
            let _ = tunnel.send(CloseTunnel).await;
        }
        if let Some(client) = self.client.take() {
            delete_all(
                client,
                self.provider.clone(),
                self.namespace.clone(),
                self.pod_names(),
                self.own_namespace.take(),
            )
            .await;
        }
    }

    fn pod_names(&self) -> Vec<String> {
        self.pods.iter().map(|p| p.name.clone()).collect()
    }
}

impl Drop for PodLease {
    fn drop(&mut self) {
        // Only a dropped build (cancel, timeout, panic) gets here: the
        // tunnels stop as their addresses go; the pods are deleted by a task
        // of their own, since drop cannot wait.
        let Some(client) = self.client.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(namespace = %self.namespace, "pods left behind: no runtime to delete them");
            return;
        };
        let job = delete_all(
            client,
            self.provider.clone(),
            self.namespace.clone(),
            self.pod_names(),
            self.own_namespace.take(),
        );
        runtime.spawn(job);
    }
}

/// Deletes `pods` in `namespace`, then `own_namespace`; failures are logged.
async fn delete_all(
    client: Client,
    provider: String,
    namespace: String,
    pods: Vec<String>,
    own_namespace: Option<String>,
) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    for pod in pods {
        if let Err(e) = api.delete(&pod, &DeleteParams::default()).await {
            tracing::warn!(%provider, %namespace, %pod, "deleting pod failed: {e}");
        }
    }
    if let Some(ns) = own_namespace {
        let api: Api<Namespace> = Api::all(client);
        if let Err(e) = api.delete(&ns, &DeleteParams::default()).await {
            tracing::warn!(%provider, namespace = %ns, "deleting namespace failed: {e}");
        }
    }
}
