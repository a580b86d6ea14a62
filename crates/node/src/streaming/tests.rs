//! The agent's `/exec` and `/attach` end to end over TLS and WebSocket, with a stand-in
//! for runc that runs the command on this machine (no root, no containers).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{attach, ExecTarget};
use crate::server::tests::{body, connect, entry, get, start, Fixture};
use crate::websocket::{self, Decoder, Message, Opcode};

/// `--root R --log L --log-format F exec [-t] --pid-file P ID CMD...`, as runc takes
/// it: runs CMD here, or fails as runc does when CMD cannot be found.
const FAKE_RUNC: &str = r#"#!/bin/sh
log=
while [ "$1" != exec ]; do
  case "$1" in --log) log=$2; shift 2;; *) shift;; esac
done
shift
pidfile=
while :; do
  case "$1" in -t) shift;; --pid-file) pidfile=$2; shift 2;; *) break;; esac
done
shift
if ! command -v "$1" >/dev/null 2>&1; then
  printf '{"level":"error","msg":"exec failed: unable to start container process: exec: \\"%s\\": executable file not found in $PATH"}\n' "$1" >"$log"
  echo "exec failed: $1" >&2
  exit 255
fi
echo $$ >"$pidfile"
exec "$@"
"#;

fn with_runtime(f: &Fixture) {
    let dir = f.dir.path();
    let runtime = dir.join("fake-runc");
    std::fs::write(&runtime, FAKE_RUNC).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("scratch")).unwrap();
    *f.pods.target.lock().unwrap() = Some(ExecTarget {
        runtime,
        runtime_root: dir.join("runc"),
        id: "cid".into(),
        running: true,
        scratch_dir: dir.join("scratch"),
        log_path: f.log_file(1),
    });
    f.pods.running.store(true, Ordering::SeqCst);
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A WebSocket client, as kubectl is one.
struct Ws {
    tls: Tls,
    decoder: Decoder,
    protocol: String,
}

/// Opens `path` with a WebSocket upgrade offering `protocols`: the client, or the
/// refusal's status and text.
async fn open(f: &Fixture, path: &str, protocols: &str) -> Result<Ws, (u16, String)> {
    let admin = f.ca.client("kube-apiserver-kubelet-client", Some("system:masters"));
    open_at(f.addr, &admin, path, protocols).await
}

async fn open_at(addr: SocketAddr, client: &(String, String), path: &str, protocols: &str) -> Result<Ws, (u16, String)> {
    let mut tls = connect(addr, Some(client), b"http/1.1").await.unwrap();
    let offer = if protocols.is_empty() { String::new() } else { format!("Sec-WebSocket-Protocol: {protocols}\r\n") };
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{offer}\r\n"
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tls.read(&mut byte).await.unwrap(), 1, "the connection ended in the response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let code: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    };
    if code != 101 {
        let len: usize = header("content-length").map(|l| l.parse().unwrap()).unwrap_or(0);
        let mut text = vec![0u8; len];
        tls.read_exact(&mut text).await.unwrap();
        return Err((code, String::from_utf8(text).unwrap()));
    }
    assert_eq!(header("sec-websocket-accept").as_deref(), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    Ok(Ws { tls, decoder: Decoder::client(1 << 20), protocol: header("sec-websocket-protocol").unwrap_or_default() })
}

impl Ws {
    async fn send(&mut self, data: &[u8]) {
        self.tls.write_all(&websocket::encode(Opcode::Binary, data, Some([7, 1, 9, 3]))).await.unwrap();
    }

    async fn recv(&mut self) -> Option<Message> {
        let mut buf = vec![0u8; 4096];
        loop {
            if let Some(m) = self.decoder.next_message().unwrap() {
                return Some(m);
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.tls.read(&mut buf)).await.expect("no message in time").ok()?;
            if n == 0 {
                return None;
            }
            self.decoder.push(&buf[..n]);
        }
    }

    /// Everything until the server's close: data by channel, and the close code.
    async fn drain(&mut self) -> (BTreeMap<u8, Vec<u8>>, Option<u16>) {
        let mut channels: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        while let Some(m) = self.recv().await {
            match m {
                Message::Binary(d) => channels.entry(d[0]).or_default().extend_from_slice(&d[1..]),
                Message::Text(d) => {
                    use base64::Engine;
                    let data = base64::engine::general_purpose::STANDARD.decode(&d[1..]).unwrap();
                    channels.entry(d[0] - b'0').or_default().extend_from_slice(&data);
                }
                Message::Close(code, _) => {
                    let _ = self.tls.write_all(&websocket::encode(Opcode::Close, &[], Some([0; 4]))).await;
                    return (channels, code);
                }
                _ => {}
            }
        }
        (channels, None)
    }
}

fn status(channels: &BTreeMap<u8, Vec<u8>>) -> Value {
    serde_json::from_slice(channels.get(&3).expect("a status on the error channel")).unwrap()
}

fn text(channels: &BTreeMap<u8, Vec<u8>>, channel: u8) -> String {
    String::from_utf8_lossy(channels.get(&channel).map(Vec::as_slice).unwrap_or_default()).into_owned()
}

#[tokio::test]
async fn exec_relays_streams_and_the_exit_code() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/exec/default/web/c?command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B+exit+3&stdout=1&stderr=1", "v5.channel.k8s.io, v4.channel.k8s.io").await.unwrap();
    assert_eq!(ws.protocol, "v5.channel.k8s.io");
    let (ch, close) = ws.drain().await;
    assert_eq!((text(&ch, 1), text(&ch, 2)), ("out\n".into(), "err\n".into()));
    let s = status(&ch);
    assert_eq!((&s["status"], &s["reason"]), (&Value::from("Failure"), &Value::from("NonZeroExitCode")));
    assert_eq!(s["details"]["causes"][0]["message"], "3");
    assert_eq!(close, Some(websocket::CLOSE_NORMAL));
    // Scratch files do not outlive the session.
    assert_eq!(std::fs::read_dir(f.dir.path().join("scratch")).unwrap().count(), 0);
}

