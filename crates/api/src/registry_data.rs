//! The table of built-in resources a default Kubernetes 1.33 kube-apiserver serves.
//!
//! Only group versions that are enabled by default are listed: since the
//! flowcontrol.apiserver.k8s.io/v1beta3 removal in 1.32 no beta version is on by
//! default any more, so 1.33 serves only the GA versions below (plus autoscaling/v1
//! next to autoscaling/v2). Off by default in 1.33, and therefore absent here:
//! admissionregistration v1alpha1/v1beta1, authentication v1alpha1/v1beta1,
//! certificates v1alpha1/v1beta1 (ClusterTrustBundle), coordination v1alpha2/v1beta1
//! (LeaseCandidate), networking v1beta1, resource.k8s.io (all versions),
//! storage v1alpha1/v1beta1 (VolumeAttributesClass), storagemigration v1alpha1,
//! internal.apiserver v1alpha1. apiregistration.k8s.io/v1 (APIService) is served by
//! the aggregator and is not part of this table.
//!
//! Resources are listed per group version in upstream discovery order (alphabetical by
//! plural), subresources alphabetically as well. Verbs follow upstream discovery order.
//! A subresource that speaks its parent's kind carries its parent's group and version.

use crate::registry::{ResourceDef, SubresourceDef};

// ---------------------------------------------------------------------------------------
// Verb lists
// ---------------------------------------------------------------------------------------

/// The verbs of an ordinary stored resource.
pub const ALL_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// Namespaces cannot be deleted as a collection.
pub const NAMESPACE_VERBS: &[&str] =
    &["create", "delete", "get", "list", "patch", "update", "watch"];
/// Virtual resources that only accept POST (reviews, bindings).
pub const CREATE_ONLY: &[&str] = &["create"];
/// Read-only resources (componentstatuses).
pub const GET_LIST: &[&str] = &["get", "list"];
/// status, scale, approval, ephemeralcontainers, resize.
pub const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// Connect subresources that accept GET and POST (attach, exec, portforward).
pub const CONNECT_VERBS: &[&str] = &["create", "get"];
/// Proxy subresources (pods, services, nodes).
pub const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

const NONE: &[&str] = &[];
const CAT_ALL: &[&str] = &["all"];
const CAT_API_EXT: &[&str] = &["api-extensions"];

const NAMESPACED: bool = true;
const CLUSTER: bool = false;

// ---------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------

/// A resource with all verbs and no short names, categories or subresources; storage is
/// the plural. Fields that differ are overridden with struct update syntax.
const fn res(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        verbs: ALL_VERBS,
        short_names: NONE,
        categories: NONE,
        subresources: &[],
        storage: plural,
    }
}

/// A create-only virtual resource (never stored; its storage is its plural).
const fn create_only(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef { verbs: CREATE_ONLY, ..res(group, version, kind, plural, singular, namespaced) }
}

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> SubresourceDef {
    SubresourceDef { name, group, version, kind, verbs }
}

/// `status` speaking the parent kind: get, patch, update.
const fn status(group: &'static str, version: &'static str, kind: &'static str) -> SubresourceDef {
    sub("status", group, version, kind, GET_PATCH_UPDATE)
}

/// `scale` speaking autoscaling/v1 Scale.
const SCALE: SubresourceDef = sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

// ---------------------------------------------------------------------------------------
// Subresource tables
// ---------------------------------------------------------------------------------------

const POD_SUBRESOURCES: &[SubresourceDef] = &[
    sub("attach", "", "v1", "PodAttachOptions", CONNECT_VERBS),
    sub("binding", "", "v1", "Binding", CREATE_ONLY),
    sub("ephemeralcontainers", "", "v1", "Pod", GET_PATCH_UPDATE),
    sub("eviction", "policy", "v1", "Eviction", CREATE_ONLY),
    sub("exec", "", "v1", "PodExecOptions", CONNECT_VERBS),
    sub("log", "", "v1", "Pod", &["get"]),
    sub("portforward", "", "v1", "PodPortForwardOptions", CONNECT_VERBS),
    sub("proxy", "", "v1", "PodProxyOptions", PROXY_VERBS),
    // New in 1.33 (InPlacePodVerticalScaling beta, on by default).
    sub("resize", "", "v1", "Pod", GET_PATCH_UPDATE),
    status("", "v1", "Pod"),
];

