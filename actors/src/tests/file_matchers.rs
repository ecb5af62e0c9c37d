//! Jobs' `files` and `irrelevant-files` against the files the merger says an
//! item changes: the job graph is frozen once they are known; an item left
//! with no job reports to the no-jobs reporters and does not merge.

use super::fakes::{Behaviour, MemoryStore};
use super::harness::{Harness, CONFIG, GATING};
use crate::result::BuildResult::*;

/// `docs` looks at doc/ only, `unit` at anything but doc/, in `pipeline`.
fn split(pipeline: &str) -> String {
    format!(
        "- job: {{name: docs, files: ['^doc/']}}\n\
         - job: {{name: unit, irrelevant-files: ['^doc/']}}\n\
         - project:\n    {pipeline}: {{jobs: [docs, unit]}}\n"
    )
}

/// `docs` looks at doc/ only, `unit` at src/ only, in `pipeline`.
fn narrow(pipeline: &str) -> String {
    format!(
        "- job: {{name: docs, files: ['^doc/']}}\n\
         - job: {{name: unit, files: ['^src/']}}\n\
         - project:\n    {pipeline}: {{jobs: [docs, unit]}}\n"
    )
}

fn jobs_run(given: &Harness) -> Vec<String> {
    let requests = given.executor.requests();
    requests.iter().map(|r| r.job.name.clone()).collect()
}

#[actix::test]
async fn a_job_whose_files_match_none_of_the_changed_files_does_not_run() {
    let given = Harness::gating(&split("check"));
    given.merger.set_files(1, &["src/main.rs", "README"]);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    assert_eq!(jobs_run(&given), ["unit"]);
}

#[actix::test]
async fn a_job_whose_irrelevant_files_match_every_changed_file_does_not_run() {
    let given = Harness::gating(&split("check"));
    given.merger.set_files(1, &["doc/index.rst", "doc/api.rst"]);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    assert_eq!(jobs_run(&given), ["docs"]);
}

#[actix::test]
async fn when_the_merger_does_not_know_the_files_every_job_runs() {
    let given = Harness::gating(&split("check"));

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    let mut run = jobs_run(&given);
    run.sort();
    assert_eq!(run, ["docs", "unit"]);
}

#[actix::test]
async fn a_change_whose_files_match_no_job_runs_nothing_reports_nothing_and_is_stored_as_no_jobs() {
    let given = Harness::gating(&narrow("check"));
    given.merger.set_files(1, &["tools/release.sh"]);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.finished(1).await, vec![(1, NoJobs)]);
    assert!(given.executor.requests().is_empty());
    // The check pipeline has no no-jobs reporters: the item left without a word.
    assert!(given.reporter.reports().is_empty());
}

/// The gating pipelines, with no-jobs reporters on the gate.
fn gate_with_no_jobs_reporter() -> String {
    GATING.replace(
        "    success: {local: {merge: true}}\n",
        "    success: {local: {merge: true}}\n    no-jobs: {local: {comment: nothing to test}}\n",
    )
}

#[actix::test]
async fn in_a_gate_a_change_with_no_jobs_reports_to_no_jobs_never_merges_and_the_next_change_merges_without_it(
) {
    let given = Harness::with(&gate_with_no_jobs_reporter(), &narrow("gate"));
    given.merger.set_files(1, &["tools/release.sh"]);
    given.merger.set_files(2, &["src/lib.rs"]);

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, NoJobs, false), (2, Success, true)]);
    let no_jobs = &given.reporter.reports()[0];
    assert_eq!(
        no_jobs.settings,
        serde_json::json!({"comment": "nothing to test"})
    );
    assert_eq!(given.merger.states_of(2).last(), Some(&vec![2]));
    assert_eq!(given.executor.changes_run("unit"), [2]);
}

#[actix::test]
async fn the_files_are_asked_for_once_per_item_not_again_when_a_reset_merges_it_anew() {
    let given = Harness::gating(&narrow("gate"));
    given.merger.set_files(1, &["src/a.rs"]);
    given.merger.set_files(2, &["src/b.rs"]);
    given.executor.hold("unit");
    given.executor.set_for("unit", 1, Behaviour::End(Failure));

    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;
    given.running(1).await;
    given.running(2).await;
    given.executor.release("unit");

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Success, true)]);
    assert_eq!(
        given.merger.states_of(2).len(),
        2,
        "change 2 was merged again"
    );
    assert_eq!(given.merger.files_asked(), 2);
}

#[actix::test]
async fn a_ref_update_runs_only_the_jobs_its_files_match() {
    let given = Harness::with(CONFIG, &split("post"));
    given.merger.set_ref_files("demo", &["doc/index.rst"]);

    given.push("demo", "master");

    buildset_finished(&given).await;
    assert_eq!(jobs_run(&given), ["docs"]);
    assert_eq!(given.merger.files_asked(), 1);
}

#[actix::test]
async fn the_files_of_a_ref_update_are_not_asked_for_when_no_job_looks_at_files() {
    let given = Harness::start(&["unit", "lint"]);

    given.push("demo", "master");

    buildset_finished(&given).await;
    assert_eq!(given.executor.requests().len(), 2);
    assert_eq!(given.merger.files_asked(), 0);
}

async fn buildset_finished(given: &Harness) {
    let done = |r: &[_]| !MemoryStore::buildset_results(r).is_empty();
    given.store.until(done).await;
}

/// `docs` (doc/ only) is abstract, which makes it unrunnable; `unit` needs `other`.
const BROKEN_DOCS: &str = "- job: {name: docs, abstract: true, files: ['^doc/']}\n\
- job: {name: unit, required-projects: [other]}\n\
- project:\n    check: {jobs: [docs, unit]}\n";

#[actix::test]
async fn a_broken_job_that_the_files_leave_out_does_not_keep_the_other_jobs_from_running() {
    let given = Harness::gating(BROKEN_DOCS);
    given.merger.set_files(1, &["src/main.rs"]);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, Success, false)]);
    assert_eq!(jobs_run(&given), ["unit"]);
    // Merged first knowing no job, then again with the project `unit` needs.
    let other = vec![("other".to_string(), "master".to_string())];
    assert_eq!(given.merger.required_of(1), vec![vec![], other]);
}

#[actix::test]
async fn a_broken_job_that_the_files_take_in_is_a_config_error() {
    let given = Harness::gating(BROKEN_DOCS);
    given.merger.set_files(1, &["doc/index.rst", "src/main.rs"]);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, ConfigError, false)]);
    let report = &given.reporter.reports()[0];
    assert!(
        report.message.contains("job docs is abstract"),
        "{}",
        report.message
    );
    assert!(given.executor.requests().is_empty());
}

#[actix::test]
async fn a_broken_job_is_a_config_error_when_the_files_are_not_known() {
    let given = Harness::gating(BROKEN_DOCS);

    given.enqueue("check", "demo", 1, &[]).await;

    assert_eq!(given.reporter.until(1).await, vec![(1, ConfigError, false)]);
    assert!(given.executor.requests().is_empty());
}
