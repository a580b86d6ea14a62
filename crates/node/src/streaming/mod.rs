//! `exec` and `attach` over WebSocket: upstream's kubelet streaming server
//! (pkg/kubelet/cri/streaming/remotecommand) speaking the channel subprotocols of
//! k8s.io/apimachinery/pkg/util/remotecommand.
//!
//! Every WebSocket message carries one channel: its first byte is the channel number
//! (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize), the rest the data. Subprotocols:
//! - `v5.channel.k8s.io` (what kubectl 1.30+ asks for): v4, plus channel 255 whose
//!   one-byte body names a stream the client has closed (stdin EOF).
//! - `v4.channel.k8s.io`: the error channel carries a JSON `metav1.Status` — Success,
//!   or Failure with reason `NonZeroExitCode` and the exit code as a cause, or another
//!   failure (an internal error).
//! - `channel.k8s.io` (or no subprotocol): v1, where the error channel carries only a
//!   failure's message.
//! - the `base64.` variants of v4 and v1: text messages, the channel as an ASCII digit
//!   and the data base64-encoded.
//!
//! The client's preference order wins. SPDY is not served; kubectl falls back to it
//! only when the WebSocket upgrade fails.
//!
//! `exec` runs the command with the OCI runtime (`runc exec`, see `exec`); `attach`
//! follows the container's log (see `attach`): the container's own stdio belongs to
//! its monitor, which writes it to the log, so attaching to stdin is refused.

mod attach;
mod exec;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::server::{Body, PodView};
use crate::websocket::{self, Decoder, Message, Opcode};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5: "the stream named by the body's one byte is closed".
pub const CLOSE: u8 = 255;

/// The largest WebSocket message accepted from a client (kubectl sends 32 KiB).
const MAX_MESSAGE: usize = 1 << 20;
/// Output is read and sent in chunks of at most this size.
const CHUNK: usize = 32 * 1024;

/// What the agent knows of a container that `exec` and `attach` need.
#[derive(Clone, Debug)]
pub struct ExecTarget {
    /// The OCI runtime binary (runc) and its state root.
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    /// The runtime's id of the container instance (the newest one of that name).
    pub id: String,
    pub running: bool,
    /// A directory of the agent's for a session's scratch files (pid file, runtime log).
    pub scratch_dir: PathBuf,
    /// The CRI log of this instance (`attach` follows it).
    pub log_path: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Exec,
    Attach,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    V5,
    V4,
    V4Base64,
    V1,
    V1Base64,
}

impl Protocol {
    /// The subprotocols served, by name ("" is a client that named none).
    const NAMES: [(&'static str, Protocol); 6] = [
        ("v5.channel.k8s.io", Protocol::V5),
        ("v4.channel.k8s.io", Protocol::V4),
        ("v4.base64.channel.k8s.io", Protocol::V4Base64),
        ("channel.k8s.io", Protocol::V1),
        ("base64.channel.k8s.io", Protocol::V1Base64),
        ("", Protocol::V1),
    ];

    /// The first of the client's subprotocols that is served (upstream's handshake:
    /// the client's order wins); a client that names none gets v1 with no name.
    pub fn negotiate(requested: &[String]) -> Result<(Protocol, &'static str), String> {
        let wanted: Vec<&str> = if requested.is_empty() { vec![""] } else { requested.iter().map(String::as_str).collect() };
        for w in &wanted {
            if let Some((name, p)) = Self::NAMES.iter().find(|(n, _)| n == w) {
                return Ok((*p, name));
            }
        }
        let served: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).filter(|n| !n.is_empty()).collect();
        Err(format!("requested protocol(s) are not supported: [{}]; supports [{}]", requested.join(" "), served.join(" ")))
    }

    fn base64(self) -> bool {
        matches!(self, Protocol::V4Base64 | Protocol::V1Base64)
    }

    /// Whether the error channel carries a JSON Status (v4 and later).
    fn json_status(self) -> bool {
        matches!(self, Protocol::V5 | Protocol::V4 | Protocol::V4Base64)
    }

