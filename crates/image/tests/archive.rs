//! Importing archives built from Debian's busybox, resolving, removing, and unpacking
//! layers into overlayfs lower dirs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use image::{ImageError, ImageStore};
use testkit::images::{busybox_archive, ArchiveFormat, APPLETS, BUSYBOX, BUSYBOX_PATH_ENV, INDEX_HTML};

fn store(dir: &Path) -> ImageStore {
    ImageStore::open(&dir.join("store")).unwrap()
}

#[test]
fn import_both_formats_resolve_list_remove() {
    let work = tempfile::tempdir().unwrap();
    let s = store(work.path());
    let oci = busybox_archive(work.path(), "rkube.test/busybox:1", ArchiveFormat::Oci);
    let docker = busybox_archive(work.path(), "busybox:docker", ArchiveFormat::Docker);

    let imported = s.import_archive(&oci).unwrap();
    assert_eq!(imported.len(), 1);
    let a = &imported[0];
    assert!(a.id.starts_with("sha256:") && a.id.len() == 71, "{}", a.id);
    assert_eq!(a.repo_tags, ["rkube.test/busybox:1"]);
    assert_eq!(a.repo_digests.len(), 1);
    assert!(a.repo_digests[0].starts_with("rkube.test/busybox@sha256:"), "{:?}", a.repo_digests);
    assert_eq!(a.config.cmd, ["sh"]);
    assert_eq!(a.config.env, [BUSYBOX_PATH_ENV]);
    assert_eq!(a.config.working_dir, "/");
    assert!(a.size > 500_000, "size counts the layer: {}", a.size);

    // Same config, so the same image ID: the docker import adds a tag to it.
    let b = s.import_archive(&docker).unwrap().remove(0);
    assert_eq!(b.id, a.id);
    assert_eq!(b.repo_tags, ["docker.io/library/busybox:docker", "rkube.test/busybox:1"]);
    assert_eq!(b.repo_digests.len(), 2);
    let docker_digest = b.repo_digests.iter().find(|d| d.starts_with("docker.io/library/busybox@")).unwrap().clone();

    // Every way of naming it.
    let short = &a.id["sha256:".len().."sha256:".len() + 12];
    for r in [
        "rkube.test/busybox:1",
        "busybox:docker",
        "docker.io/library/busybox:docker",
        a.repo_digests[0].as_str(),
        docker_digest.as_str(),
        a.id.as_str(),
        short,
        &format!("sha256:{short}"),
    ] {
        assert_eq!(s.resolve(r).map(|i| i.id), Some(a.id.clone()), "resolve {r}");
    }
    for r in ["rkube.test/busybox:2", "busybox", "rkube.test/other:1", "sha256:ffff", "not a ref"] {
        assert!(s.resolve(r).is_none(), "{r} should not resolve");
    }
    assert_eq!(s.list().len(), 1);

    // Untag one; the image stays under the other.
    let before = s.remove("busybox:docker").unwrap();
    assert_eq!(before.repo_tags.len(), 2);
    let now = s.resolve(&a.id).unwrap();
    assert_eq!(now.repo_tags, ["rkube.test/busybox:1"]);
    // Its last tag: the image goes.
    s.remove("rkube.test/busybox:1").unwrap();
    assert!(s.resolve(&a.id).is_none());
    assert!(s.resolve(&a.repo_digests[0]).is_none());
    assert!(s.list().is_empty());
    let e = s.remove("rkube.test/busybox:1").unwrap_err();
    assert!(matches!(e, ImageError::NoSuchImage(_)), "{e}");

    // A gzipped archive imports the same; removing by ID drops every tag at once.
    let gz = work.path().join("busybox.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&fs::read(&docker).unwrap()).unwrap();
    enc.finish().unwrap();
    s.import_archive(&gz).unwrap();
    s.import_archive(&oci).unwrap();
    assert_eq!(s.resolve(short).unwrap().repo_tags.len(), 2);
    s.remove(short).unwrap();
    assert!(s.list().is_empty());
}

#[test]
fn layers_unpack_once_into_runnable_rootfs() {
    let work = tempfile::tempdir().unwrap();
    let s = store(work.path());
    let oci = busybox_archive(work.path(), "rkube.test/busybox:1", ArchiveFormat::Oci);
    let info = s.import_archive(&oci).unwrap().remove(0);

    let dirs = s.layer_dirs(&info).unwrap();
    assert_eq!(dirs.len(), 1);
    let root = &dirs[0];
    assert!(root.starts_with(s.root().join("layers")));
    let bb = fs::metadata(root.join("bin/busybox")).unwrap();
    assert_eq!(bb.len(), fs::metadata(BUSYBOX).unwrap().len());
    assert_eq!(bb.permissions().mode() & 0o777, 0o755);
    for applet in APPLETS {
        assert_eq!(fs::read_link(root.join("bin").join(applet)).unwrap(), Path::new("busybox"), "{applet}");
    }
    assert_eq!(fs::metadata(root.join("tmp")).unwrap().permissions().mode() & 0o7777, 0o1777);
    let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains("root:x:0:0:") && passwd.contains("nobody:x:65534:65534:"), "{passwd}");
    assert!(root.join("etc/group").is_file() && root.join("proc").is_dir() && root.join("root").is_dir());
    assert_eq!(fs::read_to_string(root.join("var/www/index.html")).unwrap(), INDEX_HTML);
    let out = Command::new(root.join("bin/busybox")).args(["echo", "hi"]).output().unwrap();
    assert_eq!(out.stdout, b"hi\n");

    // Second call: same directory, not unpacked again (same inode, our marker survives).
    let ino = fs::metadata(root).unwrap().ino();
    fs::write(root.join("marker"), b"").unwrap();
    assert_eq!(s.layer_dirs(&info).unwrap(), dirs);
    assert_eq!(fs::metadata(root).unwrap().ino(), ino);
    assert!(root.join("marker").exists());

    // The same layer reached through another image (docker-archive: uncompressed blob)
    // and another store handle shares the directory.
    let docker = busybox_archive(work.path(), "rkube.test/busybox:d", ArchiveFormat::Docker);
    let s2 = ImageStore::open(s.root()).unwrap();
    let other = s2.import_archive(&docker).unwrap().remove(0);
    assert_eq!(s2.layer_dirs(&other).unwrap(), dirs);
    assert!(root.join("marker").exists());
    fs::remove_file(root.join("marker")).unwrap();
    assert_eq!(fs::read_dir(s.root().join("tmp")).unwrap().count(), 0, "no staging left behind");
}

