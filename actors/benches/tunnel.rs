//! Tunnel bench: restart latency after kubectl exits (p50/p99), and CPU time
//! per minute while the pod is gone, for the Tunnel actor's loop beside
//! Zuul's bare `while ! kubectl …; do :; done` measured the same way.
//!
//! kubectl is the REAL pinned binary (`TUNNEL_BENCH_KUBECTL`, default 1.32)
//! talking to kube-sim, a simulated API server in this process whose pods are
//! network namespaces (needs root, as the tests do). CPU is what each loop and
//! the kubectl runs it reaped used; the simulated API server's own CPU is left
//! out for both.
//!
//! Run: `cargo bench -p portcullis-actors --bench tunnel`
//! (TUNNEL_BENCH_SAMPLES, TUNNEL_BENCH_SECS adjust the effort).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::{sysconf, Pid, SysconfVar};
use portcullis_actors::tunnel::{
    CloseTunnel, GetTunnelState, Tunnel, TunnelLog, TunnelSettings, TunnelSpec, CONSOLE_PORT,
};
use portcullis_kube_sim::{KubeSim, PodHandle};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let samples = env_or("TUNNEL_BENCH_SAMPLES", 40) as usize;
    let window = Duration::from_secs(env_or("TUNNEL_BENCH_SECS", 60));
    let version = std::env::var("TUNNEL_BENCH_KUBECTL").unwrap_or_else(|_| "1.32".into());
    actix::System::new().block_on(async move {
        let sim = Sim::start(&version).await;
        println!("kubectl {version} against kube-sim; {samples} samples; CPU window {window:?}");
        let ours = actor_restart_latency(&sim, samples).await;
        report("Tunnel actor loop", &ours);
        let bare = bare_restart_latency(&sim, samples).await;
        report("Zuul bare loop   ", &bare);
        let (used_ms, runs) = actor_cpu_while_pod_gone(&sim, window).await;
        let ours_ms = used_ms * 60.0 / window.as_secs_f64();
        let per_run = used_ms / f64::from(runs.max(1));
        println!(
            "Tunnel actor loop: CPU while the pod is gone: {ours_ms:.0} ms per minute over the \
             first {window:?} ({runs} kubectl runs, {per_run:.0} ms each; at the 30 s backoff \
             cap: {:.0} ms per minute)",
            per_run * 2.0
        );
        let bare_window = window.min(Duration::from_secs(10));
        let (bare_ms, bare_runs) = bare_cpu_while_pod_gone(&sim, bare_window).await;
        println!(
            "Zuul bare loop   : CPU while the pod is gone: {bare_ms:.0} ms per minute \
             ({bare_runs} GETs of the pod in {bare_window:?})"
        );
        println!(
            "Tunnel actor loop / Zuul bare loop, over the first {window:?}: 1/{:.0}",
            bare_ms / ours_ms.max(f64::MIN_POSITIVE)
        );
        let froze = bare_connections_until_stall(&sim, 10_000).await;
        println!(
            "Zuul bare loop   : forwarding froze after {froze} connections (its stdout read \
             to the first line only); the Tunnel actor's test carries 10,000"
        );
    });
}

fn report(who: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{who}: restart latency, SIGKILL to the next `Forwarding from`: p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        sorted.len()
    );
}

/// The simulated cluster, its kubeconfig and kubectl's cache.
struct Sim {
    sim: KubeSim,
    dir: tempfile::TempDir,
    kubectl: PathBuf,
}

impl Sim {
    async fn start(version: &str) -> Sim {
        let sim = KubeSim::start().await.expect("kube-sim starts (as root)");
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig"), "sim", "default")
            .unwrap();
        let kubectl = PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
        Sim { sim, dir, kubectl }
    }

    /// A running pod that echoes on 19885.
    async fn echo_pod(&self, name: &str) -> PodHandle {
        let pod = self.sim.add_pod("default", name).await.unwrap();
        let listener = pod.listen(CONSOLE_PORT).await.unwrap();
        actix::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                actix::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        pod
    }

    fn spec(&self, pod: &str) -> TunnelSpec {
        let mut spec = TunnelSpec::new(self.dir.path().join("kubeconfig"), "sim", "default", pod);
        spec.cache_dir = Some(self.dir.path().join("cache"));
        spec
    }

    /// The server's defaults with the pinned kubectl.
    fn settings(&self) -> TunnelSettings {
        TunnelSettings {
            kubectl: self.kubectl.clone(),
            instance: format!("bench-{}", std::process::id()),
            ..TunnelSettings::default()
        }
    }

    async fn start_tunnel(
        &self,
        pod: &str,
    ) -> (actix::Addr<Tunnel>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log: TunnelLog = Arc::new(move |line: &str| {
            let _ = tx.send(line.to_string());
        });
        let tunnel = Tunnel::start(self.spec(pod), self.settings(), log, None)
            .await
            .expect("tunnel starts");
        (tunnel, rx)
    }

    /// Zuul's loop: `while ! kubectl …; do :; done` in its own process group.
    fn bare_loop(&self, pod: &str, port: u16, stdout: Stdio) -> std::process::Child {
        let spec = self.spec(pod);
        let script = format!(
            "while ! {} --kubeconfig={} --context=sim -n default port-forward pod/{pod} {port}:{CONSOLE_PORT}; do :; done",
            self.kubectl.display(),
            spec.kubeconfig.display(),
        );
        Command::new("/bin/sh")
            .args(["-c", &script])
            .env("KUBECACHEDIR", spec.cache_dir.unwrap())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("bare loop")
    }
}

async fn until(rx: &mut mpsc::UnboundedReceiver<String>, needle: &str) {
    while let Some(line) = rx.recv().await {
        if line.contains(needle) {
            return;
        }
    }
    panic!("log ended before {needle:?}");
}

