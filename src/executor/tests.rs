//! Builds run through the real executor with a real ansible-playbook over
//! real git repos. Every scenario has a global timeout; none waits by sleeping.

mod support;

use std::future::Future;
use std::time::Duration;

use portcullis_actors::{BuildResult, Executor, LogHub};
use portcullis_config::nodeset::{Node, Nodeset};
use portcullis_config::server::AnsiblePlaybook;
use serde_json::json;

use support::{job, live_log, playbooks, processes_of_build, request, Fixture, PASS, WEB_ROOT};

/// Fails the test instead of hanging it.
async fn within_a_minute<T>(scenario: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), scenario)
        .await
        .expect("scenario took over two minutes")
}

#[tokio::test]
async fn a_passing_playbook_succeeds_and_its_output_shows_the_zuul_vars() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let hub = LogHub::new();
        let req = request(
            &fixture,
            "pass-1",
            job(vec![fixture.playbook("playbooks/pass.yaml")]),
        );

        let outcome = executor.run(req, live_log(&hub, "pass-1")).await;

        assert_eq!(outcome.result, BuildResult::Success, "{outcome:?}");
        assert_eq!(
            outcome.log_url.as_deref(),
            Some(&*format!("{WEB_ROOT}logs/pass-1/"))
        );
        let output = fixture.job_output("pass-1");
        assert!(
            output.contains("project is org/widget in check"),
            "{output}"
        );
        assert!(
            output.contains("RUN START: [untrusted : local/org/widget/playbooks/pass.yaml@main]")
        );
        let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \| ").unwrap();
        assert!(output.lines().all(|l| stamp.is_match(l)), "{output}");
        assert!(
            !fixture.state_dir().join("builds/pass-1").exists(),
            "work dir left behind"
        );
    })
    .await;
}

#[tokio::test]
async fn a_failing_run_playbook_fails_the_build() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let req = request(
            &fixture,
            "fail-1",
            job(vec![fixture.playbook("playbooks/fail.yaml")]),
        );

        let outcome = executor.run(req, live_log(&LogHub::new(), "fail-1")).await;

        assert_eq!(outcome.result, BuildResult::Failure, "{outcome:?}");
        assert!(fixture
            .job_output("fail-1")
            .contains("deliberately failing"));
    })
    .await;
}

#[tokio::test]
async fn a_failing_pre_run_fails_the_build_without_running_the_run_playbooks() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let mut job = job(vec![fixture.playbook("playbooks/pass.yaml")]);
        job.pre_run = vec![fixture.playbook("playbooks/fail.yaml")];
        job.post_run = vec![fixture.playbook("playbooks/post.yaml")];

        let outcome = executor
            .run(
                request(&fixture, "pre-1", job),
                live_log(&LogHub::new(), "pre-1"),
            )
            .await;

        assert_eq!(outcome.result, BuildResult::Failure, "{outcome:?}");
        let output = fixture.job_output("pre-1");
        assert!(!output.contains("project is org/widget"), "{output}");
        assert!(
            output.contains("run succeeded: False"),
            "post-run still runs: {output}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_failing_post_run_after_a_good_run_is_a_post_failure() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let mut job = job(vec![fixture.playbook("playbooks/pass.yaml")]);
        job.post_run = vec![
            fixture.playbook("playbooks/post.yaml"),
            fixture.playbook("playbooks/fail.yaml"),
        ];

        let outcome = executor
            .run(
                request(&fixture, "post-1", job),
                live_log(&LogHub::new(), "post-1"),
            )
            .await;

        assert_eq!(outcome.result, BuildResult::PostFailure, "{outcome:?}");
        assert!(fixture.job_output("post-1").contains("run succeeded: True"));
    })
    .await;
}

#[tokio::test]
async fn a_run_over_its_timeout_is_killed_with_every_process_it_started() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let mut job = job(vec![fixture.playbook("playbooks/sleep.yaml")]);
        job.timeout = Some(2);
        job.post_run = vec![fixture.playbook("playbooks/post.yaml")];

        let outcome = executor
            .run(
                request(&fixture, "slow-1", job),
                live_log(&LogHub::new(), "slow-1"),
            )
            .await;

        assert_eq!(outcome.result, BuildResult::TimedOut, "{outcome:?}");
        let output = fixture.job_output("slow-1");
        assert!(output.contains("RUN END RESULT_TIMED_OUT"), "{output}");
        assert!(
            output.contains("run succeeded: False"),
            "post-run runs after a timeout"
        );
        assert_eq!(processes_of_build("slow-1"), Vec::<u32>::new());
    })
    .await;
}

