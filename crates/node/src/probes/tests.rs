use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::{
    ContainerPort, ExecAction, GRPCAction, HTTPGetAction, HTTPHeader, TCPSocketAction,
};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::*;

type Handler = fn(::http::Request<Incoming>) -> ::http::Response<Full<Bytes>>;

async fn serve_http(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = service_fn(move |req| async move {
                    if req.uri().path() == "/slow" {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    Ok::<_, Infallible>(handler(req))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn respond(status: u16, location: Option<&str>) -> ::http::Response<Full<Bytes>> {
    let mut b = ::http::Response::builder().status(status);
    if let Some(l) = location {
        b = b.header("Location", l);
    }
    b.body(Full::new(Bytes::from_static(b"body"))).unwrap()
}

fn routes(req: ::http::Request<Incoming>) -> ::http::Response<Full<Bytes>> {
    match req.uri().path() {
        "/ok" | "/slow" => respond(200, None),
        "/fail" => respond(500, None),
        "/redirect" => respond(302, Some("/ok")),
        "/redirect-fail" => respond(301, Some("/fail")),
        "/away" => respond(302, Some("http://elsewhere.invalid:1/")),
        "/loop" => respond(302, Some("/loop")),
        "/headers" => {
            let h = req.headers();
            let ok = h.get("user-agent").map(|v| v == USER_AGENT).unwrap_or(false)
                && h.get("accept").map(|v| v == "*/*").unwrap_or(false)
                && h.get("x-custom").map(|v| v == "yes").unwrap_or(false)
                && h.get("host").map(|v| v == "probe.example").unwrap_or(false);
            respond(if ok { 204 } else { 400 }, None)
        }
        _ => respond(404, None),
    }
}

struct FakeExec {
    results: Mutex<VecDeque<std::io::Result<ExecOutput>>>,
    calls: Mutex<Vec<(String, Vec<String>, Duration)>>,
}

impl FakeExec {
    fn new(results: Vec<std::io::Result<ExecOutput>>) -> Arc<Self> {
        Arc::new(FakeExec { results: Mutex::new(results.into()), calls: Mutex::new(Vec::new()) })
    }
}

impl ExecRunner for FakeExec {
    fn exec(
        &self,
        container_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<ExecOutput>> + Send + '_>> {
        self.calls.lock().unwrap().push((container_id.to_string(), command, timeout));
        let r = self.results.lock().unwrap().pop_front().unwrap_or(Ok(ExecOutput::default()));
        Box::pin(async move { r })
    }
}

fn ok() -> std::io::Result<ExecOutput> {
    Ok(ExecOutput::default())
}

fn fail(msg: &str) -> std::io::Result<ExecOutput> {
    Ok(ExecOutput { exit_code: 1, output: msg.as_bytes().to_vec(), timed_out: false })
}

fn http_probe(port: IntOrString, path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction { port, path: Some(path.into()), ..Default::default() }),
        ..Default::default()
    }
}

fn container() -> Container {
    Container {
        name: "app".into(),
        ports: Some(vec![ContainerPort { name: Some("http".into()), container_port: 0, ..Default::default() }]),
        ..Default::default()
    }
}

const LOCAL: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

async fn run(p: &Probe, c: &Container) -> ProbeResult {
    let exec = FakeExec::new(vec![]);
    probe_once(p, LOCAL, c, "cid", exec.as_ref()).await
}

async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn http_status_redirects_and_headers() {
    let addr = serve_http(routes).await;
    let port = IntOrString::Int(addr.port() as i32);
    let mut c = container();
    c.ports.as_mut().unwrap()[0].container_port = addr.port() as i32;

    assert_eq!(run(&http_probe(port.clone(), "/ok"), &c).await, ProbeResult::Success);
    // Named port.
    assert_eq!(run(&http_probe(IntOrString::String("http".into()), "/ok"), &c).await, ProbeResult::Success);
    assert_eq!(
        run(&http_probe(port.clone(), "/fail"), &c).await,
        ProbeResult::Failure("HTTP probe failed with statuscode: 500".into())
    );
    assert_eq!(run(&http_probe(port.clone(), "/redirect"), &c).await, ProbeResult::Success);
    assert_eq!(
        run(&http_probe(port.clone(), "/redirect-fail"), &c).await,
        ProbeResult::Failure("HTTP probe failed with statuscode: 500".into())
    );
    // Another host: not followed, a success (upstream's warning).
    assert_eq!(run(&http_probe(port.clone(), "/away"), &c).await, ProbeResult::Success);
    assert_eq!(
        run(&http_probe(port.clone(), "/loop"), &c).await,
        ProbeResult::Failure(format!("Get \"http://127.0.0.1:{}/loop\": stopped after 10 redirects", addr.port()))
    );
    let mut p = http_probe(port.clone(), "/headers");
    p.http_get.as_mut().unwrap().http_headers = Some(vec![
        HTTPHeader { name: "X-Custom".into(), value: "yes".into() },
        HTTPHeader { name: "Host".into(), value: "probe.example".into() },
    ]);
    assert_eq!(run(&p, &c).await, ProbeResult::Success);
    // Unknown port name: not run.
    assert_eq!(run(&http_probe(IntOrString::String("nope".into()), "/ok"), &c).await, ProbeResult::Unknown);

    // Timeout (1s default).
    let started = std::time::Instant::now();
    assert_eq!(
        run(&http_probe(port, "/slow"), &c).await,
        ProbeResult::Failure(format!(
            "Get \"http://127.0.0.1:{}/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            addr.port()
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn http_connection_refused() {
    let port = closed_port().await;
    assert_eq!(
        run(&http_probe(IntOrString::Int(port as i32), "/healthz"), &container()).await,
        ProbeResult::Failure(format!(
            "Get \"http://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        ))
    );
}

#[tokio::test]
async fn https_without_verification() {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let svc = service_fn(|req| async move { Ok::<_, Infallible>(routes(req)) });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    });
    let mut p = http_probe(IntOrString::Int(addr.port() as i32), "/ok");
    p.http_get.as_mut().unwrap().scheme = Some("HTTPS".into());
    assert_eq!(run(&p, &container()).await, ProbeResult::Success);
    p.http_get.as_mut().unwrap().path = Some("/fail".into());
    assert_eq!(run(&p, &container()).await, ProbeResult::Failure("HTTP probe failed with statuscode: 500".into()));
}

#[tokio::test]
async fn tcp_open_and_closed() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = l.local_addr().unwrap().port();
    let tcp = |port: u16| Probe {
        tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(port as i32), host: None }),
        ..Default::default()
    };
    assert_eq!(run(&tcp(open), &container()).await, ProbeResult::Success);
    let closed = closed_port().await;
    assert_eq!(
        run(&tcp(closed), &container()).await,
        ProbeResult::Failure(format!("dial tcp 127.0.0.1:{closed}: connect: connection refused"))
    );
}

#[tokio::test]
async fn exec_results() {
    let exec = FakeExec::new(vec![
        ok(),
        fail("boom"),
        Ok(ExecOutput { exit_code: -1, output: vec![], timed_out: true }),
        Err(std::io::Error::other("runc missing")),
    ]);
    let p = Probe {
        exec: Some(ExecAction { command: Some(vec!["sleep".into(), "10".into()]) }),
        timeout_seconds: Some(2),
        ..Default::default()
    };
    let c = container();
    assert_eq!(probe_once(&p, None, &c, "cid-1", exec.as_ref()).await, ProbeResult::Success);
    assert_eq!(probe_once(&p, None, &c, "cid-1", exec.as_ref()).await, ProbeResult::Failure("boom".into()));
    assert_eq!(
        probe_once(&p, None, &c, "cid-1", exec.as_ref()).await,
        ProbeResult::Failure("command \"sleep 10\" timed out".into())
    );
    assert_eq!(probe_once(&p, None, &c, "cid-1", exec.as_ref()).await, ProbeResult::Unknown);
    let calls = exec.calls.lock().unwrap();
    assert_eq!(calls[0], ("cid-1".to_string(), vec!["sleep".to_string(), "10".to_string()], Duration::from_secs(2)));
}

#[test]
fn worker_thresholds() {
    let f = || ProbeResult::Failure("x".into());
    let probe = Probe { failure_threshold: Some(3), success_threshold: Some(2), ..Default::default() };
    let mut w = ProbeWorker::new(ProbeKind::Readiness, &probe);
    assert_eq!(w.observe(&f()), None);
    assert_eq!(w.observe(&ProbeResult::Unknown), None);
    assert_eq!(w.observe(&f()), None);
    assert_eq!(w.observe(&f()), Some((false, Some("Readiness probe failed: x".into()))));
    assert_eq!(w.observe(&f()), None);
    assert_eq!(w.observe(&ProbeResult::Success), None);
    assert_eq!(w.observe(&ProbeResult::Success), Some((true, None)));
    assert_eq!(w.observe(&ProbeResult::Success), None);
    assert!(!w.finished());

    let mut live = ProbeWorker::new(ProbeKind::Liveness, &Probe::default());
    assert_eq!(live.observe(&ProbeResult::Success), Some((true, None)));
    assert_eq!(live.observe(&f()), None);
    assert_eq!(live.observe(&f()), None);
    assert_eq!(live.observe(&f()), Some((false, Some("Liveness probe failed: x".into()))));
    assert!(live.finished());

    let mut startup = ProbeWorker::new(ProbeKind::Startup, &Probe::default());
    assert_eq!(startup.observe(&f()), None);
    assert_eq!(startup.observe(&ProbeResult::Success), Some((true, None)));
    assert!(startup.finished());
}

#[tokio::test(start_paused = true)]
async fn spawned_worker_timing() {
    let exec = FakeExec::new(vec![fail("boom"), fail("boom"), fail("boom"), ok(), ok()]);
    let probe = Probe {
        exec: Some(ExecAction { command: Some(vec!["check".into()]) }),
        initial_delay_seconds: Some(5),
        period_seconds: Some(10),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let handle = spawn_probe(ProbeKind::Readiness, probe, None, container(), "cid".into(), exec.clone(), tx);
    let first = rx.recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(25));
    assert_eq!(
        first,
        ProbeUpdate {
            kind: ProbeKind::Readiness,
            container: "app".into(),
            container_id: "cid".into(),
            healthy: false,
            message: Some("Readiness probe failed: boom".into()),
        }
    );
    let second = rx.recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(35));
    assert!(second.healthy);
    assert_eq!(second.message, None);
    // No further updates while the result does not change.
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert!(rx.try_recv().is_err());
    assert!(!handle.is_finished());
    drop(handle);
    tokio::task::yield_now().await;
    assert!(rx.recv().await.is_none());

    // A liveness worker stops after reporting the failure.
    let exec = FakeExec::new(vec![ok(), fail("dead"), fail("dead"), fail("dead")]);
    let probe = Probe { exec: Some(ExecAction { command: Some(vec!["check".into()]) }), ..Default::default() };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = spawn_probe(ProbeKind::Liveness, probe, None, container(), "cid".into(), exec, tx);
    assert!(rx.recv().await.unwrap().healthy);
    let down = rx.recv().await.unwrap();
    assert!(!down.healthy);
    assert_eq!(down.message.as_deref(), Some("Liveness probe failed: dead"));
    assert!(rx.recv().await.is_none());
    assert!(handle.is_finished());
}

/// A response body with data then trailers.
struct GrpcBody {
    data: Option<Bytes>,
    trailers: Option<::http::HeaderMap>,
}

impl hyper::body::Body for GrpcBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(d) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }
}

