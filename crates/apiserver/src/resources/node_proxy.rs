//! Subresources served by calling the node agent's API (upstream's kubelet API):
//! `pods/log` now; `exec`, `attach` and `portforward` join here.
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
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, Limited, StreamBody};
use hyper::body::Incoming;
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
        let host_port = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let url = format!("https://{host_port}{url_path}");
        let fail = |e: String| format!("Get {url:?}: {e}");
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
            Err(_) => return Err(fail(format!("dial tcp {host_port}: i/o timeout"))),
            Ok(Err(e)) => return Err(fail(dial_error(&host_port, &e))),
            Ok(Ok(t)) => t,
        };
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.to_string()).map_err(|e| fail(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| fail(format!("remote error: tls: {e}")))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::get(url_path)
            .header(header::HOST, host_port.as_str())
            .header(header::USER_AGENT, "kube-apiserver")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(e.to_string()))?;
        sender.send_request(req).await.map_err(|e| fail(e.to_string()))
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
    let message = format!("{message} ( pods/log {pod})");
    let details = json!({"name": pod, "kind": "pods/log"});
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
