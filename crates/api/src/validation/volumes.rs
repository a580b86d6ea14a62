//! Pod volumes (exactly one source each), their sources, and the volume mounts and
//! devices of containers.

use serde_json::Value;

use super::container::{validate_object_field_selector, validate_resource_field_selector, VOLUME_FIELD_PATHS};
use super::names::{inclusive_range_error, is_dns1123_label, is_dns1123_subdomain, name_is_dns_subdomain};
use super::util::{arr, boolean, each_invalid, get, int, opt_s, s, sv, Errs, Path};
use crate::errors::FieldError;

/// The valid volumes of a pod: name and volume object.
pub type VolMap<'a> = Vec<(&'a str, &'a Value)>;

pub const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Volume source keys in upstream's checking order, with the path name upstream uses
/// for the "more than 1 volume type" error and for the source's own errors.
const SOURCES: &[(&str, &str, &str)] = &[
    ("emptyDir", "emptyDir", "emptyDir"), ("hostPath", "hostPath", "hostPath"), ("gitRepo", "gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk", "persistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore", "awsElasticBlockStore"), ("secret", "secret", "secret"),
    ("nfs", "nfs", "nfs"), ("iscsi", "iscsi", "iscsi"), ("glusterfs", "glusterfs", "glusterfs"),
    ("flocker", "flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd", "rbd"), ("cinder", "cinder", "cinder"), ("cephfs", "cephFS", "cephfs"),
    ("quobyte", "quobyte", "quobyte"), ("downwardAPI", "downwarAPI", "downwardAPI"), ("fc", "fc", "fc"),
    ("flexVolume", "flexVolume", "flexVolume"), ("configMap", "configMap", "configMap"),
    ("azureFile", "azureFile", "azureFile"), ("vsphereVolume", "vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk", "azureDisk"),
    ("storageos", "storageos", "storageos"), ("projected", "projected", "projected"), ("scaleIO", "scaleIO", "scaleIO"),
    ("csi", "csi", "csi"), ("ephemeral", "ephemeral", "ephemeral"), ("image", "image", "image"),
];

/// Sources whose only checks are required string fields.
const REQUIRED_FIELDS: &[(&str, &[&str])] = &[
    ("gcePersistentDisk", &["pdName"]), ("awsElasticBlockStore", &["volumeID"]), ("iscsi", &["targetPortal", "iqn"]),
    ("glusterfs", &["endpoints", "path"]), ("rbd", &["monitors", "image"]), ("cinder", &["volumeID"]),
    ("cephfs", &["monitors"]), ("quobyte", &["registry", "volume"]), ("flexVolume", &["driver"]),
    ("azureFile", &["secretName", "shareName"]), ("vsphereVolume", &["volumePath"]), ("photonPersistentDisk", &["pdID"]),
    ("portworxVolume", &["volumeID"]), ("azureDisk", &["diskName", "diskURI"]), ("storageos", &["volumeName"]),
    ("scaleIO", &["gateway", "system", "volumeName"]),
];

/// Whether a volume-like object sets any source (any member but `name`).
pub fn has_source(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.iter().any(|(k, x)| k != "name" && !x.is_null()))
}

/// `ValidateVolumes`: returns the valid volumes and the errors.
pub fn validate_volumes<'a>(vols: &'a [Value], pod_name: Option<&str>, p: &Path) -> (VolMap<'a>, Errs) {
    let mut map: VolMap = Vec::new();
    let mut errs = Vec::new();
    let created: Vec<String> = match pod_name {
        Some(pn) if !pn.is_empty() => vols.iter().filter(|v| get(v, "ephemeral").is_some()).map(|v| format!("{pn}-{}", s(v, "name"))).collect(),
        _ => Vec::new(),
    };
    for (i, v) in vols.iter().enumerate() {
        let ip = p.ix(i);
        let name = s(v, "name");
        let mut el = validate_volume_source(v, name, pod_name, &ip);
        if name.is_empty() {
            el.push(FieldError::required(ip.ch("name"), ""));
        } else {
            el.extend(each_invalid(&ip.ch("name"), name, is_dns1123_label(name)));
        }
        if map.iter().any(|(n, _)| *n == name) {
            el.push(FieldError::duplicate(ip.ch("name"), sv(name)));
        }
        if el.is_empty() {
            map.push((name, v));
        } else {
            errs.extend(el);
        }
        let claim = get(v, "persistentVolumeClaim").map(|c| s(c, "claimName")).unwrap_or("");
        if !claim.is_empty() && created.iter().any(|c| c == claim) {
            let msg = "must not reference a PVC that gets created for an ephemeral volume";
            errs.push(FieldError::invalid(ip.ch("persistentVolumeClaim").ch("claimName"), sv(claim), msg));
        }
    }
    (map, errs)
}

