//! Who may read a tenant: a read-protected tenant answers every read route
//! (the API, the build logs, the console stream) only to a caller whose
//! token meets its access rules (or admin rules, or names it in
//! `zuul.admin`); without a token it is a 401 with a challenge, with a token
//! its rules do not name a 403. An open tenant answers anyone.

use actix_web::http::{Method, StatusCode};
use portcullis_config::tenant::TopLevel;
use portcullis_config::TenantConfig;
use serde_json::{json, Value};

use super::admin_world::{admin_token, authenticators, mint, tenant_rules, user, AdminWorld, Key};
use super::console::{Served, PATH};
use super::harness::{within, TENANT};
use super::ws_client::{Frame, WsClient};
use crate::web::Auth;

/// One read route, and what a reader of the tenant gets from it.
struct Read {
    method: Method,
    uri: &'static str,
    body: &'static str,
    /// The harness's layout is empty: its config objects are not found, by the handler.
    reader_gets: StatusCode,
}

const fn get(uri: &'static str, reader_gets: StatusCode) -> Read {
    Read {
        method: Method::GET,
        uri,
        body: "",
        reader_gets,
    }
}

const OK: StatusCode = StatusCode::OK;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
/// Every read route of the tenant that answers over plain HTTP.
fn reads() -> Vec<Read> {
    vec![
        get("/api/tenant/example/status", OK),
        get("/api/tenant/example/builds", OK),
        get("/api/tenant/example/build/bs1-lint", OK),
        get("/api/tenant/example/buildsets", OK),
        get("/api/tenant/example/buildset/bs1", OK),
        get("/api/tenant/example/config-errors", OK),
        get("/api/tenant/example/jobs", OK),
        get("/api/tenant/example/job/base", NOT_FOUND),
        get("/api/tenant/example/key/org/project.pub", NOT_FOUND),
        get(
            "/api/tenant/example/pipeline/check/project/org/project/branch/main/freeze-jobs",
            NOT_FOUND,
        ),
        get(
            "/api/tenant/example/pipeline/check/project/org/project/branch/main/freeze-job/unit",
            NOT_FOUND,
        ),
        Read {
            method: Method::POST,
            uri: "/api/tenant/example/project/org/project/freeze-pipeline",
            body: r#"{"ref": "refs/heads/main", "pipeline": "check"}"#,
            reader_gets: NOT_FOUND,
        },
        get("/api/tenant/example/autohold", OK),
        get("/api/tenant/example/autohold/0000000001", OK),
        get("/api/tenant/example/project/org/project/autohold", OK),
        get("/api/tenant/example/authorizations", OK),
        get("/logs/bs1-lint/job-output.txt", OK),
        get("/logs/bs1-lint/", OK),
    ]
}

/// The tenant file with the tenant read-protected: its readers are group `{tenant}-readers`.
fn protected_rules() -> TenantConfig {
    let mut rules = tenant_rules();
    let options = &mut rules.tenants[0].options;
    options.anonymous_read_access = false;
    options.access_rules = vec!["tenant-readers".into()];
    rules.items.push(TopLevel::Rule {
        kind: "authorization-rule".into(),
        name: "tenant-readers".into(),
        conditions: json!([{"groups": "{tenant.name}-readers"}]),
    });
    rules
}

/// A world under `rules` with history (`bs1`, its build `bs1-lint` with a
/// log), and a hold of the tenant.
async fn world_under(rules: &TenantConfig) -> AdminWorld {
    let auth = Auth::new(&authenticators(), rules).expect("the authenticators");
    let world = AdminWorld::with_auth(auth).await;
    world.world.seed_history().await;
    world
        .world
        .write_log("bs1-lint", "job-output.txt", "lint passed\n");
    world.engine.add_hold("0000000001", TENANT, "org/project");
    world
}

/// A token of a user the tenant's access rules name.
fn reader() -> String {
    mint(Key::Rs256, user(&["example-readers"]))
}

/// A valid token of a user no rule of the tenant names.
fn stranger() -> String {
    mint(Key::Rs256, user(&["dev"]))
}

/// Asks `read` with `token`; answers status, `WWW-Authenticate` and body.
async fn ask(
    world: &AdminWorld,
    read: &Read,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let (status, headers, body) = world
        .send(read.method.clone(), read.uri, token, read.body)
        .await;
    let challenge = headers
        .get("WWW-Authenticate")
        .map(|v| v.to_str().expect("ASCII").to_string());
    (status, challenge, body)
}

