//! Pod volumes (upstream: the kubelet volume manager with the emptyDir, hostPath,
//! configMap, secret, downwardAPI and projected plugins) and the bind mounts that put
//! them into containers.
//!
//! On-disk layout, under the pod directory the agent chooses (`ROOT/pods/<uid>`):
//!
//! ```text
//! volumes/kubernetes.io~empty-dir/<name>/     a directory (0777), or a tmpfs for medium Memory
//! volumes/kubernetes.io~configmap/<name>/     atomic writer layout (see `atomic`)
//! volumes/kubernetes.io~secret/<name>/        atomic writer layout on a tmpfs
//! volumes/kubernetes.io~downward-api/<name>/  atomic writer layout
//! volumes/kubernetes.io~projected/<name>/     atomic writer layout on a tmpfs
//! ```
//!
//! hostPath volumes are not copied: the container mount's source is the host path.
//! [`setup`] is idempotent and cheap when nothing changed, so the agent calls it on
//! every pod sync and periodically, which is how ConfigMap/Secret/downward API updates
//! reach running pods.

pub mod atomic;
mod fs;
mod payload;

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, EmptyDirVolumeSource, HostPathVolumeSource, Pod, Volume};

use crate::env::downward::Rational;
use crate::{PodFacts, PodRefs};
use atomic::Ownership;
use payload::{mode_or, DEFAULT_MODE};

pub const EMPTY_DIR_PLUGIN: &str = "kubernetes.io~empty-dir";
pub const CONFIG_MAP_PLUGIN: &str = "kubernetes.io~configmap";
pub const SECRET_PLUGIN: &str = "kubernetes.io~secret";
pub const DOWNWARD_API_PLUGIN: &str = "kubernetes.io~downward-api";
pub const PROJECTED_PLUGIN: &str = "kubernetes.io~projected";

/// An OCI bind mount for a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path inside the container.
    pub destination: String,
    /// Host path (canonical when a subPath was resolved).
    pub source: PathBuf,
    pub read_only: bool,
    /// OCI rootfs propagation option: `None` for private (upstream's default and
    /// `None` mode), `rslave` for HostToContainer, `rshared` for Bidirectional.
    pub propagation: Option<String>,
}

/// A volume failure, with upstream's texts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// Setting up a pod volume failed. `Display` is upstream's FailedMount event
    /// message, `MountVolume.SetUp failed for volume "<volume>" : <message>`; `message`
    /// alone is e.g. `configmap "x" not found`.
    #[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
    SetUp { volume: String, message: String },
    /// A container's volumeMounts cannot be satisfied (upstream reports these as
    /// CreateContainerConfigError), e.g. ``error SubPath `/x` must not be an absolute path``.
    #[error("{0}")]
    Container(String),
}

impl VolumeError {
    /// The failure without the event prefix.
    pub fn message(&self) -> &str {
        match self {
            VolumeError::SetUp { message, .. } => message,
            VolumeError::Container(m) => m,
        }
    }
}

