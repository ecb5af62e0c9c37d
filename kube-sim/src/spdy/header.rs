//! SPDY/3 header blocks and the per-direction zlib contexts that compress them.

use super::{
    be32, control_header, data_header, Frame, RawFrame, SpdyError, GOAWAY, HEADERS, PING,
    RST_STREAM, SYN_REPLY, SYN_STREAM,
};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// A header block: lowercase names and values, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of a header, by lowercase name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The words and text of the SPDY/3 compression dictionary (draft 3, §2.6.10.1).
const DICTIONARY_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];
const DICTIONARY_TAIL: &str = "100101201202205206300302303304305306307402405406407408409410411\
412413414415416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently\
400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not \
Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 \
Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,\
application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,\
deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/// The 1,423-byte dictionary: each word with a 4-byte length, then the tail.
fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in DICTIONARY_WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(DICTIONARY_TAIL.as_bytes());
    d
}

/// Both compression contexts of one side of a connection.
pub struct Codec {
    dictionary: Vec<u8>,
    deflate: Compress,
    inflate: Decompress,
}

impl Codec {
    /// Fresh contexts, as at the start of a SPDY connection.
    pub fn new() -> Result<Self, SpdyError> {
        let dictionary = dictionary();
        let mut deflate = Compress::new(Compression::default(), true);
        deflate
            .set_dictionary(&dictionary)
            .map_err(|e| SpdyError::Compression(e.to_string()))?;
        Ok(Self {
            dictionary,
            deflate,
            inflate: Decompress::new(true),
        })
    }

    /// Turns a raw frame into a frame, inflating any header block so that the
    /// inflate context stays in step with the peer's deflate context.
    pub fn decode(&mut self, raw: RawFrame) -> Result<Frame, SpdyError> {
        let p = &raw.payload;
        let Some(kind) = raw.control else {
            return Ok(Frame::Data {
                stream_id: raw.stream_id,
                flags: raw.flags,
                payload: raw.payload,
            });
        };
        Ok(match kind {
            SYN_STREAM => Frame::SynStream {
                stream_id: be32(p, 0)? & 0x7fff_ffff,
                flags: raw.flags,
                headers: self.inflate_block(p.get(10..).unwrap_or_default())?,
            },
            SYN_REPLY => Frame::SynReply {
                stream_id: be32(p, 0)? & 0x7fff_ffff,
                flags: raw.flags,
                headers: self.inflate_block(p.get(4..).unwrap_or_default())?,
            },
            HEADERS => {
                self.inflate_block(p.get(4..).unwrap_or_default())?;
                Frame::Ignored { kind }
            }
            RST_STREAM => Frame::RstStream {
                stream_id: be32(p, 0)? & 0x7fff_ffff,
                status: be32(p, 4)?,
            },
            PING => Frame::Ping { id: be32(p, 0)? },
            GOAWAY => Frame::GoAway {
                last_stream_id: be32(p, 0)? & 0x7fff_ffff,
            },
            kind => Frame::Ignored { kind },
        })
    }

