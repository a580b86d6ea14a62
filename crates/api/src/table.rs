//! Server-side printing: the columns and cells kube-apiserver 1.33 returns for
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (what `kubectl get` shows).
//!
//! The server always prints the wide form: cells cover every column, including the
//! priority-1 ones that kubectl only shows with `-o wide`. Objects are the JSON the
//! API serves (external field names). Kinds without a printer get the default table
//! (Name, Created At), as upstream's default table convertor.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

mod apps;
mod cols;
mod corev1;
mod docs;
mod hpa;
mod misc;
mod netstore;
mod pods;
mod util;

#[cfg(test)]
mod tests;

/// One column definition of a Table (metav1.TableColumnDefinition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}

type CellsFn = fn(&Value, DateTime<Utc>) -> Vec<Value>;

/// A printer: the kind it handles, its columns and its cell function.
struct Printer {
    group: &'static str,
    kind: &'static str,
    columns: &'static [Column],
    cells: CellsFn,
}

const fn p(
    group: &'static str,
    kind: &'static str,
    columns: &'static [Column],
    cells: CellsFn,
) -> Printer {
    Printer {
        group,
        kind,
        columns,
        cells,
    }
}

const ADMISSION: &str = "admissionregistration.k8s.io";
const STORAGE: &str = "storage.k8s.io";
const NETWORKING: &str = "networking.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const FLOWCONTROL: &str = "flowcontrol.apiserver.k8s.io";
const COORDINATION: &str = "coordination.k8s.io";
const CERTIFICATES: &str = "certificates.k8s.io";
const RESOURCE: &str = "resource.k8s.io";

/// Every kind with a printer in upstream's printers.go (1.33).
#[rustfmt::skip]
static PRINTERS: &[Printer] = &[
    p("", "Pod", cols::POD, pods::pod),
    p("", "PodTemplate", cols::POD_TEMPLATE, apps::pod_template),
    p("", "ReplicationController", cols::RC, apps::replication_controller),
    p("", "Service", cols::SERVICE, corev1::service),
    p("", "Endpoints", cols::ENDPOINTS, corev1::endpoints),
    p("", "Node", cols::NODE, corev1::node),
    p("", "Event", cols::EVENT, corev1::event),
    p("", "Namespace", cols::NAMESPACE, corev1::namespace),
    p("", "Secret", cols::SECRET, corev1::secret),
    p("", "ServiceAccount", cols::SERVICE_ACCOUNT, corev1::service_account),
    p("", "PersistentVolume", cols::PV, corev1::persistent_volume),
    p("", "PersistentVolumeClaim", cols::PVC, corev1::persistent_volume_claim),
    p("", "ComponentStatus", cols::COMPONENT_STATUS, corev1::component_status),
    p("", "ConfigMap", cols::CONFIG_MAP, corev1::config_map),
    p("", "ResourceQuota", cols::RESOURCE_QUOTA, corev1::resource_quota),
    p("events.k8s.io", "Event", cols::EVENT, corev1::events_api_event),
    p("apps", "ReplicaSet", cols::RS, apps::replica_set),
    p("apps", "DaemonSet", cols::DS, apps::daemon_set),
    p("apps", "StatefulSet", cols::STATEFULSET, apps::stateful_set),
    p("apps", "Deployment", cols::DEPLOYMENT, apps::deployment),
    p("apps", "ControllerRevision", cols::CONTROLLER_REVISION, apps::controller_revision),
    p("batch", "Job", cols::JOB, apps::job),
    p("batch", "CronJob", cols::CRONJOB, apps::cron_job),
    p("policy", "PodDisruptionBudget", cols::PDB, apps::pdb),
    p("autoscaling", "HorizontalPodAutoscaler", cols::HPA, apps::hpa),
    p("autoscaling", "Scale", cols::SCALE, apps::scale),
    p(NETWORKING, "Ingress", cols::INGRESS, netstore::ingress),
    p(NETWORKING, "IngressClass", cols::INGRESS_CLASS, netstore::ingress_class),
    p(NETWORKING, "NetworkPolicy", cols::NETWORK_POLICY, netstore::network_policy),
    p(NETWORKING, "ServiceCIDR", cols::SERVICE_CIDR, netstore::service_cidr),
    p(NETWORKING, "IPAddress", cols::IP_ADDRESS, netstore::ip_address),
    p("discovery.k8s.io", "EndpointSlice", cols::ENDPOINT_SLICE, netstore::endpoint_slice),
    p(STORAGE, "CSINode", cols::CSI_NODE, netstore::csi_node),
    p(STORAGE, "CSIDriver", cols::CSI_DRIVER, netstore::csi_driver),
    p(STORAGE, "CSIStorageCapacity", cols::CSI_STORAGE_CAPACITY, netstore::csi_storage_capacity),
    p(STORAGE, "StorageClass", cols::STORAGE_CLASS, netstore::storage_class),
    p(STORAGE, "VolumeAttributesClass", cols::VOLUME_ATTRIBUTES_CLASS, netstore::volume_attributes_class),
    p(STORAGE, "VolumeAttachment", cols::VOLUME_ATTACHMENT, netstore::volume_attachment),
    p(ADMISSION, "MutatingWebhookConfiguration", cols::WEBHOOK_CONFIGURATION, misc::webhook_configuration),
    p(ADMISSION, "ValidatingWebhookConfiguration", cols::WEBHOOK_CONFIGURATION, misc::webhook_configuration),
    p(ADMISSION, "ValidatingAdmissionPolicy", cols::VALIDATING_POLICY, misc::validating_policy),
    p(ADMISSION, "ValidatingAdmissionPolicyBinding", cols::POLICY_BINDING, misc::policy_binding),
    p(ADMISSION, "MutatingAdmissionPolicy", cols::MUTATING_POLICY, misc::mutating_policy),
    p(ADMISSION, "MutatingAdmissionPolicyBinding", cols::POLICY_BINDING, misc::policy_binding),
    p(RBAC, "RoleBinding", cols::ROLE_BINDING, misc::role_binding),
    p(RBAC, "ClusterRoleBinding", cols::CLUSTER_ROLE_BINDING, misc::role_binding),
    p(CERTIFICATES, "CertificateSigningRequest", cols::CSR, misc::csr),
    p(CERTIFICATES, "ClusterTrustBundle", cols::CLUSTER_TRUST_BUNDLE, misc::cluster_trust_bundle),
    p(COORDINATION, "Lease", cols::LEASE, misc::lease),
    p(COORDINATION, "LeaseCandidate", cols::LEASE_CANDIDATE, misc::lease_candidate),
    p("scheduling.k8s.io", "PriorityClass", cols::PRIORITY_CLASS, misc::priority_class),
    p("node.k8s.io", "RuntimeClass", cols::RUNTIME_CLASS, misc::runtime_class),
    p(FLOWCONTROL, "FlowSchema", cols::FLOW_SCHEMA, misc::flow_schema),
    p(FLOWCONTROL, "PriorityLevelConfiguration", cols::PRIORITY_LEVEL, misc::priority_level),
    p("internal.apiserver.k8s.io", "StorageVersion", cols::STORAGE_VERSION, misc::storage_version),
    p(RESOURCE, "DeviceClass", cols::NAME_AGE, misc::name_age),
    p(RESOURCE, "ResourceClaim", cols::RESOURCE_CLAIM, misc::resource_claim),
    p(RESOURCE, "ResourceClaimTemplate", cols::NAME_AGE, misc::name_age),
    p(RESOURCE, "ResourceSlice", cols::RESOURCE_SLICE, misc::resource_slice),
    p("storagemigration.k8s.io", "StorageVersionMigration", cols::STORAGE_VERSION_MIGRATION, misc::storage_version_migration),
];