const NAMESPACE_SUBRESOURCES: &[SubresourceDef] = &[
    sub("finalize", "", "v1", "Namespace", &["update"]),
    status("", "v1", "Namespace"),
];

const NODE_SUBRESOURCES: &[SubresourceDef] = &[
    sub("proxy", "", "v1", "NodeProxyOptions", PROXY_VERBS),
    status("", "v1", "Node"),
];

const SERVICE_SUBRESOURCES: &[SubresourceDef] = &[
    sub("proxy", "", "v1", "ServiceProxyOptions", PROXY_VERBS),
    status("", "v1", "Service"),
];

const SERVICEACCOUNT_SUBRESOURCES: &[SubresourceDef] =
    &[sub("token", "authentication.k8s.io", "v1", "TokenRequest", CREATE_ONLY)];

const CSR_SUBRESOURCES: &[SubresourceDef] = &[
    sub("approval", "certificates.k8s.io", "v1", "CertificateSigningRequest", GET_PATCH_UPDATE),
    status("certificates.k8s.io", "v1", "CertificateSigningRequest"),
];

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

pub static RESOURCES: &[ResourceDef] = &[
    // ----- core "" v1 -----
    create_only("", "v1", "Binding", "bindings", "binding", NAMESPACED),
    ResourceDef {
        verbs: GET_LIST,
        short_names: &["cs"],
        ..res("", "v1", "ComponentStatus", "componentstatuses", "componentstatus", CLUSTER)
    },
    ResourceDef {
        short_names: &["cm"],
        ..res("", "v1", "ConfigMap", "configmaps", "configmap", NAMESPACED)
    },
    ResourceDef {
        short_names: &["ep"],
        ..res("", "v1", "Endpoints", "endpoints", "endpoints", NAMESPACED)
    },
    ResourceDef { short_names: &["ev"], ..res("", "v1", "Event", "events", "event", NAMESPACED) },
    ResourceDef {
        short_names: &["limits"],
        ..res("", "v1", "LimitRange", "limitranges", "limitrange", NAMESPACED)
    },
    ResourceDef {
        verbs: NAMESPACE_VERBS,
        short_names: &["ns"],
        subresources: NAMESPACE_SUBRESOURCES,
        ..res("", "v1", "Namespace", "namespaces", "namespace", CLUSTER)
    },
    ResourceDef {
        short_names: &["no"],
        subresources: NODE_SUBRESOURCES,
        ..res("", "v1", "Node", "nodes", "node", CLUSTER)
    },
    ResourceDef {
        short_names: &["pvc"],
        subresources: &[status("", "v1", "PersistentVolumeClaim")],
        ..res(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            NAMESPACED,
        )
    },
    ResourceDef {
        short_names: &["pv"],
        subresources: &[status("", "v1", "PersistentVolume")],
        ..res("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", CLUSTER)
    },
    ResourceDef {
        short_names: &["po"],
        categories: CAT_ALL,
        subresources: POD_SUBRESOURCES,
        ..res("", "v1", "Pod", "pods", "pod", NAMESPACED)
    },
    res("", "v1", "PodTemplate", "podtemplates", "podtemplate", NAMESPACED),
    ResourceDef {
        short_names: &["rc"],
        categories: CAT_ALL,
        subresources: &[SCALE, status("", "v1", "ReplicationController")],
        ..res(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            NAMESPACED,
        )
    },
    ResourceDef {
        short_names: &["quota"],
        subresources: &[status("", "v1", "ResourceQuota")],
        ..res("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", NAMESPACED)
    },
    res("", "v1", "Secret", "secrets", "secret", NAMESPACED),
    ResourceDef {
        short_names: &["sa"],
        subresources: SERVICEACCOUNT_SUBRESOURCES,
        ..res("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", NAMESPACED)
    },
    ResourceDef {
        short_names: &["svc"],
        categories: CAT_ALL,
        subresources: SERVICE_SUBRESOURCES,
        ..res("", "v1", "Service", "services", "service", NAMESPACED)
    },
    // ----- apps/v1 -----
    res("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", NAMESPACED),
    ResourceDef {
        short_names: &["ds"],
        categories: CAT_ALL,
        subresources: &[status("apps", "v1", "DaemonSet")],
        ..res("apps", "v1", "DaemonSet", "daemonsets", "daemonset", NAMESPACED)
    },
    ResourceDef {
        short_names: &["deploy"],
        categories: CAT_ALL,
        subresources: &[SCALE, status("apps", "v1", "Deployment")],
        ..res("apps", "v1", "Deployment", "deployments", "deployment", NAMESPACED)
    },
    ResourceDef {
        short_names: &["rs"],
        categories: CAT_ALL,
        subresources: &[SCALE, status("apps", "v1", "ReplicaSet")],
        ..res("apps", "v1", "ReplicaSet", "replicasets", "replicaset", NAMESPACED)
    },
    ResourceDef {
        short_names: &["sts"],
        categories: CAT_ALL,
        subresources: &[SCALE, status("apps", "v1", "StatefulSet")],
        ..res("apps", "v1", "StatefulSet", "statefulsets", "statefulset", NAMESPACED)
    },
    // ----- events.k8s.io/v1 (same objects as core v1 events) -----
    ResourceDef {
        short_names: &["ev"],
        storage: "events",
        ..res("events.k8s.io", "v1", "Event", "events", "event", NAMESPACED)
    },
    // ----- authentication.k8s.io/v1 -----
    create_only(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        CLUSTER,
    ),
    create_only("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", CLUSTER),
    // ----- authorization.k8s.io/v1 -----
    create_only(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        NAMESPACED,
    ),
    create_only(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        CLUSTER,
    ),
    create_only(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        CLUSTER,
    ),
    create_only(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        CLUSTER,
    ),
    // ----- autoscaling/v2 (preferred) and autoscaling/v1: one set of objects -----
    ResourceDef {
        short_names: &["hpa"],
        categories: CAT_ALL,
        subresources: &[status("autoscaling", "v2", "HorizontalPodAutoscaler")],
        storage: "horizontalpodautoscalers",
        ..res(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            NAMESPACED,
        )
    },
    ResourceDef {
        short_names: &["hpa"],
        categories: CAT_ALL,
        subresources: &[status("autoscaling", "v1", "HorizontalPodAutoscaler")],
        storage: "horizontalpodautoscalers",
        ..res(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            NAMESPACED,
        )
    },
    // ----- batch/v1 -----
    ResourceDef {
        short_names: &["cj"],
        categories: CAT_ALL,
        subresources: &[status("batch", "v1", "CronJob")],
        ..res("batch", "v1", "CronJob", "cronjobs", "cronjob", NAMESPACED)
    },
    ResourceDef {
        categories: CAT_ALL,
        subresources: &[status("batch", "v1", "Job")],
        ..res("batch", "v1", "Job", "jobs", "job", NAMESPACED)
    },
    // ----- certificates.k8s.io/v1 -----
    ResourceDef {
        short_names: &["csr"],
        subresources: CSR_SUBRESOURCES,
        ..res(
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            "certificatesigningrequests",
            "certificatesigningrequest",
            CLUSTER,
        )
    },
    // ----- networking.k8s.io/v1 -----
    res("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", CLUSTER),
    ResourceDef {
        short_names: &["ing"],
        subresources: &[status("networking.k8s.io", "v1", "Ingress")],
        ..res("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", NAMESPACED)
    },
    // IPAddress and ServiceCIDR went GA in 1.33.
    ResourceDef {
        short_names: &["ip"],
        ..res("networking.k8s.io", "v1", "IPAddress", "ipaddresses", "ipaddress", CLUSTER)
    },
    ResourceDef {
        short_names: &["netpol"],
        ..res(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            "networkpolicy",
            NAMESPACED,
        )
    },
    ResourceDef {
        subresources: &[status("networking.k8s.io", "v1", "ServiceCIDR")],
        ..res("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", "servicecidr", CLUSTER)
    },
    // ----- policy/v1 -----
    ResourceDef {
        short_names: &["pdb"],
        subresources: &[status("policy", "v1", "PodDisruptionBudget")],
        ..res(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            NAMESPACED,
        )
    },
    // ----- rbac.authorization.k8s.io/v1 -----
    res(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        CLUSTER,
    ),
    res("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", CLUSTER),
    res(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        NAMESPACED,
    ),
    res("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", NAMESPACED),
    // ----- storage.k8s.io/v1 -----
    res("storage.k8s.io", "v1", "CSIDriver", "csidrivers", "csidriver", CLUSTER),
    res("storage.k8s.io", "v1", "CSINode", "csinodes", "csinode", CLUSTER),
    res(
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        "csistoragecapacity",
        NAMESPACED,
    ),
    ResourceDef {
        short_names: &["sc"],
        ..res("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", CLUSTER)
    },
    ResourceDef {
        subresources: &[status("storage.k8s.io", "v1", "VolumeAttachment")],
        ..res(
            "storage.k8s.io",
            "v1",
            "VolumeAttachment",
            "volumeattachments",
            "volumeattachment",
            CLUSTER,
        )
    },
    // ----- admissionregistration.k8s.io/v1 -----
    ResourceDef {
        categories: CAT_API_EXT,
        ..res(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            "mutatingwebhookconfiguration",
            CLUSTER,
        )
    },
    ResourceDef {
        categories: CAT_API_EXT,
        subresources: &[status("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy")],
        ..res(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            "validatingadmissionpolicy",
            CLUSTER,
        )
    },
    ResourceDef {
        categories: CAT_API_EXT,
        ..res(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            "validatingadmissionpolicybinding",
            CLUSTER,
        )
    },
    ResourceDef {
        categories: CAT_API_EXT,
        ..res(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            "validatingwebhookconfiguration",
            CLUSTER,
        )
    },
    // ----- apiextensions.k8s.io/v1 -----
    ResourceDef {
        short_names: &["crd", "crds"],
        categories: CAT_API_EXT,
        subresources: &[status("apiextensions.k8s.io", "v1", "CustomResourceDefinition")],
        ..res(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            "customresourcedefinition",
            CLUSTER,
        )
    },
    // ----- apiregistration.k8s.io/v1 (served by upstream's aggregator) -----
    ResourceDef {
        categories: CAT_API_EXT,
        subresources: &[status("apiregistration.k8s.io", "v1", "APIService")],
        ..res("apiregistration.k8s.io", "v1", "APIService", "apiservices", "apiservice", CLUSTER)
    },
    // ----- scheduling.k8s.io/v1 -----
    ResourceDef {
        short_names: &["pc"],
        ..res("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", CLUSTER)
    },
    // ----- coordination.k8s.io/v1 -----
    res("coordination.k8s.io", "v1", "Lease", "leases", "lease", NAMESPACED),
    // ----- node.k8s.io/v1 -----
    res("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", "runtimeclass", CLUSTER),
    // ----- discovery.k8s.io/v1 -----
    res("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", NAMESPACED),
    // ----- flowcontrol.apiserver.k8s.io/v1 -----
    ResourceDef {
        subresources: &[status("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema")],
        ..res("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", "flowschema", CLUSTER)
    },
    ResourceDef {
        subresources: &[status("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration")],
        ..res(
            "flowcontrol.apiserver.k8s.io",
            "v1",
            "PriorityLevelConfiguration",
            "prioritylevelconfigurations",
            "prioritylevelconfiguration",
            CLUSTER,
        )
    },
];

