//! The TARGETS cell of a HorizontalPodAutoscaler ("cpu: 50%/80%", "<unknown>/100m (avg)").

use serde_json::{json, Value};

use super::util::{arr, at, opt_int};

/// Metric specs and current statuses in autoscaling/v2 shape; an autoscaling/v1
/// object's targetCPUUtilizationPercentage becomes one cpu Resource metric.
fn metrics(obj: &Value) -> (Vec<Value>, Vec<Value>) {
    let specs = arr(obj, "spec.metrics");
    if !specs.is_empty() || at(obj, "spec.targetCPUUtilizationPercentage").is_none() {
        return (specs.to_vec(), arr(obj, "status.currentMetrics").to_vec());
    }
    let target = opt_int(obj, "spec.targetCPUUtilizationPercentage");
    let spec = json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}});
    let status = match opt_int(obj, "status.currentCPUUtilizationPercentage") {
        Some(c) => vec![
            json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": c}}}),
        ],
        None => vec![],
    };
    (vec![spec], status)
}

/// A *resource.Quantity's String(): "<nil>" when unset.
fn q(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "<nil>".to_string(),
    }
}

fn status_of<'a>(statuses: &'a [Value], i: usize, key: &str) -> Option<&'a Value> {
    statuses
        .get(i)
        .and_then(|st| st.get(key))
        .filter(|v| v.is_object())
}

/// Object and External sources: "cur/target (avg)" or "cur/target".
fn value_metric(src: &Value, st: Option<&Value>) -> String {
    if let Some(avg) = at(src, "target.averageValue").filter(|v| !v.is_null()) {
        let cur = st
            .and_then(|s| at(s, "current.averageValue"))
            .filter(|v| !v.is_null())
            .map_or("<unknown>".to_string(), |v| q(Some(v)));
        return format!("{cur}/{} (avg)", q(Some(avg)));
    }
    let cur = st.map_or("<unknown>".to_string(), |s| q(at(s, "current.value")));
    format!("{cur}/{}", q(at(src, "target.value")))
}

/// Resource and ContainerResource sources: "name: cur/target".
fn resource_metric(src: &Value, st: Option<&Value>) -> String {
    let name = src.get("name").and_then(Value::as_str).unwrap_or("");
    if let Some(avg) = at(src, "target.averageValue").filter(|v| !v.is_null()) {
        let cur = st.map_or("<unknown>".to_string(), |s| {
            q(at(s, "current.averageValue"))
        });
        return format!("{name}: {cur}/{}", q(Some(avg)));
    }
    let cur = st
        .and_then(|s| opt_int(s, "current.averageUtilization"))
        .map_or("<unknown>".to_string(), |u| format!("{u}%"));
    let target =
        opt_int(src, "target.averageUtilization").map_or("<auto>".to_string(), |u| format!("{u}%"));
    format!("{name}: {cur}/{target}")
}

fn pods_metric(src: &Value, st: Option<&Value>) -> String {
    let cur = st.map_or("<unknown>".to_string(), |s| {
        q(at(s, "current.averageValue"))
    });
    format!("{cur}/{}", q(at(src, "target.averageValue")))
}

fn one(spec: &Value, statuses: &[Value], i: usize) -> String {
    let (key, kind) = match spec.get("type").and_then(Value::as_str).unwrap_or("") {
        "External" => ("external", 0),
        "Object" => ("object", 0),
        "Pods" => ("pods", 1),
        "Resource" => ("resource", 2),
        "ContainerResource" => ("containerResource", 2),
        _ => return "<unknown type>".to_string(),
    };
    let src = spec.get(key).unwrap_or(&Value::Null);
    let st = status_of(statuses, i, key);
    match kind {
        0 => value_metric(src, st),
        1 => pods_metric(src, st),
        _ => resource_metric(src, st),
    }
}

/// formatHPAMetrics: at most two metrics, then "+ N more...".
pub fn targets(obj: &Value) -> String {
    let (specs, statuses) = metrics(obj);
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, sp)| one(sp, &statuses, i))
        .collect();
    let shown = list[..list.len().min(2)].join(", ");
    if list.len() > 2 {
        format!("{shown} + {} more...", list.len() - 2)
    } else {
        shown
    }
}
