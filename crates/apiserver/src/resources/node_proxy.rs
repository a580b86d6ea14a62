//! Subresources served by calling the node agent's API (upstream's kubelet API):
//! `pods/log`, and the connect subresources `pods/exec` and `pods/attach` (WebSocket
//! upgrades spliced through to the agent; see `connect`); `portforward` joins here.
//!
//! As upstream (pkg/registry/core/pod/rest/log.go, strategy.go LogLocation and the
//! generic LocationStreamer): validate PodLogOptions, pick the container, find the
//! node's address and kubelet port, GET `/containerLogs/...` on it over TLS as
//! `kube-apiserver-kubelet-client` (without verifying the agent's self-signed
//! certificate, upstream's default without --kubelet-certificate-authority) and
//! stream the body back as it arrives. The kubelet's own checks of the container's
//! state (waiting, no previous instance) are made here from the pod's status, with
//! the kubelet's words, before the node is called.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use api::errors::FieldError;
use bytes::Bytes;
use http::{header, HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, Limited, StreamBody};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};

use super::Req;
use crate::server::{json_reply, Reply};
use crate::status::{ApiError, ApiResult};

/// The kubelet port when a Node does not say (upstream's --kubelet-port default).
const DEFAULT_KUBELET_PORT: u16 = 10250;
/// The identity the API server presents to node agents (kubeadm's name for it).
pub const KUBELET_CLIENT_USER: &str = "kube-apiserver-kubelet-client";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an agent's error answer is kept (upstream's maxReadLength).
const MAX_ERROR_BODY: usize = 50_000;

/// How the API server reaches node agents: TLS with a client certificate the cluster CA
/// signed, minted once at start.
pub struct KubeletClient {
    tls: Arc<rustls::ClientConfig>,
}

impl KubeletClient {
    pub fn new(pki: &crate::certs::Pki) -> std::io::Result<KubeletClient> {
        let (cert, key) = pki.issue_client_cert(KUBELET_CLIENT_USER, &[api::rbac::SYSTEM_MASTERS])?;
        Self::with_identity(&cert, &key)
    }

    /// A client presenting `cert_pem`/`key_pem`.
    pub fn with_identity(cert_pem: &str, key_pem: &str) -> std::io::Result<KubeletClient> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())?
            .ok_or_else(|| std::io::Error::other("no kubelet client key"))?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)))
            .with_client_auth_cert(certs, key)
            .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(KubeletClient { tls: Arc::new(config) })
    }

    /// GETs `url_path` (path and query) from the agent at `host:port`; the error is
    /// worded as Go's HTTP client words it.
    async fn get(&self, host: &str, port: u16, url_path: &str) -> Result<Response<Incoming>, String> {
        let host_port = host_port(host, port);
        let fail = |e: String| format!("Get {:?}: {e}", format!("https://{host_port}{url_path}"));
        let req = Request::get(url_path)
            .header(header::HOST, host_port.as_str())
            .header(header::USER_AGENT, "kube-apiserver")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(e.to_string()))?;
        let mut sender = self.open(host, port).await.map_err(fail)?;
        sender.send_request(req).await.map_err(|e| fail(e.to_string()))
    }

    /// An HTTP/1.1 connection to the agent at `host:port` that allows upgrades.
    async fn open(&self, host: &str, port: u16) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, String> {
        let host_port = host_port(host, port);
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
            Err(_) => return Err(format!("dial tcp {host_port}: i/o timeout")),
            Ok(Err(e)) => return Err(dial_error(&host_port, &e)),
            Ok(Ok(t)) => t,
        };
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("remote error: tls: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        Ok(sender)
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn dial_error(host_port: &str, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "i/o timeout".to_string(),
        _ => {
            // Name resolution failures carry no OS error.
            if e.raw_os_error().is_none() {
                return format!("dial tcp: lookup {}: {e}", host_port.rsplit_once(':').map(|(h, _)| h).unwrap_or(host_port));
            }
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_lowercase();
            format!("connect: {text}")
        }
    };
    format!("dial tcp {host_port}: {what}")
}

