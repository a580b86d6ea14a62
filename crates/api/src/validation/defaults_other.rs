//! Defaults of the non-core groups: apps, batch, networking, autoscaling, rbac,
//! scheduling and storage.

use serde_json::{json, Map, Value};

use super::defaults_core::default_pvc;
use super::defaults_pod::default_template;
use super::util::{default_ptr, default_str, each_mut, ensure_obj, get, has, obj, s, with_mut};

fn spec(o: &mut Value) -> &mut Value {
    ensure_obj(o, "spec")
}

pub fn default_deployment(o: &mut Value) {
    let sp = spec(o);
    default_ptr(sp, "replicas", json!(1));
    let strategy = ensure_obj(sp, "strategy");
    default_str(strategy, "type", "RollingUpdate");
    if s(strategy, "type") == "RollingUpdate" {
        let ru = ensure_obj(strategy, "rollingUpdate");
        default_ptr(ru, "maxUnavailable", json!("25%"));
        default_ptr(ru, "maxSurge", json!("25%"));
    }
    default_ptr(sp, "revisionHistoryLimit", json!(10));
    default_ptr(sp, "progressDeadlineSeconds", json!(600));
    default_template(o, &["spec", "template"]);
}

pub fn default_daemon_set(o: &mut Value) {
    let sp = spec(o);
    let us = ensure_obj(sp, "updateStrategy");
    default_str(us, "type", "RollingUpdate");
    if s(us, "type") == "RollingUpdate" {
        let ru = ensure_obj(us, "rollingUpdate");
        default_ptr(ru, "maxUnavailable", json!(1));
        default_ptr(ru, "maxSurge", json!(0));
    }
    default_ptr(sp, "revisionHistoryLimit", json!(10));
    default_template(o, &["spec", "template"]);
}

pub fn default_stateful_set(o: &mut Value) {
    let sp = spec(o);
    default_str(sp, "podManagementPolicy", "OrderedReady");
    let us = ensure_obj(sp, "updateStrategy");
    if s(us, "type").is_empty() {
        us["type"] = json!("RollingUpdate");
        default_ptr(us, "rollingUpdate", json!({}));
    }
    if s(us, "type") == "RollingUpdate" {
        with_mut(us, "rollingUpdate", |ru| default_ptr(ru, "partition", json!(0)));
    }
    let retention = ensure_obj(sp, "persistentVolumeClaimRetentionPolicy");
    default_str(retention, "whenDeleted", "Retain");
    default_str(retention, "whenScaled", "Retain");
    default_ptr(sp, "replicas", json!(1));
    default_ptr(sp, "revisionHistoryLimit", json!(10));
    each_mut(sp, "volumeClaimTemplates", default_pvc);
    default_template(o, &["spec", "template"]);
}

pub fn default_replica_set(o: &mut Value) {
    default_ptr(spec(o), "replicas", json!(1));
    default_template(o, &["spec", "template"]);
}

const LEGACY_JOB_NAME: &str = "job-name";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID: &str = "controller-uid";
pub const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

/// The Job strategy's selector generation (needs `metadata.uid`, so it only happens
/// once the caller has assigned one).
fn generate_job_selector(o: &mut Value) {
    let meta = get(o, "metadata").cloned().unwrap_or_default();
    let (name, uid) = (s(&meta, "name").to_string(), s(&meta, "uid").to_string());
    let manual = get(o, "spec").and_then(|sp| sp.get("manualSelector")).and_then(Value::as_bool) == Some(true);
    if uid.is_empty() || manual {
        return;
    }
    let sp = spec(o);
    let template = ensure_obj(sp, "template");
    let tmeta = ensure_obj(template, "metadata");
    let labels = ensure_obj(tmeta, "labels").as_object_mut().expect("object");
    for (k, v) in [(CONTROLLER_UID, &uid), (JOB_NAME, &name), (LEGACY_CONTROLLER_UID, &uid), (LEGACY_JOB_NAME, &name)] {
        labels.entry(k.to_string()).or_insert_with(|| Value::String(v.clone()));
    }
    let selector = ensure_obj(sp, "selector");
    let ml = ensure_obj(selector, "matchLabels").as_object_mut().expect("object");
    ml.entry(CONTROLLER_UID.to_string()).or_insert(Value::String(uid));
}

pub fn default_job(o: &mut Value) {
    generate_job_selector(o);
    let sp = spec(o);
    if !has(sp, "completions") && !has(sp, "parallelism") {
        sp["completions"] = json!(1);
    }
    default_ptr(sp, "parallelism", json!(1));
    let backoff = if has(sp, "backoffLimitPerIndex") { i64::from(i32::MAX) } else { 6 };
    default_ptr(sp, "backoffLimit", json!(backoff));
    default_ptr(sp, "completionMode", json!("NonIndexed"));
    default_ptr(sp, "suspend", json!(false));
    let has_pfp = has(sp, "podFailurePolicy");
    with_mut(sp, "podFailurePolicy", |pfp| {
        each_mut(pfp, "rules", |r| each_mut(r, "onPodConditions", |c| default_str(c, "status", "True")))
    });
    default_ptr(sp, "podReplacementPolicy", json!(if has_pfp { "Failed" } else { "TerminatingOrFailed" }));
    default_ptr(sp, "manualSelector", json!(false));
    let tlabels = get(sp, "template").and_then(|t| get(t, "metadata")).and_then(|m| get(m, "labels")).cloned();
    if let Some(labels) = tlabels {
        let meta = ensure_obj(o, "metadata");
        if obj(meta, "labels").is_none_or(Map::is_empty) {
            meta["labels"] = labels;
        }
    }
    default_template(o, &["spec", "template"]);
}

