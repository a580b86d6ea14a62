//! Patch figures: strategic merge patches and server-side applies of a 3-container
//! Deployment through the API, as patches per second and server CPU per patch.

use std::time::Instant;

use serde_json::{json, Value};
use testkit::{Client, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_rkube");
const OBJECTS: usize = 32;
const PER_OBJECT: usize = 100;

fn deployment(name: &str, tag: usize) -> Value {
    let container = |n: &str| json!({"name": n, "image": format!("registry.example/{n}:{tag}"), "ports": [{"containerPort": 8080}],
                                     "env": [{"name": "MODE", "value": "bench"}], "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}});
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [container("web"), container("sidecar"), container("logger")]}}}})
}

async fn send(c: &Client, method: &str, path: &str, content_type: &str, body: &Value) -> u16 {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(serde_json::to_vec(body).unwrap());
    c.raw(req.unwrap()).await
}

async fn run(server: &TestServer, clients: &[Client], label: &str, kind: &'static str) {
    let cpu0 = server.cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..OBJECTS {
        let c = clients[i % clients.len()].clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("d{i}");
            let path = format!("/apis/apps/v1/namespaces/default/deployments/{name}");
            for n in 1..=PER_OBJECT {
                let code = if kind == "baseline" {
                    let patch = json!({"metadata": {"labels": {"n": n.to_string()}}});
                    let p = format!("/api/v1/namespaces/default/configmaps/{name}");
                    send(&c, "PATCH", &p, "application/merge-patch+json", &patch).await
                } else if kind == "smp" {
                    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": format!("registry.example/sidecar:{n}")}]}}}});
                    send(&c, "PATCH", &path, "application/strategic-merge-patch+json", &patch).await
                } else {
                    let p = format!("{path}?fieldManager=bench&force=true");
                    send(&c, "PATCH", &p, "application/apply-patch+yaml", &deployment(&name, n + 1000)).await
                };
                assert_eq!(code, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = (OBJECTS * PER_OBJECT) as f64;
    let cpu = server.cpu_seconds() - cpu0;
    println!("{label}: {:.0} patches/s, {:.0} µs server CPU per patch ({n} patches, {OBJECTS} objects)", n / secs, cpu / n * 1e6);
}

fn main() {
    let server = TestServer::start_with(BIN, &["--disable-scheduler"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(server.client().await);
        }
        for i in 0..OBJECTS {
            let (code, body) = clients[0].request("POST", "/apis/apps/v1/namespaces/default/deployments", Some(&deployment(&format!("d{i}"), 0))).await;
            assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
        }
        for i in 0..OBJECTS {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("d{i}")}, "data": {"k": "v"}});
            assert_eq!(clients[0].request("POST", "/api/v1/namespaces/default/configmaps", Some(&cm)).await.0, 201);
        }
        run(&server, &clients, "baseline: merge patch of a ConfigMap label", "baseline").await;
        run(&server, &clients, "strategic merge patch", "smp").await;
        run(&server, &clients, "server-side apply", "ssa").await;
    });
}
