//! What every tunnel scenario needs: a pod (echo server), a stand-in, fast
//! settings, the tunnel's log as awaitable events, and a recording parent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use portcullis_actors::tunnel::{
    Tunnel, TunnelClosed, TunnelError, TunnelLog, TunnelSettings, TunnelSpec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::standin::{Behaviour, StandIn};

/// The longest any scenario waits for one event.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(10);

/// A "pod console": echoes every byte back, on 127.0.0.1.
pub async fn echo_pod() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("echo addr");
    actix::spawn(serve_echo(listener));
    addr
}

/// Echoes on an already bound listener, for a pod that starts listening late.
pub async fn serve_echo(listener: TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        actix::spawn(async move {
            let (mut reader, mut writer) = stream.split();
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        });
    }
}

/// Sends `payload` through `port` and returns what came back before EOF.
pub async fn round_trip(port: u16, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(payload).await?;
    stream.shutdown().await?;
    let mut back = Vec::new();
    timeout(EVENT_DEADLINE, stream.read_to_end(&mut back))
        .await
        .map_err(|_| std::io::Error::other("no reply in time"))??;
    Ok(back)
}

/// Settings for the stand-in: short pauses, no floor after a run that never
/// forwarded, a backoff reset after any forwarding run, and a marker of its own.
pub fn settings(stand_in: &StandIn) -> TunnelSettings {
    TunnelSettings {
        kubectl: stand_in.kubectl.clone(),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_secs(1),
        settle: Duration::ZERO,
        unforwarded_min_backoff: Duration::from_millis(20),
        ready_timeout: EVENT_DEADLINE,
        instance: format!("test-{}", uuid::Uuid::new_v4()),
        ..TunnelSettings::default()
    }
}

/// A spec for the stand-in's pod.
pub fn spec(stand_in: &StandIn) -> TunnelSpec {
    let mut spec = TunnelSpec::new(stand_in.kubeconfig(), "ctx", "ns", "pod-a");
    spec.build = "build-1".to_string();
    spec
}

/// The tunnel's build log, as a stream of lines a test can await.
pub struct LogLines {
    rx: mpsc::UnboundedReceiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
}

impl LogLines {
    /// A log sink and the lines it receives.
    pub fn new() -> (TunnelLog, LogLines) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log: TunnelLog = Arc::new(move |line: &str| {
            let _ = tx.send(line.to_string());
        });
        (
            log,
            LogLines {
                rx,
                seen: Vec::new(),
            },
        )
    }

    /// Waits for the next line containing `needle`; panics past the deadline.
    pub async fn until(&mut self, needle: &str) -> String {
        let wait = async {
            while let Some(line) = self.rx.recv().await {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            panic!("log closed before {needle:?}; saw {:#?}", self.seen)
        };
        match timeout(EVENT_DEADLINE, wait).await {
            Ok(line) => line,
            Err(_) => panic!("no log line with {needle:?} in time; saw {:#?}", self.seen),
        }
    }

    /// Takes every line already received.
    pub fn drain(&mut self) -> &[String] {
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}

/// A parent that records the `TunnelClosed` it is told.
pub struct Parent(pub mpsc::UnboundedSender<TunnelClosed>);

impl Actor for Parent {
    type Context = Context<Self>;
}

impl Handler<TunnelClosed> for Parent {
    type Result = ();

    fn handle(&mut self, msg: TunnelClosed, _: &mut Context<Self>) {
        let _ = self.0.send(msg);
    }
}

/// A started tunnel with everything a scenario looks at.
pub struct Given {
    /// The stand-in kubectl.
    pub stand_in: StandIn,
    /// The settings it was started with.
    pub settings: TunnelSettings,
    /// The tunnel's log.
    pub log: LogLines,
    /// What the parent was told.
    pub closed: mpsc::UnboundedReceiver<TunnelClosed>,
    /// The parent actor (held so it stays connected).
    pub parent: Addr<Parent>,
}

impl Given {
    /// A stand-in with `behaviour` and settings adjusted by `tune`, not started.
    pub fn new(behaviour: Behaviour, tune: impl FnOnce(&mut TunnelSettings)) -> Given {
        let stand_in = StandIn::new(&behaviour);
        let mut settings = settings(&stand_in);
        tune(&mut settings);
        let (tx, closed) = mpsc::unbounded_channel();
        let (_, log) = LogLines::new();
        Given {
            stand_in,
            settings,
            log,
            closed,
            parent: Parent(tx).start(),
        }
    }

    /// Starts the tunnel, with a fresh log.
    pub async fn start(&mut self) -> Result<Addr<Tunnel>, TunnelError> {
        let (sink, log) = LogLines::new();
        self.log = log;
        let parent = self.parent.clone().recipient();
        Tunnel::start(
            spec(&self.stand_in),
            self.settings.clone(),
            sink,
            Some(parent),
        )
        .await
    }
}
