//! Resource names and quantities: container resource requirements, quantity values and
//! the resource-name families upstream's `helper` package distinguishes.

use std::cmp::Ordering;

use serde_json::Value;

use super::names::is_qualified_name;
use super::quantity::Quantity;
use super::util::{each_invalid, get, sv, Errs, Path, IS_NEGATIVE};
use crate::errors::FieldError;

const STANDARD_RESOURCES: &[&str] = &[
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
    "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage",
    "services.nodeports", "services.loadbalancers",
];

const STANDARD_QUOTA_RESOURCES: &[&str] = &[
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services",
    "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims", "configmaps",
    "services.nodeports", "services.loadbalancers",
];

const INTEGER_RESOURCES: &[&str] = &[
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
];

pub fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

pub fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

pub fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && is_qualified_name(&format!("requests.{name}")).is_empty()
}

pub fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

fn is_standard_resource(name: &str) -> bool {
    is_hugepages(name) || STANDARD_RESOURCES.contains(&name)
}

fn is_quota_hugepages(name: &str) -> bool {
    name.starts_with("requests.hugepages-") || name.starts_with("limits.hugepages-")
}

/// `validateResourceName`: a qualified name, and a standard one when unprefixed.
pub fn validate_resource_name(name: &str, p: &Path) -> Errs {
    let errs = each_invalid(p, name, is_qualified_name(name));
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard_resource(name) && !is_quota_hugepages(name) {
        return vec![FieldError::invalid(p, sv(name), "must be a standard resource type or fully qualified")];
    }
    Vec::new()
}

