//! Reading container logs: the CRI log files the shim writes, served with the semantics
//! upstream's kubelet gives `PodLogOptions` (follow, tailLines, sinceSeconds/sinceTime,
//! timestamps, limitBytes).
//!
//! Layout: `<log_dir>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log`, one file
//! per container instance; a file past its size limit is renamed to `<n>.log.1` and a
//! fresh `<n>.log` started. Each entry is `<RFC3339Nano> <stdout|stderr> <F|P> <content>`;
//! `P` entries are parts of a long line that the next entries continue.
//!
//! Differences from upstream's reader, on purpose: `tailLines` counts whole lines (a
//! line split into partial entries counts once) and reaches into the rotated `.1` file
//! when the current one holds too few; a reader without `tailLines` starts at the
//! rotated file too; a follower notices rotation and truncation and carries on in the
//! new file.

use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, FixedOffset, Utc};
use futures_util::Stream;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::mpsc;

/// How often a follower looks for new data, rotation and the container's end.
const POLL: Duration = Duration::from_millis(150);
/// Output is sent in chunks of about this size (and at every pause in the input).
const CHUNK: usize = 32 * 1024;

/// Which of the container's streams to return.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamFilter {
    #[default]
    All,
    Stdout,
    Stderr,
}

/// What to read, as upstream's PodLogOptions (the time-based options already resolved
/// to one instant).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    /// Keep reading as the container writes, until it has finished and all is read.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<u64>,
    /// Only entries written at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Prefix each line with its RFC3339Nano timestamp and a space.
    pub timestamps: bool,
    /// Stop after this many bytes of output.
    pub limit_bytes: Option<u64>,
    pub stream: StreamFilter,
}

impl LogOptions {
    /// `since` from sinceSeconds and sinceTime as the kubelet combines them: the later
    /// of `now - sinceSeconds` and `sinceTime`.
    pub fn resolve_since(now: DateTime<Utc>, since_seconds: Option<i64>, since_time: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let from_seconds = since_seconds.map(|s| now - chrono::Duration::seconds(s));
        match (from_seconds, since_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Whether the writer of a followed log is done (the container is not running any more).
pub type Finished = Arc<dyn Fn() -> bool + Send + Sync>;

/// `<log_dir>/<namespace>_<pod>_<uid>`.
pub fn pod_log_dir(log_dir: &Path, namespace: &str, pod: &str, uid: &str) -> PathBuf {
    log_dir.join(format!("{namespace}_{pod}_{uid}"))
}

/// `<pod_log_dir>/<container>/<restart>.log`.
pub fn log_path(container_dir: &Path, restart: u32) -> PathBuf {
    container_dir.join(format!("{restart}.log"))
}

fn rotated_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".1");
    PathBuf::from(p)
}

fn restart_of(name: &str) -> Option<u32> {
    name.strip_suffix(".log")?.parse().ok()
}

/// The restart counts of the container instances that have a log in `container_dir`,
/// in ascending order (empty if the directory does not exist).
pub fn instances(container_dir: &Path) -> io::Result<Vec<u32>> {
    let entries = match std::fs::read_dir(container_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut counts: Vec<u32> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(restart_of))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// The instance whose log to read: the current (highest restart count) one, or for
/// `previous` the next lower one that exists.
pub fn select_instance(instances: &[u32], previous: bool) -> Option<u32> {
    let mut it = instances.iter().rev();
    let current = it.next().copied();
    if previous {
        it.next().copied()
    } else {
        current
    }
}

/// Whether an instance newer than the one `path` holds has started logging (then the
/// instance being followed has ended, whatever its container's state says).
fn newer_instance_exists(path: &Path) -> bool {
    let (Some(dir), Some(own)) = (path.parent(), path.file_name().and_then(|n| n.to_str()).and_then(restart_of)) else {
        return false;
    };
    instances(dir).is_ok_and(|all| all.last().is_some_and(|&n| n > own))
}

/// One CRI log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    pub timestamp: DateTime<FixedOffset>,
    pub stderr: bool,
    /// A part of a line that the next entry continues (`P`).
    pub partial: bool,
    /// The content, without the entry's newline.
    pub content: &'a [u8],
}

fn split_field(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = b.iter().position(|&c| c == b' ')?;
    Some((&b[..i], &b[i + 1..]))
}

/// Parses one entry (with or without its trailing newline).
pub fn parse_entry(line: &[u8]) -> Option<Entry<'_>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (ts, rest) = split_field(line)?;
    let timestamp = DateTime::parse_from_rfc3339(std::str::from_utf8(ts).ok()?).ok()?;
    let (stream, rest) = split_field(rest)?;
    let stderr = match stream {
        b"stdout" => false,
        b"stderr" => true,
        _ => return None,
    };
    // Tags are `:`-separated, the first says full or partial (kept open for more).
    let (tags, content) = split_field(rest)?;
    let partial = tags.split(|&c| c == b':').next() == Some(b"P");
    Some(Entry { timestamp, stderr, partial, content })
}

