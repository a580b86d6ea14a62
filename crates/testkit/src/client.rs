//! A minimal HTTPS client for tests and benchmarks: one HTTP/2 connection (requests
//! are multiplexed), authenticating with the admin kubeconfig's client certificate.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

#[derive(Clone)]
pub struct Client {
    base: String,
    sender: SendRequest<Full<Bytes>>,
}

fn kubeconfig_field(text: &str, field: &str) -> String {
    let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{field}:"))).expect(field);
    line.split_once(':').unwrap().1.trim().to_string()
}

fn decode_b64(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

impl Client {
    /// Connects to the server a kubeconfig names (must be called inside a tokio runtime).
    pub async fn connect(path: &Path) -> Client {
        let text = std::fs::read_to_string(path).expect("read kubeconfig");
        let base = kubeconfig_field(&text, "server");
        let ca = decode_b64(&kubeconfig_field(&text, "certificate-authority-data"));
        let cert = decode_b64(&kubeconfig_field(&text, "client-certificate-data"));
        let key = decode_b64(&kubeconfig_field(&text, "client-key-data"));
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut ca.as_slice()) {
            roots.add(c.unwrap()).unwrap();
        }
        let certs = rustls_pemfile::certs(&mut cert.as_slice()).collect::<Result<Vec<_>, _>>().unwrap();
        let key = rustls_pemfile::private_key(&mut key.as_slice()).unwrap().unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let uri: http::Uri = base.parse().unwrap();
        let host = uri.host().unwrap().to_string();
        let tcp = tokio::net::TcpStream::connect((host.as_str(), uri.port_u16().unwrap())).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        let name = rustls::pki_types::ServerName::try_from(host).unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS");
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .max_concurrent_reset_streams(10_000)
            .handshake(TokioIo::new(tls))
            .await
            .expect("HTTP/2 handshake");
        tokio::spawn(conn);
        Client { base, sender }
    }

    /// Sends a request; returns the status code and body.
    pub async fn request(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, Bytes) {
        let resp = self.send(method, path, body).await;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        (status, bytes)
    }

    /// Sends a request and returns the response with its body unread (for watches).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> http::Response<hyper::body::Incoming> {
        let body = body.map(|b| Bytes::from(serde_json::to_vec(b).unwrap())).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Full::new(body))
            .unwrap();
        let mut sender = self.sender.clone();
        sender.ready().await.expect("connection ready");
        sender.send_request(req).await.expect("request")
    }
}

impl Client {
    /// Opens a watch: its events arrive on the receiver, one parsed line each, until the
    /// server ends the stream (then the receiver yields None).
    pub async fn watch(&self, path: &str) -> tokio::sync::mpsc::UnboundedReceiver<serde_json::Value> {
        let mut body = self.send("GET", path, None).await.into_body();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(chunk) = frame.into_data() else { continue };
                buf.extend_from_slice(&chunk);
                while let Some(end) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=end).collect();
                    let Ok(ev) = serde_json::from_slice(&line) else { continue };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// GET with an explicit Accept header; returns the body.
    pub async fn inner_get(&self, path: &str, accept: &str) -> Bytes {
        let req = http::Request::builder()
            .method("GET")
            .uri(format!("{}{}", self.base, path))
            .header("accept", accept)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let mut sender = self.sender.clone();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("request");
        resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default()
    }
}

impl Client {
    /// Sends a prepared request (its URI is a path on the server); returns the status code.
    pub async fn raw(&self, req: http::Request<Vec<u8>>) -> u16 {
        let (mut parts, body) = req.into_parts();
        parts.uri = format!("{}{}", self.base, parts.uri).parse().unwrap();
        let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let mut sender = self.sender.clone();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("request");
        let code = resp.status().as_u16();
        let _ = resp.into_body().collect().await;
        code
    }
}
