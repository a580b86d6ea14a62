//! The wire format seen by a raw HTTP client: authentication, Status errors, Tables,
//! metadata-only responses, subresources, watch options and expired versions.

use http_body_util::BodyExt;
use serde_json::{json, Value};
use testkit::{Client, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

async fn get_json(c: &Client, path: &str) -> (u16, Value) {
    let (code, body) = c.request("GET", path, None).await;
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Watch lines until the stream ends (use timeoutSeconds).
async fn watch_lines(c: &Client, path: &str) -> Vec<Value> {
    let resp = c.send("GET", path, None).await;
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
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

#[test]
fn anonymous_requests_get_health_and_version_and_bad_tokens_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cret,alice,uid-1,\"dev,ops\"\n").unwrap();
    let s = TestServer::start_with(BIN, &["--token-auth-file", tokens.to_str().unwrap()]);
    let base = format!("https://127.0.0.1:{}", s.port);
    // Anonymous requests get what RBAC grants system:unauthenticated: health and version.
    for open in ["/healthz", "/livez", "/readyz", "/version"] {
        assert_eq!(curl(&s, &[&format!("{base}{open}")]).0, 200, "{open}");
    }
    let alice = "Authorization: Bearer s3cret";
    for discovery in ["/api", "/apis", "/api/v1", "/apis/apps/v1"] {
        assert_eq!(curl(&s, &[&format!("{base}{discovery}")]).0, 403, "{discovery}");
        assert_eq!(curl(&s, &["-H", alice, &format!("{base}{discovery}")]).0, 200, "{discovery}");
    }
    let (code, body) = curl(&s, &[&format!("{base}/api/v1/namespaces")]);
    assert_eq!(code, 403);
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status["reason"].as_str(), status["code"].as_i64()), (Some("Forbidden"), Some(403)));
    let (code, body) = curl(&s, &["-H", "Authorization: Bearer wrong", &format!("{base}/api/v1/namespaces")]);
    assert_eq!(code, 401);
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status["reason"].as_str(), status["code"].as_i64()), (Some("Unauthorized"), Some(401)));
    assert_eq!(curl(&s, &["-H", alice, &format!("{base}/api/v1/namespaces")]).0, 403);
    s.ok(&["create", "clusterrolebinding", "alice", "--clusterrole=view", "--user=alice"]);
    let (code, body) = curl(&s, &["-H", alice, &format!("{base}/api/v1/namespaces")]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"NamespaceList\""));
}

#[test]
fn status_objects_tables_and_metadata() {
    let s = TestServer::start(BIN);
    rt().block_on(async {
        let c = s.client().await;
        let (code, st) = get_json(&c, "/api/v1/namespaces/default/pods/missing").await;
        assert_eq!(code, 404);
        assert_eq!(
            st,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "pods \"missing\" not found", "reason": "NotFound",
                   "details": {"name": "missing", "kind": "pods"}, "code": 404})
        );
        let (code, st) = get_json(&c, "/apis/apps/v1/namespaces/default/deployments/missing").await;
        assert_eq!((code, st["message"].as_str()), (404, Some("deployments.apps \"missing\" not found")));
        assert_eq!(st["details"]["group"], "apps");

        let (code, body) = c.request("POST", "/api/v1/namespaces/default/configmaps", Some(&json!({"metadata": {"name": "Bad"}}))).await;
        let st: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
        assert_eq!(st["details"]["kind"], "ConfigMap");
        assert_eq!(st["details"]["causes"][0]["field"], "metadata.name");
        assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueInvalid");

        let resp = c.send("POST", "/api/v1/namespaces/default/configmaps", None).await;
        assert_eq!(resp.status(), 400);

        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-", "labels": {"a": "b"}}});
        let (code, body) = c.request("POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await;
        assert_eq!(code, 201);
        let created: Value = serde_json::from_slice(&body).unwrap();
        let name = created["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
        assert!(created["metadata"]["uid"].as_str().unwrap().len() == 36);

        let resp = c
            .inner_get("/api/v1/namespaces/default/configmaps?includeObject=Object", "application/json;as=Table;v=v1;g=meta.k8s.io")
            .await;
        let table: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["columnDefinitions"][0]["name"], "Name");
        assert!(table["rows"].as_array().unwrap().iter().any(|r| r["cells"][0] == name && r["object"]["kind"] == "ConfigMap"));

        let resp = c
            .inner_get("/api/v1/namespaces/default/configmaps", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
            .await;
        let list: Value = serde_json::from_slice(&resp).unwrap();
        assert_eq!(list["kind"], "PartialObjectMetadataList");
        assert!(list["items"].as_array().unwrap().iter().all(|i| i.get("data").is_none() && i["metadata"]["name"].is_string()));

        let agg = c.inner_get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json").await;
        let agg: Value = serde_json::from_slice(&agg).unwrap();
        assert_eq!(agg["kind"], "APIGroupDiscoveryList");
        let apps = agg["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").unwrap();
        let deploy = apps["versions"][0]["resources"].as_array().unwrap().iter().find(|r| r["resource"] == "deployments").unwrap();
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
    });
}

