//! Probes, lifecycle handlers and container security contexts.

use serde_json::Value;

use super::names::{is_http_header_name, is_valid_port_name, is_valid_port_num, is_valid_user_id};
use super::util::{arr, boolean, each_invalid, get, int, nonneg, opt_s, s, sv, Errs, Path};
use crate::errors::FieldError;

/// `ValidatePortNumOrName` on an int-or-string value.
pub fn validate_port_num_or_name(v: Option<&Value>, p: &Path) -> Errs {
    match v {
        Some(Value::String(name)) => each_invalid(p, name, is_valid_port_name(name)),
        Some(n) => {
            let n = super::util::as_int(n).unwrap_or(0);
            is_valid_port_num(n).into_iter().map(|m| FieldError::invalid(p, Value::from(n), m)).collect()
        }
        None => is_valid_port_num(0).into_iter().map(|m| FieldError::invalid(p, Value::from(0), m)).collect(),
    }
}

/// `validateHandler`: exactly one of the handler kinds. `probe` selects the probe
/// handler set (grpc) over the lifecycle set (sleep).
fn validate_handler(h: &Value, probe: bool, grace: Option<i64>, p: &Path) -> Errs {
    let kinds: &[&str] = if probe { &["exec", "httpGet", "tcpSocket", "grpc"] } else { &["exec", "httpGet", "tcpSocket", "sleep"] };
    let mut errs = Vec::new();
    let mut n = 0;
    for k in kinds {
        let Some(v) = get(h, k) else { continue };
        if n > 0 {
            errs.push(FieldError::forbidden(p.ch(k), "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        let kp = p.ch(k);
        errs.extend(match *k {
            "exec" if arr(v, "command").is_empty() => vec![FieldError::required(kp.ch("command"), "")],
            "httpGet" => validate_http_get(v, &kp),
            "tcpSocket" | "grpc" => validate_port_num_or_name(get(v, "port"), &kp.ch("port")),
            "sleep" => validate_sleep(v, grace, &kp),
            _ => Vec::new(),
        });
    }
    if n == 0 {
        errs.push(FieldError::required(p, "must specify a handler type"));
    }
    errs
}

fn validate_http_get(v: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if s(v, "path").is_empty() {
        errs.push(FieldError::required(p.ch("path"), ""));
    }
    errs.extend(validate_port_num_or_name(get(v, "port"), &p.ch("port")));
    let scheme = s(v, "scheme");
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(p.ch("scheme"), sv(scheme), &["HTTP", "HTTPS"]));
    }
    for h in arr(v, "httpHeaders") {
        let name = s(h, "name");
        errs.extend(each_invalid(&p.ch("httpHeaders"), name, is_http_header_name(name)));
    }
    errs
}

fn validate_sleep(v: &Value, grace: Option<i64>, p: &Path) -> Errs {
    let secs = int(v, "seconds").unwrap_or(0);
    match grace {
        Some(g) if secs < 0 || secs > g => {
            let msg = format!("must be non-negative and less than terminationGracePeriodSeconds ({g})");
            vec![FieldError::invalid(p, Value::from(secs), msg)]
        }
        _ => Vec::new(),
    }
}

/// `validateProbe` plus the per-kind rule: liveness and startup probes need a success
/// threshold of 1, readiness probes may not set terminationGracePeriodSeconds.
pub fn validate_probe(probe: Option<&Value>, kind: &str, grace: Option<i64>, p: &Path) -> Errs {
    let Some(pr) = probe else { return Vec::new() };
    let mut errs = validate_handler(pr, true, grace, p);
    for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
        errs.extend(nonneg(int(pr, f), &p.ch(f)));
    }
    if let Some(t) = int(pr, "terminationGracePeriodSeconds").filter(|&t| t <= 0) {
        errs.push(FieldError::invalid(p.ch("terminationGracePeriodSeconds"), Value::from(t), "must be greater than 0"));
    }
    match kind {
        "readiness" => {
            if let Some(t) = get(pr, "terminationGracePeriodSeconds") {
                errs.push(FieldError::invalid(p.ch("terminationGracePeriodSeconds"), t.clone(), "must not be set for readinessProbes"));
            }
        }
        _ => {
            let st = int(pr, "successThreshold").unwrap_or(0);
            if st != 1 {
                errs.push(FieldError::invalid(p.ch("successThreshold"), Value::from(st), "must be 1"));
            }
        }
    }
    errs
}

/// The lifecycle hooks and the three probes of a container.
pub fn validate_lifecycle_and_probes(c: &Value, grace: Option<i64>, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if let Some(lc) = get(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = get(lc, hook) {
                errs.extend(validate_handler(h, false, grace, &p.ch("lifecycle").ch(hook)));
            }
        }
    }
    errs.extend(validate_probe(get(c, "livenessProbe"), "liveness", grace, &p.ch("livenessProbe")));
    errs.extend(validate_probe(get(c, "readinessProbe"), "readiness", grace, &p.ch("readinessProbe")));
    errs.extend(validate_probe(get(c, "startupProbe"), "startup", grace, &p.ch("startupProbe")));
    errs
}

/// A uid/gid field within 0..=2^32-1.
pub fn id_field(v: &Value, key: &str, p: &Path) -> Errs {
    match int(v, key) {
        Some(id) => is_valid_user_id(id).into_iter().map(|m| FieldError::invalid(p.ch(key), Value::from(id), m)).collect(),
        None => Vec::new(),
    }
}

