//! Build history: kept across restarts (SQLite) and stored in PostgreSQL by URL.

use portcullis_integration_tests::postgres::Database;
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

use crate::jobs;

fn push_greeting(server: &TestServer) -> String {
    server.demo.commit(
        "Add a greeting job",
        &[
            (".zuul.yaml", &jobs::one_job("hello", "")),
            ("playbooks/hello.yaml", &jobs::greeting()),
        ],
    )
}

#[tokio::test]
async fn build_history_survives_a_restart() {
    let mut server = TestServer::start(Scenario::default()).await;
    let newrev = push_greeting(&server);
    let build = server.finished_build("hello", &newrev).await;

    server.restart().await;

    let uuid = build["uuid"].as_str().unwrap();
    let (code, again) = server
        .get(&format!("/api/tenant/{TENANT}/build/{uuid}"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(again["result"], "SUCCESS");
    assert_eq!(again["ref"]["newrev"], newrev.as_str());
}

#[tokio::test]
async fn builds_are_stored_in_postgresql_when_the_url_says_so() {
    let database = Database::create();
    let scenario = Scenario {
        database: Some(database.url()),
        ..Scenario::default()
    };
    let mut server = TestServer::start(scenario).await;
    let newrev = push_greeting(&server);
    server.finished_build("hello", &newrev).await;

    server.restart().await;

    let (_, builds) = server
        .get(&format!("/api/tenant/{TENANT}/builds?newrev={newrev}"))
        .await;
    assert_eq!(builds.as_array().map(Vec::len), Some(1), "{builds}");
    assert_eq!(builds[0]["result"], "SUCCESS");
}
