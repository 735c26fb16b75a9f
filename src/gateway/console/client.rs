//! The console's admin API client: each call is an admin API request made
//! in-process, with the signed-in token as its bearer, through the admin
//! API's own guard and handlers (the same decision, the same changes, the
//! same audit actor as any other client).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower_service::Service;

use crate::api::ErrorAnswer;

use super::Console;

/// The most an admin API answer the console reads may hold.
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// The admin API's refusal: its status, reason code and message.
#[derive(Debug, Clone)]
pub(super) struct Refused {
    /// The admin API's status.
    pub(super) status: StatusCode,
    /// Its reason code (`error`).
    pub(super) code: String,
    /// Its message.
    pub(super) message: String,
}

impl Refused {
    fn internal(message: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal".into(),
            message: message.into(),
        }
    }

    /// True when the refusal is about the token itself (it expired, was
    /// revoked, or no longer passes): the session is over.
    pub(super) fn ends_session(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

impl Console {
    /// `method path` on the admin API (`path` under `/admin/v1`) with
    /// `token` as the bearer and `body` as JSON; the answer read as `T`.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, Refused> {
        let body = match body {
            Some(b) => {
                Body::from(serde_json::to_vec(b).map_err(|e| Refused::internal(e.to_string()))?)
            }
            None => Body::empty(),
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|_| Refused::internal("request"))?;
        let mut admin = self.admin.clone();
        std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut admin, cx))
            .await
            .map_err(|e| Refused::internal(e.to_string()))?;
        let response = admin
            .call(request)
            .await
            .map_err(|e| Refused::internal(e.to_string()))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Refused::internal(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Refused::internal(e.to_string()));
        }
        let answer: Option<ErrorAnswer> = serde_json::from_slice(&bytes).ok();
        Err(match answer {
            Some(a) => Refused {
                status,
                code: a.error,
                message: a.message,
            },
            None => Refused {
                status,
                code: "internal".into(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    /// [`Console::call`] with no body.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> Result<T, Refused> {
        self.call(token, Method::GET, path, None::<&()>).await
    }
}
