//! Layout scenarios: which objects make it in, and how the others are reported.

use crate::testing::{file, layout};
use crate::{ConfigError, Layout};

fn demo(text: &str) -> Layout {
    layout(&[file("demo", ".zuul.yaml", text)])
}

fn only_error(layout: &Layout) -> &ConfigError {
    assert_eq!(layout.errors.len(), 1, "{:?}", layout.errors);
    &layout.errors[0]
}

#[test]
fn objects_keep_where_they_were_defined() {
    let layout = demo("# jobs\n\n- job:\n    name: lint\n");
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let source = &layout.jobs["lint"][0].source;
    assert_eq!(
        (
            source.project.as_str(),
            source.path.as_str(),
            source.line,
            source.commit.as_str(),
            source.trusted
        ),
        ("demo", ".zuul.yaml", 3, "demo-sha", false)
    );
    assert!(layout.jobs["base"][0].source.trusted);
    assert_eq!(layout.pipelines[0].name, "post");
}

#[test]
fn an_unknown_parent_is_reported_at_the_job_and_the_job_left_out() {
    let layout = demo("- job: {name: ok}\n- job:\n    name: lint\n    parent: nope\n");
    let err = only_error(&layout);
    assert_eq!((err.file.as_str(), err.line), (".zuul.yaml", 2));
    assert!(
        err.message.contains("parent job nope is not defined"),
        "{err}"
    );
    assert!(!layout.jobs.contains_key("lint"));
    assert!(layout.jobs.contains_key("ok"));
}

#[test]
fn children_of_a_job_left_out_are_left_out_too() {
    let layout = demo("- job: {name: a, parent: nope}\n- job: {name: b, parent: a}\n");
    assert_eq!(layout.errors.len(), 2, "{:?}", layout.errors);
    assert!(!layout.jobs.contains_key("b"));
}

#[test]
fn a_parent_cycle_is_reported_for_each_job_in_it() {
    let layout =
        demo("- job: {name: a, parent: b}\n- job: {name: b, parent: a}\n- job: {name: c}\n");
    let lines: Vec<_> = layout.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2], "{:?}", layout.errors);
    assert!(
        layout.errors[0].message.contains("cycle"),
        "{:?}",
        layout.errors
    );
    assert!(layout.jobs.contains_key("c"));
}

#[test]
fn a_config_project_may_add_variants_to_its_own_jobs() {
    let layout = layout(&[file(
        "config",
        "zuul.d/more.yaml",
        "- job: {name: base, branches: stable, timeout: 5}\n",
    )]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert_eq!(layout.jobs["base"].len(), 2);
}

#[test]
fn a_shadowing_project_replaces_the_shadowed_projects_job() {
    let text = "- tenant:\n    name: t\n    source:\n      local:\n        config-projects:\n          - config: {shadow: demo}\n        untrusted-projects: [demo, other]\n";
    let tenant = crate::TenantConfig::parse("main.yaml", text)
        .unwrap()
        .tenants
        .remove(0);
    let files = [
        file(
            "demo",
            ".zuul.yaml",
            "- job: {name: lint, run: theirs.yaml}\n",
        ),
        file(
            "config",
            "zuul.yaml",
            &format!(
                "{}- job: {{name: lint, run: ours.yaml}}\n",
                crate::testing::CONFIG
            ),
        ),
    ];
    let layout = Layout::build(&tenant, &crate::testing::drivers(), &files);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert_eq!(layout.jobs["lint"].len(), 1);
    assert_eq!(layout.jobs["lint"][0].source.project, "config");
}

#[test]
fn an_untrusted_project_cannot_add_variants_to_another_projects_job() {
    let layout = demo("- job: {name: base, run: evil.yaml}\n");
    assert!(only_error(&layout)
        .message
        .contains("only that project may add variants"));
    assert_eq!(layout.jobs["base"].len(), 1);
}

#[test]
fn an_untrusted_project_may_only_configure_itself() {
    let layout = demo("- project:\n    name: other\n    post: {jobs: [base]}\n");
    assert!(only_error(&layout)
        .message
        .contains("may only configure itself"));
    assert!(layout.projects.is_empty());
}

#[test]
fn a_nameless_project_stanza_in_an_untrusted_repo_is_that_project() {
    let layout = demo("- project:\n    post: {jobs: [base]}\n");
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert_eq!(layout.projects["demo"][0].name.as_deref(), Some("demo"));
}

#[test]
fn an_unknown_pipeline_in_a_project_stanza_is_reported_at_the_stanza() {
    let layout = demo("- job: {name: a}\n- project:\n    gate: {jobs: [a]}\n");
    let err = only_error(&layout);
    assert_eq!(err.line, 2);
    assert!(err.message.contains("unknown pipeline gate"), "{err}");
    assert!(layout.projects.is_empty());
}

#[test]
fn unknown_and_duplicate_nodesets_are_errors() {
    let layout =
        demo("- job: {name: a, nodeset: nope}\n- nodeset: {name: n}\n- nodeset: {name: n}\n");
    let messages: Vec<_> = layout
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (3, "nodeset n is already defined"),
            (1, "job a: nodeset nope is not defined")
        ]
    );
}

#[test]
fn a_file_of_a_project_outside_the_tenant_is_refused() {
    let layout = layout(&[file("stranger", "zuul.yaml", "- job: {name: x}\n")]);
    assert!(only_error(&layout).message.contains("not in tenant t"));
    assert!(!layout.jobs.contains_key("x"));
}

#[test]
fn errors_of_one_file_leave_the_other_files_in() {
    let layout = layout(&[
        file("demo", ".zuul.yaml", "- job: {name: a\n"),
        file("other", "zuul.yaml", "- job: {name: b}\n"),
    ]);
    assert_eq!(only_error(&layout).project.as_deref(), Some("demo"));
    assert!(layout.jobs.contains_key("b"));
}
