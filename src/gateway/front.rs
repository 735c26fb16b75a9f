//! The front doors: forward-auth (`/auth`, nginx/Traefik/Caddy style),
//! Envoy ext_authz (`/auth/<path>`), the reverse proxy, share links, the
//! public keyring, health, metrics, and the envelope layer every request
//! passes (request id, header limit, access log). Handlers are thin: they
//! extract, call [`Gateway::decide`], and map the result.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::authorize::Reason;
use crate::model::{Id, ResourceKind, TokenKind};
use crate::token::VerifiedToken;

use super::config::{ForwardedUriHeader, GatewayConfig};
use super::error::{ApiError, ErrorBody};
use super::state::{Allowed, Gateway};

/// The share-session cookie that carries a guest token after `/s/{token}`.
pub const SESSION_COOKIE: &str = "tessera_session";

/// Headers the gateway sets for the upstream; client copies are stripped.
const IDENTITY_HEADERS: [&str; 6] = [
    "x-tessera-token-id",
    "x-tessera-kind",
    "x-tessera-workspace",
    "x-tessera-operation",
    "x-tessera-resource",
    "x-tessera-user",
];

/// The request id of the current request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Where a request's credential came from: the cross-site check applies to
/// the session cookie only (a browser adds it by itself; it never adds a
/// bearer token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `Authorization: Bearer …`.
    Bearer,
    /// The `tessera_session` cookie.
    SessionCookie,
}

/// The credential a request carries: `Authorization: Bearer`, else the
/// share-session cookie. Other schemes are not Tessera credentials.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    credential_with_source(headers).map(|(token, _)| token)
}

/// [`credential`], and where it came from.
pub fn credential_with_source(headers: &HeaderMap) -> Option<(String, CredentialSource)> {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        });
    match bearer {
        Some(token) => Some((token, CredentialSource::Bearer)),
        None => session_cookie(headers).map(|t| (t.to_owned(), CredentialSource::SessionCookie)),
    }
}

/// The `tessera_session` cookie's value, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.trim())
        })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every header a proxy may use to describe the original request.
const FORWARDING: [&str; 5] = [
    "x-forwarded-method",
    "x-forwarded-uri",
    "x-original-method",
    "x-original-uri",
    "x-original-url",
];

/// The original method and URI from forwarding headers. One (method, URI)
/// pair is honoured: the configured one, or under `auto` whichever is
/// present. Any other forwarding header present, or one header repeated,
/// is ambiguous and refused, never resolved by precedence: a proxy sets one
/// pair, and nginx's auth_request (ingress-nginx's too) passes on whatever
/// else the client sent.
fn forwarded_request(
    headers: &HeaderMap,
    trust: ForwardedUriHeader,
) -> Result<(Option<String>, String), ApiError> {
    let (method_name, uri_name) = trust
        .headers()
        .unwrap_or_else(|| present_forwarding_pair(headers));
    if FORWARDING
        .iter()
        .any(|n| *n != method_name && *n != uri_name && headers.contains_key(*n))
    {
        return Err(ApiError::Denied(Reason::AmbiguousForward));
    }
    let method = single_header(headers, method_name)?.map(str::to_ascii_uppercase);
    let uri = single_header(headers, uri_name)?.ok_or(ApiError::Denied(Reason::BadPath))?;
    let uri = if uri_name == "x-original-url" {
        uri.parse::<Uri>()
            .ok()
            .and_then(|u| u.path_and_query().map(ToString::to_string))
            .ok_or(ApiError::Denied(Reason::BadPath))?
    } else {
        uri.to_owned()
    };
    Ok((method, uri))
}

/// Under `auto`: the (method, URI) header pair this request uses.
fn present_forwarding_pair(headers: &HeaderMap) -> (&'static str, &'static str) {
    let present = |name: &str| headers.contains_key(name);
    if present("x-forwarded-method") || present("x-forwarded-uri") {
        ("x-forwarded-method", "x-forwarded-uri")
    } else if present("x-original-url") && !present("x-original-uri") {
        ("x-original-method", "x-original-url")
    } else {
        ("x-original-method", "x-original-uri")
    }
}

