//! The stop sequence: TERM the loop's group (its trap kills and reaps
//! kubectl), reap the loop, KILL any straggler, wait for the group to be
//! gone, drain the output, log kubectl's last lines, and only then release
//! the reserved port.

use std::process::ExitStatus;
use std::time::Duration;

use actix::fut::wrap_future;
use actix::prelude::*;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio::time::{sleep, timeout, Instant};

use super::message::{CloseReason, CloseTunnel, TunnelClosed, TunnelState};
use super::reap::live_group_members;
use super::Tunnel;

/// How long a stop waits for the group's last members to disappear.
const GONE_DEADLINE: Duration = Duration::from_secs(2);
/// How long a stop waits for EOF on the pipes: a process that left the
/// group (e.g. a setsid'd credential plugin) may hold them open.
const DRAIN_DEADLINE: Duration = Duration::from_secs(1);

/// Stops the tunnel for `reason`; sent by `Tunnel::start` when the first forward is late.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub(super) struct Shutdown(pub CloseReason);

impl Handler<Shutdown> for Tunnel {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.close_waiters.push(tx);
        self.shutdown(msg.0, ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<CloseTunnel> for Tunnel {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: CloseTunnel, ctx: &mut Context<Self>) -> Self::Result {
        <Self as Handler<Shutdown>>::handle(self, Shutdown(CloseReason::Requested), ctx)
    }
}

/// What killing the group found.
struct Reaped {
    loop_status: Option<ExitStatus>,
    left: Vec<u32>,
}

impl Tunnel {
    /// Starts the stop sequence once; later calls only wait for it.
    pub(super) fn shutdown(&mut self, reason: CloseReason, ctx: &mut Context<Self>) {
        if self.closing.is_some() {
            return;
        }
        tracing::debug!(tunnel.port = self.port, ?reason, "stopping tunnel");
        self.closing = Some(reason);
        self.state = TunnelState::Stopping;
        self.acks = None;
        let (child, pgid, grace) = (self.child.take(), self.pgid, self.settings.stop_grace);
        let reap = wrap_future::<_, Self>(kill_group(child, pgid, grace));
        ctx.spawn(
            reap.then(|reaped, act, _| {
                let drained = act.until_drained();
                wrap_future(async move {
                    let _ = timeout(DRAIN_DEADLINE, drained).await;
                    reaped
                })
            })
            .map(|reaped, act, ctx| act.finish_close(reaped, ctx)),
        );
    }

    fn until_drained(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if self.open_streams == 0 {
            let _ = tx.send(());
        } else {
            self.drained.push(tx);
        }
        rx
    }

    fn finish_close(&mut self, reaped: Reaped, ctx: &mut Context<Self>) {
        let reason = self.closing.unwrap_or(CloseReason::Requested);
        if !reaped.left.is_empty() {
            self.say(&format!(
                "processes {:?} of the tunnel's group outlived the stop",
                reaped.left
            ));
        }
        let status = reaped
            .loop_status
            .map_or("unknown".to_string(), |s| s.to_string());
        self.say(&format!(
            "stopped ({reason:?}); loop {status}; kubectl's last lines:"
        ));
        for line in &self.tail {
            self.say(&format!("  | {line}"));
        }
        self.pgid = None;
        if let Some(reservation) = self.reservation.take() {
            reservation.release();
        }
        self.state = TunnelState::Stopped;
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(self.status()));
        }
        self.close_waiters.drain(..).for_each(|tx| {
            let _ = tx.send(());
        });
        if let Some(parent) = &self.parent {
            parent.do_send(TunnelClosed {
                port: self.port,
                build: self.spec.build.clone(),
                reason,
            });
        }
        ctx.stop();
    }
}

async fn kill_group(mut child: Option<Child>, pgid: Option<Pid>, grace: Duration) -> Reaped {
    let Some(pgid) = pgid else {
        return Reaped {
            loop_status: None,
            left: Vec::new(),
        };
    };
    // ESRCH (the group is already gone) is fine at every step.
    let _ = killpg(pgid, Signal::SIGTERM);
    let mut loop_status = None;
    if let Some(child) = child.as_mut() {
        loop_status = match timeout(grace, child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                let _ = killpg(pgid, Signal::SIGKILL);
                child.wait().await.ok()
            }
        };
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    Reaped {
        loop_status,
        left: until_gone(pgid).await,
    }
}

/// Polls /proc until no live process is left in the group, up to a deadline.
async fn until_gone(pgid: Pid) -> Vec<u32> {
    let deadline = Instant::now() + GONE_DEADLINE;
    loop {
        let left = live_group_members(pgid.as_raw());
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// SIGKILLs the group at once and reaps the leader if it can within a
/// second; for `Drop`, where nothing can be awaited and the runtime may be gone.
pub(super) fn kill_now(pgid: Pid, child: Option<Child>) {
    let _ = killpg(pgid, Signal::SIGKILL);
    let Some(child) = child else { return };
    // tokio's own reaping needs its runtime, so reap with waitpid and keep
    // tokio from signalling a pid that may be reused by then.
    std::mem::forget(child);
    for _ in 0..1000 {
        match waitpid(pgid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(1)),
            Ok(_) | Err(_) => return,
        }
    }
    tracing::warn!(pgid = %pgid, "killed tunnel loop not reaped within a second");
}
