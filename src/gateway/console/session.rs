//! The console's session: the token pasted once into the sign-in form,
//! kept only in an HttpOnly, Secure, SameSite=Strict cookie scoped to
//! `/console`, and decided again on every request by the admin API's own
//! admission (`admin::admit`): a session ends the moment its token expires
//! or is revoked. Sign out clears the cookie.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::api::ViewInfo;
use crate::authorize::Reason;
use crate::gateway::admin::admit;
use crate::gateway::admin::common::Caller;
use crate::model::{Id, Operation};

use super::client::Refused;
use super::csrf::{self, cookie, Csrf};
use super::render::{error_page, missing, page, see_other};
use super::Console;

/// The cookie holding the signed-in token.
pub(super) const SESSION_COOKIE: &str = "tessera_console";

/// A signed-in request: the token (never shown), who it is, and the CSRF
/// nonce for the forms of the page it gets.
pub(super) struct Signed {
    token: Zeroizing<String>,
    /// The admin API's caller for this token.
    pub(super) caller: Caller,
    /// This browser's CSRF nonce.
    pub(super) csrf: Csrf,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl Signed {
    /// The token, for an admin API call.
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// True when the caller may see `workspace` in the console: an admin
    /// token everywhere, a member token where its user is owner or admin.
    pub(super) fn sees(&self, console: &Console, workspace: &Id) -> bool {
        match self.caller.user() {
            None => true,
            Some(user) => console
                .gw
                .registry()
                .people
                .role(workspace, user)
                .is_some_and(|r| r.manages_members()),
        }
    }

    /// The view's registry entry and its workspace, when the caller sees it.
    pub(super) fn view(&self, console: &Console, view: &Id) -> Option<(ViewInfo, Id)> {
        let registry = console.gw.registry();
        let info = ViewInfo::of(&registry, view)?;
        let workspace = info.workspace.clone()?;
        self.sees(console, &workspace).then_some((info, workspace))
    }

    /// `response` with the CSRF cookie when it is new.
    pub(super) fn finish(&self, console: &Console, mut response: Response) -> Response {
        self.csrf.set_on(&mut response, secure(console));
        response
    }
}

fn secure(console: &Console) -> bool {
    !console.gw.config().insecure_cookies
}

/// Decides the request's session the way the admin API decides its
/// requests. `Err` is the answer instead: the sign-in page, with the
/// cookie cleared and the reason when there was a session.
pub(super) async fn signed_in(console: &Console, headers: &HeaderMap) -> Result<Signed, Response> {
    let csrf = Csrf::of(&console.csrf_key, headers);
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(sign_in_page(console, &csrf, StatusCode::OK, None));
    };
    let token = Zeroizing::new(token.to_owned());
    match decide(console, &token).await {
        Ok(caller) => Ok(Signed {
            token,
            caller,
            csrf,
        }),
        Err(reason) => {
            let mut page = sign_in_page(console, &csrf, StatusCode::UNAUTHORIZED, Some(reason));
            clear_session(console, &mut page);
            Err(page)
        }
    }
}

/// The admin API's admission of `token` for the console: an admin token,
/// or a member token whose user is owner or admin of a workspace.
async fn decide(console: &Console, token: &str) -> Result<Caller, &'static str> {
    let (_, caller) = admit(
        &console.gw,
        Some(token.to_owned()),
        Operation::Read,
        true,
        Utc::now(),
    )
    .await
    .map_err(Reason::code)?;
    if let Some(user) = caller.user() {
        let registry = console.gw.registry();
        let manages = registry.workspaces.iter().any(|ws| {
            registry
                .people
                .role(ws, user)
                .is_some_and(|r| r.manages_members())
        });
        if !manages {
            return Err(Reason::WrongKind.code());
        }
    }
    Ok(caller)
}

/// The sign-in page, with why the last session ended or sign-in failed.
pub(super) fn sign_in_page(
    console: &Console,
    csrf: &Csrf,
    status: StatusCode,
    reason: Option<&str>,
) -> Response {
    let mut r = page(
        status,
        "sign_in.html",
        minijinja::context! { title => "Sign in", csrf => csrf.token(), reason },
    );
    csrf.set_on(&mut r, secure(console));
    r
}

