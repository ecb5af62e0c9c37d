//! The JSON of Kubernetes objects as the simulation serves them: pods,
//! namespaces, lists and `Status` errors. Pure functions, no state.

use serde_json::{json, Map, Value};

/// Annotation that keeps a pod created through the API in phase Pending.
pub const HOLD_PENDING: &str = "kube-sim.portcullis.dev/hold-pending";

/// An API failure, served as a `Status` body with its HTTP code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// The HTTP status code.
    pub code: u16,
    /// The Kubernetes reason (`NotFound`, `AlreadyExists`, ...).
    pub reason: &'static str,
    /// The human message, worded like the real API server's.
    pub message: String,
}

impl ApiError {
    /// `pods "x" not found`, and the like.
    pub fn not_found(kind: &str, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{kind} \"{name}\" not found"),
        }
    }

    /// `pods "x" already exists`, and the like.
    pub fn already_exists(kind: &str, name: &str) -> Self {
        Self {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{kind} \"{name}\" already exists"),
        }
    }

    /// A request the simulation cannot make sense of.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
        }
    }

    /// The `Status` object for this error.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message,
            "reason": self.reason, "code": self.code,
        })
    }
}

/// Now, as the API server writes timestamps.
pub fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A minimal pod with one container, as `add_pod` creates it.
pub fn new_pod(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {}},
        "spec": {"containers": [{"name": "c1", "image": "kube-sim/pod"}]},
    })
}

/// A namespace object.
pub fn new_namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// Fills in what the API server owns: identity, version, time, and a
/// Pending status; keeps what the client sent.
pub fn admit(mut obj: Value, kind: &str, namespace: Option<&str>, uid: u64) -> Value {
    if let Some(meta) = metadata(&mut obj) {
        if let Some(ns) = namespace {
            meta.insert("namespace".into(), ns.into());
        }
        meta.insert(
            "uid".into(),
            format!("00000000-0000-4000-8000-{uid:012x}").into(),
        );
        meta.insert("creationTimestamp".into(), timestamp().into());
    }
    obj["apiVersion"] = "v1".into();
    obj["kind"] = kind.into();
    if kind == "Pod" {
        obj["status"] = json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "True"}]});
    }
    obj
}

/// Marks a pod as running in every field clients look at.
pub fn set_running(pod: &mut Value) {
    let now = timestamp();
    let statuses: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true,
                   "started": true, "restartCount": 0, "state": {"running": {"startedAt": now}}})
        })
        .collect();
    let conditions: Vec<Value> = ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
        .iter()
        .map(|t| json!({"type": t, "status": "True"}))
        .collect();
    pod["status"] = json!({
        "phase": "Running", "conditions": conditions, "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}], "startTime": now,
        "containerStatuses": statuses,
    });
}

/// A list object (`PodList`, `NamespaceList`).
pub fn list(kind: &str, items: Vec<Value>, resource_version: u64) -> Value {
    json!({
        "apiVersion": "v1", "kind": format!("{kind}List"),
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    })
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj["metadata"][field].as_str()
}

/// Sets `metadata.resourceVersion`.
pub fn set_resource_version(obj: &mut Value, rv: u64) {
    if let Some(meta) = metadata(obj) {
        meta.insert("resourceVersion".into(), rv.to_string().into());
    }
}

/// Whether the pod asks to stay Pending.
pub fn holds_pending(pod: &Value) -> bool {
    pod["metadata"]["annotations"][HOLD_PENDING].as_str() == Some("true")
}

/// `metadata` as a map, created if missing; `None` only for a non-object
/// value, which the API refuses before it gets here.
fn metadata(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = obj
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admitting_a_pod_keeps_the_client_spec_and_adds_server_fields() {
        // given a pod body as the kube crate posts it
        let body = json!({"metadata": {"name": "p", "labels": {"a": "b"}},
                          "spec": {"containers": [{"name": "x", "image": "i"}]}});
        // when admitted into namespace ns
        let pod = admit(body, "Pod", Some("ns"), 7);
        // then spec and labels survive and server fields are set
        assert_eq!(pod["spec"]["containers"][0]["name"], "x");
        assert_eq!(pod["metadata"]["labels"]["a"], "b");
        assert_eq!(pod["metadata"]["namespace"], "ns");
        assert_eq!(pod["status"]["phase"], "Pending");
        assert!(meta_str(&pod, "uid").unwrap().ends_with("000000000007"));
    }

    #[test]
    fn a_running_pod_reports_each_container_running_and_ready() {
        // given a pending pod with one container
        let mut pod = admit(new_pod("ns", "p"), "Pod", None, 1);
        // when set running
        set_running(&mut pod);
        // then phase, readiness and the container state say so
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(pod["status"]["containerStatuses"][0]["name"], "c1");
        assert!(pod["status"]["containerStatuses"][0]["state"]["running"].is_object());
    }

    #[test]
    fn a_not_found_error_is_a_status_with_code_and_reason() {
        // when a missing pod is reported
        let status = ApiError::not_found("pods", "p").status();
        // then it reads like the real API server's
        assert_eq!(status["code"], 404);
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["message"], "pods \"p\" not found");
    }
}