#[test]
fn status_and_main_resource_updates_leave_each_other_alone() {
    let s = TestServer::start(BIN);
    rt().block_on(async {
        let c = s.client().await;
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "st"}});
        assert_eq!(c.request("POST", "/api/v1/namespaces", Some(&ns)).await.0, 201);
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
            "status": {"replicas": 7}});
        let (code, body) = c.request("POST", "/apis/apps/v1/namespaces/st/replicasets", Some(&rs)).await;
        assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
        let created: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(created["status"], json!({}), "status is reset on create");
        let mut upd = created.clone();
        upd["status"] = json!({"replicas": 1});
        upd["spec"]["replicas"] = json!(5);
        let (code, body) = c.request("PUT", "/apis/apps/v1/namespaces/st/replicasets/r/status", Some(&upd)).await;
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let after: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((after["spec"]["replicas"].as_i64(), after["status"]["replicas"].as_i64()), (Some(1), Some(1)));
        let mut upd = after.clone();
        upd["spec"]["replicas"] = json!(3);
        upd["status"] = json!({"replicas": 99});
        let (code, body) = c.request("PUT", "/apis/apps/v1/namespaces/st/replicasets/r", Some(&upd)).await;
        assert_eq!(code, 200);
        let after: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((after["spec"]["replicas"].as_i64(), after["status"]["replicas"].as_i64()), (Some(3), Some(1)));
        assert_eq!(after["metadata"]["generation"], 2);
        // A stale resourceVersion is a conflict.
        let (code, body) = c.request("PUT", "/apis/apps/v1/namespaces/st/replicasets/r", Some(&upd)).await;
        let st: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((code, st["reason"].as_str()), (409, Some("Conflict")));
        assert!(st["message"].as_str().unwrap().contains("the object has been modified"));
    });
}

#[test]
fn watch_initial_events_bookmarks_and_expired_versions() {
    let mut s = TestServer::start_with(BIN, &["--compaction-interval", "1"]);
    let first = rt().block_on(async {
        let c = s.client().await;
        let (_, list) = get_json(&c, "/api/v1/namespaces/default/configmaps").await;
        let first: i64 = list["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
        for i in 0..3 {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("w{i}"), "labels": {"t": "w"}}});
            assert_eq!(c.request("POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await.0, 201);
        }
        let events = watch_lines(
            &c,
            "/api/v1/namespaces/default/configmaps?labelSelector=t%3Dw&watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
        )
        .await;
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["ADDED", "ADDED", "ADDED", "BOOKMARK"], "{events:?}");
        assert_eq!(events[3]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
        let (code, body) = c.request("GET", "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true", None).await;
        assert_eq!(code, 422, "{}", String::from_utf8_lossy(&body));
        let (code, _) = c.request("GET", "/api/v1/namespaces/default/configmaps?limit=1&continue=bogus", None).await;
        assert_eq!(code, 400);
        first
    });
    // Let compaction pass the early revisions, then restart so the cache holds no history.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    rt().block_on(async {
        let c = s.client().await;
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}});
        assert_eq!(c.request("POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await.0, 201);
    });
    std::thread::sleep(std::time::Duration::from_millis(2500));
    s.restart();
    rt().block_on(async {
        let c = s.client().await;
        let events = watch_lines(&c, &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={first}&timeoutSeconds=1")).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["type"], "ERROR");
        assert_eq!((events[0]["object"]["code"].as_i64(), events[0]["object"]["reason"].as_str()), (Some(410), Some("Expired")));
    });
}

#[test]
fn list_resource_version_rules() {
    let s = TestServer::start(BIN);
    rt().block_on(async {
        let c = s.client().await;
        let mut revs = Vec::new();
        for i in 0..4 {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("v{i}"), "labels": {"t": "rv"}}});
            let (_, body) = c.request("POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await;
            let v: Value = serde_json::from_slice(&body).unwrap();
            revs.push(v["metadata"]["resourceVersion"].as_str().unwrap().to_string());
        }
        let names = |v: &Value| -> Vec<String> {
            v["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap().to_string()).collect()
        };
        // Exact: the list as it was at that version.
        let (code, v) =
            get_json(&c, &format!("/api/v1/namespaces/default/configmaps?labelSelector=t%3Drv&resourceVersion={}&resourceVersionMatch=Exact", revs[1])).await;
        assert_eq!(code, 200);
        assert_eq!(names(&v), ["v0", "v1"]);
        assert_eq!(v["metadata"]["resourceVersion"], revs[1].as_str());
        // Legacy rule: a version with a limit and no match is exact, and pages continue at it.
        let (_, v) = get_json(&c, &format!("/api/v1/namespaces/default/configmaps?labelSelector=t%3Drv&resourceVersion={}&limit=1", revs[2])).await;
        assert_eq!(names(&v), ["v0"]);
        let token = v["metadata"]["continue"].as_str().unwrap().to_string();
        let (_, v) = get_json(&c, &format!("/api/v1/namespaces/default/configmaps?labelSelector=t%3Drv&limit=5&continue={token}")).await;
        assert_eq!(names(&v), ["v1", "v2"]);
        assert!(v["metadata"].get("continue").is_none());
        // NotOlderThan: at least as new as asked.
        let (_, v) = get_json(&c, &format!("/api/v1/namespaces/default/configmaps?labelSelector=t%3Drv&resourceVersion={}&resourceVersionMatch=NotOlderThan", revs[0])).await;
        assert_eq!(names(&v).len(), 4);
        // A future version times out as upstream, and bad combinations are 400s.
        let (code, v) = get_json(&c, "/api/v1/namespaces/default/configmaps?resourceVersion=999999&resourceVersionMatch=Exact").await;
        assert_eq!((code, v["reason"].as_str()), (504, Some("Timeout")));
        let (code, _) = get_json(&c, "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact").await;
        assert_eq!(code, 400);
        let (code, _) = get_json(&c, "/api/v1/namespaces/default/configmaps?resourceVersion=0&resourceVersionMatch=Exact").await;
        assert_eq!(code, 400);
    });
}

