//! API server figures: idle RSS, durable creates per second, LIST of 10,000 pods, and
//! watch event latency across 1,000 watchers. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::json;
use testkit::{Client, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_rkube");
const PODS: usize = 10_000;
const WATCHERS: usize = 1_000;

fn pod(i: usize) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bench", "n": (i % 10).to_string()}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn creates(clients: &[Client]) -> f64 {
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..256 {
        let client = clients[w % clients.len()].clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= PODS {
                    return;
                }
                let (code, body) = client.request("POST", "/api/v1/namespaces/default/pods", Some(&pod(i))).await;
                assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    PODS as f64 / start.elapsed().as_secs_f64()
}

async fn list_latency(client: &Client) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..15 {
        let t = Instant::now();
        let (code, body) = client.request("GET", "/api/v1/pods", None).await;
        times.push(t.elapsed());
        assert_eq!(code, 200);
        bytes = body.len();
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), bytes)
}

async fn watch_latency(clients: &[Client]) -> (Duration, Duration, usize) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    for w in 0..WATCHERS {
        let client = clients[w % clients.len()].clone();
        let tx = tx.clone();
        let resp = client.send("GET", "/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion=0", None).await;
        assert_eq!(resp.status(), 200);
        tokio::spawn(async move {
            let mut body = resp.into_body().into_data_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                for line in chunk.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
                    let _ = tx.send((v["object"]["metadata"]["name"].as_str().unwrap_or("").to_string(), now));
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::new();
    for round in 0..20 {
        let name = format!("tick-{round}");
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
        let sent = Instant::now();
        let (code, _) = clients[0].request("POST", "/api/v1/namespaces/bench/configmaps", Some(&body)).await;
        assert_eq!(code, 201);
        let mut got = 0;
        while got < WATCHERS {
            let (n, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("watch event").unwrap();
            if n == name {
                latencies.push(at.duration_since(sent));
                got += 1;
            }
        }
    }
    latencies.sort();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99), latencies.len())
}

fn main() {
    // The API server alone: no scheduler reacting to the pods.
    let server = TestServer::start_with(BIN, &["--disable-scheduler"]);
    std::thread::sleep(Duration::from_secs(2));
    println!("idle RSS: {:.1} MiB", server.rss_kib() as f64 / 1024.0);
    server.ok_stdin(&["apply", "-f", "-"], Some("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(server.client().await);
        }
        let rate = creates(&clients).await;
        println!("creates: {rate:.0} pods/s ({PODS} pods, 256 concurrent, fsync per batch)");
        let (p50, p99, bytes) = list_latency(&clients[0]).await;
        println!("LIST {PODS} pods: p50 {:.1} ms, p99 {:.1} ms ({:.1} MiB)", ms(p50), ms(p99), bytes as f64 / 1048576.0);
        println!("RSS with {PODS} pods: {:.1} MiB", server.rss_kib() as f64 / 1024.0);
        let (p50, p99, n) = watch_latency(&clients).await;
        println!("watch latency, {WATCHERS} watchers ({n} deliveries): p50 {:.1} ms, p99 {:.1} ms", ms(p50), ms(p99));
        println!("RSS with {WATCHERS} watchers: {:.1} MiB", server.rss_kib() as f64 / 1024.0);
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
