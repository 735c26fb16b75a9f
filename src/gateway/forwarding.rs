//! What a request says about itself that is checked before it is decided:
//! the forwarding headers describing the original request (one pair, never
//! ambiguous), method overrides, and whether a browser's change comes from
//! an allowed origin.

use std::borrow::Cow;

use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};

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
    let found = Forwarding::scan(headers);
    let (method_at, uri_at) = match trust.headers() {
        Some((m, u)) => (forwarding_index(m), forwarding_index(u)),
        None => found.present_pair(),
    };
    if (0..FORWARDING.len()).any(|i| i != method_at && i != uri_at && found.first[i].is_some()) {
        return Err(ApiError::Denied(Reason::AmbiguousForward));
    }
    let method = found.single(method_at)?.map(|m| {
        if m.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(m.to_ascii_uppercase())
        } else {
            Cow::Borrowed(m)
        }
    });
    let uri = found
        .single(uri_at)?
        .ok_or(ApiError::Denied(Reason::BadPath))?;
    let uri = if uri_at == ORIGINAL_URL {
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

/// Where each header is in [`FORWARDING`].
const FORWARDED_METHOD: usize = 0;
const FORWARDED_URI: usize = 1;
const ORIGINAL_METHOD: usize = 2;
const ORIGINAL_URI: usize = 3;
const ORIGINAL_URL: usize = 4;

/// Where the forwarding header named `name` is in [`FORWARDING`].
fn forwarding_index(name: &str) -> usize {
    FORWARDING
        .iter()
        .position(|n| n.as_str() == name)
        .unwrap_or(ORIGINAL_URI)
}

/// The forwarding headers of a request, found in one pass over its headers
/// (a lookup by name hashes the name; a request carries a handful of
/// headers and there are five names to ask about).
struct Forwarding<'a> {
    /// Each of [`FORWARDING`]'s first value.
    first: [Option<&'a HeaderValue>; FORWARDING.len()],
    /// Whether it came more than once.
    repeated: [bool; FORWARDING.len()],
}

impl<'a> Forwarding<'a> {
    fn scan(headers: &'a HeaderMap) -> Forwarding<'a> {
        let mut found = Forwarding {
            first: [None; FORWARDING.len()],
            repeated: [false; FORWARDING.len()],
        };
        // Every value, a repeated header's too.
        for (name, value) in headers {
            if let Some(i) = FORWARDING.iter().position(|f| f == name) {
                match found.first[i] {
                    Some(_) => found.repeated[i] = true,
                    None => found.first[i] = Some(value),
                }
            }
        }
        found
    }

    /// Under `auto`: the (method, URI) pair this request uses.
    fn present_pair(&self) -> (usize, usize) {
        let present = |i: usize| self.first[i].is_some();
        if present(FORWARDED_METHOD) || present(FORWARDED_URI) {
            (FORWARDED_METHOD, FORWARDED_URI)
        } else if present(ORIGINAL_URL) && !present(ORIGINAL_URI) {
            (ORIGINAL_METHOD, ORIGINAL_URL)
        } else {
            (ORIGINAL_METHOD, ORIGINAL_URI)
        }
    }

    /// The header at `i`: absent, or present once and readable.
    fn single(&self, i: usize) -> Result<Option<&'a str>, ApiError> {
        match (self.first[i], self.repeated[i]) {
            (None, _) => Ok(None),
            (Some(_), true) => Err(ApiError::Denied(Reason::AmbiguousForward)),
            (Some(v), false) => v
                .to_str()
                .map(Some)
                .map_err(|_| ApiError::Denied(Reason::BadPath)),
        }
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
    // One pass over the request's names (a lookup would hash each of ours).
    headers.keys().any(|n| METHOD_OVERRIDE_NAMES.contains(n))
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
