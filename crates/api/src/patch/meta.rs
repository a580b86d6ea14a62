//! The strategic-merge-patch metadata of the built-in types: a compact, static
//! rendering of the `patchStrategy`/`patchMergeKey` Go struct tags of `k8s.io/api`
//! (v0.33) and `metav1.ObjectMeta`, as a type graph with one root per
//! `(group, kind)`.
//!
//! Only the fields on a path to a tagged field are described; any other field falls
//! back to the untagged behaviour (maps merged key by key, lists replaced
//! atomically). Structurally identical types share one node (e.g. every status that
//! only has `conditions` merged by `type`).

/// The patch strategy of a field (`patchStrategy` tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// No tag: maps merge, lists are replaced.
    Unset,
    /// `merge`: lists merge (by `merge_key` for lists of objects, as a set for
    /// primitive lists).
    Merge,
    /// `replace`: the value is replaced as a whole.
    Replace,
    /// `retainKeys` (only affects how clients compute patches).
    RetainKeys,
    /// `merge,retainKeys`.
    MergeRetainKeys,
}

impl Strategy {
    /// Whether lists with this strategy are merged rather than replaced.
    pub fn is_merge(self) -> bool {
        matches!(self, Strategy::Merge | Strategy::MergeRetainKeys)
    }
}

/// The metadata of one field.
#[derive(Debug)]
pub struct FieldMeta {
    pub strategy: Strategy,
    /// `patchMergeKey`, for merge lists of objects.
    pub merge_key: Option<&'static str>,
    /// The (element) type, when it has tagged fields somewhere below it.
    pub elem: Option<&'static TypeMeta>,
}

/// A struct type: its fields that carry (or lead to) patch metadata.
#[derive(Debug)]
pub struct TypeMeta {
    pub fields: &'static [(&'static str, FieldMeta)],
}

impl TypeMeta {
    /// The metadata of the field serialized as `name`, if described.
    pub fn field(&'static self, name: &str) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, f)| f)
    }
}

/// The metadata of the field at `path` (field names from the object root, list
/// elements skipped), e.g. `["spec", "template", "spec", "containers"]`.
pub fn field_meta(group: &str, kind: &str, path: &[&str]) -> Option<&'static FieldMeta> {
    let (last, parents) = path.split_last()?;
    let mut node = root(group, kind)?;
    for name in parents {
        node = node.field(name)?.elem?;
    }
    node.field(last)
}

/// The merge key of the list at `path` if it is a merge list of objects, e.g.
/// `list_merge_key("apps", "Deployment", &["spec", "template", "spec", "containers"])`
/// is `Some("name")`. Primitive merge lists (`metadata.finalizers`) have no key.
pub fn list_merge_key(group: &str, kind: &str, path: &[&str]) -> Option<&'static str> {
    let meta = field_meta(group, kind, path)?;
    if meta.strategy.is_merge() {
        meta.merge_key
    } else {
        None
    }
}

const fn fm(
    strategy: Strategy,
    merge_key: Option<&'static str>,
    elem: Option<&'static TypeMeta>,
) -> FieldMeta {
    FieldMeta { strategy, merge_key, elem }
}

use Strategy::{Merge, MergeRetainKeys, Replace, RetainKeys, Unset};

