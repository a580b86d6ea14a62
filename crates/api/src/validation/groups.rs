//! Kinds of the smaller groups: Ingress, IngressClass, NetworkPolicy,
//! PodDisruptionBudget, HorizontalPodAutoscaler, Lease and PriorityClass.

use serde_json::Value;

use super::meta::validate_label_selector;
use super::names::{
    is_dns1035_label, is_dns1123_subdomain, is_path_segment_name, is_valid_port_name, is_valid_port_num, is_wildcard_dns1123_subdomain,
    name_is_dns_subdomain, parse_cidr, parse_ip, regex_error, CIDR_MSG,
};
use super::util::{arr, each_invalid, get, immutable, int, nonneg, obj, opt_s, s, sv, Errs, Path};
use super::workloads::{not_more_than_100, validate_int_or_percent};
use super::Op;
use crate::errors::FieldError;

fn host_errs(host: &str, p: &Path) -> Errs {
    if host.contains('*') {
        each_invalid(p, host, is_wildcard_dns1123_subdomain(host))
    } else {
        each_invalid(p, host, is_dns1123_subdomain(host))
    }
}

fn validate_backend(b: &Value, p: &Path) -> Errs {
    match (get(b, "resource"), get(b, "service")) {
        (Some(_), Some(_)) => vec![FieldError::invalid(p, sv(""), "cannot set both resource and service backends")],
        (Some(r), None) => validate_typed_ref(r, &p.ch("resource")),
        (None, Some(svc)) => {
            let mut errs = Vec::new();
            let name = s(svc, "name");
            if name.is_empty() {
                errs.push(FieldError::required(p.ch("service").ch("name"), ""));
            } else {
                errs.extend(each_invalid(&p.ch("service").ch("name"), name, is_dns1035_label(name)));
            }
            let port = get(svc, "port").cloned().unwrap_or_default();
            let (pname, pnum) = (s(&port, "name"), int(&port, "number").unwrap_or(0));
            match (pname.is_empty(), pnum == 0) {
                (false, false) => errs.push(FieldError::invalid(p, sv(""), "cannot set both port name & port number")),
                (false, true) => errs.extend(each_invalid(&p.ch("service").ch("port").ch("name"), pname, is_valid_port_name(pname))),
                (true, false) => errs.extend(is_valid_port_num(pnum).into_iter().map(|m| FieldError::invalid(p.ch("service").ch("port").ch("number"), Value::from(pnum), m))),
                (true, true) => errs.push(FieldError::required(p, "port name or number is required")),
            }
            errs
        }
        (None, None) => vec![FieldError::invalid(p, sv(""), "resource or service backend is required")],
    }
}

fn validate_typed_ref(r: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if let Some(g) = opt_s(r, "apiGroup") {
        errs.extend(each_invalid(&p.ch("apiGroup"), g, is_dns1123_subdomain(g)));
    }
    for f in ["kind", "name"] {
        let v = s(r, f);
        if v.is_empty() {
            errs.push(FieldError::required(p.ch(f), ""));
        } else {
            errs.extend(each_invalid(&p.ch(f), v, is_path_segment_name(v)));
        }
    }
    errs
}

fn validate_ingress_path(path: &Value, p: &Path) -> Errs {
    let Some(pt) = opt_s(path, "pathType") else { return vec![FieldError::required(p.ch("pathType"), "pathType must be specified")] };
    let v = s(path, "path");
    let mut errs = Vec::new();
    match pt {
        "Exact" | "Prefix" => {
            if !v.starts_with('/') {
                errs.push(FieldError::invalid(p.ch("path"), sv(v), "must be an absolute path"));
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if v.contains(seq) {
                    errs.push(FieldError::invalid(p.ch("path"), sv(v), format!("must not contain '{seq}'")));
                }
            }
            for suf in ["/..", "/."] {
                if v.ends_with(suf) {
                    errs.push(FieldError::invalid(p.ch("path"), sv(v), format!("cannot end with '{suf}'")));
                }
            }
        }
        "ImplementationSpecific" if !v.is_empty() && !v.starts_with('/') => {
            errs.push(FieldError::invalid(p.ch("path"), sv(v), "must be an absolute path"))
        }
        "ImplementationSpecific" => {}
        x => errs.push(FieldError::not_supported(p.ch("pathType"), sv(x), &["Exact", "ImplementationSpecific", "Prefix"])),
    }
    errs.extend(validate_backend(&get(path, "backend").cloned().unwrap_or_default(), &p.ch("backend")));
    errs
}

