//! Conversion between versions that share storage. Each storage prefix has one storage
//! version (HPAs: autoscaling/v2; events: core v1); writes are converted to it and reads
//! to the version the request addresses.

use api::registry::ResourceDef;
use serde_json::{json, Map, Value};

/// The version objects of this resource are stored in.
fn storage_api_version(def: &ResourceDef) -> &'static str {
    match def.storage {
        "horizontalpodautoscalers" => "autoscaling/v2",
        "events" => "v1",
        _ => "",
    }
}

fn api_version_of(obj: &Value) -> &str {
    obj.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

/// The object as `def`'s group/version serves it.
pub fn to_version(def: &ResourceDef, obj: &Value) -> Value {
    let want = def.api_version();
    let have = api_version_of(obj);
    if have == want {
        return obj.clone();
    }
    let mut out = match (have, want.as_str()) {
        ("autoscaling/v2", "autoscaling/v1") => hpa_v2_to_v1(obj),
        ("autoscaling/v1", "autoscaling/v2") => hpa_v1_to_v2(obj),
        ("v1", "events.k8s.io/v1") => rename_fields(obj, EVENT_FIELDS, false),
        ("events.k8s.io/v1", "v1") => rename_fields(obj, EVENT_FIELDS, true),
        _ => obj.clone(),
    };
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), json!(want));
        m.insert("kind".into(), json!(def.kind));
    }
    out
}

/// The object in its storage version.
pub fn to_storage(def: &ResourceDef, obj: Value) -> Value {
    let target = storage_api_version(def);
    if target.is_empty() || api_version_of(&obj) == target {
        return obj;
    }
    let storage_def = api::registry::by_storage(def.storage).find(|d| d.api_version() == target).unwrap_or(def);
    to_version(storage_def, &obj)
}

/// (core v1 name, events.k8s.io/v1 name)
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename_fields(obj: &Value, pairs: &[(&str, &str)], reverse: bool) -> Value {
    let Some(m) = obj.as_object() else { return obj.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        let renamed = pairs.iter().find_map(|(a, b)| {
            let (from, to) = if reverse { (b, a) } else { (a, b) };
            (*from == k.as_str()).then_some(*to)
        });
        out.insert(renamed.unwrap_or(k).to_string(), v.clone());
    }
    Value::Object(out)
}

fn cpu_target(metrics: &Value) -> Option<Value> {
    metrics.as_array()?.iter().find_map(|m| {
        let r = m.get("resource")?;
        (m["type"] == "Resource" && r["name"] == "cpu" && r["target"]["type"] == "Utilization")
            .then(|| r["target"]["averageUtilization"].clone())
    })
}

fn cpu_current(metrics: &Value) -> Option<Value> {
    metrics.as_array()?.iter().find_map(|m| {
        let r = m.get("resource")?;
        (m["type"] == "Resource" && r["name"] == "cpu").then(|| r["current"]["averageUtilization"].clone())
    })
}

fn copy_fields(from: &Value, to: &mut Map<String, Value>, fields: &[&str]) {
    for f in fields {
        if let Some(v) = from.get(*f) {
            to.insert((*f).to_string(), v.clone());
        }
    }
}

/// autoscaling/v2 → v1: the CPU utilization target maps to targetCPUUtilizationPercentage;
/// other metrics have no v1 field.
fn hpa_v2_to_v1(obj: &Value) -> Value {
    let mut out = obj.as_object().cloned().unwrap_or_default();
    let spec = &obj["spec"];
    let mut s = Map::new();
    copy_fields(spec, &mut s, &["scaleTargetRef", "minReplicas", "maxReplicas"]);
    if let Some(t) = cpu_target(&spec["metrics"]).filter(|t| !t.is_null()) {
        s.insert("targetCPUUtilizationPercentage".into(), t);
    }
    out.insert("spec".into(), Value::Object(s));
    if let Some(status) = obj.get("status") {
        let mut st = Map::new();
        copy_fields(status, &mut st, &["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"]);
        if let Some(c) = cpu_current(&status["currentMetrics"]).filter(|c| !c.is_null()) {
            st.insert("currentCPUUtilizationPercentage".into(), c);
        }
        out.insert("status".into(), Value::Object(st));
    }
    Value::Object(out)
}

fn hpa_v1_to_v2(obj: &Value) -> Value {
    let mut out = obj.as_object().cloned().unwrap_or_default();
    let spec = &obj["spec"];
    let mut s = Map::new();
    copy_fields(spec, &mut s, &["scaleTargetRef", "minReplicas", "maxReplicas"]);
    if let Some(t) = spec.get("targetCPUUtilizationPercentage") {
        s.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": t}}}]),
        );
    }
    out.insert("spec".into(), Value::Object(s));
    if let Some(status) = obj.get("status") {
        let mut st = Map::new();
        copy_fields(status, &mut st, &["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"]);
        if let Some(c) = status.get("currentCPUUtilizationPercentage") {
            st.insert(
                "currentMetrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": c}}}]),
            );
        }
        out.insert("status".into(), Value::Object(st));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_round_trips_cpu_target() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}});
        let v1_def = api::registry::find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        let stored = to_storage(v1_def, v1.clone());
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 70);
        let back = to_version(v1_def, &stored);
        assert_eq!(back["spec"], v1["spec"]);
    }

    #[test]
    fn events_convert_between_groups() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "involvedObject": {"kind": "Pod", "name": "p"}, "message": "hi", "reason": "Started"});
        let ev_def = api::registry::find("events.k8s.io", "v1", "events").unwrap();
        let e = to_version(ev_def, &core);
        assert_eq!((e["regarding"]["name"].as_str(), e["note"].as_str(), e["reason"].as_str()), (Some("p"), Some("hi"), Some("Started")));
        let core_def = api::registry::find("", "v1", "events").unwrap();
        assert_eq!(to_storage(ev_def, e)["involvedObject"]["name"], "p");
        let _ = core_def;
    }
}
