//! One pass of the Deployment controller over one Deployment and the ReplicaSets of
//! its namespace: the writes to make, in order.

use serde_json::{json, Map, Value};

use super::status::{self, Progress};
use super::{name, revision, template_hash, uid, without_hash, DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION};

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CreateReplicaSet(Value),
    PatchReplicaSet { name: String, patch: Value },
    DeleteReplicaSet { name: String, uid: String },
    PatchDeployment(Value),
    Status(Value),
    Event { reason: String, message: String },
}

/// A ReplicaSet as this pass sees it; `replicas` is its spec as the pass changes it.
#[derive(Debug, Clone)]
pub(super) struct Rs {
    pub name: String,
    pub uid: String,
    pub replicas: i64,
    pub status_replicas: i64,
    pub ready: i64,
    pub available: i64,
    pub revision: i64,
    pub template: Value,
    pub created: String,
    pub annotations: Map<String, Value>,
    pub deleting: bool,
    pub observed_generation: i64,
    pub generation: i64,
}

impl Rs {
    fn from(v: &Value) -> Rs {
        let st = &v["status"];
        Rs {
            name: name(v).into(),
            uid: uid(v).into(),
            replicas: v["spec"]["replicas"].as_i64().unwrap_or(1),
            status_replicas: st["replicas"].as_i64().unwrap_or(0),
            ready: st["readyReplicas"].as_i64().unwrap_or(0),
            available: st["availableReplicas"].as_i64().unwrap_or(0),
            revision: revision(v),
            template: without_hash(&v["spec"]["template"]),
            created: v["metadata"]["creationTimestamp"].as_str().unwrap_or("").into(),
            annotations: v["metadata"]["annotations"].as_object().cloned().unwrap_or_default(),
            deleting: !v["metadata"]["deletionTimestamp"].is_null(),
            observed_generation: st["observedGeneration"].as_i64().unwrap_or(0),
            generation: v["metadata"]["generation"].as_i64().unwrap_or(0),
        }
    }
}

/// An int-or-percent of `total`, percentages rounded up or down.
fn scaled(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                (pct * total + 99) / 100
            } else {
                pct * total / 100
            }
        }
        _ => 0,
    }
}

/// (maxSurge, maxUnavailable) for a RollingUpdate; both zero would deadlock, so
/// maxUnavailable becomes 1 (upstream's ResolveFenceposts).
pub(super) fn fenceposts(d: &Value, replicas: i64) -> (i64, i64) {
    let ru = &d["spec"]["strategy"]["rollingUpdate"];
    if d["spec"]["strategy"]["type"] == "Recreate" {
        return (0, 0);
    }
    let surge = scaled(ru.get("maxSurge").unwrap_or(&json!("25%")), replicas, true);
    let unavailable = scaled(ru.get("maxUnavailable").unwrap_or(&json!("25%")), replicas, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

struct Pass<'a> {
    d: &'a Value,
    replicas: i64,
    surge: i64,
    actions: Vec<Action>,
}

impl Pass<'_> {
    fn replica_annotations(&self) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert(DESIRED_REPLICAS.into(), json!(self.replicas.to_string()));
        a.insert(MAX_REPLICAS.into(), json!((self.replicas + self.surge).to_string()));
        a
    }

    /// Sets a ReplicaSet's size (and the annotations recording what the Deployment wanted).
    fn scale(&mut self, rs: &mut Rs, to: i64) {
        let wanted = self.replica_annotations();
        let stale = wanted.iter().any(|(k, v)| rs.annotations.get(k) != Some(v));
        if rs.replicas == to && !stale {
            return;
        }
        let mut patch = json!({"metadata": {"annotations": wanted}});
        if rs.replicas != to {
            patch["spec"] = json!({"replicas": to});
            let how = if to > rs.replicas { "up" } else { "down" };
            self.actions.push(Action::PatchReplicaSet { name: rs.name.clone(), patch });
            self.actions.push(Action::Event {
                reason: "ScalingReplicaSet".into(),
                message: format!("Scaled {how} replica set {} from {} to {to}", rs.name, rs.replicas),
            });
        } else {
            self.actions.push(Action::PatchReplicaSet { name: rs.name.clone(), patch });
        }
        rs.annotations.extend(wanted);
        rs.replicas = to;
    }
}