#[test]
fn concurrent_first_use_unpacks_once() {
    let work = tempfile::tempdir().unwrap();
    let s = store(work.path());
    let archive = busybox_archive(work.path(), "rkube.test/busybox:1", ArchiveFormat::Docker);
    let info = s.import_archive(&archive).unwrap().remove(0);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| s.clone().layer_dirs(&info).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(fs::read_dir(s.root().join("layers")).unwrap().count(), 1);
    assert!(results[0][0].join("bin/busybox").is_file());
}

#[test]
fn bad_archives_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let s = store(work.path());
    let write_tar = |name: &str, files: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, *data).unwrap();
        }
        let p = work.path().join(name);
        fs::write(&p, b.into_inner().unwrap()).unwrap();
        p
    };

    let p = write_tar("empty.tar", &[("hello.txt", b"hi")]);
    let e = s.import_archive(&p).unwrap_err().to_string();
    assert!(e.starts_with("invalid image archive") && e.contains("neither manifest.json"), "{e}");

    let zeros = format!("blobs/sha256/{}", "0".repeat(64));
    let p = write_tar("lying.tar", &[("oci-layout", b"{}"), ("index.json", br#"{"manifests":[]}"#), (&zeros, b"not zeros")]);
    let e = s.import_archive(&p).unwrap_err().to_string();
    assert!(e.contains("digest mismatch"), "{e}");
    assert_eq!(fs::read_dir(s.root().join("blobs/sha256")).unwrap().count(), 0, "the lying blob was not kept");

    let p = write_tar("missing.tar", &[("manifest.json", br#"[{"Config":"c.json","RepoTags":["a:1"],"Layers":[]}]"#)]);
    let e = s.import_archive(&p).unwrap_err().to_string();
    assert!(e.contains("c.json is listed in manifest.json but not in the archive"), "{e}");

    let e = s.import_archive(&work.path().join("nope.tar")).unwrap_err().to_string();
    assert!(e.contains("nope.tar"), "{e}");
    assert!(s.list().is_empty());
}

fn sha256_hex(data: &[u8]) -> String {
    testkit::images::sha256_hex(data)
}

/// A layer tar from (path, kind) entries: `Some(data)` is a file, `None` a directory.
fn layer(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_600_000_000);
        match data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, path, *d).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// An OCI archive of an image made of `layers` (uncompressed), named `name`.
fn oci_archive(path: &Path, name: &str, layers: &[Vec<u8>]) {
    let d = |b: &[u8]| format!("sha256:{}", sha256_hex(b));
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Cmd": ["/bin/true"] },
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| d(l)).collect::<Vec<_>>() },
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(&config), "size": config.len() },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d(l), "size": l.len() })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d(&manifest), "size": manifest.len(),
                        "annotations": { "org.opencontainers.image.ref.name": name } }],
    }))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |p: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, data).unwrap();
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json", &index);
    for blob in layers.iter().chain([&config, &manifest]) {
        add(&format!("blobs/sha256/{}", sha256_hex(blob)), blob);
    }
    fs::write(path, b.into_inner().unwrap()).unwrap();
}

/// Two layers through a real overlayfs mount: a whiteout hides a lower file, an
/// opaque directory hides the lower directory's content.
#[test]
fn whiteouts_work_in_a_real_overlay_mount() {
    let work = tempfile::tempdir().unwrap();
    let s = store(work.path());
    let lower = layer(&[("a", Some(b"a")), ("keep", Some(b"k")), ("d/", None), ("d/old", Some(b"o"))]);
    let upper = layer(&[(".wh.a", Some(b"")), ("d/", None), ("d/.wh..wh..opq", Some(b"")), ("d/new", Some(b"n"))]);
    let archive = work.path().join("two.tar");
    oci_archive(&archive, "rkube.test/two:1", &[lower, upper]);
    let info = s.import_archive(&archive).unwrap().remove(0);
    assert_eq!(info.repo_tags, ["rkube.test/two:1"]);
    assert_eq!(info.config.cmd, ["/bin/true"]);
    let dirs = s.layer_dirs(&info).unwrap();
    assert_eq!(dirs.len(), 2);

    let merged = work.path().join("merged");
    fs::create_dir(&merged).unwrap();
    // overlayfs lists the topmost lower dir first.
    let lowerdir: Vec<String> = dirs.iter().rev().map(|d| d.display().to_string()).collect();
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &format!("lowerdir={}", lowerdir.join(":"))])
        .arg(&merged)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("skipping the overlay check: cannot mount overlayfs here");
        return;
    }
    let names = |p: &Path| {
        let mut v: Vec<String> = fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    let top = names(&merged);
    let sub = names(&merged.join("d"));
    let _ = Command::new("umount").arg(&merged).status();
    assert_eq!(top, ["d", "keep"]);
    assert_eq!(sub, ["new"]);
}
