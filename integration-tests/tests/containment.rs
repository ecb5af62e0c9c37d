//! Untrusted jobs that attack the host they run on, through the real server
//! and real ansible-playbook: each attack is refused or finds nothing, the
//! build's log says why and its result is not SUCCESS. A trusted job may
//! still write where the server config lets trusted playbooks write.

use std::path::Path;

use portcullis_integration_tests::server::{SERVER_CANARY, TENANT};
use portcullis_integration_tests::shared::shared_tempdir;
use portcullis_integration_tests::{Scenario, TestServer};
use serde_json::Value;

use crate::console_stream::served_log;
use crate::jobs;

/// One attack: a job of the demo project, the playbook it runs and the text
/// its log must show.
struct Attack {
    job: &'static str,
    playbook: String,
    refusal: &'static str,
}

/// A one-task attack on the job's node.
fn shell_attack(job: &'static str, command: &str, refusal: &'static str) -> Attack {
    Attack {
        job,
        playbook: jobs::playbook(&format!("    - ansible.builtin.shell: {command:?}\n")),
        refusal,
    }
}

/// The attacks of an untrusted job on the server's host, its state and its
/// other builds; `server` is the server under attack.
fn attacks(server: &TestServer) -> Vec<Attack> {
    let state = server.state_dir();
    let state = state.display();
    let pid = server.pid().expect("the server runs");
    let config_repo = server.repo("config");
    let config_repo = config_repo.path().display();
    let no_such = "No such file or directory";
    vec![
        Attack {
            job: "on-localhost",
            playbook: "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
                       \x20   - ansible.builtin.shell: id\n"
                .into(),
            refusal: "Executing local code is prohibited",
        },
        Attack {
            job: "delegated",
            playbook: jobs::playbook(
                "    - ansible.builtin.shell: id\n      delegate_to: localhost\n",
            ),
            refusal: "Executing local code is prohibited",
        },
        shell_attack("shadow", "cat /etc/shadow", "Permission denied"),
        shell_attack(
            "database",
            &format!("cat {state}/portcullis.db > /dev/null"),
            no_such,
        ),
        shell_attack(
            "keys",
            &format!("cat {state}/keys/secrets/project/local/demo/0.pem"),
            no_such,
        ),
        // Its own build dir is there (its work dir is in it); no other build's is.
        shell_attack(
            "other-builds",
            &format!("ls {state}/builds | grep -vx '{{{{ zuul.build }}}}'"),
            "\"rc\": 1",
        ),
        shell_attack(
            "config-write",
            &format!("touch {config_repo}/zuul.yaml"),
            no_such,
        ),
        shell_attack("server-proc", &format!("cat /proc/{pid}/environ"), no_such),
        shell_attack(
            "server-kill",
            &format!("kill -9 {pid}"),
            "Operation not permitted",
        ),
        shell_attack(
            "server-env",
            &format!("printenv {} || (echo unset; exit 1)", SERVER_CANARY.0),
            "unset",
        ),
        shell_attack(
            "system-write",
            "touch /usr/bin/evil",
            "Read-only file system",
        ),
        Attack {
            job: "symlinked-file",
            playbook: jobs::playbook(
                "    - ansible.builtin.debug: {msg: \"{{ lookup('file', 'files/shadow') }}\"}\n",
            ),
            refusal: "Permission denied",
        },
    ]
}

/// The `.zuul.yaml` running every attack in `post`, plus `extra_jobs`.
fn attack_config(attacks: &[Attack], extra_jobs: &[&str]) -> String {
    let names: Vec<&str> = attacks
        .iter()
        .map(|a| a.job)
        .chain(extra_jobs.iter().copied())
        .collect();
    let mut config = String::new();
    for name in &names {
        config.push_str(&format!(
            "- job: {{name: {name}, run: playbooks/{name}/run.yaml}}\n"
        ));
    }
    config.push_str(&format!(
        "- project:\n    post:\n      jobs: [{}]\n",
        names.join(", ")
    ));
    config
}

