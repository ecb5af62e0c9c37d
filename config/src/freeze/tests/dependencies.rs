//! Job dependencies: validation, cycles, and how they meet file matchers.

use crate::job::JobDependency;
use crate::testing::{file, layout};
use crate::Layout;

fn demo(text: &str) -> Layout {
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    layout
}

const BUILD_THEN_TEST: &str = "\
- job: {name: build, files: ['^src/']}
- job: {name: docs-build, files: ['^doc/']}
- job:
    name: test
    dependencies: [build, {name: docs-build, soft: true}]
- project:
    post: {jobs: [build, docs-build, test]}
";

#[test]
fn a_hard_dependency_runs_even_when_its_files_do_not_match() {
    let layout = demo(BUILD_THEN_TEST);
    let files = vec!["README".to_string()];
    let jobs = layout
        .job_graph_for_files("post", "demo", "master", Some(&files))
        .unwrap();
    let names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["build", "test"]);
    let hard = JobDependency {
        name: "build".into(),
        soft: false,
    };
    assert_eq!(
        jobs[1].dependencies,
        [hard],
        "the soft one is dropped with its job"
    );
}

#[test]
fn a_soft_dependency_is_kept_when_its_job_runs() {
    let jobs = demo(BUILD_THEN_TEST)
        .job_graph("post", "demo", "master")
        .unwrap();
    assert_eq!(jobs[2].dependencies.len(), 2);
    assert!(jobs[2].dependencies[1].soft);
}

#[test]
fn a_hard_dependency_on_a_job_not_in_the_graph_is_an_error() {
    let text =
        "- job: {name: a}\n- job: {name: b, dependencies: a}\n- project:\n    post: {jobs: [b]}\n";
    let err = demo(text).job_graph("post", "demo", "master").unwrap_err();
    assert!(
        err.message.contains("depends on a, which was not run"),
        "{err}"
    );
}

#[test]
fn a_dependency_on_an_undefined_job_is_a_config_error() {
    let layout = layout(&[file(
        "demo",
        ".zuul.yaml",
        "- job: {name: b, dependencies: nope}\n",
    )]);
    assert!(
        layout.errors[0]
            .message
            .contains("nope, which is not defined"),
        "{:?}",
        layout.errors
    );
    assert!(!layout.jobs.contains_key("b"));
}

#[test]
fn a_dependency_cycle_is_an_error() {
    let text = "\
- job: {name: a, dependencies: c}
- job: {name: b, dependencies: a}
- job: {name: c, dependencies: b}
- project:
    post: {jobs: [a, b, c]}
";
    let err = demo(text).job_graph("post", "demo", "master").unwrap_err();
    assert!(err.message.contains("dependency cycle"), "{err}");
}

#[test]
fn the_built_in_noop_job_runs_without_a_definition_a_playbook_or_a_node() {
    let text = "- job: {name: test, dependencies: [noop]}\n\
                - project:\n    post: {jobs: [noop, {test: {}}]}\n";
    let jobs = demo(text).job_graph("post", "demo", "master").unwrap();
    assert_eq!(jobs[0].name, crate::freeze::NOOP_JOB);
    assert!(jobs[0].run.is_empty() && jobs[0].nodeset.nodes.is_empty());
    assert_eq!(jobs[1].dependencies[0].name, "noop");
}

#[test]
fn fail_fast_is_decided_by_the_first_stanza_that_sets_it() {
    let text = "- project-template:\n    name: fast\n    post: {fail-fast: true}\n\
                - project:\n    templates: [fast]\n    post: {fail-fast: false, jobs: [a]}\n\
                - job: {name: a}\n";
    let layout = demo(text);
    assert!(layout.fail_fast("post", "demo", "master"));
    let plain = demo("- job: {name: a}\n- project:\n    post: {jobs: [a]}\n");
    assert!(!plain.fail_fast("post", "demo", "master"));
}