/// Annotations a Deployment passes on to its new ReplicaSet (change-cause and the
/// user's own), leaving out those that describe the Deployment itself.
fn inherited_annotations(d: &Value) -> Map<String, Value> {
    d["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), REVISION | DESIRED_REPLICAS | MAX_REPLICAS | "kubectl.kubernetes.io/last-applied-configuration" | "deployment.kubernetes.io/revision-history"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn new_replica_set(d: &Value, hash: &str, replicas: i64, revision: i64, annotations: Map<String, Value>) -> Value {
    let mut template = d["spec"]["template"].clone();
    template["metadata"]["labels"][POD_TEMPLATE_HASH] = json!(hash);
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][POD_TEMPLATE_HASH] = json!(hash);
    let mut annotations = annotations;
    annotations.insert(REVISION.into(), json!(revision.to_string()));
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", name(d)),
            "namespace": d["metadata"]["namespace"],
            "labels": template["metadata"]["labels"],
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name(d), "uid": uid(d), "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {"replicas": replicas, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0), "selector": selector, "template": template},
    })
}

/// The writes one pass makes for Deployment `d`, given the ReplicaSets of its namespace.
pub fn plan(d: &Value, sets: &[&Value], now: chrono::DateTime<chrono::Utc>) -> Vec<Action> {
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (surge, max_unavailable) = fenceposts(d, replicas);
    let mut pass = Pass { d, replicas, surge, actions: Vec::new() };
    let Ok(selector) = api::selector::LabelSelector::from_label_selector(Some(&d["spec"]["selector"])) else { return vec![] };
    if selector.is_empty() {
        return vec![];
    }
    let d_uid = uid(d);
    let mut owned: Vec<Rs> = Vec::new();
    for v in sets {
        let refs = v["metadata"]["ownerReferences"].as_array();
        let controller = refs.and_then(|r| r.iter().find(|o| o["controller"] == true));
        match controller {
            Some(c) if c["uid"] == d_uid => owned.push(Rs::from(v)),
            None if selector.matches(Some(&label_map_of(v))) && d["metadata"]["deletionTimestamp"].is_null() => {
                let mut all: Vec<Value> = refs.cloned().unwrap_or_default();
                all.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name(d), "uid": d_uid, "controller": true, "blockOwnerDeletion": true}));
                pass.actions.push(Action::PatchReplicaSet { name: name(v).into(), patch: json!({"metadata": {"ownerReferences": all}}) });
                owned.push(Rs::from(v));
            }
            _ => {}
        }
    }
    if !d["metadata"]["deletionTimestamp"].is_null() {
        let new_idx = find_new(d, &owned);
        pass.actions.extend(status::update(d, &owned, new_idx, max_unavailable, Progress::None, now));
        return pass.actions;
    }
    let paused = d["spec"]["paused"] == true;
    let collisions = d["status"]["collisionCount"].as_i64().unwrap_or(0);
    let mut new_idx = find_new(d, &owned);
    let max_old_revision = owned.iter().enumerate().filter(|(i, _)| Some(*i) != new_idx).map(|(_, r)| r.revision).max().unwrap_or(0);
    let mut progress = Progress::None;

    // Keep the new ReplicaSet's revision the newest and its inherited annotations current.
    if let Some(i) = new_idx {
        let rs = &mut owned[i];
        let mut wanted = inherited_annotations(d);
        if rs.revision <= max_old_revision {
            wanted.insert(REVISION.into(), json!((max_old_revision + 1).to_string()));
        }
        let stale: Map<String, Value> = wanted.into_iter().filter(|(k, v)| rs.annotations.get(k) != Some(v)).collect();
        if !stale.is_empty() {
            if let Some(r) = stale.get(REVISION).and_then(Value::as_str) {
                rs.revision = r.parse().unwrap_or(rs.revision);
            }
            rs.annotations.extend(stale.clone());
            pass.actions.push(Action::PatchReplicaSet { name: rs.name.clone(), patch: json!({"metadata": {"annotations": stale}}) });
        }
        if d["status"]["conditions"].as_array().is_none_or(|c| !c.iter().any(|c| c["type"] == "Progressing")) {
            progress = Progress::Found(rs.name.clone());
        }
    }

    let scaling = owned.iter().any(|r| r.replicas > 0 && r.annotations.get(DESIRED_REPLICAS).and_then(Value::as_str).is_some_and(|v| v != replicas.to_string()));
    if paused || scaling {
        scale(&mut pass, &mut owned, new_idx);
    } else if d["spec"]["strategy"]["type"] == "Recreate" {
        let mut olds_running = false;
        for (i, rs) in owned.iter_mut().enumerate() {
            if Some(i) != new_idx {
                if rs.replicas > 0 {
                    pass.scale(rs, 0);
                    olds_running = true;
                }
                olds_running |= rs.status_replicas > 0;
            }
        }
        if !olds_running {
            match new_idx {
                Some(i) => {
                    let mut rs = owned[i].clone();
                    pass.scale(&mut rs, replicas);
                    owned[i] = rs;
                }
                None => {
                    let rs = create_new(&mut pass, d, collisions, max_old_revision, replicas);
                    progress = Progress::Created(rs.name.clone());
                    owned.push(rs);
                    new_idx = Some(owned.len() - 1);
                }
            }
        }
    } else {
        // RollingUpdate: grow the new ReplicaSet within maxSurge …
        let total: i64 = owned.iter().map(|r| r.replicas).sum();
        let max_total = replicas + surge;
        match new_idx {
            None => {
                let size = (max_total - total).clamp(0, replicas);
                let rs = create_new(&mut pass, d, collisions, max_old_revision, size);
                progress = Progress::Created(rs.name.clone());
                owned.push(rs);
                new_idx = Some(owned.len() - 1);
            }
            Some(i) => {
                let mut rs = owned[i].clone();
                if rs.replicas > replicas {
                    pass.scale(&mut rs, replicas);
                } else if rs.replicas < replicas && total < max_total {
                    let up = (max_total - total).min(replicas - rs.replicas);
                    let to = rs.replicas + up;
                    pass.scale(&mut rs, to);
                }
                owned[i] = rs;
            }
        }
        // … and shrink the old ones within maxUnavailable.
        scale_down_old(&mut pass, &mut owned, new_idx, max_unavailable);
    }
    if let Some(i) = new_idx {
        let r = owned[i].revision.to_string();
        if d["metadata"]["annotations"][REVISION].as_str() != Some(r.as_str()) {
            pass.actions.push(Action::PatchDeployment(json!({"metadata": {"annotations": {REVISION: r}}})));
        }
    }
    let complete = new_idx.is_some_and(|i| {
        let n = &owned[i];
        n.replicas == replicas && n.available >= replicas && owned.iter().enumerate().all(|(j, r)| j == i || (r.replicas == 0 && r.status_replicas == 0))
    });
    if complete || paused {
        cleanup(&mut pass, &owned, new_idx);
    }
    pass.actions.extend(status::update(d, &owned, new_idx, max_unavailable, progress, now));
    pass.actions
}

