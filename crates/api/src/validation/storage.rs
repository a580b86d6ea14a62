//! PersistentVolume, PersistentVolumeClaim and StorageClass.

use std::cmp::Ordering;

use serde_json::Value;

use super::meta::validate_label_selector;
use super::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name, name_is_dns_subdomain};
use super::resources::{parse_list, quantity_at, validate_quantity_value};
use super::util::{arr, diff, each_invalid, get, immutable, obj, opt_s, s, sem_eq, str_list, sv, Errs, Path};
use super::volumes::{required_fields, validate_host_path, validate_one_source, validate_path_no_backsteps};
use super::Op;
use crate::errors::FieldError;

const ACCESS_MODES: &[&str] = &["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

fn validate_access_modes(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let (mut rwop, mut other) = (false, false);
    for m in str_list(spec, "accessModes") {
        if !ACCESS_MODES.contains(&m) {
            errs.push(FieldError::not_supported(p, sv(m), ACCESS_MODES));
        } else if m == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.push(FieldError::forbidden(p, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

fn validate_class_name(v: &Value, key: &str, p: &Path) -> Errs {
    match opt_s(v, key) {
        Some(name) if !name.is_empty() => each_invalid(&p.ch(key), name, name_is_dns_subdomain(name, false)),
        _ => Vec::new(),
    }
}

fn validate_volume_mode(v: &Value, p: &Path) -> Errs {
    match opt_s(v, "volumeMode") {
        Some(m) if m != "Block" && m != "Filesystem" => vec![FieldError::not_supported(p.ch("volumeMode"), sv(m), &["Block", "Filesystem"])],
        _ => Vec::new(),
    }
}

/// `ValidatePersistentVolumeClaimSpec`.
pub fn validate_pvc_spec(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if arr(spec, "accessModes").is_empty() {
        errs.push(FieldError::required(p.ch("accessModes"), "at least 1 access mode is required"));
    }
    errs.extend(validate_label_selector(get(spec, "selector"), &p.ch("selector")));
    errs.extend(validate_access_modes(spec, &p.ch("accessModes")));
    let sp = p.ch("resources").key("storage");
    match get(spec, "resources").and_then(|r| get(r, "requests")).and_then(|r| get(r, "storage")) {
        None => errs.push(FieldError::required(&sp, "")),
        Some(v) => match super::resources::parse_quantity(v, &sp) {
            Err(e) => errs.push(e),
            Ok(q) if q.is_negative() || q.is_zero() => errs.push(FieldError::invalid(&sp, sv(&q.canonical()), "must be greater than zero")),
            Ok(q) => errs.extend(validate_quantity_value("storage", &q, &sp)),
        },
    }
    errs.extend(validate_class_name(spec, "storageClassName", p));
    errs.extend(validate_volume_mode(spec, p));
    if let Some(ds) = get(spec, "dataSource") {
        errs.extend(validate_data_source(ds, &p.ch("dataSource")));
    }
    if let Some(dsr) = get(spec, "dataSourceRef") {
        errs.extend(validate_data_source(dsr, &p.ch("dataSourceRef")));
        if let Some(ns) = opt_s(dsr, "namespace").filter(|n| !n.is_empty()) {
            errs.extend(each_invalid(&p.ch("dataSourceRef").ch("namespace"), ns, is_dns1123_label(ns)));
        }
    }
    errs.extend(validate_data_source_pair(spec, p));
    errs.extend(validate_class_name(spec, "volumeAttributesClassName", p));
    errs
}

fn validate_data_source(ds: &Value, p: &Path) -> Errs {
    let mut errs = required_fields(ds, &["name", "kind"], p);
    let group = s(ds, "apiGroup");
    if group.is_empty() && s(ds, "kind") != "PersistentVolumeClaim" {
        errs.push(FieldError::invalid(p, sv(s(ds, "kind")), "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
    }
    if !group.is_empty() {
        errs.extend(each_invalid(&p.ch("apiGroup"), group, is_dns1123_subdomain(group)));
    }
    errs
}

fn validate_data_source_pair(spec: &Value, p: &Path) -> Errs {
    let (ds, dsr) = (get(spec, "dataSource"), get(spec, "dataSourceRef"));
    let cross_ns = dsr.and_then(|r| opt_s(r, "namespace")).is_some_and(|n| !n.is_empty());
    match (ds, dsr) {
        (Some(_), Some(_)) if cross_ns => {
            vec![FieldError::invalid(p, sv(p.ch("dataSource").as_str()), "may not be specified when dataSourceRef.namespace is specified")]
        }
        (Some(a), Some(b)) if ["apiGroup", "kind", "name"].iter().any(|k| !sem_eq(get(a, k), get(b, k))) => {
            vec![FieldError::invalid(p, sv(p.ch("dataSource").as_str()), "must match dataSourceRef")]
        }
        _ => Vec::new(),
    }
}

/// PersistentVolumeClaim create/update.
pub fn validate_pvc(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = validate_pvc_spec(&spec, &Path::new("spec"));
    if let Op::Update(old) = op {
        errs.extend(validate_pvc_update(o, old));
    }
    errs
}

fn validate_pvc_update(new: &Value, old: &Value) -> Errs {
    let mut errs = Vec::new();
    let (ns, os) = (get(new, "spec").cloned().unwrap_or(Value::Null), get(old, "spec").cloned().unwrap_or(Value::Null));
    let (mut nc, mut oc) = (ns.clone(), os.clone());
    if s(&os, "volumeName").is_empty() {
        set(&mut oc, "volumeName", get(&ns, "volumeName").cloned());
    }
    let old_ann = get(old, "metadata").and_then(|m| obj(m, "annotations")).and_then(|a| a.get(STORAGE_CLASS_ANNOTATION)).and_then(Value::as_str);
    let new_ann = get(new, "metadata").and_then(|m| obj(m, "annotations")).and_then(|a| a.get(STORAGE_CLASS_ANNOTATION)).and_then(Value::as_str);
    if old_ann != new_ann {
        let p = Path::new("metadata").ch("annotations").ch(STORAGE_CLASS_ANNOTATION);
        errs.push(FieldError::invalid(p, sv(new_ann.unwrap_or("")), "field is immutable"));
    }
    if opt_s(&os, "storageClassName").is_none() {
        if let Some(sc) = opt_s(&ns, "storageClassName") {
            if old_ann.is_none_or(|a| a == sc) {
                set(&mut nc, "storageClassName", None);
            }
        }
    }
    let bound = get(new, "status").map(|st| s(st, "phase")) == Some("Bound");
    if bound {
        let old_storage = at_requests(&os).and_then(|r| r.get("storage")).cloned();
        if let Some(req) = nc.get_mut("resources").and_then(|r| r.get_mut("requests")).and_then(Value::as_object_mut) {
            match old_storage {
                Some(v) => req.insert("storage".to_string(), v),
                None => req.remove("storage"),
            };
        }
        set(&mut nc, "volumeAttributesClassName", get(&os, "volumeAttributesClassName").cloned());
    }
    if !sem_eq(Some(&nc), Some(&oc)) {
        let msg = format!("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}", diff(Some(&oc), Some(&nc)));
        errs.push(FieldError::forbidden(Path::new("spec"), msg));
    }
    errs.extend(validate_shrink(new, &ns, &os));
    errs.extend(immutable(get(&ns, "volumeMode"), get(&os, "volumeMode"), &Path::new("volumeMode")));
    errs
}

fn at_requests(spec: &Value) -> Option<&serde_json::Map<String, Value>> {
    get(spec, "resources").and_then(|r| obj(r, "requests"))
}

fn set(v: &mut Value, k: &str, x: Option<Value>) {
    if let Some(m) = v.as_object_mut() {
        match x {
            Some(x) => m.insert(k.to_string(), x),
            None => m.remove(k),
        };
    }
}

fn validate_shrink(new: &Value, ns: &Value, os: &Value) -> Errs {
    let new_q = quantity_at(get(ns, "resources").and_then(|r| get(r, "requests")), "storage");
    let old_q = quantity_at(get(os, "resources").and_then(|r| get(r, "requests")), "storage");
    let (Some(n), Some(o)) = (new_q, old_q) else { return Vec::new() };
    if n.cmp_q(&o) != Ordering::Less {
        return Vec::new();
    }
    let cap = quantity_at(get(new, "status").and_then(|st| get(st, "capacity")), "storage").unwrap_or_else(super::quantity::Quantity::zero);
    if n.cmp_q(&cap) != Ordering::Greater {
        let p = Path::new("spec").ch("resources").ch("requests").ch("storage");
        return vec![FieldError::forbidden(p, "field can not be less than status.capacity")];
    }
    Vec::new()
}

/// PersistentVolumeClaim status updates.
pub fn validate_pvc_status(new: &Value, _old: &Value) -> Errs {
    let mut errs = Vec::new();
    if get(new, "spec").map(|sp| arr(sp, "accessModes").is_empty()).unwrap_or(true) {
        errs.push(FieldError::required(Path::new("Spec").ch("accessModes"), ""));
    }
    let cp = Path::new("status").ch("capacity");
    for (name, q) in parse_list(get(new, "status").and_then(|st| get(st, "capacity")), &cp, &mut errs) {
        if q.is_negative() {
            errs.push(FieldError::invalid(cp.key(&name), sv(&q.canonical()), "must be a valid resource quantity"));
        }
    }
    errs
}

/// PersistentVolume source keys in upstream's checking order (flexVolume never conflicts).
const PV_SOURCES: &[(&str, &str, &str)] = &[
    ("hostPath", "hostPath", "hostPath"), ("gcePersistentDisk", "gcePersistentDisk", "persistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore", "awsElasticBlockStore"), ("glusterfs", "glusterfs", "glusterfs"),
    ("flocker", "flocker", "flocker"), ("nfs", "nfs", "nfs"), ("rbd", "rbd", "rbd"), ("quobyte", "quobyte", "quobyte"),
    ("cephfs", "cephFS", "cephfs"), ("iscsi", "iscsi", "iscsi"), ("cinder", "cinder", "cinder"), ("fc", "fc", "fc"),
    ("flexVolume", "", "flexVolume"), ("azureFile", "azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume", "vsphereVolume"), ("photonPersistentDisk", "photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO", "scaleIO"), ("local", "local", "local"), ("storageos", "storageos", "storageos"), ("csi", "csi", "csi"),
];

fn validate_pv_source(key: &str, src: &Value, has_affinity: bool, p: &Path, top: &Path) -> Errs {
    match key {
        "hostPath" => validate_host_path(src, p),
        "local" => {
            let path = s(src, "path");
            let mut errs = if path.is_empty() { vec![FieldError::required(p.ch("path"), "")] } else { validate_path_no_backsteps(path, &p.ch("path")) };
            if !has_affinity {
                errs.push(FieldError::required(top.ch("nodeAffinity"), "Local volume requires node affinity"));
            }
            errs
        }
        "csi" => {
            let mut errs = super::volumes::validate_csi_driver_name(s(src, "driver"), &p.ch("driver"));
            errs.extend(required_fields(src, &["volumeHandle"], p));
            errs
        }
        _ => validate_one_source(key, src, p),
    }
}

fn validate_pv_spec(spec: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if arr(spec, "accessModes").is_empty() {
        errs.push(FieldError::required(p.ch("accessModes"), ""));
    }
    errs.extend(validate_access_modes(spec, &p.ch("accessModes")));
    errs.extend(validate_pv_capacity(spec, p));
    match opt_s(spec, "persistentVolumeReclaimPolicy") {
        Some(r) if !r.is_empty() && !["Delete", "Recycle", "Retain"].contains(&r) => {
            errs.push(FieldError::not_supported(p.ch("persistentVolumeReclaimPolicy"), sv(r), &["Delete", "Recycle", "Retain"]))
        }
        _ => {}
    }
    let affinity = get(spec, "nodeAffinity");
    if let Some(na) = affinity {
        match get(na, "required") {
            Some(req) => errs.extend(super::affinity::validate_node_selector(req, &p.ch("nodeAffinity").ch("required"))),
            None => errs.push(FieldError::required(p.ch("nodeAffinity").ch("required"), "must specify required node constraints")),
        }
    }
    let mut n = 0;
    for (key, forbid, vp) in PV_SOURCES {
        let Some(src) = get(spec, key) else { continue };
        if n > 0 && !forbid.is_empty() {
            errs.push(FieldError::forbidden(p.ch(forbid), "may not specify more than 1 volume type"));
            continue;
        }
        n += 1;
        errs.extend(validate_pv_source(key, src, affinity.is_some(), &p.ch(vp), p));
    }
    if n == 0 {
        errs.push(FieldError::required(p, "must specify a volume type"));
    }
    let host_root = get(spec, "hostPath").is_some_and(|h| s(h, "path").trim_end_matches('/').is_empty());
    if host_root && s(spec, "persistentVolumeReclaimPolicy") == "Recycle" {
        errs.push(FieldError::forbidden(p.ch("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"));
    }
    errs.extend(validate_class_name(spec, "storageClassName", p));
    errs.extend(validate_volume_mode(spec, p));
    errs
}

fn validate_pv_capacity(spec: &Value, p: &Path) -> Errs {
    let cp = p.ch("capacity");
    let cap = obj(spec, "capacity");
    let mut errs = Vec::new();
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::required(&cp, ""));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        errs.push(FieldError::not_supported(&cp, get(spec, "capacity").cloned().unwrap_or(Value::Null), &["storage"]));
    }
    for (name, q) in parse_list(get(spec, "capacity"), &cp, &mut errs) {
        if q.is_negative() {
            errs.push(FieldError::invalid(cp.key(&name), sv(&q.canonical()), "must be a valid resource quantity"));
        }
        if q.is_negative() || q.is_zero() {
            errs.push(FieldError::invalid(cp.key(&name), sv(&q.canonical()), "must be greater than zero"));
        }
    }
    errs
}

/// PersistentVolume create/update.
pub fn validate_pv(o: &Value, op: Op) -> Errs {
    let spec = get(o, "spec").cloned().unwrap_or(Value::Null);
    let mut errs = validate_pv_spec(&spec, &Path::new("spec"));
    if let Op::Update(old) = op {
        let os = get(old, "spec").cloned().unwrap_or(Value::Null);
        let pick = |sp: &Value| {
            let mut m = serde_json::Map::new();
            for (k, _, _) in PV_SOURCES {
                if let Some(v) = get(sp, k) {
                    m.insert(k.to_string(), v.clone());
                }
            }
            Value::Object(m)
        };
        let (mut a, b) = (pick(&spec), pick(&os));
        if get(&os, "csi").is_some_and(|c| get(c, "controllerExpandSecretRef").is_none()) {
            if let Some(c) = a.get_mut("csi").and_then(Value::as_object_mut) {
                c.remove("controllerExpandSecretRef");
            }
        }
        if !sem_eq(Some(&a), Some(&b)) {
            let msg = format!("spec.persistentvolumesource is immutable after creation\n{}", diff(Some(&b), Some(&a)));
            errs.push(FieldError::forbidden(Path::new("spec").ch("persistentvolumesource"), msg));
        }
        errs.extend(immutable(get(&spec, "volumeMode"), get(&os, "volumeMode"), &Path::new("volumeMode")));
        if get(&os, "nodeAffinity").is_some() && !sem_eq(get(&spec, "nodeAffinity"), get(&os, "nodeAffinity")) {
            let v = get(&spec, "nodeAffinity").cloned().unwrap_or(Value::Null);
            errs.push(FieldError::invalid(Path::new("nodeAffinity"), v, "field is immutable, except for updating from beta label to GA"));
        }
    }
    errs
}

/// StorageClass create/update.
pub fn validate_storage_class(o: &Value, op: Op) -> Errs {
    let mut errs = Vec::new();
    let prov = s(o, "provisioner");
    if prov.is_empty() {
        errs.push(FieldError::required(Path::new("provisioner"), ""));
    } else {
        errs.extend(each_invalid(&Path::new("provisioner"), &prov.to_lowercase(), is_qualified_name(&prov.to_lowercase())));
    }
    errs.extend(validate_parameters(o, &Path::new("parameters")));
    match opt_s(o, "reclaimPolicy") {
        Some(r) if !r.is_empty() && r != "Delete" && r != "Retain" => {
            errs.push(FieldError::not_supported(Path::new("reclaimPolicy"), sv(r), &["Delete", "Retain"]))
        }
        _ => {}
    }
    match opt_s(o, "volumeBindingMode") {
        None => errs.push(FieldError::required(Path::new("volumeBindingMode"), "")),
        Some(m) if m != "Immediate" && m != "WaitForFirstConsumer" => {
            errs.push(FieldError::not_supported(Path::new("volumeBindingMode"), sv(m), &["Immediate", "WaitForFirstConsumer"]))
        }
        _ => {}
    }
    errs.extend(validate_allowed_topologies(arr(o, "allowedTopologies"), &Path::new("allowedTopologies")));
    if let Op::Update(old) = op {
        for (k, msg) in [("parameters", "updates to parameters are forbidden."), ("provisioner", "updates to provisioner are forbidden."), ("reclaimPolicy", "updates to reclaimPolicy are forbidden.")] {
            if !sem_eq(get(o, k), get(old, k)) {
                errs.push(FieldError::forbidden(Path::new(k), msg));
            }
        }
        errs.extend(immutable(get(o, "volumeBindingMode"), get(old, "volumeBindingMode"), &Path::new("volumeBindingMode")));
    }
    errs
}

fn validate_parameters(o: &Value, p: &Path) -> Errs {
    let params = super::util::str_map(o, "parameters");
    if params.len() > 512 {
        return vec![FieldError::too_long(p, sv("Provisioner Parameters exceeded max allowed"), 512)];
    }
    let mut errs = Vec::new();
    let mut total = 0;
    for (k, v) in &params {
        if k.is_empty() {
            errs.push(FieldError::invalid(p, sv(k), "field can not be empty."));
        }
        total += k.len() + v.len();
    }
    if total > 256 * 1024 {
        errs.push(FieldError::too_long(p, sv(""), 256 * 1024));
    }
    errs
}

fn validate_allowed_topologies(terms: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let ep = p.ix(i).ch("matchLabelExpressions");
        let mut keys: Vec<&str> = Vec::new();
        for (j, e) in arr(t, "matchLabelExpressions").iter().enumerate() {
            let (key, values) = (s(e, "key"), str_list(e, "values"));
            if values.is_empty() {
                errs.push(FieldError::required(ep.ix(j).ch("values"), ""));
            }
            for (k, v) in values.iter().enumerate() {
                if values[..k].contains(v) {
                    errs.push(FieldError::duplicate(ep.ix(j).ch("values").ix(k), sv(v)));
                }
            }
            errs.extend(each_invalid(&ep.ix(j).ch("key"), key, is_qualified_name(key)));
            if keys.contains(&key) {
                errs.push(FieldError::duplicate(ep.ix(j).ch("key"), sv(key)));
            }
            keys.push(key);
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
    fn pvc_spec() {
        let pvc = json!({"spec": {"accessModes": ["Bogus"], "resources": {"requests": {"storage": "0"}}}});
        assert_eq!(msgs(validate_pvc(&pvc, Op::Create)), vec![
            "spec.accessModes: Unsupported value: \"Bogus\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
            "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
        ]);
        let none = json!({"spec": {}});
        assert_eq!(msgs(validate_pvc(&none, Op::Create)), vec![
            "spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"]);
    }

    #[test]
    fn pvc_update_rules() {
        let old = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Bound"}});
        let mut new = old.clone();
        new["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(validate_pvc(&new, Op::Update(&old)).is_empty());
        new["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        assert!(msgs(validate_pvc(&new, Op::Update(&old)))[0].starts_with("spec: Forbidden: spec is immutable after creation except resources.requests"));
        let mut pending = old.clone();
        pending["status"]["phase"] = json!("Pending");
        let mut grow = pending.clone();
        grow["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
        assert_eq!(msgs(validate_pvc(&grow, Op::Update(&pending))).len(), 1);
    }

    #[test]
    fn pv_and_storage_class() {
        let pv = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "local": {"path": "/mnt"}}});
        assert_eq!(msgs(validate_pv(&pv, Op::Create)), vec!["spec.nodeAffinity: Required value: Local volume requires node affinity"]);
        let none = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}});
        assert_eq!(msgs(validate_pv(&none, Op::Create)), vec!["spec: Required value: must specify a volume type"]);
        let sc = json!({"provisioner": "", "volumeBindingMode": "Immediate"});
        assert_eq!(msgs(validate_storage_class(&sc, Op::Create)), vec!["provisioner: Required value"]);
        let old = json!({"provisioner": "a.b/c", "volumeBindingMode": "Immediate", "parameters": {"x": "1"}});
        let new = json!({"provisioner": "a.b/c", "volumeBindingMode": "Immediate", "parameters": {"x": "2"}});
        assert_eq!(msgs(validate_storage_class(&new, Op::Update(&old))), vec!["parameters: Forbidden: updates to parameters are forbidden."]);
    }
}