    /// Serialises a frame, deflating its header block in this side's context.
    pub fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), SpdyError> {
        match frame {
            Frame::SynStream {
                stream_id,
                flags,
                headers,
            } => {
                let block = self.deflate_block(headers)?;
                control_header(out, SYN_STREAM, *flags, 10 + block.len());
                out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
                out.extend_from_slice(&block);
            }
            Frame::SynReply {
                stream_id,
                flags,
                headers,
            } => {
                let block = self.deflate_block(headers)?;
                control_header(out, SYN_REPLY, *flags, 4 + block.len());
                out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Frame::RstStream { stream_id, status } => {
                control_header(out, RST_STREAM, 0, 8);
                out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
                out.extend_from_slice(&status.to_be_bytes());
            }
            Frame::Ping { id } => {
                control_header(out, PING, 0, 4);
                out.extend_from_slice(&id.to_be_bytes());
            }
            Frame::GoAway { last_stream_id } => {
                control_header(out, GOAWAY, 0, 8);
                out.extend_from_slice(&last_stream_id.to_be_bytes());
                out.extend_from_slice(&0u32.to_be_bytes());
            }
            Frame::Data {
                stream_id,
                flags,
                payload,
            } => {
                data_header(out, *stream_id, *flags, payload.len());
                out.extend_from_slice(payload);
            }
            Frame::Ignored { kind } => {
                return Err(SpdyError::Protocol(format!(
                    "cannot send frame type {kind}"
                )))
            }
        }
        Ok(())
    }

    fn inflate_block(&mut self, input: &[u8]) -> Result<Headers, SpdyError> {
        let mut out = Vec::with_capacity(input.len() * 4 + 256);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(4096);
            }
            let before = self.inflate.total_in();
            let res = self
                .inflate
                .decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync);
            pos += (self.inflate.total_in() - before) as usize;
            match res {
                Ok(_) if pos >= input.len() && out.len() < out.capacity() => break,
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(&self.dictionary)
                        .map_err(|e| SpdyError::Compression(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Compression(e.to_string())),
            }
        }
        parse_block(&out)
    }

    fn deflate_block(&mut self, headers: &Headers) -> Result<Vec<u8>, SpdyError> {
        let plain = serialize_block(headers);
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(1024);
            }
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(&plain[pos..], &mut out, FlushCompress::Sync)
                .map_err(|e| SpdyError::Compression(e.to_string()))?;
            pos += (self.deflate.total_in() - before) as usize;
            if pos >= plain.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

fn serialize_block(headers: &Headers) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(headers.0.len() as u32).to_be_bytes());
    for (name, value) in &headers.0 {
        for s in [name, value] {
            b.extend_from_slice(&(s.len() as u32).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
    }
    b
}

fn parse_block(b: &[u8]) -> Result<Headers, SpdyError> {
    let count = be32(b, 0)?;
    let mut at = 4;
    let take = |at: &mut usize| -> Result<String, SpdyError> {
        let len = be32(b, *at)? as usize;
        let s = b
            .get(*at + 4..*at + 4 + len)
            .ok_or_else(|| SpdyError::Protocol("header block truncated".into()))?;
        *at += 4 + len;
        Ok(String::from_utf8_lossy(s).into_owned())
    };
    let mut pairs = Vec::new();
    for _ in 0..count {
        let name = take(&mut at)?.to_ascii_lowercase();
        let value = take(&mut at)?;
        pairs.push((name, value));
    }
    Ok(Headers(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_dictionary_is_the_standard_spdy3_one() {
        // given the dictionary built from its words and tail
        let d = dictionary();
        // then it has the standard length and the Adler-32 peers check in the zlib header
        assert_eq!(d.len(), 1423);
        let mut a = flate2::Compress::new(Compression::default(), true);
        assert_eq!(a.set_dictionary(&d).unwrap(), 0xe3c6_a7c2);
    }

    #[test]
    fn header_blocks_round_trip_across_one_context_per_direction() {
        // given a client and a server codec
        let (mut client, mut server) = (Codec::new().unwrap(), Codec::new().unwrap());
        for id in [1u32, 3, 5] {
            // when the client opens streams one after another
            let sent = Frame::SynStream {
                stream_id: id,
                flags: 0,
                headers: headers(&[("streamtype", "data"), ("port", "19885")]),
            };
            let mut wire = Vec::new();
            client.encode(&sent, &mut wire).unwrap();
            let raw = RawFrame {
                control: Some(SYN_STREAM),
                flags: wire[4],
                stream_id: 0,
                payload: wire[8..].to_vec().into(),
            };
            // then the server reads each with its headers intact
            assert_eq!(server.decode(raw).unwrap(), sent);
        }
    }

    #[test]
    fn a_truncated_header_block_is_an_error_not_a_panic() {
        // given a block announcing one pair but ending early
        let block = [0, 0, 0, 1, 0, 0, 0, 9, b'a'];
        // when parsed, then it fails cleanly
        assert!(parse_block(&block).is_err());
    }
}