fn validate_volume_source(v: &Value, vol_name: &str, pod_name: Option<&str>, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut n = 0;
    for (key, forbid, vpath) in SOURCES {
        let Some(src) = get(v, key) else { continue };
        if n > 0 {
            errs.push(FieldError::forbidden(p.ch(forbid), "may not specify more than 1 volume type"));
            continue;
        }
        n += 1;
        errs.extend(validate_one_source(key, src, &p.ch(vpath)));
        if *key == "ephemeral" {
            errs.extend(validate_ephemeral_name(pod_name, vol_name, p));
        }
    }
    if n == 0 {
        errs.push(FieldError::required(p, "must specify a volume type"));
    }
    errs
}

/// The checks of one volume source (shared with PersistentVolume sources).
pub fn validate_one_source(key: &str, src: &Value, p: &Path) -> Errs {
    if let Some((_, fields)) = REQUIRED_FIELDS.iter().find(|(k, _)| *k == key) {
        let mut errs = required_fields(src, fields, p);
        if matches!(key, "gcePersistentDisk" | "awsElasticBlockStore") {
            if let Some(part) = int(src, "partition").filter(|x| !(0..=255).contains(x)) {
                errs.push(FieldError::invalid(p.ch("partition"), Value::from(part), inclusive_range_error(1, 255)));
            }
        }
        return errs;
    }
    match key {
        "emptyDir" => validate_empty_dir(src, p),
        "hostPath" => validate_host_path(src, p),
        "gitRepo" => {
            let mut errs = required_fields(src, &["repository"], p);
            errs.extend(validate_local_descending_path(s(src, "directory"), &p.ch("directory")));
            errs
        }
        "secret" => validate_key_paths_source(src, "secretName", p),
        "configMap" => validate_key_paths_source(src, "name", p),
        "persistentVolumeClaim" => required_fields(src, &["claimName"], p),
        "nfs" => validate_nfs(src, p),
        "flocker" => validate_flocker(src, p),
        "fc" => validate_fc(src, p),
        "downwardAPI" => validate_downward_api(src, p),
        "projected" => super::projected::validate_projected(src, p),
        "csi" => validate_csi(src, p),
        "ephemeral" => validate_ephemeral(src, p),
        "image" => validate_image_source(src, p),
        _ => Vec::new(),
    }
}

/// `Required value` for each listed field that is absent or empty.
pub fn required_fields(src: &Value, fields: &[&str], p: &Path) -> Errs {
    fields
        .iter()
        .filter(|f| match get(src, f) {
            None => true,
            Some(Value::String(x)) => x.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        })
        .map(|f| FieldError::required(p.ch(f), ""))
        .collect()
}

fn validate_empty_dir(src: &Value, p: &Path) -> Errs {
    match get(src, "sizeLimit").map(super::quantity::Quantity::from_value) {
        Some(Some(q)) if !q.is_negative() => Vec::new(),
        Some(Some(_)) => vec![FieldError::forbidden(p.ch("sizeLimit"), "SizeLimit field must be a valid resource quantity")],
        Some(None) => vec![FieldError::invalid(p.ch("sizeLimit"), get(src, "sizeLimit").cloned().unwrap_or(Value::Null), super::quantity::ERR_FORMAT)],
        None => Vec::new(),
    }
}

const HOST_PATH_TYPES: &[&str] = &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];

pub fn validate_host_path(src: &Value, p: &Path) -> Errs {
    let path = s(src, "path");
    if path.is_empty() {
        return vec![FieldError::required(p.ch("path"), "")];
    }
    let mut errs = validate_path_no_backsteps(path, &p.ch("path"));
    if let Some(t) = opt_s(src, "type") {
        if !HOST_PATH_TYPES.contains(&t) {
            errs.push(FieldError::not_supported(p.ch("type"), sv(t), HOST_PATH_TYPES));
        }
    }
    errs
}

