//! The `node-providers` section of the server config: where builds get nodes
//! other than the executor's own machine.
//!
//! ```yaml
//! node-providers:
//!   - name: cluster
//!     driver: kubernetes
//!     kubeconfig: kube/config        # relative to this file
//!     context: prod                  # default: the kubeconfig's current context
//!     namespace: per-build           # or the name of one shared namespace
//!     kubectl: /usr/lib/google-cloud-sdk/bin/kubectl.1.32
//!     start-timeout: 300             # seconds until a pod must run
//!     labels:
//!       pod-debian:
//!         image: debian:bookworm
//!         cpu: 500m
//!         memory: 512Mi
//!         annotations: {team: ci}
//! ```
//!
//! A nodeset node whose label no provider serves runs on the executor's
//! machine, as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ConfigError;

/// The kubectl Ansible and the tunnels use when the config names none (a pinned version).
pub const DEFAULT_KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

/// One node provider.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeProvider {
    /// Pods in a Kubernetes cluster.
    Kubernetes(KubernetesProvider),
}

impl NodeProvider {
    /// The provider's name.
    pub fn name(&self) -> &str {
        match self {
            NodeProvider::Kubernetes(k) => &k.name,
        }
    }
}

/// A Kubernetes provider: every node is a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesProvider {
    /// The provider's name.
    pub name: String,
    /// The kubeconfig file (resolved).
    pub kubeconfig: PathBuf,
    /// The kubeconfig context; `None`: its current context.
    pub context: Option<String>,
    /// Where the pods go.
    pub namespace: NamespacePolicy,
    /// The kubectl Ansible's connection and the tunnels run.
    pub kubectl: PathBuf,
    /// Seconds a pod may take to run before the build ends as NODE_FAILURE.
    pub start_timeout: f64,
    /// Pod specs by label.
    pub labels: BTreeMap<String, PodLabel>,
}

/// Which namespace a build's pods live in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespacePolicy {
    /// A namespace made for each build and deleted with it.
    PerBuild,
    /// One existing namespace shared by all builds.
    Shared(String),
}

