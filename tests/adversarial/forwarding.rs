//! Forwarded-header precedence and the weaker spots around it, against a
//! real `tessera serve`: a client's `X-Original-URI` next to ingress-nginx's
//! `X-Original-URL`, method overrides, cross-site writes with the share
//! cookie, a share link silently replacing an open share session, and a
//! share link whose decision is `limits`.
//!
//! Forward-auth requests here carry the client's headers the way nginx's
//! `auth_request` (and ingress-nginx's auth location) passes them on: every
//! header the client sent, with the proxy's own forwarding headers added.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::server::upstream::Upstream;
use crate::server::{client, issue, seed_registry, tessera_bin, Server};

// ------------------------------------------------------------------ helpers

/// `tessera serve` with ws_1/t_1/{v_1,v_2}, ws_2/t_2/v_3 and a generous
/// authorizer budget (these tests are about behaviour, not load).
async fn seeded(args: &[&str]) -> Server {
    let mut all = vec!["--max-authorizer-ms", "250"];
    all.extend_from_slice(args);
    let s = Server::start(&all);
    seed_registry(&s).await;
    s
}

/// Issues a guest token for `view` (in ws_1, or ws_2 for v_3).
async fn guest(s: &Server, view: &str, allow: &[&str]) -> String {
    let workspace = if view == "v_3" { "ws_2" } else { "ws_1" };
    let v = issue(
        s,
        json!({ "kind": "guest", "workspace": workspace, "view": view, "allow": allow }),
    )
    .await;
    v["token"].as_str().expect("token").to_owned()
}

/// Makes `view` public through the admin API.
async fn make_public(s: &Server, view: &str) {
    let r = client()
        .put(s.url(&format!("/admin/v1/views/{view}")))
        .bearer_auth(s.admin_token())
        .json(&json!({ "public": true }))
        .send()
        .await
        .expect("make public");
    assert_eq!(r.status(), 200);
}

/// `GET /auth` with exactly these headers (the client's, as the proxy
/// passes them on, plus the proxy's own).
async fn auth(s: &Server, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = client().get(s.url("/auth"));
    for (name, value) in headers {
        rb = rb.header(*name, *value);
    }
    rb.send().await.expect("GET /auth")
}

/// Asserts an allow of `operation` on `resource`.
async fn expect_allow(r: reqwest::Response, operation: &str, resource: &str) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "expected an allow, got {status}: {body}");
    assert_eq!(headers["x-tessera-operation"], operation, "{headers:?}");
    assert_eq!(headers["x-tessera-resource"], resource, "{headers:?}");
}

/// Asserts a refusal: status, JSON `error` code, no grant headers.
async fn expect_deny(r: reqwest::Response, status: u16, code: &str) {
    let got = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "expected {status} {code}, got {got}: {text}");
    let body: Value = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(body["error"], code, "{text}");
    assert_eq!(
        body["request_id"].as_str(),
        headers.get("x-request-id").and_then(|v| v.to_str().ok())
    );
    assert!(headers.get("x-tessera-resource").is_none(), "{headers:?}");
}

/// One deny series of the Prometheus text.
async fn denials(s: &Server, reason: &str) -> u64 {
    let text = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let series = format!("tessera_decisions_total{{result=\"deny\",reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series for {reason}:\n{text}"))
}

fn cookie(token: &str) -> String {
    format!("theme=dark; tessera_session={token}")
}

// ------------------------------------ X-Original-URI next to X-Original-URL

