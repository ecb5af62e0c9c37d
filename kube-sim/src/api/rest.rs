//! Create, get, list, watch and delete for pods and namespaces.

use super::route::query;
use super::watch::{self, Filter};
use super::{error, json, Body, Ctx};
use crate::cluster::Kind;
use crate::kubelet;
use crate::object::{self, ApiError};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The API server's own watch limit when the client sets none.
const DEFAULT_WATCH: Duration = Duration::from_secs(1800);

fn param(q: &[(String, String)], key: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Lists (or with `watch=true` watches) what `filter` selects.
fn list_or_watch(ctx: &Arc<Ctx>, filter: Filter, req: &Request<Incoming>) -> Response<Body> {
    let q = query(req);
    if matches!(param(&q, "watch").as_deref(), Some("true" | "1")) {
        let since = param(&q, "resourceVersion").and_then(|v| v.parse().ok());
        let timeout = param(&q, "timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_WATCH, Duration::from_secs);
        return watch::respond(ctx, filter, since, timeout);
    }
    let (items, rv, kind) = match filter.resource {
        Kind::Pod => {
            let (items, rv) = ctx.cluster.pods(
                filter.namespace.as_deref(),
                filter.labels.as_deref(),
                filter.fields.as_deref(),
            );
            (items, rv, "Pod")
        }
        Kind::Namespace => {
            let (items, rv) = ctx.cluster.namespaces();
            (items, rv, "Namespace")
        }
    };
    json(StatusCode::OK, &object::list(kind, items, rv))
}

/// `GET /api/v1/namespaces/NS/pods` and `GET /api/v1/pods`.
pub fn list_pods(
    ctx: &Arc<Ctx>,
    namespace: Option<&str>,
    req: &Request<Incoming>,
) -> Response<Body> {
    let q = query(req);
    let filter = Filter {
        resource: Kind::Pod,
        namespace: namespace.map(str::to_string),
        labels: param(&q, "labelSelector"),
        fields: param(&q, "fieldSelector"),
    };
    list_or_watch(ctx, filter, req)
}

/// `GET /api/v1/namespaces`.
pub fn list_namespaces(ctx: &Arc<Ctx>, req: &Request<Incoming>) -> Response<Body> {
    let filter = Filter {
        resource: Kind::Namespace,
        namespace: None,
        labels: None,
        fields: None,
    };
    list_or_watch(ctx, filter, req)
}

async fn body_object(req: Request<Incoming>) -> Result<Value, ApiError> {
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    }
    Ok(value)
}

/// Fills `metadata.name` from `generateName` the way the API server does.
fn name_from_generate(obj: &mut Value) {
    static SUFFIX: AtomicU64 = AtomicU64::new(0);
    if obj["metadata"]["name"].is_string() {
        return;
    }
    if let Some(prefix) = obj["metadata"]["generateName"].as_str() {
        let n = SUFFIX.fetch_add(1, Ordering::Relaxed);
        obj["metadata"]["name"] = format!("{prefix}{n:05x}").into();
    }
}

/// `POST /api/v1/namespaces/NS/pods`: 201 Pending; the pod runs once its
/// netns exists, unless it carries the hold-pending annotation.
pub async fn create_pod(ctx: &Arc<Ctx>, namespace: &str, req: Request<Incoming>) -> Response<Body> {
    let created = match body_object(req).await {
        Ok(mut body) => {
            name_from_generate(&mut body);
            ctx.cluster.create_pod(namespace, body)
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(pod) => {
            if !object::holds_pending(&pod) {
                let (cluster, ns) = (ctx.cluster.clone(), namespace.to_string());
                let name = object::meta_str(&pod, "name")
                    .unwrap_or_default()
                    .to_string();
                // The kubelet runs on whether or not the API server is up.
                tokio::spawn(async move {
                    if let Err(e) = kubelet::start(&cluster, &ns, &name).await {
                        eprintln!("kube-sim: pod {ns}/{name} could not start: {e}");
                    }
                });
            }
            json(StatusCode::CREATED, &pod)
        }
        Err(e) => error(&e),
    }
}

/// `DELETE /api/v1/namespaces/NS/pods/NAME`: immediate, no grace period.
pub async fn delete_pod(ctx: &Arc<Ctx>, namespace: &str, name: &str) -> Response<Body> {
    match ctx.cluster.delete_pod(namespace, name) {
        Ok(entry) => {
            if let Some(netns) = entry.netns {
                kubelet::stop(netns).await;
            }
            json(StatusCode::OK, &entry.object)
        }
        Err(e) => error(&e),
    }
}

/// `POST /api/v1/namespaces`.
pub async fn create_namespace(ctx: &Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    match body_object(req)
        .await
        .and_then(|body| ctx.cluster.create_namespace(body))
    {
        Ok(ns) => json(StatusCode::CREATED, &ns),
        Err(e) => error(&e),
    }
}

/// `DELETE /api/v1/namespaces/NS`: its pods go with it, at once.
pub async fn delete_namespace(ctx: &Arc<Ctx>, name: &str) -> Response<Body> {
    match ctx.cluster.delete_namespace(name) {
        Ok((ns, doomed)) => {
            for netns in doomed {
                kubelet::stop(netns).await;
            }
            json(StatusCode::OK, &ns)
        }
        Err(e) => error(&e),
    }
}
