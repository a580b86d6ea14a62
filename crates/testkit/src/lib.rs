//! Test and benchmark support: boots a real `rkube server` process on a free port in a
//! temp dir, runs stock kubectl against it, and offers a small HTTPS client that
//! authenticates with the admin kubeconfig.

mod client;
pub mod images;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use client::Client;

pub struct TestServer {
    binary: PathBuf,
    extra_args: Vec<String>,
    /// Set when this server runs a node agent (real containers; needs root).
    agent: Option<AgentNet>,
    _dir: Option<tempfile::TempDir>,
    data: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TestServer {
    /// Starts `rkube server --disable-agent` from `binary` in a new temp dir.
    pub fn start(binary: &str) -> TestServer {
        Self::start_with(binary, &[])
    }

    /// Starts a server with extra `rkube server` flags.
    pub fn start_with(binary: &str, extra_args: &[&str]) -> TestServer {
        let dir = tempfile::Builder::new().prefix("rkube-test").tempdir().unwrap();
        let extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        let data = dir.path().to_path_buf();
        let mut s = TestServer { binary: binary.into(), extra_args, agent: None, _dir: Some(dir), data, child: None, port: free_port() };
        s.launch();
        s
    }

    /// Starts a server that also runs a node agent on this machine (as root): pods run
    /// as real containers. Each such server gets its own pod CIDR, CNI bridge, cgroup
    /// root, log dir and agent port, so several run side by side. The pod CIDR is
    /// blackholed and the service CIDR dropped after DNAT, so no pod or service traffic
    /// leaves the machine.
    pub fn start_with_agent(binary: &str, extra_args: &[&str]) -> TestServer {
        let mut dir = tempfile::Builder::new().prefix("rkube-test").tempdir().unwrap();
        // RKUBE_TEST_KEEP=1 keeps the data directory (logs, bundles) for a post-mortem.
        if std::env::var_os("RKUBE_TEST_KEEP").is_some() {
            dir.disable_cleanup(true);
        }
        let data = dir.path().to_path_buf();
        let net = AgentNet::new();
        let mut args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
        args.extend(net.server_args(&data));
        let mut s = TestServer { binary: binary.into(), extra_args: args, agent: Some(net), _dir: Some(dir), data, child: None, port: free_port() };
        s.launch();
        s
    }

    /// Imports an image archive into this server's node (as `rkube image import` does).
    pub fn import_image(&self, archive: &Path) {
        let out = Command::new(&self.binary).args(["image", "import", "--data-dir"]).arg(&self.data).arg(archive).output().unwrap();
        assert!(out.status.success(), "image import failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts a server whose data directory is `data` (which the caller owns).
    pub fn start_in(binary: &str, data: &Path) -> TestServer {
        let mut s = TestServer { binary: binary.into(), extra_args: Vec::new(), agent: None, _dir: None, data: data.to_path_buf(), child: None, port: free_port() };
        s.launch();
        s
    }

    pub fn data_dir(&self) -> &Path {
        self.data.as_path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data.as_path().join("kubeconfig.yaml")
    }

    fn launch(&mut self) {
        std::fs::create_dir_all(&self.data).unwrap();
        let log = std::fs::File::create(self.data.as_path().join("server.log")).unwrap();
        let no_agent: &[&str] = if self.agent.is_some() { &[] } else { &["--disable-agent"] };
        let child = Command::new(&self.binary)
            .arg("server")
            .args(no_agent)
            .args(["--bind-address", "127.0.0.1"])
            .arg("--data-dir")
            .arg(self.data.as_path())
            .args(["--https-listen-port", &self.port.to_string()])
            .args(&self.extra_args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start rkube server");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.kubeconfig().exists() && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let out = self.kubectl(&["get", "--raw", "/readyz"]);
                if out.status.success() && self.boot_writes_done() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rkube server did not become ready; log:\n{}", self.log());
    }

    /// Whether the in-process controllers have made their start-up writes (the root CA
    /// ConfigMap in `default`), so tests that count objects start from a settled state.
    fn boot_writes_done(&self) -> bool {
        self.extra_args.iter().any(|a| a == "--disable-controller-manager")
            || self.kubectl(&["get", "configmap", "kube-root-ca.crt", "-n", "default", "-o", "name"]).status.success()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.as_path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.kubectl_with(&self.kubeconfig(), args, stdin)
    }

    /// Writes a kubeconfig for `user` in `groups` (at most two), authenticating with a
    /// client certificate the cluster CA signs, and returns its path.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> PathBuf {
        let server = format!("https://127.0.0.1:{}", self.port);
        let text = apiserver::certs::user_kubeconfig(&self.data, &server, user, groups).expect("user kubeconfig");
        let file: String = user.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let path = self.data.join(format!("kubeconfig-{file}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs kubectl with the given kubeconfig (e.g. one from `user_kubeconfig`).
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run kubectl");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs kubectl, panicking with its output unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, None)
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_stdin(args, stdin);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs kubectl expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(!out.status.success(), "kubectl {args:?} unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.kubeconfig()).await
    }

    /// CPU time (user + system) the server process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let pid = self.child.as_ref().map(|c| c.id()).unwrap_or(0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        let ticks = field(11) + field(12);
        ticks as f64 / 100.0
    }

    /// Resident memory of the server process in KiB.
    /// The server process's pid (0 when it is not running).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().map(|c| c.id()).unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if let Some(net) = self.agent.take() {
            // Containers outlive the server by design: end them with the server's own tool.
            let _ = Command::new(&self.binary).args(["killall", "--data-dir"]).arg(&self.data).output();
            net.remove();
        }
    }
}

/// The per-server network of an agent-running test server.
struct AgentNet {
    octet: u32,
    kubelet_port: u16,
}

static AGENT_SERVERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl AgentNet {
    fn new() -> AgentNet {
        let n = AGENT_SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Distinct per server in this process, and likely distinct across processes.
        let octet = 100 + (std::process::id() * 7 + n) % 150;
        let net = AgentNet { octet, kubelet_port: free_port() };
        let cidr = net.cluster_cidr();
        let _ = Command::new("ip").args(["route", "replace", "blackhole", &cidr]).status();
        // Whatever still goes to the service CIDR after DNAT is dropped, never routed out.
        let rules = "table inet rkube-test-guard {\n chain postrouting {\n type filter hook postrouting priority 100; policy accept;\n ip daddr 10.43.0.0/16 drop\n }\n}\n";
        let exists = Command::new("nft").args(["list", "table", "inet", "rkube-test-guard"]).output().is_ok_and(|o| o.status.success());
        if !exists {
            if let Ok(mut child) = Command::new("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn() {
                let _ = child.stdin.take().map(|mut i| i.write_all(rules.as_bytes()));
                let _ = child.wait();
            }
        }
        net
    }

    fn cluster_cidr(&self) -> String {
        format!("10.{}.0.0/16", self.octet)
    }

    fn bridge(&self) -> String {
        format!("rkt{}", self.octet)
    }

    fn server_args(&self, data: &Path) -> Vec<String> {
        vec![
            "--cluster-cidr".into(),
            self.cluster_cidr(),
            "--cni-bridge".into(),
            self.bridge(),
            "--kubelet-port".into(),
            self.kubelet_port.to_string(),
            "--pod-log-dir".into(),
            data.join("pod-logs").display().to_string(),
            "--cgroup-root".into(),
            format!("/rkube-test-{}", self.octet),
            "--node-ip".into(),
            "127.0.0.1".into(),
            "--node-name".into(),
            format!("node-{}", self.octet),
        ]
    }

    fn remove(&self) {
        let _ = Command::new("ip").args(["link", "del", &self.bridge()]).status();
        let _ = Command::new("ip").args(["route", "del", "blackhole", &self.cluster_cidr()]).status();
    }
}
