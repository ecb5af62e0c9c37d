//! The server side of one SPDY/3.1 connection: streams the client opens are
//! answered at once (as the kubelet does) and handed to the caller.

use super::{read_raw, Codec, Frame, Headers, SpdyError, FLAG_FIN, RST_REFUSED_STREAM};
use bytes::Bytes;
use std::collections::HashMap;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A stream the client opened.
pub struct Stream {
    /// Its id.
    pub id: u32,
    /// The headers of its SYN_STREAM (`streamtype`, `port`, `requestid`, ...).
    pub headers: Headers,
    /// The client's bytes; ends when the client half-closes or resets it.
    pub incoming: mpsc::UnboundedReceiver<Bytes>,
    /// Where the server's bytes for it go.
    pub writer: StreamWriter,
}

/// The sending half of a stream; cheap to clone.
#[derive(Clone, Debug)]
pub struct StreamWriter {
    id: u32,
    out: mpsc::UnboundedSender<Frame>,
}

impl StreamWriter {
    /// Queues bytes; false once the connection is gone.
    pub fn send(&self, payload: Bytes) -> bool {
        self.frame(0, payload)
    }

    /// Half-closes the server's side of the stream.
    pub fn finish(&self) -> bool {
        self.frame(FLAG_FIN, Bytes::new())
    }

    /// Aborts the stream.
    pub fn reset(&self) -> bool {
        self.out
            .send(Frame::RstStream {
                stream_id: self.id,
                status: RST_REFUSED_STREAM,
            })
            .is_ok()
    }

    fn frame(&self, flags: u8, payload: Bytes) -> bool {
        self.out
            .send(Frame::Data {
                stream_id: self.id,
                flags,
                payload,
            })
            .is_ok()
    }
}

/// Serves one SPDY connection until the client closes it or says GOAWAY.
/// Streams go to `streams`; frames still queued when the client leaves are
/// dropped, since there is no one left to read them.
pub async fn run_session<IO>(
    io: IO,
    streams: mpsc::UnboundedSender<Stream>,
) -> Result<(), SpdyError>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(io);
    let (out, out_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(wr, Codec::new()?, out_rx));
    let result = read_loop(&mut rd, Codec::new()?, &out, &streams).await;
    writer.abort();
    result
}

async fn read_loop<R: AsyncRead + Unpin>(
    rd: &mut R,
    mut codec: Codec,
    out: &mpsc::UnboundedSender<Frame>,
    streams: &mpsc::UnboundedSender<Stream>,
) -> Result<(), SpdyError> {
    let mut open: HashMap<u32, mpsc::UnboundedSender<Bytes>> = HashMap::new();
    while let Some(raw) = read_raw(rd).await? {
        match codec.decode(raw)? {
            Frame::SynStream {
                stream_id,
                flags,
                headers,
            } => {
                let _ = out.send(Frame::SynReply {
                    stream_id,
                    flags: 0,
                    headers: Headers::default(),
                });
                let (tx, incoming) = mpsc::unbounded_channel();
                if flags & FLAG_FIN == 0 {
                    open.insert(stream_id, tx);
                }
                let writer = StreamWriter {
                    id: stream_id,
                    out: out.clone(),
                };
                let stream = Stream {
                    id: stream_id,
                    headers,
                    incoming,
                    writer,
                };
                if let Err(refused) = streams.send(stream) {
                    refused.0.writer.reset();
                }
            }
            Frame::Data {
                stream_id,
                flags,
                payload,
            } => {
                if let Some(tx) = open.get(&stream_id) {
                    if !payload.is_empty() {
                        let _ = tx.send(payload);
                    }
                }
                if flags & FLAG_FIN != 0 {
                    open.remove(&stream_id);
                }
            }
            Frame::RstStream { stream_id, .. } => {
                open.remove(&stream_id);
            }
            Frame::Ping { id } => {
                let _ = out.send(Frame::Ping { id });
            }
            Frame::GoAway { .. } => break,
            Frame::SynReply { .. } | Frame::Ignored { .. } => {}
        }
    }
    Ok(())
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut codec: Codec,
    mut rx: mpsc::UnboundedReceiver<Frame>,
) -> Result<(), SpdyError> {
    let mut buf = Vec::new();
    while let Some(frame) = rx.recv().await {
        buf.clear();
        codec.encode(&frame, &mut buf)?;
        // Batch what is already queued so small frames share one write.
        while buf.len() < 64 * 1024 {
            let Ok(next) = rx.try_recv() else { break };
            codec.encode(&next, &mut buf)?;
        }
        wr.write_all(&buf).await?;
        wr.flush().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::RawFrame;
    use super::*;
    use tokio::io::{AsyncWriteExt, DuplexStream};

    async fn next_frame(rd: &mut DuplexStream, codec: &mut Codec) -> Frame {
        let raw: RawFrame = read_raw(rd).await.unwrap().unwrap();
        codec.decode(raw).unwrap()
    }

    async fn send(wr: &mut DuplexStream, codec: &mut Codec, frame: Frame) {
        let mut buf = Vec::new();
        codec.encode(&frame, &mut buf).unwrap();
        wr.write_all(&buf).await.unwrap();
    }

    #[tokio::test]
    async fn an_opened_stream_is_answered_handed_over_and_fed_until_fin() {
        // given a session served over an in-memory pipe
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (streams_tx, mut streams) = mpsc::unbounded_channel();
        tokio::spawn(run_session(server, streams_tx));
        let (mut enc, mut dec) = (Codec::new().unwrap(), Codec::new().unwrap());
        // when the client opens a data stream and sends bytes then FIN
        let headers = Headers(vec![("streamtype".into(), "data".into())]);
        let syn = Frame::SynStream {
            stream_id: 1,
            flags: 0,
            headers: headers.clone(),
        };
        send(&mut client, &mut enc, syn).await;
        let data = |flags, payload: &'static [u8]| Frame::Data {
            stream_id: 1,
            flags,
            payload: Bytes::from_static(payload),
        };
        send(&mut client, &mut enc, data(0, b"hi")).await;
        send(&mut client, &mut enc, data(FLAG_FIN, b"")).await;
        // then the server replies, and the handler sees the stream, its bytes, and the end
        let reply = next_frame(&mut client, &mut dec).await;
        assert!(
            matches!(reply, Frame::SynReply { stream_id: 1, .. }),
            "{reply:?}"
        );
        let mut stream = streams.recv().await.unwrap();
        assert_eq!(stream.headers, headers);
        assert_eq!(&stream.incoming.recv().await.unwrap()[..], b"hi");
        assert!(stream.incoming.recv().await.is_none());
        // and bytes the handler writes reach the client
        stream.writer.send(Bytes::from_static(b"yo"));
        assert_eq!(next_frame(&mut client, &mut dec).await, data(0, b"yo"));
    }

    #[tokio::test]
    async fn a_ping_is_echoed_with_its_id() {
        // given a session
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (streams_tx, _streams) = mpsc::unbounded_channel();
        tokio::spawn(run_session(server, streams_tx));
        let (mut enc, mut dec) = (Codec::new().unwrap(), Codec::new().unwrap());
        // when the client pings
        send(&mut client, &mut enc, Frame::Ping { id: 7 }).await;
        // then the same ping comes back
        assert_eq!(
            next_frame(&mut client, &mut dec).await,
            Frame::Ping { id: 7 }
        );
    }
}