/// Kills kubectl once each run has lived past the settle time (a healthy
/// forward), and times until the next run forwards.
async fn actor_restart_latency(sim: &Sim, samples: usize) -> Vec<Duration> {
    sim.echo_pod("restart-ours").await;
    let (tunnel, mut log) = sim.start_tunnel("restart-ours").await;
    let settled = sim.settings().settle + Duration::from_millis(100);
    let mut latencies = Vec::new();
    for run in 2..samples as u32 + 2 {
        tokio::time::sleep(settled).await;
        let status = tunnel.send(GetTunnelState).await.unwrap();
        let killed = Instant::now();
        kill(
            Pid::from_raw(status.kubectl_pid.unwrap() as i32),
            Signal::SIGKILL,
        )
        .unwrap();
        until(&mut log, &format!("kubectl run {run} forwarding")).await;
        latencies.push(killed.elapsed());
    }
    tunnel.send(CloseTunnel).await.unwrap();
    latencies
}

async fn bare_restart_latency(sim: &Sim, samples: usize) -> Vec<Duration> {
    sim.echo_pod("restart-zuul").await;
    // Zuul's reservation: bound with SO_REUSEADDR, never listening.
    let reserved =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    reserved.set_reuse_address(true).unwrap();
    reserved
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let port = reserved.local_addr().unwrap().as_socket().unwrap().port();
    let mut shell = sim.bare_loop("restart-zuul", port, Stdio::piped());
    let stdout = tokio::process::ChildStdout::from_std(shell.stdout.take().unwrap()).unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let forwarding = format!("Forwarding from 127.0.0.1:{port}");
    let mut until_forwarding = async || {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with(&forwarding) {
                return;
            }
        }
        panic!("the bare loop ended");
    };
    until_forwarding().await;
    let mut latencies = Vec::new();
    for _ in 0..samples {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let pid = child_of(shell.id()).expect("kubectl runs under the loop");
        let killed = Instant::now();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        until_forwarding().await;
        latencies.push(killed.elapsed());
    }
    stop(&mut shell);
    latencies
}

/// A child process of `parent`, found through /proc.
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| stat_fields(*pid).is_some_and(|f| f.get(1) == Some(&u64::from(parent))))
}

fn stop(shell: &mut std::process::Child) {
    let _ = killpg(Pid::from_raw(shell.id() as i32), Signal::SIGKILL);
    let _ = shell.wait();
}

/// `/proc/PID/stat` after the command name, as numbers (non-numbers as 0).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(
        after
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// The loop's own CPU plus that of every child it reaped, in ms.
fn cpu_ms(pid: u32) -> f64 {
    let fields = stat_fields(pid).expect("the loop runs");
    // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
    let ticks: u64 = fields[11..15].iter().sum();
    let per_second = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    ticks as f64 * 1000.0 / per_second
}

/// CPU (ms) over `window` from when the pod goes (the backoff's ramp
/// included), and the kubectl runs in it.
async fn actor_cpu_while_pod_gone(sim: &Sim, window: Duration) -> (f64, u32) {
    let pod = sim.echo_pod("gone-ours").await;
    let (tunnel, mut log) = sim.start_tunnel("gone-ours").await;
    let status = tunnel.send(GetTunnelState).await.unwrap();
    let loop_pid = status.pgid.unwrap() as u32;
    sim.sim.delete_pod(&pod).await.unwrap();
    // An idle forward does not notice the pod going (the next connection
    // would): end it, and count from when the loop has reaped it.
    kill(
        Pid::from_raw(status.kubectl_pid.unwrap() as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    until(&mut log, "kubectl run 1 ended").await;
    let before = cpu_ms(loop_pid);
    tokio::time::sleep(window).await;
    let used = cpu_ms(loop_pid) - before;
    let runs = tunnel.send(GetTunnelState).await.unwrap().runs - 1;
    tunnel.send(CloseTunnel).await.unwrap();
    (used, runs)
}

async fn bare_cpu_while_pod_gone(sim: &Sim, window: Duration) -> (f64, u64) {
    let mut shell = sim.bare_loop("gone-zuul", 0, Stdio::null());
    let before = Instant::now();
    tokio::time::sleep(window).await;
    let used = cpu_ms(shell.id());
    let elapsed = before.elapsed();
    let requests = sim
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/pods/gone-zuul"))
        .count();
    stop(&mut shell);
    (used * 60.0 / elapsed.as_secs_f64(), requests as u64)
}

/// Zuul reads kubectl's first line and never the rest: counts the round
/// trips that pass before the `Handling connection` lines fill the pipe and
/// kubectl blocks (a 2 s silence), up to `cap`.
async fn bare_connections_until_stall(sim: &Sim, cap: u32) -> u32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sim.echo_pod("stall-zuul").await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut shell = sim.bare_loop("stall-zuul", port, Stdio::piped());
    let stdout = tokio::process::ChildStdout::from_std(shell.stdout.take().unwrap()).unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next_line().await.unwrap().expect("a first line");
    assert!(first.starts_with("Forwarding from"), "{first}");
    let round_trip = async |n: u32| -> Option<()> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let payload = format!("s:{n}\n");
        stream.write_all(payload.as_bytes()).await.ok()?;
        stream.shutdown().await.ok()?;
        let mut back = Vec::new();
        let read = stream.read_to_end(&mut back);
        tokio::time::timeout(Duration::from_secs(2), read)
            .await
            .ok()?
            .ok()?;
        (back == payload.as_bytes()).then_some(())
    };
    let mut passed = 0;
    while passed < cap && round_trip(passed).await.is_some() {
        passed += 1;
    }
    stop(&mut shell);
    passed
}
