//! Restarts: each pipeline saves its live items as they change, and an
//! engine started on saved queues runs them again in their saved order.

use super::harness::{project_config, Harness};
use crate::result::BuildResult::*;

fn numbers(queue: &crate::port::SavedQueue) -> Vec<u64> {
    let changes = queue.events.iter().filter_map(|e| e.change.as_ref());
    changes.map(|c| c.number).collect()
}

#[actix::test]
async fn the_gate_saves_its_items_in_queue_order_and_drops_them_once_reported() {
    // Given a gate whose builds are held
    let given = Harness::gating(&project_config(&["gate"], &["unit"], ""));
    given.executor.hold("unit");

    // When three changes enter it
    for number in 1..=3 {
        given.enqueue("gate", "demo", number, &[]).await;
    }

    // Then the saved queue holds them in order, and nothing once they merged
    let saved = given.store.until_saved("gate", 3).await;
    assert_eq!(numbers(&saved), [1, 2, 3]);
    assert_eq!(saved.tenant, "example");
    given.executor.release("unit");
    given.reporter.until(3).await;
    given.store.until_saved("gate", 0).await;
}

#[actix::test]
async fn an_engine_started_on_a_saved_gate_runs_and_merges_it_in_order() {
    // Given the gate a stopped engine saved, with changes 1, 2 and 3
    let demo = project_config(&["gate"], &["unit"], "");
    let before = Harness::gating(&demo);
    before.executor.hold("unit");
    for number in 1..=3 {
        before.enqueue("gate", "demo", number, &[]).await;
    }
    let saved = before.store.until_saved("gate", 3).await;

    // When a new engine starts on it
    let after = Harness::restoring(Harness::GATING, &demo, vec![saved]);

    // Then the three merge in their saved order, each tested on those ahead
    let reports = after.reporter.until(3).await;
    assert_eq!(
        reports,
        vec![(1, Success, true), (2, Success, true), (3, Success, true)]
    );
    assert_eq!(after.merger.states_of(3), vec![vec![1, 2, 3]]);
}
