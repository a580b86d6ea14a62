//! PodSpec validation (`ValidatePodSpec`) shared by Pods and pod templates, and the
//! Pod kind itself.

use serde_json::Value;

use super::affinity::{validate_affinity, validate_tolerations, validate_topology_spread};
use super::container::{validate_container_common, PodCtx};
use super::names::{inclusive_range_error, is_dns1123_label, is_dns1123_subdomain, is_qualified_name, name_is_dns_subdomain, parse_ip, IP_MSG};
use super::probes::{id_field, validate_apparmor_profile, validate_lifecycle_and_probes, validate_seccomp_profile};
use super::util::{arr, boolean, each_invalid, get, int, obj, opt_s, s, str_list, sv, Errs, Path};
use super::volumes::validate_volumes;
use super::Op;
use crate::errors::FieldError;

/// Upstream's `ValidatePodSpec`. `pod_name` is set for real pods (ephemeral volume
/// claim names depend on it); `is_pod` enables the pod-only host network rule.
pub fn validate_pod_spec(spec: &Value, pod_name: Option<&str>, is_pod: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let grace = int(spec, "terminationGracePeriodSeconds");
    if grace.is_none() {
        errs.push(FieldError::required(p.ch("terminationGracePeriodSeconds"), ""));
    }
    let sc = get(spec, "securityContext");
    let host_users = sc.and_then(|sc| boolean(sc, "hostUsers")).unwrap_or(true);
    let (vols, verrs) = validate_volumes(arr(spec, "volumes"), pod_name, &p.ch("volumes"));
    errs.extend(verrs);
    let claims: Vec<String> = arr(spec, "resourceClaims").iter().map(|c| s(c, "name").to_string()).filter(|n| !n.is_empty()).collect();
    errs.extend(validate_resource_claims(arr(spec, "resourceClaims"), &p.ch("resourceClaims")));
    let restart = s(spec, "restartPolicy");
    let ctx = PodCtx { volumes: &vols, claims, restart_policy: restart, grace, host_users };
    errs.extend(validate_containers(spec, &ctx, &p.ch("containers")));
    errs.extend(validate_init_containers(spec, &ctx, &p.ch("initContainers")));
    errs.extend(validate_ephemeral_containers(spec, &ctx, &p.ch("ephemeralContainers")));
    errs.extend(validate_host_network_deps(spec, is_pod, p));
    errs.extend(restart_policy_errs(restart, &p.ch("restartPolicy")));
    errs.extend(dns_policy_errs(s(spec, "dnsPolicy"), &p.ch("dnsPolicy")));
    errs.extend(super::meta::validate_labels(spec, "nodeSelector", &p.ch("nodeSelector")));
    errs.extend(validate_pod_security_context(spec, p));
    errs.extend(validate_image_pull_secrets(arr(spec, "imagePullSecrets"), &p.ch("imagePullSecrets")));
    errs.extend(validate_affinity(get(spec, "affinity"), &p.ch("affinity")));
    errs.extend(validate_dns_config(spec, &p.ch("dnsConfig")));
    errs.extend(validate_gates(spec, p));
    errs.extend(validate_topology_spread(arr(spec, "topologySpreadConstraints"), &p.ch("topologySpreadConstraints")));
    errs.extend(validate_host_users(spec, host_users, p));
    errs.extend(validate_spec_names(spec, p));
    errs.extend(validate_spec_misc(spec, p));
    errs
}

fn validate_resource_claims(claims: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let (ip, name) = (p.ix(i), s(c, "name"));
        if name.is_empty() {
            errs.push(FieldError::required(ip.ch("name"), ""));
        } else if seen.contains(&name) {
            errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
        } else {
            errs.extend(each_invalid(&ip.ch("name"), name, is_dns1123_label(name)));
            seen.push(name);
        }
        match (opt_s(c, "resourceClaimName"), opt_s(c, "resourceClaimTemplateName")) {
            (Some(_), Some(_)) => errs.push(FieldError::invalid(&ip, c.clone(), "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified")),
            (None, None) => errs.push(FieldError::invalid(&ip, c.clone(), "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`")),
            (Some(n), None) => errs.extend(each_invalid(&ip.ch("resourceClaimName"), n, name_is_dns_subdomain(n, false))),
            (None, Some(n)) => errs.extend(each_invalid(&ip.ch("resourceClaimTemplateName"), n, name_is_dns_subdomain(n, false))),
        }
    }
    errs
}

