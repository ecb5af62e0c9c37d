//! The web UI in headless Chromium: status, builds and build pages show what runs.

use std::fs;

use portcullis_integration_tests::browser;
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

use crate::jobs;

#[tokio::test]
async fn the_status_builds_and_build_pages_show_a_build_live_and_after() {
    let server = TestServer::start(Scenario::default()).await;
    let release = server.state_dir().with_file_name("release");
    let newrev = server.demo.commit(
        "Add a held job",
        &[(".zuul.yaml", &jobs::one_job("held", "")), ("playbooks/held.yaml", &jobs::held_until(&release))],
    );
    let uuid = server.running_build("held", &newrev).await;
    let web = &server.base_url;

    let status = browser::rendered_dom(&format!("{web}/t/{TENANT}/status"), 3000);
    assert!(status.contains("held"), "status page:\n{status}");
    assert!(status.contains("demo"), "status page:\n{status}");
    browser::screenshot(&format!("{web}/t/{TENANT}/status"), "status", 3000);

    let live = browser::rendered_dom(&format!("{web}/t/{TENANT}/build/{uuid}"), 4000);
    assert!(live.contains("before the wait"), "live build page:\n{live}");
    browser::screenshot(&format!("{web}/t/{TENANT}/build/{uuid}"), "build-live", 4000);

    fs::write(&release, "go").unwrap();
    server.finished_build("held", &newrev).await;

    let builds = browser::rendered_dom(&format!("{web}/t/{TENANT}/builds"), 3000);
    assert!(builds.contains("held") && builds.contains("SUCCESS"), "builds page:\n{builds}");
    browser::screenshot(&format!("{web}/t/{TENANT}/builds"), "builds", 3000);

    let done = browser::rendered_dom(&format!("{web}/t/{TENANT}/build/{uuid}"), 4000);
    assert!(done.contains("after the wait"), "finished build page:\n{done}");
    assert!(done.contains("SUCCESS"), "finished build page:\n{done}");
    browser::screenshot(&format!("{web}/t/{TENANT}/build/{uuid}"), "build", 4000);
}
