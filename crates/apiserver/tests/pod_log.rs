//! `GET pods/{name}/log` end to end through a real API server: the errors answered
//! without a node, and the stream relayed from a node agent (a stand-in speaking the
//! kubelet API over TLS that demands a client certificate of the cluster CA).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn kubeconfig_field(text: &str, field: &str) -> String {
    let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{field}:"))).unwrap();
    line.split_once(':').unwrap().1.trim().to_string()
}

/// An HTTPS client authenticating with the admin kubeconfig.
struct Client {
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
}

impl Client {
    fn new(kubeconfig: &Path, addr: SocketAddr) -> Client {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let ca = b64(&kubeconfig_field(&text, "certificate-authority-data"));
        let cert = b64(&kubeconfig_field(&text, "client-certificate-data"));
        let key = b64(&kubeconfig_field(&text, "client-key-data"));
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut ca.as_slice()) {
            roots.add(c.unwrap()).unwrap();
        }
        let certs = rustls_pemfile::certs(&mut cert.as_slice()).collect::<Result<Vec<_>, _>>().unwrap();
        let key = rustls_pemfile::private_key(&mut key.as_slice()).unwrap().unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .unwrap();
        Client { addr, config: Arc::new(config) }
    }

    async fn send(&self, method: &str, path: &str, content_type: &str, body: Option<Value>) -> Response<Incoming> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tokio_rustls::TlsConnector::from(self.config.clone()).connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
        tokio::spawn(conn);
        let body = body.map(|b| Bytes::from(serde_json::to_vec(&b).unwrap())).unwrap_or_default();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", content_type)
            .body(Full::new(body))
            .unwrap();
        sender.send_request(req).await.unwrap()
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let ct = if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
        let resp = self.send(method, path, ct, body).await;
        let code = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (code, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn ok(&self, method: &str, path: &str, body: Value) {
        let (code, text) = self.call(method, path, Some(body)).await;
        assert!((200..300).contains(&code), "{method} {path}: {code} {text}");
    }

    /// A log request's status and the parsed Status of a failure.
    async fn log_error(&self, path: &str) -> (u16, Value) {
        let (code, text) = self.call("GET", path, None).await;
        (code, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not a Status ({e}): {text}")))
    }
}

/// What the stand-in agent saw: the path and query of each request and the caller's
/// certificate subject.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    callers: Vec<String>,
}

type AgentBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// A stand-in node agent: TLS demanding a client certificate of `ca_pem`.
async fn start_agent(ca_pem: &str, seen: Arc<Mutex<Seen>>, release: Arc<tokio::sync::Notify>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["n1".to_string()]).unwrap().self_signed(&key).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::from(rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert.der().clone()], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, seen, release) = (acceptor.clone(), seen.clone(), release.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let der = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
                let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
                let subject = parsed.subject().to_string();
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (seen, release, subject) = (seen.clone(), release.clone(), subject.clone());
                    async move {
                        let target = req.uri().path_and_query().unwrap().to_string();
                        {
                            let mut s = seen.lock().unwrap();
                            s.requests.push(target.clone());
                            s.callers.push(subject);
                        }
                        Ok::<_, Infallible>(agent_reply(&target, release))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    port
}

fn agent_reply(target: &str, release: Arc<tokio::sync::Notify>) -> Response<AgentBody> {
    let text = |code: u16, msg: &str| {
        Response::builder().status(code).body(Full::new(Bytes::from(msg.to_string())).boxed()).unwrap()
    };
    if target.starts_with("/containerLogs/default/web/web") {
        // One line now, the next only once the test has seen the first.
        let frames = futures_util::stream::unfold(0, move |step| {
            let release = release.clone();
            async move {
                match step {
                    0 => Some((Ok::<_, Infallible>(Frame::data(Bytes::from("first\n"))), 1)),
                    1 => {
                        release.notified().await;
                        Some((Ok(Frame::data(Bytes::from("second\n"))), 2))
                    }
                    _ => None,
                }
            }
        });
        return Response::builder().status(200).body(BodyExt::boxed(StreamBody::new(frames))).unwrap();
    }
    if target.starts_with("/containerLogs/default/gone/") {
        return text(404, "pod \"gone\" does not exist");
    }
    text(400, "container \"web\" in pod \"odd\" is terminated")
}

fn pod(name: &str, containers: &[&str], node: Option<&str>) -> Value {
    let cs: Vec<Value> = containers.iter().map(|c| json!({"name": c, "image": "busybox"})).collect();
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {"containers": cs}});
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    p
}

