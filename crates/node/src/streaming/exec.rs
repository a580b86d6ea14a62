//! `exec`: the command runs as `runc exec` in the container, its streams relayed on
//! the session's channels; its exit code becomes the session's status.
//!
//! How `runc exec` (1.1) passes streams, and what follows for us:
//! - Without a TTY it gives the process pipes of its own and copies between them and
//!   its stdio, so our pipes work and closing runc's stdin closes the process's.
//! - With `-t` and no `--console-socket` it makes the pseudo-terminal inside the
//!   container (so `tty` names the container's `/dev/pts/N` and the process has it as
//!   its controlling terminal: ^C works) and copies between it and a terminal of its
//!   own, which it puts in raw mode. So we give runc a pseudo-terminal of ours as
//!   stdio and controlling terminal: resizing ours sends runc SIGWINCH and runc
//!   resizes the container's. (A console socket would need `--detach`, and then no
//!   one could collect the exit code.)
//! - The exit code of `runc exec` is the process's (128+n for a signal). When runc
//!   cannot start the process it exits 255 without writing `--pid-file`, and its
//!   `--log` says why: that is an internal error, not an exit code.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use serde_json::Value;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::process::{Child, Command};

use super::{status, ExecTarget, Event, Session, StreamOptions, CHUNK, STDERR, STDOUT};

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// How long output may keep coming after the process ended.
const DRAIN: Duration = Duration::from_secs(5);

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A running `runc exec` and its streams.
struct Process {
    child: Child,
    stdin: Option<Writer>,
    stdout: Option<Reader>,
    stderr: Option<Reader>,
    pty: Option<Arc<AsyncFd<OwnedFd>>>,
    pid_file: PathBuf,
    log_file: PathBuf,
}

impl Process {
    /// Starts the command; with a TTY, on a terminal of `size` (columns, rows).
    fn spawn(target: &ExecTarget, opts: &StreamOptions, size: (u16, u16)) -> io::Result<Process> {
        let name = format!("exec-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let pid_file = target.scratch_dir.join(format!("{name}.pid"));
        let log_file = target.scratch_dir.join(format!("{name}.log"));
        let mut cmd = Command::new(&target.runtime);
        cmd.arg("--root").arg(&target.runtime_root).arg("--log").arg(&log_file).args(["--log-format", "json", "exec"]);
        if opts.tty {
            cmd.arg("-t");
        }
        cmd.arg("--pid-file").arg(&pid_file).arg(&target.id).args(&opts.command).kill_on_drop(true);
        let mut pty = None;
        if opts.tty {
            let (master, slave) = open_pty(size)?;
            cmd.stdin(Stdio::from(slave.try_clone()?)).stdout(Stdio::from(slave.try_clone()?)).stderr(Stdio::from(slave));
            // SAFETY: setsid and ioctl are async-signal-safe; nothing is allocated.
            unsafe {
                cmd.pre_exec(|| {
                    rustix::process::setsid()?;
                    rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(0))?;
                    Ok(())
                });
            }
            // SAFETY: an OwnedFd stays open, and the same descriptor, for as long as it is owned.
            pty = Some(Arc::new(unsafe { AsyncFd::register(master) }?));
        } else {
            let piped = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
            cmd.stdin(piped(opts.stdin)).stdout(piped(opts.stdout)).stderr(piped(opts.stderr));
        }
        let mut child = cmd.spawn()?;
        // The command holds our copies of the terminal's slave side until dropped;
        // the terminal reports its end only once no one holds it.
        drop(cmd);
        let (stdin, stdout, stderr): (Option<Writer>, Option<Reader>, Option<Reader>) = match &pty {
            Some(m) => (Some(Box::new(Pty(m.clone()))), Some(Box::new(Pty(m.clone()))), None),
            None => (
                child.stdin.take().map(|w| Box::new(w) as Writer),
                child.stdout.take().map(|r| Box::new(r) as Reader),
                child.stderr.take().map(|r| Box::new(r) as Reader),
            ),
        };
        Ok(Process { child, stdin, stdout, stderr, pty, pid_file, log_file })
    }

