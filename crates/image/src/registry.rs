//! Pulling from registries (Docker Registry HTTP API v2 / OCI distribution).
//!
//! One `Session` per pull holds the repository's authorization: registries answer the
//! first request with 401 and a `WWW-Authenticate` challenge; `Bearer` means "get a
//! token from this realm" (sending Basic credentials if we have them), `Basic` means
//! "send the credentials directly". Blob requests are usually redirected to object
//! storage, which must not see the registry's Authorization header.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::auth::{parse_challenge, Challenge, RegistryAuth};
use crate::digest::sha256;
use crate::error::chain;
use crate::manifest::{self, Descriptor, Document};
use crate::reference::{normalize_reference, Reference, DOCKER_HUB};
use crate::{ImageError, ImageInfo, ImageStore};

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest wait for response headers or for the next chunk of a body: a stalled
/// connection fails the pull instead of hanging a pod start forever.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_MANIFEST: usize = 4 << 20;
const MAX_CONFIG: usize = 16 << 20;
const PARALLEL_BLOBS: usize = 3;
const MAX_REDIRECTS: usize = 8;

fn build_client() -> HttpClient {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = || {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
    };
    let tls = match builder().with_native_roots() {
        Ok(b) => b.with_no_client_auth(),
        Err(e) => {
            // Loopback registries (plain HTTP) still work; HTTPS ones fail with a
            // certificate error naming the cause.
            tracing::warn!(error = %e, "no system CA certificates; HTTPS registries will fail verification");
            builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
        }
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(https)
}

/// Plain HTTP only for loopback registries, which is what a local test or mirror
/// registry is; everything else must be HTTPS.
fn is_loopback(hostport: &str) -> bool {
    let host = match hostport.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => hostport.rsplit_once(':').map(|(h, _)| h).unwrap_or(hostport),
    };
    host == "localhost"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn base_url(registry: &str) -> String {
    let host = if registry == DOCKER_HUB { "registry-1.docker.io" } else { registry };
    let scheme = if is_loopback(host) { "http" } else { "https" };
    format!("{scheme}://{host}")
}

/// Why a request failed, before we know which user-facing error it becomes.
#[derive(Debug)]
enum Fail {
    Status { url: String, status: StatusCode, message: String },
    Auth(String),
    Other(String),
}

impl Fail {
    fn text(&self) -> String {
        match self {
            Fail::Status { url, status, message } => format!("unexpected status from GET request to {url}: {status}{message}"),
            Fail::Auth(s) | Fail::Other(s) => s.clone(),
        }
    }

    fn into_resolve_error(self, reference: &str) -> ImageError {
        let reference = reference.to_string();
        match self {
            Fail::Status { status: StatusCode::NOT_FOUND, .. } => ImageError::NotFound { reference },
            Fail::Status { status, message, .. } if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
                ImageError::Unauthorized { reference, detail: format!("{status}{message}") }
            }
            Fail::Auth(detail) => ImageError::Unauthorized { reference, detail },
            other => ImageError::Resolve { reference, detail: other.text() },
        }
    }
}

struct Session<'a> {
    http: &'a HttpClient,
    base: String,
    repository: String,
    auth: Option<&'a RegistryAuth>,
    idle: Duration,
    /// The Authorization header value the registry accepted (or will be offered).
    authorization: Mutex<Option<String>>,
}

