//! The cluster's state: namespaces, pods with their network namespaces, the
//! resource version, and the event history that watches replay.

pub mod select;

use crate::netns::Netns;
use crate::object::{self, ApiError};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// How many events a watch can resume from; older versions get 410 Gone.
const HISTORY: usize = 10_000;

/// The kinds of object the simulation stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `v1/Pod`, namespaced.
    Pod,
    /// `v1/Namespace`, cluster-wide.
    Namespace,
}

/// One change, as a watch streams it.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resource version the change produced.
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// What changed.
    pub resource: Kind,
    /// The object after the change (before it, for DELETED).
    pub object: Value,
}

/// A pod and, while it runs, the network namespace that backs it.
#[derive(Debug, Clone)]
pub struct PodEntry {
    /// The pod object as served.
    pub object: Value,
    /// Present once the pod runs.
    pub netns: Option<Arc<Netns>>,
}

/// Shared, lock-protected cluster state.
pub struct Cluster {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    namespaces: BTreeMap<String, Value>,
    pods: BTreeMap<(String, String), PodEntry>,
    history: VecDeque<Event>,
    /// Set when the simulation shuts down: no pod starts after that.
    closed: bool,
}

impl Inner {
    /// Stamps `object` with the next version and records the change; the
    /// caller holds the lock, so watchers see changes in version order.
    fn record(
        &mut self,
        tx: &broadcast::Sender<Event>,
        kind: &'static str,
        resource: Kind,
        object: &mut Value,
    ) {
        self.rv += 1;
        object::set_resource_version(object, self.rv);
        let event = Event {
            rv: self.rv,
            kind,
            resource,
            object: object.clone(),
        };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        let _ = tx.send(event);
    }
}

impl Cluster {
    /// A cluster with the `default` and `kube-system` namespaces.
    pub fn new() -> Self {
        let cluster = Cluster {
            inner: Mutex::default(),
            events: broadcast::channel(4096).0,
        };
        for ns in ["default", "kube-system"] {
            let _ = cluster.create_namespace(object::new_namespace(ns));
        }
        cluster
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a namespace; 409 if it exists.
    pub fn create_namespace(&self, obj: Value) -> Result<Value, ApiError> {
        let name = object::meta_str(&obj, "name")
            .ok_or_else(|| ApiError::bad_request("metadata.name is required"))?
            .to_string();
        let mut inner = self.lock();
        if inner.namespaces.contains_key(&name) {
            return Err(ApiError::already_exists("namespaces", &name));
        }
        let uid = inner.rv + 1;
        let mut obj = object::admit(obj, "Namespace", None, uid);
        obj["status"] = serde_json::json!({"phase": "Active"});
        inner.record(&self.events, "ADDED", Kind::Namespace, &mut obj);
        inner.namespaces.insert(name, obj.clone());
        Ok(obj)
    }

    /// Creates the namespace unless it exists.
    pub fn ensure_namespace(&self, name: &str) {
        let _ = self.create_namespace(object::new_namespace(name));
    }

    /// One namespace.
    pub fn namespace(&self, name: &str) -> Result<Value, ApiError> {
        self.lock()
            .namespaces
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found("namespaces", name))
    }

    /// Every namespace, with the version the list reflects.
    pub fn namespaces(&self) -> (Vec<Value>, u64) {
        let inner = self.lock();
        (inner.namespaces.values().cloned().collect(), inner.rv)
    }

    /// Removes a namespace and its pods; returns it and the pods' netns to destroy.
    pub fn delete_namespace(&self, name: &str) -> Result<(Value, Vec<Arc<Netns>>), ApiError> {
        let mut inner = self.lock();
        let mut ns = inner
            .namespaces
            .remove(name)
            .ok_or_else(|| ApiError::not_found("namespaces", name))?;
        let keys: Vec<_> = inner
            .pods
            .keys()
            .filter(|(n, _)| n == name)
            .cloned()
            .collect();
        let mut doomed = Vec::new();
        for key in keys {
            if let Some(mut entry) = inner.pods.remove(&key) {
                inner.record(&self.events, "DELETED", Kind::Pod, &mut entry.object);
                doomed.extend(entry.netns);
            }
        }
        inner.record(&self.events, "DELETED", Kind::Namespace, &mut ns);
        Ok((ns, doomed))
    }