/// `validateContainerResourceName`.
pub fn validate_container_resource_name(name: &str, p: &Path) -> Errs {
    let mut errs = validate_resource_name(name, p);
    if !name.contains('/') {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !is_hugepages(name) {
            errs.push(FieldError::invalid(p, sv(name), "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(p, sv(name), "doesn't follow extended resource name standard"));
    }
    errs
}

/// `ValidateResourceQuotaResourceName`.
pub fn validate_quota_resource_name(name: &str, p: &Path) -> Errs {
    let mut errs = validate_resource_name(name, p);
    if !name.contains('/') && !STANDARD_QUOTA_RESOURCES.contains(&name) && !is_quota_hugepages(name) {
        errs.push(FieldError::invalid(p, sv(name), "must be a standard resource for quota"));
    }
    errs
}

/// Parses a quantity value, or the upstream decode error at `p`.
// A FieldError is what every validator returns; boxing it here alone would not help.
#[allow(clippy::result_large_err)]
pub fn parse_quantity(v: &Value, p: &Path) -> Result<Quantity, FieldError> {
    match v {
        Value::String(s) => Quantity::parse(s).map_err(|e| FieldError::invalid(p, v.clone(), e)),
        Value::Number(n) => Quantity::parse(&n.to_string()).map_err(|e| FieldError::invalid(p, v.clone(), e)),
        _ => Err(FieldError::invalid(p, v.clone(), super::quantity::ERR_FORMAT)),
    }
}

/// `ValidateResourceQuantityValue`: non-negative, and whole for integer resources.
pub fn validate_quantity_value(name: &str, q: &Quantity, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if q.is_negative() {
        errs.push(FieldError::invalid(p, sv(&q.canonical()), IS_NEGATIVE));
    }
    if is_integer_resource(name) && !q.is_integer() {
        errs.push(FieldError::invalid(p, sv(&q.canonical()), "must be an integer"));
    }
    errs
}

/// Parses every entry of a resource list, reporting malformed quantities.
pub fn parse_list(list: Option<&Value>, p: &Path, errs: &mut Errs) -> Vec<(String, Quantity)> {
    let Some(m) = list.and_then(Value::as_object) else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in m {
        match parse_quantity(v, &p.key(k)) {
            Ok(q) => out.push((k.clone(), q)),
            Err(e) => errs.push(e),
        }
    }
    out
}

fn hugepage_error(name: &str, q: &Quantity, p: &Path) -> Errs {
    let Some(bytes) = Quantity::parse(name.trim_start_matches("hugepages-")).ok().and_then(|pg| pg.to_u64()) else {
        return Vec::new();
    };
    if bytes == 0 || !q.is_multiple_of(bytes) {
        let msg = format!("{} is not positive integer multiple of {}", q.canonical(), name);
        return vec![FieldError::invalid(p, sv(&q.canonical()), msg)];
    }
    Vec::new()
}

/// `validateResourceRequirements` for a container (or pod overhead with only limits).
pub fn validate_requirements(r: Option<&Value>, claims: &[String], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let Some(r) = r else { return errs };
    let (lim_p, req_p) = (p.ch("limits"), p.ch("requests"));
    let limits = parse_list(get(r, "limits"), &lim_p, &mut errs);
    let requests = parse_list(get(r, "requests"), &req_p, &mut errs);
    let (mut cpu_mem, mut huge) = (false, false);
    for (name, q) in &limits {
        let fp = lim_p.key(name);
        errs.extend(validate_container_resource_name(name, &fp));
        errs.extend(validate_quantity_value(name, q, &fp));
        if is_hugepages(name) {
            huge = true;
            errs.extend(hugepage_error(name, q, &fp));
        }
        cpu_mem |= name == "cpu" || name == "memory";
    }
    for (name, q) in &requests {
        let fp = req_p.key(name);
        errs.extend(validate_container_resource_name(name, &fp));
        errs.extend(validate_quantity_value(name, q, &fp));
        errs.extend(request_vs_limit(name, q, &limits, &lim_p, &req_p));
        if is_hugepages(name) {
            huge = true;
            errs.extend(hugepage_error(name, q, &fp));
        }
        cpu_mem |= name == "cpu" || name == "memory";
    }
    if !cpu_mem && huge {
        errs.push(FieldError::forbidden(p, "HugePages require cpu or memory"));
    }
    errs.extend(validate_claim_refs(r, claims, &p.ch("claims")));
    errs
}

fn request_vs_limit(name: &str, q: &Quantity, limits: &[(String, Quantity)], lim_p: &Path, req_p: &Path) -> Errs {
    match limits.iter().find(|(n, _)| n == name) {
        Some((_, lim)) => {
            let ord = q.cmp_q(lim);
            if ord != Ordering::Equal && !overcommit_allowed(name) {
                let msg = format!("must be equal to {name} limit of {}", lim.canonical());
                vec![FieldError::invalid(req_p, sv(&q.canonical()), msg)]
            } else if ord == Ordering::Greater {
                let msg = format!("must be less than or equal to {name} limit of {}", lim.canonical());
                vec![FieldError::invalid(req_p, sv(&q.canonical()), msg)]
            } else {
                Vec::new()
            }
        }
        None if !overcommit_allowed(name) => {
            vec![FieldError::required(lim_p, "Limit must be set for non overcommitable resources")]
        }
        None => Vec::new(),
    }
}

fn validate_claim_refs(r: &Value, pod_claims: &[String], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, c) in super::util::arr(r, "claims").iter().enumerate() {
        let name = super::util::s(c, "name");
        if name.is_empty() {
            errs.push(FieldError::required(p.ix(i), ""));
            continue;
        }
        let key = match super::util::s(c, "request") {
            "" => name.to_string(),
            req => format!("{name}/{req}"),
        };
        if seen.contains(&key) || seen.iter().any(|k| k == name) {
            errs.push(FieldError::duplicate(p.ix(i), sv(&key)));
        }
        seen.push(key);
        if !pod_claims.iter().any(|n| n == name) {
            let mut e = FieldError::not_found(p.ix(i), sv(name));
            e.detail = if pod_claims.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_string()
            } else {
                format!("must be one of the names in pod.spec.resourceClaims: {}", pod_claims.join(", "))
            };
            errs.push(e);
        }
    }
    errs
}

/// Validates a resource list whose names use `name_fn` (quota, limit ranges, node status).
pub fn validate_resource_list(list: Option<&Value>, p: &Path, name_fn: fn(&str, &Path) -> Errs) -> Errs {
    let mut errs = Vec::new();
    for (name, q) in parse_list(list, p, &mut errs) {
        let fp = p.key(&name);
        errs.extend(name_fn(&name, &fp));
        errs.extend(validate_quantity_value(&name, &q, &fp));
    }
    errs
}

/// A quantity in a resource map, if present and well formed.
pub fn quantity_at(list: Option<&Value>, name: &str) -> Option<Quantity> {
    list.and_then(|l| l.get(name)).and_then(Quantity::from_value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn requests_must_not_exceed_limits() {
        let r = json!({"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}});
        assert_eq!(msgs(validate_requirements(Some(&r), &[], &Path::new("spec.containers[0].resources"))),
            vec!["spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"]);
        let ok = json!({"limits": {"memory": "1Gi"}, "requests": {"memory": "1000Mi"}});
        assert!(validate_requirements(Some(&ok), &[], &Path::new("r")).is_empty());
    }

    #[test]
    fn names_and_values() {
        let r = json!({"limits": {"foo": "1", "example.com/gpu": "1.5"}, "requests": {"cpu": "x"}});
        let m = msgs(validate_requirements(Some(&r), &[], &Path::new("r")));
        assert!(m.contains(&"r.limits[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified".to_string()));
        assert!(m.contains(&"r.limits[foo]: Invalid value: \"foo\": must be a standard resource for containers".to_string()));
        assert!(m.contains(&"r.limits[example.com/gpu]: Invalid value: \"1500m\": must be an integer".to_string()));
        assert!(m.contains(&"r.requests[cpu]: Invalid value: \"x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".to_string()));
        let neg = json!({"limits": {"cpu": "-1"}});
        assert_eq!(msgs(validate_requirements(Some(&neg), &[], &Path::new("r"))), vec!["r.limits[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"]);
    }

    #[test]
    fn extended_and_hugepages() {
        let r = json!({"requests": {"example.com/gpu": "1"}});
        assert_eq!(msgs(validate_requirements(Some(&r), &[], &Path::new("r"))), vec!["r.limits: Required value: Limit must be set for non overcommitable resources"]);
        let h = json!({"limits": {"hugepages-2Mi": "3Mi"}});
        let m = msgs(validate_requirements(Some(&h), &[], &Path::new("r")));
        assert!(m.contains(&"r.limits[hugepages-2Mi]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi".to_string()));
        assert!(m.contains(&"r: Forbidden: HugePages require cpu or memory".to_string()));
    }
}