/// Accepts any serving certificate (the TLS handshake still proves the key).
#[derive(Debug)]
struct AnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Upstream's PodLogOptions, as read from the query.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PodLogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub since_seconds: Option<i64>,
    pub since_time: Option<chrono::DateTime<chrono::Utc>>,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
    pub stream: Option<String>,
}

const LOG_STREAMS: [&str; 3] = ["All", "Stdout", "Stderr"];

impl PodLogOptions {
    pub fn from_query(q: &crate::query::Query) -> ApiResult<PodLogOptions> {
        let since_time = match q.value("sinceTime") {
            None => None,
            Some(t) => Some(
                chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|_| ApiError::bad_request(format!("parsing time {t:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {t:?}")))?
                    .with_timezone(&chrono::Utc),
            ),
        };
        Ok(PodLogOptions {
            container: q.value("container").map(str::to_string),
            follow: q.flag("follow"),
            previous: q.flag("previous"),
            timestamps: q.flag("timestamps"),
            since_seconds: q.int("sinceSeconds")?,
            since_time,
            tail_lines: q.int("tailLines")?,
            limit_bytes: q.int("limitBytes")?,
            stream: q.value("stream").map(str::to_string),
        })
    }

    /// Upstream's ValidatePodLogOptions.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(t) = self.tail_lines.filter(|t| *t < 0) {
            errs.push(FieldError::invalid("tailLines", json!(t), "must be greater than or equal to 0"));
        }
        if let Some(b) = self.limit_bytes.filter(|b| *b < 1) {
            errs.push(FieldError::invalid("limitBytes", json!(b), "must be greater than 0"));
        }
        match (self.since_seconds, self.since_time) {
            (Some(_), Some(_)) => {
                errs.push(FieldError::forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
            }
            (Some(s), None) if s < 1 => errs.push(FieldError::invalid("sinceSeconds", json!(s), "must be greater than 0")),
            _ => {}
        }
        if let Some(s) = &self.stream {
            if !LOG_STREAMS.contains(&s.as_str()) {
                errs.push(FieldError::not_supported("stream", json!(s), &LOG_STREAMS));
            }
            if s != "All" && self.tail_lines.is_some() {
                errs.push(FieldError::forbidden("", "`tailLines` and specific `stream` are mutually exclusive for now"));
            }
        }
        errs
    }

    /// The query of the agent's `/containerLogs` URL (as LogLocation builds it).
    pub fn kubelet_query(&self) -> String {
        let mut q: Vec<String> = Vec::new();
        if self.follow {
            q.push("follow=true".into());
        }
        if self.previous {
            q.push("previous=true".into());
        }
        if self.timestamps {
            q.push("timestamps=true".into());
        }
        if let Some(s) = self.since_seconds {
            q.push(format!("sinceSeconds={s}"));
        }
        if let Some(t) = self.since_time {
            q.push(format!("sinceTime={}", t.format("%Y-%m-%dT%H:%M:%SZ").to_string().replace(':', "%3A")));
        }
        if let Some(t) = self.tail_lines {
            q.push(format!("tailLines={t}"));
        }
        if let Some(b) = self.limit_bytes {
            q.push(format!("limitBytes={b}"));
        }
        if let Some(s) = self.stream.as_deref().filter(|s| *s != "All") {
            q.push(format!("stream={s}"));
        }
        q.join("&")
    }
}

/// 422 Invalid for PodLogOptions, as `errors.NewInvalid(Kind("PodLogOptions"), name, errs)`.
fn invalid_options(name: &str, errs: &[FieldError]) -> ApiError {
    let causes: Vec<Value> =
        errs.iter().map(|e| json!({"reason": e.error_type.cause_type(), "message": e.body(), "field": e.field})).collect();
    ApiError::new(422, "Invalid", format!("PodLogOptions {name:?} is invalid: {}", api::errors::aggregate_message(errs)))
        .with_details(json!({"name": name, "kind": "PodLogOptions", "causes": causes}))
}

