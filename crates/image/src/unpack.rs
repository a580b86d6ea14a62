//! Unpacking a layer tar into a directory overlayfs can use as a lower dir.
//!
//! Layers are unpacked each into its own empty directory (as docker's overlay2 driver
//! does), so OCI whiteouts must become overlayfs' own markers: `.wh.NAME` a 0:0
//! character device `NAME`, and `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on
//! its directory. Nothing is ever written through a symlink: an entry whose parent path
//! crosses one is refused, and an existing symlink in the way of a new entry is replaced,
//! not followed.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, CWD};

use crate::digest::HashingReader;
use crate::ImageError;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Wraps `r` in a decompressor chosen by the stream's magic bytes; media types lie too
/// often (docker-archive layers are plain tar whatever they are called) to trust them.
pub(crate) fn decompressed<'a, R: BufRead + 'a>(mut r: R) -> Result<Box<dyn Read + 'a>, ImageError> {
    let head = r.fill_buf().map_err(|e| ImageError::io("read layer", e))?;
    if head.starts_with(GZIP_MAGIC) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else if head.starts_with(ZSTD_MAGIC) {
        Err(ImageError::Unsupported("zstd-compressed layers".into()))
    } else {
        Ok(Box::new(r))
    }
}

/// Unpacks the layer blob at `blob` into the empty directory `dest`, checking that the
/// uncompressed stream hashes to `diff_id`.
pub(crate) fn unpack_blob(blob: &Path, dest: &Path, diff_id: &str) -> Result<(), ImageError> {
    let layer_err = |detail: String| ImageError::Layer { diff_id: diff_id.to_string(), detail };
    let file = fs::File::open(blob).map_err(|e| layer_err(format!("open blob {}: {e}", blob.display())))?;
    let reader = decompressed(BufReader::with_capacity(256 * 1024, file))?;
    let mut hashing = HashingReader::new(reader);
    unpack_tar(&mut hashing, dest).map_err(|e| layer_err(e.to_string()))?;
    let actual = hashing.finish().map_err(|e| layer_err(format!("read: {e}")))?;
    if actual != diff_id {
        return Err(layer_err(format!("diff id mismatch: uncompressed content hashes to {actual}")));
    }
    Ok(())
}

/// Unpacks a tar stream into `root`. Errors name the offending entry.
pub(crate) fn unpack_tar<R: Read>(reader: R, root: &Path) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut u = Unpacker { root, is_root: rustix::process::geteuid().is_root(), dirs: BTreeMap::new() };
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
        u.entry(&mut entry).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
    }
    // Directory metadata last: creating children would bump their mtimes, and a
    // read-only mode would stop a non-root unpack from filling them.
    for (path, meta) in std::mem::take(&mut u.dirs) {
        u.apply(&path, &meta, false)?;
    }
    Ok(())
}

struct EntryMeta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    xattrs: Vec<(String, Vec<u8>)>,
}

struct Unpacker<'a> {
    root: &'a Path,
    is_root: bool,
    dirs: BTreeMap<PathBuf, EntryMeta>,
}