fn validate_ingress_rules(rules: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let host = s(r, "host");
        if !host.is_empty() {
            if parse_ip(host).is_some() {
                errs.push(FieldError::invalid(p.ix(i).ch("host"), sv(host), "must be a DNS name, not an IP address"));
            }
            errs.extend(host_errs(host, &p.ix(i).ch("host")));
        }
        if let Some(http) = get(r, "http") {
            let hp = p.ix(i).ch("http");
            if arr(http, "paths").is_empty() {
                errs.push(FieldError::required(hp.ch("paths"), ""));
            }
            for (j, path) in arr(http, "paths").iter().enumerate() {
                errs.extend(validate_ingress_path(path, &hp.ch("paths").ix(j)));
            }
        }
    }
    errs
}

pub fn validate_ingress(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    let rules = arr(&spec, "rules");
    if rules.is_empty() && get(&spec, "defaultBackend").is_none() {
        errs.push(FieldError::invalid(&p, get(&spec, "rules").cloned().unwrap_or(Value::Null), "either `defaultBackend` or `rules` must be specified"));
    }
    if let Some(b) = get(&spec, "defaultBackend") {
        errs.extend(validate_backend(b, &p.ch("defaultBackend")));
    }
    errs.extend(validate_ingress_rules(rules, &p.ch("rules")));
    for (i, tls) in arr(&spec, "tls").iter().enumerate() {
        let tp = p.ch("tls").ix(i);
        for (j, h) in super::util::str_list(tls, "hosts").iter().enumerate() {
            errs.extend(host_errs(h, &tp.ch("hosts").ix(j)));
        }
        let secret = s(tls, "secretName");
        if !secret.is_empty() {
            errs.extend(each_invalid(&tp.ch("secretName"), secret, name_is_dns_subdomain(secret, false)));
        }
    }
    if let Some(cn) = opt_s(&spec, "ingressClassName") {
        errs.extend(each_invalid(&p.ch("ingressClassName"), cn, name_is_dns_subdomain(cn, false)));
    }
    if matches!(op, Op::Create) {
        let ann = get(o, "metadata").and_then(|m| obj(m, "annotations")).and_then(|a| a.get("kubernetes.io/ingress.class"));
        if let (Some(a), Some(cn)) = (ann, opt_s(&spec, "ingressClassName")) {
            if a.as_str() != Some(cn) {
                errs.push(FieldError::invalid(Path::new("annotations").ch("kubernetes.io/ingress.class"), a.clone(), "must match `ingressClassName` when both are specified"));
            }
        }
    }
    errs
}

pub fn validate_ingress_status(new: &Value, _old: &Value) -> Errs {
    let p = Path::new("status").ch("loadBalancer").ch("ingress");
    let ing = get(new, "status").and_then(|st| get(st, "loadBalancer")).map(|lb| arr(lb, "ingress")).unwrap_or(&[]);
    let mut errs = Vec::new();
    for (i, x) in ing.iter().enumerate() {
        let (ip, host) = (s(x, "ip"), s(x, "hostname"));
        if !ip.is_empty() && parse_ip(ip).is_none() {
            errs.push(FieldError::invalid(p.ix(i).ch("ip"), sv(ip), super::names::IP_MSG));
        }
        if !host.is_empty() {
            errs.extend(each_invalid(&p.ix(i).ch("hostname"), host, is_dns1123_subdomain(host)));
            if parse_ip(host).is_some() {
                errs.push(FieldError::invalid(p.ix(i).ch("hostname"), sv(host), "must be a DNS name, not an IP address"));
            }
        }
    }
    errs
}

/// `IsDomainPrefixedPath`.
fn domain_prefixed_path(v: &str, p: &Path) -> Errs {
    if v.is_empty() {
        return vec![FieldError::required(p, "")];
    }
    let Some((host, path)) = v.split_once('/').filter(|(h, x)| !h.is_empty() && !x.is_empty()) else {
        return vec![FieldError::invalid(p, sv(v), "must be a domain-prefixed path (such as \"acme.io/foo\")")];
    };
    let mut errs = each_invalid(p, host, is_dns1123_subdomain(host));
    if !path.chars().all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c)) {
        errs.push(FieldError::invalid(p, sv(path), regex_error("Invalid path", "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+", &[])));
    }
    errs
}

