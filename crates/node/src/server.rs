//! The node agent's HTTPS API (upstream's kubelet server, port 10250): what the API
//! server calls to stream container logs, and later exec, attach and port-forward.
//!
//! TLS with a self-signed serving certificate kept in `cert_dir` (the API server does
//! not verify it, as upstream without --kubelet-certificate-authority); clients must
//! present a certificate the cluster CA signed. Upstream asks the API server whether
//! the caller may (SubjectAccessReview on `nodes/proxy`); here the caller must be in
//! `system:masters`, which the API server's kubelet-client identity is.
//!
//! Paths, as upstream:
//! - `GET /healthz` → `ok`
//! - `GET /containerLogs/{namespace}/{pod}/{container}?follow&tailLines&sinceSeconds&
//!   sinceTime&timestamps&previous&limitBytes&stream` → the log as a chunked text body.
//! - `GET|POST /exec/{namespace}/{pod}/{container}?command=..&stdin&stdout&stderr&tty`
//!   and `/attach/...` → a WebSocket upgrade carrying the remotecommand channel
//!   protocols (`streaming`).
//!
//! `route` is the one place that maps paths to handlers; `/portForward` joins it there
//! (connections allow HTTP upgrades).

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::logs::{self, LogOptions, StreamFilter};
use crate::streaming;

/// Where and how the agent's API listens.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Where the self-signed serving certificate and key are kept (generated once).
    pub cert_dir: PathBuf,
    /// The cluster CA (PEM): clients must present a certificate it signed.
    pub client_ca_pem: Vec<u8>,
    pub node_name: String,
    pub node_ips: Vec<IpAddr>,
    /// Root of the container logs (`<ns>_<pod>_<uid>/<container>/<n>.log`).
    pub log_dir: PathBuf,
}

/// What the server needs to know of the agent's pods.
pub trait PodView: Send + Sync + 'static {
    /// The UID of the pod of that name this node runs, if any.
    fn pod_uid(&self, namespace: &str, name: &str) -> Option<String>;
    /// Whether the container is running now (a follower stops once it is not, after
    /// reading all it wrote).
    fn container_running(&self, pod_uid: &str, container: &str) -> bool;
    /// The newest instance of the container, for `exec` and `attach` (`None` when the
    /// pod has no container of that name on this node).
    fn exec_target(&self, pod_uid: &str, container: &str) -> Option<crate::streaming::ExecTarget> {
        let _ = (pod_uid, container);
        None
    }
}

pub type Body = BoxBody<Bytes, io::Error>;

/// File names of the serving certificate and key in `cert_dir` (upstream's kubelet's).
pub const CERT_FILE: &str = "kubelet.crt";
pub const KEY_FILE: &str = "kubelet.key";

/// The client of a connection, from its certificate's subject (CN and O).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Caller {
    pub user: String,
    pub groups: Vec<String>,
}

impl Caller {
    pub fn from_cert(der: &[u8]) -> Option<Caller> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let user = subject.iter_common_name().next()?.as_str().ok()?.to_string();
        let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
        Some(Caller { user, groups })
    }
}

struct State {
    cfg: ServerConfig,
    view: Arc<dyn PodView>,
}

/// Binds `cfg.addr` and serves until the process ends.
pub async fn serve(cfg: ServerConfig, view: Arc<dyn PodView>) -> io::Result<()> {
    let listener = TcpListener::bind(cfg.addr).await?;
    serve_on(listener, cfg, view).await
}

/// Serves on a bound listener (`cfg.addr` is not used).
pub async fn serve_on(listener: TcpListener, cfg: ServerConfig, view: Arc<dyn PodView>) -> io::Result<()> {
    let (cert, key) = load_or_create_cert(&cfg.cert_dir, &cfg.node_name, &cfg.node_ips)?;
    let acceptor = TlsAcceptor::from(Arc::new(tls_config(&cert, &key, &cfg.client_ca_pem)?));
    let state = Arc::new(State { cfg, view });
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("node server accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (state, acceptor) = (state.clone(), acceptor.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!("node server TLS handshake with {peer}: {e}");
                    return;
                }
            };
            let caller = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| Caller::from_cert(c));
            let svc = hyper::service::service_fn(move |req| {
                let (state, caller) = (state.clone(), caller.clone());
                async move { Ok::<_, Infallible>(handle(&state, caller, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc).await {
                tracing::debug!("node server connection from {peer}: {e}");
            }
        });
    }
}

