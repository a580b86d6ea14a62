//! Test images and a real registry.
//!
//! `busybox_archive` builds a one-layer image from Debian's static busybox
//! (`busybox-static`) as a docker-archive or an OCI archive; `Registry` runs Debian's
//! `docker-registry` on a loopback port and can push those archives into it through the
//! v2 upload API. Everything is deterministic (fixed mtimes, owners, gzip header), so the
//! same image built twice has the same digests.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;

pub const BUSYBOX: &str = "/bin/busybox";
pub const BUSYBOX_PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub const INDEX_HTML: &str = "hello from rkube busybox\n";

/// Applets linked in /bin (each a symlink to `busybox`).
pub const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "sleep", "httpd", "nc", "wget", "id", "hostname", "env", "true", "false", "kill", "ps",
    "mkdir", "rm", "touch", "grep", "head", "tail", "dd", "yes", "date", "printf", "test", "expr", "seq", "stat", "ln",
    "chmod", "mount", "top", "free", "ip", "nslookup", "readlink", "du", "cp", "mv", "vi", "sed", "awk", "tr", "wc",
    "sort", "uniq", "md5sum", "pwd", "uname", "whoami", "[", "basename", "dirname", "find", "xargs", "less", "more",
    "netstat", "ping", "sync", "umount", "which", "tee", "cut", "diff", "gzip", "gunzip", "tar", "base64", "sha256sum",
    "timeout", "watch", "ifconfig", "route", "chown", "chgrp", "mknod", "mkfifo", "hexdump", "od", "realpath",
];

const MTIME: u64 = 1_700_000_000;
const CREATED: &str = "2023-11-14T22:13:20Z";

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// OCI image layout in a tar (`oci-layout`, `index.json`, `blobs/sha256/`), gzip layer.
    Oci,
    /// `docker save` format (`manifest.json`, `<id>/layer.tar`), uncompressed layer.
    Docker,
}

pub fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        other => other,
    }
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

fn add_dir(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) {
    let mut h = header(tar::EntryType::Directory, mode, 0);
    b.append_data(&mut h, path, std::io::empty()).unwrap();
}

fn add_file(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

/// The root filesystem layer as an uncompressed tar.
pub fn busybox_layer() -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).expect("read /bin/busybox (install Debian's busybox-static)");
    let mut b = tar::Builder::new(Vec::new());
    for (dir, mode) in [
        ("bin/", 0o755),
        ("dev/", 0o755),
        ("etc/", 0o755),
        ("proc/", 0o555),
        ("root/", 0o700),
        ("sys/", 0o555),
        ("tmp/", 0o1777),
        ("usr/", 0o755),
        ("usr/bin/", 0o755),
        ("var/", 0o755),
        ("var/www/", 0o755),
    ] {
        add_dir(&mut b, dir, mode);
    }
    add_file(&mut b, "bin/busybox", 0o755, &busybox);
    for applet in APPLETS {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox").unwrap();
    }
    // Scripts often use /usr/bin/env.
    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
    b.append_link(&mut h, "usr/bin/env", "../../bin/busybox").unwrap();
    add_file(
        &mut b,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    add_file(&mut b, "etc/group", 0o644, b"root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n");
    add_file(&mut b, "var/www/index.html", 0o644, INDEX_HTML.as_bytes());
    b.into_inner().unwrap()
}

fn config_json(diff_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": goarch(),
        "os": "linux",
        "created": CREATED,
        "config": { "Cmd": ["sh"], "Env": [BUSYBOX_PATH_ENV], "WorkingDir": "/" },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": CREATED, "created_by": "rkube testkit busybox_archive" }],
    }))
    .unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    // GzEncoder writes mtime 0 and no file name, so the output is reproducible.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Builds a busybox image archive tagged `name_tag` (e.g. `rkube.test/busybox:1`) in
