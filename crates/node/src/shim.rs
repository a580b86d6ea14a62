//! `rkube shim`: the monitor of one container (what conmon or containerd-shim are to
//! other runtimes). It outlives the agent, so containers keep running and their exit
//! status is still collected when `rkube server` restarts.
//!
//! It creates the container with `runc create` (the container inherits the shim's
//! pipes as stdout and stderr), starts it, copies its output into the CRI log file,
//! reaps it as a child subreaper, reads the cgroup's OOM counter while the cgroup still
//! exists, records `exit.json` atomically and deletes the runc container.

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Where the shim of a container keeps what the agent reads.
pub struct ShimArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    pub log: PathBuf,
    pub log_max_bytes: u64,
    /// cgroupsPath of the container (for the OOM counter).
    pub cgroup: String,
}

/// How a container ended, written by its shim.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExitRecord {
    pub exit_code: i32,
    /// Set when the kernel's OOM killer killed a process of the container's cgroup.
    #[serde(default)]
    pub oom_killed: bool,
    /// Set when the runtime could not start the process (e.g. executable not found).
    #[serde(default)]
    pub start_error: Option<String>,
    pub finished_at: String,
    /// When the process started (empty if it never did).
    #[serde(default)]
    pub started_at: String,
}

pub const EXIT_FILE: &str = "exit.json";
pub const PID_FILE: &str = "container.pid";
pub const STARTED_FILE: &str = "started";

pub fn now_rfc3339_nano() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Kubernetes times (whole seconds; micro for Leases), as the controllers write them.
pub use controllers::leader::now_micro as now_rfc3339_micro;
pub use controllers::runtime::now_rfc3339;

