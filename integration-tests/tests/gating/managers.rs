//! Serial and supercedent pipelines over pushes to master.

use portcullis_integration_tests::review::{
    has_started, managers_config, project_stanza, queue_items, JobGate,
};
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

/// A server with `deploy` and `promote`, the gatekeeper job in `pipeline`.
async fn server_running(gate: &JobGate, pipeline: &str) -> TestServer {
    let scenario = Scenario {
        config_yaml: managers_config(),
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    let installed = gate.install(&server.demo, &project_stanza(&[pipeline], None));
    gate.release(&installed);
    server.finished_build("gatekeeper", &installed).await;
    server
}

/// Pushes change `i` to master and waits until `pipeline` holds `expected` (and it).
async fn push(server: &TestServer, pipeline: &str, i: usize, expected: &mut Vec<String>) -> String {
    let name = format!("changes/{i}");
    let sha = server
        .demo
        .commit(&format!("Change {i}"), &[(&name, "x\n")]);
    expected.push(sha.clone());
    server.until_queue(pipeline, expected).await;
    sha
}

/// Whether the item for `sha` in `pipeline` has a started build.
async fn started(server: &TestServer, pipeline: &str, sha: &str) -> bool {
    let items = queue_items(&server.status().await, pipeline);
    let item = items.iter().find(|i| i["refs"][0]["id"] == sha);
    has_started(item.expect("the item is in the queue"))
}

#[tokio::test]
async fn a_serial_pipeline_runs_one_push_at_a_time_each_on_its_own_state() {
    let gate = JobGate::default();
    let server = server_running(&gate, "deploy").await;
    let mut queue = Vec::new();
    let mut shas = Vec::new();
    for i in 1..=3 {
        shas.push(push(&server, "deploy", i, &mut queue).await);
    }

    gate.until_runs(&shas[0], 1).await;
    assert!(!started(&server, "deploy", &shas[1]).await);
    assert!(!started(&server, "deploy", &shas[2]).await);
    gate.release(&shas[0]);
    gate.until_runs(&shas[1], 1).await;
    assert!(!started(&server, "deploy", &shas[2]).await, "one at a time");
    gate.release_all();
    for (i, sha) in shas.iter().enumerate() {
        let build = server.finished_build("gatekeeper", sha).await;
        assert_eq!(build["result"], "SUCCESS", "{build:#}");
        let tree: Vec<String> = (1..=i + 1).map(|n| n.to_string()).collect();
        assert_eq!(
            gate.trees(sha),
            [tree],
            "each push is tested once, on its own state"
        );
    }
}

#[tokio::test]
async fn a_supercedent_pipeline_replaces_the_waiting_push_with_the_newest() {
    let gate = JobGate::default();
    let server = server_running(&gate, "promote").await;
    let mut queue = Vec::new();
    let first = push(&server, "promote", 1, &mut queue).await;
    gate.until_runs(&first, 1).await;
    let replaced = push(&server, "promote", 2, &mut queue).await;

    queue.pop();
    let newest = push(&server, "promote", 3, &mut queue).await;
    gate.release_all();

    for sha in [&first, &newest] {
        let build = server.finished_build("gatekeeper", sha).await;
        assert_eq!(build["result"], "SUCCESS", "{build:#}");
    }
    let path = format!("/api/tenant/{TENANT}/builds?newrev={replaced}");
    let (_, builds) = server.get(&path).await;
    assert_eq!(builds.as_array().map(Vec::len), Some(0), "{builds:#}");
    assert!(
        gate.trees(&replaced).is_empty(),
        "the replaced push never ran"
    );
}
