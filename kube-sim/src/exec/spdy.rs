//! Exec over SPDY/3.1 (`v4.channel.k8s.io`), which kubectl before 1.30 uses:
//! the client opens one stream per channel, named by its `streamtype`
//! header; the server ends stdout and stderr, then writes the `Status` on
//! the error stream and ends it.

use super::{exit_status, internal_error, spawn, ExecRequest};
use crate::netns::Netns;
use crate::spdy::{run_session, Stream, StreamWriter};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

/// The protocol this module speaks, answered in `X-Stream-Protocol-Version`.
pub const PROTOCOL: &str = "v4.channel.k8s.io";

/// Serves one exec over an upgraded SPDY connection.
pub async fn serve<IO>(io: IO, netns: Arc<Netns>, req: ExecRequest)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, mut streams) = mpsc::unbounded_channel::<Stream>();
    let handler = async {
        let mut wanted = vec!["error"];
        for (on, kind) in [
            (req.stdin, "stdin"),
            (req.stdout, "stdout"),
            (req.stderr, "stderr"),
        ] {
            if on {
                wanted.push(kind);
            }
        }
        let mut got: HashMap<String, Stream> = HashMap::new();
        while !wanted.iter().all(|k| got.contains_key(*k)) {
            let Some(stream) = streams.recv().await else {
                return;
            };
            if let Some(kind) = stream.headers.get("streamtype") {
                got.insert(kind.to_string(), stream);
            }
        }
        run(got, &netns, &req).await;
        // The client hangs up once it has the status; keep serving till then.
        while streams.recv().await.is_some() {}
    };
    tokio::select! {
        _ = run_session(io, tx) => {}
        _ = handler => {}
    }
}

async fn run(mut got: HashMap<String, Stream>, netns: &Netns, req: &ExecRequest) {
    let Some(error) = got.remove("error") else {
        return;
    };
    let mut child = match spawn(netns, req) {
        Ok(child) => child,
        Err(e) => {
            let status = internal_error(&e.to_string());
            error.writer.send(Bytes::from(status.to_string()));
            error.writer.finish();
            return;
        }
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let writer = |kind: &str| got.get(kind).map(|s| s.writer.clone());
    let (out_writer, err_writer) = (writer("stdout"), writer("stderr"));
    let feed = feed_stdin(got.remove("stdin"), stdin);
    let finished = async {
        tokio::join!(pump(stdout, out_writer), pump(stderr, err_writer));
        child.wait().await
    };
    let status = tokio::select! {
        status = finished => status,
        _ = feed => return,
    };
    let status = match status {
        Ok(status) => exit_status(&req.command, status),
        Err(e) => internal_error(&e.to_string()),
    };
    error.writer.send(Bytes::from(status.to_string()));
    error.writer.finish();
}

async fn pump(pipe: Option<impl AsyncRead + Unpin>, writer: Option<StreamWriter>) {
    let (Some(mut pipe), Some(writer)) = (pipe, writer) else {
        return;
    };
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        if !writer.send(Bytes::copy_from_slice(&buf[..n])) {
            return;
        }
    }
    writer.finish();
}

/// Copies the stdin stream into the child until it ends, then waits for
/// ever: only the command's exit ends an exec.
async fn feed_stdin(stream: Option<Stream>, pipe: Option<ChildStdin>) {
    if let (Some(mut stream), Some(mut pipe)) = (stream, pipe) {
        while let Some(bytes) = stream.incoming.recv().await {
            if pipe.write_all(&bytes).await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await
}
