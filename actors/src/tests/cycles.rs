//! Circular dependencies, as Zuul's docs describe them: with
//! `allow-circular-dependencies` on their shared queue, changes that need each
//! other are tested together, each on a state holding all of them, and report
//! together: they merge together or not at all. Without it, a cycle is refused.

use super::fakes::Behaviour;
use super::harness::{merged, project_config, Harness, GATING};
use crate::result::BuildResult::*;

/// Demo (`unit`) and other (`unit2`) in check and gate, sharing a queue that allows cycles.
fn cycles_allowed() -> Harness {
    let config = GATING.replace(
        "    name: integrated\n",
        "    name: integrated\n    allow-circular-dependencies: true\n",
    );
    let queue = "    queue: integrated\n";
    let pipelines = ["check", "gate"];
    let given = Harness::with(&config, &project_config(&pipelines, &["unit"], queue));
    let other = project_config(&pipelines, &["unit2"], queue);
    given.loader.set_file("other", false, &other);
    given
}

/// Demo 1 needs other 2, which needs demo 3, which needs demo 1.
fn propose_cycle_of_three(given: &Harness) {
    given.propose("demo", 1, 1, &["other~2"]);
    given.propose("other", 2, 1, &["demo~3"]);
    given.propose("demo", 3, 1, &["demo~1"]);
}

#[actix::test]
async fn a_cycle_of_two_changes_in_two_projects_is_tested_together_and_merges_together() {
    let given = cycles_allowed();
    given.propose("demo", 1, 1, &["other~2"]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(merged(&reports), vec![1, 2]);
    // One state per item, each with the whole cycle.
    assert_eq!(given.merger.states(), vec![vec![1, 2], vec![1, 2]]);
}

#[actix::test]
async fn a_cycle_fails_as_one_when_a_job_of_one_of_its_changes_fails() {
    let given = cycles_allowed();
    given.executor.set_for("unit2", 2, Behaviour::End(Failure));
    given.propose("demo", 1, 1, &["other~2"]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Failure, false)]);
    let told = given.reporter.message_of(1).unwrap();
    assert!(told.contains("cycle"), "{told}");
}

#[actix::test]
async fn a_cycle_with_a_merge_conflict_fails_as_one() {
    let given = cycles_allowed();
    given.merger.conflict(2, 1);
    given.propose("demo", 1, 1, &["other~2"]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    let reports = given.reporter.until(2).await;
    assert!(merged(&reports).is_empty(), "{reports:?}");
    assert!(reports.iter().all(|(_, r, _)| *r != Success), "{reports:?}");
}

#[actix::test]
async fn a_cycle_of_three_changes_across_two_projects_merges_together() {
    let given = cycles_allowed();
    propose_cycle_of_three(&given);

    given.enqueue_known("gate", "demo", 3).await;

    let reports = given.reporter.until(3).await;
    assert_eq!(merged(&reports).len(), 3, "{reports:?}");
    let mut states = given.merger.states();
    states.iter_mut().for_each(|s| s.sort());
    assert_eq!(
        states,
        vec![vec![1, 2, 3]; 3],
        "each item tested with the whole cycle"
    );
}

#[actix::test]
async fn a_cycle_of_three_fails_as_one_when_its_last_change_fails() {
    let given = cycles_allowed();
    given.executor.set_for("unit", 3, Behaviour::End(Failure));
    propose_cycle_of_three(&given);

    given.enqueue_known("gate", "demo", 3).await;

    let reports = given.reporter.until(3).await;
    assert!(merged(&reports).is_empty(), "{reports:?}");
}

#[actix::test]
async fn changes_behind_a_failing_cycle_merge_without_it() {
    let given = cycles_allowed();
    given.executor.set_for("unit2", 2, Behaviour::End(Failure));
    given.executor.hold("unit");
    given.propose("demo", 1, 1, &["other~2"]);
    given.enqueue("gate", "other", 2, &["demo~1"]).await;
    given.enqueue("gate", "demo", 3, &[]).await;
    given.running(3).await;

    given.executor.release("unit");

    let reports = given.reporter.until(3).await;
    assert_eq!(merged(&reports), vec![3], "{reports:?}");
    assert_eq!(given.merger.states_of(3).last(), Some(&vec![3]));
}

#[actix::test]
async fn check_tests_a_change_of_a_cycle_with_the_rest_of_it() {
    let given = cycles_allowed();
    given.propose("demo", 1, 1, &["other~2"]);

    given.enqueue("check", "other", 2, &["demo~1"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, false)]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
}

#[actix::test]
async fn a_change_closing_a_cycle_with_a_queued_change_joins_it_and_they_fail_together() {
    let given = cycles_allowed();
    given.executor.set_for("unit2", 2, Behaviour::End(Failure));
    given.executor.hold("unit");
    // Change 1 names change 2 before change 2 exists: it enters alone.
    given.enqueue("gate", "demo", 1, &["other~2"]).await;
    given.running(1).await;

    given.enqueue("gate", "other", 2, &["demo~1"]).await;
    given.running(2).await;
    given.executor.release("unit");

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Failure, false)]);
    // Change 1 alone, then again with change 2 once it closed the cycle, and change 2.
    assert_eq!(given.merger.states(), vec![vec![1], vec![1, 2], vec![1, 2]]);
}

#[actix::test]
async fn a_cycle_of_three_with_a_merge_conflict_fails_as_one() {
    let given = cycles_allowed();
    given.merger.conflict(3, 2);
    propose_cycle_of_three(&given);

    given.enqueue_known("gate", "demo", 3).await;

    let reports = given.reporter.until(3).await;
    assert!(merged(&reports).is_empty(), "{reports:?}");
    assert!(reports.iter().all(|(_, r, _)| *r != Success), "{reports:?}");
    assert!(
        reports.iter().any(|(_, r, _)| *r == MergeConflict),
        "{reports:?}"
    );
}
