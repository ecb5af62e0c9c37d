//! Pods as nodes: for each node whose label it serves, the provider creates a
//! pod (in a namespace of the build's own under the per-build policy), waits
//! until it runs, opens a console tunnel to it, and hands Ansible the pod
//! through the kubectl connection. Release stops the tunnels and deletes the
//! pods and the build's namespace.
//!
//! Every lease out is kept in a registry ([`live`]), so that a server
//! shutdown gives them all back ([`KubernetesNodes::release_all`]) before
//! the runtime stops. Pods and per-build namespaces carry the server's
//! marker as a label, so that a server's next start deletes what a crashed
//! run left ([`KubernetesNodes::delete_leftovers`]).
//!
//! | module | what it holds |
//! |---|---|
//! | [`live`] | the leases out, acquires in flight, and what a lease gives back |

mod live;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::Addr;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use portcullis_actors::tunnel::{GetTunnelState, Tunnel, TunnelLog, TunnelSettings, TunnelSpec};
use portcullis_config::server::{KubernetesProvider, NamespacePolicy, PodLabel};
use serde_json::{json, Map, Value};

use self::live::{Held, Live};
use super::NodeLog;

/// The label that ties pods and per-build namespaces to the server that
/// made them; its value is the server's marker (see [`server_label`]).
pub const SERVER_LABEL: &str = "portcullis/server";

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
    /// The server is shutting down and gives out no more nodes.
    #[error("kubernetes provider {provider}: the server is shutting down")]
    ShuttingDown {
        /// The provider.
        provider: String,
    },
}

/// One Kubernetes provider. Cheap to clone; clones share the leases out.
#[derive(Clone)]
pub struct KubernetesNodes {
    config: KubernetesProvider,
    tunnel_marker: String,
    /// The value of [`SERVER_LABEL`] on what this provider makes.
    server_label: String,
    live: Arc<Live>,
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
            server_label: server_label(tunnel_marker),
            live: Arc::default(),
        }
    }

    /// True when this provider makes nodes of `label`.
    pub fn serves(&self, label: &str) -> bool {
        self.config.labels.contains_key(label)
    }

    /// Pods for `nodes` (name, label) of build `build`; on error, whatever
    /// was made is deleted before it returns. Refused once
    /// [`release_all`](Self::release_all) has begun; one in flight then
    /// stops where it is and deletes what it made.
    pub async fn acquire(
        &self,
        build: &str,
        nodes: &[(String, String)],
        log: NodeLog,
    ) -> Result<PodLease, NodeError> {
        let Some(_acquiring) = self.live.begin_acquire() else {
            return Err(self.shutting_down());
        };
        self.check_kubectl()?;
        let cluster = self.cluster().await?;
        let namespace = match &self.config.namespace {
            NamespacePolicy::PerBuild => format!("portcullis-{}", k8s_name(build)),
            NamespacePolicy::Shared(ns) => ns.clone(),
        };
        let mut held = Held {
            provider: self.config.name.clone(),
            client: cluster.client.clone(),
            namespace: namespace.clone(),
            own_namespace: None,
            pods: Vec::new(),
            tunnels: Vec::new(),
        };
        let mut pods = Vec::new();
        let filled = tokio::select! {
            filled = self.fill(&mut held, &mut pods, &cluster, build, nodes, log) => filled,
            () = self.live.closing() => Err(self.shutting_down()),
        };
        if let Err(e) = filled {
            held.release().await;
            return Err(e);
        }
        match self.live.register(held) {
            Ok(id) => Ok(PodLease {
                live: self.live.clone(),
                id: Some(id),
                namespace,
                pods,
            }),
            Err(held) => {
                (*held).release().await;
                Err(self.shutting_down())
            }
        }
    }

    /// Gives back every lease out (tunnels stopped, pods and per-build
    /// namespaces deleted) and refuses acquires from now on: for a server
    /// that shuts down. Returns how many leases it released.
    pub async fn release_all(&self) -> usize {
        self.live.release_all().await
    }

    /// Deletes what a previous run of this server (same marker) left in the
    /// cluster: under `per-build` its namespaces, pods and all; under a
    /// shared namespace its pods there. Returns how many it deleted.
    ///
    /// Call it at start, before any build: it cannot tell a crashed run's
    /// pods from this run's.
    pub async fn delete_leftovers(&self) -> Result<usize, NodeError> {
        let cluster = self.cluster().await?;
        match &self.config.namespace {
            NamespacePolicy::PerBuild => {
                let api: Api<Namespace> = Api::all(cluster.client);
                self.delete_labelled(api, "namespace").await
            }
            NamespacePolicy::Shared(ns) => {
                let api: Api<Pod> = Api::namespaced(cluster.client, ns);
                self.delete_labelled(api, &format!("pod in {ns}")).await
            }
        }
    }

    /// Deletes every object of `api` labelled as this server's; `what` names
    /// them in messages. Returns how many it deleted.
    async fn delete_labelled<K>(&self, api: Api<K>, what: &str) -> Result<usize, NodeError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let selector = format!("{SERVER_LABEL}={}", self.server_label);
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.api_error(format!("listing leftovers ({what})"), e))?;
        // Filtered here too: a server that ignores the selector must not cost
        // anyone else their objects.
        let ours = list.items.iter().filter(|item| {
            let labels = item.meta().labels.as_ref();
            labels.and_then(|l| l.get(SERVER_LABEL)) == Some(&self.server_label)
        });
        let mut deleted = 0;
        for name in ours.filter_map(|item| item.meta().name.as_deref()) {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => deleted += 1,
                Err(e) => live::log_delete_error(
                    &self.config.name,
                    &format!("leftover {what} {name}"),
                    &e,
                ),
            }
        }
        Ok(deleted)
    }

    fn shutting_down(&self) -> NodeError {
        NodeError::ShuttingDown {
            provider: self.config.name.clone(),
        }
    }

    /// Makes the namespace, the pods and their tunnels, recording each in
    /// `held` so that whatever happens, release finds it.
    async fn fill(
        &self,
        held: &mut Held,
        pod_nodes: &mut Vec<PodNode>,
        cluster: &Cluster,
        build: &str,
        nodes: &[(String, String)],
        log: NodeLog,
    ) -> Result<(), NodeError> {
        if self.config.namespace == NamespacePolicy::PerBuild {
            self.create_namespace(&cluster.client, &held.namespace)
                .await?;
            held.own_namespace = Some(held.namespace.clone());
        }
        let namespace = held.namespace.clone();
        let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &namespace);
        for (node, label) in nodes {
            let name = format!("{}-{}", k8s_name(build), k8s_name(node));
            let spec = &self.config.labels[label];
            log(&format!(
                "Creating pod {namespace}/{name} for node {node} ({label})"
            ));
            held.pods.push(name.clone());
            let pod = pod_of(&name, build, &self.server_label, spec);
            if let Err(e) = pods.create(&PostParams::default(), &pod).await {
                // Not ours to delete: it may be someone else's of that name.
                held.pods.pop();
                return Err(self.api_error(format!("creating pod {name}"), e));
            }
            pod_nodes.push(PodNode {
                node: node.clone(),
                name: name.clone(),
                context: cluster.context.clone(),
                kubeconfig: self.config.kubeconfig.clone(),
                kubectl: self.config.kubectl.clone(),
                console_port: None,
            });
            self.wait_running(&pods, &namespace, &name).await?;
            log(&format!("Pod {namespace}/{name} is running"));
            let (tunnel, port) = self
                .open_tunnel(cluster, &namespace, &name, build, log.clone())
                .await?;
            held.tunnels.push(tunnel);
            if let Some(pod) = pod_nodes.last_mut() {
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
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/managed-by".into(), "portcullis".into()),
                    (SERVER_LABEL.into(), self.server_label.clone()),
                ])),
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
        let live = Arc::downgrade(&self.live);
        let provider = self.config.name.clone();
        let tunnel_log: TunnelLog = Arc::new(move |line: &str| {
            log(line);
            // A build still running at shutdown never writes its node lines
            // out (the build is dropped with the system), so what its tunnel
            // says then, kubectl's last lines among it, goes to the server log.
            if Weak::upgrade(&live).is_some_and(|live| live.is_closing()) {
                tracing::info!(%provider, "{line}");
            }
        });
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

