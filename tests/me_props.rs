//! `GET /v1/me` agrees with single decisions: over a generated registry
//! (workspaces, tables, views with random settings, two users with random
//! roles) served by the real binary, for every token kind — two member
//! tokens, a member token attenuated to a few operations, a guest token,
//! an API key, an attenuated guest token, the admin token and no token —
//! the projects and views `/v1/me` lists, page by page with a random
//! limit, are exactly the workspaces and views on which `POST
//! /admin/v1/decisions` allows something, with the same operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod server;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::subsequence;
use proptest::test_runner::FileFailurePersistence;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use tessera::model::{Operation, Restriction};
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use server::{client, Server};

/// Each case starts a gateway and asks ~1000 single decisions.
const CASES: u32 = 16;

/// The roles a user may hold in a workspace (none: not a member).
const ROLES: [Option<&str>; 5] = [
    None,
    Some("viewer"),
    Some("member"),
    Some("admin"),
    Some("owner"),
];

/// One view's settings: public, exportable, editable.
type ViewSpec = (bool, bool, bool);

#[derive(Debug, Clone)]
struct Spec {
    workspaces: usize,
    /// Table `t_j` lives in workspace `j % workspaces`; its views.
    tables: Vec<Vec<ViewSpec>>,
    /// Per workspace, the role index of u_0 and u_1.
    roles: Vec<(usize, usize)>,
    guest: (usize, Vec<Operation>),
    key: (usize, Vec<Operation>),
    narrow: Vec<Operation>,
    limit: usize,
}

fn ops() -> impl Strategy<Value = Vec<Operation>> {
    subsequence(Operation::ALL.to_vec(), 1..=3)
}

fn spec() -> impl Strategy<Value = Spec> {
    let view = (prop::bool::weighted(0.3), any::<bool>(), any::<bool>());
    (
        1usize..=3,
        prop::collection::vec(prop::collection::vec(view, 1..=2), 1..=4),
        prop::collection::vec((0..ROLES.len(), 0..ROLES.len()), 3),
        (0usize..16, ops()),
        (0usize..3, ops()),
        ops(),
        1usize..=4,
    )
        .prop_map(
            |(workspaces, tables, roles, guest, key, narrow, limit)| Spec {
                workspaces,
                tables,
                roles,
                guest,
                key,
                narrow,
                limit,
            },
        )
}

