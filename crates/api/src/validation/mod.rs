//! Defaulting and validation of the built-in kinds, on JSON objects in their external
//! (v1) shape: upstream's `SetDefaults_*` (plus what the registry strategies'
//! PrepareForCreate adds), ObjectMeta validation and each kind's `Validate*` /
//! `Validate*Update` / `Validate*StatusUpdate`, with upstream's field paths and
//! messages.
//!
//! Kinds are dispatched through [`RULES`]; kinds without an entry (custom resources,
//! kinds not covered here) get ObjectMeta validation with DNS-subdomain names.
//!
//! Left to the caller: name generation from `generateName`, uid / resourceVersion /
//! generation / creationTimestamp / deletion fields and their immutability, IP and
//! port allocation for Services (`clusterIP(s)`, `ipFamilies`, `ipFamilyPolicy`,
//! node ports, `healthCheckNodePort`), and resetting status on create/update.

use serde_json::Value;

use crate::errors::FieldError;

mod affinity;
mod batch;
mod config;
mod container;
mod core_misc;
mod cron;
mod defaults_core;
mod defaults_other;
mod defaults_pod;
mod groups;
mod meta;
mod names;
mod pod;
mod pod_update;
mod probes;
mod projected;
pub mod quantity;
mod rbac;
mod resources;
mod service;
mod status;
mod storage;
mod util;
mod volumes;
mod workloads;

use names::{name_is_dns1035_label, name_is_dns_label, name_is_dns_subdomain, name_is_path_segment, NameFn};

/// Whether a kind validator runs for a create or an update (with the old object).
#[derive(Clone, Copy)]
pub(crate) enum Op<'a> {
    Create,
    Update(&'a Value),
}

type DefaultFn = fn(&mut Value);
type ValidateFn = fn(&Value, Op) -> Vec<FieldError>;
type StatusFn = fn(&Value, &Value) -> Vec<FieldError>;

/// How ObjectMeta is validated for a kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MetaMode {
    /// Core's `ValidateObjectMeta` / `ValidateObjectMetaUpdate`.
    Full,
    /// core/v1 Events only need a name (upstream keeps their legacy rules).
    LegacyEvent,
}

/// One kind's defaulting and validation.
struct KindRule {
    group: &'static str,
    kind: &'static str,
    name: NameFn,
    meta: MetaMode,
    default: Option<DefaultFn>,
    validate: Option<ValidateFn>,
    status: Option<StatusFn>,
}

const fn rule(group: &'static str, kind: &'static str, name: NameFn, default: Option<DefaultFn>, validate: Option<ValidateFn>, status: Option<StatusFn>) -> KindRule {
    KindRule { group, kind, name, meta: MetaMode::Full, default, validate, status }
}

const SUB: NameFn = name_is_dns_subdomain;
const RBAC: &str = "rbac.authorization.k8s.io";
const NET: &str = "networking.k8s.io";

fn node_status(new: &Value, old: &Value) -> Vec<FieldError> {
    core_misc::validate_node(new, Op::Update(old))
}