fn validate_containers(spec: &Value, ctx: &PodCtx, p: &Path) -> Errs {
    let list = arr(spec, "containers");
    if list.is_empty() {
        return vec![FieldError::required(p, "")];
    }
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let ip = p.ix(i);
        errs.extend(validate_container_common(c, ctx, &ip));
        let name = s(c, "name");
        if names.contains(&name) {
            errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
        } else {
            names.push(name);
        }
        errs.extend(validate_lifecycle_and_probes(c, ctx.grace, &ip));
        if get(c, "restartPolicy").is_some() {
            errs.push(FieldError::forbidden(ip.ch("restartPolicy"), "may not be set for non-init containers"));
        }
    }
    errs.extend(host_port_conflicts(list, p));
    errs
}

fn validate_init_containers(spec: &Value, ctx: &PodCtx, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = arr(spec, "containers").iter().map(|c| s(c, "name")).collect();
    for (i, c) in arr(spec, "initContainers").iter().enumerate() {
        let ip = p.ix(i);
        errs.extend(validate_container_common(c, ctx, &ip));
        let policy = opt_s(c, "restartPolicy");
        if let Some(rp) = policy.filter(|x| *x != "Always") {
            errs.push(FieldError::not_supported(ip.ch("restartPolicy"), sv(rp), &["Always"]));
        }
        let name = s(c, "name");
        if names.contains(&name) {
            errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
        } else if !name.is_empty() {
            names.push(name);
        }
        errs.extend(host_port_conflicts(std::slice::from_ref(c), p));
        if policy == Some("Always") {
            errs.extend(validate_lifecycle_and_probes(c, ctx.grace, &ip));
        } else {
            for f in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if get(c, f).is_some() {
                    errs.push(FieldError::forbidden(ip.ch(f), "may not be set for init containers without restartPolicy=Always"));
                }
            }
        }
    }
    errs
}

const EPHEMERAL_ALLOWED: &[&str] = &[
    "name", "image", "command", "args", "workingDir", "envFrom", "env", "volumeMounts", "volumeDevices",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin",
    "stdinOnce", "tty", "targetContainerName",
];

fn validate_ephemeral_containers(spec: &Value, ctx: &PodCtx, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let others: Vec<&str> = arr(spec, "containers").iter().chain(arr(spec, "initContainers")).map(|c| s(c, "name")).collect();
    let mut all = others.clone();
    for (i, ec) in arr(spec, "ephemeralContainers").iter().enumerate() {
        let ip = p.ix(i);
        errs.extend(validate_container_common(ec, ctx, &ip));
        errs.extend(image_whitespace(ec, &ip));
        let name = s(ec, "name");
        if all.contains(&name) {
            errs.push(FieldError::duplicate(ip.ch("name"), sv(name)));
        } else {
            all.push(name);
        }
        let target = s(ec, "targetContainerName");
        if !target.is_empty() && !others.contains(&target) {
            errs.push(FieldError::not_found(ip.ch("targetContainerName"), sv(target)));
        }
        for (k, v) in ec.as_object().into_iter().flatten() {
            if !EPHEMERAL_ALLOWED.contains(&k.as_str()) && !super::util::sem_eq(Some(v), None) {
                errs.push(FieldError::forbidden(ip.ch(k), "cannot be set for an Ephemeral Container"));
            }
        }
        for (j, vm) in arr(ec, "volumeMounts").iter().enumerate() {
            for f in ["subPath", "subPathExpr"] {
                if !s(vm, f).is_empty() {
                    errs.push(FieldError::forbidden(ip.ch("volumeMounts").ix(j).ch(f), "cannot be set for an Ephemeral Container"));
                }
            }
        }
    }
    errs
}

/// `checkHostPortConflicts`: `protocol/hostIP/hostPort` must be unique.
fn host_port_conflicts(containers: &[Value], p: &Path) -> Errs {
    let mut seen: Vec<String> = Vec::new();
    let mut errs = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in arr(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{}", s(port, "protocol"), s(port, "hostIP"), hp);
            if seen.contains(&key) {
                errs.push(FieldError::duplicate(p.ix(ci).ch("ports").ix(pi).ch("hostPort"), sv(&key)));
            } else {
                seen.push(key);
            }
        }
    }
    errs
}

/// Leading or trailing whitespace in an image (pods only, not templates).
pub fn image_whitespace(c: &Value, p: &Path) -> Errs {
    let image = s(c, "image");
    if image.trim() != image {
        return vec![FieldError::invalid(p.ch("image"), sv(image), "must not have leading or trailing whitespace")];
    }
    Vec::new()
}