/// Whether an entry ends a line, from the first bytes of the entry (`F`, or anything
/// that does not parse, ends one).
fn header_ends_line(header: &[u8]) -> bool {
    let fields = (|| {
        let (_, rest) = split_field(header)?;
        let (_, rest) = split_field(rest)?;
        let tags = match split_field(rest) {
            Some((tags, _)) => tags,
            None => rest,
        };
        Some(tags.split(|&c| c == b':').next() != Some(b"P"))
    })();
    fields.unwrap_or(true)
}

/// Timestamps as upstream prints them (RFC3339 with nine fraction digits; `Z` for UTC).
pub fn format_timestamp(t: &DateTime<FixedOffset>) -> String {
    if t.offset().local_minus_utc() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string()
    }
}

/// Where the last `want` lines of a log file start, scanning back from its last
/// complete entry; and how many lines the file had for it (fewer than `want` when the
/// whole file is needed).
fn tail_start(f: &std::fs::File, want: u64) -> io::Result<(u64, u64)> {
    const BLOCK: u64 = 64 * 1024;
    const HEADER: u64 = 64;
    let len = f.metadata()?.len();
    let mut buf = vec![0u8; BLOCK as usize];
    // End of the last complete entry (after its newline).
    let mut complete_end = 0;
    let mut pos = len;
    while pos > 0 && complete_end == 0 {
        let start = pos.saturating_sub(BLOCK);
        let chunk = &mut buf[..(pos - start) as usize];
        f.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&c| c == b'\n') {
            complete_end = start + i as u64 + 1;
        }
        pos = start;
    }
    if want == 0 || complete_end == 0 {
        return Ok((complete_end, 0));
    }
    let header_ends = |start: u64, end: u64| -> io::Result<bool> {
        let mut h = vec![0u8; (end - start).min(HEADER) as usize];
        f.read_exact_at(&mut h, start)?;
        Ok(header_ends_line(&h))
    };
    // Lines start at 0 and after every entry that ends one. Walk the entries back,
    // each known once the newline before it is found.
    let mut count = 0;
    let mut entry_end = complete_end - 1; // the newline ending the entry being walked
    let mut pos = entry_end;
    loop {
        let start = pos.saturating_sub(BLOCK);
        let chunk = &mut buf[..(pos - start) as usize];
        f.read_exact_at(chunk, start)?;
        for i in (0..chunk.len()).rev() {
            if chunk[i] != b'\n' {
                continue;
            }
            // The entry after this newline spans [nl + 1, entry_end].
            let nl = start + i as u64;
            let entry_start = nl + 1;
            let line_start = entry_end + 1;
            if line_start < complete_end && header_ends(entry_start, entry_end)? {
                count += 1;
                if count == want {
                    return Ok((line_start, count));
                }
            }
            entry_end = nl;
        }
        pos = start;
        if pos == 0 {
            break;
        }
    }
    // The first entry spans [0, entry_end].
    if entry_end + 1 < complete_end && header_ends(0, entry_end)? {
        count += 1;
        if count == want {
            return Ok((entry_end + 1, count));
        }
    }
    Ok((0, count + 1))
}

