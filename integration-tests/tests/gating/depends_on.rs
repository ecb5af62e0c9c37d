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

#[tokio::test]
async fn a_change_whose_dependency_in_another_project_fails_in_the_gate_never_merges() {
    // Given lib's change L, which fails its job, and demo's D depending on it
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
    let l = lib_dev.propose("l", "Change l", &[("changes/l", "l"), ("FAIL", "l\n")]);
    let l = gate.enqueued(l, &mut queue).await;
    let message = format!("Change d\n\nDepends-On: lib~{}\n", l.number);
    let d = gate.dev.propose("d", &message, &[("changes/d", "d")]);
    let d = gate.enqueued(d, &mut queue).await;

    // When D's own job passes first, and then L's fails
    gate.jobs.release(d.sha());
    let build = gate.server.finished_build("gatekeeper", d.sha()).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    gate.jobs.release_all();

    // Then neither merges: D never lands without the change it needs
    assert_eq!(gate.result(&l).await, "FAILURE");
    assert_ne!(gate.result(&d).await, "SUCCESS");
    assert!(merged_into(&lib, &lib_base).is_empty());
    assert!(
        gate.merged().is_empty(),
        "D merged without lib~{}",
        l.number
    );
}

/// demo's job in `check`: it needs lib, and writes the names under lib's
/// `changes/` in the tree it tests to `{records}/{newrev}`.
fn lib_tree_job(records: &std::path::Path) -> [(String, String); 2] {
    let config = "- job:\n    name: lib-tree\n    run: playbooks/lib-tree.yaml\n\
                  \x20   required-projects: [lib]\n\
                  - project:\n    check: {jobs: [lib-tree]}\n";
    let playbook = format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - ansible.builtin.shell: \"umask 0; echo $(ls {{{{ zuul.executor.work_root }}}}/src/lib/changes 2>/dev/null) > {}/{{{{ zuul.newrev }}}}\"\n",
        records.display()
    );
    [
        (".zuul.yaml".into(), config.into()),
        ("playbooks/lib-tree.yaml".into(), playbook),
    ]
}

#[tokio::test]
async fn a_check_build_of_a_change_depending_on_another_projects_change_contains_that_change() {
    // Given Zuul's check pipeline, and demo's job looking at lib's tree
    let config = format!(
        "{}- pipeline:\n    name: check\n    manager: independent\n\
         \x20   trigger: {{local: [{{event: patchset-created}}]}}\n",
        portcullis_integration_tests::review::gate_config("")
    );
    let scenario = Scenario {
        extra_projects: vec!["lib".into()],
        config_yaml: config,
        ..Scenario::default()
    };
    let server = portcullis_integration_tests::TestServer::start(scenario).await;
    let records = portcullis_integration_tests::shared::shared_tempdir();
    let files = lib_tree_job(records.path());
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    server.demo.commit("Add lib-tree", &files);
    let lib = server.repo("lib");
    lib.commit("Lib's base", &[("changes/base", "base")]);
    let lib_dev = Developer::clone_of(&lib);
    let l = lib_dev.propose("l", "Change l", &[("changes/l", "l")]);
    let number = portcullis_integration_tests::review::change_number(&server, &l).await;

    // When demo's D, depending on lib's L, is checked
    let dev = Developer::clone_of(&server.demo);
    let message = format!("Change d\n\nDepends-On: lib~{number}\n");
    let d = dev.propose("d", &message, &[("changes/d", "d")]);

    // Then its build ran on lib with L in it
    assert_eq!(server.buildset_result("check", &d.sha).await, "SUCCESS");
    let tree = std::fs::read_to_string(records.path().join(&d.sha)).unwrap();
    assert_eq!(tree.trim(), "base l", "lib as D's check build saw it");
}
