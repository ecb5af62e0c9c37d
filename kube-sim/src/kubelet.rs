//! The simulated kubelet: a pod runs once its network namespace exists, and
//! stops when the namespace (with every process in it) is gone.

use crate::cluster::Cluster;
use crate::error::SimError;
use crate::netns::Netns;
use std::sync::Arc;

/// Gives a pending pod its netns and marks it Running.
pub async fn start(cluster: &Cluster, namespace: &str, name: &str) -> Result<Arc<Netns>, SimError> {
    let label = name.to_string();
    let netns = tokio::task::spawn_blocking(move || Netns::create(&label))
        .await
        .map_err(std::io::Error::other)??;
    let netns = Arc::new(netns);
    match cluster.start_pod(namespace, name, netns.clone()) {
        Ok(_) => Ok(netns),
        Err(netns) => {
            stop(netns).await;
            Err(SimError::PodNotFound {
                namespace: namespace.into(),
                name: name.into(),
            })
        }
    }
}

/// Kills the pod's processes and deletes its netns, off the async threads.
pub async fn stop(netns: Arc<Netns>) {
    let _ = tokio::task::spawn_blocking(move || netns.destroy()).await;
}
