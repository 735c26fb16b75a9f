//! The gateway's own serving loop on hyper's HTTP/1.1 connection builder,
//! with what `axum::serve` lacks in front of untrusted clients:
//!
//! - a client has `header_read_timeout` to send a request's line and
//!   headers, counted from the connection's start and, on a kept-alive
//!   connection, from the end of the previous request, so it also bounds
//!   keep-alive waits;
//! - a connection on which no byte moves either way while no request is
//!   being handled is closed after `idle_timeout` (a stalled body upload,
//!   a client that stops reading a response);
//! - at most `max_connections` are open at once. At the cap the loop stops
//!   accepting until one closes: new clients wait in the kernel's listen
//!   backlog, costing the process no file descriptor, and are served as
//!   soon as the timeouts above free a slot. (Accept-and-close would turn
//!   honest clients away exactly while slow ones hold every slot.)
//!
//! Each connection is served by the application for its peer
//! ([`Envelope::for_peer`]); routed handlers get it as `ConnectInfo<SocketAddr>`.
//! Both timeouts are kept by one watcher per connection over counts the
//! request path keeps (`activity`): no timer and no clock reading per
//! request. On shutdown the loop
//! stops accepting, closes idle connections, lets in-flight requests finish
//! and waits for them at most the drain time.

mod activity;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use self::activity::{Activity, Tracked};
use super::envelope::Envelope;
use super::metrics::ConnectionMetrics;
use super::{Gateway, GatewayConfig, GatewayError};

/// File descriptors kept free for everything that is not a client
/// connection: the store, the listeners, the runtime, key fetches, logs.
const RESERVED_FDS: u64 = 64;

/// How long the accept loop pauses after a failed accept (e.g. the process
/// or the system is out of file descriptors), so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The least read buffer of a connection; hyper refuses smaller ones.
const MIN_READ_BUFFER: usize = 64 * 1024;

/// What one listener allows its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's line and headers.
    pub header_read_timeout: Duration,
    /// Time a connection may move no byte while no request is handled.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Largest read buffer of one connection, in bytes: it bounds the memory
    /// a connection that never finishes its headers can hold.
    pub read_buffer: usize,
}

impl ConnectionLimits {
    /// The main listener's and the ops listener's limits. Zero timeouts or
    /// caps are refused: they would switch a protection off.
    pub fn from_config(
        c: &GatewayConfig,
    ) -> Result<(ConnectionLimits, ConnectionLimits), GatewayError> {
        for (name, value) in [
            ("header_read_timeout_ms", c.header_read_timeout_ms),
            ("idle_timeout_ms", c.idle_timeout_ms),
            ("max_connections", c.max_connections as u64),
            ("ops_max_connections", c.ops_max_connections as u64),
        ] {
            if value == 0 {
                return Err(GatewayError::Serve(format!("{name} must be at least 1")));
            }
        }
        let main = ConnectionLimits {
            header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(c.idle_timeout_ms),
            max_connections: c.max_connections,
            read_buffer: MIN_READ_BUFFER.max(c.max_header_bytes.saturating_mul(4)),
        };
        let ops = ConnectionLimits {
            max_connections: c.ops_max_connections,
            ..main
        };
        Ok((main, ops))
    }

    /// Fits the main listener's cap to the open-file limit: the soft limit
    /// is raised as far as both caps need (never past the hard limit; the
    /// caps still apply), and if that is not enough the main cap is lowered
    /// to what fits, with a warning. `others` are the ops listener's
    /// connections; each connection costs `fds_per_connection` descriptors.
    pub fn fit_open_files(mut self, others: usize, fds_per_connection: u64) -> ConnectionLimits {
        let per = fds_per_connection.max(1);
        let reserved = RESERVED_FDS.saturating_add((others as u64).saturating_mul(per));
        let needed = reserved.saturating_add((self.max_connections as u64).saturating_mul(per));
        match rlimit::increase_nofile_limit(needed) {
            Ok(soft) if soft < needed => {
                let fitting = fitting_cap(self.max_connections, reserved, per, soft);
                tracing::warn!(
                    configured = self.max_connections,
                    max_connections = fitting,
                    open_file_limit = soft,
                    "max_connections lowered to fit the open-file limit"
                );
                self.max_connections = fitting;
            }
            Ok(soft) => tracing::info!(
                max_connections = self.max_connections,
                open_file_limit = soft,
                "connection cap"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                max_connections = self.max_connections,
                "cannot read the open-file limit; keeping max_connections"
            ),
        }
        self
    }
}

