//! Exec over the WebSocket channel protocol (v5, or v4 without stdin close):
//! each binary message starts with its channel, 0 stdin, 1 stdout, 2 stderr,
//! 3 the final `Status`, 255 close (`[255, 0]`: stdin is done). The SPDY
//! form older kubectl uses lives in `exec/spdy.rs`.

pub mod spdy;

use crate::api::upgrade::Ws;
use crate::netns::Netns;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const CLOSE: u8 = 255;

/// What the client asked to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// The argv, never empty.
    pub command: Vec<String>,
    /// Whether the client streams stdin.
    pub stdin: bool,
    /// Whether the client wants stdout.
    pub stdout: bool,
    /// Whether the client wants stderr.
    pub stderr: bool,
    /// v5 (close channel understood) rather than v4.
    pub v5: bool,
}

/// Starts the command inside the pod; unwanted output goes to /dev/null.
fn spawn(netns: &Netns, req: &ExecRequest) -> std::io::Result<Child> {
    let pipe_if = |wanted| {
        if wanted {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    let (program, args) = req
        .command
        .split_first()
        .ok_or_else(|| std::io::Error::other("no command given"))?;
    netns
        .command(program)
        .args(args)
        .stdin(pipe_if(req.stdin))
        .stdout(pipe_if(req.stdout))
        .stderr(pipe_if(req.stderr))
        .spawn()
}

/// Runs the command inside the pod's netns, streaming its output, and ends
/// with the exit status on channel 3, then a close frame.
pub async fn serve(ws: Ws, netns: Arc<Netns>, req: ExecRequest) {
    let (mut sink, mut incoming) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = async move {
        while let Some(msg) = out_rx.recv().await {
            if sink.send(msg).await.is_err() {
                return;
            }
        }
        // A close without a code reads as an error to kubectl; 1000 is EOF.
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = sink.send(Message::Close(Some(normal))).await;
    };
    let session = async move {
        let mut child = match spawn(&netns, &req) {
            Ok(child) => child,
            Err(e) => {
                let _ = out.send(status_message(&internal_error(&e.to_string())));
                return;
            }
        };
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let run = async {
            tokio::join!(pump(stdout, STDOUT, &out), pump(stderr, STDERR, &out));
            child.wait().await
        };
        tokio::select! {
            status = run => {
                let status = match status {
                    Ok(status) => exit_status(&req.command, status),
                    Err(e) => internal_error(&e.to_string()),
                };
                let _ = out.send(status_message(&status));
            }
            // The client left: dropping the child kills it.
            _ = feed_stdin(&mut incoming, stdin, req.v5) => {}
        }
    };
    tokio::join!(writer, session);
}

async fn pump(
    pipe: Option<impl AsyncRead + Unpin>,
    channel: u8,
    out: &mpsc::UnboundedSender<Message>,
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = pipe.read(&mut buf).await {
        let mut msg = Vec::with_capacity(n + 1);
        msg.push(channel);
        msg.extend_from_slice(&buf[..n]);
        if out.send(Message::Binary(msg)).is_err() {
            return;
        }
    }
}

/// Feeds channel 0 to the child; returns only when the client goes away.
async fn feed_stdin(incoming: &mut SplitStream<Ws>, mut stdin: Option<ChildStdin>, v5: bool) {
    while let Some(Ok(msg)) = incoming.next().await {
        match msg {
            Message::Binary(b) => match b.split_first() {
                Some((&STDIN, data)) if !data.is_empty() => {
                    if let Some(pipe) = stdin.as_mut() {
                        if pipe.write_all(data).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                Some((&CLOSE, [STDIN])) if v5 => stdin = None,
                _ => {}
            },
            Message::Close(_) => return,
            _ => {}
        }
    }
}

fn status_message(status: &Value) -> Message {
    let mut msg = vec![STATUS];
    msg.extend_from_slice(status.to_string().as_bytes());
    Message::Binary(msg)
}

/// The `Status` the kubelet reports for a finished command.
pub fn exit_status(command: &[String], status: ExitStatus) -> Value {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {}, "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
            command.join(" ")
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// The `Status` for a command that could not run at all.
pub fn internal_error(message: &str) -> Value {
    json!({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500})
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_non_zero_exit_is_reported_with_its_code_as_the_kubelet_does() {
        // given a command that exited 3
        let cmd = vec!["sh".to_string(), "-c".into(), "exit 3".into()];
        // when its status is built
        let status = exit_status(&cmd, ExitStatus::from_raw(3 << 8));
        // then kubectl finds reason and code where it looks
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(status["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(status["details"]["causes"][0]["message"], "3");
    }

    #[test]
    fn a_zero_exit_is_success_and_a_signal_counts_as_128_plus_it() {
        // given one command that succeeded and one killed by SIGKILL
        let ok = exit_status(&[], ExitStatus::from_raw(0));
        let killed = exit_status(&[], ExitStatus::from_raw(9));
        // then they read Success and exit code 137
        assert_eq!(ok["status"], "Success");
        assert_eq!(killed["details"]["causes"][0]["message"], "137");
    }
}
