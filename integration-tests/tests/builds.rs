//! A push runs its job with real Ansible, and the result lands in the API.

use portcullis_integration_tests::{Scenario, TestServer};

use crate::jobs;

#[tokio::test]
async fn a_pushed_commit_runs_its_job_and_the_build_is_listed_with_its_log() {
    let server = TestServer::start(Scenario::default()).await;

    let newrev = server.demo.commit(
        "Add a greeting job",
        &[
            (".zuul.yaml", &jobs::one_job("hello", "")),
            ("playbooks/hello.yaml", &jobs::greeting()),
        ],
    );

    let build = server.finished_build("hello", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    assert_eq!(build["ref"]["project"], "demo");
    assert_eq!(build["ref"]["branch"], "master");
    let log_url = build["log_url"].as_str().expect("a log url");
    let (code, log) = server.get_text(&format!("{log_url}job-output.txt")).await;
    assert_eq!(code, 200);
    assert!(
        log.contains(&format!("hello from demo at {newrev}")),
        "{log}"
    );
}

#[tokio::test]
async fn a_failing_playbook_gives_failure() {
    let server = TestServer::start(Scenario::default()).await;

    let failing = jobs::playbook("    - ansible.builtin.fail: {msg: this change is broken}\n");
    let newrev = server.demo.commit(
        "Add a failing job",
        &[
            (".zuul.yaml", &jobs::one_job("broken", "")),
            ("playbooks/broken.yaml", &failing),
        ],
    );

    let build = server.finished_build("broken", &newrev).await;
    assert_eq!(build["result"], "FAILURE", "{build:#}");
}

#[tokio::test]
async fn a_job_over_its_timeout_is_timed_out_and_leaves_no_process_behind() {
    let server = TestServer::start(Scenario::default()).await;

    let sleeper = jobs::playbook("    - ansible.builtin.shell: sleep 600\n");
    let newrev = server.demo.commit(
        "Add a job that never ends",
        &[
            (".zuul.yaml", &jobs::one_job("sleeper", "    timeout: 5\n")),
            ("playbooks/sleeper.yaml", &sleeper),
        ],
    );

    let build = server.finished_build("sleeper", &newrev).await;
    assert_eq!(build["result"], "TIMED_OUT", "{build:#}");
    let uuid = build["uuid"].as_str().unwrap();
    assert_eq!(processes_of_build(uuid), Vec::<u32>::new());
}

/// Pids of live processes whose environment names the build.
fn processes_of_build(uuid: &str) -> Vec<u32> {
    let marker = format!("PORTCULLIS_BUILD_UUID={uuid}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}
