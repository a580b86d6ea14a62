//! ObjectMeta validation (apimachinery `ValidateObjectMeta*` plus core's finalizer
//! rule), labels, annotations and label selectors.

use serde_json::Value;

use super::names::{is_dns1123_label, is_qualified_name, is_valid_label_value, NameFn};
use super::util::{arr, each_invalid, get, int, obj, s, str_list, str_map, sv, Errs, Path};
use crate::errors::FieldError;

pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// How a kind's metadata is checked on create.
pub struct MetaOpts {
    pub namespaced: bool,
    pub name_fn: NameFn,
    /// Built-in kinds also require unqualified finalizers to be standard ones.
    pub kube_finalizers: bool,
}

fn meta(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    get(obj, "metadata").unwrap_or(&NULL)
}

/// `ValidateObjectMeta` for a new object.
pub fn validate_object_meta(o: &Value, opts: &MetaOpts) -> Errs {
    let m = meta(o);
    let p = Path::new("metadata");
    let mut errs = Vec::new();
    let (name, gen_name) = (s(m, "name"), s(m, "generateName"));
    if !gen_name.is_empty() {
        errs.extend(each_invalid(&p.ch("generateName"), gen_name, (opts.name_fn)(gen_name, true)));
    }
    if name.is_empty() {
        // A name generated from generateName is the caller's job; only both empty is wrong.
        if gen_name.is_empty() {
            errs.push(FieldError::required(p.ch("name"), "name or generateName is required"));
        }
    } else {
        errs.extend(each_invalid(&p.ch("name"), name, (opts.name_fn)(name, false)));
    }
    errs.extend(validate_namespace_field(m, opts.namespaced, &p));
    errs.extend(validate_meta_common(m, opts.kube_finalizers, &p));
    errs
}

fn validate_namespace_field(m: &Value, namespaced: bool, p: &Path) -> Errs {
    let ns = s(m, "namespace");
    if namespaced {
        if ns.is_empty() {
            return vec![FieldError::required(p.ch("namespace"), "")];
        }
        return each_invalid(&p.ch("namespace"), ns, is_dns1123_label(ns));
    }
    if !ns.is_empty() {
        return vec![FieldError::forbidden(p.ch("namespace"), "not allowed on this type")];
    }
    Vec::new()
}

/// The checks shared by create and update: generation, labels, annotations, owner
/// references, finalizers and managed fields.
fn validate_meta_common(m: &Value, kube_finalizers: bool, p: &Path) -> Errs {
    let mut errs = super::util::nonneg(int(m, "generation"), &p.ch("generation"));
    errs.extend(validate_labels(m, "labels", &p.ch("labels")));
    errs.extend(validate_annotations(m, "annotations", &p.ch("annotations")));
    errs.extend(validate_owner_references(arr(m, "ownerReferences"), &p.ch("ownerReferences")));
    errs.extend(validate_finalizers(m, kube_finalizers, &p.ch("finalizers")));
    errs.extend(validate_managed_fields(arr(m, "managedFields"), &p.ch("managedFields")));
    errs
}

/// `ValidateObjectMetaUpdate` minus what the caller owns (name, namespace, uid,
/// creationTimestamp, resourceVersion, generation, deletion fields).
pub fn validate_object_meta_update(new: &Value, old: &Value, kube_finalizers: bool) -> Errs {
    let (nm, om) = (meta(new), meta(old));
    let p = Path::new("metadata");
    let mut errs = Vec::new();
    if get(om, "deletionTimestamp").is_some() {
        let old_f = str_list(om, "finalizers");
        let mut extra: Vec<&str> = str_list(nm, "finalizers").into_iter().filter(|f| !old_f.contains(f)).collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            errs.push(FieldError::forbidden(
                p.ch("finalizers"),
                format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}", list.join(", ")),
            ));
        }
    }
    errs.extend(validate_meta_common(nm, kube_finalizers, &p));
    errs
}

/// `ValidateLabels` on the string map member `key` of `v`.
pub fn validate_labels(v: &Value, key: &str, p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (k, val) in str_map(v, key) {
        errs.extend(each_invalid(p, k, is_qualified_name(k)));
        errs.extend(each_invalid(p, &val, is_valid_label_value(&val)));
    }
    errs
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitively) and the whole
/// map stays under 256 KiB.
pub fn validate_annotations(v: &Value, key: &str, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, val) in str_map(v, key) {
        errs.extend(each_invalid(p, k, is_qualified_name(&k.to_lowercase())));
        total += k.len() + val.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(p, sv(""), TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

fn validate_owner_references(refs: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let (api_version, kind) = (s(r, "apiVersion"), s(r, "kind"));
        let (group, version) = split_api_version(api_version);
        if version.is_empty() {
            errs.push(FieldError::invalid(p.ch("apiVersion"), sv(api_version), "version must not be empty"));
        }
        for (f, msg) in [("kind", kind), ("name", s(r, "name")), ("uid", s(r, "uid"))] {
            if msg.is_empty() {
                errs.push(FieldError::invalid(p.ch(f), sv(""), "must not be empty"));
            }
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(FieldError::invalid(p, r.clone(), "/v1, Kind=Event is disallowed from being an owner"));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let cur = format!("{}/{}", kind, s(r, "name"));
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    p,
                    Value::Array(refs.to_vec()),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {cur}"),
                )),
                None => first_controller = Some(cur),
            }
        }
    }
    errs
}