#[tokio::test]
async fn exec_passes_stdin_until_the_v5_close_signal() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/exec/default/web/c?command=cat&stdin=1&stdout=1&stderr=1", "v5.channel.k8s.io").await.unwrap();
    ws.send(b"\x00abc").await;
    ws.send(&[0xff, 0]).await;
    let (ch, close) = ws.drain().await;
    assert_eq!(text(&ch, 1), "abc");
    assert_eq!(status(&ch)["status"], "Success");
    assert_eq!(close, Some(websocket::CLOSE_NORMAL));
}

#[tokio::test]
async fn exec_speaks_v4_base64_and_v1() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/exec/default/web/c?command=echo&command=hi&stdout=1", "v4.base64.channel.k8s.io").await.unwrap();
    assert_eq!(ws.protocol, "v4.base64.channel.k8s.io");
    let (ch, _) = ws.drain().await;
    assert_eq!(text(&ch, 1), "hi\n");
    assert_eq!(status(&ch)["status"], "Success");
    // v1 (no subprotocol): a failure is its message alone; success says nothing.
    let mut ws = open(&f, "/exec/default/web/c?command=false&stdout=1", "").await.unwrap();
    assert_eq!(ws.protocol, "");
    let (ch, _) = ws.drain().await;
    assert!(text(&ch, 3).starts_with("command terminated with non-zero exit code"), "{ch:?}");
}

#[tokio::test]
async fn exec_with_a_tty_resizes_the_terminal() {
    let f = start().await;
    with_runtime(&f);
    let path = "/exec/default/web/c?command=sh&command=-c&command=read+x%3B+tty%3B+stty+size&stdin=1&stdout=1&stderr=1&tty=1";
    let mut ws = open(&f, path, "v5.channel.k8s.io").await.unwrap();
    ws.send(b"\x04{\"Width\":100,\"Height\":40}\n").await;
    ws.send(b"\x00go\n").await;
    let (ch, _) = ws.drain().await;
    let out = text(&ch, 1);
    assert!(out.contains("/dev/pts/") && out.contains("40 100"), "{out:?}");
    assert!(!ch.contains_key(&2), "a terminal has no separate stderr");
    assert_eq!(status(&ch)["status"], "Success");
}

