//! The admin API's OpenAPI document: generated from the code, printed by
//! `tessera openapi` with no server, served at `/admin/v1/openapi.json`
//! behind the admin guard, and describing every route the admin router
//! has, with its methods. The route list is read from the router's own
//! source (every `.route(…)` in src/gateway/admin/), so a route added
//! there without `#[utoipa::path]` docs fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod server;
use server::{client, Server};

/// The methods axum's routing functions name.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Every `.route("PATH", METHOD(..).METHOD(..))` call in `source`: path →
/// methods (lowercase).
fn routes_in(source: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        let mut depth = 1usize;
        let mut end = call.len();
        for (i, c) in call.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &call[..end];
        let path = args
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("a .route( without a literal path: {args}"))
            .to_owned();
        let methods = words(args)
            .windows(2)
            .filter(|w| w[1] == "(" && METHODS.contains(&w[0].as_str()))
            .map(|w| w[0].clone())
            .collect();
        out.push((path, methods));
        rest = &call[end..];
    }
    out
}

/// Identifiers and single punctuation characters of `text`.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    out
}

/// The admin router's routes, from every file of src/gateway/admin/, under
/// `/admin/v1`.
fn admin_routes() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway/admin");
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/gateway/admin")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("read source");
        for (path, methods) in routes_in(&source) {
            routes
                .entry(format!("/admin/v1{path}"))
                .or_default()
                .extend(methods);
        }
    }
    routes
}

/// `tessera openapi`'s document.
fn printed() -> Value {
    let out = Command::cargo_bin("tessera")
        .expect("binary")
        .arg("openapi")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("run tessera openapi");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tessera openapi prints JSON")
}

/// Path → its documented methods.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

#[test]
fn the_route_reader_reads_chained_methods() {
    let source = r#"Router::new()
        .route("/a/{id}", get(x::get_a).put(x::put_a))
        .route("/b", post(f(1)).delete(y::remove))
        .layer(l)"#;
    let routes = routes_in(source);
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].0, "/a/{id}");
    assert_eq!(routes[0].1, BTreeSet::from(["get".into(), "put".into()]));
    assert_eq!(
        routes[1].1,
        BTreeSet::from(["post".into(), "delete".into()])
    );
}

#[test]
fn every_admin_route_is_documented_with_its_methods_and_nothing_else() {
    let doc = printed();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented(&doc);
    let routes = admin_routes();
    assert!(
        routes.len() >= 20,
        "the router's routes were not found: {routes:?}"
    );
    for (path, methods) in &routes {
        let Some(doc_methods) = documented.get(path) else {
            panic!("{path} ({methods:?}) is routed but not in the OpenAPI document: add #[utoipa::path] to its handler and list it in src/gateway/admin/openapi.rs");
        };
        assert_eq!(
            doc_methods, methods,
            "{path}: documented methods differ from the router's"
        );
    }
    for (path, methods) in &documented {
        if path.starts_with("/admin/v1") {
            assert!(
                routes.contains_key(path),
                "{path} {methods:?} is documented but not routed"
            );
        }
    }
    assert_eq!(
        documented.get("/v1/me"),
        Some(&BTreeSet::from(["get".to_owned()])),
        "GET /v1/me is documented"
    );
}

#[test]
fn every_operation_names_its_statuses_the_error_body_and_the_bearer_scheme() {
    let doc = printed();
    let scheme = &doc["components"]["securitySchemes"]["admin_bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(doc["security"][0]["admin_bearer"], serde_json::json!([]));
    let error = &doc["components"]["schemas"]["Error"];
    let error_text = error.to_string();
    for field in ["error", "message", "request_id"] {
        assert!(
            error_text.contains(field),
            "the error body names {field}: {error}"
        );
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents its success"
            );
            for status in ["401", "403", "408", "500"] {
                let body = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    body, "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
            for (status, answer) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let body = &answer["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        body, "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let issue = &doc["paths"]["/admin/v1/tokens"]["post"]["responses"];
    assert_eq!(
        issue["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/IssuedToken"
    );
    assert!(
        issue.get("409").is_some(),
        "issuing without a signing key is documented"
    );
}

#[tokio::test]
async fn the_gateway_serves_the_same_document_to_admins_only() {
    let server = Server::start(&[]);
    let c = client();
    let url = server.url("/admin/v1/openapi.json");
    let anonymous = c.get(&url).send().await.expect("get");
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.expect("error body");
    assert_eq!(body["error"], "missing_token");
    let served = c
        .get(&url)
        .bearer_auth(server.admin_token())
        .send()
        .await
        .expect("get");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let served: Value = served.json().await.expect("json");
    assert_eq!(served, printed());
}

/// What schemathesis found, each answered now in the document's words.
#[tokio::test]
async fn malformed_ids_bad_queries_and_array_bodies_answer_the_json_error_body() {
    let server = Server::start(&[]);
    let c = client();
    let admin = server.admin_token();
    // A malformed path id on the registry routes was axum's plain-text 400.
    for path in [
        "/admin/v1/workspaces/a%20b",
        "/admin/v1/tables/%C3%97",
        "/admin/v1/views/a.b",
    ] {
        let r = c
            .get(server.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"], "bad_request", "{path}");
        assert!(body["request_id"].is_string(), "{path}: {body}");
    }
    let r = c
        .delete(server.url("/admin/v1/views/a%20b/tokens"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"],
        "bad_request"
    );
    // /v1/me's bad query: the JSON 400 without a token (anyone may ask
    // what no token sees), 401 with a bad token, the JSON 400 with one.
    let me = server.url("/v1/me?limit=many");
    let r = c.get(&me).send().await.expect("me");
    assert_eq!(r.status(), 400);
    let r = c
        .get(&me)
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 401);
    let r = c.get(&me).bearer_auth(&admin).send().await.expect("me");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"],
        "bad_request"
    );
    // A struct body given as an array was read field by field.
    let r = c
        .put(server.url("/admin/v1/views/v_1"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("[\"t_1\", \"ws_1\"]")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expected a JSON object"),
        "{body}"
    );
    let r = c
        .get(server.url("/admin/v1/views/v_1"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404, "the array placed no view");
    // An optional body given as `null` is no body, as the document says.
    let r = c
        .put(server.url("/admin/v1/workspaces/ws_1"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["id"], "ws_1");
}
