//! Acknowledged writes survive SIGKILL, and a watch from an earlier resourceVersion
//! replays every later event, in order, after a restart.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use serde_json::{json, Value};
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn list_rv(body: &[u8]) -> i64 {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

#[test]
fn acknowledged_creates_survive_kill9_and_watch_resumes() {
    let server = Arc::new(Mutex::new(TestServer::start(BIN)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acked: BTreeSet<String> = rt.block_on(async {
        let kubeconfig = server.lock().unwrap().kubeconfig();
        let client = testkit::Client::connect(&kubeconfig).await;
        let acked = Arc::new(Mutex::new(BTreeSet::new()));
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let (client, acked, server) = (client.clone(), acked.clone(), server.clone());
                tokio::spawn(async move {
                    let name = format!("cm-{i:04}");
                    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": i.to_string()}});
                    let resp = client.send("POST", "/api/v1/namespaces/default/configmaps", Some(&body)).await;
                    if resp.status() == 201 {
                        let n = {
                            let mut a = acked.lock().unwrap();
                            a.insert(name);
                            a.len()
                        };
                        if n == 300 {
                            server.lock().unwrap().kill9();
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        let a = acked.lock().unwrap().clone();
        a
    });
    assert!(acked.len() >= 300, "only {} creates acknowledged", acked.len());

    let mut s = Arc::try_unwrap(server).ok().unwrap().into_inner().unwrap();
    s.restart();
    let names = s.ok(&["get", "cm", "-n", "default", "-o", "name"]);
    let stored: BTreeSet<String> =
        names.lines().filter_map(|l| l.strip_prefix("configmap/")).filter(|n| n.starts_with("cm-")).map(str::to_string).collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged creates lost after SIGKILL: {lost:?}");

    rt.block_on(async {
        let client = s.client().await;
        let (_, body) = client.request("GET", "/api/v1/namespaces/kube-system/configmaps", None).await;
        let start = list_rv(&body);
        // Events after the restart, then a watch from before them.
        for i in 0..20 {
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("after-{i:02}")}});
            let (code, _) = client.request("POST", "/api/v1/namespaces/default/configmaps", Some(&body)).await;
            assert_eq!(code, 201);
        }
        let (code, _) = client.request("DELETE", "/api/v1/namespaces/default/configmaps/after-00", None).await;
        assert_eq!(code, 200);
        let resp = client
            .send("GET", &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={start}&timeoutSeconds=2"), None)
            .await;
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let events: Vec<Value> =
            body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
        let seen: Vec<(String, String)> = events
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_string(), e["object"]["metadata"]["name"].as_str().unwrap().to_string()))
            .collect();
        let mut want: Vec<(String, String)> = (0..20).map(|i| ("ADDED".to_string(), format!("after-{i:02}"))).collect();
        want.push(("DELETED".into(), "after-00".into()));
        assert_eq!(seen, want);
        let revs: Vec<i64> =
            events.iter().map(|e| e["object"]["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()).collect();
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "in order: {revs:?}");
    });
}

#[test]
fn watch_from_before_restart_replays_from_store_history() {
    let mut s = TestServer::start(BIN);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = rt.block_on(async {
        let client = s.client().await;
        let (_, body) = client.request("GET", "/api/v1/namespaces/default/configmaps", None).await;
        let start = list_rv(&body);
        for i in 0..5 {
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("before-{i}")}});
            assert_eq!(client.request("POST", "/api/v1/namespaces/default/configmaps", Some(&body)).await.0, 201);
        }
        start
    });
    s.restart();
    rt.block_on(async {
        let client = s.client().await;
        let resp = client
            .send("GET", &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}&timeoutSeconds=1"), None)
            .await;
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let names: Vec<String> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice::<Value>(l).unwrap()["object"]["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, (0..5).map(|i| format!("before-{i}")).collect::<Vec<_>>());
    });
}
