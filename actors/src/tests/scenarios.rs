//! Scenarios from a push to a stored buildset, with the real actors.

use super::fakes::{Behaviour, MemoryStore};
use super::harness::Harness;
use crate::port::StoreRecord;
use crate::result::BuildResult;

fn finished(n: usize) -> impl Fn(&[StoreRecord]) -> bool {
    move |records| MemoryStore::buildset_results(records).len() >= n
}

fn build_results(records: &[StoreRecord]) -> Vec<BuildResult> {
    records
        .iter()
        .filter_map(|r| match r {
            StoreRecord::BuildFinished { result, .. } => Some(*result),
            _ => None,
        })
        .collect()
}

#[actix::test]
async fn a_push_runs_the_projects_jobs_and_stores_a_successful_buildset() {
    let given = Harness::start(&["unit", "lint"]);

    given.push("demo", "master");

    let records = given.store.until(finished(1)).await;
    assert_eq!(
        MemoryStore::buildset_results(&records),
        vec![BuildResult::Success]
    );
    assert_eq!(build_results(&records), vec![BuildResult::Success; 2]);
    let first = &records[0];
    assert!(
        matches!(first, StoreRecord::BuildsetStarted { pipeline, item, .. }
            if pipeline == "post" && item.project == "demo" && item.branch.as_deref() == Some("master")),
        "{first:?}"
    );
}

#[actix::test]
async fn a_failing_voting_job_fails_the_buildset() {
    let given = Harness::start(&["unit", "lint"]);
    given
        .executor
        .set("lint", Behaviour::End(BuildResult::Failure));

    given.push("demo", "master");

    let records = given.store.until(finished(1)).await;
    assert_eq!(
        MemoryStore::buildset_results(&records),
        vec![BuildResult::Failure]
    );
}

#[actix::test]
async fn a_failing_non_voting_job_does_not_fail_the_buildset() {
    let given = Harness::start(&[]);
    given.loader.set_file(
        "demo",
        false,
        "- job: {name: flaky, voting: false}\n- project:\n    post:\n      jobs: [flaky]\n",
    );
    given
        .executor
        .set("flaky", Behaviour::End(BuildResult::Failure));

    given.push("demo", "master");

    let records = given.store.until(finished(1)).await;
    assert_eq!(build_results(&records), vec![BuildResult::Failure]);
    assert_eq!(
        MemoryStore::buildset_results(&records),
        vec![BuildResult::Success]
    );
}

#[actix::test]
async fn a_build_whose_runner_panics_ends_in_error_and_the_item_still_reports() {
    let given = Harness::start(&["unit", "crashy"]);
    given.executor.set("crashy", Behaviour::Panic);

    given.push("demo", "master");

    let records = given.store.until(finished(1)).await;
    let mut results = build_results(&records);
    results.sort_by_key(|r| r.as_str());
    assert_eq!(results, vec![BuildResult::Error, BuildResult::Success]);
    assert_eq!(
        MemoryStore::buildset_results(&records),
        vec![BuildResult::Failure]
    );
}

#[actix::test]
async fn a_running_item_shows_in_the_status_until_it_reports() {
    let given = Harness::start(&["unit"]);
    given.executor.hold("unit");

    given.push("demo", "master");
    given
        .store
        .until(|r| {
            r.iter()
                .any(|r| matches!(r, StoreRecord::BuildStarted { .. }))
        })
        .await;

    let status = given.engine.status("example").await.unwrap();
    let post = status.pipelines.iter().find(|p| p.name == "post").unwrap();
    let item = &post.change_queues[0].heads[0][0];
    assert_eq!(item.refs[0].project, "demo");
    assert_eq!(item.jobs[0].name, "unit");
    assert!(item.jobs[0].uuid.is_some());
    assert_eq!(item.jobs[0].result, None);
    let live = given
        .engine
        .log_hub()
        .subscribe(item.jobs[0].uuid.as_ref().unwrap());
    assert_eq!(live.unwrap().backlog, vec!["running unit"]);

    given.executor.release("unit");
    given.store.until(finished(1)).await;
    let status = given.engine.status("example").await.unwrap();
    assert!(status.pipelines.iter().all(|p| p.change_queues.is_empty()));
}

#[actix::test]
async fn events_for_projects_outside_the_tenant_are_ignored() {
    let given = Harness::start(&["unit"]);

    given.push("stranger", "master");
    given.push("demo", "master");

    let records = given.store.until(finished(1)).await;
    let started = records
        .iter()
        .filter(|r| matches!(r, StoreRecord::BuildsetStarted { .. }))
        .count();
    assert_eq!(started, 1);
}

#[actix::test]
async fn a_push_is_tested_with_the_config_it_brings() {
    let given = Harness::start(&["unit"]);
    given.push("demo", "master");
    given.store.until(finished(1)).await;

    given.loader.set_file(
        "demo",
        false,
        &super::harness::demo_config(&["integration"]),
    );
    given.push("demo", "master");

    let records = given.store.until(finished(2)).await;
    let jobs: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            StoreRecord::BuildStarted { job_name, .. } => Some(job_name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(jobs, vec!["unit", "integration"]);
}

#[actix::test]
async fn a_change_is_routed_on_the_layout_in_use_without_a_reload() {
    // Given a tenant whose layout is loaded and a change checked on it
    let given = Harness::gating(&super::harness::project_config(&["check"], &["unit"], ""));
    given.enqueue("check", "demo", 1, &[]).await;
    given.finished(1).await;
    let loads = given.loader.loads();

    // When more changes arrive
    given.enqueue("check", "demo", 2, &[]).await;
    given.enqueue("check", "demo", 3, &[]).await;
    given.finished(3).await;

    // Then none of them reloaded the layout: no branch moved
    assert_eq!(given.loader.loads(), loads);
}

#[actix::test]
async fn the_tenants_are_listed_with_their_projects() {
    let given = Harness::start(&["unit"]);

    let tenants = given.engine.tenants().await;

    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].name, "example");
    assert_eq!(tenants[0].projects, 3);
    assert!(given.engine.status("nope").await.is_none());
}
