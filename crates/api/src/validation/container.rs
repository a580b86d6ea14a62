//! Container validation shared by regular, init and ephemeral containers: names,
//! images, ports, environment, pull and termination-message policies.

use serde_json::Value;

use super::names::{
    is_config_map_key, is_dns1123_label, is_env_var_name, is_valid_port_name, is_valid_port_num, name_is_dns_subdomain,
};
use super::probes::validate_security_context;
use super::resources::validate_requirements;
use super::util::{arr, each_invalid, get, int, s, sv, Errs, Path};
use super::volumes::{validate_volume_devices, validate_volume_mounts, VolMap};
use crate::errors::FieldError;

/// What container validation needs to know about the surrounding pod.
pub struct PodCtx<'a> {
    pub volumes: &'a VolMap<'a>,
    pub claims: Vec<String>,
    pub restart_policy: &'a str,
    pub grace: Option<i64>,
    pub host_users: bool,
}

/// `validateContainerCommon`.
pub fn validate_container_common(c: &Value, ctx: &PodCtx, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let name = s(c, "name");
    if name.is_empty() {
        errs.push(FieldError::required(p.ch("name"), ""));
    } else {
        errs.extend(each_invalid(&p.ch("name"), name, is_dns1123_label(name)));
    }
    if s(c, "image").is_empty() {
        errs.push(FieldError::required(p.ch("image"), ""));
    }
    errs.extend(enum_field(c, "terminationMessagePolicy", &["File", "FallbackToLogsOnError"], p));
    errs.extend(validate_container_ports(arr(c, "ports"), &p.ch("ports")));
    errs.extend(validate_env(arr(c, "env"), &p.ch("env")));
    errs.extend(validate_env_from(arr(c, "envFrom"), &p.ch("envFrom")));
    errs.extend(validate_volume_mounts(c, ctx.volumes, &p.ch("volumeMounts")));
    errs.extend(validate_volume_devices(c, ctx.volumes, &p.ch("volumeDevices")));
    errs.extend(enum_field(c, "imagePullPolicy", &["Always", "IfNotPresent", "Never"], p));
    errs.extend(validate_requirements(get(c, "resources"), &ctx.claims, &p.ch("resources")));
    errs.extend(validate_resize_policy(arr(c, "resizePolicy"), ctx.restart_policy, &p.ch("resizePolicy")));
    errs.extend(validate_security_context(get(c, "securityContext"), ctx.host_users, &p.ch("securityContext")));
    errs
}

/// A required string field restricted to `allowed` (`Required value` when empty).
pub fn enum_field(v: &Value, key: &str, allowed: &[&str], p: &Path) -> Errs {
    let x = s(v, key);
    if x.is_empty() {
        vec![FieldError::required(p.ch(key), "")]
    } else if !allowed.contains(&x) {
        vec![FieldError::not_supported(p.ch(key), sv(x), allowed)]
    } else {
        Vec::new()
    }
}

/// `validateContainerPorts`.
pub fn validate_container_ports(ports: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = p.ix(i);
        let name = s(port, "name");
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(each_invalid(&ip.ch("name"), name, msgs));
            } else if names.contains(&name) {
                errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
            } else {
                names.push(name);
            }
        }
        match int(port, "containerPort").unwrap_or(0) {
            0 => errs.push(FieldError::required(ip.ch("containerPort"), "")),
            n => errs.extend(is_valid_port_num(n).into_iter().map(|m| FieldError::invalid(ip.ch("containerPort"), Value::from(n), m))),
        }
        if let Some(hp) = int(port, "hostPort").filter(|&h| h != 0) {
            errs.extend(is_valid_port_num(hp).into_iter().map(|m| FieldError::invalid(ip.ch("hostPort"), Value::from(hp), m)));
        }
        errs.extend(validate_protocol(port, &ip));
    }
    errs
}

/// A required `protocol` of TCP, UDP or SCTP.
pub fn validate_protocol(v: &Value, p: &Path) -> Errs {
    match s(v, "protocol") {
        "" => vec![FieldError::required(p.ch("protocol"), "")],
        "TCP" | "UDP" | "SCTP" => Vec::new(),
        x => vec![FieldError::not_supported(p.ch("protocol"), sv(x), &["SCTP", "TCP", "UDP"])],
    }
}

/// `ValidateEnv` (relaxed name rules, as 1.33 enables by default).
pub fn validate_env(vars: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.ix(i);
        let name = s(ev, "name");
        if name.is_empty() {
            errs.push(FieldError::required(ip.ch("name"), ""));
        } else {
            errs.extend(each_invalid(&ip.ch("name"), name, is_env_var_name(name)));
        }
        if let Some(vf) = get(ev, "valueFrom") {
            errs.extend(validate_value_from(vf, !s(ev, "value").is_empty(), &ip.ch("valueFrom")));
        }
    }
    errs
}