    /// The data of an outgoing message on `channel`, as a whole frame.
    fn frame(self, channel: u8, data: &[u8]) -> Vec<u8> {
        if self.base64() {
            let mut p = vec![b'0' + channel];
            p.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(data).as_bytes());
            websocket::encode(Opcode::Text, &p, None)
        } else {
            let mut p = Vec::with_capacity(data.len() + 1);
            p.push(channel);
            p.extend_from_slice(data);
            websocket::encode(Opcode::Binary, &p, None)
        }
    }

    /// What an incoming message means (unknown channels and bad data are ignored, as
    /// upstream does).
    fn event(self, data: &[u8]) -> Option<Event> {
        let (&first, rest) = data.split_first()?;
        let (channel, payload) = if self.base64() {
            (first.wrapping_sub(b'0'), base64::engine::general_purpose::STANDARD.decode(rest).ok()?)
        } else {
            (first, rest.to_vec())
        };
        match channel {
            STDIN => Some(Event::Stdin(payload)),
            RESIZE => Some(Event::Resize(terminal_sizes(&payload))),
            CLOSE if self == Protocol::V5 && payload.first() == Some(&STDIN) => Some(Event::StdinClosed),
            _ => None,
        }
    }
}

/// Which streams the client wants (upstream's remotecommand.Options) and, for exec,
/// the command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    pub command: Vec<String>,
}

impl StreamOptions {
    /// From the query the API server sends (`stdin=1&...&command=a&command=b`), as the
    /// kubelet's NewOptions: with a TTY there is no separate stderr, and at least one
    /// stream must be asked for. Booleans are Kubernetes' (only absent, `0` and
    /// `false` are false).
    pub fn from_query(params: &[(String, String)]) -> Result<StreamOptions, String> {
        let flag = |k: &str| {
            params.iter().find(|(pk, _)| pk == k).is_some_and(|(_, v)| !(v == "0" || v.eq_ignore_ascii_case("false")))
        };
        let tty = flag("tty");
        let opts = StreamOptions {
            stdin: flag("stdin"),
            stdout: flag("stdout"),
            stderr: flag("stderr") && !tty,
            tty,
            command: params.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect(),
        };
        if !opts.stdin && !opts.stdout && !opts.stderr {
            return Err("you must specify at least 1 of stdin, stdout, stderr".into());
        }
        Ok(opts)
    }
}

/// A terminal size message: `{"Width":80,"Height":24}` (several may share a message).
fn terminal_sizes(data: &[u8]) -> Vec<(u16, u16)> {
    #[derive(serde::Deserialize)]
    struct Size {
        #[serde(rename = "Width", alias = "width")]
        width: u16,
        #[serde(rename = "Height", alias = "height")]
        height: u16,
    }
    serde_json::Deserializer::from_slice(data).into_iter::<Size>().map_while(Result::ok).map(|s| (s.width, s.height)).collect()
}

/// The error channel's statuses, as the kubelet writes them.
pub mod status {
    use super::*;

    pub fn success() -> Value {
        json!({"metadata": {}, "status": "Success"})
    }

    /// A command that ended with a non-zero code (kubectl exits with the same code).
    pub fn exit_code(code: i32, command: &[String]) -> Value {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        })
    }

    pub fn internal_error(message: &str) -> Value {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("Internal error occurred: {message}"),
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500
        })
    }

    pub fn bad_request(message: &str) -> Value {
        json!({"metadata": {}, "status": "Failure", "message": message, "reason": "BadRequest", "code": 400})
    }
}

/// What the client sent.
#[derive(Debug, PartialEq)]
pub(crate) enum Event {
    Stdin(Vec<u8>),
    /// v5: the client's stdin reached its end.
    StdinClosed,
    Resize(Vec<(u16, u16)>),
    /// The client closed the connection (or broke the protocol, or went away).
    Closed,
}

enum Out {
    Frame(Vec<u8>),
    /// The close frame: the last thing sent.
    Close(Vec<u8>),
}

/// The sending side of a session: messages on channels, then the close.
#[derive(Clone)]
pub(crate) struct Conn {
    tx: mpsc::Sender<Out>,
    protocol: Protocol,
}

impl Conn {
    /// Sends `data` on `channel`; false once the connection is closed.
    pub async fn send(&self, channel: u8, data: &[u8]) -> bool {
        self.tx.send(Out::Frame(self.protocol.frame(channel, data))).await.is_ok()
    }

    /// Writes the outcome on the error channel: the Status as JSON (v4 and later), or
    /// only a failure's message (v1).
    pub async fn send_status(&self, status: &Value) {
        if self.protocol.json_status() {
            self.send(ERROR, &serde_json::to_vec(status).unwrap_or_default()).await;
        } else if status["status"] != "Success" {
            self.send(ERROR, status["message"].as_str().unwrap_or("").as_bytes()).await;
        }
    }