/// A forwarding header's value: absent, or present once and readable.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::Denied(Reason::BadPath)),
        (Some(_), Some(_)) => Err(ApiError::Denied(Reason::AmbiguousForward)),
    }
}

/// Headers that ask an application to act on another method than the
/// request's own.
const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// True when the request asks for another method than the one decided on:
/// a method-override header, or a `_method` query parameter (its name
/// percent-decoded, any case) in `uri`.
fn carries_method_override(headers: &HeaderMap, uri: &str) -> bool {
    METHOD_OVERRIDE_HEADERS
        .iter()
        .any(|n| headers.contains_key(*n))
        || query_names(uri).any(|name| name.trim().eq_ignore_ascii_case("_method"))
}

/// The decoded parameter names of `uri`'s query (`&` or `;` separated).
fn query_names(uri: &str) -> impl Iterator<Item = String> + '_ {
    let query = uri
        .split_once('?')
        .map_or("", |(_, q)| q.split('#').next().unwrap_or(""));
    query.split(['&', ';']).map(|pair| {
        let name = pair.split('=').next().unwrap_or("").replace('+', " ");
        percent_encoding::percent_decode_str(&name)
            .decode_utf8_lossy()
            .into_owned()
    })
}

/// Browsers send these methods without side effects in mind; anything else
/// changes something.
fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// True when the browser says the request comes from an allowed origin:
/// `Sec-Fetch-Site: same-origin`, or an `Origin` among the allowed origins.
/// Each header counts only when present once.
fn from_allowed_origin(config: &GatewayConfig, headers: &HeaderMap) -> bool {
    let once = |name: &str| single_header(headers, name).ok().flatten();
    once("sec-fetch-site") == Some("same-origin")
        || once("origin").is_some_and(|origin| config.allows_origin(origin))
}

/// A refusal made at the front door rather than by the decision core:
/// counted in the metrics like a decision.
fn counted(gw: &Gateway, error: ApiError) -> ApiError {
    if let ApiError::Denied(reason) = &error {
        gw.metrics().record(Some(*reason), Duration::ZERO);
    }
    error
}

/// What every front door runs for one request (`method` and `uri` as
/// decided: the original ones for forward-auth): method overrides are
/// refused, the decision is made, and an unsafe request authenticated by the
/// session cookie must come from an allowed origin (cross-site forgery).
async fn decide_request(
    gw: &Gateway,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
) -> Result<Arc<Allowed>, ApiError> {
    if carries_method_override(headers, uri) {
        return Err(counted(gw, ApiError::Denied(Reason::MethodOverride)));
    }
    let credential = credential_with_source(headers);
    let allowed = gw
        .decide(
            credential.as_ref().map(|(token, _)| token.as_str()),
            method,
            uri,
            Utc::now(),
        )
        .await?;
    let by_cookie = matches!(credential, Some((_, CredentialSource::SessionCookie)));
    if by_cookie && !is_safe_method(method) && !from_allowed_origin(gw.config(), headers) {
        return Err(counted(gw, ApiError::Denied(Reason::CrossSite)));
    }
    Ok(allowed)
}

/// The 200 answer to an allowed forward-auth request: headers describing
/// the grant, for the upstream.
fn allow_response(allowed: &Allowed) -> Response {
    let mut response = StatusCode::OK.into_response();
    set_identity_headers(response.headers_mut(), allowed);
    response
}

