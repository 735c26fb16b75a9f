//! The decision front doors: forward-auth (`/auth`, nginx/Traefik/Caddy
//! style), Envoy ext_authz (`/auth/<path>`) and the reverse proxy. Handlers
//! are thin: they extract, call [`Gateway::decide`] through one sequence
//! ([`decide_request`]: method overrides, decision, cross-site check), and
//! map the result. The share links and the probes have files of their own,
//! re-exported here (the envelope is `gateway::envelope`).

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::uri::{PathAndQuery, Scheme};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use hyper::body::Incoming;
use hyper_util::client::legacy::{Error as LegacyError, ResponseFuture};
use std::sync::Arc;

use crate::authorize::Reason;

use super::decider::Question;
use super::error::ApiError;
use super::forwarding::{
    carries_method_override, forwarded_request_borrowed, from_allowed_origin, is_safe_method,
};
use super::identity::{remove_hop_by_hop, set_identity_headers, strip_for_upstream, Allowed};
pub use super::shed::Admission;
use super::state::Gateway;

pub use super::credential::{
    borrowed_credential, credential, credential_with_source, CredentialSource, SESSION_COOKIE,
};
pub use super::probes::{healthz, metrics, public_keys, readyz};
pub use super::share::{share_link, switch_share};

/// A front door's request as read before its decision (`method` and `uri`
/// as decided: the original ones for forward-auth): method overrides are
/// refused, and the credential is found.
struct Asked<'a> {
    method: &'a str,
    uri: &'a str,
    headers: &'a HeaderMap,
    credential: Option<(&'a str, CredentialSource)>,
}

impl<'a> Asked<'a> {
    fn read(
        gw: &Gateway,
        method: &'a str,
        uri: &'a str,
        headers: &'a HeaderMap,
    ) -> Result<Asked<'a>, ApiError> {
        if carries_method_override(headers, uri) {
            return Err(gw
                .metrics()
                .counted(ApiError::Denied(Reason::MethodOverride)));
        }
        Ok(Asked {
            method,
            uri,
            headers,
            credential: borrowed_credential(headers),
        })
    }

    /// The decider's question, asked now.
    fn question(&self) -> Question<'a> {
        Question {
            credential: self.credential.map(|(token, _)| token),
            method: self.method,
            raw_path: self.uri,
            now: Utc::now(),
        }
    }

    /// The decision as the door takes it: an unsafe request authenticated
    /// by the session cookie must come from an allowed origin (cross-site
    /// forgery).
    fn settle(
        &self,
        gw: &Gateway,
        decided: Result<Arc<Allowed>, ApiError>,
    ) -> Result<Arc<Allowed>, ApiError> {
        let allowed = decided?;
        let by_cookie = matches!(self.credential, Some((_, CredentialSource::SessionCookie)));
        if by_cookie
            && !is_safe_method(self.method)
            && !from_allowed_origin(gw.config(), self.headers)
        {
            return Err(gw.metrics().counted(ApiError::Denied(Reason::CrossSite)));
        }
        Ok(allowed)
    }
}

/// What every front door runs for one request: [`Asked::read`], the
/// decision, [`Asked::settle`].
async fn decide_request(
    gw: &Gateway,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
) -> Result<Arc<Allowed>, ApiError> {
    let asked = Asked::read(gw, method, uri, headers)?;
    let decided = gw.decide_asked(&asked.question()).await;
    asked.settle(gw, decided)
}

/// [`decide_request`] when its decision needs no waiting (see
/// [`Gateway::decide_at_once`]); `None` leaves the request to the door's
/// own async path, which reads it again: until the decision, nothing was
/// counted or changed (a refusal before it is answered here).
fn decide_at_once(
    gw: &Gateway,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
) -> Option<Result<Arc<Allowed>, ApiError>> {
    let asked = match Asked::read(gw, method, uri, headers) {
        Ok(asked) => asked,
        Err(refused) => return Some(Err(refused)),
    };
    let decided = gw.decide_at_once(&asked.question())?;
    Some(asked.settle(gw, decided))
}

/// A forward-auth door's answer when its decision needs no waiting.
fn answer_at_once(
    gw: &Gateway,
    target: Result<(&str, &str), ApiError>,
    headers: &HeaderMap,
) -> Option<Result<Response, ApiError>> {
    let decided = match target {
        Ok((method, uri)) => decide_at_once(gw, method, uri, headers)?,
        Err(refused) => Err(refused),
    };
    Some(decided.map(|allowed| allow_response(&allowed)))
}

