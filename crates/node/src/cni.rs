//! Pod networking through CNI: runs the plugins of a network configuration list as the
//! CNI spec says (ADD in order with each plugin's result passed on as `prevResult`, DEL
//! in reverse), with a default configuration for the node's podCIDR.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The network configuration list the agent uses, and where its plugins live.
#[derive(Clone, Debug)]
pub struct Network {
    pub conflist: Value,
    pub bin_dirs: Vec<PathBuf>,
}

/// Directories where CNI plugins are commonly installed (Debian puts them in /usr/lib/cni).
pub const DEFAULT_BIN_DIRS: &[&str] = &["/opt/cni/bin", "/usr/lib/cni", "/usr/libexec/cni", "/usr/local/lib/cni"];

/// The configuration written when the conf dir holds none: a bridge with host-local
/// addresses from the node's podCIDR, masquerading traffic that leaves the node, and
/// portmap for hostPorts.
pub fn default_conflist(bridge: &str, pod_cidr: &str, ipam_dir: &Path) -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": "rkube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": ipam_dir,
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
        ]
    })
}

/// The first `*.conflist` (or single-plugin `*.conf`) in `dir`, by name, as CNI users do.
pub fn load_conf_dir(dir: &Path) -> Option<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "conflist" | "conf" | "json") {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&f).ok()?) else { continue };
        if v.get("plugins").is_some() {
            return Some(v);
        }
        if v.get("type").is_some() {
            let mut plugin = v.clone();
            let name = plugin.as_object_mut().and_then(|o| o.remove("name")).unwrap_or(json!("cni"));
            let version = plugin.get("cniVersion").cloned().unwrap_or(json!("0.4.0"));
            return Some(json!({"cniVersion": version, "name": name, "plugins": [plugin]}));
        }
    }
    None
}

/// What the pod's network attachment needs to know.
pub struct Attachment<'a> {
    pub container_id: &'a str,
    pub netns: &'a Path,
    pub ifname: &'a str,
    pub namespace: &'a str,
    pub pod_name: &'a str,
    pub pod_uid: &'a str,
    /// hostPort mappings: (hostPort, containerPort, protocol lowercase, hostIP).
    pub port_mappings: Vec<(i32, i32, String, String)>,
}

impl Network {
    fn find_plugin(&self, ty: &str) -> Result<PathBuf, String> {
        if ty.contains('/') {
            return Err(format!("invalid plugin name {ty:?}"));
        }
        self.bin_dirs
            .iter()
            .map(|d| d.join(ty))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("failed to find plugin {ty:?} in path {:?}", self.bin_dirs))
    }

    fn cni_path(&self) -> String {
        self.bin_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":")
    }

    async fn invoke(&self, command: &str, conf: &Value, a: &Attachment<'_>) -> Result<Value, String> {
        let ty = conf["type"].as_str().ok_or("plugin configuration without a type")?;
        let bin = self.find_plugin(ty)?;
        let args = format!(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE={};K8S_POD_NAME={};K8S_POD_INFRA_CONTAINER_ID={};K8S_POD_UID={}",
            a.namespace, a.pod_name, a.container_id, a.pod_uid
        );
        let mut child = Command::new(&bin)
            .env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", a.container_id)
            .env("CNI_NETNS", a.netns)
            .env("CNI_IFNAME", a.ifname)
            .env("CNI_ARGS", args)
            .env("CNI_PATH", self.cni_path())
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("running CNI plugin {}: {e}", bin.display()))?;
        let input = serde_json::to_vec(conf).map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&input).await.map_err(|e| e.to_string())?;
        }
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
            .await
            .map_err(|_| format!("CNI plugin {ty} timed out"))?
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let msg = err["msg"].as_str().map(|m| match err["details"].as_str() {
                Some(d) if !d.is_empty() => format!("{m}: {d}"),
                _ => m.to_string(),
            });
            return Err(format!(
                "plugin type={ty:?} failed ({}): {}",
                command.to_lowercase(),
                msg.unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string())
            ));
        }
        if out.stdout.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("CNI plugin {ty} printed an invalid result: {e}"))
    }

    fn plugin_conf(&self, plugin: &Value, prev: &Value, a: &Attachment<'_>) -> Value {
        let mut conf = plugin.clone();
        conf["name"] = self.conflist["name"].clone();
        conf["cniVersion"] = self.conflist["cniVersion"].clone();
        if !prev.is_null() {
            conf["prevResult"] = prev.clone();
        }
        if plugin["capabilities"]["portMappings"] == json!(true) {
            let maps: Vec<Value> = a
                .port_mappings
                .iter()
                .map(|(h, c, p, ip)| json!({"hostPort": h, "containerPort": c, "protocol": p, "hostIP": ip}))
                .collect();
            conf["runtimeConfig"] = json!({"portMappings": maps});
        }
        conf
    }

    /// Attaches the pod's network namespace; returns the CNI result (kept to detach later).
    pub async fn add(&self, a: &Attachment<'_>) -> Result<Value, String> {
        let lo = json!({"cniVersion": self.conflist["cniVersion"], "name": "lo", "type": "loopback"});
        if self.find_plugin("loopback").is_ok() {
            self.invoke("ADD", &lo, &Attachment { ifname: "lo", port_mappings: vec![], ..*a }).await?;
        }
        let mut prev = Value::Null;
        for plugin in self.conflist["plugins"].as_array().into_iter().flatten() {
            let conf = self.plugin_conf(plugin, &prev, a);
            let result = self.invoke("ADD", &conf, a).await?;
            if !result.is_null() {
                prev = result;
            }
        }
        Ok(prev)
    }

    /// Detaches the pod (plugins in reverse order). Missing namespaces are fine: DEL must
    /// release what ADD allocated even when the namespace is gone.
    pub async fn del(&self, a: &Attachment<'_>, prev: &Value) -> Result<(), String> {
        let mut errors = Vec::new();
        for plugin in self.conflist["plugins"].as_array().into_iter().flatten().rev() {
            let conf = self.plugin_conf(plugin, prev, a);
            if let Err(e) = self.invoke("DEL", &conf, a).await {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// The IPs a CNI result assigned to the pod's interface.
pub fn result_ips(result: &Value) -> Vec<IpAddr> {
    result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["address"].as_str())
        .filter_map(|a| a.split('/').next()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_ips_parse_addresses() {
        let r = json!({"ips": [{"address": "10.42.0.5/24", "gateway": "10.42.0.1"}, {"address": "fd00::5/64"}]});
        assert_eq!(result_ips(&r), vec!["10.42.0.5".parse::<IpAddr>().unwrap(), "fd00::5".parse().unwrap()]);
    }

    #[test]
    fn conf_dir_prefers_first_list_and_wraps_single_plugins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("20-b.conf"), r#"{"cniVersion":"0.4.0","name":"b","type":"bridge"}"#).unwrap();
        let v = load_conf_dir(dir.path()).unwrap();
        assert_eq!(v["name"], "b");
        assert_eq!(v["plugins"][0]["type"], "bridge");
        std::fs::write(dir.path().join("10-a.conflist"), r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}"#).unwrap();
        assert_eq!(load_conf_dir(dir.path()).unwrap()["name"], "a");
    }
}