/// The serving certificate and key (PEM) from `cert_dir`, generated on first use:
/// self-signed, for the node's name, its addresses and localhost.
pub fn load_or_create_cert(cert_dir: &Path, node_name: &str, node_ips: &[IpAddr]) -> io::Result<(String, String)> {
    let (cert_path, key_path) = (cert_dir.join(CERT_FILE), cert_dir.join(KEY_FILE));
    if let (Ok(cert), Ok(key)) = (std::fs::read_to_string(&cert_path), std::fs::read_to_string(&key_path)) {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(cert_dir)?;
    let (cert, key) = self_signed(node_name, node_ips).map_err(io::Error::other)?;
    write_file(&key_path, &key, 0o600)?;
    write_file(&cert_path, &cert, 0o644)?;
    Ok((cert, key))
}

fn self_signed(node_name: &str, node_ips: &[IpAddr]) -> Result<(String, String), rcgen::Error> {
    use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, SanType};
    let mut sans: Vec<SanType> = Vec::new();
    let mut push = |s: SanType| {
        if !sans.contains(&s) {
            sans.push(s);
        }
    };
    for name in [node_name, "localhost"] {
        match name.parse::<IpAddr>() {
            Ok(ip) => push(SanType::IpAddress(ip)),
            Err(_) => {
                if let Ok(dns) = name.to_string().try_into() {
                    push(SanType::DnsName(dns));
                }
            }
        }
    }
    for ip in node_ips.iter().copied().chain(["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]) {
        push(SanType::IpAddress(ip));
    }
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("{node_name}@{}", Utc::now().timestamp()));
    p.distinguished_name = dn;
    p.subject_alt_names = sans;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let key = KeyPair::generate()?;
    let cert = p.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write_file(path: &Path, content: &str, mode: u32) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

/// TLS that requires a client certificate signed by `client_ca_pem`; HTTP/2 and 1.1.
pub fn tls_config(cert_pem: &str, key_pem: &str, client_ca_pem: &[u8]) -> io::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut key_pem.as_bytes())?.ok_or_else(|| io::Error::other("no serving key"))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut &client_ca_pem[..]) {
        roots.add(ca?).map_err(io::Error::other)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(io::Error::other)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

pub(crate) fn text(code: StatusCode, msg: impl Into<String>) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(msg.into())).map_err(|e: Infallible| match e {}).boxed())
        .unwrap()
}

/// Whether the caller may use the agent's API (upstream: `nodes/proxy` and friends by
/// SubjectAccessReview; here membership of `system:masters`).
fn authorized(caller: &Caller) -> bool {
    caller.groups.iter().any(|g| g == "system:masters")
}

