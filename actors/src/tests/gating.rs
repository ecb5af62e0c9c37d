//! Gating in a dependent pipeline: changes tested on the changes ahead,
//! failures and conflicts taken out, merges in queue order.

use super::fakes::Behaviour;
use super::harness::{merged, project_config, Harness};
use crate::result::BuildResult::*;

fn gate_demo(jobs: &[&str]) -> Harness {
    Harness::gating(&project_config(&["gate"], jobs, ""))
}

/// Enqueues changes 1..=n of demo into the gate while `unit` is held, waits
/// until every item but those in `idle` runs its builds, then releases `unit`.
async fn enqueue_held(given: &Harness, n: u64, idle: &[u64]) {
    given.executor.hold("unit");
    for number in 1..=n {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    for number in (1..=n).filter(|n| !idle.contains(n)) {
        given.running(number).await;
    }
    given.executor.release("unit");
}

#[actix::test]
async fn changes_that_pass_merge_in_queue_order_each_tested_on_those_ahead() {
    let given = gate_demo(&["unit", "lint"]);

    enqueue_held(&given, 3, &[]).await;

    let reports = given.reporter.until(3).await;
    assert_eq!(
        reports,
        vec![(1, Success, true), (2, Success, true), (3, Success, true)]
    );
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
    assert_eq!(given.merger.states_of(3), vec![vec![1, 2, 3]]);
}

#[actix::test]
async fn every_state_is_released_once_its_item_left_the_pipeline() {
    let given = gate_demo(&["unit"]);
    given.executor.set_for("unit", 2, Behaviour::End(Failure));

    enqueue_held(&given, 3, &[]).await;
    given.reporter.until(3).await;

    // 1, 2 and 3 at first, then 3 again without 2: four states, all let go.
    assert_eq!(given.merger.until_all_released().await, 3);
    assert_eq!(given.merger.states_of(3).len(), 2);
}

#[actix::test]
async fn a_failing_change_is_reported_and_the_changes_behind_it_merge_without_it() {
    let given = gate_demo(&["unit", "lint"]);
    given.executor.set_for("unit", 2, Behaviour::End(Failure));

    enqueue_held(&given, 3, &[]).await;

    let reports = given.reporter.until(3).await;
    assert_eq!(
        reports,
        vec![(1, Success, true), (2, Failure, false), (3, Success, true)]
    );
    assert_eq!(given.merger.states_of(3).last(), Some(&vec![1, 3]));
    let results = given.finished(3).await;
    assert!(results.contains(&(2, Failure)), "{results:?}");
}

#[actix::test]
async fn a_failing_head_resets_every_change_behind_it() {
    let given = gate_demo(&["unit"]);
    given.executor.set_for("unit", 1, Behaviour::End(Failure));

    enqueue_held(&given, 3, &[]).await;

    let reports = given.reporter.until(3).await;
    assert_eq!(reports[0], (1, Failure, false));
    assert_eq!(merged(&reports), vec![2, 3]);
    assert_eq!(given.merger.states_of(2).last(), Some(&vec![2]));
    assert_eq!(given.merger.states_of(3).last(), Some(&vec![2, 3]));
    let runs_of_2 = given
        .executor
        .changes_run("unit")
        .iter()
        .filter(|n| **n == 2)
        .count();
    assert_eq!(runs_of_2, 2, "change 2 was tested again without change 1");
}

#[actix::test]
async fn a_merge_conflict_is_reported_without_running_jobs_and_the_queue_goes_on() {
    let given = gate_demo(&["unit"]);
    given.merger.conflict(2, 1);
    given.executor.hold("unit");

    for number in 1..=3 {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    given.started(2).await;
    given.executor.release("unit");

    let reports = given.reporter.until(3).await;
    assert_eq!(
        reports,
        vec![
            (1, Success, true),
            (2, MergeConflict, false),
            (3, Success, true)
        ]
    );
    assert!(!given.executor.changes_run("unit").contains(&2));
    assert_eq!(given.merger.states_of(3).last(), Some(&vec![1, 3]));
    let results = given.finished(3).await;
    assert!(results.contains(&(2, MergeConflict)));
}

#[actix::test]
async fn a_merge_that_fails_at_report_time_is_a_merge_failure_and_resets_the_changes_behind() {
    let given = gate_demo(&["unit"]);
    given.reporter.fail_merge_of(1);

    enqueue_held(&given, 2, &[]).await;

    let mut results = given.finished(2).await;
    // Items store their ends on their own; the reports below carry the order.
    results.sort_by_key(|(n, _)| *n);
    assert_eq!(results, vec![(1, MergeFailure), (2, Success)]);
    assert_eq!(given.merger.states_of(2).last(), Some(&vec![2]));
    assert_eq!(merged(&given.reporter.until(2).await), vec![1, 2]);
}

#[actix::test]
async fn a_failing_non_voting_job_never_fails_a_gated_change() {
    let demo = "- job: {name: unit}\n- job: {name: flaky, voting: false}\n\
                - project:\n    gate:\n      jobs: [unit, flaky]\n";
    let given = Harness::gating(demo);
    given.executor.set("flaky", Behaviour::End(Failure));

    given.enqueue("gate", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, true)]);
}

