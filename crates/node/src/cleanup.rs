//! `rkube killall`: stops every container of an agent's state directory and removes
//! its pod sandboxes. Containers outlive the agent by design, so this is how a user (or
//! a test) ends them all.

use std::path::Path;
use std::time::Duration;

use crate::runtime::{Runtime, State};

/// The CNI configuration the agent last used, kept so sandboxes can be detached later.
pub const ACTIVE_NETWORK: &str = "cni/active.json";

pub async fn killall(root: &Path) -> Result<(), String> {
    let runtime_bin = std::fs::read_to_string(root.join("runtime")).map(|s| s.trim().to_string()).unwrap_or_else(|_| "runc".into());
    let rt = Runtime { root: root.to_path_buf(), runtime: runtime_bin.into(), self_exe: std::env::current_exe().unwrap_or_default(), log_max_bytes: 0 };
    let metas = rt.list();
    for m in &metas {
        if matches!(rt.state(&m.id), State::Running { .. } | State::Created) {
            let _ = rt.kill(&m.id, "KILL").await;
        }
    }
    for _ in 0..100 {
        if metas.iter().all(|m| matches!(rt.state(&m.id), State::Exited(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for m in &metas {
        rt.remove(&m.id);
    }
    let network: Option<crate::cni::Network> =
        std::fs::read(root.join(ACTIVE_NETWORK)).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()).map(|v| crate::cni::Network {
            conflist: v["conflist"].clone(),
            bin_dirs: v["binDirs"].as_array().into_iter().flatten().filter_map(|d| d.as_str().map(Into::into)).collect(),
        });
    let mut errors = Vec::new();
    for (uid, dir) in crate::sandbox::pod_dirs(&root.join("pods")) {
        if let Err(e) = crate::sandbox::teardown(&dir, "", "", &uid, network.as_ref()).await {
            errors.push(e);
        }
        let _ = crate::volumes::teardown(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Ok(root_cgroup) = std::fs::read_to_string(root.join("cgroup-root")) {
        crate::runtime::remove_cgroup_tree(root_cgroup.trim());
    }
    println!("stopped {} containers", metas.len());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
