//! The active window of a 20-change gate, as the status shows it: only the
//! changes inside it run; it grows by one with each merge and halves on a
//! failure.

use portcullis_integration_tests::review::STEP;
use portcullis_integration_tests::{wait, Scenario};
use serde_json::Value;

use super::{Change, Gate};

/// The gate's window and how many of its items are active, once the head is `head`.
async fn window_behind(gate: &Gate, head: &Change) -> (u64, usize) {
    wait::until(&format!("{} at the head", head.id), STEP, || async {
        let queue = live_queue(&gate.server.status().await)?;
        let heads = queue["heads"].as_array()?;
        let items: Vec<&Value> = heads
            .iter()
            .flat_map(|h| h.as_array().into_iter().flatten())
            .collect();
        (items.first()?["refs"][0]["id"] == head.id.as_str()).then_some(())?;
        let active = items.iter().filter(|i| i["active"] == true).count();
        Some((queue["window"].as_u64()?, active))
    })
    .await
}

/// The gate's queue of waiting and running items (items that reported and
/// wait for their history to be stored follow in queues of their own).
fn live_queue(status: &Value) -> Option<Value> {
    let pipelines = status["pipelines"].as_array()?;
    let gate = pipelines.iter().find(|p| p["name"] == "gate")?;
    Some(gate["change_queues"][0].clone())
}

#[tokio::test]
async fn a_gate_of_twenty_grows_its_window_with_each_merge_and_halves_it_on_a_failure() {
    let gate = Gate::start("    window: 4\n    window-floor: 2\n", Scenario::default()).await;
    let mut queue = Vec::new();
    let mut changes = Vec::new();
    for n in 1..=20 {
        let extra: &[(&str, &str)] = if n == 3 {
            &[("FAIL", "3 breaks\n")]
        } else {
            &[]
        };
        changes.push(gate.propose(&format!("{n:02}"), extra, &mut queue).await);
    }
    for change in &changes[..4] {
        gate.jobs.until_runs(change.sha(), 1).await;
    }

    assert_eq!(window_behind(&gate, &changes[0]).await, (4, 4));
    assert!(
        gate.jobs.trees(changes[4].sha()).is_empty(),
        "outside the window"
    );
    gate.jobs.release(changes[0].sha());
    assert_eq!(
        window_behind(&gate, &changes[1]).await,
        (5, 5),
        "a merge grows it"
    );
    gate.jobs.release(changes[1].sha());
    assert_eq!(window_behind(&gate, &changes[2]).await, (6, 6));
    gate.jobs.release(changes[2].sha());
    assert_eq!(
        window_behind(&gate, &changes[3]).await,
        (3, 3),
        "a failure halves it"
    );
    gate.jobs.release_all();

    assert_eq!(gate.result(&changes[19]).await, "SUCCESS");
    let merged = gate.merged();
    let expected: Vec<String> = (1..=20)
        .filter(|n| *n != 3)
        .map(|n| format!("Change {n:02}"))
        .collect();
    assert_eq!(merged, expected);
}
