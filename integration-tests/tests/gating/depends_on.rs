//! `Depends-On: <project>~<number>` across two projects sharing a queue.

use portcullis_integration_tests::review::{project_stanza, Developer};
use portcullis_integration_tests::Scenario;

use super::{merged_into, Gate};

#[tokio::test]
async fn a_change_depending_on_another_projects_change_merges_only_after_it() {
    let scenario = Scenario {
        extra_projects: vec!["lib".into()],
        ..Scenario::default()
    };
    let gate = Gate::start("", scenario).await;
    let lib = gate.server.repo("lib");
    let lib_base = lib.commit(
        "Gate lib",
        &[(".zuul.yaml", &project_stanza(&["gate"], Some("integrated")))],
    );
    let lib_dev = Developer::clone_of(&lib);
    let mut queue = Vec::new();
    let l = lib_dev.propose("l", "Change l", &[("changes/l", "l")]);
    let l = gate.enqueued(l, &mut queue).await;
    let message = format!("Change d\n\nDepends-On: lib~{}\n", l.number);
    let d = gate.dev.propose("d", &message, &[("changes/d", "d")]);
    let d = gate.enqueued(d, &mut queue).await;

    gate.jobs.release(d.sha());
    let build = gate.server.finished_build("gatekeeper", d.sha()).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    gate.server.until_queue("gate", &queue).await;
    assert!(
        gate.merged().is_empty(),
        "D cannot merge while lib~{} waits",
        l.number
    );
    gate.jobs.release(l.sha());

    assert_eq!(gate.result(&l).await, "SUCCESS");
    assert_eq!(gate.result(&d).await, "SUCCESS");
    assert_eq!(merged_into(&lib, &lib_base), ["Change l"]);
    assert_eq!(gate.merged(), ["Change d"]);
}
