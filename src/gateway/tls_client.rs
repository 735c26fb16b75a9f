//! Outgoing HTTP that carries something worth protecting: the `--public-keys`
//! fetch and the CLI's `--server` admin calls. It owns the rustls stack
//! (ring provider, webpki-roots plus an optional private CA read from a PEM
//! file) on the hyper-util client, and the rule that plain `http://` goes
//! only to a loopback host (127.0.0.0/8, ::1, `localhost`) unless the caller
//! passes its `insecure` flag.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// A hyper-util client that speaks http:// and https:// (rustls).
pub type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// Why a URL may not be used, or its TLS trust could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA file is unreadable, not PEM, or holds no usable certificate.
    #[error("cannot use the CA file {path}: {detail}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Plain http:// to a host that is not loopback, without the flag.
    #[error(
        "refusing to {what} over plain http:// to {host}, which is not a loopback address: \
         anyone on the path could read or change it. Use https:// ({ca_flag} FILE for a \
         private CA), or pass {flag} to accept the risk"
    )]
    Cleartext {
        /// What would travel in clear text.
        what: &'static str,
        /// The host named by the URL.
        host: String,
        /// The flag that adds a private CA.
        ca_flag: &'static str,
        /// The flag that allows it anyway.
        flag: &'static str,
    },
}

/// What a caller protects, for [`check_cleartext`]'s message.
#[derive(Debug, Clone, Copy)]
pub struct Cleartext {
    /// What would travel in clear text ("fetch public keys").
    pub what: &'static str,
    /// The flag that adds a private CA (`--public-keys-ca`).
    pub ca_flag: &'static str,
    /// The flag that allows plain http:// anyway (`--insecure-http-keys`).
    pub flag: &'static str,
}

/// True when `uri`'s host is `localhost`, in 127.0.0.0/8, or `::1` (also
/// as an IPv4-mapped IPv6 address).
pub fn is_loopback(uri: &hyper::Uri) -> bool {
    let Some(host) = uri.host() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Refuses an `http://` URL to a non-loopback host unless `insecure`;
/// https:// and loopback pass. Nothing is sent.
pub fn check_cleartext(
    uri: &hyper::Uri,
    insecure: bool,
    rule: Cleartext,
) -> Result<(), TransportError> {
    if uri.scheme_str() != Some("http") || insecure || is_loopback(uri) {
        return Ok(());
    }
    Err(TransportError::Cleartext {
        what: rule.what,
        host: uri.host().unwrap_or_default().to_owned(),
        ca_flag: rule.ca_flag,
        flag: rule.flag,
    })
}

/// The TLS client configuration: webpki-roots, plus every certificate in
/// the PEM file `ca` when given.
pub fn tls_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca {
        let fail = |detail: String| TransportError::Ca {
            path: path.to_owned(),
            detail,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no PEM certificate in it".to_owned()));
        }
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(fail("no usable CA certificate in it".to_owned()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Ca {
            path: ca.map(Path::to_owned).unwrap_or_default(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client for http:// and https:// URLs trusting `tls`.
pub fn client<B>(tls: &rustls::ClientConfig) -> HttpsClient<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Cleartext = Cleartext {
        what: "fetch public keys",
        ca_flag: "--public-keys-ca",
        flag: "--insecure-http-keys",
    };

    fn uri(s: &str) -> hyper::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_is_127_slash_8_ipv6_one_and_localhost() {
        for s in [
            "http://127.0.0.1/k",
            "http://127.255.0.9:8080/k",
            "http://[::1]:80/k",
            "http://[::ffff:127.0.0.1]/k",
            "http://localhost:1/k",
            "http://LocalHost/k",
        ] {
            assert!(is_loopback(&uri(s)), "{s}");
        }
        for s in [
            "http://10.255.255.1/k",
            "http://128.0.0.1/k",
            "http://[::2]/k",
            "http://localhost.example.com/k",
            "http://example.com/k",
            "http://0.0.0.0/k",
        ] {
            assert!(!is_loopback(&uri(s)), "{s}");
        }
    }

    #[test]
    fn plain_http_off_loopback_is_refused_naming_the_flag() {
        let err = check_cleartext(&uri("http://10.255.255.1/k"), false, RULE).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--insecure-http-keys"), "{text}");
        assert!(text.contains("10.255.255.1"), "{text}");
        assert!(check_cleartext(&uri("http://10.255.255.1/k"), true, RULE).is_ok());
        assert!(check_cleartext(&uri("http://127.0.0.1/k"), false, RULE).is_ok());
        assert!(check_cleartext(&uri("https://10.255.255.1/k"), false, RULE).is_ok());
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(matches!(
            tls_config(Some(&empty)),
            Err(TransportError::Ca { .. })
        ));
        assert!(matches!(
            tls_config(Some(&dir.path().join("missing.pem"))),
            Err(TransportError::Ca { .. })
        ));
        assert!(tls_config(None).is_ok());
    }
}
