//! The store itself: blobs, the image index, reference resolution and layer directories.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::{self, Hasher};
use crate::manifest::{self, Descriptor};
use crate::error::IoContext;
use crate::reference::{is_hex, normalize_reference};
use crate::{ImageConfig, ImageError, ImageInfo};

/// A handle on one store directory. Cheap to clone; all clones share state.
///
/// Apart from `pull`, methods do blocking file I/O (`layer_dirs` may unpack hundreds of
/// megabytes): async callers should run them with `spawn_blocking`.
#[derive(Clone)]
pub struct ImageStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Serializes index updates inside this process; `flock` does it across processes.
    meta_lock: Mutex<()>,
    /// One lock per diff id so a layer is unpacked once even when many pods start at once,
    /// while different layers unpack in parallel.
    layer_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Registry HTTP client, built on first pull (it needs the TLS roots loaded).
    pub(crate) http: OnceLock<crate::registry::HttpClient>,
    pull_timeout_ms: AtomicU64,
}

/// The index: what `images.json` holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// Image ID (`sha256:<config digest>`) -> record.
    #[serde(default)]
    pub images: BTreeMap<String, ImageRecord>,
    /// `registry/repo:tag` -> image ID.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `registry/repo@sha256:<manifest digest>` -> image ID.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ImageRecord {
    /// The platform manifest (a blob).
    pub manifest: String,
    pub config_size: u64,
    /// Bottom layer first.
    pub layers: Vec<LayerRecord>,
    pub config: ImageConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct LayerRecord {
    /// The blob as distributed (possibly compressed).
    pub digest: String,
    /// SHA-256 of the uncompressed tar; names the unpacked directory.
    pub diff_id: String,
    pub media_type: String,
    pub size: u64,
}

