//! Which variants and jobs apply: branch matchers, file matchers, override-checkout, pragmas.

use crate::testing::{file, layout};
use crate::{ConfigFile, Layout};

fn on_branch(project: &str, branch: &str, text: &str) -> ConfigFile {
    ConfigFile {
        branch: branch.into(),
        ..file(project, ".zuul.yaml", text)
    }
}

fn names(layout: &Layout, branch: &str, files: Option<&[String]>) -> Vec<String> {
    let jobs = layout
        .job_graph_for_files("post", "demo", branch, files)
        .unwrap();
    jobs.into_iter().map(|j| j.name).collect()
}

const BRANCHY: &str = "\
- nodeset: {name: old, nodes: [{name: n, label: old}]}
- nodeset: {name: new, nodes: [{name: n, label: new}]}
- job: {name: tests, nodeset: new}
- job: {name: tests, branches: stable/.*, nodeset: old}
- job: {name: docs, branches: [main, master]}
- project:
    post: {jobs: [tests, docs]}
";

#[test]
fn an_explicit_branch_variant_applies_only_on_matching_branches() {
    let layout = layout(&[file("demo", ".zuul.yaml", BRANCHY)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let on = |branch| layout.job_graph("post", "demo", branch).unwrap();
    assert_eq!(on("stable/1.0")[0].nodeset.nodes[0].label, "old");
    assert_eq!(on("master")[0].nodeset.nodes[0].label, "new");
    let stable: Vec<_> = on("stable/1.0").into_iter().map(|j| j.name).collect();
    assert_eq!(stable, ["tests"], "docs matches neither branch regex");
}

#[test]
fn files_and_irrelevant_files_decide_which_jobs_run() {
    let text = "\
- job: {name: docs, files: ['^doc/.*']}
- job: {name: unit, irrelevant-files: ['^doc/.*', '.*\\.md$']}
- project:
    post: {jobs: [docs, unit]}
";
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    let files = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        names(&layout, "master", Some(&files(&["doc/a.rst"]))),
        ["docs"]
    );
    assert_eq!(
        names(&layout, "master", Some(&files(&["src/a.rs"]))),
        ["unit"]
    );
    let both = files(&["doc/a.rst", "src/a.rs"]);
    assert_eq!(names(&layout, "master", Some(&both)), ["docs", "unit"]);
    assert_eq!(
        names(&layout, "master", None),
        ["docs", "unit"],
        "unknown files run everything"
    );
}

#[test]
fn a_negated_file_regex_matches_everything_else() {
    let text = "- job: {name: code, files: [{regex: '^doc/', negate: true}]}\n- project:\n    post: {jobs: [code]}\n";
    let layout = layout(&[file("demo", ".zuul.yaml", text)]);
    let doc = vec!["doc/x".to_string()];
    assert!(names(&layout, "master", Some(&doc)).is_empty());
}

#[test]
fn untrusted_variants_imply_their_branch_unless_a_pragma_says_otherwise() {
    let job = |extra: &str| {
        format!("{extra}- job: {{name: lint}}\n- project:\n    post: {{jobs: [lint]}}\n")
    };
    let two = |text: &str| {
        layout(&[
            on_branch("demo", "master", text),
            on_branch("demo", "stable", "- job: {name: other}\n"),
        ])
    };
    assert!(names(&two(&job("")), "stable", None).is_empty());
    let off = two(&job("- pragma: {implied-branch-matchers: false}\n"));
    assert_eq!(names(&off, "stable", None), ["lint"]);
    let listed = two(&job("- pragma: {implied-branches: [stable, master]}\n"));
    assert_eq!(names(&listed, "stable", None), ["lint"]);
}

#[test]
fn override_checkout_picks_the_variant_of_another_branch() {
    let jobs = "\
- job: {name: integration, vars: {where: master}}
- job: {name: integration, branches: stable, vars: {where: stable}}
";
    let project =
        "- project:\n    post:\n      jobs:\n        - integration: {override-checkout: stable}\n";
    let layout = layout(&[
        on_branch("other", "master", jobs),
        on_branch("other", "stable", "- job: {name: unused}\n"),
        file("demo", ".zuul.yaml", project),
    ]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let job = &layout.job_graph("post", "demo", "master").unwrap()[0];
    assert_eq!(job.vars["where"], "stable");
    assert_eq!(job.override_checkout.as_deref(), Some("stable"));
}

/// `docs` looks at doc/ only; `lint` at src/ only, and not at config updates.
const SELF_TESTING: &str = "\
- job: {name: docs, files: ['^doc/'], run: playbooks/docs.yaml}
- job: {name: lint, files: ['^src/'], match-on-config-updates: false}
- project:
    post: {jobs: [docs, lint]}
";

#[test]
fn a_change_to_a_jobs_playbook_or_defining_config_runs_it_despite_its_file_matchers() {
    let layout = layout(&[file("demo", "zuul.d/jobs.yaml", SELF_TESTING)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let changed = |path: &str| names(&layout, "master", Some(&[path.to_string()]));

    assert_eq!(changed("playbooks/docs.yaml"), ["docs"]);
    assert_eq!(changed("zuul.d/jobs.yaml"), ["docs"], "lint opted out");
    assert!(changed("README").is_empty());
}
