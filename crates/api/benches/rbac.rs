//! RBAC authorization cost with 1,000 ClusterRoles and 10,000 bindings (half
//! ClusterRoleBindings, half RoleBindings over 100 namespaces), plus the bootstrap
//! policy. Prints nanoseconds per `authorize` call for allowed and denied requests,
//! and the cost of building and updating the index.
//!
//! Run: `cargo bench -p api --bench rbac`

use std::hint::black_box;
use std::time::Instant;

use api::rbac::{self, bootstrap, node::NoGraph, Attributes, Kind, Policy, UserInfo};
use serde_json::{json, Value};

const ROLES: usize = 1_000;
const BINDINGS: usize = 10_000;
const NAMESPACES: usize = 100;
const TEAMS: usize = 100;

fn cluster_role(i: usize) -> Value {
    // Five rules over resources of a few groups, as typical custom roles have.
    let rules: Vec<Value> = (0..5)
        .map(|j| {
            json!({"verbs": ["get", "list", "watch"], "apiGroups": [format!("g{}.example.com", (i + j) % 10)],
                   "resources": [format!("res{}", (i * 5 + j) % 200), format!("res{}/status", (i * 5 + j) % 200)]})
        })
        .collect();
    json!({"metadata": {"name": format!("role-{i}")}, "rules": rules})
}

/// Binding `i`: role `i % ROLES` to user `user-i` and group `team-(i % TEAMS)`.
fn binding(i: usize) -> (Kind, Value) {
    let subjects = json!([
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{i}")},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("team-{}", i % TEAMS)},
    ]);
    let role_ref = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("role-{}", i % ROLES)});
    if i.is_multiple_of(2) {
        (Kind::ClusterRoleBinding, json!({"metadata": {"name": format!("crb-{i}")}, "roleRef": role_ref, "subjects": subjects}))
    } else {
        let ns = format!("ns-{}", i % NAMESPACES);
        (Kind::RoleBinding, json!({"metadata": {"name": format!("rb-{i}"), "namespace": ns}, "roleRef": role_ref, "subjects": subjects}))
    }
}

fn build() -> (Policy, Vec<(Kind, Value)>) {
    let mut objects: Vec<(Kind, Value)> = Vec::new();
    let mut defaults: Vec<Value> = bootstrap::cluster_roles().into_iter().chain(bootstrap::controller_roles()).collect();
    rbac::aggregate_all(&mut defaults);
    objects.extend(defaults.into_iter().map(|r| (Kind::ClusterRole, r)));
    objects.extend(bootstrap::cluster_role_bindings().into_iter().map(|b| (Kind::ClusterRoleBinding, b)));
    objects.extend((0..ROLES).map(|i| (Kind::ClusterRole, cluster_role(i))));
    objects.extend((0..BINDINGS).map(binding));
    let mut p = Policy::default();
    for (k, v) in &objects {
        p.apply(*k, v, false);
    }
    (p, objects)
}

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

/// Nanoseconds per call, over enough calls to take ~0.3 s.
fn time(label: &str, policy: &Policy, u: &UserInfo, a: &Attributes, expect: bool) {
    assert_eq!(rbac::authorize(policy, &NoGraph, u, a).allowed(), expect, "{label}");
    let mut n = 1_000u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(rbac::authorize(policy, &NoGraph, black_box(u), black_box(a)).allowed());
        }
        let took = start.elapsed();
        if took.as_millis() >= 300 {
            println!("{label:<72} {:>8.0} ns/call", took.as_nanos() as f64 / n as f64);
            return;
        }
        n *= 4;
    }
}

fn main() {
    let start = Instant::now();
    let (policy, objects) = build();
    let built = start.elapsed();
    let [cr, _, crb, rb, index] = policy.stats();
    println!("policy: {cr} ClusterRoles, {crb} ClusterRoleBindings, {rb} RoleBindings, {index} index entries");
    println!("{:<72} {:>8.1} ms", "build the index from every object", built.as_secs_f64() * 1e3);

    // Updating one binding (as a watch event does) touches only its subjects' entries.
    let mut p = policy;
    let (k, v) = &objects[objects.len() - 1];
    let n = 10_000;
    let start = Instant::now();
    for _ in 0..n {
        p.apply(*k, black_box(v), false);
    }
    println!("{:<72} {:>8.0} ns/call", "apply one changed binding", start.elapsed().as_nanos() as f64 / n as f64);
    let policy = p;

    let auth = "system:authenticated";
    // user-42 is bound (in ns-42) to role-42 and, through team-42, to 99 other roles.
    let u42 = user("user-42", &["team-42", auth]);
    let r42 = cluster_role(42);
    let own_group = r42["rules"][0]["apiGroups"][0].as_str().unwrap().to_string();
    let own_res = r42["rules"][0]["resources"][0].as_str().unwrap().to_string();
    time("allowed: own ClusterRoleBinding (user-42 get res in its role)", &policy, &u42, &res("get", &own_group, &own_res, "ns-1", "x"), true);
    // Through a group binding in a namespace: binding 43 (team-43) is a RoleBinding in ns-43.
    let u_team = user("someone", &["team-43", auth]);
    let r43 = cluster_role(43);
    let g43 = r43["rules"][4]["apiGroups"][0].as_str().unwrap().to_string();
    let res43 = r43["rules"][4]["resources"][1].as_str().unwrap().to_string();
    let (base, sub) = res43.split_once('/').unwrap();
    let mut a = res("list", &g43, base, "ns-43", "");
    a.subresource = sub.into();
    time("allowed: group RoleBinding, subresource (someone in team-43, ns-43)", &policy, &u_team, &a, true);
    let dev = user("dev", &[auth]);
    time("allowed: discovery path via system:authenticated", &policy, &dev, &Attributes { verb: "get".into(), path: "/apis/apps/v1".into(), ..Default::default() }, true);
    time("allowed: system:masters", &policy, &user("admin", &["system:masters", auth]), &res("delete", "", "pods", "x", "y"), true);

    time("denied: user with no bindings", &policy, &dev, &res("list", "apps", "deployments", "prod", ""), false);
    time("denied: user-42 (100 bindings through team-42), nothing matches", &policy, &u42, &res("delete", "apps", "deployments", "ns-42", "web"), false);
    time("denied: anonymous, resource request", &policy, &user("system:anonymous", &["system:unauthenticated"]), &res("get", "", "secrets", "kube-system", "x"), false);
}