#[actix::test]
async fn a_merger_error_fails_the_change_and_the_queue_goes_on() {
    let given = gate_demo(&["unit"]);
    given.merger.break_on(2);

    enqueue_held(&given, 3, &[2]).await;

    let reports = given.reporter.until(3).await;
    assert_eq!(
        reports,
        vec![(1, Success, true), (2, Error, false), (3, Success, true)]
    );
}

#[actix::test]
async fn a_build_whose_runner_panics_fails_its_change_and_the_queue_goes_on() {
    let given = gate_demo(&["unit"]);
    given.executor.set_for("unit", 1, Behaviour::Panic);

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Success, true)]);
}

#[actix::test]
async fn a_change_is_tested_behind_the_change_it_depends_on_and_merges_after_it() {
    let given = gate_demo(&["unit"]);
    given.executor.hold("unit");

    given.enqueue("gate", "demo", 1, &[]).await;
    given
        .enqueue("gate", "demo", 2, &["https://review.test/demo/1"])
        .await;
    given.started(2).await;
    given.executor.release("unit");

    assert_eq!(merged(&given.reporter.until(2).await), vec![1, 2]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
}

#[actix::test]
async fn a_change_whose_dependency_fails_never_merges() {
    let given = gate_demo(&["unit"]);
    given.executor.set_for("unit", 1, Behaviour::End(Failure));
    given.executor.hold("unit");

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &["demo~1"]).await;
    given.enqueue("gate", "demo", 3, &[]).await;
    given.started(3).await;
    given.executor.release("unit");

    let reports = given.reporter.until(3).await;
    assert_eq!(merged(&reports), vec![3]);
    assert!(reports.contains(&(2, Failure, false)), "{reports:?}");
}

#[actix::test]
async fn the_state_holds_the_projects_the_jobs_require_at_their_checkout_branch() {
    let config = "
- job:
    name: unit
    required-projects:
      - other
      - demo
      - name: tools
        override-checkout: stable
- project:
    gate:
      jobs: [unit]
";
    let given = Harness::gating(config);

    given.enqueue("gate", "demo", 1, &[]).await;
    given.reporter.until(1).await;

    let pair = |p: &str, b: &str| (p.to_string(), b.to_string());
    let wanted = vec![pair("other", "master"), pair("tools", "stable")];
    assert_eq!(given.merger.required_of(1), vec![wanted]);
}

#[actix::test]
async fn projects_sharing_a_queue_are_tested_on_each_others_changes() {
    let shared = "    queue: integrated\n";
    let given = Harness::gating(&project_config(&["gate"], &["unit"], shared));
    given.loader.set_file(
        "other",
        false,
        &project_config(&["gate"], &["unit2"], shared),
    );
    given.executor.hold("unit");

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "other", 2, &[]).await;
    given.started(2).await;

    let gate = given.pipeline("gate").await;
    assert_eq!(gate.change_queues.len(), 1);
    assert_eq!(gate.change_queues[0].name, "integrated");
    given.executor.release("unit");
    assert_eq!(merged(&given.reporter.until(2).await), vec![1, 2]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
}

#[actix::test]
async fn projects_without_a_shared_queue_gate_apart() {
    let given = gate_demo(&["unit"]);
    given
        .loader
        .set_file("other", false, &project_config(&["gate"], &["unit2"], ""));

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "other", 2, &[]).await;

    given.reporter.until(2).await;
    assert_eq!(given.merger.states_of(2), vec![vec![2]]);
}