fn container_names(pod: &Value, field: &str) -> Vec<String> {
    pod["spec"][field]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The container to read: the one asked for (which must exist), or the pod's only one
/// (upstream's validateContainer).
pub fn choose_container(pod: &Value, requested: Option<&str>) -> ApiResult<String> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let all: Vec<String> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|f| container_names(pod, f))
        .collect();
    match requested {
        Some(c) if all.iter().any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!("container {c} is not valid for pod {name}"))),
        None => match container_names(pod, "containers").as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ApiError::bad_request(format!("a container name must be specified for pod {name}"))),
            _ => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                all.join(" ")
            ))),
        },
    }
}

/// Whether the container has a log to show, from the pod's status, in the words of
/// the kubelet's validateContainerLogStatus (its refusals reach clients as 400).
pub fn check_log_status(pod: &Value, container: &str, previous: bool) -> ApiResult<()> {
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    let status = ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
        .iter()
        .filter_map(|f| pod["status"][f].as_array())
        .flatten()
        .find(|s| s["name"].as_str() == Some(container));
    let refuse = |what: String| Err(ApiError::bad_request(format!("container {container:?} in pod {pod_name:?} {what}")));
    let Some(status) = status else {
        return refuse("is not available".into());
    };
    let (state, last) = (&status["state"], &status["lastState"]);
    let present = |v: &Value| v.is_object();
    if previous {
        if !present(&last["terminated"]) {
            return Err(ApiError::bad_request(format!(
                "previous terminated container {container:?} in pod {pod_name:?} not found"
            )));
        }
        return Ok(());
    }
    if present(&state["running"]) || present(&state["terminated"]) || present(&last["terminated"]) {
        return Ok(());
    }
    if present(&state["waiting"]) {
        let reason = state["waiting"]["reason"].as_str().unwrap_or("");
        return match reason {
            "ErrImagePull" => refuse("is waiting to start: image can't be pulled".into()),
            "ImagePullBackOff" => refuse("is waiting to start: trying and failing to pull image".into()),
            _ => refuse(format!("is waiting to start: {reason}")),
        };
    }
    refuse("is waiting to start - no logs yet".into())
}

/// Where a node's agent listens: its first address of the preferred types and its
/// kubelet endpoint port.
pub fn kubelet_address(node: &Value) -> Result<(String, u16), String> {
    const PREFERRED: [&str; 5] = ["InternalIP", "Hostname", "InternalDNS", "ExternalIP", "ExternalDNS"];
    let addresses = node["status"]["addresses"].as_array().cloned().unwrap_or_default();
    let host = PREFERRED.iter().find_map(|ty| {
        addresses.iter().find(|a| a["type"].as_str() == Some(ty)).and_then(|a| a["address"].as_str()).filter(|a| !a.is_empty())
    });
    let Some(host) = host else {
        let known: Vec<String> = addresses
            .iter()
            .map(|a| format!("{{{} {}}}", a["type"].as_str().unwrap_or(""), a["address"].as_str().unwrap_or("")))
            .collect();
        return Err(format!("no preferred addresses found; known addresses: [{}]", known.join(" ")));
    };
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .filter(|p| *p > 0 && *p <= u16::MAX as u64)
        .map(|p| p as u16)
        .unwrap_or(DEFAULT_KUBELET_PORT);
    Ok((host.to_string(), port))
}

/// A 500 Status for an error that is not an API status (upstream omits its reason),
/// such as a failed connection to the agent.
fn unknown_error(message: &str) -> Reply {
    let mut status = ApiError::new(500, "", message).to_status();
    status.as_object_mut().unwrap().remove("reason");
    json_reply(500, &status)
}

/// An agent's refusal as a Status (upstream's GenericHttpResponseChecker and
/// NewGenericServerResponse for `pods/log`).
pub fn agent_error(code: u16, body: &str, pod: &str) -> Value {
    subresource_error("log", code, body, pod)
}

