//! Service and Endpoints.

use serde_json::Value;

use super::container::validate_protocol;
use super::defaults_core::externally_accessible;
use super::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_port_num, name_is_dns_subdomain, parse_cidr, parse_ip, CIDR_MSG, IP_MSG};
use super::probes::validate_port_num_or_name;
use super::util::{arr, each_invalid, get, int, obj, opt_s, s, str_list, sv, Errs, Path};
use super::Op;
use crate::errors::FieldError;

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn is_headless(spec: &Value) -> bool {
    let ips = str_list(spec, "clusterIPs");
    ips.len() == 1 && ips[0] == "None"
}

/// The clusterIPs the object means: `clusterIPs`, or `[clusterIP]` when only that is set.
fn cluster_ips(spec: &Value) -> Vec<&str> {
    let ips = str_list(spec, "clusterIPs");
    if ips.is_empty() && !s(spec, "clusterIP").is_empty() {
        return vec![s(spec, "clusterIP")];
    }
    ips
}

fn invalid_ip(p: &Path, ip: &str) -> FieldError {
    FieldError::invalid(p, sv(ip), IP_MSG)
}

/// `ValidateNonSpecialIP`.
pub fn non_special_ip(ip: &str, p: &Path) -> Errs {
    let Some(addr) = parse_ip(ip) else { return vec![FieldError::invalid(p, sv(ip), "must be a valid IP address")] };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(p, sv(ip), format!("may not be unspecified ({ip})")));
    }
    if addr.is_loopback() {
        errs.push(FieldError::invalid(p, sv(ip), "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let (link_local, link_local_mc) = match addr {
        std::net::IpAddr::V4(a) => (a.is_link_local(), a.octets()[..3] == [224, 0, 0]),
        std::net::IpAddr::V6(a) => ((a.segments()[0] & 0xffc0) == 0xfe80, (a.segments()[0] & 0xff0f) == 0xff02),
    };
    if link_local {
        errs.push(FieldError::invalid(p, sv(ip), "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    if link_local_mc {
        errs.push(FieldError::invalid(p, sv(ip), "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
    }
    errs
}

fn validate_type_specific(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let first = || str_list(spec, "clusterIPs").first().map(|x| sv(x)).unwrap_or_default();
    match s(spec, "type") {
        t @ ("LoadBalancer" | "NodePort") if is_headless(spec) => {
            errs.push(FieldError::invalid(p.ch("clusterIPs").ix(0), first(), format!("may not be set to 'None' for {t} services")));
        }
        "ExternalName" => {
            if !cluster_ips(spec).is_empty() {
                errs.push(FieldError::forbidden(p.ch("clusterIPs"), "may not be set for ExternalName services"));
            }
            if !arr(spec, "ipFamilies").is_empty() {
                errs.push(FieldError::forbidden(p.ch("ipFamilies"), "may not be set for ExternalName services"));
            }
            if get(spec, "ipFamilyPolicy").is_some() {
                errs.push(FieldError::forbidden(p.ch("ipFamilyPolicy"), "may not be set for ExternalName services"));
            }
            let cname = s(spec, "externalName").trim_end_matches('.');
            if cname.is_empty() {
                errs.push(FieldError::required(p.ch("externalName"), ""));
            } else {
                errs.extend(each_invalid(&p.ch("externalName"), cname, is_dns1123_subdomain(cname)));
            }
        }
        _ => {}
    }
    errs
}

fn validate_service_ports(spec: &Value, p: &Path) -> Errs {
    let ports = arr(spec, "ports");
    let pp = p.ch("ports");
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.ix(i);
        let name = s(port, "name");
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(ip.ch("name"), ""));
        } else if !name.is_empty() {
            errs.extend(each_invalid(&ip.ch("name"), name, is_dns1123_label(name)));
            if names.contains(&name) {
                errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
            } else {
                names.push(name);
            }
        }
        let num = int(port, "port").unwrap_or(0);
        errs.extend(is_valid_port_num(num).into_iter().map(|m| FieldError::invalid(ip.ch("port"), Value::from(num), m)));
        errs.extend(validate_protocol(port, &ip));
        errs.extend(validate_port_num_or_name(get(port, "targetPort"), &ip.ch("targetPort")));
        if let Some(ap) = opt_s(port, "appProtocol") {
            errs.extend(each_invalid(&ip.ch("appProtocol"), ap, is_qualified_name(ap)));
        }
    }
    errs
}

fn validate_port_duplicates(spec: &Value, p: &Path) -> Errs {
    let pp = p.ch("ports");
    let mut errs = Vec::new();
    let mut node_ports: Vec<(String, i64)> = Vec::new();
    let mut keys: Vec<(String, i64)> = Vec::new();
    for (i, port) in arr(spec, "ports").iter().enumerate() {
        let proto = s(port, "protocol").to_string();
        let np = int(port, "nodePort").unwrap_or(0);
        if s(spec, "type") == "ClusterIP" && np != 0 {
            errs.push(FieldError::forbidden(pp.ix(i).ch("nodePort"), "may not be used when `type` is 'ClusterIP'"));
        }
        if np != 0 {
            if node_ports.contains(&(proto.clone(), np)) {
                errs.push(FieldError::duplicate(pp.ix(i).ch("nodePort"), Value::from(np)));
            }
            node_ports.push((proto.clone(), np));
        }
        let key = (proto.clone(), int(port, "port").unwrap_or(0));
        if keys.contains(&key) {
            errs.push(FieldError::duplicate(pp.ix(i), serde_json::json!({"port": key.1, "protocol": proto})));
        }
        keys.push(key);
    }
    errs
}

fn validate_affinity_config(spec: &Value, p: &Path) -> Errs {
    let sa = s(spec, "sessionAffinity");
    let cfg = get(spec, "sessionAffinityConfig");
    let cp = p.ch("sessionAffinityConfig");
    match sa {
        "" => vec![FieldError::required(p.ch("sessionAffinity"), "")],
        "ClientIP" => {
            let msg = "when session affinity type is ClientIP";
            let Some(cfg) = cfg else { return vec![FieldError::required(cp, msg)] };
            let Some(cip) = get(cfg, "clientIP") else { return vec![FieldError::required(cp.ch("clientIP"), msg)] };
            match int(cip, "timeoutSeconds") {
                None => vec![FieldError::required(cp.ch("clientIP").ch("timeoutSeconds"), msg)],
                Some(t) if t <= 0 || t > 86400 => vec![FieldError::invalid(cp.ch("clientIP").ch("timeoutSeconds"), Value::from(t), "must be greater than 0 and less than 86400")],
                _ => Vec::new(),
            }
        }
        "None" if cfg.is_some() => vec![FieldError::forbidden(cp, "must not be set when session affinity is None")],
        "None" => Vec::new(),
        x => vec![FieldError::not_supported(p.ch("sessionAffinity"), sv(x), &["ClientIP", "None"])],
    }
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn validate_cluster_ips(spec: &Value, p: &Path) -> Errs {
    if s(spec, "type") == "ExternalName" {
        return Vec::new();
    }
    let mut errs = Vec::new();
    let (ip, ips) = (s(spec, "clusterIP"), str_list(spec, "clusterIPs"));
    let cp = p.ch("clusterIPs");
    let all = get(spec, "clusterIPs").cloned().unwrap_or_default();
    if !ip.is_empty() && !ips.is_empty() && ips[0] != ip {
        errs.push(FieldError::invalid(&cp, all.clone(), "first value must match `clusterIP`"));
    } else if ip.is_empty() && !ips.is_empty() {
        errs.push(FieldError::invalid(&cp, all.clone(), "must be empty when `clusterIP` is not specified"));
    }
    let fams = str_list(spec, "ipFamilies");
    for (i, f) in fams.iter().enumerate() {
        if *f != "IPv4" && *f != "IPv6" {
            errs.push(FieldError::not_supported(p.ch("ipFamilies").ix(i), sv(f), &["IPv4", "IPv6"]));
        }
        if fams[..i].contains(f) {
            errs.push(FieldError::duplicate(p.ch("ipFamilies").ix(i), sv(f)));
        }
    }
    if let Some(pol) = opt_s(spec, "ipFamilyPolicy").filter(|x| !["PreferDualStack", "RequireDualStack", "SingleStack"].contains(x)) {
        errs.push(FieldError::not_supported(p.ch("ipFamilyPolicy"), sv(pol), &["PreferDualStack", "RequireDualStack", "SingleStack"]));
    }
    let ips = cluster_ips(spec);
    let mut bad = false;
    for (i, x) in ips.iter().enumerate() {
        if i == 0 && *x == "None" {
            if ips.len() > 1 {
                bad = true;
                errs.push(FieldError::invalid(&cp, all.clone(), "'None' must be the first and only value"));
            }
            continue;
        }
        if parse_ip(x).is_none() {
            bad = true;
            errs.push(invalid_ip(&cp.ix(i), x));
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(&cp, all.clone(), "may only hold up to 2 values"));
    }
    if bad {
        return errs;
    }
    errs.extend(validate_ip_families_match(&ips, &fams, spec, &cp, all));
    errs
}

fn validate_ip_families_match(ips: &[&str], fams: &[&str], spec: &Value, cp: &Path, all: Value) -> Errs {
    let mut errs = Vec::new();
    let v6 = |x: &str| parse_ip(x).is_some_and(|a| a.is_ipv6());
    if ips.len() > 1 && v6(ips[0]) == v6(ips[1]) {
        errs.push(FieldError::invalid(cp, all, "may specify no more than one IP for each IP family"));
    }
    if is_headless(spec) {
        return errs;
    }
    for (i, (ip, fam)) in ips.iter().zip(fams).enumerate() {
        if *fam == "IPv4" && v6(ip) {
            errs.push(FieldError::invalid(cp.ix(i), sv(ip), format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`")));
        }
        if *fam == "IPv6" && !v6(ip) {
            errs.push(FieldError::invalid(cp.ix(i), sv(ip), format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`")));
        }
    }
    errs
}

fn validate_lb_fields(spec: &Value, p: &Path) -> Errs {
    let lb = s(spec, "type") == "LoadBalancer";
    let mut errs = Vec::new();
    let ranges = str_list(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let rp = p.ch("LoadBalancerSourceRanges");
        if !lb {
            errs.push(FieldError::forbidden(&rp, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, r) in ranges.iter().enumerate() {
            if parse_cidr(r.trim()).is_none() {
                errs.push(FieldError::invalid(rp.ix(i), sv(r.trim()), CIDR_MSG));
            }
        }
    }
    if get(spec, "allocateLoadBalancerNodePorts").is_some() && !lb {
        errs.push(FieldError::forbidden(p.ch("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"));
    }
    if lb && get(spec, "allocateLoadBalancerNodePorts").is_none() {
        errs.push(FieldError::required(Path::new("allocateLoadBalancerNodePorts"), ""));
    }
    match opt_s(spec, "loadBalancerClass") {
        Some(c) if lb => errs.extend(each_invalid(&p.ch("loadBalancerClass"), c, is_qualified_name(c))),
        Some(_) => errs.push(FieldError::forbidden(p.ch("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'")),
        None => {}
    }
    errs
}

fn validate_traffic_policies(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let etp = s(spec, "externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(p.ch("externalTrafficPolicy"), sv(etp), "may only be set for externally-accessible services"));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required(p.ch("externalTrafficPolicy"), ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(p.ch("externalTrafficPolicy"), sv(etp), &["Cluster", "Local"]));
    }
    let needs_hc = s(spec, "type") == "LoadBalancer" && etp == "Local";
    let hc = int(spec, "healthCheckNodePort").unwrap_or(0);
    if !needs_hc && hc != 0 {
        errs.push(FieldError::invalid(p.ch("healthCheckNodePort"), Value::from(hc), "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    } else if needs_hc && hc != 0 {
        errs.extend(is_valid_port_num(hc).into_iter().map(|m| FieldError::invalid(p.ch("healthCheckNodePort"), Value::from(hc), m)));
    }
    match opt_s(spec, "internalTrafficPolicy") {
        None if matches!(s(spec, "type"), "NodePort" | "LoadBalancer" | "ClusterIP") => errs.push(FieldError::required(p.ch("internalTrafficPolicy"), "")),
        Some(x) if x != "Cluster" && x != "Local" => errs.push(FieldError::not_supported(p.ch("internalTrafficPolicy"), sv(x), &["Cluster", "Local"])),
        _ => {}
    }
    if let Some(td) = opt_s(spec, "trafficDistribution").filter(|x| *x != "PreferClose") {
        errs.push(FieldError::not_supported(p.ch("trafficDistribution"), sv(td), &["PreferClose"]));
    }
    errs
}

fn validate_service_spec(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if arr(spec, "ports").is_empty() && !is_headless(spec) && s(spec, "type") != "ExternalName" {
        errs.push(FieldError::required(p.ch("ports"), ""));
    }
    errs.extend(validate_type_specific(spec, p));
    errs.extend(validate_service_ports(spec, p));
    errs.extend(super::meta::validate_labels(spec, "selector", &p.ch("selector")));
    errs.extend(validate_affinity_config(spec, p));
    errs.extend(validate_cluster_ips(spec, p));
    for (i, ip) in str_list(spec, "externalIPs").iter().enumerate() {
        let ep = p.ch("externalIPs").ix(i);
        if parse_ip(ip).is_none() {
            errs.push(invalid_ip(&ep, ip));
        } else {
            errs.extend(non_special_ip(ip, &ep));
        }
    }
    match s(spec, "type") {
        "" => errs.push(FieldError::required(p.ch("type"), "")),
        t if !SERVICE_TYPES.contains(&t) => errs.push(FieldError::not_supported(p.ch("type"), sv(t), SERVICE_TYPES)),
        _ => {}
    }
    errs.extend(validate_port_duplicates(spec, p));
    errs.extend(validate_lb_fields(spec, p));
    errs.extend(validate_traffic_policies(spec, p));
    errs
}

fn topology_annotation_errs(o: &Value) -> Errs {
    let ann = get(o, "metadata").and_then(|m| obj(m, "annotations"));
    let hints = ann.and_then(|a| a.get("service.kubernetes.io/topology-aware-hints"));
    let mode = ann.and_then(|a| a.get("service.kubernetes.io/topology-mode"));
    match (hints, mode) {
        (Some(h), Some(m)) if h != m => {
            let p = Path::new("metadata").ch("annotations").key("service.kubernetes.io/topology-mode");
            vec![FieldError::invalid(p, m.clone(), "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified")]
        }
        _ => Vec::new(),
    }
}

pub fn validate_service(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or_default();
    let p = Path::new("spec");
    let mut errs = Vec::new();
    if let Op::Update(old) = op {
        errs.extend(validate_service_update(&spec, &get(old, "spec").cloned().unwrap_or_default(), &p));
    }
    errs.extend(topology_annotation_errs(o));
    errs.extend(validate_service_spec(&spec, &p));
    errs
}

fn validate_service_update(new: &Value, old: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let external = s(new, "type") == "ExternalName" || s(old, "type") == "ExternalName";
    let (mut ni, oi) = (cluster_ips(new), cluster_ips(old));
    if ni.is_empty() {
        // The service strategy copies allocated IPs onto an update that omits them.
        ni = oi.clone();
    }
    if !(external || is_headless(new) && is_headless(old)) {
        let cp = p.ch("clusterIPs");
        let shown = Value::Array(ni.iter().map(|x| sv(x)).collect());
        if ni.len() == oi.len() {
            for (i, ip) in oi.iter().enumerate() {
                if *ip != ni[i] {
                    errs.push(FieldError::invalid(cp.ix(i), shown.clone(), "may not change once set"));
                }
            }
        } else if ni.len() < oi.len() {
            if ni.is_empty() {
                errs.push(FieldError::invalid(cp.ix(0), shown.clone(), "primary clusterIP can not be unset"));
            } else if ni[0] != oi[0] {
                errs.push(FieldError::invalid(cp.ix(0), shown.clone(), "may not change once set"));
            }
            if ni.len() == 1 && opt_s(new, "ipFamilyPolicy") != Some("SingleStack") {
                let v = get(new, "ipFamilyPolicy").cloned().unwrap_or(Value::Null);
                errs.push(FieldError::invalid(p.ch("ipFamilyPolicy"), v, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
            }
        } else if !oi.is_empty() && ni[0] != oi[0] {
            errs.push(FieldError::invalid(cp.ix(0), shown, "may not change once set"));
        }
    }
    let lb = |x: &Value| s(x, "type") == "LoadBalancer";
    if lb(new) && lb(old) && opt_s(new, "loadBalancerClass") != opt_s(old, "loadBalancerClass") {
        errs.push(FieldError::invalid(p.ch("loadBalancerClass"), get(new, "loadBalancerClass").cloned().unwrap_or(Value::Null), "may not change once set"));
    }
    let hc = |x: &Value| lb(x) && s(x, "externalTrafficPolicy") == "Local";
    let new_hc = int(new, "healthCheckNodePort").unwrap_or(0);
    if hc(new) && hc(old) && new_hc != 0 && Some(new_hc) != int(old, "healthCheckNodePort") {
        errs.push(FieldError::forbidden(p.ch("healthCheckNodePort"), "field is immutable"));
    }
    errs
}

/// Service status updates: load balancer ingress points.
pub fn validate_service_status(new: &Value, _old: &Value) -> Errs {
    let ing = get(new, "status").and_then(|st| get(st, "loadBalancer")).map(|lb| arr(lb, "ingress")).unwrap_or(&[]);
    let p = Path::new("status").ch("loadBalancer").ch("ingress");
    let lb = get(new, "spec").map(|sp| s(sp, "type")) == Some("LoadBalancer");
    if !lb && !ing.is_empty() {
        return vec![FieldError::forbidden(p, "may only be used when `spec.type` is 'LoadBalancer'")];
    }
    let mut errs = Vec::new();
    for (i, x) in ing.iter().enumerate() {
        let (ip, host, mode) = (s(x, "ip"), s(x, "hostname"), opt_s(x, "ipMode"));
        if !ip.is_empty() && parse_ip(ip).is_none() {
            errs.push(invalid_ip(&p.ix(i).ch("ip"), ip));
        }
        match mode {
            None if !ip.is_empty() => errs.push(FieldError::required(p.ix(i).ch("ipMode"), "must be specified when `ip` is set")),
            Some(_) if ip.is_empty() => errs.push(FieldError::forbidden(p.ix(i).ch("ipMode"), "may not be specified when `ip` is not set")),
            Some(m) if m != "Proxy" && m != "VIP" => errs.push(FieldError::not_supported(p.ix(i).ch("ipMode"), sv(m), &["Proxy", "VIP"])),
            _ => {}
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

pub fn validate_endpoints(o: &Value, _op: Op) -> Errs {
    let mut errs = Vec::new();
    for (i, ss) in arr(o, "subsets").iter().enumerate() {
        let ip = Path::new("subsets").ix(i);
        if arr(ss, "addresses").is_empty() && arr(ss, "notReadyAddresses").is_empty() {
            errs.push(FieldError::required(&ip, "must specify `addresses` or `notReadyAddresses`"));
        }
        for key in ["addresses", "notReadyAddresses"] {
            for (j, a) in arr(ss, key).iter().enumerate() {
                errs.extend(validate_endpoint_address(a, &ip.ch(key).ix(j)));
            }
        }
        let ports = arr(ss, "ports");
        for (j, port) in ports.iter().enumerate() {
            let pp = ip.ch("ports").ix(j);
            let name = s(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(pp.ch("name"), ""));
            } else if !name.is_empty() {
                errs.extend(each_invalid(&pp.ch("name"), name, is_dns1123_label(name)));
            }
            let num = int(port, "port").unwrap_or(0);
            errs.extend(is_valid_port_num(num).into_iter().map(|m| FieldError::invalid(pp.ch("port"), Value::from(num), m)));
            errs.extend(validate_protocol(port, &pp));
            if let Some(ap) = opt_s(port, "appProtocol") {
                errs.extend(each_invalid(&pp.ch("appProtocol"), ap, is_qualified_name(ap)));
            }
        }
    }
    errs
}

fn validate_endpoint_address(a: &Value, p: &Path) -> Errs {
    let ip = s(a, "ip");
    let mut errs = Vec::new();
    if parse_ip(ip).is_none() {
        errs.push(invalid_ip(&p.ch("ip"), ip));
    }
    let host = s(a, "hostname");
    if !host.is_empty() {
        errs.extend(each_invalid(&p.ch("hostname"), host, is_dns1123_label(host)));
    }
    if let Some(n) = opt_s(a, "nodeName") {
        errs.extend(each_invalid(&p.ch("nodeName"), n, name_is_dns_subdomain(n, false)));
    }
    errs.extend(non_special_ip(ip, &p.ch("ip")));
    errs
}

#[cfg(test)]
mod tests {
    use super::super::defaults_core::default_service;
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    fn svc(spec: Value) -> Value {
        let mut s = json!({"metadata": {"name": "web"}, "spec": spec});
        default_service(&mut s);
        s
    }

    #[test]
    fn ports_and_names() {
        assert!(validate_service(&svc(json!({"ports": [{"port": 80}], "selector": {"app": "web"}})), Op::Create).is_empty());
        let s = svc(json!({"ports": [{"port": 80}, {"port": 0, "name": "b"}]}));
        assert_eq!(msgs(validate_service(&s, Op::Create)), vec![
            "spec.ports[0].name: Required value",
            "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ]);
        assert_eq!(msgs(validate_service(&svc(json!({})), Op::Create)), vec!["spec.ports: Required value"]);
        assert!(validate_service(&svc(json!({"clusterIP": "None"})), Op::Create).is_empty());
    }

    #[test]
    fn external_name_and_types() {
        let s = svc(json!({"type": "ExternalName", "externalName": "Bad_Name"}));
        assert!(msgs(validate_service(&s, Op::Create))[0].starts_with("spec.externalName: Invalid value: \"Bad_Name\""));
        let t = svc(json!({"type": "Bogus", "ports": [{"port": 1}]}));
        assert!(msgs(validate_service(&t, Op::Create)).contains(&"spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"".to_string()));
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = svc(json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.1"}));
        let new = svc(json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.2"}));
        assert_eq!(msgs(validate_service(&new, Op::Update(&old))), vec!["spec.clusterIPs[0]: Invalid value: [\"10.0.0.2\"]: may not change once set"]);
        let omitted = svc(json!({"ports": [{"port": 80}]}));
        assert!(validate_service(&omitted, Op::Update(&old)).is_empty());
    }

    #[test]
    fn endpoints() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80, "protocol": "TCP"}]}, {}]});
        assert_eq!(msgs(validate_endpoints(&ep, Op::Create)), vec![
            "subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
        ]);
    }
}
