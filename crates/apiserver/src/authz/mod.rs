//! Authorization in the API server: the RBAC policy kept current from the watch cache,
//! the Node authorizer reading pods from it, request attributes, impersonation,
//! escalation checks and NodeRestriction on writes, and the bootstrap policy.
//!
//! The policy follows the cache event by event. Before deciding, a request applies any
//! RBAC changes the cache has announced, so a write acknowledged to a client (which the
//! cache has seen by then) governs the client's next request.

mod admission;
mod bootstrap;
mod graph;
mod impersonate;
mod request;

use std::sync::{Arc, RwLock};

use api::rbac::{self, Attributes, Decision, Kind, Policy};
use serde_json::{Map, Value};
use tokio::sync::broadcast::{error::TryRecvError, Receiver};

pub use admission::{admit, Operation};
pub use bootstrap::{reconcile, run_aggregation};
pub use impersonate::impersonate;
pub use request::attributes;

use crate::auth::User;
use crate::cache::{CachedEvent, EventKind, WatchCache};
use crate::status::{ApiError, ApiResult};

struct Feed {
    kind: Kind,
    storage: &'static str,
    live: Receiver<Arc<CachedEvent>>,
}

struct State {
    policy: Policy,
    feeds: Vec<Feed>,
}

pub struct Authz {
    state: RwLock<State>,
    cache: Arc<WatchCache>,
}

fn load(cache: &WatchCache, policy: &mut Policy, kind: Kind, storage: &str) {
    for o in cache.resource(storage).list(&format!("/registry/{storage}/")) {
        policy.apply(kind, &o.value(), false);
    }
}

impl Authz {
    /// Loads every role and binding from the cache and follows their changes.
    pub async fn start(cache: Arc<WatchCache>) -> ApiResult<Arc<Authz>> {
        let mut policy = Policy::default();
        let mut feeds = Vec::new();
        for storage in Kind::STORAGES {
            let kind = Kind::from_storage(storage).expect("RBAC storages");
            let sub = cache.subscribe(storage, None).await?;
            for ev in &sub.initial {
                policy.apply(kind, &ev.object.value(), false);
            }
            feeds.push(Feed { kind, storage, live: sub.live });
        }
        Ok(Arc::new(Authz { state: RwLock::new(State { policy, feeds }), cache }))
    }

    /// Applies announced changes every 250 ms even without requests, so a quiet
    /// authorizer does not fall behind a burst of RBAC writes (and rebuild).
    pub async fn keep_current(self: Arc<Self>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tick.tick().await;
            self.refresh();
        }
    }

    /// Applies the RBAC changes the cache has announced since the last request.
    fn refresh(&self) {
        let pending = self.state.read().unwrap().feeds.iter().any(|f| !f.live.is_empty());
        if !pending {
            return;
        }
        let mut st = self.state.write().unwrap();
        let State { policy, feeds } = &mut *st;
        let mut lagged = false;
        for f in feeds.iter_mut() {
            loop {
                match f.live.try_recv() {
                    Ok(ev) => policy.apply(f.kind, &ev.object.value(), ev.kind == EventKind::Deleted),
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => break,
                }
            }
        }
        if lagged {
            // Missed events: start over from what the cache holds now.
            *policy = Policy::default();
            for f in feeds.iter() {
                load(&self.cache, policy, f.kind, f.storage);
            }
        }
    }

    pub fn authorize(&self, user: &User, attrs: &Attributes) -> Decision {
        if user.in_group(rbac::SYSTEM_MASTERS) {
            return Decision::Allow(rbac::Why::Superuser);
        }
        self.refresh();
        let st = self.state.read().unwrap();
        rbac::authorize(&st.policy, &graph::CacheGraph(&self.cache), user, attrs)
    }

    /// Ok when allowed, else upstream's 403.
    pub fn check(&self, user: &User, attrs: &Attributes) -> ApiResult<()> {
        let d = self.authorize(user, attrs);
        if d.allowed() {
            Ok(())
        } else {
            Err(forbidden_error(user, attrs, &d.reason()))
        }
    }

    /// Runs `f` on the current policy (rule listing, escalation checks).
    pub fn with_policy<R>(&self, f: impl FnOnce(&Policy) -> R) -> R {
        self.refresh();
        f(&self.state.read().unwrap().policy)
    }
}

/// The 403 for a denied request: message, reason and details as upstream.
pub fn forbidden_error(user: &User, attrs: &Attributes, reason: &str) -> ApiError {
    let mut details = Map::new();
    if attrs.resource_request {
        if !attrs.name.is_empty() {
            details.insert("name".into(), attrs.name.clone().into());
        }
        if !attrs.api_group.is_empty() {
            details.insert("group".into(), attrs.api_group.clone().into());
        }
        details.insert("kind".into(), attrs.resource.clone().into());
    }
    ApiError::forbidden(rbac::forbidden_message(&user.name, attrs, reason)).with_details(Value::Object(details))
}