#[tokio::test]
async fn dropping_a_running_build_kills_every_process_it_started() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let fifo = fixture.shared_dir().join("started");
        support::make_fifo(&fifo);
        let mut job = job(vec![fixture.playbook("playbooks/signal.yaml")]);
        job.vars.insert("fifo".into(), json!(fifo));
        let req = request(&fixture, "drop-1", job);
        let mut build = executor.run(req, live_log(&LogHub::new(), "drop-1"));

        // Drive the build until the task's shell, deepest in the tree, writes
        // to the fifo: from then on `sleep 600` is running.
        let started = tokio::task::spawn_blocking(move || std::fs::read_to_string(fifo));
        tokio::select! {
            text = started => assert_eq!(text.unwrap().unwrap().trim(), "started"),
            outcome = &mut build => panic!("build ended early: {outcome:?}"),
        }
        assert!(
            !processes_of_build("drop-1").is_empty(),
            "ansible should be running"
        );
        drop(build);

        assert_eq!(processes_of_build("drop-1"), Vec::<u32>::new());
        assert!(!fixture.state_dir().join("builds/drop-1").exists());
    })
    .await;
}

#[tokio::test]
async fn log_subscribers_receive_lines_while_the_build_still_runs() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor().await;
        let hub = LogHub::new();
        let log = live_log(&hub, "live-1");
        let mut sub = hub.subscribe("live-1").unwrap();
        let release = fixture.shared_dir().join("release");
        let mut job = job(vec![fixture.playbook("playbooks/wait.yaml")]);
        job.vars.insert("release_file".into(), json!(release));
        let build = tokio::spawn(executor.run(request(&fixture, "live-1", job), log));

        // The playbook cannot end before the file exists, so a line seen
        // before we create it was streamed live.
        while !sub
            .live
            .recv()
            .await
            .unwrap()
            .contains("TASK [wait for the test]")
        {}
        assert!(!build.is_finished());
        std::fs::write(&release, "go").unwrap();

        assert_eq!(build.await.unwrap().result, BuildResult::Success);
    })
    .await;
}

#[tokio::test]
async fn a_change_runs_its_own_version_of_its_playbooks() {
    within_a_minute(async {
        let mut fixture = playbooks();
        fixture.commit(&[(
            "playbooks/pass.yaml",
            &PASS.replace("project is", "changed project is"),
        )]);
        let executor = fixture.executor().await;
        // The playbook ref points at the first commit, where the config was read.
        let req = request(
            &fixture,
            "own-1",
            job(vec![fixture.playbook("playbooks/pass.yaml")]),
        );

        let outcome = executor.run(req, live_log(&LogHub::new(), "own-1")).await;

        assert_eq!(outcome.result, BuildResult::Success, "{outcome:?}");
        assert!(fixture
            .job_output("own-1")
            .contains("changed project is org/widget"));
    })
    .await;
}

#[tokio::test]
async fn nodes_of_the_nodeset_run_their_tasks_locally() {
    within_a_minute(async {
        let fixture = Fixture::with_files(&[(
            "playbooks/all.yaml",
            "- hosts: workers\n  gather_facts: false\n  tasks:\n    - command: echo on {{ inventory_hostname }}\n",
        )]);
        let executor = fixture.executor().await;
        let mut job = job(vec![fixture.playbook("playbooks/all.yaml")]);
        job.nodeset = Nodeset {
            name: "pair".into(),
            nodes: vec![Node { name: "alpha".into(), label: "small".into() }],
            groups: vec![portcullis_config::nodeset::Group {
                name: "workers".into(),
                nodes: vec!["alpha".into()],
            }],
        };

        let outcome = executor
            .run(request(&fixture, "nodes-1", job), live_log(&LogHub::new(), "nodes-1"))
            .await;

        let output = fixture.job_output("nodes-1");
        assert_eq!(outcome.result, BuildResult::Success, "{output}");
        assert!(output.contains("on alpha"));
    })
    .await;
}

#[tokio::test]
async fn a_missing_ansible_playbook_is_an_error_with_its_reason() {
    within_a_minute(async {
        let fixture = playbooks();
        let executor = fixture.executor_with(AnsiblePlaybook::Path(
            "/nonexistent/ansible-playbook".into(),
        ));
        let req = request(
            &fixture,
            "err-1",
            job(vec![fixture.playbook("playbooks/pass.yaml")]),
        );

        let outcome = executor.run(req, live_log(&LogHub::new(), "err-1")).await;

        assert_eq!(outcome.result, BuildResult::Error);
        let detail = outcome.error_detail.unwrap_or_default();
        assert!(detail.contains("/nonexistent/ansible-playbook"), "{detail}");
    })
    .await;
}

