//! Container probes (upstream: pkg/kubelet/prober and pkg/probe/{exec,http,tcp,grpc}).
//!
//! [`probe_once`] runs one probe attempt and returns upstream's result and message;
//! [`ProbeWorker`] is the pure threshold state machine of upstream's worker;
//! [`spawn_probe`] runs a worker on tokio time for one container and reports
//! [`ProbeUpdate`]s.
//!
//! What a worker sends, exactly:
//! - nothing until the first *thresholded* result: `successThreshold` consecutive
//!   successes or `failureThreshold` consecutive failures (the agent meanwhile assumes
//!   upstream's initial values: not ready, live, not started);
//! - that first thresholded result, then one update each time it flips;
//! - `healthy: false` updates carry `message: Some("<Kind> probe failed: <output>")`
//!   (upstream's Unhealthy event text of the attempt that crossed the threshold);
//!   `healthy: true` updates carry `None`.
//!
//! A liveness or startup worker stops after reporting a failure (upstream puts it on
//! hold until the container is replaced: the agent spawns a new worker for the new
//! container). A startup worker also stops after reporting success; the agent then
//! spawns the liveness and readiness workers (upstream runs them only once the
//! container has started). Attempts that error (e.g. a named port that does not exist,
//! an exec runner I/O error) give [`ProbeResult::Unknown`] and are not counted.

mod grpc;
mod http;

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::sync::mpsc::UnboundedSender;

/// What upstream's User-Agent for probes says (`kube-probe/<major>.<minor>`).
pub const USER_AGENT: &str = "kube-probe/1.33";

/// Output read from a probe (exec output, HTTP body) is limited to 10 KiB.
const MAX_READ: usize = 10 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        })
    }
}

/// One probe attempt's outcome. `Failure` carries upstream's probe output, e.g.
/// `HTTP probe failed with statuscode: 500` or
/// `Get "http://10.42.0.5:8080/healthz": dial tcp 10.42.0.5:8080: connect: connection refused`;
/// the Unhealthy event text is `"<Kind> probe failed: " + output`. An HTTP redirect
/// that is not followed (another host) counts as `Success`, as upstream's Warning
/// does. `Unknown`: the probe could not be run; not counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    Success,
    Failure(String),
    Unknown,
}

/// What running a command in a container produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    /// stdout and stderr, combined.
    pub output: Vec<u8>,
    /// The command did not finish within the timeout (and was killed).
    pub timed_out: bool,
}

/// Runs a command in a running container (the agent implements it with `runc exec`).
pub trait ExecRunner: Send + Sync + 'static {
    fn exec(
        &self,
        container_id: &str,
        command: Vec<String>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<ExecOutput>> + Send + '_>>;
}

/// A change of a container's thresholded probe result (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeUpdate {
    pub kind: ProbeKind,
    /// The container's name.
    pub container: String,
    pub container_id: String,
    /// Liveness: alive; readiness: ready; startup: started.
    pub healthy: bool,
    /// For `healthy: false`: `"<Kind> probe failed: <output>"`.
    pub message: Option<String>,
}

fn positive(v: Option<i32>, default: u32) -> u32 {
    match v {
        Some(v) if v > 0 => v as u32,
        _ => default,
    }
}

/// `timeoutSeconds` (default 1).
pub fn probe_timeout(probe: &Probe) -> Duration {
    Duration::from_secs(positive(probe.timeout_seconds, 1) as u64)
}