fn printer(group: &str, kind: &str) -> Option<&'static Printer> {
    PRINTERS.iter().find(|p| p.group == group && p.kind == kind)
}

/// Whether upstream has a dedicated printer for the kind (else the default table applies).
pub fn has_printer(group: &str, kind: &str) -> bool {
    printer(group, kind).is_some()
}

/// Columns for a kind; group "" = core. Unknown kinds get the default (Name, Created At).
pub fn columns(group: &str, kind: &str) -> &'static [Column] {
    printer(group, kind).map_or(cols::DEFAULT, |p| p.columns)
}

/// One row's cells (same length/order as columns()), for `obj`, with ages relative to `now`.
pub fn cells(group: &str, kind: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    match printer(group, kind) {
        Some(p) => (p.cells)(obj, now),
        None => default_cells(obj),
    }
}

/// The row conditions upstream attaches (a finished pod is "Completed"); None for most rows.
pub fn row_conditions(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    match (group, kind) {
        ("", "Pod") => pods::pod_conditions(obj),
        _ => None,
    }
}

/// Cells of the default table: the name and the creation time in RFC 3339 (UTC).
fn default_cells(obj: &Value) -> Vec<Value> {
    let created = util::opt_s(obj, "metadata.creationTimestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![util::name(obj), created.into()]
}

/// The JSON of a column definition as it appears in Table.columnDefinitions: {"name","type","format","description","priority"}.
pub fn column_json(c: &Column) -> Value {
    json!({
        "name": c.name,
        "type": c.type_,
        "format": c.format,
        "description": c.description,
        "priority": c.priority,
    })
}

/// Human duration as kubectl prints AGE ("5s", "3m12s", "2d3h", "<unknown>" for missing).
pub fn human_age(ts: Option<&str>, now: DateTime<Utc>) -> String {
    util::since(ts, now)
}
