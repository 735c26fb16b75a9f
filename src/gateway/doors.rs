//! The dispatch behind the envelope: forward-auth (`/auth`), Envoy's
//! `/auth/<path>` and the reverse proxy, the doors every request of a
//! guarded product goes through, are answered here directly; every other
//! request goes to the axum router (admin API, console, share links, the
//! probes, and the reverse proxy again as its fallback).
//!
//! Profiled on a warm `/auth` (decision cached), the router's own work was
//! a large share of the gateway's: per request it cloned each nested
//! route's boxed service, boxed each layer's future, inserted the matched
//! path, the original URI and the peer into the request's extensions (one
//! map, five boxes) and boxed the body. The two paths are fixed strings
//! with no method routing (`any`), so matching them here is exact. The
//! reverse proxy is the router's fallback: a path under none of the
//! prefixes the router's routes start with ([`ROUTED_PREFIXES`], checked
//! against the router's own route table by a test) can only reach it, so
//! such a request is proxied here; any other path goes through the router,
//! which proxies it when none of its routes matches. In fleet mode, whose
//! gate is a router layer, every request goes through the router.

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
use hyper_util::client::legacy::ResponseFuture;
use tower::Service;

use super::error::ApiError;
use super::front::{self, ProxyStart};
use super::shed::Admission;
use super::state::Gateway;

/// Which door a request path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// `/auth`: nginx/Traefik/Caddy forward-auth.
    ForwardAuth,
    /// `/auth/` and `/auth/<path>`: Envoy's ext_authz.
    Envoy,
    /// A path no route of the router's claims: the reverse proxy.
    Proxied,
    /// Everything else: the router.
    Routed,
}

/// What every route of the router starts with (the busy doors' `/auth`
/// aside): a path under none of these can only reach the router's
/// fallback, the reverse proxy. Wider than the routes (`/admin` for
/// `/admin/v1/…`), never narrower: a path they claim but no route matches
/// still reaches the reverse proxy, through the router.
const ROUTED_PREFIXES: [&str; 8] = [
    "/admin",
    "/console",
    "/s/",
    "/v1/me",
    "/.well-known/",
    "/healthz",
    "/readyz",
    "/metrics",
];

impl Door {
    /// The door for `path`; `proxying` when the reverse proxy is on.
    fn of(path: &str, proxying: bool) -> Door {
        match path.strip_prefix("/auth") {
            Some("") => Door::ForwardAuth,
            Some(rest) if rest.starts_with('/') => Door::Envoy,
            _ if proxying && !claimed_by_router(path) => Door::Proxied,
            _ => Door::Routed,
        }
    }
}

/// Whether some route of the router could match `path`.
fn claimed_by_router(path: &str) -> bool {
    path.starts_with("/auth")
        || ROUTED_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
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
            true => Door::of(request.uri().path(), self.gw.upstream().is_some()),
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
        if door == Door::Proxied {
            return proxied(&self.gw, request.map(Body::new), admitted);
        }
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

/// The reverse proxy's answer to `request`: sent upstream at once when its
/// decision is cached, else decided and sent by the async path. The
/// in-flight permit is held until the upstream's answer has come.
fn proxied(gw: &Gateway, request: Request<Body>, admitted: Admission) -> DoorsFuture {
    match front::proxy_at_once(gw, request) {
        ProxyStart::Sent(inner) => DoorsFuture::Proxied {
            inner,
            _admitted: admitted,
        },
        ProxyStart::Answered(response) => DoorsFuture::ready(response),
        ProxyStart::Waiting(request) => {
            let gw = gw.clone();
            DoorsFuture::Door {
                inner: Box::pin(async move {
                    let _admitted = admitted;
                    front::proxy_for(gw, request).await.into_response()
                }),
            }
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
        Proxied { inner: ResponseFuture, _admitted: Admission },
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
            DoorsProjection::Proxied { inner, .. } => Pin::new(inner)
                .poll(cx)
                .map(|answered| Ok(front::from_upstream(answered).into_response())),
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
        for proxying in [false, true] {
            assert_eq!(Door::of("/auth", proxying), Door::ForwardAuth);
            assert_eq!(Door::of("/auth/", proxying), Door::Envoy);
            let envoy = Door::of("/auth/api/v1/views/v_1/rows", proxying);
            assert_eq!(envoy, Door::Envoy);
            assert_eq!(Door::of("/authx", proxying), Door::Routed);
            assert_eq!(Door::of("/auth2/x", proxying), Door::Routed);
        }
        assert_eq!(Door::of("/api/auth", false), Door::Routed);
        assert_eq!(Door::of("/", false), Door::Routed);
    }

    #[test]
    fn the_proxy_door_takes_only_paths_no_route_claims() {
        for path in ["/", "/api/v1/views/v_1/rows", "/api/auth", "/s", "*"] {
            assert_eq!(Door::of(path, true), Door::Proxied, "{path}");
            assert_eq!(Door::of(path, false), Door::Routed, "{path}");
        }
        for path in [
            "/admin/v1/tokens",
            "/console",
            "/console/views/v_1",
            "/s/abc",
            "/v1/me",
            "/.well-known/biscuit-web-keys",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert_eq!(Door::of(path, true), Door::Routed, "{path}");
        }
    }

    /// The route patterns in the router's own table (its `Debug` lists
    /// them as `RouteId(n): "/pattern"`, the routes' before the fallback's).
    fn route_patterns(router: &Router) -> Vec<String> {
        let table = format!("{router:?}");
        let routes = table.split("fallback_router").next().unwrap_or_default();
        routes
            .split("): \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    #[tokio::test]
    async fn every_route_of_the_router_is_claimed_before_the_proxy_door() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = crate::gateway::GatewayConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            upstream: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        let data = crate::store::datadir::DataDir::new(dir.path().join("data"));
        let gw = Gateway::open(config, data).await.expect("gateway");
        let patterns = route_patterns(&crate::gateway::router(&gw));
        // The table was read: the known routes are in it.
        for known in [
            "/auth",
            "/admin/v1/tokens",
            "/console",
            "/s/{token}",
            "/healthz",
        ] {
            assert!(
                patterns.iter().any(|p| p == known),
                "{known} in {patterns:?}"
            );
        }
        assert!(patterns.len() > 40, "{patterns:?}");
        for pattern in &patterns {
            // Every path the pattern matches starts with its literal part.
            let literal = pattern.split('{').next().unwrap_or_default();
            assert!(
                claimed_by_router(literal),
                "route {pattern} would be taken by the proxy door: add its prefix to ROUTED_PREFIXES"
            );
        }
    }
}
