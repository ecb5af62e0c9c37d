//! Layout build and freezing for a large generated tenant: 300 projects,
//! 1,000 jobs in inheritance chains with branch variants and file matchers,
//! each project running 12 jobs. Prints the figures; `cargo bench -p
//! portcullis-config --bench freeze` (or with `-- --quick` for one round).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use portcullis_config::{ConfigFile, Layout, TenantConfig};

const PROJECTS: usize = 300;
const JOBS: usize = 1000;
const JOBS_PER_PROJECT: usize = 12;

fn config_project() -> String {
    let mut text = String::from(
        "- pipeline:\n    name: check\n    manager: independent\n    trigger:\n      local:\n        - event: ref-updated\n\
         - nodeset: {name: single, nodes: [{name: node, label: ubuntu}]}\n\
         - job:\n    name: base\n    parent: null\n    pre-run: pre.yaml\n    post-run: post.yaml\n    nodeset: single\n    vars: {site: {region: east}}\n",
    );
    // Jobs in chains of five; every tenth has a stable variant, every seventh a file matcher.
    for i in 0..JOBS {
        let parent = if i % 5 == 0 {
            "base".to_string()
        } else {
            format!("job-{}", i - 1)
        };
        write!(text, "- job:\n    name: job-{i}\n    parent: {parent}\n    run: run-{i}.yaml\n    vars: {{level{}: {i}}}\n", i % 5).ok();
        if i % 7 == 0 {
            text.push_str("    irrelevant-files: ['^doc/.*']\n");
        }
        if i % 10 == 0 {
            write!(
                text,
                "- job:\n    name: job-{i}\n    branches: ^stable/.*\n    timeout: 60\n"
            )
            .ok();
        }
    }
    for p in 0..PROJECTS {
        write!(text, "- project:\n    name: project-{p}\n    vars: {{project: {p}}}\n    check:\n      jobs:\n").ok();
        for k in 0..JOBS_PER_PROJECT {
            writeln!(text, "        - job-{}", (p * 7 + k * 13) % JOBS).ok();
        }
    }
    text
}

fn tenant_text() -> String {
    let mut text = String::from("- tenant:\n    name: big\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects:\n");
    for p in 0..PROJECTS {
        writeln!(text, "          - project-{p}").ok();
    }
    text
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let start = Instant::now();
    let mut last = f();
    let mut best = start.elapsed();
    for _ in 1..rounds {
        let start = Instant::now();
        last = f();
        best = best.min(start.elapsed());
    }
    (best, last)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = if std::env::args().any(|a| a == "--quick") {
        1
    } else {
        5
    };
    let tenant = TenantConfig::parse("main.yaml", &tenant_text())?
        .tenants
        .remove(0);
    let text = config_project();
    let files = [ConfigFile {
        connection: "local".into(),
        project: "config".into(),
        branch: "master".into(),
        commit: "c0ffee".into(),
        path: "zuul.yaml".into(),
        trusted: true,
        text: text.into(),
    }];
    let drivers = BTreeMap::from([("local".to_string(), "git".to_string())]);
    let (build, layout) = time(rounds, || Layout::build(&tenant, &drivers, &files));
    assert!(
        layout.errors.is_empty(),
        "{:?}",
        &layout.errors[..layout.errors.len().min(3)]
    );
    let changed = vec!["src/main.rs".to_string()];
    let (freeze, jobs) = time(rounds, || {
        let mut jobs = 0;
        for p in 0..PROJECTS {
            let project = format!("project-{p}");
            jobs += layout
                .job_graph_for_files("check", &project, "master", Some(&changed))?
                .len();
        }
        Ok::<_, portcullis_config::ConfigError>(jobs)
    });
    let jobs = jobs?;
    println!(
        "config: {} KiB, {JOBS} jobs, {PROJECTS} projects",
        files[0].text.len() / 1024
    );
    println!(
        "layout build: {:.1} ms (best of {rounds})",
        build.as_secs_f64() * 1e3
    );
    println!(
        "freeze all {PROJECTS} projects: {:.1} ms, {jobs} frozen jobs, {:.1} µs per project (best of {rounds})",
        freeze.as_secs_f64() * 1e3,
        freeze.as_secs_f64() * 1e6 / PROJECTS as f64
    );
    Ok(())
}