/// An agent's refusal of a `pods/{sub}` request as a Status.
fn subresource_error(sub: &str, code: u16, body: &str, pod: &str) -> Value {
    match code {
        500 => return ApiError::internal(body).with_details(json!({"causes": [{"message": body}]})).to_status(),
        400 => return ApiError::bad_request(body).to_status(),
        _ => {}
    }
    let (reason, message): (&'static str, String) = match code {
        401 => ("Unauthorized", "the server has asked for the client to provide credentials".into()),
        403 => ("Forbidden", body.to_string()),
        404 => ("NotFound", "the server could not find the requested resource".into()),
        405 => ("MethodNotAllowed", "the server does not allow this method on the requested resource".into()),
        406 if !body.is_empty() && body != "unknown" => ("NotAcceptable", body.to_string()),
        406 => ("NotAcceptable", "the server was unable to respond with a content type that the client supports".into()),
        409 => ("Conflict", "the server reported a conflict".into()),
        415 => ("UnsupportedMediaType", "the server was unable to respond with a content type that the client supports".into()),
        422 => ("Invalid", "the server rejected our request due to an error in our request".into()),
        429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later".into()),
        503 => ("ServiceUnavailable", "the server is currently unable to handle the request".into()),
        504 => ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request".into()),
        c if c >= 500 => ("InternalError", format!("an error on the server ({body:?}) has prevented the request from succeeding")),
        c => ("", format!("the server responded with the status code {c} but did not return more information")),
    };
    let message = format!("{message} ( pods/{sub} {pod})");
    let details = json!({"name": pod, "kind": format!("pods/{sub}")});
    let mut status = ApiError::new(code, reason, message).with_details(details).to_status();
    if reason.is_empty() {
        status.as_object_mut().unwrap().remove("reason");
    }
    status
}

fn text_reply(body: ReplyBodyStream) -> Reply {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .unwrap()
}

type ReplyBodyStream = crate::server::ReplyBody;

/// The agent's body passed on frame by frame, as it arrives (a broken agent
/// connection ends the reply).
fn relay(body: Incoming) -> ReplyBodyStream {
    let frames = futures_util::stream::unfold(body, |mut body| async move {
        match body.frame().await {
            Some(Ok(frame)) => Some((Ok::<_, Infallible>(frame), body)),
            _ => None,
        }
    });
    BodyExt::boxed(StreamBody::new(frames))
}

/// `GET pods/{name}/log`.
pub async fn pod_log(req: &Req) -> ApiResult<Reply> {
    let opts = PodLogOptions::from_query(&req.query)?;
    let errs = opts.validate();
    if !errs.is_empty() {
        return Err(invalid_options(req.name(), &errs));
    }
    let pod = super::read::current(req).await?.value();
    let container = choose_container(&pod, opts.container.as_deref())?;
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or("");
    if node_name.is_empty() {
        // Upstream: no location, an empty stream.
        return Ok(text_reply(Full::new(Bytes::new()).map_err(|e: Infallible| match e {}).boxed()));
    }
    let nodes = api::registry::find("", "v1", "nodes").expect("nodes are registered");
    let node = req
        .srv
        .cache
        .resource(nodes.storage)
        .get(&nodes.key("", node_name))
        .ok_or_else(|| ApiError::not_found(nodes, node_name))?
        .value();
    let (host, port) = match kubelet_address(&node) {
        Ok(a) => a,
        Err(e) => return Ok(unknown_error(&e)),
    };
    check_log_status(&pod, &container, opts.previous)?;
    let path = format!("/containerLogs/{}/{}/{container}", req.ns(), req.name());
    let query = opts.kubelet_query();
    let url_path = if query.is_empty() { path } else { format!("{path}?{query}") };
    let resp = match req.srv.kubelet.get(&host, port, &url_path).await {
        Ok(r) => r,
        Err(e) => return Ok(unknown_error(&e)),
    };
    let code = resp.status().as_u16();
    if !(200..=206).contains(&code) {
        let body = match Limited::new(resp.into_body(), MAX_ERROR_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Err(ApiError::internal(e.to_string())),
        };
        return Ok(json_reply(code, &agent_error(code, &String::from_utf8_lossy(&body), req.name())));
    }
    Ok(text_reply(relay(resp.into_body())))
}

