//! Column definitions per kind, in upstream order (priority 1 = only with `-o wide`).

use super::docs as d;
use super::Column;

const fn col(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

const fn wide(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 1,
    }
}

const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: d::NAME,
    priority: 0,
};
const AGE: Column = col("Age", "string", d::CREATED);
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);
const S: &str = "string";
const I: &str = "integer";
const B: &str = "boolean";

pub static DEFAULT: &[Column] = &[
    NAME,
    Column {
        name: "Created At",
        type_: "date",
        format: "",
        description: d::CREATED,
        priority: 0,
    },
];

pub static POD: &[Column] = &[
    NAME,
    col("Ready", S, d::POD_READY),
    col("Status", S, "The aggregate status of the containers in this pod."),
    col("Restarts", S, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    wide("IP", S, d::POD_IP),
    wide("Node", S, d::POD_NODE),
    wide("Nominated Node", S, d::POD_NOMINATED),
    wide("Readiness Gates", S, d::POD_GATES),
];

pub static POD_TEMPLATE: &[Column] = &[
    NAME,
    col("Containers", S, "Names of each container in the template."),
    col(
        "Images",
        S,
        "Images referenced by each container in the template.",
    ),
    col("Pod Labels", S, "The labels for the pod template."),
];

pub static PDB: &[Column] = &[
    NAME,
    col(
        "Min Available",
        S,
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        S,
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        I,
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

pub static RC: &[Column] = &[
    NAME,
    col("Desired", I, d::RC_SPEC_REPLICAS),
    col("Current", I, d::RC_STATUS_REPLICAS),
    col("Ready", I, d::RC_READY),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::RC_SELECTOR),
];

pub static RS: &[Column] = &[
    NAME,
    col("Desired", I, d::RS_SPEC_REPLICAS),
    col("Current", I, d::RS_STATUS_REPLICAS),
    col("Ready", I, d::RS_READY),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::RS_SELECTOR),
];

pub static DS: &[Column] = &[
    NAME,
    col("Desired", I, d::DS_DESIRED),
    col("Current", I, d::DS_CURRENT),
    col("Ready", I, d::DS_READY),
    col("Up-to-date", I, d::DS_UPDATED),
    col("Available", I, d::DS_AVAILABLE),
    col("Node Selector", S, d::NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::DS_SELECTOR),
];

pub static JOB: &[Column] = &[
    NAME,
    col("Status", S, "Status of the job."),
    col("Completions", S, d::JOB_SUCCEEDED),
    col("Duration", S, "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::JOB_SELECTOR),
];

pub static CRONJOB: &[Column] = &[
    NAME,
    col("Schedule", S, d::CJ_SCHEDULE),
    col("Timezone", S, d::CJ_TIMEZONE),
    col("Suspend", B, d::CJ_SUSPEND),
    col("Active", I, d::CJ_ACTIVE),
    col("Last Schedule", S, d::CJ_LAST),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::JOB_SELECTOR),
];

pub static SERVICE: &[Column] = &[
    NAME,
    col("Type", S, d::SVC_TYPE),
    col("Cluster-IP", S, d::SVC_CLUSTER_IP),
    col("External-IP", S, d::SVC_EXTERNAL_IPS),
    col("Port(s)", S, d::SVC_PORTS),
    AGE,
    wide("Selector", S, d::SVC_SELECTOR),
];

pub static INGRESS: &[Column] = &[
    NAME,
    col(
        "Class",
        S,
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    col(
        "Hosts",
        S,
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    col(
        "Address",
        S,
        "Address is a list containing ingress points for the load-balancer",
    ),
    col("Ports", S, "Ports of TLS configurations that open"),
    AGE,
];

pub static INGRESS_CLASS: &[Column] = &[
    NAME,
    col(
        "Controller",
        S,
        "Controller that is responsible for handling this class",
    ),
    col(
        "Parameters",
        S,
        "A reference to a resource with additional parameters",
    ),
    AGE,
];

const READY_PODS: &str = "Number of the pod with ready state";

pub static STATEFULSET: &[Column] = &[NAME, col("Ready", S, READY_PODS), AGE, CONTAINERS, IMAGES];

pub static ENDPOINTS: &[Column] = &[NAME, col("Endpoints", S, d::EP_SUBSETS), AGE];

pub static NODE: &[Column] = &[
    NAME,
    col("Status", S, "The status of the node"),
    col("Roles", S, "The roles of the node"),
    AGE,
    col("Version", S, d::NODE_KUBELET),
    wide("Internal-IP", S, d::NODE_ADDRESSES),
    wide("External-IP", S, d::NODE_ADDRESSES),
    wide("OS-Image", S, d::NODE_OS),
    wide("Kernel-Version", S, d::NODE_KERNEL),
    wide("Container-Runtime", S, d::NODE_RUNTIME),
];

pub static EVENT: &[Column] = &[
    col("Last Seen", S, d::EV_LAST),
    col("Type", S, d::EV_TYPE),
    col("Reason", S, d::EV_REASON),
    col("Object", S, d::EV_OBJECT),
    wide("Subobject", S, d::EV_FIELD_PATH),
    wide("Source", S, d::EV_SOURCE),
    col("Message", S, d::EV_MESSAGE),
    wide("First Seen", S, d::EV_FIRST),
    wide("Count", S, d::EV_COUNT),
    Column {
        name: "Name",
        type_: S,
        format: "name",
        description: d::NAME,
        priority: 1,
    },
];

pub static NAMESPACE: &[Column] = &[NAME, col("Status", S, "The status of the namespace"), AGE];

pub static SECRET: &[Column] = &[
    NAME,
    col("Type", S, d::SECRET_TYPE),
    col("Data", S, d::SECRET_DATA),
    AGE,
];

pub static SERVICE_ACCOUNT: &[Column] = &[NAME, col("Secrets", S, d::SA_SECRETS), AGE];

pub static PV: &[Column] = &[
    NAME,
    col("Capacity", S, d::PV_CAPACITY),
    col("Access Modes", S, d::PV_ACCESS),
    col("Reclaim Policy", S, d::PV_RECLAIM),
    col("Status", S, d::PV_PHASE),
    col("Claim", S, d::PV_CLAIM),
    col("StorageClass", S, "StorageClass of the pv"),
    col(
        "VolumeAttributesClass",
        S,
        "VolumeAttributesClass of the pv",
    ),
    col("Reason", S, d::PV_REASON),
    AGE,
    wide("VolumeMode", S, d::PV_MODE),
];

pub static PVC: &[Column] = &[
    NAME,
    col("Status", S, d::PVC_PHASE),
    col("Volume", S, d::PVC_VOLUME),
    col("Capacity", S, d::PVC_CAPACITY),
    col("Access Modes", S, d::PVC_ACCESS),
    col("StorageClass", S, "StorageClass of the pvc"),
    col(
        "VolumeAttributesClass",
        S,
        "VolumeAttributesClass of the pvc",
    ),
    AGE,
    wide("VolumeMode", S, d::PVC_MODE),
];

pub static COMPONENT_STATUS: &[Column] = &[
    NAME,
    col("Status", S, "Status of the component conditions"),
    col("Message", S, "Message of the component conditions"),
    col("Error", S, "Error of the component conditions"),
];

pub static DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", S, READY_PODS),
    col("Up-to-date", S, d::DEP_UPDATED),
    col("Available", S, d::DEP_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", S, d::DEP_SELECTOR),
];

pub static HPA: &[Column] = &[
    NAME,
    col("Reference", S, d::HPA_REF),
    col("Targets", S, d::HPA_METRICS),
    col("MinPods", S, d::HPA_MIN),
    col("MaxPods", S, d::HPA_MAX),
    col("Replicas", S, d::HPA_CURRENT),
    AGE,
];

pub static CONFIG_MAP: &[Column] = &[NAME, col("Data", S, d::CM_DATA), AGE];

pub static NETWORK_POLICY: &[Column] = &[NAME, col("Pod-Selector", S, d::NP_POD_SELECTOR), AGE];

pub static ROLE_BINDING: &[Column] = &[
    NAME,
    col("Role", S, d::RB_ROLE),
    AGE,
    wide("Users", S, "Users in the roleBinding"),
    wide("Groups", S, "Groups in the roleBinding"),
    wide("ServiceAccounts", S, "ServiceAccounts in the roleBinding"),
];

pub static CLUSTER_ROLE_BINDING: &[Column] = &[
    NAME,
    col("Role", S, d::CRB_ROLE),
    AGE,
    wide("Users", S, "Users in the clusterRoleBinding"),
    wide("Groups", S, "Groups in the clusterRoleBinding"),
    wide(
        "ServiceAccounts",
        S,
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

pub static CSR: &[Column] = &[
    NAME,
    AGE,
    col("SignerName", S, d::CSR_SIGNER),
    col("Requestor", S, d::CSR_REQUEST),
    col("RequestedDuration", S, d::CSR_EXPIRATION),
    col("Condition", S, d::CSR_CONDITIONS),
];

pub static CLUSTER_TRUST_BUNDLE: &[Column] = &[NAME, col("SignerName", S, d::CTB_SIGNER)];

pub static LEASE: &[Column] = &[NAME, col("Holder", S, d::LEASE_HOLDER), AGE];

pub static LEASE_CANDIDATE: &[Column] = &[
    NAME,
    col("LeaseName", S, d::LC_LEASE_NAME),
    col("BinaryVersion", S, d::EMPTY),
    col("EmulationVersion", S, d::EMPTY),
    AGE,
];

pub static STORAGE_CLASS: &[Column] = &[
    NAME,
    col("Provisioner", S, d::SC_PROVISIONER),
    col("ReclaimPolicy", S, d::SC_RECLAIM),
    col("VolumeBindingMode", S, d::SC_BINDING),
    col("AllowVolumeExpansion", S, d::SC_EXPANSION),
    AGE,
];

pub static VOLUME_ATTRIBUTES_CLASS: &[Column] = &[NAME, col("DriverName", S, d::VAC_DRIVER), AGE];

pub static CONTROLLER_REVISION: &[Column] = &[
    NAME,
    col("Controller", S, "Controller of the object"),
    col("Revision", S, d::CR_REVISION),
    AGE,
];

pub static RESOURCE_QUOTA: &[Column] = &[
    NAME,
    col("Request", S, "Request represents a minimum amount of cpu/memory that a container may consume."),
    col("Limit", S, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
    AGE,
];

pub static PRIORITY_CLASS: &[Column] = &[
    NAME,
    col("Value", I, d::PC_VALUE),
    col("Global-Default", B, d::PC_GLOBAL),
    AGE,
    col("PreemptionPolicy", S, d::PC_PREEMPTION),
];

pub static RUNTIME_CLASS: &[Column] = &[NAME, col("Handler", S, d::EMPTY), AGE];

pub static VOLUME_ATTACHMENT: &[Column] = &[
    NAME,
    Column {
        name: "Attacher",
        type_: S,
        format: "name",
        description: d::VA_ATTACHER,
        priority: 0,
    },
    col("PV", S, d::VA_PV),
    col("Node", S, d::VA_NODE),
    col("Attached", B, d::VA_ATTACHED),
    AGE,
];

pub static ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", S, d::ES_ADDRESS_TYPE),
    col("Ports", S, d::ES_PORTS),
    col("Endpoints", S, d::ES_ENDPOINTS),
    AGE,
];

pub static CSI_NODE: &[Column] = &[
    NAME,
    col(
        "Drivers",
        I,
        "Drivers indicates the number of CSI drivers registered on the node",
    ),
    AGE,
];

pub static CSI_DRIVER: &[Column] = &[
    NAME,
    col("AttachRequired", B, d::CSID_ATTACH),
    col("PodInfoOnMount", B, d::CSID_POD_INFO),
    col("StorageCapacity", B, d::CSID_CAPACITY),
    col("TokenRequests", S, d::CSID_TOKENS),
    col("RequiresRepublish", B, d::CSID_REPUBLISH),
    col("Modes", S, d::CSID_MODES),
    AGE,
];

pub static CSI_STORAGE_CAPACITY: &[Column] = &[
    NAME,
    col("StorageClassName", S, d::CSC_CLASS),
    col("Capacity", S, d::CSC_CAPACITY),
];

const WEBHOOKS: Column = col(
    "Webhooks",
    I,
    "Webhooks indicates the number of webhooks registered in this configuration",
);

pub static WEBHOOK_CONFIGURATION: &[Column] = &[NAME, WEBHOOKS, AGE];

const PARAM_KIND: Column = col(
    "ParamKind",
    S,
    "ParamKind specifies the kind of resources used to parameterize this policy",
);

pub static VALIDATING_POLICY: &[Column] = &[
    NAME,
    col(
        "Validations",
        I,
        "Validations indicates the number of validation rules defined in this configuration",
    ),
    PARAM_KIND,
    AGE,
];

pub static MUTATING_POLICY: &[Column] = &[
    NAME,
    col(
        "Mutations",
        I,
        "Mutation indicates the number of mutations rules defined in this configuration",
    ),
    PARAM_KIND,
    AGE,
];

pub static POLICY_BINDING: &[Column] = &[
    NAME,
    col(
        "PolicyName",
        S,
        "PolicyName indicates the policy definition which the policy binding binded to",
    ),
    col(
        "ParamRef",
        S,
        "ParamRef indicates the param resource which sets the configration param",
    ),
    AGE,
];

pub static FLOW_SCHEMA: &[Column] = &[
    NAME,
    col("PriorityLevel", S, d::FS_PL),
    col("MatchingPrecedence", S, d::FS_PRECEDENCE),
    col("DistinguisherMethod", S, d::FS_DISTINGUISHER),
    AGE,
    col(
        "MissingPL",
        S,
        "references a broken or non-existent PriorityLevelConfiguration",
    ),
];

pub static PRIORITY_LEVEL: &[Column] = &[
    NAME,
    col("Type", S, d::PL_TYPE),
    col("NominalConcurrencyShares", S, d::PL_NCS),
    col("Queues", S, d::PL_QUEUES),
    col("HandSize", S, d::PL_HAND),
    col("QueueLengthLimit", S, d::PL_QLL),
    AGE,
];

pub static STORAGE_VERSION: &[Column] = &[
    NAME,
    col("CommonEncodingVersion", S, d::SV_COMMON),
    col("StorageVersions", S, d::SV_VERSIONS),
    AGE,
];

pub static SCALE: &[Column] = &[
    col("Name", S, d::NAME),
    col("Desired", I, d::SCALE_SPEC),
    col("Available", I, d::SCALE_STATUS),
    AGE,
];

pub static NAME_AGE: &[Column] = &[NAME, AGE];

pub static RESOURCE_CLAIM: &[Column] = &[
    NAME,
    col(
        "State",
        S,
        "A summary of the current state (allocated, pending, reserved, etc.).",
    ),
    AGE,
];

pub static RESOURCE_SLICE: &[Column] = &[
    NAME,
    col("Node", S, d::RSL_NODE),
    col("Driver", S, d::RSL_DRIVER),
    col("Pool", S, d::RSL_POOL),
    AGE,
];

pub static SERVICE_CIDR: &[Column] = &[NAME, col("CIDRs", S, d::SCIDR_CIDRS), AGE];

pub static IP_ADDRESS: &[Column] = &[NAME, col("ParentRef", S, d::IPA_PARENT)];

pub static STORAGE_VERSION_MIGRATION: &[Column] = &[
    col("Name", S, d::NAME),
    col("Resource", S, "Fully qualified resource to migrate"),
];
