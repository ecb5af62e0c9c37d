//! Git parents in the gate (issue 11): a change pushed on another open
//! change needs it, at the very patchset it was built on. As in Zuul, a new
//! patchset of the change below takes the old one out of the gate with every
//! change built on it, so the old patchset never lands; and a change whose
//! parents are not in the gate yet brings them in ahead of itself, in order.

use portcullis_integration_tests::review::{change_id, change_number};
use portcullis_integration_tests::Scenario;

use super::Gate;

#[tokio::test]
async fn a_superseded_patchset_and_the_change_built_on_it_leave_the_gate_and_never_land() {
    // Given A, B on A, C on B and D (on master) in the gate, every build held
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b1 = gate
        .dev
        .propose_on(&a.proposal, "b", "Change b", &[("changes/b", "b")]);
    let b1 = gate.enqueued(b1, &mut queue).await;
    let c = gate
        .dev
        .propose_on(&b1.proposal, "c", "Change c", &[("changes/c", "c")]);
    let c = gate.enqueued(c, &mut queue).await;
    let d = gate.propose("d", &[], &mut queue).await;

    // When B gets a second patchset mid-gate
    let b2 = gate
        .dev
        .amend(&b1.proposal, "Change b again", &[("changes/b", "b2")]);
    assert_eq!(change_number(&gate.server, &b2).await, b1.number);

    // Then B-1 and C (which needs B-1, no longer current) leave the gate, and
    // B-2 enters it behind D
    let b2_id = change_id(b1.number, &b2);
    let expected = [a.id.clone(), d.id.clone(), b2_id];
    gate.server.until_queue("gate", &expected).await;
    gate.jobs.release_all();
    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&d).await, "SUCCESS");
    assert_eq!(
        gate.server.buildset_result("gate", &b2.sha).await,
        "SUCCESS"
    );
    assert_eq!(
        gate.merged(),
        ["Change a", "Change d", "Change b again"],
        "neither B-1 ({}) nor C ({}) landed",
        b1.sha(),
        c.sha()
    );
}

#[tokio::test]
async fn a_change_on_a_chain_of_open_changes_enters_the_gate_behind_them_in_order() {
    // Given A in the gate, and B, C on B and D on C committed
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b = gate
        .dev
        .commit_on("origin/master", "Change b", &[("changes/b", "b")]);
    let c = gate.dev.commit_on(&b, "Change c", &[("changes/c", "c")]);
    let d = gate.dev.commit_on(&c, "Change d", &[("changes/d", "d")]);

    // When all three are pushed at once, D's review branch first in name
    // order, so the gate hears of D before the changes it builds on
    let pushed = gate
        .dev
        .push_together(&[("1-d", &d), ("2-c", &c), ("3-b", &b)]);

    // Then the gate holds A, B, C, D: D's git parents ahead of it, in order
    let mut ids = vec![a.id.clone()];
    for proposal in pushed.iter().rev() {
        let number = change_number(&gate.server, proposal).await;
        ids.push(change_id(number, proposal));
    }
    gate.server.until_queue("gate", &ids).await;
    gate.jobs.release_all();
    assert_eq!(gate.server.buildset_result("gate", &d).await, "SUCCESS");
    assert_eq!(
        gate.merged(),
        ["Change a", "Change b", "Change c", "Change d"]
    );
}
