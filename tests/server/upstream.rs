//! A tiny upstream for the reverse proxy's tests, on an ephemeral loopback
//! port in the test's own runtime.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// A tiny upstream: answers GET with the request it received as JSON,
/// streams a POST body back, sleeps on paths ending in `/slow`, counts hits.
pub struct Upstream {
    pub url: String,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Value>>>,
}

#[derive(Clone)]
struct UpstreamState {
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let state = UpstreamState {
            hits: Arc::new(AtomicUsize::new(0)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .fallback(upstream_handler)
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Upstream {
            url: format!("http://{addr}"),
            hits: state.hits,
            seen: state.seen,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> Value {
        self.seen
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("a request")
    }
}

async fn upstream_handler(
    axum::extract::State(st): axum::extract::State<UpstreamState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    st.hits.fetch_add(1, Ordering::SeqCst);
    let mut headers = serde_json::Map::new();
    for (name, value) in request.headers() {
        let v = value.to_str().unwrap_or("<binary>").to_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(" | ");
                existing.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(v));
            }
        }
    }
    let record = json!({
        "method": request.method().as_str(),
        "uri": request.uri().to_string(),
        "headers": headers,
    });
    st.seen.lock().expect("lock").push(record.clone());
    if request.uri().path().ends_with("/slow") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if request.method() == axum::http::Method::POST {
        let body = axum::body::Body::from_stream(request.into_body().into_data_stream());
        return ([("x-upstream", "echo")], body).into_response();
    }
    ([("x-upstream", "json")], axum::Json(record)).into_response()
}