/// Runs one attempt of `probe` against the container: exec (through `exec`), httpGet,
/// tcpSocket or grpc, each bounded by `timeoutSeconds`. Network probes default their
/// host to `pod_ip`.
pub async fn probe_once(
    probe: &Probe,
    pod_ip: Option<IpAddr>,
    container: &Container,
    container_id: &str,
    exec: &dyn ExecRunner,
) -> ProbeResult {
    let timeout = probe_timeout(probe);
    if let Some(e) = &probe.exec {
        return exec_probe(e.command.clone().unwrap_or_default(), container_id, timeout, exec).await;
    }
    if let Some(h) = &probe.http_get {
        return http::probe(h, pod_ip, container, timeout).await;
    }
    if let Some(t) = &probe.tcp_socket {
        let host = match t.host.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => h.to_string(),
            None => match pod_ip {
                Some(ip) => ip.to_string(),
                None => return ProbeResult::Unknown,
            },
        };
        let port = match resolve_port(&t.port, container) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(container = %container.name, error = %e, "tcp probe port");
                return ProbeResult::Unknown;
            }
        };
        return tcp_probe(&host, port, timeout).await;
    }
    if let Some(g) = &probe.grpc {
        let Some(ip) = pod_ip else { return ProbeResult::Unknown };
        let service = g.service.clone().unwrap_or_default();
        return grpc::probe(ip, g.port, &service, timeout).await;
    }
    tracing::debug!(container = %container.name, "probe has no handler");
    ProbeResult::Unknown
}

async fn exec_probe(
    command: Vec<String>,
    container_id: &str,
    timeout: Duration,
    exec: &dyn ExecRunner,
) -> ProbeResult {
    let timed_out = || ProbeResult::Failure(format!("command {} timed out", go_quote(&command.join(" "))));
    // The runner enforces the timeout; this is only a safety net if it hangs.
    let guard = timeout + Duration::from_secs(10);
    match tokio::time::timeout(guard, exec.exec(container_id, command.clone(), timeout)).await {
        Err(_) => timed_out(),
        Ok(Err(e)) => {
            tracing::debug!(container_id, error = %e, "exec probe errored");
            ProbeResult::Unknown
        }
        Ok(Ok(out)) if out.timed_out => timed_out(),
        Ok(Ok(out)) if out.exit_code == 0 => ProbeResult::Success,
        Ok(Ok(out)) => {
            let n = out.output.len().min(MAX_READ);
            ProbeResult::Failure(String::from_utf8_lossy(&out.output[..n]).into_owned())
        }
    }
}

/// Upstream's ResolveContainerPort: a number, or a container port name (falling back
/// to a number written as a string); 1–65535.
pub(crate) fn resolve_port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let n: i64 = match port {
        IntOrString::Int(i) => *i as i64,
        IntOrString::String(name) => {
            let named = container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port as i64);
            match named {
                Some(p) => p,
                None => name
                    .parse::<i64>()
                    .map_err(|_| format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(name)))?,
            }
        }
    };
    if n > 0 && n < 65536 {
        Ok(n as u16)
    } else {
        Err(format!("invalid port number: {n}"))
    }
}

/// `host:port`, IPv6 in brackets.
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go-style text of an OS error (`connection refused`).
pub(crate) fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.find(" (os error").map(|i| s[..i].to_string()).unwrap_or(s);
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

pub(crate) use crate::env::downward::go_quote;

/// Go's `%v` of a whole-second duration: `1s`, `1m30s`, `1h0m0s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
    }
}

/// Connects like Go's net.Dial("tcp"), with Go's error texts:
/// `dial tcp 10.0.0.1:80: connect: connection refused`, `dial tcp: lookup x: no such host`.
pub(crate) async fn dial(host: &str, port: u16) -> Result<tokio::net::TcpStream, String> {
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect(),
            Err(_) => return Err(format!("dial tcp: lookup {host}: no such host")),
        },
    };
    let mut last = format!("dial tcp: lookup {host}: no such host");
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("dial tcp {addr}: connect: {}", errno_text(&e)),
        }
    }
    Err(last)
}

async fn tcp_probe(host: &str, port: u16, timeout: Duration) -> ProbeResult {
    match tokio::time::timeout(timeout, dial(host, port)).await {
        Ok(Ok(_conn)) => ProbeResult::Success,
        Ok(Err(e)) => ProbeResult::Failure(e),
        Err(_) => ProbeResult::Failure(format!("dial tcp {}: i/o timeout", join_host_port(host, port))),
    }
}

