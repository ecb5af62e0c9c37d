//! What the Tunnel actor does with each line of its loop: track runs, check
//! each Forwarding line against the reserved port, classify and count exits.

use std::time::Duration;

use actix::prelude::*;
use futures_util::stream::{self, Stream};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::message::{CloseReason, ExitClass, TunnelState};
use super::output::{self, LoopLine, Run};
use super::Tunnel;

/// How often a tunnel checks whether its build (every address, the parent) is gone.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);

/// A pipe's lines, lossy UTF-8, until EOF.
pub fn lines_of<R: AsyncRead + Unpin + 'static>(reader: R) -> impl Stream<Item = String> {
    stream::unfold(BufReader::new(reader), |mut reader| async move {
        let mut bytes = Vec::new();
        match reader.read_until(b'\n', &mut bytes).await {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let text = String::from_utf8_lossy(&bytes).trim_end().to_string();
                Some((text, reader))
            }
        }
    })
}

impl StreamHandler<String> for Tunnel {
    fn handle(&mut self, line: String, _: &mut Context<Self>) {
        self.on_line(&line);
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.open_streams = self.open_streams.saturating_sub(1);
        if self.open_streams > 0 {
            return;
        }
        self.drained.drain(..).for_each(|tx| {
            let _ = tx.send(());
        });
        if self.closing.is_none() {
            self.say("the restart loop ended on its own");
            self.shutdown(CloseReason::LoopDied, ctx);
        }
    }
}

impl Tunnel {
    fn on_line(&mut self, line: &str) {
        let parsed = output::parse(line);
        if parsed != LoopLine::Handling {
            self.remember(line);
        }
        match parsed {
            LoopLine::RunStarted { run, pid } => self.run = Run::started(run, pid),
            LoopLine::Forwarding { host, port, remote } => self.on_forwarding(host, port, remote),
            LoopLine::Handling => self.connections += 1,
            LoopLine::RunEnded {
                run,
                status,
                lived_ms,
                next_ms,
            } => self.on_run_ended(run, status, lived_ms, next_ms),
            LoopLine::Said(text) => {
                self.run.observe(text);
                self.say(&format!("kubectl: {text}"));
            }
        }
    }

    fn on_forwarding(&mut self, host: &str, port: u16, remote: u16) {
        if port != self.port || remote != self.spec.remote_port {
            self.say(&format!(
                "kubectl run {} forwards {host}:{port} -> {remote}, not the reserved 127.0.0.1:{} -> {}",
                self.run.number, self.port, self.spec.remote_port
            ));
            self.degrade("kubectl forwards another port than the reserved one");
            return;
        }
        if self.run.forwarded {
            return;
        }
        self.run.forwarded = true;
        if let Some(acks) = &self.acks {
            let _ = acks.send(format!("up {}\n", self.run.number));
        }
        if self.closing.is_some() {
            return;
        }
        self.say(&format!(
            "kubectl run {} forwarding {host}:{port} -> {}",
            self.run.number,
            self.spec.target()
        ));
        self.state = TunnelState::Up;
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
    }

    fn on_run_ended(&mut self, run: u32, status: i32, lived_ms: u64, next_ms: u64) {
        let class = self.run.classify(status);
        *self.exits.entry(class).or_default() += 1;
        self.last_exit = Some(class);
        self.run.pid = None;
        if self.closing.is_some() {
            return;
        }
        self.say(&format!(
            "kubectl run {run} ended after {lived_ms} ms with status {status} ({}); next run in {next_ms} ms",
            class.name()
        ));
        if class == ExitClass::PortTaken {
            self.degrade("another process took the reserved port; retrying with backoff");
        } else if self.state == TunnelState::Up {
            self.state = TunnelState::Starting;
        }
    }

    /// Marks the tunnel degraded, saying so in the build log once per episode.
    fn degrade(&mut self, reason: &str) {
        if matches!(self.state, TunnelState::Degraded(_)) {
            return;
        }
        self.say(&format!("degraded: {reason}"));
        self.state = TunnelState::Degraded(reason.to_string());
    }
}
