//! What may change in a Pod after creation (`ValidatePodUpdate`) and in its status
//! (`ValidatePodStatusUpdate`).

use serde_json::Value;

use super::affinity::validate_tolerations;
use super::names::{inclusive_range_error, is_qualified_name, name_is_dns_subdomain, parse_ip, IP_MSG};
use super::util::{arr, diff, each_invalid, get, immutable, int, obj, s, sem_eq, sv, Errs, Path};
use crate::errors::FieldError;

const UPDATABLE: &[&str] = &[
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

const MIRROR: &str = "kubernetes.io/config.mirror";
const APPARMOR_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn spec_of(o: &Value) -> Value {
    get(o, "spec").cloned().unwrap_or(Value::Null)
}

fn annotations(o: &Value) -> serde_json::Map<String, Value> {
    get(o, "metadata").and_then(|m| obj(m, "annotations")).cloned().unwrap_or_default()
}

/// `ValidatePodSpecificAnnotationUpdates`: mirror and AppArmor annotations are fixed.
pub fn validate_annotation_updates(new: &Value, old: &Value) -> Errs {
    let (na, oa) = (annotations(new), annotations(old));
    let p = Path::new("metadata").ch("annotations");
    let mut errs = Vec::new();
    for (k, ov) in &oa {
        if na.get(k) == Some(ov) {
            continue;
        }
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(p.key(k), "may not remove or update AppArmor annotations"));
        }
        if k == MIRROR {
            errs.push(FieldError::forbidden(p.key(k), "may not remove or update mirror pod annotation"));
        }
    }
    for k in na.keys().filter(|k| !oa.contains_key(*k)) {
        if k.starts_with(APPARMOR_PREFIX) {
            errs.push(FieldError::forbidden(p.key(k), "may not add AppArmor annotations"));
        }
        if k == MIRROR {
            errs.push(FieldError::forbidden(p.key(k), "may not add mirror pod annotation"));
        }
    }
    errs
}

