//! Credential extraction: where a request's Tessera token is found
//! (`Authorization: Bearer`, else the `tessera_session` cookie) and which
//! of the two it came from.

use axum::http::{header, HeaderMap};

/// The share-session cookie that carries a guest token after `/s/{token}`.
pub const SESSION_COOKIE: &str = "tessera_session";

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
    borrowed_credential(headers).map(|(token, source)| (token.to_owned(), source))
}

/// [`credential_with_source`] without copying the token: what the decision
/// front doors use, so a request's token is read in place.
pub fn borrowed_credential(headers: &HeaderMap) -> Option<(&str, CredentialSource)> {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match bearer {
        Some(token) => Some((token, CredentialSource::Bearer)),
        None => session_cookie(headers).map(|t| (t, CredentialSource::SessionCookie)),
    }
}

/// The `tessera_session` cookie's value, if the request carries one.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    named_cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `wanted`, if the request carries one.
pub(super) fn named_cookie<'h>(headers: &'h HeaderMap, wanted: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    header::HeaderName::from_static(n),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
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
}
