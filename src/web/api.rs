//! Zuul's REST API: info, tenants, status and the build history.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::{Auth, Need};
use super::format::{build_json, buildset_json, BuildsetPart};
use super::read::ReadTenant;
use super::{WebError, WebState};
use crate::store::{BuildFilter, BuildsetFilter};

type State = web::Data<WebState>;
type ApiResult = Result<HttpResponse, WebError>;

/// Registers the `/api` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/info", web::get().to(info))
        .route("/api/tenants", web::get().to(tenants))
        .route("/api/tenant/{tenant}/info", web::get().to(tenant_info))
        .route("/api/tenant/{tenant}/status", web::get().to(status))
        .route("/api/tenant/{tenant}/builds", web::get().to(builds))
        .route("/api/tenant/{tenant}/build/{uuid}", web::get().to(build))
        .route("/api/tenant/{tenant}/buildsets", web::get().to(buildsets))
        .route(
            "/api/tenant/{tenant}/buildset/{uuid}",
            web::get().to(buildset),
        );
}

/// Answers every URL no route claims.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&WebError::NoRoute(req.path().to_string()))
}

/// A JSON answer that any origin may read, as Zuul's API allows.
fn ok(body: Value) -> ApiResult {
    Ok(HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(body))
}

/// Zuul's `/info` document; `tenant` set for the tenant-scoped one.
fn info_doc(tenant: Option<&str>, auth: &Auth) -> Value {
    let mut info = json!({
        "capabilities": {
            "job_history": true,
            "auth": auth.capabilities(tenant),
        },
        "websocket_url": null,
        "stats": { "url": null, "prefix": null, "type": null },
    });
    if let Some(tenant) = tenant {
        info["tenant"] = json!(tenant);
    }
    json!({ "info": info })
}

async fn info(auth: web::Data<Auth>) -> ApiResult {
    ok(info_doc(None, &auth))
}

/// Fails with [`WebError::UnknownTenant`] unless the engine knows `tenant`.
pub async fn check_tenant(state: &WebState, tenant: &str) -> Result<(), WebError> {
    let known = state.engine.tenants().await;
    if known.iter().any(|t| t.name == tenant) {
        Ok(())
    } else {
        Err(WebError::UnknownTenant(tenant.to_string()))
    }
}

/// The tenants the caller may read: Zuul leaves read-protected ones out of the list.
async fn tenants(state: State, auth: web::Data<Auth>, req: HttpRequest) -> ApiResult {
    auth.check(&req, None, Need::Read)?;
    let mut tenants = state.engine.tenants().await;
    tenants.retain(|t| auth.may_read(&req, &t.name));
    ok(json!(tenants))
}

async fn tenant_info(state: State, auth: web::Data<Auth>, tenant: web::Path<String>) -> ApiResult {
    check_tenant(&state, &tenant).await?;
    ok(info_doc(Some(&tenant), &auth))
}

async fn status(state: State, tenant: ReadTenant) -> ApiResult {
    let status = state
        .engine
        .status(&tenant)
        .await
        .ok_or_else(|| WebError::UnknownTenant(tenant.to_string()))?;
    ok(json!(status))
}

async fn builds(state: State, tenant: ReadTenant, req: HttpRequest) -> ApiResult {
    let filter = BuildFilter::from_query(req.query_string())?;
    let rows = state.store.builds(&tenant, &filter).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|b| build_json(b, BuildsetPart::Summary))
        .collect();
    ok(Value::Array(list))
}

async fn build(state: State, tenant: ReadTenant, path: web::Path<(String, String)>) -> ApiResult {
    let (tenant, (_, uuid)) = (tenant.into_name(), path.into_inner());
    match state.store.build(&tenant, &uuid).await? {
        Some(row) => ok(build_json(&row, BuildsetPart::WithRefs)),
        None => Err(WebError::UnknownBuild { tenant, uuid }),
    }
}

async fn buildsets(state: State, tenant: ReadTenant, req: HttpRequest) -> ApiResult {
    let filter = BuildsetFilter::from_query(req.query_string())?;
    let rows = state.store.buildsets(&tenant, &filter).await?;
    let list: Vec<Value> = rows.iter().map(|b| buildset_json(b, None)).collect();
    ok(Value::Array(list))
}

async fn buildset(
    state: State,
    tenant: ReadTenant,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (tenant, (_, uuid)) = (tenant.into_name(), path.into_inner());
    match state.store.buildset(&tenant, &uuid).await? {
        Some((row, builds)) => ok(buildset_json(&row, Some(&builds))),
        None => Err(WebError::UnknownBuildset { tenant, uuid }),
    }
}