/// `ValidateSecurityContext` for a container.
pub fn validate_security_context(sc: Option<&Value>, host_users: bool, p: &Path) -> Errs {
    let Some(sc) = sc else { return Vec::new() };
    let mut errs = id_field(sc, "runAsUser", p);
    errs.extend(id_field(sc, "runAsGroup", p));
    if let Some(pm) = opt_s(sc, "procMount") {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(p.ch("procMount"), sv(pm), &["Default", "Unmasked"]));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(p.ch("procMount"), sv(pm), "`hostUsers` must be false to use `Unmasked`"));
        }
    }
    errs.extend(validate_seccomp_profile(get(sc, "seccompProfile"), &p.ch("seccompProfile")));
    if boolean(sc, "allowPrivilegeEscalation") == Some(false) {
        if boolean(sc, "privileged") == Some(true) {
            errs.push(FieldError::invalid(p, sc.clone(), "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
        }
        let adds = get(sc, "capabilities").map(|c| super::util::str_list(c, "add")).unwrap_or_default();
        if adds.contains(&"CAP_SYS_ADMIN") {
            errs.push(FieldError::invalid(p, sc.clone(), "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
        }
    }
    errs.extend(validate_apparmor_profile(get(sc, "appArmorProfile"), &p.ch("appArmorProfile")));
    errs
}

/// `validateSeccompProfileField`.
pub fn validate_seccomp_profile(sp: Option<&Value>, p: &Path) -> Errs {
    let Some(sp) = sp else { return Vec::new() };
    let mut errs = Vec::new();
    let t = s(sp, "type");
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(p.ch("type"), "type is required when seccompProfile is set")),
        _ => errs.push(FieldError::not_supported(p.ch("type"), sv(t), &["Localhost", "RuntimeDefault", "Unconfined"])),
    }
    match (t, opt_s(sp, "localhostProfile")) {
        ("Localhost", None) => errs.push(FieldError::required(p.ch("localhostProfile"), "must be set when seccomp type is Localhost")),
        ("Localhost", Some(lp)) => errs.extend(super::volumes::validate_local_descending_path(lp, &p.ch("localhostProfile"))),
        (_, Some(_)) => errs.push(FieldError::invalid(p.ch("localhostProfile"), sp.clone(), "can only be set when seccomp type is Localhost")),
        _ => {}
    }
    errs
}

/// `ValidateAppArmorProfileField`.
pub fn validate_apparmor_profile(ap: Option<&Value>, p: &Path) -> Errs {
    let Some(ap) = ap else { return Vec::new() };
    let lp = opt_s(ap, "localhostProfile");
    match s(ap, "type") {
        "Localhost" => match lp {
            None => vec![FieldError::required(p.ch("localhostProfile"), "must be set when AppArmor type is Localhost")],
            Some(l) if l.trim() != l => vec![FieldError::invalid(p.ch("localhostProfile"), sv(l), "must not be padded with whitespace")],
            Some("") => vec![FieldError::required(p.ch("localhostProfile"), "must be set when AppArmor type is Localhost")],
            Some(l) if l.len() > 4095 => vec![FieldError::too_long(p.ch("localhostProfile"), sv(""), 4095)],
            _ => Vec::new(),
        },
        "RuntimeDefault" | "Unconfined" if lp.is_some() => {
            vec![FieldError::invalid(p.ch("localhostProfile"), sv(lp.unwrap_or("")), "can only be set when AppArmor type is Localhost")]
        }
        "RuntimeDefault" | "Unconfined" => Vec::new(),
        "" => vec![FieldError::required(p.ch("type"), "type is required when appArmorProfile is set")],
        t => vec![FieldError::not_supported(p.ch("type"), sv(t), &["Localhost", "RuntimeDefault", "Unconfined"])],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn probes() {
        let pr = json!({"httpGet": {"path": "/", "port": 0, "scheme": "HTTP"}, "tcpSocket": {"port": 80}, "successThreshold": 2, "periodSeconds": -1});
        assert_eq!(msgs(validate_probe(Some(&pr), "liveness", Some(30), &Path::new("l"))), vec![
            "l.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "l.tcpSocket: Forbidden: may not specify more than 1 handler type",
            "l.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
            "l.successThreshold: Invalid value: 2: must be 1",
        ]);
        let empty = json!({"successThreshold": 1});
        assert_eq!(msgs(validate_probe(Some(&empty), "readiness", None, &Path::new("r"))), vec!["r: Required value: must specify a handler type"]);
    }

    #[test]
    fn security_context() {
        let sc = json!({"runAsUser": -1, "allowPrivilegeEscalation": false, "privileged": true, "seccompProfile": {"type": "Localhost"}});
        let m = msgs(validate_security_context(Some(&sc), true, &Path::new("sc")));
        assert_eq!(m[0], "sc.runAsUser: Invalid value: -1: must be between 0 and 4294967295, inclusive");
        assert_eq!(m[1], "sc.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost");
        assert!(m[2].ends_with("cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
    }

    #[test]
    fn lifecycle_sleep() {
        let c = json!({"lifecycle": {"preStop": {"sleep": {"seconds": 60}}}});
        assert_eq!(msgs(validate_lifecycle_and_probes(&c, Some(30), &Path::new("c"))),
            vec!["c.lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)"]);
    }
}
