//! Speculative configuration, as Zuul's docs describe it: a change to an
//! untrusted project's config is tested with that config (its new job runs on
//! its own item); a change whose config has errors is reported with them and
//! not merged; a config project's change takes effect only once merged.

use super::harness::{project_config, sha, Harness, GATING};
use crate::result::BuildResult::*;

fn gate() -> Harness {
    Harness::gating(&project_config(&["check", "gate"], &["unit"], ""))
}

#[actix::test]
async fn a_change_adding_a_job_to_its_project_runs_that_job_on_its_own_item() {
    let given = gate();
    let with_lint = project_config(&["check", "gate"], &["unit", "lint"], "");
    given.loader.propose_file(&sha(1, 1), "demo", &with_lint);

    given.enqueue("check", "demo", 1, &[]).await;
    given.enqueue("check", "demo", 2, &[]).await;

    given.reporter.until(2).await;
    assert_eq!(given.executor.changes_run("lint"), vec![1]);
    let mut unit = given.executor.changes_run("unit");
    unit.sort();
    assert_eq!(unit, vec![1, 2]);
}

#[actix::test]
async fn a_change_with_a_config_error_is_reported_with_it_and_not_merged() {
    let given = gate();
    let broken = format!(
        "{}- job:\n    name: lint\n    bogus: 1\n",
        project_config(&["gate"], &["unit"], "")
    );
    given.loader.propose_file(&sha(1, 1), "demo", &broken);

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, ConfigError, false), (2, Success, true)]);
    let told = given.reporter.message_of(1).unwrap();
    assert!(
        told.contains("zuul.yaml") && told.contains("bogus"),
        "{told}"
    );
    assert_eq!(
        given.executor.changes_run("unit"),
        vec![2],
        "no job ran for 1"
    );
    assert!(given.finished(2).await.contains(&(1, ConfigError)));
}

#[actix::test]
async fn a_config_project_change_does_not_change_the_jobs_it_is_tested_with() {
    let config_gate = "- job: {name: check-config}\n- project:\n    name: config\n    queue: integrated\n    gate: {jobs: [check-config]}\n";
    let config = format!("{GATING}{config_gate}");
    let demo = project_config(&["gate"], &["unit"], "    queue: integrated\n");
    let given = Harness::with(&config, &demo);
    let more = format!(
        "{config}- job: {{name: extra}}\n- project:\n    name: demo\n    gate: {{jobs: [extra]}}\n"
    );
    given.loader.propose_file(&sha(1, 1), "config", &more);
    given.executor.hold("check-config");

    given.enqueue("gate", "config", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;
    given.running(2).await;
    given.executor.release("check-config");

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Success, true), (2, Success, true)]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
    assert!(given.executor.changes_run("extra").is_empty());
}
