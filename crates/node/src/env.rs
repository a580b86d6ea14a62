//! A container's environment (upstream: kubelet's makeEnvironmentVariables) and
//! `$(VAR)` expansion (upstream: third_party/forked/golang/expansion).
//!
//! Pure functions of the pod, its container and what the agent fetched into
//! [`PodRefs`]/[`PodFacts`]; errors carry upstream's messages, which the agent shows as
//! the `CreateContainerConfigError` waiting state.

pub mod downward;

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, EnvVar, EphemeralContainer, Pod, Service, Volume,
};

use crate::{PodFacts, PodRefs};

/// Why a container's environment could not be built. `Display` is upstream's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("configmap \"{0}\" not found")]
    ConfigMapNotFound(String),
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound { key: String, namespace: String, name: String },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound { key: String, namespace: String, name: String },
    /// A `fieldRef` or `resourceFieldRef` that cannot be resolved (upstream's text,
    /// e.g. `unsupported fieldPath: x`, `unsupported container resource : x`).
    #[error("{0}")]
    Downward(String),
}

/// The environment of `container` in upstream's precedence, as an ordered list without
/// duplicate names:
/// 1. service link variables (`<SVC>_SERVICE_HOST`, `_SERVICE_PORT`,
///    `_SERVICE_PORT_<NAME>`, `_PORT`, `_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`) for the
///    services of the pod's namespace when `enableServiceLinks` is not false, and always
///    for `kubernetes` of `default`; services sorted by name;
/// 2. `envFrom` sources in order (keys in key order, with the prefix; keys that cannot
///    be environment names — empty, containing `=` or non-printable characters — are
///    skipped; missing optional sources are skipped);
/// 3. `env` in order, `value` expanded with `$(VAR)` against everything before it.
///
/// A later definition of a name replaces the value in the earlier position.
pub fn container_env(
    pod: &Pod,
    container: &Container,
    refs: &PodRefs,
    facts: &PodFacts,
) -> Result<Vec<(String, String)>, EnvError> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut env = OrderedEnv::default();
    for (k, v) in service_env(&namespace, links, &refs.services) {
        env.set(k, v);
    }
    for from in container.env_from.iter().flatten() {
        env_from(&mut env, from, refs)?;
    }
    for var in container.env.iter().flatten() {
        if let Some(value) = env_value(var, pod, container, &namespace, refs, facts, &env)? {
            env.set(var.name.clone(), value);
        }
    }
    Ok(env.vars)
}

/// `$(VAR)` expansion as upstream applies it to `command`, `args` and env values:
/// `$(NAME)` becomes the value of NAME in `env` (the last definition wins) or stays as
/// written when NAME is unknown; `$$` is an escaped `$`; any other `$` is literal.
pub fn expand(input: &str, env: &[(String, String)]) -> String {
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    expand_with(input, |name| map.get(name).map(|v| v.to_string()))
}

