//! Node agent figures with real containers (run as root): pod startup latency
//! (create → Running, image present) and the agent's memory and CPU holding 100 running
//! pods. The agent runs as its own process (`rkube agent`) so it is measured alone.
//! Prints figures; asserts nothing.
//!
//! Sizes: RKUBE_BENCH_STARTUP_PODS=50 (created one after another),
//! RKUBE_BENCH_STEADY_PODS=100, RKUBE_BENCH_STEADY_SECONDS=30.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::images::{busybox_archive, ArchiveFormat};
use testkit::{Client, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_rkube");
const IMAGE: &str = "rkube.test/busybox:1";
const CLUSTER_CIDR: &str = "10.251.0.0/16";

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn proc_field(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Proportional set size in KiB (shared pages split among the processes sharing them).
fn pss_kib(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines().find(|l| l.starts_with("Pss:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (field(11) + field(12)) as f64 / 100.0
}

fn shim_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("internal\0shim")))
        .collect()
}

struct Agent {
    child: Child,
    data: std::path::PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new(BIN).args(["killall", "--data-dir"]).arg(&self.data).output();
        let _ = Command::new("ip").args(["link", "del", "rkbench0"]).status();
        let _ = Command::new("ip").args(["route", "del", "blackhole", CLUSTER_CIDR]).status();
    }
}

/// Watches pods and records when each first reported Running.
async fn watch_running(client: Client, running: Arc<Mutex<HashMap<String, Instant>>>) {
    let mut events = client.watch("/api/v1/namespaces/default/pods?watch=1").await;
    while let Some(ev) = events.recv().await {
        if ev["object"]["status"]["phase"] == "Running" {
            let name = ev["object"]["metadata"]["name"].as_str().unwrap_or("").to_string();
            running.lock().unwrap().entry(name).or_insert_with(Instant::now);
        }
    }
}

fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "Never", "command": ["sleep", "3600"]}]
        }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("node bench: needs root (real containers); skipped");
        return;
    }
    let startup_pods = size("RKUBE_BENCH_STARTUP_PODS", 50);
    let steady_pods = size("RKUBE_BENCH_STEADY_PODS", 100);
    let steady_secs = size("RKUBE_BENCH_STEADY_SECONDS", 30);
    let server = TestServer::start_with(BIN, &["--cluster-cidr", CLUSTER_CIDR]);
    let data = tempfile::Builder::new().prefix("rkube-bench-agent").tempdir().unwrap();
    let _ = Command::new("ip").args(["route", "replace", "blackhole", CLUSTER_CIDR]).status();
    let archive = busybox_archive(data.path(), IMAGE, ArchiveFormat::Oci);
    let out = Command::new(BIN).args(["image", "import", "--data-dir"]).arg(data.path()).arg(&archive).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(data.path().join("agent.log")).unwrap();
    let child = Command::new(BIN)
        .args(["agent", "--kubeconfig"])
        .arg(server.kubeconfig())
        .arg("--data-dir")
        .arg(data.path())
        .args(["--node-name", "bench-node", "--node-ip", "127.0.0.1", "--cni-bridge", "rkbench0", "--cgroup-root", "/rkube-bench"])
        .args(["--kubelet-port", &port.to_string(), "--pod-log-dir"])
        .arg(data.path().join("pod-logs"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let agent = Agent { child, data: data.path().to_path_buf() };
    let pid = agent.child.id();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = server.client().await;
        let started = Instant::now();
        loop {
            let (_, body) = client.request("GET", "/api/v1/nodes/bench-node", None).await;
            let node: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let ready = node["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            if ready && node["spec"]["podCIDR"].is_string() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "agent never became Ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("node agent Ready {:.2}s after start (podCIDR from the allocator)", started.elapsed().as_secs_f64());
        let running: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        tokio::spawn(watch_running(server.client().await, running.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Startup latency: one pod at a time, create → Running as a watcher sees it.
        let mut latencies = Vec::new();
        for i in 0..startup_pods {
            let name = format!("startup-{i:03}");
            let t0 = Instant::now();
            let (code, body) = client.request("POST", "/api/v1/namespaces/default/pods", Some(&pod(&name))).await;
            assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
            loop {
                if let Some(t) = running.lock().unwrap().get(&name) {
                    latencies.push(*t - t0);
                    break;
                }
                assert!(t0.elapsed() < Duration::from_secs(60), "pod {name} never Running");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        latencies.sort();
        println!(
            "pod startup (create -> Running, image present, {startup_pods} pods one at a time): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
        );

        // Steady state: fill up to `steady_pods` running pods, then measure.
        let t0 = Instant::now();
        for i in startup_pods..steady_pods.max(startup_pods) {
            let name = format!("steady-{i:03}");
            let (code, body) = client.request("POST", "/api/v1/namespaces/default/pods", Some(&pod(&name))).await;
            assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
        }
        let total = steady_pods.max(startup_pods);
        while running.lock().unwrap().len() < total {
            assert!(t0.elapsed() < Duration::from_secs(300), "only {} of {total} pods Running", running.lock().unwrap().len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("{total} pods Running ({} created together in {:.1}s)", total - startup_pods, t0.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(5)).await;
        let cpu0 = cpu_seconds(pid);
        let w0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(steady_secs as u64)).await;
        let cpu = (cpu_seconds(pid) - cpu0) / w0.elapsed().as_secs_f64() * 100.0;
        let shims = shim_pids();
        let shim_pss: f64 = shims.iter().map(|p| pss_kib(*p)).sum::<f64>() / 1024.0;
        let shim_rss: f64 = shims.iter().map(|p| proc_field(*p, "VmRSS:")).sum::<f64>() / 1024.0;
        println!(
            "agent with {total} running pods: RSS {:.1} MiB (PSS {:.1} MiB), CPU {:.2}% of a core over {steady_secs}s",
            proc_field(pid, "VmRSS:") / 1024.0,
            pss_kib(pid) / 1024.0,
            cpu
        );
        println!(
            "container monitors (rkube internal shim, one per container): {} processes, PSS {:.1} MiB in all ({:.2} MiB each), RSS {:.1} MiB in all",
            shims.len(),
            shim_pss,
            shim_pss / shims.len().max(1) as f64,
            shim_rss
        );
    });
    drop(agent);
}