/// The 200 answer to an allowed forward-auth request: headers describing
/// the grant, for the upstream.
fn allow_response(allowed: &Allowed) -> Response {
    let mut response = StatusCode::OK.into_response();
    *response.headers_mut() = allowed.answer_headers();
    response
}

/// Forwarded-request front doors answer only trusted peers (`untrusted_peer`).
fn require_trusted(gw: &Gateway, peer: SocketAddr) -> Result<(), ApiError> {
    if gw.is_trusted(peer.ip()) {
        return Ok(());
    }
    Err(gw
        .metrics()
        .counted(ApiError::Denied(Reason::UntrustedPeer)))
}

/// `/auth`: the original request comes from `X-Forwarded-Method` +
/// `X-Forwarded-Uri` (Traefik, Caddy, APISIX) or `X-Original-Method` +
/// `X-Original-URI` / `X-Original-URL` (nginx, ingress-nginx), only from
/// trusted peers, one pair at a time (`--forwarded-uri-header` names it).
pub async fn forward_auth(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    forward_auth_for(&gw, peer, &method, &headers).await
}

/// [`forward_auth`] as routed: the request taken whole, so its headers are
/// read in place rather than copied.
pub async fn forward_auth_request(
    _admitted: Admission,
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, ApiError> {
    forward_auth_for(&gw, peer, request.method(), request.headers()).await
}

pub(super) async fn forward_auth_for(
    gw: &Gateway,
    peer: SocketAddr,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (original_method, uri) = forward_auth_target(gw, peer, headers)?;
    let original_method = original_method.as_deref().unwrap_or(method.as_str());
    let allowed = decide_request(gw, original_method, &uri, headers).await?;
    Ok(allow_response(&allowed))
}

/// [`forward_auth_for`] when its decision needs no waiting.
pub(super) fn forward_auth_at_once(
    gw: &Gateway,
    peer: SocketAddr,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Result<Response, ApiError>> {
    match forward_auth_target(gw, peer, headers) {
        Ok((original_method, uri)) => {
            let original_method = original_method.as_deref().unwrap_or(method.as_str());
            answer_at_once(gw, Ok((original_method, &uri)), headers)
        }
        Err(refused) => Some(Err(refused)),
    }
}

/// A forwarded request's original method (when one was forwarded) and URI.
type ForwardedTarget<'h> = (Option<Cow<'h, str>>, Cow<'h, str>);

/// The original method and URI a trusted peer's forward-auth request asks
/// about.
fn forward_auth_target<'h>(
    gw: &Gateway,
    peer: SocketAddr,
    headers: &'h HeaderMap,
) -> Result<ForwardedTarget<'h>, ApiError> {
    require_trusted(gw, peer)?;
    forwarded_request_borrowed(headers, gw.config().forwarded_uri_header)
        .map_err(|e| gw.metrics().counted(e))
}

/// `/auth/<original path>` with the original method: Envoy's ext_authz
/// HTTP service (`path_prefix: /auth`).
pub async fn envoy_auth(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    envoy_auth_for(&gw, peer, &method, &uri, &headers).await
}

/// [`envoy_auth`] as routed (`/auth/` and `/auth/<path>`): the request
/// taken whole, its headers read in place.
pub async fn envoy_auth_request(
    _admitted: Admission,
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Result<Response, ApiError> {
    envoy_auth_for(
        &gw,
        peer,
        request.method(),
        request.uri(),
        request.headers(),
    )
    .await
}

pub(super) async fn envoy_auth_for(
    gw: &Gateway,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let original = envoy_target(gw, peer, uri)?;
    let allowed = decide_request(gw, method.as_str(), original, headers).await?;
    Ok(allow_response(&allowed))
}

/// [`envoy_auth_for`] when its decision needs no waiting.
pub(super) fn envoy_auth_at_once(
    gw: &Gateway,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Result<Response, ApiError>> {
    let target = envoy_target(gw, peer, uri).map(|original| (method.as_str(), original));
    answer_at_once(gw, target, headers)
}

/// The original path and query a trusted peer's Envoy request asks about.
fn envoy_target<'u>(gw: &Gateway, peer: SocketAddr, uri: &'u Uri) -> Result<&'u str, ApiError> {
    require_trusted(gw, peer)?;
    Ok(uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
        .strip_prefix("/auth")
        .unwrap_or("/"))
}

