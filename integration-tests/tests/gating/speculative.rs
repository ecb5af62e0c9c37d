//! Speculative gating: each change tested on those ahead of it; a failure
//! never merges, and the changes behind it are retested without it.

use portcullis_integration_tests::Scenario;

use super::{tree, Gate};

#[tokio::test]
async fn a_failing_change_never_merges_and_the_change_behind_is_retested_without_it() {
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b = gate
        .propose("b", &[("FAIL", "b breaks the job\n")], &mut queue)
        .await;
    let c = gate.propose("c", &[], &mut queue).await;

    // Each change is tested on the changes ahead of it.
    assert_eq!(gate.jobs.until_runs(a.sha(), 1).await, [tree(&["a"])]);
    assert_eq!(gate.jobs.until_runs(b.sha(), 1).await, [tree(&["a", "b"])]);
    assert_eq!(
        gate.jobs.until_runs(c.sha(), 1).await[0],
        tree(&["a", "b", "c"])
    );
    gate.jobs.release(b.sha());
    let retested = gate.jobs.until_runs(c.sha(), 2).await;
    assert_eq!(
        retested[1],
        tree(&["a", "c"]),
        "C retested with A, without B"
    );
    gate.jobs.release_all();

    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b).await, "FAILURE");
    assert_eq!(gate.result(&c).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Change a", "Change c"]);
    assert_eq!(gate.jobs.trees(c.sha()).len(), 2, "C ran twice, no more");
}
