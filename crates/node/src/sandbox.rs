//! A pod's sandbox: the network, IPC and UTS namespaces its containers share, pinned by
//! bind mounts (so no pause process is needed and they survive agent restarts), its
//! CNI attachment, and the hosts, resolv.conf, hostname and /dev/shm it mounts.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::process::Command;

use crate::cni;
use crate::oci::SandboxPaths;

/// What the agent remembers of a sandbox it set up (ROOT/pods/<uid>/sandbox.json).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxState {
    pub host_network: bool,
    pub ips: Vec<IpAddr>,
    /// Host PID of the pod's PID 1 when its containers share a PID namespace.
    #[serde(default)]
    pub pause_pid: Option<i32>,
    /// The CNI result, passed back to the plugins on DEL.
    #[serde(default)]
    pub cni_result: Value,
    /// The container ID this sandbox has in CNI (unique per sandbox: plugins name
    /// their rules after it, and a pod may get a new sandbox).
    #[serde(default)]
    pub cni_container_id: String,
    /// hostPort mappings given to CNI on ADD; DEL needs them to remove their rules.
    #[serde(default)]
    pub port_mappings: Vec<(i32, i32, String, String)>,
    pub created_at: String,
}

const STATE_FILE: &str = "sandbox.json";

pub fn paths(pod_dir: &Path, state: &SandboxState) -> SandboxPaths {
    let ns = pod_dir.join("ns");
    let host_network = state.host_network;
    SandboxPaths {
        net_ns: (!host_network).then(|| ns.join("net")),
        ipc_ns: ns.join("ipc"),
        uts_ns: (!host_network).then(|| ns.join("uts")),
        pid_ns: state.pause_pid.map(|_| ns.join("pid")),
        hosts: pod_dir.join("etc-hosts"),
        resolv_conf: pod_dir.join("resolv.conf"),
        hostname: pod_dir.join("hostname"),
        shm: pod_dir.join("shm"),
    }
}

pub fn load(pod_dir: &Path) -> Option<SandboxState> {
    serde_json::from_slice(&std::fs::read(pod_dir.join(STATE_FILE)).ok()?).ok()
}

/// The hostname a pod's containers see: spec.hostname, else the pod name (at most 63
/// characters, without a trailing dot or dash, as upstream truncates).
pub fn pod_hostname(pod: &Pod) -> String {
    let spec_host = pod.spec.as_ref().and_then(|s| s.hostname.clone());
    let mut name = spec_host.unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    if name.len() > 63 {
        name.truncate(63);
        while name.ends_with('-') || name.ends_with('.') {
            name.pop();
        }
    }
    name
}

/// Inputs to setting up a sandbox.
pub struct SandboxConfig<'a> {
    pub self_exe: &'a Path,
    pub network: Option<&'a cni::Network>,
    pub node_hostname: &'a str,
    pub cluster_domain: &'a str,
    pub cluster_dns: &'a [IpAddr],
}

/// Creates the sandbox if it does not exist yet; returns its state. A sandbox that
/// fails half-way is undone, so a retry starts clean.
pub async fn ensure(pod_dir: &Path, pod: &Pod, cfg: &SandboxConfig<'_>) -> Result<SandboxState, String> {
    if let Some(state) = load(pod_dir) {
        return Ok(state);
    }
    let spec = pod.spec.as_ref().ok_or("pod without spec")?;
    let host_network = spec.host_network == Some(true);
    let mut state = SandboxState { host_network, created_at: crate::shim::now_rfc3339(), ..Default::default() };
    match build(pod_dir, pod, cfg, &mut state).await {
        Ok(()) => Ok(state),
        Err(e) => {
            undo(pod_dir, pod, cfg.network, &state).await;
            Err(e)
        }
    }
}