/// `/auth/` alone: Envoy asking about `/`.
pub async fn envoy_auth_root(
    state: State<Gateway>,
    peer: ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    envoy_auth(state, peer, method, uri, headers).await
}

/// Any other request: in reverse-proxy mode, decided (method overrides
/// refused, cookie writes from allowed origins only) and forwarded to the
/// upstream; otherwise 404.
pub async fn proxy(State(gw): State<Gateway>, request: Request) -> Result<Response, ApiError> {
    proxy_for(gw, request).await
}

/// [`proxy`] as routed (the fallback), admitted by the in-flight limit.
pub async fn proxy_request(
    _admitted: Admission,
    State(gw): State<Gateway>,
    request: Request,
) -> Result<Response, ApiError> {
    proxy_for(gw, request).await
}

pub(super) async fn proxy_for(gw: Gateway, request: Request) -> Result<Response, ApiError> {
    let Some(upstream) = gw.upstream() else {
        return Err(no_upstream());
    };
    let allowed = decide_request(
        &gw,
        request.method().as_str(),
        proxied_target(&request),
        request.headers(),
    )
    .await?;
    let upstream_request = upstream_request(upstream, request, &allowed)?;
    from_upstream(gw.http().request(upstream_request).await)
}

/// The reverse proxy's request, by how far it got without waiting.
pub(super) enum ProxyStart {
    /// Decided at once and sent: the upstream's answer is to come
    /// ([`from_upstream`] maps it).
    Sent(ResponseFuture),
    /// Answered at once: refused, or no upstream.
    Answered(Response),
    /// The decision has to wait: [`proxy`]'s async path takes the request.
    Waiting(Request),
}

/// [`proxy`] as far as it goes without waiting: a cached decision sends the
/// request upstream here, with no future of its own to build and poll.
pub(super) fn proxy_at_once(gw: &Gateway, request: Request) -> ProxyStart {
    let Some(upstream) = gw.upstream() else {
        return ProxyStart::Answered(no_upstream().into_response());
    };
    let decided = decide_at_once(
        gw,
        request.method().as_str(),
        proxied_target(&request),
        request.headers(),
    );
    let sent = match decided {
        None => return ProxyStart::Waiting(request),
        Some(decided) => decided.and_then(|allowed| upstream_request(upstream, request, &allowed)),
    };
    match sent {
        Ok(upstream_request) => ProxyStart::Sent(gw.http().request(upstream_request)),
        Err(refused) => ProxyStart::Answered(refused.into_response()),
    }
}

/// The reverse proxy without an upstream: no such endpoint.
fn no_upstream() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// The path and query a proxied request is decided on (and sent with).
fn proxied_target(request: &Request) -> &str {
    request
        .uri()
        .path_and_query()
        .map_or("/", PathAndQuery::as_str)
}

/// `request` as it goes to `upstream`: the upstream's scheme and authority
/// with the request's path and query, HTTP/1.1, the headers the upstream
/// must not see stripped and the `allowed` identity set.
fn upstream_request(
    upstream: &Uri,
    request: Request,
    allowed: &Allowed,
) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    // A shared copy, not a new string: the target URI reuses its bytes.
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut target = Uri::builder()
        .scheme(upstream.scheme().cloned().unwrap_or(Scheme::HTTP))
        .path_and_query(path_and_query);
    if let Some(authority) = upstream.authority() {
        target = target.authority(authority.clone());
    }
    parts.uri = target
        .build()
        .map_err(|_| ApiError::Internal("upstream URI".into()))?;
    parts.version = axum::http::Version::HTTP_11;
    strip_for_upstream(&mut parts.headers);
    set_identity_headers(&mut parts.headers, allowed);
    Ok(Request::from_parts(parts, body))
}

/// The upstream's answer as the client gets it: hop-by-hop headers
/// removed; no answer is a bad gateway.
pub(super) fn from_upstream(
    answered: Result<axum::http::Response<Incoming>, LegacyError>,
) -> Result<Response, ApiError> {
    let response = answered.map_err(|e| ApiError::BadGateway(e.to_string()))?;
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}