/// `(group, version)` of an apiVersion; both empty when it has more than one slash.
pub fn split_api_version(av: &str) -> (&str, &str) {
    match av.split('/').collect::<Vec<_>>().as_slice() {
        [v] => ("", v),
        [g, v] => (g, v),
        _ => ("", ""),
    }
}

const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

fn validate_finalizers(m: &Value, kube: bool, p: &Path) -> Errs {
    let fins = str_list(m, "finalizers");
    let mut errs = Vec::new();
    for f in &fins {
        errs.extend(each_invalid(p, f, is_qualified_name(f)));
    }
    if fins.contains(&"orphan") && fins.contains(&"foregroundDeletion") {
        let list = Value::Array(fins.iter().map(|f| sv(f)).collect());
        errs.push(FieldError::invalid(p, list, "finalizer orphan and foregroundDeletion cannot be both set"));
    }
    if kube {
        for (i, f) in fins.iter().enumerate() {
            errs.extend(validate_kube_finalizer_name(f, &p.ix(i)));
        }
    }
    errs
}

/// Core's rule that unqualified finalizer names must be standard ones.
pub fn validate_kube_finalizer_name(f: &str, p: &Path) -> Errs {
    if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
        return vec![FieldError::invalid(p, sv(f), "name is neither a standard finalizer name nor is it fully qualified")];
    }
    Vec::new()
}

fn validate_managed_fields(entries: &[Value], p: &Path) -> Errs {
    let mut errs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let ip = p.ix(i);
        let op = s(e, "operation");
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(ip.ch("operation"), sv(op), "must be `Apply` or `Update`"));
        }
        let ft = s(e, "fieldsType");
        if !ft.is_empty() && ft != "FieldsV1" {
            errs.push(FieldError::invalid(ip.ch("fieldsType"), sv(ft), "must be `FieldsV1`"));
        }
        let manager = s(e, "manager");
        if manager.len() > 128 {
            errs.push(FieldError::too_long(ip.ch("manager"), sv(manager), 128));
        }
        if s(e, "subresource").len() > 256 {
            errs.push(FieldError::too_long(ip.ch("subresource"), sv(s(e, "subresource")), 256));
        }
    }
    errs
}

/// The labels and annotations of an embedded template (`ValidateTemplateObjectMeta`
/// style: only those two may matter).
pub fn validate_labels_and_annotations(m: &Value, p: &Path) -> Errs {
    let mut errs = validate_labels(m, "labels", &p.ch("labels"));
    errs.extend(validate_annotations(m, "annotations", &p.ch("annotations")));
    errs
}

/// `metav1 ValidateLabelSelector` (label values in expressions validated too).
pub fn validate_label_selector(sel: Option<&Value>, p: &Path) -> Errs {
    let Some(sel) = sel else { return Vec::new() };
    let mut errs = validate_labels(sel, "matchLabels", &p.ch("matchLabels"));
    for (i, e) in arr(sel, "matchExpressions").iter().enumerate() {
        errs.extend(validate_selector_requirement(e, &p.ch("matchExpressions").ix(i)));
    }
    errs
}

