//! Cluster figures at scale with simulated nodes (`rkube sim`): nodes Ready, pods
//! Running through a Deployment, scheduler throughput through the API, and the
//! server's memory holding many pods. Prints figures; asserts nothing.
//!
//! Sizes (defaults are the issue's): RKUBE_BENCH_NODES=5000, RKUBE_BENCH_RUN_PODS=10000,
//! RKUBE_BENCH_SCHED_PODS=50000, RKUBE_BENCH_TOTAL_PODS=150000; RKUBE_BENCH_SERVER_ARGS adds
//! server flags (e.g. `--disable-controller-manager` to see the API server alone).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::{Client, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    kib / 1024.0
}

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<f64>() / 100.0
}

/// Per-process CPU use over a phase of the bench.
struct CpuMeter {
    procs: Vec<(&'static str, u32, f64)>,
}

impl CpuMeter {
    fn start(procs: &[(&'static str, u32)]) -> CpuMeter {
        CpuMeter { procs: procs.iter().map(|(n, p)| (*n, *p, cpu_secs(*p))).collect() }
    }

    /// Prints each process's CPU seconds since `start`, and the total per `per` items.
    fn report(&self, per: usize, item: &str) {
        let used: Vec<(&str, f64)> = self.procs.iter().map(|(n, p, at)| (*n, cpu_secs(*p) - at)).collect();
        let total: f64 = used.iter().map(|u| u.1).sum();
        let parts: Vec<String> = used.iter().map(|(n, s)| format!("{n} {s:.1}")).collect();
        println!("  CPU seconds: {} = {total:.1} ({:.2} ms per {item})", parts.join(", "), total * 1000.0 / per.max(1) as f64);
    }
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Proc {
    Proc(Command::new(BIN).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("rkube"))
}

/// Counts from one watch: Ready nodes, bound pods, Running pods.
#[derive(Default)]
struct Counts {
    ready_nodes: AtomicUsize,
    bound: AtomicUsize,
    running: AtomicUsize,
}

/// Follows the nodes or pods under `base` (a collection path) and keeps `counts`
/// current. A watch the server closes (one that lagged behind) is resumed from the last
/// resourceVersion seen; one too old to resume (410) starts again from a list.
async fn follow(client: Client, base: String, counts: Arc<Counts>, nodes: bool) {
    let mut state: HashMap<String, (bool, bool)> = HashMap::new();
    let mut rv: Option<String> = None;
    loop {
        let rv_now = match rv.clone() {
            Some(rv) => rv,
            None => {
                let (code, body) = client.request("GET", &base, None).await;
                if code != 200 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                let list: Value = serde_json::from_slice(&body).unwrap_or_default();
                let mut fresh = HashMap::new();
                for obj in list["items"].as_array().into_iter().flatten() {
                    fresh.insert(obj["metadata"]["uid"].as_str().unwrap_or("").to_string(), flags(obj, nodes));
                }
                let old: Vec<String> = state.keys().filter(|k| !fresh.contains_key(*k)).cloned().collect();
                for uid in old {
                    track(&mut state, &counts, nodes, uid, None);
                }
                for (uid, f) in fresh {
                    track(&mut state, &counts, nodes, uid, Some(f));
                }
                list["metadata"]["resourceVersion"].as_str().unwrap_or("0").to_string()
            }
        };
        rv = Some(rv_now.clone());
        let mut events = client.watch(&format!("{base}?watch=1&allowWatchBookmarks=true&resourceVersion={rv_now}")).await;
        while let Some(ev) = events.recv().await {
            let obj = &ev["object"];
            if ev["type"] == "ERROR" {
                rv = None;
                continue;
            }
            if let Some(v) = obj["metadata"]["resourceVersion"].as_str() {
                rv = Some(v.to_string());
            }
            if ev["type"] == "BOOKMARK" {
                continue;
            }
            let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
            let f = (ev["type"] != "DELETED").then(|| flags(obj, nodes));
            track(&mut state, &counts, nodes, uid, f);
        }
    }
}

/// (Ready, -) for a node; (bound, Running) for a pod.
fn flags(obj: &Value, nodes: bool) -> (bool, bool) {
    if nodes {
        let ready = obj["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
        (ready, false)
    } else {
        (obj["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty()), obj["status"]["phase"] == "Running")
    }
}

/// Records an object's new flags (None: gone) and moves the counts by the difference.
fn track(state: &mut HashMap<String, (bool, bool)>, counts: &Counts, nodes: bool, uid: String, now: Option<(bool, bool)>) {
    let before = state.get(&uid).copied().unwrap_or((false, false));
    let after = now.unwrap_or((false, false));
    match now {
        Some(f) => {
            state.insert(uid, f);
        }
        None => {
            state.remove(&uid);
        }
    }
    let bump = |c: &AtomicUsize, was: bool, is: bool| match (was, is) {
        (false, true) => {
            c.fetch_add(1, Ordering::Relaxed);
        }
        (true, false) => {
            c.fetch_sub(1, Ordering::Relaxed);
        }
        _ => {}
    };
    if nodes {
        bump(&counts.ready_nodes, before.0, after.0);
    } else {
        bump(&counts.bound, before.0, after.0);
        bump(&counts.running, before.1, after.1);
    }
}

async fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            println!("  (gave up waiting for {what} after {:.0}s)", limit.as_secs_f64());
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some(start.elapsed())
}

fn pod(prefix: &str, i: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{prefix}-{i:06}"), "labels": {"app": prefix}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    })
}

/// Creates pods `from..to` named `prefix-N` with 128 requests in flight; returns pods/s.
async fn create_pods(clients: &[Client], prefix: &'static str, from: usize, to: usize) -> f64 {
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(from));
    let mut tasks = Vec::new();
    for w in 0..128 {
        let client = clients[w % clients.len()].clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    return;
                }
                let (code, body) = client.request("POST", "/api/v1/namespaces/default/pods", Some(&pod(prefix, i))).await;
                assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (to - from) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let nodes = size("RKUBE_BENCH_NODES", 5000);
    let run_pods = size("RKUBE_BENCH_RUN_PODS", 10_000);
    let sched_pods = size("RKUBE_BENCH_SCHED_PODS", 50_000);
    let total_pods = size("RKUBE_BENCH_TOTAL_PODS", 150_000).max(sched_pods + run_pods);
    // The scheduler runs as its own process, so its throughput is measured on pods that
    // already exist; controllers run in the server.
    let extra = std::env::var("RKUBE_BENCH_SERVER_ARGS").unwrap_or_default();
    let mut args = vec!["--disable-scheduler", "--event-ttl", "600"];
    args.extend(extra.split_whitespace());
    let server = TestServer::start_with(BIN, &args);
    let kc = server.kubeconfig();
    let kc = kc.to_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(server.client().await);
        }
        let counts = Arc::new(Counts::default());
        tokio::spawn(follow(clients[0].clone(), "/api/v1/nodes".into(), counts.clone(), true));
        tokio::spawn(follow(clients[1].clone(), "/api/v1/pods".into(), counts.clone(), false));
        tokio::time::sleep(Duration::from_millis(300)).await;

        let sim = spawn(&["sim", "--kubeconfig", &kc, "--nodes", &nodes.to_string()]);
        let me = std::process::id();
        let t = wait_until("nodes Ready", Duration::from_secs(120), || counts.ready_nodes.load(Ordering::Relaxed) >= nodes).await;
        if let Some(t) = t {
            println!("simulation: {nodes} nodes Ready in {:.2} s (goal: under 10 s)", t.as_secs_f64());
        }

        let cpu = CpuMeter::start(&[("server", server.pid()), ("sim", sim.0.id()), ("bench", me)]);
        let rate = create_pods(&clients, "sched", 0, sched_pods).await;
        println!("created {sched_pods} pods at {rate:.0} pods/s (scheduler not running)");
        cpu.report(sched_pods, "created pod");
        let sched_start = Instant::now();
        let log = std::fs::File::create(std::env::temp_dir().join("rkube-bench-scheduler.log")).unwrap();
        let scheduler = Proc(Command::new(BIN).args(["scheduler", "--kubeconfig", &kc]).stdout(Stdio::null()).stderr(log).spawn().expect("rkube"));
        let procs = [("server", server.pid()), ("scheduler", scheduler.0.id()), ("sim", sim.0.id()), ("bench", me)];
        let cpu = CpuMeter::start(&procs);
        let t = wait_until("pods bound", Duration::from_secs(300), || counts.bound.load(Ordering::Relaxed) >= sched_pods).await;
        if t.is_some() {
            let secs = sched_start.elapsed().as_secs_f64();
            println!(
                "scheduler: {sched_pods} pods bound on {nodes} nodes in {secs:.2} s = {:.0} pods/s through the API (goal: 5,000; includes start-up and leader election)",
                sched_pods as f64 / secs
            );
            cpu.report(sched_pods, "bound pod");
        }
        let t = wait_until("pods Running", Duration::from_secs(300), || counts.running.load(Ordering::Relaxed) >= sched_pods).await;
        if let Some(t) = t {
            println!("  all {sched_pods} Running {:.2} s after the last was bound", t.as_secs_f64());
        }

        let before = counts.running.load(Ordering::Relaxed);
        let start = Instant::now();
        let cpu = CpuMeter::start(&procs);
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
            "spec": {"replicas": run_pods, "selector": {"matchLabels": {"app": "big"}},
                     "template": {"metadata": {"labels": {"app": "big"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
        });
        let (code, body) = clients[0].request("POST", "/apis/apps/v1/namespaces/default/deployments", Some(&deployment)).await;
        assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
        let t = wait_until("deployment pods Running", Duration::from_secs(300), || counts.running.load(Ordering::Relaxed) >= before + run_pods).await;
        if t.is_some() {
            println!(
                "simulation: Deployment of {run_pods} replicas Running in {:.2} s (goal: under 20 s; ReplicaSet, scheduler and sim through the API)",
                start.elapsed().as_secs_f64()
            );
            cpu.report(run_pods, "pod");
        }

        let more = total_pods - sched_pods - run_pods;
        let rate = create_pods(&clients, "fill", 0, more).await;
        println!("created {more} more pods at {rate:.0} pods/s");
        let t = wait_until("all pods Running", Duration::from_secs(600), || counts.running.load(Ordering::Relaxed) >= total_pods).await;
        if t.is_some() {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let server_rss = server.rss_kib() as f64 / 1024.0;
            let sched_rss = rss_mib(scheduler.0.id());
            println!(
                "memory: {total_pods} pods on {nodes} nodes: server (API server, store, controllers) {server_rss:.0} MiB + scheduler {sched_rss:.0} MiB = {:.0} MiB (goal: under 4 GiB)",
                server_rss + sched_rss
            );
        }
    });
}