/// The largest cap, at most `wanted` and at least 1, whose connections fit
/// in `soft` descriptors next to `reserved` ones.
fn fitting_cap(wanted: usize, reserved: u64, per: u64, soft: u64) -> usize {
    let fits = soft.saturating_sub(reserved) / per.max(1);
    usize::try_from(fits)
        .unwrap_or(usize::MAX)
        .clamp(1, wanted.max(1))
}

/// A bound socket, the application it serves, and its connection slots.
pub struct Listener {
    tcp: TcpListener,
    app: Envelope,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    gateway: Gateway,
}

impl Listener {
    /// A listener serving `app` on `tcp` within `limits`; connections
    /// are counted in `gateway`'s metrics.
    pub fn new(
        tcp: TcpListener,
        app: Envelope,
        limits: ConnectionLimits,
        gateway: Gateway,
    ) -> Listener {
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        Listener {
            tcp,
            app,
            limits,
            slots,
            gateway,
        }
    }

    /// Accepts connections until `shutdown` turns true, then waits at most
    /// `drain` for the open ones to finish.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, drain: Duration) {
        while let Some(slot) = self.free_slot(&mut shutdown).await {
            let accepted = tokio::select! {
                accepted = self.tcp.accept() => accepted,
                _ = shutdown.wait_for(|&stop| stop) => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let connection = Connection {
                        app: self.app.for_peer(peer),
                        limits: self.limits,
                        gateway: self.gateway.clone(),
                        slot: Slot::take(slot, self.gateway.clone()),
                    };
                    tokio::spawn(connection.serve(stream, peer, shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        let Listener {
            tcp, slots, limits, ..
        } = self;
        drop(tcp);
        let everyone = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(drain, slots.acquire_many(everyone))
            .await
            .is_err()
        {
            tracing::warn!(
                drain_ms = u64::try_from(drain.as_millis()).unwrap_or(u64::MAX),
                "connections still open after the drain time; closing them"
            );
        }
    }

    /// A free connection slot, waiting at the cap; `None` on shutdown.
    async fn free_slot(
        &self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<OwnedSemaphorePermit> {
        if *shutdown.borrow() {
            return None;
        }
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Some(slot);
        }
        self.connection_metrics().waited_at_cap();
        tracing::debug!(
            max_connections = self.limits.max_connections,
            "at the connection cap: accepting again when one closes"
        );
        tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot.ok(),
            _ = shutdown.wait_for(|&stop| stop) => None,
        }
    }

    fn connection_metrics(&self) -> &ConnectionMetrics {
        self.gateway.metrics().connections()
    }
}

/// A held connection slot: counted open until dropped.
struct Slot {
    _permit: OwnedSemaphorePermit,
    gateway: Gateway,
}

impl Slot {
    fn take(permit: OwnedSemaphorePermit, gateway: Gateway) -> Slot {
        gateway.metrics().connections().opened();
        Slot {
            _permit: permit,
            gateway,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gateway.metrics().connections().closed();
    }
}

/// One accepted connection, about to be served.
struct Connection {
    /// The application, for this connection's peer.
    app: Envelope,
    limits: ConnectionLimits,
    gateway: Gateway,
    slot: Slot,
}

impl Connection {
    /// Serves HTTP/1.1 on `stream` until the client closes, a timeout
    /// passes, or shutdown has let its request finish.
    async fn serve(self, stream: TcpStream, peer: SocketAddr, mut shutdown: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::<Activity>::default();
        let io = TokioIo::new(Tracked {
            stream,
            activity: activity.clone(),
        });
        let app = self.app;
        let handled = activity.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let handling = handled.handling();
            let response = app.answer(request);
            async move {
                let response = response.await;
                drop(handling);
                response
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
        builder
            .http1()
            // The watcher keeps the header timeout (hyper's own would arm
            // a timer for every request).
            .header_read_timeout(None)
            .max_buf_size(self.limits.read_buffer)
            .keep_alive(true);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let timeouts = activity.watch(&self.limits);
        tokio::pin!(timeouts);
        let mut draining = false;
        let timeout = loop {
            tokio::select! {
                _ = connection.as_mut() => break None,
                timeout = &mut timeouts => break Some(timeout),
                _ = shutdown.wait_for(|&stop| stop), if !draining => {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        };
        if let Some(timeout) = timeout {
            self.gateway.metrics().connections().timed_out(timeout);
            tracing::debug!(%peer, ?timeout, "connection closed: timeout");
        }
        drop(self.slot);
    }
}

#[cfg(test)]
mod tests;
