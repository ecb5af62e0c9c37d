//! The Tunnel actor: one per (build, pod). It keeps a `kubectl port-forward`
//! to the pod's console port alive on a local port it reserves for its whole
//! life, and stops everything it started when it stops.
//!
//! | module | what it holds |
//! |---|---|
//! | [`spec`] | the target pod, the settings, the start error |
//! | [`message`] | messages, state and metrics |
//! | `reservation` | the bound, never-listening socket that holds the port |
//! | `script` | the bash restart loop and how it is spawned |
//! | `output` | reading the loop's lines and classifying each run's exit |
//! | `supervise` | what the actor does with each line |
//! | `stop` | the stop sequence: kill, reap, drain, log, release |
//! | [`reap`] | /proc scans: leftovers of a crashed server, group members |

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot};

pub mod message;
mod output;
pub mod reap;
mod reservation;
mod script;
pub mod spec;
mod stop;
mod supervise;

pub use message::{
    CloseReason, CloseTunnel, ExitClass, GetTunnelState, TunnelClosed, TunnelState, TunnelStatus,
};
pub use reap::{live_group_members, marked_processes, reap_leftover_tunnels, tunnel_processes};
pub use script::MARKER_VAR;
pub use spec::{TunnelError, TunnelSettings, TunnelSpec, CONSOLE_PORT, DEFAULT_KUBECTL};

use output::Run;
use reservation::Reservation;

/// Where a tunnel writes its build-log lines (a build wraps its `BuildLog`).
pub type TunnelLog = Arc<dyn Fn(&str) + Send + Sync>;

/// How start learns that the first forward is up, or why it never will be.
type ReadySender = oneshot::Sender<Result<(), TunnelStatus>>;

/// Keeps one kubectl port-forward alive; see the module docs.
pub struct Tunnel {
    /// Whom it forwards to.
    spec: TunnelSpec,
    settings: TunnelSettings,
    /// The build's log.
    log: TunnelLog,
    /// Told when the tunnel has stopped; its disconnection means the build ended.
    parent: Option<Recipient<TunnelClosed>>,
    /// Held from start until the group is reaped; released last.
    reservation: Option<Reservation>,
    port: u16,
    /// The loop's leader; the stop sequence takes it.
    child: Option<Child>,
    /// The loop's process group; cleared only once it is gone.
    pgid: Option<Pid>,
    /// `up N` lines for the loop's stdin; dropping it tells the loop we are gone.
    acks: Option<mpsc::UnboundedSender<String>>,
    state: TunnelState,
    run: Run,
    connections: u64,
    exits: BTreeMap<ExitClass, u32>,
    last_exit: Option<ExitClass>,
    /// kubectl's last lines, for the stop log and start errors.
    tail: VecDeque<String>,
    /// stdout and stderr readers still open.
    open_streams: u8,
    /// Woken when both readers hit EOF.
    drained: Vec<oneshot::Sender<()>>,
    ready: Option<ReadySender>,
    closing: Option<CloseReason>,
    /// `CloseTunnel` callers waiting for the end of the stop sequence.
    close_waiters: Vec<oneshot::Sender<()>>,
}

/// How many of kubectl's lines a tunnel keeps.
const TAIL_LINES: usize = 20;

impl Tunnel {
    /// Checks kubectl and the kubeconfig, reserves a port, starts the restart
    /// loop and waits until kubectl forwards it; on failure everything
    /// started is stopped first.
    ///
    /// Call it on a long-lived arbiter thread (see `script::spawn_loop`).
    pub async fn start(
        spec: TunnelSpec,
        settings: TunnelSettings,
        log: TunnelLog,
        parent: Option<Recipient<TunnelClosed>>,
    ) -> Result<Addr<Tunnel>, TunnelError> {
        let began = Instant::now();
        spec::check_inputs(&spec, &settings)?;
        let reservation = Reservation::new().map_err(TunnelError::Reserve)?;
        let port = reservation.port();
        let child =
            script::spawn_loop(&spec, &settings, port).map_err(|source| TunnelError::Spawn {
                shell: settings.shell.clone(),
                source,
            })?;
        let (ready_tx, mut ready_rx) = oneshot::channel();
        let (target, ready_timeout) = (spec.target(), settings.ready_timeout);
        let tunnel = Tunnel::new(spec, settings, log, parent, reservation);
        let addr = Tunnel::create(move |ctx| tunnel.attach(child, ready_tx, ctx));
        let failed = match tokio::time::timeout(ready_timeout, &mut ready_rx).await {
            Ok(Ok(Ok(()))) => return Ok(addr),
            Ok(Ok(Err(status))) => Some(status),
            Ok(Err(_)) => None,
            Err(_elapsed) => {
                let _ = addr.send(stop::Shutdown(CloseReason::NotReady)).await;
                ready_rx.await.ok().and_then(Result::err)
            }
        };
        let failed = failed.unwrap_or_else(|| Self::blank_status(port));
        Err(TunnelError::NotReady {
            target,
            port,
            waited_ms: began.elapsed().as_millis(),
            last_exit: failed.last_exit,
            last_lines: failed.last_lines,
        })
    }