/// ingress-nginx sets `X-Original-URL` and `X-Original-Method` and passes
/// the client's other headers on. Under precedence a client's
/// `X-Original-URI` chose what was decided: an anonymous read of a private
/// view through a public one, a guest exporting another workspace's view.
#[tokio::test]
async fn a_client_original_uri_next_to_the_proxy_original_url_is_refused() {
    let s = seeded(&[]).await;
    make_public(&s, "v_2").await;
    let exporter = guest(&s, "v_1", &["read", "export"]).await;
    let bearer = format!("Bearer {exporter}");
    let before = denials(&s, "ambiguous_forward").await;

    // Each header alone decides what it names: the injected one would pass.
    expect_allow(
        auth(
            &s,
            &[
                ("X-Original-Method", "GET"),
                ("X-Original-URI", "/api/v1/views/v_2/rows"),
            ],
        )
        .await,
        "read",
        "view:v_2",
    )
    .await;
    expect_deny(
        auth(
            &s,
            &[
                ("X-Original-Method", "GET"),
                (
                    "X-Original-URL",
                    "https://app.example.com/api/v1/views/v_1/rows",
                ),
            ],
        )
        .await,
        401,
        "missing_token",
    )
    .await;

    // Together: refused, whatever the client's copy says.
    expect_deny(
        auth(
            &s,
            &[
                ("X-Original-Method", "GET"),
                (
                    "X-Original-URL",
                    "https://app.example.com/api/v1/views/v_1/rows",
                ),
                ("X-Original-URI", "/api/v1/views/v_2/rows"),
            ],
        )
        .await,
        403,
        "ambiguous_forward",
    )
    .await;
    expect_deny(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                (
                    "X-Original-URL",
                    "https://app.example.com/api/v1/views/v_3/export",
                ),
                ("X-Original-URI", "/api/v1/views/v_1/export"),
            ],
        )
        .await,
        403,
        "ambiguous_forward",
    )
    .await;
    // The real request alone is decided on its own path.
    expect_deny(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                (
                    "X-Original-URL",
                    "https://app.example.com/api/v1/views/v_3/export",
                ),
            ],
        )
        .await,
        403,
        "no_right",
    )
    .await;
    assert_eq!(
        denials(&s, "ambiguous_forward").await,
        before + 2,
        "front-door refusals are counted"
    );
}

/// With `--forwarded-uri-header x-original-url` only ingress-nginx's
/// header pair is honoured: any other forwarding header a client adds is
/// refused, and none is ever a fallback.
#[tokio::test]
async fn a_configured_forwarding_header_is_the_only_one_honoured() {
    let s = seeded(&["--forwarded-uri-header", "x-original-url"]).await;
    let reader = guest(&s, "v_1", &["read"]).await;
    let bearer = format!("Bearer {reader}");
    let real = (
        "X-Original-URL",
        "https://app.example.com/api/v1/views/v_1/rows?limit=5",
    );
    expect_allow(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                real,
            ],
        )
        .await,
        "read",
        "view:v_1",
    )
    .await;
    expect_deny(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "DELETE"),
                real,
            ],
        )
        .await,
        403,
        "no_right",
    )
    .await;
    for injected in [
        ("X-Original-URI", "/api/v1/views/v_1/rows"),
        ("X-Forwarded-Uri", "/api/v1/views/v_1/rows"),
        ("X-Forwarded-Method", "GET"),
    ] {
        expect_deny(
            auth(
                &s,
                &[
                    ("Authorization", &bearer),
                    ("X-Original-Method", "GET"),
                    real,
                    injected,
                ],
            )
            .await,
            403,
            "ambiguous_forward",
        )
        .await;
    }
    // Traefik's pair alone is not a fallback here.
    expect_deny(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Forwarded-Method", "GET"),
                ("X-Forwarded-Uri", "/api/v1/views/v_1/rows"),
            ],
        )
        .await,
        403,
        "ambiguous_forward",
    )
    .await;
    expect_deny(
        auth(
            &s,
            &[("Authorization", &bearer), ("X-Original-Method", "GET")],
        )
        .await,
        403,
        "bad_path",
    )
    .await;

    // The Traefik setting, from a config file.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "forwarded_uri_header = \"x-forwarded-uri\"\n").expect("config");
    let traefik = seeded(&["--config", config.to_str().expect("utf-8 path")]).await;
    let reader = guest(&traefik, "v_1", &["read"]).await;
    let bearer = format!("Bearer {reader}");
    let traefik_pair = [
        ("Authorization", bearer.as_str()),
        ("X-Forwarded-Method", "GET"),
        ("X-Forwarded-Uri", "/api/v1/views/v_1/rows"),
    ];
    expect_allow(auth(&traefik, &traefik_pair).await, "read", "view:v_1").await;
    for injected in [
        ("X-Original-Method", "DELETE"),
        ("X-Original-URI", "/api/v1/views/v_1/rows"),
        (
            "X-Original-URL",
            "https://app.example.com/api/v1/views/v_1/rows",
        ),
    ] {
        let mut with_original = traefik_pair.to_vec();
        with_original.push(injected);
        expect_deny(
            auth(&traefik, &with_original).await,
            403,
            "ambiguous_forward",
        )
        .await;
    }
}