/// The sign-in form.
#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    token: String,
}

/// `POST /console/sign-in`: the pasted token becomes the session cookie
/// when the admin API admits it; the console's home follows.
pub(super) async fn sign_in(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let pasted = Zeroizing::new(form.token);
    if let Err(code) = csrf::check(&console.csrf_key, &headers, form.csrf.as_deref()) {
        return refused_csrf(code);
    }
    let csrf = Csrf::of(&console.csrf_key, &headers);
    let token = pasted.trim();
    if token.is_empty() || token.len() > console.gw.config().max_token_bytes {
        return sign_in_page(
            &console,
            &csrf,
            StatusCode::UNAUTHORIZED,
            Some("missing_token"),
        );
    }
    if let Err(reason) = decide(&console, token).await {
        return sign_in_page(&console, &csrf, StatusCode::UNAUTHORIZED, Some(reason));
    }
    let mut cookie = Zeroizing::new(format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/console"
    ));
    if secure(&console) {
        cookie.push_str("; Secure");
    }
    if let Some(at) = console
        .gw
        .verify_token(token)
        .await
        .ok()
        .and_then(|t| t.claims().expires_at)
    {
        let left = (at - Utc::now()).num_seconds().max(0);
        cookie.push_str(&format!("; Max-Age={left}"));
    }
    let mut r = see_other("/console");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The sign-out form.
#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    pub(super) csrf: Option<String>,
}

/// `POST /console/sign-out`: clears the session cookie.
pub(super) async fn sign_out(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(code) = csrf::check(&console.csrf_key, &headers, form.csrf.as_deref()) {
        return refused_csrf(code);
    }
    let mut r = see_other("/console");
    clear_session(&console, &mut r);
    r
}

fn clear_session(console: &Console, response: &mut Response) {
    let cookie = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/console; Max-Age=0{}",
        if secure(console) { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A POST refused by the CSRF check: 403 with the reason code.
pub(super) fn refused_csrf(code: &str) -> Response {
    let message = match code {
        "cross_site" => "This form was sent from another site.",
        "csrf_missing" => "This form carries no CSRF token. Reload the page and try again.",
        _ => "This form's CSRF token does not match this browser. Reload the page and try again.",
    };
    error_page(StatusCode::FORBIDDEN, code, message).into_response()
}

/// A signed-in POST: the CSRF check first, then the session.
pub(super) async fn posted(
    console: &Console,
    headers: &HeaderMap,
    csrf_field: Option<&str>,
) -> Result<Signed, Response> {
    csrf::check(&console.csrf_key, headers, csrf_field).map_err(refused_csrf)?;
    signed_in(console, headers).await
}

/// [`signed_in`], for a page about the id `raw` in its path (not found
/// when it is no id).
pub(super) async fn signed_for(
    console: &Console,
    headers: &HeaderMap,
    raw: &str,
) -> Result<(Signed, Id), Response> {
    let signed = signed_in(console, headers).await?;
    Ok((signed, Id::new(raw).map_err(|_| missing())?))
}

/// [`posted`], for a form about the id `raw` in its path.
pub(super) async fn posted_for(
    console: &Console,
    headers: &HeaderMap,
    csrf_field: Option<&str>,
    raw: &str,
) -> Result<(Signed, Id), Response> {
    let signed = posted(console, headers, csrf_field).await?;
    Ok((signed, Id::new(raw).map_err(|_| missing())?))
}

/// The answer to an admin API refusal: the sign-in page when the token no
/// longer passes (the session is over), else the error page with its code.
pub(super) async fn refusal(console: &Console, headers: &HeaderMap, refused: Refused) -> Response {
    if !refused.ends_session() {
        return error_page(refused.status, &refused.code, &refused.message);
    }
    match signed_in(console, headers).await {
        Ok(_) => error_page(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The admin API refused this session's token.",
        ),
        Err(page) => page,
    }
}
