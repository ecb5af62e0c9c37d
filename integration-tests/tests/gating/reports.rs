//! What the gate told each change (issue 11, item 6): every report is
//! stored with its buildset and shown per change by `buildsets?change=N`,
//! laid out as Zuul's reports are (the pipeline's message for the result,
//! the buildset's page, a line per job with its log URL, result and run time).

use portcullis_integration_tests::postgres::Database;
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::Scenario;
use serde_json::Value;

use super::{Change, Gate};

/// The buildsets `buildsets?change=N` lists for `change`.
async fn buildsets_of(gate: &Gate, change: &Change) -> Vec<Value> {
    let path = format!("/api/tenant/{TENANT}/buildsets?change={}", change.number);
    let (status, sets) = gate.server.get(&path).await;
    assert_eq!(status, 200, "{sets:#}");
    sets.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn each_change_s_report_is_stored_and_reads_as_zuul_s() {
    reports_are_stored_per_change(Scenario::default()).await;
}

#[tokio::test]
async fn each_change_s_report_is_stored_in_postgresql_too() {
    let database = Database::create();
    let scenario = Scenario {
        database: Some(database.url()),
        ..Scenario::default()
    };
    reports_are_stored_per_change(scenario).await;
}

async fn reports_are_stored_per_change(scenario: Scenario) {
    // Given A, which passes, and B behind it, which fails
    let gate = Gate::start("", scenario).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b = gate
        .propose("b", &[("FAIL", "b breaks the job\n")], &mut queue)
        .await;

    // When the gate reports both
    gate.jobs.release_all();
    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b).await, "FAILURE");

    // Then each change's buildset carries its result and its report
    for (change, result, header) in [
        (&a, "SUCCESS", "Build succeeded."),
        (&b, "FAILURE", "Build failed."),
    ] {
        let sets = buildsets_of(&gate, change).await;
        assert_eq!(
            sets.len(),
            1,
            "one report for change {}: {sets:#?}",
            change.number
        );
        let set = &sets[0];
        assert_eq!(set["result"], result);
        let uuid = set["uuid"].as_str().expect("a buildset uuid");
        let (_, full) = gate
            .server
            .get(&format!("/api/tenant/{TENANT}/buildset/{uuid}"))
            .await;
        let log_url = full["builds"][0]["log_url"].as_str().expect("a log url");
        let page = format!("{}/t/{TENANT}/buildset/{uuid}", gate.server.base_url);
        let message = set["message"].as_str().expect("a message");
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[..4], [header, "", page.as_str(), ""], "{message}");
        let job = format!("- gatekeeper {log_url} : {result} in ");
        assert!(
            lines[4].starts_with(&job) && lines[4].ends_with('s'),
            "{message}"
        );
        assert_eq!(lines.len(), 5, "{message}");
        let (status, _) = gate.server.get_text(&page).await;
        assert_eq!(status, 200, "the buildset's page is served");
    }
}
