//! Jobs within an item: dependencies, skipped children, returned data.

use serde_json::json;

use super::fakes::Behaviour;
use super::harness::{items, Harness};
use crate::port::StoreRecord;
use crate::result::BuildResult::*;

const GRAPH: &str = "- job: {name: build}\n\
- job: {name: test, dependencies: [build]}\n\
- job: {name: docs, dependencies: [{name: publish, soft: true}]}\n\
- job: {name: publish, dependencies: [test]}\n\
- project:\n    check:\n      jobs: [build, test, docs, publish]\n";

#[actix::test]
async fn a_job_starts_only_once_the_job_it_depends_on_succeeded() {
    let given = Harness::gating(GRAPH);
    given.executor.hold("build");

    given.enqueue("check", "demo", 1, &[]).await;
    given.started(1).await;

    let check = given.pipeline("check").await;
    let jobs = &items(&check)[0].jobs;
    assert!(jobs[0].uuid.is_some(), "build runs");
    assert!(jobs[1].uuid.is_none() && jobs[1].dependencies == ["build"]);
    given.executor.release("build");
    given.finished(1).await;
    let requested: Vec<_> = given
        .executor
        .requests()
        .iter()
        .map(|r| r.job.name.clone())
        .collect();
    assert_eq!(requested[0], "build");
    assert_eq!(requested.len(), 4);
}

#[actix::test]
async fn children_of_a_failed_job_are_skipped_and_shown_skipped() {
    let demo = "- job: {name: build}\n- job: {name: test, dependencies: [build]}\n\
                - job: {name: publish, dependencies: [test]}\n- job: {name: lint}\n\
                - project:\n    check:\n      jobs: [build, test, publish, lint]\n";
    let given = Harness::gating(demo);
    given.executor.set("build", Behaviour::End(Failure));
    given.executor.hold("lint");

    given.enqueue("check", "demo", 1, &[]).await;
    given
        .store
        .until(|r| {
            r.iter().any(|r| {
                matches!(
                    r,
                    StoreRecord::BuildFinished {
                        result: Skipped,
                        ..
                    }
                )
            })
        })
        .await;

    let check = given.pipeline("check").await;
    let publish = items(&check)[0]
        .jobs
        .iter()
        .find(|j| j.name == "publish")
        .unwrap();
    assert_eq!(publish.result.as_deref(), Some("SKIPPED"));
    assert!(publish.uuid.is_none() && !publish.queued);
    assert!(!given
        .executor
        .requests()
        .iter()
        .any(|r| r.job.name == "test"));
    let test = items(&check)[0]
        .jobs
        .iter()
        .find(|j| j.name == "test")
        .unwrap();
    assert_eq!(test.result.as_deref(), Some("SKIPPED"));
    given.executor.release("lint");
    assert_eq!(given.reporter.until(1).await, vec![(1, Failure, false)]);
}

#[actix::test]
async fn a_soft_dependency_on_a_job_that_does_not_run_is_ignored() {
    let demo = "- job: {name: docs, dependencies: [{name: publish, soft: true}]}\n\
                - job: {name: publish}\n\
                - project:\n    check:\n      jobs: [docs]\n";
    let given = Harness::gating(demo);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    assert_eq!(given.executor.requests().len(), 1);
}

#[actix::test]
async fn data_returned_by_a_job_reaches_the_jobs_that_depend_on_it() {
    let given = Harness::gating(GRAPH);
    given.executor.set(
        "build",
        Behaviour::Return(Success, json!({"artifact": "a.tgz", "n": 1})),
    );
    given
        .executor
        .set("test", Behaviour::Return(Success, json!({"n": 2})));

    given.enqueue("check", "demo", 1, &[]).await;
    given.finished(1).await;

    let requests = given.executor.requests();
    let data = |job: &str| {
        requests
            .iter()
            .find(|r| r.job.name == job)
            .unwrap()
            .parent_data
            .clone()
    };
    assert_eq!(data("build"), json!(null));
    assert_eq!(data("test"), json!({"artifact": "a.tgz", "n": 1}));
    assert_eq!(data("publish"), json!({"artifact": "a.tgz", "n": 2}));
}

#[actix::test]
async fn a_change_in_an_independent_pipeline_is_tested_on_its_own_speculative_state() {
    let given = Harness::gating(GRAPH);

    given.enqueue("check", "demo", 7, &[]).await;
    given.finished(1).await;

    assert_eq!(given.merger.states_of(7), vec![vec![7]]);
    let request = &given.executor.requests()[0];
    let commit = request.state.commits.values().next().unwrap();
    assert!(commit.starts_with('7'));
}