/// The update-only rules of `ValidatePodUpdate` (the new pod's own validity is
/// checked by the caller).
pub fn validate_pod_update(new: &Value, old: &Value) -> Errs {
    let (ns, os) = (spec_of(new), spec_of(old));
    let sp = Path::new("spec");
    let mut errs = validate_annotation_updates(new, old);
    for key in ["containers", "initContainers"] {
        let (nc, oc) = (arr(&ns, key), arr(&os, key));
        if nc.len() != oc.len() {
            errs.push(FieldError::forbidden(sp.ch(key), "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, c) in nc.iter().enumerate() {
            if s(c, "image").is_empty() {
                errs.push(FieldError::required(sp.ch(key).ix(i).ch("image"), ""));
            }
            errs.extend(super::pod::image_whitespace(c, &sp.ch(key).ix(i)));
        }
    }
    if let Some(e) = deadline_errors(&ns, &os, &sp) {
        errs.push(e);
        if int(&ns, "activeDeadlineSeconds").is_some() {
            return errs;
        }
    }
    errs.extend(only_added_tolerations(&ns, &os, &sp.ch("tolerations")));
    errs.extend(only_deleted_gates(&ns, &os, &sp.ch("schedulingGates")));
    if sem_eq(Some(&ns), Some(&os)) {
        return errs;
    }
    let (munged, gate_errs) = munge(&ns, &os, &sp);
    errs.extend(gate_errs);
    if !sem_eq(Some(&munged), Some(&os)) {
        let msg = format!("pod updates may not change fields other than {}\n{}", UPDATABLE.join(","), diff(Some(&os), Some(&munged)));
        errs.push(FieldError::forbidden(sp, msg));
    }
    errs
}

fn deadline_errors(ns: &Value, os: &Value, sp: &Path) -> Option<FieldError> {
    let p = sp.ch("activeDeadlineSeconds");
    match (int(ns, "activeDeadlineSeconds"), int(os, "activeDeadlineSeconds")) {
        (Some(n), _) if n < 0 || n > i64::from(i32::MAX) => Some(FieldError::invalid(p, Value::from(n), inclusive_range_error(0, i64::from(i32::MAX)))),
        (Some(n), Some(o)) if o < n => Some(FieldError::invalid(p, Value::from(n), "must be less than or equal to previous value")),
        (None, Some(_)) => Some(FieldError::invalid(p, Value::Null, "must not update from a positive integer to nil value")),
        _ => None,
    }
}

fn only_added_tolerations(ns: &Value, os: &Value, p: &Path) -> Errs {
    let new = arr(ns, "tolerations");
    let strip = |t: &Value| {
        let mut t = t.clone();
        if let Some(m) = t.as_object_mut() {
            m.remove("tolerationSeconds");
        }
        t
    };
    for o in arr(os, "tolerations") {
        if !new.iter().any(|n| sem_eq(Some(&strip(n)), Some(&strip(o)))) {
            return vec![FieldError::forbidden(p, "existing toleration can not be modified except its tolerationSeconds")];
        }
    }
    validate_tolerations(new, p)
}

fn only_deleted_gates(ns: &Value, os: &Value, p: &Path) -> Errs {
    let old: Vec<&str> = arr(os, "schedulingGates").iter().map(|g| s(g, "name")).collect();
    arr(ns, "schedulingGates")
        .iter()
        .enumerate()
        .filter(|(_, g)| !old.contains(&s(g, "name")))
        .map(|(i, g)| {
            let msg = format!("only deletion is allowed, but found new scheduling gate '{}'", s(g, "name"));
            FieldError::forbidden(p.ix(i).ch("name"), msg)
        })
        .collect()
}

/// The new spec with the fields that may change replaced by their old values.
fn munge(ns: &Value, os: &Value, sp: &Path) -> (Value, Errs) {
    let mut m = ns.clone();
    let mut errs = Vec::new();
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = m.get_mut(key) {
            for (c, o) in cs.iter_mut().zip(arr(os, key)) {
                if let Some(cm) = c.as_object_mut() {
                    match get(o, "image") {
                        Some(img) => cm.insert("image".into(), img.clone()),
                        None => cm.remove("image"),
                    };
                }
            }
        }
    }
    for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        copy_field(&mut m, os, key);
    }
    let tgps = (int(os, "terminationGracePeriodSeconds"), int(ns, "terminationGracePeriodSeconds"));
    if matches!(tgps, (Some(o), Some(1)) if o < 0) {
        copy_field(&mut m, os, "terminationGracePeriodSeconds");
    }
    if !arr(os, "schedulingGates").is_empty() && !sem_eq(get(ns, "nodeSelector"), get(os, "nodeSelector")) {
        let (nsel, osel) = (obj(ns, "nodeSelector").cloned().unwrap_or_default(), obj(os, "nodeSelector").cloned().unwrap_or_default());
        if osel.iter().any(|(k, v)| nsel.get(k) != Some(v)) {
            let msg = "only additions to spec.nodeSelector are allowed (no mutations or deletions)";
            errs.push(FieldError::invalid(sp.ch("nodeSelector"), Value::Object(nsel), msg));
        }
        copy_field(&mut m, os, "nodeSelector");
    }
    (m, errs)
}

fn copy_field(m: &mut Value, from: &Value, key: &str) {
    if let Some(obj) = m.as_object_mut() {
        match get(from, key) {
            Some(v) => obj.insert(key.to_string(), v.clone()),
            None => obj.remove(key),
        };
    }
}

/// `ValidatePodStatusUpdate`.
pub fn validate_pod_status(new: &Value, old: &Value) -> Errs {
    let mut errs = validate_annotation_updates(new, old);
    let (nst, ost) = (get(new, "status").cloned().unwrap_or_default(), get(old, "status").cloned().unwrap_or_default());
    for (i, c) in arr(&nst, "conditions").iter().enumerate() {
        let t = s(c, "type");
        if !["PodScheduled", "Ready", "Initialized"].contains(&t) {
            errs.extend(each_invalid(&Path::new("metadata").ch("conditions").ix(i).ch("Type"), t, is_qualified_name(t)));
        }
    }
    let p = Path::new("status");
    if s(&spec_of(new), "nodeName") != s(&spec_of(old), "nodeName") {
        errs.push(FieldError::forbidden(p.ch("nodeName"), "may not be changed directly"));
    }
    let nom = s(&nst, "nominatedNodeName");
    if nom != s(&ost, "nominatedNodeName") && !nom.is_empty() {
        errs.extend(each_invalid(&p.ch("nominatedNodeName"), nom, name_is_dns_subdomain(nom, false)));
    }
    errs.extend(immutable(get(&nst, "qosClass"), get(&ost, "qosClass"), &p.ch("qosClass")));
    let old_spec = spec_of(old);
    let restart = s(&old_spec, "restartPolicy");
    errs.extend(state_transitions(&nst, &ost, "containerStatuses", restart, &p));
    errs.extend(state_transitions(&nst, &ost, "initContainerStatuses", restart, &p));
    errs.extend(state_transitions(&nst, &ost, "ephemeralContainerStatuses", "Never", &p));
    errs.extend(validate_ips(&nst, "podIPs", &p));
    errs.extend(validate_ips(&nst, "hostIPs", &p));
    if let Some(first) = arr(&nst, "hostIPs").first() {
        if s(first, "ip") != s(&nst, "hostIP") {
            errs.push(FieldError::invalid(p.ch("hostIPs").ix(0).ch("ip"), sv(s(first, "ip")), "must be equal to `hostIP`"));
        }
    }
    errs
}