/// What a connect request (`exec`, `attach`) needs of its HTTP request beyond `Req`:
/// the raw query (`command` repeats, which `Query` does not keep), the headers of the
/// WebSocket handshake and the connection's upgrade. Taken before the body is read.
pub struct Connect {
    raw_query: String,
    headers: HeaderMap,
    upgrade: std::sync::Mutex<Option<OnUpgrade>>,
}

impl Connect {
    /// The subresources that are connect requests.
    const SUBRESOURCES: [&'static str; 3] = ["exec", "attach", "portforward"];

    /// For a request of a connect subresource, what it needs of the HTTP request.
    pub fn take<B>(req: &mut Request<B>, subresource: Option<&str>) -> Option<Arc<Connect>> {
        if !subresource.is_some_and(|s| Self::SUBRESOURCES.contains(&s)) {
            return None;
        }
        Some(Arc::new(Connect {
            raw_query: req.uri().query().unwrap_or_default().to_string(),
            headers: req.headers().clone(),
            upgrade: std::sync::Mutex::new(req.extensions_mut().remove::<OnUpgrade>()),
        }))
    }
}

/// Upstream's PodExecOptions and PodAttachOptions, as read from the query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub container: Option<String>,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ConnectOptions {
    /// With upstream's defaults (stdout and stderr unless the query says otherwise) and
    /// its query booleans (`false` and `0`, in any case, are false; any other value,
    /// even an empty one, true).
    pub fn from_query(raw: &str) -> ConnectOptions {
        let pairs: Vec<(String, String)> = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (crate::query::decode_component(k), crate::query::decode_component(v))
            })
            .collect();
        let first = |k: &str| pairs.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.as_str());
        let flag = |k: &str, default: bool| first(k).map_or(default, |v| !(v == "0" || v.eq_ignore_ascii_case("false")));
        ConnectOptions {
            container: first("container").filter(|c| !c.is_empty()).map(str::to_string),
            command: pairs.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect(),
            stdin: flag("stdin", false),
            stdout: flag("stdout", true),
            stderr: flag("stderr", true),
            tty: flag("tty", false),
        }
    }

    /// The query of the agent's URL, as upstream's streamParams and Go's
    /// url.Values.Encode (keys in order) make it.
    pub fn kubelet_query(&self, with_command: bool) -> String {
        let mut q: Vec<String> = Vec::new();
        if with_command {
            q.extend(self.command.iter().map(|c| format!("command={}", query_escape(c))));
        }
        for (on, param) in [(self.stderr, "stderr=1"), (self.stdin, "stdin=1"), (self.stdout, "stdout=1"), (self.tty, "tty=1")] {
            if on {
                q.push(param.to_string());
            }
        }
        q.join("&")
    }
}

/// Go's url.QueryEscape.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn upgrade_headers_of(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// The container and node a connect request reaches, or its refusal: upstream's
/// ExecLocation/AttachLocation checks (the container, the node), plus what kubectl
/// checks before it asks (a command; a pod that has not completed), so that other
/// clients hear the same words.
pub fn connect_target(pod: &Value, opts: &ConnectOptions, exec: bool) -> ApiResult<(String, String)> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let container = choose_container(pod, opts.container.as_deref())?;
    if exec && opts.command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least one command for the container"));
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        let what = if exec { "exec into" } else { "attach" };
        return Err(ApiError::bad_request(format!("cannot {what} a container in a completed pod; current phase is {phase}")));
    }
    match pod["spec"]["nodeName"].as_str().unwrap_or("") {
        "" => Err(ApiError::bad_request(format!("pod {name} does not have a host assigned"))),
        node => Ok((container, node.to_string())),
    }
}