fn label_map_of(v: &Value) -> Map<String, Value> {
    v["metadata"]["labels"].as_object().cloned().unwrap_or_default()
}

/// The ReplicaSet running the Deployment's current template (the oldest, if several).
fn find_new(d: &Value, owned: &[Rs]) -> Option<usize> {
    let want = without_hash(&d["spec"]["template"]);
    let mut matching: Vec<usize> = (0..owned.len()).filter(|i| owned[*i].template == want).collect();
    matching.sort_by(|a, b| owned[*a].created.cmp(&owned[*b].created));
    matching.first().copied()
}

fn create_new(pass: &mut Pass, d: &Value, collisions: i64, max_old_revision: i64, size: i64) -> Rs {
    let hash = template_hash(&without_hash(&d["spec"]["template"]), collisions);
    let mut annotations = inherited_annotations(d);
    annotations.extend(pass.replica_annotations());
    let rs = new_replica_set(d, &hash, size, max_old_revision + 1, annotations);
    let out = Rs::from(&rs);
    pass.actions.push(Action::CreateReplicaSet(rs));
    pass.actions.push(Action::Event {
        reason: "ScalingReplicaSet".into(),
        message: format!("Scaled up replica set {} from 0 to {size}", out.name),
    });
    Rs { replicas: size, ..out }
}

