//! Tunnels on the simulated cluster: a [`KubeSim`] with a kubeconfig and a
//! discovery cache per test, the real pinned kubectl, servers that run inside
//! pods, and [`OpenTunnel`], a Tunnel actor whose processes die with the test
//! however it ends.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use portcullis_actors::tunnel::{
    marked_processes, CloseTunnel, GetTunnelState, Tunnel, TunnelError, TunnelLog, TunnelSettings,
    TunnelSpec, TunnelStatus, CONSOLE_PORT,
};
use portcullis_kube_sim::{KubeSim, PodHandle};
use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::wait;

/// The kubectl the server pins by default (its port-forward speaks SPDY in a WebSocket).
pub const DEFAULT_KUBECTL: &str = "1.32";
/// A kubectl whose port-forward speaks plain SPDY/3.1.
pub const SPDY_KUBECTL: &str = "1.27";
/// The newest pinned kubectl (SPDY in a WebSocket).
pub const NEWEST_KUBECTL: &str = "1.33";
/// The longest a scenario waits for any one thing to happen.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(15);
/// The kubeconfig context and namespace of every simulated pod.
pub const CONTEXT: &str = "sim";
/// See [`CONTEXT`].
pub const NAMESPACE: &str = "default";

/// Runs a scenario with a deadline, so a hang fails instead of stalling CI.
pub async fn within<T>(secs: u64, scenario: impl Future<Output = T>) -> T {
    timeout(Duration::from_secs(secs), scenario)
        .await
        .expect("the scenario did not finish in time")
}

/// The image's pinned kubectl `1.NN`.
pub fn kubectl(version: &str) -> PathBuf {
    PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"))
}

/// One simulated cluster and the files kubectl needs to reach it.
pub struct Cluster {
    /// The simulation; dropping it deletes every pod's netns.
    pub sim: KubeSim,
    /// A kubeconfig whose context [`CONTEXT`] selects the simulation.
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a simulation and writes its kubeconfig.
    pub async fn start() -> Cluster {
        let sim = KubeSim::start().await.expect("the simulation starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig, CONTEXT, NAMESPACE)
            .expect("kubeconfig");
        Cluster {
            sim,
            kubeconfig,
            dir,
        }
    }

    /// A running pod named `name`.
    pub async fn pod(&self, name: &str) -> PodHandle {
        self.sim.add_pod(NAMESPACE, name).await.expect("pod runs")
    }

    /// A spec for `pod`, with this cluster's discovery cache.
    pub fn spec(&self, pod: &str) -> TunnelSpec {
        let mut spec = TunnelSpec::new(&self.kubeconfig, CONTEXT, NAMESPACE, pod);
        spec.build = format!("build-{pod}");
        spec.cache_dir = Some(self.cache_dir());
        spec
    }

    /// kubectl's discovery cache for this cluster.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("kube-cache")
    }

    /// A directory that lives as long as the cluster.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A server config `node-providers` section serving label `pod` from
    /// this cluster, a namespace per build, with `kubectl` and a pod start
    /// timeout of `start_timeout` seconds.
    pub fn provider_yaml(&self, kubectl: &Path, start_timeout: u64) -> String {
        format!(
            "node-providers:\n  - name: sim\n    driver: kubernetes\n    \
             kubeconfig: {}\n    context: {CONTEXT}\n    namespace: per-build\n    \
             kubectl: {}\n    start-timeout: {start_timeout}\n    labels:\n      \
             pod: {{image: \"debian:bookworm\"}}\n",
            self.kubeconfig.display(),
            kubectl.display(),
        )
    }
}

/// The server's defaults with kubectl `1.NN` and a marker of the test's own.
pub fn settings(version: &str) -> TunnelSettings {
    TunnelSettings {
        kubectl: kubectl(version),
        ready_timeout: EVENT_DEADLINE,
        instance: format!("it-{}-{}", std::process::id(), unique()),
        ..TunnelSettings::default()
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A started tunnel, its log as awaitable lines, and a guard: dropped
/// without [`close`](OpenTunnel::close) (a failing test), it SIGKILLs every
/// process carrying its marker.
pub struct OpenTunnel {
    /// The actor.
    pub addr: Addr<Tunnel>,
    /// The reserved local port.
    pub port: u16,
    /// `PORTCULLIS_TUNNEL`'s value in its processes' environment.
    pub marker: String,
    /// The tunnel's build log.
    pub log: LogLines,
}

impl OpenTunnel {
    /// Starts a tunnel as a build would (with a parent that outlives it).
    pub async fn open(spec: TunnelSpec, settings: TunnelSettings) -> Result<Self, TunnelError> {
        let (sink, log) = LogLines::new();
        let instance = settings.instance.clone();
        let addr = Tunnel::start(spec, settings, sink, None).await?;
        let port = addr.send(GetTunnelState).await?.port;
        Ok(OpenTunnel {
            addr,
            port,
            marker: format!("{instance}/{port}"),
            log,
        })
    }

    /// The tunnel's state and metrics now.
    pub async fn status(&self) -> TunnelStatus {
        self.addr
            .send(GetTunnelState)
            .await
            .expect("tunnel answers")
    }

    /// Stops the tunnel and waits for the whole stop sequence.
    pub async fn close(&self) {
        self.addr.send(CloseTunnel).await.expect("tunnel closes");
    }

    /// SIGKILLs the current kubectl run and returns its pid.
    pub async fn kill_kubectl(&self, signal: Signal) -> u32 {
        let pid = self.status().await.kubectl_pid.expect("kubectl runs");
        kill(Pid::from_raw(pid as i32), signal).expect("signal kubectl");
        pid
    }
}

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        kill_marked(&self.marker);
    }
}

