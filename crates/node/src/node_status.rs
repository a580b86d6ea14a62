//! The Node object this agent registers and keeps current, and its Lease heartbeat.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde_json::{json, Value};

pub const KUBELET_VERSION: &str = "v1.33.0-rkube";

/// What the node is made of, read from the machine.
#[derive(Clone, Debug)]
pub struct Machine {
    pub cpus: u64,
    pub memory_bytes: u64,
    pub storage_bytes: u64,
    pub kernel: String,
    pub os_image: String,
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
    pub runtime_version: String,
}

fn read_trim(p: &str) -> String {
    std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default()
}

impl Machine {
    pub fn read(root: &Path, runtime: &Path) -> Machine {
        let cpus = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1);
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())))
            .flatten()
            .unwrap_or(0)
            * 1024;
        let storage_bytes = rustix::fs::statvfs(root).map(|s| s.f_blocks * s.f_frsize).unwrap_or(0);
        let os_image = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
            .unwrap_or_else(|| "Linux".into());
        let uname = rustix::system::uname();
        let runtime_version = std::process::Command::new(runtime)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.lines().next().and_then(|l| l.split_whitespace().nth(2)).map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus,
            memory_bytes,
            storage_bytes,
            kernel: uname.release().to_string_lossy().to_string(),
            os_image,
            machine_id: read_trim("/etc/machine-id"),
            system_uuid: read_trim("/sys/class/dmi/id/product_uuid"),
            boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
            runtime_version: format!("runc://{runtime_version}"),
        }
    }
}

/// The node's primary address: the source address of the default route, else the first
/// global address of any interface.
pub fn detect_node_ip() -> Option<IpAddr> {
    let out = std::process::Command::new("ip").args(["-j", "route", "show", "default"]).output().ok()?;
    let routes: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let dev = routes.as_array().and_then(|r| r.first()).and_then(|r| r["dev"].as_str()).map(str::to_string);
    let out = std::process::Command::new("ip").args(["-j", "-4", "addr", "show"]).output().ok()?;
    let ifaces: Value = serde_json::from_slice(&out.stdout).ok()?;
    let addrs: Vec<(String, IpAddr)> = ifaces
        .as_array()?
        .iter()
        .flat_map(|i| {
            let name = i["ifname"].as_str().unwrap_or("").to_string();
            i["addr_info"].as_array().into_iter().flatten().filter(|a| a["scope"] == "global").filter_map(move |a| Some((name.clone(), a["local"].as_str()?.parse().ok()?)))
        })
        .collect();
    addrs.iter().find(|(n, _)| Some(n) == dev.as_ref()).or_else(|| addrs.first()).map(|(_, ip)| *ip).or(Some(IpAddr::from([127, 0, 0, 1])))
}

/// Settings of the node's object.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub ip: IpAddr,
    pub port: u16,
    pub max_pods: u32,
    pub pod_cidr: Option<&'a str>,
    pub labels: &'a BTreeMap<String, String>,
}

pub fn resources(m: &Machine, max_pods: u32) -> (Value, Value) {
    let capacity = json!({
        "cpu": m.cpus.to_string(),
        "memory": format!("{}Ki", m.memory_bytes / 1024),
        "pods": max_pods.to_string(),
        "ephemeral-storage": format!("{}Ki", m.storage_bytes / 1024),
        "hugepages-2Mi": "0",
        "hugepages-1Gi": "0",
    });
    // Upstream's default hard eviction thresholds are held back from allocatable:
    // memory.available<100Mi, nodefs.available<10%.
    let memory = m.memory_bytes.saturating_sub(100 * 1024 * 1024);
    let storage = m.storage_bytes - m.storage_bytes / 10;
    let allocatable = json!({
        "cpu": m.cpus.to_string(),
        "memory": format!("{}Ki", memory / 1024),
        "pods": max_pods.to_string(),
        "ephemeral-storage": storage.to_string(),
        "hugepages-2Mi": "0",
        "hugepages-1Gi": "0",
    });
    (capacity, allocatable)
}

pub fn status(m: &Machine, s: &NodeSpec, images: Value, now: &str, existing: Option<&Value>) -> Value {
    let (capacity, allocatable) = resources(m, s.max_pods);
    let cond = |ty: &str, status: &str, reason: &str, message: &str| {
        let since = existing
            .and_then(|e| e["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == ty && c["status"] == status))
            .map(|c| c["lastTransitionTime"].clone())
            .unwrap_or_else(|| json!(now));
        json!({"type": ty, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": since, "reason": reason, "message": message})
    };
    json!({
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": s.ip.to_string()}, {"type": "Hostname", "address": s.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": s.port}},
        "nodeInfo": {
            "machineID": m.machine_id,
            "systemUUID": m.system_uuid,
            "bootID": m.boot_id,
            "kernelVersion": m.kernel,
            "osImage": m.os_image,
            "containerRuntimeVersion": m.runtime_version,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        },
        "images": images,
    })
}

pub fn node_object(m: &Machine, s: &NodeSpec, images: Value, now: &str) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("kubernetes.io/hostname".into(), json!(s.name));
    labels.insert("kubernetes.io/os".into(), json!("linux"));
    labels.insert("kubernetes.io/arch".into(), json!(std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64")));
    for (k, v) in s.labels {
        labels.insert(k.clone(), json!(v));
    }
    let mut spec = json!({});
    if let Some(c) = s.pod_cidr {
        spec = json!({"podCIDR": c, "podCIDRs": [c]});
    }
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": s.name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        "status": status(m, s, images, now, None),
    })
}
