//! A minimal websocket client for the tests: enough of RFC 6455 to send
//! masked text and pings and read the server's unfragmented frames.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A frame from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A close frame with its code and reason.
    Close(u16, String),
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
}

/// One open websocket connection.
pub struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    /// Opens `path` on `addr`; fails with the HTTP status line when not upgraded.
    pub async fn connect(addr: SocketAddr, path: &str) -> Result<WsClient, String> {
        WsClient::connect_as(addr, path, None).await
    }

    /// [`connect`](Self::connect), with `token` as bearer when there is one.
    pub async fn connect_as(
        addr: SocketAddr,
        path: &str,
        token: Option<&str>,
    ) -> Result<WsClient, String> {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let authorization = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{authorization}\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.map_err(|e| e.to_string())?);
        }
        let head = String::from_utf8_lossy(&head);
        let status = head.lines().next().unwrap_or("").to_string();
        if status.contains(" 101 ") {
            Ok(WsClient { stream })
        } else {
            Err(status)
        }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) {
        self.send(0x1, text.as_bytes()).await;
    }

    /// Sends a ping.
    pub async fn send_ping(&mut self, payload: &[u8]) {
        self.send(0x9, payload).await;
    }

    async fn send(&mut self, opcode: u8, payload: &[u8]) {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("a frame sent");
    }

    /// The next frame; `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<Frame> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => u64::from(self.stream.read_u16().await.ok()?),
            127 => self.stream.read_u64().await.ok()?,
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).ok()?];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(match head[0] & 0x0f {
            0x1 => Frame::Text(String::from_utf8_lossy(&payload).into_owned()),
            0x8 if payload.len() >= 2 => Frame::Close(
                u16::from_be_bytes([payload[0], payload[1]]),
                String::from_utf8_lossy(&payload[2..]).into_owned(),
            ),
            0x8 => Frame::Close(1005, String::new()),
            0x9 => Frame::Ping(payload),
            0xA => Frame::Pong(payload),
            other => panic!("unexpected opcode {other:#x}"),
        })
    }

    /// Every text until the close frame, joined; and the close frame.
    pub async fn text_until_close(&mut self) -> (String, Frame) {
        let mut text = String::new();
        loop {
            match self.recv().await {
                Some(Frame::Text(t)) => text.push_str(&t),
                Some(Frame::Ping(_)) | Some(Frame::Pong(_)) => {}
                Some(close) => return (text, close),
                None => panic!("connection dropped without a close frame after {text:?}"),
            }
        }
    }
}
