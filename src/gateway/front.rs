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

/// A decision door's answer when it needs no waiting (see
/// [`Gateway::decide_at_once`]); `None` leaves the request to the door's
/// own async path, which reads it again: until the decision, nothing was
/// counted or changed (a refusal before it is answered here).
fn answer_at_once(
    gw: &Gateway,
    target: Result<(&str, &str), ApiError>,
    headers: &HeaderMap,
) -> Option<Result<Response, ApiError>> {
    let asked = match target.and_then(|(method, uri)| Asked::read(gw, method, uri, headers)) {
        Ok(asked) => asked,
        Err(refused) => return Some(Err(refused)),
    };
    let decided = gw.decide_at_once(&asked.question())?;
    Some(
        asked
            .settle(gw, decided)
            .map(|allowed| allow_response(&allowed)),
    )
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

async fn proxy_for(gw: Gateway, request: Request) -> Result<Response, ApiError> {
    let Some(upstream) = gw.upstream().cloned() else {
        return Err(ApiError::NotFound("no such endpoint".into()));
    };
    // A shared copy, not a new string: the target URI reuses its bytes.
    let path_and_query = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let allowed = decide_request(
        &gw,
        request.method().as_str(),
        path_and_query.as_str(),
        request.headers(),
    )
    .await?;
    let (mut parts, body) = request.into_parts();
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
    set_identity_headers(&mut parts.headers, &allowed);
    let upstream_request = axum::http::Request::from_parts(parts, body);
    let response = gw
        .http()
        .request(upstream_request)
        .await
        .map_err(|e| ApiError::BadGateway(e.to_string()))?;
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}
