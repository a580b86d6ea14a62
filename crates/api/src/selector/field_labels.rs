#![allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------
// Per-kind field labels (conversion funcs) and values (GetAttrs)
// ---------------------------------------------------------------------------

/// How a kind's conversion func words its rejection of a field label.
#[derive(Clone, Copy)]
pub(crate) enum Rejection {
    /// `runtime.DefaultMetaV1FieldSelectorConversion` (kinds with no conversion func).
    DefaultMeta,
    /// `field label not supported: X` (most conversion funcs, and custom resources).
    NotSupported,
    /// batch/v1 Job: `field label "X" not supported for Job`.
    Job,
    /// resource.k8s.io: `field label not supported for <group>/<version>, Kind=<kind>: X`.
    WithGroupVersionKind(&'static str),
}

pub(crate) struct KindFieldLabels {
    group: &'static str,
    resource: &'static str,
    accepted: &'static [&'static str],
    rejection: Rejection,
}

pub(crate) const DEFAULT_FIELD_LABELS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Every built-in kind with its own field label conversion func in 1.33
/// (everything else, apps/v1 included, gets `DEFAULT_FIELD_LABELS`).
pub(crate) const KIND_FIELD_LABELS: &[KindFieldLabels] = &[
    KindFieldLabels {
        group: "",
        resource: "pods",
        accepted: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
            "spec.host",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "nodes",
        accepted: &["metadata.name", "spec.unschedulable"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "replicationcontrollers",
        accepted: &["metadata.name", "metadata.namespace", "status.replicas"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "events",
        accepted: &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "namespaces",
        accepted: &["status.phase", "metadata.name"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "secrets",
        accepted: &["type", "metadata.namespace", "metadata.name"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "",
        resource: "services",
        accepted: &["metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "batch",
        resource: "jobs",
        accepted: &["metadata.name", "metadata.namespace", "status.successful"],
        rejection: Rejection::Job,
    },
    KindFieldLabels {
        group: "certificates.k8s.io",
        resource: "certificatesigningrequests",
        accepted: &["metadata.name", "spec.signerName"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "certificates.k8s.io",
        resource: "clustertrustbundles",
        accepted: &["metadata.name", "spec.signerName"],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "events.k8s.io",
        resource: "events",
        accepted: &[
            "reason",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        rejection: Rejection::NotSupported,
    },
    KindFieldLabels {
        group: "resource.k8s.io",
        resource: "resourceslices",
        accepted: &["metadata.name", "spec.nodeName", "spec.driver"],
        rejection: Rejection::WithGroupVersionKind("ResourceSlice"),
    },
];

pub(crate) fn kind_field_labels(group: &str, resource: &str) -> Option<&'static KindFieldLabels> {
    KIND_FIELD_LABELS.iter().find(|k| k.group == group && k.resource == resource)
}

/// Every field label the resource accepts in a field selector — the complete
/// list, `metadata.name` and (where accepted) `metadata.namespace` included.
/// Kinds without their own conversion func accept exactly those two (cluster-scoped
/// ones too: upstream then matches `metadata.namespace` against ""); nodes,
/// namespaces, CSRs, ClusterTrustBundles and ResourceSlices reject `metadata.namespace`.
/// Custom resources are not covered: see `custom_resource_field_error`.
pub fn supported_fields(group: &str, resource: &str) -> &'static [&'static str] {
    kind_field_labels(group, resource).map_or(DEFAULT_FIELD_LABELS, |k| k.accepted)
}

/// `None` if the built-in resource accepts `field`, else the exact message of
/// upstream's 400 for it (the text depends on the kind's conversion func;
/// `version` only shows in resource.k8s.io's).
pub fn field_label_error(group: &str, version: &str, resource: &str, field: &str) -> Option<String> {
    let kind = kind_field_labels(group, resource);
    let accepted = kind.map_or(DEFAULT_FIELD_LABELS, |k| k.accepted);
    if accepted.contains(&field) {
        return None;
    }
    let rejection = kind.map_or(Rejection::DefaultMeta, |k| k.rejection);
    Some(rejection_message(rejection, group, version, field))
}

pub(crate) fn rejection_message(rejection: Rejection, group: &str, version: &str, field: &str) -> String {
    match rejection {
        Rejection::DefaultMeta => format!(
            "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            go_quote(field)
        ),
        Rejection::NotSupported => unsupported_field_message(field),
        Rejection::Job => format!("field label {} not supported for Job", go_quote(field)),
        Rejection::WithGroupVersionKind(kind) => {
            format!("field label not supported for {}/{}, Kind={}: {}", group, version, kind, field)
        }
    }
}

/// `field label not supported: <field>` — the text of most built-in kinds'
/// conversion funcs and of every custom resource. For a built-in resource use
/// `field_label_error`, whose text varies by kind as upstream's does.
pub fn unsupported_field_message(field: &str) -> String {
    format!("field label not supported: {}", field)
}

/// Upstream's custom-resource rule (apiextensions `crConverter.ConvertFieldLabel`):
/// `metadata.name`, `metadata.namespace` if namespaced, and the CRD version's
/// `selectableFields` paths; anything else is `field label not supported: X`.
pub fn custom_resource_field_error(namespaced: bool, selectable_fields: &[&str], field: &str) -> Option<String> {
    let accepted = field == "metadata.name"
        || (namespaced && field == "metadata.namespace")
        || selectable_fields.contains(&field);
    (!accepted).then(|| unsupported_field_message(field))
}

/// The label upstream matches after conversion (legacy/version-specific spellings
/// renamed); any other label is returned unchanged.
pub fn canonical_field_label<'a>(group: &str, resource: &str, field: &'a str) -> &'a str {
    match (group, resource, field) {
        ("", "pods", "spec.host") => "spec.nodeName",
        ("events.k8s.io", "events", "reportingController") => "reportingComponent",
        ("events.k8s.io", "events", f) if f.starts_with("regarding.") => match f {
            "regarding.kind" => "involvedObject.kind",
            "regarding.namespace" => "involvedObject.namespace",
            "regarding.name" => "involvedObject.name",
            "regarding.uid" => "involvedObject.uid",
            "regarding.apiVersion" => "involvedObject.apiVersion",
            "regarding.resourceVersion" => "involvedObject.resourceVersion",
            "regarding.fieldPath" => "involvedObject.fieldPath",
            other => other,
        },
        _ => field,
    }
}

/// The value upstream's `GetAttrs` gives a supported field of an object (JSON as
/// served), e.g. pods `spec.hostNetwork` as "true"/"false", counts as decimal.
/// Accepts both the client spelling and the canonical label. `None` for fields
/// the kind does not set (read as "" when matching) — including pods
/// `status.podIPs`, which upstream accepts but never sets.
pub fn field_value(group: &str, resource: &str, obj: &Value, field: &str) -> Option<String> {
    if field == "metadata.name" || field == "metadata.namespace" {
        return string_at(obj, field);
    }
    match (group, resource) {
        ("", "pods") => pod_field_value(obj, field),
        ("", "nodes") => node_field_value(obj, field),
        ("", "replicationcontrollers") => (field == "status.replicas").then(|| int_at(obj, field)),
        ("", "events") | ("events.k8s.io", "events") => event_field_value(obj, field),
        ("", "namespaces") => pick(obj, field, &["status.phase"]),
        ("", "secrets") => pick(obj, field, &["type"]),
        ("", "services") => pick(obj, field, &["spec.clusterIP", "spec.type"]),
        ("batch", "jobs") => (field == "status.successful").then(|| int_at(obj, "status.succeeded")),
        ("certificates.k8s.io", "certificatesigningrequests" | "clustertrustbundles") => {
            pick(obj, field, &["spec.signerName"])
        }
        ("resource.k8s.io", "resourceslices") => pick(obj, field, &["spec.nodeName", "spec.driver"]),
        _ => None,
    }
}

/// The value at a dotted path, if it is one of `allowed`.
pub(crate) fn pick(obj: &Value, field: &str, allowed: &[&str]) -> Option<String> {
    allowed.contains(&field).then(|| string_at(obj, field)).flatten()
}

pub(crate) fn value_at<'a>(obj: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(obj, |v, key| v.get(key))
}

/// A scalar at a dotted path, as text (numbers in decimal, booleans as true/false).
pub(crate) fn string_at(obj: &Value, dotted: &str) -> Option<String> {
    match value_at(obj, dotted)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `strconv.FormatBool` of a bool field that defaults to false.
pub(crate) fn bool_at(obj: &Value, dotted: &str) -> String {
    value_at(obj, dotted).and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// `strconv.Itoa` of an integer field that defaults to 0.
pub(crate) fn int_at(obj: &Value, dotted: &str) -> String {
    value_at(obj, dotted).and_then(Value::as_i64).unwrap_or(0).to_string()
}

pub(crate) fn non_empty_string_at(obj: &Value, dotted: &str) -> Option<String> {
    string_at(obj, dotted).filter(|s| !s.is_empty())
}

pub(crate) fn pod_field_value(obj: &Value, field: &str) -> Option<String> {
    match field {
        "spec.nodeName" | "spec.host" => string_at(obj, "spec.nodeName"),
        "spec.hostNetwork" => Some(bool_at(obj, "spec.hostNetwork")),
        "status.podIP" => Some(pod_primary_ip(obj)),
        "spec.restartPolicy" | "spec.schedulerName" | "spec.serviceAccountName" | "status.phase"
        | "status.nominatedNodeName" => string_at(obj, field),
        _ => None,
    }
}

/// Upstream reads `status.podIPs[0].ip` (the served `status.podIP` mirrors it).
pub(crate) fn pod_primary_ip(obj: &Value) -> String {
    let first = value_at(obj, "status.podIPs").and_then(|ips| ips.get(0)).and_then(|ip| ip.get("ip"));
    match first.and_then(Value::as_str) {
        Some(ip) => ip.to_string(),
        None => string_at(obj, "status.podIP").unwrap_or_default(),
    }
}

pub(crate) fn node_field_value(obj: &Value, field: &str) -> Option<String> {
    (field == "spec.unschedulable").then(|| bool_at(obj, field))
}

/// Events: reads both the core/v1 shape (`involvedObject`, `reportingComponent`,
/// `source`) and the events.k8s.io/v1 one (`regarding`, `reportingController`,
/// `deprecatedSource`), since both groups serve the same objects.
pub(crate) fn event_field_value(obj: &Value, field: &str) -> Option<String> {
    let field = canonical_field_label("events.k8s.io", "events", field);
    if let Some(attribute) = field.strip_prefix("involvedObject.") {
        return first_string(obj, &[&format!("involvedObject.{}", attribute), &format!("regarding.{}", attribute)]);
    }
    match field {
        "reason" | "type" => string_at(obj, field),
        "reportingComponent" => Some(event_reporting_component(obj)),
        "source" => Some(event_source(obj)),
        _ => None,
    }
}

pub(crate) fn first_string(obj: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| non_empty_string_at(obj, p)).or_else(|| string_at(obj, paths[0]))
}

pub(crate) fn event_reporting_component(obj: &Value) -> String {
    first_string(obj, &["reportingComponent", "reportingController"]).unwrap_or_default()
}

/// `source.component`, falling back to the reporting controller.
pub(crate) fn event_source(obj: &Value) -> String {
    non_empty_string_at(obj, "source.component")
        .or_else(|| non_empty_string_at(obj, "deprecatedSource.component"))
        .unwrap_or_else(|| event_reporting_component(obj))
}