/// Upstream's worker thresholds, without time: feed it attempt results, it says when
/// the thresholded result changes.
#[derive(Clone, Debug)]
pub struct ProbeWorker {
    kind: ProbeKind,
    success_threshold: u32,
    failure_threshold: u32,
    last: Option<bool>,
    run: u32,
    state: Option<bool>,
    finished: bool,
}

impl ProbeWorker {
    /// Thresholds from the probe: successThreshold (default 1), failureThreshold
    /// (default 3).
    pub fn new(kind: ProbeKind, probe: &Probe) -> Self {
        ProbeWorker {
            kind,
            success_threshold: positive(probe.success_threshold, 1),
            failure_threshold: positive(probe.failure_threshold, 3),
            last: None,
            run: 0,
            state: None,
            finished: false,
        }
    }

    /// Records one attempt. Returns `Some((healthy, message))` when the thresholded
    /// result is first established or changes; `message` is the Unhealthy event text
    /// for a failure.
    pub fn observe(&mut self, result: &ProbeResult) -> Option<(bool, Option<String>)> {
        if self.finished {
            return None;
        }
        let ok = match result {
            ProbeResult::Success => true,
            ProbeResult::Failure(_) => false,
            ProbeResult::Unknown => return None,
        };
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let threshold = if ok { self.success_threshold } else { self.failure_threshold };
        if self.run < threshold {
            return None;
        }
        if matches!(self.kind, ProbeKind::Liveness | ProbeKind::Startup) && !ok {
            self.finished = true;
        }
        if self.kind == ProbeKind::Startup && ok {
            self.finished = true;
        }
        if self.state == Some(ok) {
            return None;
        }
        self.state = Some(ok);
        let message = match result {
            ProbeResult::Failure(out) => Some(format!("{} probe failed: {out}", self.kind)),
            _ => None,
        };
        Some((ok, message))
    }

    /// Whether the worker has nothing more to do (liveness/startup failed, startup
    /// succeeded).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The current thresholded result, if established.
    pub fn state(&self) -> Option<bool> {
        self.state
    }
}

/// A running probe worker; dropping it stops the worker.
pub struct ProbeHandle {
    task: tokio::task::JoinHandle<()>,
}

impl ProbeHandle {
    /// Whether the worker stopped (finished, or its receiver went away).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for ProbeHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts probing a container that has just started: the first attempt after
/// `initialDelaySeconds`, then one every `periodSeconds` (default 10; an attempt that
/// overruns the period delays the next tick). Updates go to `tx` as described in the
/// module docs; the worker ends when it is finished or `tx` is closed.
pub fn spawn_probe(
    kind: ProbeKind,
    probe: Probe,
    pod_ip: Option<IpAddr>,
    container: Container,
    container_id: String,
    exec: Arc<dyn ExecRunner>,
    tx: UnboundedSender<ProbeUpdate>,
) -> ProbeHandle {
    let task = tokio::spawn(async move {
        let mut worker = ProbeWorker::new(kind, &probe);
        let delay = probe.initial_delay_seconds.unwrap_or(0).max(0) as u64;
        let period = Duration::from_secs(positive(probe.period_seconds, 10) as u64);
        tokio::time::sleep(Duration::from_secs(delay)).await;
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = tx.closed() => return,
            }
            let result = probe_once(&probe, pod_ip, &container, &container_id, exec.as_ref()).await;
            if let ProbeResult::Failure(out) = &result {
                tracing::debug!(container = %container.name, %kind, output = %out, "probe failed");
            }
            if let Some((healthy, message)) = worker.observe(&result) {
                let update = ProbeUpdate {
                    kind,
                    container: container.name.clone(),
                    container_id: container_id.clone(),
                    healthy,
                    message,
                };
                if tx.send(update).is_err() {
                    return;
                }
            }
            if worker.finished() {
                return;
            }
        }
    });
    ProbeHandle { task }
}

#[cfg(test)]
mod tests;
