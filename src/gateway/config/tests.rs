use super::*;

#[test]
fn defaults_are_loopback_and_safe() {
    let c = GatewayConfig::default();
    assert!(c.listen.ip().is_loopback());
    assert!(!c.insecure_cookies);
    assert!(c
        .trusted_peers
        .iter()
        .any(|n| n.contains(&"127.0.0.9".parse::<std::net::IpAddr>().unwrap())));
    assert!(!c
        .trusted_peers
        .iter()
        .any(|n| n.contains(&"10.0.0.1".parse::<std::net::IpAddr>().unwrap())));
    assert_eq!(GatewayConfig::from_toml("").unwrap(), c);
    assert!(nets_contain(&c.ops_peers, "127.0.0.1".parse().unwrap()));
    assert!(nets_contain(
        &c.ops_peers,
        "::ffff:127.0.0.1".parse().unwrap()
    ));
    assert!(!nets_contain(&c.ops_peers, "192.0.2.1".parse().unwrap()));
    assert!(c.ops_listen.is_none());
    assert!(c.header_read_timeout_ms > 0 && c.idle_timeout_ms > 0 && c.max_connections > 0);
}

#[test]
fn the_file_overrides_defaults_and_refuses_unknown_keys() {
    let c = GatewayConfig::from_toml(
        "listen = \"127.0.0.1:9000\"\ntrusted_peers = [\"10.1.0.0/16\"]\nmax_token_bytes = 4096\n",
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.max_token_bytes, 4096);
    assert_eq!(c.trusted_peers.len(), 1);
    assert!(GatewayConfig::from_toml("lisen = 1").is_err());
}

#[test]
fn key_staleness_defaults_to_three_refresh_intervals() {
    let c = GatewayConfig::default();
    assert_eq!(c.key_staleness_bound().as_secs(), 900);
    let c = GatewayConfig::from_toml(
        "key_refresh_secs = 10\nkey_fetch_timeout_ms = 250\nmax_key_bytes = 4096\n",
    )
    .unwrap();
    assert_eq!(c.key_staleness_bound().as_secs(), 30);
    assert_eq!((c.key_fetch_timeout_ms, c.max_key_bytes), (250, 4096));
    let c = GatewayConfig::from_toml("max_key_staleness_secs = 45").unwrap();
    assert_eq!(c.key_staleness_bound().as_secs(), 45);
}

#[test]
fn origins_are_compared_as_browsers_serialise_them() {
    assert_eq!(
        origin_of("HTTPS://Share.Example.com:443/").as_deref(),
        Some("https://share.example.com")
    );
    assert_eq!(
        origin_of("http://127.0.0.1:8080").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    for not_an_origin in [
        "null",
        "",
        "share.example.com",
        "ftp://share.example.com",
        "https://u@share.example.com",
        "https://share.example.com/app",
    ] {
        assert_eq!(origin_of(not_an_origin), None, "{not_an_origin}");
    }
    let mut c = GatewayConfig::default();
    assert!(
        !c.allows_origin("https://share.example.com"),
        "none by default"
    );
    c.public_url = Some("https://share.example.com/base".into());
    assert!(
        !c.allows_origin("https://share.example.com"),
        "a public URL with a path is no origin"
    );
    c.public_url = Some("https://share.example.com".into());
    assert!(c.allows_origin("https://share.example.com"));
    assert!(!c.allows_origin("https://evil.example.com"));
    assert!(!c.allows_origin("https://app.share.example.com"));
    c.allowed_origins = vec!["https://app.example.com".into()];
    assert!(c.allows_origin("https://app.example.com:443"));
    assert!(
        !c.allows_origin("https://share.example.com"),
        "an explicit list replaces the default"
    );
}

#[test]
fn the_forwarded_uri_header_reads_from_toml_and_text() {
    let c = GatewayConfig::from_toml(
        "forwarded_uri_header = \"x-original-url\"\nallowed_origins = [\"https://a.example\"]\n",
    )
    .unwrap();
    assert_eq!(c.forwarded_uri_header, ForwardedUriHeader::XOriginalUrl);
    assert_eq!(c.allowed_origins, ["https://a.example"]);
    for name in ForwardedUriHeader::NAMES {
        let parsed: ForwardedUriHeader = name.parse().unwrap();
        let toml = format!("forwarded_uri_header = \"{name}\"");
        assert_eq!(
            GatewayConfig::from_toml(&toml)
                .unwrap()
                .forwarded_uri_header,
            parsed
        );
    }
    assert!("x-forwarded-host".parse::<ForwardedUriHeader>().is_err());
    assert!(GatewayConfig::from_toml("forwarded_uri_header = \"x-real-uri\"").is_err());
}

#[test]
fn member_token_ttl_is_a_duration_from_the_file() {
    assert_eq!(
        GatewayConfig::default().member_token_ttl,
        TokenTtl::MEMBER_DEFAULT
    );
    let c = GatewayConfig::from_toml("member_token_ttl = \"30m\"").unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        c.member_token_ttl.expiry(now),
        Some(now + chrono::Duration::minutes(30))
    );
    for bad in ["0h", "12", "2026-01-01T00:00:00Z", "soon"] {
        let toml = format!("member_token_ttl = {bad:?}");
        assert!(GatewayConfig::from_toml(&toml).is_err(), "{bad}");
    }
}

#[test]
fn connection_limits_and_ops_endpoints_come_from_the_file() {
    let c = GatewayConfig::from_toml(
        "header_read_timeout_ms = 1500\nidle_timeout_ms = 2500\nmax_connections = 32\n\
         ops_peers = [\"10.2.0.0/16\"]\nops_listen = \"127.0.0.1:9100\"\nops_max_connections = 8\n",
    )
    .unwrap();
    assert_eq!(
        (
            c.header_read_timeout_ms,
            c.idle_timeout_ms,
            c.max_connections
        ),
        (1500, 2500, 32)
    );
    assert!(nets_contain(&c.ops_peers, "10.2.3.4".parse().unwrap()));
    assert!(!nets_contain(&c.ops_peers, "127.0.0.1".parse().unwrap()));
    assert_eq!(c.ops_listen, Some(SocketAddr::from(([127, 0, 0, 1], 9100))));
    assert_eq!(c.ops_max_connections, 8);
}