fn validate_value_from(vf: &Value, has_value: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut n = 0;
    if let Some(f) = get(vf, "fieldRef") {
        n += 1;
        errs.extend(validate_object_field_selector(f, ENV_FIELD_PATHS, &p.ch("fieldRef")));
    }
    if let Some(r) = get(vf, "resourceFieldRef") {
        n += 1;
        errs.extend(validate_resource_field_selector(r, false, &p.ch("resourceFieldRef")));
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = get(vf, key) {
            n += 1;
            errs.extend(validate_key_selector(r, &p.ch(key)));
        }
    }
    if n == 0 {
        errs.push(FieldError::invalid(p, sv(""), "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    } else if has_value {
        errs.push(FieldError::invalid(p, sv(""), "may not be specified when `value` is not empty"));
    } else if n > 1 {
        errs.push(FieldError::invalid(p, sv(""), "may not have more than one field specified at a time"));
    }
    errs
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
];

pub const VOLUME_FIELD_PATHS: &[&str] =
    &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

const CONVERTIBLE_FIELD_PATHS: &[&str] = &[
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
    "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
];

/// `metadata.labels['key']` → (`metadata.labels`, `key`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, sub) = inner.split_once("['")?;
    Some((base, sub))
}

/// `validateObjectFieldSelector` (downward API field references).
pub fn validate_object_field_selector(f: &Value, allowed: &[&str], p: &Path) -> Errs {
    let (av, fp) = (s(f, "apiVersion"), s(f, "fieldPath"));
    if av.is_empty() {
        return vec![FieldError::required(p.ch("apiVersion"), "")];
    }
    if fp.is_empty() {
        return vec![FieldError::required(p.ch("fieldPath"), "")];
    }
    if av != "v1" {
        let msg = format!("error converting fieldPath: unsupported pod version: {av}");
        return vec![FieldError::invalid(p.ch("fieldPath"), sv(fp), msg)];
    }
    if let Some((base, sub)) = split_subscript(fp) {
        return match base {
            "metadata.annotations" => each_invalid(p, &sub.to_lowercase(), super::names::is_qualified_name(&sub.to_lowercase())),
            "metadata.labels" => each_invalid(p, sub, super::names::is_qualified_name(sub)),
            _ => vec![FieldError::invalid(p, sv(base), "does not support subscript")],
        };
    }
    if !CONVERTIBLE_FIELD_PATHS.contains(&fp) {
        let msg = format!("error converting fieldPath: field label not supported: {fp}");
        return vec![FieldError::invalid(p.ch("fieldPath"), sv(fp), msg)];
    }
    if !allowed.contains(&fp) {
        let mut sorted = allowed.to_vec();
        sorted.sort_unstable();
        return vec![FieldError::not_supported(p.ch("fieldPath"), sv(fp), &sorted)];
    }
    Vec::new()
}

const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage",
    "requests.memory",
];

