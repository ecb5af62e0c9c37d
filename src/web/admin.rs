//! Zuul's admin API: enqueue, dequeue, promote and autohold, for a tenant's
//! admins only (see [`crate::web::auth`]).
//!
//! | module | holds |
//! |---|---|
//! | [`engine`] | [`AdminEngine`]: the engine's admin commands, and their types |
//! | [`payload`] | the request bodies, read and checked |
//! | [`error`] | [`AdminApiError`]: each failure with Zuul's status code |
//!
//! Every handler checks, in Zuul's order: the tenant (404), the caller
//! (401/403), the body (400), then asks the engine. Project names may hold
//! slashes, so the project is the whole path between `project/` and the action.

pub mod engine;
pub mod error;
pub mod payload;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

pub use engine::{AdminEngine, AdminError, AutoholdInfo};
pub use error::AdminApiError;

use super::api::check_tenant;
use super::auth::{cors_json, Auth, Need};
use super::WebState;
use engine::{AutoholdRequest, DequeueRequest, EnqueueRequest, PromoteRequest};
use payload::Target;

type Result<T = HttpResponse> = std::result::Result<T, AdminApiError>;
type Engine = web::Data<dyn AdminEngine>;

const PROJECT: &str = "/api/tenant/{tenant}/project/{project:.+}";

/// Registers the admin routes; the ones that change things only when an
/// authenticator is configured, as Zuul does. Register before any route of
/// `/api/tenant/{t}/project/{project:.*}`, which would shadow these.
pub fn routes(cfg: &mut web::ServiceConfig, auth_enabled: bool) {
    if auth_enabled {
        cfg.service(resource(&format!("{PROJECT}/enqueue")).route(web::post().to(enqueue)))
            .service(resource(&format!("{PROJECT}/dequeue")).route(web::post().to(dequeue)))
            .service(resource("/api/tenant/{tenant}/promote").route(web::post().to(promote)))
            .service(
                resource(&format!("{PROJECT}/autohold"))
                    .route(web::get().to(autohold_list_project))
                    .route(web::post().to(autohold_create)),
            );
    }
    cfg.service(resource("/api/tenant/{tenant}/autohold").route(web::get().to(autohold_list)))
        .service(
            resource("/api/tenant/{tenant}/autohold/{id}")
                .route(web::get().to(autohold_get))
                .route(web::delete().to(autohold_delete)),
        );
}

/// A resource that answers CORS preflights and 405 for other methods.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(preflight_or_405))
}

async fn preflight_or_405(req: HttpRequest) -> HttpResponse {
    if req.method() == Method::OPTIONS {
        return HttpResponse::NoContent()
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .insert_header((
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type",
            ))
            .insert_header(("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"))
            .insert_header(("Access-Control-Max-Age", "86400"))
            .finish();
    }
    HttpResponse::MethodNotAllowed()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(json!({
            "error": "MethodNotAllowed",
            "description": format!("{} is not allowed here", req.method()),
        }))
}

/// The tenant exists and the caller may `need` on it; answers the caller's uid.
async fn admit(
    state: &WebState,
    auth: &Auth,
    req: &HttpRequest,
    tenant: &str,
    need: Need,
) -> Result<Option<String>> {
    check_tenant(state, tenant).await?;
    Ok(auth
        .check(req, Some(tenant), need)?
        .map(|claims| claims.uid))
}

fn audit(uid: Option<String>, action: &str, tenant: &str, what: &str) {
    tracing::info!(
        uid = uid.as_deref().unwrap_or("-"),
        action,
        tenant,
        what,
        "admin action"
    );
}