/// Scale-down of old ReplicaSets during a rolling update (upstream's
/// reconcileOldReplicaSets): never below `replicas - maxUnavailable` available pods.
fn scale_down_old(pass: &mut Pass, owned: &mut [Rs], new_idx: Option<usize>, max_unavailable: i64) {
    let mut old: Vec<usize> = (0..owned.len()).filter(|i| Some(*i) != new_idx && owned[*i].replicas > 0).collect();
    if old.is_empty() {
        return;
    }
    old.sort_by(|a, b| owned[*a].created.cmp(&owned[*b].created));
    let all: i64 = owned.iter().map(|r| r.replicas).sum();
    let min_available = pass.replicas - max_unavailable;
    let new_unavailable = new_idx.map(|i| (owned[i].replicas - owned[i].available).max(0)).unwrap_or(0);
    let mut budget = all - min_available - new_unavailable;
    if budget <= 0 {
        return;
    }
    // First the old pods that are not available anyway.
    for &i in &old {
        let unhealthy = (owned[i].replicas - owned[i].available).max(0).min(budget);
        if unhealthy > 0 {
            let mut rs = owned[i].clone();
            let to = rs.replicas - unhealthy;
            pass.scale(&mut rs, to);
            owned[i] = rs;
            budget -= unhealthy;
        }
    }
    // Then available ones, as far as availability allows.
    let available: i64 = owned.iter().map(|r| r.available.min(r.replicas)).sum();
    let mut can_remove = (available - min_available).min(budget);
    for &i in &old {
        if can_remove <= 0 {
            break;
        }
        let n = owned[i].replicas.min(can_remove);
        if n > 0 {
            let mut rs = owned[i].clone();
            let to = rs.replicas - n;
            pass.scale(&mut rs, to);
            owned[i] = rs;
            can_remove -= n;
        }
    }
}

/// A change of `replicas` (or a paused Deployment): resize without rolling. One active
/// ReplicaSet takes the new size; several share the change in proportion to their sizes.
fn scale(pass: &mut Pass, owned: &mut [Rs], new_idx: Option<usize>) {
    let active: Vec<usize> = (0..owned.len()).filter(|i| owned[*i].replicas > 0).collect();
    if active.len() <= 1 {
        let target = active.first().copied().or(new_idx).or_else(|| (0..owned.len()).max_by_key(|i| owned[*i].revision));
        if let Some(i) = target {
            let mut rs = owned[i].clone();
            pass.scale(&mut rs, pass.replicas);
            owned[i] = rs;
        }
        return;
    }
    let allowed = pass.replicas + pass.surge;
    let current: i64 = active.iter().map(|i| owned[*i].replicas).sum();
    let mut to_add = allowed - current;
    let mut order = active.clone();
    // Larger (then newer) sets first, as upstream, so rounding favours them.
    order.sort_by(|a, b| owned[*b].replicas.cmp(&owned[*a].replicas).then(owned[*b].created.cmp(&owned[*a].created)));
    let mut sizes: Vec<(usize, i64)> = Vec::new();
    let total_add = to_add;
    for &i in &order {
        let share = if current > 0 { owned[i].replicas * total_add / current } else { 0 };
        let share = if total_add > 0 { share.min(to_add) } else { share.max(to_add) };
        sizes.push((i, owned[i].replicas + share));
        to_add -= share;
    }
    if let Some(first) = sizes.first_mut() {
        first.1 = (first.1 + to_add).max(0);
    }
    for (i, size) in sizes {
        let mut rs = owned[i].clone();
        pass.scale(&mut rs, size.max(0));
        owned[i] = rs;
    }
}

/// Deletes old, empty ReplicaSets beyond `revisionHistoryLimit` (default 10), oldest first.
fn cleanup(pass: &mut Pass, owned: &[Rs], new_idx: Option<usize>) {
    let limit = pass.d["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10);
    let mut old: Vec<&Rs> = owned.iter().enumerate().filter(|(i, r)| Some(*i) != new_idx && !r.deleting).map(|(_, r)| r).collect();
    let excess = old.len() as i64 - limit;
    if excess <= 0 {
        return;
    }
    old.sort_by_key(|r| r.revision);
    for r in old.into_iter().take(excess as usize) {
        if r.replicas == 0 && r.status_replicas == 0 && r.observed_generation >= r.generation {
            pass.actions.push(Action::DeleteReplicaSet { name: r.name.clone(), uid: r.uid.clone() });
        }
    }
}
