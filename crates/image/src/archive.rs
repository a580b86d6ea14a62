//! Importing image archives: `docker save` tarballs (`manifest.json` listing Config,
//! RepoTags and Layers by path) and OCI image layouts in a tar (`oci-layout`,
//! `index.json`, `blobs/sha256/...`), either optionally gzipped.
//!
//! The archive is read in one sequential pass (it may be gigabytes, and its members come
//! in no useful order): every file goes straight into the blob store, hashed on the way,
//! except the few small bookkeeping documents, which are kept in memory until the end.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::IoContext;
use crate::manifest::{self, Descriptor, Document};
use crate::reference::{normalize_reference, Reference};
use crate::{ImageError, ImageInfo, ImageStore};

/// Bookkeeping documents are small; anything bigger under these names is not ours.
const MAX_DOC: u64 = 16 << 20;

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// What one pass over the archive collected.
#[derive(Default)]
struct Contents {
    /// Archive path -> (digest, size) of the file, now a blob.
    blobs: HashMap<String, (String, u64)>,
    /// Archive path -> path it links to (docker save links identical layers).
    links: HashMap<String, String>,
    docs: HashMap<String, Vec<u8>>,
}

impl Contents {
    fn blob(&self, path: &str) -> Option<&(String, u64)> {
        let mut p = path.trim_start_matches("./").to_string();
        for _ in 0..16 {
            if let Some(b) = self.blobs.get(&p) {
                return Some(b);
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }
}

fn is_doc(path: &str) -> bool {
    matches!(path, "manifest.json" | "index.json" | "oci-layout" | "repositories")
        || path.ends_with("/json")
        || path.ends_with("/VERSION")
}

/// `a/./b/../c` -> `a/c`, as a `/`-joined string; `None` if it climbs out.
fn clean(path: &Path) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop()?;
            }
            _ => {}
        }
    }
    Some(out.join("/"))
}

impl ImageStore {
    /// Imports every image in a docker-archive or oci-archive file (plain or gzipped tar)
    /// and returns them. Names come from `RepoTags` (docker) or the
    /// `io.containerd.image.name` / `org.opencontainers.image.ref.name` annotations
    /// (OCI; a bare-tag ref name leaves the image untagged, findable by ID).
    pub fn import_archive(&self, file: &Path) -> Result<Vec<ImageInfo>, ImageError> {
        let bad = |detail: String| ImageError::Archive { path: file.display().to_string(), detail };
        let f = File::open(file).ctx(|| format!("open {}", file.display()))?;
        let mut written = Vec::new();
        let result = self.import_from(f, &mut written).map_err(|e| match e {
            ImageError::Unsupported(d) => bad(d),
            e => bad(e.to_string()),
        });
        self.drop_unreferenced(&written);
        let ids = result?;
        let mut out: Vec<ImageInfo> = Vec::new();
        for id in ids {
            if !out.iter().any(|i| i.id == id) {
                out.push(self.resolve(&id).ok_or_else(|| ImageError::NoSuchImage(id.clone()))?);
            }
        }
        Ok(out)
    }

    fn import_from(&self, f: File, written: &mut Vec<String>) -> Result<Vec<String>, ImageError> {
        let contents = self.read_archive(f, written)?;
        if let Some(m) = contents.docs.get("manifest.json") {
            self.import_docker(m, &contents)
        } else if let Some(idx) = contents.docs.get("index.json") {
            self.import_oci(idx)
        } else {
            Err(ImageError::Unsupported("neither manifest.json (docker-archive) nor index.json (oci-archive) found".into()))
        }
    }

