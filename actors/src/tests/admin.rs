//! Admin commands (enqueue, dequeue, promote, autohold), their errors, and
//! what the status shows of a gate.

use super::fakes::Behaviour;
use super::harness::{items, project_config, Harness};
use crate::admin::{AdminError, DequeueRequest, EnqueueRequest, PromoteRequest};
use crate::autohold::AutoholdRequest;
use crate::port::StoreRecord;
use crate::result::BuildResult::*;

fn gate_demo() -> Harness {
    Harness::gating(&project_config(&["gate", "check"], &["unit"], ""))
}

async fn three_held(given: &Harness) -> Vec<String> {
    given.executor.hold("unit");
    let mut ids = Vec::new();
    for number in 1..=3 {
        ids.push(given.enqueue("gate", "demo", number, &[]).await);
    }
    given.started(3).await;
    ids
}

#[actix::test]
async fn a_promoted_change_moves_to_the_head_and_the_rest_are_retested_behind_it() {
    let given = gate_demo();
    let ids = three_held(&given).await;

    let promote = PromoteRequest {
        tenant: "example".into(),
        pipeline: "gate".into(),
        changes: vec![ids[2].clone()],
    };
    given.engine.promote(promote).await.unwrap();

    let order: Vec<String> = items(&given.pipeline("gate").await)
        .iter()
        .map(|i| i.refs[0].id.clone())
        .collect();
    assert_eq!(order, vec![ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    given.executor.release("unit");
    let merged: Vec<u64> = given.reporter.until(3).await.iter().map(|r| r.0).collect();
    assert_eq!(merged, vec![3, 1, 2]);
    assert_eq!(given.merger.states_of(1).last(), Some(&vec![3, 1]));
}

#[actix::test]
async fn a_dequeued_change_leaves_and_the_changes_behind_are_retested_without_it() {
    let given = gate_demo();
    three_held(&given).await;

    let dequeue = DequeueRequest {
        tenant: "example".into(),
        pipeline: "gate".into(),
        project: "demo".into(),
        change: Some("2".into()),
        r#ref: None,
    };
    given.engine.dequeue(dequeue).await.unwrap();
    given.executor.release("unit");

    let results = given.finished(3).await;
    assert!(results.contains(&(2, Dequeued)), "{results:?}");
    assert_eq!(given.merger.states_of(3).last(), Some(&vec![1, 3]));
    let merged: Vec<u64> = given.reporter.until(2).await.iter().map(|r| r.0).collect();
    assert_eq!(merged, vec![1, 3]);
}

#[actix::test]
async fn admin_commands_name_what_they_cannot_find() {
    let given = gate_demo();
    let enqueue =
        |tenant: &str, pipeline: &str, project: &str, change: Option<&str>| EnqueueRequest {
            tenant: tenant.into(),
            pipeline: pipeline.into(),
            project: project.into(),
            change: change.map(str::to_string),
            ..EnqueueRequest::default()
        };

    let engine = &given.engine;
    let nope = engine
        .enqueue(enqueue("nope", "gate", "demo", Some("1,1")))
        .await;
    assert_eq!(nope, Err(AdminError::UnknownTenant("nope".into())));
    let nope = engine
        .enqueue(enqueue("example", "nope", "demo", Some("1,1")))
        .await;
    assert_eq!(nope, Err(AdminError::UnknownPipeline("nope".into())));
    let nope = engine
        .enqueue(enqueue("example", "gate", "nope", Some("1,1")))
        .await;
    assert_eq!(nope, Err(AdminError::UnknownProject("nope".into())));
    let nope = engine
        .enqueue(enqueue("example", "gate", "demo", Some("9,9")))
        .await;
    assert!(matches!(nope, Err(AdminError::UnknownChange(c)) if c.contains("9,9")));
    let nope = engine
        .enqueue(enqueue("example", "gate", "demo", None))
        .await;
    assert!(matches!(nope, Err(AdminError::BadRequest(_))));
    let promote = PromoteRequest {
        tenant: "example".into(),
        pipeline: "gate".into(),
        changes: vec!["5,5".into()],
    };
    assert_eq!(
        engine.promote(promote).await,
        Err(AdminError::UnknownChange("5,5".into()))
    );
}

#[actix::test]
async fn an_admin_can_enqueue_a_ref() {
    let given = gate_demo();

    let request = EnqueueRequest {
        tenant: "example".into(),
        pipeline: "check".into(),
        project: "demo".into(),
        r#ref: Some("refs/heads/master".into()),
        newrev: Some("3".repeat(40)),
        ..EnqueueRequest::default()
    };
    given.engine.enqueue(request).await.unwrap();

    let records = given
        .store
        .until(|r| super::fakes::MemoryStore::buildset_results(r).len() == 1)
        .await;
    assert!(
        matches!(&records[0], StoreRecord::BuildsetStarted { item, .. } if item.newrev == "3".repeat(40))
    );
    assert!(given.merger.states_of(0).is_empty(), "a ref needs no merge");
}

#[actix::test]
async fn an_autohold_holds_the_next_failing_build_and_counts_it() {
    let given = gate_demo();
    given.executor.set("unit", Behaviour::End(Failure));
    let request = AutoholdRequest {
        tenant: "example".into(),
        project: "demo".into(),
        job: "unit".into(),
        r#ref: None,
        change: Some("1".into()),
        reason: "look at it".into(),
        count: 1,
        node_hold_expiration: Some(3600),
    };
    let id = given.engine.autohold(request.clone()).await.unwrap();

    given.enqueue("check", "demo", 1, &[]).await;
    given.enqueue("check", "demo", 2, &[]).await;
    let records = given
        .store
        .until(|r| super::fakes::MemoryStore::buildset_results(r).len() == 2)
        .await;

    let holds: Vec<bool> = given.executor.requests().iter().map(|r| r.hold).collect();
    let held = records
        .iter()
        .filter(|r| matches!(r, StoreRecord::BuildFinished { held: true, .. }));
    assert_eq!(held.count(), 1);
    assert_eq!(holds.iter().filter(|h| **h).count(), 1);
    let info = given.engine.autohold_get(&id).await.unwrap().unwrap();
    assert_eq!(
        (info.current_count, info.max_count, info.nodes.len()),
        (1, 1, 1)
    );
    assert_eq!(
        given.engine.autohold_list("example").await.unwrap().len(),
        1
    );
    assert!(given.engine.autohold_delete(&id).await.unwrap());
    assert!(given.engine.autohold_get(&id).await.unwrap().is_none());
    let unknown = AutoholdRequest {
        project: "nope".into(),
        ..request
    };
    assert_eq!(
        given.engine.autohold(unknown).await,
        Err(AdminError::UnknownProject("nope".into()))
    );
}

#[actix::test]
async fn the_status_shows_the_queue_its_window_and_why_an_item_fails() {
    let given = gate_demo();
    given.executor.set_for("unit", 2, Behaviour::End(Failure));
    given.executor.hold("unit");
    let ids = three_held(&given).await;
    // Only 2's build ends: it fails while 1 and 3 still run.
    given.executor.set_for("unit", 2, Behaviour::End(Failure));

    let gate = given.pipeline("gate").await;
    let queue = &gate.change_queues[0];
    assert_eq!((queue.name.as_str(), queue.window), ("demo", 20));
    let all = items(&gate);
    assert_eq!(all[0].refs[0].id, ids[0]);
    assert_eq!(all[1].item_ahead.as_deref(), Some(all[0].id.as_str()));
    assert_eq!(all[0].items_behind, vec![all[1].id.clone()]);
    assert!(all.iter().all(|i| i.active && i.failing_reasons.is_empty()));
    given.executor.release("unit");
    given.reporter.until(3).await;
}
