//! Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet,
//! ReplicationController, PodTemplate and ControllerRevision.

use serde_json::Value;

use super::meta::{selector_is_empty, selector_matches, validate_label_selector, validate_labels_and_annotations};
use super::names::is_valid_percent;
use super::pod::validate_pod_annotations;
use super::util::{get, immutable, int, nonneg, obj, s, sem_eq, sv, Errs, Path};
use super::Op;
use crate::errors::FieldError;

fn spec(o: &Value) -> Value {
    get(o, "spec").cloned().unwrap_or(Value::Null)
}

fn template_labels(t: &Value) -> Option<&Value> {
    get(t, "metadata").and_then(|m| get(m, "labels"))
}

/// `ValidatePodTemplateSpec`: template labels/annotations, pod-specific annotations and
/// the PodSpec.
pub fn validate_pod_template_spec(t: &Value, p: &Path) -> Errs {
    let m = get(t, "metadata").cloned().unwrap_or(Value::Null);
    let mut errs = validate_labels_and_annotations(&m, p);
    let sp = get(t, "spec").cloned().unwrap_or(Value::Null);
    errs.extend(validate_pod_annotations(Some(&m), &sp, &p.ch("annotations")));
    errs.extend(super::pod::validate_pod_spec(&sp, None, false, &p.ch("spec")));
    if !super::util::arr(&sp, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(p.ch("spec").ch("ephemeralContainers"), "ephemeral containers not allowed in pod template"));
    }
    errs
}

/// The selector/template agreement check shared by the controllers.
fn selector_template_errs(sel: Option<&Value>, t: &Value, p: &Path) -> Errs {
    if selector_matches(sel, template_labels(t)) == Some(false) {
        let labels = template_labels(t).cloned().unwrap_or(Value::Null);
        return vec![FieldError::invalid(p.ch("metadata").ch("labels"), labels, "`selector` does not match template `labels`")];
    }
    Vec::new()
}

/// Templates of long-running controllers must restart always and have no deadline.
fn always_restart_errs(t: &Value, kind: &str, p: &Path) -> Errs {
    let sp = get(t, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = Vec::new();
    let rp = s(&sp, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(p.ch("spec").ch("restartPolicy"), sv(rp), &["Always"]));
    }
    if get(&sp, "activeDeadlineSeconds").is_some() {
        let msg = format!("activeDeadlineSeconds in {kind} is not Supported");
        errs.push(FieldError::forbidden(p.ch("spec").ch("activeDeadlineSeconds"), msg));
    }
    errs
}

/// Selector required, valid and non-empty (`what` names the kind in the message).
fn validate_required_selector(sp: &Value, what: &str, p: &Path) -> Errs {
    match get(sp, "selector") {
        None => vec![FieldError::required(p.ch("selector"), "")],
        Some(sel) => {
            let mut errs = validate_label_selector(Some(sel), &p.ch("selector"));
            if selector_is_empty(sel) {
                errs.push(FieldError::invalid(p.ch("selector"), sel.clone(), format!("empty selector is invalid for {what}")));
            }
            errs
        }
    }
}

/// ReplicaSet and Deployment template checks (`ValidatePodTemplateSpecForReplicaSet`).
fn validate_rs_template(sp: &Value, p: &Path) -> Errs {
    let sel = get(sp, "selector");
    let t = get(sp, "template").cloned().unwrap_or(Value::Null);
    let tp = p.ch("template");
    if selector_matches(sel, None).is_none() {
        return vec![FieldError::invalid(p.ch("selector"), sel.cloned().unwrap_or(Value::Null), "invalid label selector")];
    }
    let mut errs = selector_template_errs(sel, &t, &tp);
    errs.extend(validate_pod_template_spec(&t, &tp));
    errs.extend(always_restart_errs(&t, "ReplicaSet", &tp));
    errs
}

fn percent_value(v: &Value) -> Option<i64> {
    v.as_str().filter(|x| is_valid_percent(x).is_empty()).and_then(|x| x.trim_end_matches('%').parse().ok())
}

fn int_or_percent_value(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(x)) => percent_value(&sv(x)).or_else(|| x.parse().ok()).unwrap_or(0),
        Some(n) => super::util::as_int(n).unwrap_or(0),
        None => 0,
    }
}

/// `ValidatePositiveIntOrPercent`.
pub fn validate_int_or_percent(v: Option<&Value>, p: &Path) -> Errs {
    match v {
        Some(Value::String(x)) => is_valid_percent(x).into_iter().map(|m| FieldError::invalid(p, sv(x), m)).collect(),
        Some(n) => nonneg(super::util::as_int(n), p),
        None => Vec::new(),
    }
}

