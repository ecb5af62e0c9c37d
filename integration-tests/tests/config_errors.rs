//! Bad input: broken configs stop start-up with file and line; unknown things answer 404 JSON.

use std::process::Command;

use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

/// Runs `serve` on a server config and tenant config; returns (exit success, stderr).
fn serve_with(server_config: &str, tenant_config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portcullis.yaml"), server_config).unwrap();
    std::fs::write(dir.path().join("main.yaml"), tenant_config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis-under-test"))
        .args(["serve", "--config"])
        .arg(dir.path().join("portcullis.yaml"))
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const GOOD_TENANTS: &str =
    "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n";

#[test]
fn a_server_config_with_an_unknown_key_stops_start_up_naming_file_and_line() {
    let (ok, stderr) = serve_with(
        "tenant-config: main.yaml\nconnections:\n  local: {driver: git, baseurl: repos}\nstat-dir: oops\n",
        GOOD_TENANTS,
    );
    assert!(!ok);
    assert!(stderr.contains("portcullis.yaml:4"), "{stderr}");
    assert!(stderr.contains("stat-dir"), "{stderr}");
}

#[test]
fn a_malformed_tenant_config_stops_start_up_naming_file_and_line() {
    let (ok, stderr) = serve_with(
        "tenant-config: main.yaml\nconnections:\n  local: {driver: git, baseurl: repos}\n",
        "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config\n",
    );
    assert!(!ok);
    assert!(stderr.contains("main.yaml:"), "{stderr}");
}

#[tokio::test]
async fn unknown_tenants_and_builds_answer_404_with_a_json_error() {
    let server = TestServer::start(Scenario::default()).await;

    let (code, body) = server.get("/api/tenant/nope/status").await;
    assert_eq!(code, 404);
    assert!(body.to_string().contains("nope"), "{body}");

    let (code, body) = server
        .get(&format!("/api/tenant/{TENANT}/build/0123456789abcdef"))
        .await;
    assert_eq!(code, 404);
    assert!(body.is_object(), "{body}");
}
