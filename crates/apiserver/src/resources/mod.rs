//! The generic REST handlers, written once for every resource: kinds differ only in
//! their registry entry and strategy.

mod apply;
mod eviction;
mod fields;
pub mod node_proxy;
mod output;
mod read;
mod scale;
pub mod service_ips;
mod virtual_kinds;
mod watch;
mod write;

use std::sync::Arc;

use api::registry::{self, ResourceDef};
use bytes::Bytes;
use http::Method;

use crate::auth::User;
use crate::negotiate::{self, Output};
use crate::query::Query;
use crate::reqinfo::ResourcePath;
use crate::server::{Reply, Server};
use crate::status::{ApiError, ApiResult};

/// Everything a handler needs about one request.
#[derive(Clone)]
pub struct Req {
    pub srv: Arc<Server>,
    pub def: &'static ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub query: Query,
    pub output: Output,
    pub content_type: String,
    pub body: Bytes,
    #[allow(dead_code)]
    pub user: User,
    pub user_agent: String,
    /// For connect subresources (exec, attach): the raw query, handshake headers and
    /// the connection's upgrade.
    pub connect: Option<Arc<node_proxy::Connect>>,
    /// Warnings for the client, sent as `Warning` headers.
    pub warnings: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Req {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    pub fn key(&self) -> String {
        self.def.key(self.ns(), self.name())
    }
}

pub struct Incoming {
    pub method: Method,
    pub path: ResourcePath,
    pub query: Query,
    pub accept: Option<String>,
    pub content_type: String,
    pub body: Bytes,
    pub user: User,
    pub user_agent: String,
    pub connect: Option<Arc<node_proxy::Connect>>,
}

pub async fn handle(srv: Arc<Server>, inc: Incoming) -> ApiResult<Reply> {
    let rp = inc.path;
    let def = registry::find(&rp.group, &rp.version, &rp.resource).ok_or_else(ApiError::path_not_found)?;
    if !def.namespaced && rp.namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    let output = negotiate::negotiate(inc.accept.as_deref())?;
    let req = Req {
        srv,
        def,
        namespace: rp.namespace,
        name: rp.name,
        subresource: rp.subresource,
        query: inc.query,
        output,
        content_type: inc.content_type,
        body: inc.body,
        user: inc.user,
        user_agent: inc.user_agent,
        connect: inc.connect,
        warnings: Default::default(),
    };
    let warnings = req.warnings.clone();
    let mut reply = dispatch(req, &inc.method).await;
    if let Ok(r) = &mut reply {
        let mut seen = std::collections::HashSet::new();
        for w in warnings.lock().unwrap().iter().filter(|w| seen.insert(w.as_str())) {
            if let Ok(v) = http::HeaderValue::from_str(&fields::warning_header(w)) {
                r.headers_mut().append(http::header::WARNING, v);
            }
        }
    }
    reply
}

async fn dispatch(req: Req, method: &Method) -> ApiResult<Reply> {
    let def = req.def;
    if let Some(sub) = req.subresource.clone() {
        return subresource(req, method, &sub).await;
    }
    let verb = match (method, req.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if req.query.flag("watch") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => return Err(ApiError::method_not_supported(def, method.as_str())),
    };
    if !def.has_verb(verb) {
        return Err(ApiError::method_not_supported(def, verb));
    }
    if def.namespaced && req.namespace.is_none() && !matches!(verb, "list" | "watch") {
        return Err(ApiError::path_not_found());
    }
    match verb {
        "get" => read::get(&req).await,
        "list" => read::list(&req).await,
        "watch" => watch::watch(&req).await,
        "create" if virtual_kinds::is_virtual(&req) => virtual_kinds::create(&req).await,
        "create" => write::create(&req).await,
        "update" => write::update(&req, write::Part::Main).await,
        "patch" => write::patch(&req, write::Part::Main).await,
        "delete" => write::delete(&req).await,
        _ => write::delete_collection(&req).await,
    }
}

async fn subresource(req: Req, method: &Method, sub: &str) -> ApiResult<Reply> {
    let def = req.def;
    let Some(sdef) = def.subresource(sub) else { return Err(ApiError::path_not_found()) };
    let verb = match *method {
        Method::GET => "get",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::POST => "create",
        _ => "",
    };
    if !sdef.verbs.contains(&verb) {
        return Err(ApiError::method_not_supported(def, verb));
    }
    match (sub, verb) {
        ("status", "get") => read::get(&req).await,
        ("status", "update") => write::update(&req, write::Part::Status).await,
        ("status", "patch") => write::patch(&req, write::Part::Status).await,
        ("finalize", "update") if def.kind == "Namespace" => write::update(&req, write::Part::Finalize).await,
        ("scale", "get") => scale::get(&req).await,
        ("scale", "update") => scale::update(&req).await,
        ("scale", "patch") => scale::patch(&req).await,
        ("binding", "create") => virtual_kinds::bind_subresource(&req).await,
        ("eviction", "create") => eviction::evict(&req).await,
        ("log", "get") => node_proxy::pod_log(&req).await,
        ("exec" | "attach", "get" | "create") if def.kind == "Pod" => node_proxy::connect(&req, sub).await,
        _ => Err(ApiError::new(
            501,
            "NotImplemented",
            format!("the {sub} subresource of {} is not served yet", def.qualified_resource()),
        )),
    }
}