#[tokio::test]
async fn exec_reports_a_command_the_runtime_cannot_start() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/exec/default/web/c?command=no-such-command&stdout=1&stderr=1", "v5.channel.k8s.io").await.unwrap();
    let (ch, _) = ws.drain().await;
    let s = status(&ch);
    assert_eq!(s["reason"], "InternalError");
    let msg = s["message"].as_str().unwrap();
    assert!(msg.starts_with("Internal error occurred: error executing command in container: OCI runtime exec failed: exec failed"), "{msg}");
    assert!(msg.contains(r#"exec: "no-such-command": executable file not found"#), "{msg}");
    assert_eq!(text(&ch, 2), "", "runc's own complaint is in the status, not on stderr");
}

#[tokio::test]
async fn refuses_bad_requests_like_the_kubelet() {
    let f = start().await;
    let admin = f.ca.client("kube-apiserver-kubelet-client", Some("system:masters"));
    let plain = |path: &'static str| {
        let (admin, addr) = (admin.clone(), f.addr);
        async move {
            let resp = get(addr, Some(&admin), false, path).await.unwrap();
            (resp.status().as_u16(), body(resp).await)
        }
    };
    assert_eq!(open(&f, "/exec/default/web/c?command=true&stdout=1", "").await.err().unwrap(), (500, "container not found (\"c\")".into()));
    with_runtime(&f);
    assert_eq!(plain("/exec/default/web/c?command=true&stdout=1").await, (400, "Upgrade request required".into()));
    assert_eq!(plain("/exec/default/web/c?stdout=1").await, (400, "you must specify at least one command for the container".into()));
    assert_eq!(open(&f, "/exec/default/nope/c?command=true&stdout=1", "").await.err().unwrap(), (404, "pod does not exist".into()));
    assert_eq!(open(&f, "/exec/default/web/x?command=true&stdout=1", "").await.err().unwrap().0, 500);
    let (code, msg) = open(&f, "/exec/default/web/c?command=true&stdout=1", "v3.channel.k8s.io").await.err().unwrap();
    assert_eq!(code, 400);
    assert!(msg.starts_with("requested protocol(s) are not supported: [v3.channel.k8s.io]"), "{msg}");
    f.pods.target.lock().unwrap().as_mut().unwrap().running = false;
    let (code, msg) = open(&f, "/attach/default/web/c?stdout=1", "").await.err().unwrap();
    assert_eq!((code, msg.as_str()), (500, "container \"c\" in pod \"web\" is not running"));
    // Only cluster identities may exec.
    let user = f.ca.client("dave", Some("devs"));
    assert_eq!(open_at(f.addr, &user, "/exec/default/web/c?command=true&stdout=1", "").await.err().unwrap().0, 403);
}

#[tokio::test]
async fn attach_follows_new_output_until_the_container_stops() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/attach/default/web/c?stdout=1&stderr=1", "v5.channel.k8s.io").await.unwrap();
    // The empty message that says the streams are ready.
    assert_eq!(ws.recv().await, Some(Message::Binary(vec![1])));
    let append = |line: String| {
        let mut file = std::fs::OpenOptions::new().append(true).open(f.log_file(1)).unwrap();
        std::io::Write::write_all(&mut file, line.as_bytes()).unwrap();
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(entry("d"));
    append("2026-11-23T18:25:39.000000000Z stderr F e\n".into());
    let mut seen = BTreeMap::<u8, Vec<u8>>::new();
    while text(&seen, 1) != "d\n" || text(&seen, 2) != "e\n" {
        match ws.recv().await {
            Some(Message::Binary(d)) => seen.entry(d[0]).or_default().extend_from_slice(&d[1..]),
            other => panic!("{other:?} before the new output; seen {seen:?}"),
        }
    }
    f.pods.running.store(false, Ordering::SeqCst);
    let (ch, close) = ws.drain().await;
    assert_eq!(status(&ch)["status"], "Success");
    assert_eq!(close, Some(websocket::CLOSE_NORMAL));
    assert!(!text(&seen, 1).contains('a'), "only new output: {seen:?}");
}

#[tokio::test]
async fn attach_refuses_stdin() {
    let f = start().await;
    with_runtime(&f);
    let mut ws = open(&f, "/attach/default/web/c?stdin=1&stdout=1", "v5.channel.k8s.io").await.unwrap();
    let (ch, _) = ws.drain().await;
    let s = status(&ch);
    assert_eq!((s["reason"].as_str(), s["message"].as_str()), (Some("BadRequest"), Some(attach::STDIN_UNSUPPORTED)));
}