#[tokio::test]
async fn builds_starting_together_share_an_existing_auto_venv() {
    within_a_minute(async {
        let fixture = playbooks();
        let bin = fixture.state_dir().join("ansible/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(
            support::shared_ansible().await,
            bin.join("ansible-playbook"),
        )
        .unwrap();
        let executor = fixture.executor_with(AnsiblePlaybook::Auto);
        let hub = LogHub::new();
        let pass = || job(vec![fixture.playbook("playbooks/pass.yaml")]);

        let (a, b) = tokio::join!(
            executor.run(
                request(&fixture, "auto-a", pass()),
                live_log(&hub, "auto-a")
            ),
            executor.run(
                request(&fixture, "auto-b", pass()),
                live_log(&hub, "auto-b")
            ),
        );

        assert_eq!(
            (a.result, b.result),
            (BuildResult::Success, BuildResult::Success),
            "{a:?} {b:?}"
        );
        assert!(
            !bin.join("pip").exists(),
            "the existing venv was reinstalled"
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_auto_install_is_an_error_carrying_the_installers_output() {
    within_a_minute(async {
        let fixture = playbooks();
        std::fs::create_dir_all(fixture.state_dir()).unwrap();
        // A file where the venv should go makes `python3 -m venv` fail.
        std::fs::write(fixture.state_dir().join("ansible"), "in the way").unwrap();
        let executor = fixture.executor_with(AnsiblePlaybook::Auto);
        let req = request(
            &fixture,
            "inst-1",
            job(vec![fixture.playbook("playbooks/pass.yaml")]),
        );

        let outcome = executor.run(req, live_log(&LogHub::new(), "inst-1")).await;

        assert_eq!(outcome.result, BuildResult::Error);
        let detail = outcome.error_detail.unwrap_or_default();
        assert!(detail.contains("python3 -m venv failed"), "{detail}");
        assert!(fixture
            .job_output("inst-1")
            .contains("installing ansible failed"));
    })
    .await;
}

#[tokio::test]
async fn a_build_uuid_that_would_leave_the_state_dir_is_an_error() {
    let fixture = playbooks();
    let executor = fixture.executor_with(AnsiblePlaybook::Path("/bin/false".into()));
    let req = request(&fixture, "../escape", job(vec![]));

    let outcome = executor
        .run(req, live_log(&LogHub::new(), "../escape"))
        .await;

    assert_eq!(outcome.result, BuildResult::Error);
    assert!(!fixture.state_dir().join("escape").exists());
}

#[tokio::test]
async fn data_a_job_returns_with_zuul_return_reaches_the_outcome_and_the_childs_variables() {
    within_a_minute(async {
        let returns = "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
             \x20   - zuul_return: {data: {image: {tag: v1}, zuul: {pause: false}}}\n\
             \x20   - zuul_return: {data: {image: {arch: x86}}}\n";
        let shows = "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
             \x20   - debug: {msg: \"child sees {{ image.tag }} {{ image.arch }} and {{ level }}\"}\n";
        let fixture = Fixture::with_files(&[("parent.yaml", returns), ("child.yaml", shows)]);
        let executor = fixture.executor().await;
        let parent = request(&fixture, "ret-1", job(vec![fixture.playbook("parent.yaml")]));

        let outcome = executor.run(parent, live_log(&LogHub::new(), "ret-1")).await;

        assert_eq!(outcome.result, BuildResult::Success, "{outcome:?}");
        let expected = json!({"image": {"tag": "v1", "arch": "x86"}, "zuul": {"pause": false}});
        assert_eq!(outcome.data, expected, "two calls merge");
        let mut child_job = job(vec![fixture.playbook("child.yaml")]);
        child_job.vars.insert("level".into(), json!("job-level"));
        let mut child = request(&fixture, "ret-2", child_job);
        child.parent_data = json!({"image": {"tag": "v1", "arch": "x86"}, "level": "parent"});

        let outcome = executor.run(child, live_log(&LogHub::new(), "ret-2")).await;

        assert_eq!(outcome.result, BuildResult::Success, "{outcome:?}");
        assert_eq!(outcome.data, serde_json::Value::Null, "returned nothing");
        let output = fixture.job_output("ret-2");
        assert!(output.contains("child sees v1 x86 and job-level"), "{output}");
    })
    .await;
}
