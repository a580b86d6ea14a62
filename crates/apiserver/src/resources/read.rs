//! GET and LIST, served from the watch cache (or, for pages of a paginated list and
//! exact old revisions, from the store at that revision).

use std::sync::Arc;

use api::selector::{FieldSelector, LabelSelector};
use base64::Engine;
use serde_json::Value;

use super::output::{self, ListPage};
use super::Req;
use crate::cache::CachedObject;
use crate::server::Reply;
use crate::status::{ApiError, ApiResult};

/// Waits until the cache is as fresh as the request's resourceVersion demands.
async fn await_freshness(req: &Req) -> ApiResult<()> {
    match req.query.value("resourceVersion") {
        None => req.srv.cache.sync().await.map(|_| ()),
        Some("0") => Ok(()),
        Some(rv) => req.srv.cache.wait_for(parse_rv(rv)?).await,
    }
}

pub fn parse_rv(rv: &str) -> ApiResult<i64> {
    rv.parse::<i64>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv}")))
}

pub async fn current(req: &Req) -> ApiResult<Arc<CachedObject>> {
    req.srv.cache.sync().await?;
    req.srv.cache.resource(req.def.storage).get(&req.key()).ok_or_else(|| ApiError::not_found(req.def, req.name()))
}

pub async fn get(req: &Req) -> ApiResult<Reply> {
    await_freshness(req).await?;
    let obj = req.srv.cache.resource(req.def.storage).get(&req.key()).ok_or_else(|| ApiError::not_found(req.def, req.name()))?;
    Ok(output::object_reply(req, 200, &obj))
}

/// Label and field selectors of a list or watch, checked against what the resource supports.
pub struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
    group: &'static str,
    resource: &'static str,
}

impl Filter {
    pub fn from_request(req: &Req) -> ApiResult<Filter> {
        let labels = LabelSelector::parse(req.query.get("labelSelector").unwrap_or("")).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(req.query.get("fieldSelector").unwrap_or(""))
            .and_then(|f| f.for_resource(req.def.group, req.def.version, req.def.plural))
            .map_err(ApiError::bad_request)?;
        Ok(Filter { labels, fields, group: req.def.group, resource: req.def.plural })
    }

    pub fn matches(&self, attrs: &crate::cache::Attrs) -> bool {
        if self.labels.is_empty() && self.fields.is_empty() {
            return true;
        }
        self.matches_value(&attrs.value())
    }

    fn matches_value(&self, obj: &Value) -> bool {
        if !self.labels.matches(crate::objects::labels(obj)) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        self.fields.matches(&|field: &str| match field {
            "metadata.name" => Some(crate::objects::name(obj).to_string()),
            "metadata.namespace" => Some(crate::objects::namespace(obj).to_string()),
            f => api::selector::field_value(self.group, self.resource, obj, f),
        })
    }

    /// A metadata.name=X requirement narrows a scan to one key.
    pub fn exact_name(&self) -> Option<&str> {
        self.fields.exact("metadata.name")
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rv: i64, last_key: &str, prefix: &str) -> String {
    let token = ContinueToken { v: "meta.k8s.io/v1".into(), rv, start: format!("{}\u{0}", &last_key[prefix.len()..]) };
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&token).unwrap())
}