/// Sets up every volume of `pod` under `pod_dir`; returns the first failure after
/// trying all of them (see [`setup_each`] for all failures).
pub fn setup(pod_dir: &Path, pod: &Pod, refs: &PodRefs, facts: &PodFacts) -> Result<(), VolumeError> {
    match setup_each(pod_dir, pod, refs, facts).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sets up every volume of `pod`, returning one error per failed volume (the agent can
/// emit one FailedMount event each).
pub fn setup_each(pod_dir: &Path, pod: &Pod, refs: &PodRefs, facts: &PodFacts) -> Vec<VolumeError> {
    let Some(spec) = pod.spec.as_ref() else { return Vec::new() };
    let fs_group = spec
        .security_context
        .as_ref()
        .and_then(|s| s.fs_group)
        .map(|g| Ownership { gid: g as u32 });
    let mut errors = Vec::new();
    for v in spec.volumes.iter().flatten() {
        if let Err(message) = setup_volume(pod_dir, pod, v, refs, facts, fs_group) {
            errors.push(VolumeError::SetUp { volume: v.name.clone(), message });
        }
    }
    errors
}

/// Where a volume's content is on the host: the plugin directory, or the path of a
/// hostPath volume. `None` for volume types this node does not support.
pub fn volume_path(pod_dir: &Path, v: &Volume) -> Option<PathBuf> {
    let plugin = if v.empty_dir.is_some() {
        EMPTY_DIR_PLUGIN
    } else if let Some(hp) = &v.host_path {
        return Some(PathBuf::from(&hp.path));
    } else if v.config_map.is_some() {
        CONFIG_MAP_PLUGIN
    } else if v.secret.is_some() {
        SECRET_PLUGIN
    } else if v.downward_api.is_some() {
        DOWNWARD_API_PLUGIN
    } else if v.projected.is_some() {
        PROJECTED_PLUGIN
    } else {
        return None;
    };
    Some(pod_dir.join("volumes").join(plugin).join(&v.name))
}

fn setup_volume(
    pod_dir: &Path,
    pod: &Pod,
    v: &Volume,
    refs: &PodRefs,
    facts: &PodFacts,
    owner: Option<Ownership>,
) -> Result<(), String> {
    if let Some(hp) = &v.host_path {
        return host_path(hp);
    }
    let Some(dir) = volume_path(pod_dir, v) else {
        return Err("volume type is not supported by this node".to_string());
    };
    if let Some(ed) = &v.empty_dir {
        return empty_dir(&dir, ed, pod, facts, owner).map_err(|e| fs::errno_text(&e));
    }
    let (payload, memory) = if let Some(cm) = &v.config_map {
        let mode = mode_or(cm.default_mode, DEFAULT_MODE);
        let optional = cm.optional == Some(true);
        (payload::config_map(&cm.name, cm.items.as_deref(), optional, mode, refs)?, false)
    } else if let Some(s) = &v.secret {
        let mode = mode_or(s.default_mode, DEFAULT_MODE);
        let optional = s.optional == Some(true);
        let name = s.secret_name.as_deref().unwrap_or("");
        (payload::secret(name, s.items.as_deref(), optional, mode, refs)?, true)
    } else if let Some(d) = &v.downward_api {
        let mode = mode_or(d.default_mode, DEFAULT_MODE);
        let items = d.items.as_deref().unwrap_or_default();
        (payload::downward_api(items, mode, pod, facts)?, false)
    } else if let Some(p) = &v.projected {
        (payload::projected(p, pod, refs, facts)?, true)
    } else {
        return Err("volume type is not supported by this node".to_string());
    };
    prepare_dir(&dir, memory, None, false).map_err(|e| fs::errno_text(&e))?;
    atomic::write(&dir, &payload, owner).map_err(|e| fs::errno_text(&e))?;
    Ok(())
}

/// Creates a volume directory (0777 when new) and, for `memory`, mounts a tmpfs on it
/// once. Returns whether the directory was new. Unless `must_mount`, a tmpfs that
/// cannot be mounted for lack of privilege (secret/projected volumes of an unprivileged
/// agent) falls back to the plain directory.
fn prepare_dir(dir: &Path, memory: bool, size: Option<u64>, must_mount: bool) -> io::Result<bool> {
    let new = !dir.exists();
    if new {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;
    }
    if memory && !fs::is_mountpoint(dir)? {
        let mut opts = "mode=0777".to_string();
        if let Some(size) = size {
            opts.push_str(&format!(",size={size}"));
        }
        if let Err(e) = fs::mount_tmpfs(dir, &opts) {
            if must_mount || e.kind() != io::ErrorKind::PermissionDenied {
                return Err(e);
            }
            tracing::warn!(dir = %dir.display(), error = %e, "cannot mount tmpfs; using the disk");
        }
    }
    Ok(new)
}

fn empty_dir(
    dir: &Path,
    ed: &EmptyDirVolumeSource,
    pod: &Pod,
    facts: &PodFacts,
    owner: Option<Ownership>,
) -> io::Result<()> {
    let new = match ed.medium.as_deref().unwrap_or("") {
        "" => prepare_dir(dir, false, None, false)?,
        "Memory" => prepare_memory_dir(dir, ed, pod, facts)?,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("unknown storage medium {other:?}"),
            ))
        }
    };
    if new {
        if let Some(o) = owner {
            std::os::unix::fs::chown(dir, None, Some(o.gid))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o2777))?;
        }
    }
    Ok(())
}