fn validate_nfs(src: &Value, p: &Path) -> Errs {
    let mut errs = required_fields(src, &["server", "path"], p);
    let path = s(src, "path");
    if !path.starts_with('/') {
        errs.push(FieldError::invalid(p.ch("path"), sv(path), "must be an absolute path"));
    }
    errs
}

fn validate_flocker(src: &Value, p: &Path) -> Errs {
    let (name, uuid) = (s(src, "datasetName"), s(src, "datasetUUID"));
    let mut errs = Vec::new();
    if name.is_empty() && uuid.is_empty() {
        errs.push(FieldError::required(p, "one of datasetName and datasetUUID is required"));
    }
    if !name.is_empty() && !uuid.is_empty() {
        errs.push(FieldError::invalid(p, sv("resource"), "datasetName and datasetUUID can not be specified simultaneously"));
    }
    if name.contains('/') {
        errs.push(FieldError::invalid(p.ch("datasetName"), sv(name), "must not contain '/'"));
    }
    errs
}

fn validate_fc(src: &Value, p: &Path) -> Errs {
    let (wwns, wwids) = (arr(src, "targetWWNs"), arr(src, "wwids"));
    let mut errs = Vec::new();
    if wwns.is_empty() && wwids.is_empty() {
        errs.push(FieldError::required(p.ch("targetWWNs"), "must specify either targetWWNs or wwids, but not both"));
    }
    if !wwns.is_empty() && !wwids.is_empty() {
        errs.push(FieldError::invalid(p.ch("targetWWNs"), Value::Array(wwns.to_vec()), "targetWWNs and wwids can not be specified simultaneously"));
    }
    if !wwns.is_empty() {
        match int(src, "lun") {
            None => errs.push(FieldError::required(p.ch("lun"), "lun is required if targetWWNs is specified")),
            Some(l) if !(0..=255).contains(&l) => errs.push(FieldError::invalid(p.ch("lun"), Value::from(l), inclusive_range_error(0, 255))),
            _ => {}
        }
    }
    errs
}

/// A file mode member within 0..=0777.
pub fn validate_mode(v: &Value, key: &str, p: &Path) -> Errs {
    match int(v, key) {
        Some(m) if !(0..=0o777).contains(&m) => vec![FieldError::invalid(p.ch(key), Value::from(m), FILE_MODE_MSG)],
        _ => Vec::new(),
    }
}

/// Secret and ConfigMap sources: a name, a default mode and key-to-path items.
fn validate_key_paths_source(src: &Value, name_key: &str, p: &Path) -> Errs {
    let mut errs = required_fields(src, &[name_key], p);
    errs.extend(validate_mode(src, "defaultMode", p));
    for (i, kp) in arr(src, "items").iter().enumerate() {
        errs.extend(validate_key_to_path(kp, &p.ch("items").ix(i)));
    }
    errs
}

pub fn validate_key_to_path(kp: &Value, p: &Path) -> Errs {
    let mut errs = required_fields(kp, &["key", "path"], p);
    errs.extend(validate_local_non_reserved_path(s(kp, "path"), &p.ch("path")));
    errs.extend(validate_mode(kp, "mode", p));
    errs
}

fn validate_downward_api(src: &Value, p: &Path) -> Errs {
    let mut errs = validate_mode(src, "defaultMode", p);
    for f in arr(src, "items") {
        errs.extend(validate_downward_api_file(f, p));
    }
    errs
}

/// `validateDownwardAPIVolumeFile` (errors are reported against the source path).
pub fn validate_downward_api_file(f: &Value, p: &Path) -> Errs {
    let mut errs = required_fields(f, &["path"], p);
    errs.extend(validate_local_non_reserved_path(s(f, "path"), &p.ch("path")));
    match (get(f, "fieldRef"), get(f, "resourceFieldRef")) {
        (Some(fr), rf) => {
            errs.extend(validate_object_field_selector(fr, VOLUME_FIELD_PATHS, &p.ch("fieldRef")));
            if rf.is_some() {
                errs.push(FieldError::invalid(p, sv("resource"), "fieldRef and resourceFieldRef can not be specified simultaneously"));
            }
        }
        (None, Some(rf)) => errs.extend(validate_resource_field_selector(rf, true, &p.ch("resourceFieldRef"))),
        (None, None) => errs.push(FieldError::required(p, "one of fieldRef and resourceFieldRef is required")),
    }
    errs.extend(validate_mode(f, "mode", p));
    errs
}