fn state_transitions(nst: &Value, ost: &Value, key: &str, restart: &str, p: &Path) -> Errs {
    if restart == "Always" {
        return Vec::new();
    }
    let mut errs = Vec::new();
    for (i, o) in arr(ost, key).iter().enumerate() {
        let Some(term) = get(o, "state").and_then(|st| get(st, "terminated")) else { continue };
        if int(term, "exitCode").unwrap_or(0) != 0 && restart == "OnFailure" {
            continue;
        }
        let still = |n: &Value| s(n, "name") == s(o, "name") && get(n, "state").and_then(|st| get(st, "terminated")).is_none();
        if arr(nst, key).iter().any(still) {
            errs.push(FieldError::forbidden(p.ch(key).ix(i).ch("state"), "may not be transitioned to non-terminated state"));
        }
    }
    errs
}

fn validate_ips(st: &Value, key: &str, p: &Path) -> Errs {
    let list = arr(st, key);
    let fp = p.ch(key);
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, ip) in list.iter().enumerate() {
        let addr = s(ip, "ip");
        if parse_ip(addr).is_none() {
            errs.push(FieldError::invalid(fp.ix(i), sv(addr), IP_MSG));
        }
        if seen.contains(&addr) {
            errs.push(FieldError::duplicate(fp.ix(i), ip.clone()));
        }
        seen.push(addr);
    }
    if list.len() > 1 {
        let v4 = seen.iter().filter(|a| parse_ip(a).is_some_and(|x| x.is_ipv4())).count();
        if list.len() > 2 || v4 != 1 {
            errs.push(FieldError::invalid(&fp, Value::Array(list.to_vec()), "may specify no more than one IP for each IP family"));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    fn pod() -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}], "restartPolicy": "Always",
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]}})
    }

    #[test]
    fn image_and_deadline_may_change() {
        let old = pod();
        let mut new = pod();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        new["spec"]["activeDeadlineSeconds"] = json!(30);
        new["spec"]["tolerations"][0]["tolerationSeconds"] = json!(20);
        assert!(validate_pod_update(&new, &old).is_empty());
    }

    #[test]
    fn other_changes_are_forbidden() {
        let old = pod();
        let mut new = pod();
        new["spec"]["restartPolicy"] = json!("Never");
        let m = msgs(validate_pod_update(&new, &old));
        assert!(m[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
        let mut more = pod();
        more["spec"]["containers"] = json!([{"name": "c", "image": "x"}, {"name": "d", "image": "y"}]);
        assert_eq!(msgs(validate_pod_update(&more, &old)), vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]);
        let mut tol = pod();
        tol["spec"]["tolerations"] = json!([]);
        assert_eq!(msgs(validate_pod_update(&tol, &old)), vec!["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]);
    }

    #[test]
    fn status_rules() {
        let old = json!({"spec": {"restartPolicy": "Never"}, "status": {"qosClass": "BestEffort",
            "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 0}}}]}});
        let new = json!({"spec": {"restartPolicy": "Never", "nodeName": "n1"}, "status": {"qosClass": "Burstable",
            "containerStatuses": [{"name": "c", "state": {"running": {}}}], "podIPs": [{"ip": "bad"}]}});
        assert_eq!(msgs(validate_pod_status(&new, &old)), vec![
            "status.nodeName: Forbidden: may not be changed directly",
            "status.qosClass: Invalid value: \"Burstable\": field is immutable",
            "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state",
            "status.podIPs[0]: Invalid value: \"bad\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ]);
    }
}
