//! The envelope every request passes: a request id, the header size
//! limit, the request timeout, error bodies completed with the request id,
//! and one access-log line without any credential. One hand-written tower
//! [`Service`] around the whole application (not a layer on each route),
//! its future a plain state machine (no box, no extractor, no `Next`): it
//! runs for every request the gateway answers.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Uri};
use axum::response::{IntoResponse, Response};
use tower::Service;

use super::access_log;
use super::doors::{Doors, DoorsFuture};
use super::error::{ApiError, ErrorBody};
use super::identity::X_REQUEST_ID;
use super::state::Gateway;

/// A trusted peer's own `X-Request-Id`, when it is a usable one.
fn forwarded_id(headers: &HeaderMap) -> Option<&HeaderValue> {
    headers.get(&X_REQUEST_ID).filter(|v| {
        let id = v.as_bytes();
        !id.is_empty()
            && id.len() <= 64
            && id
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A new request id: 16 hex digits of randomness, made on the stack.
fn new_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let random = rand::random::<[u8; 8]>();
    let mut text = [0u8; 16];
    for (i, b) in random.iter().enumerate() {
        text[2 * i] = HEX[usize::from(b >> 4)];
        text[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    // Hex digits are always a valid header value.
    HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static("0"))
}

/// Every request: a request id (kept from a trusted peer's `X-Request-Id`,
/// otherwise new), the header size limit, the timeout, error bodies
/// completed with the request id, and one access-log line without any
/// credential; the answer from [`Doors`]. The whole application as one
/// tower [`Service`]: the listener serves one per connection
/// ([`Envelope::for_peer`]); without a peer (a test's `oneshot`) the
/// request's `ConnectInfo`, else an address that is never trusted.
#[derive(Clone)]
pub struct Envelope {
    gw: Gateway,
    doors: Doors,
    peer: Option<SocketAddr>,
}

impl Envelope {
    pub(super) fn new(gw: Gateway, doors: Doors) -> Envelope {
        Envelope {
            gw,
            doors,
            peer: None,
        }
    }

    /// This application serving one connection from `peer`.
    pub fn for_peer(&self, peer: SocketAddr) -> Envelope {
        Envelope {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

impl<B> Service<Request<B>> for Envelope
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EnvelopeFuture<DoorsFuture>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.answer(request)
    }
}

impl Envelope {
    /// Answers `request` (what [`Service::call`] does, from a shared reference).
    pub fn answer<B>(&self, request: Request<B>) -> EnvelopeFuture<DoorsFuture>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let start = Instant::now();
        let peer = self.peer.unwrap_or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0)
        });
        let id = forwarded_id(request.headers())
            .filter(|_| self.gw.is_trusted(peer.ip()))
            .cloned()
            .unwrap_or_else(new_id);
        let config = self.gw.config();
        let header_bytes: usize = request
            .headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum();
        let limit = config.request_timeout_ms;
        let done = Done {
            start,
            peer: peer.ip(),
            id,
            // Cheap copies (shared bytes) for the log line once the request is gone.
            method: request.method().clone(),
            uri: request.uri().clone(),
            limit,
        };
        let inner = if header_bytes > config.max_header_bytes {
            DoorsFuture::ready(ApiError::HeadersTooLarge(config.max_header_bytes).into_response())
        } else {
            self.doors.call(peer, request)
        };
        EnvelopeFuture {
            inner,
            deadline: tokio::time::Instant::from_std(start) + Duration::from_millis(limit),
            timer: None,
            done: Some(done),
        }
    }
}

/// What the envelope needs once the answer is there.
struct Done {
    start: Instant,
    peer: IpAddr,
    id: HeaderValue,
    method: Method,
    uri: Uri,
    limit: u64,
}

pin_project_lite::pin_project! {
    /// The envelope's future: the inner answer (or the timeout's), finished
    /// by [`Done::finish`]. The timer is armed only when the answer was not
    /// ready at once: a warm decision never touches the timer wheel.
    pub struct EnvelopeFuture<F> {
        #[pin]
        inner: F,
        deadline: tokio::time::Instant,
        #[pin]
        timer: Option<tokio::time::Sleep>,
        done: Option<Done>,
    }
}

impl<F> Future for EnvelopeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => Some(response),
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => {
                if this.timer.is_none() {
                    let deadline = *this.deadline;
                    this.timer.set(Some(tokio::time::sleep_until(deadline)));
                }
                // Unconstrained, as tokio's own timeout: an answer that
                // used up the task's budget cannot hold the timer off.
                let fired = this
                    .timer
                    .as_pin_mut()
                    .map(|t| Pin::new(&mut tokio::task::unconstrained(t)).poll(cx));
                match fired {
                    Some(Poll::Ready(())) => None,
                    _ => return Poll::Pending,
                }
            }
        };
        match this.done.take() {
            Some(done) => {
                let response =
                    response.unwrap_or_else(|| ApiError::Timeout(done.limit).into_response());
                Poll::Ready(Ok(done.finish(response)))
            }
            // Polled again after it answered: a bug of the caller's.
            None => Poll::Ready(Ok(
                ApiError::Internal("polled after completion".into()).into_response()
            )),
        }
    }
}

impl Done {
    /// The error body completed with the request id, the id header, and the
    /// access-log line.
    fn finish(self, mut response: Response) -> Response {
        // Only visible ASCII made it here (checked, or hex).
        let request_id = self.id.to_str().unwrap_or_default();
        let error = response.extensions_mut().remove::<ErrorBody>();
        if let Some(body) = &error {
            response = with_request_id(response, body, request_id);
        }
        let status = response.status().as_u16();
        response
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), self.id.clone());
        if tracing::enabled!(target: access_log::TARGET, tracing::Level::INFO) {
            let log_path = loggable_path(self.uri.path());
            let line = access_log::Line {
                request_id,
                peer: self.peer,
                method: self.method.as_str(),
                path: &log_path,
                status,
                error: error.as_ref().map_or("", |e| e.code),
                micros: u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX),
            };
            if !line.write_directly() {
                tracing::info!(
                    request_id = %line.request_id,
                    peer = %line.peer,
                    method = %line.method,
                    path = %log_path,
                    status = line.status,
                    error = line.error,
                    micros = line.micros,
                    "request"
                );
            }
        }
        response
    }
}

/// An error answer rebuilt as the JSON error body with the request id, its
/// other headers kept.
fn with_request_id(response: Response, body: &ErrorBody, request_id: &str) -> Response {
    let status = response.status();
    let headers = response.headers();
    let mut rebuilt = (
        status,
        axum::Json(serde_json::json!({
            "error": body.code,
            "message": body.message,
            "request_id": request_id,
        })),
    )
        .into_response();
    for (name, value) in headers {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            rebuilt.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rebuilt
}

/// The path as logged: everything after a share-link segment (`/s/`) is
/// cut, wherever it appears (`/s/{token}`, Envoy's `/auth/s/{token}`), so a
/// token in a path never reaches the log.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/s/") {
        Some(i) => format!("{}/s/…", &path[..i]).into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/s/tsr_abc"), "/s/…");
        assert_eq!(loggable_path("/auth/s/tsr_abc"), "/auth/s/…");
        assert_eq!(
            loggable_path("/api/v1/views/v_1/rows"),
            "/api/v1/views/v_1/rows"
        );
    }
}
