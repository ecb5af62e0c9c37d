//! The admin API's refusals through the real server: what is unknown is
//! named with Zuul's status code, and tokens are checked before anything is done.

use portcullis_integration_tests::review::{self, item_ids, project_stanza, JobGate};
use portcullis_integration_tests::server::{BASE_CONFIG, TENANT};
use portcullis_integration_tests::token::{self, auth_scenario};
use portcullis_integration_tests::{wait, Scenario, TestServer};
use serde_json::{json, Value};

/// A pipeline only an admin's enqueue fills: its trigger's ref never moves.
const MANUAL: &str = "- pipeline:\n    name: manual\n    manager: independent\n\
                      \x20   trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}\n";

/// A server with the test authenticator, the `manual` pipeline, and the
/// gatekeeper job (released from the start) in `manual` and `post`; answers
/// once the job's push has run in `post`, so the layout holds the job.
async fn admin_server(gate: &JobGate) -> TestServer {
    let scenario = auth_scenario(Scenario {
        config_yaml: format!("{BASE_CONFIG}{MANUAL}"),
        ..Scenario::default()
    });
    let server = TestServer::start(scenario).await;
    gate.release_all();
    let head = gate.install(&server.demo, &project_stanza(&["manual", "post"], None));
    server.finished_build("gatekeeper", &head).await;
    server
}

/// What the server answers: the status code, the `error` and the `description`.
async fn answer(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, String, String) {
    let (code, body) = token::post(server, path, token, &body).await;
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
    (code, text("error"), text("description"))
}

fn enqueue_path(project: &str) -> String {
    format!("/api/tenant/{TENANT}/project/{project}/enqueue")
}

fn master_of(server: &TestServer) -> Value {
    json!({"pipeline": "manual", "ref": "refs/heads/master", "newrev": server.demo.head()})
}

#[tokio::test]
async fn enqueue_names_an_unknown_project_pipeline_or_change_with_zuuls_status_codes() {
    let gate = JobGate::default();
    let server = admin_server(&gate).await;
    let admin = Some(token::admin());
    let admin = admin.as_deref();

    let (code, error, why) = answer(
        &server,
        &enqueue_path("nonesuch"),
        admin,
        master_of(&server),
    )
    .await;
    assert_eq!((code, error.as_str()), (404, "UnknownProject"), "{why}");
    assert!(why.contains("nonesuch"), "{why}");
    let body = json!({"pipeline": "nopipe", "ref": "refs/heads/master"});
    let (code, error, why) = answer(&server, &enqueue_path("demo"), admin, body).await;
    assert_eq!((code, error.as_str()), (400, "UnknownPipeline"), "{why}");
    assert!(why.contains("nopipe"), "{why}");
    let body = json!({"pipeline": "manual", "change": "4711,1"});
    let (code, error, why) = answer(&server, &enqueue_path("demo"), admin, body).await;
    assert_eq!((code, error.as_str()), (400, "UnknownChange"), "{why}");
    assert!(why.contains("4711"), "{why}");
    let body = json!({"pipeline": "nopipe", "changes": ["4711,1"]});
    let (code, error, why) = answer(
        &server,
        &format!("/api/tenant/{TENANT}/promote"),
        admin,
        body,
    )
    .await;
    assert_eq!((code, error.as_str()), (400, "UnknownPipeline"), "{why}");

    let (code, _, why) = answer(&server, &enqueue_path("demo"), admin, master_of(&server)).await;
    assert_eq!(code, 200, "{why}");
    let build = manual_build(&server).await;
    assert_eq!(build["ref"]["newrev"], server.demo.head(), "{build:#}");
}

/// Waits for the first complete build of the `manual` pipeline.
async fn manual_build(server: &TestServer) -> Value {
    let path = format!("/api/tenant/{TENANT}/builds?pipeline=manual&complete=true");
    wait::until("a build in manual", review::STEP, || async {
        let (_, builds) = server.try_get(&path).await?;
        builds.as_array()?.first().cloned()
    })
    .await
}

#[tokio::test]
async fn expired_or_forged_tokens_get_401_and_a_token_without_rights_403() {
    let gate = JobGate::default();
    let server = admin_server(&gate).await;
    let path = enqueue_path("demo");
    let ask = |token: Option<String>| {
        let body = master_of(&server);
        let path = path.clone();
        let server = &server;
        async move { answer(server, &path, token.as_deref(), body).await }
    };

    let (code, error, _) = ask(None).await;
    assert_eq!((code, error.as_str()), (401, "MissingAuthError"));
    let (code, error, _) = ask(Some(token::expired())).await;
    assert_eq!((code, error.as_str()), (401, "TokenExpiredError"));
    let (code, error, _) = ask(Some(token::forged())).await;
    assert_eq!(
        (code, error.as_str()),
        (401, "AuthTokenInvalidSignatureException")
    );
    let (code, error, _) = ask(Some(token::user())).await;
    assert_eq!((code, error.as_str()), (403, "AuthTokenForbiddenException"));
    assert!(
        item_ids(&server.status().await, "manual").is_empty(),
        "a refused enqueue went in"
    );

    let (code, _, why) = ask(Some(token::override_admin())).await;
    assert_eq!(code, 200, "a zuul.admin claim makes an admin: {why}");
    manual_build(&server).await;
}
