//! A view that is not editable is read-only: the view setting wins over
//! the token for deleting rows too, not only for editing them.
//!
//! The review found `PATCH` refused with `view_setting` on an
//! `editable: false` view while `DELETE` of its rows was allowed. These
//! tests run the decision in the library and the same requests through a
//! real gateway; each refusal has a twin that is allowed.

use serde_json::{json, Value};
use tessera::authorize::{Decision, Reason};
use tessera::model::{Grant, Operation};

use crate::common::{id, ops, req, table, view, Fixture};
use crate::server::{client, issue, seed_registry, Server};

use Operation::{Create, Delete, Export, Manage, Read, Share, Write};

// ------------------------------------------------------------ the library

fn assert_allowed(d: &Decision, what: &str) {
    assert!(d.allowed, "{what}: expected allow, got {:?}", d.reason);
}

fn assert_denied(d: &Decision, reason: Reason, what: &str) {
    assert!(!d.allowed, "{what}: expected {reason:?}, got an allow");
    assert_eq!(d.reason, Some(reason), "{what}");
}

/// Sets one setting of `v_1`.
fn set(fx: &mut Fixture, name: &str, value: bool) {
    fx.registry
        .views
        .get_mut(&id("v_1"))
        .expect("v_1")
        .settings
        .set(name, value)
        .expect("a setting");
}

/// Tokens that may delete rows of `v_1`: a guest with the right on the
/// view, a table key, a workspace key.
fn deleters(fx: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        (
            "guest",
            fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read,delete")), 1),
        ),
        (
            "table key",
            fx.issue(
                &Grant::api_key(id("ws_1"), Some(id("t_1")), &ops("read,delete")),
                2,
            ),
        ),
        (
            "workspace key",
            fx.issue(&Grant::api_key(id("ws_1"), None, &ops("read,delete")), 3),
        ),
    ]
}

#[test]
fn deleting_rows_of_a_view_that_is_not_editable_is_view_setting() {
    let mut fx = Fixture::new(41);
    fx.explain = true;
    let now = crate::common::t0();
    let tokens = deleters(&fx);
    // Twin: editable, each token deletes.
    for (who, tok) in &tokens {
        assert_allowed(&fx.decide(Some(tok), &req(Delete, view("v_1")), now), who);
    }
    set(&mut fx, "editable", false);
    for (who, tok) in &tokens {
        let d = fx.decide(Some(tok), &req(Delete, view("v_1")), now);
        assert_denied(&d, Reason::ViewSetting, who);
        assert!(
            d.explanation
                .policy
                .as_deref()
                .is_some_and(|p| p.contains("deny if denied")),
            "{who}: decided by the view-setting deny, got {:?}",
            d.explanation.policy
        );
        // Reading the view still works, and deleting elsewhere is unaffected.
        assert_allowed(&fx.decide(Some(tok), &req(Read, view("v_1")), now), who);
        if *who != "guest" {
            assert_allowed(&fx.decide(Some(tok), &req(Delete, view("v_2")), now), who);
            assert_allowed(&fx.decide(Some(tok), &req(Delete, table("t_1")), now), who);
        }
    }
    // Back to editable: allowed again.
    set(&mut fx, "editable", true);
    for (who, tok) in &tokens {
        assert_allowed(&fx.decide(Some(tok), &req(Delete, view("v_1")), now), who);
    }
}

#[test]
fn a_token_without_the_delete_right_still_hears_no_right() {
    let mut fx = Fixture::new(42);
    let now = crate::common::t0();
    let reader = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read,write")), 4);
    let other_ws = fx.issue(&Grant::api_key(id("ws_2"), None, &ops("read,delete")), 5);
    set(&mut fx, "editable", false);
    assert_denied(
        &fx.decide(Some(&reader), &req(Delete, view("v_1")), now),
        Reason::NoRight,
        "no delete right",
    );
    assert_denied(
        &fx.decide(Some(&other_ws), &req(Delete, view("v_1")), now),
        Reason::NoRight,
        "another workspace's key",
    );
    // The write it does hold is the setting's to refuse.
    assert_denied(
        &fx.decide(Some(&reader), &req(Write, view("v_1")), now),
        Reason::ViewSetting,
        "write",
    );
}