fn validate_host_network_deps(spec: &Value, is_pod: bool, p: &Path) -> Errs {
    if boolean(spec, "hostNetwork") != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    for (i, c) in arr(spec, "containers").iter().enumerate() {
        for (j, port) in arr(c, "ports").iter().enumerate() {
            let (hp, cp) = (int(port, "hostPort").unwrap_or(0), int(port, "containerPort").unwrap_or(0));
            if (is_pod || hp != 0) && hp != cp {
                let path = p.ch("containers").ix(i).ch("ports").ix(j).ch("hostPort");
                errs.push(FieldError::invalid(path, Value::from(hp), "must match `containerPort` when `hostNetwork` is true"));
            }
        }
    }
    errs
}

pub fn restart_policy_errs(rp: &str, p: &Path) -> Errs {
    match rp {
        "Always" | "OnFailure" | "Never" => Vec::new(),
        "" => vec![FieldError::required(p, "")],
        x => vec![FieldError::not_supported(p, sv(x), &["Always", "OnFailure", "Never"])],
    }
}

fn dns_policy_errs(dp: &str, p: &Path) -> Errs {
    match dp {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => Vec::new(),
        "" => vec![FieldError::required(p, "")],
        x => vec![FieldError::not_supported(p, sv(x), &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"])],
    }
}

fn validate_pod_security_context(spec: &Value, p: &Path) -> Errs {
    let Some(sc) = get(spec, "securityContext") else { return Vec::new() };
    let sp = p.ch("securityContext");
    let mut errs = id_field(sc, "fsGroup", &sp);
    errs.extend(id_field(sc, "runAsUser", &sp));
    errs.extend(id_field(sc, "runAsGroup", &sp));
    for (g, gid) in arr(sc, "supplementalGroups").iter().enumerate() {
        let id = super::util::as_int(gid).unwrap_or(-1);
        errs.extend(super::names::is_valid_user_id(id).into_iter().map(|m| FieldError::invalid(sp.ch("supplementalGroups").ix(g), Value::from(id), m)));
    }
    if boolean(spec, "shareProcessNamespace") == Some(true) && boolean(spec, "hostPID") == Some(true) {
        errs.push(FieldError::invalid(sp.ch("shareProcessNamespace"), Value::Bool(true), "ShareProcessNamespace and HostPID cannot both be enabled"));
    }
    errs.extend(validate_sysctls(spec, sc, &sp.ch("sysctls")));
    let enums: [(&str, &[&str]); 3] = [
        ("fsGroupChangePolicy", &["Always", "OnRootMismatch"]),
        ("supplementalGroupsPolicy", &["Merge", "Strict"]),
        ("seLinuxChangePolicy", &["MountOption", "Recursive"]),
    ];
    for (k, allowed) in enums {
        if let Some(v) = opt_s(sc, k).filter(|v| !allowed.contains(v)) {
            errs.push(FieldError::not_supported(sp.ch(k), sv(v), allowed));
        }
    }
    errs.extend(validate_seccomp_profile(get(sc, "seccompProfile"), &sp.ch("seccompProfile")));
    errs.extend(validate_apparmor_profile(get(sc, "appArmorProfile"), &sp.ch("appArmorProfile")));
    errs
}

fn is_sysctl_name(n: &str) -> bool {
    let seg = |x: &str| {
        let (Some(f), Some(l)) = (x.chars().next(), x.chars().last()) else { return false };
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        ok(f) && ok(l) && x.chars().all(|c| ok(c) || c == '-' || c == '_')
    };
    n.len() <= 253 && n.split(['.', '/']).all(seg)
}

fn validate_sysctls(spec: &Value, sc: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, sy) in arr(sc, "sysctls").iter().enumerate() {
        let (name, np) = (s(sy, "name"), p.ix(i).ch("name"));
        if name.is_empty() {
            errs.push(FieldError::required(&np, ""));
        } else if !is_sysctl_name(name) {
            let msg = "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
            errs.push(FieldError::invalid(&np, sv(name), msg));
        } else if names.contains(&name) {
            errs.push(FieldError::duplicate(&np, sv(name)));
        }
        if boolean(spec, "hostNetwork") == Some(true) && (name.starts_with("net.") || name.starts_with("net/")) {
            errs.push(FieldError::invalid(&np, sv(name), "may not be specified when 'hostNetwork' is true"));
        } else if boolean(spec, "hostIPC") == Some(true) && (name.starts_with("kernel.shm") || name.starts_with("kernel.msg") || name.starts_with("kernel.sem") || name.starts_with("fs.mqueue.")) {
            errs.push(FieldError::invalid(&np, sv(name), "may not be specified when 'hostIPC' is true"));
        }
        names.push(name);
    }
    errs
}

fn validate_image_pull_secrets(list: &[Value], p: &Path) -> Errs {
    list.iter()
        .enumerate()
        .filter(|(_, r)| r.as_object().is_some_and(|m| m.keys().any(|k| k != "name")))
        .map(|(i, r)| FieldError::invalid(p.ix(i), r.clone(), "only name may be set"))
        .collect()
}

fn validate_dns_config(spec: &Value, p: &Path) -> Errs {
    let cfg = get(spec, "dnsConfig");
    if s(spec, "dnsPolicy") == "None" {
        let Some(c) = cfg else { return vec![FieldError::required(p, "must provide `dnsConfig` when `dnsPolicy` is None")] };
        if arr(c, "nameservers").is_empty() {
            return vec![FieldError::required(p.ch("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")];
        }
    }
    let Some(c) = cfg else { return Vec::new() };
    let mut errs = Vec::new();
    let ns = str_list(c, "nameservers");
    if ns.len() > 3 {
        errs.push(FieldError::invalid(p.ch("nameservers"), get(c, "nameservers").cloned().unwrap_or_default(), "must not have more than 3 nameservers"));
    }
    for (i, n) in ns.iter().enumerate() {
        if parse_ip(n).is_none() {
            errs.push(FieldError::invalid(p.ch("nameservers").ix(i), sv(n), IP_MSG));
        }
    }
    let searches = str_list(c, "searches");
    if searches.len() > 32 {
        errs.push(FieldError::invalid(p.ch("searches"), get(c, "searches").cloned().unwrap_or_default(), "must not have more than 32 search paths"));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(p.ch("searches"), get(c, "searches").cloned().unwrap_or_default(), "must not have more than 2048 characters (including spaces) in the search list"));
    }
    for (i, sr) in searches.iter().enumerate() {
        if *sr != "." {
            let t = sr.strip_suffix('.').unwrap_or(sr);
            errs.extend(each_invalid(&p.ch("searches").ix(i), t, super::names::is_dns1123_subdomain_with_underscore(t)));
        }
    }
    for (i, o) in arr(c, "options").iter().enumerate() {
        if s(o, "name").is_empty() {
            errs.push(FieldError::required(p.ch("options").ix(i), "must not be empty"));
        }
    }
    errs
}

fn validate_gates(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, g) in arr(spec, "readinessGates").iter().enumerate() {
        let ct = s(g, "conditionType");
        errs.extend(each_invalid(&p.ch("readinessGates").ix(i).ch("conditionType"), ct, is_qualified_name(ct)));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, g) in arr(spec, "schedulingGates").iter().enumerate() {
        let (name, gp) = (s(g, "name"), p.ch("schedulingGates").ix(i));
        errs.extend(each_invalid(&gp, name, is_qualified_name(name)));
        if seen.contains(&name) {
            errs.push(FieldError::duplicate(&gp, sv(name)));
        }
        seen.push(name);
    }
    errs
}

