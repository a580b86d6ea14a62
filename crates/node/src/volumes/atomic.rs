//! Upstream's atomic writer layout for configMap, secret, downwardAPI and projected
//! volumes (pkg/volume/util/atomic_writer.go):
//!
//! ```text
//! <volume>/..2026_11_23_18_25_38.123456789/   the files, in a timestamped directory
//! <volume>/..data -> ..2026_11_23_18_25_38.123456789
//! <volume>/<key>  -> ..data/<key>             one link per top-level path component
//! ```
//!
//! An update writes a new timestamped directory and swaps `..data` by renaming a
//! `..data_tmp` link over it, so readers see the old or the new set, never a mix.
//! Unchanged content (data and mode) is not rewritten.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DATA_DIR: &str = "..data";
const DATA_TMP: &str = "..data_tmp";
const MAX_FILE_NAME: usize = 255;
const MAX_PATH: usize = 4096;

/// One file of a volume payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    /// Permission bits (e.g. 0o644).
    pub mode: u32,
}

/// Paths (relative, `/`-separated) to files.
pub type Payload = BTreeMap<String, FileProjection>;

/// Ownership applied to what the writer creates: the group and the bits upstream's
/// SetVolumeOwnership adds for a read-only volume (files `| 0o440`, directories
/// `| 0o2550`).
#[derive(Clone, Copy, Debug)]
pub struct Ownership {
    pub gid: u32,
}

/// Projects `payload` into `target` (created if absent). Returns whether anything was
/// written. Idempotent: an unchanged payload leaves the directory untouched (apart
/// from repairing missing user-visible links).
pub fn write(target: &Path, payload: &Payload, owner: Option<Ownership>) -> io::Result<bool> {
    let payload = clean_payload(payload)?;
    fs::create_dir_all(target)?;
    let data_link = target.join(DATA_DIR);
    let old_ts = match fs::read_link(&data_link) {
        Ok(p) => Some(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut to_remove = BTreeSet::new();
    if let Some(old) = &old_ts {
        let old_path = target.join(old);
        to_remove = paths_to_remove(&payload, &old_path)?;
        if to_remove.is_empty() && !should_write(&payload, &old_path, owner)? {
            create_user_visible(target, &payload)?;
            return Ok(false);
        }
    }

    let ts_dir = new_timestamp_dir(target)?;
    let ts_name = ts_dir.file_name().expect("named").to_owned();
    if let Err(e) = write_payload(&ts_dir, &payload, owner) {
        let _ = fs::remove_dir_all(&ts_dir);
        return Err(e);
    }
    create_user_visible(target, &payload)?;

    let tmp_link = target.join(DATA_TMP);
    let _ = fs::remove_file(&tmp_link);
    if let Err(e) = std::os::unix::fs::symlink(&ts_name, &tmp_link) {
        let _ = fs::remove_dir_all(&ts_dir);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp_link, &data_link) {
        let _ = fs::remove_file(&tmp_link);
        let _ = fs::remove_dir_all(&ts_dir);
        return Err(e);
    }

    for p in to_remove.iter().filter(|p| !p.contains('/')) {
        match fs::remove_file(target.join(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    // Old timestamped directories (the previous one, and any left by a crash).
    for entry in fs::read_dir(target)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("..") && name != DATA_DIR && *name != *ts_name.to_string_lossy() && entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        }
    }
    if let Some(o) = owner {
        set_ownership(target, o, false)?;
    }
    Ok(true)
}

/// Upstream's validatePath, then `filepath.Clean`.
fn clean_payload(payload: &Payload) -> io::Result<Payload> {
    let mut out = Payload::new();
    for (k, v) in payload {
        validate_path(k).map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
        let clean: Vec<&str> = k.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        out.insert(clean.join("/"), v.clone());
    }
    Ok(out)
}

fn validate_path(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err(format!("invalid path: must not be empty: {p:?}"));
    }
    if p.starts_with('/') {
        return Err(format!("invalid path: must be relative path: {p}"));
    }
    if p.len() > MAX_PATH {
        return Err(format!("invalid path: must be less than or equal to {MAX_PATH} characters"));
    }
    let items: Vec<&str> = p.split('/').collect();
    for item in &items {
        if *item == ".." {
            return Err(format!("invalid path: must not contain '..': {p}"));
        }
        if item.len() > MAX_FILE_NAME {
            return Err(format!(
                "invalid path: filenames must be less than or equal to {MAX_FILE_NAME} characters"
            ));
        }
    }
    if items[0].starts_with("..") && items[0].len() > 2 {
        return Err(format!("invalid path: must not start with '..': {p}"));
    }
    let clean: Vec<&str> = items.into_iter().filter(|c| !c.is_empty() && *c != ".").collect();
    if clean.is_empty() {
        return Err(format!("invalid path: must not be empty: {p:?}"));
    }
    Ok(())
}

fn expected_mode(mode: u32, owner: Option<Ownership>) -> u32 {
    match owner {
        Some(_) => (mode & 0o7777) | 0o440,
        None => mode & 0o7777,
    }
}

fn should_write(payload: &Payload, old: &Path, owner: Option<Ownership>) -> io::Result<bool> {
    for (p, f) in payload {
        let path = old.join(p);
        let md = match fs::symlink_metadata(&path) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(e),
        };
        if !md.is_file() || md.permissions().mode() & 0o7777 != expected_mode(f.mode, owner) {
            return Ok(true);
        }
        if fs::read(&path)? != f.data {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Everything in the old timestamped directory that the new payload does not have
/// (parents of new files count as present).
fn paths_to_remove(payload: &Payload, old: &Path) -> io::Result<BTreeSet<String>> {
    let mut present = BTreeSet::new();
    walk(old, old, &mut present)?;
    let mut keep = BTreeSet::new();
    for p in payload.keys() {
        let mut cur = p.as_str();
        loop {
            keep.insert(cur.to_string());
            match cur.rfind('/') {
                Some(i) => cur = &cur[..i],
                None => break,
            }
        }
    }
    Ok(present.difference(&keep).cloned().collect())
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
        out.insert(rel);
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        }
    }
    Ok(())
}

fn new_timestamp_dir(target: &Path) -> io::Result<PathBuf> {
    let now = chrono::Utc::now();
    let base = now.format("..%Y_%m_%d_%H_%M_%S.").to_string();
    let mut nanos = now.timestamp_subsec_nanos() as u64;
    loop {
        let dir = target.join(format!("{base}{nanos:09}"));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => nanos += 1,
            Err(e) => return Err(e),
        }
    }
}

fn write_payload(dir: &Path, payload: &Payload, owner: Option<Ownership>) -> io::Result<()> {
    for (p, f) in payload {
        let full = dir.join(p);
        if let Some(parent) = full.parent() {
            if parent != dir {
                fs::DirBuilder::new().recursive(true).mode(0o755).create(parent)?;
            }
        }
        let mode = expected_mode(f.mode, owner);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&full)?;
        file.write_all(&f.data)?;
        drop(file);
        fs::set_permissions(&full, fs::Permissions::from_mode(mode))?;
    }
    if let Some(o) = owner {
        set_ownership(dir, o, true)?;
    }
    Ok(())
}