/// With `editable: false` no existing row changes (write, delete); adding
/// rows is `addable`'s to decide (an append-only form), and with both off
/// no row operation passes. Export, manage and share are governed by their
/// own settings and are unaffected.
#[test]
fn not_editable_is_read_only_for_rows_and_leaves_other_settings_alone() {
    let mut fx = Fixture::new(43);
    let now = crate::common::t0();
    let all = ops("read,write,create,delete,export,manage,share");
    let key = fx.issue(&Grant::api_key(id("ws_1"), None, &all), 6);
    let decide = |fx: &Fixture, op| fx.decide(Some(&key), &req(op, view("v_1")), now);
    for op in Operation::ALL {
        assert_allowed(&decide(&fx, op), &format!("{op} on the default view"));
    }

    set(&mut fx, "editable", false);
    for op in [Write, Delete] {
        assert_denied(&decide(&fx, op), Reason::ViewSetting, op.as_str());
    }
    for op in [Read, Create, Export, Manage, Share] {
        assert_allowed(&decide(&fx, op), &format!("{op} with editable false"));
    }

    set(&mut fx, "addable", false);
    for op in [Write, Delete, Create] {
        assert_denied(&decide(&fx, op), Reason::ViewSetting, op.as_str());
    }
    assert_allowed(&decide(&fx, Read), "read of a read-only view");
}

// ---------------------------------------------------------- over HTTP

/// A gateway with the registry seeded and an authorizer budget a loaded
/// machine does not trip (these tests are about the policy, not limits).
async fn gateway() -> Server {
    let s = Server::start(&["--max-authorizer-ms", "250"]);
    seed_registry(&s).await;
    s
}

/// Forward-auth of `method uri` with `token`: (status, body or headers as JSON).
async fn auth(s: &Server, method: &str, uri: &str, token: &str) -> (u16, Value) {
    let r = client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", method)
        .header("X-Forwarded-Uri", uri)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /auth");
    let status = r.status().as_u16();
    if status == 200 {
        let h = r.headers();
        let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        return (
            status,
            json!({
                "operation": header("x-tessera-operation"),
                "resource": header("x-tessera-resource"),
            }),
        );
    }
    (status, r.json().await.expect("a JSON refusal"))
}

async fn expect_allowed(s: &Server, method: &str, uri: &str, token: &str, resource: &str) {
    let (status, v) = auth(s, method, uri, token).await;
    assert_eq!(status, 200, "{method} {uri}: {v}");
    assert_eq!(v["resource"], resource, "{method} {uri}");
}

async fn expect_refused(s: &Server, method: &str, uri: &str, token: &str, code: &str) {
    let (status, v) = auth(s, method, uri, token).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (403, Some(code)),
        "{method} {uri}: {v}"
    );
}

async fn set_view(s: &Server, settings: Value) {
    let r = client()
        .put(s.url("/admin/v1/views/v_1"))
        .bearer_auth(s.admin_token())
        .json(&settings)
        .send()
        .await
        .expect("PUT view");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn a_row_delete_through_the_gateway_needs_editable() {
    let s = gateway().await;
    let guest = issue(
        &s,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read", "delete"] }),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let key = issue(&s, json!({ "kind": "api_key", "workspace": "ws_1" })).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let row = "/api/v1/views/v_1/rows/r_1";
    let rows = "/api/v1/views/v_1/rows";

    // Twin: an editable view, the right to delete: allowed.
    expect_allowed(&s, "DELETE", row, &guest, "view:v_1").await;
    expect_allowed(&s, "DELETE", rows, &key, "view:v_1").await;

    set_view(&s, json!({ "editable": false })).await;
    for token in [&guest, &key] {
        expect_refused(&s, "DELETE", row, token, "view_setting").await;
        expect_refused(&s, "DELETE", rows, token, "view_setting").await;
        expect_allowed(&s, "GET", row, token, "view:v_1").await;
    }
    expect_refused(&s, "PATCH", row, &key, "view_setting").await;
    // The sibling view and the table's own route are not that view.
    expect_allowed(&s, "DELETE", "/api/v1/views/v_2/rows/r_1", &key, "view:v_2").await;
    expect_allowed(
        &s,
        "DELETE",
        "/api/v1/tables/t_1/rows/r_1",
        &key,
        "table:t_1",
    )
    .await;

    // Editable again: the very next delete is allowed.
    set_view(&s, json!({ "editable": true })).await;
    expect_allowed(&s, "DELETE", row, &guest, "view:v_1").await;
}