fn validate_host_users(spec: &Value, host_users: bool, p: &Path) -> Errs {
    if host_users {
        return Vec::new();
    }
    [("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"), ("hostIPC", "HostIPC")]
        .iter()
        .filter(|(k, _)| boolean(spec, k) == Some(true))
        .map(|(_, shown)| FieldError::forbidden(p.ch(shown), "when `pod.Spec.HostUsers` is false"))
        .collect()
}

/// Names the spec refers to: service account, node, hostname, subdomain, priority
/// class and runtime class.
fn validate_spec_names(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (k, label) in [("serviceAccountName", false), ("nodeName", false), ("hostname", true), ("subdomain", true), ("priorityClassName", false)] {
        let v = s(spec, k);
        if !v.is_empty() {
            let msgs = if label { is_dns1123_label(v) } else { name_is_dns_subdomain(v, false) };
            errs.extend(each_invalid(&p.ch(k), v, msgs));
        }
    }
    if let Some(rc) = opt_s(spec, "runtimeClassName") {
        errs.extend(each_invalid(&p.ch("runtimeClassName"), rc, name_is_dns_subdomain(rc, false)));
    }
    errs
}

fn validate_spec_misc(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if let Some(ads) = int(spec, "activeDeadlineSeconds").filter(|a| *a < 1 || *a > i64::from(i32::MAX)) {
        errs.push(FieldError::invalid(p.ch("activeDeadlineSeconds"), Value::from(ads), inclusive_range_error(1, i64::from(i32::MAX))));
    }
    errs.extend(validate_tolerations(arr(spec, "tolerations"), &p.ch("tolerations")));
    for (i, ha) in arr(spec, "hostAliases").iter().enumerate() {
        let hp = p.ch("hostAliases").ix(i);
        if parse_ip(s(ha, "ip")).is_none() {
            errs.push(FieldError::invalid(hp.ch("ip"), sv(s(ha, "ip")), IP_MSG));
        }
        for (j, h) in str_list(ha, "hostnames").iter().enumerate() {
            errs.extend(each_invalid(&hp.ch("hostnames").ix(j), h, is_dns1123_subdomain(h)));
        }
    }
    match opt_s(spec, "preemptionPolicy") {
        Some("") => errs.push(FieldError::required(p.ch("preemptionPolicy"), "")),
        Some(pp) if pp != "PreemptLowerPriority" && pp != "Never" => {
            errs.push(FieldError::not_supported(p.ch("preemptionPolicy"), sv(pp), &["PreemptLowerPriority", "Never"]))
        }
        _ => {}
    }
    if let Some(oh) = get(spec, "overhead") {
        let r = serde_json::json!({ "limits": oh });
        errs.extend(super::resources::validate_requirements(Some(&r), &[], &p.ch("overhead")));
    }
    if let Some(os) = get(spec, "os") {
        match s(os, "name") {
            "" => errs.push(FieldError::required(p.ch("os").ch("name"), "cannot be empty")),
            "linux" | "windows" => {}
            n => errs.push(FieldError::not_supported(p.ch("os"), sv(n), &["linux", "windows"])),
        }
    }
    errs
}

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `ValidatePodSpecificAnnotations`.
pub fn validate_pod_annotations(m: Option<&Value>, spec: &Value, p: &Path) -> Errs {
    let Some(ann) = m.and_then(|m| obj(m, "annotations")) else { return Vec::new() };
    let mut errs = Vec::new();
    if let Some(v) = ann.get(MIRROR_ANNOTATION) {
        if s(spec, "nodeName").is_empty() {
            errs.push(FieldError::invalid(p.key(MIRROR_ANNOTATION), v.clone(), "must set spec.nodeName if mirror pod annotation is set"));
        }
    }
    if let Some(v) = ann.get(DELETION_COST) {
        if v.as_str().and_then(|x| x.parse::<i32>().ok()).is_none() {
            errs.push(FieldError::invalid(p.key(DELETION_COST), v.clone(), "must be a 32bit integer"));
        }
    }
    errs
}