/// A memory-backed emptyDir: a tmpfs sized like upstream (node allocatable, capped by
/// the pod's memory limit, capped by sizeLimit).
fn prepare_memory_dir(dir: &Path, ed: &EmptyDirVolumeSource, pod: &Pod, facts: &PodFacts) -> io::Result<bool> {
    let mut size = facts.node_allocatable_memory;
    if let Some(limit) = pod_memory_limit(pod) {
        if limit > 0 && (size == 0 || limit < size) {
            size = limit;
        }
    }
    if let Some(q) = ed.size_limit.as_ref().and_then(|q| Rational::parse(&q.0)) {
        let limit = q.ceil_scaled(0).max(0) as u64;
        if limit > 0 && (size == 0 || limit < size) {
            size = limit;
        }
    }
    prepare_dir(dir, true, Some(size).filter(|s| *s > 0), true)
}

/// The pod's memory limit when every container has one (upstream's pod cgroup rule):
/// the sum over containers, at least the largest init container's.
fn pod_memory_limit(pod: &Pod) -> Option<u64> {
    let spec = pod.spec.as_ref()?;
    let limit = |c: &Container| -> Option<u64> {
        let q = c.resources.as_ref()?.limits.as_ref()?.get("memory")?;
        Some(Rational::parse(&q.0)?.ceil_scaled(0).max(0) as u64)
    };
    let mut sum = 0u64;
    for c in &spec.containers {
        sum = sum.saturating_add(limit(c)?);
    }
    for c in spec.init_containers.iter().flatten() {
        sum = sum.max(limit(c)?);
    }
    Some(sum)
}

/// Upstream's hostPath checks: no `..`, then the `type` check (creating for the
/// *OrCreate types).
fn host_path(hp: &HostPathVolumeSource) -> Result<(), String> {
    let path = hp.path.as_str();
    if path.split('/').any(|c| c == "..") {
        return Err(format!("invalid HostPath `{path}`: must not contain '..'"));
    }
    let ty = hp.type_.as_deref().unwrap_or("");
    let md = std::fs::metadata(path).ok();
    let ft = md.as_ref().map(|m| m.file_type());
    let fail = |what: &str| Err(format!("hostPath type check failed: {path} is not {what}"));
    match ty {
        "" => Ok(()),
        "DirectoryOrCreate" | "Directory" => {
            if ft.is_none() && ty == "DirectoryOrCreate" {
                use std::os::unix::fs::DirBuilderExt;
                return std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(path)
                    .map_err(|e| format!("mkdir {path}: {}", fs::errno_text(&e)));
            }
            if ft.is_some_and(|f| f.is_dir()) { Ok(()) } else { fail("a directory") }
        }
        "FileOrCreate" | "File" => {
            if ft.is_none() && ty == "FileOrCreate" {
                use std::os::unix::fs::OpenOptionsExt;
                return std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o644)
                    .open(path)
                    .map(|_| ())
                    .map_err(|e| format!("open {path}: {}", fs::errno_text(&e)));
            }
            if ft.is_some_and(|f| f.is_file()) { Ok(()) } else { fail("a file") }
        }
        "Socket" => if ft.is_some_and(|f| f.is_socket()) { Ok(()) } else { fail("a socket file") },
        "CharDevice" => {
            if ft.is_some_and(|f| f.is_char_device()) { Ok(()) } else { fail("a character device") }
        }
        "BlockDevice" => {
            if ft.is_some_and(|f| f.is_block_device()) { Ok(()) } else { fail("a block device") }
        }
        other => Err(format!("{other} is an invalid volume type")),
    }
}

/// The bind mounts for `container`'s volumeMounts. A `subPathExpr` needs the
/// container's environment: this is [`container_mounts_with_env`] with an empty one,
/// so any `subPathExpr` referring to a variable fails with upstream's
/// `missing value for X`.
pub fn container_mounts(pod_dir: &Path, pod: &Pod, container: &Container) -> Result<Vec<Mount>, VolumeError> {
    container_mounts_with_env(pod_dir, pod, container, &[])
}

