use serde_json::{json, Value};

use super::bootstrap::{self, Reconcile};
use super::node::{self, NodeGraph, Vertex};
use super::*;

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo { name: name.into(), groups: groups.iter().map(|g| g.to_string()).collect(), ..Default::default() }
}

fn res(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    Attributes {
        verb: verb.into(),
        resource_request: true,
        api_group: group.into(),
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn path(verb: &str, p: &str) -> Attributes {
    Attributes { verb: verb.into(), path: p.into(), ..Default::default() }
}

fn crb(name: &str, role: &str, subjects: Value) -> Value {
    json!({"metadata": {"name": name}, "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects})
}

fn rb(ns: &str, name: &str, kind: &str, role: &str, subjects: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": ns}, "roleRef": {"apiGroup": GROUP, "kind": kind, "name": role}, "subjects": subjects})
}

/// The bootstrap policy with aggregation applied, plus the objects given.
fn policy(extra: &[(Kind, Value)]) -> Policy {
    let mut p = Policy::default();
    let mut roles: Vec<Value> = bootstrap::cluster_roles().into_iter().chain(bootstrap::controller_roles()).collect();
    aggregate_all(&mut roles);
    for role in &roles {
        p.apply(Kind::ClusterRole, role, false);
    }
    for b in bootstrap::cluster_role_bindings() {
        p.apply(Kind::ClusterRoleBinding, &b, false);
    }
    for (k, v) in extra {
        p.apply(*k, v, false);
    }
    p
}

fn allowed(p: &Policy, u: &UserInfo, a: &Attributes) -> bool {
    authorize(p, &node::NoGraph, u, a).allowed()
}

#[test]
fn bindings_grant_by_user_group_and_service_account() {
    let p = policy(&[
        (Kind::ClusterRoleBinding, crb("jane", "edit", json!([{"kind": "User", "apiGroup": GROUP, "name": "jane"}]))),
        (Kind::RoleBinding, rb("dev", "infra", "ClusterRole", "edit", json!([{"kind": "Group", "apiGroup": GROUP, "name": "infra"}]))),
        (Kind::Role, json!({"metadata": {"name": "reader", "namespace": "dev"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]})),
        (Kind::RoleBinding, rb("dev", "sa", "Role", "reader", json!([{"kind": "ServiceAccount", "name": "robot"}]))),
    ]);
    let jane = user("jane", &["system:authenticated"]);
    let dave = user("dave", &["infra", "system:authenticated"]);
    let robot = user("system:serviceaccount:dev:robot", &["system:serviceaccounts", "system:authenticated"]);
    assert!(allowed(&p, &jane, &res("create", "apps", "deployments", "prod", "")));
    assert!(allowed(&p, &jane, &res("get", "", "secrets", "kube-system", "x")));
    assert!(!allowed(&p, &jane, &res("get", "rbac.authorization.k8s.io", "roles", "kube-system", "")));
    assert!(allowed(&p, &dave, &res("list", "apps", "deployments", "dev", "")));
    assert!(!allowed(&p, &dave, &res("list", "apps", "deployments", "prod", "")));
    assert!(!allowed(&p, &dave, &res("list", "apps", "deployments", "", "")));
    assert!(allowed(&p, &robot, &res("get", "", "pods", "dev", "p")));
    assert!(!allowed(&p, &robot, &res("get", "", "pods", "other", "p")));
    // Discovery and health for everyone, health and version for anonymous.
    let anon = user(ANONYMOUS, &[ALL_UNAUTHENTICATED]);
    assert!(allowed(&p, &dave, &path("get", "/apis/apps/v1")));
    assert!(allowed(&p, &anon, &path("get", "/healthz")));
    assert!(allowed(&p, &anon, &path("get", "/version")));
    assert!(!allowed(&p, &anon, &path("get", "/api")));
    assert!(!allowed(&p, &anon, &res("list", "", "pods", "default", "")));
    assert!(allowed(&p, &user("system:admin", &[SYSTEM_MASTERS]), &res("escalate", GROUP, "roles", "x", "y")));
}

#[test]
fn reasons_name_the_binding_role_and_subject() {
    let p = policy(&[
        (Kind::ClusterRoleBinding, crb("jane", "edit", json!([{"kind": "User", "apiGroup": GROUP, "name": "jane"}]))),
        (Kind::RoleBinding, rb("dev", "infra", "ClusterRole", "edit", json!([{"kind": "User", "name": "x"}, {"kind": "Group", "name": "infra"}]))),
        (Kind::RoleBinding, rb("dev", "broken", "Role", "missing", json!([{"kind": "Group", "name": "infra"}]))),
    ]);
    let d = authorize(&p, &node::NoGraph, &user("jane", &["system:authenticated"]), &res("create", "apps", "deployments", "dev", ""));
    assert_eq!(d.reason(), r#"RBAC: allowed by ClusterRoleBinding "jane" of ClusterRole "edit" to User "jane""#);
    let dave = user("dave", &["infra", "system:authenticated"]);
    let d = authorize(&p, &node::NoGraph, &dave, &res("create", "apps", "deployments", "dev", ""));
    assert_eq!(d.reason(), r#"RBAC: allowed by RoleBinding "infra/dev" of ClusterRole "edit" to Group "infra""#);
    let d = authorize(&p, &node::NoGraph, &dave, &res("create", GROUP, "roles", "dev", ""));
    assert!(!d.allowed());
    assert_eq!(d.reason(), r#"RBAC: role.rbac.authorization.k8s.io "missing" not found"#);
}

#[test]
fn forbidden_messages_are_upstreams() {
    let dave = "dave";
    assert_eq!(
        forbidden_message(dave, &res("list", "apps", "deployments", "prod", ""), ""),
        r#"deployments.apps is forbidden: User "dave" cannot list resource "deployments" in API group "apps" in the namespace "prod""#
    );
    assert_eq!(
        forbidden_message(dave, &res("get", "", "secrets", "kube-system", "x"), ""),
        r#"secrets "x" is forbidden: User "dave" cannot get resource "secrets" in API group "" in the namespace "kube-system""#
    );
    assert_eq!(
        forbidden_message("jane", &res("list", "", "namespaces", "", ""), ""),
        r#"namespaces is forbidden: User "jane" cannot list resource "namespaces" in API group "" at the cluster scope"#
    );
    assert_eq!(
        forbidden_message(ANONYMOUS, &path("get", "/foo"), ""),
        r#"forbidden: User "system:anonymous" cannot get path "/foo""#
    );
    let mut log = res("get", "", "pods", "a", "p");
    log.subresource = "log".into();
    assert_eq!(
        forbidden_message("n", &log, "why"),
        r#"pods "p" is forbidden: User "n" cannot get resource "pods/log" in API group "" in the namespace "a": why"#
    );
}

#[test]
fn index_follows_updates_and_deletes() {
    let mut p = Policy::default();
    p.apply(Kind::ClusterRole, &json!({"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}), false);
    let b = crb("b", "r", json!([{"kind": "User", "name": "a"}]));
    p.apply(Kind::ClusterRoleBinding, &b, false);
    let get = res("get", "", "pods", "x", "p");
    assert!(p.authorize(&user("a", &[]), &get).is_ok());
    // Re-binding to another user drops the old index entry.
    p.apply(Kind::ClusterRoleBinding, &crb("b", "r", json!([{"kind": "User", "name": "c"}])), false);
    assert!(p.authorize(&user("a", &[]), &get).is_err());
    assert!(p.authorize(&user("c", &[]), &get).is_ok());
    p.apply(Kind::ClusterRoleBinding, &b, true);
    assert!(p.authorize(&user("c", &[]), &get).is_err());
    assert_eq!(p.stats(), [1, 0, 0, 0, 0]);
    // A role's rules can change under its binding.
    p.apply(Kind::ClusterRoleBinding, &b, false);
    p.apply(Kind::ClusterRole, &json!({"metadata": {"name": "r"}, "rules": []}), false);
    assert!(p.authorize(&user("a", &[]), &get).is_err());
}

#[test]
fn rules_for_lists_cluster_and_namespace_rules() {
    let p = policy(&[(Kind::RoleBinding, rb("dev", "infra", "ClusterRole", "view", json!([{"kind": "Group", "name": "infra"}])))]);
    let dave = user("dave", &["infra", "system:authenticated"]);
    let (rules, errors) = p.rules_for(&dave, "dev");
    assert!(errors.is_empty());
    assert!(rules.iter().any(|r| r.resources.contains(&"selfsubjectaccessreviews".to_string())));
    assert!(rules.iter().any(|r| r.resources.contains(&"pods".to_string()) && r.verbs.contains(&"watch".to_string())));
    let (rules, _) = p.rules_for(&dave, "prod");
    assert!(!rules.iter().any(|r| r.resources.contains(&"pods".to_string())));
}

#[test]
fn escalation_check_reports_missing_rules() {
    let p = policy(&[(Kind::RoleBinding, rb("dev", "infra", "ClusterRole", "view", json!([{"kind": "Group", "name": "infra"}])))]);
    let dave = user("dave", &["infra", "system:authenticated"]);
    let (owner, _) = p.rules_for(&dave, "dev");
    let wanted = vec![PolicyRule::resource("get,list", "", "pods"), PolicyRule::resource("create,delete", "apps", "deployments")];
    let missing = compact(uncovered(&owner, &wanted));
    let text: Vec<String> = missing.iter().map(PolicyRule::compact_string).collect();
    assert_eq!(text, [r#"{APIGroups:["apps"], Resources:["deployments"], Verbs:["create" "delete"]}"#]);
}

struct Graph;

impl NodeGraph for Graph {
    fn related(&self, node: &str, kind: Vertex, ns: &str, name: &str) -> bool {
        node == "n1" && ns == "default" && matches!((kind, name), (Vertex::Secret, "s1") | (Vertex::Pod, "p1"))
    }
}

#[test]
fn node_authorizer_limits_nodes_to_their_pods() {
    let p = policy(&[]);
    let n1 = user("system:node:n1", &["system:nodes", "system:authenticated"]);
    let ok = |a: &Attributes| authorize(&p, &Graph, &n1, a);
    assert!(ok(&res("get", "", "secrets", "default", "s1")).allowed());
    let d = ok(&res("get", "", "secrets", "default", "s2"));
    assert!(!d.allowed());
    assert_eq!(d.reason(), "no relationship found between node 'n1' and this object");
    assert_eq!(ok(&res("list", "", "secrets", "", "")).reason(), "can only read namespaced object of this type");
    assert!(ok(&res("get", "", "nodes", "", "n1")).allowed());
    assert_eq!(ok(&res("get", "", "nodes", "", "n2")).reason(), "node 'n1' cannot read 'n2', only its own Node object");
    assert!(ok(&res("update", "coordination.k8s.io", "leases", "kube-node-lease", "n1")).allowed());
    assert!(!ok(&res("update", "coordination.k8s.io", "leases", "kube-node-lease", "n2")).allowed());
    let mut list = res("list", "", "pods", "", "");
    assert!(!list.clone().verb.is_empty() && !ok(&list).allowed());
    list.field_selector = "spec.nodeName=n1".into();
    assert!(ok(&list).allowed());
    // Not subdivided: the static node rules.
    assert!(ok(&res("list", "", "services", "", "")).allowed());
    assert!(!ok(&res("create", "apps", "deployments", "default", "")).allowed());
    // Without the group, not a node.
    assert!(!authorize(&p, &Graph, &user("system:node:n1", &[]), &res("get", "", "secrets", "default", "s1")).allowed());
}

fn pod_write<'a>(operation: node::Operation, subresource: &'a str, old: Option<&'a Value>) -> node::Write<'a> {
    node::Write { node: "n1", operation, api_group: "", resource: "pods", subresource, name: "p", namespace: "default", object: None, old }
}

#[test]
fn node_restriction_admission() {
    use node::Operation::*;
    let theirs = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n2"}});
    let mine = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}});
    assert_eq!(
        node::admit(&pod_write(Update, "status", Some(&theirs))).unwrap_err(),
        "node \"n1\" can only update pod status for pods with spec.nodeName set to itself"
    );
    assert!(node::admit(&pod_write(Update, "status", Some(&mine))).is_ok());
    assert!(node::admit(&pod_write(Delete, "", Some(&theirs))).is_err());
    assert!(node::admit(&pod_write(Delete, "", Some(&mine))).is_ok());
    let node_write = node::Write { resource: "nodes", name: "n2", namespace: "", ..pod_write(Update, "", None) };
    assert_eq!(node::admit(&node_write).unwrap_err(), "node \"n1\" is not allowed to modify node \"n2\"");
}

#[test]
fn pod_references_cover_volumes_env_and_pull_secrets() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {
        "serviceAccountName": "sa",
        "imagePullSecrets": [{"name": "pull"}],
        "containers": [{"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}},
                                 {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-c", "key": "k"}}}],
                         "envFrom": [{"secretRef": {"name": "from-s"}}]}],
        "volumes": [{"name": "v1", "secret": {"secretName": "vol-s"}},
                    {"name": "v2", "projected": {"sources": [{"configMap": {"name": "proj-c"}}]}},
                    {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "v4", "ephemeral": {"volumeClaimTemplate": {}}}]}});
    let r = node::pod_references(&pod);
    assert_eq!(r.secrets, ["pull", "from-s", "env-s", "vol-s"]);
    assert_eq!(r.config_maps, ["env-c", "proj-c"]);
    assert_eq!(r.claims, ["data", "p-v4"]);
    assert_eq!(r.service_account, "sa");
}

#[test]
fn bootstrap_policy_has_upstream_defaults() {
    let roles: Vec<Value> = bootstrap::cluster_roles().into_iter().chain(bootstrap::controller_roles()).collect();
    let names: Vec<&str> = roles.iter().map(|r| r["metadata"]["name"].as_str().unwrap()).collect();
    for want in [
        "cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer",
        "system:node", "system:node-proxier", "system:kube-scheduler", "system:kube-controller-manager", "system:auth-delegator",
        "system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view",
        "system:controller:deployment-controller", "system:controller:replicaset-controller", "system:controller:namespace-controller",
        "system:controller:generic-garbage-collector", "system:controller:clusterrole-aggregation-controller",
        "system:controller:root-ca-cert-publisher", "system:controller:service-account-controller",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    for r in &roles {
        assert_eq!(r["metadata"]["annotations"][AUTOUPDATE_ANNOTATION], "true");
        assert_eq!(r["metadata"]["labels"]["kubernetes.io/bootstrapping"], "rbac-defaults");
    }
    let edit = roles.iter().find(|r| r["metadata"]["name"] == "edit").unwrap();
    assert_eq!(edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"], "true");
    assert_eq!(edit["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]["rbac.authorization.k8s.io/aggregate-to-edit"], "true");
    let bindings = bootstrap::cluster_role_bindings();
    let piv = bindings.iter().find(|b| b["metadata"]["name"] == "system:public-info-viewer").unwrap();
    assert_eq!(piv["subjects"].as_array().unwrap().len(), 2);
    let dc = bindings.iter().find(|b| b["metadata"]["name"] == "system:controller:deployment-controller").unwrap();
    assert_eq!(dc["subjects"], json!([{"kind": "ServiceAccount", "name": "deployment-controller", "namespace": "kube-system"}]));
}

#[test]
fn reconcile_adds_what_is_missing_unless_protected() {
    let desired = bootstrap::cluster_roles().into_iter().find(|r| r["metadata"]["name"] == "system:basic-user").unwrap();
    assert_eq!(bootstrap::reconcile_role(None, &desired), Reconcile::Create(desired.clone()));
    let mut stored = desired.clone();
    stored["metadata"]["uid"] = json!("u");
    assert_eq!(bootstrap::reconcile_role(Some(&stored), &desired), Reconcile::Nothing);
    // A trimmed role gets its rule back; a local extra rule stays.
    stored["rules"] = json!([{"verbs": ["get"], "apiGroups": ["x"], "resources": ["y"]}]);
    let Reconcile::Update(updated) = bootstrap::reconcile_role(Some(&stored), &desired) else { panic!() };
    let rules = rules_from_json(updated.get("rules"));
    assert_eq!(rules[0], PolicyRule::resource("get", "x", "y"));
    assert!(uncovered(&rules, &rules_from_json(desired.get("rules"))).is_empty());
    stored["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
    assert_eq!(bootstrap::reconcile_role(Some(&stored), &desired), Reconcile::Nothing);

    let desired = bootstrap::cluster_role_bindings().into_iter().find(|b| b["metadata"]["name"] == "system:discovery").unwrap();
    let mut stored = desired.clone();
    stored["subjects"] = json!([{"kind": "Group", "apiGroup": GROUP, "name": "extra"}]);
    let Reconcile::Update(updated) = bootstrap::reconcile_binding(Some(&stored), &desired) else { panic!() };
    assert_eq!(updated["subjects"].as_array().unwrap().len(), 2);
    stored["roleRef"]["name"] = json!("other");
    assert!(matches!(bootstrap::reconcile_binding(Some(&stored), &desired), Reconcile::Recreate(_)));
}

#[test]
fn service_account_names() {
    assert_eq!(split_service_account_username("system:serviceaccount:ns:sa"), Some(("ns", "sa")));
    assert_eq!(split_service_account_username("system:serviceaccount:ns"), None);
    assert_eq!(split_service_account_username("jane"), None);
    assert_eq!(service_account_groups("ns"), ["system:serviceaccounts", "system:serviceaccounts:ns"]);
}
