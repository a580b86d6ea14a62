//! Namespace, Node, LimitRange, ResourceQuota and Event.

use std::cmp::Ordering;

use serde_json::Value;

use super::affinity::validate_taints;
use super::meta::validate_kube_finalizer_name;
use super::names::{is_dns1123_subdomain, is_qualified_name, parse_cidr, CIDR_MSG};
use super::quantity::Quantity;
use super::resources::{parse_list, validate_container_resource_name, validate_quota_resource_name, validate_resource_list, validate_resource_name};
use super::util::{arr, each_invalid, get, int, obj, s, str_list, sv, Errs, Path};
use super::Op;
use crate::errors::FieldError;

pub fn validate_namespace(o: &Value, _op: Op) -> Errs {
    let p = Path::new("spec").ch("finalizers");
    let mut errs = Vec::new();
    for f in get(o, "spec").map(|sp| str_list(sp, "finalizers")).unwrap_or_default() {
        errs.extend(each_invalid(&p, f, is_qualified_name(f)));
        errs.extend(validate_kube_finalizer_name(f, &p));
    }
    errs
}

pub fn validate_namespace_status(new: &Value, _old: &Value) -> Errs {
    let deleting = get(new, "metadata").and_then(|m| get(m, "deletionTimestamp")).is_some();
    let phase = get(new, "status").map(|st| s(st, "phase")).unwrap_or("");
    let p = Path::new("status").ch("Phase");
    match (deleting, phase) {
        (false, "Active") | (true, "Terminating") => Vec::new(),
        (false, _) => vec![FieldError::invalid(p, sv(phase), "may only be 'Active' if `deletionTimestamp` is empty")],
        (true, _) => vec![FieldError::invalid(p, sv(phase), "may only be 'Terminating' if `deletionTimestamp` is not empty")],
    }
}

fn validate_node_resources(o: &Value) -> Errs {
    let mut errs = Vec::new();
    for key in ["capacity", "allocatable"] {
        let p = Path::new("status").ch(key);
        for (name, q) in parse_list(get(o, "status").and_then(|st| get(st, key)), &p, &mut errs) {
            errs.extend(super::resources::validate_quantity_value(&name, &q, &p.ch(&name)));
        }
    }
    errs
}

pub fn validate_node(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let mut errs = validate_taints(arr(&spec, "taints"), &Path::new("metadata").ch("taints"));
    errs.extend(validate_node_resources(o));
    let cidrs = str_list(&spec, "podCIDRs");
    let cp = Path::new("spec").ch("podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        if parse_cidr(c).is_none() {
            errs.push(FieldError::invalid(cp.ix(i), sv(c), CIDR_MSG));
        }
        if cidrs[..i].contains(c) {
            errs.push(FieldError::duplicate(cp.ix(i), sv(c)));
        }
    }
    if cidrs.len() > 2 || (cidrs.len() == 2 && parse_cidr(cidrs[0]).map(|x| x.0.is_ipv4()) == parse_cidr(cidrs[1]).map(|x| x.0.is_ipv4())) {
        errs.push(FieldError::invalid(&cp, get(&spec, "podCIDRs").cloned().unwrap_or_default(), "may specify no more than one CIDR for each IP family"));
    }
    if let Op::Update(old) = op {
        errs.extend(validate_node_update(o, &spec, &get(old, "spec").cloned().unwrap_or_default()));
    }
    errs
}

