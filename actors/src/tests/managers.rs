//! Serial, supercedent and independent pipelines; stale patchsets.

use super::harness::{items, project_config, Harness};
use crate::result::BuildResult::*;

fn demo_in(pipelines: &[&str]) -> Harness {
    Harness::gating(&project_config(pipelines, &["unit"], ""))
}

#[actix::test]
async fn a_serial_pipeline_runs_one_item_of_a_queue_at_a_time_on_its_own_state() {
    let given = demo_in(&["deploy"]);
    given.executor.hold("unit");

    for number in 1..=3 {
        given.enqueue("deploy", "demo", number, &[]).await;
    }
    given.started(1).await;

    let deploy = given.pipeline("deploy").await;
    let active: Vec<bool> = items(&deploy).iter().map(|i| i.active).collect();
    assert_eq!(active, vec![true, false, false]);
    assert_eq!(given.executor.changes_run("unit"), vec![1]);
    given.executor.release("unit");
    let reports = given.reporter.until(0).await;
    assert!(reports.is_empty(), "the serial pipeline has no reporters");
    let mut results = given.finished(3).await;
    results.sort_by_key(|(n, _)| *n);
    assert_eq!(results, vec![(1, Success), (2, Success), (3, Success)]);
    let runs = given.executor.changes_run("unit");
    assert_eq!(runs, vec![1, 2, 3], "one at a time, in queue order");
    assert_eq!(given.merger.states_of(3), vec![vec![3]]);
}

#[actix::test]
async fn a_supercedent_pipeline_replaces_the_waiting_item_with_the_newest() {
    let given = demo_in(&["promote"]);
    given.executor.hold("unit");

    for number in 1..=3 {
        given.enqueue("promote", "demo", number, &[]).await;
    }
    given.started(1).await;
    given.executor.release("unit");

    let results = given.finished(3).await;
    assert!(results.contains(&(2, Dequeued)), "{results:?}");
    assert_eq!(given.executor.changes_run("unit"), vec![1, 3]);
}

#[actix::test]
async fn items_of_an_independent_pipeline_report_as_soon_as_they_are_done() {
    let given = demo_in(&["check"]);
    given
        .loader
        .set_file("other", false, &project_config(&["check"], &["lint"], ""));
    given.executor.hold("unit");
    given.enqueue("check", "demo", 1, &[]).await;
    given.started(1).await;

    given.enqueue("check", "other", 2, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(2, Success, false)]);
    given.executor.release("unit");
    assert_eq!(given.reporter.until(2).await[1], (1, Success, false));
}

#[actix::test]
async fn a_new_patchset_dequeues_the_old_one() {
    let given = demo_in(&["gate"]);
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 1, &[]).await;
    given.started(1).await;

    given.propose("demo", 1, 2, &[]);

    let results = given.finished(1).await;
    assert_eq!(results, vec![(1, Dequeued)]);
    assert!(items(&given.pipeline("gate").await).is_empty());
}

#[actix::test]
async fn an_abandoned_change_leaves_every_pipeline() {
    let given = demo_in(&["gate", "check"]);
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("check", "demo", 1, &[]).await;
    given.started(2).await;

    let change = crate::change::ChangeRef {
        number: 1,
        patchset: format!("1{:039}", 1),
        url: None,
        message: String::new(),
        depends_on: Vec::new(),
        parents: Vec::new(),
    };
    let abandon =
        crate::TriggerEvent::for_change("local", "change-abandoned", "demo", "master", change);
    given.engine.submit(abandon);

    assert_eq!(given.finished(2).await, vec![(1, Dequeued), (1, Dequeued)]);
}
