//! Changes that do not apply: a conflict with a change ahead is found before
//! any job runs; a merge that fails when the change lands is a merge failure.
//! Either way the queue goes on without the change.

use portcullis_integration_tests::Scenario;

use super::{tree, Gate};

#[tokio::test]
async fn a_change_conflicting_with_one_ahead_is_a_merge_conflict_without_jobs_and_the_queue_goes_on(
) {
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate
        .propose("a", &[("shared.txt", "as A has it\n")], &mut queue)
        .await;
    let b = gate
        .propose("b", &[("shared.txt", "as B has it\n")], &mut queue)
        .await;
    let c = gate.propose("c", &[], &mut queue).await;

    // C is tested on A alone: B does not apply on top of A.
    assert_eq!(gate.jobs.until_runs(c.sha(), 1).await, [tree(&["a", "c"])]);
    gate.jobs.release_all();

    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b).await, "MERGE_CONFLICT");
    assert_eq!(gate.result(&c).await, "SUCCESS");
    assert!(gate.jobs.trees(b.sha()).is_empty(), "no job ran for B");
    assert_eq!(gate.merged(), ["Change a", "Change c"]);
}

#[tokio::test]
async fn a_change_the_moved_branch_no_longer_takes_is_a_merge_failure_and_the_changes_behind_reset()
{
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate
        .propose("a", &[("shared.txt", "as A has it\n")], &mut queue)
        .await;
    let b = gate.propose("b", &[], &mut queue).await;
    assert_eq!(gate.jobs.until_runs(b.sha(), 1).await, [tree(&["a", "b"])]);

    // Someone pushes straight to master what A also changes, while A is tested.
    gate.server
        .demo
        .commit("Direct push", &[("shared.txt", "as master has it\n")]);
    gate.jobs.release(a.sha());

    assert_eq!(gate.result(&a).await, "MERGE_FAILURE");
    let retested = gate.jobs.until_runs(b.sha(), 2).await;
    assert_eq!(retested[1], tree(&["b"]), "B reset onto a state without A");
    gate.jobs.release_all();
    assert_eq!(gate.result(&b).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Direct push", "Change b"]);
    let shared = std::fs::read_to_string(gate.server.demo.path().join("shared.txt"));
    assert_eq!(shared.unwrap(), "as master has it\n");
}