/// A value that names no forwarding header, or an allowed origin that is
/// no origin, stops `tessera serve` at start with a usage error.
#[test]
fn serve_refuses_unknown_forwarding_headers_and_non_origins() {
    for (args, needle) in [
        (
            &["--forwarded-uri-header", "x-real-uri"][..],
            "x-original-url",
        ),
        (
            &["--allowed-origin", "share.example.com"][..],
            "share.example.com",
        ),
        (
            &["--allowed-origin", "https://share.example.com/app"][..],
            "not an origin",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new(tessera_bin())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start tessera serve");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tessera serve {args:?} kept running");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
            .expect("stderr");
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

// ---------------------------------------------------------- method overrides

/// A method override next to an allowed read would turn it into a delete
/// at an upstream that honours it: refused through every front door, and in
/// proxy mode nothing of it reaches the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_overrides_are_refused_through_every_front_door() {
    let up = Upstream::start().await;
    let s = seeded(&["--upstream", &up.url]).await;
    let reader = guest(&s, "v_1", &["read"]).await;
    let bearer = format!("Bearer {reader}");
    let rows = "/api/v1/views/v_1/rows";
    let before = denials(&s, "method_override").await;
    let headers = [
        "X-HTTP-Method-Override",
        "X-Method-Override",
        "X-HTTP-Method",
    ];
    let mut refused = 0;

    // The negative twins: the same requests without an override pass.
    expect_allow(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                ("X-Original-URI", rows),
            ],
        )
        .await,
        "read",
        "view:v_1",
    )
    .await;
    let r = client()
        .get(s.url(&format!("/auth{rows}?method=x")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    expect_allow(r, "read", "view:v_1").await;
    let r = client()
        .get(s.url(rows))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.hits(), 1);

    for name in headers {
        // Forward-auth, nginx style: the client's header passed on.
        expect_deny(
            auth(
                &s,
                &[
                    ("Authorization", &bearer),
                    ("X-Original-Method", "GET"),
                    ("X-Original-URI", rows),
                    (name, "DELETE"),
                ],
            )
            .await,
            403,
            "method_override",
        )
        .await;
        // Traefik style.
        expect_deny(
            auth(
                &s,
                &[
                    ("Authorization", &bearer),
                    ("X-Forwarded-Method", "GET"),
                    ("X-Forwarded-Uri", rows),
                    (name, "DELETE"),
                ],
            )
            .await,
            403,
            "method_override",
        )
        .await;
        // Envoy.
        let r = client()
            .get(s.url(&format!("/auth{rows}")))
            .bearer_auth(&reader)
            .header(name, "DELETE")
            .send()
            .await
            .unwrap();
        expect_deny(r, 403, "method_override").await;
        // The reverse proxy.
        let r = client()
            .get(s.url(rows))
            .bearer_auth(&reader)
            .header(name, "DELETE")
            .send()
            .await
            .unwrap();
        expect_deny(r, 403, "method_override").await;
        refused += 4;
    }
    for query in [
        "_method=DELETE",
        "limit=5&_method=delete",
        "%5Fmethod=DELETE",
    ] {
        let uri = format!("{rows}?{query}");
        expect_deny(
            auth(
                &s,
                &[
                    ("Authorization", &bearer),
                    ("X-Original-Method", "GET"),
                    ("X-Original-URI", &uri),
                ],
            )
            .await,
            403,
            "method_override",
        )
        .await;
        let url = format!("https://app.example.com{uri}");
        expect_deny(
            auth(
                &s,
                &[
                    ("Authorization", &bearer),
                    ("X-Original-Method", "GET"),
                    ("X-Original-URL", &url),
                ],
            )
            .await,
            403,
            "method_override",
        )
        .await;
        let r = client()
            .get(s.url(&format!("/auth{uri}")))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        expect_deny(r, 403, "method_override").await;
        let r = client()
            .get(s.url(&uri))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        expect_deny(r, 403, "method_override").await;
        refused += 4;
    }
    // Anonymous on a public view: refused as well, before any decision.
    make_public(&s, "v_2").await;
    let r = client()
        .get(s.url("/api/v1/views/v_2/rows?_method=DELETE"))
        .send()
        .await
        .unwrap();
    expect_deny(r, 403, "method_override").await;
    refused += 1;

    assert_eq!(up.hits(), 1, "no override reached the upstream");
    assert_eq!(up.last()["method"], "GET");
    assert_eq!(denials(&s, "method_override").await, before + refused);
}

