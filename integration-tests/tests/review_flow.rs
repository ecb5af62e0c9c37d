//! The flow of a change on plain git through the real server, as the README's
//! gate walkthrough tells it: a developer pushes a review branch, `check` and
//! `gate` test it with real Ansible, and the gate merges what passes into the
//! upstream repo and deletes its review branch; a change whose job fails is
//! reported FAILURE and stays unmerged. The jobs pass data with `zuul_return`
//! from parent to child, and look at the tree they test, so a change decides
//! its own result: a file `FAIL` in it fails `verify`.

use portcullis_integration_tests::review::{change_number, history, Developer, Proposal, STEP};
use portcullis_integration_tests::{wait, Repo, Scenario, TestServer};

/// The config project: Zuul's classic check and gate, on patchset-created
/// both, as the quickstart has them.
const CHECK_AND_GATE: &str = "\
- pipeline:
    name: check
    manager: independent
    trigger: {local: [{event: patchset-created}]}
- pipeline:
    name: gate
    manager: dependent
    trigger: {local: [{event: patchset-created}]}
    success: {local: {merge: true}}
- job: {name: base, parent: null, nodeset: {nodes: [{name: node, label: local}]}}
";

/// Demo's jobs: `build` returns data, `verify` needs it and fails on `FAIL`.
const JOBS: &str = "\
- job: {name: build, run: playbooks/build.yaml}
- job: {name: verify, run: playbooks/verify.yaml, dependencies: [build]}
- project:
    check: {jobs: [build, verify]}
    gate: {jobs: [build, verify]}
";

const BUILD: &str = "\
- hosts: localhost
  gather_facts: false
  tasks:
    - zuul_return: {data: {artifact: 'built-{{ zuul.change }}'}}
";

const VERIFY: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.assert: {that: [\"artifact == 'built-' ~ zuul.change\"]}
    - ansible.builtin.shell: \"test ! -e {{ zuul.executor.work_root }}/{{ zuul.project.src_dir }}/FAIL\"
";

/// Starts the server with demo's jobs on master; answers demo's master then.
async fn server_with_jobs() -> (TestServer, String) {
    let scenario = Scenario {
        config_yaml: CHECK_AND_GATE.to_string(),
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    let files = [
        (".zuul.yaml", JOBS),
        ("playbooks/build.yaml", BUILD),
        ("playbooks/verify.yaml", VERIFY),
    ];
    let base = server.demo.commit("Add build and verify", &files);
    (server, base)
}

/// Waits until `pipeline` has reported the patchset `sha`, and answers the result.
async fn reported(server: &TestServer, pipeline: &str, sha: &str) -> String {
    server.buildset_result(pipeline, sha).await
}

/// Whether `repo` has the branch `name`.
fn has_branch(repo: &Repo, name: &str) -> bool {
    !repo.git(&["branch", "--list", name]).trim().is_empty()
}

/// Waits until the review branch of `proposal` is gone from `repo`.
async fn until_branch_gone(repo: &Repo, proposal: &Proposal) {
    let what = format!("{} to be deleted", proposal.branch);
    wait::until(&what, STEP, || async {
        (!has_branch(repo, &proposal.branch)).then_some(())
    })
    .await
}

#[tokio::test]
async fn a_passing_change_is_checked_gated_and_merged_and_a_failing_one_is_not() {
    let (server, base) = server_with_jobs().await;
    let dev = Developer::clone_of(&server.demo);

    let good = dev.propose("good", "Good change", &[("notes/good", "ok\n")]);

    assert_eq!(change_number(&server, &good).await, 1);
    assert_eq!(reported(&server, "check", &good.sha).await, "SUCCESS");
    assert_eq!(reported(&server, "gate", &good.sha).await, "SUCCESS");
    until_branch_gone(&server.demo, &good).await;
    assert_eq!(
        history(&server.demo, &base),
        ["Good change"],
        "merged into master"
    );
    let merged = server.demo.git(&["log", "--format=%H", "master"]);
    assert!(merged.lines().any(|sha| sha == good.sha), "{merged}");

    let bad = dev.propose("bad", "Bad change", &[("FAIL", "this change fails\n")]);

    assert_eq!(change_number(&server, &bad).await, 2);
    assert_eq!(reported(&server, "check", &bad.sha).await, "FAILURE");
    assert_eq!(reported(&server, "gate", &bad.sha).await, "FAILURE");
    assert_eq!(history(&server.demo, &base), ["Good change"], "not merged");
    assert!(
        has_branch(&server.demo, &bad.branch),
        "its review branch stays"
    );
    let verify = server.finished_build("verify", &bad.sha).await;
    assert_eq!(verify["result"], "FAILURE", "{verify:#}");
}

/// Demo's jobs with file matchers: `docs` for doc/ only, `build` for anything else.
const MATCHED: &str = "\
- job: {name: docs, run: playbooks/build.yaml, files: ['^doc/']}
- job: {name: build, run: playbooks/build.yaml, irrelevant-files: ['^doc/']}
- project:
    check: {jobs: [docs, build]}
    gate: {jobs: [docs, build]}
";

#[tokio::test]
async fn a_change_to_docs_only_runs_only_the_jobs_whose_files_it_touches() {
    let scenario = Scenario {
        config_yaml: CHECK_AND_GATE.to_string(),
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    let files = [(".zuul.yaml", MATCHED), ("playbooks/build.yaml", BUILD)];
    server.demo.commit("Add docs and build", &files);
    let dev = Developer::clone_of(&server.demo);

    let docs = dev.propose("docs", "Docs change", &[("doc/index.rst", "words\n")]);

    assert_eq!(reported(&server, "check", &docs.sha).await, "SUCCESS");
    let docs_build = server.finished_build("docs", &docs.sha).await;
    assert_eq!(docs_build["result"], "SUCCESS", "{docs_build:#}");
    let tenant = portcullis_integration_tests::server::TENANT;
    let path = format!(
        "/api/tenant/{tenant}/builds?job_name=build&newrev={}",
        docs.sha
    );
    let (_, builds) = server.get(&path).await;
    assert_eq!(builds, serde_json::json!([]), "build ignores doc/ changes");
}