/// Runs the shim to the end of its container. Errors before the container exists are
/// recorded as a start error so the agent can report them.
pub fn run(args: ShimArgs) -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    let record = match supervise(&args) {
        Ok(r) => r,
        Err(e) => ExitRecord { exit_code: 128, start_error: Some(e.to_string()), finished_at: now_rfc3339(), ..Default::default() },
    };
    write_atomic(&args.bundle.join(EXIT_FILE), &serde_json::to_vec(&record)?)?;
    let _ = Command::new(&args.runtime)
        .arg("--root")
        .arg(&args.runtime_root)
        .args(["delete", "--force", &args.id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    Ok(())
}

fn supervise(args: &ShimArgs) -> io::Result<ExitRecord> {
    let (out_r, out_w) = io::pipe()?;
    let (err_r, err_w) = io::pipe()?;
    let log = Arc::new(Mutex::new(CriLog::open(&args.log, args.log_max_bytes)?));
    let pumps = [(out_r, "stdout"), (err_r, "stderr")].map(|(r, stream)| {
        let log = log.clone();
        std::thread::spawn(move || pump(r, stream, &log))
    });
    let pid_file = args.bundle.join(PID_FILE);
    let runc_log = args.bundle.join("runc.log");
    let created = Command::new(&args.runtime)
        .arg("--root")
        .arg(&args.runtime_root)
        .arg("--log")
        .arg(&runc_log)
        .args(["--log-format", "json", "create", "--bundle"])
        .arg(&args.bundle)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&args.id)
        .stdin(Stdio::null())
        .stdout(out_w)
        .stderr(err_w)
        .status()?;
    if !created.success() {
        drain(pumps);
        return Ok(start_failure(&runc_log, "create"));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)?.trim().parse().map_err(|_| io::Error::other("bad pid file"))?;
    let started_at = now_rfc3339();
    let started = Command::new(&args.runtime)
        .arg("--root")
        .arg(&args.runtime_root)
        .arg("--log")
        .arg(&runc_log)
        .args(["--log-format", "json", "start", &args.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !started.success() {
        let _ = rustix::process::kill_process(pid_of(pid)?, rustix::process::Signal::KILL);
        reap(pid);
        drain(pumps);
        return Ok(start_failure(&runc_log, "start"));
    }
    write_atomic(&args.bundle.join(STARTED_FILE), started_at.as_bytes())?;
    let exit_code = reap(pid);
    let oom_killed = oom_kills(&args.cgroup) > 0;
    drain(pumps);
    Ok(ExitRecord { exit_code, oom_killed, start_error: None, finished_at: now_rfc3339(), started_at })
}

fn pid_of(pid: i32) -> io::Result<rustix::process::Pid> {
    rustix::process::Pid::from_raw(pid).ok_or_else(|| io::Error::other("pid 0"))
}

/// Waits for the container's init process (re-parented to this subreaper), reaping
/// any other orphans on the way. Returns the exit code as a shell reports it.
fn reap(pid: i32) -> i32 {
    loop {
        match rustix::process::wait(rustix::process::WaitOptions::empty()) {
            Ok(Some((p, status))) if p.as_raw_nonzero().get() == pid => {
                if let Some(code) = status.exit_status() {
                    return code;
                }
                if let Some(sig) = status.terminating_signal() {
                    return 128 + sig;
                }
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            // No children left: the process is gone without our seeing it.
            Err(_) => return 255,
        }
    }
}

/// The runtime's own explanation of why a container could not start.
fn start_failure(runc_log: &Path, step: &str) -> ExitRecord {
    let text = std::fs::read_to_string(runc_log).unwrap_or_default();
    let message = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "error")
        .and_then(|v| v["msg"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("runc {step} failed"));
    ExitRecord { exit_code: 128, oom_killed: false, start_error: Some(message), finished_at: now_rfc3339(), started_at: String::new() }
}

/// Waits for the output pumps to reach the end of the container's output, at most a few
/// seconds: a process that escaped the container's end (e.g. in a shared PID namespace)
/// may hold the pipes open, and the exit must still be recorded.
fn drain(pumps: [std::thread::JoinHandle<()>; 2]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for p in pumps {
        while !p.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if p.is_finished() {
            let _ = p.join();
        }
    }
}

/// OOM kills counted by the container's memory cgroup (v1 or v2).
pub fn oom_kills(cgroup: &str) -> u64 {
    let rel = cgroup.trim_start_matches('/');
    let candidates = [
        (format!("/sys/fs/cgroup/memory/{rel}/memory.oom_control"), "oom_kill "),
        (format!("/sys/fs/cgroup/{rel}/memory.events"), "oom_kill "),
    ];
    for (path, key) in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return text.lines().find_map(|l| l.strip_prefix(key)).and_then(|n| n.trim().parse().ok()).unwrap_or(0);
        }
    }
    0
}

fn pump(r: io::PipeReader, stream: &'static str, log: &Mutex<CriLog>) {
    // Lines longer than this become several partial (P) entries, as upstream splits them.
    const MAX_LINE: usize = 16 * 1024;
    let mut reader = io::BufReader::with_capacity(MAX_LINE, r);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = match (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let full = line[n - 1] == b'\n';
        let content = if full { &line[..n - 1] } else { &line[..] };
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = log.write_entry(stream, full, content);
    }
}

/// A container log in the CRI format: `<RFC3339Nano> <stream> <F|P> <content>\n`,
/// rotated to `<file>.1` when it grows past its limit.
pub struct CriLog {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
    max: u64,
}

impl CriLog {
    pub fn open(path: &Path, max: u64) -> io::Result<CriLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(CriLog { path: path.to_path_buf(), file, size, max })
    }

    pub fn write_entry(&mut self, stream: &str, full: bool, content: &[u8]) -> io::Result<()> {
        let mut entry = Vec::with_capacity(content.len() + 48);
        entry.extend_from_slice(now_rfc3339_nano().as_bytes());
        entry.push(b' ');
        entry.extend_from_slice(stream.as_bytes());
        entry.extend_from_slice(if full { b" F " } else { b" P " });
        entry.extend_from_slice(content);
        entry.push(b'\n');
        if self.max > 0 && self.size > 0 && self.size + entry.len() as u64 > self.max {
            self.rotate()?;
        }
        self.file.write_all(&entry)?;
        self.size += entry.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut rotated = self.path.clone().into_os_string();
        rotated.push(".1");
        std::fs::rename(&self.path, &rotated)?;
        self.file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// Writes `data` to `path` through a temporary file and a rename, so readers see the
/// old content or the new, never a part.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_log_entries_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c").join("0.log");
        let mut log = CriLog::open(&path, 120).unwrap();
        log.write_entry("stdout", true, b"hello").unwrap();
        log.write_entry("stderr", false, b"part").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with(" stdout F hello"), "{text}");
        assert!(lines[1].ends_with(" stderr P part"), "{text}");
        assert!(chrono::DateTime::parse_from_rfc3339(lines[0].split(' ').next().unwrap()).is_ok());
        log.write_entry("stdout", true, b"this one goes past the limit of the file").unwrap();
        assert!(dir.path().join("c").join("0.log.1").exists());
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("past the limit of the file\n"));
    }
}
