//! What a request says about itself that is checked before it is decided:
//! the forwarding headers describing the original request (one pair, never
//! ambiguous), method overrides, and whether a browser's change comes from
//! an allowed origin.

use std::borrow::Cow;

use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderName, Uri};

use crate::authorize::Reason;

use super::config::{ForwardedUriHeader, GatewayConfig};
use super::error::ApiError;

/// Every header a proxy may use to describe the original request.
static FORWARDING: [HeaderName; 5] = [
    HeaderName::from_static("x-forwarded-method"),
    HeaderName::from_static("x-forwarded-uri"),
    HeaderName::from_static("x-original-method"),
    HeaderName::from_static("x-original-uri"),
    HeaderName::from_static("x-original-url"),
];

/// The original method and URI from forwarding headers. One (method, URI)
/// pair is honoured: the configured one, or under `auto` whichever is
/// present. Any other forwarding header present, or one header repeated,
/// is ambiguous and refused, never resolved by precedence: a proxy sets one
/// pair, and nginx's auth_request (ingress-nginx's too) passes on whatever
/// else the client sent. (The front doors call the borrowing form.)
#[cfg(test)]
pub(super) fn forwarded_request(
    headers: &HeaderMap,
    trust: ForwardedUriHeader,
) -> Result<(Option<String>, String), ApiError> {
    forwarded_request_borrowed(headers, trust)
        .map(|(method, uri)| (method.map(Cow::into_owned), uri.into_owned()))
}

/// [`forwarded_request`], borrowing from `headers` whatever needs no
/// change (an upper-case method, an `X-Forwarded-Uri`/`X-Original-URI`).
pub(super) fn forwarded_request_borrowed(
    headers: &HeaderMap,
    trust: ForwardedUriHeader,
) -> Result<(Option<Cow<'_, str>>, Cow<'_, str>), ApiError> {
    let (method_name, uri_name) = match trust.headers() {
        Some((m, u)) => (forwarding_header(m), forwarding_header(u)),
        None => present_forwarding_pair(headers),
    };
    if FORWARDING
        .iter()
        .any(|n| n != method_name && n != uri_name && headers.contains_key(n))
    {
        return Err(ApiError::Denied(Reason::AmbiguousForward));
    }
    let method = single_header(headers, method_name)?.map(|m| {
        if m.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(m.to_ascii_uppercase())
        } else {
            Cow::Borrowed(m)
        }
    });
    let uri = single_header(headers, uri_name)?.ok_or(ApiError::Denied(Reason::BadPath))?;
    let uri = if *uri_name == "x-original-url" {
        Cow::Owned(
            uri.parse::<Uri>()
                .ok()
                .and_then(|u| u.path_and_query().map(ToString::to_string))
                .ok_or(ApiError::Denied(Reason::BadPath))?,
        )
    } else {
        Cow::Borrowed(uri)
    };
    Ok((method, uri))
}

/// The forwarding header named `name` (one of [`FORWARDING`]).
fn forwarding_header(name: &str) -> &'static HeaderName {
    FORWARDING
        .iter()
        .find(|n| n.as_str() == name)
        .unwrap_or(&FORWARDING[3])
}

/// Under `auto`: the (method, URI) header pair this request uses.
fn present_forwarding_pair(headers: &HeaderMap) -> (&'static HeaderName, &'static HeaderName) {
    let [fwd_method, fwd_uri, orig_method, orig_uri, orig_url] = &FORWARDING;
    let present = |name: &HeaderName| headers.contains_key(name);
    if present(fwd_method) || present(fwd_uri) {
        (fwd_method, fwd_uri)
    } else if present(orig_url) && !present(orig_uri) {
        (orig_method, orig_url)
    } else {
        (orig_method, orig_uri)
    }
}

/// A forwarding header's value: absent, or present once and readable.
pub(super) fn single_header<K: AsHeaderName>(
    headers: &HeaderMap,
    name: K,
) -> Result<Option<&str>, ApiError> {
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

/// [`METHOD_OVERRIDE_HEADERS`] as header names, looked up without parsing.
static METHOD_OVERRIDE_NAMES: [HeaderName; 3] = [
    HeaderName::from_static(METHOD_OVERRIDE_HEADERS[0]),
    HeaderName::from_static(METHOD_OVERRIDE_HEADERS[1]),
    HeaderName::from_static(METHOD_OVERRIDE_HEADERS[2]),
];

/// True when the request asks for another method than the one decided on:
/// a method-override header, or a `_method` query parameter (its name
/// percent-decoded, any case) in `uri`.
pub(super) fn carries_method_override(headers: &HeaderMap, uri: &str) -> bool {
    METHOD_OVERRIDE_NAMES
        .iter()
        .any(|n| headers.contains_key(n))
        || query_names(uri).any(|name| name.trim().eq_ignore_ascii_case("_method"))
}

/// The decoded parameter names of `uri`'s query (`&` or `;` separated).
fn query_names(uri: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    let query = uri
        .split_once('?')
        .map_or("", |(_, q)| q.split('#').next().unwrap_or(""));
    // No query: no names (not one empty name to decode).
    let query = (!query.is_empty()).then_some(query);
    query
        .into_iter()
        .flat_map(|q| q.split(['&', ';']))
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            if !name.contains(['+', '%']) {
                return Cow::Borrowed(name);
            }
            let name = name.replace('+', " ");
            Cow::Owned(
                percent_encoding::percent_decode_str(&name)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
}

/// Browsers send these methods without side effects in mind; anything else
/// changes something.
pub(super) fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// True when the browser says the request comes from an allowed origin:
/// `Sec-Fetch-Site: same-origin`, or an `Origin` among the allowed origins.
/// Each header counts only when present once.
pub(super) fn from_allowed_origin(config: &GatewayConfig, headers: &HeaderMap) -> bool {
    let once = |name: &str| single_header(headers, name).ok().flatten();
    once("sec-fetch-site") == Some("same-origin")
        || once("origin").is_some_and(|origin| config.allows_origin(origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
}