    /// Adds a pod; its namespace must exist. `obj` already has its name.
    pub fn create_pod(&self, namespace: &str, obj: Value) -> Result<Value, ApiError> {
        let name = object::meta_str(&obj, "name")
            .ok_or_else(|| ApiError::bad_request("metadata.name is required"))?
            .to_string();
        let mut inner = self.lock();
        if !inner.namespaces.contains_key(namespace) {
            return Err(ApiError::not_found("namespaces", namespace));
        }
        let key = (namespace.to_string(), name.clone());
        if inner.pods.contains_key(&key) {
            return Err(ApiError::already_exists("pods", &name));
        }
        let uid = inner.rv + 1;
        let mut obj = object::admit(obj, "Pod", Some(namespace), uid);
        inner.record(&self.events, "ADDED", Kind::Pod, &mut obj);
        let entry = PodEntry {
            object: obj.clone(),
            netns: None,
        };
        inner.pods.insert(key, entry);
        Ok(obj)
    }

    /// Gives a pod its netns and phase Running; `Err(netns)` hands the
    /// namespace back if the pod was deleted meanwhile.
    pub fn start_pod(
        &self,
        namespace: &str,
        name: &str,
        netns: Arc<Netns>,
    ) -> Result<Value, Arc<Netns>> {
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let Some(mut entry) = inner.pods.get(&key).cloned().filter(|_| !inner.closed) else {
            return Err(netns);
        };
        object::set_running(&mut entry.object);
        entry.netns = Some(netns);
        inner.record(&self.events, "MODIFIED", Kind::Pod, &mut entry.object);
        let obj = entry.object.clone();
        inner.pods.insert(key, entry);
        Ok(obj)
    }

    /// One pod and its netns.
    pub fn pod(&self, namespace: &str, name: &str) -> Result<PodEntry, ApiError> {
        self.lock()
            .pods
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| ApiError::not_found("pods", name))
    }

    /// Pods of one namespace (or all), filtered by selectors.
    pub fn pods(
        &self,
        namespace: Option<&str>,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .pods
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns))
            .map(|(_, e)| &e.object)
            .filter(|o| select::matches(o, labels, fields))
            .cloned()
            .collect();
        (items, inner.rv)
    }

    /// Removes a pod; the caller destroys the returned netns (slow: `ip`).
    pub fn delete_pod(&self, namespace: &str, name: &str) -> Result<PodEntry, ApiError> {
        let mut inner = self.lock();
        let mut entry = inner
            .pods
            .remove(&(namespace.to_string(), name.to_string()))
            .ok_or_else(|| ApiError::not_found("pods", name))?;
        inner.record(&self.events, "DELETED", Kind::Pod, &mut entry.object);
        Ok(entry)
    }

    /// Shuts the kubelet: takes every pod's netns out so the caller can
    /// destroy them now, and keeps pods still starting from ever running.
    pub fn close(&self) -> Vec<Arc<Netns>> {
        let mut inner = self.lock();
        inner.closed = true;
        inner
            .pods
            .values_mut()
            .filter_map(|e| e.netns.take())
            .collect()
    }

    /// Starts a watch: the events to replay first and the live feed. With no
    /// version, the replay is a synthetic ADDED per current object; a version
    /// older than the history answers 410 Gone.
    pub fn watch(
        &self,
        resource: Kind,
        since: Option<u64>,
    ) -> Result<(Vec<Event>, broadcast::Receiver<Event>), ApiError> {
        let inner = self.lock();
        let feed = self.events.subscribe();
        let replay = match since {
            None | Some(0) => current(&inner, resource),
            Some(rv) => {
                let oldest = inner.history.front().map_or(inner.rv + 1, |e| e.rv);
                if rv + 1 < oldest && rv < inner.rv {
                    return Err(gone(rv));
                }
                inner
                    .history
                    .iter()
                    .filter(|e| e.rv > rv && e.resource == resource)
                    .cloned()
                    .collect()
            }
        };
        Ok((replay, feed))
    }
}

fn current(inner: &Inner, resource: Kind) -> Vec<Event> {
    let objects: Vec<&Value> = match resource {
        Kind::Pod => inner.pods.values().map(|e| &e.object).collect(),
        Kind::Namespace => inner.namespaces.values().collect(),
    };
    objects
        .into_iter()
        .map(|o| Event {
            rv: inner.rv,
            kind: "ADDED",
            resource,
            object: o.clone(),
        })
        .collect()
}

/// The error a watch gets when it asks for history that is gone.
pub fn gone(rv: u64) -> ApiError {
    ApiError {
        code: 410,
        reason: "Expired",
        message: format!("too old resource version: {rv}"),
    }
}