/// Turns entries into output under the options: since, stream, timestamps, limitBytes.
struct Writer {
    opts: LogOptions,
    remain: u64,
    at_line_start: bool,
    buf: BytesMut,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

/// Whether to go on reading.
#[derive(PartialEq, Eq)]
enum Flow {
    More,
    /// The byte limit is reached or the client has gone.
    Stop,
}

impl Writer {
    fn write(&mut self, e: &Entry<'_>) -> Flow {
        let starts_line = self.at_line_start;
        // As upstream: a timestamp only at the start of a line, a partial entry's
        // successor continues it.
        self.at_line_start = !e.partial;
        if self.opts.since.is_some_and(|s| e.timestamp < s) {
            return Flow::More;
        }
        let wanted = match self.opts.stream {
            StreamFilter::All => true,
            StreamFilter::Stdout => !e.stderr,
            StreamFilter::Stderr => e.stderr,
        };
        if !wanted {
            return Flow::More;
        }
        let mut line = Vec::with_capacity(e.content.len() + 40);
        if self.opts.timestamps && starts_line {
            line.extend_from_slice(format_timestamp(&e.timestamp).as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(e.content);
        if !e.partial {
            line.push(b'\n');
        }
        let take = (line.len() as u64).min(self.remain) as usize;
        self.buf.extend_from_slice(&line[..take]);
        self.remain -= take as u64;
        if self.remain == 0 {
            Flow::Stop
        } else {
            Flow::More
        }
    }

    /// Sends what is buffered.
    async fn flush(&mut self) -> Flow {
        if self.buf.is_empty() {
            return if self.tx.is_closed() { Flow::Stop } else { Flow::More };
        }
        let chunk = self.buf.split().freeze();
        match self.tx.send(Ok(chunk)).await {
            Ok(()) => Flow::More,
            Err(_) => Flow::Stop,
        }
    }

    async fn line(&mut self, raw: &[u8]) -> Flow {
        if let Some(e) = parse_entry(raw) {
            if self.write(&e) == Flow::Stop {
                return Flow::Stop;
            }
        }
        if self.buf.len() >= CHUNK {
            return self.flush().await;
        }
        Flow::More
    }
}

/// An open log file being read line by line.
struct Reader {
    file: BufReader<tokio::fs::File>,
    /// Bytes of an entry not yet complete (its writer has not finished it).
    pending: Vec<u8>,
    pos: u64,
    ino: u64,
}

impl Reader {
    async fn open(f: std::fs::File, offset: u64) -> io::Result<Reader> {
        let ino = f.metadata()?.ino();
        let mut file = tokio::fs::File::from_std(f);
        file.seek(io::SeekFrom::Start(offset)).await?;
        Ok(Reader { file: BufReader::new(file), pending: Vec::new(), pos: offset, ino })
    }

    /// Writes every complete entry up to the end of the file.
    async fn drain(&mut self, out: &mut Writer) -> io::Result<Flow> {
        loop {
            let n = self.file.read_until(b'\n', &mut self.pending).await?;
            self.pos += n as u64;
            if !self.pending.ends_with(b"\n") {
                return Ok(Flow::More);
            }
            let line = std::mem::take(&mut self.pending);
            if out.line(&line).await == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
    }

    /// Writes all up to the end, including an entry cut short (upstream shows it too).
    async fn drain_all(&mut self, out: &mut Writer) -> io::Result<Flow> {
        if self.drain(out).await? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        let rest = std::mem::take(&mut self.pending);
        if rest.is_empty() {
            return Ok(Flow::More);
        }
        Ok(out.line(&rest).await)
    }
}

/// What changed about the followed path since it was opened.
enum PathChange {
    None,
    /// Renamed away and replaced by a new file.
    Replaced(std::fs::File),
    /// Truncated in place.
    Truncated,
}

fn path_change(path: &Path, r: &Reader) -> PathChange {
    match std::fs::metadata(path) {
        Ok(m) if m.ino() != r.ino => match std::fs::File::open(path) {
            Ok(f) => PathChange::Replaced(f),
            Err(_) => PathChange::None,
        },
        Ok(m) if m.len() < r.pos => PathChange::Truncated,
        _ => PathChange::None,
    }
}

/// The files to read, each with the offset to start at: the rotated file (when the
/// tail reaches into it, or there is no tail), then the current one.
fn plan(path: &Path, tail: Option<u64>) -> io::Result<Vec<(std::fs::File, u64)>> {
    let current = std::fs::File::open(path)?;
    let rotated = std::fs::File::open(rotated_path(path)).ok();
    let Some(want) = tail else {
        return Ok(rotated.into_iter().map(|f| (f, 0)).chain([(current, 0)]).collect());
    };
    let (offset, found) = tail_start(&current, want)?;
    if found >= want || rotated.is_none() {
        return Ok(vec![(current, offset)]);
    }
    let rotated = rotated.unwrap();
    let (rotated_offset, _) = tail_start(&rotated, want - found)?;
    Ok(vec![(rotated, rotated_offset), (current, 0)])
}

async fn run(path: PathBuf, opts: LogOptions, finished: Finished, out: &mut Writer) -> io::Result<()> {
    let tail = opts.tail_lines;
    let plan_path = path.clone();
    let mut files = tokio::task::spawn_blocking(move || plan(&plan_path, tail)).await.map_err(io::Error::other)??;
    let (current, offset) = files.pop().expect("the plan ends with the current file");
    for (f, offset) in files {
        if Reader::open(f, offset).await?.drain_all(out).await? == Flow::Stop {
            return Ok(());
        }
    }
    let mut reader = Reader::open(current, offset).await?;
    if !opts.follow {
        reader.drain_all(out).await?;
        out.flush().await;
        return Ok(());
    }
    let mut finishing = false;
    loop {
        if reader.drain(out).await? == Flow::Stop {
            break;
        }
        match path_change(&path, &reader) {
            PathChange::Replaced(f) => {
                // Whatever the writer put in the old file came before the rename.
                if reader.drain(out).await? == Flow::Stop {
                    break;
                }
                reader = Reader::open(f, 0).await?;
                continue;
            }
            PathChange::Truncated => {
                reader.file.seek(io::SeekFrom::Start(0)).await?;
                reader.pending.clear();
                reader.pos = 0;
                continue;
            }
            PathChange::None => {}
        }
        if out.flush().await == Flow::Stop || finishing {
            break;
        }
        if finished() || newer_instance_exists(&path) {
            // One more pass: the last words may have landed since the read above.
            finishing = true;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = out.tx.closed() => break,
        }
    }
    out.flush().await;
    Ok(())
}

/// Reads the log at `path` (a `<restart>.log`, with its rotated `.1` before it) under
/// `opts`, as a stream of output chunks for an HTTP body. With `follow` it ends once
/// `finished` says so (or a newer instance of the container has started) and all is
/// read; dropping the stream stops the reader.
pub fn read(path: PathBuf, opts: LogOptions, finished: Finished) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = mpsc::channel(8);
    let remain = opts.limit_bytes.unwrap_or(u64::MAX);
    let mut out = Writer { opts: opts.clone(), remain, at_line_start: true, buf: BytesMut::new(), tx };
    tokio::spawn(async move {
        if remain == 0 {
            return;
        }
        if let Err(e) = run(path, opts, finished, &mut out).await {
            out.flush().await;
            let _ = out.tx.send(Err(e)).await;
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn entry(ts: &str, stream: &str, tag: &str, content: &str) -> String {
        format!("{ts} {stream} {tag} {content}\n")
    }

    fn ts(sec: u32) -> String {
        format!("2026-11-23T18:25:{sec:02}.123456789Z")
    }

    fn never() -> Finished {
        Arc::new(|| false)
    }

    fn done() -> Finished {
        Arc::new(|| true)
    }

    async fn collect(path: &Path, opts: LogOptions) -> String {
        let chunks: Vec<io::Result<Bytes>> = read(path.to_path_buf(), opts, done()).collect().await;
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&c.unwrap());
        }
        String::from_utf8(out).unwrap()
    }

    async fn next<S: Stream<Item = io::Result<Bytes>> + Unpin>(s: &mut S) -> Option<io::Result<Bytes>> {
        tokio::time::timeout(Duration::from_secs(5), s.next()).await.expect("no output in time")
    }

    fn write_log(dir: &Path, name: &str, entries: &[String]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, entries.concat()).unwrap();
        path
    }

    fn sample() -> Vec<String> {
        vec![
            entry(&ts(1), "stdout", "F", "one"),
            entry(&ts(2), "stderr", "F", "two"),
            entry(&ts(3), "stdout", "P", "thr"),
            entry(&ts(4), "stdout", "P", "e"),
            entry(&ts(5), "stdout", "F", "e"),
            entry(&ts(6), "stdout", "F", "four"),
        ]
    }

    #[test]
    fn parses_entries() {
        let e = parse_entry(b"2026-11-23T18:25:38.123456789Z stdout F hello world\n").unwrap();
        assert_eq!((e.stderr, e.partial, e.content), (false, false, &b"hello world"[..]));
        let e = parse_entry(b"2026-11-23T18:25:38Z stderr P:x \n").unwrap();
        assert_eq!((e.stderr, e.partial, e.content), (true, true, &b""[..]));
        assert!(parse_entry(b"garbage\n").is_none());
        assert!(parse_entry(b"2026-11-23T18:25:38Z stdin F x\n").is_none());
        assert_eq!(format_timestamp(&e.timestamp), "2026-11-23T18:25:38.000000000Z");
        let t = DateTime::parse_from_rfc3339("2026-11-23T18:25:38.5+02:00").unwrap();
        assert_eq!(format_timestamp(&t), "2026-11-23T18:25:38.500000000+02:00");
    }

    #[test]
    fn instances_and_selection() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(instances(&dir.path().join("missing")).unwrap(), Vec::<u32>::new());
        for f in ["0.log", "2.log", "2.log.1", "10.log", "x.log", "3.txt"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let all = instances(dir.path()).unwrap();
        assert_eq!(all, [0, 2, 10]);
        assert_eq!(select_instance(&all, false), Some(10));
        assert_eq!(select_instance(&all, true), Some(2));
        assert_eq!(select_instance(&[0], true), None);
        assert_eq!(select_instance(&[], false), None);
        assert!(newer_instance_exists(&dir.path().join("2.log")));
        assert!(!newer_instance_exists(&dir.path().join("10.log")));
        assert_eq!(pod_log_dir(Path::new("/l"), "ns", "p", "u"), Path::new("/l/ns_p_u"));
    }

    #[tokio::test]
    async fn reads_all_joining_partials_and_interleaving_streams() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "0.log", &sample());
        assert_eq!(collect(&path, LogOptions::default()).await, "one\ntwo\nthree\nfour\n");
        let stdout = LogOptions { stream: StreamFilter::Stdout, ..Default::default() };
        assert_eq!(collect(&path, stdout).await, "one\nthree\nfour\n");
        let stderr = LogOptions { stream: StreamFilter::Stderr, ..Default::default() };
        assert_eq!(collect(&path, stderr).await, "two\n");
    }

