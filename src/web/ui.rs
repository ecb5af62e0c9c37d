//! The web UI: a handful of HTML pages under `/t/{tenant}/...` that draw
//! themselves from the REST API with plain JavaScript. Everything is
//! compiled into the binary; there is no build step and no CDN.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::api::check_tenant;
use super::auth::Auth;
use super::logs::{html_escape, percent_encode as url_segment};
use super::{WebError, WebState};

/// The page skeleton; `{{...}}` marks are filled per request.
const PAGE: &str = include_str!("ui/page.html");
/// The static files, by name under `/static/`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("ui/style.css"),
    ),
];

/// Registers the UI routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/t/{tenant}", web::get().to(tenant_home))
        .route("/t/{tenant}/", web::get().to(tenant_home))
        .route("/t/{tenant}/{page}", web::get().to(tenant_page))
        .route("/t/{tenant}/{page}/{uuid}", web::get().to(item_page))
        .route("/static/{name}", web::get().to(asset));
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

async fn home(state: web::Data<WebState>, auth: web::Data<Auth>, req: HttpRequest) -> HttpResponse {
    // As `/api/tenants`, the redirect does not reveal a tenant the caller may not read.
    let tenants = state.engine.tenants().await;
    match tenants.iter().find(|t| auth.may_read(&req, &t.name)) {
        Some(tenant) => redirect(&format!("/t/{}/status", url_segment(&tenant.name))),
        None => html(render("tenants", "", "", "../")),
    }
}

async fn tenant_home(tenant: web::Path<String>) -> HttpResponse {
    redirect(&format!("/t/{}/status", url_segment(&tenant)))
}

async fn tenant_page(
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (tenant, page) = path.into_inner();
    if !matches!(page.as_str(), "status" | "builds" | "buildsets") {
        return Err(WebError::NoRoute(format!("/t/{tenant}/{page}")));
    }
    check_tenant(&state, &tenant).await?;
    Ok(html(render(&page, &tenant, "", "../../")))
}

async fn item_page(
    state: web::Data<WebState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, WebError> {
    let (tenant, page, uuid) = path.into_inner();
    // Zuul's status links running jobs to `stream/{uuid}`: the build page streams.
    let page = match page.as_str() {
        "build" | "stream" => "build",
        "buildset" => "buildset",
        _ => return Err(WebError::NoRoute(format!("/t/{tenant}/{page}/{uuid}"))),
    };
    check_tenant(&state, &tenant).await?;
    Ok(html(render(page, &tenant, &uuid, "../../../")))
}

async fn asset(name: web::Path<String>) -> Result<HttpResponse, WebError> {
    let (_, kind, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name.as_str())
        .ok_or_else(|| WebError::NoRoute(format!("/static/{name}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *kind))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*body))
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body)
}

/// The page `page` of `tenant`; `base` leads back to the server's root.
pub fn render(page: &str, tenant: &str, uuid: &str, base: &str) -> String {
    let title = match (page, tenant) {
        (_, "") => "Portcullis".to_string(),
        ("build", _) => format!("Build {uuid} · {tenant}"),
        ("buildset", _) => format!("Buildset {uuid} · {tenant}"),
        _ => format!("{page} · {tenant}"),
    };
    PAGE.replace("{{title}}", &html_escape(&title))
        .replace("{{page}}", &html_escape(page))
        .replace("{{tenant}}", &html_escape(tenant))
        .replace("{{uuid}}", &html_escape(uuid))
        .replace("{{base}}", &html_escape(base))
}
