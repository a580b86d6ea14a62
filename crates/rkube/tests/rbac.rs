//! Authentication and authorization through stock kubectl: users with client
//! certificates signed by the cluster CA, RBAC bindings, impersonation, escalation
//! prevention, the Node authorizer, anonymous requests and the review APIs.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

/// kubectl as the user whose kubeconfig is `kc`.
fn as_user(s: &TestServer, kc: &Path, args: &[&str]) -> Output {
    s.kubectl_with(kc, args, None)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok_as(s: &TestServer, kc: &Path, args: &[&str]) -> String {
    let o = as_user(s, kc, args);
    assert!(o.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    stdout(&o)
}

fn fails_as(s: &TestServer, kc: &Path, args: &[&str]) -> String {
    let o = as_user(s, kc, args);
    assert!(!o.status.success(), "kubectl {args:?} unexpectedly succeeded: {}", stdout(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn curl(s: &TestServer, args: &[&str]) -> (u16, String) {
    let ca = s.data_dir().join("tls/ca.crt");
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert"])
        .arg(&ca)
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

fn base(s: &TestServer) -> String {
    format!("https://127.0.0.1:{}", s.port)
}

fn review(s: &TestServer, yaml: &str) -> Value {
    let out = s.ok_stdin(&["create", "-f", "-", "-o", "json"], Some(yaml));
    serde_json::from_str::<Value>(&out).unwrap()["status"].clone()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

struct Users {
    jane: PathBuf,
    dave: PathBuf,
}

fn users(s: &TestServer) -> Users {
    Users { jane: s.user_kubeconfig("jane", &[]), dave: s.user_kubeconfig("dave", &["infra"]) }
}

#[test]
fn bindings_grant_users_and_groups_what_their_roles_hold() {
    let s = TestServer::start(BIN);
    let u = users(&s);
    s.ok(&["create", "namespace", "dev"]);
    s.ok(&["create", "namespace", "prod"]);

    // Before any binding jane may do nothing with resources.
    let err = fails_as(&s, &u.jane, &["get", "pods"]);
    assert!(err.contains(r#"pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default""#), "{err}");

    s.ok(&["create", "clusterrolebinding", "jane", "--clusterrole=edit", "--user=jane"]);
    for ns in ["dev", "prod"] {
        ok_as(&s, &u.jane, &["create", "deployment", "web", "--image=busybox", "-n", ns]);
    }
    // edit reads secrets, but not roles.
    ok_as(&s, &u.jane, &["get", "secrets", "-n", "kube-system"]);
    let err = fails_as(&s, &u.jane, &["get", "roles", "-n", "kube-system"]);
    assert!(
        err.contains(r#"roles.rbac.authorization.k8s.io is forbidden: User "jane" cannot list resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "kube-system""#),
        "{err}"
    );

    // A RoleBinding of a ClusterRole to a group grants it in one namespace only.
    s.ok(&["create", "rolebinding", "infra", "--clusterrole=edit", "--group=infra", "--namespace=dev"]);
    assert!(ok_as(&s, &u.dave, &["get", "deployments", "-n", "dev"]).contains("web"));
    let err = fails_as(&s, &u.dave, &["get", "deployments", "-n", "prod"]);
    assert!(
        err.contains(r#"Error from server (Forbidden): deployments.apps is forbidden: User "dave" cannot list resource "deployments" in API group "apps" in the namespace "prod""#),
        "{err}"
    );
    let err = fails_as(&s, &u.dave, &["get", "secret", "x", "-n", "kube-system"]);
    assert!(
        err.contains(r#"secrets "x" is forbidden: User "dave" cannot get resource "secrets" in API group "" in the namespace "kube-system""#),
        "{err}"
    );

    // Removing the binding takes the permission away at once.
    s.ok(&["delete", "rolebinding", "infra", "-n", "dev"]);
    fails_as(&s, &u.dave, &["get", "deployments", "-n", "dev"]);

    // The Status object is upstream's.
    let (code, body) = curl(&s, &[&format!("{}/apis/apps/v1/namespaces/prod/deployments", base(&s))]);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code, 403);
    assert_eq!(st["reason"], "Forbidden");
    assert_eq!(st["details"], serde_json::json!({"group": "apps", "kind": "deployments"}));
}

#[test]
fn can_i_list_whoami_and_impersonation() {
    let s = TestServer::start(BIN);
    let u = users(&s);
    s.ok(&["create", "namespace", "dev"]);
    let no = s.kubectl(&["auth", "can-i", "create", "deployments", "--namespace=dev", "--as=jane"]);
    assert_eq!(stdout(&no).trim(), "no");
    s.ok(&["create", "clusterrolebinding", "jane", "--clusterrole=edit", "--user=jane"]);
    s.ok(&["create", "rolebinding", "infra", "--clusterrole=edit", "--group=infra", "--namespace=dev"]);
    assert_eq!(s.ok(&["auth", "can-i", "create", "deployments", "--namespace=dev", "--as=jane"]).trim(), "yes");
    assert_eq!(ok_as(&s, &u.dave, &["auth", "can-i", "delete", "pods", "-n", "dev"]).trim(), "yes");
    assert_eq!(stdout(&as_user(&s, &u.dave, &["auth", "can-i", "delete", "pods", "-n", "prod"])).trim(), "no");

    // The rules dave has in dev: edit's through the group, plus the defaults.
    let list = s.ok(&["auth", "can-i", "--list", "--as=dave", "--as-group=infra", "-n", "dev"]);
    assert!(list.starts_with("Resources"), "{list}");
    let line = |res: &str| list.lines().find(|l| l.split_whitespace().next() == Some(res)).map(str::to_string);
    let deployments = line("deployments.apps").unwrap();
    assert!(["create", "delete", "deletecollection", "patch", "update", "get", "list", "watch"].iter().all(|v| deployments.contains(v)), "{list}");
    assert!(line("selfsubjectaccessreviews.authorization.k8s.io").unwrap().contains("[create]"));
    assert!(list.contains("[/api/*]"));
    let prod = s.ok(&["auth", "can-i", "--list", "--as=dave", "--as-group=infra", "-n", "prod"]);
    assert!(line("deployments.apps").is_some() && !prod.contains("deployments.apps"), "{prod}");

    let who = ok_as(&s, &u.dave, &["auth", "whoami"]);
    assert!(who.contains("dave") && who.contains("[infra system:authenticated]"), "{who}");
    let who = s.ok(&["auth", "whoami", "--as=jane", "--as-group=g1"]);
    assert!(who.contains("jane") && who.contains("[g1 system:authenticated]"), "{who}");

    // The admin may impersonate; the impersonated user's permissions then apply.
    assert!(s.ok(&["get", "namespaces", "--as=jane"]).contains("dev"));
    let err = s.fails(&["get", "nodes", "--as=jane"], None);
    assert!(err.contains(r#"nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope"#), "{err}");
    // Others need the impersonate verb.
    let err = fails_as(&s, &u.dave, &["get", "namespaces", "--as=jane"]);
    assert!(
        err.contains(r#"users "jane" is forbidden: User "dave" cannot impersonate resource "users" in API group "" at the cluster scope"#),
        "{err}"
    );
    s.ok(&["create", "clusterrole", "impersonator", "--verb=impersonate", "--resource=users", "--resource-name=jane"]);
    s.ok(&["create", "clusterrolebinding", "dave-impersonates", "--clusterrole=impersonator", "--user=dave"]);
    assert!(ok_as(&s, &u.dave, &["get", "namespaces", "--as=jane"]).contains("dev"));
    let err = fails_as(&s, &u.dave, &["get", "namespaces", "--as=bob"]);
    assert!(err.contains(r#"users "bob" is forbidden: User "dave" cannot impersonate"#), "{err}");
    // Service accounts impersonate through the serviceaccounts resource (edit has it in dev).
    let who = ok_as(&s, &u.dave, &["auth", "whoami", "--as=system:serviceaccount:dev:robot"]);
    assert!(who.contains("system:serviceaccounts:dev"), "{who}");
}

#[test]
fn escalation_is_refused_in_upstreams_words() {
    let s = TestServer::start(BIN);
    let u = users(&s);
    s.ok(&["create", "namespace", "dev"]);
    s.ok(&["create", "rolebinding", "dave-admin", "--clusterrole=admin", "--user=dave", "-n", "dev"]);

    let err = fails_as(&s, &u.dave, &["create", "role", "too-much", "--verb=get", "--resource=nodes", "-n", "dev"]);
    assert!(
        err.contains(
            "roles.rbac.authorization.k8s.io \"too-much\" is forbidden: user \"dave\" (groups=[\"infra\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}"
        ),
        "{err}"
    );
    ok_as(&s, &u.dave, &["create", "role", "pod-reader", "--verb=get", "--resource=pods", "-n", "dev"]);
    // Updating a role to grant more is refused too.
    let err = fails_as(&s, &u.dave, &["patch", "role", "pod-reader", "-n", "dev", "--type=json", "-p",
        r#"[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes"],"verbs":["list"]}}]"#]);
    assert!(err.contains("is attempting to grant RBAC permissions not currently held"), "{err}");

    // Bindings: a role the author holds may be bound, cluster-admin may not.
    ok_as(&s, &u.dave, &["create", "rolebinding", "jane-view", "--clusterrole=view", "--user=jane", "-n", "dev"]);
    let err = fails_as(&s, &u.dave, &["create", "rolebinding", "x", "--clusterrole=cluster-admin", "--user=dave", "-n", "dev"]);
    assert!(
        err.contains("rolebindings.rbac.authorization.k8s.io \"x\" is forbidden: user \"dave\" (groups=[\"infra\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}"),
        "{err}"
    );
    // ...unless the author may `bind` it.
    s.ok(&["create", "clusterrole", "binder", "--verb=bind", "--resource=clusterroles", "--resource-name=cluster-admin"]);
    s.ok(&["create", "rolebinding", "dave-binder", "--clusterrole=binder", "--user=dave", "-n", "dev"]);
    ok_as(&s, &u.dave, &["create", "rolebinding", "x", "--clusterrole=cluster-admin", "--user=jane", "-n", "dev"]);
    // `escalate` lets a role hold more than its author.
    s.ok(&["create", "clusterrole", "escalator", "--verb=escalate", "--resource=roles"]);
    s.ok(&["create", "rolebinding", "dave-escalates", "--clusterrole=escalator", "--user=dave", "-n", "dev"]);
    ok_as(&s, &u.dave, &["create", "role", "too-much", "--verb=get", "--resource=nodes", "-n", "dev"]);
}

#[test]
fn anonymous_and_unbound_users_get_only_discovery_and_whoami() {
    let s = TestServer::start(BIN);
    let b = base(&s);
    for (path, want) in [("/healthz", 200), ("/livez", 200), ("/readyz", 200), ("/version", 200), ("/api", 403), ("/apis/apps/v1", 403), ("/openapi/v2", 403)] {
        assert_eq!(curl(&s, &[&format!("{b}{path}")]).0, want, "{path}");
    }
    let (code, body) = curl(&s, &[&format!("{b}/foo")]);
    assert_eq!(code, 403);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["message"], r#"forbidden: User "system:anonymous" cannot get path "/foo""#);
    assert_eq!(st["details"], serde_json::json!({}));
    assert_eq!(curl(&s, &[&format!("{b}/api/v1/namespaces")]).0, 403);

    // An authenticated user without bindings: discovery, version, whoami and can-i.
    let nobody = s.user_kubeconfig("nobody", &[]);
    assert!(ok_as(&s, &nobody, &["api-resources"]).contains("deployments"));
    ok_as(&s, &nobody, &["version"]);
    assert!(ok_as(&s, &nobody, &["auth", "whoami"]).contains("nobody"));
    assert_eq!(stdout(&as_user(&s, &nobody, &["auth", "can-i", "get", "pods"])).trim(), "no");
    for args in [&["get", "pods"][..], &["get", "namespaces"], &["create", "configmap", "x"], &["get", "clusterroles"]] {
        let err = fails_as(&s, &nobody, args);
        assert!(err.contains(r#"is forbidden: User "nobody" cannot"#), "{args:?}: {err}");
    }
    drop(s);

    let s = TestServer::start_with(BIN, &["--anonymous-auth=false"]);
    let b = base(&s);
    for path in ["/healthz", "/version", "/api", "/api/v1/namespaces"] {
        assert_eq!(curl(&s, &[&format!("{b}{path}")]).0, 401, "{path}");
    }
    s.ok(&["get", "--raw", "/healthz"]);
}

const NODE_PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox}]
  volumes: [{name: v, secret: {secretName: s1}}]
---
apiVersion: v1
kind: Pod
metadata: {name: p2}
spec:
  nodeName: n2
  containers: [{name: c, image: busybox, env: [{name: A, valueFrom: {secretKeyRef: {name: s2, key: a}}}]}]
"#;

#[test]
fn nodes_reach_only_what_their_pods_use() {
    let s = TestServer::start_with(BIN, &["--disable-scheduler"]);
    s.ok(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    s.ok(&["create", "secret", "generic", "s2", "--from-literal=a=b"]);
    s.ok_stdin(&["create", "-f", "-"], Some(NODE_PODS));
    let n1 = s.user_kubeconfig("system:node:n1", &["system:nodes"]);

    assert_eq!(ok_as(&s, &n1, &["get", "secret", "s1", "-o", "name"]).trim(), "secret/s1");
    let err = fails_as(&s, &n1, &["get", "secret", "s2"]);
    assert!(
        err.contains(r#"secrets "s2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n1' and this object"#),
        "{err}"
    );
    ok_as(&s, &n1, &["get", "pod", "p1"]);
    fails_as(&s, &n1, &["get", "pod", "p2"]);
    let err = fails_as(&s, &n1, &["get", "pods"]);
    assert!(err.contains("can only list/watch pods with spec.nodeName field selector"), "{err}");
    let mine = ok_as(&s, &n1, &["get", "pods", "-A", "--field-selector", "spec.nodeName=n1", "-o", "name"]);
    assert_eq!(mine.trim(), "pod/p1");
    // Not subdivided: the system:node rules.
    ok_as(&s, &n1, &["get", "services"]);
    fails_as(&s, &n1, &["get", "deployments"]);

    // NodeRestriction: status of its own pods only.
    let dir = tempfile::tempdir().unwrap();
    for pod in ["p1", "p2"] {
        let json = s.ok(&["get", "pod", pod, "-o", "json"]);
        std::fs::write(dir.path().join(pod), json).unwrap();
    }
    let status = |pod: &str| {
        let path = format!("/api/v1/namespaces/default/pods/{pod}/status");
        as_user(&s, &n1, &["replace", "--raw", &path, "-f", dir.path().join(pod).to_str().unwrap()])
    };
    assert!(status("p1").status.success());
    let err = String::from_utf8_lossy(&status("p2").stderr).into_owned();
    assert!(err.contains(r#"pods "p2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself"#), "{err}");
    // Its own Node and Lease, nobody else's.
    let node = |name: &str| format!("{{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{{\"name\":\"{name}\"}}}}");
    assert!(s.kubectl_with(&n1, &["create", "-f", "-"], Some(&node("n1"))).status.success());
    let out = s.kubectl_with(&n1, &["create", "-f", "-"], Some(&node("n2")));
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"node "n1" is not allowed to modify node "n2""#));
    let lease = |name: &str| format!("{{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"kube-node-lease\"}}}}");
    assert!(s.kubectl_with(&n1, &["create", "-f", "-"], Some(&lease("n1"))).status.success());
    assert!(!s.kubectl_with(&n1, &["create", "-f", "-"], Some(&lease("n2"))).status.success());
    ok_as(&s, &n1, &["get", "node", "n1"]);
    let err = fails_as(&s, &n1, &["get", "nodes"]);
    assert!(err.contains("node 'n1' cannot read all nodes, only its own Node object"), "{err}");
}

#[test]
fn reviews_tokens_aggregation_and_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cret,alice,uid-1,\"dev,ops\"\n").unwrap();
    let mut s = TestServer::start_with(BIN, &["--token-auth-file", tokens.to_str().unwrap()]);
    s.ok(&["create", "clusterrolebinding", "jane", "--clusterrole=edit", "--user=jane"]);

    let st = review(&s, "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {user: jane, resourceAttributes: {verb: create, group: apps, resource: deployments, namespace: dev}}\n");
    assert_eq!(st, serde_json::json!({"allowed": true, "reason": "RBAC: allowed by ClusterRoleBinding \"jane\" of ClusterRole \"edit\" to User \"jane\""}));
    let st = review(&s, "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {user: dave, groups: [infra], resourceAttributes: {verb: get, resource: secrets, namespace: dev}}\n");
    assert_eq!(st, serde_json::json!({"allowed": false}));
    let st = review(&s, "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {user: x, groups: [system:unauthenticated], nonResourceAttributes: {verb: get, path: /healthz}}\n");
    assert_eq!(st["allowed"], true);
    let st = review(&s, "apiVersion: authorization.k8s.io/v1\nkind: LocalSubjectAccessReview\nmetadata: {namespace: dev}\nspec: {user: jane, resourceAttributes: {verb: list, resource: pods, namespace: dev}}\n");
    assert_eq!(st["allowed"], true);

    // TokenReview and bearer tokens: the static file, and a bootstrap token Secret.
    let st = review(&s, "apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: s3cret}\n");
    assert_eq!(st, serde_json::json!({"authenticated": true, "user": {"username": "alice", "uid": "uid-1", "groups": ["dev", "ops", "system:authenticated"]}}));
    let st = review(&s, "apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: wrong}\n");
    assert_eq!(st["authenticated"], Value::Null);
    s.ok_stdin(&["create", "-f", "-"], Some(r#"
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-abcdef, namespace: kube-system}
type: bootstrap.kubernetes.io/token
stringData:
  token-id: abcdef
  token-secret: 0123456789abcdef
  usage-bootstrap-authentication: "true"
  auth-extra-groups: system:bootstrappers:worker
"#));
    let b = base(&s);
    let whoami = |token: &str| {
        curl(&s, &["-X", "POST", "-H", &format!("Authorization: Bearer {token}"), "-H", "Content-Type: application/json",
            "-d", r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#,
            &format!("{b}/apis/authentication.k8s.io/v1/selfsubjectreviews")])
    };
    let (code, body) = whoami("abcdef.0123456789abcdef");
    assert_eq!(code, 201, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"]["userInfo"]["username"], "system:bootstrap:abcdef");
    assert_eq!(v["status"]["userInfo"]["groups"], serde_json::json!(["system:bootstrappers", "system:bootstrappers:worker", "system:authenticated"]));
    assert_eq!(whoami("abcdef.0123456789abcdee").0, 401);
    assert_eq!(whoami("s3cret").0, 201);

    // Aggregation: a role labelled for view joins view, edit and admin.
    s.ok_stdin(&["apply", "-f", "-"], Some(r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widgets-view, labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list, watch]}]
"#));
    for role in ["view", "edit", "admin"] {
        eventually(&format!("{role} to aggregate widgets"), || s.ok(&["get", "clusterrole", role, "-o", "json"]).contains("widgets"));
    }
    let widgets = "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {user: jane, resourceAttributes: {verb: list, group: example.com, resource: widgets}}\n";
    eventually("jane to read widgets", || review(&s, widgets)["allowed"] == true);

    // Defaults are reconciled at start: a trimmed default gets its rules back unless
    // its autoupdate annotation is "false".
    s.ok(&["patch", "clusterrole", "system:basic-user", "--type=json", "-p", r#"[{"op":"replace","path":"/rules","value":[]}]"#]);
    s.ok(&["patch", "clusterrole", "system:discovery", "--type=json", "-p",
        r#"[{"op":"replace","path":"/rules","value":[]},{"op":"replace","path":"/metadata/annotations/rbac.authorization.kubernetes.io~1autoupdate","value":"false"}]"#]);
    s.ok(&["delete", "clusterrolebinding", "system:public-info-viewer"]);
    s.restart();
    assert!(s.ok(&["get", "clusterrole", "system:basic-user", "-o", "json"]).contains("selfsubjectaccessreviews"));
    assert!(!s.ok(&["get", "clusterrole", "system:discovery", "-o", "json"]).contains("/apis/*"));
    assert!(s.ok(&["get", "clusterrolebinding", "system:public-info-viewer", "-o", "json"]).contains("system:unauthenticated"));
}