async fn handle(state: &State, caller: Option<Caller>, req: Request<Incoming>) -> Response<Body> {
    let Some(caller) = caller else {
        return text(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    if !authorized(&caller) {
        let verb = if req.method() == Method::GET { "get" } else { "create" };
        let msg = format!("Forbidden (user={}, verb={verb}, resource=nodes, subresource=proxy)", caller.user);
        return text(StatusCode::FORBIDDEN, msg);
    }
    route(state, req).await
}

/// Maps a request to its handler: the extension point (`/portForward` joins here).
async fn route(state: &State, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let segments: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    // Names become file paths below: a decoded segment never climbs or nests.
    if segments.iter().any(|s| s.contains('/') || *s == "." || *s == ".." || s.contains('\0')) {
        return text(StatusCode::BAD_REQUEST, "invalid path segment");
    }
    match (req.method(), segments.as_slice()) {
        (&Method::GET | &Method::HEAD, ["healthz"]) => text(StatusCode::OK, "ok"),
        (&Method::GET, ["containerLogs", ns, pod, container]) => {
            container_logs(state, ns, pod, container, req.uri().query()).await
        }
        (&Method::GET | &Method::POST, ["exec", ns, pod, container]) => {
            streaming::serve(streaming::Kind::Exec, state.view.clone(), req, ns, pod, container)
        }
        (&Method::GET | &Method::POST, ["attach", ns, pod, container]) => {
            streaming::serve(streaming::Kind::Attach, state.view.clone(), req, ns, pod, container)
        }
        (_, ["portForward", ..]) => text(StatusCode::NOT_IMPLEMENTED, "portForward is not served yet"),
        (_, ["healthz"] | ["containerLogs", _, _, _] | ["exec" | "attach", _, _, _]) => {
            text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters, decoded (`+` is a space), in order, repeated keys kept (where
/// one value is wanted, the first wins).
pub(crate) fn query_params(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Log options from a query, as the kubelet decodes and validates PodLogOptions;
/// also whether the previous instance is asked for. Errors carry status and text.
pub fn parse_log_query(q: Option<&str>, now: DateTime<Utc>) -> Result<(LogOptions, bool), (StatusCode, String)> {
    let params = query_params(q);
    let get = |k: &str| params.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.as_str());
    // Kubernetes booleans: absent, `0`, `f` and `false` (any case) are false; `?x` is true.
    let flag = |k: &str| get(k).is_some_and(|v| !(v == "0" || v.eq_ignore_ascii_case("f") || v.eq_ignore_ascii_case("false")));
    let decode_err = || (StatusCode::BAD_REQUEST, r#"{"message": "Unable to decode query."}"#.to_string());
    let int = |k: &str| -> Result<Option<i64>, (StatusCode, String)> {
        match get(k) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| decode_err()),
        }
    };
    // `tail` is the old name of tailLines (`all` meaning no limit).
    let tail_lines = match get("tail") {
        Some("all") => None,
        Some(t) if !t.is_empty() => Some(t.parse::<i64>().map_err(|_| decode_err())?),
        _ => int("tailLines")?,
    };
    let limit_bytes = int("limitBytes")?;
    let since_seconds = int("sinceSeconds")?;
    let since_time = match get("sinceTime") {
        None | Some("") => None,
        Some(t) => Some(DateTime::parse_from_rfc3339(t).map_err(|_| decode_err())?.with_timezone(&Utc)),
    };
    let stream = match get("stream") {
        None | Some("") | Some("All") => StreamFilter::All,
        Some("Stdout") => StreamFilter::Stdout,
        Some("Stderr") => StreamFilter::Stderr,
        Some(other) => return Err((StatusCode::BAD_REQUEST, format!("invalid stream type {other:?}"))),
    };
    let invalid = tail_lines.is_some_and(|t| t < 0)
        || limit_bytes.is_some_and(|b| b < 1)
        || (since_seconds.is_some() && since_time.is_some())
        || since_seconds.is_some_and(|s| s < 1)
        || (stream != StreamFilter::All && tail_lines.is_some());
    if invalid {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, r#"{"message": "Invalid request."}"#.to_string()));
    }
    let opts = LogOptions {
        follow: flag("follow"),
        tail_lines: tail_lines.map(|t| t as u64),
        since: LogOptions::resolve_since(now, since_seconds, since_time),
        timestamps: flag("timestamps"),
        limit_bytes: limit_bytes.map(|b| b as u64),
        stream,
    };
    Ok((opts, flag("previous")))
}

async fn container_logs(state: &State, ns: &str, pod: &str, container: &str, query: Option<&str>) -> Response<Body> {
    let (mut opts, previous) = match parse_log_query(query, Utc::now()) {
        Ok(o) => o,
        Err((code, msg)) => return text(code, msg),
    };
    let Some(uid) = state.view.pod_uid(ns, pod) else {
        return text(StatusCode::NOT_FOUND, format!("pod {pod:?} does not exist"));
    };
    let dir = logs::pod_log_dir(&state.cfg.log_dir, ns, pod, &uid).join(container);
    if !dir.is_dir() {
        return text(StatusCode::NOT_FOUND, format!("container {container:?} not found in pod {pod:?}"));
    }
    let instances = match logs::instances(&dir) {
        Ok(i) => i,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("reading {}: {e}", dir.display())),
    };
    let Some(instance) = logs::select_instance(&instances, previous) else {
        let msg = if previous {
            format!("previous terminated container {container:?} in pod {pod:?} not found")
        } else {
            format!("container {container:?} in pod {pod:?} is waiting to start - no logs yet")
        };
        return text(StatusCode::BAD_REQUEST, msg);
    };
    let finished: logs::Finished = if previous {
        // A previous instance has ended: nothing more will come.
        opts.follow = false;
        Arc::new(|| true)
    } else {
        let (view, uid, container) = (state.view.clone(), uid.clone(), container.to_string());
        Arc::new(move || !view.container_running(&uid, &container))
    };
    let stream = logs::read(logs::log_path(&dir, instance), opts, finished).map(|chunk| chunk.map(Frame::data));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use http_body_util::Empty;
    use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    pub(crate) struct Pods {
        uids: Mutex<HashMap<(String, String), String>>,
        pub running: AtomicBool,
        /// What `exec` and `attach` reach (streaming's tests set it).
        pub target: Mutex<Option<crate::streaming::ExecTarget>>,
    }

    impl PodView for Pods {
        fn pod_uid(&self, namespace: &str, name: &str) -> Option<String> {
            self.uids.lock().unwrap().get(&(namespace.to_string(), name.to_string())).cloned()
        }
        fn container_running(&self, _pod_uid: &str, _container: &str) -> bool {
            self.running.load(Ordering::SeqCst)
        }
        fn exec_target(&self, _pod_uid: &str, container: &str) -> Option<crate::streaming::ExecTarget> {
            self.target.lock().unwrap().clone().filter(|_| container == "c")
        }
    }

    /// A throwaway cluster CA and client certificates it signs.
    pub(crate) struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    impl Ca {
        fn new() -> Ca {
            let mut p = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "test-ca");
            p.distinguished_name = dn;
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            Ca { cert: p.self_signed(&key).unwrap(), key }
        }

        pub fn client(&self, user: &str, group: Option<&str>) -> (String, String) {
            let mut p = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, user);
            if let Some(g) = group {
                dn.push(DnType::OrganizationName, g);
            }
            p.distinguished_name = dn;
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let key = KeyPair::generate().unwrap();
            (p.signed_by(&key, &self.cert, &self.key).unwrap().pem(), key.serialize_pem())
        }
    }

    #[derive(Debug)]
    struct AnyServer;

    impl ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(m, c, d, &algs)
        }
        fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(m, c, d, &algs)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }

    /// A TLS connection to the server, offering `alpn`.
    pub(crate) async fn connect(
        addr: SocketAddr,
        client: Option<&(String, String)>,
        alpn: &[u8],
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer));
        let mut config = match client {
            Some((cert, key)) => {
                let certs = rustls_pemfile::certs(&mut cert.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap();
                let key = rustls_pemfile::private_key(&mut key.as_bytes()).unwrap().unwrap();
                builder.with_client_auth_cert(certs, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![alpn.to_vec()];
        let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())
    }

    /// Sends one GET over a fresh TLS connection (HTTP/1.1 or, with `h2`, HTTP/2).
    pub(crate) async fn get(addr: SocketAddr, client: Option<&(String, String)>, h2: bool, path: &str) -> Result<Response<Incoming>, String> {
        let tls = connect(addr, client, if h2 { b"h2" } else { b"http/1.1" }).await?;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(if h2 { &b"h2"[..] } else { &b"http/1.1"[..] }));
        let req = Request::builder().uri(format!("https://localhost{path}")).body(Empty::<Bytes>::new()).unwrap();
        if h2 {
            let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(|e| e.to_string())
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            sender.send_request(req).await.map_err(|e| e.to_string())
        }
    }

    pub(crate) async fn body(resp: Response<Incoming>) -> String {
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    async fn next(b: &mut Incoming) -> Option<Result<Frame<Bytes>, hyper::Error>> {
        tokio::time::timeout(std::time::Duration::from_secs(5), b.frame()).await.unwrap()
    }

    pub(crate) fn entry(content: &str) -> String {
        format!("2026-11-23T18:25:38.123456789Z stdout F {content}\n")
    }

    pub(crate) struct Fixture {
        pub addr: SocketAddr,
        pub ca: Ca,
        pub pods: Arc<Pods>,
        pub dir: tempfile::TempDir,
    }

    impl Fixture {
        pub fn log_file(&self, restart: u32) -> PathBuf {
            self.dir.path().join("logs").join("default_web_u1").join("c").join(format!("{restart}.log"))
        }
    }

    pub(crate) async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new();
        let log = dir.path().join("logs").join("default_web_u1").join("c");
        std::fs::create_dir_all(&log).unwrap();
        std::fs::write(log.join("0.log"), entry("old")).unwrap();
        std::fs::write(log.join("1.log"), [entry("a"), entry("b"), entry("c")].concat()).unwrap();
        std::fs::create_dir_all(dir.path().join("logs").join("default_web_u1").join("empty")).unwrap();
        let pods = Arc::new(Pods {
            uids: Mutex::new(HashMap::from([(("default".to_string(), "web".to_string()), "u1".to_string())])),
            running: AtomicBool::new(false),
            target: Mutex::new(None),
        });
        let cfg = ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_dir: dir.path().join("pki"),
            client_ca_pem: ca.cert.pem().into_bytes(),
            node_name: "n1".into(),
            node_ips: vec!["10.1.2.3".parse().unwrap()],
            log_dir: dir.path().join("logs"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_on(listener, cfg, pods.clone()));
        Fixture { addr, ca, pods, dir }
    }

    #[tokio::test]
    async fn serves_logs_to_callers_with_a_cluster_certificate() {
        let f = start().await;
        let admin = f.ca.client("kube-apiserver-kubelet-client", Some("system:masters"));
        for h2 in [false, true] {
            let resp = get(f.addr, Some(&admin), h2, "/healthz").await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(body(resp).await, "ok");
            let resp = get(f.addr, Some(&admin), h2, "/containerLogs/default/web/c?tailLines=2").await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
            assert_eq!(body(resp).await, "b\nc\n");
        }
        let ok = |path: &'static str| {
            let admin = admin.clone();
            let addr = f.addr;
            async move {
                let resp = get(addr, Some(&admin), false, path).await.unwrap();
                (resp.status().as_u16(), body(resp).await)
            }
        };
        assert_eq!(ok("/containerLogs/default/web/c?previous").await, (200, "old\n".into()));
        assert_eq!(ok("/containerLogs/default/web/c?previous=false&limitBytes=3").await, (200, "a\nb".into()));
        assert_eq!(ok("/containerLogs/default/web/c?follow=1&timestamps").await.1, "2026-11-23T18:25:38.123456789Z a\n2026-11-23T18:25:38.123456789Z b\n2026-11-23T18:25:38.123456789Z c\n");
        assert_eq!(ok("/containerLogs/default/nope/c").await, (404, "pod \"nope\" does not exist".into()));
        assert_eq!(ok("/containerLogs/default/web/x").await, (404, "container \"x\" not found in pod \"web\"".into()));
        assert_eq!(ok("/containerLogs/default/web/empty").await, (400, "container \"empty\" in pod \"web\" is waiting to start - no logs yet".into()));
        assert_eq!(ok("/containerLogs/default/web/empty?previous=true").await, (400, "previous terminated container \"empty\" in pod \"web\" not found".into()));
        assert_eq!(ok("/containerLogs/default/web/c?tailLines=-1").await.0, 422);
        assert_eq!(ok("/containerLogs/default/web/c?tailLines=x").await.0, 400);
        assert_eq!(ok("/exec/default/web/c").await, (400, "you must specify at least 1 of stdin, stdout, stderr".into()));
        assert_eq!(ok("/portForward/default/web").await.0, 501);
        assert_eq!(ok("/nothing").await.0, 404);
        // The serving certificate was made once, for the node's names.
        let pem = std::fs::read_to_string(f.dir.path().join("pki").join(CERT_FILE)).unwrap();
        let der = rustls_pemfile::certs(&mut pem.as_bytes()).next().unwrap().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let mut names = Vec::new();
        for n in &cert.subject_alternative_name().unwrap().unwrap().value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => names.push(format!("{ip:?}")),
                _ => {}
            }
        }
        assert!(names.contains(&"n1".to_string()) && names.contains(&"localhost".to_string()), "{names:?}");
        assert!(names.contains(&format!("{:?}", &[10u8, 1, 2, 3][..])), "{names:?}");
    }

    #[tokio::test]
    async fn follow_streams_until_the_container_stops() {
        let f = start().await;
        f.pods.running.store(true, Ordering::SeqCst);
        let admin = f.ca.client("kube-apiserver-kubelet-client", Some("system:masters"));
        let resp = get(f.addr, Some(&admin), true, "/containerLogs/default/web/c?follow&tailLines=1").await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let first = next(&mut body).await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "c\n");
        let mut file = std::fs::OpenOptions::new().append(true).open(f.log_file(1)).unwrap();
        std::io::Write::write_all(&mut file, entry("d").as_bytes()).unwrap();
        let second = next(&mut body).await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(second, "d\n");
        std::io::Write::write_all(&mut file, entry("e").as_bytes()).unwrap();
        f.pods.running.store(false, Ordering::SeqCst);
        let mut rest = Vec::new();
        while let Some(frame) = next(&mut body).await {
            if let Ok(d) = frame.unwrap().into_data() {
                rest.extend_from_slice(&d);
            }
        }
        assert_eq!(rest, b"e\n");
    }

    #[tokio::test]
    async fn refuses_callers_without_a_cluster_certificate_or_rights() {
        let f = start().await;
        assert!(get(f.addr, None, false, "/healthz").await.is_err(), "a client without a certificate must be refused");
        let stranger = Ca::new().client("kube-apiserver-kubelet-client", Some("system:masters"));
        assert!(get(f.addr, Some(&stranger), false, "/healthz").await.is_err(), "a certificate of another CA must be refused");
        let user = f.ca.client("dave", Some("devs"));
        let resp = get(f.addr, Some(&user), false, "/containerLogs/default/web/c").await.unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(body(resp).await, "Forbidden (user=dave, verb=get, resource=nodes, subresource=proxy)");
    }

    #[test]
    fn parses_log_queries_like_the_kubelet() {
        let now = Utc::now();
        let (o, prev) = parse_log_query(Some("follow&timestamps=&previous=0&tailLines=5&limitBytes=10"), now).unwrap();
        assert!(o.follow && o.timestamps && !prev);
        assert_eq!((o.tail_lines, o.limit_bytes), (Some(5), Some(10)));
        let (o, prev) = parse_log_query(Some("follow=false&timestamps=F&previous=1"), now).unwrap();
        assert!(!o.follow && !o.timestamps && prev);
        let (o, _) = parse_log_query(Some("tail=all&tailLines=3"), now).unwrap();
        assert_eq!(o.tail_lines, None);
        let (o, _) = parse_log_query(Some("sinceTime=2026-11-23T18%3A25%3A38Z"), now).unwrap();
        assert_eq!(o.since.unwrap().to_rfc3339(), "2026-11-23T18:25:38+00:00");
        let (o, _) = parse_log_query(Some("sinceSeconds=10&stream=Stderr"), now).unwrap();
        assert_eq!((o.since, o.stream), (Some(now - chrono::Duration::seconds(10)), StreamFilter::Stderr));
        for bad in ["tailLines=-1", "limitBytes=0", "sinceSeconds=0", "sinceSeconds=1&sinceTime=2026-11-23T18:25:38Z", "stream=Stdout&tailLines=1"] {
            assert_eq!(parse_log_query(Some(bad), now).unwrap_err().0, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        for bad in ["tailLines=x", "sinceTime=yesterday", "stream=both"] {
            assert_eq!(parse_log_query(Some(bad), now).unwrap_err().0, StatusCode::BAD_REQUEST, "{bad}");
        }
        assert_eq!(percent_decode("a%2Fb%zz%"), "a/b%zz%");
    }
}
