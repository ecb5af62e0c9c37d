//! `portcullis tunnel`, the real binary: the port on its first line of
//! stdout, forwarding, a clean exit 0 on SIGTERM, and nothing left after a SIGKILL.

use std::process::Stdio;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use portcullis_actors::tunnel::marked_processes;
use portcullis_integration_tests::server::server_binary;
use portcullis_integration_tests::tunnel_harness::{
    converse, kubectl, plain_bind, serve_greeting, within, Cluster, MarkedGuard, DEFAULT_KUBECTL,
    EVENT_DEADLINE,
};
use portcullis_integration_tests::wait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `portcullis tunnel` to pod `web`, its port, and its marker's guard.
struct CliTunnel {
    child: Child,
    port: u16,
    guard: MarkedGuard,
}

impl CliTunnel {
    /// Starts it and reads the port from its first line of stdout.
    async fn start(cluster: &Cluster) -> CliTunnel {
        let mut child = Command::new(server_binary())
            .arg("tunnel")
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .args(["--context", "sim", "--namespace", "default", "--pod", "web"])
            .arg("--kubectl")
            .arg(kubectl(DEFAULT_KUBECTL))
            .env("KUBECACHEDIR", cluster.cache_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start portcullis tunnel");
        let stdout = child.stdout.take().expect("stdout");
        let first = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("stdout");
        let first = first.expect("a first line of stdout");
        let port: u16 = first
            .parse()
            .unwrap_or_else(|_| panic!("not a port: {first:?}"));
        let pid = child.id().expect("running");
        let guard = MarkedGuard(format!("cli-{pid}/{port}"));
        CliTunnel { child, port, guard }
    }

    fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("running") as i32;
        kill(Pid::from_raw(pid), signal).expect("signal portcullis tunnel");
    }
}

// Zuul has no such command; for its loop (a new session, no parent-death
// signal) the SIGKILL case fails: the loop and kubectl run on and hold the port.
#[actix::test]
async fn portcullis_tunnel_prints_its_port_first_and_exits_0_on_sigterm_leaving_nothing() {
    prints_its_port_first_and_exits_0_on(Signal::SIGTERM).await;
}

#[actix::test]
async fn portcullis_tunnel_exits_0_on_sigint_leaving_nothing() {
    prints_its_port_first_and_exits_0_on(Signal::SIGINT).await;
}

async fn prints_its_port_first_and_exits_0_on(signal: Signal) {
    within(60, async {
        // given a pod with a console, and `portcullis tunnel` to it
        let cluster = Cluster::start().await;
        serve_greeting(&cluster.pod("web").await).await;
        let mut tunnel = CliTunnel::start(&cluster).await;
        // then the port on its first line forwards to the pod
        let (greeting, _) = converse(tunnel.port, "hi").await.expect("forwards");
        assert_eq!(greeting, "hello from web");
        assert_eq!(
            marked_processes(&tunnel.guard.0).len(),
            2,
            "the loop and kubectl"
        );
        // when it gets the signal
        tunnel.signal(signal);
        let status = tokio::time::timeout(EVENT_DEADLINE, tunnel.child.wait()).await;
        // then it exits 0, leaving no process and a free port, and says what kubectl said last
        let status = status.expect("exits in time").expect("wait");
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
        assert_eq!(marked_processes(&tunnel.guard.0), Vec::<u32>::new());
        plain_bind(tunnel.port).expect("the port is free again");
        let mut stderr = String::new();
        let mut pipe = tunnel.child.stderr.take().expect("stderr");
        pipe.read_to_string(&mut stderr).await.expect("stderr");
        let last = stderr.split("kubectl's last lines:").nth(1).expect(&stderr);
        let forwarding = format!("| Forwarding from 127.0.0.1:{} -> 19885", tunnel.port);
        assert!(last.contains(&forwarding), "{stderr}");
    })
    .await;
}

#[actix::test]
async fn a_sigkilled_portcullis_tunnel_leaves_no_process_behind() {
    within(60, async {
        // given `portcullis tunnel` forwarding to a pod
        let cluster = Cluster::start().await;
        serve_greeting(&cluster.pod("web").await).await;
        let mut tunnel = CliTunnel::start(&cluster).await;
        converse(tunnel.port, "hi").await.expect("forwards");
        // when it is SIGKILLed, with no chance to stop anything itself
        tunnel.signal(Signal::SIGKILL);
        tunnel.child.wait().await.expect("reaped");
        // then its loop gets the parent-death signal and ends kubectl with it
        let marker = tunnel.guard.0.clone();
        wait::until("the tunnel's processes to end", EVENT_DEADLINE, || async {
            marked_processes(&marker).is_empty().then_some(())
        })
        .await;
        let port = tunnel.port;
        wait::until("the port to be free", EVENT_DEADLINE, || async {
            plain_bind(port).ok()
        })
        .await;
    })
    .await;
}