fn validate_csi(src: &Value, p: &Path) -> Errs {
    let mut errs = validate_csi_driver_name(s(src, "driver"), &p.ch("driver"));
    if let Some(r) = get(src, "nodePublishSecretRef") {
        let name = s(r, "name");
        if name.is_empty() {
            errs.push(FieldError::required(p.ch("nodePublishSecretRef").ch("name"), ""));
        } else {
            errs.extend(each_invalid(&p.ch("name"), name, name_is_dns_subdomain(name, false)));
        }
    }
    errs
}

/// `ValidateCSIDriverName`.
pub fn validate_csi_driver_name(d: &str, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if d.is_empty() {
        errs.push(FieldError::required(p, ""));
    }
    if d.len() > 63 {
        errs.push(FieldError::too_long(p, sv(""), 63));
    }
    errs.extend(each_invalid(p, d, is_dns1123_subdomain(&d.to_lowercase())));
    errs
}

fn validate_ephemeral(src: &Value, p: &Path) -> Errs {
    let Some(t) = get(src, "volumeClaimTemplate") else {
        return vec![FieldError::required(p.ch("volumeClaimTemplate"), "")];
    };
    let tp = p.ch("volumeClaimTemplate");
    let mut errs = Vec::new();
    if let Some(m) = get(t, "metadata") {
        errs.extend(super::meta::validate_labels_and_annotations(m, &tp.ch("metadata")));
        for (k, v) in m.as_object().into_iter().flatten() {
            if k != "labels" && k != "annotations" && !super::util::sem_eq(Some(v), None) {
                errs.push(FieldError::forbidden(tp.ch("metadata").ch(k), "cannot be set"));
            }
        }
    }
    let spec = get(t, "spec").cloned().unwrap_or(Value::Null);
    errs.extend(super::storage::validate_pvc_spec(&spec, &tp.ch("spec")));
    errs
}

