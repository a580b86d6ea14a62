//! Scheduling constraints: node selectors and affinity, pod (anti-)affinity,
//! tolerations, taints and topology spread constraints.

use serde_json::Value;

use super::meta::validate_label_selector;
use super::names::{is_dns1123_label, is_qualified_name, is_valid_label_value, name_is_dns_subdomain};
use super::util::{arr, each_invalid, get, int, opt_s, s, str_list, sv, Errs, Path};
use crate::errors::FieldError;

fn validate_node_selector_requirement(rq: &Value, check_values: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let values = str_list(rq, "values");
    match s(rq, "operator") {
        "In" | "NotIn" if values.is_empty() => {
            errs.push(FieldError::required(p.ch("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        }
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            p.ch("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errs.push(FieldError::required(
            p.ch("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        op => errs.push(FieldError::invalid(p.ch("operator"), sv(op), "not a valid selector operator")),
    }
    let key = s(rq, "key");
    errs.extend(each_invalid(&p.ch("key"), key, is_qualified_name(key)));
    if check_values {
        for (i, v) in values.iter().enumerate() {
            errs.extend(each_invalid(&p.ch("values").ix(i), v, is_valid_label_value(v)));
        }
    }
    errs
}

fn validate_node_field_requirement(rq: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let values = str_list(rq, "values");
    match s(rq, "operator") {
        "In" | "NotIn" if values.len() != 1 => errs.push(FieldError::required(
            p.ch("values"),
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        )),
        "In" | "NotIn" => {}
        op => errs.push(FieldError::invalid(p.ch("operator"), sv(op), "not a valid selector operator")),
    }
    let key = s(rq, "key");
    if key != "metadata.name" {
        errs.push(FieldError::invalid(p.ch("key"), sv(key), "not a valid field selector key"));
    } else {
        for (i, v) in values.iter().enumerate() {
            errs.extend(each_invalid(&p.ch("values").ix(i), v, name_is_dns_subdomain(v, false)));
        }
    }
    errs
}

fn validate_node_selector_term(term: &Value, check_values: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (j, rq) in arr(term, "matchExpressions").iter().enumerate() {
        errs.extend(validate_node_selector_requirement(rq, check_values, &p.ch("matchExpressions").ix(j)));
    }
    for (j, rq) in arr(term, "matchFields").iter().enumerate() {
        errs.extend(validate_node_field_requirement(rq, &p.ch("matchFields").ix(j)));
    }
    errs
}

/// `ValidateNodeSelector` (a required node selector with at least one term).
pub fn validate_node_selector(ns: &Value, p: &Path) -> Errs {
    let tp = p.ch("nodeSelectorTerms");
    let terms = arr(ns, "nodeSelectorTerms");
    if terms.is_empty() {
        return vec![FieldError::required(tp, "must have at least one node selector term")];
    }
    terms.iter().enumerate().flat_map(|(i, t)| validate_node_selector_term(t, true, &tp.ix(i))).collect()
}

fn weight_error(t: &Value, p: &Path) -> Errs {
    let w = int(t, "weight").unwrap_or(0);
    if w <= 0 || w > 100 {
        vec![FieldError::invalid(p.ch("weight"), Value::from(w), "must be in the range 1-100")]
    } else {
        Vec::new()
    }
}

fn validate_pod_affinity_term(t: &Value, p: &Path) -> Errs {
    let mut errs = validate_label_selector(get(t, "labelSelector"), &p.ch("labelSelector"));
    errs.extend(validate_label_selector(get(t, "namespaceSelector"), &p.ch("namespaceSelector")));
    for ns in str_list(t, "namespaces") {
        errs.extend(each_invalid(&p.ch("namespace"), ns, is_dns1123_label(ns)));
    }
    for key in ["matchLabelKeys", "mismatchLabelKeys"] {
        let keys = str_list(t, key);
        if !keys.is_empty() && get(t, "labelSelector").is_none() {
            errs.push(FieldError::forbidden(p.ch(key), "must not be specified when labelSelector is not set"));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            errs.extend(each_invalid(&p.ch(key).ix(i), k, is_qualified_name(k)));
        }
    }
    let tk = s(t, "topologyKey");
    if tk.is_empty() {
        errs.push(FieldError::required(p.ch("topologyKey"), "can not be empty"));
    }
    errs.extend(each_invalid(&p.ch("topologyKey"), tk, is_qualified_name(tk)));
    errs
}

fn validate_pod_affinity(a: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let req = p.ch("requiredDuringSchedulingIgnoredDuringExecution");
    for (i, t) in arr(a, "requiredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
        errs.extend(validate_pod_affinity_term(t, &req.ix(i)));
    }
    let pref = p.ch("preferredDuringSchedulingIgnoredDuringExecution");
    for (i, t) in arr(a, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
        errs.extend(weight_error(t, &pref.ix(i)));
        let term = get(t, "podAffinityTerm").cloned().unwrap_or(Value::Null);
        errs.extend(validate_pod_affinity_term(&term, &pref.ix(i).ch("podAffinityTerm")));
    }
    errs
}

/// `validateAffinity`.
pub fn validate_affinity(a: Option<&Value>, p: &Path) -> Errs {
    let Some(a) = a else { return Vec::new() };
    let mut errs = Vec::new();
    if let Some(na) = get(a, "nodeAffinity") {
        let np = p.ch("nodeAffinity");
        if let Some(req) = get(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            errs.extend(validate_node_selector(req, &np.ch("requiredDuringSchedulingIgnoredDuringExecution")));
        }
        let pp = np.ch("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in arr(na, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            errs.extend(weight_error(t, &pp.ix(i)));
            let pref = get(t, "preference").cloned().unwrap_or(Value::Null);
            errs.extend(validate_node_selector_term(&pref, false, &pp.ix(i).ch("preference")));
        }
    }
    for key in ["podAffinity", "podAntiAffinity"] {
        if let Some(pa) = get(a, key) {
            errs.extend(validate_pod_affinity(pa, &p.ch(key)));
        }
    }
    errs
}

fn validate_taint_effect(effect: &str, allow_empty: bool, p: &Path) -> Errs {
    match effect {
        "" if !allow_empty => vec![FieldError::required(p, "")],
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        e => vec![FieldError::not_supported(p, sv(e), &["NoSchedule", "PreferNoSchedule", "NoExecute"])],
    }
}

/// `ValidateTolerations`.
pub fn validate_tolerations(list: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let ip = p.ix(i);
        let (key, op, value, effect) = (s(t, "key"), s(t, "operator"), s(t, "value"), s(t, "effect"));
        if !key.is_empty() {
            errs.extend(each_invalid(&ip.ch("key"), key, is_qualified_name(key)));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(ip.ch("operator"), sv(op), "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
        }
        if get(t, "tolerationSeconds").is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(ip.ch("effect"), sv(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
        }
        match op {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(ip.ch("operator"), sv(value), msgs.join(";")));
                }
            }
            "Exists" if !value.is_empty() => {
                errs.push(FieldError::invalid(ip.ch("operator"), sv(value), "value must be empty when `operator` is 'Exists'"))
            }
            "Exists" => {}
            _ => errs.push(FieldError::not_supported(ip.ch("operator"), sv(op), &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, true, &ip.ch("effect")));
        }
    }
    errs
}

/// `validateNodeTaints`.
pub fn validate_taints(list: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let ip = p.ix(i);
        let (key, value, effect) = (s(t, "key"), s(t, "value"), s(t, "effect"));
        errs.extend(each_invalid(&ip.ch("key"), key, is_qualified_name(key)));
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(ip.ch("value"), sv(value), msgs.join(";")));
        }
        errs.extend(validate_taint_effect(effect, false, &ip.ch("effect")));
        if seen.contains(&(key, effect)) {
            errs.push(super::util::duplicate_with(&ip, t.clone(), "taints must be unique by key and effect pair"));
            continue;
        }
        seen.push((key, effect));
    }
    errs
}

/// `validateTopologySpreadConstraints`.
pub fn validate_topology_spread(list: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let ip = p.ix(i);
        let skew = int(c, "maxSkew").unwrap_or(0);
        if skew <= 0 {
            errs.push(FieldError::invalid(ip.ch("maxSkew"), Value::from(skew), "must be greater than zero"));
        }
        let (tk, wu) = (s(c, "topologyKey"), s(c, "whenUnsatisfiable"));
        if tk.is_empty() {
            errs.push(FieldError::required(ip.ch("topologyKey"), "can not be empty"));
        }
        if wu != "DoNotSchedule" && wu != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(ip.ch("whenUnsatisfiable"), sv(wu), &["DoNotSchedule", "ScheduleAnyway"]));
        }
        if list[i + 1..].iter().any(|o| s(o, "topologyKey") == tk && s(o, "whenUnsatisfiable") == wu) {
            errs.push(FieldError::duplicate(ip.ch("{topologyKey, whenUnsatisfiable}"), sv(&format!("{{{tk}, {wu}}}"))));
        }
        if let Some(md) = int(c, "minDomains") {
            if md <= 0 {
                errs.push(FieldError::invalid(ip.ch("minDomains"), Value::from(md), "must be greater than zero"));
            }
            if wu != "DoNotSchedule" {
                let msg = format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {wu}");
                errs.push(FieldError::invalid(ip.ch("minDomains"), Value::from(md), msg));
            }
        }
        for key in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(pol) = opt_s(c, key).filter(|x| *x != "Honor" && *x != "Ignore") {
                errs.push(FieldError::not_supported(ip.ch(key), sv(pol), &["Honor", "Ignore"]));
            }
        }
        errs.extend(validate_label_selector(get(c, "labelSelector"), &ip.ch("labelSelector")));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn tolerations() {
        let t = vec![json!({"operator": "Equal", "value": "x"}), json!({"key": "k", "operator": "Exists", "value": "v", "tolerationSeconds": 5})];
        assert_eq!(msgs(validate_tolerations(&t, &Path::new("t"))), vec![
            "t[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            "t[1].effect: Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set",
            "t[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
        ]);
    }

    #[test]
    fn node_affinity() {
        let a = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []},
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": []}]}}]}});
        assert_eq!(msgs(validate_affinity(Some(&a), &Path::new("a"))), vec![
            "a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
            "a.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
            "a.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
        ]);
    }

    #[test]
    fn taints_and_spread() {
        let t = vec![json!({"key": "k", "effect": "NoSchedule"}), json!({"key": "k", "effect": "NoSchedule"}), json!({"key": "x"})];
        let m = msgs(validate_taints(&t, &Path::new("t")));
        assert_eq!(m[0], "t[1]: Duplicate value: {\"effect\":\"NoSchedule\",\"key\":\"k\"}: taints must be unique by key and effect pair".replace("{\"effect\":\"NoSchedule\",\"key\":\"k\"}", "{\"key\":\"k\",\"effect\":\"NoSchedule\"}"));
        assert_eq!(m[1], "t[2].effect: Required value");
        let c = vec![json!({"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Never"})];
        assert_eq!(msgs(validate_topology_spread(&c, &Path::new("c"))).len(), 2);
    }
}
