//! Parsing scenarios: what is accepted, and where each problem is reported.

use super::*;
use crate::job::NodesetRef;
use crate::testing::file;

fn errors_of(project: &str, text: &str) -> Vec<ConfigError> {
    parse_project_config(&file(project, "zuul.d/jobs.yaml", text)).unwrap_err()
}

fn one_error(text: &str) -> ConfigError {
    let mut errors = errors_of("demo", text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

fn jobs_of(text: &str) -> Vec<JobVariant> {
    let objects = parse_project_config(&file("demo", "zuul.yaml", text)).unwrap();
    let jobs = objects.into_iter().filter_map(|o| match o {
        ConfigObject::Job(job) => Some(*job),
        _ => None,
    });
    jobs.collect()
}

#[test]
fn malformed_yaml_is_an_error_at_its_line_naming_project_and_branch() {
    let err = one_error("- job:\n    name: a\n  bad: [\n");
    assert_eq!(err.file, "zuul.d/jobs.yaml");
    assert!(err.line >= 3, "{err}");
    assert_eq!(err.project.as_deref(), Some("demo"));
    assert_eq!(err.branch.as_deref(), Some("master"));
}

#[test]
fn an_unknown_key_is_named_at_its_own_line() {
    let err = one_error("- job:\n    name: a\n\n- job:\n    name: b\n    rn: x.yaml\n");
    assert_eq!(err.line, 6, "{err}");
    assert!(err.message.contains("unknown field `rn`"), "{err}");
}

#[test]
fn a_wrong_type_is_an_error_at_its_line() {
    let err = one_error("- job:\n    name: a\n    timeout: soon\n");
    assert_eq!(err.line, 3, "{err}");
    assert!(err.message.contains("timeout"), "{err}");
}

#[test]
fn a_zuul_attribute_we_lack_says_it_is_not_supported_yet() {
    let err = one_error("- job:\n    name: a\n    include-vars: [v.yaml]\n");
    assert!(
        err.message.contains("`include-vars` is not supported yet"),
        "{err}"
    );
    let err = one_error("- image:\n    name: s\n");
    assert!(err.message.contains("not supported yet"), "{err}");
}

#[test]
fn an_unknown_object_kind_is_an_error() {
    let err = one_error("- jobb:\n    name: a\n");
    assert!(err.message.contains("unknown object `jobb`"), "{err}");
}

#[test]
fn one_bad_object_does_not_hide_the_others() {
    let text = "- job: {name: a, run: a.yaml}\n- job: {name: b, timeout: x}\n- job: {name: c}\n";
    let (objects, errors) = parse_objects(&file("demo", "zuul.yaml", text));
    assert_eq!((objects.len(), errors.len()), (2, 1));
    assert_eq!(errors[0].line, 2);
}

#[test]
fn playbooks_are_normalised_from_every_form() {
    let text = "\
- job:
    name: a
    run: one.yaml
    pre-run: [p1.yaml, {name: p2.yaml}]
    post-run: {name: post.yaml}
";
    let job = &jobs_of(text)[0];
    let paths = |p: &Option<Vec<crate::job::PlaybookDef>>| -> Vec<String> {
        p.iter().flatten().map(|d| d.path.clone()).collect()
    };
    assert_eq!(paths(&job.run), ["one.yaml"]);
    assert_eq!(paths(&job.pre_run), ["p1.yaml", "p2.yaml"]);
    assert_eq!(paths(&job.post_run), ["post.yaml"]);
}

#[test]
fn a_playbook_dict_carries_semaphores_and_cleanup() {
    let text =
        "- job:\n    name: a\n    post-run: {name: x.yaml, semaphores: [s, t], cleanup: true}\n";
    let post = jobs_of(text)[0].post_run.clone().unwrap();
    assert_eq!(
        (post[0].semaphores.clone(), post[0].cleanup),
        (vec!["s".into(), "t".into()], true)
    );
    let err = one_error("- job:\n    name: a\n    run: {name: x.yaml, colour: blue}\n");
    assert!(err.message.contains("colour"), "{err}");
}

#[test]
fn parent_absent_null_and_named_are_told_apart() {
    let text = "- job: {name: a}\n- job: {name: b, parent: a}\n";
    let jobs = jobs_of(text);
    assert_eq!(jobs[0].parent, None);
    assert_eq!(jobs[0].parent_name(), Some("base"));
    assert_eq!(jobs[1].parent_name(), Some("a"));
    let trusted = parse_project_config(&file(
        "config",
        "zuul.yaml",
        "- job: {name: root, parent: null}\n",
    ));
    match &trusted.unwrap()[0] {
        ConfigObject::Job(job) => {
            assert_eq!((job.parent.clone(), job.parent_name()), (Some(None), None))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_base_job_in_an_untrusted_project_is_an_error() {
    let err = one_error("\n- job:\n    name: root\n    parent: null\n");
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("config project"), "{err}");
}

#[test]
fn a_pipeline_in_an_untrusted_project_is_an_error_at_its_start() {
    let err = one_error("- job: {name: a}\n- pipeline:\n    name: p\n    manager: independent\n");
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("config projects"), "{err}");
}

#[test]
fn a_nodeset_is_a_name_or_inline_and_groups_must_name_its_nodes() {
    let jobs = jobs_of("- job: {name: a, nodeset: small}\n- job: {name: b, nodeset: {nodes: [{name: n, label: l}]}}\n");
    assert_eq!(jobs[0].nodeset, Some(NodesetRef::Named("small".into())));
    assert!(matches!(&jobs[1].nodeset, Some(NodesetRef::Inline(n)) if n.nodes[0].label == "l"));
    let err = one_error("- nodeset:\n    name: s\n    nodes: [{name: a, label: l}]\n    groups: [{name: g, nodes: [z]}]\n");
    assert!(err.message.contains("`z`"), "{err}");
}

#[test]
fn a_project_stanza_has_pipelines_with_job_entries_and_variants() {
    let text = "- project:\n    description: d\n    post:\n      jobs:\n        - a\n        - b: {voting: false}\n        - c:\n";
    let objects = parse_project_config(&file("demo", ".zuul.yaml", text)).unwrap();
    let ConfigObject::Project(project) = &objects[0] else {
        panic!("{objects:?}")
    };
    assert_eq!(project.name, None);
    let jobs = &project.pipelines["post"].jobs;
    let names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(jobs[1].voting, Some(false));
}

#[test]
fn a_project_stanza_in_a_config_project_needs_a_name() {
    let errors = errors_of("config", "- project:\n    post: {jobs: [a]}\n");
    assert!(errors[0].message.contains("needs a name"), "{errors:?}");
}

#[test]
fn a_project_entry_cannot_set_a_parent() {
    let err = one_error("- project:\n    post:\n      jobs: [{a: {parent: b}}]\n");
    assert!(err.message.contains("`parent`"), "{err}");
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "-",
        "- 1",
        "[[[",
        "{a: b}",
        "- job:",
        "- project: []",
        "- job: {name: [x]}",
        "\t- x",
        "- job: {vars: 3}",
        "- pipeline: {trigger: 5}",
    ] {
        let _ = parse_project_config(&file("demo", "zuul.yaml", text));
    }
}
