//! The corpus: configurations under tests/corpus/, each a tenant (main.yaml)
//! and repos as folders (`repos/<project>` is its master branch,
//! `repos/<project>@<branch>` another branch, `/` in it written `%`). Each case's `cases.yaml` lists
//! the problems the layout must report and the items to freeze; the frozen
//! job graph (or its error) must equal `golden/<case>.json`.
//!
//! `PORTCULLIS_BLESS=1 cargo test -p portcullis-config --test corpus` rewrites the goldens.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use portcullis_config::{ConfigFile, Layout, TenantConfig};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    /// Substrings of the layout's errors, in order; none means a clean layout.
    #[serde(default)]
    errors: Vec<String>,
    #[serde(default)]
    freeze: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    pipeline: String,
    project: String,
    #[serde(default = "master")]
    branch: String,
    files: Option<Vec<String>>,
}

fn master() -> String {
    "master".into()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Files of one repo folder, as Zuul picks them: zuul.yaml, zuul.d/, .zuul.yaml, .zuul.d/.
fn repo_files(dir: &Path) -> Vec<(String, String)> {
    for name in ["zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d"] {
        let path = dir.join(name);
        if path.is_file() {
            return vec![(name.to_string(), read(&path))];
        }
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            return entries
                .iter()
                .map(|p| {
                    let file = p.file_name().unwrap().to_string_lossy();
                    (format!("{name}/{file}"), read(p))
                })
                .collect();
        }
    }
    Vec::new()
}

fn layout_of(dir: &Path) -> Layout {
    let tenant = TenantConfig::parse("main.yaml", &read(&dir.join("main.yaml")))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .tenants
        .remove(0);
    let mut folders: Vec<String> = fs::read_dir(dir.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    folders.sort();
    let mut files = Vec::new();
    for project in tenant.projects() {
        for folder in folders
            .iter()
            .filter(|f| f.split('@').next() == Some(&project.name))
        {
            // Branch names may hold `/`, written `%` in folder names.
            let branch = folder
                .split('@')
                .nth(1)
                .unwrap_or("master")
                .replace('%', "/");
            for (path, text) in repo_files(&dir.join("repos").join(folder)) {
                files.push(ConfigFile {
                    connection: project.connection.clone(),
                    project: project.name.clone(),
                    branch: branch.clone(),
                    commit: format!("{}-{branch}", project.name),
                    path,
                    trusted: project.trusted,
                    text: text.into(),
                });
            }
        }
    }
    let drivers: BTreeMap<String, String> = [("local", "git"), ("mail", "smtp")]
        .into_iter()
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect();
    Layout::build(&tenant, &drivers, &files)
}

fn run_case(dir: &Path, bless: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let cases: Cases = serde_yaml::from_str(&read(&dir.join("cases.yaml"))).unwrap();
    let layout = layout_of(dir);
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let errors: Vec<String> = layout.errors.iter().map(|e| e.to_string()).collect();
    let matches = errors.len() == cases.errors.len()
        && errors
            .iter()
            .zip(&cases.errors)
            .all(|(e, want)| e.contains(want.as_str()));
    if !matches {
        failures.push(format!(
            "{name}: errors {errors:#?}, expected {:#?}",
            cases.errors
        ));
    }
    for case in &cases.freeze {
        let files = case.files.as_deref();
        let got =
            match layout.job_graph_for_files(&case.pipeline, &case.project, &case.branch, files) {
                Ok(jobs) => serde_json::to_value(&jobs).unwrap(),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
        let golden = dir.join("golden").join(format!("{}.json", case.name));
        let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
        if bless {
            fs::create_dir_all(golden.parent().unwrap()).unwrap();
            fs::write(&golden, &text).unwrap();
        } else if !golden.exists() || read(&golden) != text {
            failures.push(format!(
                "{name}/{}: frozen graph differs from {}:\n{text}",
                case.name,
                golden.display()
            ));
        }
    }
    failures
}

#[test]
fn every_corpus_configuration_freezes_to_its_golden_graph() {
    let bless = std::env::var_os("PORTCULLIS_BLESS").is_some();
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cases.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 40,
        "the corpus holds {} configurations",
        dirs.len()
    );
    let failures: Vec<String> = dirs.iter().flat_map(|d| run_case(d, bless)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
