//! A command's output streams from the node line by line while it runs: into
//! the console-stream websocket and the served job-output.txt, through the
//! real server, real Ansible and the executor's console plugins.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures_util::SinkExt;
use portcullis::executor::job_output::is_stamped;
use portcullis::executor::process::BUILD_TAG_VAR;
use portcullis_integration_tests::{Scenario, TestServer};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::jobs;
use crate::live_log::{console_stream, read_to_close, read_until, Socket};

/// Opens the build's console stream.
pub(crate) async fn follow(server: &TestServer, uuid: &str) -> Socket {
    let mut socket = console_stream(server).await;
    let request = serde_json::json!({"uuid": uuid, "logfile": "console.log"});
    socket
        .send(Message::Text(request.to_string()))
        .await
        .unwrap();
    socket
}

/// The job-output.txt the server serves for build `uuid`, now.
pub(crate) async fn served_log(server: &TestServer, uuid: &str) -> String {
    let url = format!("{}/logs/{uuid}/job-output.txt", server.base_url);
    let (code, log) = server.get_text(&url).await;
    assert_eq!(code, 200, "{log}");
    log
}

/// True when `text` has `line` as streamed from the job's node:
/// stamped with the time the node printed it, then named after the host.
fn streamed(text: &str, line: &str) -> bool {
    let tail = format!(" | node | {line}");
    text.lines()
        .any(|l| is_stamped(l) && l.ends_with(&tail) && l.len() == STAMP_LEN + tail.len())
}

/// The length of `YYYY-MM-DD HH:MM:SS.ffffff`.
const STAMP_LEN: usize = 26;

/// The pids of live processes that carry build `uuid`'s tag (the executor
/// tags every process of a build, the console server included).
fn processes_tagged(uuid: &str) -> Vec<String> {
    let tag = format!("{BUILD_TAG_VAR}={uuid}");
    let entries = std::fs::read_dir("/proc").expect("/proc");
    entries
        .flatten()
        .filter(|entry| {
            // Unreadable: gone, or not ours. Zombies read as empty.
            std::fs::read(entry.path().join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == tag.as_bytes()))
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Makes a fifo: a reader of it blocks until the test writes. Anyone may
/// open it: builds run as users of their own.
pub(crate) fn fifo(path: &Path) {
    let made = Command::new("mkfifo")
        .args(["-m", "0666"])
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Lets a command blocked on reading `fifo` go on.
pub(crate) async fn release(fifo: &Path) {
    let fifo = fifo.to_path_buf();
    // Opening a fifo for writing blocks until its reader has it open.
    let write = tokio::task::spawn_blocking(move || std::fs::write(fifo, "go\n"));
    tokio::time::timeout(Duration::from_secs(120), write)
        .await
        .expect("the command opens the fifo")
        .unwrap()
        .expect("write to the fifo");
}

#[tokio::test]
async fn a_commands_output_streams_line_by_line_while_the_command_runs() {
    // Given a job whose shell task prints a line, waits on a fifo the test
    // holds, then prints a second line (the lines' text is not in the command,
    // so only the command's output can show it)
    let server = TestServer::start(Scenario::default()).await;
    let shared = portcullis_integration_tests::shared::shared_tempdir();
    let gate = shared.path().join("gate.fifo");
    fifo(&gate);
    let task = format!(
        "    - name: Print around a wait\n      ansible.builtin.shell: \
         \"w=line; echo \\\"first $w of the command\\\"; read go < {}; echo \\\"second $w of the command\\\"\"\n",
        gate.display()
    );
    let newrev = server.demo.commit(
        "Add a job that waits in a command",
        &[
            (".zuul.yaml", &jobs::one_job("streamed", "")),
            ("playbooks/streamed.yaml", &jobs::playbook(&task)),
        ],
    );
    let uuid = server.running_build("streamed", &newrev).await;

    // When a client follows the build's console
    let mut socket = follow(&server, &uuid).await;

    // Then the first line arrives while the command still waits, stamped and
    // named after its host, in the stream and in the served log
    let before = read_until(&mut socket, "first line of the command").await;
    assert!(!before.contains("second line of the command"), "{before}");
    assert!(streamed(&before, "first line of the command"), "{before}");
    let log = served_log(&server, &uuid).await;
    assert!(streamed(&log, "first line of the command"), "{log}");

    // When the test lets the command go on
    release(&gate).await;

    // Then the second line follows, no line comes twice (the result does not
    // repeat what was streamed), and the build succeeds
    let (after, code) = read_to_close(&mut socket).await;
    assert!(
        after.contains("| node | second line of the command"),
        "{after}"
    );
    let all = format!("{before}{after}");
    assert_eq!(all.matches("first line of the command").count(), 1, "{all}");
    assert_eq!(
        all.matches("second line of the command").count(),
        1,
        "{all}"
    );
    assert_eq!(code, Some(CloseCode::Normal));
    let build = server.finished_build("streamed", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    // ... and the console server the command started ended with the build
    assert_eq!(processes_tagged(&uuid), Vec::<String>::new());
}

#[tokio::test]
async fn a_command_that_starts_the_console_server_itself_loses_no_line() {
    // Given a job whose first command is what starts the node's console
    // server (the callback's streamer is already trying to connect by then),
    // and which prints three lines and ends at once
    let server = TestServer::start(Scenario::default()).await;
    let task = "    - ansible.builtin.command: \"seq -f 'number %g' 3\"\n";
    let newrev = server.demo.commit(
        "Add a job with a quick command",
        &[
            (".zuul.yaml", &jobs::one_job("quick", "")),
            ("playbooks/quick.yaml", &jobs::playbook(task)),
        ],
    );

    // When the build has run
    let build = server.finished_build("quick", &newrev).await;
    assert_eq!(build["result"], "SUCCESS", "{build:#}");
    let log = served_log(&server, build["uuid"].as_str().unwrap()).await;

    // Then every line was streamed from the node, once and in order, and the
    // task's result does not repeat them
    let streamed: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once(" | node | number ").map(|(_, n)| n))
        .collect();
    assert_eq!(streamed, ["1", "2", "3"], "{log}");
    assert!(!log.contains("\"stdout\""), "{log}");
}
