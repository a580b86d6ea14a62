//! Containers on disk: each has a directory `ROOT/containers/<id>` holding its OCI
//! bundle (config.json and an overlayfs rootfs over the image's unpacked layers), what
//! the agent knows of it (meta.json) and what its shim reports (started, exit.json).
//! Everything is on disk so a restarted agent adopts the containers it left running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::process::Command;

use crate::shim::{ExitRecord, EXIT_FILE, PID_FILE, STARTED_FILE};

/// What the agent records about one container instance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerMeta {
    pub id: String,
    pub pod_uid: String,
    pub pod_namespace: String,
    pub pod_name: String,
    pub name: String,
    /// "init", "sidecar" or "app".
    pub kind: String,
    pub restart_count: i32,
    /// The image as the pod spec names it, and what it resolved to.
    pub image: String,
    pub image_ref: String,
    pub image_id: String,
    pub created_at: String,
    pub log_path: PathBuf,
    pub cgroup: String,
    /// Host path of the file mounted at terminationMessagePath.
    #[serde(default)]
    pub termination_log: Option<PathBuf>,
}

/// The state of a container instance, as its shim reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Created; its process has not started yet.
    Created,
    Running { started_at: String },
    Exited(ExitRecord),
}

#[derive(Clone, Debug)]
pub struct Runtime {
    pub root: PathBuf,
    pub runtime: PathBuf,
    pub self_exe: PathBuf,
    pub log_max_bytes: u64,
}

const META_FILE: &str = "meta.json";

