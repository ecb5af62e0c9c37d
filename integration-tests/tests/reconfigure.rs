//! Reconfiguration through the real server: pushes to config files change what
//! the API shows without stopping running builds; a broken config project keeps
//! the old layout and says why; a broken untrusted project is listed in
//! config-errors while everything else runs. Also the config views' answers:
//! freeze endpoints, public keys, and 404s for what the tenant lacks.

use std::time::Duration;

use portcullis_integration_tests::server::{BASE_CONFIG, TENANT};
use portcullis_integration_tests::{wait, Scenario, TestServer};
use serde_json::Value;

use crate::jobs;

/// How long a reload may take to show.
const RELOAD: Duration = Duration::from_secs(60);

/// Waits until `/api/tenant/example/{what}` answers 200 with a body `check` accepts.
async fn until_api(server: &TestServer, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/tenant/{TENANT}/{what}");
    wait::until(&format!("{what} to change"), RELOAD, || async {
        let (code, body) = server.try_get(&path).await?;
        (code == 200 && check(&body)).then_some(body)
    })
    .await
}

fn job_names(jobs: &Value) -> Vec<String> {
    let list = jobs.as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|j| j["name"].as_str().map(str::to_string))
        .collect()
}

fn has_job(jobs: &Value, name: &str) -> bool {
    job_names(jobs).iter().any(|n| n == name)
}

#[tokio::test]
async fn a_config_project_push_changes_the_jobs_api_without_stopping_a_running_build() {
    // Given a build of demo's job that waits for a file
    let server = TestServer::start(Scenario::default()).await;
    let release = server.shared_file("release");
    let newrev = server.demo.commit(
        "Add a held job",
        &[
            (".zuul.yaml", &jobs::one_job("held", "")),
            ("playbooks/held.yaml", &jobs::held_until(&release)),
        ],
    );
    let uuid = server.running_build("held", &newrev).await;

    // When the config project gets a new job and a new base description
    let changed = BASE_CONFIG.replace("The base job every job", "Version two of the base job")
        + "- job:\n    name: lint\n    description: Added by a config push.\n";
    server.config.commit("Add lint", &[("zuul.yaml", &changed)]);

    // Then the jobs API shows the new layout
    let jobs = until_api(&server, "jobs", |j| has_job(j, "lint")).await;
    let base = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "base")
        .unwrap();
    assert_eq!(
        base["description"],
        "Version two of the base job inherits from."
    );
    let (code, lint) = server.get(&format!("/api/tenant/{TENANT}/job/lint")).await;
    assert_eq!(code, 200, "{lint}");
    assert_eq!(lint[0]["source_context"]["project"], "config");

    // And the running build was not stopped: released, it succeeds
    std::fs::write(&release, "go").unwrap();
    let build = server.finished_build("held", &newrev).await;
    assert_eq!(build["uuid"], uuid.as_str());
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
}

