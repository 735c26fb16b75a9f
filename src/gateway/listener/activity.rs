//! What a connection did, and the two timeouts that follow from it: the
//! request path only counts (a byte moved, a request began or ended: one
//! uncontended atomic add each, no clock read, no timer), and one watcher
//! per connection looks at the counts a few times per timeout and decides
//! when one has passed ([`Watch`], a pure function of the counts and the
//! time). A timeout is never early and at most an eighth of the shorter
//! limit (and at most [`MAX_TICK`]) late: a change is dated when the watcher
//! sees it, which is never before it happened.
//!
//! - Header read: from the connection's start and from the end of each
//!   request until the next request's line and headers are in, so it also
//!   bounds keep-alive waits (as hyper's own header timer did).
//! - Idle: no byte moved either way while no request was being handled.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::ConnectionLimits;
use crate::gateway::metrics::ConnectionTimeout;

/// The longest the watcher waits between two looks.
const MAX_TICK: Duration = Duration::from_secs(1);

/// The shortest (a very short limit is still looked at sparingly).
const MIN_TICK: Duration = Duration::from_millis(5);

/// A connection's counts, written on its request path.
#[derive(Debug, Default)]
pub(super) struct Activity {
    /// Reads or writes that moved at least one byte.
    moved: AtomicU64,
    /// Requests that ended.
    ended: AtomicU64,
    /// Requests being handled.
    handling: AtomicUsize,
}

/// The counts as the watcher saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Seen {
    moved: u64,
    ended: u64,
    handling: usize,
}

impl Activity {
    fn seen(&self) -> Seen {
        Seen {
            moved: self.moved.load(Relaxed),
            ended: self.ended.load(Relaxed),
            handling: self.handling.load(Relaxed),
        }
    }

    /// A byte moved.
    pub(super) fn touch(&self) {
        self.moved.fetch_add(1, Relaxed);
    }

    /// A request is being handled until the guard drops.
    pub(super) fn handling(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Relaxed);
        Handling(self.clone())
    }

    /// Resolves with the first of the connection's timeouts that passes.
    pub(super) async fn watch(&self, limits: &ConnectionLimits) -> ConnectionTimeout {
        let tick =
            (limits.header_read_timeout.min(limits.idle_timeout) / 8).clamp(MIN_TICK, MAX_TICK);
        let mut watch = Watch::new(limits, Instant::now(), self.seen());
        let sleep = tokio::time::sleep(tick);
        tokio::pin!(sleep);
        loop {
            sleep.as_mut().await;
            let now = Instant::now();
            match watch.look(now, self.seen()) {
                Ok(timeout) => return timeout,
                Err(next) => sleep.as_mut().reset(next.min(now + tick)),
            }
        }
    }
}

/// A request being handled; it has ended when this drops.
pub(super) struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Relaxed);
        self.0.handling.fetch_sub(1, Relaxed);
    }
}

/// The watcher's state: since when the connection has waited for a
/// request head, and since when it has been quiet.
#[derive(Debug)]
struct Watch {
    header_read: Duration,
    idle: Duration,
    seen: Seen,
    awaiting_head_since: Instant,
    quiet_since: Instant,
}

impl Watch {
    fn new(limits: &ConnectionLimits, now: Instant, seen: Seen) -> Watch {
        Watch {
            header_read: limits.header_read_timeout,
            idle: limits.idle_timeout,
            seen,
            awaiting_head_since: now,
            quiet_since: now,
        }
    }

    /// Takes in the counts seen at `now`: the timeout that has passed, or
    /// the earliest time one could.
    fn look(&mut self, now: Instant, seen: Seen) -> Result<ConnectionTimeout, Instant> {
        let requests = seen.handling > 0 || seen.ended != self.seen.ended;
        if requests {
            self.awaiting_head_since = now;
        }
        if requests || seen.moved != self.seen.moved {
            self.quiet_since = now;
        }
        self.seen = seen;
        let head_by = self.awaiting_head_since + self.header_read;
        let quiet_by = self.quiet_since + self.idle;
        if seen.handling > 0 {
            // Neither runs while a request is handled.
            return Err(now + self.header_read.min(self.idle));
        }
        match (now >= head_by, now >= quiet_by) {
            (true, true) if quiet_by < head_by => Ok(ConnectionTimeout::Idle),
            (true, _) => Ok(ConnectionTimeout::HeaderRead),
            (false, true) => Ok(ConnectionTimeout::Idle),
            (false, false) => Err(head_by.min(quiet_by)),
        }
    }
}

/// A TCP stream that records in its [`Activity`] every time a byte moves.
pub(super) struct Tracked {
    pub(super) stream: TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        poll
    }
}

impl Tracked {
    fn wrote(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
