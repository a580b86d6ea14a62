//! The JSON documents of OCI and Docker images (index/manifest list, manifest, config),
//! platform selection, and turning a config into the `ImageConfig` the agent runs.
//! Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ImageConfig, ImageError};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
#[cfg_attr(not(test), allow(dead_code))]
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// What registries are asked for, most preferred first.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The annotations image names travel in inside OCI layouts.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A manifest document, told apart by content as well as media type because OCI makes
/// `mediaType` optional.
#[derive(Debug)]
pub enum Document {
    Index(Vec<Descriptor>),
    Manifest { config: Descriptor, layers: Vec<Descriptor> },
}

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
}

pub fn parse_document(bytes: &[u8], content_type: &str) -> Result<Document, ImageError> {
    let raw: RawDocument =
        serde_json::from_slice(bytes).map_err(|e| ImageError::Unsupported(format!("cannot parse manifest: {e}")))?;
    if raw.schema_version == 1 || content_type.contains("distribution.manifest.v1") {
        return Err(ImageError::Unsupported("docker image manifest schema 1 (deprecated; repush the image)".into()));
    }
    let media = if raw.media_type.is_empty() { content_type } else { &raw.media_type };
    match (raw.manifests, raw.config, raw.layers) {
        (Some(m), _, _) => Ok(Document::Index(m)),
        (None, Some(config), layers) => Ok(Document::Manifest { config, layers: layers.unwrap_or_default() }),
        _ => Err(ImageError::Unsupported(format!("manifest of media type {media:?} has neither manifests nor config"))),
    }
}

/// This machine's platform in OCI terms (GOARCH names).
pub fn host_platform() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", Some("v8")),
        "arm" => ("arm", Some("v7")),
        "x86" => ("386", None),
        "powerpc64" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "riscv64" => ("riscv64", None),
        other => (other, None),
    }
}

/// Picks linux/<host arch> from an index, preferring the host's variant; entries without
/// a platform (attestations use `unknown/unknown`, which never matches) are skipped.
pub fn choose_platform(manifests: &[Descriptor]) -> Option<&Descriptor> {
    let (arch, variant) = host_platform();
    let candidates = manifests.iter().filter(|d| {
        d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == arch)
            && d.media_type != OCI_INDEX
            && d.media_type != DOCKER_LIST
    });
    let mut best = None;
    for d in candidates {
        let v = d.platform.as_ref().and_then(|p| p.variant.as_deref());
        if v == variant {
            return Some(d);
        }
        best.get_or_insert(d);
    }
    best
}

/// The parts of an image config (docker's `container.image.v1` / OCI `image.config.v1`) we use.
#[derive(Debug, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
}

#[derive(Debug, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Entrypoint", default)]
    entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    cmd: Option<Vec<String>>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    working_dir: Option<String>,
    #[serde(rename = "User", default)]
    user: Option<String>,
    #[serde(rename = "ExposedPorts", default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

pub fn parse_config(bytes: &[u8]) -> Result<ConfigFile, ImageError> {
    let c: ConfigFile =
        serde_json::from_slice(bytes).map_err(|e| ImageError::Unsupported(format!("cannot parse image config: {e}")))?;
    for d in &c.rootfs.diff_ids {
        crate::reference::parse_digest(d)
            .map_err(|_| ImageError::Unsupported(format!("image config has invalid diff id {d:?}")))?;
    }
    Ok(c)
}

impl ConfigFile {
    pub fn image_config(&self) -> ImageConfig {
        let c = self.config.as_ref();
        let get = |f: fn(&ContainerConfig) -> Option<Vec<String>>| c.and_then(f).unwrap_or_default();
        ImageConfig {
            entrypoint: get(|c| c.entrypoint.clone()),
            cmd: get(|c| c.cmd.clone()),
            env: get(|c| c.env.clone()),
            working_dir: c.and_then(|c| c.working_dir.clone()).unwrap_or_default(),
            user: c.and_then(|c| c.user.clone()).unwrap_or_default(),
            exposed_ports: c.and_then(|c| c.exposed_ports.as_ref()).map(|m| m.keys().cloned().collect()).unwrap_or_default(),
            labels: c.and_then(|c| c.labels.clone()).unwrap_or_default(),
        }
    }
}

/// Whether a layer media type is one we can unpack. Compression is sniffed from the
/// bytes at unpack time, so this only rejects what is certainly foreign.
pub fn check_layer_media_type(media_type: &str) -> Result<(), ImageError> {
    if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
        return Err(ImageError::Unsupported(format!("zstd-compressed layers ({media_type})")));
    }
    if media_type.contains("foreign") {
        return Err(ImageError::Unsupported(format!("foreign (Windows) layers ({media_type})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(arch: &str, os: &str, variant: Option<&str>, digest: &str) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1,
            platform: Some(Platform { architecture: arch.into(), os: os.into(), variant: variant.map(Into::into) }),
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn picks_host_platform() {
        let (arch, variant) = host_platform();
        let list = vec![
            desc("unknown", "unknown", None, "att"),
            desc("s390x-not-this", "linux", None, "other"),
            desc(arch, "windows", None, "win"),
            desc(arch, "linux", Some("v0-not-this"), "variant"),
            desc(arch, "linux", variant, "exact"),
        ];
        assert_eq!(choose_platform(&list).unwrap().digest, "exact");
        assert_eq!(choose_platform(&list[..4]).unwrap().digest, "variant");
        assert!(choose_platform(&list[..3]).is_none());
    }

    #[test]
    fn documents_by_content() {
        let idx = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:x","size":1}]}"#;
        assert!(matches!(parse_document(idx, "").unwrap(), Document::Index(m) if m.len() == 1));
        let m = br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:c","size":2},"layers":[]}"#;
        assert!(matches!(parse_document(m, OCI_MANIFEST).unwrap(), Document::Manifest { config, .. } if config.size == 2));
        let v1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(parse_document(v1, "").unwrap_err().to_string().contains("schema 1"));
    }

    #[test]
    fn config_fields() {
        let c = parse_config(
            br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":null,"Cmd":["sh"],"Env":["A=1"],"WorkingDir":"/w","User":"1000","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .unwrap()
        .image_config();
        assert!(c.entrypoint.is_empty());
        assert_eq!(c.cmd, ["sh"]);
        assert_eq!(c.env, ["A=1"]);
        assert_eq!(c.working_dir, "/w");
        assert_eq!(c.user, "1000");
        assert_eq!(c.exposed_ports, ["53/udp", "80/tcp"]);
        assert_eq!(c.labels["k"], "v");
        assert!(parse_config(br#"{"rootfs":{"diff_ids":["nope"]}}"#).is_err());
        assert!(check_layer_media_type("application/vnd.oci.image.layer.v1.tar+zstd").is_err());
        assert!(check_layer_media_type(DOCKER_LAYER_GZIP).is_ok());
    }
}
