//! The OCI runtime spec (`config.json`) of a container: a pure function of the pod, the
//! container, its image and the sandbox it joins.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, Pod, SecurityContext};
use serde_json::{json, Value};

use crate::volumes::Mount;

/// Capabilities a container gets unless its securityContext says otherwise (the set
/// container runtimes give by default).
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const ALL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/// Paths masked and made read-only in unprivileged containers, as runtimes do.
const MASKED_PATHS: &[&str] = &[
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
];
const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// The pod's QoS class, which places its cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qos {
    Guaranteed,
    Burstable,
    BestEffort,
}

impl Qos {
    pub fn as_str(self) -> &'static str {
        match self {
            Qos::Guaranteed => "Guaranteed",
            Qos::Burstable => "Burstable",
            Qos::BestEffort => "BestEffort",
        }
    }
}

/// Upstream's rule: Guaranteed when every container limits cpu and memory and requests
/// equal limits; BestEffort when nothing requests or limits cpu or memory.
pub fn qos_class(pod: &Pod) -> Qos {
    let spec = match &pod.spec {
        Some(s) => s,
        None => return Qos::BestEffort,
    };
    let all = spec.init_containers.iter().flatten().chain(spec.containers.iter());
    let (mut any, mut guaranteed) = (false, true);
    for c in all {
        let res = c.resources.as_ref();
        let limits = res.and_then(|r| r.limits.as_ref());
        let requests = res.and_then(|r| r.requests.as_ref());
        for name in ["cpu", "memory"] {
            let l = limits.and_then(|m| m.get(name));
            let r = requests.and_then(|m| m.get(name)).or(l);
            if l.is_some() || r.is_some() {
                any = true;
            }
            match (l, r) {
                (Some(l), Some(r)) if quantity(&l.0) == quantity(&r.0) => {}
                _ => guaranteed = false,
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => Qos::BestEffort,
        (true, true) => Qos::Guaranteed,
        (true, false) => Qos::Burstable,
    }
}

/// A Kubernetes quantity as a number (cpu in cores, memory in bytes).
pub fn quantity(q: &str) -> f64 {
    let q = q.trim();
    let split = q.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().unwrap_or(0.0);
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        s if s.starts_with('e') || s.starts_with('E') => 10f64.powi(s[1..].parse().unwrap_or(0)),
        _ => 1.0,
    };
    n * mult
}

/// The sandbox a container joins.
pub struct SandboxPaths {
    /// Pinned namespaces (None for hostNetwork pods, which share the host's).
    pub net_ns: Option<PathBuf>,
    pub ipc_ns: PathBuf,
    pub uts_ns: Option<PathBuf>,
    /// The pod's shared PID namespace (shareProcessNamespace), else each container has its own.
    pub pid_ns: Option<PathBuf>,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub hostname: PathBuf,
    pub shm: PathBuf,
}

/// Everything `spec` needs besides the pod and container.
pub struct ContainerPlan<'a> {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
    /// uid, gid and supplementary groups the process runs as.
    pub user: (u32, u32, Vec<u32>),
    pub mounts: &'a [Mount],
    pub termination_log: Option<(&'a Path, String)>,
    pub cgroup: String,
    pub sandbox: &'a SandboxPaths,
}

fn effective_security(pod: &Pod, c: &Container) -> SecurityContext {
    let mut sc = c.security_context.clone().unwrap_or_default();
    if let Some(psc) = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()) {
        sc.run_as_user = sc.run_as_user.or(psc.run_as_user);
        sc.run_as_group = sc.run_as_group.or(psc.run_as_group);
        sc.run_as_non_root = sc.run_as_non_root.or(psc.run_as_non_root);
        if sc.seccomp_profile.is_none() {
            sc.seccomp_profile = psc.seccomp_profile.clone();
        }
    }
    sc
}

