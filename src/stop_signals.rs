//! The signals that stop a long-running command (`serve`, `tunnel`). They are
//! listened for before the command starts anything: until a handler is
//! installed, a signal takes its default action (the process dies with
//! nothing cleaned up) or, when the parent ignored it, is lost.

use anyhow::Context as _;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How a stop was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRequest {
    /// SIGTERM: requests in flight may finish.
    Graceful,
    /// SIGINT or SIGQUIT: stop at once.
    Now,
}

/// Handlers for SIGINT, SIGTERM and SIGQUIT.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    quit: Signal,
}

impl StopSignals {
    /// Installs the handlers; from then on these signals wait for [`recv`](Self::recv).
    pub fn install() -> anyhow::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            quit: signal(SignalKind::quit()).context("SIGQUIT handler")?,
        })
    }

    /// Waits for the first stop signal, including one that came before the call.
    pub async fn recv(&mut self) -> StopRequest {
        tokio::select! {
            _ = self.terminate.recv() => StopRequest::Graceful,
            _ = self.interrupt.recv() => StopRequest::Now,
            _ = self.quit.recv() => StopRequest::Now,
        }
    }
}
