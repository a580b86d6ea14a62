//! Pulling from a real registry (Debian's docker-registry), with and without Basic
//! auth, and through a token-auth front that redirects blob downloads elsewhere.

use std::convert::Infallible;
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use image::{credentials_for, ImageError, ImageStore, RegistryAuth};
use testkit::images::{busybox_archive, ArchiveFormat, Registry, REGISTRY_PASSWORD, REGISTRY_USER};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn basic(user: &str, password: &str) -> RegistryAuth {
    RegistryAuth::Basic { username: user.into(), password: password.into() }
}

#[test]
fn pull_by_tag_and_by_digest() {
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let oci = busybox_archive(work.path(), "busybox:1", ArchiveFormat::Oci);
    let docker = busybox_archive(work.path(), "busybox:2", ArchiveFormat::Docker);
    let d1 = reg.push(&oci, "test/busybox:1");
    let d2 = reg.push(&docker, "test/busybox:plain");
    let name = format!("{}/test/busybox", reg.addr());
    let rt = runtime();

    let s = ImageStore::open(&work.path().join("a")).unwrap();
    let info = rt.block_on(s.pull(&format!("{name}:1"), None)).unwrap();
    assert_eq!(info.repo_tags, [format!("{name}:1")]);
    assert_eq!(info.repo_digests, [format!("{name}@{d1}")]);
    assert_eq!(info.config.cmd, ["sh"]);
    assert_eq!(s.resolve(&format!("{name}:1")).unwrap().id, info.id);
    let dirs = s.layer_dirs(&info).unwrap();
    let out = std::process::Command::new(dirs[0].join("bin/busybox")).args(["cat", "/proc/self/comm"]).output().unwrap();
    assert!(out.status.success());

    // Pulling again is a no-op for blobs; a second tag (uncompressed layer, same
    // config) lands on the same image.
    let again = rt.block_on(s.pull(&format!("{name}:1"), None)).unwrap();
    assert_eq!(again, info);
    let plain = rt.block_on(s.pull(&format!("{name}:plain"), None)).unwrap();
    assert_eq!(plain.id, info.id);
    assert_eq!(plain.repo_tags.len(), 2);
    assert_eq!(s.layer_dirs(&plain).unwrap(), dirs, "layer shared by diff id");

    // By digest, into a fresh store: no tag recorded, the digest is.
    let s2 = ImageStore::open(&work.path().join("b")).unwrap();
    let by_digest = rt.block_on(s2.pull(&format!("{name}@{d2}"), None)).unwrap();
    assert!(by_digest.repo_tags.is_empty());
    assert_eq!(by_digest.repo_digests, [format!("{name}@{d2}")]);
    assert_eq!(s2.resolve(&format!("{name}@{d2}")).unwrap().id, info.id);
    assert!(s2.layer_dirs(&by_digest).unwrap()[0].join("bin/busybox").is_file());
}

#[test]
fn missing_images_and_bad_content() {
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let archive = busybox_archive(work.path(), "busybox:1", ArchiveFormat::Oci);
    reg.push(&archive, "test/busybox:1");
    let rt = runtime();
    let s = ImageStore::open(&work.path().join("store")).unwrap();

    for missing in [format!("{}/test/busybox:nope", reg.addr()), format!("{}/no/such:1", reg.addr())] {
        let e = rt.block_on(s.pull(&missing, None)).unwrap_err();
        assert!(matches!(e, ImageError::NotFound { .. }), "{e:?}");
        assert_eq!(e.to_string(), format!("failed to resolve reference \"{missing}\": {missing}: not found"));
    }
    let bad_digest = format!("{}/test/busybox@sha256:{}", reg.addr(), "1".repeat(64));
    assert!(rt.block_on(s.pull(&bad_digest, None)).unwrap_err().to_string().ends_with(": not found"));
    let e = rt.block_on(s.pull("Bad/Name", None)).unwrap_err();
    assert!(matches!(e, ImageError::InvalidReference(_)), "{e}");
    let closed = format!("127.0.0.1:{}/x:1", free_port());
    let e = rt.block_on(s.pull(&closed, None)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("failed to resolve reference \"{closed}\": GET http://")) && e.contains("onnect"), "{e}");

    // The registry's copy of the layer rots: the pull must refuse it.
    let layer_digest = only_layer(&reg, "test/busybox", "1");
    let data = reg.blob_data_path(&layer_digest);
    let mut bytes = fs::read(&data).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&data, &bytes).unwrap();
    let e = rt.block_on(s.pull(&format!("{}/test/busybox:1", reg.addr()), None)).unwrap_err().to_string();
    assert!(e.starts_with("failed to pull and unpack image") && e.contains("digest mismatch"), "{e}");
    assert!(!s.root().join("blobs/sha256").join(&layer_digest[7..]).exists());
    assert!(s.list().is_empty());
    assert_eq!(fs::read_dir(s.root().join("tmp")).unwrap().count(), 0);
}

