//! Speculative configuration through the real server: a change to a
//! project's `.zuul.yaml` is tested with the config it proposes, and a change
//! whose config is broken is reported so and never merges.

use portcullis_integration_tests::Scenario;

use super::Gate;

const SECOND_PLAYBOOK: &str =
    "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: {msg: second}\n";

/// Demo's `.zuul.yaml` on master, with `extra` appended.
fn demo_config_plus(gate: &Gate, extra: &str) -> String {
    let current = gate.server.demo.git(&["show", "master:.zuul.yaml"]);
    format!("{current}{extra}")
}

#[tokio::test]
async fn a_change_adding_a_job_runs_it_on_its_own_item_and_not_on_the_change_ahead() {
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let second = "- job:\n    name: second\n    run: playbooks/second.yaml\n- project:\n    gate:\n      jobs: [second]\n";
    let config = demo_config_plus(&gate, second);
    let files = [
        (".zuul.yaml", config.as_str()),
        ("playbooks/second.yaml", SECOND_PLAYBOOK),
    ];
    let b = gate.propose("b", &files, &mut queue).await;

    gate.jobs.release_all();

    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b).await, "SUCCESS");
    let build = gate.server.finished_build("second", b.sha()).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    let (_, builds) = gate
        .server
        .get("/api/tenant/example/builds?job_name=second")
        .await;
    let builds = builds.as_array().cloned().unwrap_or_default();
    assert_eq!(builds.len(), 1, "only B ran its new job: {builds:#?}");
    assert_eq!(gate.merged(), ["Change a", "Change b"]);
}

#[tokio::test]
async fn a_change_with_a_broken_config_is_reported_as_a_config_error_and_never_merges() {
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let config = demo_config_plus(&gate, "- job:\n    name: broken\n    nmae: typo\n");
    let b = gate
        .propose("b", &[(".zuul.yaml", config.as_str())], &mut queue)
        .await;
    let c = gate.propose("c", &[], &mut queue).await;

    gate.jobs.release_all();

    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b).await, "CONFIG_ERROR");
    assert_eq!(gate.result(&c).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Change a", "Change c"]);
    let path = format!("/api/tenant/example/buildsets?newrev={}", b.sha());
    let (_, sets) = gate.server.get(&path).await;
    let message = sets[0]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains(".zuul.yaml") && message.contains("nmae"),
        "{message}"
    );
}
