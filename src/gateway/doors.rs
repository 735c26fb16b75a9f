//! The dispatch behind the envelope: forward-auth (`/auth`) and Envoy's
//! `/auth/<path>`, the doors every request of a guarded product goes
//! through, are answered here directly; every other request goes to the
//! axum router (admin API, console, share links, the reverse proxy as its
//! fallback, the probes).
//!
//! Profiled on a warm `/auth` (decision cached), the router's own work was
//! a large share of the gateway's: per request it cloned each nested
//! route's boxed service, boxed each layer's future, inserted the matched
//! path, the original URI and the peer into the request's extensions (one
//! map, five boxes) and boxed the body. The two paths are fixed strings
//! with no method routing (`any`), so matching them here is exact; in
//! fleet mode, whose gate is a router layer, they go through the router.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{request::Parts, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::Router;
use tower::Service;

use super::error::ApiError;
use super::front;
use super::shed::Admission;
use super::state::Gateway;

/// Which door a request path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// `/auth`: nginx/Traefik/Caddy forward-auth.
    ForwardAuth,
    /// `/auth/` and `/auth/<path>`: Envoy's ext_authz.
    Envoy,
    /// Everything else: the router.
    Routed,
}

impl Door {
    fn of(path: &str) -> Door {
        match path.strip_prefix("/auth") {
            Some("") => Door::ForwardAuth,
            Some(rest) if rest.starts_with('/') => Door::Envoy,
            _ => Door::Routed,
        }
    }
}

/// The router, and whether the busy doors are answered before it.
#[derive(Clone)]
pub(crate) struct Doors {
    gw: Gateway,
    router: Router,
    busy_doors: bool,
}

impl Doors {
    /// `router` answers every request (the ops listener, fleet mode).
    pub(crate) fn routed(gw: Gateway, router: Router) -> Doors {
        Doors {
            gw,
            router,
            busy_doors: false,
        }
    }

    /// `/auth` and `/auth/<path>` answered here, the rest by `router`,
    /// which must route those two paths to the same handlers (fleet mode
    /// sends them through it).
    pub(crate) fn with_busy_doors(gw: Gateway, router: Router) -> Doors {
        let busy_doors = gw.fleet().is_none();
        Doors {
            gw,
            router,
            busy_doors,
        }
    }

    /// Answers `request` from `peer`.
    pub(crate) fn call<B>(&self, peer: SocketAddr, request: Request<B>) -> DoorsFuture
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<axum::BoxError>,
    {
        let door = match self.busy_doors {
            true => Door::of(request.uri().path()),
            false => Door::Routed,
        };
        if door == Door::Routed {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            return DoorsFuture::Routed {
                inner: self.router.clone().call(request),
            };
        }
        // Admitted by the in-flight limit as the routed doors are.
        let admitted = match Admission::take(&self.gw) {
            Ok(admitted) => admitted,
            Err(shed) => return DoorsFuture::ready(shed.into_response()),
        };
        // A decision that needs no waiting (a cached one) is answered here:
        // no future to build, box and poll.
        let (gw, uri, headers) = (&self.gw, request.uri(), request.headers());
        let at_once = match door {
            Door::ForwardAuth => front::forward_auth_at_once(gw, peer, request.method(), headers),
            _ => front::envoy_auth_at_once(gw, peer, request.method(), uri, headers),
        };
        if let Some(answered) = at_once {
            return DoorsFuture::ready(answered.into_response());
        }
        // Neither door reads a body.
        let (parts, _body) = request.into_parts();
        DoorsFuture::Door {
            inner: Box::pin(answer(self.gw.clone(), door, peer, parts, admitted)),
        }
    }
}

/// A busy door's answer when its decision has to wait (the decision
/// sequence runs), holding its in-flight permit.
async fn answer(
    gw: Gateway,
    door: Door,
    peer: SocketAddr,
    parts: Parts,
    _admitted: Admission,
) -> Response {
    let answered = match door {
        Door::ForwardAuth => {
            front::forward_auth_for(&gw, peer, &parts.method, &parts.headers).await
        }
        _ => front::envoy_auth_for(&gw, peer, &parts.method, &parts.uri, &parts.headers).await,
    };
    answered.into_response()
}

pin_project_lite::pin_project! {
    /// The router's future, or a busy door's.
    #[project = DoorsProjection]
    pub enum DoorsFuture {
        Routed { #[pin] inner: RouteFuture<Infallible> },
        Door { inner: Pin<Box<dyn Future<Output = Response> + Send>> },
        Ready { response: Option<Response> },
    }
}

impl DoorsFuture {
    /// An answer already made.
    pub(crate) fn ready(response: Response) -> DoorsFuture {
        DoorsFuture::Ready {
            response: Some(response),
        }
    }
}

impl Future for DoorsFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DoorsProjection::Routed { inner } => inner.poll(cx),
            DoorsProjection::Door { inner } => inner.as_mut().poll(cx).map(Ok),
            DoorsProjection::Ready { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    ApiError::Internal("polled after completion".into()).into_response()
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_auth_paths_are_busy_doors() {
        assert_eq!(Door::of("/auth"), Door::ForwardAuth);
        assert_eq!(Door::of("/auth/"), Door::Envoy);
        assert_eq!(Door::of("/auth/api/v1/views/v_1/rows"), Door::Envoy);
        assert_eq!(Door::of("/authx"), Door::Routed);
        assert_eq!(Door::of("/auth2/x"), Door::Routed);
        assert_eq!(Door::of("/api/auth"), Door::Routed);
        assert_eq!(Door::of("/"), Door::Routed);
    }
}