// ------------------------------------------------------ cross-site writes

/// A guest allowed to create rows, through forward-auth with the share
/// cookie: an unsafe original method needs `Sec-Fetch-Site: same-origin`
/// or an allowed `Origin` (the origin of `--public-url` by default).
#[tokio::test]
async fn cross_site_cookie_writes_are_refused_at_forward_auth() {
    let s = seeded(&["--public-url", "https://share.example.com"]).await;
    let editor = guest(&s, "v_1", &["read", "create", "write"]).await;
    let reader = guest(&s, "v_2", &["read"]).await;
    let session = cookie(&editor);
    let rows = "/api/v1/views/v_1/rows";
    let post = |extra: &'static [(&'static str, &'static str)]| {
        let mut h = vec![
            ("Cookie", session.as_str()),
            ("X-Original-Method", "POST"),
            ("X-Original-URI", rows),
        ];
        h.extend_from_slice(extra);
        h
    };
    let before = denials(&s, "cross_site").await;

    for extra in [
        &[][..],
        &[("Sec-Fetch-Site", "cross-site")][..],
        &[("Sec-Fetch-Site", "same-site")][..],
        &[("Sec-Fetch-Site", "none")][..],
        &[("Origin", "https://evil.example")][..],
        &[("Origin", "https://app.share.example.com")][..],
        &[("Origin", "null")][..],
        &[
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", "https://app.share.example.com"),
        ][..],
    ] {
        let r = auth(&s, &post(extra)).await;
        expect_deny(r, 403, "cross_site").await;
    }
    // PATCH and DELETE are unsafe too.
    for method in ["PATCH", "DELETE"] {
        let r = auth(
            &s,
            &[
                ("Cookie", &session),
                ("X-Original-Method", method),
                ("X-Original-URI", "/api/v1/views/v_1/rows/r_1"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        )
        .await;
        if method == "PATCH" {
            expect_deny(r, 403, "cross_site").await;
        } else {
            // Not allowed anyway: the decision's reason comes first.
            expect_deny(r, 403, "no_right").await;
        }
    }
    // The original method counts, not the subrequest's (nginx asks with GET).
    let r = client()
        .post(s.url("/auth"))
        .header("Cookie", &session)
        .header("X-Original-Method", "GET")
        .header("X-Original-URI", rows)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    expect_allow(r, "read", "view:v_1").await;
    assert_eq!(denials(&s, "cross_site").await, before + 9);

    // The negative twins: same-origin, or the public URL's origin.
    for extra in [
        &[("Sec-Fetch-Site", "same-origin")][..],
        &[("Origin", "https://share.example.com")][..],
        &[("Origin", "HTTPS://Share.Example.com:443")][..],
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", "https://share.example.com"),
        ][..],
    ] {
        expect_allow(auth(&s, &post(extra)).await, "create", "view:v_1").await;
    }
    // Safe methods with the cookie are not asked where they come from.
    for method in ["GET", "HEAD"] {
        let r = auth(
            &s,
            &[
                ("Cookie", &session),
                ("X-Original-Method", method),
                ("X-Original-URI", rows),
                ("Sec-Fetch-Site", "cross-site"),
            ],
        )
        .await;
        expect_allow(r, "read", "view:v_1").await;
    }
    // A bearer token is not sent by a browser on its own: unaffected.
    let bearer = format!("Bearer {editor}");
    expect_allow(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("Cookie", &cookie(&reader)),
                ("X-Original-Method", "POST"),
                ("X-Original-URI", rows),
                ("Sec-Fetch-Site", "cross-site"),
                ("Origin", "https://evil.example"),
            ],
        )
        .await,
        "create",
        "view:v_1",
    )
    .await;
    // What the token does not allow keeps its reason.
    let r = auth(
        &s,
        &[
            ("Cookie", &cookie(&reader)),
            ("X-Original-Method", "POST"),
            ("X-Original-URI", "/api/v1/views/v_2/rows"),
        ],
    )
    .await;
    expect_deny(r, 403, "no_right").await;
    assert_eq!(denials(&s, "cross_site").await, before + 9);
}

