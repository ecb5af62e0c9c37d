//! Pods as nodes: the Kubernetes node provider against the simulated cluster,
//! with the real pinned kubectl for the console tunnels.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use portcullis::nodes::{KubernetesNodes, NodeError, NodeLog};
use portcullis_config::server::{KubernetesProvider, NamespacePolicy, PodLabel};
use portcullis_integration_tests::tunnel_harness::{kubectl, within, Cluster, DEFAULT_KUBECTL};
use portcullis_kube_sim::HOLD_PENDING;

fn provider(cluster: &Cluster, kubeconfig: PathBuf, kubectl_path: PathBuf) -> KubernetesNodes {
    KubernetesNodes::new(config(kubeconfig, kubectl_path), &marker(cluster))
}

/// A tunnel marker of this test's own, so reaps elsewhere never touch it.
fn marker(cluster: &Cluster) -> String {
    let dir = cluster.dir().display().to_string();
    format!("pod-nodes-{}", dir.replace('/', "-"))
}

/// A provider config serving label `pod`, a namespace per build.
fn config(kubeconfig: PathBuf, kubectl_path: PathBuf) -> KubernetesProvider {
    let label = PodLabel {
        image: "debian:bookworm".into(),
        cpu: Some("500m".into()),
        memory: None,
        annotations: BTreeMap::new(),
    };
    KubernetesProvider {
        name: "sim".into(),
        kubeconfig,
        context: Some("sim".into()),
        namespace: NamespacePolicy::PerBuild,
        kubectl: kubectl_path,
        start_timeout: 10.0,
        labels: BTreeMap::from([("pod".to_string(), label)]),
    }
}

fn quiet() -> NodeLog {
    Arc::new(|_line: &str| {})
}

fn nodes() -> Vec<(String, String)> {
    vec![("worker".to_string(), "pod".to_string())]
}

#[actix::test]
async fn a_pod_node_runs_in_its_own_namespace_and_is_deleted_on_release() {
    within(60, async {
        // Given a provider serving label `pod` with a namespace per build
        let cluster = Cluster::start().await;
        let nodes_provider = provider(
            &cluster,
            cluster.kubeconfig.clone(),
            kubectl(DEFAULT_KUBECTL),
        );
        // When a build acquires a node of that label
        let lease = nodes_provider
            .acquire("b1", &nodes(), quiet())
            .await
            .expect("the pod runs");
        // Then the pod runs in the build's namespace and Ansible gets the kubectl connection
        let vars = lease.host_vars();
        let (node, vars) = &vars[0];
        assert_eq!(node, "worker");
        assert_eq!(vars["ansible_connection"], "kubectl");
        assert_eq!(vars["ansible_kubectl_namespace"], "portcullis-b1");
        assert_eq!(vars["ansible_kubectl_pod"], "b1-worker");
        assert!(vars["zuul_console_port"].as_u64().is_some(), "{vars}");
        assert!(cluster.sim.pod_json("portcullis-b1", "b1-worker").is_some());
        // And when the build releases it, pod and namespace are gone
        lease.release().await;
        assert!(cluster.sim.pod_json("portcullis-b1", "b1-worker").is_none());
    })
    .await;
}

#[actix::test]
async fn a_missing_kubeconfig_is_a_node_error_naming_it() {
    within(30, async {
        let cluster = Cluster::start().await;
        let missing = cluster.dir().join("no-such-kubeconfig");
        let nodes_provider = provider(&cluster, missing, kubectl(DEFAULT_KUBECTL));
        let err = nodes_provider.acquire("b2", &nodes(), quiet()).await.err();
        let Some(err @ NodeError::Kubeconfig { .. }) = err else {
            panic!("expected a kubeconfig error, got {err:?}");
        };
        assert!(err.to_string().contains("no-such-kubeconfig"), "{err}");
    })
    .await;
}

#[actix::test]
async fn a_missing_kubectl_is_a_node_error_and_leaves_no_namespace() {
    within(30, async {
        let cluster = Cluster::start().await;
        let nodes_provider = provider(
            &cluster,
            cluster.kubeconfig.clone(),
            PathBuf::from("/nonexistent/kubectl"),
        );
        let err = nodes_provider.acquire("b3", &nodes(), quiet()).await.err();
        let Some(err @ NodeError::Kubectl { .. }) = err else {
            panic!("expected a kubectl error, got {err:?}");
        };
        assert!(err.to_string().contains("/nonexistent/kubectl"), "{err}");
        assert!(cluster.sim.pod_json("portcullis-b3", "b3-worker").is_none());
    })
    .await;
}

#[actix::test]
async fn a_pod_that_never_runs_is_a_node_error_after_the_start_timeout_and_is_deleted() {
    within(30, async {
        // Given a label whose pods the simulated cluster keeps Pending
        let cluster = Cluster::start().await;
        let mut config = config(cluster.kubeconfig.clone(), kubectl(DEFAULT_KUBECTL));
        let label = config.labels.get_mut("pod").expect("label pod");
        label.annotations.insert(HOLD_PENDING.into(), "true".into());
        // When a build asks for one, with a 1 s start timeout
        config.start_timeout = 1.0;
        let nodes_provider = KubernetesNodes::new(config, &marker(&cluster));
        let err = nodes_provider.acquire("b4", &nodes(), quiet()).await.err();
        // Then it ends with the reason, and the pending pod is gone
        let Some(err @ NodeError::NotRunning { .. }) = err else {
            panic!("expected a not-running error, got {err:?}");
        };
        assert!(err.to_string().contains("start-timeout"), "{err}");
        assert!(cluster.sim.pod_json("portcullis-b4", "b4-worker").is_none());
    })
    .await;
}
