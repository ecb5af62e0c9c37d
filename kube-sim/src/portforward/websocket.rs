//! Port-forward over the plain WebSocket channel protocol, as the kube
//! crate's `Api::<Pod>::portforward` speaks it: port *i* uses channel 2i for
//! data and 2i+1 for errors, and the server first sends each channel the port
//! as two little-endian bytes. The WebSocket closes when every port is done.

use super::Target;
use crate::api::upgrade::Ws;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

fn framed(channel: u8, bytes: &[u8]) -> Message {
    let mut msg = Vec::with_capacity(bytes.len() + 1);
    msg.push(channel);
    msg.extend_from_slice(bytes);
    Message::Binary(msg)
}

/// Forwards `ports` of the pod over one WebSocket until the pod side of
/// every port closes or the client leaves.
pub async fn serve(ws: Ws, target: Target, ports: Vec<u16>) {
    let (mut sink, mut incoming) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = async move {
        while let Some(msg) = out_rx.recv().await {
            if sink.send(msg).await.is_err() {
                return;
            }
        }
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = sink.send(Message::Close(Some(normal))).await;
    };
    let forwarding = async move {
        let mut pod_writers: Vec<Option<OwnedWriteHalf>> = Vec::new();
        let mut pumps = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let (data, err) = ((2 * i) as u8, (2 * i + 1) as u8);
            let _ = out.send(framed(data, &port.to_le_bytes()));
            let _ = out.send(framed(err, &port.to_le_bytes()));
            match target.netns.connect(*port).await {
                Ok(tcp) => {
                    let (rd, wr) = tcp.into_split();
                    pod_writers.push(Some(wr));
                    pumps.push(pump(rd, data, out.clone()));
                }
                Err(e) => {
                    let message = format!(
                        "error forwarding port {port} to pod {}, uid : {e}",
                        target.netns.name()
                    );
                    let _ = out.send(framed(err, message.as_bytes()));
                    pod_writers.push(None);
                }
            }
        }
        let client = async {
            while let Some(Ok(msg)) = incoming.next().await {
                match msg {
                    Message::Binary(b) => write_to_pod(&mut pod_writers, &b).await,
                    Message::Close(_) => return,
                    _ => {}
                }
            }
        };
        tokio::select! {
            _ = futures_util::future::join_all(pumps) => {}
            _ = client => {}
        }
    };
    tokio::join!(writer, forwarding);
}

async fn pump(
    mut rd: tokio::net::tcp::OwnedReadHalf,
    channel: u8,
    out: mpsc::UnboundedSender<Message>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = rd.read(&mut buf).await {
        if out.send(framed(channel, &buf[..n])).is_err() {
            return;
        }
    }
}

async fn write_to_pod(pod_writers: &mut [Option<OwnedWriteHalf>], msg: &[u8]) {
    let Some((&channel, data)) = msg.split_first() else {
        return;
    };
    if channel % 2 != 0 || data.is_empty() {
        return;
    }
    let Some(slot) = pod_writers.get_mut(usize::from(channel / 2)) else {
        return;
    };
    let failed = match slot {
        Some(wr) => wr.write_all(data).await.is_err(),
        None => false,
    };
    if failed {
        *slot = None;
    }
}