/// The user a container runs as: securityContext over the image's USER (numeric, or a
/// name looked up in the image's /etc/passwd and /etc/group).
pub fn resolve_user(pod: &Pod, c: &Container, image_user: &str, rootfs: &Path) -> Result<(u32, u32, Vec<u32>), String> {
    let sc = effective_security(pod, c);
    let (user_part, group_part) = match image_user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (image_user, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let group_file = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    let lookup = |file: &str, name: &str| -> Option<(u32, u32)> {
        file.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| (f[2].parse().ok(), f[3].parse().ok())).and_then(|(a, b)| Some((a?, b.unwrap_or(0))))
        })
    };
    let (mut uid, mut gid) = (0u32, 0u32);
    if !user_part.is_empty() {
        if let Ok(n) = user_part.parse() {
            uid = n;
            gid = passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 3 && f[2] == user_part).then(|| f[3].parse().ok()).flatten()
            }).unwrap_or(0);
        } else {
            let (u, g) = lookup(&passwd, user_part).ok_or_else(|| format!("unable to find user {user_part}: no matching entries in passwd file"))?;
            uid = u;
            gid = g;
        }
    }
    if let Some(g) = group_part {
        gid = match g.parse() {
            Ok(n) => n,
            Err(_) => lookup(&group_file, g).map(|(gid, _)| gid).ok_or_else(|| format!("unable to find group {g}"))?,
        };
    }
    if let Some(u) = sc.run_as_user {
        uid = u as u32;
        if sc.run_as_group.is_none() && !user_part.is_empty() && user_part.parse::<u32>().is_err() {
            gid = 0;
        }
    }
    if let Some(g) = sc.run_as_group {
        gid = g as u32;
    }
    if sc.run_as_non_root == Some(true) && uid == 0 {
        return Err("container has runAsNonRoot and image will run as root".into());
    }
    let mut extra: Vec<u32> = Vec::new();
    if let Some(psc) = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()) {
        if let Some(fs) = psc.fs_group {
            extra.push(fs as u32);
        }
        extra.extend(psc.supplemental_groups.iter().flatten().map(|g| *g as u32));
    }
    extra.sort_unstable();
    extra.dedup();
    Ok((uid, gid, extra))
}

fn capability_name(c: &str) -> String {
    let up = c.to_ascii_uppercase();
    if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

fn capabilities(sc: &SecurityContext) -> Vec<String> {
    if sc.privileged == Some(true) {
        return ALL_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    }
    let mut caps: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    if let Some(c) = &sc.capabilities {
        for a in c.add.iter().flatten() {
            if a.eq_ignore_ascii_case("ALL") {
                caps = ALL_CAPABILITIES.iter().map(|s| s.to_string()).collect();
            } else if !caps.contains(&capability_name(a)) {
                caps.push(capability_name(a));
            }
        }
        for d in c.drop.iter().flatten() {
            if d.eq_ignore_ascii_case("ALL") {
                caps.clear();
            } else {
                let name = capability_name(d);
                caps.retain(|x| *x != name);
            }
        }
    }
    caps
}

fn resources(c: &Container) -> Value {
    let res = c.resources.as_ref();
    let get = |which: Option<&std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, name: &str| {
        which.and_then(|m| m.get(name)).map(|q| quantity(&q.0))
    };
    let limits = res.and_then(|r| r.limits.as_ref());
    let requests = res.and_then(|r| r.requests.as_ref());
    let cpu_request = get(requests, "cpu").or(get(limits, "cpu"));
    // Upstream: shares = milliCPU * 1024 / 1000, at least 2; no request means 2.
    let shares = cpu_request.map(|c| ((c * 1024.0).round() as u64).max(2)).unwrap_or(2);
    let mut cpu = json!({"shares": shares});
    if let Some(l) = get(limits, "cpu") {
        let period = 100_000u64;
        cpu["period"] = json!(period);
        cpu["quota"] = json!(((l * period as f64).round() as i64).max(1000));
    }
    let mut out = json!({"devices": [{"allow": false, "access": "rwm"}], "cpu": cpu});
    if let Some(m) = get(limits, "memory") {
        out["memory"] = json!({"limit": m as i64});
    }
    out
}

/// The default seccomp profile (RuntimeDefault): allow everything except a list of
/// syscalls that escape or administer the host, which fail with EPERM.
fn runtime_default_seccomp() -> Value {
    let blocked = [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
        "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
        "keyctl", "lookup_dcookie", "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl",
        "open_by_handle_at", "perf_event_open", "personality", "pivot_root", "process_vm_readv", "process_vm_writev",
        "ptrace", "query_module", "quotactl", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday",
        "stime", "swapoff", "swapon", "_sysctl", "sysfs", "umount", "umount2", "unshare", "uselib", "userfaultfd",
        "ustat", "vm86", "vm86old", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    ];
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [{"names": blocked.as_slice(), "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    })
}

/// The container's `config.json`.
pub fn spec(pod: &Pod, c: &Container, plan: &ContainerPlan) -> Value {
    let sc = effective_security(pod, c);
    let privileged = sc.privileged == Some(true);
    let caps = capabilities(&sc);
    let no_new_privs = !privileged && sc.allow_privilege_escalation != Some(true);
    let sandbox = plan.sandbox;
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", if privileged { "rw" } else { "ro" }]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
        json!({"destination": "/dev/shm", "type": "bind", "source": sandbox.shm, "options": ["rbind", "rw"]}),
        json!({"destination": "/etc/hosts", "type": "bind", "source": sandbox.hosts, "options": ["rbind", "rw"]}),
        json!({"destination": "/etc/resolv.conf", "type": "bind", "source": sandbox.resolv_conf, "options": ["rbind", "rw"]}),
        json!({"destination": "/etc/hostname", "type": "bind", "source": sandbox.hostname, "options": ["rbind", "rw"]}),
    ];
    if let Some((path, dest)) = &plan.termination_log {
        mounts.push(json!({"destination": dest, "type": "bind", "source": path, "options": ["rbind", "rw"]}));
    }
    for m in plan.mounts {
        let mut options = vec!["rbind", if m.read_only { "ro" } else { "rw" }];
        if let Some(p) = &m.propagation {
            options.push(p.as_str());
        }
        mounts.push(json!({"destination": m.destination, "type": "bind", "source": m.source, "options": options}));
    }
    let pid = match &sandbox.pid_ns {
        Some(p) => json!({"type": "pid", "path": p}),
        None => json!({"type": "pid"}),
    };
    let mut namespaces = vec![pid, json!({"type": "mount"}), json!({"type": "ipc", "path": sandbox.ipc_ns})];
    if let Some(net) = &sandbox.net_ns {
        namespaces.push(json!({"type": "network", "path": net}));
    }
    if let Some(uts) = &sandbox.uts_ns {
        namespaces.push(json!({"type": "uts", "path": uts}));
    }
    let sysctls: serde_json::Map<String, Value> = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.sysctls.as_ref())
        .map(|s| s.iter().map(|x| (x.name.clone(), json!(x.value))).collect())
        .unwrap_or_default();
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": plan.cgroup,
        "resources": resources(c),
        "sysctl": sysctls,
    });
    if privileged {
        linux["resources"]["devices"] = json!([{"allow": true, "access": "rwm"}]);
    } else {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
        let seccomp = sc.seccomp_profile.as_ref().map(|p| p.type_.as_str());
        if seccomp == Some("RuntimeDefault") {
            linux["seccomp"] = runtime_default_seccomp();
        }
    }
    let (uid, gid, extra) = &plan.user;
    let env: Vec<String> = plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid, "additionalGids": extra},
            "args": plan.args,
            "env": env,
            "cwd": if plan.cwd.is_empty() { "/" } else { plan.cwd.as_str() },
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": no_new_privs,
            "oomScoreAdj": oom_score_adj(qos_class(pod)),
        },
        "root": {"path": "rootfs", "readonly": sc.read_only_root_filesystem == Some(true)},
        "mounts": mounts,
        "linux": linux,
    })
}

