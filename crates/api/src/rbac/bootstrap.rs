//! The default roles and bindings every cluster has (upstream's bootstrappolicy), and
//! their reconciliation at start: create what is missing; for objects still marked
//! `rbac.authorization.kubernetes.io/autoupdate: "true"`, add missing rules, subjects,
//! labels and annotations (a union, so local additions survive).

use serde_json::{json, Map, Value};

use super::rules::{rules_from_json, rules_to_json, uncovered, PolicyRule};
use super::{AUTOUPDATE_ANNOTATION, GROUP};

const READ: &str = "get,list,watch";
const READ_WRITE: &str = "create,delete,deletecollection,get,list,patch,update,watch";
const WRITE: &str = "create,delete,deletecollection,patch,update";
const AGGREGATE_TO: &str = "rbac.authorization.k8s.io/aggregate-to-";

fn r(verbs: &str, groups: &str, resources: &str) -> PolicyRule {
    PolicyRule::resource(verbs, groups, resources)
}

fn urls(verbs: &str, urls: &str) -> PolicyRule {
    PolicyRule::urls(verbs, urls)
}

/// Writing Events in both groups, which every component does.
fn events() -> PolicyRule {
    r("create,patch,update", ",events.k8s.io", "events")
}

fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>, aggregate_from: Option<&str>) -> Value {
    let mut label_map = Map::new();
    label_map.insert("kubernetes.io/bootstrapping".into(), json!("rbac-defaults"));
    for (k, v) in labels {
        label_map.insert(k.to_string(), json!(v));
    }
    let mut obj = json!({
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": name, "labels": label_map, "annotations": {AUTOUPDATE_ANNOTATION: "true"}},
        "rules": rules_to_json(&rules),
    });
    if let Some(to) = aggregate_from {
        obj["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {format!("{AGGREGATE_TO}{to}"): "true"}}]});
    }
    obj
}

fn plain(name: &str, rules: Vec<PolicyRule>) -> Value {
    cluster_role(name, &[], rules, None)
}

/// The rules of `system:node` (also what the Node authorizer grants every node for
/// resources it does not subdivide).
pub fn node_rules() -> Vec<PolicyRule> {
    vec![
        r("create", "authentication.k8s.io", "tokenreviews"),
        r("create", "authorization.k8s.io", "localsubjectaccessreviews,subjectaccessreviews"),
        r(READ, "", "services"),
        r("create,get,list,watch", "", "nodes"),
        r("patch,update", "", "nodes/status"),
        r("patch,update", "", "nodes"),
        r("create,patch,update", "", "events"),
        r(READ, "", "pods"),
        r("create,delete", "", "pods"),
        r("patch,update", "", "pods/status"),
        r("create", "", "pods/eviction"),
        r(READ, "", "configmaps,secrets"),
        r("get", "", "persistentvolumeclaims,persistentvolumes"),
        r("get", "", "endpoints"),
        r("create,get,list,watch", "certificates.k8s.io", "certificatesigningrequests"),
        r("create,delete,get,patch,update", "coordination.k8s.io", "leases"),
        r("get", "storage.k8s.io", "volumeattachments"),
        r("create", "", "serviceaccounts/token"),
        r("get,patch,update", "", "persistentvolumeclaims/status"),
        r(READ, "storage.k8s.io", "csidrivers"),
        r("create,delete,get,patch,update", "storage.k8s.io", "csinodes"),
        r(READ, "node.k8s.io", "runtimeclasses"),
    ]
}

fn aggregate_to_edit() -> Vec<PolicyRule> {
    vec![
        r(READ, "", "pods/attach,pods/exec,pods/portforward,pods/proxy,secrets,services/proxy"),
        r("impersonate", "", "serviceaccounts"),
        r(WRITE, "", "pods,pods/attach,pods/exec,pods/portforward,pods/proxy"),
        r("create", "", "pods/eviction"),
        r(WRITE, "", "configmaps,events,persistentvolumeclaims,replicationcontrollers,replicationcontrollers/scale,secrets,serviceaccounts,services,services/proxy"),
        r("create", "", "serviceaccounts/token"),
        r(WRITE, "apps", "daemonsets,deployments,deployments/rollback,deployments/scale,replicasets,replicasets/scale,statefulsets,statefulsets/scale"),
        r(WRITE, "autoscaling", "horizontalpodautoscalers"),
        r(WRITE, "batch", "cronjobs,jobs"),
        r(WRITE, "extensions", "daemonsets,deployments,deployments/rollback,deployments/scale,ingresses,networkpolicies,replicasets,replicasets/scale,replicationcontrollers/scale"),
        r(WRITE, "policy", "poddisruptionbudgets"),
        r(WRITE, "networking.k8s.io", "ingresses,networkpolicies"),
        r(READ_WRITE, "coordination.k8s.io", "leases"),
    ]
}

fn aggregate_to_view() -> Vec<PolicyRule> {
    vec![
        r(READ, "", "configmaps,endpoints,persistentvolumeclaims,persistentvolumeclaims/status,pods,replicationcontrollers,replicationcontrollers/scale,serviceaccounts,services,services/status"),
        r(READ, "", "bindings,events,limitranges,namespaces/status,pods/log,pods/status,replicationcontrollers/status,resourcequotas,resourcequotas/status"),
        r(READ, "", "namespaces"),
        r(READ, "discovery.k8s.io", "endpointslices"),
        r(READ, "apps", "controllerrevisions,daemonsets,daemonsets/status,deployments,deployments/scale,deployments/status,replicasets,replicasets/scale,replicasets/status,statefulsets,statefulsets/scale,statefulsets/status"),
        r(READ, "autoscaling", "horizontalpodautoscalers,horizontalpodautoscalers/status"),
        r(READ, "batch", "cronjobs,cronjobs/status,jobs,jobs/status"),
        r(READ, "extensions", "daemonsets,daemonsets/status,deployments,deployments/scale,deployments/status,ingresses,ingresses/status,networkpolicies,replicasets,replicasets/scale,replicasets/status,replicationcontrollers/scale"),
        r(READ, "policy", "poddisruptionbudgets,poddisruptionbudgets/status"),
        r(READ, "networking.k8s.io", "ingresses,ingresses/status,networkpolicies"),
    ]
}

fn approver(signer: &str) -> Vec<PolicyRule> {
    vec![r("approve", "certificates.k8s.io", "signers").names(signer)]
}

fn leader_lock(name: &str) -> [PolicyRule; 2] {
    [r("create", "coordination.k8s.io", "leases"), r("get,update", "coordination.k8s.io", "leases").names(name)]
}

fn kube_controller_manager() -> Vec<PolicyRule> {
    let mut rules = vec![events()];
    rules.extend(leader_lock("kube-controller-manager"));
    rules.extend([
        r("create", "", "secrets,serviceaccounts"),
        r("delete", "", "secrets"),
        r("get", "", "configmaps,namespaces,secrets,serviceaccounts"),
        r("update", "", "secrets,serviceaccounts"),
        r("create", "authentication.k8s.io", "tokenreviews"),
        r("create", "authorization.k8s.io", "subjectaccessreviews"),
        r("list,watch", "*", "*"),
        r("create", "", "serviceaccounts/token"),
    ]);
    rules
}

fn kube_scheduler() -> Vec<PolicyRule> {
    let mut rules = vec![events()];
    rules.extend(leader_lock("kube-scheduler"));
    rules.extend([
        r(READ, "", "nodes"),
        r("delete,get,list,watch", "", "pods"),
        r("create", "", "bindings,pods/binding"),
        r("patch,update", "", "pods/status"),
        r(READ, "", "replicationcontrollers,services"),
        r(READ, "apps,extensions", "replicasets"),
        r(READ, "apps", "statefulsets"),
        r(READ, "policy", "poddisruptionbudgets"),
        r(READ, "", "persistentvolumeclaims,persistentvolumes"),
        r("create", "authentication.k8s.io", "tokenreviews"),
        r("create", "authorization.k8s.io", "subjectaccessreviews"),
        r(READ, "storage.k8s.io", "csinodes"),
        r(READ, "", "namespaces"),
        r(READ, "storage.k8s.io", "csidrivers"),
        r(READ, "storage.k8s.io", "csistoragecapacities"),
    ]);
    rules
}

/// The default ClusterRoles (without the controllers' ones).
pub fn cluster_roles() -> Vec<Value> {
    let csr = "certificates.k8s.io";
    vec![
        cluster_role("admin", &[], vec![], Some("admin")),
        plain("cluster-admin", vec![r("*", "*", "*"), urls("*", "*")]),
        cluster_role("edit", &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")], vec![], Some("edit")),
        cluster_role(
            "system:aggregate-to-admin",
            &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")],
            vec![r("create", "authorization.k8s.io", "localsubjectaccessreviews"), r(READ_WRITE, GROUP, "rolebindings,roles")],
            None,
        ),
        cluster_role("system:aggregate-to-edit", &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")], aggregate_to_edit(), None),
        cluster_role("system:aggregate-to-view", &[("rbac.authorization.k8s.io/aggregate-to-view", "true")], aggregate_to_view(), None),
        plain("system:auth-delegator", vec![r("create", "authentication.k8s.io", "tokenreviews"), r("create", "authorization.k8s.io", "subjectaccessreviews")]),
        plain(
            "system:basic-user",
            vec![r("create", "authorization.k8s.io", "selfsubjectaccessreviews,selfsubjectrulesreviews"), r("create", "authentication.k8s.io", "selfsubjectreviews")],
        ),
        plain("system:certificates.k8s.io:certificatesigningrequests:nodeclient", vec![r("create", csr, "certificatesigningrequests/nodeclient")]),
        plain("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", vec![r("create", csr, "certificatesigningrequests/selfnodeclient")]),
        plain("system:certificates.k8s.io:kube-apiserver-client-approver", approver("kubernetes.io/kube-apiserver-client")),
        plain("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", approver("kubernetes.io/kube-apiserver-client-kubelet")),
        plain("system:certificates.k8s.io:kubelet-serving-approver", approver("kubernetes.io/kubelet-serving")),
        plain("system:certificates.k8s.io:legacy-unknown-approver", approver("kubernetes.io/legacy-unknown")),
        plain("system:discovery", vec![urls("get", "/api,/api/*,/apis,/apis/*,/healthz,/livez,/openapi,/openapi/*,/readyz,/version,/version/")]),
        plain("system:heapster", vec![r(READ, "", "events,namespaces,nodes,pods"), r(READ, "extensions", "deployments")]),
        plain("system:kube-aggregator", vec![r(READ, "", "endpoints,services")]),
        plain("system:kube-controller-manager", kube_controller_manager()),
        plain("system:kube-dns", vec![r("list,watch", "", "endpoints,services")]),
        plain("system:kube-scheduler", kube_scheduler()),
        plain(
            "system:kubelet-api-admin",
            vec![r(READ, "", "nodes"), r("proxy", "", "nodes"), r("*", "", "nodes/log,nodes/metrics,nodes/proxy,nodes/stats")],
        ),
        plain("system:monitoring", vec![urls("get", "/healthz,/healthz/*,/livez,/livez/*,/metrics,/metrics/slis,/readyz,/readyz/*")]),
        plain("system:node", node_rules()),
        plain("system:node-bootstrapper", vec![r("create,get,list,watch", csr, "certificatesigningrequests")]),
        plain("system:node-problem-detector", vec![r("get", "", "nodes"), r("patch", "", "nodes/status"), events()]),
        plain(
            "system:node-proxier",
            vec![r("list,watch", "", "endpoints,services"), r(READ, "", "nodes"), events(), r("list,watch", "discovery.k8s.io", "endpointslices")],
        ),
        plain(
            "system:persistent-volume-provisioner",
            vec![
                r("create,delete,get,list,watch", "", "persistentvolumes"),
                r("get,list,update,watch", "", "persistentvolumeclaims"),
                r(READ, "storage.k8s.io", "storageclasses"),
                r("watch", "", "events"),
                events(),
            ],
        ),
        plain("system:public-info-viewer", vec![urls("get", "/healthz,/livez,/readyz,/version,/version/")]),
        plain("system:service-account-issuer-discovery", vec![urls("get", "/.well-known/openid-configuration,/openid/v1/jwks")]),
        plain(
            "system:volume-scheduler",
            vec![
                r("get,list,patch,update,watch", "", "persistentvolumes"),
                r(READ, "storage.k8s.io", "storageclasses"),
                r("get,list,patch,update,watch", "", "persistentvolumeclaims"),
            ],
        ),
        cluster_role("view", &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")], vec![], Some("view")),
    ]
}

/// The controllers' roles, by controller (service account) name.
fn controller_rules() -> Vec<(&'static str, Vec<PolicyRule>)> {
    let ev = events;
    let apps_ext = "apps,extensions";
    vec![
        ("attachdetach-controller", vec![
            r("list,watch", "", "persistentvolumeclaims,persistentvolumes"), r(READ, "", "nodes"), r("patch,update", "", "nodes/status"),
            r("list,watch", "", "pods"), ev(), r("create,delete,get,list,watch", "storage.k8s.io", "volumeattachments"),
            r(READ, "storage.k8s.io", "csidrivers"), r(READ, "storage.k8s.io", "csinodes"),
        ]),
        ("certificate-controller", vec![
            r("delete,get,list,watch", "certificates.k8s.io", "certificatesigningrequests"),
            r("update", "certificates.k8s.io", "certificatesigningrequests/approval,certificatesigningrequests/status"),
            r("approve", "certificates.k8s.io", "signers").names("kubernetes.io/kube-apiserver-client-kubelet"),
            r("sign", "certificates.k8s.io", "signers").names("kubernetes.io/kube-apiserver-client,kubernetes.io/kube-apiserver-client-kubelet,kubernetes.io/kubelet-serving,kubernetes.io/legacy-unknown"),
            r("create", "authorization.k8s.io", "subjectaccessreviews"), ev(),
        ]),
        ("clusterrole-aggregation-controller", vec![r("escalate,get,list,patch,update,watch", GROUP, "clusterroles")]),
        ("cronjob-controller", vec![
            r("get,list,update,watch", "batch", "cronjobs"), r("create,delete,get,list,patch,update,watch", "batch", "jobs"),
            r("update", "batch", "cronjobs/status"), r("update", "batch", "cronjobs/finalizers"), r("delete,list,watch", "", "pods"), ev(),
        ]),
        ("daemon-set-controller", vec![
            r(READ, apps_ext, "daemonsets"), r("update", apps_ext, "daemonsets/status"), r("update", apps_ext, "daemonsets/finalizers"),
            r("list,watch", "", "nodes"), r("create,delete,list,patch,watch", "", "pods"), r("create", "", "pods/binding"),
            r("create,delete,get,list,patch,update,watch", "apps", "controllerrevisions"), ev(),
        ]),
        ("deployment-controller", vec![
            r("get,list,update,watch", apps_ext, "deployments"), r("update", apps_ext, "deployments/status"),
            r("update", apps_ext, "deployments/finalizers"), r("create,delete,get,list,patch,update,watch", apps_ext, "replicasets"),
            r("get,list,update,watch", "", "pods"), ev(),
        ]),
        ("disruption-controller", vec![
            r(READ, apps_ext, "deployments"), r(READ, apps_ext, "replicasets"), r(READ, "", "replicationcontrollers"),
            r(READ, "policy", "poddisruptionbudgets"), r(READ, "apps", "statefulsets"), r("update", "policy", "poddisruptionbudgets/status"),
            r("patch,update", "", "pods/status"), r("get", "*", "*/scale"), ev(),
        ]),
        ("endpoint-controller", vec![
            r(READ, "", "pods,services"), r("create,delete,get,list,update,watch", "", "endpoints"), r("create", "", "endpoints/restricted"), ev(),
        ]),
        ("endpointslice-controller", vec![
            r(READ, "", "nodes,pods,services"), r("update", "", "services/finalizers"),
            r("create,delete,get,list,update,watch", "discovery.k8s.io", "endpointslices"), ev(),
        ]),
        ("endpointslicemirroring-controller", vec![
            r(READ, "", "endpoints,services"), r("update", "", "services/finalizers"), r("update", "", "endpoints/finalizers"),
            r("create,delete,get,list,update,watch", "discovery.k8s.io", "endpointslices"), ev(),
        ]),
        ("ephemeral-volume-controller", vec![
            r(READ, "", "pods"), r("update", "", "pods/finalizers"), r("create,get,list,watch", "", "persistentvolumeclaims"), ev(),
        ]),
        ("expand-controller", vec![
            r("get,list,patch,update,watch", "", "persistentvolumes"), r("patch,update", "", "persistentvolumeclaims/status"),
            r(READ, "", "persistentvolumeclaims"), ev(),
        ]),
        ("generic-garbage-collector", vec![r("delete,get,list,patch,update,watch", "*", "*"), ev()]),
        ("horizontal-pod-autoscaler", vec![
            r(READ, "autoscaling", "horizontalpodautoscalers"), r("update", "autoscaling", "horizontalpodautoscalers/status"),
            r("get,update", "*", "*/scale"), r("list,watch", "", "pods"), r("list,watch", "metrics.k8s.io", "pods"),
            r(READ, "custom.metrics.k8s.io", "*"), r(READ, "external.metrics.k8s.io", "*"), ev(),
        ]),
        ("job-controller", vec![
            r("get,list,patch,update,watch", "batch", "jobs"), r("update", "batch", "jobs/status"), r("update", "batch", "jobs/finalizers"),
            r("create,delete,list,patch,watch", "", "pods"), ev(),
        ]),
        ("legacy-service-account-token-cleaner", vec![
            r("get", "", "configmaps").names("kube-apiserver-legacy-service-account-token-tracking"), r("delete,patch", "", "secrets"),
        ]),
        ("namespace-controller", vec![
            r("delete,get,list,watch", "", "namespaces"), r("update", "", "namespaces/finalize,namespaces/status"),
            r("delete,deletecollection,get,list,watch", "*", "*"),
        ]),
        ("node-controller", vec![
            r("delete,get,list,patch,update,watch", "", "nodes"), r("patch,update", "", "nodes/status"), r("patch,update", "", "pods/status"),
            r("delete,get,list,watch", "", "pods"), ev(),
        ]),
        ("persistent-volume-binder", vec![
            r("create,delete,get,list,update,watch", "", "persistentvolumes"), r("update", "", "persistentvolumes/status"),
            r("get,list,update,watch", "", "persistentvolumeclaims"), r("update", "", "persistentvolumeclaims/status"),
            r("create,delete,get,list,watch", "", "pods"), r(READ, "storage.k8s.io", "storageclasses"), r("list,watch", "", "nodes"),
            ev(), r("watch", "", "events"),
        ]),
        ("pod-garbage-collector", vec![r("delete,list,watch", "", "pods"), r(READ, "", "nodes"), r("patch", "", "pods/status")]),
        ("pv-protection-controller", vec![r("get,list,update,watch", "", "persistentvolumes"), ev()]),
        ("pvc-protection-controller", vec![r("get,list,update,watch", "", "persistentvolumeclaims"), r(READ, "", "pods"), ev()]),
        ("replicaset-controller", vec![
            r("get,list,update,watch", apps_ext, "replicasets"), r("update", apps_ext, "replicasets/status"),
            r("update", apps_ext, "replicasets/finalizers"), r("create,delete,list,patch,watch", "", "pods"), ev(),
        ]),
        ("replication-controller", vec![
            r("get,list,update,watch", "", "replicationcontrollers"), r("update", "", "replicationcontrollers/status"),
            r("update", "", "replicationcontrollers/finalizers"), r("create,delete,list,patch,watch", "", "pods"), ev(),
        ]),
        ("resourcequota-controller", vec![r("list,watch", "*", "*"), r("update", "", "resourcequotas/status"), ev()]),
        ("root-ca-cert-publisher", vec![r("create,update", "", "configmaps"), ev()]),
        ("route-controller", vec![r("list,watch", "", "nodes"), r("patch", "", "nodes/status"), ev()]),
        ("service-account-controller", vec![r("create", "", "serviceaccounts"), ev()]),
        ("service-cidrs-controller", vec![
            r("get,list,patch,update,watch", "networking.k8s.io", "servicecidrs"), r("patch,update", "networking.k8s.io", "servicecidrs/finalizers"),
            r("patch,update", "networking.k8s.io", "servicecidrs/status"), r(READ, "networking.k8s.io", "ipaddresses"), ev(),
        ]),
        ("service-controller", vec![r(READ, "", "services"), r("patch,update", "", "services/status"), r("list,watch", "", "nodes"), ev()]),
        ("statefulset-controller", vec![
            r("list,watch", "", "pods"), r(READ, "apps", "statefulsets"), r("update", "apps", "statefulsets/status"),
            r("update", "apps", "statefulsets/finalizers"), r("create,delete,get,patch,update", "", "pods"),
            r("create,delete,get,list,patch,update,watch", "apps", "controllerrevisions"), r("create,get,list,watch", "", "persistentvolumeclaims"),
            r("delete,update", "", "persistentvolumeclaims"), r("update", "", "pods/finalizers"), ev(),
        ]),
        ("ttl-after-finished-controller", vec![r("delete,get,list,watch", "batch", "jobs"), ev()]),
        ("ttl-controller", vec![r("list,patch,update,watch", "", "nodes"), ev()]),
        ("validatingadmissionpolicy-status-controller", vec![
            r(READ, "admissionregistration.k8s.io", "validatingadmissionpolicies"),
            r("get,patch,update", "admissionregistration.k8s.io", "validatingadmissionpolicies/status"), ev(),
        ]),
    ]
}

/// `system:controller:<name>` roles, one per controller.
pub fn controller_roles() -> Vec<Value> {
    controller_rules().into_iter().map(|(name, rules)| plain(&format!("system:controller:{name}"), rules)).collect()
}

fn subject(kind: &str, name: &str) -> Value {
    match kind.split_once('/') {
        // "ServiceAccount/<namespace>"
        Some(("ServiceAccount", ns)) => json!({"kind": "ServiceAccount", "name": name, "namespace": ns}),
        _ => json!({"kind": kind, "apiGroup": GROUP, "name": name}),
    }
}

fn binding(name: &str, role: &str, subjects: &[(&str, &str)]) -> Value {
    let subjects: Vec<Value> = subjects.iter().map(|(k, n)| subject(k, n)).collect();
    let mut obj = json!({
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {AUTOUPDATE_ANNOTATION: "true"},
        },
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
    });
    if !subjects.is_empty() {
        obj["subjects"] = Value::Array(subjects);
    }
    obj
}

/// The default ClusterRoleBindings, the controllers' included.
pub fn cluster_role_bindings() -> Vec<Value> {
    let (user, group) = ("User", "Group");
    let mut out = vec![
        binding("cluster-admin", "cluster-admin", &[(group, "system:masters")]),
        binding("system:basic-user", "system:basic-user", &[(group, "system:authenticated")]),
        binding("system:discovery", "system:discovery", &[(group, "system:authenticated")]),
        binding("system:kube-controller-manager", "system:kube-controller-manager", &[(user, "system:kube-controller-manager")]),
        binding("system:kube-dns", "system:kube-dns", &[("ServiceAccount/kube-system", "kube-dns")]),
        binding("system:kube-scheduler", "system:kube-scheduler", &[(user, "system:kube-scheduler")]),
        binding("system:monitoring", "system:monitoring", &[(group, "system:monitoring")]),
        // Nodes are authorized by the Node authorizer; the binding exists without subjects.
        binding("system:node", "system:node", &[]),
        binding("system:node-proxier", "system:node-proxier", &[(user, "system:kube-proxy")]),
        binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            &[(group, "system:authenticated"), (group, "system:unauthenticated")],
        ),
        binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", &[(group, "system:serviceaccounts")]),
        binding("system:volume-scheduler", "system:volume-scheduler", &[(user, "system:kube-scheduler")]),
    ];
    for (name, _) in controller_rules() {
        let full = format!("system:controller:{name}");
        out.push(binding(&full, &full, &[("ServiceAccount/kube-system", name)]));
    }
    out
}

/// What reconciling one default object calls for.
#[derive(Debug, PartialEq)]
pub enum Reconcile {
    Create(Value),
    Update(Value),
    /// A binding whose roleRef changed: delete and create (roleRef is immutable).
    Recreate(Value),
    Nothing,
}

fn protected(existing: &Value) -> bool {
    existing["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] == "false"
}

/// Adds `desired`'s labels and annotations to `obj` where it has none of that key.
fn merge_metadata(obj: &mut Value, desired: &Value) {
    for field in ["labels", "annotations"] {
        let Some(want) = desired["metadata"][field].as_object() else { continue };
        let meta = obj["metadata"].as_object_mut().expect("stored objects have metadata");
        let have = meta.entry(field).or_insert_with(|| json!({}));
        if !have.is_object() {
            *have = json!({});
        }
        let have = have.as_object_mut().unwrap();
        for (k, v) in want {
            have.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// Reconciles a default ClusterRole with the stored one.
pub fn reconcile_role(existing: Option<&Value>, desired: &Value) -> Reconcile {
    let Some(existing) = existing else { return Reconcile::Create(desired.clone()) };
    if protected(existing) {
        return Reconcile::Nothing;
    }
    let mut result = existing.clone();
    merge_metadata(&mut result, desired);
    let have = rules_from_json(existing.get("rules"));
    let missing = uncovered(&have, &rules_from_json(desired.get("rules")));
    if !missing.is_empty() {
        let mut rules = have;
        rules.extend(missing);
        result["rules"] = rules_to_json(&rules);
    }
    if let Some(want) = desired["aggregationRule"]["clusterRoleSelectors"].as_array() {
        let mut selectors = existing["aggregationRule"]["clusterRoleSelectors"].as_array().cloned().unwrap_or_default();
        for s in want {
            if !selectors.contains(s) {
                selectors.push(s.clone());
            }
        }
        result["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
    }
    if &result == existing {
        Reconcile::Nothing
    } else {
        Reconcile::Update(result)
    }
}

/// Reconciles a default ClusterRoleBinding with the stored one.
pub fn reconcile_binding(existing: Option<&Value>, desired: &Value) -> Reconcile {
    let Some(existing) = existing else { return Reconcile::Create(desired.clone()) };
    if protected(existing) {
        return Reconcile::Nothing;
    }
    let mut result = existing.clone();
    merge_metadata(&mut result, desired);
    let mut subjects = existing["subjects"].as_array().cloned().unwrap_or_default();
    for s in desired["subjects"].as_array().into_iter().flatten() {
        let same = |e: &Value| e["kind"] == s["kind"] && e["name"] == s["name"] && e["namespace"].as_str().unwrap_or("") == s["namespace"].as_str().unwrap_or("");
        if !subjects.iter().any(same) {
            subjects.push(s.clone());
        }
    }
    if !subjects.is_empty() {
        result["subjects"] = Value::Array(subjects);
    }
    if existing["roleRef"] != desired["roleRef"] {
        result["roleRef"] = desired["roleRef"].clone();
        return Reconcile::Recreate(result);
    }
    if &result == existing {
        Reconcile::Nothing
    } else {
        Reconcile::Update(result)
    }
}
