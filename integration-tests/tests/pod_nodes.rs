//! Pods as nodes: the Kubernetes node provider against the simulated cluster,
//! with the real pinned kubectl for the console tunnels.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use portcullis::nodes::{KubernetesNodes, NodeError, NodeLog};
use portcullis_config::server::{KubernetesProvider, NamespacePolicy, PodLabel};
use portcullis_integration_tests::tunnel_harness::{kubectl, within, Cluster, DEFAULT_KUBECTL};

fn provider(cluster: &Cluster, kubeconfig: PathBuf, kubectl_path: PathBuf) -> KubernetesNodes {
    let label = PodLabel {
        image: "debian:bookworm".into(),
        cpu: Some("500m".into()),
        memory: None,
    };
    let config = KubernetesProvider {
        name: "sim".into(),
        kubeconfig,
        context: Some("sim".into()),
        namespace: NamespacePolicy::PerBuild,
        kubectl: kubectl_path,
        start_timeout: 10.0,
        labels: BTreeMap::from([("pod".to_string(), label)]),
    };
    let marker = format!(
        "pod-nodes-{}",
        cluster.dir().display().to_string().replace('/', "-")
    );
    KubernetesNodes::new(config, &marker)
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