fn other(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// Lexically cleans an entry path to components under the root: leading `/` and `.` are
/// dropped, `..` pops, and popping past the root is an escape.
fn clean(path: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(other("path escapes the layer directory"));
                }
            }
        }
    }
    Ok(out)
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> io::Result<()> {
        let rel = clean(&entry.path()?)?;
        let meta = entry_meta(entry)?;
        let kind = entry.header().entry_type();
        let Some(name) = rel.file_name().map(|n| n.to_os_string()) else {
            // The layer root itself ("./").
            if kind.is_dir() {
                self.dirs.insert(self.root.to_path_buf(), meta);
            }
            return Ok(());
        };
        let parent = self.ensure_parent(rel.parent().unwrap_or(Path::new("")))?;
        let target = parent.join(&name);

        if let Some(hidden) = name.as_bytes().strip_prefix(b".wh.") {
            if hidden == b".wh..opq" {
                return rustix::fs::lsetxattr(&parent, "trusted.overlay.opaque", b"y", rustix::fs::XattrFlags::empty())
                    .map_err(|e| other(format!("set opaque xattr on {}: {e}", parent.display())));
            }
            if hidden.starts_with(b".wh.") {
                return Ok(()); // other AUFS bookkeeping (.wh..wh.plnk etc.)
            }
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(other("invalid whiteout name"));
            }
            let victim = parent.join(OsStr::from_bytes(hidden));
            remove_existing(&victim)?;
            rustix::fs::mknodat(CWD, &victim, FileType::CharacterDevice, Mode::empty(), rustix::fs::makedev(0, 0))
                .map_err(|e| other(format!("create whiteout {}: {e}", victim.display())))?;
            return self.chown(&victim, &meta);
        }

        use tar::EntryType as T;
        match kind {
            T::Directory => {
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        remove_existing(&target)?;
                        fs::create_dir(&target)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&target)?,
                    Err(e) => return Err(e),
                }
                self.dirs.insert(target, meta);
                Ok(())
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                remove_existing(&target)?;
                // create_new (O_EXCL) never follows a symlink someone slipped in.
                let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&target)?;
                io::copy(entry, &mut f)?;
                drop(f);
                self.apply(&target, &meta, false)
            }
            T::Symlink => {
                let link = entry.link_name()?.ok_or_else(|| other("symlink without target"))?;
                remove_existing(&target)?;
                std::os::unix::fs::symlink(&link, &target)?;
                self.apply(&target, &meta, true)
            }
            T::Link => {
                let link = entry.link_name()?.ok_or_else(|| other("hard link without target"))?;
                let src_rel = clean(&link)?;
                let src = self.existing(&src_rel)?;
                if fs::symlink_metadata(&src)?.is_dir() {
                    return Err(other("hard link to a directory"));
                }
                if src != target {
                    remove_existing(&target)?;
                    fs::hard_link(&src, &target)?;
                }
                Ok(())
            }
            T::Char | T::Block | T::Fifo => {
                let ft = match kind {
                    T::Char => FileType::CharacterDevice,
                    T::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let h = entry.header();
                let dev = rustix::fs::makedev(h.device_major()?.unwrap_or(0), h.device_minor()?.unwrap_or(0));
                remove_existing(&target)?;
                rustix::fs::mknodat(CWD, &target, ft, Mode::from_raw_mode(meta.mode & 0o7777), dev)
                    .map_err(|e| other(format!("mknod: {e}")))?;
                self.apply(&target, &meta, false)
            }
            other_kind => {
                tracing::debug!(entry = %rel.display(), kind = ?other_kind, "skipping tar entry of unsupported type");
                Ok(())
            }
        }
    }

    /// Creates missing parents (root-owned 0755, as docker does for entries whose
    /// directory the tar omits); refuses to traverse symlinks or non-directories.
    fn ensure_parent(&self, parent: &Path) -> io::Result<PathBuf> {
        let mut cur = self.root.to_path_buf();
        for c in parent.components() {
            cur.push(c);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(other(format!("parent {} is a symlink", c.as_os_str().to_string_lossy())))
                }
                Ok(_) => return Err(other(format!("parent {} is not a directory", c.as_os_str().to_string_lossy()))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&cur)?;
                    // Not whatever the umask leaves: non-root container users must
                    // be able to traverse it.
                    fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(cur)
    }

    /// An existing entry of this layer (a hard link's source), reached without symlinks.
    fn existing(&self, rel: &Path) -> io::Result<PathBuf> {
        if rel.as_os_str().is_empty() {
            return Err(other("hard link to the layer root"));
        }
        let mut cur = self.root.to_path_buf();
        let n = rel.components().count();
        for (i, c) in rel.components().enumerate() {
            cur.push(c);
            let m = fs::symlink_metadata(&cur)
                .map_err(|e| other(format!("hard link target {}: {e}", rel.display())))?;
            if i + 1 < n && !m.is_dir() {
                return Err(other(format!("hard link target {} crosses a non-directory", rel.display())));
            }
        }
        Ok(cur)
    }

    fn chown(&self, path: &Path, meta: &EntryMeta) -> io::Result<()> {
        let (Ok(uid), Ok(gid)) = (u32::try_from(meta.uid), u32::try_from(meta.gid)) else {
            return Err(other("uid/gid out of range"));
        };
        let res = rustix::fs::chownat(
            CWD,
            path,
            Some(rustix::fs::Uid::from_raw_unchecked(uid)),
            Some(rustix::fs::Gid::from_raw_unchecked(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        );
        match res {
            Ok(()) => Ok(()),
            // Unprivileged unpacks (developer runs) keep their own ownership.
            Err(_) if !self.is_root => Ok(()),
            Err(e) => Err(other(format!("chown {uid}:{gid}: {e}"))),
        }
    }

    /// Ownership, then mode (chown clears setuid bits), then xattrs (chown also drops
    /// `security.capability`), then mtime (everything else may touch ctime only).
    fn apply(&self, path: &Path, meta: &EntryMeta, symlink: bool) -> io::Result<()> {
        self.chown(path, meta)?;
        if !symlink {
            fs::set_permissions(path, fs::Permissions::from_mode(meta.mode & 0o7777))?;
        }
        for (name, value) in &meta.xattrs {
            // trusted.* is overlayfs' own namespace: a layer must not forge opaque or
            // redirect markers.
            if name.starts_with("trusted.") {
                continue;
            }
            if let Err(e) = rustix::fs::lsetxattr(path, name.as_str(), value, rustix::fs::XattrFlags::empty()) {
                tracing::debug!(path = %path.display(), xattr = %name, error = %e, "cannot set xattr from layer");
            }
        }
        let t = Timespec { tv_sec: meta.mtime as i64, tv_nsec: 0 };
        rustix::fs::utimensat(CWD, path, &Timestamps { last_access: t, last_modification: t }, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| other(format!("set mtime: {e}")))
    }
}

fn entry_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<EntryMeta> {
    let h = entry.header();
    // Some writers leave uid/gid/mtime blank; Go's archive/tar reads blanks as 0, so do we.
    let mut meta = EntryMeta {
        mode: h.mode()?,
        uid: h.uid().unwrap_or(0),
        gid: h.gid().unwrap_or(0),
        mtime: h.mtime().unwrap_or(0),
        xattrs: Vec::new(),
    };
    // PAX records override the ustar fields they extend.
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            let Ok(key) = ext.key() else { continue };
            let num = || ext.value().ok().and_then(|v| v.split('.').next()?.parse::<u64>().ok());
            match key {
                "uid" => meta.uid = num().unwrap_or(meta.uid),
                "gid" => meta.gid = num().unwrap_or(meta.gid),
                "mtime" => meta.mtime = num().unwrap_or(meta.mtime),
                k => {
                    if let Some(name) = k.strip_prefix("SCHILY.xattr.") {
                        meta.xattrs.push((name.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    Ok(meta)
}

/// Removes whatever is at `path` (a symlink itself, never its target).
fn remove_existing(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    const MTIME: u64 = 1_600_000_000;

    struct Tar(tar::Builder<Vec<u8>>);

    impl Tar {
        fn new() -> Tar {
            Tar(tar::Builder::new(Vec::new()))
        }
        fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(MTIME);
            h.set_size(size);
            h
        }
        fn dir(mut self, path: &str, mode: u32) -> Tar {
            let mut h = Self::header(tar::EntryType::Directory, mode, 0);
            self.0.append_data(&mut h, path, io::empty()).unwrap();
            self
        }
        fn file(self, path: &str, data: &[u8]) -> Tar {
            self.file_owned(path, data, 0o644, 0, 0)
        }
        fn file_owned(mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Tar {
            let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
            h.set_uid(uid);
            h.set_gid(gid);
            self.0.append_data(&mut h, path, data).unwrap();
            self
        }
        fn link(mut self, kind: tar::EntryType, path: &str, target: &str) -> Tar {
            let mut h = Self::header(kind, 0o777, 0);
            self.0.append_link(&mut h, path, target).unwrap();
            self
        }
        /// Raw header with an unchecked name (append_data refuses `..`).
        fn raw_file(mut self, path: &str) -> Tar {
            let mut h = Self::header(tar::EntryType::Regular, 0o644, 1);
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            self.0.append(&h, &b"x"[..]).unwrap();
            self
        }
        fn bytes(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    fn unpack(t: Tar) -> (tempfile::TempDir, io::Result<()>) {
        let dir = tempfile::tempdir().unwrap();
        let res = unpack_tar(&t.bytes()[..], dir.path());
        (dir, res)
    }

    #[test]
    fn whiteouts_become_overlay_markers() {
        let t = Tar::new().dir("etc/", 0o755).file("etc/.wh.passwd", b"").dir("var/cache/", 0o700).file("var/cache/.wh..wh..opq", b"").file("var/cache/new", b"n").file(".wh..wh.plnk", b"");
        let (dir, res) = unpack(t);
        res.unwrap();
        let wh = fs::symlink_metadata(dir.path().join("etc/passwd")).unwrap();
        assert!(wh.file_type().is_char_device(), "whiteout is a char device");
        assert_eq!(wh.rdev(), 0);
        assert!(!dir.path().join("etc/.wh.passwd").exists());
        let mut buf = [0u8; 8];
        let n = rustix::fs::lgetxattr(dir.path().join("var/cache"), "trusted.overlay.opaque", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"y");
        assert!(!dir.path().join("var/cache/.wh..wh..opq").exists());
        assert_eq!(fs::read(dir.path().join("var/cache/new")).unwrap(), b"n");
        assert!(!dir.path().join(".wh..wh.plnk").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn modes_owners_links_and_times() {
        let t = Tar::new()
            .dir("./", 0o755)
            .dir("bin/", 0o755)
            .file_owned("bin/tool", b"#!/bin/sh\n", 0o4755, 0, 0)
            .file_owned("home/u/f", b"data", 0o640, 1000, 1001)
            .link(tar::EntryType::Symlink, "bin/sh", "tool")
            .link(tar::EntryType::Symlink, "etcabs", "/etc/../../outside")
            .link(tar::EntryType::Link, "bin/tool2", "bin/tool")
            .dir("tmp/", 0o1777)
            .dir("ro/", 0o555)
            .file("ro/inside", b"ok");
        let (dir, res) = unpack(t);
        res.unwrap();
        let p = dir.path();
        let tool = fs::metadata(p.join("bin/tool")).unwrap();
        assert_eq!(tool.mode() & 0o7777, 0o4755, "setuid kept");
        assert_eq!(tool.mtime(), MTIME as i64);
        let f = fs::metadata(p.join("home/u/f")).unwrap();
        assert_eq!((f.uid(), f.gid(), f.mode() & 0o777), (1000, 1001, 0o640));
        assert_eq!(fs::metadata(p.join("home")).unwrap().mode() & 0o777, 0o755, "implicit parent");
        assert_eq!(fs::read_link(p.join("bin/sh")).unwrap(), Path::new("tool"));
        assert_eq!(fs::read_link(p.join("etcabs")).unwrap(), Path::new("/etc/../../outside"));
        assert_eq!(fs::symlink_metadata(p.join("bin/sh")).unwrap().mtime(), MTIME as i64);
        assert_eq!(fs::metadata(p.join("bin/tool2")).unwrap().ino(), tool.ino(), "hard link shares the inode");
        assert_eq!(fs::metadata(p.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
        let ro = fs::metadata(p.join("ro")).unwrap();
        assert_eq!(ro.mode() & 0o777, 0o555);
        assert_eq!(ro.mtime(), MTIME as i64, "dir mtime set after its children");
        assert_eq!(fs::metadata(p.join("bin")).unwrap().mtime(), MTIME as i64);
        assert_eq!(fs::metadata(p).unwrap().mtime(), MTIME as i64, "root entry applies to the layer dir");
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let t = Tar::new()
            .file("a", b"first")
            .file("a", b"second")
            .link(tar::EntryType::Symlink, "b", "a")
            .file("b", b"file over symlink")
            .dir("c/", 0o755)
            .file("c/x", b"")
            .file("c", b"file over dir");
        let (dir, res) = unpack(t);
        res.unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"second");
        assert!(fs::symlink_metadata(dir.path().join("b")).unwrap().is_file());
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"second", "symlink not written through");
        assert_eq!(fs::read(dir.path().join("c")).unwrap(), b"file over dir");
    }

    #[test]
    fn refuses_escapes() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_str().unwrap().to_string();

        let (_d, res) = unpack(Tar::new().raw_file("../evil"));
        assert!(res.unwrap_err().to_string().contains("escapes"));

        // A symlink to a directory outside, then a file "through" it.
        let t = Tar::new().link(tar::EntryType::Symlink, "out", &target).file("out/pwned", b"x");
        let (_d, res) = unpack(t);
        assert!(res.unwrap_err().to_string().contains("symlink"));
        assert!(!outside.path().join("pwned").exists());

        // A whiteout through a symlinked directory.
        let t = Tar::new().link(tar::EntryType::Symlink, "out", &target).file("out/.wh.x", b"");
        let (_d, res) = unpack(t);
        assert!(res.is_err());

        // ".wh." alone would name the directory itself.
        let (d, res) = unpack(Tar::new().dir("keep/", 0o755).file("keep/.wh.", b""));
        assert!(res.is_err());
        assert!(d.path().join("keep").is_dir());

        // Hard links may not reach outside or through symlinks.
        let (_d, res) = unpack(Tar::new().link(tar::EntryType::Link, "h", "../../etc/passwd"));
        assert!(res.is_err());
        let t = Tar::new().link(tar::EntryType::Symlink, "s", "/etc").link(tar::EntryType::Link, "h", "s/passwd");
        let (_d, res) = unpack(t);
        assert!(res.is_err());
    }

    #[test]
    fn verifies_diff_id_and_decompresses() {
        let tar_bytes = Tar::new().file("f", b"hello").bytes();
        let diff_id = crate::digest::sha256(&tar_bytes);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar_bytes).unwrap();
        let gz = gz.finish().unwrap();
        let work = tempfile::tempdir().unwrap();
        for (i, blob) in [&tar_bytes, &gz].into_iter().enumerate() {
            let path = work.path().join(format!("blob{i}"));
            fs::write(&path, blob).unwrap();
            let dest = work.path().join(format!("out{i}"));
            fs::create_dir(&dest).unwrap();
            unpack_blob(&path, &dest, &diff_id).unwrap();
            assert_eq!(fs::read(dest.join("f")).unwrap(), b"hello");
            let dest2 = work.path().join(format!("bad{i}"));
            fs::create_dir(&dest2).unwrap();
            let wrong = crate::digest::sha256(b"nope");
            let e = unpack_blob(&path, &dest2, &wrong).unwrap_err().to_string();
            assert!(e.contains("diff id mismatch"), "{e}");
        }
        let zst = work.path().join("zst");
        fs::write(&zst, [0x28, 0xb5, 0x2f, 0xfd, 0, 0]).unwrap();
        let e = unpack_blob(&zst, work.path(), &diff_id).unwrap_err().to_string();
        assert!(e.contains("zstd"), "{e}");
    }
}