/// `method /admin/v1{path}` as the admin with a JSON body; the answer,
/// asserting a 2xx.
async fn admin(s: &Server, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = client()
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(s.admin_token())
        .json(&body)
        .send()
        .await
        .expect("admin call");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// The registry of `spec`, through the admin API; its views' ids.
async fn build(s: &Server, spec: &Spec) -> Vec<String> {
    use reqwest::Method;
    for w in 0..spec.workspaces {
        admin(s, Method::PUT, &format!("/workspaces/ws_{w}"), json!({})).await;
    }
    let mut views = Vec::new();
    for (t, table_views) in spec.tables.iter().enumerate() {
        let ws = format!("ws_{}", t % spec.workspaces);
        for (v, (public, exportable, editable)) in table_views.iter().enumerate() {
            let id = format!("v_{t}_{v}");
            let body = json!({ "table": format!("t_{t}"), "workspace": ws,
                "public": public, "exportable": exportable, "editable": editable });
            admin(s, Method::PUT, &format!("/views/{id}"), body).await;
            views.push(id);
        }
    }
    for (w, (r0, r1)) in spec.roles.iter().take(spec.workspaces).enumerate() {
        for (user, role) in [("u_0", ROLES[*r0]), ("u_1", ROLES[*r1])] {
            let Some(role) = role else { continue };
            let body = json!({ "email": format!("{user}@example.com"), "id": user,
                "role": role, "projects": [format!("ws_{w}")] });
            admin(s, Method::POST, "/members", body).await;
        }
    }
    views
}

/// The tokens of every kind `spec` asks for, by name (`""`: no token).
async fn tokens(s: &Server, spec: &Spec, views: &[String]) -> Vec<(String, String)> {
    use reqwest::Method;
    let mut out = vec![
        ("none".to_owned(), String::new()),
        ("admin".to_owned(), s.admin_token()),
    ];
    for user in ["u_0", "u_1"] {
        let path = format!("/admin/v1/users/{user}");
        let known = client().get(s.url(&path)).bearer_auth(s.admin_token());
        if known.send().await.expect("user").status() != 200 {
            let body = json!({ "email": format!("{user}@example.com"), "name": user });
            admin(s, Method::PUT, &format!("/users/{user}"), body).await;
        }
        let t = admin(
            s,
            Method::POST,
            &format!("/members/{user}/tokens"),
            json!({}),
        )
        .await;
        out.push((
            format!("member {user}"),
            t["token"].as_str().unwrap().to_owned(),
        ));
    }
    let view = &views[spec.guest.0 % views.len()];
    let table: &str = view.split('_').nth(1).unwrap();
    let ws = format!("ws_{}", table.parse::<usize>().unwrap() % spec.workspaces);
    let body = json!({ "kind": "guest", "workspace": ws, "view": view, "allow": spec.guest.1 });
    let guest = admin(s, Method::POST, "/tokens", body).await;
    out.push(("guest".into(), guest["token"].as_str().unwrap().to_owned()));
    let ws = format!("ws_{}", spec.key.0 % spec.workspaces);
    let body = json!({ "kind": "api_key", "workspace": ws, "allow": spec.key.1 });
    let key = admin(s, Method::POST, "/tokens", body).await;
    out.push(("api key".into(), key["token"].as_str().unwrap().to_owned()));
    let narrow = Restriction {
        operations: Some(spec.narrow.iter().copied().collect()),
        ..Restriction::default()
    };
    for (name, parent) in [("attenuated member u_0", 2), ("attenuated guest", 4)] {
        let text = token::attenuate_with_rng(
            &out[parent].1,
            &narrow,
            chrono::Utc::now(),
            DEFAULT_MAX_TOKEN_BYTES,
            &mut StdRng::seed_from_u64(7),
        )
        .unwrap();
        out.push((name.to_owned(), text.expose().to_owned()));
    }
    out
}

/// What `/v1/me` lists for `token`, every page followed: `kind:id` →
/// operations.
async fn me(s: &Server, token: &str, limit: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut seen = BTreeMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = format!("/v1/me?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let mut r = client().get(s.url(&url));
        if !token.is_empty() {
            r = r.bearer_auth(token);
        }
        let answer = r.send().await.expect("GET /v1/me");
        let status = answer.status().as_u16();
        let v: Value = answer.json().await.expect("json");
        assert_eq!(status, 200, "{v}");
        for (kind, list) in [("workspace", &v["projects"]), ("view", &v["views"])] {
            for item in list.as_array().into_iter().flatten() {
                let ops = item["operations"].as_array().expect("operations");
                let ops = ops.iter().map(|o| o.as_str().unwrap().to_owned()).collect();
                let key = format!("{kind}:{}", item["id"].as_str().unwrap());
                assert!(seen.insert(key, ops).is_none(), "listed twice: {v}");
            }
        }
        match v["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
    panic!("more than 100 pages");
}

/// What single decisions allow `token`: `kind:id` → operations, for
/// every workspace and view.
async fn single(
    s: &Server,
    token: &str,
    resources: &[(&str, String)],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (kind, id) in resources {
        let mut ops = BTreeSet::new();
        for op in Operation::EVERY {
            let token = (!token.is_empty()).then_some(token);
            let body = json!({ "token": token, "operation": op,
                "resource": { "kind": kind, "id": id } });
            let d = admin(s, reqwest::Method::POST, "/decisions", body).await;
            if d["allowed"] == true {
                ops.insert(op.as_str().to_owned());
            }
        }
        if !ops.is_empty() {
            out.insert(format!("{kind}:{id}"), ops);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn v1_me_lists_exactly_what_single_decisions_allow(spec in spec()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let s = Server::start(&[]);
            let views = build(&s, &spec).await;
            let mut resources: Vec<(&str, String)> =
                (0..spec.workspaces).map(|w| ("workspace", format!("ws_{w}"))).collect();
            resources.extend(views.iter().map(|v| ("view", v.clone())));
            for (name, token) in tokens(&s, &spec, &views).await {
                let listed = me(&s, &token, spec.limit).await;
                let allowed = single(&s, &token, &resources).await;
                assert_eq!(listed, allowed, "{name}: {spec:?}");
            }
        });
    }
}
