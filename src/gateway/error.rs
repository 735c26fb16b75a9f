//! The one place that maps errors and denials to HTTP statuses and bodies.
//!
//! Bodies are JSON `{ "error": code, "message": …, "request_id": … }`; the
//! request id is filled in by the request-id layer, which sees the
//! [`ErrorBody`] extension on the way out. Internal details go to the log,
//! never to the body; no body ever echoes a token.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::error::Rejection;
use crate::api::{Conflict, ErrorAnswer, Invalid, Missing};
use crate::authorize::Reason;
use crate::model::access::Refusal;
use crate::store::StoreError;
use crate::token::TokenError;

/// Everything a gateway handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A decision said no.
    #[error("{}", .0.message())]
    Denied(Reason),
    /// The request's headers are larger than the limit.
    #[error("request headers are larger than {0} bytes")]
    HeadersTooLarge(usize),
    /// An admin API request is not valid.
    #[error(transparent)]
    BadRequest(Invalid),
    /// No such endpoint (a fixed message).
    #[error("{0}")]
    NotFound(Fixed),
    /// An admin API object does not exist.
    #[error(transparent)]
    Missing(Missing),
    /// This gateway holds no private key and cannot issue.
    #[error(
        "this gateway holds no private key (it verifies only); issue tokens on the issuing node"
    )]
    NoSigningKey,
    /// The store refused a change (conflict with what is stored).
    #[error(transparent)]
    Conflict(Conflict),
    /// The workspace's rules refuse a people change: 403 for who asks, 400
    /// for what is asked; the code is the refusal's.
    #[error(transparent)]
    Refused(Refusal),
    /// A member may not make or see this view's links, or asks for more
    /// than it holds there (403, the code names which).
    #[error(transparent)]
    Share(crate::api::ShareRefusal),
    /// The request took longer than the configured timeout.
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    /// The decision front doors are at `max_in_flight_decisions`: shed.
    #[error("the gateway is at its limit of requests in flight; retry shortly")]
    Overloaded,
    /// The upstream could not be reached (reverse-proxy mode).
    #[error("the upstream could not be reached")]
    BadGateway(String),
    /// Fleet mode: this gateway is further behind the stream than
    /// `max_staleness_ms`; it refuses until it catches up.
    #[error(
        "this gateway is too far behind the fleet's changes to decide; retry on another gateway"
    )]
    Stale,
    /// Fleet mode: the revision asked for (`X-Tessera-Min-Revision`) or
    /// just written was not applied here in time.
    #[error("this gateway has not applied the revision asked for yet; retry shortly")]
    Behind,
    /// Fleet mode: the change could not be made durable in JetStream (NATS
    /// unreachable); nothing was changed.
    #[error(
        "the fleet's change log (NATS JetStream) is unreachable; nothing was changed, retry later"
    )]
    FleetUnavailable,
    /// Something failed inside; the detail is logged, not shown.
    #[error("internal error")]
    Internal(String),
}

/// A message fixed at compile time: nothing from a store, a request or
/// the CLI can reach a body through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed(&'static str);

