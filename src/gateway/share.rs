//! The share-link exchange: `GET /s/{token}` turns a usable guest token
//! into the share-session cookie (or a page asking to switch from the share
//! already open), `POST /s/{token}` makes that switch; anything unusable
//! gets one and the same not-found page (or, for a client preferring
//! JSON, one and the same `404 not_found` JSON error).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::authorize::Reason;
use crate::model::{Id, ResourceKind, TokenKind};
use crate::token::VerifiedToken;

use super::credential::{session_cookie, SESSION_COOKIE};
use super::error::{ApiError, Fixed};
use super::forwarding::from_allowed_origin;
use super::state::Gateway;

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
        .decider()
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
        None => link_not_available(&headers),
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
        return Err(gw.metrics().counted(ApiError::Denied(Reason::CrossSite)));
    }
    let now = Utc::now();
    let response = match share_landing(&gw, &token, now).await {
        Some(landing) => open_session(&gw, &token, &landing, now),
        None => link_not_available(&headers),
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

/// The page of an expired, revoked or unknown link: the same for all
/// three, readable without styles, naming no token.
const LINK_NOT_AVAILABLE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Link not available</title></head><body><main>\
<h1>This link is not available</h1>\
<p id=\"link-gone\">This link no longer works. It may have expired or been withdrawn.</p>\
<p>Ask whoever shared it with you for a new link.</p></main></body></html>";

/// The one answer every unusable share link gets: the page, or for a
/// client whose `Accept` prefers JSON the `404 not_found` error, the same
/// for an expired, revoked or unknown link.
fn link_not_available(headers: &HeaderMap) -> Response {
    if super::accept::prefers_json(headers) {
        return ApiError::NotFound(Fixed::from(
            "this link no longer works: it may have expired or been withdrawn",
        ))
        .into_response();
    }
    (StatusCode::NOT_FOUND, Html(LINK_NOT_AVAILABLE)).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_page_escapes_what_it_shows() {
        assert_eq!(
            html_text("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
