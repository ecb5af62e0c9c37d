//! Freezing scenarios: each pins one inheritance rule.

use serde_json::json;

use crate::testing::{file, layout};
use crate::{FrozenJob, Layout};

fn demo(text: &str) -> Layout {
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    layout
}

fn only_job(layout: &Layout) -> FrozenJob {
    let mut jobs = layout.job_graph("post", "demo", "master").unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.remove(0)
}

fn paths(refs: &[crate::PlaybookRef]) -> Vec<&str> {
    refs.iter().map(|r| r.path.as_str()).collect()
}

const CHILD: &str = "\
- job:
    name: unit
    pre-run: unit/pre.yaml
    post-run: unit/post.yaml
- job:
    name: unit-py
    parent: unit
    pre-run: py/pre.yaml
    run: py/run.yaml
    post-run: py/post.yaml
- project:
    post:
      jobs: [unit-py]
";

#[test]
fn pre_run_playbooks_run_parents_first_and_post_run_children_first() {
    let job = only_job(&demo(CHILD));
    assert_eq!(job.inheritance, ["base", "unit", "unit-py"]);
    assert_eq!(
        paths(&job.pre_run),
        ["base/pre.yaml", "unit/pre.yaml", "py/pre.yaml"]
    );
    assert_eq!(
        paths(&job.post_run),
        ["py/post.yaml", "unit/post.yaml", "base/post.yaml"]
    );
}

#[test]
fn the_most_specific_run_wins_and_names_its_own_repo() {
    let job = only_job(&demo(CHILD));
    assert_eq!(paths(&job.run), ["py/run.yaml"]);
    let run = &job.run[0];
    assert_eq!(
        (run.project.as_str(), run.commit.as_str(), run.trusted),
        ("demo", "demo-sha", false)
    );
    let pre = &job.pre_run[0];
    assert_eq!((pre.project.as_str(), pre.trusted), ("config", true));
}

#[test]
fn a_job_without_its_own_run_inherits_its_parents() {
    let job = only_job(&demo(
        "- job: {name: lint}\n- project:\n    post: {jobs: [lint]}\n",
    ));
    assert_eq!(paths(&job.run), ["base/run.yaml"]);
    assert!(job.voting, "voting defaults to true");
    assert_eq!(job.nodeset, crate::nodeset::Nodeset::default());
}

#[test]
fn vars_merge_deeply_and_the_child_wins() {
    let text = "\
- job:
    name: lint
    vars: {site: {zone: b}, extra: true}
- project:
    post:
      jobs: [lint]
";
    let job = only_job(&demo(text));
    let expected = json!({"site": {"region": "east", "zone": "b"}, "level": 1, "extra": true});
    assert_eq!(serde_json::Value::Object(job.vars), expected);
}

#[test]
fn a_project_variant_overrides_the_job_and_adds_its_playbooks_last() {
    let text = "\
- job:
    name: lint
    timeout: 600
    voting: true
    description: from the job
- project:
    post:
      jobs:
        - lint:
            timeout: 30
            voting: false
            pre-run: local/pre.yaml
            vars: {level: 2}
            nodeset: {nodes: [{name: box, label: small}]}
";
    let job = only_job(&demo(text));
    assert_eq!(job.timeout, Some(30));
    assert!(!job.voting);
    assert_eq!(job.description.as_deref(), Some("from the job"));
    assert_eq!(paths(&job.pre_run), ["base/pre.yaml", "local/pre.yaml"]);
    assert_eq!(job.vars["level"], json!(2));
    assert_eq!(job.nodeset.nodes[0].label, "small");
}

#[test]
fn a_named_nodeset_is_resolved_from_the_layout() {
    let text = "\
- nodeset:
    name: pair
    nodes: [{name: a, label: small}, {name: b, label: big}]
    groups: [{name: all, nodes: [a, b]}]
- job: {name: lint, nodeset: pair}
- project:
    post: {jobs: [lint]}
";
    let job = only_job(&demo(text));
    assert_eq!(job.nodeset.name, "pair");
    assert_eq!(job.nodeset.groups[0].nodes, ["a", "b"]);
}