/// Ansible code folders an untrusted repo might bring, each with code that
/// would leave a mark in `marks` when Ansible loaded it.
fn plugin_dirs(marks: &Path) -> Vec<(&'static str, String)> {
    [
        "library",
        "action_plugins",
        "lookup_plugins",
        "filter_plugins",
    ]
    .into_iter()
    .map(|dir| {
        let code = format!(
            "open({:?}, 'w').write('loaded')\n\
                 class FilterModule:\n    def filters(self):\n        return {{}}\n",
            marks.join(dir).display().to_string()
        );
        (dir, code)
    })
    .collect()
}

/// Waits for the build of `job` at `newrev` and answers it with its log.
async fn build_and_log(server: &TestServer, job: &str, newrev: &str) -> (Value, String) {
    let build = server.finished_build(job, newrev).await;
    let uuid = build["uuid"].as_str().expect("a uuid").to_string();
    (build, served_log(server, &uuid).await)
}

#[tokio::test]
async fn every_attack_of_an_untrusted_job_on_its_host_is_refused_and_reported() {
    // Given a server with the demo project's secrets key, and the project's jobs: each attacks the host,
    // four bring Ansible plugins, and one link points at /etc/shadow
    let server = TestServer::start(Scenario::default()).await;
    let key = format!("{}/api/tenant/{TENANT}/key/demo.pub", server.base_url);
    assert_eq!(
        server.get_text(&key).await.0,
        200,
        "the project's key exists"
    );
    let attacks = attacks(&server);
    let marks = shared_tempdir();
    let plugins = plugin_dirs(marks.path());
    let plugin_jobs: Vec<String> = plugins
        .iter()
        .map(|(dir, _)| format!("with-{dir}"))
        .collect();
    let plugin_names: Vec<&str> = plugin_jobs.iter().map(String::as_str).collect();
    let mut files: Vec<(String, String)> = attacks
        .iter()
        .map(|a| (format!("playbooks/{}/run.yaml", a.job), a.playbook.clone()))
        .collect();
    for ((dir, code), job) in plugins.iter().zip(&plugin_jobs) {
        let uses = jobs::playbook("    - ansible.builtin.debug: {msg: \"{{ 'x' | evil }}\"}\n");
        files.push((format!("playbooks/{job}/run.yaml"), uses));
        files.push((format!("playbooks/{job}/{dir}/evil.py"), code.clone()));
    }
    files.push((".zuul.yaml".into(), attack_config(&attacks, &plugin_names)));
    let link = server
        .demo
        .path()
        .join("playbooks/symlinked-file/files/shadow");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", &link).unwrap();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();

    // When the project pushes them
    let newrev = server.demo.commit("Attack the executor", &files);

    // Then each attack fails, its log saying why, and nothing leaks
    for attack in &attacks {
        let (build, log) = build_and_log(&server, attack.job, &newrev).await;
        assert_eq!(build["result"], "FAILURE", "{}: {log}", attack.job);
        assert!(log.contains(attack.refusal), "{}: {log}", attack.job);
        assert!(!log.contains(SERVER_CANARY.1), "{}: {log}", attack.job);
    }
    // And a build bringing plugins is refused before Ansible loads them
    for job in &plugin_jobs {
        let (build, log) = build_and_log(&server, job, &newrev).await;
        assert_eq!(build["result"], "ERROR", "{job}: {log}");
        let refusal = "untrusted projects may not load plugins or modules";
        assert!(log.contains(refusal), "{job}: {log}");
        assert!(
            build["error_detail"]
                .as_str()
                .unwrap_or("")
                .contains(refusal),
            "{build}"
        );
    }
    let loaded: Vec<_> = std::fs::read_dir(marks.path()).unwrap().flatten().collect();
    assert!(loaded.is_empty(), "plugins ran: {loaded:?}");
    // And what was attacked is there and untouched
    assert!(server.state_dir().join("portcullis.db").is_file());
    assert!(server
        .state_dir()
        .join("keys/secrets/project/local/demo/0.pem")
        .is_file());
    let (code, _) = server.get(&format!("/api/tenant/{TENANT}/status")).await;
    assert_eq!(code, 200, "the server still answers");
    assert_eq!(server.repo("config").git(&["status", "--porcelain"]), "");
}