fn validate_node_update(o: &Value, spec: &Value, old: &Value) -> Errs {
    let mut errs = Vec::new();
    let addrs = get(o, "status").map(|st| arr(st, "addresses")).unwrap_or(&[]);
    for (i, a) in addrs.iter().enumerate() {
        if addrs[..i].contains(a) {
            errs.push(FieldError::duplicate(Path::new("status").ch("addresses").ix(i), a.clone()));
        }
    }
    let (oc, nc) = (str_list(old, "podCIDRs"), str_list(spec, "podCIDRs"));
    if !oc.is_empty() && oc != nc {
        errs.push(FieldError::forbidden(Path::new("spec").ch("podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"));
    }
    let opid = s(old, "providerID");
    if !opid.is_empty() && opid != s(spec, "providerID") {
        errs.push(FieldError::forbidden(Path::new("spec").ch("providerID"), "node updates may not change providerID except from \"\" to valid"));
    }
    if s(old, "externalID") != s(spec, "externalID") {
        errs.push(FieldError::forbidden(Path::new("spec").ch("externalID"), "may not be updated"));
    }
    errs
}

const LIMIT_TYPES: &[&str] = &["Pod", "Container", "PersistentVolumeClaim"];

fn validate_limit_type(t: &str, p: &Path) -> Errs {
    let errs = each_invalid(p, t, is_qualified_name(t));
    if !errs.is_empty() {
        return errs;
    }
    if !t.contains('/') && !LIMIT_TYPES.contains(&t) {
        return vec![FieldError::invalid(p, sv(t), "must be a standard limit type or fully qualified")];
    }
    Vec::new()
}

type QMap = Vec<(String, Quantity)>;

fn get_q<'a>(m: &'a QMap, k: &str) -> Option<&'a Quantity> {
    m.iter().find(|(n, _)| n == k).map(|(_, q)| q)
}

pub fn validate_limit_range(o: &Value, _op: Op) -> Errs {
    let p = Path::new("spec").ch("limits");
    let mut errs = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for (i, item) in get(o, "spec").map(|sp| arr(sp, "limits")).unwrap_or(&[]).iter().enumerate() {
        let ip = p.ix(i);
        let t = s(item, "type");
        errs.extend(validate_limit_type(t, &ip.ch("type")));
        if types.contains(&t) {
            errs.push(FieldError::duplicate(ip.ch("type"), sv(t)));
        }
        types.push(t);
        let name_fn: fn(&str, &Path) -> Errs = if t == "Pod" || t == "Container" { validate_container_resource_name } else { validate_resource_name };
        let mut lists: Vec<(&str, QMap)> = Vec::new();
        for key in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            if t == "Pod" && (key == "default" || key == "defaultRequest") {
                if obj(item, key).is_some_and(|m| !m.is_empty()) {
                    errs.push(FieldError::forbidden(ip.ch(key), "may not be specified when `type` is 'Pod'"));
                }
                lists.push((key, Vec::new()));
                continue;
            }
            let parsed = parse_list(get(item, key), &ip.ch(key), &mut errs);
            for (n, _) in &parsed {
                errs.extend(name_fn(n, &ip.ch(key).key(n)));
            }
            lists.push((key, parsed));
        }
        if t == "PersistentVolumeClaim" && get_q(&lists[0].1, "storage").is_none() && get_q(&lists[1].1, "storage").is_none() {
            errs.push(FieldError::required(ip.ch("limits"), "either minimum or maximum storage value is required, but neither was provided"));
        }
        errs.extend(compare_limits(&lists, &ip));
    }
    errs
}

fn compare_limits(lists: &[(&str, QMap)], ip: &Path) -> Errs {
    let (max, min, def, req, ratio) = (&lists[0].1, &lists[1].1, &lists[2].1, &lists[3].1, &lists[4].1);
    let mut keys: Vec<&String> = lists.iter().flat_map(|(_, l)| l.iter().map(|(k, _)| k)).collect();
    keys.sort();
    keys.dedup();
    let mut errs = Vec::new();
    let gt = |a: &Quantity, b: &Quantity| a.cmp_q(b) == Ordering::Greater;
    for k in keys {
        let (mx, mn, d, dr, r) = (get_q(max, k), get_q(min, k), get_q(def, k), get_q(req, k), get_q(ratio, k));
        let mut bad = |field: &str, shown: &Quantity, msg: String| errs.push(FieldError::invalid(ip.ch(field).key(k), sv(&shown.canonical()), msg));
        if let (Some(mn), Some(mx)) = (mn, mx) {
            if gt(mn, mx) {
                bad("min", mn, format!("min value {} is greater than max value {}", mn.canonical(), mx.canonical()));
            }
        }
        if let (Some(dr), Some(mn)) = (dr, mn) {
            if gt(mn, dr) {
                bad("defaultRequest", dr, format!("min value {} is greater than default request value {}", mn.canonical(), dr.canonical()));
            }
        }
        if let (Some(dr), Some(mx)) = (dr, mx) {
            if gt(dr, mx) {
                bad("defaultRequest", dr, format!("default request value {} is greater than max value {}", dr.canonical(), mx.canonical()));
            }
        }
        if let (Some(dr), Some(d)) = (dr, d) {
            if gt(dr, d) {
                bad("defaultRequest", dr, format!("default request value {} is greater than default limit value {}", dr.canonical(), d.canonical()));
            }
        }
        if let (Some(d), Some(mn)) = (d, mn) {
            if gt(mn, d) {
                bad("default", mn, format!("min value {} is greater than default value {}", mn.canonical(), d.canonical()));
            }
        }
        if let (Some(d), Some(mx)) = (d, mx) {
            if gt(d, mx) {
                bad("default", mx, format!("default value {} is greater than max value {}", d.canonical(), mx.canonical()));
            }
        }
        if let Some(r) = r.filter(|r| r.cmp_q(&Quantity::parse("1").expect("one")) == Ordering::Less) {
            bad("maxLimitRequestRatio", r, format!("ratio {} is less than 1", r.canonical()));
        }
    }
    errs
}

