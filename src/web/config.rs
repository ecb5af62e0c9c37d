//! A tenant's configuration as Zuul's API shows it: the config errors, the
//! jobs and their variants, and each project's public key for secrets.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_actors::tenant::TenantLayout;
use portcullis_config::error::Severity;
use portcullis_config::{ConfigError, Layout};
use serde_json::{json, Map, Value};

use super::read::ReadTenant;
use super::{WebError, WebState};

type State = web::Data<WebState>;
type ApiResult = Result<HttpResponse, WebError>;

/// Zuul's default page size of the config-errors list.
const DEFAULT_LIMIT: usize = 50;

/// Registers the config views.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/tenant/{tenant}/config-errors",
        web::get().to(config_errors),
    )
    .route("/api/tenant/{tenant}/jobs", web::get().to(jobs))
    .route("/api/tenant/{tenant}/job/{job}", web::get().to(job))
    .route(
        "/api/tenant/{tenant}/key/{project:.+}.pub",
        web::get().to(public_key),
    );
}

/// A JSON answer that any origin may read, as the rest of the API answers.
pub(super) fn ok(body: Value) -> ApiResult {
    Ok(HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(body))
}

/// The tenant's layout as the engine runs it, or 404 for an unknown tenant.
pub(super) async fn tenant_layout(
    state: &WebState,
    tenant: &str,
) -> Result<TenantLayout, WebError> {
    state
        .engine
        .layout(tenant)
        .await
        .ok_or_else(|| WebError::UnknownTenant(tenant.to_string()))
}

/// The layout in use; a tenant whose first load has not finished has an empty one.
pub(super) async fn layout(state: &WebState, tenant: &str) -> Result<Arc<Layout>, WebError> {
    let loaded = tenant_layout(state, tenant).await?;
    Ok(loaded.layout.unwrap_or_default())
}

/// 404 unless the tenant has `project`; its connection otherwise.
pub(super) fn project_connection<'l>(
    layout: &'l Layout,
    tenant: &str,
    project: &str,
) -> Result<&'l str, WebError> {
    let unknown = || WebError::UnknownConfigObject {
        what: "project",
        name: project.to_string(),
        tenant: tenant.to_string(),
    };
    layout
        .project_connections
        .get(project)
        .map(String::as_str)
        .ok_or_else(unknown)
}

/// Filters of the config-errors list, from the query string.
#[derive(Default)]
struct ErrorFilter {
    project: Option<String>,
    branch: Option<String>,
    severity: Option<String>,
    name: Option<String>,
    limit: Option<usize>,
    skip: usize,
}

impl ErrorFilter {
    fn from_query(query: &str) -> Result<ErrorFilter, WebError> {
        let mut filter = ErrorFilter::default();
        let number = |key: &str, v: &str| {
            v.parse::<usize>()
                .map_err(|_| WebError::BadFilter(format!("{key} must be a number, not {v:?}")))
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "project" => filter.project = Some(value),
                "branch" => filter.branch = Some(value),
                "severity" => filter.severity = Some(value),
                "name" => filter.name = Some(value),
                "limit" => filter.limit = Some(number("limit", &value)?),
                "skip" => filter.skip = number("skip", &value)?,
                other => return Err(WebError::BadFilter(format!("unknown parameter {other}"))),
            }
        }
        Ok(filter)
    }

    fn keeps(&self, error: &Value) -> bool {
        let is = |want: &Option<String>, got: &Value| {
            want.as_deref().is_none_or(|w| got.as_str() == Some(w))
        };
        let context = &error["source_context"];
        is(&self.project, &context["project"])
            && is(&self.branch, &context["branch"])
            && is(&self.severity, &error["severity"])
            && is(&self.name, &error["name"])
    }
}

async fn config_errors(state: State, tenant: ReadTenant, req: HttpRequest) -> ApiResult {
    let filter = ErrorFilter::from_query(req.query_string())?;
    let loaded = tenant_layout(&state, &tenant).await?;
    // Errors that refused the last load come first: they are why the layout is old.
    let layout_errors = loaded.layout.iter().flat_map(|l| l.errors.iter());
    let list: Vec<Value> = loaded
        .refused
        .iter()
        .chain(layout_errors)
        .map(error_json)
        .filter(|e| filter.keeps(e))
        .skip(filter.skip)
        .take(filter.limit.unwrap_or(DEFAULT_LIMIT))
        .collect();
    ok(Value::Array(list))
}

/// One error as Zuul lists it: where, the full report, the short text, severity and kind.
pub fn error_json(error: &ConfigError) -> Value {
    let severity = match error.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    json!({
        "source_context": {
            "project": error.project,
            "branch": error.branch,
            "path": error.file,
        },
        "error": error.report(),
        "short_error": error.message,
        "severity": severity,
        "name": error_name(&error.message),
    })
}

