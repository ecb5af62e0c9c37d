//! Port-forward over SPDY, the kubelet's way: per forwarded connection the
//! client opens an `error` and a `data` stream sharing a `requestid`; the
//! server dials the port inside the pod and splices bytes. The kube crate's
//! WebSocket channel form lives in `portforward/websocket.rs`.

pub mod websocket;

use crate::netns::Netns;
use crate::spdy::{run_session, Stream, StreamWriter};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// containerd gives the second direction this long once the first has ended.
const LINGER: Duration = Duration::from_secs(1);
/// DATA frames carry at most this much.
const CHUNK: usize = 16 * 1024;

/// The pod a session forwards into.
#[derive(Clone, Debug)]
pub struct Target {
    /// The pod's network namespace.
    pub netns: Arc<Netns>,
    /// `namespace/name`, for messages.
    pub pod: String,
}

#[derive(Default)]
struct Pair {
    error: Option<Stream>,
    data: Option<Stream>,
}

/// Serves one port-forward connection until the client closes it. Every
/// forwarded connection ends with it.
pub async fn serve<IO>(io: IO, target: Target)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, mut streams) = mpsc::unbounded_channel::<Stream>();
    let pairing = async {
        let mut pending: HashMap<String, Pair> = HashMap::new();
        let mut forwards = JoinSet::new();
        while let Some(stream) = streams.recv().await {
            let Some(request) = stream.headers.get("requestid").map(str::to_string) else {
                stream.writer.reset();
                continue;
            };
            let pair = pending.entry(request.clone()).or_default();
            match stream.headers.get("streamtype") {
                Some("error") => pair.error = Some(stream),
                Some("data") => pair.data = Some(stream),
                _ => {
                    stream.writer.reset();
                }
            }
            if pair.error.is_some() && pair.data.is_some() {
                if let Some(Pair {
                    error: Some(error),
                    data: Some(data),
                }) = pending.remove(&request)
                {
                    forwards.spawn(forward(error, data, target.clone()));
                }
            }
            while forwards.try_join_next().is_some() {}
        }
    };
    tokio::select! {
        result = run_session(io, tx) => {
            if let Err(e) = result {
                eprintln!("kube-sim: port-forward session to {} ended: {e}", target.pod);
            }
        }
        _ = pairing => {}
    }
}

/// One forwarded connection: dial, splice, and report a failed dial on the
/// error stream (which makes kubectl 1.23+ print "lost connection to pod").
async fn forward(error: Stream, data: Stream, target: Target) {
    let port = data
        .headers
        .get("port")
        .or_else(|| error.headers.get("port"))
        .and_then(|p| p.parse::<u16>().ok());
    let Some(port) = port else {
        error
            .writer
            .send(Bytes::from("invalid or missing port header"));
        error.writer.finish();
        data.writer.finish();
        return;
    };
    match target.netns.connect(port).await {
        Ok(tcp) => splice(tcp, data, &error.writer).await,
        Err(e) => {
            let message = format!(
                "error forwarding port {port} to pod {}, uid : {e}",
                target.netns.name()
            );
            error.writer.send(Bytes::from(message));
            error.writer.finish();
            data.writer.finish();
        }
    }
}

/// Copies both ways. When the pod closes, both streams end at once so the
/// client sees EOF promptly; when the client closes first, the pod gets a
/// half-close and [`LINGER`] to finish, as with containerd.
async fn splice(tcp: TcpStream, data: Stream, error: &StreamWriter) {
    let (mut pod_rd, mut pod_wr) = tcp.into_split();
    let Stream {
        mut incoming,
        writer,
        ..
    } = data;
    let up = async move {
        while let Some(bytes) = incoming.recv().await {
            if pod_wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = pod_wr.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; CHUNK];
        while let Ok(n @ 1..) = pod_rd.read(&mut buf).await {
            if !writer.send(Bytes::copy_from_slice(&buf[..n])) {
                break;
            }
        }
        writer.finish();
        error.finish();
    };
    tokio::pin!(up, down);
    tokio::select! {
        _ = &mut down => up.await,
        _ = &mut up => {
            if tokio::time::timeout(LINGER, &mut down).await.is_err() {
                writer.finish();
                error.finish();
            }
        }
    }
}