/// `IsNotMoreThan100Percent`.
pub fn not_more_than_100(v: Option<&Value>, p: &Path) -> Errs {
    match v.and_then(percent_value) {
        Some(x) if x > 100 => vec![FieldError::invalid(p, v.cloned().unwrap_or_default(), "must not be greater than 100%")],
        _ => Vec::new(),
    }
}

fn validate_deployment_strategy(sp: &Value, p: &Path) -> Errs {
    let strategy = get(sp, "strategy").cloned().unwrap_or(Value::Null);
    let ru = get(&strategy, "rollingUpdate");
    match s(&strategy, "type") {
        "Recreate" if ru.is_some() => vec![FieldError::forbidden(p.ch("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")],
        "Recreate" => Vec::new(),
        "RollingUpdate" => match ru {
            None => vec![FieldError::required(p.ch("rollingUpdate"), "this should be defaulted and never be nil")],
            Some(ru) => {
                let rp = p.ch("rollingUpdate");
                let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
                let mut errs = validate_int_or_percent(mu, &rp.ch("maxUnavailable"));
                errs.extend(validate_int_or_percent(ms, &rp.ch("maxSurge")));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid(rp.ch("maxUnavailable"), mu.cloned().unwrap_or(Value::Null), "may not be 0 when `maxSurge` is 0"));
                }
                errs.extend(not_more_than_100(mu, &rp.ch("maxUnavailable")));
                errs
            }
        },
        _ => vec![FieldError::not_supported(p, strategy.clone(), &["Recreate", "RollingUpdate"])],
    }
}

pub fn validate_deployment(o: &Value, op: Op) -> Errs {
    let (sp, p) = (spec(o), Path::new("spec"));
    let mut errs = nonneg(int(&sp, "replicas"), &p.ch("replicas"));
    errs.extend(validate_required_selector(&sp, "deployment", &p));
    errs.extend(validate_rs_template(&sp, &p));
    errs.extend(validate_deployment_strategy(&sp, &p.ch("strategy")));
    errs.extend(nonneg(int(&sp, "minReadySeconds"), &p.ch("minReadySeconds")));
    errs.extend(nonneg(int(&sp, "revisionHistoryLimit"), &p.ch("revisionHistoryLimit")));
    if let Some(pds) = int(&sp, "progressDeadlineSeconds") {
        errs.extend(nonneg(Some(pds), &p.ch("progressDeadlineSeconds")));
        if pds <= int(&sp, "minReadySeconds").unwrap_or(0) {
            errs.push(FieldError::invalid(p.ch("progressDeadlineSeconds"), Value::from(pds), "must be greater than minReadySeconds"));
        }
    }
    errs.extend(selector_immutable(&sp, op));
    errs
}

fn selector_immutable(sp: &Value, op: Op) -> Errs {
    match op {
        Op::Update(old) => immutable(get(sp, "selector"), get(old, "spec").and_then(|s| get(s, "selector")), &Path::new("spec").ch("selector")),
        Op::Create => Vec::new(),
    }
}

pub fn validate_replica_set(o: &Value, op: Op) -> Errs {
    let (sp, p) = (spec(o), Path::new("spec"));
    let mut errs = nonneg(int(&sp, "replicas"), &p.ch("replicas"));
    errs.extend(nonneg(int(&sp, "minReadySeconds"), &p.ch("minReadySeconds")));
    errs.extend(validate_required_selector(&sp, "deployment", &p));
    errs.extend(validate_rs_template(&sp, &p));
    errs.extend(selector_immutable(&sp, op));
    errs
}

fn validate_ds_strategy(sp: &Value, p: &Path) -> Errs {
    let us = get(sp, "updateStrategy").cloned().unwrap_or(Value::Null);
    match s(&us, "type") {
        "OnDelete" => Vec::new(),
        "RollingUpdate" => {
            let Some(ru) = get(&us, "rollingUpdate") else { return vec![FieldError::required(p.ch("rollingUpdate"), "")] };
            let rp = p.ch("rollingUpdate");
            let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
            let mut errs = validate_int_or_percent(mu, &rp.ch("maxUnavailable"));
            errs.extend(validate_int_or_percent(ms, &rp.ch("maxSurge")));
            errs.extend(not_more_than_100(mu, &rp.ch("maxUnavailable")));
            errs.extend(not_more_than_100(ms, &rp.ch("maxSurge")));
            match (int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0) {
                (true, true) => errs.push(FieldError::invalid(rp.ch("maxSurge"), ms.cloned().unwrap_or_default(), "may not be set when maxUnavailable is non-zero")),
                (false, false) => errs.push(FieldError::required(rp.ch("maxUnavailable"), "cannot be 0 when maxSurge is 0")),
                _ => {}
            }
            errs
        }
        _ => vec![FieldError::not_supported(p, us.clone(), &["RollingUpdate", "OnDelete"])],
    }
}

