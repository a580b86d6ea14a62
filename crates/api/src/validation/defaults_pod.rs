//! Defaults for PodSpecs (`SetDefaults_PodSpec`, containers, probes, volumes) and the
//! Pod-only ones (`SetDefaults_Pod` and what the pod strategy's PrepareForCreate adds).

use serde_json::{json, Map, Value};

use super::quantity::Quantity;
use super::util::{arr, default_int, default_ptr, default_str, each_mut, ensure_obj, get, has, obj, s, with_mut};
use super::volumes::has_source;

/// The tag `ParseImageName` reports: `latest` when neither tag nor digest is given,
/// `None` when the reference does not parse.
pub fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let (path, tag) = match name.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name, None),
    };
    let mut parts: Vec<&str> = path.split('/').collect();
    let first = parts[0];
    if parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())) {
        parts.remove(0);
    }
    let component_ok = |c: &str| !c.is_empty() && c.chars().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || "._-".contains(x));
    if !parts.iter().all(|c| component_ok(c)) || tag.is_some_and(|t| t.is_empty() || t.len() > 128) {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_string()),
    }
}

fn default_handler(h: &mut Value) {
    with_mut(h, "httpGet", |g| {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    });
}

fn default_probe(pr: &mut Value) {
    default_int(pr, "timeoutSeconds", 1);
    default_int(pr, "periodSeconds", 10);
    default_int(pr, "successThreshold", 1);
    default_int(pr, "failureThreshold", 3);
    default_handler(pr);
    with_mut(pr, "grpc", |g| default_ptr(g, "service", json!("")));
}

fn default_field_ref(f: &mut Value) {
    with_mut(f, "fieldRef", |r| default_str(r, "apiVersion", "v1"));
}

/// Rewrites the quantities of a resource map in upstream's canonical spelling.
pub fn canonicalize_list(list: &mut Value) {
    if let Some(m) = list.as_object_mut() {
        for v in m.values_mut() {
            if let Some(q) = Quantity::from_value(v) {
                *v = Value::String(q.canonical());
            }
        }
    }
}

/// `SetDefaults_Container` and the defaults of everything nested in a container.
pub fn default_container(c: &mut Value) {
    if s(c, "imagePullPolicy").is_empty() {
        let policy = if image_tag(s(c, "image")).as_deref() == Some("latest") { "Always" } else { "IfNotPresent" };
        default_str(c, "imagePullPolicy", policy);
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    each_mut(c, "ports", |p| default_str(p, "protocol", "TCP"));
    each_mut(c, "env", |e| with_mut(e, "valueFrom", default_field_ref));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        with_mut(c, probe, default_probe);
    }
    with_mut(c, "lifecycle", |lc| {
        with_mut(lc, "postStart", default_handler);
        with_mut(lc, "preStop", default_handler);
    });
    with_mut(c, "resources", |r| {
        with_mut(r, "limits", canonicalize_list);
        with_mut(r, "requests", canonicalize_list);
    });
}

/// Old in-tree volume plugins' field defaults: (source, field, default).
const SOURCE_DEFAULTS: &[(&str, &str, &str)] = &[
    ("iscsi", "iscsiInterface", "default"), ("rbd", "pool", "rbd"), ("rbd", "user", "admin"),
    ("rbd", "keyring", "/etc/ceph/keyring"), ("azureDisk", "cachingMode", "ReadWrite"), ("azureDisk", "kind", "Shared"),
    ("azureDisk", "fsType", "ext4"), ("scaleIO", "storageMode", "ThinProvisioned"), ("scaleIO", "fsType", "xfs"),
];

/// `SetDefaults_Volume` and the volume source defaults.
pub fn default_volume(v: &mut Value) {
    if !has_source(v) {
        if let Some(m) = v.as_object_mut() {
            m.insert("emptyDir".to_string(), json!({}));
        }
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        with_mut(v, key, |src| default_ptr(src, "defaultMode", json!(420)));
    }
    with_mut(v, "downwardAPI", |d| each_mut(d, "items", default_field_ref));
    with_mut(v, "hostPath", |h| default_ptr(h, "type", json!("")));
    with_mut(v, "projected", |pr| {
        each_mut(pr, "sources", |src| {
            with_mut(src, "serviceAccountToken", |t| default_ptr(t, "expirationSeconds", json!(3600)));
            with_mut(src, "downwardAPI", |d| each_mut(d, "items", default_field_ref));
        })
    });
    with_mut(v, "ephemeral", |e| {
        with_mut(e, "volumeClaimTemplate", |t| with_mut(t, "spec", |sp| default_ptr(sp, "volumeMode", json!("Filesystem"))))
    });
    with_mut(v, "azureDisk", |d| default_ptr(d, "readOnly", json!(false)));
    for (src, field, d) in SOURCE_DEFAULTS {
        with_mut(v, src, |x| default_ptr(x, field, json!(d)));
    }
}

/// `SetDefaults_PodSpec` with every nested default.
pub fn default_pod_spec(spec: &mut Value) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_ptr(spec, "securityContext", json!({}));
    default_ptr(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        each_mut(spec, key, default_container);
    }
    each_mut(spec, "volumes", default_volume);
    with_mut(spec, "overhead", canonicalize_list);
}

/// A pod template's defaults (`spec.template` of workloads).
pub fn default_template(obj: &mut Value, template_path: &[&str]) {
    let mut cur = obj;
    for key in template_path {
        match cur.get_mut(*key) {
            Some(v) if v.is_object() => cur = v,
            _ => return,
        }
    }
    if let Some(spec) = cur.get_mut("spec") {
        if spec.is_object() {
            default_pod_spec(spec);
        }
    }
}