pub fn validate_ingress_class(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    if let Op::Update(old) = op {
        errs.extend(immutable(get(&spec, "controller"), get(old, "spec").and_then(|x| get(x, "controller")), &p.ch("controller")));
    }
    let ctrl = s(&spec, "controller");
    if ctrl.len() > 250 {
        errs.push(FieldError::too_long(p.ch("controller"), sv(""), 250));
    }
    errs.extend(domain_prefixed_path(ctrl, &p.ch("controller")));
    if let Some(params) = get(&spec, "parameters") {
        let pp = p.ch("parameters");
        errs.extend(validate_typed_ref(params, &pp));
        match opt_s(params, "scope") {
            None => errs.push(FieldError::required(pp.ch("scope"), "")),
            Some("Namespace") if opt_s(params, "namespace").is_none() => errs.push(FieldError::required(pp.ch("namespace"), "`parameters.scope` is set to 'Namespace'")),
            Some("Cluster") if opt_s(params, "namespace").is_some() => errs.push(FieldError::forbidden(pp.ch("namespace"), "`parameters.scope` is set to 'Cluster'")),
            Some("Namespace") | Some("Cluster") => {}
            Some(x) => errs.push(FieldError::not_supported(pp.ch("scope"), sv(x), &["Cluster", "Namespace"])),
        }
    }
    errs
}

fn validate_np_port(port: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if let Some(proto) = opt_s(port, "protocol").filter(|x| !["TCP", "UDP", "SCTP"].contains(x)) {
        errs.push(FieldError::not_supported(p.ch("protocol"), sv(proto), &["TCP", "UDP", "SCTP"]));
    }
    let end = int(port, "endPort");
    match get(port, "port") {
        Some(Value::String(name)) => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(p.ch("endPort"), Value::from(e), "may not be specified when `port` is non-numeric"));
            }
            errs.extend(each_invalid(&p.ch("port"), name, is_valid_port_name(name)));
        }
        Some(n) => {
            let num = super::util::as_int(n).unwrap_or(0);
            errs.extend(is_valid_port_num(num).into_iter().map(|m| FieldError::invalid(p.ch("port"), Value::from(num), m)));
            if let Some(e) = end {
                if e < num {
                    errs.push(FieldError::invalid(p.ch("endPort"), Value::from(e), "must be greater than or equal to `port`"));
                }
                errs.extend(is_valid_port_num(e).into_iter().map(|m| FieldError::invalid(p.ch("endPort"), Value::from(e), m)));
            }
        }
        None => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(p.ch("endPort"), Value::from(e), "may not be specified when `port` is not specified"));
            }
        }
    }
    errs
}

fn cidr_contains(outer: (std::net::IpAddr, u8), inner: (std::net::IpAddr, u8)) -> bool {
    let bits = |ip: std::net::IpAddr| -> u128 {
        match ip {
            std::net::IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
            std::net::IpAddr::V6(a) => u128::from(a),
        }
    };
    if outer.0.is_ipv4() != inner.0.is_ipv4() {
        return false;
    }
    let mask = if outer.1 == 0 { 0 } else { u128::MAX << (128 - u32::from(outer.1)) };
    (bits(outer.0) & mask) == (bits(inner.0) & mask) && outer.1 < inner.1
}

