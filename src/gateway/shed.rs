//! Load shedding in front of the decision path: at most
//! `max_in_flight_decisions` requests on the decision front doors at once
//! (one count shared by all of them); one more is refused at once with 503
//! `overloaded` and `Retry-After`, never queued, so a burst cannot pile up
//! requests (and their memory) behind the authorizer's own bound.
//!
//! A tower layer of its own rather than tower's `ConcurrencyLimit` +
//! `LoadShed` pair: admitting a request is one non-blocking permit taken
//! from a shared semaphore, with no boxed future and no allocation, so the
//! warm forward-auth path pays a few atomic operations for it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use super::error::ApiError;
use super::state::Gateway;

/// `routes` (and their fallback) behind one in-flight limit of
/// `max_in_flight` (at least 1), shedding past it.
pub(super) fn shed_past(routes: Router<Gateway>, max_in_flight: usize) -> Router<Gateway> {
    routes.layer(ShedLayer {
        permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
    })
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
