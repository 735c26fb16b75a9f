//! `revision` on admin answers: the stream sequence a write got travels
//! from the blocking commit (a thread-local, [`note`]) to the request's
//! task ([`carry`]) and into the answer's JSON body ([`annotate`]), next to
//! the fields the route already answers, and in `X-Tessera-Revision`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

thread_local! {
    static NOTED: Cell<Option<u64>> = const { Cell::new(None) };
}

tokio::task_local! {
    static SLOT: Arc<AtomicU64>;
}

/// Notes the revision a commit on this thread got.
pub(crate) fn note(seq: u64) {
    NOTED.with(|n| n.set(Some(seq)));
}

/// Takes the revision noted on this thread, if any.
pub(crate) fn take() -> Option<u64> {
    NOTED.with(Cell::take)
}

/// Hands a noted revision to the request being answered.
pub(crate) fn carry(seq: Option<u64>) {
    if let Some(seq) = seq {
        let _ = SLOT.try_with(|slot| slot.fetch_max(seq, Ordering::Relaxed));
    }
}

/// Largest admin answer rewritten to carry `revision`.
const MAX_BODY: usize = 16 << 20;

/// The admin API's layer: a write's JSON object answer gains `"revision": N`.
pub async fn annotate(request: Request, next: Next) -> Response {
    let slot = Arc::new(AtomicU64::new(0));
    let response = SLOT.scope(slot.clone(), next.run(request)).await;
    let seq = slot.load(Ordering::Relaxed);
    if seq == 0 {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .insert("x-tessera-revision", HeaderValue::from(seq));
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let rewritten = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert("revision".to_owned(), seq.into());
            serde_json::to_vec(&object).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rewritten))
}