fn validate_selector_requirement(e: &Value, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let values = str_list(e, "values");
    match s(e, "operator") {
        "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
            p.ch("values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            p.ch("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        op => errs.push(FieldError::invalid(p.ch("operator"), sv(op), "not a valid selector operator")),
    }
    let key = s(e, "key");
    errs.extend(each_invalid(&p.ch("key"), key, is_qualified_name(key)));
    for (i, v) in values.iter().enumerate() {
        errs.extend(each_invalid(&p.ch("values").ix(i), v, is_valid_label_value(v)));
    }
    errs
}

/// Whether a label selector matches a label set, as `LabelSelectorAsSelector` +
/// `Matches` would: a nil selector matches nothing, an empty one everything. `None`
/// when the selector cannot be converted.
pub fn selector_matches(sel: Option<&Value>, labels: Option<&Value>) -> Option<bool> {
    let Some(sel) = sel else { return Some(false) };
    if !validate_label_selector(Some(sel), &Path::new("")).is_empty() {
        return None;
    }
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let ml_ok = obj(sel, "matchLabels")
        .map(|m| m.iter().all(|(k, v)| label(k) == v.as_str()))
        .unwrap_or(true);
    let ex_ok = arr(sel, "matchExpressions").iter().all(|e| {
        let (val, values) = (label(s(e, "key")), str_list(e, "values"));
        match s(e, "operator") {
            "In" => val.is_some_and(|v| values.contains(&v)),
            "NotIn" => val.is_none_or(|v| !values.contains(&v)),
            "Exists" => val.is_some(),
            _ => val.is_none(),
        }
    });
    Some(ml_ok && ex_ok)
}

/// Whether a selector has neither matchLabels nor matchExpressions.
pub fn selector_is_empty(sel: &Value) -> bool {
    obj(sel, "matchLabels").is_none_or(|m| m.is_empty()) && arr(sel, "matchExpressions").is_empty()
}

#[cfg(test)]
mod tests {
    use super::super::names::name_is_dns_subdomain;
    use super::*;
    use serde_json::json;

    fn opts(namespaced: bool) -> MetaOpts {
        MetaOpts { namespaced, name_fn: name_is_dns_subdomain, kube_finalizers: true }
    }

    fn msgs(errs: &Errs) -> Vec<String> {
        errs.iter().map(|e| e.message()).collect()
    }

    #[test]
    fn name_required_and_formatted() {
        let e = validate_object_meta(&json!({"metadata": {"namespace": "default"}}), &opts(true));
        assert_eq!(msgs(&e), vec!["metadata.name: Required value: name or generateName is required"]);
        let e = validate_object_meta(&json!({"metadata": {"name": "Bad_Name", "namespace": "default"}}), &opts(true));
        assert!(msgs(&e)[0].starts_with("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
        let e = validate_object_meta(&json!({"metadata": {"generateName": "web-", "namespace": "d"}}), &opts(true));
        assert!(e.is_empty());
    }

    #[test]
    fn namespace_rules() {
        let e = validate_object_meta(&json!({"metadata": {"name": "a"}}), &opts(true));
        assert_eq!(msgs(&e), vec!["metadata.namespace: Required value"]);
        let e = validate_object_meta(&json!({"metadata": {"name": "a", "namespace": "x"}}), &opts(false));
        assert_eq!(msgs(&e), vec!["metadata.namespace: Forbidden: not allowed on this type"]);
    }

    #[test]
    fn labels_annotations_finalizers() {
        let o = json!({"metadata": {"name": "a", "namespace": "d", "labels": {"a b": "ok", "k": "-bad"},
            "annotations": {"x": "a".repeat(300 * 1024)}, "finalizers": ["custom"]}});
        let m = msgs(&validate_object_meta(&o, &opts(true)));
        assert!(m[0].starts_with("metadata.labels: Invalid value: \"a b\": name part must consist"));
        assert!(m[1].starts_with("metadata.labels: Invalid value: \"-bad\": a valid label must be"));
        assert_eq!(m[2], "metadata.annotations: Too long: must have at most 262144 bytes");
        assert_eq!(m[3], "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified");
    }

    #[test]
    fn owner_references() {
        let o = json!({"metadata": {"name": "a", "namespace": "d", "ownerReferences": [
            {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"},
            {"apiVersion": "", "kind": "", "name": "", "uid": "", "controller": true},
            {"apiVersion": "apps/v1", "kind": "RS", "name": "r", "uid": "2", "controller": true}]}});
        let m = msgs(&validate_object_meta(&o, &opts(true)));
        assert!(m.iter().any(|x| x.contains("/v1, Kind=Event is disallowed from being an owner")));
        assert!(m.contains(&"metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty".to_string()));
        assert!(m.iter().any(|x| x.contains("Only one reference can have Controller set to true. Found \"true\" in references for / and RS/r")));
    }

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]});
        assert_eq!(selector_matches(Some(&sel), Some(&json!({"app": "a", "tier": "y"}))), Some(true));
        assert_eq!(selector_matches(Some(&sel), Some(&json!({"app": "a"}))), Some(false));
        assert_eq!(selector_matches(None, Some(&json!({"app": "a"}))), Some(false));
        let bad = json!({"matchExpressions": [{"key": "k", "operator": "Foo"}]});
        assert_eq!(msgs(&validate_label_selector(Some(&bad), &Path::new("spec.selector"))),
            vec!["spec.selector.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator"]);
        assert_eq!(selector_matches(Some(&bad), None), None);
    }

    #[test]
    fn no_new_finalizers_while_deleting() {
        let old = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a/b"]}});
        let new = json!({"metadata": {"finalizers": ["a/b", "c/d"]}});
        assert_eq!(msgs(&validate_object_meta_update(&new, &old, true)),
            vec!["metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"c/d\"}"]);
    }
}
