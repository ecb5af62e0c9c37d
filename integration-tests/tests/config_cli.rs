//! `portcullis config check` and `portcullis config freeze`, run as the real
//! binary over real git repos.

use std::path::Path;
use std::process::Command;

use portcullis_integration_tests::server::BASE_CONFIG;
use portcullis_integration_tests::Repo;
use serde_json::Value;
use tempfile::TempDir;

/// demo's jobs: `hello` (docs changes alone do not run it) and `after`, which needs it.
const DEMO: &str = "\
- job:
    name: hello
    run: playbooks/hello.yaml
    irrelevant-files: ['^docs/.*$']
    vars: {greeting: hi}
- job:
    name: after
    run: playbooks/after.yaml
    dependencies: [{name: hello, soft: true}]
- project:
    post:
      jobs: [hello, after]
";

/// A server config, a tenant with `config` and `demo`, and their repos holding `demo_yaml`.
fn setup(demo_yaml: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("portcullis.yaml"),
        "state-dir: state\ntenant-config: main.yaml\nconnections:\n  local: {driver: git, baseurl: repos}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("main.yaml"),
        "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n",
    )
    .unwrap();
    Repo::init(&root.join("repos/config")).commit("config", &[("zuul.yaml", BASE_CONFIG)]);
    Repo::init(&root.join("repos/demo")).commit("demo", &[(".zuul.yaml", demo_yaml)]);
    dir
}

/// Runs `portcullis config <args> --config <dir>/portcullis.yaml`: (success, stdout, stderr).
fn portcullis_config(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis-under-test"))
        .arg("config")
        .args(args)
        .arg("--config")
        .arg(dir.join("portcullis.yaml"))
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

const FREEZE: &[&str] = &[
    "freeze",
    "--tenant",
    "t",
    "--pipeline",
    "post",
    "--project",
    "demo",
    "--branch",
    "master",
];

#[test]
fn config_check_exits_zero_when_every_tenant_loads_clean() {
    let dir = setup(DEMO);
    let (ok, stdout, stderr) = portcullis_config(dir.path(), &["check"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("tenant t: 1 pipelines, 3 jobs, 1 projects, 0 errors"),
        "{stdout}"
    );
}

#[test]
fn config_check_lists_every_error_with_file_and_line_and_exits_non_zero() {
    // Given demo's config with an unknown attribute and, further down, an unknown parent
    let broken = "\
- job:
    name: one
    colour: red
- job:
    name: two
    parent: nowhere
";
    let dir = setup(broken);

    // When it is checked
    let (ok, _, stderr) = portcullis_config(dir.path(), &["check"]);

    // Then the exit code says so and both errors name project, branch, file and line
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("demo@master: .zuul.yaml:3: "), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
    assert!(stderr.contains("demo@master: .zuul.yaml:4: "), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(stderr.contains("2 configuration error(s)"), "{stderr}");
}

#[test]
fn config_freeze_prints_the_job_graph_as_text() {
    let dir = setup(DEMO);
    let (ok, stdout, stderr) = portcullis_config(dir.path(), FREEZE);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("hello\n  inheritance: base -> hello\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  run: demo:playbooks/hello.yaml@master\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\"greeting\":\"hi\""), "{stdout}");
    assert!(stdout.contains("after\n"), "{stdout}");
    assert!(
        stdout.contains("  dependencies: hello (soft)\n"),
        "{stdout}"
    );
}

#[test]
fn config_freeze_json_follows_the_file_matchers() {
    let dir = setup(DEMO);
    let json = |files: &[&str]| {
        let mut args = FREEZE.to_vec();
        args.push("--json");
        for file in files {
            args.extend(["--file", file]);
        }
        let (ok, stdout, stderr) = portcullis_config(dir.path(), &args);
        assert!(ok, "{stderr}");
        let jobs: Value = serde_json::from_str(&stdout).unwrap();
        let names: Vec<String> = jobs
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["name"].as_str().unwrap().to_string())
            .collect();
        (jobs, names)
    };
    let (all, names) = json(&[]);
    assert_eq!(names, ["hello", "after"]);
    assert_eq!(all[0]["vars"]["greeting"], "hi");
    assert_eq!(all[1]["dependencies"][0]["soft"], true);
    // A docs-only change skips hello, and the soft dependency on it goes.
    let (docs, names) = json(&["docs/index.rst"]);
    assert_eq!(names, ["after"]);
    assert_eq!(docs[0]["dependencies"], Value::Array(Vec::new()));
}

#[test]
fn config_freeze_of_an_unknown_tenant_fails_naming_it() {
    let dir = setup(DEMO);
    let mut args = FREEZE.to_vec();
    args[2] = "nope";
    let (ok, _, stderr) = portcullis_config(dir.path(), &args);
    assert!(!ok);
    assert!(stderr.contains("no tenant nope"), "{stderr}");
}

#[test]
fn config_check_passes_on_the_quickstart_before_it_was_ever_served() {
    // Given a copy of the quickstart, whose repos `serve` creates on first start
    let dir = tempfile::tempdir().unwrap();
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/quickstart");
    for part in ["portcullis.yaml", "main.yaml", "projects"] {
        let copied = Command::new("cp")
            .arg("-r")
            .arg(quickstart.join(part))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(copied.success());
    }

    // When it is checked
    let (ok, stdout, stderr) = portcullis_config(dir.path(), &["check"]);

    // Then the example repos are made from the seed folders and the tenant loads clean
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("tenant example: "), "{stdout}");
    assert!(stdout.contains(" 0 errors"), "{stdout}");
    assert!(dir.path().join("state/repos/demo").is_dir());
}