/// Requests default to limits for containers of a Pod (not of templates).
fn default_requests_from_limits(c: &mut Value) {
    let Some(limits) = get(c, "resources").and_then(|r| obj(r, "limits")).cloned() else { return };
    let res = ensure_obj(c, "resources");
    let req = ensure_obj(res, "requests");
    if let Some(m) = req.as_object_mut() {
        for (k, v) in limits {
            m.entry(k).or_insert(v);
        }
    }
}

fn default_host_network_ports(c: &mut Value) {
    each_mut(c, "ports", |p| {
        let cp = p.get("containerPort").cloned().unwrap_or(Value::Null);
        let zero = super::util::int(p, "hostPort").unwrap_or(0) == 0;
        if let (true, false, Some(m)) = (zero, cp.is_null(), p.as_object_mut()) {
            m.insert("hostPort".to_string(), cp);
        }
    });
}

/// The Pod kind: spec defaults, `SetDefaults_Pod`, and the status PrepareForCreate sets.
pub fn default_pod(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").filter(|s| s.is_object()) else { return };
    default_pod_spec(spec);
    for key in ["containers", "initContainers"] {
        each_mut(spec, key, default_requests_from_limits);
    }
    default_ptr(spec, "enableServiceLinks", json!(true));
    if super::util::boolean(spec, "hostNetwork") == Some(true) {
        each_mut(spec, "containers", default_host_network_ports);
        each_mut(spec, "initContainers", default_host_network_ports);
    }
    let qos = pod_qos(get(pod, "spec").unwrap_or(&Value::Null));
    let gated = get(pod, "spec").is_some_and(|sp| !arr(sp, "schedulingGates").is_empty());
    let status = ensure_obj(pod, "status");
    if !has(status, "phase") {
        default_str(status, "phase", "Pending");
        if gated && !has(status, "conditions") {
            status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates", "lastProbeTime": null, "lastTransitionTime": null}]);
        }
    }
    default_str(status, "qosClass", qos);
}

fn add_positive(sum: &mut Map<String, Value>, list: Option<&Value>) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["cpu", "memory"] {
        let Some(q) = list.and_then(|l| l.get(name)).and_then(Quantity::from_value) else { continue };
        if q.is_zero() || q.is_negative() {
            continue;
        }
        found.push(name.to_string());
        let total = sum.get(name).and_then(Quantity::from_value).map(|t| t.add(&q)).unwrap_or(q);
        sum.insert(name.to_string(), Value::String(total.canonical()));
    }
    found
}

/// `GetPodQOS`: Guaranteed, Burstable or BestEffort from cpu/memory requests and limits.
pub fn pod_qos(spec: &Value) -> &'static str {
    let (mut req, mut lim) = (Map::new(), Map::new());
    let mut guaranteed = true;
    for c in arr(spec, "containers").iter().chain(arr(spec, "initContainers")) {
        let r = get(c, "resources");
        add_positive(&mut req, r.and_then(|r| get(r, "requests")));
        let found = add_positive(&mut lim, r.and_then(|r| get(r, "limits")));
        if found.len() != 2 {
            guaranteed = false;
        }
    }
    if req.is_empty() && lim.is_empty() {
        return "BestEffort";
    }
    let same = |name: &str| match (req.get(name).and_then(Quantity::from_value), lim.get(name).and_then(Quantity::from_value)) {
        (Some(a), Some(b)) => a.cmp_q(&b) == std::cmp::Ordering::Equal,
        (None, _) => true,
        _ => false,
    };
    if guaranteed && req.keys().all(|k| same(k)) && req.len() == lim.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("nginx").as_deref(), Some("latest"));
        assert_eq!(image_tag("nginx:1.25").as_deref(), Some("1.25"));
        assert_eq!(image_tag("localhost:5000/app").as_deref(), Some("latest"));
        assert_eq!(image_tag("registry.io:5000/app:v1").as_deref(), Some("v1"));
        assert_eq!(image_tag("nginx@sha256:abc").as_deref(), Some(""));
        assert_eq!(image_tag("Nginx"), None);
    }

    #[test]
    fn pod_defaults() {
        let mut pod = json!({"spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"port": 80}}}], "volumes": [{"name": "v"}, {"name": "s", "secret": {"secretName": "x"}}]}});
        default_pod(&mut pod);
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["resources"]["requests"], json!({"cpu": "500m", "memory": "128Mi"}));
        assert_eq!(c["livenessProbe"]["timeoutSeconds"], 1);
        assert_eq!(c["livenessProbe"]["httpGet"], json!({"port": 80, "path": "/", "scheme": "HTTP"}));
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"], json!({}));
        assert_eq!(pod["spec"]["volumes"][1]["secret"]["defaultMode"], 420);
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 30);
        assert_eq!(pod["spec"]["enableServiceLinks"], true);
        assert_eq!(pod["status"], json!({"phase": "Pending", "qosClass": "Guaranteed"}));
    }

    #[test]
    fn qos_classes() {
        assert_eq!(pod_qos(&json!({"containers": [{}]})), "BestEffort");
        assert_eq!(pod_qos(&json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]})), "Burstable");
        let g = json!({"containers": [{"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}}]});
        assert_eq!(pod_qos(&g), "Guaranteed");
    }
}
