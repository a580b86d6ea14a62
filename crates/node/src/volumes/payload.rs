//! The files of configMap, secret, downwardAPI and projected volumes (upstream's
//! MakePayload / CollectData / projected collectData), with upstream's error texts.

use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, ProjectedVolumeSource, Secret,
};

use super::atomic::{FileProjection, Payload};
use crate::env::downward;
use crate::env::secret_data;
use crate::{PodFacts, PodRefs};

/// Default file mode of all four volume types (upstream's 0644, secrets included).
pub const DEFAULT_MODE: u32 = 0o644;

pub(super) fn mode_or(mode: Option<i32>, default: u32) -> u32 {
    mode.map(|m| m as u32 & 0o7777).unwrap_or(default)
}

fn key_values_payload(
    entries: Vec<(String, Vec<u8>)>,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
    optional: bool,
    missing_key: impl Fn(&str) -> String,
) -> Result<Payload, String> {
    let mut payload = Payload::new();
    match items.filter(|i| !i.is_empty()) {
        None => {
            for (k, data) in entries {
                payload.insert(k, FileProjection { data, mode: default_mode });
            }
        }
        Some(items) => {
            for ktp in items {
                let found = entries.iter().find(|(k, _)| *k == ktp.key);
                match found {
                    Some((_, data)) => {
                        payload.insert(
                            ktp.path.clone(),
                            FileProjection { data: data.clone(), mode: mode_or(ktp.mode, default_mode) },
                        );
                    }
                    None if optional => {}
                    None => return Err(missing_key(&ktp.key)),
                }
            }
        }
    }
    Ok(payload)
}

fn config_map_entries(cm: Option<&ConfigMap>) -> Vec<(String, Vec<u8>)> {
    let Some(cm) = cm else { return Vec::new() };
    let mut out: Vec<(String, Vec<u8>)> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        if !out.iter().any(|(n, _)| n == k) {
            out.push((k.clone(), v.0.clone()));
        }
    }
    out
}

/// A configMap volume or projection. A missing ConfigMap is an error unless optional
/// (then the volume is empty).
pub(super) fn config_map(
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
    default_mode: u32,
    refs: &PodRefs,
) -> Result<Payload, String> {
    let cm = refs.config_maps.get(name);
    if cm.is_none() && !optional {
        return Err(format!("configmap \"{name}\" not found"));
    }
    key_values_payload(config_map_entries(cm), items, default_mode, optional, |k| {
        format!("configmap references non-existent config key: {k}")
    })
}

/// A secret volume or projection.
pub(super) fn secret(
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: bool,
    default_mode: u32,
    refs: &PodRefs,
) -> Result<Payload, String> {
    let s: Option<&Secret> = refs.secrets.get(name);
    if s.is_none() && !optional {
        return Err(format!("secret \"{name}\" not found"));
    }
    let entries = s.map(|s| secret_data(s).into_iter().collect()).unwrap_or_default();
    key_values_payload(entries, items, default_mode, optional, |k| {
        format!("references non-existent secret key: {k}")
    })
}

/// A downwardAPI volume or projection; every item is tried, errors aggregated.
pub(super) fn downward_api(
    items: &[DownwardAPIVolumeFile],
    default_mode: u32,
    pod: &Pod,
    facts: &PodFacts,
) -> Result<Payload, String> {
    let mut payload = Payload::new();
    let mut errors = Vec::new();
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            downward::volume_field_value(f, pod)
        } else if let Some(r) = &item.resource_field_ref {
            downward::resource_field_value(r, pod, None, facts)
        } else {
            Ok(String::new())
        };
        match value {
            Ok(v) => {
                payload.insert(
                    item.path.clone(),
                    FileProjection { data: v.into_bytes(), mode: mode_or(item.mode, default_mode) },
                );
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(payload)
    } else {
        Err(aggregate(errors))
    }
}

/// A projected volume: configMap, secret and downwardAPI sources merged in order (a
/// later source's file replaces an earlier one's). serviceAccountToken sources write
/// nothing (there is no token issuer yet) and clusterTrustBundle sources are skipped.
pub(super) fn projected(
    src: &ProjectedVolumeSource,
    pod: &Pod,
    refs: &PodRefs,
    facts: &PodFacts,
) -> Result<Payload, String> {
    let default_mode = mode_or(src.default_mode, DEFAULT_MODE);
    let mut payload = Payload::new();
    let mut errors = Vec::new();
    for s in src.sources.iter().flatten() {
        let part = if let Some(cm) = &s.config_map {
            let optional = cm.optional == Some(true);
            config_map(&cm.name, cm.items.as_deref(), optional, default_mode, refs)
        } else if let Some(sec) = &s.secret {
            let optional = sec.optional == Some(true);
            secret(&sec.name, sec.items.as_deref(), optional, default_mode, refs)
        } else if let Some(d) = &s.downward_api {
            downward_api(d.items.as_deref().unwrap_or_default(), default_mode, pod, facts)
        } else {
            continue;
        };
        match part {
            Ok(p) => payload.extend(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(payload)
    } else {
        Err(aggregate(errors))
    }
}

/// Go's utilerrors aggregate text: one error as is, several as `[a, b]`.
pub(super) fn aggregate(errors: Vec<String>) -> String {
    if errors.len() == 1 {
        errors.into_iter().next().expect("one")
    } else {
        format!("[{}]", errors.join(", "))
    }
}