fn validate_scopes(spec: &Value, p: &Path) -> Errs {
    let scopes = str_list(spec, "scopes");
    let known = ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity", "VolumeAttributesClass"];
    let all = get(spec, "scopes").cloned().unwrap_or_default();
    let mut errs = Vec::new();
    for sc in &scopes {
        if !known.contains(sc) {
            errs.push(FieldError::invalid(p.ch("scopes"), all.clone(), "unsupported scope"));
        }
    }
    let pairs = [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")];
    for (a, b) in pairs {
        if scopes.contains(&a) && scopes.contains(&b) {
            errs.push(FieldError::invalid(p.ch("scopes"), all.clone(), "conflicting scopes"));
        }
    }
    if let Some(sel) = get(spec, "scopeSelector") {
        let ep = p.ch("scopeSelector").ch("matchExpressions");
        for e in arr(sel, "matchExpressions") {
            let (name, op, values) = (s(e, "scopeName"), s(e, "operator"), arr(e, "values"));
            if !known.contains(&name) {
                errs.push(FieldError::invalid(ep.ch("scopeName"), sv(name), "unsupported scope"));
            }
            match op {
                "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(ep.ch("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector")),
                "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::invalid(ep.ch("values"), Value::Array(values.to_vec()), "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector")),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                _ => errs.push(FieldError::invalid(ep.ch("operator"), sv(op), "not a valid selector operator")),
            }
        }
    }
    errs
}

pub fn validate_resource_quota(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = validate_resource_list(get(&spec, "hard"), &p.ch("hard"), validate_quota_resource_name);
    errs.extend(validate_scopes(&spec, &p));
    match op {
        Op::Create => errs.extend(validate_quota_status_lists(o)),
        Op::Update(old) => {
            let mut a = str_list(&spec, "scopes");
            let mut b = get(old, "spec").map(|sp| str_list(sp, "scopes")).unwrap_or_default();
            a.sort_unstable();
            b.sort_unstable();
            a.dedup();
            b.dedup();
            if a != b {
                errs.push(FieldError::invalid(p.ch("scopes"), get(&spec, "scopes").cloned().unwrap_or(Value::Null), "field is immutable"));
            }
        }
    }
    errs
}

fn validate_quota_status_lists(o: &Value) -> Errs {
    let st = get(o, "status");
    let p = Path::new("status");
    let mut errs = validate_resource_list(st.and_then(|s| get(s, "hard")), &p.ch("hard"), validate_quota_resource_name);
    errs.extend(validate_resource_list(st.and_then(|s| get(s, "used")), &p.ch("used"), validate_quota_resource_name));
    errs
}

pub fn validate_resource_quota_status(new: &Value, _old: &Value) -> Errs {
    validate_quota_status_lists(new)
}

/// Core/v1 Events: only the legacy checks (plus a name, which the store needs).
pub fn validate_core_event(o: &Value, _op: Op) -> Errs {
    legacy_event(o, "reportingComponent")
}

fn legacy_event(o: &Value, controller_field: &str) -> Errs {
    let ns = get(o, "metadata").map(|m| s(m, "namespace")).unwrap_or("");
    let involved = get(o, "involvedObject").or_else(|| get(o, "regarding"));
    let involved_ns = involved.map(|io| s(io, "namespace")).unwrap_or("");
    let io_p = Path::new("involvedObject").ch("namespace");
    let mut errs = Vec::new();
    if get(o, "eventTime").is_none() {
        if involved_ns.is_empty() && !ns.is_empty() && ns != "default" || !involved_ns.is_empty() && ns != involved_ns {
            errs.push(FieldError::invalid(&io_p, sv(involved_ns), "does not match event.namespace"));
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(FieldError::invalid(&io_p, sv(involved_ns), "does not match event.namespace"));
        }
        errs.extend(new_event_fields(o, controller_field));
    }
    errs.extend(each_invalid(&Path::new("namespace"), ns, is_dns1123_subdomain(ns)));
    errs
}

fn new_event_fields(o: &Value, controller_field: &str) -> Errs {
    let mut errs = Vec::new();
    let rc = s(o, "reportingComponent");
    let rc = if rc.is_empty() { s(o, "reportingController") } else { rc };
    if rc.is_empty() {
        errs.push(FieldError::required(Path::new(controller_field), ""));
    }
    errs.extend(each_invalid(&Path::new(controller_field), rc, is_qualified_name(rc)));
    for (field, limit, required) in [("reportingInstance", 128, true), ("action", 128, true), ("reason", 128, true), ("message", 1024, false)] {
        let v = if field == "message" && s(o, field).is_empty() { s(o, "note") } else { s(o, field) };
        if required && v.is_empty() {
            errs.push(FieldError::required(Path::new(field), ""));
        }
        if v.len() > limit {
            errs.push(FieldError::invalid(Path::new(field), sv(""), format!("can have at most {limit} characters")));
        }
    }
    errs
}

/// events.k8s.io/v1 Events: legacy checks plus the strict ones of the new API.
pub fn validate_events_event(o: &Value, op: Op) -> Errs {
    let mut errs = legacy_event(o, "reportingController");
    if let Op::Update(old) = op {
        for f in ["regarding", "reason", "note", "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "type", "eventTime", "action", "related", "reportingController", "reportingInstance"] {
            errs.extend(super::util::immutable(get(o, f), get(old, f), &Path::new(f)));
        }
        return errs;
    }
    if let Some(series) = get(o, "series") {
        if int(series, "count").unwrap_or(0) < 2 {
            errs.push(FieldError::invalid(Path::new("series.count"), sv(""), "should be at least 2"));
        }
        if get(series, "lastObservedTime").is_none() {
            errs.push(FieldError::required(Path::new("series.lastObservedTime"), ""));
        }
    }
    if get(o, "eventTime").is_none() {
        errs.push(FieldError::required(Path::new("eventTime"), ""));
    }
    let t = s(o, "type");
    if t != "Normal" && t != "Warning" {
        errs.push(FieldError::invalid(Path::new("type"), sv(""), format!("has invalid value: {t}")));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn namespace_finalizers_and_status() {
        let ns = json!({"spec": {"finalizers": ["kubernetes", "custom"]}});
        assert_eq!(msgs(validate_namespace(&ns, Op::Create)), vec!["spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"]);
        let st = json!({"status": {"phase": "Terminating"}});
        assert_eq!(msgs(validate_namespace_status(&st, &st)), vec!["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty"]);
    }

    #[test]
    fn limit_ranges() {
        let lr = json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "2"}, "maxLimitRequestRatio": {"cpu": "500m"}}, {"type": "Bogus"}]}});
        assert_eq!(msgs(validate_limit_range(&lr, Op::Create)), vec![
            "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
            "spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: \"500m\": ratio 500m is less than 1",
            "spec.limits[1].type: Invalid value: \"Bogus\": must be a standard limit type or fully qualified",
        ]);
    }

    #[test]
    fn quotas_and_events() {
        let rq = json!({"spec": {"hard": {"pods": "1.5", "foo": "1"}, "scopes": ["BestEffort", "NotBestEffort"]}});
        let m = msgs(validate_resource_quota(&rq, Op::Create));
        assert!(m.contains(&"spec.hard[pods]: Invalid value: \"1500m\": must be an integer".to_string()));
        assert!(m.contains(&"spec.hard[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified".to_string()));
        assert!(m.iter().any(|x| x.ends_with("conflicting scopes")));
        let ev = json!({"metadata": {"namespace": "default"}, "involvedObject": {"namespace": "other"}});
        assert_eq!(msgs(validate_core_event(&ev, Op::Create)), vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"]);
    }
}
