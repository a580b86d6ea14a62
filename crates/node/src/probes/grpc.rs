//! grpc probes (upstream: pkg/probe/grpc): a `grpc.health.v1.Health/Check` call over
//! HTTP/2 cleartext, with the protobuf messages written by hand:
//! `HealthCheckRequest { string service = 1; }`,
//! `HealthCheckResponse { ServingStatus status = 1; }` (UNKNOWN 0, SERVING 1,
//! NOT_SERVING 2, SERVICE_UNKNOWN 3). The call's result is the `grpc-status` trailer
//! (or header, for a trailers-only response).

use std::net::IpAddr;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;

use super::{dial, go_duration, go_quote, join_host_port, ProbeResult, USER_AGENT};

pub(super) const PATH: &str = "/grpc.health.v1.Health/Check";

/// The length-prefixed gRPC message carrying `HealthCheckRequest { service }`.
pub(crate) fn encode_request(service: &str) -> Bytes {
    let mut msg = Vec::new();
    if !service.is_empty() {
        msg.push(0x0a); // field 1, wire type 2
        put_varint(&mut msg, service.len() as u64);
        msg.extend_from_slice(service.as_bytes());
    }
    let mut out = Vec::with_capacity(5 + msg.len());
    out.push(0); // not compressed
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(&msg);
    Bytes::from(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Decodes a length-prefixed `HealthCheckResponse` into its status number (0 when the
/// field is absent, as proto3 defaults).
pub(crate) fn decode_response(frame: &[u8]) -> Result<u64, String> {
    if frame.len() < 5 {
        return Err("grpc: response message is truncated".into());
    }
    if frame[0] != 0 {
        return Err("grpc: compressed response messages are not supported".into());
    }
    let len = u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize;
    let mut msg = frame.get(5..5 + len).ok_or("grpc: response message is truncated")?;
    let mut status = 0;
    while !msg.is_empty() {
        let key = get_varint(&mut msg).ok_or("proto: bad field key")?;
        match key & 7 {
            0 => {
                let v = get_varint(&mut msg).ok_or("proto: bad varint")?;
                if key >> 3 == 1 {
                    status = v;
                }
            }
            1 => msg = msg.get(8..).ok_or("proto: truncated fixed64")?,
            2 => {
                let n = get_varint(&mut msg).ok_or("proto: bad length")? as usize;
                msg = msg.get(n..).ok_or("proto: truncated bytes")?;
            }
            5 => msg = msg.get(4..).ok_or("proto: truncated fixed32")?,
            _ => return Err("proto: bad wire type".into()),
        }
    }
    Ok(status)
}

fn status_name(s: u64) -> String {
    match s {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

fn code_name(code: u32) -> &'static str {
    match code {
        0 => "OK",
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        _ => "Unknown",
    }
}

/// grpc-go's mapping of a non-200 HTTP status to a code.
fn code_for_http(status: u16) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the call returned: a gRPC status, and the message bytes when OK.
struct CallResult {
    code: u32,
    message: String,
    body: Vec<u8>,
}

pub(super) async fn probe(ip: IpAddr, port: i32, service: &str, timeout: Duration) -> ProbeResult {
    let addr = join_host_port(&ip.to_string(), port.clamp(0, 65535) as u16);
    let deadline = Instant::now() + timeout;
    let conn = match tokio::time::timeout_at(deadline, dial(&ip.to_string(), port.clamp(0, 65535) as u16)).await {
        Err(_) => {
            return ProbeResult::Failure(format!(
                "timeout: failed to connect service {} within {}: context deadline exceeded",
                go_quote(&addr),
                go_duration(timeout)
            ))
        }
        Ok(Err(e)) => {
            return ProbeResult::Failure(format!(
                "error: failed to connect service at {}: connection error: desc = {}",
                go_quote(&addr),
                go_quote(&format!("transport: Error while dialing: {e}"))
            ))
        }
        Ok(Ok(c)) => c,
    };
    let call = match tokio::time::timeout_at(deadline, call(conn, &addr, service)).await {
        Err(_) => {
            return ProbeResult::Failure(format!(
                "timeout: health rpc did not complete within {}",
                go_duration(timeout)
            ))
        }
        Ok(Err(e)) => {
            return ProbeResult::Failure(format!(
                "error: health rpc probe failed: rpc error: code = Unavailable desc = {e}"
            ))
        }
        Ok(Ok(c)) => c,
    };
    match call.code {
        0 => {}
        12 => {
            return ProbeResult::Failure(format!(
                "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
                call.message
            ))
        }
        4 => {
            return ProbeResult::Failure(format!(
                "timeout: health rpc did not complete within {}",
                go_duration(timeout)
            ))
        }
        code => {
            return ProbeResult::Failure(format!(
                "error: health rpc probe failed: rpc error: code = {} desc = {}",
                code_name(code),
                call.message
            ))
        }
    }
    match decode_response(&call.body) {
        Ok(1) => ProbeResult::Success,
        Ok(s) => ProbeResult::Failure(format!("service unhealthy (responded with {})", go_quote(&status_name(s)))),
        Err(e) => ProbeResult::Failure(format!(
            "error: health rpc probe failed: rpc error: code = Internal desc = {e}"
        )),
    }
}

async fn call(conn: tokio::net::TcpStream, addr: &str, service: &str) -> Result<CallResult, String> {
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(TokioExecutor::new(), TokioIo::new(conn))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let _abort = AbortOnDrop(driver);
    let req = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!("http://{addr}{PATH}"))
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .header(http::header::USER_AGENT, USER_AGENT)
        .body(Full::new(encode_request(service)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let header_status = grpc_status(resp.headers());
    if status != 200 {
        let code = header_status.map(|(c, _)| c).unwrap_or_else(|| code_for_http(status));
        let reason = resp.status().canonical_reason().unwrap_or("");
        return Ok(CallResult {
            code,
            message: format!("unexpected HTTP status code received from server: {status} ({reason})"),
            body: Vec::new(),
        });
    }
    if let Some((code, message)) = header_status {
        // Trailers-only response.
        return Ok(CallResult { code, message, body: Vec::new() });
    }
    let mut body = resp.into_body();
    let mut data = Vec::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        match frame.into_data() {
            Ok(mut d) => {
                if data.len() < 64 * 1024 {
                    while d.has_remaining() {
                        let chunk = d.chunk().len();
                        data.extend_from_slice(d.chunk());
                        d.advance(chunk);
                    }
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    match trailers.as_ref().and_then(grpc_status) {
        Some((code, message)) => Ok(CallResult { code, message, body: data }),
        None => Ok(CallResult {
            code: 13,
            message: "server closed the stream without sending trailers".into(),
            body: Vec::new(),
        }),
    }
}

fn grpc_status(h: &http::HeaderMap) -> Option<(u32, String)> {
    let code = h.get("grpc-status")?.to_str().ok()?.trim().parse().ok()?;
    let message = h
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    Some((code, message))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_encoding() {
        assert_eq!(&encode_request("")[..], &[0, 0, 0, 0, 0]);
        assert_eq!(&encode_request("db")[..], &[0, 0, 0, 0, 4, 0x0a, 2, b'd', b'b']);
        let long = "x".repeat(200);
        let enc = encode_request(&long);
        assert_eq!(&enc[5..8], &[0x0a, 0xc8, 0x01]);
        assert_eq!(decode_response(&[0, 0, 0, 0, 2, 0x08, 1]).unwrap(), 1);
        assert_eq!(decode_response(&[0, 0, 0, 0, 0]).unwrap(), 0);
        // Unknown fields are skipped.
        assert_eq!(decode_response(&[0, 0, 0, 0, 6, 0x12, 2, b'h', b'i', 0x08, 2]).unwrap(), 2);
        assert!(decode_response(&[0, 0, 0, 0, 9, 0x08]).is_err());
        assert_eq!(percent_decode("no%20such%20service"), "no such service");
    }
}
