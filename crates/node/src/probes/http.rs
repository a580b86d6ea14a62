//! httpGet probes (upstream: pkg/probe/http): GET with `kube-probe/1.33`, success for
//! 200–399, HTTPS without certificate verification, redirects followed only to the
//! same host (at most 9; a redirect elsewhere ends the probe as a success, upstream's
//! "Probe terminated redirects" warning), body read limited to 10 KiB, and the whole
//! exchange bounded by the timeout.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::{dial, join_host_port, resolve_port, ProbeResult, MAX_READ, USER_AGENT};

/// At most this many redirects are followed (Go's client stops at the 10th).
const MAX_REDIRECTS: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Url {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Path and query as written (may be empty).
    pub path: String,
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, join_host_port(&self.host, self.port))?;
        if !self.path.is_empty() && !self.path.starts_with('/') {
            f.write_str("/")?;
        }
        f.write_str(&self.path)
    }
}

impl Url {
    /// The request target: path and query, `/` when empty, without a fragment.
    fn target(&self) -> String {
        let p = self.path.split('#').next().unwrap_or("");
        if p.is_empty() {
            "/".to_string()
        } else if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        }
    }

    /// Resolves a Location header against this URL.
    fn join(&self, location: &str) -> Option<Url> {
        if let Some((scheme, rest)) = location.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return None;
            }
            return parse_authority(&scheme, rest);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return parse_authority(&self.scheme, rest);
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let base = self.target();
            let base = base.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
            format!("{dir}{location}")
        };
        Some(Url { path, ..self.clone() })
    }
}

fn parse_authority(scheme: &str, rest: &str) -> Option<Url> {
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.to_string(), default_port),
        }
    };
    Some(Url { scheme: scheme.to_string(), host, port, path: path.to_string() })
}

pub(super) async fn probe(
    action: &HTTPGetAction,
    pod_ip: Option<IpAddr>,
    container: &Container,
    timeout: Duration,
) -> ProbeResult {
    let scheme = action.scheme.as_deref().unwrap_or("").to_ascii_lowercase();
    let scheme = if scheme.is_empty() { "http".to_string() } else { scheme };
    let host = match action.host.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None => match pod_ip {
            Some(ip) => ip.to_string(),
            None => return ProbeResult::Unknown,
        },
    };
    let port = match resolve_port(&action.port, container) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(container = %container.name, error = %e, "http probe port");
            return ProbeResult::Unknown;
        }
    };
    let url = Url { scheme, host, port, path: action.path.clone().unwrap_or_default() };
    let mut headers: Vec<(String, String)> = action
        .http_headers
        .iter()
        .flatten()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let has = |hs: &[(String, String)], n: &str| hs.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has(&headers, "user-agent") {
        headers.push(("User-Agent".into(), USER_AGENT.into()));
    }
    if !has(&headers, "accept") {
        headers.push(("Accept".into(), "*/*".into()));
    } else {
        headers.retain(|(k, v)| !(k.eq_ignore_ascii_case("accept") && v.is_empty()));
    }
    match tokio::time::timeout(timeout, get(url.clone(), headers)).await {
        Ok(r) => r,
        Err(_) => ProbeResult::Failure(format!(
            "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

/// GET with redirects; the result of the final response.
async fn get(first: Url, headers: Vec<(String, String)>) -> ProbeResult {
    let mut url = first.clone();
    let mut host_header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let mut redirects = 0;
    loop {
        let resp = match send(&url, &headers, host_header.as_deref()).await {
            Ok(r) => r,
            Err(e) => return ProbeResult::Failure(format!("Get \"{url}\": {e}")),
        };
        if matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            if let Some(next) = resp.location.as_deref().and_then(|l| url.join(l)) {
                if next.host != first.host {
                    // Not followed: upstream's "Probe terminated redirects" warning.
                    return ProbeResult::Success;
                }
                redirects += 1;
                if redirects >= MAX_REDIRECTS {
                    return ProbeResult::Failure(format!("Get \"{next}\": stopped after 10 redirects"));
                }
                let absolute = resp.location.as_deref().is_some_and(|l| l.contains("//"));
                if absolute {
                    host_header = None;
                }
                url = next;
                continue;
            }
        }
        if resp.body_error {
            return ProbeResult::Unknown;
        }
        return if (200..400).contains(&resp.status) {
            ProbeResult::Success
        } else {
            ProbeResult::Failure(format!("HTTP probe failed with statuscode: {}", resp.status))
        };
    }
}

struct Response {
    status: u16,
    location: Option<String>,
    body_error: bool,
}

/// One request on a fresh connection (upstream disables keep-alives).
async fn send(url: &Url, headers: &[(String, String)], host_header: Option<&str>) -> Result<Response, String> {
    let tcp = dial(&url.host, url.port).await?;
    match url.scheme.as_str() {
        "http" => exchange(TokioIo::new(tcp), url, headers, host_header).await,
        "https" => {
            let name = ServerName::try_from(url.host.clone()).map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            exchange(TokioIo::new(tls), url, headers, host_header).await
        }
        other => Err(format!("unsupported protocol scheme {}", super::go_quote(other))),
    }
}

async fn exchange<T>(io: T, url: &Url, headers: &[(String, String)], host_header: Option<&str>) -> Result<Response, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let _abort = AbortOnDrop(driver);
    let host = host_header.map(str::to_string).unwrap_or_else(|| join_host_port(&url.host, url.port));
    let mut req = http::Request::builder()
        .method(http::Method::GET)
        .uri(url.target())
        .header(http::header::HOST, host)
        .header(http::header::CONNECTION, "close");
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("host") {
            continue;
        }
        match (http::HeaderName::try_from(k.as_str()), http::HeaderValue::try_from(v.as_str())) {
            (Ok(k), Ok(v)) => req = req.header(k, v),
            _ => tracing::debug!(header = %k, "skipping invalid probe header"),
        }
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = resp.into_body();
    let mut read = 0usize;
    let mut body_error = false;
    while read < MAX_READ {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    read += data.len();
                }
            }
            Some(Err(_)) => {
                body_error = true;
                break;
            }
        }
    }
    Ok(Response { status, location, body_error })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// TLS without certificate verification (upstream's InsecureSkipVerify); handshake
/// signatures are still checked.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
                .with_no_client_auth();
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(cfg)
        })
        .clone()
}

#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_display_and_join() {
        let u = Url { scheme: "http".into(), host: "10.42.0.5".into(), port: 8080, path: "/healthz".into() };
        assert_eq!(u.to_string(), "http://10.42.0.5:8080/healthz");
        let v6 = Url { scheme: "http".into(), host: "fd00::1".into(), port: 80, path: "".into() };
        assert_eq!(v6.to_string(), "http://[fd00::1]:80");
        assert_eq!(v6.target(), "/");
        assert_eq!(u.join("/other?x=1").unwrap().to_string(), "http://10.42.0.5:8080/other?x=1");
        assert_eq!(u.join("sib").unwrap().target(), "/sib");
        let nested = Url { path: "/a/b/c".into(), ..u.clone() };
        assert_eq!(nested.join("d").unwrap().target(), "/a/b/d");
        let abs = u.join("https://example.com/x").unwrap();
        assert_eq!((abs.host.as_str(), abs.port, abs.path.as_str()), ("example.com", 443, "/x"));
        let v6j = u.join("http://[fd00::2]:81/").unwrap();
        assert_eq!((v6j.host.as_str(), v6j.port), ("fd00::2", 81));
    }
}