fn decode_continue(token: &str) -> ApiResult<ContinueToken> {
    let bad = || ApiError::bad_request("continue key is not valid: illegal base64 data at input byte 0");
    let raw = base64::engine::general_purpose::STANDARD.decode(token).map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if t.v != "meta.k8s.io/v1" || t.rv <= 0 {
        return Err(ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"));
    }
    Ok(t)
}

fn check_list_params(req: &Req) -> ApiResult<()> {
    let rv = req.query.value("resourceVersion");
    let m = req.query.value("resourceVersionMatch");
    let cont = req.query.value("continue");
    if cont.is_some() && rv.is_some() && rv != Some("0") {
        return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
    }
    match (m, rv) {
        (Some(_), None) => Err(ApiError::bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")),
        (Some("Exact"), Some("0")) => Err(ApiError::bad_request(
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        )),
        (Some(m), _) if m != "Exact" && m != "NotOlderThan" => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: \"{m}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
        _ => Ok(()),
    }
}

pub async fn list(req: &Req) -> ApiResult<Reply> {
    check_list_params(req)?;
    let filter = Filter::from_request(req)?;
    let limit = req.query.int("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let prefix = req.def.prefix(req.namespace.as_deref());
    if let Some(token) = req.query.value("continue") {
        let t = decode_continue(token)?;
        let start = format!("{prefix}{}", t.start.trim_end_matches('\u{0}'));
        let page = store_page(req, &filter, &prefix, Some(start), limit, t.rv).await?;
        return Ok(output::list_reply(req, &page));
    }
    // Exact: asked for, or (legacy rule) a non-zero version with a limit and no match.
    let rv = req.query.value("resourceVersion");
    let legacy_exact = limit.is_some() && rv.is_some_and(|v| v != "0") && req.query.value("resourceVersionMatch").is_none();
    if req.query.value("resourceVersionMatch") == Some("Exact") || legacy_exact {
        let rv = parse_rv(req.query.value("resourceVersion").unwrap_or("0"))?;
        let page = store_page(req, &filter, &prefix, None, limit, rv).await?;
        return Ok(output::list_reply(req, &page));
    }
    await_freshness(req).await?;
    let rev = req.srv.cache.revision();
    let items: Vec<Arc<CachedObject>> = cached_matches(req, &filter, &prefix);
    let paginate = limit.is_some_and(|l| items.len() > l) && req.query.value("resourceVersion") != Some("0");
    let page = if paginate {
        // Later pages are read from the store at this revision, so the first is too.
        store_page(req, &filter, &prefix, None, limit, rev).await?
    } else {
        ListPage { items, resource_version: rev, continue_token: None, remaining: None }
    };
    Ok(output::list_reply(req, &page))
}

fn cached_matches(req: &Req, filter: &Filter, prefix: &str) -> Vec<Arc<CachedObject>> {
    let rc = req.srv.cache.resource(req.def.storage);
    if let (Some(name), Some(ns)) = (filter.exact_name(), req.namespace.as_deref().or((!req.def.namespaced).then_some(""))) {
        let key = req.def.key(ns, name);
        return rc.get(&key).filter(|o| filter.matches(&o.attrs)).into_iter().collect();
    }
    rc.list(prefix).into_iter().filter(|o| filter.matches(&o.attrs)).collect()
}

/// Reads matching objects from the store at `rev`, in key order after `start`, until
/// `limit` are found.
async fn store_page(
    req: &Req,
    filter: &Filter,
    prefix: &str,
    start: Option<String>,
    limit: Option<usize>,
    rev: i64,
) -> ApiResult<ListPage> {
    let store = req.srv.cache.store();
    let want = limit.unwrap_or(0);
    let mut items = Vec::new();
    let mut after = start;
    let mut last_key = None;
    loop {
        let chunk = if want == 0 { 0 } else { (want - items.len()).max(100) };
        let r = store.range(prefix, after.as_deref(), chunk, rev).await.map_err(|e| match e {
            store::StoreError::Compacted(_) => ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
            ),
            other => other.into(),
        })?;
        let mut more = r.more;
        for (i, kv) in r.kvs.iter().enumerate() {
            last_key = Some(kv.key.clone());
            let Some(obj) = CachedObject::from_kv(kv, kv.mod_revision) else { continue };
            if filter.matches(&obj.attrs) {
                items.push(obj);
            }
            if want != 0 && items.len() == want {
                more = more || i + 1 < r.kvs.len();
                break;
            }
        }
        let full = want != 0 && items.len() == want;
        if full || !more {
            let continue_token = (full && more).then(|| encode_continue(rev, last_key.as_deref().unwrap(), prefix));
            return Ok(ListPage { items, resource_version: rev, continue_token, remaining: None });
        }
        after = last_key.clone();
    }
}

