//! The console's CSRF defence: a random nonce in an HttpOnly,
//! SameSite=Strict cookie scoped to `/console`, and in every form a token
//! derived from it with the console's secret ([`CsrfKey`], kept in the
//! data directory so forms outlive a restart). A POST passes only with
//! the form's token matching the cookie's (`csrf_missing`,
//! `csrf_mismatch`), and never from another site (`cross_site`, when the
//! browser says so with `Sec-Fetch-Site`).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub(super) use super::csrf_key::CsrfKey;

/// The cookie holding the nonce.
pub(super) const CSRF_COOKIE: &str = "tessera_console_csrf";

fn derive(key: &CsrfKey, nonce: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key.bytes());
    h.update(b"tessera console csrf\0");
    h.update(nonce.as_bytes());
    h.finalize().into()
}

/// A cookie's value in `headers`, by name; an empty one is none.
pub(super) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    crate::gateway::credential::named_cookie(headers, name).filter(|v| !v.is_empty())
}

/// This browser's CSRF nonce: the cookie's, or a new one to set.
pub(super) struct Csrf {
    key: CsrfKey,
    nonce: String,
    fresh: bool,
}

impl Csrf {
    /// The nonce of the request's cookie, or a fresh one.
    pub(super) fn of(key: &CsrfKey, headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE).filter(|n| is_nonce(n)) {
            Some(nonce) => Csrf {
                key: key.clone(),
                nonce: nonce.to_owned(),
                fresh: false,
            },
            None => {
                let mut n = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut n);
                Csrf {
                    key: key.clone(),
                    nonce: hex::encode(n),
                    fresh: true,
                }
            }
        }
    }

    /// The token the forms carry.
    pub(super) fn token(&self) -> String {
        hex::encode(derive(&self.key, &self.nonce))
    }

    /// Sets the nonce cookie on `response` when it is new.
    pub(super) fn set_on(&self, response: &mut Response, secure: bool) {
        if !self.fresh {
            return;
        }
        let cookie = format!(
            "{CSRF_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/console{}",
            self.nonce,
            if secure { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

fn is_nonce(n: &str) -> bool {
    n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks a POST: the browser does not say it comes from another site, the
/// form carries `field`, and it is the token of the cookie's nonce. The
/// error is the reason code.
pub(super) fn check(
    key: &CsrfKey,
    headers: &HeaderMap,
    field: Option<&str>,
) -> Result<(), &'static str> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err("cross_site");
    }
    let Some(field) = field.filter(|f| !f.is_empty()) else {
        return Err("csrf_missing");
    };
    let Some(nonce) = cookie(headers, CSRF_COOKIE).filter(|n| is_nonce(n)) else {
        return Err("csrf_mismatch");
    };
    let expected = derive(key, nonce);
    let given = hex::decode(field).unwrap_or_default();
    let same = given.len() == expected.len()
        && given
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err("csrf_mismatch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(nonce: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {CSRF_COOKIE}={nonce}")).unwrap(),
        );
        h
    }

    #[test]
    fn only_the_token_of_the_cookies_nonce_passes() {
        let nonce = "0123456789abcdef0123456789abcdef";
        let h = with_cookie(nonce);
        let key = CsrfKey::random();
        let csrf = Csrf::of(&key, &h);
        assert!(!csrf.fresh);
        assert_eq!(check(&key, &h, Some(&csrf.token())), Ok(()));
        assert_eq!(check(&key, &h, None), Err("csrf_missing"));
        assert_eq!(check(&key, &h, Some("")), Err("csrf_missing"));
        let other = Csrf::of(&key, &with_cookie("ffffffffffffffffffffffffffffffff"));
        assert_eq!(check(&key, &h, Some(&other.token())), Err("csrf_mismatch"));
        assert_eq!(
            check(&key, &HeaderMap::new(), Some(&csrf.token())),
            Err("csrf_mismatch")
        );
        let mut cross = h.clone();
        cross.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert_eq!(check(&key, &cross, Some(&csrf.token())), Err("cross_site"));
        // Another key: the same nonce's token does not pass.
        let other_key = Csrf::of(&CsrfKey::random(), &h);
        assert_eq!(
            check(&key, &h, Some(&other_key.token())),
            Err("csrf_mismatch")
        );
    }
}