fn node(name: &str, port: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}
    }})
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_log_errors_and_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let running = apiserver::start(apiserver::Config {
        data_dir: dir.path().to_path_buf(),
        bind_address: "127.0.0.1".parse().unwrap(),
        port: 0,
        kubeconfig: dir.path().join("kubeconfig.yaml"),
        token_auth_file: None,
        anonymous_auth: false,
        tls_sans: vec![],
        service_cidr: "10.43.0.0/16".into(),
        service_node_port_range: "30000-32767".into(),
        compaction_interval: Duration::from_secs(3600),
        event_ttl: Duration::from_secs(3600),
    })
    .await
    .unwrap();
    let c = Client::new(&running.kubeconfig, running.addr);
    let ca = std::fs::read_to_string(dir.path().join("tls").join("ca.crt")).unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let release = Arc::new(tokio::sync::Notify::new());
    let agent_port = start_agent(&ca, seen.clone(), release.clone()).await;

    let pods = "/api/v1/namespaces/default/pods";
    c.ok("POST", "/api/v1/nodes", node("n1", agent_port)).await;
    c.ok("PATCH", "/api/v1/nodes/n1/status", json!({"status": node("n1", agent_port)["status"]})).await;
    c.ok("POST", "/api/v1/nodes", node("n2", closed_port())).await;
    c.ok("PATCH", "/api/v1/nodes/n2/status", json!({"status": node("n2", closed_port())["status"]})).await;
    c.ok("POST", pods, pod("multi", &["a", "b"], None)).await;
    c.ok("POST", pods, pod("pending", &["web"], None)).await;
    for (name, node) in [("web", "n1"), ("gone", "n1"), ("odd", "n1"), ("waiting", "n1"), ("lost", "n2"), ("nonode", "n3")] {
        c.ok("POST", pods, pod(name, &["web"], Some(node))).await;
        let state = if name == "waiting" { json!({"waiting": {"reason": "ContainerCreating"}}) } else { json!({"running": {}}) };
        let status = json!({"status": {"phase": "Running", "containerStatuses": [
            {"name": "web", "image": "busybox", "imageID": "", "ready": true, "restartCount": 0, "state": state}
        ]}});
        c.ok("PATCH", &format!("{pods}/{name}/status"), status).await;
    }

    // Answered without a node.
    let (code, s) = c.log_error(&format!("{pods}/nope/log")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (404, "pods \"nope\" not found"));
    let (code, s) = c.log_error(&format!("{pods}/multi/log")).await;
    assert_eq!(code, 400);
    assert_eq!(s["reason"], "BadRequest");
    assert_eq!(s["message"], "a container name must be specified for pod multi, choose one of: [a b]");
    let (code, s) = c.log_error(&format!("{pods}/multi/log?container=nope")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (400, "container nope is not valid for pod multi"));
    let (code, s) = c.log_error(&format!("{pods}/multi/log?container=a&tailLines=-1")).await;
    assert_eq!(code, 422);
    assert_eq!(s["message"], "PodLogOptions \"multi\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0");
    let (code, s) = c.log_error(&format!("{pods}/multi/log?sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z")).await;
    assert_eq!((code, s["reason"].as_str().unwrap()), (422, "Invalid"));
    let (code, body) = c.call("GET", &format!("{pods}/pending/log"), None).await;
    assert_eq!((code, body.as_str()), (200, ""), "an unscheduled pod has an empty log, as upstream");
    let (code, s) = c.log_error(&format!("{pods}/waiting/log")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (400, "container \"web\" in pod \"waiting\" is waiting to start: ContainerCreating"));
    let (code, s) = c.log_error(&format!("{pods}/web/log?previous=true")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (400, "previous terminated container \"web\" in pod \"web\" not found"));
    let (code, s) = c.log_error(&format!("{pods}/nonode/log")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (404, "nodes \"n3\" not found"));
    assert!(seen.lock().unwrap().requests.is_empty(), "no agent was called for these");

    // A node agent that is not there.
    let (code, s) = c.log_error(&format!("{pods}/lost/log")).await;
    assert_eq!(code, 500);
    let msg = s["message"].as_str().unwrap();
    assert!(msg.starts_with("Get \"https://127.0.0.1:") && msg.ends_with(": connect: connection refused"), "{msg}");
    assert!(msg.contains("/containerLogs/default/lost/web\": dial tcp 127.0.0.1:"), "{msg}");

    // The agent's refusals, reworded as upstream does.
    let (code, s) = c.log_error(&format!("{pods}/gone/log")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (404, "the server could not find the requested resource ( pods/log gone)"));
    let (code, s) = c.log_error(&format!("{pods}/odd/log")).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (400, "container \"web\" in pod \"odd\" is terminated"));

    // The stream, relayed as it comes (the second line is only written once the first
    // has reached the client).
    let resp = c
        .send("GET", &format!("{pods}/web/log?follow=true&tailLines=10&timestamps=1&limitBytes=100"), "", None)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    let mut body = resp.into_body();
    let mut got = Vec::new();
    while !got.ends_with(b"first\n") {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("first line streamed").unwrap().unwrap();
        got.extend_from_slice(&frame.into_data().unwrap_or_default());
    }
    release.notify_one();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.unwrap() {
        got.extend_from_slice(&frame.unwrap().into_data().unwrap_or_default());
    }
    assert_eq!(got, b"first\nsecond\n");
    let seen = seen.lock().unwrap();
    assert!(
        seen.requests.contains(&"/containerLogs/default/web/web?follow=true&timestamps=true&tailLines=10&limitBytes=100".to_string()),
        "{:?}",
        seen.requests
    );
    assert!(seen.callers.iter().all(|c| c == "CN=kube-apiserver-kubelet-client, O=system:masters"), "{:?}", seen.callers);
}