/// `--allowed-origin` replaces the default: the app's own origin becomes
/// the one allowed, the public URL's is not any more.
#[tokio::test]
async fn allowed_origins_are_configurable() {
    let s = seeded(&[
        "--public-url",
        "https://share.example.com",
        "--allowed-origin",
        "https://app.example.com",
        "--allowed-origin",
        "http://127.0.0.1:3000",
    ])
    .await;
    let editor = guest(&s, "v_1", &["read", "create"]).await;
    let session = cookie(&editor);
    let post = |origin: &'static str| {
        vec![
            ("Cookie", session.clone()),
            ("X-Original-Method", "POST".to_owned()),
            ("X-Original-URI", "/api/v1/views/v_1/rows".to_owned()),
            ("Sec-Fetch-Site", "same-site".to_owned()),
            ("Origin", origin.to_owned()),
        ]
    };
    for origin in ["https://app.example.com", "http://127.0.0.1:3000"] {
        let h = post(origin);
        let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
        expect_allow(auth(&s, &h).await, "create", "view:v_1").await;
    }
    for origin in ["https://share.example.com", "http://127.0.0.1:3001"] {
        let h = post(origin);
        let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
        expect_deny(auth(&s, &h).await, 403, "cross_site").await;
    }
}

/// The reverse proxy: a cross-site cookie write never reaches the upstream;
/// the same write from the same origin does, with its method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_cookie_writes_are_refused_by_the_reverse_proxy() {
    let up = Upstream::start().await;
    let s = seeded(&["--upstream", &up.url]).await;
    let editor = guest(&s, "v_1", &["read", "create"]).await;
    let rows = s.url("/api/v1/views/v_1/rows");
    let send = |extra: &'static [(&'static str, &'static str)]| {
        let mut rb = client()
            .post(&rows)
            .header("Cookie", cookie(&editor))
            .body("{}");
        for (n, v) in extra {
            rb = rb.header(*n, *v);
        }
        rb.send()
    };
    for extra in [
        &[][..],
        &[("Sec-Fetch-Site", "cross-site")][..],
        &[("Origin", "https://evil.example")][..],
    ] {
        expect_deny(send(extra).await.unwrap(), 403, "cross_site").await;
    }
    assert_eq!(up.hits(), 0, "nothing reached the upstream");

    let r = send(&[("Sec-Fetch-Site", "same-origin")]).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.hits(), 1);
    assert_eq!(up.last()["method"], "POST");
    // With no --public-url there is no allowed Origin: same-origin only.
    let origin = s.base.clone();
    let r = client()
        .post(&rows)
        .header("Cookie", cookie(&editor))
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    expect_deny(r, 403, "cross_site").await;
    // Bearer writes are unaffected.
    let r = client()
        .post(&rows)
        .bearer_auth(&editor)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.hits(), 2);
}

// -------------------------------------------------------- share sessions

/// The share-session cookie a `/s/` answer sets, if any.
fn set_session(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("set-cookie")?.to_str().ok()?;
    let pair = value.split(';').next()?;
    pair.strip_prefix("tessera_session=").map(str::to_owned)
}