/// The bind mounts for `container`'s volumeMounts, expanding `subPathExpr` with `env`
/// (the output of `env::container_env`). subPaths are created inside the volume when
/// missing and must stay inside it. configMap, secret, downwardAPI and projected
/// volumes are always read-only.
pub fn container_mounts_with_env(
    pod_dir: &Path,
    pod: &Pod,
    container: &Container,
    env: &[(String, String)],
) -> Result<Vec<Mount>, VolumeError> {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let missing = || {
            VolumeError::Container(format!(
                "cannot find volume \"{}\" to mount into container \"{}\"",
                m.name, container.name
            ))
        };
        let v = volumes.iter().find(|v| v.name == m.name).ok_or_else(missing)?;
        let root = volume_path(pod_dir, v).ok_or_else(missing)?;
        let forced_ro = v.config_map.is_some() || v.secret.is_some() || v.downward_api.is_some() || v.projected.is_some();
        let sub = match m.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
            Some(expr) => expand_sub_path(expr, env)?,
            None => m.sub_path.clone().unwrap_or_default(),
        };
        let source = if sub.is_empty() {
            root
        } else {
            if sub.starts_with('/') {
                return Err(VolumeError::Container(format!("error SubPath `{sub}` must not be an absolute path")));
            }
            if sub.split('/').any(|c| c == "..") {
                return Err(VolumeError::Container(format!(
                    "unable to provision SubPath `{sub}`: must not contain '..'"
                )));
            }
            fs::safe_subpath(&root, &sub).map_err(|e| {
                tracing::warn!(volume = %m.name, container = %container.name, error = %e, "subPath");
                VolumeError::Container(format!(
                    "failed to prepare subPath for volumeMount \"{}\" of container \"{}\"",
                    m.name, container.name
                ))
            })?
        };
        let propagation = match m.mount_propagation.as_deref() {
            None | Some("None") => None,
            Some("HostToContainer") => Some("rslave".to_string()),
            Some("Bidirectional") => Some("rshared".to_string()),
            Some(other) => {
                return Err(VolumeError::Container(format!("invalid MountPropagation mode: \"{other}\"")))
            }
        };
        let destination = if m.mount_path.starts_with('/') {
            m.mount_path.clone()
        } else {
            format!("/{}", m.mount_path)
        };
        out.push(Mount { destination, source, read_only: m.read_only == Some(true) || forced_ro, propagation });
    }
    Ok(out)
}

/// Upstream's ExpandContainerVolumeMounts: `$(VAR)` from the environment; a missing or
/// empty variable is an error.
fn expand_sub_path(expr: &str, env: &[(String, String)]) -> Result<String, VolumeError> {
    let mut missing = std::collections::BTreeSet::new();
    let expanded = crate::env::expand_with(expr, |name| {
        let value = env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if value.as_deref().is_none_or(str::is_empty) {
            missing.insert(name.to_string());
        }
        Some(value.unwrap_or_default())
    });
    if missing.is_empty() {
        Ok(expanded)
    } else {
        Err(VolumeError::Container(format!(
            "missing value for {}",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )))
    }
}

/// Unmounts every mount at or below `pod_dir` (tmpfs volumes, and anything else
/// mounted there), deepest first, then removes `pod_dir`. Refuses to delete while a
/// mount remains. A missing `pod_dir` is not an error.
pub fn teardown(pod_dir: &Path) -> io::Result<()> {
    let canon = match std::fs::canonicalize(pod_dir) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for _ in 0..16 {
        let mounts = fs::mounts_under(&canon)?;
        if mounts.is_empty() {
            break;
        }
        for m in mounts {
            fs::unmount(&m)?;
        }
    }
    if !fs::mounts_under(&canon)?.is_empty() {
        return Err(io::Error::other(format!("mounts remain under {}", canon.display())));
    }
    std::fs::remove_dir_all(&canon)
}

#[cfg(test)]
mod tests;