    /// An empty message on the lowest writable channel tells the client the streams
    /// are ready (as upstream's createWebSocketStreams does).
    pub async fn announce(&self, opts: &StreamOptions) {
        let channel = if opts.stdout {
            STDOUT
        } else if opts.stderr {
            STDERR
        } else {
            ERROR
        };
        self.send(channel, &[]).await;
    }

    async fn close(&self, code: u16, reason: &str) {
        let frame = websocket::encode(Opcode::Close, &websocket::close_payload(code, reason), None);
        let _ = self.tx.send(Out::Close(frame)).await;
    }
}

/// A WebSocket session on an upgraded connection: a reader task turning messages into
/// events (answering pings and the client's close) and a writer task sending frames.
pub(crate) struct Session {
    pub conn: Conn,
    pub events: mpsc::Receiver<Event>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Session {
    pub fn start<IO>(io: IO, protocol: Protocol) -> Session
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(io);
        let (tx, rx) = mpsc::channel(32);
        let (events_tx, events) = mpsc::channel(32);
        let conn = Conn { tx, protocol };
        let reader = tokio::spawn(read_loop(read, conn.clone(), events_tx));
        let writer = tokio::spawn(write_loop(write, rx));
        Session { conn, events, reader, writer }
    }

    /// Ends the session: the status on the error channel (if any), then a normal
    /// close. Waits (a little) for the client's close in return.
    pub async fn finish(self, status: Option<Value>) {
        if let Some(s) = status {
            self.conn.send_status(&s).await;
        }
        self.conn.close(websocket::CLOSE_NORMAL, "").await;
        drop(self.conn);
        drop(self.events);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.writer).await;
        let mut reader = self.reader;
        if tokio::time::timeout(Duration::from_secs(5), &mut reader).await.is_err() {
            reader.abort();
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut read: R, conn: Conn, events: mpsc::Sender<Event>) {
    let mut decoder = Decoder::server(MAX_MESSAGE);
    let mut buf = vec![0u8; CHUNK + 1024];
    'read: loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        loop {
            match decoder.next_message() {
                Ok(None) => break,
                Ok(Some(Message::Binary(d) | Message::Text(d))) => {
                    if let Some(ev) = conn.protocol.event(&d) {
                        if events.send(ev).await.is_err() {
                            // Nobody listens any more; keep answering pings and closes.
                            continue;
                        }
                    }
                }
                Ok(Some(Message::Ping(p))) => {
                    let _ = conn.tx.send(Out::Frame(websocket::encode(Opcode::Pong, &p, None))).await;
                }
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(Message::Close(code, _))) => {
                    // Echo the client's close (if we have not sent ours yet).
                    let body = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                    let _ = conn.tx.send(Out::Close(websocket::encode(Opcode::Close, &body, None))).await;
                    break 'read;
                }
                Err(e) => {
                    conn.close(e.code, e.reason).await;
                    break 'read;
                }
            }
        }
    }
    let _ = events.send(Event::Closed).await;
}

async fn write_loop<W: AsyncWrite + Unpin>(mut write: W, mut rx: mpsc::Receiver<Out>) {
    while let Some(out) = rx.recv().await {
        let (bytes, last) = match out {
            Out::Frame(b) => (b, false),
            Out::Close(b) => (b, true),
        };
        if write.write_all(&bytes).await.is_err() {
            break;
        }
        if (last || rx.is_empty()) && write.flush().await.is_err() {
            break;
        }
        if last {
            break;
        }
    }
    let _ = write.shutdown().await;
}

fn text(code: StatusCode, msg: impl Into<String>) -> Response<Body> {
    crate::server::text(code, msg)
}