#[tokio::test]
async fn links_a_job_leaves_in_its_logs_to_the_hosts_files_are_not_served() {
    // Given a job that links its log dir to the host's secrets and database
    let server = TestServer::start(Scenario::default()).await;
    let db = server.state_dir().join("portcullis.db");
    let task = format!(
        "    - ansible.builtin.shell: \"ln -s /etc/shadow {{{{ zuul.executor.log_root }}}}/shadow \
         && ln -s {} {{{{ zuul.executor.log_root }}}}/db\"\n",
        db.display()
    );
    let newrev = server.demo.commit(
        "Link the logs",
        &[
            (".zuul.yaml", &jobs::one_job("linker", "")),
            ("playbooks/linker.yaml", &jobs::playbook(&task)),
        ],
    );
    let (build, log) = build_and_log(&server, "linker", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{log}");

    // When a reader asks for the links
    // Then the server does not follow them
    let uuid = build["uuid"].as_str().unwrap();
    for name in ["shadow", "db"] {
        let url = format!("{}/logs/{uuid}/{name}", server.base_url);
        let (code, body) = server.get_text(&url).await;
        assert_eq!(code, 404, "{name}: {body}");
    }
}

#[tokio::test]
async fn a_job_may_not_use_another_projects_secret() {
    // Given a project `other` with a secret
    let server = TestServer::start(Scenario {
        extra_projects: vec!["other".into()],
        ..Scenario::default()
    })
    .await;
    let secret = "- secret:\n    name: others-token\n    data: {token: hunter2}\n";
    server
        .repo("other")
        .commit("Add a secret", &[(".zuul.yaml", secret)]);

    // When the demo project's job asks for it
    let config = jobs::one_job("steal", "    secrets: [others-token]\n");
    let newrev = server.demo.commit(
        "Use the other project's secret",
        &[
            (".zuul.yaml", &config),
            ("playbooks/steal.yaml", &jobs::greeting()),
        ],
    );

    // Then the config error names the secret's project and the job never runs
    let message = "secret others-token is defined in project other";
    let errors = portcullis_integration_tests::wait::until(
        "the config error",
        std::time::Duration::from_secs(120),
        || async {
            let (_, errors) = server
                .get(&format!("/api/tenant/{TENANT}/config-errors"))
                .await;
            errors.to_string().contains(message).then_some(errors)
        },
    )
    .await;
    assert!(errors.to_string().contains("steal"), "{errors}");
    let path = format!("/api/tenant/{TENANT}/builds?job_name=steal&newrev={newrev}");
    let (_, builds) = server.get(&path).await;
    assert_eq!(builds, serde_json::json!([]));
}

#[tokio::test]
async fn a_trusted_post_job_pushes_to_a_trusted_path_and_an_untrusted_one_cannot() {
    // Given a bare repo that only trusted playbooks may write
    let artifacts = tempfile::tempdir().unwrap();
    let bare = artifacts.path().join("published.git");
    let init = std::process::Command::new("git")
        .args(["init", "--bare", "-q"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(init.success());
    let open = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(artifacts.path())
        .status()
        .unwrap();
    assert!(open.success());
    // and a config-project job that publishes the tested tree there
    let publish = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - ansible.builtin.shell: \"git config --global safe.directory '*' && git push {} HEAD:refs/heads/published\"\n\
         \x20     args: {{chdir: \"{{{{ zuul.executor.work_root }}}}/{{{{ zuul.project.src_dir }}}}\"}}\n",
        bare.display()
    );
    let config = format!(
        "{}- job: {{name: publish, post-run: playbooks/publish.yaml}}\n",
        portcullis_integration_tests::server::BASE_CONFIG
    );
    let scenario = Scenario {
        config_yaml: config,
        trusted_rw: vec![artifacts.path().to_path_buf()],
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    server.config.commit(
        "Add the publish playbook",
        &[("playbooks/publish.yaml", &publish)],
    );

    // When the demo project runs it, and an untrusted job of its own pushing there too
    let sneak = jobs::playbook(&format!(
        "    - ansible.builtin.shell: \"git config --global safe.directory '*' && git push {} HEAD:refs/heads/sneaked\"\n\
         \x20     args: {{chdir: \"{{{{ zuul.executor.work_root }}}}/{{{{ zuul.project.src_dir }}}}\"}}\n",
        bare.display()
    ));
    let zuul = "- job: {name: sneak, run: playbooks/sneak.yaml}\n\
                - job: {name: release, parent: publish, run: playbooks/noop.yaml}\n\
                - project:\n    post:\n      jobs: [release, sneak]\n";
    let newrev = server.demo.commit(
        "Publish",
        &[
            (".zuul.yaml", zuul),
            ("playbooks/sneak.yaml", &sneak),
            (
                "playbooks/noop.yaml",
                &jobs::playbook("    - ansible.builtin.debug: {msg: ok}\n"),
            ),
        ],
    );

    // Then the trusted push landed and the untrusted one did not
    let (release, log) = build_and_log(&server, "release", &newrev).await;
    assert_eq!(release["result"], "SUCCESS", "{log}");
    let published = git_in(&bare, &["rev-parse", "refs/heads/published"]);
    assert_eq!(published.trim(), newrev);
    let (sneak, log) = build_and_log(&server, "sneak", &newrev).await;
    assert_eq!(sneak["result"], "FAILURE", "{log}");
    assert!(
        log.contains("does not appear to be a git repository"),
        "{log}"
    );
    let refs = git_in(&bare, &["for-each-ref", "--format=%(refname)"]);
    assert_eq!(refs.trim(), "refs/heads/published");
}

fn git_in(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_job_with_a_secret_does_not_run_in_a_pre_review_pipeline() {
    // Given the base config's pipeline, which is not post-review
    let server = TestServer::start(Scenario::default()).await;

    // When a change to demo adds a job that uses demo's own secret to it
    let secret = "- secret:\n    name: demo-token\n    data: {token: hunter2}\n";
    let config = format!(
        "{secret}{}",
        jobs::one_job("leak", "    secrets: [{name: token, secret: demo-token}]\n")
    );
    let leak = jobs::playbook("    - ansible.builtin.debug: {msg: \"{{ token.token }}\"}\n");
    let newrev = server.demo.commit(
        "Run a job with a secret before review",
        &[(".zuul.yaml", &config), ("playbooks/leak.yaml", &leak)],
    );

    // Then the item reports a config error naming the rule, and the job never ran
    let path = format!("/api/tenant/{TENANT}/buildsets?newrev={newrev}&complete=true");
    let sets = portcullis_integration_tests::wait::until(
        "the config error",
        std::time::Duration::from_secs(120),
        || async {
            let (_, sets) = server.try_get(&path).await?;
            sets.as_array()?.first().cloned()
        },
    )
    .await;
    assert_eq!(sets["result"], "CONFIG_ERROR", "{sets:#}");
    let message = sets["message"].as_str().unwrap_or_default();
    assert!(message.contains("post-review job leak"), "{message}");
    let path = format!("/api/tenant/{TENANT}/builds?job_name=leak&newrev={newrev}");
    let (_, builds) = server.get(&path).await;
    assert!(
        builds
            .as_array()
            .is_none_or(|b| b.iter().all(|b| b["result"] != "SUCCESS")),
        "{builds:#}"
    );
}