impl From<&'static str> for Fixed {
    fn from(message: &'static str) -> Self {
        Fixed(message)
    }
}

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The error code and message a response carries, for the request-id layer
/// to render with the request id.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    /// The `error` code.
    pub code: &'static str,
    /// The `message`.
    pub message: String,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Denied(r) if r.is_credential_problem() => StatusCode::UNAUTHORIZED,
            ApiError::Denied(_) => StatusCode::FORBIDDEN,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Refused(r) if r.is_forbidden() => StatusCode::FORBIDDEN,
            ApiError::Refused(_) => StatusCode::BAD_REQUEST,
            ApiError::Share(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::Missing(_) => StatusCode::NOT_FOUND,
            ApiError::NoSigningKey | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Stale => StatusCode::FORBIDDEN,
            ApiError::Behind | ApiError::FleetUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Denied(r) => r.code(),
            ApiError::HeadersTooLarge(_) => "headers_too_large",
            ApiError::BadRequest(e) => e.code(),
            ApiError::Refused(r) => r.code(),
            ApiError::Share(r) => r.code(),
            ApiError::NotFound(_) | ApiError::Missing(_) => "not_found",
            ApiError::NoSigningKey => "no_signing_key",
            ApiError::Conflict(_) => "conflict",
            ApiError::Timeout(_) => "timeout",
            ApiError::Overloaded => "overloaded",
            ApiError::Stale => "stale",
            ApiError::Behind => "behind",
            ApiError::FleetUnavailable => "fleet_unavailable",
            ApiError::BadGateway(_) => "bad_gateway",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    /// A rejected change answers the client; anything else is internal
    /// (its detail goes to the log only).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(change) => match Rejection::from(change) {
                Rejection::Invalid(e) => ApiError::BadRequest(e),
                Rejection::Missing(e) => ApiError::Missing(e),
                Rejection::Conflict(e) => ApiError::Conflict(e),
                Rejection::Refused(r) => ApiError::Refused(r),
                Rejection::Internal(e) => ApiError::Internal(e.to_string()),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::BadRequest(e)
    }
}

impl From<TokenError> for ApiError {
    /// An invalid grant is the client's; any other signing failure is internal.
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid(e) => ApiError::BadRequest(Invalid::Request(e)),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(detail) => tracing::error!(detail = %detail, "internal error"),
            ApiError::BadGateway(detail) => {
                tracing::warn!(detail = %detail, "upstream unreachable")
            }
            _ => {}
        }
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
        };
        let answer = ErrorAnswer {
            error: body.code.to_owned(),
            message: body.message.clone(),
        };
        let mut response = (status, Json(answer)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if matches!(
            self,
            ApiError::Overloaded | ApiError::Behind | ApiError::FleetUnavailable
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(body);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table() {
        for reason in Reason::ALL {
            let status = ApiError::Denied(reason).status();
            let expected = match reason {
                Reason::MissingToken
                | Reason::Malformed
                | Reason::UnknownKey
                | Reason::BadSignature
                | Reason::Expired
                | Reason::Revoked => StatusCode::UNAUTHORIZED,
                Reason::NoRight
                | Reason::ViewSetting
                | Reason::UnknownResource
                | Reason::CheckFailed
                | Reason::Limits
                | Reason::BadPath
                | Reason::UnknownRoute
                | Reason::UntrustedPeer
                | Reason::WrongKind
                | Reason::AmbiguousForward
                | Reason::MethodOverride
                | Reason::CrossSite
                | Reason::SharerLostRight
                | Reason::EmbedReadOnly
                | Reason::EmbedSortFilter
                | Reason::EmbedHiddenColumn
                | Reason::PersonalView => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, expected, "{reason}");
        }
        assert_eq!(ApiError::HeadersTooLarge(1).status().as_u16(), 431);
        assert_eq!(
            ApiError::BadRequest(Invalid::Placement).status().as_u16(),
            400
        );
        assert_eq!(ApiError::NotFound("".into()).status().as_u16(), 404);
        assert_eq!(ApiError::NoSigningKey.status().as_u16(), 409);
        assert_eq!(ApiError::Timeout(1).status().as_u16(), 408);
        assert_eq!(ApiError::BadGateway(String::new()).status().as_u16(), 502);
        let shed = ApiError::Overloaded.into_response();
        assert_eq!(shed.status().as_u16(), 503);
        assert_eq!(shed.headers()[header::RETRY_AFTER], "1");
        assert_eq!(ApiError::Overloaded.code(), "overloaded");
        assert_eq!(
            ApiError::BadGateway("10.0.0.1 refused".into()).to_string(),
            "the upstream could not be reached"
        );
        assert_eq!(
            ApiError::Internal("secret detail".into()).status().as_u16(),
            500
        );
        assert_eq!(
            ApiError::Internal("secret detail".into()).to_string(),
            "internal error"
        );
        let r = ApiError::Denied(Reason::Expired).into_response();
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }
}