#[tokio::test]
async fn a_broken_config_project_push_keeps_the_old_layout_and_reports_the_error() {
    // Given a layout with demo's job
    let server = TestServer::start(Scenario::default()).await;
    server.demo.commit(
        "Add hello",
        &[
            (".zuul.yaml", &jobs::one_job("hello", "")),
            ("playbooks/hello.yaml", &jobs::greeting()),
        ],
    );
    until_api(&server, "jobs", |j| has_job(j, "hello")).await;

    // When the config project gets a job with an unknown attribute
    let broken = format!("{BASE_CONFIG}- job:\n    name: broken\n    colour: red\n");
    server
        .config
        .commit("Break the config", &[("zuul.yaml", &broken)]);

    // Then config-errors names the config project's file and line
    let errors = until_api(&server, "config-errors", |e| {
        e.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    let error = &errors[0];
    assert_eq!(error["source_context"]["project"], "config", "{errors:#}");
    assert_eq!(error["source_context"]["path"], "zuul.yaml");
    assert_eq!(error["severity"], "error");
    let short = error["short_error"].as_str().unwrap();
    assert!(short.contains("colour"), "{short}");
    let full = error["error"].as_str().unwrap();
    assert!(full.contains("config@master: zuul.yaml:1"), "{full}");
    assert!(full.contains("colour: red"), "{full}");

    // And the old layout stays: hello is still there, broken is not
    let (_, jobs) = server.get(&format!("/api/tenant/{TENANT}/jobs")).await;
    assert!(
        has_job(&jobs, "hello") && !has_job(&jobs, "broken"),
        "{jobs}"
    );

    // And fixing the config clears the error and loads the new layout
    let fixed = format!("{BASE_CONFIG}- job:\n    name: fixed\n");
    server
        .config
        .commit("Fix the config", &[("zuul.yaml", &fixed)]);
    until_api(&server, "jobs", |j| has_job(j, "fixed")).await;
    let (_, errors) = server
        .get(&format!("/api/tenant/{TENANT}/config-errors"))
        .await;
    assert_eq!(errors, Value::Array(Vec::new()));
}

#[tokio::test]
async fn a_broken_untrusted_project_is_listed_in_config_errors_while_the_rest_keeps_working() {
    // Given a second untrusted project whose config has an unknown parent
    let scenario = Scenario {
        extra_projects: vec!["other".into()],
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    let other = server.repo("other");
    other.commit(
        "Add a broken job",
        &[(
            ".zuul.yaml",
            "- job:\n    name: orphan\n    parent: nowhere\n",
        )],
    );

    // Then the error is listed with its project, file and line
    let errors = until_api(&server, "config-errors?project=other", |e| {
        e.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(
        errors[0]["source_context"]["path"], ".zuul.yaml",
        "{errors:#}"
    );
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains(".zuul.yaml:1"),
        "{errors:#}"
    );
    assert!(
        errors[0]["short_error"]
            .as_str()
            .unwrap()
            .contains("nowhere"),
        "{errors:#}"
    );

    // And demo's jobs still load and run
    let newrev = server.demo.commit(
        "Add hello",
        &[
            (".zuul.yaml", &jobs::one_job("hello", "")),
            ("playbooks/hello.yaml", &jobs::greeting()),
        ],
    );
    let build = server.finished_build("hello", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
}

#[tokio::test]
async fn freeze_endpoints_answer_the_graph_and_404_for_what_the_tenant_lacks() {
    let server = TestServer::start(Scenario::default()).await;
    let two_jobs = "- job:\n    name: build\n    run: playbooks/build.yaml\n    vars: {flavour: plain}\n\
                    - job:\n    name: upload\n    run: playbooks/upload.yaml\n    dependencies: [build]\n\
                    - project:\n    post:\n      jobs: [build, upload]\n";
    server
        .demo
        .commit("Add two jobs", &[(".zuul.yaml", two_jobs)]);
    let branch = format!("/api/tenant/{TENANT}/pipeline/post/project/demo/branch/master");

    // freeze-jobs: names and dependencies
    let graph = wait::until("the two jobs to freeze", RELOAD, || async {
        let (code, body) = server.try_get(&format!("{branch}/freeze-jobs")).await?;
        (code == 200 && job_names(&body).len() == 2).then_some(body)
    })
    .await;
    assert_eq!(
        graph[0],
        serde_json::json!({"name": "build", "dependencies": []})
    );
    assert_eq!(
        graph[1],
        serde_json::json!({"name": "upload", "dependencies": [{"name": "build", "soft": false}]})
    );

    // freeze-job: the job as the executor gets it
    let (code, job) = server.get(&format!("{branch}/freeze-job/build")).await;
    assert_eq!(code, 200, "{job}");
    assert_eq!(job["job"], "build");
    assert_eq!(job["vars"]["flavour"], "plain");
    assert_eq!(job["playbooks"][0]["path"], "playbooks/build.yaml");
    assert_eq!(job["playbooks"][0]["project"], "demo");

    // Unknown things: 404 with Zuul's JSON error
    let post = "pipeline/post/project/demo/branch/master";
    for (path, kind) in [
        (
            format!("/api/tenant/nope/{post}/freeze-jobs"),
            "UnknownTenant",
        ),
        (
            format!("/api/tenant/{TENANT}/pipeline/gate/project/demo/branch/master/freeze-jobs"),
            "UnknownPipeline",
        ),
        (
            format!("/api/tenant/{TENANT}/pipeline/post/project/ghost/branch/master/freeze-jobs"),
            "UnknownProject",
        ),
        (format!("{branch}/freeze-job/ghost"), "UnknownJob"),
        (format!("/api/tenant/{TENANT}/job/ghost"), "UnknownJob"),
        (
            format!("/api/tenant/{TENANT}/key/ghost.pub"),
            "UnknownProject",
        ),
        (
            "/api/tenant/nope/config-errors".to_string(),
            "UnknownTenant",
        ),
    ] {
        let (code, body) = server.get(&path).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (404, Some(kind)),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_projects_public_key_is_served_as_pem_and_stays_the_same() {
    let server = TestServer::start(Scenario::default()).await;
    let path = format!("{}/api/tenant/{TENANT}/key/demo.pub", server.base_url);
    let (code, first) = server.get_text(&path).await;
    assert_eq!(code, 200, "{first}");
    assert!(first.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{first}");
    let (_, again) = server.get_text(&path).await;
    assert_eq!(first, again);
    let stored = server
        .state_dir()
        .join("keys/secrets/project/local/demo/0.pem");
    assert!(stored.is_file(), "{}", stored.display());
}

#[tokio::test]
async fn a_secret_encrypted_with_the_served_key_reaches_its_jobs_playbook_as_a_variable() {
    // Given a post-review pipeline (jobs with secrets run only there)
    let scenario = Scenario {
        config_yaml: BASE_CONFIG.replace(
            "manager: independent",
            "manager: independent\n    post-review: true",
        ),
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;

    // And a secret encrypted, as a user would, with demo's served public key
    let url = format!("{}/api/tenant/{TENANT}/key/demo.pub", server.base_url);
    let (_, pem) = server.get_text(&url).await;
    let public = portcullis_config::encryption::public_key_from_pem(&pem).unwrap();
    let chunks = portcullis_config::encryption::encrypt(&public, "hunter2").unwrap();
    let config = format!(
        "- secret:\n    name: site\n    data:\n      password: !encrypted/pkcs1-oaep\n        - {}\n{}",
        chunks[0],
        jobs::one_job("publish", "    secrets: [{name: creds, secret: site}]\n"),
    );
    let playbook = jobs::playbook(
        "    - ansible.builtin.debug: {msg: \"the password is {{ creds.password }}\"}\n",
    );

    // When demo's job that uses it runs
    let newrev = server.demo.commit(
        "Add a job with a secret",
        &[
            (".zuul.yaml", &config),
            ("playbooks/publish.yaml", &playbook),
        ],
    );

    // Then its playbook saw the decrypted value
    let build = server.finished_build("publish", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    let log_url = build["log_url"].as_str().expect("a log url");
    let (_, log) = server.get_text(&format!("{log_url}job-output.txt")).await;
    assert!(log.contains("the password is hunter2"), "{log}");
}
