//! `attach`: what the container writes from now on, read from its CRI log.
//!
//! Upstream's kubelet attaches to the container process's own streams through the
//! runtime. Here the container's stdio belongs to its monitor (`rkube internal shim`),
//! which writes it to the log, so attach follows the log of the running instance:
//! new stdout on channel 1, new stderr on channel 2 (with a TTY, both on 1), until the
//! container stops. The container's stdin is not reachable: asking for it gets a
//! failure on the error channel (use `kubectl exec -i` to send input to a command).

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::task::JoinSet;

use super::{status, Event, ExecTarget, Session, StreamOptions, STDERR, STDOUT};
use crate::logs::{self, LogOptions, StreamFilter};
use crate::server::PodView;

pub const STDIN_UNSUPPORTED: &str =
    "attaching to the standard input of a container is not supported by this node: its output goes to the container log; use exec to send input to a command";

pub(super) async fn run(mut session: Session, target: ExecTarget, opts: StreamOptions, view: Arc<dyn PodView>, uid: String, container: String) {
    if opts.stdin {
        return session.finish(Some(status::bad_request(STDIN_UNSUPPORTED))).await;
    }
    session.conn.announce(&opts).await;
    let finished: logs::Finished = Arc::new(move || !view.container_running(&uid, &container));
    let streams: Vec<(StreamFilter, u8)> = if opts.tty {
        vec![(StreamFilter::All, STDOUT)]
    } else {
        [(opts.stdout, StreamFilter::Stdout, STDOUT), (opts.stderr, StreamFilter::Stderr, STDERR)]
            .into_iter()
            .filter(|(on, _, _)| *on)
            .map(|(_, f, c)| (f, c))
            .collect()
    };
    let mut followers = JoinSet::new();
    for (stream, channel) in streams {
        // Only what comes from now on: the last zero lines, followed.
        let opts = LogOptions { follow: true, tail_lines: Some(0), stream, ..Default::default() };
        let mut log = Box::pin(logs::read(target.log_path.clone(), opts, finished.clone()));
        let conn = session.conn.clone();
        followers.spawn(async move {
            while let Some(Ok(chunk)) = log.next().await {
                if !conn.send(channel, &chunk).await {
                    break;
                }
            }
        });
    }
    loop {
        tokio::select! {
            done = followers.join_next() => if done.is_none() { break },
            ev = session.events.recv() => match ev {
                Some(Event::Closed) | None => {
                    followers.abort_all();
                    break;
                }
                // Neither input nor a size reaches a container through its log.
                Some(_) => {}
            }
        }
    }
    session.finish(Some(status::success())).await;
}