/// `dir` and returns its path. Config: `Cmd ["sh"]`, the usual PATH, `WorkingDir /`.
pub fn busybox_archive(dir: &Path, name_tag: &str, format: ArchiveFormat) -> PathBuf {
    let layer = busybox_layer();
    let diff_id = digest(&layer);
    let config = config_json(&diff_id);
    let safe: String = name_tag.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let mut out = tar::Builder::new(Vec::new());
    let path = match format {
        ArchiveFormat::Oci => {
            let gz = gzip(&layer);
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": { "mediaType": OCI_CONFIG, "digest": digest(&config), "size": config.len() },
                "layers": [{ "mediaType": OCI_LAYER_GZIP, "digest": digest(&gz), "size": gz.len() }],
            }))
            .unwrap();
            let index = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [{
                    "mediaType": OCI_MANIFEST,
                    "digest": digest(&manifest),
                    "size": manifest.len(),
                    "annotations": {
                        "io.containerd.image.name": name_tag,
                        "org.opencontainers.image.ref.name": name_tag,
                    },
                }],
            }))
            .unwrap();
            add_file(&mut out, "oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#);
            add_file(&mut out, "index.json", 0o644, &index);
            add_dir(&mut out, "blobs/", 0o755);
            add_dir(&mut out, "blobs/sha256/", 0o755);
            for blob in [&gz, &config, &manifest] {
                add_file(&mut out, &format!("blobs/sha256/{}", sha256_hex(blob)), 0o644, blob);
            }
            dir.join(format!("{safe}.oci.tar"))
        }
        ArchiveFormat::Docker => {
            let layer_id = sha256_hex(&layer);
            let config_name = format!("{}.json", sha256_hex(&config));
            let (repo, tag) = name_tag.rsplit_once(':').filter(|(_, t)| !t.contains('/')).unwrap_or((name_tag, "latest"));
            let manifest = serde_json::to_vec(&json!([{
                "Config": config_name,
                "RepoTags": [name_tag],
                "Layers": [format!("{layer_id}/layer.tar")],
            }]))
            .unwrap();
            let repositories = serde_json::to_vec(&json!({ repo: { tag: layer_id } })).unwrap();
            add_dir(&mut out, &format!("{layer_id}/"), 0o755);
            add_file(&mut out, &format!("{layer_id}/VERSION"), 0o644, b"1.0");
            add_file(&mut out, &format!("{layer_id}/json"), 0o644, format!(r#"{{"id":"{layer_id}"}}"#).as_bytes());
            add_file(&mut out, &format!("{layer_id}/layer.tar"), 0o644, &layer);
            add_file(&mut out, &config_name, 0o644, &config);
            add_file(&mut out, "manifest.json", 0o644, &manifest);
            add_file(&mut out, "repositories", 0o644, &repositories);
            dir.join(format!("{safe}.docker.tar"))
        }
    };
    std::fs::write(&path, out.into_inner().unwrap()).unwrap();
    path
}

/// Reads a (plain) tar archive into memory: path -> contents.
fn read_archive(path: &Path) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    let mut a = tar::Archive::new(std::fs::File::open(path).expect("open archive"));
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().trim_start_matches("./").to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.insert(name, data);
    }
    out
}

/// One image's content, ready to push.
struct PushContent {
    manifest: Vec<u8>,
    media_type: String,
    blobs: Vec<Vec<u8>>,
}

fn push_content(archive: &Path) -> PushContent {
    let files = read_archive(archive);
    if let Some(m) = files.get("manifest.json") {
        // docker-archive: no manifest inside; make an OCI one for the plain layer tar.
        let m: serde_json::Value = serde_json::from_slice(m).unwrap();
        let config = files[m[0]["Config"].as_str().unwrap()].clone();
        let layers: Vec<Vec<u8>> =
            m[0]["Layers"].as_array().unwrap().iter().map(|l| files[l.as_str().unwrap()].clone()).collect();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": digest(&config), "size": config.len() },
            "layers": layers.iter().map(|l| json!({ "mediaType": OCI_LAYER_TAR, "digest": digest(l), "size": l.len() })).collect::<Vec<_>>(),
        }))
        .unwrap();
        let mut blobs = layers;
        blobs.push(config);
        return PushContent { manifest, media_type: OCI_MANIFEST.into(), blobs };
    }
    let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).expect("index.json");
    let blob = |d: &str| files[&format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))].clone();
    let mdesc = &index["manifests"][0];
    let manifest = blob(mdesc["digest"].as_str().unwrap());
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let mut blobs = vec![blob(m["config"]["digest"].as_str().unwrap())];
    for l in m["layers"].as_array().unwrap() {
        blobs.push(blob(l["digest"].as_str().unwrap()));
    }
    let media_type = m["mediaType"].as_str().or(mdesc["mediaType"].as_str()).unwrap_or(OCI_MANIFEST).to_string();
    PushContent { manifest, media_type, blobs }
}

pub const REGISTRY_USER: &str = "rkube";
pub const REGISTRY_PASSWORD: &str = "testpass";
/// bcrypt of REGISTRY_PASSWORD (cost 5), precomputed so tests need no bcrypt code.
const REGISTRY_HTPASSWD: &str = "rkube:$2b$05$k4AXE1BKVpcl5H1lnwX1iOfMglG4U2fTTU.UaCWXKjqClVcFJMoaa\n";