/// Asserts that every read route answers a reader what it answers, not a refusal.
async fn assert_every_route_answers(world: &AdminWorld, token: Option<&str>) {
    for read in reads() {
        let (status, _, body) = ask(world, &read, token).await;
        assert_eq!(
            status, read.reader_gets,
            "{} {}: {body}",
            read.method, read.uri
        );
    }
}

#[actix_web::test]
async fn every_read_route_of_a_protected_tenant_refuses_a_caller_without_a_token_with_a_challenge()
{
    // Given a read-protected tenant with history, logs and a hold
    let world = world_under(&protected_rules()).await;

    for read in reads() {
        // When a caller without a token reads
        let (status, challenge, body) = ask(&world, &read, None).await;

        // Then it is a 401 in Zuul's JSON, with a bearer challenge, and nothing of the tenant
        let route = format!("{} {}", read.method, read.uri);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{route}: {body}");
        assert_eq!(body["error"], json!("MissingAuthError"), "{route}");
        let challenge = challenge.unwrap_or_else(|| panic!("{route}: no challenge"));
        assert!(
            challenge.starts_with("Bearer realm="),
            "{route}: {challenge}"
        );
    }
}

#[actix_web::test]
async fn every_read_route_of_a_protected_tenant_refuses_a_token_its_rules_do_not_name() {
    // Given a read-protected tenant
    let world = world_under(&protected_rules()).await;

    for read in reads() {
        // When a valid token of a user no rule names reads
        let (status, challenge, body) = ask(&world, &read, Some(&stranger())).await;

        // Then it is a 403 in Zuul's JSON, without a challenge
        let route = format!("{} {}", read.method, read.uri);
        assert_eq!(status, StatusCode::FORBIDDEN, "{route}: {body}");
        assert_eq!(
            body["error"],
            json!("AuthTokenForbiddenException"),
            "{route}"
        );
        assert!(challenge.is_none(), "{route}");
    }
}

#[actix_web::test]
async fn every_read_route_of_a_protected_tenant_answers_a_reader_its_access_rules_name() {
    // Given a read-protected tenant
    let world = world_under(&protected_rules()).await;

    // When a reader reads every route, then each answers as it answers anyone on an open tenant
    assert_every_route_answers(&world, Some(&reader())).await;
    let (_, _, builds) = ask(
        &world,
        &get("/api/tenant/example/builds", OK),
        Some(&reader()),
    )
    .await;
    assert_eq!(builds.as_array().map(Vec::len), Some(2), "{builds}");
    let log = get("/logs/bs1-lint/job-output.txt", OK);
    let (_, _, text) = ask(&world, &log, Some(&reader())).await;
    assert_eq!(text, json!("lint passed\n"));
}

#[actix_web::test]
async fn the_admins_of_a_protected_tenant_read_it_too() {
    // Given a read-protected tenant whose admins are group example-admins and
    // the operator's `zuul.admin` claim
    let world = world_under(&protected_rules()).await;

    // When an admin by rule, and one by claim, read every route, then each answers
    assert_every_route_answers(&world, Some(&mint(Key::Rs256, user(&["example-admins"])))).await;
    assert_every_route_answers(&world, Some(&admin_token())).await;
}

#[actix_web::test]
async fn an_open_tenant_answers_every_read_route_to_anonymous_readers() {
    // Given a tenant without access rules that allows anonymous reads
    let world = world_under(&tenant_rules()).await;

    // When a caller without a token reads every route (but the token-only
    // authorizations), then each answers
    for read in reads() {
        let (status, _, body) = ask(&world, &read, None).await;
        let expected = match read.uri {
            "/api/tenant/example/authorizations" => StatusCode::UNAUTHORIZED,
            _ => read.reader_gets,
        };
        assert_eq!(status, expected, "{} {}: {body}", read.method, read.uri);
    }
}

#[actix_web::test]
async fn an_unknown_tenant_is_a_404_before_any_token_is_asked_for() {
    // Given a read-protected tenant
    let world = world_under(&protected_rules()).await;

    // When a caller without a token reads a tenant that does not exist, then it is a 404
    let (status, _, body) = ask(&world, &get("/api/tenant/nope/builds", OK), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], json!("UnknownTenant"));
}