/// The Pod kind on create and update.
pub fn validate_pod(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or(Value::Null);
    let meta = get(o, "metadata");
    let name = meta.map(|m| s(m, "name"));
    let sp = Path::new("spec");
    let mut errs = validate_pod_annotations(meta, &spec, &Path::new("metadata").ch("annotations"));
    errs.extend(validate_pod_spec(&spec, name, true, &sp));
    if opt_s(&spec, "serviceAccountName").unwrap_or("").is_empty() {
        for (vi, v) in arr(&spec, "volumes").iter().enumerate() {
            for (si, src) in get(v, "projected").map(|pr| arr(pr, "sources")).unwrap_or(&[]).iter().enumerate() {
                if get(src, "serviceAccountToken").is_some() {
                    let path = sp.ch("volumes").ix(vi).ch("projected").ch("sources").ix(si).ch("serviceAccountToken");
                    errs.push(FieldError::forbidden(path, "must not be specified when serviceAccountName is not set"));
                }
            }
        }
    }
    for key in ["containers", "initContainers"] {
        for (i, c) in arr(&spec, key).iter().enumerate() {
            errs.extend(image_whitespace(c, &sp.ch(key).ix(i)));
        }
    }
    match op {
        Op::Create => {
            if !arr(&spec, "ephemeralContainers").is_empty() {
                errs.push(FieldError::forbidden(sp.ch("ephemeralContainers"), "cannot be set on create"));
            }
            if !s(&spec, "nodeName").is_empty() && !arr(&spec, "schedulingGates").is_empty() {
                errs.push(FieldError::forbidden(sp.ch("nodeName"), "cannot be set until all schedulingGates have been cleared"));
            }
        }
        Op::Update(old) => errs.extend(super::pod_update::validate_pod_update(o, old)),
    }
    errs
}