    fn resize(&self, width: u16, height: u16) {
        if let Some(pty) = &self.pty {
            let size = rustix::termios::Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
            let _ = rustix::termios::tcsetwinsize(pty.get_ref(), size);
        }
    }

    /// The process's pid, once runc has started it.
    fn started(&self) -> Option<rustix::process::Pid> {
        read_pid(&self.pid_file)
    }

    /// Ends the command: the process itself if it started (killing runc would leave
    /// it running), else runc.
    fn kill(&mut self) {
        match self.started() {
            Some(pid) => {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            None => {
                let _ = self.child.start_kill();
            }
        }
    }

    /// Why runc could not start the process: its logged error, else its stderr.
    fn start_error(&self, code: i32, stderr: &[u8]) -> String {
        let logged = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let from_log = logged
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| matches!(v["level"].as_str(), Some("error" | "fatal")))
            .and_then(|v| v["msg"].as_str().map(str::to_string));
        let from_stderr = String::from_utf8_lossy(stderr).trim().to_string();
        let why = from_log.or((!from_stderr.is_empty()).then_some(from_stderr)).unwrap_or_else(|| format!("runtime exited with code {code}"));
        format!("error executing command in container: OCI runtime exec failed: {why}")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_file(&self.log_file);
    }
}

fn read_pid(path: &std::path::Path) -> Option<rustix::process::Pid> {
    let text = std::fs::read_to_string(path).ok()?;
    rustix::process::Pid::from_raw(text.trim().parse().ok()?)
}

/// A pseudo-terminal of ours (master, slave) in raw mode, of `size` (columns, rows).
fn open_pty((cols, rows): (u16, u16)) -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pty::{grantpt, ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = openpt(flags)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let slave = ioctl_tiocgptpeer(&master, flags)?;
    let mut termios = rustix::termios::tcgetattr(&slave)?;
    termios.make_raw();
    rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &termios)?;
    rustix::termios::tcsetwinsize(&master, rustix::termios::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 })?;
    rustix::io::ioctl_fionbio(&master, true)?;
    Ok((master, slave))
}

/// The master side of the terminal as an async stream; its end (EIO once no one
/// holds the slave side) reads as end of file.
struct Pty(Arc<AsyncFd<OwnedFd>>);

impl AsyncRead for Pty {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| rustix::io::read(fd.get_ref().as_fd(), &mut *unfilled).map_err(io::Error::from)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Pty {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref().as_fd(), data).map_err(io::Error::from)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Relays a stream to its channel until it ends (or the client is gone).
async fn pump(mut r: Reader, conn: super::Conn, channel: u8) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !conn.send(channel, &buf[..n]).await {
                    break;
                }
            }
        }
    }
}