#[actix_web::test]
async fn the_tenant_list_shows_a_protected_tenant_only_to_its_readers() {
    // Given a read-protected tenant
    let world = world_under(&protected_rules()).await;
    let tenants = get("/api/tenants", OK);

    // When the tenants are listed without a token, or with a stranger's, then it is not there
    for token in [None, Some(stranger())] {
        let (status, _, list) = ask(&world, &tenants, token.as_deref()).await;
        assert_eq!((status, list), (StatusCode::OK, json!([])));
    }

    // When a reader lists them, then it is
    let (_, _, list) = ask(&world, &tenants, Some(&reader())).await;
    assert_eq!(list[0]["name"], json!(TENANT), "{list}");
}

#[actix_web::test]
async fn info_stays_open_and_tells_the_ui_that_the_tenant_is_read_protected() {
    // Given a read-protected tenant
    let world = world_under(&protected_rules()).await;

    // When its info and the root's are read without a token
    let (root, _, root_info) = ask(&world, &get("/api/info", OK), None).await;
    let tenant_info = get("/api/tenant/example/info", OK);
    let (status, _, info) = ask(&world, &tenant_info, None).await;

    // Then both answer, and the tenant's says a login is needed
    assert_eq!((root, status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        root_info["info"]["capabilities"]["auth"]["read_protected"],
        json!(false)
    );
    assert_eq!(
        info["info"]["capabilities"]["auth"]["read_protected"],
        json!(true)
    );
}

/// A served read-protected tenant with a stored log of build `b1`, and a
/// build `theirs` of another tenant, running and stored.
async fn served_protected() -> Served {
    let auth = Auth::new(&authenticators(), &protected_rules()).expect("the authenticators");
    let served = Served::with_auth(auth).await;
    served.world.record_build("b1").await;
    served.world.write_log("b1", "job-output.txt", "mine\n");
    served.world.record_build_in("other", "theirs").await;
    served
        .world
        .write_log("theirs", "job-output.txt", "not yours\n");
    served
}

/// A console stream of the served tenant, opened with a reader's token.
async fn reader_client(served: &Served) -> WsClient {
    let token = reader();
    let connect = WsClient::connect_as(served.addr, PATH, Some(&token));
    within("the upgrade", connect).await.expect("upgraded")
}

#[actix_web::test]
async fn the_console_stream_of_a_protected_tenant_is_refused_before_the_upgrade_without_a_readers_token(
) {
    // Given a served read-protected tenant
    let served = served_protected().await;

    // When a client without a token, then one with a stranger's, asks to upgrade
    for (token, refusal) in [(None, " 401 "), (Some(stranger()), " 403 ")] {
        let connect = WsClient::connect_as(served.addr, PATH, token.as_deref());
        let refused = within("the refusal", connect).await;

        // Then the upgrade is refused with the status a read route answers
        assert!(
            matches!(&refused, Err(status) if status.contains(refusal)),
            "{:?}",
            refused.err()
        );
    }

    // When a reader asks, then the build's log is streamed
    let mut client = reader_client(&served).await;
    client
        .send_text(r#"{"uuid": "b1", "logfile": "console.log"}"#)
        .await;
    let (text, close) = within("the log", client.text_until_close()).await;
    assert_eq!(text, "mine\n");
    assert!(matches!(close, Frame::Close(1000, _)), "{close:?}");
}

#[actix_web::test]
async fn the_console_stream_does_not_stream_another_tenants_build() {
    // Given a served tenant and a build of another tenant, stored and running
    let served = served_protected().await;
    let hub = served.world.state.engine.log_hub().clone();
    hub.open("theirs");
    hub.publish("theirs", "not yours either");

    // When a reader of the tenant asks its console stream for that build
    let mut client = reader_client(&served).await;
    client
        .send_text(r#"{"uuid": "theirs", "logfile": "console.log"}"#)
        .await;

    // Then it closes as for a build that does not exist, having sent nothing
    let (text, close) = within("the close", client.text_until_close()).await;
    assert_eq!(text, "");
    assert_eq!(close, Frame::Close(4011, "Build not found".into()));
    hub.close("theirs");
}
