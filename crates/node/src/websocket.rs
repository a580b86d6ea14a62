//! WebSocket (RFC 6455), sans-I/O: the opening handshake's checks and accept key, and
//! frame encoding and decoding for either end. The streaming server (`streaming`) does
//! the I/O; the API server only splices upgraded connections and never parses frames.
//!
//! What is supported: the base protocol with no extensions (RSV bits must be clear),
//! masked client frames and unmasked server frames, text, binary, close, ping and pong,
//! fragmented messages (control frames may arrive between fragments), and a limit on
//! the size of one message.

use base64::Engine;
use bytes::{Buf, BytesMut};
use http::{header, HeaderMap};

/// The GUID of RFC 6455 section 1.3, appended to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for the client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key.trim().as_bytes());
    ctx.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ctx.finish())
}

/// Whether the header value is a comma-separated list holding `token` (any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Whether a request asks to upgrade to WebSocket (`Upgrade: websocket` and a
/// `Connection` header naming `upgrade`), as upstream's IsWebSocketRequest.
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket") && has_token(headers, header::CONNECTION, "upgrade")
}

/// Why a WebSocket opening handshake cannot be accepted (answered as 400).
pub fn check_request(headers: &HeaderMap) -> Result<&str, String> {
    if !is_upgrade_request(headers) {
        return Err("Upgrade request required".into());
    }
    let version = headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if version.trim() != "13" {
        return Err(format!("unsupported WebSocket version {version:?}: only 13 is supported"));
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    let decoded = base64::engine::general_purpose::STANDARD.decode(key).unwrap_or_default();
    if decoded.len() != 16 {
        return Err("missing or invalid Sec-WebSocket-Key".into());
    }
    Ok(key)
}

/// The subprotocols the client offers, in its order of preference.
pub fn requested_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
}

impl Opcode {
    fn from_u8(b: u8) -> Option<Opcode> {
        Some(match b {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// Close codes (RFC 6455 section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
pub const CLOSE_INVALID_DATA: u16 = 1007;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// One whole frame, FIN set: unmasked as a server sends, or masked with `mask` as a
/// client must.
pub fn encode(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode as u8);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= u16::MAX as usize => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The payload of a close frame.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// A whole message (fragments joined) or a control frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The peer's close frame: its status code (absent when the frame had no body)
    /// and reason.
    Close(Option<u16>, String),
}

/// A violation of the protocol: the connection must be closed with `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: u16,
    pub reason: &'static str,
}

fn violation(reason: &'static str) -> ProtocolError {
    ProtocolError { code: CLOSE_PROTOCOL_ERROR, reason }
}

/// Turns received bytes into messages. A server's decoder requires masked frames; a
/// client's requires unmasked ones.
pub struct Decoder {
    buf: BytesMut,
    /// The opcode and data of a fragmented message in progress.
    partial: Option<(Opcode, Vec<u8>)>,
    expect_masked: bool,
    max_message: usize,
}

impl Decoder {
    /// The decoder of a server (frames from clients are masked).
    pub fn server(max_message: usize) -> Decoder {
        Decoder { buf: BytesMut::new(), partial: None, expect_masked: true, max_message }
    }

    /// The decoder of a client (frames from servers are not masked).
    pub fn client(max_message: usize) -> Decoder {
        Decoder { buf: BytesMut::new(), partial: None, expect_masked: false, max_message }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, `None` until more bytes are pushed.
    pub fn next_message(&mut self) -> Result<Option<Message>, ProtocolError> {
        loop {
            let Some((fin, opcode, payload)) = self.next_frame()? else { return Ok(None) };
            if opcode.is_control() {
                return control(opcode, payload).map(Some);
            }
            let (opcode, data) = match (opcode, self.partial.take()) {
                (Opcode::Continuation, None) => return Err(violation("continuation frame without a message to continue")),
                (Opcode::Continuation, Some((op, mut data))) => {
                    data.extend_from_slice(&payload);
                    (op, data)
                }
                (_, Some(_)) => return Err(violation("new message before the fragmented one ended")),
                (op, None) => (op, payload),
            };
            if data.len() > self.max_message {
                return Err(ProtocolError { code: CLOSE_TOO_BIG, reason: "message too big" });
            }
            if !fin {
                self.partial = Some((opcode, data));
                continue;
            }
            return match opcode {
                Opcode::Text if std::str::from_utf8(&data).is_err() => {
                    Err(ProtocolError { code: CLOSE_INVALID_DATA, reason: "text message is not UTF-8" })
                }
                Opcode::Text => Ok(Some(Message::Text(data))),
                _ => Ok(Some(Message::Binary(data))),
            };
        }
    }

    /// One frame, unmasked: (FIN, opcode, payload).
    fn next_frame(&mut self) -> Result<Option<(bool, Opcode, Vec<u8>)>, ProtocolError> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let fin = b[0] & 0x80 != 0;
        if b[0] & 0x70 != 0 {
            return Err(violation("reserved bits set without an extension"));
        }
        let opcode = Opcode::from_u8(b[0] & 0x0f).ok_or_else(|| violation("unknown opcode"))?;
        let masked = b[1] & 0x80 != 0;
        if masked != self.expect_masked {
            return Err(violation(if self.expect_masked { "client frames must be masked" } else { "server frames must not be masked" }));
        }
        let (len, mut at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as u64, 4),
            127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().unwrap()), 10),
            126 | 127 => return Ok(None),
            n => (n as u64, 2),
        };
        if opcode.is_control() && (!fin || len > 125) {
            return Err(violation("control frames must be whole and at most 125 bytes"));
        }
        let pending = self.partial.as_ref().map_or(0, |(_, d)| d.len() as u64);
        if len.saturating_add(pending) > self.max_message as u64 {
            return Err(ProtocolError { code: CLOSE_TOO_BIG, reason: "message too big" });
        }
        let key = if masked {
            if b.len() < at + 4 {
                return Ok(None);
            }
            at += 4;
            Some([b[at - 4], b[at - 3], b[at - 2], b[at - 1]])
        } else {
            None
        };
        let len = len as usize;
        if b.len() < at + len {
            return Ok(None);
        }
        let mut payload = b[at..at + len].to_vec();
        if let Some(key) = key {
            payload.iter_mut().enumerate().for_each(|(i, p)| *p ^= key[i % 4]);
        }
        self.buf.advance(at + len);
        Ok(Some((fin, opcode, payload)))
    }
}

