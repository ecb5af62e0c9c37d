//! The leases a provider has out, so that a server shutdown can give them all
//! back while the runtime still runs: a lease's own `Drop` can only spawn
//! the deletes as a task, which a stopping runtime may never run.

use std::collections::HashMap;
use std::sync::Arc;

use actix::Addr;
use futures_util::future::join_all;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams};
use kube::Client;
use portcullis_actors::tunnel::{CloseTunnel, Tunnel};
use tokio::sync::watch;

/// What one lease must give back: its tunnels, its pods and the namespace
/// made for its build. Owned by the lease's acquire until it succeeds, then
/// by [`Live`] until the build or a shutdown takes it.
pub(super) struct Held {
    /// The provider, for log lines.
    pub provider: String,
    /// The client the pods were made with.
    pub client: Client,
    /// Where the pods are.
    pub namespace: String,
    /// The namespace made for this build, deleted after its pods.
    pub own_namespace: Option<String>,
    /// Pods to delete: recorded before their create is sent, so a create
    /// cut short by a shutdown is still deleted (a 404 is fine).
    pub pods: Vec<String>,
    /// The console tunnels to the pods.
    pub tunnels: Vec<Addr<Tunnel>>,
}

impl Held {
    /// Stops the tunnels (all at once: each waits for its group to end and
    /// logs kubectl's last lines), then deletes the pods and the namespace.
    pub async fn release(self) {
        let Held {
            provider,
            client,
            namespace,
            own_namespace,
            pods,
            tunnels,
        } = self;
        join_all(tunnels.iter().map(|tunnel| tunnel.send(CloseTunnel))).await;
        drop(tunnels);
        let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        for pod in pods {
            if let Err(e) = api.delete(&pod, &DeleteParams::default()).await {
                log_delete_error(&provider, &format!("pod {namespace}/{pod}"), &e);
            }
        }
        if let Some(ns) = own_namespace {
            let api: Api<Namespace> = Api::all(client);
            if let Err(e) = api.delete(&ns, &DeleteParams::default()).await {
                log_delete_error(&provider, &format!("namespace {ns}"), &e);
            }
        }
    }
}

/// A failed delete is a warning, except a 404: the object is gone already.
pub(super) fn log_delete_error(provider: &str, what: &str, e: &kube::Error) {
    match e {
        kube::Error::Api(status) if status.code == 404 => {
            tracing::debug!(%provider, "{what} was already gone");
        }
        _ => tracing::warn!(%provider, "deleting {what} failed: {e}"),
    }
}

/// The live leases of one provider, acquires in flight, and whether the
/// server is shutting down. A watch channel serves as the lock, so that a
/// shutdown can wait for acquires to end and acquires for the shutdown.
pub(super) struct Live(watch::Sender<State>);

#[derive(Default)]
struct State {
    next_id: u64,
    held: HashMap<u64, Held>,
    acquiring: usize,
    closed: bool,
}

impl Default for Live {
    fn default() -> Self {
        Live(watch::Sender::new(State::default()))
    }
}

/// An acquire in flight; a shutdown waits until every one is dropped.
pub(super) struct Acquiring(Arc<Live>);

impl Drop for Acquiring {
    fn drop(&mut self) {
        self.0 .0.send_modify(|s| s.acquiring -= 1);
    }
}

impl Live {
    /// Counts an acquire in; `None` once the server is shutting down.
    pub fn begin_acquire(self: &Arc<Self>) -> Option<Acquiring> {
        let mut admitted = false;
        self.0.send_if_modified(|s| {
            admitted = !s.closed;
            s.acquiring += usize::from(admitted);
            admitted
        });
        admitted.then(|| Acquiring(self.clone()))
    }

    /// True once a shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.0.borrow().closed
    }

    /// Resolves once a shutdown has begun.
    pub async fn closing(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|s| s.closed).await;
    }

    /// Keeps `held` until [`take`](Self::take); hands it back if the server
    /// is shutting down, for the caller to release.
    pub fn register(&self, held: Held) -> Result<u64, Box<Held>> {
        let mut slot = Some(held);
        let mut id = None;
        self.0.send_if_modified(|s| {
            if s.closed {
                return false;
            }
            let next = s.next_id;
            s.next_id += 1;
            s.held.extend(slot.take().map(|held| (next, held)));
            id = Some(next);
            true
        });
        match (id, slot) {
            (Some(id), _) => Ok(id),
            (None, Some(held)) => Err(Box::new(held)),
            (None, None) => unreachable!("a refused lease is handed back"),
        }
    }

    /// Takes lease `id` out; `None` if a shutdown took it first.
    pub fn take(&self, id: u64) -> Option<Held> {
        let mut taken = None;
        self.0.send_if_modified(|s| {
            taken = s.held.remove(&id);
            false
        });
        taken
    }

    /// Refuses new acquires, waits for those in flight to end (each gives
    /// back what it made), then releases every lease still out, all at once.
    /// Returns how many it released.
    pub async fn release_all(&self) -> usize {
        self.0.send_modify(|s| s.closed = true);
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|s| s.acquiring == 0).await;
        let mut held = Vec::new();
        self.0.send_if_modified(|s| {
            held.extend(s.held.drain().map(|(_, h)| h));
            false
        });
        let count = held.len();
        join_all(held.into_iter().map(Held::release)).await;
        count
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A lease with nothing in it, on a client that is never called.
    fn held() -> Held {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("a URI"));
        Held {
            provider: "p".into(),
            client: Client::try_from(config).expect("a client"),
            namespace: "ns".into(),
            own_namespace: None,
            pods: Vec::new(),
            tunnels: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_shutdown_waits_for_acquires_in_flight_takes_every_lease_and_refuses_new_ones() {
        let scenario = async {
            // given a lease its build gave back, one still out, and an acquire in flight
            let live = Arc::new(Live::default());
            let given_back = live.register(held()).ok().expect("registered");
            let out = live.register(held()).ok().expect("registered");
            assert!(live.take(given_back).is_some());
            let acquiring = live.begin_acquire().expect("admitted");
            // when a shutdown begins
            let shutdown = tokio::spawn({
                let live = live.clone();
                async move { live.release_all().await }
            });
            live.closing().await;
            // then new acquires and leases are refused
            assert!(live.begin_acquire().is_none());
            assert!(live.register(held()).is_err());
            // and it waits for the acquire in flight, then releases the lease still out
            assert!(!shutdown.is_finished());
            drop(acquiring);
            assert_eq!(shutdown.await.expect("shutdown"), 1);
            assert!(live.take(out).is_none(), "the shutdown took it");
        };
        tokio::time::timeout(Duration::from_secs(10), scenario)
            .await
            .expect("no hang");
    }
}