fn set_identity_headers(headers: &mut HeaderMap, allowed: &Allowed) {
    for (name, value) in &allowed.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// The `X-Tessera-*` headers describing an allowed request's grant.
pub(crate) fn identity_headers(
    request: &crate::authorize::Request,
    decision: &crate::authorize::Decision,
) -> Vec<(HeaderName, HeaderValue)> {
    let claims = decision.claims.as_ref();
    let values: [(&'static str, Option<String>); 6] = [
        (
            "x-tessera-token-id",
            claims.and_then(|c| c.token_id.clone()),
        ),
        (
            "x-tessera-kind",
            Some(
                claims
                    .and_then(|c| c.kind.clone())
                    .unwrap_or_else(|| "anonymous".into()),
            ),
        ),
        (
            "x-tessera-workspace",
            claims.and_then(|c| c.workspace.clone()),
        ),
        (
            "x-tessera-operation",
            Some(request.operation.as_str().to_owned()),
        ),
        ("x-tessera-resource", Some(request.resource.to_string())),
        ("x-tessera-user", claims.and_then(|c| c.user.clone())),
    ];
    values
        .into_iter()
        .filter_map(|(name, value)| {
            let value = HeaderValue::from_str(&value?).ok()?;
            Some((HeaderName::from_static(name), value))
        })
        .collect()
}

/// Forwarded-request front doors answer only trusted peers (`untrusted_peer`).
fn require_trusted(gw: &Gateway, peer: SocketAddr) -> Result<(), ApiError> {
    if gw.is_trusted(peer.ip()) {
        return Ok(());
    }
    Err(counted(gw, ApiError::Denied(Reason::UntrustedPeer)))
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
    require_trusted(&gw, peer)?;
    let (original_method, uri) = forwarded_request(&headers, gw.config().forwarded_uri_header)
        .map_err(|e| counted(&gw, e))?;
    let original_method = original_method.unwrap_or_else(|| method.as_str().to_owned());
    let allowed = decide_request(&gw, &original_method, &uri, &headers).await?;
    Ok(allow_response(&allowed))
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
    require_trusted(&gw, peer)?;
    let original = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
        .strip_prefix("/auth")
        .unwrap_or("/");
    let allowed = decide_request(&gw, method.as_str(), original, &headers).await?;
    Ok(allow_response(&allowed))
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
    let Some(upstream) = gw.upstream().cloned() else {
        return Err(ApiError::NotFound("no such endpoint".into()));
    };
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let allowed = decide_request(
        &gw,
        request.method().as_str(),
        &path_and_query,
        request.headers(),
    )
    .await?;
    let (mut parts, body) = request.into_parts();
    let target = format!(
        "{}://{}{}",
        upstream.scheme_str().unwrap_or("http"),
        upstream.authority().map(|a| a.as_str()).unwrap_or(""),
        path_and_query
    );
    parts.uri = target
        .parse()
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

/// Removes hop-by-hop headers (and those the Connection header names).
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// Prepares a client's headers for the upstream: hop-by-hop headers go,
/// client copies of the identity headers go, and the Tessera credential
/// (bearer token, session cookie) is not passed on.
fn strip_for_upstream(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
    for name in IDENTITY_HEADERS {
        headers.remove(name);
    }
    headers.remove(header::AUTHORIZATION);
    let cookies: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty()
                && pair
                    .split_once('=')
                    .is_none_or(|(name, _)| name != SESSION_COOKIE)
        })
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !cookies.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }
}

/// Where a usable share link lands: the view it opens, for the verified
/// guest token it carries.
struct Landing {
    view: Id,
    token: Arc<VerifiedToken>,
}

/// The landing of a share link's token: a verified guest token with a view
/// right whose decision is neither a credential problem, an unknown view
/// nor over the run limits (a Datalog bomb). `None` for anything else.
async fn share_landing(gw: &Gateway, text: &str, now: DateTime<Utc>) -> Option<Landing> {
    let token = gw.verify_token(text).await.ok()?;
    let claims = token.claims();
    let kind = claims
        .kind
        .as_deref()
        .and_then(|k| k.parse::<TokenKind>().ok());
    if kind != Some(TokenKind::Guest) {
        return None;
    }
    let right = claims
        .rights
        .iter()
        .filter_map(|r| r.to_right())
        .find(|r| r.resource.kind == ResourceKind::View)?;
    let request = crate::authorize::Request {
        operation: right.operation,
        resource: right.resource.clone(),
    };
    // The same bounded runner as every other front door: Datalog never runs
    // on an async worker.
    let decision = gw
        .authorize_off_workers(Some(token.clone()), request, now)
        .await;
    let usable = decision.reason.is_none_or(|r| {
        !r.is_credential_problem() && r != Reason::UnknownResource && r != Reason::Limits
    });
    usable.then(|| Landing {
        view: right.resource.id,
        token: token.clone(),
    })
}