/// `key -> ..data/key` for each top-level component of the payload.
fn create_user_visible(target: &Path, payload: &Payload) -> io::Result<()> {
    let tops: BTreeSet<&str> = payload.keys().map(|p| p.split('/').next().expect("non-empty")).collect();
    for top in tops {
        let link = target.join(top);
        match fs::symlink_metadata(&link) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::os::unix::fs::symlink(Path::new(DATA_DIR).join(top), &link)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Upstream's SetVolumeOwnership for a read-only volume: group `gid` on everything,
/// files `| 0o440`, directories `| 0o2550`; links are re-owned but not chmod-ed.
/// `recursive` walks into directories (the timestamped one); otherwise only `dir` and
/// its direct entries (the volume root and its links).
pub(crate) fn set_ownership(dir: &Path, o: Ownership, recursive: bool) -> io::Result<()> {
    chown_entry(dir, o)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() && recursive {
            set_ownership(&entry.path(), o, true)?;
        } else if !ft.is_dir() {
            chown_entry(&entry.path(), o)?;
        }
    }
    Ok(())
}

fn chown_entry(path: &Path, o: Ownership) -> io::Result<()> {
    std::os::unix::fs::lchown(path, None, Some(o.gid))?;
    let md = fs::symlink_metadata(path)?;
    if md.file_type().is_symlink() {
        return Ok(());
    }
    let mode = md.permissions().mode() & 0o7777;
    let want = if md.is_dir() { mode | 0o2550 } else { mode | 0o440 };
    if want != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(want))?;
    }
    Ok(())
}