async fn health(req: ::http::Request<Incoming>) -> Result<::http::Response<GrpcBody>, Infallible> {
    use http_body_util::BodyExt;
    assert_eq!(req.uri().path(), grpc::PATH);
    assert_eq!(req.headers()["content-type"], "application/grpc");
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let service = String::from_utf8(body[5..].get(2..).unwrap_or_default().to_vec()).unwrap();
    let trailers = |code: &str, msg: &str| {
        let mut t = ::http::HeaderMap::new();
        t.insert("grpc-status", code.parse().unwrap());
        if !msg.is_empty() {
            t.insert("grpc-message", msg.parse().unwrap());
        }
        t
    };
    let resp = ::http::Response::builder().header("content-type", "application/grpc");
    let body = match service.as_str() {
        "" => GrpcBody { data: Some(Bytes::from_static(&[0, 0, 0, 0, 2, 0x08, 1])), trailers: Some(trailers("0", "")) },
        "sick" => GrpcBody { data: Some(Bytes::from_static(&[0, 0, 0, 0, 2, 0x08, 2])), trailers: Some(trailers("0", "")) },
        "missing" => GrpcBody { data: None, trailers: Some(trailers("5", "unknown%20service")) },
        _ => {
            // Trailers-only: the status in the headers.
            return Ok(resp
                .header("grpc-status", "12")
                .header("grpc-message", "unknown service grpc.health.v1.Health")
                .body(GrpcBody { data: None, trailers: None })
                .unwrap());
        }
    };
    Ok(resp.body(body).unwrap())
}

#[tokio::test]
async fn grpc_health_check() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service_fn(health))
                    .await;
            });
        }
    });
    let grpc = |service: Option<&str>, port: u16| Probe {
        grpc: Some(GRPCAction { port: port as i32, service: service.map(str::to_string) }),
        ..Default::default()
    };
    assert_eq!(run(&grpc(None, port), &container()).await, ProbeResult::Success);
    assert_eq!(
        run(&grpc(Some("sick"), port), &container()).await,
        ProbeResult::Failure("service unhealthy (responded with \"NOT_SERVING\")".into())
    );
    assert_eq!(
        run(&grpc(Some("missing"), port), &container()).await,
        ProbeResult::Failure("error: health rpc probe failed: rpc error: code = NotFound desc = unknown service".into())
    );
    assert_eq!(
        run(&grpc(Some("other"), port), &container()).await,
        ProbeResult::Failure(
            "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health".into()
        )
    );
    let closed = closed_port().await;
    match run(&grpc(None, closed), &container()).await {
        ProbeResult::Failure(m) => assert!(
            m.starts_with(&format!("error: failed to connect service at \"127.0.0.1:{closed}\"")) && m.contains("connection refused"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}