fn only_layer(reg: &Registry, repo: &str, tag: &str) -> String {
    let accept = "application/vnd.oci.image.manifest.v1+json";
    let (status, _, body) = reg.request("GET", &format!("/v2/{repo}/manifests/{tag}"), &[("accept", accept)], Vec::new());
    assert_eq!(status, 200);
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    m["layers"][0]["digest"].as_str().unwrap().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn basic_auth_registry() {
    let reg = Registry::start_with_basic_auth();
    let work = tempfile::tempdir().unwrap();
    let archive = busybox_archive(work.path(), "busybox:1", ArchiveFormat::Oci);
    reg.push(&archive, "private/busybox:1");
    let rt = runtime();
    let s = ImageStore::open(&work.path().join("store")).unwrap();
    let r = format!("{}/private/busybox:1", reg.addr());

    let e = rt.block_on(s.pull(&r, None)).unwrap_err();
    assert!(matches!(e, ImageError::Unauthorized { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("pull access denied") && text.contains("401 Unauthorized"), "{text}");
    let e = rt.block_on(s.pull(&r, Some(&basic(REGISTRY_USER, "wrong")))).unwrap_err().to_string();
    assert!(e.contains("401 Unauthorized"), "{e}");

    // Credentials as an image pull secret carries them.
    let secret = format!(r#"{{"auths":{{"http://{}/v2/":{{"username":"{REGISTRY_USER}","password":"{REGISTRY_PASSWORD}"}}}}}}"#, reg.addr());
    let auth = credentials_for(secret.as_bytes(), &reg.addr()).unwrap();
    let info = rt.block_on(s.pull(&r, Some(&auth))).unwrap();
    assert_eq!(info.repo_tags, [r]);
}

/// A token-auth front for the registry, the way Docker Hub and most cloud registries
/// work: `/v2/` wants `Bearer t0k`, `/token` hands it out for Basic credentials, and
/// blob downloads are redirected to a separate "storage" origin that refuses requests
/// carrying the registry's Authorization header (as S3 presigned URLs do).
struct TokenFront {
    addr: SocketAddr,
    storage: SocketAddr,
}

const TOKEN: &str = "t0k";

async fn forward(registry: &str, method: hyper::Method, path: &str, accept: Option<String>) -> Response<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(registry).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder().method(method).uri(path).header("host", registry);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = send.send_request(req.body(Empty::<Bytes>::new()).unwrap()).await.unwrap();
    let mut out = Response::builder().status(resp.status());
    for h in ["content-type", "docker-content-digest"] {
        if let Some(v) = resp.headers().get(h) {
            out = out.header(h, v);
        }
    }
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    out.body(Full::new(body)).unwrap()
}

fn reply(status: u16, headers: &[(&str, String)], body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

impl TokenFront {
    async fn start(registry: String) -> TokenFront {
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let storage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = front.local_addr().unwrap();
        let storage_addr = storage.local_addr().unwrap();
        let registry = Arc::new(registry);
        let expected_basic = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"))
        );
        for (listener, is_storage) in [(front, false), (storage, true)] {
            let registry = registry.clone();
            let expected_basic = expected_basic.clone();
            tokio::spawn(async move {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let registry = registry.clone();
                    let expected_basic = expected_basic.clone();
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let registry = registry.clone();
                        let expected_basic = expected_basic.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let authz = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                            let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).map(str::to_string);
                            let resp = if is_storage {
                                if !authz.is_empty() {
                                    reply(400, &[], "storage got the registry's Authorization header")
                                } else {
                                    forward(&registry, req.method().clone(), &path, None).await
                                }
                            } else if path == "/token" {
                                if authz == expected_basic {
                                    reply(200, &[], &format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#))
                                } else {
                                    reply(401, &[], r#"{"details":"incorrect username or password"}"#)
                                }
                            } else if authz != format!("Bearer {TOKEN}") {
                                let challenge = format!(r#"Bearer realm="http://{addr}/token",service="front",scope="repository:private/busybox:pull""#);
                                reply(401, &[("www-authenticate", challenge)], r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#)
                            } else if path.contains("/blobs/") {
                                reply(307, &[("location", format!("http://{storage_addr}{path}"))], "")
                            } else {
                                forward(&registry, req.method().clone(), &path, accept).await
                            };
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc));
                }
            });
        }
        TokenFront { addr, storage: storage_addr }
    }
}

#[test]
fn bearer_token_auth_and_redirected_blobs() {
    let reg = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let archive = busybox_archive(work.path(), "busybox:1", ArchiveFormat::Oci);
    let digest = reg.push(&archive, "private/busybox:1");
    let rt = runtime();
    let front = rt.block_on(TokenFront::start(reg.addr()));
    assert_ne!(front.addr, front.storage);
    let s = ImageStore::open(&work.path().join("store")).unwrap();
    let r = format!("{}/private/busybox:1", front.addr);

    let e = rt.block_on(s.pull(&r, None)).unwrap_err().to_string();
    assert!(e.contains("pull access denied") && e.contains("401 Unauthorized"), "{e}");
    let e = rt.block_on(s.pull(&r, Some(&basic(REGISTRY_USER, "nope")))).unwrap_err().to_string();
    assert!(e.contains("401 Unauthorized"), "{e}");

    let info = rt.block_on(s.pull(&r, Some(&basic(REGISTRY_USER, REGISTRY_PASSWORD)))).unwrap();
    assert_eq!(info.repo_digests, [format!("{}/private/busybox@{digest}", front.addr)]);
    assert!(s.layer_dirs(&info).unwrap()[0].join("bin/busybox").is_file());

    // A pre-issued registry token works without the token dance.
    let s2 = ImageStore::open(&work.path().join("store2")).unwrap();
    rt.block_on(s2.pull(&r, Some(&RegistryAuth::Token(TOKEN.into())))).unwrap();
    assert!(Path::new(&s2.root().join("images.json")).is_file());
}

/// The node agent spawns pulls on a multi-threaded runtime.
#[allow(dead_code)]
fn pull_future_is_send(s: &ImageStore, auth: &RegistryAuth) {
    fn send<T: Send>(_: T) {}
    send(s.pull("x", Some(auth)));
}

#[test]
fn stalled_registry_times_out() {
    use std::io::{Read, Write};
    // First connection: never answers. Second: sends headers and a byte of a longer body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut held = Vec::new();
        for (i, conn) in listener.incoming().take(2).enumerate() {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            if i == 1 {
                conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{").unwrap();
            }
            held.push(conn);
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    });
    let work = tempfile::tempdir().unwrap();
    let s = ImageStore::open(work.path()).unwrap();
    s.set_pull_timeout(std::time::Duration::from_millis(300));
    let rt = runtime();
    let r = format!("{addr}/x:1");
    let e = rt.block_on(s.pull(&r, None)).unwrap_err().to_string();
    assert!(e.starts_with(&format!("failed to resolve reference \"{r}\"")) && e.contains("no response within 300ms"), "{e}");
    let e = rt.block_on(s.pull(&r, None)).unwrap_err().to_string();
    assert!(e.contains("stalled, no data for 300ms"), "{e}");
    server.join().unwrap();
}
