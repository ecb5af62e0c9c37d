//! Needed changes, as Zuul's gating docs describe them: a change's Depends-On
//! footers and git parents are hard requirements. In a dependent pipeline
//! the changes it needs are enqueued ahead of it, or it is refused with a
//! report naming them; in an independent one they are carried along in its
//! state. A change never merges before what it needs, and never once a
//! change it needs was superseded, abandoned or failed.

use super::fakes::Behaviour;
use super::harness::{items, merged, project_config, Harness};
use crate::result::BuildResult::*;

/// Demo and other, each running `unit` in check and gate, sharing a queue when `shared`.
fn two_projects(shared: bool) -> Harness {
    let queue = if shared {
        "    queue: integrated\n"
    } else {
        ""
    };
    let pipelines = ["check", "gate"];
    let given = Harness::gating(&project_config(&pipelines, &["unit"], queue));
    let other = project_config(&pipelines, &["unit2"], queue);
    given.loader.set_file("other", false, &other);
    given
}

/// The change numbers in the gate, head first.
async fn gate_order(given: &Harness) -> Vec<String> {
    let gate = given.pipeline("gate").await;
    let refs = items(&gate).into_iter().flat_map(|i| i.refs.iter());
    refs.map(|r| r.id.split(',').next().unwrap().to_string())
        .collect()
}

#[actix::test]
async fn a_new_patchset_mid_gate_dequeues_the_change_and_the_changes_built_on_it() {
    let given = two_projects(false);
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 1, &[]).await;
    given.propose_on("demo", 2, 1, &[], &[("demo", 1, 1)]);
    given.enqueue_known("gate", "demo", 2).await;
    given.propose_on("demo", 3, 1, &[], &[("demo", 2, 1), ("demo", 1, 1)]);
    given.enqueue_known("gate", "demo", 3).await;
    given.enqueue("gate", "demo", 4, &[]).await;
    given.running(4).await;

    // When B gets a second patchset while every item runs.
    given.propose_on("demo", 2, 2, &[], &[("demo", 1, 1)]);

    // C, built on B's first patchset, leaves at once, before A reports.
    assert_eq!(given.reporter.until(1).await, vec![(3, Failure, false)]);
    given.executor.release("unit");

    let reports = given.reporter.until(3).await;
    assert_eq!(merged(&reports), vec![1, 4], "{reports:?}");
    assert!(reports.contains(&(3, Failure, false)), "{reports:?}");
    assert!(!reports.iter().any(|(n, _, _)| *n == 2), "{reports:?}");
    assert!(given.finished(4).await.contains(&(2, Dequeued)));
    let told = given.reporter.message_of(3).unwrap();
    assert!(told.contains("depends on a change"), "{told}");
}

#[actix::test]
async fn git_parents_are_enqueued_ahead_of_their_child_in_order() {
    let given = two_projects(false);
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 1, &[]).await;
    given.propose("demo", 2, 1, &[]);
    given.propose_on("demo", 3, 1, &[], &[("demo", 2, 1)]);
    given.propose_on("demo", 4, 1, &[], &[("demo", 3, 1), ("demo", 2, 1)]);

    given.enqueue_known("gate", "demo", 4).await;

    assert_eq!(gate_order(&given).await, ["1", "2", "3", "4"]);
    given.executor.release("unit");
    assert_eq!(merged(&given.reporter.until(4).await), vec![1, 2, 3, 4]);
    assert_eq!(given.merger.states_of(4), vec![vec![1, 2, 3, 4]]);
}

#[actix::test]
async fn a_change_depending_on_a_change_of_a_project_sharing_its_queue_brings_it_into_the_gate() {
    let given = two_projects(true);
    given.executor.hold("unit");
    given.propose("demo", 1, 1, &[]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    assert_eq!(gate_order(&given).await, ["1", "2"]);
    given.executor.release("unit");
    assert_eq!(merged(&given.reporter.until(2).await), vec![1, 2]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
}

#[actix::test]
async fn a_change_whose_dependency_cannot_share_its_queue_is_refused_with_a_report_naming_it() {
    let given = two_projects(false);
    given.propose("demo", 1, 1, &[]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Failure, false)]);
    let told = given.reporter.message_of(2).unwrap();
    assert!(told.contains("demo~1"), "{told}");
    assert!(given.executor.requests().is_empty(), "nothing ran");
}

