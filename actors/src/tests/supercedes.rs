//! Pipeline `supercedes` (Zuul: "when a change is enqueued in this pipeline,
//! it will be removed from the pipelines listed here").

use super::harness::{items, project_config, Harness, GATING};
use crate::result::BuildResult::*;

/// The gating pipelines, the gate superceding check.
fn gate_supercedes_check() -> String {
    let gate = "    name: gate\n    manager: dependent\n";
    GATING.replace(gate, &format!("{gate}    supercedes: check\n"))
}

/// The change ids (`N,P`) a pipeline holds.
async fn held(given: &Harness, pipeline: &str) -> Vec<String> {
    let status = given.pipeline(pipeline).await;
    let ids = items(&status).into_iter().map(|i| i.refs[0].id.clone());
    ids.collect()
}

#[actix::test]
async fn a_change_enqueued_in_the_gate_leaves_the_check_pipeline_it_supercedes() {
    // Given demo's change 1 running in check
    let demo = project_config(&["check", "gate"], &["unit"], "");
    let given = Harness::with(&gate_supercedes_check(), &demo);
    given.executor.hold("unit");
    let id = given.enqueue("check", "demo", 1, &[]).await;
    given.started(1).await;

    // When the gate takes it in
    given.enqueue("gate", "demo", 1, &[]).await;

    // Then check's item is dequeued and only the gate holds the change
    assert_eq!(given.finished(1).await, vec![(1, Dequeued)]);
    assert!(held(&given, "check").await.is_empty());
    assert_eq!(held(&given, "gate").await, vec![id]);
}

#[actix::test]
async fn a_change_the_superceding_pipeline_does_not_take_in_stays_where_it_is() {
    // Given demo's change 1 and other's change 2 running in check, where
    // only other has jobs in the gate
    let config = gate_supercedes_check();
    let given = Harness::with(&config, &project_config(&["check"], &["unit"], ""));
    let other = project_config(&["check", "gate"], &["lint"], "");
    given.loader.set_file("other", false, &other);
    given.executor.hold("unit");
    given.executor.hold("lint");
    let demo_id = given.enqueue("check", "demo", 1, &[]).await;
    given.enqueue("check", "other", 2, &[]).await;
    given.started(2).await;

    // When both are enqueued in the gate, demo's first
    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "other", 2, &[]).await;

    // Then only other's change left check; demo's, not in the gate, stays
    assert_eq!(given.finished(1).await, vec![(2, Dequeued)]);
    assert_eq!(held(&given, "check").await, vec![demo_id]);
    assert_eq!(held(&given, "gate").await.len(), 1);
}

#[actix::test]
async fn a_change_an_event_routes_into_the_gate_leaves_check() {
    // Given check and gate both triggered by new patchsets, the gate superceding check
    let on_patchset = "{local: [{event: patchset-created}]}";
    let config = gate_supercedes_check().replace(
        "{local: [{event: ref-updated, ref: ^refs/heads/never$}]}",
        on_patchset,
    );
    let given = Harness::with(&config, &project_config(&["check", "gate"], &["unit"], ""));
    given.executor.hold("unit");

    // When a change is proposed
    let id = given.propose("demo", 1, 1, &[]);

    // Then the gate holds it and check, which got it too, does not
    assert_eq!(given.finished(1).await, vec![(1, Dequeued)]);
    assert!(held(&given, "check").await.is_empty());
    assert_eq!(held(&given, "gate").await, vec![id]);
}

#[actix::test]
async fn a_change_check_carries_ahead_of_another_stays_there_when_the_gate_takes_it_in() {
    // Given demo's change 1 in check on its own, and carried ahead of
    // other's change 2, which depends on it
    let both = project_config(&["check", "gate"], &["unit"], "");
    let given = Harness::with(&gate_supercedes_check(), &both);
    let other = project_config(&["check", "gate"], &["unit2"], "");
    given.loader.set_file("other", false, &other);
    given.executor.hold("unit");
    given.executor.hold("unit2");
    given.enqueue("check", "demo", 1, &[]).await;
    given.enqueue("check", "other", 2, &["demo~1"]).await;
    given.started(2).await;

    // When the gate takes change 1 in
    given.enqueue("gate", "demo", 1, &[]).await;

    // Then only check's own item of change 1 leaves; change 2 is still
    // tested with change 1 and reports
    assert_eq!(given.finished(1).await, vec![(1, Dequeued)]);
    given.executor.release("unit");
    given.executor.release("unit2");
    let reports = given.reporter.until(2).await;
    assert!(reports.contains(&(2, Success, false)), "{reports:?}");
    assert_eq!(given.merger.states_of(2), vec![vec![1, 2]]);
}

#[actix::test]
async fn a_change_only_carried_in_the_superceding_pipeline_stays_where_it_is() {
    // Given check superceding gate; demo's change 1 in the gate, and carried
    // in check ahead of other's change 2, which depends on it (demo runs
    // nothing in check)
    let check = "    name: check\n    manager: independent\n";
    let config = GATING.replace(check, &format!("{check}    supercedes: gate\n"));
    let given = Harness::with(&config, &project_config(&["gate"], &["unit"], ""));
    let other = project_config(&["check", "gate"], &["unit2"], "");
    given.loader.set_file("other", false, &other);
    given.executor.hold("unit");
    given.executor.hold("unit2");
    let demo_id = given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("check", "other", 2, &["demo~1"]).await;
    given.enqueue("gate", "other", 3, &[]).await;
    given.started(3).await;

    // When change 1 is enqueued in check, which does not take it, and then
    // change 3, which it does
    given.enqueue_known("check", "demo", 1).await;
    given.enqueue_known("check", "other", 3).await;

    // Then only change 3 left the gate
    assert_eq!(given.finished(1).await, vec![(3, Dequeued)]);
    let gate = held(&given, "gate").await;
    assert_eq!(gate.first(), Some(&demo_id), "{gate:?}");
}