/// The pod of one node: `spec`'s image kept alive by a sleeping shell,
/// labelled with its build and its server.
fn pod_of(name: &str, build: &str, server: &str, spec: &PodLabel) -> Pod {
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
        (SERVER_LABEL.to_string(), server.to_string()),
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

/// The [`SERVER_LABEL`] value for a server's tunnel marker: the marker
/// itself when it is a valid label value (a server's is, e.g.
/// `portcullis-0123456789abcdef`), else a digest of it.
pub fn server_label(marker: &str) -> String {
    use sha1::{Digest, Sha1};
    let edges_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let valid = marker.len() <= 63
        && edges_ok(marker.chars().next())
        && edges_ok(marker.chars().last())
        && marker
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        return marker.to_string();
    }
    let digest = Sha1::digest(marker.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("marker-{hex}")
}

/// One pod of a lease, as the inventory sees it.
struct PodNode {
    node: String,
    name: String,
    context: String,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    console_port: Option<u16>,
}

/// The pods one provider gave a build; released explicitly, on drop, or by
/// a server shutdown, whichever comes first.
pub struct PodLease {
    live: Arc<Live>,
    /// What to give back, kept in `live`; `None` once taken here.
    id: Option<u64>,
    namespace: String,
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

    /// The host files the build's playbooks read to reach the pods (each
    /// pod's kubeconfig and kubectl), which the build sandbox must show.
    pub fn sandbox_files(&self) -> Vec<PathBuf> {
        self.pods
            .iter()
            .flat_map(|pod| [pod.kubeconfig.clone(), pod.kubectl.clone()])
            .collect()
    }

    /// Stops the tunnels, then deletes the pods and the build's namespace
    /// (nothing if a shutdown did so already).
    pub async fn release(mut self) {
        if let Some(held) = self.take() {
            held.release().await;
        }
    }

    fn take(&mut self) -> Option<Held> {
        self.id.take().and_then(|id| self.live.take(id))
    }
}

impl Drop for PodLease {
    fn drop(&mut self) {
        // Only a dropped build (cancel, timeout, panic) gets here: drop
        // cannot wait, so the release runs as a task of its own. A server
        // shutdown does not rely on it: it releases every lease itself first.
        let Some(held) = self.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                namespace = %held.namespace,
                "pods left behind: no runtime to delete them; the server's next start deletes them"
            );
            return;
        };
        runtime.spawn(held.release());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_marker_is_its_own_label_value_and_anything_else_is_hashed() {
        let marker = "portcullis-0123456789abcdef";
        assert_eq!(server_label(marker), marker);
        let long = format!("pod-nodes-{}", "-tmp-x".repeat(20));
        let label = server_label(&long);
        assert!(label.starts_with("marker-") && label.len() <= 63, "{label}");
        assert_eq!(label, server_label(&long));
        assert_ne!(server_label("/a/b"), server_label("/a/c"));
    }
}