/// Landing on a share link while another share session is open asks before
/// replacing it; the switch is a same-origin POST.
#[tokio::test]
async fn a_second_share_link_asks_before_replacing_the_open_session() {
    let s = seeded(&["--insecure-cookies"]).await;
    let first = guest(&s, "v_1", &["read"]).await;
    let second = guest(&s, "v_2", &["read"]).await;
    let link = s.url(&format!("/s/{second}"));

    // No session yet, or a dead one: the link opens as before.
    for existing in [None, Some("tsr_garbage")] {
        let mut rb = client().get(&link);
        if let Some(t) = existing {
            rb = rb.header("Cookie", cookie(t));
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 303, "{existing:?}");
        assert_eq!(set_session(r.headers()).as_deref(), Some(second.as_str()));
    }
    // The same token again (here as its compact share-link form): as before.
    let compact = tessera::link::share_link("http://x", &first, 8192)
        .unwrap()
        .strip_prefix("http://x/s/")
        .unwrap()
        .to_owned();
    assert_ne!(compact, first);
    let r = client()
        .get(s.url(&format!("/s/{compact}")))
        .header("Cookie", cookie(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(set_session(r.headers()).as_deref(), Some(compact.as_str()));

    // Another open share: a page, no cookie.
    let r = client()
        .get(&link)
        .header("Cookie", cookie(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert!(h.get("set-cookie").is_none(), "{h:?}");
    assert!(h.get("location").is_none(), "{h:?}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<b>v_1</b>") && page.contains("<b>v_2</b>"),
        "{page}"
    );
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(page.contains("href=\"/views/v_1\""), "{page}");
    assert!(
        !page.contains(&first) && !page.contains(&second),
        "the page never repeats a token"
    );

    // The switch: a POST from the page (same origin) sets the new session.
    let r = client()
        .post(&link)
        .header("Cookie", cookie(&first))
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/views/v_2");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(set_session(r.headers()).as_deref(), Some(second.as_str()));

    // Another site cannot post the switch.
    for extra in [
        &[][..],
        &[("Sec-Fetch-Site", "cross-site")][..],
        &[("Origin", "https://evil.example")][..],
    ] {
        let mut rb = client().post(&link).header("Cookie", cookie(&first));
        for (n, v) in extra {
            rb = rb.header(*n, *v);
        }
        let r = rb.send().await.unwrap();
        assert!(set_session(r.headers()).is_none(), "{extra:?}");
        expect_deny(r, 403, "cross_site").await;
    }
    // A dead link posted from the same origin: the same 404 page as a GET.
    let dead_get = client().get(s.url("/s/tsr_garbage")).send().await.unwrap();
    assert_eq!(dead_get.status(), 404);
    let dead_page = dead_get.text().await.unwrap();
    let r = client()
        .post(s.url("/s/tsr_garbage"))
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(set_session(r.headers()).is_none());
    assert_eq!(r.text().await.unwrap(), dead_page);
}

// ----------------------------------------------- share links over the limits

/// Appends a block whose rule derives `n * n` facts: small enough to pass
/// the per-block admission, over the authorizer's fact limit when run.
fn datalog_bomb(token: &str, n: usize) -> String {
    let bytes = tessera::token::decode_bytes(token, 1 << 16).unwrap();
    let unverified = biscuit_auth::UnverifiedBiscuit::from(&bytes).unwrap();
    let mut code = String::new();
    for i in 0..n {
        code.push_str(&format!("n({i});\n"));
    }
    code.push_str("pair($a, $b) <- n($a), n($b);\n");
    code.push_str("check if pair(0, 0);\n");
    let block = biscuit_auth::BlockBuilder::new().code(&code).unwrap();
    let bombed = unverified.append(block).unwrap();
    format!(
        "{}{}",
        tessera::token::TOKEN_PREFIX,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bombed.to_vec().unwrap())
    )
}

/// A valid guest link with a fact-explosion block appended: its decision is
/// `limits`, and the link gets the dead-link page and no cookie.
#[tokio::test]
async fn a_share_link_over_the_run_limits_is_a_dead_link() {
    let s = seeded(&["--max-facts", "200"]).await;
    let live = guest(&s, "v_1", &["read"]).await;
    let bomb = datalog_bomb(&live, 20);
    // The decision for the bombed token is `limits` (not a bad token).
    let bearer = format!("Bearer {bomb}");
    expect_deny(
        auth(
            &s,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                ("X-Original-URI", "/views/v_1"),
            ],
        )
        .await,
        403,
        "limits",
    )
    .await;
    let dead = client().get(s.url("/s/tsr_garbage")).send().await.unwrap();
    assert_eq!(dead.status(), 404);
    let dead_page = dead.text().await.unwrap();

    let r = client()
        .get(s.url(&format!("/s/{bomb}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.headers().get("location").is_none());
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.text().await.unwrap(), dead_page);
    // The token it came from still opens.
    let r = client()
        .get(s.url(&format!("/s/{live}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers().get("set-cookie").is_some());
}