impl<'a> Session<'a> {
    fn new(http: &'a HttpClient, r: &Reference, auth: Option<&'a RegistryAuth>, idle: Duration) -> Session<'a> {
        let initial = match auth {
            Some(RegistryAuth::Token(t)) => Some(format!("Bearer {t}")),
            _ => None,
        };
        Session { http, base: base_url(&r.registry), repository: r.repository.clone(), auth, idle, authorization: Mutex::new(initial) }
    }

    /// GET with authorization (answering one challenge per request) and redirects.
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<Response<Incoming>, Fail> {
        let mut url = url.to_string();
        let mut same_origin = true;
        let mut challenged = false;
        for _ in 0..MAX_REDIRECTS {
            let mut req = Request::get(&url).header(USER_AGENT, concat!("rkube/", env!("CARGO_PKG_VERSION")));
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            let authz = self.authorization.lock().unwrap().clone();
            if let (true, Some(h)) = (same_origin, authz) {
                req = req.header(AUTHORIZATION, h);
            }
            let req = req.body(Empty::new()).map_err(|e| Fail::Other(format!("GET {url}: {e}")))?;
            let resp = tokio::time::timeout(self.idle, self.http.request(req))
                .await
                .map_err(|_| Fail::Other(format!("GET {url}: no response within {:?}", self.idle)))?
                .map_err(|e| Fail::Other(format!("GET {url}: {}", chain(&e))))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && same_origin && !challenged {
                let challenge = resp.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(parse_challenge);
                if let Some(c) = challenge {
                    self.authorize(&c).await?;
                    challenged = true;
                    continue;
                }
            }
            if status.is_redirection() {
                if let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) {
                    url = join_url(&url, loc);
                    same_origin = url == self.base || url.starts_with(&format!("{}/", self.base));
                    continue;
                }
            }
            return Ok(resp);
        }
        Err(Fail::Other(format!("GET {url}: too many redirects")))
    }

    async fn authorize(&self, c: &Challenge) -> Result<(), Fail> {
        let header = match c.scheme.as_str() {
            "basic" => match self.auth {
                Some(RegistryAuth::Basic { username, password }) => RegistryAuth::basic_header(username, password),
                _ => return Err(Fail::Auth("401 Unauthorized: the registry requires credentials".into())),
            },
            "bearer" => format!("Bearer {}", self.fetch_token(c).await?),
            other => return Err(Fail::Auth(format!("401 Unauthorized: unsupported authentication scheme {other:?}"))),
        };
        *self.authorization.lock().unwrap() = Some(header);
        Ok(())
    }

    async fn fetch_token(&self, c: &Challenge) -> Result<String, Fail> {
        let realm = c.params.get("realm").ok_or_else(|| Fail::Auth("401 Unauthorized: bearer challenge without realm".into()))?;
        let default_scope = format!("repository:{}:pull", self.repository);
        let scope = c.params.get("scope").unwrap_or(&default_scope);
        let mut url = format!("{realm}{}scope={}", if realm.contains('?') { '&' } else { '?' }, query_escape(scope));
        if let Some(service) = c.params.get("service") {
            url.push_str(&format!("&service={}", query_escape(service)));
        }
        let mut req = Request::get(&url).header(USER_AGENT, concat!("rkube/", env!("CARGO_PKG_VERSION")));
        if let Some(RegistryAuth::Basic { username, password }) = self.auth {
            req = req.header(AUTHORIZATION, RegistryAuth::basic_header(username, password));
        }
        let req = req.body(Empty::new()).map_err(|e| Fail::Other(format!("GET {url}: {e}")))?;
        let resp = tokio::time::timeout(self.idle, self.http.request(req))
            .await
            .map_err(|_| Fail::Other(format!("fetch token from {realm}: timed out")))?
            .map_err(|e| Fail::Other(format!("fetch token from {realm}: {}", chain(&e))))?;
        let status = resp.status();
        let body = read_limited(resp, self.idle, 1 << 20).await.map_err(|e| Fail::Other(format!("fetch token from {realm}: {e}")))?;
        if !status.is_success() {
            let why = if self.auth.is_some() { "" } else { " (no credentials given)" };
            return Err(Fail::Auth(format!("failed to fetch token from {realm}: {status}{why}{}", server_message(&body))));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Fail::Other(format!("token response from {realm}: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Fail::Other(format!("token response from {realm} has no token")))
    }

    /// Fetches a manifest by tag or digest and returns (bytes, content type, digest),
    /// holding the content to the digest it was asked by or announced under.
    async fn manifest(&self, tag_or_digest: &str) -> Result<(Vec<u8>, String, String), Fail> {
        let url = format!("{}/v2/{}/manifests/{tag_or_digest}", self.base, self.repository);
        let resp = self.get(&url, Some(manifest::ACCEPT)).await?;
        let status = resp.status();
        let ctype = header(&resp, CONTENT_TYPE).unwrap_or_default();
        let announced = header(&resp, "docker-content-digest");
        let body = read_limited(resp, self.idle, MAX_MANIFEST).await.map_err(|e| Fail::Other(format!("GET {url}: {e}")))?;
        if !status.is_success() {
            return Err(Fail::Status { url, status, message: server_message(&body) });
        }
        let digest = sha256(&body);
        let expected = if tag_or_digest.starts_with("sha256:") { Some(tag_or_digest.to_string()) } else { announced.filter(|d| d.starts_with("sha256:")) };
        if let Some(e) = expected {
            if e != digest {
                return Err(Fail::Other(format!("manifest {tag_or_digest}: {}", ImageError::DigestMismatch { expected: e, actual: digest })));
            }
        }
        Ok((body.to_vec(), ctype, digest))
    }

    async fn blob_bytes(&self, desc: &Descriptor, limit: usize) -> Result<Vec<u8>, Fail> {
        let url = format!("{}/v2/{}/blobs/{}", self.base, self.repository, desc.digest);
        let resp = self.get(&url, None).await?;
        let status = resp.status();
        let body = read_limited(resp, self.idle, limit).await.map_err(|e| Fail::Other(format!("GET {url}: {e}")))?;
        if !status.is_success() {
            return Err(Fail::Status { url, status, message: server_message(&body) });
        }
        Ok(body.to_vec())
    }

    /// Streams a blob into the store, verifying size and digest before it becomes visible.
    async fn blob_to_store(&self, store: &ImageStore, desc: &Descriptor) -> Result<(), Fail> {
        let url = format!("{}/v2/{}/blobs/{}", self.base, self.repository, desc.digest);
        let resp = self.get(&url, None).await?;
        let status = resp.status();
        if !status.is_success() {
            let body = read_limited(resp, self.idle, 64 << 10).await.unwrap_or_default();
            return Err(Fail::Status { url, status, message: server_message(&body) });
        }
        let mut writer = store.blob_writer().map_err(|e| Fail::Other(e.to_string()))?;
        let mut body = resp.into_body();
        let mut written = 0u64;
        loop {
            let frame = tokio::time::timeout(self.idle, body.frame())
                .await
                .map_err(|_| Fail::Other(format!("GET {url}: stalled, no data for {:?}", self.idle)))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| Fail::Other(format!("GET {url}: {}", chain(&e))))?;
            if let Ok(data) = frame.into_data() {
                written += data.len() as u64;
                if desc.size > 0 && written > desc.size {
                    return Err(Fail::Other(format!("blob {}: more data than the {} bytes announced", desc.digest, desc.size)));
                }
                std::io::Write::write_all(&mut writer, &data).map_err(|e| Fail::Other(format!("write blob {}: {e}", desc.digest)))?;
            }
        }
        let expected = desc.digest.clone();
        tokio::task::spawn_blocking(move || writer.commit(Some(&expected)))
            .await
            .map_err(|e| Fail::Other(e.to_string()))?
            .map_err(|e| Fail::Other(format!("blob {}: {e}", desc.digest)))?;
        Ok(())
    }
}

impl ImageStore {
    /// Pulls `reference` (normalized docker-style) for linux/<this arch>, fetching only
    /// the blobs not already stored, and tags it locally. Layers are unpacked later, by
    /// `layer_dirs`.
    pub async fn pull(&self, reference: &str, auth: Option<&RegistryAuth>) -> Result<ImageInfo, ImageError> {
        let r = normalize_reference(reference)?;
        let shown = r.to_string();
        let http = self.http_slot().get_or_init(build_client).clone();
        let s = Session::new(&http, &r, auth, self.pull_timeout());
        let target = r.digest.clone().or_else(|| r.tag.clone()).expect("normalized references have a tag or digest");

        let resolve_err = |f: Fail| f.into_resolve_error(&shown);
        let pull_err = |detail: String| ImageError::Pull { reference: shown.clone(), detail };
        let (top_bytes, ctype, top_digest) = s.manifest(&target).await.map_err(resolve_err)?;
        let mut doc = manifest::parse_document(&top_bytes, &ctype).map_err(|e| pull_err(e.to_string()))?;
        let mut manifest_bytes = top_bytes.clone();
        let mut manifest_digest = top_digest.clone();
        if let Document::Index(list) = &doc {
            let chosen = manifest::choose_platform(list).ok_or_else(|| crate::archive::no_platform(&top_digest))?;
            let (b, ct, d) = s.manifest(&chosen.digest).await.map_err(resolve_err)?;
            doc = manifest::parse_document(&b, &ct).map_err(|e| pull_err(e.to_string()))?;
            (manifest_bytes, manifest_digest) = (b, d);
        }
        let Document::Manifest { config, layers } = doc else {
            return Err(pull_err(format!("{manifest_digest}: an index inside an index")));
        };
        for l in &layers {
            manifest::check_layer_media_type(&l.media_type).map_err(|e| pull_err(e.to_string()))?;
        }

        if !self.has_blob(&config.digest) {
            let bytes = s.blob_bytes(&config, MAX_CONFIG).await.map_err(|f| pull_err(format!("fetch config: {}", f.text())))?;
            self.write_blob(&bytes, Some(&config.digest)).map_err(|e| pull_err(format!("config {}: {e}", config.digest)))?;
        }
        // Owned descriptors: a stream closure taking a borrowed one makes the whole pull
        // future !Send (a known limitation of higher-ranked lifetimes in async code).
        let missing: Vec<Descriptor> = layers.iter().filter(|l| !self.has_blob(&l.digest)).cloned().collect();
        let s = &s;
        futures_util::stream::iter(missing)
            .map(|l| async move { s.blob_to_store(self, &l).await })
            .buffer_unordered(PARALLEL_BLOBS)
            .try_collect::<Vec<()>>()
            .await
            .map_err(|f| pull_err(f.text()))?;

        // Manifests last: a stored manifest means the pull got that far.
        self.write_blob(&top_bytes, Some(&top_digest))?;
        self.write_blob(&manifest_bytes, Some(&manifest_digest))?;
        // A digest pins the image; a tag given with it is not recorded (docker does
        // the same).
        let name = Reference { tag: if r.digest.is_some() { None } else { r.tag.clone() }, digest: None, ..r.clone() };
        let store = self.clone();
        let id = tokio::task::spawn_blocking(move || store.commit_manifest(&top_digest, &manifest_digest, &config, &layers, &[name]))
            .await
            .map_err(|e| pull_err(e.to_string()))??;
        tracing::info!(reference = %shown, image = %id, "pulled image");
        self.resolve(&id).ok_or(ImageError::NoSuchImage(id))
    }
}

fn header(resp: &Response<Incoming>, name: impl http::header::AsHeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.split(';').next().unwrap_or(s).trim().to_string())
}

