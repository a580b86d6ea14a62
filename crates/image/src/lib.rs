//! The node agent's local container image store.
//!
//! Images come in two ways: imported from archives (`docker save` tarballs and OCI
//! layouts in a tar, optionally gzipped) or pulled from a registry speaking the Docker
//! Registry HTTP API v2 / OCI distribution spec. Either way the store keeps
//! content-addressed blobs plus a small index, and unpacks each layer once, on first use,
//! into a directory an overlayfs mount can use as a lower dir.
//!
//! On-disk layout under the root:
//!
//! ```text
//! blobs/sha256/<hex>     manifests, configs and (compressed) layers, verified on write
//! layers/<diff id hex>/  unpacked layers (overlayfs lower dirs, whiteouts converted)
//! images.json            config digest -> image record; tag and digest refs -> config digest
//! images.lock            flock(2) target serializing index updates across processes
//! tmp/<pid>-<n>-<what>   staging; every file and layer reaches its place by rename(2)
//! ```
//!
//! Several processes (the agent and the `rkube image import` CLI) may use one root at
//! once: blobs and layers only ever appear whole through rename, and index updates are
//! read-modify-write under an exclusive `flock`.

mod archive;
mod auth;
mod digest;
mod error;
mod manifest;
mod reference;
mod registry;
mod store;
mod unpack;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use auth::{credentials_for, RegistryAuth};
pub use error::ImageError;
pub use reference::{normalize_reference, Reference};
pub use store::ImageStore;

/// An image as the agent and the CRI-like views see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    /// `sha256:<config digest>`: the image ID docker and containerd show.
    pub id: String,
    /// Fully normalized, e.g. `docker.io/library/busybox:1.36`.
    pub repo_tags: Vec<String>,
    /// `docker.io/library/busybox@sha256:<manifest digest>`.
    pub repo_digests: Vec<String>,
    /// Bytes of content: config plus layers as stored (compressed), like containerd's size.
    pub size: u64,
    pub config: ImageConfig,
}

/// The runtime defaults an image carries (the `config` object of its config blob).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    /// Keys of `ExposedPorts`, e.g. `80/tcp`.
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
}
