//! The console protocol, spoken to the real Python server and client that the
//! executor ships (python3, no Ansible). Waits are on lines read, each bounded
//! by a timeout; nothing sleeps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

use super::{free_local_port, install_plugins, plugin_dir};

const WAIT: Duration = Duration::from_secs(20);

/// The shipped plugins in a temp work dir, and a log dir beside them.
struct Plugins {
    dir: TempDir,
}

impl Plugins {
    async fn install() -> Plugins {
        let dir = tempfile::tempdir().unwrap();
        install_plugins(dir.path()).await.unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        Plugins { dir }
    }

    fn script(&self) -> PathBuf {
        plugin_dir(self.dir.path()).join("module_utils/portcullis_console.py")
    }

    fn log_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn log(&self, id: &str) -> PathBuf {
        self.log_dir().join(format!("console-{id}.log"))
    }

    /// The console server on `port` (0: any), serving the log dir.
    fn serve(&self, port: u16) -> (Running, u16) {
        let server = Running::spawn(
            Command::new("python3")
                .arg(self.script())
                .args(["serve", &port.to_string(), "127.0.0.1"])
                .arg(self.log_dir()),
        );
        let first = server.stdout_line();
        let port = first
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        (server, port)
    }
}

/// A child process, killed and reaped when dropped; its output read by threads.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(command: &mut Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout_line(&self) -> String {
        self.stdout.recv_timeout(WAIT).expect("a line on stdout")
    }

    fn stderr_line(&self) -> String {
        self.stderr.recv_timeout(WAIT).expect("a line on stderr")
    }

    fn exit_code(&mut self) -> Option<i32> {
        let (tx, rx) = mpsc::channel();
        let pid = self.child.id();
        // The wait below is bounded: a stuck child is killed by its pid.
        std::thread::spawn(move || {
            if rx.recv_timeout(WAIT).is_err() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        });
        let status = self.child.wait().unwrap();
        let _ = tx.send(());
        status.code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines<R: Read + Send + 'static>(pipe: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A client connection speaking the protocol line by line.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, line: &str) {
        let stream = self.reader.get_mut();
        stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a line in time");
        line.trim_end_matches('\n').to_string()
    }

    /// Reads lines until one that is not the "not found" notice.
    fn content_line(&mut self) -> String {
        loop {
            let line = self.line();
            if line != "[Zuul] Log not found" {
                return line;
            }
        }
    }
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn the_server_sends_a_log_line_by_line_while_it_grows() {
    // Given a console server and a task log with one line
    let plugins = Plugins::install().await;
    let (_server, port) = plugins.serve(0);
    append(
        &plugins.log("t1-node"),
        "2026-01-02 03:04:05.000006 | line 1\n",
    );

    // When a client shakes hands and asks for the log
    let mut client = Client::connect(port);
    client.send("v:0");
    assert_eq!(client.line(), "1", "the server speaks console protocol 1");
    client.send("s:t1-node");

    // Then it gets the first line now, and each next line as it is written
    assert_eq!(client.line(), "2026-01-02 03:04:05.000006 | line 1");
    append(
        &plugins.log("t1-node"),
        "2026-01-02 03:04:06.000000 | line 2\n",
    );
    assert_eq!(client.line(), "2026-01-02 03:04:06.000000 | line 2");
}

#[tokio::test]
async fn a_log_asked_for_before_it_exists_is_sent_from_its_start_once_it_does() {
    // Given a console server and no log yet
    let plugins = Plugins::install().await;
    let (_server, port) = plugins.serve(0);

    // When a client asks for it (as an old client would, without the handshake)
    let mut client = Client::connect(port);
    client.send("t2-node");

    // Then it hears that the log is missing, and later gets all of it
    assert_eq!(client.line(), "[Zuul] Log not found");
    append(&plugins.log("t2-node"), "a | first\nb | second\n");
    assert_eq!(client.content_line(), "a | first");
    assert_eq!(client.line(), "b | second");
}

#[tokio::test]
async fn a_finish_request_deletes_the_log_and_no_id_reaches_outside_the_log_dir() {
    // Given a log, and a file beside the log dir that must stay unread
    let plugins = Plugins::install().await;
    let (_server, port) = plugins.serve(0);
    append(&plugins.log("t3-node"), "x | done\n");
    // A path naively joined from `x/../../secret` would reach this file.
    std::fs::create_dir(plugins.log_dir().join("console-x")).unwrap();
    std::fs::write(plugins.dir.path().join("secret.log"), "secret\n").unwrap();

    // When one client asks to finish the log and another climbs out of the dir
    let mut finish = Client::connect(port);
    finish.send("v:0");
    assert_eq!(finish.line(), "1");
    finish.send("f:t3-node");
    assert_eq!(finish.line(), "", "the server closes after a finish");
    let mut climber = Client::connect(port);
    climber.send("s:x/../../secret");

    // Then the log is gone, and the climber only hears that its log is missing
    assert!(!plugins.log("t3-node").exists());
    assert_eq!(climber.line(), "[Zuul] Log not found");
}