/// Expansion with a lookup function; `None` leaves `$(NAME)` as written.
pub fn expand_with(input: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let next = bytes[cursor + 1];
            let consumed = if next == b'$' {
                // `$$`: an escaped operator.
                out.push('$');
                1
            } else if next == b'(' {
                match input[cursor + 2..].find(')') {
                    Some(len) => {
                        let name = &input[cursor + 2..cursor + 2 + len];
                        match lookup(name) {
                            Some(v) => out.push_str(&v),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        len + 2
                    }
                    None => {
                        // Incomplete reference: copied as is.
                        out.push_str("$(");
                        1
                    }
                }
            } else {
                // A `$` that starts nothing: the operator is literal, the next
                // character is copied on the next pass.
                out.push('$');
                0
            };
            cursor += consumed;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

/// The ConfigMaps and Secrets `pod` refers to: env and envFrom of all containers (init,
/// regular and ephemeral), configMap/secret/projected volumes and imagePullSecrets.
pub fn referenced(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let Some(spec) = pod.spec.as_ref() else { return (cms, secrets) };
    let mut visit_env = |env: Option<&Vec<EnvVar>>, from: Option<&Vec<EnvFromSource>>| {
        for var in env.into_iter().flatten() {
            if let Some(src) = &var.value_from {
                if let Some(r) = &src.config_map_key_ref {
                    cms.insert(r.name.clone());
                }
                if let Some(r) = &src.secret_key_ref {
                    secrets.insert(r.name.clone());
                }
            }
        }
        for f in from.into_iter().flatten() {
            if let Some(r) = &f.config_map_ref {
                cms.insert(r.name.clone());
            }
            if let Some(r) = &f.secret_ref {
                secrets.insert(r.name.clone());
            }
        }
    };
    for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
        visit_env(c.env.as_ref(), c.env_from.as_ref());
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        let c: &EphemeralContainer = c;
        visit_env(c.env.as_ref(), c.env_from.as_ref());
    }
    for v in spec.volumes.iter().flatten() {
        volume_refs(v, &mut cms, &mut secrets);
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        if !s.name.is_empty() {
            secrets.insert(s.name.clone());
        }
    }
    cms.retain(|n| !n.is_empty());
    secrets.retain(|n| !n.is_empty());
    (cms, secrets)
}

fn volume_refs(v: &Volume, cms: &mut BTreeSet<String>, secrets: &mut BTreeSet<String>) {
    if let Some(cm) = &v.config_map {
        cms.insert(cm.name.clone());
    }
    if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
        secrets.insert(name);
    }
    for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
        if let Some(cm) = &src.config_map {
            cms.insert(cm.name.clone());
        }
        if let Some(s) = &src.secret {
            secrets.insert(s.name.clone());
        }
    }
}

/// Names in insertion order; setting an existing name replaces its value in place.
#[derive(Default)]
struct OrderedEnv {
    vars: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl OrderedEnv {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.vars[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value));
            }
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.vars[i].1.as_str())
    }
}

/// Upstream's service links (pkg/kubelet/envvars): `kubernetes` of `default` always,
/// the pod namespace's services when enabled; a same-named service of the pod's own
/// namespace wins over the master one. Services without a cluster IP are skipped.
fn service_env(namespace: &str, links: bool, services: &[Service]) -> Vec<(String, String)> {
    let mut chosen: std::collections::BTreeMap<String, &Service> = Default::default();
    for svc in services {
        let name = svc.metadata.name.clone().unwrap_or_default();
        let ns = svc.metadata.namespace.as_deref().unwrap_or("");
        let ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
        if ip.is_empty() || ip == "None" || name.is_empty() {
            continue;
        }
        if ns == "default" && name == "kubernetes" {
            chosen.entry(name).or_insert(svc);
        } else if ns == namespace && links {
            chosen.insert(name, svc);
        }
    }
    let mut out = Vec::new();
    for (name, svc) in chosen {
        let spec = svc.spec.as_ref().expect("filtered above");
        let ip = spec.cluster_ip.clone().unwrap_or_default();
        let ports = spec.ports.as_deref().unwrap_or_default();
        let Some(first) = ports.first() else { continue };
        let prefix = env_name(&name);
        out.push((format!("{prefix}_SERVICE_HOST"), ip.clone()));
        out.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
        for p in ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                out.push((format!("{prefix}_SERVICE_PORT_{}", env_name(pn)), p.port.to_string()));
            }
        }
        let host = if ip.contains(':') { format!("[{ip}]") } else { ip.clone() };
        for (i, p) in ports.iter().enumerate() {
            let proto = p.protocol.as_deref().filter(|s| !s.is_empty()).unwrap_or("TCP");
            let lower = proto.to_lowercase();
            let url = format!("{lower}://{host}:{}", p.port);
            if i == 0 {
                out.push((format!("{prefix}_PORT"), url.clone()));
            }
            let pp = format!("{prefix}_PORT_{}_{}", p.port, proto.to_uppercase());
            out.push((pp.clone(), url));
            out.push((format!("{pp}_PROTO"), lower));
            out.push((format!("{pp}_PORT"), p.port.to_string()));
            out.push((format!("{pp}_ADDR"), ip.clone()));
        }
    }
    out
}