#[actix::test]
async fn check_tests_a_change_with_the_changes_it_depends_on_and_reports_only_on_it() {
    let given = two_projects(false);
    given.propose("demo", 1, 1, &[]);

    given.enqueue("check", "other", 2, &["demo~1"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, false)]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
    assert!(
        given.executor.changes_run("unit").is_empty(),
        "demo~1 ran no job"
    );
    assert_eq!(given.executor.changes_run("unit2"), vec![2]);
}

#[actix::test]
async fn check_carries_the_git_parents_of_a_change_in_its_state() {
    let given = two_projects(false);
    given.propose("demo", 1, 1, &[]);
    given.propose_on("demo", 2, 1, &[], &[("demo", 1, 1)]);

    given.enqueue_known("check", "demo", 2).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, false)]);
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
    assert_eq!(given.executor.changes_run("unit"), vec![2]);
}

#[actix::test]
async fn a_change_depending_on_an_abandoned_change_is_refused_in_check_and_gate() {
    let given = two_projects(true);
    given.propose("demo", 1, 1, &[]);
    given.change_event("change-abandoned", "demo", 1);

    given.enqueue("check", "other", 2, &["demo~1"]).await;
    given.enqueue_known("gate", "other", 2).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(2, Failure, false), (2, Failure, false)]);
    let told = given.reporter.message_of(2).unwrap();
    assert!(
        told.contains("demo~1") && told.contains("abandoned"),
        "{told}"
    );
}

#[actix::test]
async fn a_change_built_on_an_outdated_patchset_is_refused() {
    let given = two_projects(false);
    given.propose("demo", 1, 1, &[]);
    given.propose_on("demo", 2, 1, &[], &[("demo", 1, 1)]);
    given.propose("demo", 1, 2, &[]);

    given.enqueue_known("gate", "demo", 2).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Failure, false)]);
    let told = given.reporter.message_of(2).unwrap();
    assert!(told.contains("outdated patchset of demo~1"), "{told}");
}

#[actix::test]
async fn a_dependency_that_merged_already_is_no_longer_needed() {
    let given = two_projects(false);
    given.propose("demo", 1, 1, &[]);
    given.change_event("change-merged", "demo", 1);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, true)]);
    assert_eq!(given.merger.states_of(2), vec![vec![2]]);
}

#[actix::test]
async fn a_depends_on_naming_no_known_change_is_ignored() {
    let given = two_projects(false);

    given.enqueue("gate", "demo", 2, &["demo~99"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, true)]);
}

#[actix::test]
async fn a_change_whose_enqueued_dependency_fails_is_dequeued_and_never_merges() {
    let given = two_projects(true);
    given.executor.set_for("unit", 1, Behaviour::End(Failure));
    given.executor.hold("unit");
    given.propose("demo", 1, 1, &[]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;
    given.running(1).await;
    given.executor.release("unit");

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Failure, false)]);
    let told = given.reporter.message_of(2).unwrap();
    assert!(told.contains("depends on a change that failed"), "{told}");
}

#[actix::test]
async fn a_dependency_merged_by_the_gate_is_not_enqueued_again_for_a_later_change() {
    let given = two_projects(true);
    given.enqueue("gate", "demo", 1, &[]).await;
    given.reporter.until(1).await;

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Success, true), (2, Success, true)]);
    assert_eq!(given.merger.states_of(2), vec![vec![2]]);
}

#[actix::test]
async fn a_dependency_cycle_is_refused_when_the_queue_does_not_allow_it() {
    let given = two_projects(true);
    given.propose("demo", 1, 1, &["other~2"]);

    given.enqueue("gate", "other", 2, &["demo~1"]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Failure, false)]);
    let told = given.reporter.message_of(2).unwrap();
    assert!(told.contains("cycle"), "{told}");
    assert!(given.executor.requests().is_empty(), "nothing ran");
}

#[actix::test]
async fn the_status_shows_a_carried_change_as_not_live_ahead_of_the_change_needing_it() {
    let given = two_projects(false);
    given.executor.hold("unit2");
    given.propose("demo", 1, 1, &[]);

    given.enqueue("check", "other", 2, &["demo~1"]).await;
    given.running(2).await;

    let check = given.pipeline("check").await;
    let shown: Vec<(String, bool)> = items(&check)
        .iter()
        .map(|i| (i.refs[0].id.split(',').next().unwrap().to_string(), i.live))
        .collect();
    assert_eq!(shown, [("1".to_string(), false), ("2".to_string(), true)]);
    assert_eq!(check.change_queues.len(), 1, "one queue, one head");
    assert_eq!(check.change_queues[0].heads.len(), 1);
    given.executor.release("unit2");
}
