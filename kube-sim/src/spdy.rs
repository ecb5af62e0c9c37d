//! SPDY/3.1 framing, as spoken by kubectl's spdystream for port-forward.
//!
//! Frames are parsed in two steps: [`read_raw`] cuts the byte stream into
//! frames, [`Codec`] turns them into [`Frame`]s, inflating header blocks with
//! the one zlib context each direction keeps for the whole connection.

mod header;
mod session;

pub use header::{Codec, Headers};
pub use session::{run_session, Stream, StreamWriter};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Flag on DATA, SYN_STREAM and SYN_REPLY frames: the sender's half is closed.
pub const FLAG_FIN: u8 = 0x01;
const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
/// RST_STREAM status for a stream the server refuses.
pub const RST_REFUSED_STREAM: u32 = 3;

/// Errors of the SPDY layer.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// The connection failed underneath.
    #[error("spdy i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not SPDY/3.1.
    #[error("spdy protocol: {0}")]
    Protocol(String),
    /// A header block did not inflate or deflate.
    #[error("spdy header compression: {0}")]
    Compression(String),
}

/// One frame as it comes off the wire, before header blocks are inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The control frame type, or `None` for a DATA frame.
    pub control: Option<u16>,
    /// The frame's flags byte.
    pub flags: u8,
    /// The stream id of a DATA frame (0 for control frames).
    pub stream_id: u32,
    /// Everything after the 8-byte frame header.
    pub payload: Bytes,
}

/// A decoded SPDY frame; types the simulation does not act on are `Ignored`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The peer opens a stream.
    SynStream {
        /// The new stream's id (odd: client-initiated).
        stream_id: u32,
        /// The frame's flags (FIN: opened half-closed).
        flags: u8,
        /// The stream's headers, names lowercase.
        headers: Headers,
    },
    /// The answer to a SYN_STREAM.
    SynReply {
        /// The stream answered.
        stream_id: u32,
        /// The frame's flags.
        flags: u8,
        /// Reply headers.
        headers: Headers,
    },
    /// A stream is aborted.
    RstStream {
        /// The stream aborted.
        stream_id: u32,
        /// The reason code.
        status: u32,
    },
    /// A liveness probe, echoed unchanged.
    Ping {
        /// The probe's id.
        id: u32,
    },
    /// The peer ends the session.
    GoAway {
        /// The last stream the sender processed.
        last_stream_id: u32,
    },
    /// Stream payload.
    Data {
        /// The stream the bytes belong to.
        stream_id: u32,
        /// The frame's flags (FIN: last bytes of this half).
        flags: u8,
        /// The bytes.
        payload: Bytes,
    },
    /// SETTINGS, WINDOW_UPDATE, HEADERS and unknown types: spdystream never
    /// needs an answer to them.
    Ignored {
        /// The control frame type.
        kind: u16,
    },
}

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
pub async fn read_raw<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<RawFrame>, SpdyError> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    r.read_exact(&mut head[1..]).await?;
    let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    let (control, stream_id) = if first & 0x8000_0000 != 0 {
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(SpdyError::Protocol(format!("version {version}, want 3")));
        }
        (Some((first & 0xffff) as u16), 0)
    } else {
        (None, first & 0x7fff_ffff)
    };
    Ok(Some(RawFrame {
        control,
        flags,
        stream_id,
        payload: payload.into(),
    }))
}

fn be32(b: &[u8], at: usize) -> Result<u32, SpdyError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| SpdyError::Protocol(format!("frame too short for a field at byte {at}")))
}

fn control_header(out: &mut Vec<u8>, kind: u16, flags: u8, len: usize) {
    out.extend_from_slice(&(0x8000u16 | VERSION).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
}

fn data_header(out: &mut Vec<u8>, stream_id: u32, flags: u8, len: usize) {
    out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_data_frame_is_cut_from_the_byte_stream_with_its_stream_and_flags() {
        // given a DATA frame for stream 5 with FIN and three bytes, then EOF
        let mut wire = Vec::new();
        data_header(&mut wire, 5, FLAG_FIN, 3);
        wire.extend_from_slice(b"abc");
        let mut r = &wire[..];
        // when it is read
        let frame = read_raw(&mut r).await.unwrap().unwrap();
        // then it carries the stream, flags and bytes, and the stream then ends cleanly
        assert_eq!(frame.control, None);
        assert_eq!((frame.stream_id, frame.flags), (5, FLAG_FIN));
        assert_eq!(&frame.payload[..], b"abc");
        assert!(read_raw(&mut r).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_control_frame_of_another_spdy_version_is_a_protocol_error() {
        // given a control frame claiming version 2
        let wire = [0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1];
        // when it is read, then it is refused
        let err = read_raw(&mut &wire[..]).await.unwrap_err();
        assert!(matches!(err, SpdyError::Protocol(_)), "{err}");
    }
}
