//! The load generator: keep-alive HTTP/1.1 connections, one task each,
//! sending one request after another for a fixed time and recording every
//! latency in microseconds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, HOST};
use hyper::Uri;
use hyper_util::rt::TokioIo;

use crate::counters::CacheDelta;
use crate::PATH;

/// What the generator sends: the target, the path, and per request the
/// `Authorization` value (none, one, or the next of a pool). The headers
/// are made once, so that the generator's own work per request stays small
/// and the same for every server it drives.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    path: &'static str,
    host: HeaderValue,
    forward_auth: bool,
    tokens: Arc<Vec<HeaderValue>>,
    next: Arc<AtomicUsize>,
}

static X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
static X_ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");

impl Target {
    /// `path` on `addr`, with the forward-auth headers (the original
    /// method and URI) or not, and these `Authorization` values.
    pub(crate) fn new(
        addr: SocketAddr,
        path: &'static str,
        forward_auth: bool,
        tokens: Arc<Vec<HeaderValue>>,
    ) -> Target {
        Target {
            addr,
            path,
            host: HeaderValue::from_str(&addr.to_string()).expect("host header"),
            forward_auth,
            tokens,
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The same requests sent to `addr` (a baseline asked exactly what a
    /// gateway is asked), with a pool of its own to walk.
    pub(crate) fn at(&self, addr: SocketAddr) -> Target {
        Target::new(addr, self.path, self.forward_auth, self.tokens.clone())
    }

    fn request(&self) -> hyper::Request<Empty<Bytes>> {
        let mut request = hyper::Request::new(Empty::new());
        *request.uri_mut() = Uri::from_static(self.path);
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        if self.forward_auth {
            headers.insert(&X_ORIGINAL_METHOD, HeaderValue::from_static("GET"));
            headers.insert(&X_ORIGINAL_URI, HeaderValue::from_static(PATH));
        }
        if !self.tokens.is_empty() {
            let i = if self.tokens.len() == 1 {
                0
            } else {
                self.next.fetch_add(1, Ordering::Relaxed) % self.tokens.len()
            };
            headers.insert(AUTHORIZATION, self.tokens[i].clone());
        }
        request
    }
}

/// One scenario's outcome: of one round, or of every round together
/// ([`Outcome::add`]).
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) elapsed: Duration,
    /// Sorted.
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) non_200: u64,
    pub(crate) io_errors: u64,
    pub(crate) cache: Option<CacheDelta>,
}

impl Outcome {
    pub(crate) fn empty(name: &str) -> Outcome {
        Outcome {
            name: name.to_owned(),
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            non_200: 0,
            io_errors: 0,
            cache: None,
        }
    }

    /// This outcome with `round`'s added: requests, time, errors, cache
    /// counters.
    pub(crate) fn add(&mut self, round: &Outcome) {
        self.elapsed += round.elapsed;
        self.latencies_us.extend_from_slice(&round.latencies_us);
        self.latencies_us.sort_unstable();
        self.non_200 += round.non_200;
        self.io_errors += round.io_errors;
        self.cache = match (self.cache, round.cache) {
            (Some(a), Some(b)) => Some(a.plus(b)),
            (a, b) => a.or(b),
        };
    }

    pub(crate) fn rps(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-quantile (0..1) of the sorted latencies, µs.
    pub(crate) fn quantile(&self, p: f64) -> u32 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1]
    }
}

async fn connection(
    target: Target,
    start: Arc<tokio::sync::Barrier>,
    deadline: Arc<Mutex<Option<Instant>>>,
    duration: Duration,
) -> (Vec<u32>, u64, u64) {
    let mut latencies = Vec::with_capacity(1 << 16);
    let (mut non_200, mut io_errors) = (0u64, 0u64);
    let connect = async {
        let stream = tokio::net::TcpStream::connect(target.addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(conn);
        Some(sender)
    };
    let mut sender = connect.await;
    if start.wait().await.is_leader() {
        *deadline.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + duration);
    }
    // Every task waits at the barrier, so the leader has set the deadline.
    start.wait().await;
    let end = deadline
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_else(Instant::now);
    let Some(sender) = sender.as_mut() else {
        return (latencies, 0, 1);
    };
    while Instant::now() < end {
        if sender.ready().await.is_err() {
            io_errors += 1;
            break;
        }
        let request = target.request();
        let t0 = Instant::now();
        match sender.send_request(request).await {
            Ok(response) => {
                let ok = response.status() == hyper::StatusCode::OK;
                if response.into_body().collect().await.is_err() {
                    io_errors += 1;
                    break;
                }
                latencies.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if !ok {
                    non_200 += 1;
                }
            }
            Err(_) => {
                io_errors += 1;
                break;
            }
        }
    }
    (latencies, non_200, io_errors)
}

pub(crate) async fn drive(
    name: &str,
    target: Target,
    connections: usize,
    duration: Duration,
) -> Outcome {
    let start = Arc::new(tokio::sync::Barrier::new(connections));
    let deadline = Arc::new(Mutex::new(None));
    let began = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(connection(
                target.clone(),
                start.clone(),
                deadline.clone(),
                duration,
            ))
        })
        .collect();
    let mut outcome = Outcome::empty(name);
    for task in tasks {
        if let Ok((lat, non_200, io)) = task.await {
            outcome.latencies_us.extend(lat);
            outcome.non_200 += non_200;
            outcome.io_errors += io;
        } else {
            outcome.io_errors += 1;
        }
    }
    let measured_from = deadline
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map(|end| end - duration)
        .unwrap_or(began);
    outcome.elapsed = measured_from.elapsed();
    outcome.latencies_us.sort_unstable();
    outcome
}