impl Runtime {
    pub fn runtime_root(&self) -> PathBuf {
        self.root.join("runc")
    }

    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// Every container instance on disk.
    pub fn list(&self) -> Vec<ContainerMeta> {
        std::fs::read_dir(self.containers_dir())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path().join(META_FILE)).ok()?).ok())
            .collect()
    }

    pub fn state(&self, id: &str) -> State {
        let dir = self.dir(id);
        if let Ok(bytes) = std::fs::read(dir.join(EXIT_FILE)) {
            if let Ok(rec) = serde_json::from_slice::<ExitRecord>(&bytes) {
                return State::Exited(rec);
            }
        }
        let started = std::fs::read_to_string(dir.join(STARTED_FILE)).ok();
        let pid: Option<i32> = std::fs::read_to_string(dir.join(PID_FILE)).ok().and_then(|s| s.trim().parse().ok());
        let alive = pid.and_then(rustix::process::Pid::from_raw).is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        let shim_alive = std::fs::read_to_string(dir.join("shim.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        // A container being created has no shim yet for a moment: not lost.
        let starting = !dir.join("shim.pid").exists()
            && std::fs::metadata(&dir).and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().unwrap_or_default() < std::time::Duration::from_secs(60));
        if starting {
            return State::Created;
        }
        match (started, alive || shim_alive) {
            (Some(t), true) => State::Running { started_at: t.trim().to_string() },
            (None, true) => State::Created,
            // Neither the process nor its shim is there, and no exit was recorded (the
            // machine rebooted, or someone killed the shim): the container is lost. The
            // record is written once, so its finish time stays put.
            (started, false) => {
                let rec = ExitRecord {
                    exit_code: 137,
                    start_error: Some("The container could not be located when the pod was terminated".into()),
                    finished_at: crate::shim::now_rfc3339(),
                    started_at: started.map(|t| t.trim().to_string()).unwrap_or_default(),
                    ..Default::default()
                };
                if let Ok(bytes) = serde_json::to_vec(&rec) {
                    let _ = crate::shim::write_atomic(&dir.join(EXIT_FILE), &bytes);
                }
                State::Exited(rec)
            }
        }
    }

    /// Creates the bundle (overlay rootfs over `layers`, config.json) and starts the
    /// container under a new shim. Returns once the process started or failed to.
    pub async fn start(&self, meta: &ContainerMeta, layers: &[PathBuf], config: &Value) -> Result<State, String> {
        let dir = self.dir(&meta.id);
        let rootfs = dir.join("rootfs");
        for d in [&rootfs, &dir.join("upper"), &dir.join("work")] {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
        mount_overlay(&rootfs, layers, &dir.join("upper"), &dir.join("work"))?;
        let write = |name: &str, v: Vec<u8>| crate::shim::write_atomic(&dir.join(name), &v).map_err(|e| format!("writing {name}: {e}"));
        write("config.json", serde_json::to_vec(config).map_err(|e| e.to_string())?)?;
        write(META_FILE, serde_json::to_vec(meta).map_err(|e| e.to_string())?)?;
        if let Some(parent) = meta.log_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let shim_log = std::fs::File::create(dir.join("shim.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.self_exe)
            .args(["internal", "shim", "--id", &meta.id, "--bundle"])
            .arg(&dir)
            .arg("--runtime")
            .arg(&self.runtime)
            .arg("--runtime-root")
            .arg(self.runtime_root())
            .arg("--log")
            .arg(&meta.log_path)
            .arg("--log-max-bytes")
            .arg(self.log_max_bytes.to_string())
            .arg("--cgroup")
            .arg(&meta.cgroup)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(shim_log)
            // Its own process group: a Ctrl-C to the server must not reach containers.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the container monitor: {e}"))?;
        if let Some(pid) = child.id() {
            let _ = std::fs::write(dir.join("shim.pid"), pid.to_string());
        }
        // Reap the shim when it ends (it is our child until this agent exits).
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.state(&meta.id) {
                State::Created if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
                s => return Ok(s),
            }
        }
    }

    /// Sends `signal` (e.g. "TERM", "KILL") to the container's process.
    pub async fn kill(&self, id: &str, signal: &str) -> Result<(), String> {
        let out = Command::new(&self.runtime)
            .arg("--root")
            .arg(self.runtime_root())
            .args(["kill", id, signal])
            .output()
            .await
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            return Ok(());
        }
        // Already gone is fine.
        if matches!(self.state(id), State::Exited(_)) {
            return Ok(());
        }
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }

    /// Runs a command in the container (probes, hooks).
    pub async fn exec(&self, id: &str, command: &[String], timeout: Duration) -> std::io::Result<crate::probes::ExecOutput> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid_file = self.dir(id).join(format!("exec-{}-{n}.pid", std::process::id()));
        let child = Command::new(&self.runtime)
            .arg("--root")
            .arg(self.runtime_root())
            .args(["exec", "--pid-file"])
            .arg(&pid_file)
            .arg(id)
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let result = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(out) => {
                let out = out?;
                let mut output = out.stdout;
                output.extend_from_slice(&out.stderr);
                Ok(crate::probes::ExecOutput { exit_code: out.status.code().unwrap_or(-1), output, timed_out: false })
            }
            Err(_) => {
                // Killing runc leaves the command running in the container: end it too.
                let pid = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()).and_then(rustix::process::Pid::from_raw);
                if let Some(pid) = pid {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
                Ok(crate::probes::ExecOutput { exit_code: -1, output: Vec::new(), timed_out: true })
            }
        };
        let _ = std::fs::remove_file(&pid_file);
        result
    }

    /// Unmounts an exited container's root filesystem, keeping its records.
    pub fn unmount_rootfs(&self, id: &str) {
        let _ = rustix::mount::unmount(self.dir(id).join("rootfs"), rustix::mount::UnmountFlags::DETACH);
    }

    /// Removes an exited container's bundle (its log stays until the pod goes).
    pub fn remove(&self, id: &str) {
        let dir = self.dir(id);
        let _ = rustix::mount::unmount(dir.join("rootfs"), rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Mounts the container's root filesystem: the image's layers (bottom first in
/// `layers`) read-only under a writable upper directory.
fn mount_overlay(target: &Path, layers: &[PathBuf], upper: &Path, work: &Path) -> Result<(), String> {
    if is_mountpoint(target) {
        return Ok(());
    }
    if layers.is_empty() {
        return Err("image has no layers".into());
    }
    let lower: Vec<String> = layers.iter().rev().map(|p| p.display().to_string()).collect();
    let data = format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), upper.display(), work.display());
    let data = std::ffi::CString::new(data).map_err(|e| e.to_string())?;
    rustix::mount::mount("overlay", target, "overlay", rustix::mount::MountFlags::empty(), Some(data.as_c_str()))
        .map_err(|e| format!("mounting the container's root filesystem: {e}"))
}

pub(crate) fn is_mountpoint(p: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = p.display().to_string();
    text.lines().any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// Removes the cgroup directory `rel` and everything below it, in every hierarchy (v1
/// controllers and v2). runc removes a container's own cgroup; the pod and QoS levels
/// above it are the agent's to clean. Only empty cgroups can go, so this never affects
/// a running process.
pub fn remove_cgroup_tree(rel: &str) {
    let rel = rel.trim_matches('/');
    if rel.is_empty() {
        return;
    }
    let mut bases: Vec<PathBuf> = vec![PathBuf::from("/sys/fs/cgroup")];
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
        bases.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for base in bases {
        remove_dirs_below(&base.join(rel));
    }
}

fn remove_dirs_below(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_dirs_below(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}