/// Reads a whole (small) body, refusing more than `limit` bytes and stalls.
async fn read_limited(resp: Response<Incoming>, idle: Duration, limit: usize) -> Result<Bytes, String> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    loop {
        let frame = tokio::time::timeout(idle, body.frame()).await.map_err(|_| format!("stalled, no data for {idle:?}"))?;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| chain(&e))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(format!("response larger than {limit} bytes"));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.into())
}

/// `: server message: CODE: message` from a registry's JSON error body, if it has one.
fn server_message(body: &[u8]) -> String {
    let v: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return String::new(),
    };
    let Some(e) = v.get("errors").and_then(|e| e.get(0)) else { return String::new() };
    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
    let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
    match (code.is_empty(), msg.is_empty()) {
        (true, true) => String::new(),
        (false, false) => format!(": server message: {code}: {msg}"),
        _ => format!(": server message: {code}{msg}"),
    }
}

/// Resolves a `Location` header against the URL that returned it.
fn join_url(base: &str, loc: &str) -> String {
    if loc.starts_with("http://") || loc.starts_with("https://") {
        return loc.to_string();
    }
    let origin_end = base.find("://").map(|i| i + 3).and_then(|s| base[s..].find('/').map(|j| s + j)).unwrap_or(base.len());
    if loc.starts_with('/') {
        return format!("{}{loc}", &base[..origin_end]);
    }
    let path = base.split('?').next().unwrap_or(base);
    match path.rfind('/') {
        Some(i) if i >= origin_end => format!("{}{loc}", &path[..=i]),
        _ => format!("{}/{loc}", &base[..origin_end]),
    }
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(base_url("localhost"), "http://localhost");
        assert_eq!(base_url("127.1.2.3:80"), "http://127.1.2.3:80");
        assert_eq!(base_url("[::1]:5000"), "http://[::1]:5000");
        assert_eq!(base_url("docker.io"), "https://registry-1.docker.io");
        assert_eq!(base_url("quay.io"), "https://quay.io");
        assert_eq!(base_url("10.0.0.1:5000"), "https://10.0.0.1:5000");
        assert_eq!(base_url("localhost.evil.com"), "https://localhost.evil.com");
    }

    #[test]
    fn urls_and_messages() {
        assert_eq!(join_url("http://a:1/v2/x/blobs/s", "https://s3/b?sig=1"), "https://s3/b?sig=1");
        assert_eq!(join_url("http://a:1/v2/x/blobs/s", "/other/p"), "http://a:1/other/p");
        assert_eq!(join_url("http://a:1/v2/x/blobs/s?q=1", "rel"), "http://a:1/v2/x/blobs/rel");
        assert_eq!(query_escape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
        assert_eq!(
            server_message(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#),
            ": server message: MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(server_message(b"<html>"), "");
    }

    #[test]
    fn error_messages() {
        let f = |status| Fail::Status { url: "u".into(), status, message: String::new() };
        let e = f(StatusCode::NOT_FOUND).into_resolve_error("localhost:5000/nope:1");
        assert_eq!(e.to_string(), r#"failed to resolve reference "localhost:5000/nope:1": localhost:5000/nope:1: not found"#);
        let e = f(StatusCode::UNAUTHORIZED).into_resolve_error("r/x:1");
        assert_eq!(
            e.to_string(),
            r#"failed to resolve reference "r/x:1": pull access denied, repository does not exist or may require authorization: 401 Unauthorized"#
        );
    }
}
