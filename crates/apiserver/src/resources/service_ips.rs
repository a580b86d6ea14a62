//! ClusterIP and NodePort allocation for Services, from the configured ranges. What is
//! allocated is read from the Services the cache holds, so a restart repairs itself;
//! allocations are serialized by a lock held until the write is in the cache.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use api::errors::FieldError;
use serde_json::{json, Value};

use super::Req;

/// The Service IP range and NodePort range.
#[derive(Debug, Clone)]
pub struct ServiceRanges {
    pub cidr: String,
    network: u32,
    prefix: u32,
    pub node_ports: (u16, u16),
}

impl ServiceRanges {
    pub fn new(cidr: &str, node_ports: &str) -> Result<ServiceRanges, String> {
        let (net, prefix) = cidr.split_once('/').ok_or_else(|| format!("invalid service CIDR {cidr:?}"))?;
        let ip: Ipv4Addr = net.parse().map_err(|_| format!("invalid service CIDR {cidr:?}"))?;
        let prefix: u32 = prefix.parse().ok().filter(|p| (8..=30).contains(p)).ok_or_else(|| format!("invalid service CIDR {cidr:?}"))?;
        let mask = u32::MAX << (32 - prefix);
        let (lo, hi) = node_ports.split_once('-').ok_or_else(|| format!("invalid node port range {node_ports:?}"))?;
        let parse = |p: &str| p.trim().parse::<u16>().map_err(|_| format!("invalid node port range {node_ports:?}"));
        let node_ports = (parse(lo)?, parse(hi)?);
        if node_ports.0 > node_ports.1 {
            return Err(format!("invalid node port range {node_ports:?}"));
        }
        Ok(ServiceRanges { cidr: cidr.to_string(), network: u32::from(ip) & mask, prefix, node_ports })
    }

    fn size(&self) -> u32 {
        1 << (32 - self.prefix)
    }

    /// Usable addresses exclude the network and broadcast addresses.
    fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip > self.network && ip < self.network + self.size() - 1
    }
}

fn spec_str<'a>(svc: &'a Value, f: &str) -> &'a str {
    svc["spec"][f].as_str().unwrap_or("")
}

fn service_type(svc: &Value) -> &str {
    match spec_str(svc, "type") {
        "" => "ClusterIP",
        t => t,
    }
}

/// Cluster IPs and node ports held by every Service but the one at `except`.
fn in_use(req: &Req, except: &str) -> (HashSet<String>, HashSet<i64>) {
    let (mut ips, mut ports) = (HashSet::new(), HashSet::new());
    for o in req.srv.cache.resource(req.def.storage).list(&req.def.prefix(None)) {
        if o.key == except {
            continue;
        }
        let o = o.value();
        for ip in o["spec"]["clusterIPs"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            ips.insert(ip.to_string());
        }
        if let Some(ip) = o["spec"]["clusterIP"].as_str() {
            ips.insert(ip.to_string());
        }
        for p in o["spec"]["ports"].as_array().into_iter().flatten() {
            if let Some(n) = p["nodePort"].as_i64() {
                ports.insert(n);
            }
        }
    }
    (ips, ports)
}

fn allocate_ip(ranges: &ServiceRanges, used: &HashSet<String>) -> Option<String> {
    let usable = ranges.size() - 2;
    let start = fastrand::u32(..usable);
    (0..usable)
        .map(|i| Ipv4Addr::from(ranges.network + 1 + (start + i) % usable))
        .map(|ip| ip.to_string())
        .find(|ip| !used.contains(ip))
}

/// Sets the Service's cluster IP, requested or allocated; the error if it cannot.
fn assign_cluster_ip(ranges: &ServiceRanges, svc: &mut Value, used: &HashSet<String>) -> Option<FieldError> {
    let requested = spec_str(svc, "clusterIP").to_string();
    let requested = if requested.is_empty() {
        svc["spec"]["clusterIPs"].get(0).and_then(Value::as_str).unwrap_or("").to_string()
    } else {
        requested
    };
    if requested == "None" {
        svc["spec"]["clusterIP"] = json!("None");
        svc["spec"]["clusterIPs"] = json!(["None"]);
        return None;
    }
    let ip = if requested.is_empty() {
        match allocate_ip(ranges, used) {
            Some(ip) => ip,
            None => return Some(FieldError::invalid("spec.clusterIPs", json!([]), "failed to allocate IP: range is full")),
        }
    } else {
        let fail = |why: &str| {
            FieldError::invalid("spec.clusterIPs", json!([requested]), format!("failed to allocate IP {requested}: {why}"))
        };
        let Ok(parsed) = requested.parse::<Ipv4Addr>() else { return Some(fail("not a valid IP")) };
        if !ranges.contains(parsed) {
            return Some(fail(&format!("provided IP is not in the valid range. The range of valid IPs is {}", ranges.cidr)));
        }
        if used.contains(&requested) {
            return Some(fail("provided IP is already allocated"));
        }
        requested.clone()
    };
    svc["spec"]["clusterIP"] = json!(ip);
    svc["spec"]["clusterIPs"] = json!([ip]);
    None
}