/// Serves `/exec/{namespace}/{pod}/{container}` and `/attach/...`: checks the request
/// (answering errors as the kubelet does, in text), then switches protocols and runs
/// the session on the upgraded connection.
pub fn serve(kind: Kind, view: Arc<dyn PodView>, mut req: Request<Incoming>, ns: &str, pod: &str, container: &str) -> Response<Body> {
    let params = crate::server::query_params(req.uri().query());
    let opts = match StreamOptions::from_query(&params) {
        Ok(o) => o,
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    if kind == Kind::Exec && opts.command.is_empty() {
        return text(StatusCode::BAD_REQUEST, "you must specify at least one command for the container");
    }
    let Some(uid) = view.pod_uid(ns, pod) else {
        return text(StatusCode::NOT_FOUND, "pod does not exist");
    };
    let Some(target) = view.exec_target(&uid, container) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, format!("container not found ({container:?})"));
    };
    if !target.running {
        return text(StatusCode::INTERNAL_SERVER_ERROR, format!("container {container:?} in pod {pod:?} is not running"));
    }
    let key = match websocket::check_request(req.headers()) {
        Ok(k) => k.to_string(),
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    let (protocol, name) = match Protocol::negotiate(&websocket::requested_protocols(req.headers())) {
        Ok(p) => p,
        Err(e) => return text(StatusCode::BAD_REQUEST, e),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (container, pod) = (container.to_string(), pod.to_string());
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("{kind:?} in {pod}/{container}: upgrade failed: {e}");
                return;
            }
        };
        let session = Session::start(TokioIo::new(upgraded), protocol);
        match kind {
            Kind::Exec => exec::run(session, target, opts).await,
            Kind::Attach => attach::run(session, target, opts, view, uid, container).await,
        }
    });
    let mut resp = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, websocket::accept_key(&key));
    if !name.is_empty() {
        resp = resp.header(header::SEC_WEBSOCKET_PROTOCOL, name);
    }
    resp.body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed()).unwrap()
}

#[cfg(test)]
mod protocol_tests {
    use super::*;

    fn params(q: &str) -> Vec<(String, String)> {
        crate::server::query_params(Some(q))
    }

    #[test]
    fn negotiates_in_the_clients_order() {
        let ask = |p: &[&str]| Protocol::negotiate(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(ask(&["v5.channel.k8s.io", "v4.channel.k8s.io"]).unwrap(), (Protocol::V5, "v5.channel.k8s.io"));
        assert_eq!(ask(&["v3.channel.k8s.io", "v4.channel.k8s.io", "v5.channel.k8s.io"]).unwrap().0, Protocol::V4);
        assert_eq!(ask(&["v4.base64.channel.k8s.io"]).unwrap().0, Protocol::V4Base64);
        assert_eq!(ask(&[]).unwrap(), (Protocol::V1, ""));
        let e = ask(&["v3.channel.k8s.io"]).unwrap_err();
        assert!(e.starts_with("requested protocol(s) are not supported: [v3.channel.k8s.io]"), "{e}");
    }

    #[test]
    fn reads_options_like_the_kubelet() {
        let o = StreamOptions::from_query(&params("command=sh&command=-c&command=echo%20hi&stdin=1&stdout=true&stderr=1")).unwrap();
        assert_eq!(o.command, ["sh", "-c", "echo hi"]);
        assert!(o.stdin && o.stdout && o.stderr && !o.tty);
        let o = StreamOptions::from_query(&params("stdout=1&stderr=1&tty=1")).unwrap();
        assert!(o.tty && !o.stderr, "a TTY has no separate stderr");
        assert_eq!(StreamOptions::from_query(&params("stdin=0&stdout=false")).unwrap_err(), "you must specify at least 1 of stdin, stdout, stderr");
    }

    #[test]
    fn frames_channels_in_both_codecs() {
        let mut d = Decoder::client(1024);
        d.push(&Protocol::V5.frame(STDOUT, b"hi"));
        assert_eq!(d.next_message().unwrap(), Some(Message::Binary(vec![1, b'h', b'i'])));
        d.push(&Protocol::V4Base64.frame(STDERR, b"hi"));
        assert_eq!(d.next_message().unwrap(), Some(Message::Text(b"2aGk=".to_vec())));
        assert_eq!(Protocol::V5.event(&[0, b'x']), Some(Event::Stdin(b"x".to_vec())));
        assert_eq!(Protocol::V4Base64.event(b"0eA=="), Some(Event::Stdin(b"x".to_vec())));
        assert_eq!(Protocol::V5.event(&[255, 0]), Some(Event::StdinClosed));
        assert_eq!(Protocol::V4.event(&[255, 0]), None, "v4 has no close signal");
        assert_eq!(Protocol::V5.event(&[9, 1]), None);
        assert_eq!(Protocol::V5.event(b"\x04{\"Width\":100,\"Height\":40}\n{\"width\":1,\"height\":2}"), Some(Event::Resize(vec![(100, 40), (1, 2)])));
    }

    #[test]
    fn statuses_are_what_client_go_decodes() {
        let s = status::exit_code(3, &["sh".into(), "-c".into(), "exit 3".into()]);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0], json!({"reason": "ExitCode", "message": "3"}));
        assert_eq!(s["message"], "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
        assert_eq!(serde_json::to_string(&status::success()).unwrap(), r#"{"metadata":{},"status":"Success"}"#);
    }
}