/// `pods/{name}/exec` and `pods/{name}/attach` (GET or POST), as upstream's ExecREST
/// and AttachREST: the checks of ExecLocation/AttachLocation, then the same WebSocket
/// upgrade asked of the pod's node agent (`/exec/{ns}/{pod}/{container}?...`) with the
/// client's key and subprotocols. Once the agent switched protocols, so does the client,
/// with the agent's accept key and chosen subprotocol, and the two connections are
/// spliced. The agent speaks the channel protocol; nothing here parses frames.
///
/// Only WebSocket is served: a SPDY upgrade (kubectl's fallback) is refused with a
/// Status saying so.
pub async fn connect(req: &Req, sub: &str) -> ApiResult<Reply> {
    let conn = req.connect.clone().ok_or_else(|| ApiError::internal("the request cannot be upgraded"))?;
    let exec = sub == "exec";
    let opts = ConnectOptions::from_query(&conn.raw_query);
    let pod = super::read::current(req).await?.value();
    let name = req.name();
    let (container, node_name) = connect_target(&pod, &opts, exec)?;
    if !upgrade_headers_of(&conn.headers) {
        let spdy = conn.headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().starts_with("spdy"));
        return Err(ApiError::bad_request(if spdy {
            "SPDY is not supported: use a WebSocket client (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)"
        } else {
            "Upgrade request required"
        }));
    }
    // Over HTTP/2 there is nothing to upgrade (hyper offers upgrades on HTTP/1.1).
    let client = conn.upgrade.lock().unwrap().take().ok_or_else(|| ApiError::bad_request("Upgrade request required"))?;
    let nodes = api::registry::find("", "v1", "nodes").expect("nodes are registered");
    let node = req
        .srv
        .cache
        .resource(nodes.storage)
        .get(&nodes.key("", &node_name))
        .ok_or_else(|| ApiError::not_found(nodes, &node_name))?
        .value();
    let (host, port) = match kubelet_address(&node) {
        Ok(a) => a,
        Err(e) => return Ok(unknown_error(&e)),
    };
    let url_path = format!("/{sub}/{}/{name}/{container}?{}", req.ns(), opts.kubelet_query(exec));
    let mut sender = match req.srv.kubelet.open(&host, port).await {
        Ok(s) => s,
        Err(e) => return Ok(unknown_error(&format!("error dialing backend: {e}"))),
    };
    let mut upgrade = Request::get(&url_path)
        .header(header::HOST, host_port(&host, port))
        .header(header::USER_AGENT, "kube-apiserver")
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket");
    for h in [header::SEC_WEBSOCKET_KEY, header::SEC_WEBSOCKET_VERSION, header::SEC_WEBSOCKET_PROTOCOL] {
        for v in conn.headers.get_all(&h) {
            upgrade = upgrade.header(h.clone(), v.clone());
        }
    }
    let upgrade = upgrade.body(Empty::<Bytes>::new()).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut resp = match sender.send_request(upgrade).await {
        Ok(r) => r,
        Err(e) => return Ok(unknown_error(&format!("error dialing backend: {e}"))),
    };
    let code = resp.status().as_u16();
    if code != 101 {
        let body = match Limited::new(resp.into_body(), MAX_ERROR_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Err(ApiError::internal(e.to_string())),
        };
        return Ok(json_reply(code, &subresource_error(sub, code, String::from_utf8_lossy(&body).trim(), name)));
    }
    let agent = hyper::upgrade::on(&mut resp);
    let mut reply = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS).header(header::CONNECTION, "Upgrade").header(header::UPGRADE, "websocket");
    for h in [header::SEC_WEBSOCKET_ACCEPT, header::SEC_WEBSOCKET_PROTOCOL] {
        if let Some(v) = resp.headers().get(&h) {
            reply = reply.header(h, v.clone());
        }
    }
    let what = format!("{sub} {}/{name}/{container}", req.ns());
    tokio::spawn(async move {
        match tokio::join!(client, agent) {
            (Ok(client), Ok(agent)) => {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(agent)).await;
            }
            (client, agent) => tracing::debug!("{what}: upgrade failed: client {:?}, agent {:?}", client.err(), agent.err()),
        }
    });
    Ok(reply.body(Full::new(Bytes::new()).map_err(|e: Infallible| match e {}).boxed()).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(containers: &[&str], init: &[&str]) -> Value {
        let c = |names: &[&str]| names.iter().map(|n| json!({"name": n, "image": "busybox"})).collect::<Vec<_>>();
        json!({"metadata": {"name": "web"}, "spec": {"containers": c(containers), "initContainers": c(init)}})
    }

    fn message(r: ApiResult<impl std::fmt::Debug>) -> (u16, String) {
        let e = r.unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn chooses_the_container_like_upstream() {
        assert_eq!(choose_container(&pod(&["a"], &[]), None).unwrap(), "a");
        assert_eq!(choose_container(&pod(&["a", "b"], &["i"]), Some("i")).unwrap(), "i");
        assert_eq!(
            message(choose_container(&pod(&["a", "b"], &[]), None)),
            (400, "a container name must be specified for pod web, choose one of: [a b]".into())
        );
        assert_eq!(
            message(choose_container(&pod(&["a", "b"], &["i1", "i2"]), None)),
            (400, "a container name must be specified for pod web, choose one of: [i1 i2 a b]".into())
        );
        assert_eq!(message(choose_container(&pod(&[], &[]), None)), (400, "a container name must be specified for pod web".into()));
        assert_eq!(
            message(choose_container(&pod(&["a"], &[]), Some("nope"))),
            (400, "container nope is not valid for pod web".into())
        );
    }

    #[test]
    fn checks_the_container_state_like_the_kubelet() {
        let with = |status: Value| {
            let mut p = pod(&["web"], &[]);
            p["status"] = json!({"containerStatuses": [status]});
            p
        };
        let waiting = with(json!({"name": "web", "state": {"waiting": {"reason": "ContainerCreating"}}}));
        assert_eq!(
            message(check_log_status(&waiting, "web", false)),
            (400, r#"container "web" in pod "web" is waiting to start: ContainerCreating"#.into())
        );
        assert_eq!(
            message(check_log_status(&waiting, "web", true)),
            (400, r#"previous terminated container "web" in pod "web" not found"#.into())
        );
        let pulling = with(json!({"name": "web", "state": {"waiting": {"reason": "ImagePullBackOff"}}}));
        assert_eq!(
            message(check_log_status(&pulling, "web", false)).1,
            r#"container "web" in pod "web" is waiting to start: trying and failing to pull image"#
        );
        assert_eq!(
            message(check_log_status(&pod(&["web"], &[]), "web", false)).1,
            r#"container "web" in pod "web" is not available"#
        );
        let running = with(json!({"name": "web", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1}}}));
        assert!(check_log_status(&running, "web", false).is_ok());
        assert!(check_log_status(&running, "web", true).is_ok());
        let crashloop = with(json!({"name": "web", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {}}}));
        assert!(check_log_status(&crashloop, "web", false).is_ok());
    }

    #[test]
    fn validates_options_like_upstream() {
        let q = |s: &str| PodLogOptions::from_query(&crate::query::Query::parse(Some(s)));
        let o = q("container=c&follow&previous=0&timestamps=1&tailLines=3&limitBytes=5&sinceTime=2026-11-23T18:25:38Z").unwrap();
        assert_eq!((o.container.as_deref(), o.follow, o.previous, o.timestamps), (Some("c"), true, false, true));
        assert!(o.validate().is_empty());
        assert_eq!(o.kubelet_query(), "follow=true&timestamps=true&sinceTime=2026-11-23T18%3A25%3A38Z&tailLines=3&limitBytes=5");
        let e = invalid_options("web", &q("tailLines=-1").unwrap().validate());
        assert_eq!(e.code, 422);
        assert_eq!(e.message, r#"PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"#);
        assert_eq!(e.details.as_ref().unwrap()["kind"], "PodLogOptions");
        let e = invalid_options("web", &q("limitBytes=0&sinceSeconds=0").unwrap().validate());
        assert_eq!(
            e.message,
            r#"PodLogOptions "web" is invalid: [limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0]"#
        );
        let e = invalid_options("web", &q("sinceSeconds=5&sinceTime=2026-11-23T18:25:38Z").unwrap().validate());
        assert_eq!(e.message, "PodLogOptions \"web\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified");
        assert_eq!(q("tailLines=x").unwrap_err().code, 400);
        assert_eq!(q("sinceTime=yesterday").unwrap_err().code, 400);
    }

    #[test]
    fn reads_connect_options_like_upstream() {
        let o = ConnectOptions::from_query("command=sh&command=-c&command=echo+%22a+b%22%3B+exit+3&container=c&stdin=true&tty=True");
        assert_eq!(o.command, ["sh", "-c", "echo \"a b\"; exit 3"]);
        assert_eq!(o.container.as_deref(), Some("c"));
        // stdout and stderr default to true; booleans are Go's query booleans.
        assert!(o.stdin && o.stdout && o.stderr && o.tty);
        assert_eq!(o.kubelet_query(true), "command=sh&command=-c&command=echo+%22a+b%22%3B+exit+3&stderr=1&stdin=1&stdout=1&tty=1");
        let o = ConnectOptions::from_query("stdout=false&stderr=0&stdin=&container=");
        assert!(!o.stdout && !o.stderr && o.stdin && o.container.is_none());
        assert_eq!(o.kubelet_query(false), "stdin=1");
        assert_eq!(query_escape("a/b~c d-é"), "a%2Fb~c+d-%C3%A9");
    }

    #[test]
    fn checks_connect_requests_like_upstream_and_kubectl() {
        let opts = |q: &str| ConnectOptions::from_query(q);
        let mut p = pod(&["a", "b"], &[]);
        p["spec"]["nodeName"] = json!("n1");
        assert_eq!(connect_target(&p, &opts("command=ls&container=b"), true).unwrap(), ("b".to_string(), "n1".to_string()));
        assert_eq!(message(connect_target(&p, &opts("command=ls"), true)).1, "a container name must be specified for pod web, choose one of: [a b]");
        assert_eq!(message(connect_target(&p, &opts("command=ls&container=x"), true)).1, "container x is not valid for pod web");
        assert_eq!(message(connect_target(&p, &opts("container=a"), true)).1, "you must specify at least one command for the container");
        assert!(connect_target(&p, &opts("container=a"), false).is_ok(), "attach has no command");
        p["status"]["phase"] = json!("Succeeded");
        assert_eq!(
            message(connect_target(&p, &opts("command=ls&container=a"), true)),
            (400, "cannot exec into a container in a completed pod; current phase is Succeeded".into())
        );
        p["status"]["phase"] = json!("Failed");
        assert_eq!(message(connect_target(&p, &opts("container=a"), false)).1, "cannot attach a container in a completed pod; current phase is Failed");
        let unscheduled = pod(&["a"], &[]);
        assert_eq!(message(connect_target(&unscheduled, &opts("command=ls"), true)).1, "pod web does not have a host assigned");
    }

    #[test]
    fn finds_the_agent() {
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 11250}}
        }});
        assert_eq!(kubelet_address(&node).unwrap(), ("10.0.0.5".to_string(), 11250));
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
        assert_eq!(kubelet_address(&node).unwrap(), ("n1".to_string(), 10250));
        assert_eq!(kubelet_address(&json!({})).unwrap_err(), "no preferred addresses found; known addresses: []");
    }

    #[test]
    fn words_agent_failures_like_upstream() {
        let s = agent_error(404, "pod \"web\" does not exist", "web");
        assert_eq!(s["message"], "the server could not find the requested resource ( pods/log web)");
        assert_eq!((&s["reason"], &s["code"]), (&json!("NotFound"), &json!(404)));
        assert_eq!(s["details"], json!({"name": "web", "kind": "pods/log"}));
        let s = agent_error(400, "container \"web\" in pod \"web\" is terminated", "web");
        assert_eq!((&s["reason"], &s["message"]), (&json!("BadRequest"), &json!("container \"web\" in pod \"web\" is terminated")));
        let s = agent_error(500, "boom", "web");
        assert_eq!((&s["reason"], &s["message"]), (&json!("InternalError"), &json!("Internal error occurred: boom")));
        let s = agent_error(418, "", "web");
        assert!(s.get("reason").is_none(), "{s}");
        assert_eq!(s["message"], "the server responded with the status code 418 but did not return more information ( pods/log web)");
        let e = dial_error("127.0.0.1:1", &std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(e, "dial tcp 127.0.0.1:1: connect: connection refused");
    }
}
