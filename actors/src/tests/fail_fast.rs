//! A project-pipeline's `fail-fast`: the first failing voting job cancels the
//! item's other builds and the item fails at once, in check and in gate.

use super::fakes::{Behaviour, MemoryStore};
use super::harness::{project_config, Harness};
use crate::port::StoreRecord;
use crate::result::BuildResult::{self, *};

/// `unit` and `slow` (held by the tests) in `pipeline`, with `docs` after `slow`.
fn fast(pipeline: &str, fail_fast: bool) -> String {
    let jobs = project_config(&[pipeline], &["unit", "slow"], "");
    let jobs = jobs.replace(
        "- project:\n",
        "- job: {name: docs, dependencies: [slow]}\n- project:\n",
    );
    let setting = format!("    {pipeline}:\n      fail-fast: {fail_fast}\n");
    jobs.replace(&format!("    {pipeline}:\n"), &setting) + "        - docs\n"
}

/// (job, result) of every build ended so far.
async fn builds(
    given: &Harness,
    until: impl Fn(&[StoreRecord]) -> bool,
) -> Vec<(String, BuildResult)> {
    MemoryStore::build_results(&given.store.until(until).await)
}

fn has(builds: &[(String, BuildResult)], job: &str, result: BuildResult) -> bool {
    builds.contains(&(job.to_string(), result))
}

/// Enqueues change 1 into check, waits until `unit` failed while `slow` was
/// held, then lets `slow` go on.
async fn fail_unit_while_slow_runs(given: &Harness) {
    given.executor.hold("slow");
    given.executor.set("unit", Behaviour::End(Failure));
    given.enqueue("check", "demo", 1, &[]).await;
    let unit_failed = |r: &[StoreRecord]| has(&MemoryStore::build_results(r), "unit", Failure);
    builds(given, unit_failed).await;
    given.executor.release("slow");
}

#[actix::test]
async fn a_failing_voting_job_cancels_the_running_and_waiting_jobs_and_the_item_fails_at_once() {
    let given = Harness::gating(&fast("check", true));
    given.executor.hold("slow");
    given.executor.set("unit", Behaviour::End(Failure));

    given.enqueue("check", "demo", 1, &[]).await;

    // `slow` is never released: only fail-fast can end the item.
    assert_eq!(given.reporter.until(1).await, vec![(1, Failure, false)]);
    assert_eq!(given.finished(1).await, vec![(1, Failure)]);
    let ended = builds(&given, |_| true).await;
    assert!(has(&ended, "slow", Canceled), "{ended:?}");
    assert!(has(&ended, "docs", Canceled), "{ended:?}");
    assert!(!given
        .executor
        .requests()
        .iter()
        .any(|r| r.job.name == "docs"));
}

#[actix::test]
async fn a_failing_non_voting_job_does_not_trip_fail_fast() {
    let demo = fast("check", true).replace(
        "- job:\n    name: unit\n",
        "- job:\n    name: unit\n    voting: false\n",
    );
    let given = Harness::gating(&demo);
    fail_unit_while_slow_runs(&given).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    let ended = builds(&given, |r| !MemoryStore::buildset_results(r).is_empty()).await;
    assert!(
        has(&ended, "slow", Success) && has(&ended, "docs", Success),
        "{ended:?}"
    );
}

#[actix::test]
async fn without_fail_fast_the_item_waits_for_its_other_jobs() {
    let given = Harness::gating(&fast("check", false));
    fail_unit_while_slow_runs(&given).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Failure, false)]);
    let ended = builds(&given, |r| !MemoryStore::buildset_results(r).is_empty()).await;
    assert!(has(&ended, "slow", Success), "{ended:?}");
}

#[actix::test]
async fn in_a_gate_fail_fast_fails_the_change_at_once_and_the_change_behind_merges_without_it() {
    let given = Harness::gating(&fast("gate", true));
    given.executor.hold("slow");
    given.executor.set_for("unit", 1, Behaviour::End(Failure));

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;

    // Change 1 reports while its `slow` is still held.
    assert_eq!(given.reporter.until(1).await, vec![(1, Failure, false)]);
    given.executor.release("slow");
    let reports = given.reporter.until(2).await;
    assert_eq!(reports[1], (2, Success, true));
    assert_eq!(given.merger.states_of(2).last(), Some(&vec![2]));
}