/// Relays stderr, but holds what comes before runc has started the process: if it
/// never does, that is runc's own complaint, which belongs in the status instead.
/// Returns what it held back (nothing once the process started).
async fn pump_stderr(mut r: Reader, conn: super::Conn, pid_file: PathBuf) -> Vec<u8> {
    let mut buf = vec![0u8; CHUNK];
    let mut held = Vec::new();
    let mut started = false;
    loop {
        let read = if started || held.is_empty() {
            r.read(&mut buf).await
        } else {
            match tokio::time::timeout(Duration::from_millis(20), r.read(&mut buf)).await {
                Ok(read) => read,
                Err(_) => {
                    if read_pid(&pid_file).is_some() {
                        started = true;
                        conn.send(STDERR, &std::mem::take(&mut held)).await;
                    }
                    continue;
                }
            }
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !started && read_pid(&pid_file).is_some() {
            started = true;
            conn.send(STDERR, &std::mem::take(&mut held)).await;
        }
        if started {
            if !conn.send(STDERR, &buf[..n]).await {
                break;
            }
        } else {
            held.extend_from_slice(&buf[..n]);
        }
    }
    held
}

/// The client's input on its way to the command.
struct Input {
    stdin: Option<Writer>,
    tty: bool,
}

impl Input {
    /// Applies one event; false once the client is gone (then so is the command).
    async fn apply(&mut self, ev: Option<Event>, proc: &mut Process) -> bool {
        match ev {
            Some(Event::Stdin(data)) => {
                if let Some(w) = self.stdin.as_mut() {
                    if w.write_all(&data).await.is_err() || w.flush().await.is_err() {
                        self.stdin = None;
                    }
                }
            }
            // A terminal has no end of input to pass on (the client sends ^D).
            Some(Event::StdinClosed) if !self.tty => self.stdin = None,
            Some(Event::StdinClosed) => {}
            Some(Event::Resize(sizes)) => {
                if let Some(&(w, h)) = sizes.last() {
                    proc.resize(w, h);
                }
            }
            Some(Event::Closed) | None => {
                proc.kill();
                return false;
            }
        }
        true
    }
}

/// How long a TTY session waits for the client's first terminal size before the
/// command starts (kubectl sends it at once; a command that starts first would see a
/// default size until the resize lands).
const FIRST_SIZE: Duration = Duration::from_millis(500);

/// The client's first terminal size, and what it sent before it.
async fn first_size(session: &mut Session) -> Result<(Option<(u16, u16)>, Vec<Event>), ()> {
    let mut early = Vec::new();
    let deadline = tokio::time::sleep(FIRST_SIZE);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return Ok((None, early)),
            ev = session.events.recv() => match ev {
                Some(Event::Resize(sizes)) if !sizes.is_empty() => return Ok((sizes.last().copied(), early)),
                Some(Event::Closed) | None => return Err(()),
                Some(ev) => early.push(ev),
            }
        }
    }
}

/// Runs the command for the session, to its end.
pub(super) async fn run(mut session: Session, target: ExecTarget, opts: StreamOptions) {
    let (size, early) = if opts.tty {
        match first_size(&mut session).await {
            Ok(r) => r,
            Err(()) => return session.finish(None).await,
        }
    } else {
        (None, Vec::new())
    };
    let mut proc = match Process::spawn(&target, &opts, size.unwrap_or((80, 24))) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("error executing command in container: starting {}: {e}", target.runtime.display());
            return session.finish(Some(status::internal_error(&msg))).await;
        }
    };
    session.conn.announce(&opts).await;
    let stdout = proc.stdout.take().map(|r| tokio::spawn(pump(r, session.conn.clone(), STDOUT)));
    let stderr = proc.stderr.take().map(|r| tokio::spawn(pump_stderr(r, session.conn.clone(), proc.pid_file.clone())));
    let mut input = Input { stdin: proc.stdin.take(), tty: opts.tty };
    let mut listening = true;
    for ev in early {
        listening &= input.apply(Some(ev), &mut proc).await;
    }
    let exit = loop {
        tokio::select! {
            exit = proc.child.wait() => break exit,
            ev = session.events.recv(), if listening => listening = input.apply(ev, &mut proc).await,
        }
    };
    drop(input);
    if let Some(t) = stdout {
        let _ = tokio::time::timeout(DRAIN, t).await;
    }
    let held = match stderr {
        Some(t) => tokio::time::timeout(DRAIN, t).await.ok().and_then(Result::ok).unwrap_or_default(),
        None => Vec::new(),
    };
    if proc.started().is_some() && !held.is_empty() {
        // It started after all: what stderr held was the command's.
        session.conn.send(STDERR, &held).await;
    }
    let outcome = match exit {
        Err(e) => status::internal_error(&format!("error executing command in container: waiting for the runtime: {e}")),
        Ok(exit) => {
            let code = exit.code().unwrap_or_else(|| 128 + exit.signal().unwrap_or(9));
            if proc.started().is_none() {
                status::internal_error(&proc.start_error(code, &held))
            } else if code == 0 {
                status::success()
            } else {
                status::exit_code(code, &opts.command)
            }
        }
    };
    drop(proc);
    session.finish(Some(outcome)).await;
}
