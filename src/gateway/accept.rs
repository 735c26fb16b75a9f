//! Content negotiation for answers that exist both as a page and as JSON:
//! whether a request's `Accept` header prefers `application/json` to
//! HTML. No header, `*/*`, and a tie all mean HTML (browsers, and the
//! share links' readable page, come first).

use axum::http::{header, HeaderMap};

/// The quality `accept` gives `media` (`type/subtype`): its own entry's,
/// else `type/*`'s, else `*/*`'s, else 0. Malformed qualities count as 1.
fn quality(accept: &str, media: &str) -> f32 {
    let kind = media.split('/').next().unwrap_or_default();
    let mut best: Option<(u8, f32)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let specificity = if range == media {
            3
        } else if range == format!("{kind}/*") {
            2
        } else if range == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// True when the request's `Accept` prefers `application/json` to
/// `text/html` (strictly: a tie is HTML).
pub fn prefers_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return false;
    }
    quality(&accept, "application/json") > quality(&accept, "text/html")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(accept: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_static(a));
        }
        h
    }

    #[test]
    fn json_only_when_preferred_to_html() {
        assert!(!prefers_json(&with(None)));
        assert!(!prefers_json(&with(Some("*/*"))));
        assert!(!prefers_json(&with(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ))));
        assert!(!prefers_json(&with(Some("application/json, text/html"))));
        assert!(!prefers_json(&with(Some("application/json;q=0.5, text/*"))));
        assert!(prefers_json(&with(Some("application/json"))));
        assert!(prefers_json(&with(Some("application/json, */*;q=0.1"))));
        assert!(prefers_json(&with(Some("text/html;q=0.2, application/*"))));
        assert!(prefers_json(&with(Some("APPLICATION/JSON; charset=utf-8"))));
    }
}