pub fn validate_daemon_set(o: &Value, op: Op) -> Errs {
    let (sp, p) = (spec(o), Path::new("spec"));
    let sel = get(&sp, "selector");
    let t = get(&sp, "template").cloned().unwrap_or(Value::Null);
    let tp = p.ch("template");
    let mut errs = validate_label_selector(sel, &p.ch("selector"));
    errs.extend(selector_template_errs(sel, &t, &tp));
    if sel.is_some_and(selector_is_empty) {
        errs.push(FieldError::invalid(p.ch("selector"), sel.cloned().unwrap_or_default(), "empty selector is invalid for daemonset"));
    }
    errs.extend(validate_pod_template_spec(&t, &tp));
    errs.extend(always_restart_errs(&t, "DaemonSet", &tp));
    errs.extend(nonneg(int(&sp, "minReadySeconds"), &p.ch("minReadySeconds")));
    errs.extend(validate_ds_strategy(&sp, &p.ch("updateStrategy")));
    errs.extend(nonneg(int(&sp, "revisionHistoryLimit"), &p.ch("revisionHistoryLimit")));
    errs.extend(selector_immutable(&sp, op));
    errs
}

fn validate_sts_strategy(sp: &Value, p: &Path) -> Errs {
    let us = get(sp, "updateStrategy").cloned().unwrap_or(Value::Null);
    let ru = get(&us, "rollingUpdate");
    match s(&us, "type") {
        "" => vec![FieldError::required(p.clone(), "")],
        "OnDelete" if ru.is_some() => {
            vec![FieldError::invalid(p.ch("rollingUpdate"), ru.cloned().unwrap_or_default(), "only allowed for updateStrategy 'RollingUpdate'")]
        }
        "OnDelete" => Vec::new(),
        "RollingUpdate" => {
            let Some(ru) = ru else { return Vec::new() };
            let rp = p.ch("rollingUpdate");
            let mut errs = nonneg(int(ru, "partition"), &rp.ch("partition"));
            if let Some(mu) = get(ru, "maxUnavailable") {
                errs.extend(validate_int_or_percent(Some(mu), &rp.ch("maxUnavailable")));
                if int_or_percent_value(Some(mu)) == 0 {
                    errs.push(FieldError::invalid(rp.ch("maxUnavailable"), mu.clone(), "cannot be 0"));
                }
                errs.extend(not_more_than_100(Some(mu), &rp.ch("maxUnavailable")));
            }
            errs
        }
        _ => vec![FieldError::invalid(p.clone(), us.clone(), "must be 'RollingUpdate' or 'OnDelete'")],
    }
}

fn validate_sts_spec(sp: &Value, p: &Path) -> Errs {
    let mut errs = match s(sp, "podManagementPolicy") {
        "" => vec![FieldError::required(p.ch("podManagementPolicy"), "")],
        "OrderedReady" | "Parallel" => Vec::new(),
        x => vec![FieldError::invalid(p.ch("podManagementPolicy"), sv(x), "must be 'OrderedReady' or 'Parallel'")],
    };
    errs.extend(validate_sts_strategy(sp, &p.ch("updateStrategy")));
    if let Some(rp) = get(sp, "persistentVolumeClaimRetentionPolicy") {
        for k in ["whenDeleted", "whenScaled"] {
            let v = s(rp, k);
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(p.ch("persistentVolumeClaimRetentionPolicy").ch(k), sv(v), &["Retain", "Delete"]));
            }
        }
    }
    let service_name = s(sp, "serviceName");
    if !service_name.is_empty() {
        errs.extend(super::util::each_invalid(&p.ch("serviceName"), service_name, super::names::is_dns1123_label(service_name)));
    }
    errs.extend(nonneg(int(sp, "replicas"), &p.ch("replicas")));
    errs.extend(nonneg(int(sp, "minReadySeconds"), &p.ch("minReadySeconds")));
    if let Some(ord) = get(sp, "ordinals") {
        errs.extend(nonneg(int(ord, "start"), &p.ch("ordinals.start")));
    }
    errs.extend(validate_required_selector(sp, "statefulset", p));
    let t = get(sp, "template").cloned().unwrap_or(Value::Null);
    let tp = p.ch("template");
    match selector_matches(get(sp, "selector"), None) {
        None => errs.push(FieldError::invalid(p.ch("selector"), get(sp, "selector").cloned().unwrap_or_default(), "")),
        Some(_) => {
            errs.extend(selector_template_errs(get(sp, "selector"), &t, &tp));
            let m = get(&t, "metadata").cloned().unwrap_or(Value::Null);
            errs.extend(validate_labels_and_annotations(&m, &tp));
            errs.extend(validate_pod_annotations(Some(&m), &get(&t, "spec").cloned().unwrap_or_default(), &tp.ch("annotations")));
        }
    }
    errs.extend(always_restart_errs(&t, "StatefulSet", &tp));
    errs
}

