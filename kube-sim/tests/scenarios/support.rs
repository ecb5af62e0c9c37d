//! The harness: a simulated cluster, a kubeconfig and a discovery cache per
//! test, pinned kubectl binaries, and a greeting server to run in pods.

use portcullis_kube_sim::{KubeSim, PodHandle};
use regex::Regex;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The port zuul_console listens on inside pods.
pub const CONSOLE_PORT: u16 = 19885;

/// Runs a scenario with a deadline, so a hang fails instead of stalling CI.
pub async fn within<T>(secs: u64, scenario: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), scenario)
        .await
        .expect("the scenario did not finish in time")
}

/// One simulated cluster and the files kubectl needs to reach it.
pub struct Harness {
    pub sim: KubeSim,
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Harness {
        let sim = KubeSim::start().await.expect("the simulation starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, "sim", "default").unwrap();
        Harness {
            sim,
            kubeconfig,
            dir,
        }
    }

    /// The pinned kubectl `1.NN`, with this harness's kubeconfig and cache.
    pub fn kubectl(&self, version: &str) -> Command {
        let mut cmd = Command::new(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
        cmd.arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg("--context=sim")
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs kubectl to completion: (exit code, stdout, stderr).
    pub async fn run(&self, version: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.kubectl(version).args(args).output().await.unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }
}

/// A running `kubectl port-forward` and the local port it listens on.
pub struct Forward {
    pub child: Child,
    pub port: u16,
    pub stderr: tokio::process::ChildStderr,
    _stdout_lines: mpsc::UnboundedReceiver<String>,
}

impl Forward {
    /// Starts `kubectl port-forward pod/NAME :19885` and waits for its
    /// `Forwarding from 127.0.0.1:P` line; stdout is drained from then on.
    pub async fn start(mut cmd: Command, pod: &str) -> Forward {
        let mut child = cmd
            .args([
                "port-forward",
                &format!("pod/{pod}"),
                &format!(":{CONSOLE_PORT}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = Regex::new(r"^Forwarding from 127\.0\.0\.1:(\d+) -> 19885$").unwrap();
        let port = loop {
            match lines.next_line().await.unwrap() {
                Some(line) => {
                    if let Some(c) = ready.captures(&line) {
                        break c[1].parse().unwrap();
                    }
                }
                None => {
                    let mut err = String::new();
                    stderr.read_to_string(&mut err).await.unwrap();
                    panic!("kubectl port-forward ended before forwarding: {err}");
                }
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        Forward {
            child,
            port,
            stderr,
            _stdout_lines: rx,
        }
    }

    /// Waits for kubectl to exit: (exit code, stderr).
    pub async fn exit(mut self) -> (i32, String) {
        let status = self.child.wait().await.unwrap();
        let mut err = String::new();
        self.stderr.read_to_string(&mut err).await.unwrap();
        (status.code().unwrap_or(-1), err)
    }
}

/// Listens on 19885 inside `pod`; each connection gets `hello from <pod>`,
/// then every line it sends comes back prefixed with `echo: `.
pub async fn serve_greeting(pod: &PodHandle) {
    let listener = pod.listen(CONSOLE_PORT).await.unwrap();
    let greeting = format!("hello from {}\n", pod.name());
    tokio::spawn(greet_forever(listener, greeting));
}

async fn greet_forever(listener: TcpListener, greeting: String) {
    while let Ok((conn, _)) = listener.accept().await {
        let greeting = greeting.clone();
        tokio::spawn(async move {
            let (rd, mut wr) = conn.into_split();
            wr.write_all(greeting.as_bytes()).await?;
            let mut lines = BufReader::new(rd).lines();
            while let Some(line) = lines.next_line().await? {
                wr.write_all(format!("echo: {line}\n").as_bytes()).await?;
            }
            Ok::<_, std::io::Error>(())
        });
    }
}

/// Connects to a local forward, reads the greeting, and sends one line:
/// returns (greeting, echo).
pub async fn converse(port: u16, say: &str) -> (String, String) {
    let conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (rd, mut wr) = conn.into_split();
    let mut lines = BufReader::new(rd).lines();
    let greeting = lines.next_line().await.unwrap().unwrap_or_default();
    wr.write_all(format!("{say}\n").as_bytes()).await.unwrap();
    let echo = lines.next_line().await.unwrap().unwrap_or_default();
    (greeting, echo)
}

/// Listens on 19885 inside `pod` and echoes every byte back.
pub async fn serve_echo(pod: &PodHandle) {
    let listener = pod.listen(CONSOLE_PORT).await.unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut rd, mut wr) = conn.into_split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
}
