//! Which handler answers which method and path.

use super::{discovery, error, json, rest, upgrade, Body, Ctx};
use crate::object::ApiError;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;

/// The paths the simulation knows, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/version`
    Version,
    /// `/api`
    Api,
    /// `/apis`
    Apis,
    /// `/api/v1`
    ApiV1,
    /// `/api/v1/namespaces`
    Namespaces,
    /// `/api/v1/namespaces/NS`
    Namespace(&'a str),
    /// `/api/v1/namespaces/NS/pods`, or `/api/v1/pods` (all namespaces)
    Pods(Option<&'a str>),
    /// `/api/v1/namespaces/NS/pods/NAME`
    Pod(&'a str, &'a str),
    /// `/api/v1/namespaces/NS/pods/NAME/SUB` (`status`, `portforward`, `exec`)
    PodSub(&'a str, &'a str, &'a str),
    /// Anything else.
    Unknown,
}

/// Parses a request path.
pub fn parse(path: &str) -> Route<'_> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["api", "v1"] => Route::ApiV1,
        ["api", "v1", "namespaces"] => Route::Namespaces,
        ["api", "v1", "pods"] => Route::Pods(None),
        ["api", "v1", "namespaces", ns] => Route::Namespace(ns),
        ["api", "v1", "namespaces", ns, "pods"] => Route::Pods(Some(ns)),
        ["api", "v1", "namespaces", ns, "pods", name] => Route::Pod(ns, name),
        ["api", "v1", "namespaces", ns, "pods", name, sub] => Route::PodSub(ns, name, sub),
        _ => Route::Unknown,
    }
}

/// The query string as pairs, repeated keys kept (exec's `command`).
pub fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Answers one request.
pub async fn dispatch(ctx: &Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    match (&method, parse(&path)) {
        (&Method::GET, Route::Version) => json(StatusCode::OK, &discovery::version()),
        (&Method::GET, Route::Api) => json(StatusCode::OK, &discovery::api_versions(ctx.addr)),
        (&Method::GET, Route::Apis) => json(StatusCode::OK, &discovery::api_groups()),
        (&Method::GET, Route::ApiV1) => json(StatusCode::OK, &discovery::core_v1_resources()),
        (&Method::GET, Route::Namespaces) => rest::list_namespaces(ctx, &req),
        (&Method::POST, Route::Namespaces) => rest::create_namespace(ctx, req).await,
        (&Method::GET, Route::Namespace(ns)) => respond(ctx.cluster.namespace(ns)),
        (&Method::DELETE, Route::Namespace(ns)) => rest::delete_namespace(ctx, ns).await,
        (&Method::GET, Route::Pods(ns)) => rest::list_pods(ctx, ns, &req),
        (&Method::POST, Route::Pods(Some(ns))) => rest::create_pod(ctx, ns, req).await,
        (&Method::GET, Route::Pod(ns, name))
        | (&Method::GET, Route::PodSub(ns, name, "status")) => {
            respond(ctx.cluster.pod(ns, name).map(|e| e.object))
        }
        (&Method::DELETE, Route::Pod(ns, name)) => rest::delete_pod(ctx, ns, name).await,
        (_, Route::PodSub(ns, name, "portforward")) => upgrade::port_forward(ctx, ns, name, req),
        (_, Route::PodSub(ns, name, "exec")) => upgrade::exec(ctx, ns, name, req),
        _ => not_implemented(&method, &path),
    }
}

fn respond(result: Result<serde_json::Value, ApiError>) -> Response<Body> {
    match result {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

fn not_implemented(method: &Method, path: &str) -> Response<Body> {
    error(&ApiError {
        code: 501,
        reason: "NotImplemented",
        message: format!("kube-sim does not implement {method} {path}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_paths_and_their_subresources_are_recognised() {
        // given the paths kubectl and the kube crate use
        // then each maps to its route
        assert_eq!(parse("/api/v1/namespaces/ns/pods/p"), Route::Pod("ns", "p"));
        assert_eq!(
            parse("/api/v1/namespaces/ns/pods/p/portforward"),
            Route::PodSub("ns", "p", "portforward")
        );
        assert_eq!(parse("/api/v1/pods"), Route::Pods(None));
        assert_eq!(parse("/api/v1/namespaces/ns/pods"), Route::Pods(Some("ns")));
        assert_eq!(parse("/api"), Route::Api);
    }

    #[test]
    fn paths_outside_the_core_group_are_unknown() {
        // given a path of a group the simulation does not serve
        let route = parse("/apis/apps/v1/namespaces/ns/deployments");
        // then it is unknown, which answers 501
        assert_eq!(route, Route::Unknown);
    }
}