    fn read_archive(&self, f: File, written: &mut Vec<String>) -> Result<Contents, ImageError> {
        let reader = crate::unpack::decompressed(BufReader::with_capacity(256 * 1024, f))?;
        let mut archive = tar::Archive::new(reader);
        let mut c = Contents::default();
        for entry in archive.entries().ctx(|| "read tar".into())? {
            let mut e = entry.ctx(|| "read tar entry".into())?;
            let raw = e.path().ctx(|| "read tar entry name".into())?.into_owned();
            let Some(path) = clean(&raw) else { continue };
            let kind = e.header().entry_type();
            match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if is_doc(&path) && e.size() <= MAX_DOC {
                        let mut buf = Vec::new();
                        e.read_to_end(&mut buf).ctx(|| format!("read {path}"))?;
                        c.docs.insert(path, buf);
                        continue;
                    }
                    let mut w = self.blob_writer()?;
                    io::copy(&mut e, &mut w).ctx(|| format!("read {path}"))?;
                    // OCI layouts name blobs by digest: hold them to it.
                    let expected = path.strip_prefix("blobs/sha256/").map(|h| format!("sha256:{h}"));
                    let (digest, size, new) = w.commit_new(expected.as_deref())?;
                    if new {
                        written.push(digest.clone());
                    }
                    c.blobs.insert(path, (digest, size));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let Some(target) = e.link_name().ok().flatten() else { continue };
                    let target = if kind == tar::EntryType::Symlink {
                        Path::new(&path).parent().unwrap_or(Path::new("")).join(target)
                    } else {
                        PathBuf::from(target.as_ref())
                    };
                    if let Some(t) = clean(&target) {
                        c.links.insert(path, t);
                    }
                }
                _ => {}
            }
        }
        Ok(c)
    }

    fn import_docker(&self, manifest_json: &[u8], c: &Contents) -> Result<Vec<String>, ImageError> {
        let entries: Vec<DockerManifestEntry> = serde_json::from_slice(manifest_json)
            .map_err(|e| ImageError::Unsupported(format!("manifest.json: {e}")))?;
        let missing = |p: &str| ImageError::Unsupported(format!("{p} is listed in manifest.json but not in the archive"));
        let mut ids = Vec::new();
        for entry in entries {
            let (config_digest, config_size) = c.blob(&entry.config).ok_or_else(|| missing(&entry.config))?.clone();
            let cfg = manifest::parse_config(&self.read_blob(&config_digest)?)?;
            let mut layers = Vec::new();
            for (i, path) in entry.layers.iter().enumerate() {
                let (digest, size) = c.blob(path).ok_or_else(|| missing(path))?.clone();
                let media_type = if self.blob_is_gzip(&digest)? {
                    manifest::DOCKER_LAYER_GZIP
                } else {
                    // Uncompressed: the blob is the diff, so we can check it right now.
                    if cfg.rootfs.diff_ids.get(i).is_some_and(|d| *d != digest) {
                        return Err(ImageError::Unsupported(format!("layer {path} does not match diff id {}", cfg.rootfs.diff_ids[i])));
                    }
                    manifest::DOCKER_LAYER_TAR
                };
                layers.push(Descriptor { media_type: media_type.into(), digest, size, platform: None, annotations: Default::default() });
            }
            // docker save carries no manifest; synthesize the schema2 one a push would
            // create so the image has a digest to be referenced by, as containerd does.
            let config = Descriptor {
                media_type: manifest::DOCKER_CONFIG.into(),
                digest: config_digest,
                size: config_size,
                platform: None,
                annotations: Default::default(),
            };
            let doc = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": manifest::DOCKER_MANIFEST,
                "config": config,
                "layers": layers,
            });
            let manifest_digest = self.write_blob(&serde_json::to_vec(&doc).expect("json"), None)?;
            let names = entry
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| normalize_reference(t))
                .collect::<Result<Vec<_>, _>>()?;
            ids.push(self.commit_manifest(&manifest_digest, &manifest_digest, &config, &layers, &names)?);
        }
        Ok(ids)
    }

    fn import_oci(&self, index_json: &[u8]) -> Result<Vec<String>, ImageError> {
        let Document::Index(descs) = manifest::parse_document(index_json, manifest::OCI_INDEX)? else {
            return Err(ImageError::Unsupported("index.json is not an image index".into()));
        };
        let mut ids = Vec::new();
        for d in descs {
            let names = oci_names(&d)?;
            let mut bytes = self.read_blob(&d.digest)?;
            let mut manifest_digest = d.digest.clone();
            // A multi-platform image: take this machine's platform (as `ctr import` does).
            if let Document::Index(platforms) = manifest::parse_document(&bytes, &d.media_type)? {
                let chosen = manifest::choose_platform(&platforms)
                    .or(if platforms.len() == 1 { platforms.first() } else { None })
                    .ok_or_else(|| no_platform(&d.digest))?;
                manifest_digest = chosen.digest.clone();
                bytes = self.read_blob(&manifest_digest)?;
            }
            let Document::Manifest { config, layers } = manifest::parse_document(&bytes, "")? else {
                return Err(ImageError::Unsupported(format!("{manifest_digest}: nested index inside an index")));
            };
            for l in &layers {
                if !self.has_blob(&l.digest) {
                    return Err(ImageError::Unsupported(format!("layer {} is missing from the archive", l.digest)));
                }
            }
            ids.push(self.commit_manifest(&d.digest, &manifest_digest, &config, &layers, &names)?);
        }
        Ok(ids)
    }

    /// Records an image under `names`; `target` is what the names point at (an index or
    /// the manifest itself) and becomes the repo digest.
    pub(crate) fn commit_manifest(
        &self,
        target: &str,
        manifest_digest: &str,
        config: &Descriptor,
        layers: &[Descriptor],
        names: &[Reference],
    ) -> Result<String, ImageError> {
        let (id, record) = self.build_record(manifest_digest, config, layers)?;
        let tags: Vec<String> = names.iter().filter_map(|n| n.tagged()).collect();
        let digests: Vec<String> = names.iter().map(|n| format!("{}@{target}", n.name())).collect();
        self.commit_image(&id, record, &tags, &digests)?;
        Ok(id)
    }

    fn blob_is_gzip(&self, digest: &str) -> Result<bool, ImageError> {
        let mut head = [0u8; 2];
        let mut f = File::open(self.blob_path(digest)).ctx(|| format!("open blob {digest}"))?;
        let n = f.read(&mut head).ctx(|| format!("read blob {digest}"))?;
        Ok(n == 2 && head == [0x1f, 0x8b])
    }
}