fn assign_node_ports(ranges: &ServiceRanges, svc: &mut Value, used: &mut HashSet<i64>) -> Vec<FieldError> {
    let (lo, hi) = (ranges.node_ports.0 as i64, ranges.node_ports.1 as i64);
    let mut errs = Vec::new();
    let Some(ports) = svc["spec"]["ports"].as_array_mut() else { return errs };
    for (i, p) in ports.iter_mut().enumerate() {
        match p["nodePort"].as_i64().filter(|n| *n != 0) {
            Some(n) if n < lo || n > hi => errs.push(FieldError::invalid(
                format!("spec.ports[{i}].nodePort"),
                json!(n),
                format!("provided port is not in the valid range. The range of valid ports is {lo}-{hi}"),
            )),
            Some(n) if !used.insert(n) => {
                errs.push(FieldError::invalid(format!("spec.ports[{i}].nodePort"), json!(n), "provided port is already allocated"))
            }
            Some(_) => {}
            None => {
                let size = hi - lo + 1;
                let start = fastrand::i64(0..size);
                match (0..size).map(|k| lo + (start + k) % size).find(|n| !used.contains(n)) {
                    Some(n) => {
                        used.insert(n);
                        p["nodePort"] = json!(n);
                    }
                    None => errs.push(FieldError::invalid(format!("spec.ports[{i}].nodePort"), json!(0), "range is full")),
                }
            }
        }
    }
    errs
}

/// After a type change, fields the new type does not have are dropped when the update
/// merely carried them over from the old Service (as upstream's strategy does).
fn drop_type_dependent(svc: &mut Value, old: &Value) {
    let t = service_type(svc).to_string();
    if t == service_type(old) {
        return;
    }
    let external = t == "NodePort" || t == "LoadBalancer";
    let carried = |f: &str, svc: &Value| svc["spec"].get(f).is_some() && svc["spec"].get(f) == old["spec"].get(f);
    let mut drop: Vec<&str> = Vec::new();
    if t == "ExternalName" {
        drop.extend(["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"].iter().filter(|f| carried(f, svc)));
    }
    if !external {
        drop.extend(["externalTrafficPolicy", "healthCheckNodePort", "allocateLoadBalancerNodePorts"].iter().filter(|f| carried(f, svc)));
    }
    let Some(spec) = svc["spec"].as_object_mut() else { return };
    for f in drop {
        spec.remove(f);
    }
    if !external {
        let old_ports: Vec<i64> = old["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["nodePort"].as_i64()).collect();
        for p in spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            if p["nodePort"].as_i64().is_some_and(|n| old_ports.contains(&n)) {
                p.as_object_mut().map(|m| m.remove("nodePort"));
            }
        }
    }
}

/// Allocates what a Service needs: a cluster IP (unless headless or ExternalName) and
/// node ports for NodePort and LoadBalancer Services. `old` is the Service being
/// updated, whose allocations carry over.
pub fn allocate(req: &Req, svc: &mut Value, old: Option<&Value>, ranges: &ServiceRanges) -> Vec<FieldError> {
    if let Some(old) = old {
        carry_over(svc, old);
        drop_type_dependent(svc, old);
    }
    let t = service_type(svc).to_string();
    let key = req.key();
    let (used_ips, mut used_ports) = in_use(req, &key);
    let mut errs = Vec::new();
    if t != "ExternalName" {
        let keeps_ip = old.is_some_and(|o| !spec_str(o, "clusterIP").is_empty() && spec_str(o, "clusterIP") == spec_str(svc, "clusterIP"));
        if !keeps_ip {
            errs.extend(assign_cluster_ip(ranges, svc, &used_ips));
        }
        let spec = &mut svc["spec"];
        if spec_str_v(spec, "clusterIP") != "None" {
            if spec.get("ipFamilies").is_none() {
                spec["ipFamilies"] = json!(["IPv4"]);
            }
            if spec.get("ipFamilyPolicy").is_none() {
                spec["ipFamilyPolicy"] = json!("SingleStack");
            }
        }
    }
    if t == "NodePort" || t == "LoadBalancer" {
        errs.extend(assign_node_ports(ranges, svc, &mut used_ports));
    }
    errs
}

fn spec_str_v<'a>(spec: &'a Value, f: &str) -> &'a str {
    spec[f].as_str().unwrap_or("")
}

/// What an update that leaves allocated fields unset keeps from the old Service (as
/// upstream's strategy does): cluster IPs, IP families, and node ports of the same port.
fn carry_over(svc: &mut Value, old: &Value) {
    for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        if svc["spec"].get(f).is_none_or(|v| v.is_null() || v == "") {
            if let Some(v) = old["spec"].get(f) {
                svc["spec"][f] = v.clone();
            }
        }
    }
    let old_ports: Vec<&Value> = old["spec"]["ports"].as_array().into_iter().flatten().collect();
    for p in svc["spec"]["ports"].as_array_mut().into_iter().flatten() {
        if p["nodePort"].as_i64().is_some_and(|n| n != 0) {
            continue;
        }
        let same = old_ports.iter().find(|o| o["port"] == p["port"] && o["protocol"] == p["protocol"]);
        if let Some(n) = same.and_then(|o| o["nodePort"].as_i64()) {
            p["nodePort"] = json!(n);
        }
    }
}
