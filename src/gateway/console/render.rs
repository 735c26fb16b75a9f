//! How console pages are sent: the templates (compiled into the binary,
//! HTML auto-escaped), the embedded assets, the error page with its reason
//! code, and the security headers on every console answer.

use std::sync::OnceLock;

use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// The console's Content-Security-Policy: its own scripts, styles and
/// images only, forms posting to itself, never framed.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../templates/console/base.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../templates/console/sign_in.html"),
    ),
    (
        "workspaces.html",
        include_str!("../../../templates/console/workspaces.html"),
    ),
    (
        "workspace.html",
        include_str!("../../../templates/console/workspace.html"),
    ),
    (
        "view.html",
        include_str!("../../../templates/console/view.html"),
    ),
    (
        "shares.html",
        include_str!("../../../templates/console/shares.html"),
    ),
    (
        "shared.html",
        include_str!("../../../templates/console/shared.html"),
    ),
    (
        "confirm.html",
        include_str!("../../../templates/console/confirm.html"),
    ),
    (
        "audit.html",
        include_str!("../../../templates/console/audit.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/console/error.html"),
    ),
];

const CSS: &str = include_str!("../../../templates/console/console.css");
const JS: &str = include_str!("../../../templates/console/console.js");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "console template does not parse");
            }
        }
        env
    })
}

/// `template` rendered with `context` (every value HTML-escaped), as a
/// page with `status`.
pub(super) fn page(status: StatusCode, template: &str, context: impl Serialize) -> Response {
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(context));
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The error page: a status, the reason code a script or test can match,
/// and a sentence for people.
pub(super) fn error_page(status: StatusCode, code: &str, message: &str) -> Response {
    page(
        status,
        "error.html",
        minijinja::context! { title => "Refused", code, message },
    )
}

/// The page of a workspace, view or share that is not there (or not the
/// caller's to see).
pub(super) fn missing() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such workspace, view or share.",
    )
}

/// Any other path under `/console`.
pub(super) async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no console page here.",
    )
}

/// `GET /console/assets/{file}`: the embedded stylesheet and script.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return not_found().await,
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// Every console answer: the strict CSP, never framed, never a referrer,
/// never cached, no content sniffing.
pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A 303 to `location` (a console path the console built).
pub(super) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        let r = environment()
            .get_template("error.html")
            .and_then(|t| {
                t.render(minijinja::context! { title => "x", code => "c", message => "<script>alert(1)</script>" })
            })
            .unwrap();
        assert!(r.contains("&lt;script&gt;alert(1)&lt;"), "{r}");
        assert!(!r.contains("<script>alert"), "{r}");
    }
}
