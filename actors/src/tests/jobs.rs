//! Jobs within an item: dependencies, skipped children, returned data.

use serde_json::json;

use super::fakes::{Behaviour, MemoryStore};
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

#[actix::test]
async fn the_noop_job_succeeds_at_once_without_a_build_and_its_children_then_run() {
    let demo = "- job: {name: test, dependencies: [noop]}\n\
                - project:\n    check:\n      jobs: [noop, test]\n";
    let given = Harness::gating(demo);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    let executed: Vec<_> = given
        .executor
        .requests()
        .iter()
        .map(|r| r.job.name.clone())
        .collect();
    assert_eq!(executed, ["test"], "noop never reaches the executor");
    let builds = MemoryStore::build_results(&stored(&given).await);
    assert!(
        builds.contains(&("noop".to_string(), Success)),
        "{builds:?}"
    );
}

/// `build` has children `a` and `b`; `b` has a child `c`; `lint` stands alone.
const CHILDREN: &str = "- job: {name: build}\n\
- job: {name: a, dependencies: [build]}\n\
- job: {name: b, dependencies: [build]}\n\
- job: {name: c, dependencies: [b]}\n\
- job: {name: lint}\n\
- project:\n    check:\n      jobs: [build, a, b, c, lint]\n";

/// The records once the (only) buildset finished: every build's are in.
async fn stored(given: &Harness) -> Vec<StoreRecord> {
    let done = |r: &[StoreRecord]| !MemoryStore::buildset_results(r).is_empty();
    given.store.until(done).await
}

/// (job, result) of every build, by job name.
fn results_of(records: &[StoreRecord]) -> Vec<(String, crate::result::BuildResult)> {
    let mut builds = MemoryStore::build_results(records);
    builds.sort_by(|x, y| x.0.cmp(&y.0));
    builds
}

#[actix::test]
async fn a_job_returning_child_jobs_runs_only_those_children_and_skips_the_others_with_theirs() {
    let given = Harness::gating(CHILDREN);
    let choice = json!({"zuul": {"child_jobs": ["a"]}, "artifact": "x"});
    given
        .executor
        .set("build", Behaviour::Return(Success, choice));

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    let builds = results_of(&stored(&given).await);
    let expected = [
        ("a", Success),
        ("b", Skipped),
        ("build", Success),
        ("c", Skipped),
        ("lint", Success),
    ];
    let expected: Vec<_> = expected.iter().map(|(j, r)| (j.to_string(), *r)).collect();
    assert_eq!(builds, expected);
    let build = &given.executor.requests()[0];
    assert_eq!(
        build.child_jobs,
        ["a", "b"],
        "zuul.child_jobs names the children to choose from"
    );
}

#[actix::test]
async fn child_jobs_naming_only_jobs_that_are_not_children_skips_every_child() {
    let given = Harness::gating(CHILDREN);
    let choice = json!({"zuul": {"child_jobs": ["lint", "no-such-job"]}});
    given
        .executor
        .set("build", Behaviour::Return(Success, choice));

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    let mut executed: Vec<_> = given
        .executor
        .requests()
        .iter()
        .map(|r| r.job.name.clone())
        .collect();
    executed.sort();
    assert_eq!(executed, ["build", "lint"], "lint runs as it always would");
}

#[actix::test]
async fn a_hard_dependency_on_a_job_not_in_the_graph_is_reported_as_a_config_error_and_never_merged(
) {
    let demo = "- job: {name: compile}\n- job: {name: test, dependencies: [compile]}\n\
                - project:\n    gate:\n      jobs: [test]\n";
    let given = Harness::gating(demo);

    given.enqueue("gate", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, ConfigError, false)]);
    let report = &given.reporter.reports()[0];
    assert!(
        report
            .message
            .starts_with("The job graph cannot be frozen: ")
            && report.message.contains("job test depends on compile"),
        "{}",
        report.message
    );
    // No config-error reporters: the failure reporters speak, as in Zuul.
    assert_eq!(report.settings, json!({"comment": "failed"}));
    assert_eq!(given.finished(1).await, vec![(1, ConfigError)]);
    assert!(given.executor.requests().is_empty());
    // As in Zuul, the graph is frozen once the merger answered; its state is let go.
    assert_eq!(given.merger.states_of(1).len(), 1);
    assert_eq!(given.merger.until_all_released().await, 1);
}
