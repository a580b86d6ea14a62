//! The HTTPS server: TLS (HTTP/1.1 and HTTP/2), authentication, impersonation and
//! authorization of every request, and routing of non-resource paths (health,
//! version, discovery, OpenAPI) and resource paths.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming as Body};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::auth::{self, User};
use crate::authz::{self, Authz};
use crate::cache::WatchCache;
use crate::negotiate;
use crate::query::Query;
use crate::reqinfo::{self, Target};
use crate::resources;
use crate::status::ApiError;
use crate::{discovery, openapi};

pub type ReplyBody = BoxBody<Bytes, Infallible>;
pub type Reply = Response<ReplyBody>;

/// Upstream's request body limit (3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

pub struct Server {
    pub store: Arc<dyn Store>,
    pub cache: Arc<WatchCache>,
    pub authn: auth::Authenticator,
    pub authz: Arc<Authz>,
    /// host:port clients reach this server at, for `/api`'s serverAddressByClientCIDRs.
    pub advertise: String,
    pub service_ranges: crate::resources::service_ips::ServiceRanges,
    /// Serializes Service IP and port allocation with the write that claims them.
    pub service_alloc: tokio::sync::Mutex<()>,
    /// How node agents are called (pods/log).
    pub kubelet: crate::resources::node_proxy::KubeletClient,
}

pub fn bytes_reply(code: u16, body: Bytes) -> Reply {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Full::new(body).boxed())
        .unwrap()
}

pub fn json_reply(code: u16, v: &Value) -> Reply {
    bytes_reply(code, Bytes::from(serde_json::to_vec(v).unwrap()))
}

fn typed_reply(code: u16, content_type: &str, body: Bytes) -> Reply {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body).boxed())
        .unwrap()
}

pub fn error_reply(e: &ApiError) -> Reply {
    json_reply(e.code, &e.to_status())
}

/// A streamed body (watch): each chunk is sent as it is produced.
pub fn stream_reply(rx: mpsc::Receiver<Bytes>) -> Reply {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0+rkube",
        "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else if cfg!(target_arch = "aarch64") { "arm64" } else { std::env::consts::ARCH }),
    })
}

/// Who is asking, as whom, and whether they may.
fn admit_request(srv: &Server, req: &Request<Body>, cert_user: Option<User>) -> Result<User, ApiError> {
    let authorization = req.headers().get(header::AUTHORIZATION).map(|h| h.to_str().unwrap_or("-"));
    let user = srv.authn.authenticate(cert_user, authorization).ok_or_else(ApiError::unauthorized)?;
    let user = authz::impersonate(&srv.authz, req.headers(), user)?;
    // system:masters may do anything: skip working out what it asks.
    if !user.in_group(api::rbac::SYSTEM_MASTERS) {
        let attrs = authz::attributes(req.method(), req.uri().path(), &Query::parse(req.uri().query()));
        srv.authz.check(&user, &attrs)?;
    }
    Ok(user)
}

fn header_str(req: &Request<Body>, name: header::HeaderName) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn route(srv: Arc<Server>, req: Request<Body>, cert_user: Option<User>) -> Reply {
    let user = match admit_request(&srv, &req, cert_user) {
        Ok(u) => u,
        Err(e) => {
            // Read the body first: over HTTP/2, dropping it unread resets the stream
            // before the refusal reaches the client.
            let _ = Limited::new(req.into_body(), MAX_BODY).collect().await;
            return error_reply(&e);
        }
    };
    let path = req.uri().path().to_string();
    let accept = header_str(&req, header::ACCEPT);
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => return typed_reply(200, "text/plain; charset=utf-8", Bytes::from_static(b"ok")),
        "/version" | "/version/" => return json_reply(200, &version_info()),
        _ => {}
    }
    if path.starts_with("/openapi/") {
        return openapi::serve(&req).await;
    }
    let target = reqinfo::parse(&path);
    let aggregated = negotiate::wants_aggregated_discovery(accept.as_deref());
    let reply = |v: Option<Value>| match v {
        Some(v) => json_reply(200, &v),
        None => error_reply(&ApiError::path_not_found()),
    };
    match target {
        None => error_reply(&ApiError::path_not_found()),
        Some(Target::Root { legacy }) if aggregated => {
            let mut r = json_reply(200, &discovery::aggregated(legacy));
            r.headers_mut().insert(header::CONTENT_TYPE, discovery::AGGREGATED_V2.parse().unwrap());
            r
        }
        Some(Target::Root { legacy: true }) => reply(Some(discovery::api_versions(&srv.advertise))),
        Some(Target::Root { legacy: false }) => reply(Some(discovery::api_group_list())),
        Some(Target::Group(g)) => reply(discovery::group(&g)),
        Some(Target::GroupVersion { group, version }) => reply(discovery::resource_list(&group, &version)),
        Some(Target::Resource(rp)) => {
            match resource_request(srv, req, rp, user, accept).await {
                Ok(r) => r,
                Err(e) => error_reply(&e),
            }
        }
    }
}

async fn resource_request(
    srv: Arc<Server>,
    mut req: Request<Body>,
    rp: reqinfo::ResourcePath,
    user: User,
    accept: Option<String>,
) -> Result<Reply, ApiError> {
    let method = req.method().clone();
    let query = Query::parse(req.uri().query());
    let content_type = header_str(&req, header::CONTENT_TYPE).unwrap_or_default();
    let user_agent = header_str(&req, header::USER_AGENT).unwrap_or_default();
    // exec and attach upgrade the connection: take what they need before the body.
    let connect = resources::node_proxy::Connect::take(&mut req, rp.subresource.as_deref());
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(ApiError::new(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")),
    };
    let inc = resources::Incoming { method, path: rp, query, accept, content_type, body, user, user_agent, connect };
    resources::handle(srv, inc).await
}

/// Accepts TLS connections forever, serving each with HTTP/1.1 or HTTP/2.
pub async fn serve(srv: Arc<Server>, listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (srv, acceptor) = (srv.clone(), acceptor.clone());
        tokio::spawn(async move { serve_connection(srv, acceptor, tcp, peer).await });
    }
}

async fn serve_connection(srv: Arc<Server>, acceptor: TlsAcceptor, tcp: tokio::net::TcpStream, peer: SocketAddr) {
    let tls = match acceptor.accept(tcp).await {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!("TLS handshake with {peer}: {e}");
            return;
        }
    };
    let cert_user = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| auth::user_from_cert(c));
    let svc = hyper::service::service_fn(move |req| {
        let (srv, user) = (srv.clone(), cert_user.clone());
        async move { Ok::<_, Infallible>(route(srv, req, user).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc).await {
        tracing::debug!("connection from {peer}: {e}");
    }
}
