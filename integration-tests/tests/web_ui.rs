//! The web UI in headless Chromium: status, builds and build pages show what runs.

use std::fs;
use std::time::Duration;

use portcullis_integration_tests::browser;
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

use crate::jobs;

/// How long a page may take to show what the test looks for.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_status_builds_and_build_pages_show_a_build_live_and_after() {
    let server = TestServer::start(Scenario::default()).await;
    let release = server.shared_file("release");
    let newrev = server.demo.commit(
        "Add a held job",
        &[
            (".zuul.yaml", &jobs::one_job("held", "")),
            ("playbooks/held.yaml", &jobs::held_until(&release)),
        ],
    );
    let uuid = server.running_build("held", &newrev).await;
    let web = &server.base_url;

    let status = format!("{web}/t/{TENANT}/status");
    browser::rendered_dom_with(&status, &["held", "demo"], PATIENCE);
    browser::screenshot(&status, "status", 3000);

    let build = format!("{web}/t/{TENANT}/build/{uuid}");
    let live = browser::rendered_dom_with(&build, &["before the wait"], PATIENCE);
    assert!(
        !live.contains("after the wait"),
        "the build is still held:\n{live}"
    );
    browser::screenshot(&build, "build-live", 4000);

    fs::write(&release, "go").unwrap();
    server.finished_build("held", &newrev).await;

    let builds = format!("{web}/t/{TENANT}/builds");
    browser::rendered_dom_with(&builds, &["held", "SUCCESS"], PATIENCE);
    browser::screenshot(&builds, "builds", 3000);

    browser::rendered_dom_with(&build, &["after the wait", "SUCCESS"], PATIENCE);
    browser::screenshot(&build, "build", 4000);
}