/// The pod made for one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLabel {
    /// The container image.
    pub image: String,
    /// CPU request and limit (Kubernetes quantity), if any.
    pub cpu: Option<String>,
    /// Memory request and limit (Kubernetes quantity), if any.
    pub memory: Option<String>,
    /// Annotations of the pod (for admission controllers and the like).
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(tag = "driver", rename_all = "kebab-case")]
pub(super) enum RawNodeProvider {
    Kubernetes(RawKubernetes),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawKubernetes {
    name: String,
    kubeconfig: String,
    context: Option<String>,
    #[serde(default = "per_build")]
    namespace: String,
    kubectl: Option<String>,
    #[serde(default = "default_start_timeout")]
    start_timeout: f64,
    #[serde(default)]
    labels: BTreeMap<String, RawPodLabel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPodLabel {
    image: String,
    cpu: Option<String>,
    memory: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn per_build() -> String {
    "per-build".to_string()
}

fn default_start_timeout() -> f64 {
    300.0
}

/// Checks the providers and resolves their paths against `base`.
pub(super) fn resolve(
    file: &str,
    text: &str,
    base: &Path,
    raw: Vec<RawNodeProvider>,
) -> Result<Vec<NodeProvider>, ConfigError> {
    let mut seen_labels: BTreeMap<String, String> = BTreeMap::new();
    let mut providers = Vec::new();
    for RawNodeProvider::Kubernetes(k) in raw {
        let error = |key: &str, message: String| {
            ConfigError::in_file(file, super::line_of_key(text, key), message)
        };
        if providers.iter().any(|p: &NodeProvider| p.name() == k.name) {
            return Err(error("name", format!("node provider {} twice", k.name)));
        }
        if !(k.start_timeout.is_finite() && k.start_timeout > 0.0) {
            let message = format!("node provider {}: start-timeout must be positive", k.name);
            return Err(error("start-timeout", message));
        }
        for label in k.labels.keys() {
            if let Some(other) = seen_labels.insert(label.clone(), k.name.clone()) {
                let message = format!("label {label} is served by {other} and {}", k.name);
                return Err(error(label, message));
            }
        }
        let namespace = match k.namespace.as_str() {
            "per-build" => NamespacePolicy::PerBuild,
            "" => return Err(error("namespace", "namespace is empty".into())),
            shared => NamespacePolicy::Shared(shared.to_string()),
        };
        let labels = k.labels.into_iter().map(|(label, raw)| {
            let pod = PodLabel {
                image: raw.image,
                cpu: raw.cpu,
                memory: raw.memory,
                annotations: raw.annotations,
            };
            (label, pod)
        });
        providers.push(NodeProvider::Kubernetes(KubernetesProvider {
            name: k.name,
            kubeconfig: base.join(k.kubeconfig),
            context: k.context,
            namespace,
            kubectl: k
                .kubectl
                .map_or_else(|| DEFAULT_KUBECTL.into(), |p| base.join(p)),
            start_timeout: k.start_timeout,
            labels: labels.collect(),
        }));
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use crate::server::ServerConfig;

    use super::*;

    fn parse(providers: &str) -> Result<ServerConfig, ConfigError> {
        let text = format!("tenant-config: main.yaml\nnode-providers:\n{providers}");
        ServerConfig::parse(Path::new("/srv/p/portcullis.yaml"), &text)
    }

    #[test]
    fn a_kubernetes_provider_resolves_its_paths_and_labels() {
        let config = parse(
            "  - name: k\n    driver: kubernetes\n    kubeconfig: kube/config\n    context: sim\n    labels:\n      pod: {image: debian, cpu: 500m}\n",
        )
        .unwrap();
        let NodeProvider::Kubernetes(k) = &config.node_providers[0];
        assert_eq!(k.kubeconfig, Path::new("/srv/p/kube/config"));
        assert_eq!(k.namespace, NamespacePolicy::PerBuild);
        assert_eq!(k.kubectl, Path::new(DEFAULT_KUBECTL));
        assert_eq!(k.labels["pod"].cpu.as_deref(), Some("500m"));
        assert_eq!(k.labels["pod"].memory, None);
    }

    #[test]
    fn a_namespace_other_than_per_build_is_shared() {
        let config =
            parse("  - {name: k, driver: kubernetes, kubeconfig: c, namespace: ci, labels: {}}\n")
                .unwrap();
        let NodeProvider::Kubernetes(k) = &config.node_providers[0];
        assert_eq!(k.namespace, NamespacePolicy::Shared("ci".into()));
    }

    #[test]
    fn an_unknown_label_key_is_an_error_with_its_line() {
        let err = parse(
            "  - name: k\n    driver: kubernetes\n    kubeconfig: c\n    labels:\n      pod:\n        image: x\n        cpus: 2\n",
        )
        .unwrap_err();
        assert!(err.message.contains("cpus"), "{err}");
        assert!(
            err.to_string().starts_with("/srv/p/portcullis.yaml:"),
            "{err}"
        );
        // A tagged entry is read whole, so the line is at least the entry's.
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn a_wrong_type_is_an_error_with_its_line() {
        let err = parse(
            "  - name: k\n    driver: kubernetes\n    kubeconfig: c\n    start-timeout: soon\n",
        )
        .unwrap_err();
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn a_label_served_twice_is_an_error() {
        let err = parse(
            "  - {name: a, driver: kubernetes, kubeconfig: c, labels: {pod: {image: x}}}\n  - {name: b, driver: kubernetes, kubeconfig: c, labels: {pod: {image: x}}}\n",
        )
        .unwrap_err();
        assert!(err.message.contains("label pod"), "{err}");
    }
}