async fn enqueue(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result {
    let (tenant, project) = path.into_inner();
    let uid = admit(&state, &auth, &req, &tenant, Need::Admin).await?;
    let body = payload::enqueue(&body).map_err(AdminApiError::BadBody)?;
    audit(uid, "enqueue", &tenant, &project);
    let (change, r#ref, oldrev, newrev) = match body.target {
        Target::Change(change) => (Some(change), None, None, None),
        Target::Ref {
            name,
            oldrev,
            newrev,
        } => (None, Some(name), oldrev, newrev),
    };
    let request = EnqueueRequest {
        tenant,
        pipeline: body.pipeline,
        project,
        change,
        r#ref,
        oldrev,
        newrev,
    };
    engine.enqueue(request).await?;
    Ok(cors_json(json!(true)))
}

async fn dequeue(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result {
    let (tenant, project) = path.into_inner();
    let uid = admit(&state, &auth, &req, &tenant, Need::Admin).await?;
    let body = payload::dequeue(&body).map_err(AdminApiError::BadBody)?;
    audit(uid, "dequeue", &tenant, &project);
    let (change, r#ref) = match body.target {
        Target::Change(change) => (Some(change), None),
        Target::Ref { name, .. } => (None, Some(name)),
    };
    let request = DequeueRequest {
        tenant,
        pipeline: body.pipeline,
        project,
        change,
        r#ref,
    };
    engine.dequeue(request).await?;
    Ok(cors_json(json!(true)))
}

async fn promote(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    tenant: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result {
    let tenant = tenant.into_inner();
    let uid = admit(&state, &auth, &req, &tenant, Need::Admin).await?;
    let body = payload::promote(&body).map_err(AdminApiError::BadBody)?;
    audit(uid, "promote", &tenant, &body.pipeline);
    let request = PromoteRequest {
        tenant,
        pipeline: body.pipeline,
        changes: body.changes,
    };
    engine.promote(request).await?;
    Ok(cors_json(json!(true)))
}

async fn autohold_create(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result {
    let (tenant, project) = path.into_inner();
    let uid = admit(&state, &auth, &req, &tenant, Need::Admin).await?;
    let body = payload::autohold(&body).map_err(AdminApiError::BadBody)?;
    audit(uid, "autohold", &tenant, &project);
    let request = AutoholdRequest {
        tenant,
        project,
        job: body.job,
        r#ref: body.r#ref,
        change: body.change,
        reason: body.reason,
        count: body.count,
        node_hold_expiration: body.node_hold_expiration,
    };
    engine.autohold(request).await?;
    Ok(cors_json(json!(true)))
}

async fn autohold_list(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    tenant: web::Path<String>,
    req: HttpRequest,
) -> Result {
    let tenant = tenant.into_inner();
    admit(&state, &auth, &req, &tenant, Need::Read).await?;
    let project = web::Query::<ProjectFilter>::from_query(req.query_string())
        .map(|q| q.into_inner().project)
        .unwrap_or_default();
    list_holds(&engine, tenant, project).await
}

async fn autohold_list_project(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result {
    let (tenant, project) = path.into_inner();
    admit(&state, &auth, &req, &tenant, Need::Read).await?;
    list_holds(&engine, tenant, Some(project)).await
}

#[derive(serde::Deserialize)]
struct ProjectFilter {
    project: Option<String>,
}

/// The tenant's holds; with `project`, those whose project name ends with it, as in Zuul.
async fn list_holds(engine: &Engine, tenant: String, project: Option<String>) -> Result {
    let mut holds = engine.autohold_list(tenant).await?;
    if let Some(project) = project {
        holds.retain(|h| h.project.ends_with(&project));
    }
    Ok(cors_json(json!(holds)))
}

/// The hold `id` of `tenant`; another tenant's hold is a 404 too, so as not to reveal it.
async fn hold_of(engine: &Engine, tenant: &str, id: String) -> Result<AutoholdInfo> {
    match engine.autohold_get(id.clone()).await? {
        Some(hold) if hold.tenant == tenant => Ok(hold),
        _ => Err(AdminApiError::UnknownHold(id)),
    }
}

async fn autohold_get(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result {
    let (tenant, id) = path.into_inner();
    admit(&state, &auth, &req, &tenant, Need::Read).await?;
    Ok(cors_json(json!(hold_of(&engine, &tenant, id).await?)))
}

async fn autohold_delete(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    engine: Engine,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result {
    let (tenant, id) = path.into_inner();
    let uid = admit(&state, &auth, &req, &tenant, Need::Admin).await?;
    let hold = hold_of(&engine, &tenant, id).await?;
    audit(uid, "autohold-delete", &tenant, &hold.project);
    if !engine.autohold_delete(hold.id.clone()).await? {
        return Err(AdminApiError::UnknownHold(hold.id));
    }
    Ok(HttpResponse::NoContent()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .finish())
}