/// Zuul's name for the kind of a config error, from what our message says.
fn error_name(message: &str) -> &'static str {
    let kinds = [
        ("nodeset", "is not defined", "Nodeset Not Found"),
        ("secret", "is not defined", "Secret Not Found"),
        ("semaphore", "is not defined", "Semaphore Not Found"),
        ("template", "is not defined", "Template Not Found"),
        ("pipeline", "is not defined", "Pipeline Not Found"),
        ("job", "is not defined", "Job Not Found"),
        ("", "is already defined", "Duplicate Definition"),
        ("", "is not in tenant", "Project Not Found"),
        ("", "unknown field", "Unknown Attribute"),
        ("", "cannot decrypt", "Secret Decryption Failed"),
        ("", "cycle", "Dependency Cycle"),
    ];
    let found = kinds
        .iter()
        .find(|(what, says, _)| message.contains(what) && message.contains(says));
    found.map_or("Unknown Configuration Error", |(_, _, name)| *name)
}

async fn jobs(state: State, tenant: ReadTenant) -> ApiResult {
    let layout = layout(&state, &tenant).await?;
    let list: Vec<Value> = layout
        .jobs
        .iter()
        .map(|(name, variants)| job_summary(&layout, name, variants))
        .collect();
    ok(Value::Array(list))
}

/// A job in Zuul's jobs list: name, first description line, tags, and variants' parents and branches.
fn job_summary(
    layout: &Layout,
    name: &str,
    variants: &[portcullis_config::job::JobVariant],
) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    let description = variants.iter().find_map(|v| v.description.as_deref());
    if let Some(first) = description.and_then(|d| d.lines().next()) {
        out.insert("description".into(), json!(first));
    }
    let mut tags: Vec<&String> = variants
        .iter()
        .flat_map(|v| v.tags.iter().flatten())
        .collect();
    tags.sort();
    tags.dedup();
    let listed: Vec<Value> = variants
        .iter()
        .map(|v| variant_summary(layout, v))
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        .collect();
    if !listed.is_empty() {
        out.insert("variants".into(), Value::Array(listed));
    }
    if !tags.is_empty() {
        out.insert("tags".into(), json!(tags));
    }
    Value::Object(out)
}

fn variant_summary(layout: &Layout, v: &portcullis_config::job::JobVariant) -> Value {
    let mut out = Map::new();
    let default_parent = layout.default_parent.as_deref().unwrap_or("base");
    match &v.parent {
        Some(None) => {}
        Some(Some(parent)) => drop(out.insert("parent".into(), json!(parent))),
        None if v.name == default_parent => {}
        None => drop(out.insert("parent".into(), json!(default_parent))),
    }
    if let Some(branches) = &v.branches {
        out.insert("branches".into(), json!(branches));
    }
    Value::Object(out)
}

async fn job(state: State, tenant: ReadTenant, path: web::Path<(String, String)>) -> ApiResult {
    let (tenant, (_, name)) = (tenant.into_name(), path.into_inner());
    let layout = layout(&state, &tenant).await?;
    let Some(variants) = layout.jobs.get(&name) else {
        return Err(WebError::UnknownConfigObject {
            what: "job",
            name,
            tenant,
        });
    };
    let list: Vec<Value> = variants.iter().map(variant_json).collect();
    ok(Value::Array(list))
}

/// One variant as written, with where it was defined.
fn variant_json(v: &portcullis_config::job::JobVariant) -> Value {
    let source = &v.source;
    let parent = v.parent.clone().flatten();
    json!({
        "name": v.name,
        "parent": parent,
        "description": v.description,
        "branches": v.branches,
        "voting": v.voting.unwrap_or(true),
        "abstract": v.is_abstract.unwrap_or(false),
        "final": v.is_final.unwrap_or(false),
        "protected": v.protected.unwrap_or(false),
        "timeout": v.timeout,
        "tags": v.tags.clone().unwrap_or_default(),
        "variables": v.vars.clone().unwrap_or_default(),
        "source_context": {
            "project": source.project,
            "branch": source.branch,
            "path": source.path,
        },
    })
}

async fn public_key(
    state: State,
    tenant: ReadTenant,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (_, project) = path.into_inner();
    let layout = layout(&state, &tenant).await?;
    let connection = project_connection(&layout, &tenant, &project)?.to_string();
    let keys = state.keys.clone();
    // The first ask makes the key pair, which takes seconds.
    let pem = web::block(move || keys.public_pem(&connection, &project))
        .await
        .map_err(|e| WebError::Key(e.to_string()))?
        .map_err(|e| WebError::Key(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .content_type("text/plain; charset=utf-8")
        .body(pem))
}
