//! The active window of a dependent pipeline: who runs, how it grows and shrinks.

use super::fakes::Behaviour;
use super::harness::{items, project_config, Harness};
use crate::result::BuildResult::*;

fn gate_with_window(window: &str) -> Harness {
    let config = format!(
        "- pipeline:\n    name: gate\n    manager: dependent\n{window}\
         \x20   trigger: {{local: [{{event: ref-updated, ref: ^refs/heads/never$}}]}}\n\
         \x20   success: {{local: {{merge: true}}}}\n    failure: {{local: {{comment: failed}}}}\n\
         - job: {{name: base, parent: null, run: playbooks/base.yaml}}\n"
    );
    Harness::with(&config, &project_config(&["gate"], &["unit"], ""))
}

#[actix::test]
async fn only_changes_inside_the_window_run_and_the_rest_wait() {
    let given = gate_with_window("    window: 2\n");
    given.executor.hold("unit");

    for number in 1..=5 {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    given.started(2).await;

    let gate = given.pipeline("gate").await;
    assert_eq!(gate.change_queues[0].window, 2);
    let active: Vec<bool> = items(&gate).iter().map(|i| i.active).collect();
    assert_eq!(active, vec![true, true, false, false, false]);
    assert_eq!(given.executor.changes_run("unit"), vec![1, 2]);
    given.executor.release("unit");
    let reports = given.reporter.until(5).await;
    let merged: Vec<u64> = reports.iter().map(|r| r.0).collect();
    assert_eq!(merged, vec![1, 2, 3, 4, 5]);
}

#[actix::test]
async fn twenty_changes_grow_the_window_by_one_per_merge_and_a_failure_halves_it() {
    let given = gate_with_window("    window: 5\n    window-floor: 2\n");
    given.executor.hold("unit");
    for number in 1..=20 {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    given.started(5).await;
    assert_eq!(given.executor.changes_run("unit").len(), 5);

    given.executor.release("unit");
    assert_eq!(given.reporter.until(20).await.len(), 20);
    given.executor.hold("unit");
    given.executor.set_for("unit", 21, Behaviour::End(Failure));
    given.enqueue("gate", "demo", 21, &[]).await;
    given.enqueue("gate", "demo", 22, &[]).await;
    given.running(22).await;
    assert_eq!(given.pipeline("gate").await.change_queues[0].window, 25);

    given.executor.release("unit");
    let reports = given.reporter.until(22).await;
    assert_eq!(reports[20], (21, Failure, false));
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 23, &[]).await;
    given.running(23).await;
    // 25 halves to 12 on the failure, then grows by one with 22's merge.
    assert_eq!(given.pipeline("gate").await.change_queues[0].window, 13);
    given.executor.release("unit");
}

#[actix::test]
async fn the_window_never_shrinks_below_its_floor() {
    let given = gate_with_window("    window: 4\n    window-floor: 3\n");
    for number in 1..=2 {
        given
            .executor
            .set_for("unit", number, Behaviour::End(Failure));
    }
    given.executor.hold("unit");
    for number in 1..=3 {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    given.started(3).await;
    given.executor.release("unit");
    given.reporter.until(3).await;

    given.executor.hold("unit");
    given.enqueue("gate", "demo", 4, &[]).await;
    given.running(4).await;
    // 4 -> 3 (floor) -> 3, then 3's merge grows it to 4.
    assert_eq!(given.pipeline("gate").await.change_queues[0].window, 4);
    given.executor.release("unit");
}
