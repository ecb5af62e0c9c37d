//! Scenarios: what the engine records reads back whole, and stays.

use portcullis_actors::port::{BuildStore, StoreRecord};
use portcullis_actors::BuildResult;

use super::harness::{at, item_ref, job, seed, Item, Job, TestDb};
use crate::store::StoreError;

fn gate_item() -> Item {
    Item {
        uuid: "bs1".into(),
        tenant: "acme",
        pipeline: "gate",
        project: "org/api",
        branch: "master",
        change: Some((42, "3")),
    }
}

async fn a_recorded_buildset_reads_back_with_its_builds(db: &TestDb) {
    // Given a buildset whose voting job failed and whose non-voting job errored
    let store = db.open().await;
    let jobs = vec![
        job("lint", BuildResult::Failure),
        Job {
            name: "e2e".into(),
            voting: false,
            result: Some(BuildResult::Error),
            held: true,
        },
    ];
    seed(&store, gate_item(), jobs, 0).await;

    // When it is read back by uuid
    let (set, builds) = store
        .buildset("acme", "bs1")
        .await
        .expect("query")
        .expect("the buildset");

    // Then every field the engine gave is there
    assert_eq!(set.tenant, "acme");
    assert_eq!(set.pipeline, "gate");
    assert_eq!(set.project, "org/api");
    assert_eq!(set.branch.as_deref(), Some("master"));
    assert_eq!(set.r#ref.as_deref(), Some("refs/heads/master"));
    assert_eq!(set.oldrev.as_deref(), Some("bs1-old"));
    assert_eq!(set.newrev.as_deref(), Some("bs1-new"));
    assert_eq!(set.change, Some(42));
    assert_eq!(set.patchset.as_deref(), Some("3"));
    assert_eq!(set.ref_url.as_deref(), Some("https://review.example/42"));
    assert_eq!(set.result.as_deref(), Some("FAILURE"));
    assert_eq!(set.message.as_deref(), Some("Build report for bs1"));
    assert_eq!(set.event_id.as_deref(), Some("event-bs1"));
    assert_eq!(set.event_timestamp, Some(at(0)));
    assert_eq!(set.first_build_start_time, Some(at(1)));
    assert_eq!(set.last_build_end_time, Some(at(11)));
    let names: Vec<_> = builds.iter().map(|b| b.job_name.as_str()).collect();
    assert_eq!(names, ["lint", "e2e"]);
    let e2e = &builds[1];
    assert_eq!(e2e.uuid, "bs1-e2e");
    assert_eq!(e2e.result.as_deref(), Some("ERROR"));
    assert_eq!(e2e.start_time, Some(at(2)));
    assert_eq!(e2e.end_time, Some(at(10)));
    assert!(!e2e.voting);
    assert!(e2e.r#final);
    assert!(e2e.held);
    assert_eq!(e2e.nodeset.as_deref(), Some("big"));
    assert_eq!(e2e.error_detail.as_deref(), Some("no nodes"));
    assert_eq!(
        e2e.log_url.as_deref(),
        Some("https://logs.example/bs1/e2e/")
    );
    assert_eq!(e2e.buildset, set);
}

async fn a_later_build_does_not_move_the_buildsets_first_start(db: &TestDb) {
    // Given a buildset whose first build started at minute 5
    let store = db.open().await;
    let item = gate_item();
    let started = |uuid: &str, minute| StoreRecord::BuildStarted {
        buildset_uuid: "bs1".into(),
        uuid: uuid.into(),
        job_name: uuid.into(),
        voting: true,
        nodeset: "small".into(),
        start_time: at(minute),
    };
    let set_started = StoreRecord::BuildsetStarted {
        uuid: "bs1".into(),
        tenant: "acme".into(),
        pipeline: "gate".into(),
        item: item_ref(&item),
        event_id: "e".into(),
        event_timestamp: at(0),
    };
    store.record(set_started).await.expect("record");
    store.record(started("one", 5)).await.expect("record");

    // When a second build starts later, through the engine's port
    BuildStore::record(&store, started("two", 9))
        .await
        .expect("record");

    // Then the buildset still started with the first build, and is unfinished
    let (set, builds) = store.buildset("acme", "bs1").await.unwrap().unwrap();
    assert_eq!(set.first_build_start_time, Some(at(5)));
    assert_eq!(set.result, None);
    assert_eq!(set.last_build_end_time, None);
    assert_eq!(builds.len(), 2);
    assert!(builds.iter().all(|b| b.result.is_none() && !b.r#final));
}

async fn build_history_survives_closing_and_reopening_the_store(db: &TestDb) {
    // Given history written by a store that is then closed
    let store = db.open().await;
    seed(
        &store,
        gate_item(),
        vec![job("lint", BuildResult::Success)],
        0,
    )
    .await;
    drop(store);

    // When the same database is opened again (migrations run again)
    let reopened = db.open().await;

    // Then the build is still there
    let build = reopened.build("acme", "bs1-lint").await.expect("query");
    let build = build.expect("the build survived");
    assert_eq!(build.result.as_deref(), Some("SUCCESS"));
    assert_eq!(build.buildset.uuid, "bs1");
}

async fn records_about_unknown_buildsets_and_builds_are_errors(db: &TestDb) {
    // Given an empty store
    let store = db.open().await;

    // When a build starts in a buildset that never started, or an unknown build ends
    let start = StoreRecord::BuildStarted {
        buildset_uuid: "nope".into(),
        uuid: "b".into(),
        job_name: "lint".into(),
        voting: true,
        nodeset: "small".into(),
        start_time: at(0),
    };
    let finish = StoreRecord::BuildFinished {
        uuid: "ghost".into(),
        result: BuildResult::Success,
        end_time: at(1),
        log_url: None,
        error_detail: None,
        held: false,
    };

    // Then each is refused with the uuid named
    let started = store.record(start).await;
    assert!(matches!(started, Err(StoreError::UnknownBuildset(ref u)) if u == "nope"));
    let finished = store.record(finish).await;
    assert!(matches!(finished, Err(StoreError::UnknownBuild(ref u)) if u == "ghost"));
}

async fn concurrent_writers_on_one_database_all_succeed(db: &TestDb) {
    // Given two stores (two pools) on the same database
    let (one, two) = (db.open().await, db.open().await);

    // When both write many buildsets at once
    let writes = (0..40).map(|i| {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        tokio::spawn(async move {
            let item = Item {
                uuid: format!("bs{i}"),
                ..gate_item()
            };
            seed(&store, item, vec![job("lint", BuildResult::Success)], i).await;
        })
    });
    for write in futures_util::future::join_all(writes).await {
        write.expect("every writer succeeds");
    }

    // Then every buildset is there
    let all = crate::store::BuildsetFilter {
        limit: Some(100),
        ..Default::default()
    };
    assert_eq!(one.buildsets("acme", &all).await.unwrap().len(), 40);
}

on_both_backends!(
    a_recorded_buildset_reads_back_with_its_builds,
    a_later_build_does_not_move_the_buildsets_first_start,
    build_history_survives_closing_and_reopening_the_store,
    records_about_unknown_buildsets_and_builds_are_errors,
    concurrent_writers_on_one_database_all_succeed,
);