pub fn default_cron_job(o: &mut Value) {
    let sp = spec(o);
    default_str(sp, "concurrencyPolicy", "Allow");
    default_ptr(sp, "suspend", json!(false));
    default_ptr(sp, "successfulJobsHistoryLimit", json!(3));
    default_ptr(sp, "failedJobsHistoryLimit", json!(1));
    default_template(o, &["spec", "jobTemplate", "spec", "template"]);
}

pub fn default_network_policy(o: &mut Value) {
    let sp = spec(o);
    for dir in ["ingress", "egress"] {
        each_mut(sp, dir, |rule| each_mut(rule, "ports", |p| default_ptr(p, "protocol", json!("TCP"))));
    }
    if super::util::arr(sp, "policyTypes").is_empty() {
        let mut types = vec![json!("Ingress")];
        if !super::util::arr(sp, "egress").is_empty() {
            types.push(json!("Egress"));
        }
        sp["policyTypes"] = Value::Array(types);
    }
}

pub fn default_ingress_class(o: &mut Value) {
    with_mut(spec(o), "parameters", |p| default_ptr(p, "scope", json!("Cluster")));
}

fn scale_rules(rules: &mut Value, window: i64, policies: Value) {
    default_ptr(rules, "stabilizationWindowSeconds", json!(window));
    default_ptr(rules, "selectPolicy", json!("Max"));
    if super::util::arr(rules, "policies").is_empty() {
        rules["policies"] = policies;
    }
}

pub fn default_hpa(o: &mut Value) {
    let v1 = s(o, "apiVersion") == "autoscaling/v1";
    let sp = spec(o);
    default_ptr(sp, "minReplicas", json!(1));
    if v1 {
        return;
    }
    if super::util::arr(sp, "metrics").is_empty() {
        sp["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
    if let Some(b) = sp.get_mut("behavior").filter(|b| b.is_object()) {
        let up = ensure_obj(b, "scaleUp");
        scale_rules(up, 0, json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]));
        let down = ensure_obj(b, "scaleDown");
        scale_rules(down, 300, json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]));
    }
}

pub fn default_role_binding(o: &mut Value) {
    let rr = ensure_obj(o, "roleRef");
    default_str(rr, "apiGroup", "rbac.authorization.k8s.io");
    each_mut(o, "subjects", |sub| {
        let group = match s(sub, "kind") {
            "User" | "Group" => "rbac.authorization.k8s.io",
            _ => "",
        };
        default_str(sub, "apiGroup", group);
    });
}

pub fn default_priority_class(o: &mut Value) {
    default_ptr(o, "preemptionPolicy", json!("PreemptLowerPriority"));
}

pub fn default_storage_class(o: &mut Value) {
    default_ptr(o, "reclaimPolicy", json!("Delete"));
    default_ptr(o, "volumeBindingMode", json!("Immediate"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_and_statefulset() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}});
        default_deployment(&mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}));
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        let mut ss = json!({"spec": {}});
        default_stateful_set(&mut ss);
        assert_eq!(ss["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
        assert_eq!(ss["spec"]["persistentVolumeClaimRetentionPolicy"], json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
        assert_eq!(ss["spec"]["podManagementPolicy"], "OrderedReady");
    }

    #[test]
    fn jobs() {
        let mut j = json!({"metadata": {"name": "pi", "uid": "u1"}, "spec": {"template": {"spec": {"restartPolicy": "Never"}}}});
        default_job(&mut j);
        assert_eq!(j["spec"]["completions"], 1);
        assert_eq!(j["spec"]["backoffLimit"], 6);
        assert_eq!(j["spec"]["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(j["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}));
        assert_eq!(j["spec"]["template"]["metadata"]["labels"]["job-name"], "pi");
        assert_eq!(j["metadata"]["labels"]["controller-uid"], "u1");
        let mut cj = json!({"spec": {"schedule": "* * * * *"}});
        default_cron_job(&mut cj);
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    }

    #[test]
    fn others() {
        let mut np = json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}});
        default_network_policy(&mut np);
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let mut hpa = json!({"apiVersion": "autoscaling/v2", "spec": {"behavior": {}}});
        default_hpa(&mut hpa);
        assert_eq!(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
        assert_eq!(hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 300);
        let mut rb = json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s"}]});
        default_role_binding(&mut rb);
        assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert!(rb["subjects"][1].get("apiGroup").is_none());
    }
}