    fn new(
        spec: TunnelSpec,
        settings: TunnelSettings,
        log: TunnelLog,
        parent: Option<Recipient<TunnelClosed>>,
        reservation: Reservation,
    ) -> Tunnel {
        Tunnel {
            spec,
            settings,
            log,
            parent,
            port: reservation.port(),
            reservation: Some(reservation),
            child: None,
            pgid: None,
            acks: None,
            state: TunnelState::Starting,
            run: Run::default(),
            connections: 0,
            exits: BTreeMap::new(),
            last_exit: None,
            tail: VecDeque::new(),
            open_streams: 0,
            drained: Vec::new(),
            ready: None,
            closing: None,
            close_waiters: Vec::new(),
        }
    }

    /// Wires the loop's pipes to the actor: both outputs read for the
    /// tunnel's whole life (an undrained pipe freezes kubectl), stdin fed by
    /// a writer task.
    fn attach(mut self, mut child: Child, ready: ReadySender, ctx: &mut Context<Self>) -> Self {
        self.pgid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw);
        if let Some(stdout) = child.stdout.take() {
            ctx.add_stream(supervise::lines_of(stdout));
            self.open_streams += 1;
        }
        if let Some(stderr) = child.stderr.take() {
            ctx.add_stream(supervise::lines_of(stderr));
            self.open_streams += 1;
        }
        if let Some(stdin) = child.stdin.take() {
            self.acks = Some(spawn_ack_writer(stdin));
        }
        self.child = Some(child);
        self.ready = Some(ready);
        self
    }

    fn status(&self) -> TunnelStatus {
        TunnelStatus {
            port: self.port,
            state: self.state.clone(),
            runs: self.run.number,
            restarts: self.run.number.saturating_sub(1),
            connections: self.connections,
            exits: self.exits.clone(),
            last_exit: self.last_exit,
            kubectl_pid: self.run.pid,
            pgid: self.pgid.map(Pid::as_raw),
            last_lines: self.tail.iter().cloned().collect(),
        }
    }

    fn blank_status(port: u16) -> TunnelStatus {
        TunnelStatus {
            port,
            state: TunnelState::Stopped,
            runs: 0,
            restarts: 0,
            connections: 0,
            exits: BTreeMap::new(),
            last_exit: None,
            kubectl_pid: None,
            pgid: None,
            last_lines: Vec::new(),
        }
    }

    /// Writes one line to the build log.
    fn say(&self, text: &str) {
        tracing::debug!(tunnel.port = self.port, build.uuid = %self.spec.build, "{text}");
        (self.log)(&format!("[tunnel 127.0.0.1:{}] {text}", self.port));
    }

    fn remember(&mut self, line: &str) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_string());
    }
}

/// Feeds the loop's stdin; ends, closing it, when the actor drops the sender.
fn spawn_ack_writer(mut stdin: ChildStdin) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    actix::spawn(async move {
        while let Some(line) = rx.recv().await {
            if stdin.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    tx
}

impl Actor for Tunnel {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.say(&format!(
            "reserved; starting kubectl port-forward to {}",
            self.spec.target()
        ));
        ctx.run_interval(supervise::WATCH_EVERY, |act, ctx| {
            let parent_gone = act.parent.as_ref().is_some_and(|p| !p.connected());
            if !ctx.connected() || parent_gone {
                act.shutdown(CloseReason::Orphaned, ctx);
            }
        });
    }

    fn stopping(&mut self, ctx: &mut Self::Context) -> Running {
        // Without a runtime (the system is being torn down) nothing async can
        // run: `Drop` kills the group synchronously instead.
        if self.state == TunnelState::Stopped || tokio::runtime::Handle::try_current().is_err() {
            return Running::Stop;
        }
        self.shutdown(CloseReason::ActorStopped, ctx);
        Running::Continue
    }
}

impl Drop for Tunnel {
    /// The last resort when the actor is dropped without its stop sequence
    /// (e.g. its system shut down): kill the group before the port is released.
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            stop::kill_now(pgid, self.child.take());
        }
    }
}

impl Handler<GetTunnelState> for Tunnel {
    type Result = MessageResult<GetTunnelState>;

    fn handle(&mut self, _: GetTunnelState, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.status())
    }
}
