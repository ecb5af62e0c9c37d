//! A read-protected tenant over the real server: after one build ran, every
//! read route (the API, the build's log file, the console stream) refuses a
//! caller without a token (401, with a challenge) and one whose token the
//! tenant's rules do not name (403), and answers a reader whose token they do.

use futures_util::SinkExt;
use portcullis_integration_tests::server::{BASE_CONFIG, TENANT};
use portcullis_integration_tests::token::{self, auth_scenario, claims, mint, SECRET};
use portcullis_integration_tests::{Scenario, TestServer};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::jobs;
use crate::live_log::read_to_close;

/// The user the tenant's access rule names.
const READER: &str = "rita";

/// A playbook on the job's node that prints a line the log must show.
const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    \
                        - ansible.builtin.debug: {msg: guarded hello}\n";

/// A token of the reader.
fn reader() -> String {
    mint(&claims(READER), SECRET)
}

/// The auth scenario, with the tenant read-protected: only [`READER`] (and
/// the admins) may read it.
fn read_protected() -> Scenario {
    let base = auth_scenario(Scenario {
        config_yaml: BASE_CONFIG.to_string(),
        reader_token: Some(reader()),
        ..Scenario::default()
    });
    Scenario {
        tenant_options: format!(
            "{}    access-rules: [readers]\n    anonymous-read-access: false\n",
            base.tenant_options
        ),
        tenant_items: format!(
            "{}- authorization-rule:\n    name: readers\n    conditions:\n      - sub: {READER}\n",
            base.tenant_items
        ),
        ..base
    }
}

/// Every GET read route of the tenant, with the build and buildset that ran.
fn read_routes(build: &str, buildset: &str) -> Vec<String> {
    let t = format!("/api/tenant/{TENANT}");
    let branch = format!("{t}/pipeline/post/project/demo/branch/master");
    vec![
        format!("{t}/status"),
        format!("{t}/builds"),
        format!("{t}/build/{build}"),
        format!("{t}/buildsets"),
        format!("{t}/buildset/{buildset}"),
        format!("{t}/config-errors"),
        format!("{t}/jobs"),
        format!("{t}/job/guarded"),
        format!("{t}/key/demo.pub"),
        format!("{branch}/freeze-jobs"),
        format!("{branch}/freeze-job/guarded"),
        format!("{t}/autohold"),
        format!("{t}/project/demo/autohold"),
        format!("{t}/authorizations"),
        format!("/logs/{build}/job-output.txt"),
    ]
}

/// Opens the console stream with `token`; the HTTP status of a refused upgrade otherwise.
async fn console_stream(
    server: &TestServer,
    token: Option<&str>,
) -> Result<crate::live_log::Socket, u16> {
    let url = format!(
        "{}/api/tenant/{TENANT}/console-stream",
        server.base_url.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("a websocket request");
    if let Some(token) = token {
        let bearer = format!("Bearer {token}").parse().expect("a header value");
        request.headers_mut().insert("Authorization", bearer);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

/// The build's uuid and its buildset's, once the one job of `newrev` finished.
async fn run_the_build(server: &TestServer) -> (String, String) {
    let newrev = server.demo.commit(
        "Add a job",
        &[
            (".zuul.yaml", &jobs::one_job("guarded", "")),
            ("playbooks/guarded.yaml", PLAYBOOK),
        ],
    );
    let build = server.finished_build("guarded", &newrev).await;
    assert_eq!(
        build["result"],
        json!("SUCCESS"),
        "{build}\n{}",
        server.log()
    );
    let uuid = |v: &Value| v.as_str().expect("a uuid").to_string();
    (uuid(&build["uuid"]), uuid(&build["buildset"]["uuid"]))
}

#[tokio::test]
async fn a_read_protected_tenant_answers_every_read_route_only_to_its_readers() {
    // Given a served read-protected tenant whose one build ran
    let server = TestServer::start(read_protected()).await;
    let (build, buildset) = run_the_build(&server).await;
    let routes = read_routes(&build, &buildset);
    let freeze_pipeline = format!("/api/tenant/{TENANT}/project/demo/freeze-pipeline");
    let freeze_body = json!({"ref": "refs/heads/master", "pipeline": "post"});

    // When every read route is asked without a token, then each is a 401 with a challenge
    for route in &routes {
        let (code, challenge, body) = token::get(&server, route, None).await;
        assert_eq!(code, 401, "{route}: {body}");
        assert!(
            challenge.is_some_and(|c| c.starts_with("Bearer ")),
            "{route}"
        );
        assert!(!body.contains("guarded hello"), "{route} leaked: {body}");
    }
    let (code, _) = token::post(&server, &freeze_pipeline, None, &freeze_body).await;
    assert_eq!(code, 401, "freeze-pipeline");
    assert_eq!(console_stream(&server, None).await.err(), Some(401));

    // When a valid token the tenant's rules do not name asks, then each is a 403
    let stranger = token::user();
    for route in &routes {
        let (code, _, body) = token::get(&server, route, Some(&stranger)).await;
        assert_eq!(code, 403, "{route}: {body}");
    }
    let (code, _) = token::post(&server, &freeze_pipeline, Some(&stranger), &freeze_body).await;
    assert_eq!(code, 403, "freeze-pipeline");
    assert_eq!(
        console_stream(&server, Some(&stranger)).await.err(),
        Some(403)
    );

    // When the reader asks, then each answers, the log and the stream with the build's output
    let reader = reader();
    for route in &routes {
        let (code, _, body) = token::get(&server, route, Some(&reader)).await;
        assert_eq!(code, 200, "{route}: {body}");
    }
    let log = format!("/logs/{build}/job-output.txt");
    let (_, _, text) = token::get(&server, &log, Some(&reader)).await;
    assert!(text.contains("guarded hello"), "{text}");
    let (code, _) = token::post(&server, &freeze_pipeline, Some(&reader), &freeze_body).await;
    assert_eq!(code, 200, "freeze-pipeline");
    let mut socket = console_stream(&server, Some(&reader))
        .await
        .expect("upgraded");
    let request = json!({"uuid": build, "logfile": "console.log"});
    socket
        .send(Message::Text(request.to_string()))
        .await
        .expect("sent");
    let (streamed, close) = read_to_close(&mut socket).await;
    assert!(streamed.contains("guarded hello"), "{streamed}");
    assert_eq!(close, Some(CloseCode::Normal));
}

#[tokio::test]
async fn a_read_protected_tenant_is_listed_only_to_its_readers_and_its_info_stays_open() {
    // Given a served read-protected tenant
    let server = TestServer::start(read_protected()).await;

    // When the tenants are listed without a token, then it is left out; a reader sees it
    let (code, _, anonymous) = token::get(&server, "/api/tenants", None).await;
    assert_eq!((code, anonymous.as_str()), (200, "[]"));
    let (_, _, listed) = token::get(&server, "/api/tenants", Some(&reader())).await;
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(listed[0]["name"], json!(TENANT), "{listed}");

    // When its info is read without a token, then it answers that a login is needed
    let info_path = format!("/api/tenant/{TENANT}/info");
    let (code, _, info) = token::get(&server, &info_path, None).await;
    let info: Value = serde_json::from_str(&info).expect("JSON");
    assert_eq!(code, 200);
    assert_eq!(
        info["info"]["capabilities"]["auth"]["read_protected"],
        json!(true)
    );
}