    #[tokio::test]
    async fn tail_counts_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "0.log", &sample());
        let tail = |n| LogOptions { tail_lines: Some(n), ..Default::default() };
        assert_eq!(collect(&path, tail(0)).await, "");
        assert_eq!(collect(&path, tail(1)).await, "four\n");
        assert_eq!(collect(&path, tail(2)).await, "three\nfour\n");
        assert_eq!(collect(&path, tail(3)).await, "two\nthree\nfour\n");
        assert_eq!(collect(&path, tail(4)).await, "one\ntwo\nthree\nfour\n");
        assert_eq!(collect(&path, tail(100)).await, "one\ntwo\nthree\nfour\n");
        // A line still being written (partial entries at the end) is the last line.
        let mut entries = sample();
        entries.push(entry(&ts(7), "stdout", "P", "unfini"));
        let path = write_log(dir.path(), "1.log", &entries);
        assert_eq!(collect(&path, tail(2)).await, "four\nunfini");
    }

    #[tokio::test]
    async fn tail_reaches_into_the_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), "0.log.1", &[entry(&ts(1), "stdout", "F", "old1"), entry(&ts(2), "stdout", "F", "old2")]);
        let path = write_log(dir.path(), "0.log", &[entry(&ts(3), "stdout", "F", "new1"), entry(&ts(4), "stdout", "F", "new2")]);
        let tail = |n| LogOptions { tail_lines: Some(n), ..Default::default() };
        assert_eq!(collect(&path, tail(2)).await, "new1\nnew2\n");
        assert_eq!(collect(&path, tail(3)).await, "old2\nnew1\nnew2\n");
        assert_eq!(collect(&path, tail(9)).await, "old1\nold2\nnew1\nnew2\n");
        assert_eq!(collect(&path, LogOptions::default()).await, "old1\nold2\nnew1\nnew2\n");
    }

    #[tokio::test]
    async fn tail_over_many_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(50_000);
        let mut entries = Vec::new();
        for i in 0..20 {
            entries.push(entry(&ts(1), "stdout", "P", &long));
            entries.push(entry(&ts(1), "stdout", "F", &format!("end{i}")));
        }
        let path = write_log(dir.path(), "0.log", &entries);
        let out = collect(&path, LogOptions { tail_lines: Some(3), ..Default::default() }).await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], format!("{long}end17"));
        assert_eq!(lines[2], format!("{long}end19"));
    }

    #[tokio::test]
    async fn since_timestamps_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "0.log", &sample());
        let since = DateTime::parse_from_rfc3339(&ts(2)).unwrap().with_timezone(&Utc);
        let opts = LogOptions { since: Some(since), ..Default::default() };
        assert_eq!(collect(&path, opts).await, "two\nthree\nfour\n");
        let opts = LogOptions { timestamps: true, tail_lines: Some(2), ..Default::default() };
        assert_eq!(collect(&path, opts).await, format!("{} three\n{} four\n", ts(3), ts(6)));
        let opts = LogOptions { limit_bytes: Some(6), ..Default::default() };
        assert_eq!(collect(&path, opts).await, "one\ntw");
        let opts = LogOptions { limit_bytes: Some(4), follow: true, ..Default::default() };
        let out: Vec<_> = read(path.clone(), opts, never()).collect().await;
        assert_eq!(out.len(), 1, "the limit ends a follow");
        let now = DateTime::parse_from_rfc3339(&ts(10)).unwrap().with_timezone(&Utc);
        let t = DateTime::parse_from_rfc3339(&ts(8)).unwrap().with_timezone(&Utc);
        assert_eq!(LogOptions::resolve_since(now, Some(5), Some(t)), Some(t));
        assert_eq!(LogOptions::resolve_since(now, Some(1), Some(t)), Some(now - chrono::Duration::seconds(1)));
        assert_eq!(LogOptions::resolve_since(now, None, None), None);
    }

    #[tokio::test]
    async fn follows_through_rotation_until_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "0.log", &[entry(&ts(1), "stdout", "F", "a")]);
        let fin = Arc::new(AtomicBool::new(false));
        let f = fin.clone();
        let opts = LogOptions { follow: true, ..Default::default() };
        let mut s = Box::pin(read(path.clone(), opts, Arc::new(move || f.load(Ordering::SeqCst))));
        let first: Option<io::Result<Bytes>> = next(&mut s).await;
        assert_eq!(first.unwrap().unwrap(), "a\n");
        // Append, with an entry written in two steps.
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"2026-11-23T18:25:02Z stdout F hal").unwrap();
        file.flush().unwrap();
        tokio::time::sleep(POLL * 2).await;
        file.write_all(b"f\n").unwrap();
        assert_eq!(next(&mut s).await.unwrap().unwrap(), "half\n");
        // Rotate: rename away (after a last write to the old file) and start afresh.
        file.write_all(entry(&ts(3), "stdout", "F", "last-old").as_bytes()).unwrap();
        std::fs::rename(&path, rotated_path(&path)).unwrap();
        drop(file);
        std::fs::write(&path, entry(&ts(4), "stderr", "F", "first-new")).unwrap();
        let mut got = String::new();
        while !got.ends_with("first-new\n") {
            got.push_str(std::str::from_utf8(&next(&mut s).await.unwrap().unwrap()).unwrap());
        }
        assert_eq!(got, "last-old\nfirst-new\n");
        // Truncation in place starts over.
        std::fs::write(&path, entry(&ts(5), "stdout", "F", "t")).unwrap();
        assert_eq!(next(&mut s).await.unwrap().unwrap(), "t\n");
        // The container ends after writing its last line: that line still arrives.
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(entry(&ts(6), "stdout", "F", "bye").as_bytes()).unwrap();
        fin.store(true, Ordering::SeqCst);
        let mut rest = String::new();
        while let Some(chunk) = next(&mut s).await {
            rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
        assert_eq!(rest, "bye\n");
    }

    #[tokio::test]
    async fn follow_ends_when_a_newer_instance_starts_or_the_client_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "0.log", &[entry(&ts(1), "stdout", "F", "a")]);
        let opts = LogOptions { follow: true, ..Default::default() };
        let s = read(path.clone(), opts.clone(), never());
        std::fs::write(dir.path().join("1.log"), "").unwrap();
        let out: Vec<_> = tokio::time::timeout(Duration::from_secs(5), s.collect::<Vec<_>>()).await.unwrap();
        assert_eq!(out.len(), 1);
        // A dropped stream stops its reader (the channel closes; nothing hangs).
        let path = write_log(dir.path(), "1.log", &[entry(&ts(1), "stdout", "F", "b")]);
        let mut s = Box::pin(read(path, opts, never()));
        assert_eq!(s.next().await.unwrap().unwrap(), "b\n");
        drop(s);
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out: Vec<_> = read(dir.path().join("0.log"), LogOptions::default(), done()).collect().await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
