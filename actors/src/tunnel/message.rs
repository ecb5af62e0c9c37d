//! The Tunnel actor's messages and the snapshot it answers with.

use std::collections::BTreeMap;

use actix::Message;

/// Asks a tunnel for its state. Sent by its build, the CLI and tests.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "TunnelStatus")]
pub struct GetTunnelState;

/// Stops a tunnel: kills the loop's process group, reaps it, logs kubectl's
/// last lines, then closes the reserved port. Answers once all that is done.
/// Sent by the build when it ends, and by the CLI on SIGINT or SIGTERM.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct CloseTunnel;

/// Tells the tunnel's parent that the tunnel has stopped and released its port.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct TunnelClosed {
    /// The port the tunnel held.
    pub port: u16,
    /// The build it served.
    pub build: String,
    /// Why it stopped.
    pub reason: CloseReason,
}

/// Why a tunnel stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A `CloseTunnel` message asked for it.
    Requested,
    /// Its first forward was not up in time.
    NotReady,
    /// Every address and the parent are gone: its build has ended.
    Orphaned,
    /// The restart loop itself died.
    LoopDied,
    /// The actor was stopped by its context (e.g. its arbiter stopping).
    ActorStopped,
}

/// Where a tunnel is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelState {
    /// Waiting for a kubectl run to forward (at start and after a run ended).
    Starting,
    /// A kubectl run forwards the reserved port.
    Up,
    /// Forwarding is impossible for now (e.g. another process took the
    /// port); the loop keeps retrying with backoff.
    Degraded(String),
    /// Stopping: the process group is being killed.
    Stopping,
    /// Stopped: nothing runs and the port is released.
    Stopped,
}

/// How one kubectl run ended, judged from its output and exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitClass {
    /// A forwarded connection found nothing listening in the pod.
    PodRefused,
    /// The pod does not exist or is not running.
    PodGone,
    /// The API server could not be reached.
    ApiDown,
    /// The forward's connection to the API server dropped.
    ConnectionLost,
    /// The local port was taken by another process.
    PortTaken,
    /// kubectl was killed by a signal.
    Killed,
    /// It exited 0 with nothing to say (kubectl 1.23–1.26 after a lost connection, or SIGINT).
    CleanExit,
    /// Anything else.
    Other,
}

impl ExitClass {
    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            ExitClass::PodRefused => "pod refused",
            ExitClass::PodGone => "pod gone",
            ExitClass::ApiDown => "API server down",
            ExitClass::ConnectionLost => "connection lost",
            ExitClass::PortTaken => "port taken",
            ExitClass::Killed => "killed",
            ExitClass::CleanExit => "exited 0",
            ExitClass::Other => "other",
        }
    }
}

/// A snapshot of one tunnel, with its metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelStatus {
    /// The reserved local port on 127.0.0.1.
    pub port: u16,
    /// Where it is in its life.
    pub state: TunnelState,
    /// kubectl runs started so far.
    pub runs: u32,
    /// Runs started after the first.
    pub restarts: u32,
    /// Connections kubectl reported handling.
    pub connections: u64,
    /// Ended runs per class.
    pub exits: BTreeMap<ExitClass, u32>,
    /// How the last ended run ended.
    pub last_exit: Option<ExitClass>,
    /// The pid of the current kubectl run, while one runs.
    pub kubectl_pid: Option<u32>,
    /// The loop's process group, while it runs.
    pub pgid: Option<i32>,
    /// kubectl's last lines (connection lines left out).
    pub last_lines: Vec<String>,
}
