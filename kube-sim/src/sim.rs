//! [`KubeSim`], the handle tests hold, and [`PodHandle`], one pod in it.

use crate::api::{ApiServer, RequestRecord};
use crate::cluster::Cluster;
use crate::error::SimError;
use crate::netns::{self, Netns};
use crate::{kubeconfig, kubelet, object};
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

/// A simulated cluster: an API server on 127.0.0.1 and pods that are
/// network namespaces. Dropping it (also while a test panics) deletes every
/// pod's namespace and kills what runs inside.
pub struct KubeSim {
    cluster: Arc<Cluster>,
    api: ApiServer,
}

/// One pod of a [`KubeSim`]; a running pod carries its network namespace.
#[derive(Clone, Debug)]
pub struct PodHandle {
    namespace: String,
    name: String,
    netns: Option<Arc<Netns>>,
}

impl KubeSim {
    /// Starts the API server on a free port, with namespaces `default` and
    /// `kube-system`. Deletes namespaces left by dead test processes first.
    pub async fn start() -> Result<KubeSim, SimError> {
        tokio::task::spawn_blocking(netns::sweep_stale)
            .await
            .map_err(std::io::Error::other)?;
        let cluster = Arc::new(Cluster::new());
        let api = ApiServer::start(cluster.clone()).await?;
        Ok(KubeSim { cluster, api })
    }

    /// `http://127.0.0.1:PORT`; the same across [`stop_api`](Self::stop_api)
    /// and [`start_api`](Self::start_api).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api.addr())
    }

    /// The API server's address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api.addr()
    }

    /// Writes a kubeconfig whose `context` selects the simulation and `namespace`.
    pub fn write_kubeconfig(
        &self,
        path: &Path,
        context: &str,
        namespace: &str,
    ) -> Result<(), SimError> {
        Ok(kubeconfig::write(
            path,
            &self.api_url(),
            context,
            namespace,
        )?)
    }

    /// Adds a Running pod (and its namespace if new) backed by a fresh netns.
    pub async fn add_pod(&self, namespace: &str, name: &str) -> Result<PodHandle, SimError> {
        let pending = self.add_pending_pod(namespace, name).await?;
        self.run_pod(&pending).await
    }

    /// Adds a pod that stays Pending until [`run_pod`](Self::run_pod).
    pub async fn add_pending_pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<PodHandle, SimError> {
        self.cluster.ensure_namespace(namespace);
        self.cluster
            .create_pod(namespace, object::new_pod(namespace, name))
            .map_err(|e| match e.code {
                409 => SimError::AlreadyExists(format!("pod {namespace}/{name}")),
                _ => SimError::Io(std::io::Error::other(e)),
            })?;
        Ok(PodHandle {
            namespace: namespace.into(),
            name: name.into(),
            netns: None,
        })
    }

    /// Makes a pending pod run (gives it a netns); returns the running handle.
    pub async fn run_pod(&self, pod: &PodHandle) -> Result<PodHandle, SimError> {
        let netns = kubelet::start(&self.cluster, &pod.namespace, &pod.name).await?;
        Ok(PodHandle {
            netns: Some(netns),
            ..pod.clone()
        })
    }

    /// The handle of a pod, also one created through the REST API.
    pub fn pod(&self, namespace: &str, name: &str) -> Result<PodHandle, SimError> {
        let entry = self
            .cluster
            .pod(namespace, name)
            .map_err(|_| SimError::PodNotFound {
                namespace: namespace.into(),
                name: name.into(),
            })?;
        Ok(PodHandle {
            namespace: namespace.into(),
            name: name.into(),
            netns: entry.netns,
        })
    }

    /// The pod object as the API serves it now.
    pub fn pod_json(&self, namespace: &str, name: &str) -> Option<Value> {
        self.cluster.pod(namespace, name).ok().map(|e| e.object)
    }

    /// Starts `argv` inside the pod's netns (stdin null, killed on drop).
    pub fn pod_spawn(
        &self,
        pod: &PodHandle,
        argv: &[&str],
    ) -> Result<tokio::process::Child, SimError> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| SimError::Io(std::io::Error::other("pod_spawn needs a program")))?;
        let mut cmd = pod.command(program)?;
        cmd.args(args).stdin(Stdio::null());
        Ok(cmd.spawn()?)
    }

    /// Deletes a pod at once: its processes are killed and its netns removed.
    pub async fn delete_pod(&self, pod: &PodHandle) -> Result<(), SimError> {
        let entry = self
            .cluster
            .delete_pod(&pod.namespace, &pod.name)
            .map_err(|_| pod.not_found())?;
        if let Some(netns) = entry.netns {
            kubelet::stop(netns).await;
        }
        Ok(())
    }

    /// Simulates the API server going down: the listener and every open
    /// connection (port-forwards, execs, watches) close. Pods keep running.
    pub async fn stop_api(&self) {
        self.api.stop().await;
    }

    /// Brings the API server back on the same port.
    pub async fn start_api(&self) -> Result<(), SimError> {
        Ok(self.api.resume().await?)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.api.requests()
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        for netns in self.cluster.close() {
            netns.destroy();
        }
    }
}

impl PodHandle {
    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backing network namespace's name, once the pod runs.
    pub fn netns_name(&self) -> Option<&str> {
        self.netns.as_deref().map(Netns::name)
    }

    /// Pids of the processes inside the pod.
    pub fn pids(&self) -> Vec<i32> {
        self.netns.as_deref().map(Netns::pids).unwrap_or_default()
    }

    fn netns(&self) -> Result<&Netns, SimError> {
        self.netns
            .as_deref()
            .ok_or_else(|| SimError::PodNotRunning {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            })
    }

    fn not_found(&self) -> SimError {
        SimError::PodNotFound {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// Listens on `port` on every address of the pod (`[::]`, dual-stack, as
    /// zuul_console does), or on 0.0.0.0 where IPv6 is off.
    pub async fn listen(&self, port: u16) -> Result<tokio::net::TcpListener, SimError> {
        let netns = self.netns()?;
        let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        match netns.listen(v6).await {
            Ok(l) => Ok(l),
            Err(_) => Ok(netns
                .listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
                .await?),
        }
    }

    /// Connects to `port` on the pod's loopback, as the API server does.
    pub async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, SimError> {
        self.netns()?.connect(port).await.map_err(|e| {
            SimError::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                e,
            ))
        })
    }

    /// A command that runs `program` inside the pod (`ip netns exec`), killed on drop.
    pub fn command(&self, program: &str) -> Result<tokio::process::Command, SimError> {
        Ok(self.netns()?.command(program))
    }
}