#[test]
fn later_variants_of_a_job_apply_in_definition_order() {
    let text = "- job: {name: lint, timeout: 10}\n- job: {name: lint, timeout: 20, run: lint2.yaml}\n- project:\n    post: {jobs: [lint]}\n";
    let job = only_job(&demo(text));
    assert_eq!(job.timeout, Some(20));
    assert_eq!(paths(&job.run), ["lint2.yaml"]);
    assert_eq!(job.inheritance, ["base", "lint"]);
}

#[test]
fn jobs_are_frozen_in_the_order_the_project_lists_them() {
    let text = "- job: {name: b}\n- job: {name: a}\n- project:\n    post: {jobs: [b, a]}\n";
    let names: Vec<String> = demo(text)
        .job_graph("post", "demo", "master")
        .unwrap()
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn an_unknown_pipeline_or_project_has_no_jobs() {
    let layout = demo(CHILD);
    assert!(layout
        .job_graph("gate", "demo", "master")
        .unwrap()
        .is_empty());
    assert!(layout
        .job_graph("post", "other", "master")
        .unwrap()
        .is_empty());
}

#[test]
fn an_unknown_job_in_a_project_stanza_is_an_error_at_the_stanza() {
    let layout = demo("- project:\n    post: {jobs: [nope]}\n");
    let err = layout.job_graph("post", "demo", "master").unwrap_err();
    assert_eq!((err.file.as_str(), err.line), (".zuul.yaml", 1));
    assert!(err.message.contains("nope"), "{err}");
}

#[test]
fn a_job_with_no_run_anywhere_in_its_chain_is_an_error() {
    let text =
        "- job: {name: bare, parent: null}\n- project:\n    name: demo\n    post: {jobs: [bare]}\n";
    let layout = layout(&[file("config", "zuul.d/bare.yaml", text)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let err = layout.job_graph("post", "demo", "master").unwrap_err();
    assert_eq!(err.message, "job bare has no run playbook");
    assert_eq!((err.file.as_str(), err.line), ("zuul.d/bare.yaml", 1));
}

#[test]
fn an_abstract_job_cannot_run_but_its_children_can() {
    let text = "\
- job: {name: tmpl, abstract: true}
- job: {name: real, parent: tmpl}
- project:
    post: {jobs: [real]}
";
    assert_eq!(only_job(&demo(text)).inheritance, ["base", "tmpl", "real"]);
    let direct = demo(&text.replace("jobs: [real]", "jobs: [tmpl]"));
    let err = direct.job_graph("post", "demo", "master").unwrap_err();
    assert!(err.message.contains("abstract"), "{err}");
}

#[test]
fn a_parent_cycle_found_while_freezing_names_the_job_and_its_line() {
    // Layout::build removes cycles; a hand-made layout still must not loop.
    let mut layout =
        demo("- job: {name: a}\n- job: {name: b, parent: a}\n- project:\n    post: {jobs: [b]}\n");
    if let Some(a) = layout.jobs.get_mut("a") {
        a[0].parent = Some(Some("b".into()));
    }
    let err = layout.job_graph("post", "demo", "master").unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
    assert_eq!((err.file.as_str(), err.line), (".zuul.yaml", 1));
}

#[test]
fn an_untrusted_variant_applies_only_to_its_branch_once_several_branches_are_read() {
    let mut stable = file(
        "demo",
        ".zuul.yaml",
        "- job: {name: lint, timeout: 99}\n- project:\n    post: {jobs: [lint]}\n",
    );
    stable.branch = "stable".into();
    let master = file(
        "demo",
        ".zuul.yaml",
        "- job: {name: lint, timeout: 1}\n- project:\n    post: {jobs: [lint]}\n",
    );
    let layout = layout(&[master, stable]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let on = |branch| layout.job_graph("post", "demo", branch).unwrap();
    assert_eq!(on("master")[0].timeout, Some(1));
    assert_eq!(on("stable")[0].timeout, Some(99));
    assert!(on("feature").is_empty());
}

mod dependencies;
mod guards;
mod matchers;
