//! What the upstream is told about an allowed request: [`Allowed`] (the
//! request, its decision and the `X-Tessera-*` identity headers built once
//! per decision), and stripping a client's own copies of those headers and
//! of its Tessera credential before anything is passed on.

use std::sync::atomic::{AtomicI64, Ordering};

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

use crate::authorize::{Decision, Request};

use super::credential::SESSION_COOKIE;

/// The identity headers, written once: the names as text and as header
/// names (the stripping and the setting cannot disagree).
macro_rules! identity_headers {
    ($($name:literal),* $(,)?) => {
        /// Headers the gateway sets for the upstream; client copies are stripped.
        pub const IDENTITY_HEADERS: [&str; [$($name),*].len()] = [$($name),*];
        /// [`IDENTITY_HEADERS`] as header names.
        static IDENTITY_HEADER_NAMES: [HeaderName; IDENTITY_HEADERS.len()] =
            [$(HeaderName::from_static($name)),*];
    };
}

identity_headers!(
    "x-tessera-token-id",
    "x-tessera-kind",
    "x-tessera-workspace",
    "x-tessera-operation",
    "x-tessera-resource",
    "x-tessera-user",
    "x-tessera-embed",
);

/// The request id header, read from trusted peers and set on every response
/// (by the envelope).
pub(super) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The result of an allowed decision, for the upstream headers.
#[derive(Debug)]
pub struct Allowed {
    /// What was asked.
    pub request: Request,
    /// The decision, with the token's claims (none for an anonymous public read).
    pub decision: Decision,
    /// The `X-Tessera-*` headers for the upstream, built once per decision.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The same headers as a forward-auth answer's header map, copied per
    /// answer (inserting them one by one hashed every name again), with a
    /// slot for the request id that the envelope fills: a copy has room for
    /// exactly its entries, and adding one more would grow it again.
    answer_headers: HeaderMap,
    /// When this decision's token use was last noted for the ledger (unix
    /// seconds): repeats within the granularity skip the shared map.
    last_noted: AtomicI64,
}

impl Allowed {
    /// An allowed decision for `request`, with its identity headers.
    pub fn new(request: Request, decision: Decision) -> Self {
        let headers = identity_headers(&request, &decision);
        let answer_headers = answer_map(&headers);
        Allowed {
            headers,
            answer_headers,
            request,
            decision,
            last_noted: AtomicI64::new(i64::MIN),
        }
    }

    /// True (and remembered) when this decision's token use was last noted
    /// `every_secs` or more before `now_secs`: due to be noted again.
    pub(super) fn note_due(&self, now_secs: i64, every_secs: i64) -> bool {
        let last = self.last_noted.load(Ordering::Relaxed);
        if now_secs.saturating_sub(last) >= every_secs {
            self.last_noted.store(now_secs, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// The identity headers as an answer's header map (a copy), with an
    /// empty `X-Request-Id` that the envelope replaces.
    pub fn answer_headers(&self) -> HeaderMap {
        self.answer_headers.clone()
    }
}

/// `headers` as a forward-auth answer's map, with an empty `X-Request-Id`
/// that the envelope replaces (`Done::finish`). A clone keeps the size of
/// the map's index table but holds exactly its entries, and even replacing
/// a value first makes room for one more: twice the room, so that the
/// copy of every answer takes its request id without growing.
fn answer_map(headers: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(2 * (headers.len() + 1));
    for (name, value) in headers {
        map.insert(name.clone(), value.clone());
    }
    map.insert(X_REQUEST_ID.clone(), HeaderValue::from_static(""));
    map
}

/// Sets an allowed request's identity headers on `headers`.
pub fn set_identity_headers(headers: &mut HeaderMap, allowed: &Allowed) {
    for (name, value) in &allowed.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// The `X-Tessera-*` headers describing an allowed request's grant.
pub(crate) fn identity_headers(
    request: &Request,
    decision: &Decision,
) -> Vec<(HeaderName, HeaderValue)> {
    let claims = decision.claims.as_ref();
    let values: [(&'static str, Option<String>); 7] = [
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
        ("x-tessera-embed", claims.and_then(|c| c.embed.clone())),
    ];
    values
        .into_iter()
        .filter_map(|(name, value)| {
            let value = HeaderValue::from_str(&value?).ok()?;
            Some((HeaderName::from_static(name), value))
        })
        .collect()
}

/// Hop-by-hop headers, never passed on.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers (and those the Connection header names).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    remove_connection_named(headers);
    remove_where(headers, |name| HOP_BY_HOP.contains(name));
}

/// Removes every header whose name `strip` picks: one pass over the names
/// the map holds (a few), and a removal (a hash) only for those present,
/// instead of a removal per name that might be there.
fn remove_where(headers: &mut HeaderMap, strip: impl Fn(&HeaderName) -> bool) {
    let present: Vec<HeaderName> = headers.keys().filter(|n| strip(n)).cloned().collect();
    for name in present {
        headers.remove(name);
    }
}

/// Removes the headers the Connection header names.
fn remove_connection_named(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
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
    }
}

/// Prepares a client's headers for the upstream: hop-by-hop headers go,
/// client copies of the identity headers go, and the Tessera credential
/// (bearer token, session cookie) is not passed on.
pub fn strip_for_upstream(headers: &mut HeaderMap) {
    remove_connection_named(headers);
    remove_where(headers, |name| {
        HOP_BY_HOP.contains(name)
            || IDENTITY_HEADER_NAMES.contains(name)
            || name == header::AUTHORIZATION
    });
    if !headers.contains_key(header::COOKIE) {
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stripped_name_goes_with_all_its_values() {
        let mut h = HeaderMap::new();
        let stripped: Vec<&HeaderName> = HOP_BY_HOP
            .iter()
            .chain(&IDENTITY_HEADER_NAMES)
            .chain([&header::AUTHORIZATION])
            .collect();
        for name in &stripped {
            h.append(*name, HeaderValue::from_static("one"));
            h.append(*name, HeaderValue::from_static("two"));
        }
        h.append("x-app", HeaderValue::from_static("kept"));
        strip_for_upstream(&mut h);
        for name in stripped {
            assert!(h.get_all(name).iter().next().is_none(), "{name} passed on");
        }
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-app"], "kept");
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

    #[test]
    fn an_answer_copy_takes_its_request_id_without_growing() {
        // A guest's: token id, kind, workspace, operation, resource.
        let headers: Vec<_> = IDENTITY_HEADER_NAMES[..5]
            .iter()
            .map(|n| (n.clone(), HeaderValue::from_static("v")))
            .collect();
        let prebuilt = answer_map(&headers);
        let mut copy = prebuilt.clone();
        let room = copy.capacity();
        copy.insert(X_REQUEST_ID.clone(), HeaderValue::from_static("0123abcd"));
        assert_eq!(copy.capacity(), room);
        assert_eq!(copy.len(), headers.len() + 1);
        assert_eq!(copy[&X_REQUEST_ID], "0123abcd");
        assert_eq!(copy["x-tessera-kind"], "v");
    }
}
