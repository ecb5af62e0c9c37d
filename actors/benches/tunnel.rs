//! Tunnel bench: restart latency after kubectl exits (p50/p99), and CPU time
//! per minute while the pod is gone, for the Tunnel actor's loop beside
//! Zuul's bare `while ! kubectl …; do :; done` measured the same way.
//! kubectl is the Python stand-in of the tests (see its header).
//!
//! Run: `cargo bench -p portcullis-actors --bench tunnel`
//! (TUNNEL_BENCH_SAMPLES, TUNNEL_BENCH_SECS adjust the effort).

#[allow(dead_code)]
#[path = "../tests/tunnel/standin.rs"]
mod standin;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::{sysconf, Pid, SysconfVar};
use portcullis_actors::tunnel::{
    CloseTunnel, GetTunnelState, Tunnel, TunnelLog, TunnelSettings, TunnelSpec,
};
use standin::{Behaviour, StandIn};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let samples = env_or("TUNNEL_BENCH_SAMPLES", 30) as usize;
    let window = Duration::from_secs(env_or("TUNNEL_BENCH_SECS", 20));
    actix::System::new().block_on(async move {
        let pod = echo_pod().await;
        let ours = actor_restart_latency(pod, samples).await;
        report("Tunnel actor loop", "restart latency after SIGKILL", &ours);
        let bare = bare_restart_latency(pod, samples).await;
        report("Zuul bare loop  ", "restart latency after SIGKILL", &bare);
        let ours = actor_cpu_while_pod_gone(pod, window).await;
        println!("Tunnel actor loop: CPU while the pod is gone: {:.0} ms per minute (over {window:?}, {} runs)", ours.0, ours.1);
        let bare = bare_cpu_while_pod_gone(pod, window.min(Duration::from_secs(5))).await;
        println!("Zuul bare loop  : CPU while the pod is gone: {:.0} ms per minute (over 5 s)", bare);
    });
}

fn report(who: &str, what: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{who}: {what}: p50 {:.1} ms, p99 {:.1} ms ({} samples)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        sorted.len()
    );
}

async fn echo_pod() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    actix::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            actix::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

fn settings(stand_in: &StandIn) -> TunnelSettings {
    TunnelSettings {
        kubectl: stand_in.kubectl.clone(),
        settle: Duration::from_millis(100),
        instance: format!("bench-{}", std::process::id()),
        ..TunnelSettings::default()
    }
}

async fn start(stand_in: &StandIn) -> (actix::Addr<Tunnel>, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let log: TunnelLog = Arc::new(move |line: &str| {
        let _ = tx.send(line.to_string());
    });
    let spec = TunnelSpec::new(stand_in.kubeconfig(), "ctx", "ns", "pod-a");
    let tunnel = Tunnel::start(spec, settings(stand_in), log, None)
        .await
        .expect("tunnel starts");
    (tunnel, rx)
}

async fn until(rx: &mut mpsc::UnboundedReceiver<String>, needle: &str) {
    while let Some(line) = rx.recv().await {
        if line.contains(needle) {
            return;
        }
    }
    panic!("log ended before {needle:?}");
}

/// Kills kubectl once each run has settled, and times until the next run forwards.
async fn actor_restart_latency(pod: SocketAddr, samples: usize) -> Vec<Duration> {
    let stand_in = StandIn::new(&Behaviour::forwarding_to(pod));
    let (tunnel, mut log) = start(&stand_in).await;
    let mut latencies = Vec::new();
    for run in 2..samples as u32 + 2 {
        // Past the settle time, as a healthy forward would be.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let pid = tunnel
            .send(GetTunnelState)
            .await
            .unwrap()
            .kubectl_pid
            .unwrap();
        let killed = Instant::now();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        until(&mut log, &format!("kubectl run {run} forwarding")).await;
        latencies.push(killed.elapsed());
    }
    tunnel.send(CloseTunnel).await.unwrap();
    latencies
}

/// Zuul's loop: `while ! kubectl …; do :; done`, output read line by line.
fn bare_loop(stand_in: &StandIn, port: u16, stdout: Stdio) -> std::process::Child {
    let spec = TunnelSpec::new(stand_in.kubeconfig(), "ctx", "ns", "pod-a");
    let script = format!(
        "while ! {} --kubeconfig={} --context=ctx -n ns port-forward pod/pod-a {port}:{}; do :; done",
        stand_in.kubectl.display(),
        spec.kubeconfig.display(),
        spec.remote_port
    );
    Command::new("/bin/sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("bare loop")
}

async fn bare_restart_latency(pod: SocketAddr, samples: usize) -> Vec<Duration> {
    let stand_in = StandIn::new(&Behaviour::forwarding_to(pod));
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let mut shell = bare_loop(&stand_in, port, Stdio::piped());
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
        let pid = newest_start_pid(&stand_in);
        let killed = Instant::now();
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        until_forwarding().await;
        latencies.push(killed.elapsed());
    }
    stop(&mut shell);
    latencies
}

fn newest_start_pid(stand_in: &StandIn) -> i32 {
    let starts = stand_in.starts();
    let last = starts.last().expect("a start");
    last.split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
        .expect("pid in start line")
}

fn stop(shell: &mut std::process::Child) {
    let _ = killpg(Pid::from_raw(shell.id() as i32), Signal::SIGKILL);
    let _ = shell.wait();
}

/// The loop's own CPU plus that of every child it reaped, in ms.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap())
        .collect();
    let ticks = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    fields.iter().sum::<u64>() as f64 * 1000.0 / ticks
}

async fn actor_cpu_while_pod_gone(pod: SocketAddr, window: Duration) -> (f64, u32) {
    let stand_in = StandIn::new(&Behaviour::forwarding_to(pod));
    let (tunnel, _log) = start(&stand_in).await;
    let status = tunnel.send(GetTunnelState).await.unwrap();
    let loop_pid = status.pgid.unwrap() as u32;
    stand_in.delete_pod();
    let before = cpu_ms(loop_pid);
    kill(
        Pid::from_raw(status.kubectl_pid.unwrap() as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    tokio::time::sleep(window).await;
    let used = cpu_ms(loop_pid) - before;
    let runs = tunnel.send(GetTunnelState).await.unwrap().runs;
    tunnel.send(CloseTunnel).await.unwrap();
    (used * 60.0 / window.as_secs_f64(), runs)
}

async fn bare_cpu_while_pod_gone(pod: SocketAddr, window: Duration) -> f64 {
    let stand_in = StandIn::new(&Behaviour::forwarding_to(pod));
    stand_in.delete_pod();
    let mut shell = bare_loop(&stand_in, 0, Stdio::null());
    tokio::time::sleep(window).await;
    let used = cpu_ms(shell.id());
    stop(&mut shell);
    used * 60.0 / window.as_secs_f64()
}