/// How a reference string matched the index.
enum Match {
    Tag(String),
    Digest(String),
    Id(String),
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl ImageStore {
    /// Opens (creating if needed) a store rooted at `root`, and clears staging files left
    /// by processes that died mid-write.
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        for d in ["blobs/sha256", "layers", "tmp"] {
            let p = root.join(d);
            fs::create_dir_all(&p).ctx(|| format!("create {}", p.display()))?;
        }
        let store = ImageStore {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                meta_lock: Mutex::new(()),
                layer_locks: Mutex::new(HashMap::new()),
                http: OnceLock::new(),
                pull_timeout_ms: AtomicU64::new(crate::registry::DEFAULT_IDLE_TIMEOUT.as_millis() as u64),
            }),
        };
        store.clean_stale_tmp();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Sets how long a pull waits for a registry's response, or for the next chunk of a
    /// download, before failing (default 60s). Applies to all clones of this handle.
    pub fn set_pull_timeout(&self, idle: Duration) {
        self.inner.pull_timeout_ms.store(idle.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    pub(crate) fn pull_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.pull_timeout_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn http_slot(&self) -> &OnceLock<crate::registry::HttpClient> {
        &self.inner.http
    }

    /// Finds an image by `name:tag`, `name@sha256:<manifest digest>` (names normalized
    /// docker-style), full image ID (`sha256:<config digest>`), or a unique prefix of the
    /// ID's hex (docker's short ID), with or without `sha256:`.
    pub fn resolve(&self, reference: &str) -> Option<ImageInfo> {
        let meta = self.read_meta_lenient();
        let id = match find(&meta, reference)? {
            Match::Tag(k) => meta.tags[&k].clone(),
            Match::Digest(k) => meta.digests[&k].clone(),
            Match::Id(id) => id,
        };
        info(&meta, &id)
    }

    /// All images, including untagged ones (kept until removed by ID).
    pub fn list(&self) -> Vec<ImageInfo> {
        let meta = self.read_meta_lenient();
        meta.images.keys().filter_map(|id| info(&meta, id)).collect()
    }

    /// Removes a reference. Removing a tag or digest ref only untags unless it was the
    /// image's last tag; removing by ID drops every ref. When no tags remain the image
    /// record and its digest refs go too. Blobs and unpacked layers stay (running
    /// containers may use them); they are shared and cheap to keep. Returns the image as
    /// it was before the removal.
    pub fn remove(&self, reference: &str) -> Result<ImageInfo, ImageError> {
        self.update_meta(|meta| {
            let m = find(meta, reference).ok_or_else(|| ImageError::NoSuchImage(reference.to_string()))?;
            let id = match &m {
                Match::Tag(k) => meta.tags[k].clone(),
                Match::Digest(k) => meta.digests[k].clone(),
                Match::Id(id) => id.clone(),
            };
            let before = info(meta, &id).ok_or_else(|| ImageError::NoSuchImage(reference.to_string()))?;
            match m {
                Match::Tag(k) => {
                    meta.tags.remove(&k);
                }
                Match::Digest(k) => {
                    meta.digests.remove(&k);
                }
                Match::Id(_) => meta.tags.retain(|_, v| *v != id),
            }
            if !meta.tags.values().any(|v| *v == id) {
                meta.digests.retain(|_, v| *v != id);
                meta.images.remove(&id);
            }
            Ok(before)
        })
    }

    /// The unpacked layer directories of `image`, bottom layer first, unpacking any not
    /// yet on disk. Blocking (unpacking a big layer takes seconds): async callers should
    /// use `spawn_blocking`.
    pub fn layer_dirs(&self, image: &ImageInfo) -> Result<Vec<PathBuf>, ImageError> {
        let meta = self.read_meta()?;
        let record = meta.images.get(&image.id).ok_or_else(|| ImageError::NoSuchImage(image.id.clone()))?;
        record.layers.iter().map(|l| self.ensure_layer(l)).collect()
    }

    fn ensure_layer(&self, layer: &LayerRecord) -> Result<PathBuf, ImageError> {
        let dir = self.inner.root.join("layers").join(digest::hex(&layer.diff_id));
        if dir.is_dir() {
            return Ok(dir);
        }
        let lock = {
            let mut locks = self.inner.layer_locks.lock().unwrap();
            locks.entry(layer.diff_id.clone()).or_default().clone()
        };
        let _guard = lock.lock().unwrap();
        if dir.is_dir() {
            return Ok(dir);
        }
        let tmp = self.tmp_path("layer");
        fs::create_dir(&tmp).ctx(|| format!("create {}", tmp.display()))?;
        // The layer's "/" unless the tar says otherwise; never the umask's choice.
        fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).ctx(|| format!("chmod {}", tmp.display()))?;
        let result = crate::unpack::unpack_blob(&self.blob_path(&layer.digest), &tmp, &layer.diff_id);
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Another process may have won the race; its copy is as good as ours.
        if let Err(e) = fs::rename(&tmp, &dir) {
            let _ = fs::remove_dir_all(&tmp);
            if !dir.is_dir() {
                return Err(ImageError::io(format!("rename layer into {}", dir.display()), e));
            }
        }
        tracing::debug!(diff_id = %layer.diff_id, dir = %dir.display(), "unpacked layer");
        Ok(dir)
    }

    // ---- blobs ----

    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        self.inner.root.join("blobs/sha256").join(digest::hex(digest))
    }

    pub(crate) fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_file()
    }

    pub(crate) fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let p = self.blob_path(digest);
        fs::read(&p).ctx(|| format!("read blob {digest}"))
    }

    /// Starts writing a blob whose digest is checked when committed.
    pub(crate) fn blob_writer(&self) -> Result<BlobWriter, ImageError> {
        let tmp = self.tmp_path("blob");
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp).ctx(|| format!("create {}", tmp.display()))?;
        Ok(BlobWriter { file, tmp, hasher: Hasher::new(), size: 0, blobs: self.inner.root.join("blobs/sha256"), done: false })
    }

    /// Stores bytes held in memory (manifests, configs), verifying `expected` if given.
    pub(crate) fn write_blob(&self, data: &[u8], expected: Option<&str>) -> Result<String, ImageError> {
        let d = digest::sha256(data);
        if let Some(e) = expected {
            if e != d {
                return Err(ImageError::DigestMismatch { expected: e.to_string(), actual: d });
            }
        }
        if self.has_blob(&d) {
            return Ok(d);
        }
        let mut w = self.blob_writer()?;
        w.write_all(data).ctx(|| format!("write blob {d}"))?;
        w.commit(Some(&d))?;
        Ok(d)
    }

    // ---- index ----

    pub(crate) fn read_meta(&self) -> Result<Meta, ImageError> {
        let p = self.inner.root.join("images.json");
        match fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| ImageError::io(format!("parse {}", p.display()), e.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Meta::default()),
            Err(e) => Err(ImageError::io(format!("read {}", p.display()), e)),
        }
    }

    fn read_meta_lenient(&self) -> Meta {
        self.read_meta().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "image index unreadable");
            Meta::default()
        })
    }

    /// Read-modify-write of the index under both locks; the new file replaces the old by
    /// rename so readers (which take no lock) never see a partial index.
    pub(crate) fn update_meta<R>(&self, f: impl FnOnce(&mut Meta) -> Result<R, ImageError>) -> Result<R, ImageError> {
        let _g = self.inner.meta_lock.lock().unwrap_or_else(|p| p.into_inner());
        let lock_path = self.inner.root.join("images.lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .ctx(|| format!("open {}", lock_path.display()))?;
        rustix::fs::flock(&lock_file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| ImageError::io(format!("lock {}", lock_path.display()), e.into()))?;
        let mut meta = self.read_meta()?;
        let out = f(&mut meta)?;
        let bytes = serde_json::to_vec_pretty(&meta).map_err(|e| ImageError::io("encode image index", e.into()))?;
        self.write_file_atomic(&self.inner.root.join("images.json"), &bytes)?;
        drop(lock_file); // releases the flock
        Ok(out)
    }

    /// Records an image and points `tags` and `digests` (full reference strings) at it.
    /// A tag that pointed elsewhere moves; the old image stays, untagged, as docker does.
    pub(crate) fn commit_image(
        &self,
        id: &str,
        record: ImageRecord,
        tags: &[String],
        digests: &[String],
    ) -> Result<ImageInfo, ImageError> {
        self.update_meta(|meta| {
            meta.images.insert(id.to_string(), record);
            for t in tags {
                meta.tags.insert(t.clone(), id.to_string());
            }
            for d in digests {
                meta.digests.insert(d.clone(), id.to_string());
            }
            Ok(info(meta, id).expect("just inserted"))
        })
    }

    /// Builds the record for a manifest whose config blob is already stored; layer blobs
    /// are the caller's business. Returns the image ID with it.
    pub(crate) fn build_record(
        &self,
        manifest_digest: &str,
        config: &Descriptor,
        layers: &[Descriptor],
    ) -> Result<(String, ImageRecord), ImageError> {
        let cfg = manifest::parse_config(&self.read_blob(&config.digest)?)?;
        if cfg.rootfs.diff_ids.len() != layers.len() {
            return Err(ImageError::Unsupported(format!(
                "manifest {manifest_digest} lists {} layers but its config has {} diff ids",
                layers.len(),
                cfg.rootfs.diff_ids.len()
            )));
        }
        let mut records = Vec::with_capacity(layers.len());
        for (l, diff_id) in layers.iter().zip(&cfg.rootfs.diff_ids) {
            manifest::check_layer_media_type(&l.media_type)?;
            crate::reference::parse_digest(&l.digest)?;
            records.push(LayerRecord { digest: l.digest.clone(), diff_id: diff_id.clone(), media_type: l.media_type.clone(), size: l.size });
        }
        let record = ImageRecord {
            manifest: manifest_digest.to_string(),
            config_size: config.size,
            layers: records,
            config: cfg.image_config(),
        };
        Ok((config.digest.clone(), record))
    }

    /// Deletes those of `candidates` (blobs this process just wrote) that no image in the
    /// index refers to: the leftovers of a failed import, or of an archive holding more
    /// than we keep (other platforms, bookkeeping files).
    pub(crate) fn drop_unreferenced(&self, candidates: &[String]) {
        if candidates.is_empty() {
            return;
        }
        let Ok(meta) = self.read_meta() else { return };
        let mut used: HashSet<&str> = HashSet::new();
        for (id, r) in &meta.images {
            used.insert(id);
            used.insert(&r.manifest);
            used.extend(r.layers.iter().map(|l| l.digest.as_str()));
        }
        used.extend(meta.digests.keys().filter_map(|k| k.rsplit_once('@').map(|(_, d)| d)));
        for d in candidates {
            if !used.contains(d.as_str()) {
                let _ = fs::remove_file(self.blob_path(d));
            }
        }
    }

    // ---- files ----

    /// A fresh staging path in `tmp/`, named after our pid so a later `open` can tell
    /// whether its writer is gone.
    pub(crate) fn tmp_path(&self, what: &str) -> PathBuf {
        let n = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        self.inner.root.join("tmp").join(format!("{}-{n}-{what}", std::process::id()))
    }

    fn write_file_atomic(&self, path: &Path, data: &[u8]) -> Result<(), ImageError> {
        let tmp = self.tmp_path("file");
        let res = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.ctx(|| format!("write {}", path.display()))
    }

    fn clean_stale_tmp(&self) {
        let dir = self.inner.root.join("tmp");
        let Ok(entries) = fs::read_dir(&dir) else { return };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
            if alive {
                continue;
            }
            let p = e.path();
            let res = if p.is_dir() && !p.is_symlink() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
            if let Err(err) = res {
                tracing::warn!(path = %p.display(), error = %err, "cannot remove stale staging file");
            }
        }
    }
}