pub(crate) fn no_platform(digest: &str) -> ImageError {
    let (arch, _) = manifest::host_platform();
    ImageError::Unsupported(format!("{digest}: no manifest for platform linux/{arch}"))
}

/// Image names an OCI index entry carries. containerd's full name wins; a ref name counts
/// only when it is a whole reference (skopeo writes `name:tag`, buildkit a bare tag).
fn oci_names(d: &Descriptor) -> Result<Vec<Reference>, ImageError> {
    if let Some(n) = d.annotations.get(manifest::ANNOTATION_CONTAINERD_NAME) {
        return Ok(vec![normalize_reference(n)?]);
    }
    match d.annotations.get(manifest::ANNOTATION_REF_NAME) {
        Some(n) if n.contains(':') || n.contains('/') => Ok(vec![normalize_reference(n)?]),
        _ => Ok(vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn desc(ann: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: manifest::OCI_MANIFEST.into(),
            digest: "sha256:x".into(),
            size: 0,
            platform: None,
            annotations: ann.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn names_from_annotations() {
        let n = |ann: &[(&str, &str)]| oci_names(&desc(ann)).unwrap().iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(n(&[(manifest::ANNOTATION_REF_NAME, "busybox:1")]), ["docker.io/library/busybox:1"]);
        assert_eq!(n(&[(manifest::ANNOTATION_REF_NAME, "1")]), Vec::<String>::new());
        assert_eq!(
            n(&[(manifest::ANNOTATION_REF_NAME, "1"), (manifest::ANNOTATION_CONTAINERD_NAME, "localhost:5000/a:1")]),
            ["localhost:5000/a:1"]
        );
        assert!(oci_names(&desc(&[(manifest::ANNOTATION_REF_NAME, "Bad:Name")])).is_err());
    }

    #[test]
    fn archive_paths() {
        assert_eq!(clean(Path::new("./a/./b/../c")).unwrap(), "a/c");
        assert_eq!(clean(Path::new("../x")), None);
        assert!(is_doc("abc/json") && is_doc("manifest.json") && !is_doc("abc.json"));
    }
}