/// `GET /s/{token}`: a share link. A valid guest token becomes an HttpOnly
/// session cookie and a 303 to the view's page; anything else gets the same
/// not-found page, so the link is no oracle. A browser that already holds
/// the session of another usable share is not switched silently: it gets a
/// page naming both views, whose button posts back here.
pub async fn share_link(
    State(gw): State<Gateway>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = Utc::now();
    let response = match share_landing(&gw, &token, now).await {
        None => link_not_available(),
        Some(landing) => match open_share(&gw, &headers, &landing, now).await {
            Some(open) => switch_page(&gw, &open, &landing),
            None => open_session(&gw, &token, &landing, now),
        },
    };
    share_link_headers(response)
}

/// `POST /s/{token}`: the switch the page of [`share_link`] asks for. Like
/// any change made in a browser it must come from an allowed origin
/// (`403 cross_site`), so another site cannot swap the session it holds.
pub async fn switch_share(
    State(gw): State<Gateway>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !from_allowed_origin(gw.config(), &headers) {
        return Err(counted(&gw, ApiError::Denied(Reason::CrossSite)));
    }
    let now = Utc::now();
    let response = match share_landing(&gw, &token, now).await {
        Some(landing) => open_session(&gw, &token, &landing, now),
        None => link_not_available(),
    };
    Ok(share_link_headers(response))
}

/// The share this browser already has open (its session cookie), when it
/// is usable and another token than `landing`'s.
async fn open_share(
    gw: &Gateway,
    headers: &HeaderMap,
    landing: &Landing,
    now: DateTime<Utc>,
) -> Option<Landing> {
    let open = share_landing(gw, session_cookie(headers)?, now).await?;
    (open.token.revocation_ids() != landing.token.revocation_ids()).then_some(open)
}