#[test]
fn reviews_are_answered_not_stored_and_bindings_assign_pods() {
    let s = TestServer::start_with(BIN, &["--disable-scheduler"]);
    assert_eq!(s.ok(&["auth", "can-i", "create", "deployments", "-n", "default"]).trim(), "yes");
    let who = s.ok(&["auth", "whoami", "-o", "json"]);
    let who: Value = serde_json::from_str(&who).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "system:admin");
    rt().block_on(async {
        let c = s.client().await;
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        assert_eq!(c.request("POST", "/api/v1/namespaces/default/pods", Some(&pod)).await.0, 201);
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}});
        let (code, _) = c.request("POST", "/api/v1/namespaces/default/pods/p/binding", Some(&binding)).await;
        assert_eq!(code, 201);
        let (_, p) = get_json(&c, "/api/v1/namespaces/default/pods/p").await;
        assert_eq!(p["spec"]["nodeName"], "n1");
        assert_eq!(p["status"]["conditions"][0]["type"], "PodScheduled");
        let (code, body) = c.request("POST", "/api/v1/namespaces/default/pods/p/binding", Some(&binding)).await;
        let st: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(code, 409);
        assert_eq!(st["message"], "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"n1\"");
    });
}

#[test]
fn eviction_honours_pod_disruption_budgets() {
    // The test plays the disruption controller (it writes the budget's status itself):
    // the real one would race it for the same status.
    let s = TestServer::start_with(BIN, &["--disable-scheduler", "--disable-controller-manager"]);
    rt().block_on(async {
        let c = s.client().await;
        for name in ["a", "b", "free"] {
            let app = if name == "free" { "other" } else { "web" };
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
                             "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
            assert_eq!(c.request("POST", "/api/v1/namespaces/default/pods", Some(&pod)).await.0, 201);
            let (_, p) = get_json(&c, &format!("/api/v1/namespaces/default/pods/{name}")).await;
            let mut running = p.clone();
            running["status"]["phase"] = json!("Running");
            let (code, _) = c.request("PUT", &format!("/api/v1/namespaces/default/pods/{name}/status"), Some(&running)).await;
            assert_eq!(code, 200);
        }
        let evict = |name: &str| json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}});
        // No budget: the pod is deleted.
        let (code, _) = c.request("POST", "/api/v1/namespaces/default/pods/free/eviction", Some(&evict("free"))).await;
        assert_eq!(code, 201);
        assert_eq!(get_json(&c, "/api/v1/namespaces/default/pods/free").await.0, 404);
        let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
        assert_eq!(c.request("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", Some(&pdb)).await.0, 201);
        // A budget the disruption controller has not processed blocks evictions.
        let (code, body) = c.request("POST", "/api/v1/namespaces/default/pods/a/eviction", Some(&evict("a"))).await;
        let st: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((code, st["reason"].as_str()), (429, Some("TooManyRequests")), "{st}");
        assert!(st["details"]["causes"][0]["message"].as_str().unwrap().contains("still being processed"));
        // One disruption allowed: one eviction succeeds, the next is refused.
        let (_, cur) = get_json(&c, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").await;
        let mut st_obj = cur.clone();
        st_obj["status"] = json!({"observedGeneration": 1, "disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2});
        assert_eq!(c.request("PUT", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web/status", Some(&st_obj)).await.0, 200);
        assert_eq!(c.request("POST", "/api/v1/namespaces/default/pods/a/eviction", Some(&evict("a"))).await.0, 201);
        let (_, cur) = get_json(&c, "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web").await;
        assert_eq!(cur["status"]["disruptionsAllowed"], 0);
        assert!(cur["status"]["disruptedPods"].get("a").is_some());
        let (code, body) = c.request("POST", "/api/v1/namespaces/default/pods/b/eviction", Some(&evict("b"))).await;
        let st: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(code, 429);
        assert_eq!(st["message"], "Cannot evict pod as it would violate the pod's disruption budget.");
        assert_eq!(get_json(&c, "/api/v1/namespaces/default/pods/b").await.0, 200, "a refused eviction deletes nothing");
    });
}
