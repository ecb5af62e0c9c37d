//! Node providers: where a build's nodes come from besides the executor's
//! own machine.
//!
//! The executor asks [`NodeProviders::acquire`] for the nodes of a build's
//! nodeset before its playbooks run. A node whose label a provider serves
//! gets a [`NodeLease`] entry with its inventory host vars; every other node
//! stays local. The lease gives everything back in [`NodeLease::release`],
//! and, should the build be dropped (cancel, timeout, panic), in its `Drop`.
//! A server that shuts down gives back every lease still out with
//! [`NodeProviders::release_all`]; one that starts deletes what a crashed
//! run left with [`NodeProviders::delete_leftovers`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`kubernetes`] | pods as nodes (kube crate), with a console tunnel each |

pub mod kubernetes;

use std::sync::Arc;

use portcullis_actors::BuildRequest;
use portcullis_config::server::NodeProvider as NodeProviderConfig;
use serde_json::{Map, Value};

pub use kubernetes::{KubernetesNodes, NodeError};

/// Where a build's log lines about its nodes go.
pub type NodeLog = Arc<dyn Fn(&str) + Send + Sync>;

/// Every configured provider of a server.
#[derive(Clone, Default)]
pub struct NodeProviders {
    kubernetes: Vec<KubernetesNodes>,
}

impl NodeProviders {
    /// The providers of the server config; `tunnel_marker` tags their tunnels.
    pub fn new(configs: &[NodeProviderConfig], tunnel_marker: &str) -> NodeProviders {
        let kubernetes = configs
            .iter()
            .map(|config| match config {
                NodeProviderConfig::Kubernetes(k) => KubernetesNodes::new(k.clone(), tunnel_marker),
            })
            .collect();
        NodeProviders { kubernetes }
    }

    /// Gets the nodes of `request` that a provider serves; on error nothing is left behind.
    pub async fn acquire(
        &self,
        request: &BuildRequest,
        log: NodeLog,
    ) -> Result<NodeLease, NodeError> {
        let mut lease = NodeLease::default();
        for provider in &self.kubernetes {
            let nodes: Vec<(String, String)> = request
                .job
                .nodeset
                .nodes
                .iter()
                .filter(|node| provider.serves(&node.label))
                .map(|node| (node.name.clone(), node.label.clone()))
                .collect();
            if nodes.is_empty() {
                continue;
            }
            match provider.acquire(&request.uuid, &nodes, log.clone()).await {
                Ok(pods) => lease.kubernetes.push(pods),
                Err(e) => {
                    lease.release().await;
                    return Err(e);
                }
            }
        }
        Ok(lease)
    }

    /// Gives back every lease still out, all at once (tunnels stopped,
    /// kubectl's last lines logged, pods and per-build namespaces deleted),
    /// and refuses acquires from now on. Returns how many leases it released.
    pub async fn release_all(&self) -> usize {
        let released = self.kubernetes.iter().map(KubernetesNodes::release_all);
        futures_util::future::join_all(released).await.iter().sum()
    }

    /// Deletes the pods and namespaces a previous run of this server left
    /// (they carry its marker), provider by provider; a provider that cannot
    /// be reached is logged and skipped. Returns how many it deleted.
    pub async fn delete_leftovers(&self) -> usize {
        let mut deleted = 0;
        for provider in &self.kubernetes {
            match provider.delete_leftovers().await {
                Ok(n) => deleted += n,
                Err(e) => tracing::warn!("leftovers of a previous run not deleted: {e}"),
            }
        }
        deleted
    }
}

/// The nodes a build holds from providers.
#[derive(Default)]
pub struct NodeLease {
    kubernetes: Vec<kubernetes::PodLease>,
}

impl NodeLease {
    /// Inventory host vars by node name, for the nodes a provider gave.
    pub fn host_vars(&self) -> Map<String, Value> {
        self.kubernetes
            .iter()
            .flat_map(|pods| pods.host_vars())
            .collect()
    }

    /// Host files the build's playbooks need to reach these nodes.
    pub fn sandbox_files(&self) -> Vec<std::path::PathBuf> {
        self.kubernetes
            .iter()
            .flat_map(|pods| pods.sandbox_files())
            .collect()
    }

    /// Stops the tunnels and deletes the pods (and per-build namespaces).
    pub async fn release(&mut self) {
        for pods in self.kubernetes.drain(..) {
            pods.release().await;
        }
    }
}

/// The tunnel marker of a server whose state dir is `state_dir`: the same on
/// every start of it, so a new run finds what a crashed one left, and
/// different for two servers on one machine.
pub fn tunnel_marker(state_dir: &std::path::Path) -> String {
    use sha1::{Digest, Sha1};
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    let digest = Sha1::digest(dir.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("portcullis-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_marker_is_stable_per_state_dir() {
        let a = tunnel_marker(std::path::Path::new("/nonexistent/a/state"));
        assert_eq!(
            a,
            tunnel_marker(std::path::Path::new("/nonexistent/a/state"))
        );
        assert_ne!(
            a,
            tunnel_marker(std::path::Path::new("/nonexistent/b/state"))
        );
        assert!(!a.contains('/'), "{a}");
    }
}