pub fn validate_stateful_set(o: &Value, op: Op) -> Errs {
    let (sp, p) = (spec(o), Path::new("spec"));
    let mut errs = validate_sts_spec(&sp, &p);
    if let Op::Update(old) = op {
        let mut a = sp.clone();
        let b = spec(old);
        for k in ["replicas", "template", "updateStrategy", "minReadySeconds", "ordinals", "persistentVolumeClaimRetentionPolicy"] {
            if let Some(m) = a.as_object_mut() {
                match get(&b, k) {
                    Some(v) => m.insert(k.to_string(), v.clone()),
                    None => m.remove(k),
                };
            }
        }
        if !sem_eq(Some(&a), Some(&b)) {
            errs.push(FieldError::forbidden(p, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
        }
    }
    errs
}

pub fn validate_replication_controller(o: &Value, _op: Op) -> Errs {
    let (sp, p) = (spec(o), Path::new("spec"));
    let mut errs = nonneg(int(&sp, "minReadySeconds"), &p.ch("minReadySeconds"));
    let sel = obj(&sp, "selector");
    if sel.is_none_or(|m| m.is_empty()) {
        errs.push(FieldError::required(p.ch("selector"), ""));
    }
    errs.extend(nonneg(int(&sp, "replicas"), &p.ch("replicas")));
    let tp = p.ch("template");
    let Some(t) = get(&sp, "template") else {
        errs.push(FieldError::required(&tp, ""));
        return errs;
    };
    if let Some(sel) = sel.filter(|m| !m.is_empty()) {
        let labels = template_labels(t);
        if !sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
            errs.push(FieldError::invalid(tp.ch("metadata").ch("labels"), labels.cloned().unwrap_or(Value::Null), "`selector` does not match template `labels`"));
        }
    }
    errs.extend(validate_pod_template_spec(t, &tp));
    errs.extend(always_restart_errs(t, "ReplicationController", &tp));
    errs
}

pub fn validate_pod_template(o: &Value, _op: Op) -> Errs {
    let t = get(o, "template").cloned().unwrap_or(Value::Null);
    validate_pod_template_spec(&t, &Path::new("template"))
}

pub fn validate_controller_revision(o: &Value, op: Op) -> Errs {
    let mut errs = Vec::new();
    if get(o, "data").is_none() {
        errs.push(FieldError::required(Path::new("data"), "data is mandatory"));
    }
    errs.extend(nonneg(int(o, "revision"), &Path::new("revision")));
    if let Op::Update(old) = op {
        errs.extend(immutable(get(o, "data"), get(old, "data"), &Path::new("data")));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::defaults_other::{default_deployment, default_stateful_set};
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    fn deployment() -> Value {
        let mut d = json!({"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}});
        default_deployment(&mut d);
        d
    }

    #[test]
    fn valid_deployment() {
        assert!(validate_deployment(&deployment(), Op::Create).is_empty());
    }

    #[test]
    fn selector_must_match_and_exist() {
        let mut d = deployment();
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
        assert_eq!(msgs(validate_deployment(&d, Op::Create)),
            vec!["spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"]);
        d["spec"].as_object_mut().unwrap().remove("selector");
        let m = msgs(validate_deployment(&d, Op::Create));
        assert_eq!(m[0], "spec.selector: Required value");
        assert!(m[1].contains("`selector` does not match template `labels`"));
    }

    #[test]
    fn replicas_strategy_restart_policy() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!(-1);
        d["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": "0%"});
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        assert_eq!(msgs(validate_deployment(&d, Op::Create)), vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ]);
    }

    #[test]
    fn selector_is_immutable() {
        let old = deployment();
        let mut new = deployment();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "x": "y"}});
        new["spec"]["template"]["metadata"]["labels"]["x"] = json!("y");
        assert_eq!(msgs(validate_deployment(&new, Op::Update(&old))),
            vec!["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"x\":\"y\"}}: field is immutable"]);
    }

    #[test]
    fn statefulset_update_rules() {
        let mut old = json!({"spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "s",
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        default_stateful_set(&mut old);
        assert!(validate_stateful_set(&old, Op::Create).is_empty());
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(3);
        assert!(validate_stateful_set(&new, Op::Update(&old)).is_empty());
        new["spec"]["serviceName"] = json!("t");
        assert!(msgs(validate_stateful_set(&new, Op::Update(&old)))[0].starts_with("spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"));
    }

    #[test]
    fn replication_controller() {
        let rc = json!({"spec": {"selector": {"a": "b"}, "template": {"metadata": {"labels": {"a": "c"}},
            "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}}});
        assert_eq!(msgs(validate_replication_controller(&rc, Op::Create)),
            vec!["spec.template.metadata.labels: Invalid value: {\"a\":\"c\"}: `selector` does not match template `labels`"]);
    }
}
