//! A full disk: writes fail with a clear error and change nothing; what was
//! acknowledged survives SIGKILL, and the server restarts on the full disk.
//! Needs root to mount a small tmpfs (CI runs as root).

use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_fails_writes_cleanly_and_keeps_acknowledged_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mounting a tmpfs needs root (CI runs as root)");
    let _mount = Tmpfs(dir.path().to_path_buf());
    let mut s = TestServer::start_in(BIN, &dir.path().join("data"));
    let payload = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(payload.path(), "x".repeat(200_000)).unwrap();
    let from_file = format!("--from-file=k={}", payload.path().display());
    let mut created = Vec::new();
    let mut failure = String::new();
    for i in 0..40 {
        let name = format!("big{i}");
        let out = s.kubectl(&["create", "configmap", &name, &from_file]);
        if out.status.success() {
            created.push(name);
        } else {
            failure = String::from_utf8_lossy(&out.stderr).into_owned();
        }
    }
    assert!(!created.is_empty() && created.len() < 40, "the disk should fill: {} created", created.len());
    assert!(failure.contains("database or disk is full"), "{failure}");
    s.restart();
    let names = s.ok(&["get", "configmaps", "-o", "name"]);
    for n in &created {
        assert!(names.contains(&format!("configmap/{n}\n")), "{n} lost: {names}");
    }
}
