//! Changing the gate's queue: a new patchset replaces the old one, and an
//! admin promotes or dequeues changes through the admin API.

use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::token::{self, auth_scenario};
use portcullis_integration_tests::Scenario;
use serde_json::json;

use super::{tree, Change, Gate};

/// A gate over `scenario` holding changes a, b and c, all running.
async fn three_held(scenario: Scenario) -> (Gate, [Change; 3]) {
    let gate = Gate::start("", scenario).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b = gate.propose("b", &[], &mut queue).await;
    let c = gate.propose("c", &[], &mut queue).await;
    gate.jobs.until_runs(c.sha(), 1).await;
    (gate, [a, b, c])
}

#[tokio::test]
async fn a_new_patchset_dequeues_the_old_one_and_the_new_one_is_gated() {
    let gate = Gate::start("", Scenario::default()).await;
    let mut queue = Vec::new();
    let a = gate.propose("a", &[], &mut queue).await;
    let b = gate.propose("b", &[], &mut queue).await;
    gate.jobs.until_runs(b.sha(), 1).await;

    let newer = gate
        .dev
        .amend(&b.proposal, "Change b v2", &[("changes/b2", "b")]);
    queue.pop();
    let b2 = gate.enqueued(newer, &mut queue).await;
    assert_eq!(b2.number, b.number, "the same change, a new patchset");
    assert_eq!(gate.result(&b).await, "DEQUEUED");
    assert_eq!(
        gate.jobs.until_runs(b2.sha(), 1).await,
        [tree(&["a", "b2"])]
    );
    gate.jobs.release_all();

    assert_eq!(gate.result(&a).await, "SUCCESS");
    assert_eq!(gate.result(&b2).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Change a", "Change b v2"]);
    assert_eq!(
        gate.jobs.trees(b.sha()).len(),
        1,
        "the old patchset never ran again"
    );
}

#[tokio::test]
async fn a_promoted_change_moves_to_the_head_and_the_others_are_retested_behind_it() {
    let (gate, [a, b, c]) = three_held(auth_scenario(Scenario::default())).await;

    let body = json!({"pipeline": "gate", "changes": [c.id]});
    let path = format!("/api/tenant/{TENANT}/promote");
    let (code, answer) = token::post(&gate.server, &path, Some(&token::admin()), &body).await;
    assert_eq!(code, 200, "{answer}");

    gate.server
        .until_queue("gate", &[c.id.clone(), a.id.clone(), b.id.clone()])
        .await;
    assert_eq!(gate.jobs.until_runs(c.sha(), 2).await[1], tree(&["c"]));
    assert_eq!(gate.jobs.until_runs(a.sha(), 2).await[1], tree(&["a", "c"]));
    gate.jobs.release_all();
    assert_eq!(gate.result(&b).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Change c", "Change a", "Change b"]);
}

#[tokio::test]
async fn a_dequeued_change_leaves_and_the_change_behind_is_retested_without_it() {
    let (gate, [a, b, c]) = three_held(auth_scenario(Scenario::default())).await;

    let body = json!({"pipeline": "gate", "change": b.id});
    let path = format!("/api/tenant/{TENANT}/project/demo/dequeue");
    let (code, answer) = token::post(&gate.server, &path, Some(&token::admin()), &body).await;
    assert_eq!(code, 200, "{answer}");

    gate.server
        .until_queue("gate", &[a.id.clone(), c.id.clone()])
        .await;
    assert_eq!(gate.result(&b).await, "DEQUEUED");
    assert_eq!(gate.jobs.until_runs(c.sha(), 2).await[1], tree(&["a", "c"]));
    gate.jobs.release_all();
    assert_eq!(gate.result(&c).await, "SUCCESS");
    assert_eq!(gate.merged(), ["Change a", "Change c"]);
}