#[tokio::test]
async fn a_follower_started_before_the_server_listens_loses_no_line() {
    // Given a follower of a task's log on a port where nothing listens yet
    let plugins = Plugins::install().await;
    let port = free_local_port().unwrap();
    let mut follower = Running::spawn(Command::new("python3").arg(plugins.script()).args([
        "follow",
        "127.0.0.1",
        &port.to_string(),
        "t4-node",
    ]));
    assert_eq!(follower.stderr_line(), "waiting for the console");

    // When the task has printed its lines and ended before the server starts
    append(
        &plugins.log("t4-node"),
        "2026-01-02 03:04:05.000001 | one\n\
         2026-01-02 03:04:05.000002 | two\n\
         2026-01-02 03:04:05.000003 | three\n\
         2026-01-02 03:04:05.000004 | [Zuul] Task exit code: 0\n",
    );
    let (_server, _) = plugins.serve(port);

    // Then the follower emits every line, stops at the exit marker and
    // has the log deleted
    assert_eq!(follower.stdout_line(), "2026-01-02 03:04:05.000001 | one");
    assert_eq!(follower.stdout_line(), "2026-01-02 03:04:05.000002 | two");
    assert_eq!(follower.stdout_line(), "2026-01-02 03:04:05.000003 | three");
    assert_eq!(follower.exit_code(), Some(0), "the follower saw the marker");
    assert!(!plugins.log("t4-node").exists(), "the log was finished");
}

/// `endpoint()` of the shipped helpers for host variables `vars` (JSON):
/// `[node port, listen address, address connected to, port connected to, log dir]`.
fn endpoint(plugins: &Plugins, vars: serde_json::Value) -> serde_json::Value {
    let program = "import json, sys\n\
                   import portcullis_console as c\n\
                   e = c.endpoint(json.loads(sys.argv[1]).get)\n\
                   print(json.dumps([e.node_port, e.listen, e.address, e.port, e.log_dir]))\n";
    let output = Command::new("python3")
        .args(["-c", program, &vars.to_string()])
        .current_dir(plugins.script().parent().unwrap())
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_hosts_console_endpoint_follows_how_ansible_reaches_it() {
    use serde_json::json;
    let plugins = Plugins::install().await;

    // A host on the executor's machine: the build's own port, dir and loopback
    let local = json!({"ansible_connection": "local",
        "portcullis_console_local_port": 40123,
        "portcullis_console_local_dir": "/work/b1/console-logs"});
    assert_eq!(
        endpoint(&plugins, local),
        json!([
            40123,
            "127.0.0.1",
            "127.0.0.1",
            40123,
            "/work/b1/console-logs"
        ])
    );

    // A pod: the server listens on 19885 in the pod, reached through the
    // tunnel's local port on the executor's loopback
    let pod = json!({"ansible_connection": "kubectl", "zuul_console_port": 35541,
        "ansible_host": "pod-a", "portcullis_console_local_port": 40123});
    assert_eq!(
        endpoint(&plugins, pod),
        json!([19885, "::", "127.0.0.1", 35541, "/tmp"])
    );

    // An SSH node: its address and port, both ends alike
    let ssh = json!({"ansible_host": "203.0.113.7", "inventory_hostname": "web",
        "portcullis_console_local_port": 40123});
    assert_eq!(
        endpoint(&plugins, ssh),
        json!([19885, "::", "203.0.113.7", 19885, "/tmp"])
    );
}

#[tokio::test]
async fn a_follower_whose_server_restarts_resumes_without_repeating_a_line() {
    // Given a follower that has emitted the first two lines of a log
    let plugins = Plugins::install().await;
    append(&plugins.log("t5-node"), "s | one\ns | two\n");
    let (server, port) = plugins.serve(0);
    let mut follower = Running::spawn(Command::new("python3").arg(plugins.script()).args([
        "follow",
        "127.0.0.1",
        &port.to_string(),
        "t5-node",
    ]));
    assert_eq!(follower.stdout_line(), "s | one");
    assert_eq!(follower.stdout_line(), "s | two");

    // When the server dies (as a tunnel's far end can), the log grows
    // meanwhile, and a server comes back on the same port
    drop(server);
    assert_eq!(follower.stderr_line(), "waiting for the console");
    append(
        &plugins.log("t5-node"),
        "s | three\ns | [Zuul] Task exit code: 0\n",
    );
    let (_server, _) = plugins.serve(port);

    // Then the follower goes on from where it was: the new line once, then the end
    assert_eq!(follower.stdout_line(), "s | three");
    assert_eq!(follower.exit_code(), Some(0));
    assert!(
        follower.stdout.try_recv().is_err(),
        "no line was emitted twice"
    );
}
