//! The envelope every request passes: a request id, the header size
//! limit, the request timeout, error bodies completed with the request id,
//! and one access-log line without any credential.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorBody};
use super::state::Gateway;

/// The request id of the current request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The request id header, read from trusted peers and set on every response.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
/// otherwise new), the header size limit, error bodies completed with the
/// request id, and one access-log line without any credential.
pub async fn envelope(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let id_value = forwarded_id(request.headers())
        .filter(|_| gw.is_trusted(peer.ip()))
        .cloned()
        .unwrap_or_else(new_id);
    // Only visible ASCII made it here (checked above, or hex).
    let request_id = id_value.to_str().unwrap_or_default();
    let method = request.method().clone();
    // A cheap copy (shared bytes) for the log line once the request is gone.
    let uri = request.uri().clone();
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    let mut response = if header_bytes > gw.config().max_header_bytes {
        ApiError::HeadersTooLarge(gw.config().max_header_bytes).into_response()
    } else {
        request
            .extensions_mut()
            .insert(RequestId(request_id.to_owned()));
        let limit = gw.config().request_timeout_ms;
        match tokio::time::timeout(Duration::from_millis(limit), next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::Timeout(limit).into_response(),
        }
    };
    let error = response.extensions_mut().remove::<ErrorBody>();
    if let Some(body) = &error {
        let status = response.status();
        let headers = response.headers().clone();
        response = (
            status,
            axum::Json(serde_json::json!({
                "error": body.code,
                "message": body.message,
                "request_id": request_id,
            })),
        )
            .into_response();
        for (name, value) in &headers {
            if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id_value.clone());
    let log_path = loggable_path(uri.path());
    tracing::info!(
        request_id = %request_id,
        peer = %peer.ip(),
        method = %method,
        path = %log_path,
        status = response.status().as_u16(),
        error = error.as_ref().map_or("", |e| e.code),
        micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
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