// Generated from the struct tags of k8s.io/api v0.33 (one version per group: the GA
// one where it exists) plus apiregistration.k8s.io/v1 APIService.
static OBJECT: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
]};
static META_OBJECT_META: TypeMeta = TypeMeta { fields: &[
    ("ownerReferences", fm(Merge, Some("uid"), None)),
    ("finalizers", fm(Merge, None, None)),
]};
static CORE_COMPONENT_STATUS: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("conditions", fm(Merge, Some("type"), None)),
]};
static CONDITIONS_BY_TYPE: TypeMeta = TypeMeta { fields: &[
    ("conditions", fm(Merge, Some("type"), None)),
]};
static OBJECT_WITH_STATUS_CONDITIONS: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static CORE_NODE_SPEC: TypeMeta = TypeMeta { fields: &[
    ("podCIDRs", fm(Merge, None, None)),
]};
static CORE_NODE_STATUS: TypeMeta = TypeMeta { fields: &[
    ("conditions", fm(Merge, Some("type"), None)),
    ("addresses", fm(Merge, Some("type"), None)),
]};
static CORE_NODE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&CORE_NODE_SPEC))),
    ("status", fm(Unset, None, Some(&CORE_NODE_STATUS))),
]};
static CORE_EPHEMERAL_VOLUME_SOURCE: TypeMeta = TypeMeta { fields: &[
    ("volumeClaimTemplate", fm(Unset, None, Some(&OBJECT))),
]};
static CORE_VOLUME: TypeMeta = TypeMeta { fields: &[
    ("ephemeral", fm(Unset, None, Some(&CORE_EPHEMERAL_VOLUME_SOURCE))),
]};
static CORE_CONTAINER: TypeMeta = TypeMeta { fields: &[
    ("ports", fm(Merge, Some("containerPort"), None)),
    ("env", fm(Merge, Some("name"), None)),
    ("volumeMounts", fm(Merge, Some("mountPath"), None)),
    ("volumeDevices", fm(Merge, Some("devicePath"), None)),
]};
static CORE_POD_SPEC: TypeMeta = TypeMeta { fields: &[
    ("volumes", fm(MergeRetainKeys, Some("name"), Some(&CORE_VOLUME))),
    ("initContainers", fm(Merge, Some("name"), Some(&CORE_CONTAINER))),
    ("containers", fm(Merge, Some("name"), Some(&CORE_CONTAINER))),
    ("ephemeralContainers", fm(Merge, Some("name"), Some(&CORE_CONTAINER))),
    ("imagePullSecrets", fm(Merge, Some("name"), None)),
    ("hostAliases", fm(Merge, Some("ip"), None)),
    ("topologySpreadConstraints", fm(Merge, Some("topologyKey"), None)),
    ("schedulingGates", fm(Merge, Some("name"), None)),
    ("resourceClaims", fm(MergeRetainKeys, Some("name"), None)),
]};
static CORE_CONTAINER_STATUS: TypeMeta = TypeMeta { fields: &[
    ("volumeMounts", fm(Merge, Some("mountPath"), None)),
    ("allocatedResourcesStatus", fm(Merge, Some("name"), None)),
]};
static CORE_POD_STATUS: TypeMeta = TypeMeta { fields: &[
    ("conditions", fm(Merge, Some("type"), None)),
    ("hostIPs", fm(Merge, Some("ip"), None)),
    ("podIPs", fm(Merge, Some("ip"), None)),
    ("initContainerStatuses", fm(Unset, None, Some(&CORE_CONTAINER_STATUS))),
    ("containerStatuses", fm(Unset, None, Some(&CORE_CONTAINER_STATUS))),
    ("ephemeralContainerStatuses", fm(Unset, None, Some(&CORE_CONTAINER_STATUS))),
    ("resourceClaimStatuses", fm(MergeRetainKeys, Some("name"), None)),
]};
static CORE_POD: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&CORE_POD_SPEC))),
    ("status", fm(Unset, None, Some(&CORE_POD_STATUS))),
]};
static CORE_POD_STATUS_RESULT: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("status", fm(Unset, None, Some(&CORE_POD_STATUS))),
]};
static CORE_POD_TEMPLATE_SPEC: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&CORE_POD_SPEC))),
]};
static CORE_POD_TEMPLATE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("template", fm(Unset, None, Some(&CORE_POD_TEMPLATE_SPEC))),
]};
static HAS_POD_TEMPLATE: TypeMeta = TypeMeta { fields: &[
    ("template", fm(Unset, None, Some(&CORE_POD_TEMPLATE_SPEC))),
]};
static WORKLOAD: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&HAS_POD_TEMPLATE))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static CORE_SERVICE_SPEC: TypeMeta = TypeMeta { fields: &[
    ("ports", fm(Merge, Some("port"), None)),
]};
static CORE_SERVICE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&CORE_SERVICE_SPEC))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static CORE_SERVICE_ACCOUNT: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("secrets", fm(Merge, Some("name"), None)),
]};
static HAS_MATCH_CONDITIONS: TypeMeta = TypeMeta { fields: &[
    ("matchConditions", fm(Merge, Some("name"), None)),
]};
static ADMISSIONREGISTRATION_MUTATING_ADMISSION_POLICY: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&HAS_MATCH_CONDITIONS))),
]};
static WEBHOOK_CONFIGURATION: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("webhooks", fm(Merge, Some("name"), Some(&HAS_MATCH_CONDITIONS))),
]};
static ADMISSIONREGISTRATION_VALIDATING_ADMISSION_POLICY_SPEC: TypeMeta = TypeMeta { fields: &[
    ("matchConditions", fm(Merge, Some("name"), None)),
    ("variables", fm(Merge, Some("name"), None)),
]};
static ADMISSIONREGISTRATION_VALIDATING_ADMISSION_POLICY: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&ADMISSIONREGISTRATION_VALIDATING_ADMISSION_POLICY_SPEC))),
]};
static APPS_DEPLOYMENT_SPEC: TypeMeta = TypeMeta { fields: &[
    ("template", fm(Unset, None, Some(&CORE_POD_TEMPLATE_SPEC))),
    ("strategy", fm(RetainKeys, None, None)),
]};
static APPS_DEPLOYMENT: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&APPS_DEPLOYMENT_SPEC))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static APPS_STATEFUL_SET_SPEC: TypeMeta = TypeMeta { fields: &[
    ("template", fm(Unset, None, Some(&CORE_POD_TEMPLATE_SPEC))),
    ("volumeClaimTemplates", fm(Unset, None, Some(&OBJECT_WITH_STATUS_CONDITIONS))),
]};
static APPS_STATEFUL_SET: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&APPS_STATEFUL_SET_SPEC))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static BATCH_JOB_TEMPLATE_SPEC: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&HAS_POD_TEMPLATE))),
]};
static BATCH_CRON_JOB_SPEC: TypeMeta = TypeMeta { fields: &[
    ("jobTemplate", fm(Unset, None, Some(&BATCH_JOB_TEMPLATE_SPEC))),
]};
static BATCH_CRON_JOB: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&BATCH_CRON_JOB_SPEC))),
]};
static POLICY_POD_DISRUPTION_BUDGET_SPEC: TypeMeta = TypeMeta { fields: &[
    ("selector", fm(Replace, None, None)),
]};
static POLICY_POD_DISRUPTION_BUDGET: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&POLICY_POD_DISRUPTION_BUDGET_SPEC))),
    ("status", fm(Unset, None, Some(&CONDITIONS_BY_TYPE))),
]};
static RESOURCE_RESOURCE_CLAIM_STATUS: TypeMeta = TypeMeta { fields: &[
    ("reservedFor", fm(Merge, Some("uid"), None)),
]};
static RESOURCE_RESOURCE_CLAIM: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("status", fm(Unset, None, Some(&RESOURCE_RESOURCE_CLAIM_STATUS))),
]};
static RESOURCE_RESOURCE_CLAIM_TEMPLATE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&OBJECT))),
]};
static STORAGE_CSI_NODE_SPEC: TypeMeta = TypeMeta { fields: &[
    ("drivers", fm(Merge, Some("name"), None)),
]};
static STORAGE_CSI_NODE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("spec", fm(Unset, None, Some(&STORAGE_CSI_NODE_SPEC))),
]};
static APIREGISTRATION_API_SERVICE_STATUS: TypeMeta = TypeMeta { fields: &[
    ("conditions", fm(Merge, Some("type"), None)),
]};
static APIREGISTRATION_API_SERVICE: TypeMeta = TypeMeta { fields: &[
    ("metadata", fm(Unset, None, Some(&META_OBJECT_META))),
    ("status", fm(Unset, None, Some(&APIREGISTRATION_API_SERVICE_STATUS))),
]};
/// The root of the type graph for `(group, kind)`.
pub fn root(group: &str, kind: &str) -> Option<&'static TypeMeta> {
    Some(match (group, kind) {
        ("", "Binding") => &OBJECT,
        ("", "ComponentStatus") => &CORE_COMPONENT_STATUS,
        ("", "ConfigMap") => &OBJECT,
        ("", "Endpoints") => &OBJECT,
        ("", "Event") => &OBJECT,
        ("", "LimitRange") => &OBJECT,
        ("", "Namespace") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("", "Node") => &CORE_NODE,
        ("", "PersistentVolume") => &OBJECT,
        ("", "PersistentVolumeClaim") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("", "Pod") => &CORE_POD,
        ("", "PodStatusResult") => &CORE_POD_STATUS_RESULT,
        ("", "PodTemplate") => &CORE_POD_TEMPLATE,
        ("", "RangeAllocation") => &OBJECT,
        ("", "ReplicationController") => &WORKLOAD,
        ("", "ResourceQuota") => &OBJECT,
        ("", "Secret") => &OBJECT,
        ("", "Service") => &CORE_SERVICE,
        ("", "ServiceAccount") => &CORE_SERVICE_ACCOUNT,
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => &ADMISSIONREGISTRATION_MUTATING_ADMISSION_POLICY,
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding") => &OBJECT,
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => &WEBHOOK_CONFIGURATION,
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => &ADMISSIONREGISTRATION_VALIDATING_ADMISSION_POLICY,
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => &OBJECT,
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => &WEBHOOK_CONFIGURATION,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &OBJECT,
        ("apiregistration.k8s.io", "APIService") => &APIREGISTRATION_API_SERVICE,
        ("apps", "ControllerRevision") => &OBJECT,
        ("apps", "DaemonSet") => &WORKLOAD,
        ("apps", "Deployment") => &APPS_DEPLOYMENT,
        ("apps", "ReplicaSet") => &WORKLOAD,
        ("apps", "Scale") => &OBJECT,
        ("apps", "StatefulSet") => &APPS_STATEFUL_SET,
        ("autoscaling", "HorizontalPodAutoscaler") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("autoscaling", "Scale") => &OBJECT,
        ("batch", "CronJob") => &BATCH_CRON_JOB,
        ("batch", "Job") => &WORKLOAD,
        ("certificates.k8s.io", "CertificateSigningRequest") => &OBJECT,
        ("certificates.k8s.io", "ClusterTrustBundle") => &OBJECT,
        ("coordination.k8s.io", "Lease") => &OBJECT,
        ("coordination.k8s.io", "LeaseCandidate") => &OBJECT,
        ("discovery.k8s.io", "EndpointSlice") => &OBJECT,
        ("events.k8s.io", "Event") => &OBJECT,
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("internal.apiserver.k8s.io", "StorageVersion") => &OBJECT,
        ("networking.k8s.io", "IPAddress") => &OBJECT,
        ("networking.k8s.io", "Ingress") => &OBJECT,
        ("networking.k8s.io", "IngressClass") => &OBJECT,
        ("networking.k8s.io", "NetworkPolicy") => &OBJECT,
        ("networking.k8s.io", "ServiceCIDR") => &OBJECT_WITH_STATUS_CONDITIONS,
        ("node.k8s.io", "RuntimeClass") => &OBJECT,
        ("policy", "Eviction") => &OBJECT,
        ("policy", "PodDisruptionBudget") => &POLICY_POD_DISRUPTION_BUDGET,
        ("rbac.authorization.k8s.io", "ClusterRole") => &OBJECT,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &OBJECT,
        ("rbac.authorization.k8s.io", "Role") => &OBJECT,
        ("rbac.authorization.k8s.io", "RoleBinding") => &OBJECT,
        ("resource.k8s.io", "DeviceClass") => &OBJECT,
        ("resource.k8s.io", "DeviceTaintRule") => &OBJECT,
        ("resource.k8s.io", "ResourceClaim") => &RESOURCE_RESOURCE_CLAIM,
        ("resource.k8s.io", "ResourceClaimTemplate") => &RESOURCE_RESOURCE_CLAIM_TEMPLATE,
        ("resource.k8s.io", "ResourceSlice") => &OBJECT,
        ("scheduling.k8s.io", "PriorityClass") => &OBJECT,
        ("storage.k8s.io", "CSIDriver") => &OBJECT,
        ("storage.k8s.io", "CSINode") => &STORAGE_CSI_NODE,
        ("storage.k8s.io", "CSIStorageCapacity") => &OBJECT,
        ("storage.k8s.io", "StorageClass") => &OBJECT,
        ("storage.k8s.io", "VolumeAttachment") => &OBJECT,
        ("storage.k8s.io", "VolumeAttributesClass") => &OBJECT,
        ("storagemigration.k8s.io", "StorageVersionMigration") => &OBJECT_WITH_STATUS_CONDITIONS,
        _ => return None,
    })
}
