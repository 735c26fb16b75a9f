//! The share-link exchange without a socket: `tessera::gateway::app` driven
//! with `tower::ServiceExt::oneshot`, as axum's own tests do. Which kinds of
//! token may land (a guest token with a view right only), the cookie, the
//! redirect, the switch page when another share session is open, and the
//! one 404 page for everything else.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use chrono::Utc;
use tessera::change::Actor;
use tessera::gateway::{app, Gateway, GatewayConfig};
use tessera::model::{Grant, Id, Operation};
use tessera::store::datadir::DataDir;
use tower::ServiceExt;

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

/// A gateway on a fresh data directory with ws_1 ⊃ t_1 ⊃ {v_1, v_2}.
async fn gateway(dir: &tempfile::TempDir) -> Gateway {
    let config = GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..GatewayConfig::default()
    };
    let gw = Gateway::open(config, DataDir::new(dir.path().join("data")))
        .await
        .unwrap();
    for view in ["v_1", "v_2"] {
        gw.commit(|store| {
            let placement = Some((&id("t_1"), &id("ws_1")));
            store.update_view(&id(view), placement, &[], &Actor::Cli, Utc::now())
        })
        .unwrap();
    }
    gw
}

fn issue(gw: &Gateway, grant: &Grant) -> String {
    let (token, _) = gw.issue(grant, &Actor::Cli, Utc::now()).unwrap();
    token.expose().to_owned()
}

fn guest(gw: &Gateway, view: &str) -> String {
    let ops = Operation::parse_list("read").unwrap();
    issue(gw, &Grant::guest(id("ws_1"), id(view), &ops))
}

/// `GET /s/{token}` from a loopback peer, with an optional `Cookie` header.
async fn land(gw: &Gateway, token: &str, cookie: Option<&str>) -> Response {
    let mut request = Request::get(format!("/s/{token}"));
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app(gw.clone()).oneshot(request).await.unwrap()
}

async fn body_text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn a_guest_link_lands_on_its_view_with_a_session_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&dir).await;
    let token = guest(&gw, "v_1");
    let r = land(&gw, &token, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/views/v_1");
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("tessera_session={token};")),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()[header::REFERRER_POLICY], "no-referrer");
}

#[tokio::test]
async fn only_guest_tokens_land_everything_else_gets_the_same_404() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&dir).await;
    let ops = Operation::parse_list("read").unwrap();
    let api_key = issue(&gw, &Grant::api_key(id("ws_1"), None, &ops));
    let admin = issue(&gw, &Grant::admin());
    let dead = "tsr_AAAA".to_owned();
    let mut pages = Vec::new();
    for token in [api_key, admin, dead] {
        let r = land(&gw, &token, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.headers().get(header::SET_COOKIE).is_none());
        pages.push(body_text(r).await);
    }
    assert!(
        pages[0].contains("This link is not available"),
        "{}",
        pages[0]
    );
    assert!(pages.iter().all(|p| p == &pages[0]), "one page for all");
}

#[tokio::test]
async fn another_open_share_session_is_not_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&dir).await;
    let open = guest(&gw, "v_1");
    let other = guest(&gw, "v_2");
    let r = land(&gw, &other, Some(&format!("tessera_session={open}"))).await;
    assert_eq!(r.status(), StatusCode::OK, "a page asking first");
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    let page = body_text(r).await;
    assert!(page.contains("v_1") && page.contains("v_2"), "{page}");
    assert!(
        !page.contains(&other) && !page.contains(&open),
        "no token on the page"
    );
    // The same token again is no switch: it lands as usual.
    let again = land(&gw, &open, Some(&format!("tessera_session={open}"))).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}