/// The session cookie for `token` and a 303 to the landing view's page.
fn open_session(gw: &Gateway, token: &str, landing: &Landing, now: DateTime<Utc>) -> Response {
    let mut cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/",
        token.trim()
    );
    if !gw.config().insecure_cookies {
        cookie.push_str("; Secure");
    }
    if let Some(at) = landing.token.claims().expires_at {
        cookie.push_str(&format!("; Max-Age={}", (at - now).num_seconds().max(0)));
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let (Ok(loc), Ok(c)) = (
        HeaderValue::from_str(&view_page(gw, &landing.view)),
        HeaderValue::from_str(&cookie),
    ) {
        r.headers_mut().insert(header::LOCATION, loc);
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

fn view_page(gw: &Gateway, view: &Id) -> String {
    gw.config().view_page.replace("{view}", view.as_str())
}

/// The page asking whether to switch from the open share to the new one.
/// Its form has no action, so it posts to the very URL shown, and the page
/// never repeats the token. It may not be framed (no clickjacking).
fn switch_page(gw: &Gateway, open: &Landing, landing: &Landing) -> Response {
    let (open_view, new_view) = (
        html_text(open.view.as_str()),
        html_text(landing.view.as_str()),
    );
    let stay = html_text(&view_page(gw, &open.view));
    let page = format!(
        "<!doctype html><title>Switch shared view?</title><h1>A share is already open</h1>\
         <p>This browser has a share open for view <b>{open_view}</b>. This link opens view \
         <b>{new_view}</b> instead, and would close the share that is open.</p>\
         <form method=\"post\"><button type=\"submit\">Switch to view {new_view}</button></form>\
         <p><a href=\"{stay}\">Stay on view {open_view}</a></p>"
    );
    let mut r = (StatusCode::OK, Html(page)).into_response();
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    r
}

/// `text` with HTML's special characters escaped.
fn html_text(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

/// The one page every unusable share link gets.
fn link_not_available() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Link not available</title><h1>This link is not available</h1><p>It may have expired or been withdrawn. Ask whoever shared it for a new one.</p>"),
    )
        .into_response()
}

/// Share-link answers hold a token in their URL: never cached, never sent
/// on as a referrer.
fn share_link_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /.well-known/biscuit-web-keys`: the public keyring.
pub async fn public_keys(State(gw): State<Gateway>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        gw.keyring().to_bwk_json(),
    )
        .into_response()
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: keys, policy, routes and store are loaded, and keys from a
/// file or URL were refreshed within `max_key_staleness_secs` (503 with
/// `keys_stale: true` otherwise; the gateway still verifies with the last
/// good keys, so a load balancer can take it out while it keeps answering).
pub async fn readyz(State(gw): State<Gateway>) -> Response {
    let keys = gw.keyring().ids().count();
    let freshness = gw.key_freshness();
    let stale = freshness.is_stale();
    let ready = keys > 0 && !stale;
    let body = serde_json::json!({
        "ready": ready,
        "keys": keys,
        "revoked_ids": gw.revoked_count(),
        "views": gw.registry().views.len(),
        "uptime_seconds": gw.uptime().as_secs(),
        "keys_stale": stale,
        "keys_age_seconds": freshness.age().map(|age| age.as_secs()),
        "key_refresh_failures": freshness.failures(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(gw): State<Gateway>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        gw.metrics().render(gw.revoked_count()),
    )
        .into_response()
}

/// Every request: a request id (kept from a trusted peer's `X-Request-Id`,
/// otherwise new), the header size limit, error bodies completed with the
/// request id, and one access-log line without any credential.
pub async fn envelope(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let request_id = header_str(request.headers(), "x-request-id")
        .filter(|_| gw.is_trusted(peer.ip()))
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 8]>()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    let mut response = if header_bytes > gw.config().max_header_bytes {
        ApiError::HeadersTooLarge(gw.config().max_header_bytes).into_response()
    } else {
        request
            .extensions_mut()
            .insert(RequestId(request_id.clone()));
        let limit = gw.config().request_timeout_ms;
        match tokio::time::timeout(Duration::from_millis(limit), next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::Timeout(limit).into_response(),
        }
    };
    let error = response.extensions_mut().remove::<ErrorBody>();
    if let Some(body) = &error {
        let status = response.status();
        let headers = response.headers().clone();
        response = (
            status,
            axum::Json(serde_json::json!({
                "error": body.code,
                "message": body.message,
                "request_id": request_id,
            })),
        )
            .into_response();
        for (name, value) in &headers {
            if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let log_path = loggable_path(&path);
    tracing::info!(
        request_id = %request_id,
        peer = %peer.ip(),
        method = %method,
        path = %log_path,
        status = response.status().as_u16(),
        error = error.as_ref().map_or("", |e| e.code),
        micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// The path as logged: everything after a share-link segment (`/s/`) is
/// cut, wherever it appears (`/s/{token}`, Envoy's `/auth/s/{token}`), so a
/// token in a path never reaches the log.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/s/") {
        Some(i) => format!("{}/s/…", &path[..i]).into(),
        None => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_requests_must_be_unambiguous() {
        let mut h = HeaderMap::new();
        h.insert("x-original-method", HeaderValue::from_static("delete"));
        h.insert("x-original-uri", HeaderValue::from_static("/a?b"));
        assert_eq!(
            forwarded_request(&h, ForwardedUriHeader::Auto).unwrap(),
            (Some("DELETE".into()), "/a?b".into())
        );
        // A client's X-Forwarded-* next to the proxy's X-Original-*: refused.
        h.insert("x-forwarded-method", HeaderValue::from_static("GET"));
        assert!(matches!(
            forwarded_request(&h, ForwardedUriHeader::Auto),
            Err(ApiError::Denied(Reason::AmbiguousForward))
        ));
        let mut twice = HeaderMap::new();
        twice.append("x-forwarded-uri", HeaderValue::from_static("/a"));
        twice.append("x-forwarded-uri", HeaderValue::from_static("/b"));
        assert!(matches!(
            forwarded_request(&twice, ForwardedUriHeader::Auto),
            Err(ApiError::Denied(Reason::AmbiguousForward))
        ));
        let mut url = HeaderMap::new();
        url.insert(
            "x-original-url",
            HeaderValue::from_static("https://h.example/x/y?z=1"),
        );
        assert_eq!(
            forwarded_request(&url, ForwardedUriHeader::Auto).unwrap(),
            (None, "/x/y?z=1".into())
        );
        assert!(matches!(
            forwarded_request(&HeaderMap::new(), ForwardedUriHeader::Auto),
            Err(ApiError::Denied(Reason::BadPath))
        ));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    fn ambiguous(result: Result<(Option<String>, String), ApiError>) -> bool {
        matches!(result, Err(ApiError::Denied(Reason::AmbiguousForward)))
    }

    #[test]
    fn original_uri_and_original_url_together_are_ambiguous() {
        // ingress-nginx sets X-Original-URL and passes a client's X-Original-URI on.
        let h = headers(&[
            ("x-original-method", "GET"),
            ("x-original-url", "https://h.example/views/v_1"),
            ("x-original-uri", "/views/v_2"),
        ]);
        assert!(ambiguous(forwarded_request(&h, ForwardedUriHeader::Auto)));
        assert!(ambiguous(forwarded_request(
            &h,
            ForwardedUriHeader::XOriginalUrl
        )));
        assert!(ambiguous(forwarded_request(
            &h,
            ForwardedUriHeader::XOriginalUri
        )));
    }

    #[test]
    fn a_configured_header_is_the_only_one_honoured() {
        let url = headers(&[
            ("x-original-method", "post"),
            (
                "x-original-url",
                "https://h.example/api/v1/views/v_1/rows?a=1",
            ),
        ]);
        assert_eq!(
            forwarded_request(&url, ForwardedUriHeader::XOriginalUrl).unwrap(),
            (Some("POST".into()), "/api/v1/views/v_1/rows?a=1".into())
        );
        // The other URI header of the same family is another header: refused.
        assert!(ambiguous(forwarded_request(
            &url,
            ForwardedUriHeader::XOriginalUri
        )));
        // The configured header missing is no fallback to another one.
        let method_only = headers(&[("x-original-method", "GET")]);
        assert!(matches!(
            forwarded_request(&method_only, ForwardedUriHeader::XOriginalUrl),
            Err(ApiError::Denied(Reason::BadPath))
        ));
        assert!(ambiguous(forwarded_request(
            &url,
            ForwardedUriHeader::XForwardedUri
        )));
        let traefik = headers(&[("x-forwarded-method", "GET"), ("x-forwarded-uri", "/a")]);
        assert_eq!(
            forwarded_request(&traefik, ForwardedUriHeader::XForwardedUri).unwrap(),
            (Some("GET".into()), "/a".into())
        );
        assert!(ambiguous(forwarded_request(
            &traefik,
            ForwardedUriHeader::XOriginalUrl
        )));
        // Any other forwarding header next to the configured one: refused,
        // the method header of the other family included.
        for extra in ["x-forwarded-method", "x-forwarded-uri", "x-original-uri"] {
            let mut h = url.clone();
            h.insert(extra, HeaderValue::from_static("GET"));
            assert!(
                ambiguous(forwarded_request(&h, ForwardedUriHeader::XOriginalUrl)),
                "{extra}"
            );
        }
        let mut h = traefik.clone();
        h.insert("x-original-method", HeaderValue::from_static("GET"));
        assert!(ambiguous(forwarded_request(
            &h,
            ForwardedUriHeader::XForwardedUri
        )));
        let mut twice = url.clone();
        twice.append("x-original-url", HeaderValue::from_static("https://h/b"));
        assert!(ambiguous(forwarded_request(
            &twice,
            ForwardedUriHeader::XOriginalUrl
        )));
    }

    #[test]
    fn method_overrides_are_found_in_headers_and_the_query() {
        let none = HeaderMap::new();
        for name in METHOD_OVERRIDE_HEADERS {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static("DELETE"));
            assert!(
                carries_method_override(&h, "/api/v1/views/v_1/rows"),
                "{name}"
            );
        }
        for uri in [
            "/rows?_method=DELETE",
            "/rows?a=1&_method=delete",
            "/rows?a=1;_method=PUT",
            "/rows?%5Fmethod=DELETE",
            "/rows?_METHOD=DELETE",
            "/rows?_method",
            "/rows?+_method=DELETE",
        ] {
            assert!(carries_method_override(&none, uri), "{uri}");
        }
        for uri in [
            "/rows",
            "/rows?method=DELETE",
            "/rows?x_method=DELETE",
            "/rows?q=_method",
            "/rows/_method",
            "/rows?a=1#_method=x",
        ] {
            assert!(!carries_method_override(&none, uri), "{uri}");
        }
    }

    #[test]
    fn cookie_writes_need_an_allowed_origin() {
        let mut config = GatewayConfig {
            public_url: Some("https://share.example.com".into()),
            ..GatewayConfig::default()
        };
        let allowed = |pairs: &[(&'static str, &'static str)], c: &GatewayConfig| {
            from_allowed_origin(c, &headers(pairs))
        };
        assert!(allowed(&[("sec-fetch-site", "same-origin")], &config));
        assert!(allowed(&[("origin", "https://share.example.com")], &config));
        assert!(!allowed(&[], &config), "no signal: refused");
        for site in ["cross-site", "same-site", "none"] {
            let pairs = [("sec-fetch-site", site)];
            assert!(!allowed(&pairs, &config), "{site}");
        }
        assert!(!allowed(&[("origin", "https://evil.example")], &config));
        assert!(!allowed(&[("origin", "null")], &config));
        assert!(
            !allowed(
                &[
                    ("origin", "https://share.example.com"),
                    ("origin", "https://evil.example"),
                ],
                &config
            ),
            "a repeated Origin counts for nothing"
        );
        config.allowed_origins = vec!["https://app.example.com".into()];
        assert!(allowed(
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://app.example.com")
            ],
            &config
        ));
        assert!(!allowed(
            &[("origin", "https://share.example.com")],
            &config
        ));
        for method in ["GET", "HEAD", "OPTIONS"] {
            assert!(is_safe_method(method));
        }
        for method in ["POST", "PUT", "PATCH", "DELETE", "get", "PROPFIND"] {
            assert!(!is_safe_method(method), "{method}");
        }
    }

    #[test]
    fn credentials_say_where_they_came_from() {
        let cookie = headers(&[("cookie", "tessera_session=tsr_c")]);
        assert_eq!(
            credential_with_source(&cookie),
            Some(("tsr_c".into(), CredentialSource::SessionCookie))
        );
        let both = headers(&[
            ("cookie", "tessera_session=tsr_c"),
            ("authorization", "Bearer tsr_b"),
        ]);
        assert_eq!(
            credential_with_source(&both),
            Some(("tsr_b".into(), CredentialSource::Bearer))
        );
        assert_eq!(session_cookie(&both), Some("tsr_c"));
    }

    #[test]
    fn the_switch_page_escapes_what_it_shows() {
        assert_eq!(
            html_text("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn share_link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/s/tsr_abc"), "/s/…");
        assert_eq!(loggable_path("/auth/s/tsr_abc"), "/auth/s/…");
        assert_eq!(
            loggable_path("/api/v1/views/v_1/rows"),
            "/api/v1/views/v_1/rows"
        );
    }

    #[test]
    fn credentials_come_from_bearer_then_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=tsr_cookie; b=2"),
        );
        assert_eq!(credential(&h).as_deref(), Some("tsr_cookie"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tsr_header "),
        );
        assert_eq!(credential(&h).as_deref(), Some("tsr_header"));
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwdw=="),
        );
        assert_eq!(credential(&basic), None);
    }

    #[test]
    fn upstream_never_sees_credentials_or_forged_identity() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tsr_x"),
        );
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; tessera_session=tsr_x"),
        );
        h.insert("x-tessera-kind", HeaderValue::from_static("admin"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("x-app", HeaderValue::from_static("kept"));
        strip_for_upstream(&mut h);
        assert!(h.get(header::AUTHORIZATION).is_none());
        assert_eq!(h[header::COOKIE], "theme=dark");
        assert!(h.get("x-tessera-kind").is_none());
        assert!(h.get("x-secret").is_none());
        assert!(h.get(header::CONNECTION).is_none());
        assert_eq!(h["x-app"], "kept");
    }
}