/// `validateContainerResourceFieldSelector`.
pub fn validate_resource_field_selector(r: &Value, volume: bool, p: &Path) -> Errs {
    let res = s(r, "resource");
    let mut errs = Vec::new();
    if volume && s(r, "containerName").is_empty() {
        errs.push(FieldError::required(p.ch("containerName"), ""));
    } else if res.is_empty() {
        errs.push(FieldError::required(p.ch("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&res)
        && !res.starts_with("requests.hugepages-")
        && !res.starts_with("limits.hugepages-")
    {
        errs.push(FieldError::not_supported(p.ch("resource"), sv(res), RESOURCE_FIELD_PATHS));
    }
    if let Some(d) = get(r, "divisor") {
        errs.extend(validate_divisor(res, d, p));
    }
    errs
}

fn validate_divisor(res: &str, d: &Value, p: &Path) -> Errs {
    let Some(q) = super::quantity::Quantity::from_value(d) else {
        return vec![FieldError::invalid(p.ch("divisor"), d.clone(), super::quantity::ERR_FORMAT)];
    };
    if q.is_zero() {
        return Vec::new();
    }
    let c = q.canonical();
    let mem = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
    let (ok, what) = match res {
        "limits.cpu" | "requests.cpu" => (c == "1m" || c == "1", "cpu"),
        "limits.memory" | "requests.memory" => (mem.contains(&c.as_str()), "memory"),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" => (mem.contains(&c.as_str()), "local ephemeral storage"),
        _ if res.contains(".hugepages-") => (mem.contains(&c.as_str()), "hugepages"),
        _ => (true, ""),
    };
    if ok {
        return Vec::new();
    }
    let msg = if what == "cpu" {
        "only divisor's values 1m and 1 are supported with the cpu resource".to_string()
    } else {
        format!("only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the {what} resource")
    };
    vec![FieldError::invalid(p.ch("divisor"), sv(res), msg)]
}

fn validate_key_selector(r: &Value, p: &Path) -> Errs {
    let name = s(r, "name");
    let mut errs = each_invalid(&p.ch("name"), name, name_is_dns_subdomain(name, false));
    let key = s(r, "key");
    if key.is_empty() {
        errs.push(FieldError::required(p.ch("key"), ""));
    } else {
        errs.extend(each_invalid(&p.ch("key"), key, is_config_map_key(key)));
    }
    errs
}

/// `ValidateEnvFrom`.
pub fn validate_env_from(vars: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.ix(i);
        let prefix = s(ev, "prefix");
        if !prefix.is_empty() {
            errs.extend(each_invalid(&ip.ch("prefix"), prefix, is_env_var_name(prefix)));
        }
        let mut n = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = get(ev, key) {
                n += 1;
                let name = s(r, "name");
                if name.is_empty() {
                    errs.push(FieldError::required(ip.ch(key).ch("name"), ""));
                } else {
                    errs.extend(each_invalid(&ip.ch(key).ch("name"), name, name_is_dns_subdomain(name, true)));
                }
            }
        }
        if n == 0 {
            errs.push(FieldError::invalid(p, sv(""), "must specify one of: `configMapRef` or `secretRef`"));
        } else if n > 1 {
            errs.push(FieldError::invalid(p, sv(""), "may not have more than one field specified at a time"));
        }
    }
    errs
}

fn validate_resize_policy(list: &[Value], restart: &str, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, rp) in list.iter().enumerate() {
        let (res, pol) = (s(rp, "resourceName"), s(rp, "restartPolicy"));
        if seen.contains(&res) {
            errs.push(FieldError::duplicate(p.ix(i), sv(res)));
        }
        seen.push(res);
        match res {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(p, "")),
            _ => errs.push(FieldError::not_supported(p, sv(res), &["cpu", "memory"])),
        }
        match pol {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(p, "")),
            _ => errs.push(FieldError::not_supported(p, sv(pol), &["NotRequired", "RestartContainer"])),
        }
        if restart == "Never" && pol != "NotRequired" {
            errs.push(FieldError::invalid(p, sv(pol), "must be 'NotRequired' when `restartPolicy` is 'Never'"));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn ports() {
        let ports = vec![json!({"name": "http", "containerPort": 80, "protocol": "TCP"}),
            json!({"name": "http", "containerPort": 70000, "protocol": "XX"}), json!({"protocol": "TCP"})];
        assert_eq!(msgs(validate_container_ports(&ports, &Path::new("p"))), vec![
            "p[1].name: Duplicate value: \"http\"",
            "p[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "p[1].protocol: Unsupported value: \"XX\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "p[2].containerPort: Required value",
        ]);
    }

    #[test]
    fn env_vars() {
        let env = vec![json!({"name": ""}), json!({"name": "A", "value": "x", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}),
            json!({"name": "B", "valueFrom": {}}), json!({"name": "C", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.foo"}}}),
            json!({"name": "D", "valueFrom": {"secretKeyRef": {"name": "s", "key": "a b"}}})];
        let m = msgs(validate_env(&env, &Path::new("e")));
        assert_eq!(m[0], "e[0].name: Required value");
        assert_eq!(m[1], "e[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty");
        assert_eq!(m[2], "e[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
        assert_eq!(m[3], "e[3].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo");
        assert!(m[4].starts_with("e[4].valueFrom.secretKeyRef.key: Invalid value: \"a b\": a valid config key"));
    }

    #[test]
    fn subscripted_field_paths() {
        let ok = json!({"apiVersion": "v1", "fieldPath": "metadata.labels['app']"});
        assert!(validate_object_field_selector(&ok, VOLUME_FIELD_PATHS, &Path::new("f")).is_empty());
        let np = json!({"apiVersion": "v1", "fieldPath": "spec.restartPolicy"});
        assert!(msgs(validate_object_field_selector(&np, ENV_FIELD_PATHS, &Path::new("f")))[0].starts_with("f.fieldPath: Unsupported value: \"spec.restartPolicy\": supported values: \"metadata.name\""));
    }
}
