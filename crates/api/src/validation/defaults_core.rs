//! Defaults of core kinds other than Pod (`pkg/apis/core/v1/defaults.go` plus the
//! strategies' PrepareForCreate where it only adds values).

use serde_json::{json, Value};

use super::defaults_pod::{canonicalize_list, default_template};
use super::util::{arr, default_ptr, default_str, each_mut, ensure_obj, get, has, obj, s, with_mut};

fn spec_mut(o: &mut Value) -> Option<&mut Value> {
    o.get_mut("spec").filter(|s| s.is_object())
}

/// Whether a Service receives traffic from outside the cluster.
pub fn externally_accessible(spec: &Value) -> bool {
    let t = s(spec, "type");
    t == "LoadBalancer" || t == "NodePort" || (t == "ClusterIP" && !arr(spec, "externalIPs").is_empty())
}

pub fn default_service(o: &mut Value) {
    let Some(spec) = spec_mut(o) else { return };
    default_str(spec, "sessionAffinity", "None");
    match s(spec, "sessionAffinity") {
        "None" => {
            if let Some(m) = spec.as_object_mut() {
                m.remove("sessionAffinityConfig");
            }
        }
        "ClientIP" => {
            let timeout = get(spec, "sessionAffinityConfig").and_then(|c| get(c, "clientIP")).and_then(|c| get(c, "timeoutSeconds"));
            if timeout.is_none() {
                spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
            }
        }
        _ => {}
    }
    default_str(spec, "type", "ClusterIP");
    each_mut(spec, "ports", |p| {
        default_str(p, "protocol", "TCP");
        let unset = match get(p, "targetPort") {
            None => true,
            Some(Value::String(x)) => x.is_empty(),
            Some(v) => super::util::as_int(v) == Some(0),
        };
        let port = p.get("port").cloned().unwrap_or(json!(0));
        if let (true, Some(m)) = (unset, p.as_object_mut()) {
            m.insert("targetPort".to_string(), port);
        }
    });
    if externally_accessible(spec) {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    let t = s(spec, "type").to_string();
    if matches!(t.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        default_ptr(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if t == "LoadBalancer" {
        default_ptr(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    let ip = s(spec, "clusterIP").to_string();
    if !ip.is_empty() && arr(spec, "clusterIPs").is_empty() {
        spec["clusterIPs"] = json!([ip]);
    }
    if t == "LoadBalancer" {
        if let Some(lb) = o.get_mut("status").and_then(|st| st.get_mut("loadBalancer")) {
            each_mut(lb, "ingress", |ing| {
                if !s(ing, "ip").is_empty() {
                    default_ptr(ing, "ipMode", json!("VIP"));
                }
            });
        }
    }
}

pub fn default_endpoints(o: &mut Value) {
    each_mut(o, "subsets", |ss| each_mut(ss, "ports", |p| default_str(p, "protocol", "TCP")));
}

/// Secret: `stringData` is merged into `data` (as conversion does) and type defaults
/// to Opaque.
pub fn default_secret(o: &mut Value) {
    if let Some(Value::Object(sd)) = o.as_object_mut().and_then(|m| m.remove("stringData")) {
        let data = ensure_obj(o, "data");
        if let Some(m) = data.as_object_mut() {
            for (k, v) in sd {
                let text = super::util::value_text(&v);
                m.insert(k, Value::String(super::config::base64_encode(text.as_bytes())));
            }
        }
    }
    default_str(o, "type", "Opaque");
}

pub fn default_namespace(o: &mut Value) {
    let name = get(o, "metadata").map(|m| s(m, "name").to_string()).unwrap_or_default();
    if !name.is_empty() {
        let meta = ensure_obj(o, "metadata");
        let labels = ensure_obj(meta, "labels");
        labels["kubernetes.io/metadata.name"] = Value::String(name);
    }
    let spec = ensure_obj(o, "spec");
    default_ptr(spec, "finalizers", json!(["kubernetes"]));
    let status = ensure_obj(o, "status");
    default_str(status, "phase", "Active");
}

pub fn default_node(o: &mut Value) {
    let Some(st) = o.get_mut("status").filter(|s| s.is_object()) else { return };
    with_mut(st, "capacity", canonicalize_list);
    with_mut(st, "allocatable", canonicalize_list);
    if !has(st, "allocatable") {
        if let Some(cap) = get(st, "capacity").cloned() {
            st["allocatable"] = cap;
        }
    }
}

pub fn default_pv(o: &mut Value) {
    if let Some(spec) = spec_mut(o) {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_ptr(spec, "volumeMode", json!("Filesystem"));
        with_mut(spec, "capacity", canonicalize_list);
    }
    let status = ensure_obj(o, "status");
    default_str(status, "phase", "Pending");
}

/// `SetDefaults_PersistentVolumeClaim` and its spec defaults (also used for claim
/// templates).
pub fn default_pvc(o: &mut Value) {
    if let Some(spec) = spec_mut(o) {
        default_ptr(spec, "volumeMode", json!("Filesystem"));
        with_mut(spec, "resources", |r| {
            with_mut(r, "requests", canonicalize_list);
            with_mut(r, "limits", canonicalize_list);
        });
    }
    let status = ensure_obj(o, "status");
    default_str(status, "phase", "Pending");
}

pub fn default_limit_range(o: &mut Value) {
    let Some(spec) = spec_mut(o) else { return };
    each_mut(spec, "limits", |item| {
        for k in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            with_mut(item, k, canonicalize_list);
        }
        if s(item, "type") != "Container" {
            return;
        }
        let (max, min) = (obj(item, "max").cloned().unwrap_or_default(), obj(item, "min").cloned().unwrap_or_default());
        let default = ensure_obj(item, "default").as_object_mut().map(|d| {
            max.iter().for_each(|(k, v)| {
                d.entry(k.clone()).or_insert(v.clone());
            });
            d.clone()
        });
        if let Some(dr) = ensure_obj(item, "defaultRequest").as_object_mut() {
            for (k, v) in default.unwrap_or_default().iter().chain(min.iter()) {
                dr.entry(k.clone()).or_insert(v.clone());
            }
        }
    });
}

pub fn default_resource_quota(o: &mut Value) {
    with_mut(o, "spec", |sp| with_mut(sp, "hard", canonicalize_list));
}

pub fn default_replication_controller(o: &mut Value) {
    let labels = get(o, "spec").and_then(|sp| get(sp, "template")).and_then(|t| get(t, "metadata")).and_then(|m| get(m, "labels")).cloned();
    if let Some(labels) = labels {
        let spec = ensure_obj(o, "spec");
        if obj(spec, "selector").is_none_or(|m| m.is_empty()) {
            spec["selector"] = labels.clone();
        }
        let meta = ensure_obj(o, "metadata");
        if obj(meta, "labels").is_none_or(|m| m.is_empty()) {
            meta["labels"] = labels;
        }
    }
    if let Some(spec) = spec_mut(o) {
        default_ptr(spec, "replicas", json!(1));
    }
    default_template(o, &["spec", "template"]);
}

pub fn default_pod_template(o: &mut Value) {
    default_template(o, &["template"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_defaults() {
        let mut svc = json!({"spec": {"ports": [{"port": 80}], "clusterIP": "10.0.0.1", "sessionAffinityConfig": {}}});
        default_service(&mut svc);
        assert_eq!(svc["spec"], json!({"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "clusterIP": "10.0.0.1",
            "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster", "clusterIPs": ["10.0.0.1"]}));
        let mut lb = json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80, "targetPort": "http"}]}});
        default_service(&mut lb);
        assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(lb["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
        assert_eq!(lb["spec"]["ports"][0]["targetPort"], "http");
    }

    #[test]
    fn secret_namespace_rc_defaults() {
        let mut sec = json!({"stringData": {"a": "hello"}});
        default_secret(&mut sec);
        assert_eq!(sec, json!({"data": {"a": "aGVsbG8="}, "type": "Opaque"}));
        let mut ns = json!({"metadata": {"name": "dev"}});
        default_namespace(&mut ns);
        assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "dev");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"]["phase"], "Active");
        let mut rc = json!({"spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        default_replication_controller(&mut rc);
        assert_eq!(rc["spec"]["selector"], json!({"app": "a"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "a"}));
        assert_eq!(rc["spec"]["replicas"], 1);
        assert_eq!(rc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
    }

    #[test]
    fn limit_range_defaults() {
        let mut lr = json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}}]}});
        default_limit_range(&mut lr);
        let item = &lr["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "2"}));
        assert_eq!(item["defaultRequest"], json!({"cpu": "2", "memory": "1Mi"}));
    }
}
