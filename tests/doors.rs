//! The busy doors are answered before the router: only `/auth` exactly and
//! `/auth/…` are forward-auth and Envoy's door; a path that merely looks
//! like them (`/authx`, `/auth2/…`, `//auth`, `/AUTH`) is never decided as
//! forward-auth, whatever headers it carries (SECURITY.md row 206). The
//! reverse proxy's door takes only paths no route of the router's claims
//! (SECURITY.md row 210).

mod server;

use server::upstream::Upstream;
use server::{ask_forward_auth, client, issue_guest_reader, seed_registry, Server};

#[tokio::test]
async fn only_the_exact_auth_paths_are_the_decision_doors() {
    let s = Server::start(&[]);
    seed_registry(&s).await;
    let issued = issue_guest_reader(&s).await;
    let token = issued["token"].as_str().expect("token");
    let c = client();

    // The doors themselves: forward-auth, and Envoy asking about the same path.
    assert_eq!(ask_forward_auth(&c, &s, "/auth", token).await.0, 200);
    assert_eq!(ask_forward_auth(&c, &s, "/auth?x=1", token).await.0, 200);
    assert_eq!(
        ask_forward_auth(&c, &s, "/auth/api/v1/views/v_1/rows", token)
            .await
            .0,
        200
    );

    // Look-alikes go to the router: with no upstream, no such endpoint.
    for path in ["/authx", "/auth2/api/v1/views/v_1/rows", "//auth", "/AUTH"] {
        let (status, body) = ask_forward_auth(&c, &s, path, token).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }
}

/// The routes file of the proxy-door test: the default `/views/{view}`,
/// and the same under `/admin/legacy/`, a path the router's `/admin`
/// prefix claims but no route of its matches.
const TWO_VIEW_ROUTES: &str = r#"
[[route]]
methods = ["GET"]
path = "/views/{view}"
operation = "read"
resource = "view"

[[route]]
methods = ["GET"]
path = "/admin/legacy/views/{view}"
operation = "read"
resource = "view"
"#;

/// In reverse-proxy mode a path no route claims is proxied before the
/// router, and a path under a routed prefix that no route matches through
/// the router's fallback: both forward alike, the first time (decided) and
/// again (a cached decision), and refuse alike without reaching the
/// upstream; the gateway's own routes are never proxied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_door_and_the_routers_fallback_forward_alike() {
    let up = Upstream::start().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let routes = dir.path().join("routes.toml");
    std::fs::write(&routes, TWO_VIEW_ROUTES).expect("routes file");
    let routes = routes.to_str().expect("utf-8 path");
    let s = Server::start(&["--upstream", &up.url, "--routes", routes]);
    seed_registry(&s).await;
    let issued = issue_guest_reader(&s).await;
    let token = issued["token"].as_str().expect("token");
    let token_id = issued["token_id"].as_str().expect("token id");
    let c = client();

    let mut hits = 0;
    for path in ["/views/v_1?q=a", "/admin/legacy/views/v_1?q=a"] {
        for attempt in ["decided", "cached"] {
            let r = c
                .get(s.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("answer");
            assert_eq!(r.status(), 200, "{path} {attempt}");
            assert!(r.headers().contains_key("x-request-id"), "{path} {attempt}");
            hits += 1;
            assert_eq!(up.hits(), hits, "{path} {attempt}");
            let seen = up.last();
            assert_eq!(seen["uri"], path, "{path} {attempt}");
            let h = &seen["headers"];
            assert_eq!(h["x-tessera-kind"], "guest", "{path} {attempt}: {h}");
            assert_eq!(h["x-tessera-token-id"], token_id, "{path} {attempt}: {h}");
            assert_eq!(h["x-tessera-resource"], "view:v_1", "{path} {attempt}: {h}");
            assert!(h.get("authorization").is_none(), "{path} {attempt}: {h}");
        }
        // No credential: refused with the reason, the upstream never asked.
        let r = c.get(s.url(path)).send().await.expect("answer");
        assert_eq!(r.status(), 401, "{path}");
        let body: serde_json::Value = r.json().await.expect("error body");
        assert_eq!(body["error"], "missing_token", "{path}: {body}");
        assert_eq!(up.hits(), hits, "{path}: a refusal reached the upstream");
    }

    // The gateway's own routes answer themselves.
    let r = c.get(s.url("/healthz")).send().await.expect("answer");
    assert_eq!(r.status(), 200);
    let r = c
        .get(s.url("/.well-known/biscuit-web-keys"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert_eq!(up.hits(), hits, "the gateway's own routes were proxied");
}