async fn build(pod_dir: &Path, pod: &Pod, cfg: &SandboxConfig<'_>, state: &mut SandboxState) -> Result<(), String> {
    let spec = pod.spec.as_ref().ok_or("pod without spec")?;
    let host_network = state.host_network;
    let p = paths(pod_dir, state);
    let ns_dir = pod_dir.join("ns");
    std::fs::create_dir_all(&ns_dir).map_err(|e| format!("creating {}: {e}", ns_dir.display()))?;
    let hostname = if host_network { cfg.node_hostname.to_string() } else { pod_hostname(pod) };
    let mut cmd = Command::new("unshare");
    if host_network {
        // No UTS namespace of its own: just pin the IPC namespace.
        touch(&p.ipc_ns)?;
        cmd.arg(format!("--ipc={}", p.ipc_ns.display())).arg("true");
    } else {
        for (flag, path) in [("--ipc", Some(&p.ipc_ns)), ("--net", p.net_ns.as_ref()), ("--uts", p.uts_ns.as_ref())] {
            if let Some(path) = path {
                touch(path)?;
                cmd.arg(format!("{flag}={}", path.display()));
            }
        }
        cmd.arg("--").arg(cfg.self_exe).arg("internal").arg("sethostname").arg(&hostname);
    }
    let out = cmd.output().await.map_err(|e| format!("running unshare: {e}"))?;
    if !out.status.success() {
        return Err(format!("failed to create the pod's namespaces: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    std::fs::create_dir_all(&p.shm).map_err(|e| e.to_string())?;
    mount_shm(&p.shm)?;
    if spec.share_process_namespace == Some(true) {
        state.pause_pid = Some(start_pause(cfg.self_exe, &ns_dir.join("pid")).await?);
    }
    if let (false, Some(net), Some(netns)) = (host_network, cfg.network, p.net_ns.as_ref()) {
        state.cni_container_id = format!("{}-{}", pod.metadata.uid.as_deref().unwrap_or(""), chrono::Utc::now().timestamp_micros());
        let attachment = attachment(pod, netns, &state.cni_container_id);
        state.port_mappings = attachment.port_mappings.clone();
        let result = net
            .add(&attachment)
            .await
            .map_err(|e| format!("failed to set up sandbox network for pod {:?}: {e}", pod.metadata.name.as_deref().unwrap_or("")))?;
        state.ips = cni::result_ips(&result);
        state.cni_result = result;
    }
    write_files(pod, &p, &hostname, state, cfg)?;
    crate::shim::write_atomic(&pod_dir.join(STATE_FILE), &serde_json::to_vec(state).map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Releases whatever a failed `build` had set up.
async fn undo(pod_dir: &Path, pod: &Pod, network: Option<&cni::Network>, state: &SandboxState) {
    let p = paths(pod_dir, state);
    if let (Some(net), Some(netns)) = (network, p.net_ns.as_ref()) {
        if !state.cni_container_id.is_empty() {
            let _ = net.del(&attachment(pod, netns, &state.cni_container_id), &state.cni_result).await;
        }
    }
    unpin(&p);
    let _ = rustix::mount::unmount(pod_dir.join("ns").join("pid"), rustix::mount::UnmountFlags::DETACH);
    if let Some(pid) = state.pause_pid.and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Starts the pod's PID 1 in a new PID namespace (its containers join it) and pins
/// that namespace. The process outlives the agent, like the containers.
async fn start_pause(self_exe: &Path, pin: &Path) -> Result<i32, String> {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--"])
        .arg(self_exe)
        .args(["internal", "pause"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting the pod's PID 1: {e}"))?;
    let unshare_pid = child.id();
    // Reaped when it ends, while this agent runs.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    // The forked child of unshare is the namespace's PID 1.
    let children = format!("/proc/{unshare_pid}/task/{unshare_pid}/children");
    for _ in 0..200 {
        if let Some(pid) = std::fs::read_to_string(&children).ok().and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<i32>().ok())) {
            touch(pin)?;
            let ns = format!("/proc/{pid}/ns/pid");
            rustix::mount::mount_bind(&ns, pin).map_err(|e| format!("pinning the pod's PID namespace: {e}"))?;
            return Ok(pid);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Err("the pod's PID 1 did not start".into())
}

/// `rkube internal pause`: PID 1 of a pod's shared PID namespace. It reaps orphans and
/// otherwise sleeps; as PID 1 it ignores signals it has no handler for.
pub fn pause() -> ! {
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some(_)) => {}
            _ => std::thread::sleep(std::time::Duration::from_secs(1)),
        }
    }
}

fn attachment<'a>(pod: &'a Pod, netns: &'a Path, container_id: &'a str) -> cni::Attachment<'a> {
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    let mut port_mappings = Vec::new();
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        for p in c.ports.iter().flatten() {
            if let Some(h) = p.host_port.filter(|h| *h > 0) {
                let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
                port_mappings.push((h, p.container_port, proto, p.host_ip.clone().unwrap_or_default()));
            }
        }
    }
    cni::Attachment {
        container_id,
        netns,
        ifname: "eth0",
        namespace: pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod_name: pod.metadata.name.as_deref().unwrap_or(""),
        pod_uid: uid,
        port_mappings,
    }
}

fn touch(path: &Path) -> Result<(), String> {
    if !path.exists() {
        std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    }
    Ok(())
}

fn mount_shm(dir: &Path) -> Result<(), String> {
    use rustix::mount::{mount, MountFlags};
    let data = c"mode=1777,size=65536k";
    mount("shm", dir, "tmpfs", MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC, Some(data))
        .map_err(|e| format!("mounting /dev/shm of the pod: {e}"))
}

fn write_files(pod: &Pod, p: &SandboxPaths, hostname: &str, state: &SandboxState, cfg: &SandboxConfig<'_>) -> Result<(), String> {
    let spec = pod.spec.as_ref().ok_or("pod without spec")?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let write = |path: &Path, text: String| std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()));
    write(&p.hostname, format!("{hostname}\n"))?;
    if state.host_network {
        write(&p.hosts, std::fs::read_to_string("/etc/hosts").unwrap_or_default())?;
    } else {
        let mut hosts = String::from(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
        );
        let fqdn = spec.subdomain.as_ref().map(|sd| format!("{hostname}.{sd}.{ns}.svc.{}\t", cfg.cluster_domain)).unwrap_or_default();
        for ip in &state.ips {
            hosts.push_str(&format!("{ip}\t{fqdn}{hostname}\n"));
        }
        if let Some(aliases) = &spec.host_aliases {
            hosts.push_str("\n# Entries added by HostAliases.\n");
            for a in aliases {
                hosts.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.clone().unwrap_or_default().join("\t")));
            }
        }
        write(&p.hosts, hosts)?;
    }
    write(&p.resolv_conf, resolv_conf(pod, ns, cfg))?;
    Ok(())
}