fn env_name(s: &str) -> String {
    s.replace('-', "_").to_uppercase()
}

/// Whether a key can be an environment variable name (upstream's relaxed rule: printable
/// ASCII other than `=`).
fn valid_env_name(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=')
}

fn env_from(
    env: &mut OrderedEnv,
    from: &EnvFromSource,
    refs: &PodRefs,
) -> Result<(), EnvError> {
    let prefix = from.prefix.as_deref().unwrap_or("");
    if let Some(r) = &from.config_map_ref {
        match refs.config_maps.get(&r.name) {
            Some(cm) => {
                for (k, v) in cm.data.iter().flatten() {
                    let name = format!("{prefix}{k}");
                    if valid_env_name(&name) {
                        env.set(name, v.clone());
                    }
                }
            }
            None if r.optional == Some(true) => {}
            None => return Err(EnvError::ConfigMapNotFound(r.name.clone())),
        }
    } else if let Some(r) = &from.secret_ref {
        match refs.secrets.get(&r.name) {
            Some(s) => {
                for (k, v) in secret_data(s) {
                    let name = format!("{prefix}{k}");
                    if valid_env_name(&name) {
                        env.set(name, String::from_utf8_lossy(&v).into_owned());
                    }
                }
            }
            None if r.optional == Some(true) => {}
            None => return Err(EnvError::SecretNotFound(r.name.clone())),
        }
    }
    Ok(())
}

/// A Secret's data: `data`, with any (normally apiserver-merged) `stringData` on top.
pub(crate) fn secret_data(
    s: &k8s_openapi::api::core::v1::Secret,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out: std::collections::BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

/// The value of one `env` entry; `None` when an optional source is missing (the
/// variable is then not set at all, as upstream).
fn env_value(
    var: &EnvVar,
    pod: &Pod,
    container: &Container,
    namespace: &str,
    refs: &PodRefs,
    facts: &PodFacts,
    env: &OrderedEnv,
) -> Result<Option<String>, EnvError> {
    let value = var.value.as_deref().unwrap_or("");
    if !value.is_empty() {
        return Ok(Some(expand_with(value, |n| env.get(n).map(str::to_string))));
    }
    let Some(src) = &var.value_from else { return Ok(Some(String::new())) };
    if let Some(f) = &src.field_ref {
        return downward::env_field_value(f, pod, facts).map(Some).map_err(EnvError::Downward);
    }
    if let Some(r) = &src.resource_field_ref {
        return downward::resource_field_value(r, pod, Some(container), facts)
            .map(Some)
            .map_err(EnvError::Downward);
    }
    if let Some(r) = &src.config_map_key_ref {
        let optional = r.optional == Some(true);
        let Some(cm) = refs.config_maps.get(&r.name) else {
            return if optional { Ok(None) } else { Err(EnvError::ConfigMapNotFound(r.name.clone())) };
        };
        return match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(EnvError::ConfigMapKeyNotFound {
                key: r.key.clone(),
                namespace: namespace.to_string(),
                name: r.name.clone(),
            }),
        };
    }
    if let Some(r) = &src.secret_key_ref {
        let optional = r.optional == Some(true);
        let Some(s) = refs.secrets.get(&r.name) else {
            return if optional { Ok(None) } else { Err(EnvError::SecretNotFound(r.name.clone())) };
        };
        return match secret_data(s).remove(&r.key) {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
            None if optional => Ok(None),
            None => Err(EnvError::SecretKeyNotFound {
                key: r.key.clone(),
                namespace: namespace.to_string(),
                name: r.name.clone(),
            }),
        };
    }
    Ok(Some(String::new()))
}

#[cfg(test)]
mod tests;
