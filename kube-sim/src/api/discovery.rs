//! Discovery documents: just enough for kubectl to map `pod`, `po` and
//! `namespace` to resources. Plain `APIVersions` replies are accepted even
//! when kubectl asks for aggregated discovery first.

use serde_json::{json, Value};
use std::net::SocketAddr;

/// `GET /version`; the gcloud kubectl dispatcher picks a binary by it.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-kube-sim",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`
pub fn api_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
    })
}

/// `GET /apis`: no groups besides the core one.
pub fn api_groups() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
}

/// `GET /api/v1`
pub fn core_v1_resources() -> Value {
    let crud = ["create", "delete", "get", "list", "watch"];
    json!({
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "singularName": "namespace", "namespaced": false,
             "kind": "Namespace", "verbs": crud, "shortNames": ["ns"]},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "verbs": crud, "shortNames": ["po"], "categories": ["all"]},
            {"name": "pods/exec", "singularName": "", "namespaced": true,
             "kind": "PodExecOptions", "verbs": ["create", "get"]},
            {"name": "pods/portforward", "singularName": "", "namespaced": true,
             "kind": "PodPortForwardOptions", "verbs": ["create", "get"]},
            {"name": "pods/status", "singularName": "", "namespaced": true, "kind": "Pod",
             "verbs": ["get"]},
        ],
    })
}
