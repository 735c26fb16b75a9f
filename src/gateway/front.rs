//! The front doors: forward-auth (`/auth`, nginx/Traefik/Caddy style),
//! Envoy ext_authz (`/auth/<path>`), the reverse proxy, share links, the
//! public keyring, health, metrics, and the envelope layer every request
//! passes (request id, header limit, access log). Handlers are thin: they
//! extract, call [`Gateway::decide`], and map the result.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;

use crate::authorize::Reason;
use crate::model::ResourceKind;

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

/// The credential a request carries: `Authorization: Bearer`, else the
/// share-session cookie. Other schemes are not Tessera credentials.
pub fn credential(headers: &HeaderMap) -> Option<String> {
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
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| value.trim().to_owned())
            })
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The forwarding headers a proxy may use to describe the original request.
const FORWARDED: [&str; 2] = ["x-forwarded-method", "x-forwarded-uri"];
const ORIGINAL: [&str; 3] = ["x-original-method", "x-original-uri", "x-original-url"];

/// The original method and URI from forwarding headers. Exactly one family
/// may be present (a proxy sets one; nginx's auth_request also passes on
/// whatever the client sent), each header at most once and readable:
/// anything else is ambiguous and refused, never resolved by precedence.
fn forwarded_request(headers: &HeaderMap) -> Result<(Option<String>, String), ApiError> {
    let present = |names: &[&str]| names.iter().any(|n| headers.contains_key(*n));
    if present(&FORWARDED) && present(&ORIGINAL) {
        return Err(ApiError::Denied(Reason::AmbiguousForward));
    }
    let get = |name: &str| -> Result<Option<&str>, ApiError> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => v
                .to_str()
                .map(Some)
                .map_err(|_| ApiError::Denied(Reason::BadPath)),
            (Some(_), Some(_)) => Err(ApiError::Denied(Reason::AmbiguousForward)),
        }
    };
    let method = get("x-forwarded-method")?
        .or(get("x-original-method")?)
        .map(str::to_ascii_uppercase);
    let uri = match get("x-forwarded-uri")?.or(get("x-original-uri")?) {
        Some(uri) => uri.to_owned(),
        None => get("x-original-url")?
            .and_then(|u| u.parse::<Uri>().ok())
            .and_then(|u| u.path_and_query().map(ToString::to_string))
            .ok_or(ApiError::Denied(Reason::BadPath))?,
    };
    Ok((method, uri))
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
    gw.metrics()
        .record(Some(Reason::UntrustedPeer), std::time::Duration::ZERO);
    Err(ApiError::Denied(Reason::UntrustedPeer))
}

/// `/auth`: the original request comes from `X-Forwarded-Method` +
/// `X-Forwarded-Uri` (Traefik, Caddy, APISIX) or `X-Original-Method` +
/// `X-Original-URI` / `X-Original-URL` (nginx), only from trusted peers,
/// and never from both families at once.
pub async fn forward_auth(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_trusted(&gw, peer)?;
    let (original_method, uri) = forwarded_request(&headers)?;
    let original_method = original_method.unwrap_or_else(|| method.as_str().to_owned());
    let allowed = gw
        .decide(
            credential(&headers).as_deref(),
            &original_method,
            &uri,
            Utc::now(),
        )
        .await?;
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
    let allowed = gw
        .decide(
            credential(&headers).as_deref(),
            method.as_str(),
            original,
            Utc::now(),
        )
        .await?;
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

/// Any other request: in reverse-proxy mode, decided and forwarded to the
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
    let allowed = gw
        .decide(
            credential(request.headers()).as_deref(),
            request.method().as_str(),
            &path_and_query,
            Utc::now(),
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

/// `GET /s/{token}`: a share link. A valid guest token becomes an HttpOnly
/// session cookie and a 303 to the view's page; anything else gets the same
/// not-found page, so the link is no oracle.
pub async fn share_link(State(gw): State<Gateway>, Path(token): Path<String>) -> Response {
    let now = Utc::now();
    let landing = match gw.verify_token(&token).await {
        Ok(verified) => {
            let claims = verified.claims();
            let view = claims
                .rights
                .iter()
                .filter_map(|r| r.to_right())
                .find(|r| r.resource.kind == ResourceKind::View);
            match (claims.kind.as_deref(), view) {
                (Some("guest"), Some(right)) => {
                    let request = crate::authorize::Request {
                        operation: right.operation,
                        resource: right.resource.clone(),
                    };
                    let decision = gw.authorize(Some(&verified), &request, now);
                    let usable = decision
                        .reason
                        .is_none_or(|r| !r.is_credential_problem() && r != Reason::UnknownResource);
                    usable.then_some((right.resource.id, claims.expires_at))
                }
                _ => None,
            }
        }
        Err(_) => None,
    };
    let mut response = match landing {
        Some((view, expires_at)) => {
            let location = gw.config().view_page.replace("{view}", view.as_str());
            let mut cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/",
                token.trim()
            );
            if !gw.config().insecure_cookies {
                cookie.push_str("; Secure");
            }
            if let Some(at) = expires_at {
                cookie.push_str(&format!("; Max-Age={}", (at - now).num_seconds().max(0)));
            }
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let (Ok(loc), Ok(c)) = (
                HeaderValue::from_str(&location),
                HeaderValue::from_str(&cookie),
            ) {
                r.headers_mut().insert(header::LOCATION, loc);
                r.headers_mut().insert(header::SET_COOKIE, c);
            }
            r
        }
        None => (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Link not available</title><h1>This link is not available</h1><p>It may have expired or been withdrawn. Ask whoever shared it for a new one.</p>"),
        )
            .into_response(),
    };
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
            forwarded_request(&h).unwrap(),
            (Some("DELETE".into()), "/a?b".into())
        );
        // A client's X-Forwarded-* next to the proxy's X-Original-*: refused.
        h.insert("x-forwarded-method", HeaderValue::from_static("GET"));
        assert!(matches!(
            forwarded_request(&h),
            Err(ApiError::Denied(Reason::AmbiguousForward))
        ));
        let mut twice = HeaderMap::new();
        twice.append("x-forwarded-uri", HeaderValue::from_static("/a"));
        twice.append("x-forwarded-uri", HeaderValue::from_static("/b"));
        assert!(matches!(
            forwarded_request(&twice),
            Err(ApiError::Denied(Reason::AmbiguousForward))
        ));
        let mut url = HeaderMap::new();
        url.insert(
            "x-original-url",
            HeaderValue::from_static("https://h.example/x/y?z=1"),
        );
        assert_eq!(forwarded_request(&url).unwrap(), (None, "/x/y?z=1".into()));
        assert!(matches!(
            forwarded_request(&HeaderMap::new()),
            Err(ApiError::Denied(Reason::BadPath))
        ));
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
