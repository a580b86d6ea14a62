//! Filesystem and mount helpers for volumes: tmpfs, mount table, safe subPaths.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

/// Go-style text of an OS error: `no such file or directory`.
pub(crate) fn errno_text(e: &io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => s,
    }
}

/// Whether `path` is the root of a mount (its device differs from its parent's).
pub(super) fn is_mountpoint(path: &Path) -> io::Result<bool> {
    let md = fs::metadata(path)?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    let pmd = fs::metadata(parent)?;
    Ok(md.dev() != pmd.dev() || md.ino() == pmd.ino())
}

/// Mounts a tmpfs at `path` with `options` (e.g. `mode=0777,size=1048576`).
pub(super) fn mount_tmpfs(path: &Path, options: &str) -> io::Result<()> {
    let data = CString::new(options).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    rustix::mount::mount("tmpfs", path, "tmpfs", MountFlags::empty(), Some(data.as_c_str()))
        .map_err(io::Error::from)
}

/// Mount points at or below `root` (canonical), deepest first, from
/// /proc/self/mountinfo.
pub(super) fn mounts_under(root: &Path) -> io::Result<Vec<PathBuf>> {
    let info = fs::read_to_string("/proc/self/mountinfo")?;
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(root))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    Ok(out)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lazily detaches the mount at `path`; "not mounted" is not an error.
pub(super) fn unmount(path: &Path) -> io::Result<()> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Resolves `sub` (relative, no `..`, already validated) inside the volume at `root`,
/// creating missing directories with the root's permissions, and refusing any path
/// that leaves the volume through a symlink. Returns the canonical path.
pub(super) fn safe_subpath(root: &Path, sub: &str) -> io::Result<PathBuf> {
    let root = fs::canonicalize(root)?;
    let perm = fs::metadata(&root)?.permissions().mode() & 0o7777;
    let escape = || io::Error::new(io::ErrorKind::PermissionDenied, "subPath leaves the volume");
    let mut cur = root.clone();
    for comp in Path::new(sub).components() {
        let name = match comp {
            Component::Normal(n) => n,
            Component::CurDir => continue,
            _ => return Err(escape()),
        };
        let next = cur.join(name);
        match fs::symlink_metadata(&next) {
            Ok(md) if md.file_type().is_symlink() => {
                let resolved = fs::canonicalize(&next)?;
                if !resolved.starts_with(&root) {
                    return Err(escape());
                }
                cur = resolved;
            }
            Ok(_) => cur = next,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match fs::DirBuilder::new().mode(perm).create(&next) {
                    Ok(()) => {
                        fs::set_permissions(&next, fs::Permissions::from_mode(perm))?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                cur = next;
            }
            Err(e) => return Err(e),
        }
    }
    let resolved = fs::canonicalize(&cur)?;
    if !resolved.starts_with(&root) {
        return Err(escape());
    }
    Ok(resolved)
}
