//! Circular dependencies through the real server: two changes in two
//! projects that name each other in Depends-On, in a queue that allows
//! cycles, merge together or not at all.

use portcullis_integration_tests::review::{gate_config, project_stanza, Developer};
use portcullis_integration_tests::{Repo, Scenario};

use super::{merged_into, Change, Gate};

/// A gate whose `integrated` queue allows cycles, with `lib` sharing it.
async fn gate_with_lib() -> (Gate, Repo, String) {
    let config = gate_config("").replace(
        "- queue: {name: integrated}",
        "- queue: {name: integrated, allow-circular-dependencies: true}",
    );
    let scenario = Scenario {
        config_yaml: config,
        extra_projects: vec!["lib".into()],
        ..Scenario::default()
    };
    let gate = Gate::start_with(scenario).await;
    let lib = gate.server.repo("lib");
    let stanza = project_stanza(&["gate"], Some("integrated"));
    let lib_base = gate.jobs.install(&lib, &stanza);
    (gate, lib, lib_base)
}

/// Lib's change 1 names demo's change 2 before it exists, then demo's change
/// 2 names lib's change 1: a cycle, enqueued in that order.
async fn propose_cycle(gate: &Gate, lib: &Repo, demo_files: &[(&str, &str)]) -> (Change, Change) {
    let mut queue = Vec::new();
    let lib_dev = Developer::clone_of(lib);
    let l = lib_dev.propose(
        "l",
        "Change l\n\nDepends-On: demo~2\n",
        &[("changes/l", "l")],
    );
    let l = gate.enqueued(l, &mut queue).await;
    assert_eq!(l.number, 1, "lib's change is the server's first");
    let mut files = vec![("changes/d", "d")];
    files.extend_from_slice(demo_files);
    let message = format!("Change d\n\nDepends-On: lib~{}\n", l.number);
    let d = gate.dev.propose("d", &message, &files);
    let d = gate.enqueued(d, &mut queue).await;
    (l, d)
}

#[tokio::test]
async fn a_cycle_across_two_projects_merges_together() {
    let (gate, lib, lib_base) = gate_with_lib().await;
    let (l, d) = propose_cycle(&gate, &lib, &[]).await;

    gate.jobs.release_all();

    assert_eq!(gate.result(&l).await, "SUCCESS");
    assert_eq!(gate.result(&d).await, "SUCCESS");
    assert_eq!(merged_into(&lib, &lib_base), ["Change l"]);
    assert_eq!(gate.merged(), ["Change d"]);
}

#[tokio::test]
async fn a_cycle_whose_second_change_fails_merges_neither() {
    let (gate, lib, lib_base) = gate_with_lib().await;
    let (l, d) = propose_cycle(&gate, &lib, &[("FAIL", "d breaks its job\n")]).await;

    gate.jobs.release_all();

    assert_eq!(gate.result(&d).await, "FAILURE");
    assert_eq!(gate.result(&l).await, "FAILURE");
    assert!(
        merged_into(&lib, &lib_base).is_empty(),
        "lib's change did not merge"
    );
    assert!(gate.merged().is_empty(), "demo's change did not merge");
}