fn validate_peer(peer: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut n = 0;
    for k in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = get(peer, k) {
            n += 1;
            errs.extend(validate_label_selector(Some(sel), &p.ch(k)));
        }
    }
    if let Some(ipb) = get(peer, "ipBlock") {
        n += 1;
        let bp = p.ch("ipBlock");
        let cidr = s(ipb, "cidr");
        match parse_cidr(cidr) {
            _ if cidr.is_empty() => errs.push(FieldError::required(bp.ch("cidr"), "")),
            None => errs.push(FieldError::invalid(bp.ch("cidr"), sv(cidr), CIDR_MSG)),
            Some(outer) => {
                for (i, ex) in super::util::str_list(ipb, "except").iter().enumerate() {
                    match parse_cidr(ex) {
                        None => errs.push(FieldError::invalid(bp.ch("except").ix(i), sv(ex), CIDR_MSG)),
                        Some(inner) if !cidr_contains(outer, inner) => {
                            errs.push(FieldError::invalid(bp.ch("except").ix(i), sv(ex), "must be a strict subset of `cidr`"))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if n == 0 {
        errs.push(FieldError::required(p, "must specify a peer"));
    } else if n > 1 && get(peer, "ipBlock").is_some() {
        errs.push(FieldError::forbidden(p, "may not specify both ipBlock and another peer"));
    }
    errs
}

pub fn validate_network_policy(o: &Value, _op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = validate_label_selector(Some(get(&spec, "podSelector").unwrap_or(&Value::Null)).filter(|v| !v.is_null()), &p.ch("podSelector"));
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr(&spec, dir).iter().enumerate() {
            let rp = p.ch(dir).ix(i);
            for (j, port) in arr(rule, "ports").iter().enumerate() {
                errs.extend(validate_np_port(port, &rp.ch("ports").ix(j)));
            }
            for (j, peer) in arr(rule, peers).iter().enumerate() {
                errs.extend(validate_peer(peer, &rp.ch(peers).ix(j)));
            }
        }
    }
    let types = arr(&spec, "policyTypes");
    if types.len() > 2 {
        errs.push(FieldError::invalid(p.ch("policyTypes"), Value::Array(types.to_vec()), "may not specify more than two policyTypes"));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(p.ch("policyTypes").ix(i), sv(t), &["Ingress", "Egress"]));
        }
    }
    errs
}

pub fn validate_pdb(o: &Value, _op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    let (min, max) = (get(&spec, "minAvailable"), get(&spec, "maxUnavailable"));
    if min.is_some() && max.is_some() {
        errs.push(FieldError::invalid(&p, spec.clone(), "minAvailable and maxUnavailable cannot be both set"));
    }
    for (k, v) in [("minAvailable", min), ("maxUnavailable", max)] {
        if v.is_some() {
            errs.extend(validate_int_or_percent(v, &p.ch(k)));
            errs.extend(not_more_than_100(v, &p.ch(k)));
        }
    }
    errs.extend(validate_label_selector(get(&spec, "selector"), &p.ch("selector")));
    if let Some(pol) = opt_s(&spec, "unhealthyPodEvictionPolicy").filter(|x| *x != "IfHealthyBudget" && *x != "AlwaysAllow") {
        errs.push(FieldError::not_supported(p.ch("unhealthyPodEvictionPolicy"), sv(pol), &["AlwaysAllow", "IfHealthyBudget"]));
    }
    errs
}

pub fn validate_pdb_status(new: &Value, _old: &Value) -> Errs {
    let st = get(new, "status").cloned().unwrap_or_default();
    let p = Path::new("status");
    let mut errs = Vec::new();
    for f in ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"] {
        errs.extend(nonneg(int(&st, f), &p.ch(f)));
    }
    errs
}

pub fn validate_hpa(o: &Value, _op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    let min = int(&spec, "minReplicas");
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(p.ch("minReplicas"), Value::from(m), "must be greater than or equal to 1"));
    }
    let max = int(&spec, "maxReplicas").unwrap_or(0);
    if max < 1 {
        errs.push(FieldError::invalid(p.ch("maxReplicas"), Value::from(max), "must be greater than 0"));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(FieldError::invalid(p.ch("maxReplicas"), Value::from(max), "must be greater than or equal to `minReplicas`"));
    }
    let r = get(&spec, "scaleTargetRef").cloned().unwrap_or_default();
    errs.extend(validate_typed_ref(&r, &p.ch("scaleTargetRef")).into_iter().filter(|e| !e.field.ends_with("apiGroup")));
    let kinds = ["ContainerResource", "External", "Object", "Pods", "Resource"];
    for (i, m) in arr(&spec, "metrics").iter().enumerate() {
        let mp = p.ch("metrics").ix(i);
        match s(m, "type") {
            "" => errs.push(FieldError::required(mp.ch("type"), "must specify a metric source type")),
            t if !kinds.contains(&t) => errs.push(FieldError::not_supported(mp.ch("type"), sv(t), &kinds)),
            t => {
                let mut chars = t.chars();
                let field: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
                if get(m, &field).is_none() {
                    errs.push(FieldError::required(mp.ch(&field), "must populate information for the given metric source"));
                }
            }
        }
    }
    errs
}

pub fn validate_hpa_status(new: &Value, _old: &Value) -> Errs {
    let st = get(new, "status").cloned().unwrap_or_default();
    let mut errs = nonneg(int(&st, "currentReplicas"), &Path::new("status").ch("currentReplicas"));
    errs.extend(nonneg(int(&st, "desiredReplicas"), &Path::new("status").ch("desiredReplicas")));
    errs
}

