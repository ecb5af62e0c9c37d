//! Zuul's freeze endpoints: the job graph a project's branch would run in a
//! pipeline (`freeze-jobs`), one frozen job as the executor would get it
//! (`freeze-job`), and the project's pipeline parameters (`freeze-pipeline`).
//! As in Zuul, file matchers are skipped and secrets redacted; the graph
//! comes from the same freezing code the scheduler and `config freeze` use.

use actix_web::{web, HttpResponse};
use portcullis_config::{FrozenJob, Layout, PlaybookRef};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::config::{layout, ok, project_connection};
use super::read::ReadTenant;
use super::{WebError, WebState};

type State = web::Data<WebState>;
type ApiResult = Result<HttpResponse, WebError>;

/// Where Zuul puts a redacted secret's value.
const REDACTED: &str = "REDACTED";

const BRANCH: &str =
    "/api/tenant/{tenant}/pipeline/{pipeline}/project/{project:.+}/branch/{branch:.+}";

/// Registers the freeze endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(&format!("{BRANCH}/freeze-jobs"), web::get().to(freeze_jobs))
        .route(
            &format!("{BRANCH}/freeze-job/{{job}}"),
            web::get().to(freeze_job),
        )
        .route(
            "/api/tenant/{tenant}/project/{project:.+}/freeze-pipeline",
            web::post().to(freeze_pipeline),
        );
}

/// The path of the branch endpoints.
#[derive(Deserialize)]
struct BranchPath {
    tenant: String,
    pipeline: String,
    project: String,
    branch: String,
}

/// The frozen graph at `at`, after checking its tenant, pipeline and project exist.
async fn frozen(state: &WebState, at: &BranchPath) -> Result<Vec<FrozenJob>, WebError> {
    let layout = layout(state, &at.tenant).await?;
    check_pipeline(&layout, &at.tenant, &at.pipeline)?;
    project_connection(&layout, &at.tenant, &at.project)?;
    layout
        .job_graph_for_files(&at.pipeline, &at.project, &at.branch, None)
        .map_err(|e| WebError::Freeze(e.to_string()))
}

fn check_pipeline(layout: &Layout, tenant: &str, pipeline: &str) -> Result<(), WebError> {
    match layout.pipeline(pipeline) {
        Some(_) => Ok(()),
        None => Err(WebError::UnknownConfigObject {
            what: "pipeline",
            name: pipeline.to_string(),
            tenant: tenant.to_string(),
        }),
    }
}

async fn freeze_jobs(state: State, _: ReadTenant, at: web::Path<BranchPath>) -> ApiResult {
    let jobs = frozen(&state, &at).await?;
    let list: Vec<Value> = jobs
        .iter()
        .map(|j| json!({ "name": j.name, "dependencies": j.dependencies }))
        .collect();
    ok(Value::Array(list))
}

async fn freeze_job(
    state: State,
    _: ReadTenant,
    path: web::Path<(String, String, String, String, String)>,
) -> ApiResult {
    let (tenant, pipeline, project, branch, job) = path.into_inner();
    let at = BranchPath {
        tenant,
        pipeline,
        project,
        branch,
    };
    let jobs = frozen(&state, &at).await?;
    let Some(found) = jobs.iter().find(|j| j.name == job) else {
        return Err(WebError::UnknownConfigObject {
            what: "job",
            name: job,
            tenant: at.tenant,
        });
    };
    ok(job_params(found, &at))
}

/// The frozen job as Zuul's freeze-job answers it: the executor's parameters, secrets redacted.
fn job_params(job: &FrozenJob, at: &BranchPath) -> Value {
    let playbooks =
        |list: &[PlaybookRef]| -> Vec<Value> { list.iter().map(playbook_json).collect() };
    json!({
        "job": job.name,
        "branch": at.branch,
        "override_branch": null,
        "override_checkout": job.override_checkout,
        "timeout": job.timeout,
        "pre_timeout": job.pre_timeout,
        "post_timeout": job.post_timeout,
        "ansible_version": job.ansible_version,
        "workspace_scheme": job.workspace_scheme,
        "voting": job.voting,
        "playbooks": playbooks(&job.run),
        "pre_playbooks": playbooks(&job.pre_run),
        "post_playbooks": playbooks(&job.post_run),
        "cleanup_playbooks": playbooks(&job.cleanup_run),
        "nodeset": job.nodeset,
        "vars": job.vars,
        "extra_vars": job.extra_vars,
        "host_vars": job.host_vars,
        "group_vars": job.group_vars,
        "secret_vars": null,
        "projects": job.required_projects,
        "zuul": {
            "job": job.name,
            "pipeline": at.pipeline,
            "tenant": at.tenant,
            "project": { "name": at.project },
            "branch": at.branch,
            "jobtags": job.tags,
            "buildset": null,
        },
    })
}

fn playbook_json(p: &PlaybookRef) -> Value {
    let secrets: Map<String, Value> = p
        .secrets
        .keys()
        .map(|k| (k.clone(), json!(REDACTED)))
        .collect();
    json!({
        "connection": p.connection,
        "project": p.project,
        "branch": p.branch,
        "trusted": p.trusted,
        "roles": [],
        "secrets": secrets,
        "semaphores": p.semaphores,
        "path": p.path,
        "cleanup": p.cleanup,
    })
}

/// The body Zuul's freeze-pipeline takes.
#[derive(Deserialize)]
struct FreezePipeline {
    #[serde(rename = "ref")]
    ref_name: Option<String>,
    pipeline: Option<String>,
}

async fn freeze_pipeline(
    state: State,
    tenant: ReadTenant,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult {
    let (tenant, (_, project)) = (tenant.into_name(), path.into_inner());
    // Read here, not by an extractor, so that the caller is checked before the body.
    let body: FreezePipeline = serde_json::from_slice(&body)
        .map_err(|e| WebError::BadFilter(format!("the body is not a freeze request: {e}")))?;
    if body.ref_name.is_none() {
        return Err(WebError::BadFilter("ref is required".into()));
    }
    let Some(pipeline) = body.pipeline.as_deref() else {
        return Err(WebError::BadFilter("pipeline is required".into()));
    };
    let layout = layout(&state, &tenant).await?;
    project_connection(&layout, &tenant, &project)?;
    check_pipeline(&layout, &tenant, pipeline)?;
    // Project pipeline parameters are not supported yet, so there are none to list.
    ok(json!({ "parameters": [] }))
}