static RULES: &[KindRule] = &[
    rule("", "Pod", SUB, Some(defaults_pod::default_pod), Some(pod::validate_pod), Some(pod_update::validate_pod_status)),
    rule("", "PodTemplate", SUB, Some(defaults_core::default_pod_template), Some(workloads::validate_pod_template), None),
    rule("", "ReplicationController", SUB, Some(defaults_core::default_replication_controller), Some(workloads::validate_replication_controller), Some(status::replica_set_status)),
    rule("", "Service", name_is_dns1035_label, Some(defaults_core::default_service), Some(service::validate_service), Some(service::validate_service_status)),
    rule("", "Endpoints", SUB, Some(defaults_core::default_endpoints), Some(service::validate_endpoints), None),
    rule("", "ConfigMap", SUB, None, Some(config::validate_config_map), None),
    rule("", "Secret", SUB, Some(defaults_core::default_secret), Some(config::validate_secret), None),
    rule("", "Namespace", name_is_dns_label, Some(defaults_core::default_namespace), Some(core_misc::validate_namespace), Some(core_misc::validate_namespace_status)),
    rule("", "Node", SUB, Some(defaults_core::default_node), Some(core_misc::validate_node), Some(node_status)),
    rule("", "ServiceAccount", SUB, None, None, None),
    rule("", "LimitRange", SUB, Some(defaults_core::default_limit_range), Some(core_misc::validate_limit_range), None),
    rule("", "ResourceQuota", SUB, Some(defaults_core::default_resource_quota), Some(core_misc::validate_resource_quota), Some(core_misc::validate_resource_quota_status)),
    rule("", "PersistentVolume", SUB, Some(defaults_core::default_pv), Some(storage::validate_pv), None),
    rule("", "PersistentVolumeClaim", SUB, Some(defaults_core::default_pvc), Some(storage::validate_pvc), Some(storage::validate_pvc_status)),
    KindRule { group: "", kind: "Event", name: SUB, meta: MetaMode::LegacyEvent, default: None, validate: Some(core_misc::validate_core_event), status: None },
    rule("events.k8s.io", "Event", SUB, None, Some(core_misc::validate_events_event), None),
    rule("apps", "Deployment", SUB, Some(defaults_other::default_deployment), Some(workloads::validate_deployment), Some(status::deployment_status)),
    rule("apps", "ReplicaSet", SUB, Some(defaults_other::default_replica_set), Some(workloads::validate_replica_set), Some(status::replica_set_status)),
    rule("apps", "StatefulSet", name_is_dns_label, Some(defaults_other::default_stateful_set), Some(workloads::validate_stateful_set), Some(status::stateful_set_status)),
    rule("apps", "DaemonSet", SUB, Some(defaults_other::default_daemon_set), Some(workloads::validate_daemon_set), Some(status::daemon_set_status)),
    rule("apps", "ControllerRevision", SUB, None, Some(workloads::validate_controller_revision), None),
    rule("batch", "Job", SUB, Some(defaults_other::default_job), Some(batch::validate_job), Some(batch::validate_job_status)),
    rule("batch", "CronJob", SUB, Some(defaults_other::default_cron_job), Some(batch::validate_cron_job), None),
    rule(RBAC, "Role", name_is_path_segment, None, Some(rbac::validate_role), None),
    rule(RBAC, "ClusterRole", name_is_path_segment, None, Some(rbac::validate_cluster_role), None),
    rule(RBAC, "RoleBinding", name_is_path_segment, Some(defaults_other::default_role_binding), Some(rbac::validate_role_binding), None),
    rule(RBAC, "ClusterRoleBinding", name_is_path_segment, Some(defaults_other::default_role_binding), Some(rbac::validate_cluster_role_binding), None),
    rule(NET, "Ingress", SUB, None, Some(groups::validate_ingress), Some(groups::validate_ingress_status)),
    rule(NET, "IngressClass", SUB, Some(defaults_other::default_ingress_class), Some(groups::validate_ingress_class), None),
    rule(NET, "NetworkPolicy", SUB, Some(defaults_other::default_network_policy), Some(groups::validate_network_policy), None),
    rule("policy", "PodDisruptionBudget", SUB, None, Some(groups::validate_pdb), Some(groups::validate_pdb_status)),
    rule("autoscaling", "HorizontalPodAutoscaler", SUB, Some(defaults_other::default_hpa), Some(groups::validate_hpa), Some(groups::validate_hpa_status)),
    rule("coordination.k8s.io", "Lease", SUB, None, Some(groups::validate_lease), None),
    rule("scheduling.k8s.io", "PriorityClass", SUB, Some(defaults_other::default_priority_class), Some(groups::validate_priority_class), None),
    rule("storage.k8s.io", "StorageClass", SUB, Some(defaults_other::default_storage_class), Some(storage::validate_storage_class), None),
];

fn find(group: &str, kind: &str) -> Option<&'static KindRule> {
    RULES.iter().find(|r| r.group == group && r.kind == kind)
}

/// Apply upstream's defaults for this kind in place (group "" = core). Unknown kinds:
/// no-op. Jobs get their generated selector and labels only once `metadata.uid` is set.
pub fn default_object(group: &str, kind: &str, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    if let Some(f) = find(group, kind).and_then(|r| r.default) {
        f(obj);
    }
}

fn meta_create(rule: Option<&KindRule>, namespaced: bool, obj: &Value) -> Vec<FieldError> {
    match rule {
        Some(r) if r.meta == MetaMode::LegacyEvent => {
            let name = util::at(obj, &["metadata", "name"]).and_then(Value::as_str).unwrap_or("");
            let gen = util::at(obj, &["metadata", "generateName"]).and_then(Value::as_str).unwrap_or("");
            if name.is_empty() && gen.is_empty() {
                return vec![FieldError::required("metadata.name", "name or generateName is required")];
            }
            Vec::new()
        }
        _ => {
            let opts = meta::MetaOpts { namespaced, name_fn: rule.map_or(SUB, |r| r.name), kube_finalizers: rule.is_some() };
            meta::validate_object_meta(obj, &opts)
        }
    }
}

/// Validate a new object: ObjectMeta (name format per kind, namespace presence,
/// labels, annotations, owner references, finalizers) and the kind's own rules.
pub fn validate_create(group: &str, kind: &str, namespaced: bool, obj: &Value) -> Vec<FieldError> {
    let rule = find(group, kind);
    let mut errs = meta_create(rule, namespaced, obj);
    if let Some(v) = rule.and_then(|r| r.validate) {
        errs.extend(v(obj, Op::Create));
    }
    errs
}

/// Validate an update: the kind's rules on the new object plus its immutability rules.
/// Name, namespace, uid, creationTimestamp, resourceVersion and generation are the
/// caller's.
pub fn validate_update(group: &str, kind: &str, _namespaced: bool, new: &Value, old: &Value) -> Vec<FieldError> {
    let rule = find(group, kind);
    let mut errs = match rule {
        Some(r) if r.meta == MetaMode::LegacyEvent => Vec::new(),
        _ => meta::validate_object_meta_update(new, old, rule.is_some()),
    };
    if let Some(v) = rule.and_then(|r| r.validate) {
        errs.extend(v(new, Op::Update(old)));
    }
    errs
}

/// Validate only the status of an update to the status subresource (upstream's
/// `Validate*StatusUpdate` minus ObjectMeta); empty for kinds without such rules.
pub fn validate_status_update(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<FieldError> {
    match find(group, kind).and_then(|r| r.status) {
        Some(f) => f(new, old),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