/// SIGKILLs, when dropped, every process whose `PORTCULLIS_TUNNEL` is the
/// marker it holds: the clean-up of a test that started tunnel processes
/// some other way (e.g. `portcullis tunnel`) and may fail before they stop.
pub struct MarkedGuard(pub String);

impl Drop for MarkedGuard {
    fn drop(&mut self) {
        kill_marked(&self.0);
    }
}

fn kill_marked(marker: &str) {
    for pid in marked_processes(marker) {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
}

/// A tunnel's build log, as lines a test can await.
pub struct LogLines {
    rx: mpsc::UnboundedReceiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
}

impl LogLines {
    /// A log sink and the lines it receives.
    pub fn new() -> (TunnelLog, LogLines) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink: TunnelLog = Arc::new(move |line: &str| {
            let _ = tx.send(line.to_string());
        });
        let seen = Vec::new();
        (sink, LogLines { rx, seen })
    }

    /// Waits for the next line containing `needle`; panics past the deadline.
    pub async fn until(&mut self, needle: &str) -> String {
        let wait = async {
            while let Some(line) = self.rx.recv().await {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        };
        match timeout(EVENT_DEADLINE, wait).await {
            Ok(Some(line)) => line,
            _ => panic!("no log line with {needle:?}; saw {:#?}", self.seen),
        }
    }

    /// Every line received so far, joined.
    pub fn text(&mut self) -> String {
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

/// The pause a `kubectl run N ended … next run in X ms` log line announces, in ms.
pub fn announced_pause_ms(line: &str) -> u64 {
    let (_, rest) = line.rsplit_once("next run in ").expect(line);
    rest.trim_end_matches(" ms").parse().expect(line)
}

/// Listens on 19885 inside `pod`: every connection first gets
/// `hello from <pod>`, then each line it sends back as `echo: <line>`.
pub async fn serve_greeting(pod: &PodHandle) {
    let listener = pod.listen(CONSOLE_PORT).await.expect("listen in pod");
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

/// Listens on 19885 inside `pod` and echoes every byte back.
pub async fn serve_echo(pod: &PodHandle) {
    let listener = pod.listen(CONSOLE_PORT).await.expect("listen in pod");
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut rd, mut wr) = conn.into_split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
}

/// Connects to 127.0.0.1:`port`, reads the greeting and says one line:
/// (greeting, echo). An error or EOF reads as an error.
pub async fn converse(port: u16, say: &str) -> std::io::Result<(String, String)> {
    let talk = async {
        let conn = TcpStream::connect(("127.0.0.1", port)).await?;
        let (rd, mut wr) = conn.into_split();
        let mut lines = BufReader::new(rd).lines();
        let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let greeting = lines.next_line().await?.ok_or_else(eof)?;
        wr.write_all(format!("{say}\n").as_bytes()).await?;
        let echo = lines.next_line().await?.ok_or_else(eof)?;
        Ok((greeting, echo))
    };
    timeout(EVENT_DEADLINE, talk)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// Polls `port` until a conversation through it succeeds, and returns it.
pub async fn converse_once_up(port: u16, say: &str) -> (String, String) {
    let what = format!("a conversation through 127.0.0.1:{port}");
    wait::until(&what, EVENT_DEADLINE, || async {
        converse(port, say).await.ok()
    })
    .await
}

/// Sends `payload`, half-closes, and returns what came back before EOF.
pub async fn round_trip(port: u16, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(payload).await?;
    stream.shutdown().await?;
    let mut back = Vec::new();
    timeout(EVENT_DEADLINE, stream.read_to_end(&mut back))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Ok(back)
}

/// Binds 127.0.0.1:`port` as an unrelated program would: no SO_REUSEADDR.
pub fn plain_bind(port: u16) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    Ok(socket)
}

/// The pinned `kubectl`, wrapped so that every run exits 0, as kubectl
/// 1.23–1.26 did after a lost connection. A STAND-IN for a fault the pinned
/// binaries (1.27+, which exit 1) cannot produce; everything else is real.
pub fn exit_zero_kubectl(dir: &Path, version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("kubectl-{version}-exits-0"));
    let script = format!(
        "#!/bin/sh\n# kubectl {version}, but exiting 0 like kubectl 1.23-1.26.\n\"{}\" \"$@\"\nexit 0\n",
        kubectl(version).display()
    );
    std::fs::write(&path, script).expect("write wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}