pub fn validate_lease(o: &Value, _op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    if let Some(d) = int(&spec, "leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(p.ch("leaseDurationSeconds"), Value::from(d), "must be greater than 0"));
    }
    if let Some(t) = int(&spec, "leaseTransitions").filter(|t| *t < 0) {
        errs.push(FieldError::invalid(p.ch("leaseTransitions"), Value::from(t), "must be greater than or equal to 0"));
    }
    errs
}

const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;

pub fn validate_priority_class(o: &Value, op: Op) -> Errs {
    let name = get(o, "metadata").map(|m| s(m, "name")).unwrap_or("");
    let value = int(o, "value").unwrap_or(0);
    let global = super::util::boolean(o, "globalDefault").unwrap_or(false);
    let mut errs = Vec::new();
    if name.starts_with("system-") {
        let known = [("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];
        let err = match known.iter().find(|(n, _)| *n == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((_, v)) if *v != value || global => Some(format!("value of {name} PriorityClass must be {v}")),
            _ => None,
        };
        if let Some(e) = err {
            let msg = format!("priority class names with 'system-' prefix are reserved for system use only. error: {e}");
            errs.push(FieldError::forbidden(Path::new("metadata").ch("name"), msg));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(FieldError::forbidden(Path::new("value"), format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}")));
    }
    match opt_s(o, "preemptionPolicy") {
        Some("PreemptLowerPriority") | Some("Never") | None => {}
        Some("") => errs.push(FieldError::required(Path::new("preemptionPolicy"), "")),
        Some(x) => errs.push(FieldError::not_supported(Path::new("preemptionPolicy"), sv(x), &["PreemptLowerPriority", "Never"])),
    }
    if let Op::Update(old) = op {
        if int(old, "value").unwrap_or(0) != value {
            errs.push(FieldError::forbidden(Path::new("value"), "may not be changed in an update."));
        }
        errs.extend(immutable(get(o, "preemptionPolicy"), get(old, "preemptionPolicy"), &Path::new("preemptionPolicy")));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn ingress() {
        let ing = json!({"spec": {"rules": [{"host": "1.2.3.4", "http": {"paths": [{"path": "a", "pathType": "Prefix",
            "backend": {"service": {"name": "svc", "port": {}}}}]}}]}});
        assert_eq!(msgs(validate_ingress(&ing, Op::Create)), vec![
            "spec.rules[0].host: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address",
            "spec.rules[0].http.paths[0].path: Invalid value: \"a\": must be an absolute path",
            "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
        ]);
        assert_eq!(msgs(validate_ingress(&json!({"spec": {}}), Op::Create)), vec!["spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"]);
    }

    #[test]
    fn network_policy_and_pdb() {
        let np = json!({"spec": {"podSelector": {}, "ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "podSelector": {}}],
            "ports": [{"port": "http", "endPort": 90}]}], "policyTypes": ["Ingress"]}});
        assert_eq!(msgs(validate_network_policy(&np, Op::Create)), vec![
            "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
            "spec.ingress[0].from[0]: Required value: must specify a peer",
            "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
            "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
        ]);
        let pdb = json!({"spec": {"minAvailable": 1, "maxUnavailable": "120%"}});
        let m = msgs(validate_pdb(&pdb, Op::Create));
        assert!(m[0].ends_with("minAvailable and maxUnavailable cannot be both set"));
        assert_eq!(m[1], "spec.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%");
    }

    #[test]
    fn hpa_lease_priority() {
        let hpa = json!({"spec": {"minReplicas": 3, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment"}}});
        assert_eq!(msgs(validate_hpa(&hpa, Op::Create)), vec![
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
            "spec.scaleTargetRef.name: Required value",
        ]);
        assert_eq!(msgs(validate_lease(&json!({"spec": {"leaseDurationSeconds": 0}}), Op::Create)), vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]);
        let pc = json!({"metadata": {"name": "system-foo"}, "value": 1});
        assert_eq!(msgs(validate_priority_class(&pc, Op::Create)), vec!["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"]);
        let old = json!({"metadata": {"name": "p"}, "value": 1});
        let new = json!({"metadata": {"name": "p"}, "value": 2});
        assert_eq!(msgs(validate_priority_class(&new, Op::Update(&old))), vec!["value: Forbidden: may not be changed in an update."]);
    }
}