fn oom_score_adj(q: Qos) -> i32 {
    match q {
        Qos::Guaranteed => -997,
        Qos::BestEffort => 1000,
        Qos::Burstable => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}})).unwrap()
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(json!({}))), Qos::BestEffort);
        assert_eq!(qos_class(&pod(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))), Qos::Guaranteed);
        assert_eq!(qos_class(&pod(json!({"requests": {"cpu": "100m"}}))), Qos::Burstable);
        assert_eq!(qos_class(&pod(json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}))), Qos::Burstable);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("100m"), 0.1);
        assert_eq!(quantity("20Mi"), 20.0 * 1024.0 * 1024.0);
        assert_eq!(quantity("1G"), 1e9);
        assert_eq!(quantity("2"), 2.0);
    }

    #[test]
    fn resources_map_to_cgroup_settings() {
        let p = pod(json!({"limits": {"cpu": "500m", "memory": "20Mi"}}));
        let r = resources(&p.spec.as_ref().unwrap().containers[0]);
        assert_eq!(r["cpu"]["shares"], 512);
        assert_eq!(r["cpu"]["quota"], 50_000);
        assert_eq!(r["memory"]["limit"], 20 * 1024 * 1024);
    }

    #[test]
    fn capabilities_add_and_drop() {
        let sc: SecurityContext = serde_json::from_value(json!({"capabilities": {"add": ["NET_ADMIN"], "drop": ["KILL"]}})).unwrap();
        let caps = capabilities(&sc);
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        let sc: SecurityContext = serde_json::from_value(json!({"capabilities": {"drop": ["ALL"]}})).unwrap();
        assert!(capabilities(&sc).is_empty());
    }
}