/// resolv.conf for the pod's dnsPolicy. Without a cluster DNS, ClusterFirst falls back
/// to the node's resolv.conf, as upstream does.
fn resolv_conf(pod: &Pod, ns: &str, cfg: &SandboxConfig<'_>) -> String {
    let spec = pod.spec.as_ref();
    let host_network = spec.and_then(|s| s.host_network) == Some(true);
    let policy = spec.and_then(|s| s.dns_policy.clone()).unwrap_or_else(|| "ClusterFirst".into());
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let cluster = match policy.as_str() {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let (mut servers, mut searches, mut options): (Vec<String>, Vec<String>, Vec<String>) = (vec![], vec![], vec![]);
    if policy != "None" {
        if cluster && !cfg.cluster_dns.is_empty() {
            servers = cfg.cluster_dns.iter().map(|i| i.to_string()).collect();
            let d = cfg.cluster_domain;
            searches = vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.to_string()];
            options = vec!["ndots:5".into()];
        } else {
            for line in host.lines() {
                let mut parts = line.split_whitespace();
                match parts.next() {
                    Some("nameserver") => servers.extend(parts.map(str::to_string)),
                    Some("search") => searches.extend(parts.map(str::to_string)),
                    Some("options") => options.extend(parts.map(str::to_string)),
                    _ => {}
                }
            }
        }
    }
    if let Some(dc) = spec.and_then(|s| s.dns_config.as_ref()) {
        servers.extend(dc.nameservers.iter().flatten().cloned());
        searches.extend(dc.searches.iter().flatten().cloned());
        for o in dc.options.iter().flatten() {
            let name = o.name.clone().unwrap_or_default();
            options.retain(|x| x.split(':').next() != Some(name.as_str()));
            options.push(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    let mut out = String::new();
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    for s in servers.iter().take(3) {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

fn unpin(p: &SandboxPaths) {
    use rustix::mount::{unmount, UnmountFlags};
    for path in [Some(&p.ipc_ns), p.net_ns.as_ref(), p.uts_ns.as_ref(), p.pid_ns.as_ref(), Some(&p.shm)].into_iter().flatten() {
        let _ = unmount(path, UnmountFlags::DETACH);
    }
}

/// Removes the sandbox: detaches it from the network, unpins its namespaces.
pub async fn teardown(pod_dir: &Path, pod_ns: &str, pod_name: &str, pod_uid: &str, network: Option<&cni::Network>) -> Result<(), String> {
    let state = load(pod_dir);
    let p = paths(pod_dir, &state.clone().unwrap_or_default());
    // A pin that is no longer a mount (the machine rebooted) names no namespace: plugins
    // must see it as gone, and they do when the path does not exist.
    if let Some(netns) = p.net_ns.as_ref() {
        if netns.exists() && !crate::runtime::is_mountpoint(netns) {
            let _ = std::fs::remove_file(netns);
        }
    }
    if let (Some(net), Some(netns), Some(state)) = (network, p.net_ns.as_ref(), state.as_ref()) {
        let id = if state.cni_container_id.is_empty() { pod_uid } else { state.cni_container_id.as_str() };
        let a = cni::Attachment {
            container_id: id,
            netns,
            ifname: "eth0",
            namespace: pod_ns,
            pod_name,
            pod_uid,
            port_mappings: state.port_mappings.clone(),
        };
        net.del(&a, &state.cni_result).await?;
    }
    unpin(&p);
    if let Some(pid) = state.as_ref().and_then(|s| s.pause_pid).and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    let _ = std::fs::remove_file(pod_dir.join(STATE_FILE));
    Ok(())
}

/// Every pod directory under `pods_dir` (named by pod uid).
pub fn pod_dirs(pods_dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read_dir(pods_dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .collect()
}
