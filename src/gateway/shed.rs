//! Load shedding in front of the decision path: at most
//! `max_in_flight_decisions` requests on the decision front doors at once
//! (one count shared by all of them); one more is refused at once with 503
//! `overloaded` and `Retry-After`, never queued, so a burst cannot pile up
//! requests (and their memory) behind the authorizer's own bound.
//!
//! The busiest doors (forward-auth, Envoy, the reverse proxy) take their
//! permit as an extractor ([`Admission`]), in the handler: a layer on a
//! router wraps and boxes each of its routes once more, which cost every
//! warm request an allocation and a boxed call (2,100 instructions, about
//! 3% of a warm `/auth` request). The other doors (share links, `/v1/me`)
//! are behind a tower layer of its own ([`shed_past`]) taking permits from
//! the same semaphore: one non-blocking permit, no boxed future.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use super::error::ApiError;
use super::state::Gateway;

/// `routes` (and their fallback) behind the in-flight limit whose permits
/// are `permits`, shedding past it.
pub(super) fn shed_past(routes: Router<Gateway>, permits: &Arc<Semaphore>) -> Router<Gateway> {
    routes.layer(ShedLayer {
        permits: Arc::clone(permits),
    })
}

/// A request admitted on a decision front door: it holds one of the
/// gateway's in-flight permits until the handler is done. Without a free
/// permit the request is refused at once with 503 `overloaded`.
pub struct Admission(#[allow(dead_code)] OwnedSemaphorePermit);

impl FromRequestParts<Gateway> for Admission {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, gw: &Gateway) -> Result<Self, ApiError> {
        Admission::take(gw)
    }
}

impl Admission {
    /// One of `gw`'s in-flight permits, or `overloaded` without a free one.
    pub(super) fn take(gw: &Gateway) -> Result<Admission, ApiError> {
        Arc::clone(gw.decider().in_flight_permits())
            .try_acquire_owned()
            .map(Admission)
            .map_err(|_| ApiError::Overloaded)
    }
}

/// Wraps each route in [`Shed`], all sharing one semaphore.
#[derive(Clone)]
struct ShedLayer {
    permits: Arc<Semaphore>,
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: Arc::clone(&self.permits),
        }
    }
}

/// A route that runs only with a permit, and answers `overloaded` without one.
#[derive(Clone)]
struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S, R> Service<R> for Shed<S>
where
    S: Service<R, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Admitted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Admitted::Running {
                inner: self.inner.call(request),
                _permit: permit,
            },
            Err(_) => Admitted::Shed,
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's own future, holding its permit until it completes; or
    /// the shed answer.
    #[project = AdmittedProjection]
    enum Admitted<F> {
        Running {
            #[pin]
            inner: F,
            _permit: OwnedSemaphorePermit,
        },
        Shed,
    }
}

impl<F> Future for Admitted<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AdmittedProjection::Running { inner, .. } => inner.poll(cx),
            AdmittedProjection::Shed => Poll::Ready(Ok(ApiError::Overloaded.into_response())),
        }
    }
}