/// Debian's `docker-registry` serving a temp dir on a free loopback port; killed on drop.
/// Its methods block on a private runtime: use it from plain `#[test]`s (or outside any
/// async context), not from inside `#[tokio::test]`.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    basic_auth: bool,
    rt: tokio::runtime::Runtime,
}

impl Registry {
    /// A registry without authentication.
    pub fn start() -> Registry {
        Self::launch(false)
    }

    /// A registry demanding HTTP Basic auth as `REGISTRY_USER` / `REGISTRY_PASSWORD`.
    pub fn start_with_basic_auth() -> Registry {
        Self::launch(true)
    }

    fn launch(basic_auth: bool) -> Registry {
        let dir = tempfile::Builder::new().prefix("rkube-registry").tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: rkube-test-secret\n",
            dir.path().join("storage").display()
        );
        if basic_auth {
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, REGISTRY_HTPASSWD).unwrap();
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: rkube-test\n    path: {}\n", htpasswd.display()));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start /usr/bin/docker-registry (install Debian's docker-registry)");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut r = Registry { child, dir, port, basic_auth, rt };
        r.wait_ready();
        r
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited with {status}; log:\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let (status, _, _) = self.request("GET", "/v2/", &[], Vec::new());
                if status == 200 || status == 401 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not become ready; log:\n{}", self.log());
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps a blob's bytes (for corrupting it in tests).
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Sends one request (path or absolute URL on this registry); returns status,
    /// headers and body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, http::HeaderMap, Vec<u8>) {
        let uri: http::Uri = path.parse().unwrap();
        let path_and_query = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let mut req = http::Request::builder().method(method).uri(&path_and_query).header("host", self.addr());
        if self.basic_auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"));
            req = req.header("authorization", format!("Basic {token}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let port = self.port;
        // docker-registry now and then resets a fresh connection under load; every
        // request the tests make is safe to repeat.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let req = req.clone();
            let result: Result<(u16, http::HeaderMap, Vec<u8>), String> = self.rt.block_on(async move {
                let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.into_body().collect().await.map(|b| b.to_bytes().to_vec()).map_err(|e| e.to_string())?;
                Ok((status, headers, body))
            });
            match result {
                Ok(r) => return r,
                Err(e) if attempt < 5 => {
                    eprintln!("registry request {method} {path}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("registry request {method} {path}: {e}"),
            }
        }
    }

    fn upload_blob(&self, repo: &str, blob: &[u8]) {
        let d = digest(blob);
        let (status, _, _) = self.request("HEAD", &format!("/v2/{repo}/blobs/{d}"), &[], Vec::new());
        if status == 200 {
            return;
        }
        let (status, headers, body) = self.request("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], Vec::new());
        assert_eq!(status, 202, "start upload: {}", String::from_utf8_lossy(&body));
        let location = headers["location"].to_str().unwrap().to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let len = blob.len().to_string();
        let (status, _, body) = self.request(
            "PUT",
            &format!("{location}{sep}digest={d}"),
            &[("content-type", "application/octet-stream"), ("content-length", &len)],
            blob.to_vec(),
        );
        assert_eq!(status, 201, "finish upload of {d}: {}", String::from_utf8_lossy(&body));
    }

    /// Pushes the image in `archive` (built by `busybox_archive`) as `repo_tag`
    /// (`repo:tag`, optionally prefixed with this registry's address) and returns the
    /// manifest digest.
    pub fn push(&self, archive: &Path, repo_tag: &str) -> String {
        let repo_tag = repo_tag.strip_prefix(&format!("{}/", self.addr())).unwrap_or(repo_tag);
        let (repo, tag) = repo_tag.rsplit_once(':').expect("repo:tag");
        let content = push_content(archive);
        for blob in &content.blobs {
            self.upload_blob(repo, blob);
        }
        let len = content.manifest.len().to_string();
        let (status, headers, body) = self.request(
            "PUT",
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("content-type", &content.media_type), ("content-length", &len)],
            content.manifest.clone(),
        );
        assert_eq!(status, 201, "push manifest: {}", String::from_utf8_lossy(&body));
        let d = digest(&content.manifest);
        if let Some(h) = headers.get("docker-content-digest") {
            assert_eq!(h.to_str().unwrap(), d);
        }
        d
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