/// API groups in the order upstream's /apis lists them, each with served versions, preferred first.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    pub name: &'static str,
    pub versions: &'static [&'static str],
}

/// Non-core groups in upstream /apis order (apiregistration.k8s.io, which upstream lists
/// first, is served by the aggregator and not part of this table).
pub static GROUPS: &[GroupDef] = &[
    GroupDef { name: "apiregistration.k8s.io", versions: &["v1"] },
    GroupDef { name: "apps", versions: &["v1"] },
    GroupDef { name: "events.k8s.io", versions: &["v1"] },
    GroupDef { name: "authentication.k8s.io", versions: &["v1"] },
    GroupDef { name: "authorization.k8s.io", versions: &["v1"] },
    GroupDef { name: "autoscaling", versions: &["v2", "v1"] },
    GroupDef { name: "batch", versions: &["v1"] },
    GroupDef { name: "certificates.k8s.io", versions: &["v1"] },
    GroupDef { name: "networking.k8s.io", versions: &["v1"] },
    GroupDef { name: "policy", versions: &["v1"] },
    GroupDef { name: "rbac.authorization.k8s.io", versions: &["v1"] },
    GroupDef { name: "storage.k8s.io", versions: &["v1"] },
    GroupDef { name: "admissionregistration.k8s.io", versions: &["v1"] },
    GroupDef { name: "apiextensions.k8s.io", versions: &["v1"] },
    GroupDef { name: "scheduling.k8s.io", versions: &["v1"] },
    GroupDef { name: "coordination.k8s.io", versions: &["v1"] },
    GroupDef { name: "node.k8s.io", versions: &["v1"] },
    GroupDef { name: "discovery.k8s.io", versions: &["v1"] },
    GroupDef { name: "flowcontrol.apiserver.k8s.io", versions: &["v1"] },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn find(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
        RESOURCES
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .unwrap_or_else(|| panic!("{group}/{version} {plural} missing"))
    }

    fn sub<'a>(r: &'a ResourceDef, name: &str) -> &'a SubresourceDef {
        r.subresources
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{}/{} missing", r.plural, name))
    }

    #[test]
    fn pods() {
        let p = find("", "v1", "pods");
        assert_eq!(p.kind, "Pod");
        assert_eq!(p.singular, "pod");
        assert!(p.namespaced);
        assert_eq!(p.short_names, &["po"]);
        assert_eq!(p.categories, &["all"]);
        assert_eq!(p.verbs, ALL_VERBS);
        for name in ["status", "log", "exec", "eviction", "attach", "binding", "resize"] {
            sub(p, name);
        }
        let ev = sub(p, "eviction");
        assert_eq!((ev.group, ev.version, ev.kind, ev.verbs), ("policy", "v1", "Eviction", CREATE_ONLY));
        assert_eq!(sub(p, "log").verbs, &["get"]);
        assert_eq!(sub(p, "exec").verbs, &["create", "get"]);
        assert_eq!(sub(p, "status").verbs, &["get", "patch", "update"]);
    }

    #[test]
    fn scale_subresources() {
        for (g, plural) in [
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("", "replicationcontrollers"),
        ] {
            let s = sub(find(g, "v1", plural), "scale");
            assert_eq!((s.group, s.version, s.kind), ("autoscaling", "v1", "Scale"));
            assert_eq!(s.verbs, GET_PATCH_UPDATE);
        }
        let d = find("apps", "v1", "deployments");
        assert_eq!(d.short_names, &["deploy"]);
        assert_eq!(d.categories, &["all"]);
    }

    #[test]
    fn special_verbs() {
        assert_eq!(find("", "v1", "componentstatuses").verbs, &["get", "list"]);
        assert_eq!(find("", "v1", "bindings").verbs, &["create"]);
        assert_eq!(find("authentication.k8s.io", "v1", "tokenreviews").verbs, &["create"]);
        assert!(!find("", "v1", "namespaces").verbs.contains(&"deletecollection"));
        assert!(find("authorization.k8s.io", "v1", "localsubjectaccessreviews").namespaced);
        assert!(!find("authorization.k8s.io", "v1", "subjectaccessreviews").namespaced);
        let tok = sub(find("", "v1", "serviceaccounts"), "token");
        assert_eq!((tok.group, tok.version, tok.kind), ("authentication.k8s.io", "v1", "TokenRequest"));
        let crd = find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        assert_eq!(crd.short_names, &["crd", "crds"]);
        assert_eq!(crd.categories, &["api-extensions"]);
    }

    #[test]
    fn no_duplicates() {
        let mut seen = HashSet::new();
        for r in RESOURCES {
            assert!(seen.insert((r.group, r.version, r.plural)), "duplicate {}/{} {}", r.group, r.version, r.plural);
            let mut subs = HashSet::new();
            for s in r.subresources {
                assert!(subs.insert(s.name), "duplicate subresource {}/{}", r.plural, s.name);
            }
        }
        // A short name must identify one plural.
        let mut short: std::collections::HashMap<&str, &str> = Default::default();
        for r in RESOURCES {
            for s in r.short_names {
                let prev = short.insert(s, r.plural);
                assert!(prev.is_none() || prev == Some(r.plural), "short name {s} reused");
            }
        }
    }

    #[test]
    fn well_formed() {
        let known = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
        for r in RESOURCES {
            assert!(!r.singular.is_empty() && !r.plural.is_empty() && !r.kind.is_empty());
            assert_eq!(r.singular, r.singular.to_lowercase());
            assert_eq!(r.plural, r.plural.to_lowercase());
            assert!(!r.storage.is_empty());
            assert!(!r.verbs.is_empty());
            for v in r.verbs.iter().chain(r.subresources.iter().flat_map(|s| s.verbs.iter())) {
                assert!(known.contains(v), "unknown verb {v} on {}", r.plural);
            }
            // Verbs are in upstream (sorted) order.
            let mut sorted = r.verbs.to_vec();
            sorted.sort();
            assert_eq!(sorted, r.verbs, "{} verbs unsorted", r.plural);
        }
    }

    #[test]
    fn groups_match_resources() {
        assert!(GROUPS.iter().all(|g| !g.name.is_empty()));
        for g in GROUPS {
            for v in g.versions {
                assert!(
                    RESOURCES.iter().any(|r| r.group == g.name && r.version == *v),
                    "{}/{v} has no resources",
                    g.name
                );
            }
        }
        for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
            let g = GROUPS.iter().find(|g| g.name == r.group).expect("group listed");
            assert!(g.versions.contains(&r.version), "{}/{} not listed", r.group, r.version);
        }
        let autoscaling = GROUPS.iter().find(|g| g.name == "autoscaling").unwrap();
        assert_eq!(autoscaling.versions, &["v2", "v1"]);
    }

    #[test]
    fn shared_storage() {
        let core = find("", "v1", "events");
        let ev = find("events.k8s.io", "v1", "events");
        assert_eq!(core.storage, "events");
        assert_eq!(core.storage, ev.storage);
        assert_eq!(
            find("autoscaling", "v1", "horizontalpodautoscalers").storage,
            find("autoscaling", "v2", "horizontalpodautoscalers").storage
        );
        // Otherwise a storage prefix belongs to one resource.
        let mut by_prefix: std::collections::HashMap<&str, (&str, &str)> = Default::default();
        for r in RESOURCES {
            if let Some(prev) = by_prefix.insert(r.storage, (r.plural, r.kind)) {
                assert_eq!(prev, (r.plural, r.kind), "storage {} shared", r.storage);
            }
        }
    }

    #[test]
    fn count() {
        assert_eq!(RESOURCES.len(), 61);
        assert_eq!(RESOURCES.iter().filter(|r| r.group.is_empty()).count(), 17);
    }
}