/// A blob being written to staging; `commit` verifies and renames it into place,
/// dropping it uncommitted deletes the staging file.
pub(crate) struct BlobWriter {
    file: File,
    tmp: PathBuf,
    hasher: Hasher,
    size: u64,
    blobs: PathBuf,
    done: bool,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter {
    /// Returns the digest and size. Fails, leaving nothing behind, when `expected` is
    /// given and the content hashes differently.
    pub fn commit(self, expected: Option<&str>) -> Result<(String, u64), ImageError> {
        self.commit_new(expected).map(|(d, n, _)| (d, n))
    }

    /// Like `commit`, also telling whether the blob was not in the store before.
    pub fn commit_new(mut self, expected: Option<&str>) -> Result<(String, u64, bool), ImageError> {
        let hasher = std::mem::replace(&mut self.hasher, Hasher::new());
        let d = hasher.finish();
        if let Some(e) = expected {
            if e != d {
                return Err(ImageError::DigestMismatch { expected: e.to_string(), actual: d });
            }
        }
        self.file.sync_all().ctx(|| format!("sync blob {d}"))?;
        let dest = self.blobs.join(digest::hex(&d));
        let new = !dest.exists();
        fs::rename(&self.tmp, &dest).ctx(|| format!("store blob {d}"))?;
        self.done = true;
        Ok((d, self.size, new))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn find(meta: &Meta, reference: &str) -> Option<Match> {
    if let Some(hex) = reference.strip_prefix("sha256:") {
        return find_id(meta, hex);
    }
    if let Ok(r) = normalize_reference(reference) {
        if let Some(d) = r.digested() {
            if meta.digests.contains_key(&d) {
                return Some(Match::Digest(d));
            }
        } else if let Some(t) = r.tagged() {
            if meta.tags.contains_key(&t) {
                return Some(Match::Tag(t));
            }
        }
    }
    if is_hex(reference) {
        return find_id(meta, reference);
    }
    None
}

/// Unique ID prefix match; a full hex also matches a manifest digest (a repo digest
/// given without its name).
fn find_id(meta: &Meta, hex: &str) -> Option<Match> {
    if !is_hex(hex) {
        return None;
    }
    let mut hits = meta.images.keys().filter(|id| digest::hex(id).starts_with(hex));
    if let (Some(id), None) = (hits.next(), hits.next()) {
        return Some(Match::Id(id.clone()));
    }
    if hex.len() == 64 {
        let d = format!("sha256:{hex}");
        return meta.images.iter().find(|(_, r)| r.manifest == d).map(|(id, _)| Match::Id(id.clone()));
    }
    None
}

fn info(meta: &Meta, id: &str) -> Option<ImageInfo> {
    let r = meta.images.get(id)?;
    Some(ImageInfo {
        id: id.to_string(),
        repo_tags: meta.tags.iter().filter(|(_, v)| *v == id).map(|(k, _)| k.clone()).collect(),
        repo_digests: meta.digests.iter().filter(|(_, v)| *v == id).map(|(k, _)| k.clone()).collect(),
        size: r.config_size + r.layers.iter().map(|l| l.size).sum::<u64>(),
        config: r.config.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(manifest: &str) -> ImageRecord {
        ImageRecord { manifest: manifest.into(), config_size: 10, layers: vec![], config: ImageConfig::default() }
    }

    #[test]
    fn blobs_are_verified() {
        let dir = tempfile::tempdir().unwrap();
        let s = ImageStore::open(dir.path()).unwrap();
        let d = s.write_blob(b"hello", None).unwrap();
        assert_eq!(s.read_blob(&d).unwrap(), b"hello");
        let wrong = digest::sha256(b"other");
        let e = s.write_blob(b"hello!", Some(&wrong)).unwrap_err();
        assert!(e.to_string().starts_with("digest mismatch: expected sha256:"), "{e}");
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"streamed").unwrap();
        assert!(matches!(w.commit(Some(&wrong)), Err(ImageError::DigestMismatch { .. })));
        assert!(!s.has_blob(&digest::sha256(b"streamed")));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "staging cleaned up");
    }

    #[test]
    fn index_refs() {
        let dir = tempfile::tempdir().unwrap();
        let s = ImageStore::open(dir.path()).unwrap();
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:ab{}", "0".repeat(62));
        let m = format!("sha256:{}", "c".repeat(64));
        s.commit_image(&a, record(&m), &["docker.io/library/x:1".into(), "docker.io/library/x:2".into()], &[format!("docker.io/library/x@{m}")]).unwrap();
        s.commit_image(&b, record("sha256:zz"), &[], &[]).unwrap();
        assert_eq!(s.resolve("x:1").unwrap().id, a);
        assert_eq!(s.resolve(&format!("x@{m}")).unwrap().id, a);
        assert_eq!(s.resolve(&m).unwrap().id, a, "bare manifest digest");
        assert_eq!(s.resolve("aaaa").unwrap().id, a);
        assert!(s.resolve("a").is_none(), "ambiguous prefix");
        assert_eq!(s.resolve("sha256:ab0").unwrap().id, b);
        assert!(s.resolve("x:3").is_none());
        assert_eq!(s.list().len(), 2);
        assert_eq!(s.resolve("x:2").unwrap().size, 10);

        let before = s.remove("x:1").unwrap();
        assert_eq!(before.repo_tags.len(), 2);
        assert!(s.resolve("x:1").is_none());
        assert_eq!(s.resolve("x:2").unwrap().repo_digests.len(), 1);
        s.remove("docker.io/library/x:2").unwrap();
        assert!(s.resolve(&a).is_none(), "last tag removed deletes the image");
        assert!(s.resolve(&format!("x@{m}")).is_none());
        assert!(matches!(s.remove("x:2"), Err(ImageError::NoSuchImage(_))));
        s.remove(&b).unwrap();
        assert!(s.list().is_empty());
    }

    #[test]
    fn stale_staging_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        ImageStore::open(dir.path()).unwrap();
        // pid 0 is never a live process
        fs::create_dir_all(dir.path().join("tmp/0-1-layer/x")).unwrap();
        fs::write(dir.path().join("tmp/0-2-blob"), b"x").unwrap();
        let mine = dir.path().join(format!("tmp/{}-9-blob", std::process::id()));
        fs::write(&mine, b"x").unwrap();
        ImageStore::open(dir.path()).unwrap();
        let left: Vec<_> = fs::read_dir(dir.path().join("tmp")).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(left, vec![mine]);
    }
}