fn control(opcode: Opcode, payload: Vec<u8>) -> Result<Message, ProtocolError> {
    Ok(match opcode {
        Opcode::Ping => Message::Ping(payload),
        Opcode::Pong => Message::Pong(payload),
        _ => match payload.len() {
            0 => Message::Close(None, String::new()),
            1 => return Err(violation("close frame with a one-byte body")),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                let reason = String::from_utf8(payload[2..].to_vec())
                    .map_err(|_| ProtocolError { code: CLOSE_INVALID_DATA, reason: "close reason is not UTF-8" })?;
                Message::Close(Some(code), reason)
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_the_rfc_example() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn checks_the_opening_handshake() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, "WebSocket".parse().unwrap());
        h.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        assert!(is_upgrade_request(&h));
        assert_eq!(check_request(&h).unwrap_err(), "unsupported WebSocket version \"\": only 13 is supported");
        h.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        assert_eq!(check_request(&h).unwrap_err(), "missing or invalid Sec-WebSocket-Key");
        h.insert(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap());
        assert_eq!(check_request(&h).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        h.append(header::SEC_WEBSOCKET_PROTOCOL, "v5.channel.k8s.io, v4.channel.k8s.io".parse().unwrap());
        h.append(header::SEC_WEBSOCKET_PROTOCOL, "channel.k8s.io".parse().unwrap());
        assert_eq!(requested_protocols(&h), ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"]);
        h.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        assert_eq!(check_request(&h).unwrap_err(), "Upgrade request required");
    }

    #[test]
    fn round_trips_frames_of_every_length_class() {
        for len in [0usize, 1, 125, 126, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut server = Decoder::server(1 << 20);
            server.push(&encode(Opcode::Binary, &payload, Some([1, 2, 3, 4])));
            assert_eq!(server.next_message().unwrap(), Some(Message::Binary(payload.clone())), "{len}");
            assert_eq!(server.next_message().unwrap(), None);
            let mut client = Decoder::client(1 << 20);
            client.push(&encode(Opcode::Binary, &payload, None));
            assert_eq!(client.next_message().unwrap(), Some(Message::Binary(payload)), "{len}");
        }
    }

    #[test]
    fn decodes_byte_by_byte_and_joins_fragments_around_control_frames() {
        let mask = Some([9, 8, 7, 6]);
        let mut first = encode(Opcode::Text, b"hel", mask);
        first[0] &= 0x7f; // not FIN
        let mut middle = encode(Opcode::Continuation, b"lo ", mask);
        middle[0] &= 0x7f;
        let last = encode(Opcode::Continuation, "wörld".as_bytes(), mask);
        let ping = encode(Opcode::Ping, b"p", mask);
        let close = encode(Opcode::Close, &close_payload(1000, "bye"), mask);
        let stream: Vec<u8> = [first, ping, middle, last, close].concat();
        let mut d = Decoder::server(1024);
        let mut got = Vec::new();
        for b in stream {
            d.push(&[b]);
            while let Some(m) = d.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(
            got,
            [
                Message::Ping(b"p".to_vec()),
                Message::Text("hello wörld".as_bytes().to_vec()),
                Message::Close(Some(1000), "bye".into())
            ]
        );
    }

    #[test]
    fn refuses_protocol_violations() {
        let err = |bytes: Vec<u8>, server: bool| {
            let mut d = if server { Decoder::server(100) } else { Decoder::client(100) };
            d.push(&bytes);
            d.next_message().unwrap_err()
        };
        assert_eq!(err(encode(Opcode::Binary, b"x", None), true).reason, "client frames must be masked");
        assert_eq!(err(encode(Opcode::Binary, b"x", Some([1, 1, 1, 1])), false).reason, "server frames must not be masked");
        assert_eq!(err(encode(Opcode::Continuation, b"x", None), false).reason, "continuation frame without a message to continue");
        assert_eq!(err(encode(Opcode::Binary, &[0; 101], None), false).code, CLOSE_TOO_BIG);
        assert_eq!(err(encode(Opcode::Text, &[0xff], None), false).code, CLOSE_INVALID_DATA);
        assert_eq!(err(encode(Opcode::Ping, &[0; 126], None), false).code, CLOSE_PROTOCOL_ERROR);
        let mut rsv = encode(Opcode::Binary, b"x", None);
        rsv[0] |= 0x40;
        assert_eq!(err(rsv, false).reason, "reserved bits set without an extension");
        let mut unfinished = encode(Opcode::Binary, b"x", None);
        unfinished[0] &= 0x7f;
        let both = [unfinished, encode(Opcode::Binary, b"y", None)].concat();
        assert_eq!(err(both, false).reason, "new message before the fragmented one ended");
        assert_eq!(err(vec![0x83, 0], false).reason, "unknown opcode");
        let mut d = Decoder::client(100);
        d.push(&encode(Opcode::Close, &[], None));
        assert_eq!(d.next_message().unwrap(), Some(Message::Close(None, String::new())));
    }
}
