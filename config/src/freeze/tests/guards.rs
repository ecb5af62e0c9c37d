//! final, protected and intermediate jobs; templates, regex projects and the ways values combine.

use serde_json::json;

use crate::testing::{file, layout};

fn graph_error(files: &[crate::ConfigFile]) -> String {
    let layout = layout(files);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    layout
        .job_graph("post", "demo", "master")
        .unwrap_err()
        .message
}

#[test]
fn a_project_variant_cannot_change_a_final_job() {
    let text = "- job: {name: lint, final: true}\n- project:\n    post:\n      jobs: [{lint: {run: mine.yaml}}]\n";
    let message = graph_error(&[file("demo", ".zuul.yaml", text)]);
    assert!(
        message.contains("final job lint attribute run"),
        "{message}"
    );
}

#[test]
fn a_final_job_still_takes_context_attributes_like_voting() {
    let text = "- job: {name: lint, final: true}\n- project:\n    post:\n      jobs: [{lint: {voting: false}}]\n";
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    assert!(!layout.job_graph("post", "demo", "master").unwrap()[0].voting);
}

#[test]
fn a_protected_job_cannot_be_inherited_from_another_project() {
    let base = file(
        "config",
        "jobs.yaml",
        "- job: {name: deploy, protected: true, run: d.yaml}\n",
    );
    let child = "- job: {name: my-deploy, parent: deploy, run: mine.yaml}\n- project:\n    post: {jobs: [my-deploy]}\n";
    let message = graph_error(&[base, file("demo", ".zuul.yaml", child)]);
    assert!(message.contains("protected"), "{message}");
}

#[test]
fn an_intermediate_job_may_only_be_inherited_by_abstract_jobs() {
    let text = "\
- job: {name: mid, abstract: true, intermediate: true}
- job: {name: leaf, parent: mid}
- project:
    post: {jobs: [leaf]}
";
    let message = graph_error(&[file("demo", ".zuul.yaml", text)]);
    assert!(message.contains("intermediate job mid"), "{message}");
    let layout = layout(&[file(
        "demo",
        ".zuul.yaml",
        "- job: {name: mid, intermediate: true}\n",
    )]);
    assert!(layout.errors[0].message.contains("must also be abstract"));
}

#[test]
fn templates_and_project_vars_add_jobs_and_job_vars_win() {
    let config = "\
- project-template:
    name: python
    post: {jobs: [tox]}
- project:
    name: ^dem.*
    vars: {color: red, size: s}
";
    let demo = "\
- job: {name: tox, vars: {size: l}, tags: [a], required-projects: [x]}
- job: {name: tox, tags: [b], required-projects: [{name: x, override-checkout: v1}]}
- project:
    templates: [python]
";
    let layout = layout(&[
        file("config", "zuul.d/p.yaml", config),
        file("demo", ".zuul.yaml", demo),
    ]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let job = &layout.job_graph("post", "demo", "master").unwrap()[0];
    assert_eq!(
        (job.vars["color"].clone(), job.vars["size"].clone()),
        (json!("red"), json!("l"))
    );
    assert_eq!(job.tags, ["a", "b"]);
    assert_eq!(job.required_projects.len(), 1);
    assert_eq!(
        job.required_projects[0].override_checkout.as_deref(),
        Some("v1")
    );
}

#[test]
fn nodeset_alternatives_are_resolved_in_order() {
    let text = "\
- nodeset: {name: big, nodes: [{name: n, label: big}]}
- nodeset: {name: any, alternatives: [big, {nodes: [{name: n, label: small}]}]}
- job: {name: fit, nodeset: any}
- project:
    post: {jobs: [fit]}
";
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let job = &layout.job_graph("post", "demo", "master").unwrap()[0];
    let labels: Vec<_> = job
        .nodeset_alternatives
        .iter()
        .map(|n| n.nodes[0].label.as_str())
        .collect();
    assert_eq!(labels, ["big", "small"]);
    assert_eq!(job.nodeset.nodes[0].label, "big");
}

#[test]
fn undefined_semaphores_secrets_and_templates_are_config_errors() {
    let cases = [
        (
            "- job: {name: a, semaphores: s}\n",
            "semaphore s is not defined",
        ),
        (
            "- job: {name: a, secrets: [k]}\n",
            "secret k is not defined",
        ),
        (
            "- project: {templates: [nope]}\n",
            "template nope is not defined",
        ),
    ];
    for (text, expected) in cases {
        let layout = layout(&[file("demo", ".zuul.yaml", text)]);
        assert!(
            layout.errors.iter().any(|e| e.message.contains(expected)),
            "{text}: {:?}",
            layout.errors
        );
    }
}

#[test]
fn the_tenant_excludes_object_kinds_and_limits_timeouts() {
    let text = "- tenant:\n    name: t\n    max-job-timeout: 100\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects:\n          - demo: {exclude: [project]}\n          - other\n";
    let tenant = crate::TenantConfig::parse("main.yaml", text)
        .unwrap()
        .tenants
        .remove(0);
    let files = [
        file("config", "zuul.yaml", crate::testing::CONFIG),
        file(
            "demo",
            ".zuul.yaml",
            "- job: {name: slow, timeout: 200}\n- project:\n    post: {jobs: [slow]}\n",
        ),
        file(
            "other",
            ".zuul.yaml",
            "- project:\n    post: {jobs: [slow]}\n",
        ),
    ];
    let layout = crate::Layout::build(&tenant, &crate::testing::drivers(), &files);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert!(
        !layout.projects.contains_key("demo"),
        "demo's project stanza is excluded"
    );
    let err = layout.job_graph("post", "other", "master").unwrap_err();
    assert!(
        err.message
            .contains("exceeds the tenant's max-job-timeout 100"),
        "{err}"
    );
}