fn validate_ephemeral_name(pod_name: Option<&str>, vol_name: &str, p: &Path) -> Errs {
    match pod_name {
        Some(pn) if !pn.is_empty() && !vol_name.is_empty() => {
            let pvc = format!("{pn}-{vol_name}");
            name_is_dns_subdomain(&pvc, false)
                .into_iter()
                .map(|m| FieldError::invalid(p.ch("name"), sv(vol_name), format!("PVC name {pvc:?}: {m}")))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn validate_image_source(src: &Value, p: &Path) -> Errs {
    let mut errs = required_fields(src, &["reference"], p);
    errs.extend(super::container::enum_field(src, "pullPolicy", &["Always", "IfNotPresent", "Never"], p));
    errs
}

/// `validatePathNoBacksteps`.
pub fn validate_path_no_backsteps(path: &str, p: &Path) -> Errs {
    if path.split('/').any(|x| x == "..") {
        vec![FieldError::invalid(p, sv(path), "must not contain '..'")]
    } else {
        Vec::new()
    }
}

/// `validateLocalDescendingPath`: relative and without `..` elements.
pub fn validate_local_descending_path(path: &str, p: &Path) -> Errs {
    let mut errs = Vec::new();
    if path.starts_with('/') {
        errs.push(FieldError::invalid(p, sv(path), "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(path, p));
    errs
}

/// `ValidateLocalNonReservedPath`.
pub fn validate_local_non_reserved_path(path: &str, p: &Path) -> Errs {
    let mut errs = validate_local_descending_path(path, p);
    if path.starts_with("..") && !path.starts_with("../") {
        errs.push(FieldError::invalid(p, sv(path), "must not start with '..'"));
    }
    errs
}

fn vol<'a>(vols: &VolMap<'a>, name: &str) -> Option<&'a Value> {
    vols.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// `ValidateVolumeMounts`.
pub fn validate_volume_mounts(c: &Value, vols: &VolMap, p: &Path) -> Errs {
    let devices: Vec<(&str, &str)> = arr(c, "volumeDevices").iter().map(|d| (s(d, "name"), s(d, "devicePath"))).collect();
    let privileged = get(c, "securityContext").and_then(|sc| boolean(sc, "privileged")) == Some(true);
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let ip = p.ix(i);
        let (name, mp) = (s(m, "name"), s(m, "mountPath"));
        if name.is_empty() {
            errs.push(FieldError::required(ip.ch("name"), ""));
        }
        let source = vol(vols, name);
        if source.is_none() {
            errs.push(FieldError::not_found(ip.ch("name"), sv(name)));
        }
        if mp.is_empty() {
            errs.push(FieldError::required(ip.ch("mountPath"), ""));
        }
        if seen.contains(&mp) {
            errs.push(FieldError::invalid(ip.ch("mountPath"), sv(mp), "must be unique"));
        }
        seen.push(mp);
        if devices.iter().any(|(n, _)| *n == name) {
            errs.push(FieldError::invalid(ip.ch("name"), sv(name), "must not already exist in volumeDevices"));
        }
        if devices.iter().any(|(_, dp)| *dp == mp) {
            errs.push(FieldError::invalid(ip.ch("mountPath"), sv(mp), "must not already exist as a path in volumeDevices"));
        }
        errs.extend(validate_mount_sub_paths(m, source, &ip, p));
        errs.extend(validate_mount_propagation(m, privileged, p));
    }
    errs
}

fn validate_mount_sub_paths(m: &Value, source: Option<&Value>, ip: &Path, p: &Path) -> Errs {
    let (sub, expr) = (s(m, "subPath"), s(m, "subPathExpr"));
    let mut errs = Vec::new();
    if source.is_some_and(|v| get(v, "image").is_some()) {
        if !sub.is_empty() {
            errs.push(FieldError::invalid(ip.ch("subPath"), sv(sub), "not allowed in image volume sources"));
        }
        if !expr.is_empty() {
            errs.push(FieldError::invalid(ip.ch("subPathExpr"), sv(expr), "not allowed in image volume sources"));
        }
    }
    if !sub.is_empty() {
        errs.extend(validate_local_descending_path(sub, &p.ch("subPath")));
    }
    if !expr.is_empty() {
        if !sub.is_empty() {
            errs.push(FieldError::invalid(ip.ch("subPathExpr"), sv(expr), "subPathExpr and subPath are mutually exclusive"));
        }
        errs.extend(validate_local_descending_path(expr, &p.ch("subPathExpr")));
    }
    errs
}

fn validate_mount_propagation(m: &Value, privileged: bool, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let prop = opt_s(m, "mountPropagation");
    if let Some(mp) = prop {
        let pp = p.ch("mountPropagation");
        if !["Bidirectional", "HostToContainer", "None"].contains(&mp) {
            errs.push(FieldError::not_supported(&pp, sv(mp), &["Bidirectional", "HostToContainer", "None"]));
        }
        if mp == "Bidirectional" && !privileged {
            errs.push(FieldError::forbidden(&pp, "Bidirectional mount propagation is available only to privileged containers"));
        }
    }
    let rp = p.ch("recursiveReadOnly");
    match opt_s(m, "recursiveReadOnly") {
        None | Some("Disabled") => {}
        Some("Enabled") | Some("IfPossible") => {
            if boolean(m, "readOnly") != Some(true) {
                errs.push(FieldError::forbidden(&rp, "may only be specified when readOnly is true"));
            }
            if prop.is_some_and(|x| x != "None") {
                errs.push(FieldError::forbidden(&rp, "may only be specified when mountPropagation is None or not specified"));
            }
        }
        Some(x) => errs.push(FieldError::not_supported(&rp, sv(x), &["Disabled", "Enabled", "IfPossible"])),
    }
    errs
}

/// `ValidateVolumeDevices`.
pub fn validate_volume_devices(c: &Value, vols: &VolMap, p: &Path) -> Errs {
    let mounts: Vec<(&str, &str)> = arr(c, "volumeMounts").iter().map(|m| (s(m, "name"), s(m, "mountPath"))).collect();
    let mut errs = Vec::new();
    let (mut names, mut paths): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (i, d) in arr(c, "volumeDevices").iter().enumerate() {
        let ip = p.ix(i);
        let (name, dp) = (s(d, "name"), s(d, "devicePath"));
        let source = vol(vols, name);
        let is_pvc = source.is_some_and(|v| get(v, "persistentVolumeClaim").is_some() || get(v, "ephemeral").is_some());
        if name.is_empty() {
            errs.push(FieldError::required(ip.ch("name"), ""));
        }
        if names.contains(&name) {
            errs.push(FieldError::invalid(ip.ch("name"), sv(name), "must be unique"));
        }
        if source.is_some() && !is_pvc {
            errs.push(FieldError::invalid(ip.ch("name"), sv(name), "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"));
        }
        if source.is_none() {
            errs.push(FieldError::not_found(ip.ch("name"), sv(name)));
        }
        if dp.is_empty() {
            errs.push(FieldError::required(ip.ch("devicePath"), ""));
        }
        if paths.contains(&dp) {
            errs.push(FieldError::invalid(ip.ch("devicePath"), sv(dp), "must be unique"));
        }
        if !dp.is_empty() && dp.split('/').any(|x| x == "..") {
            errs.push(FieldError::invalid(ip.ch("devicePath"), sv(dp), "can not contain backsteps ('..')"));
        } else {
            paths.push(dp);
        }
        if mounts.iter().any(|(n, _)| *n == name) {
            errs.push(FieldError::invalid(ip.ch("name"), sv(name), "must not already exist in volumeMounts"));
        }
        if mounts.iter().any(|(_, mp)| *mp == dp) {
            errs.push(FieldError::invalid(ip.ch("devicePath"), sv(dp), "must not already exist as a path in volumeMounts"));
        }
        if !name.is_empty() {
            names.push(name);
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
    fn exactly_one_source_and_unique_names() {
        let vols = vec![json!({"name": "a", "emptyDir": {}, "secret": {"secretName": "s"}}), json!({"name": "b"}),
            json!({"name": "c", "emptyDir": {}}), json!({"name": "c", "configMap": {"name": "x"}})];
        let (map, errs) = validate_volumes(&vols, None, &Path::new("spec.volumes"));
        assert_eq!(msgs(errs), vec![
            "spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type",
            "spec.volumes[1]: Required value: must specify a volume type",
            "spec.volumes[3].name: Duplicate value: \"c\"",
        ]);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn source_fields() {
        let vols = vec![json!({"name": "a", "secret": {"defaultMode": 1000, "items": [{"key": "k", "path": "../x"}]}}),
            json!({"name": "b", "hostPath": {"path": "/a/../b", "type": "Bogus"}}), json!({"name": "c", "nfs": {"server": "s", "path": "rel"}})];
        let (_, errs) = validate_volumes(&vols, None, &Path::new("v"));
        let m = msgs(errs);
        assert_eq!(m[0], "v[0].secret.secretName: Required value");
        assert_eq!(m[1], "v[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive");
        assert_eq!(m[2], "v[0].secret.items[0].path: Invalid value: \"../x\": must not contain '..'");
        assert_eq!(m[3], "v[1].hostPath.path: Invalid value: \"/a/../b\": must not contain '..'");
        assert!(m[4].starts_with("v[1].hostPath.type: Unsupported value: \"Bogus\""));
        assert_eq!(m[5], "v[2].nfs.path: Invalid value: \"rel\": must be an absolute path");
    }

    #[test]
    fn mounts_refer_to_volumes() {
        let vols = vec![json!({"name": "data", "emptyDir": {}})];
        let (map, _) = validate_volumes(&vols, None, &Path::new("v"));
        let c = json!({"volumeMounts": [{"name": "data", "mountPath": "/d"}, {"name": "nope", "mountPath": "/d"}],
            "volumeDevices": [{"name": "data", "devicePath": "/dev/x"}]});
        let m = msgs(validate_volume_mounts(&c, &map, &Path::new("m")));
        assert_eq!(m, vec![
            "m[0].name: Invalid value: \"data\": must not already exist in volumeDevices",
            "m[1].name: Not found: \"nope\"",
            "m[1].mountPath: Invalid value: \"/d\": must be unique",
        ]);
        let d = msgs(validate_volume_devices(&c, &map, &Path::new("d")));
        assert_eq!(d[0], "d[0].name: Invalid value: \"data\": can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode");
    }
}
