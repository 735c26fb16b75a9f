//! schemathesis (PyPI), a tool nobody on this project wrote, against a live
//! `tessera serve` with its admin token, driven by the OpenAPI document the
//! gateway serves: no 5xx, every status, content type, header and body
//! matches the document, schema-violating requests are refused, requests
//! without the token are refused, and every documented status occurs
//! except the few named in [`NOT_PROVOKED`] with why.
//!
//! `bash .ci/test` installs schemathesis (`.ci/interop-tools`, pinned, in
//! target/schemathesis-venv) and exports `TESSERA_SCHEMATHESIS`; the test
//! fails, naming that script, when it is missing. The run is bounded:
//! a fixed seed, 20 examples per operation, one worker, a process timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};

mod server;
use server::{client, Server};

/// The checks run: all of schemathesis's, less these, each with why.
const EXCLUDED_CHECKS: [(&str, &str); 4] = [
    (
        "positive_data_acceptance",
        "the API's rules depend on the registry (a user must be registered, an entry must name a workspace member, an API key needs a workspace): a schema-valid body may rightly answer 400",
    ),
    ("use_after_free", "stateful; the stateful phase is off"),
    ("ensure_resource_availability", "stateful; the stateful phase is off"),
    (
        "object_level_authorization",
        "needs a second identity's credentials; member tokens' refusals are tests/members_api.rs'",
    ),
];

/// Documented statuses this run cannot provoke, with why (any other
/// documented status must occur).
const NOT_PROVOKED: [(Option<&str>, u16, &str); 14] = [
    (None, 403, "the run calls with the admin token, which the guard never refuses; member tokens' 403s are tests/members_api.rs'"),
    (None, 408, "the request timeout (tests/limits.rs)"),
    (None, 500, "an internal failure"),
    (Some("POST /admin/v1/tokens"), 409, "no_signing_key needs a verify-only gateway"),
    (Some("POST /admin/v1/members/{user}/tokens"), 409, "no_signing_key needs a verify-only gateway"),
    (Some("GET /v1/me"), 401, "anyone may ask without a token; a token that is not valid is the 401 (tests/scoped_viewers.rs)"),
    (Some("GET /admin/v1/fleet"), 200, "fleet mode needs a nats-server (tests/fleet.rs covers the 200)"),
    (Some("POST /admin/v1/fleet/snapshot"), 200, "fleet mode needs a nats-server (tests/fleet.rs covers the 200)"),
    (Some("POST /admin/v1/fleet/snapshot"), 503, "fleet mode needs a nats-server that then refuses"),
    (Some("GET /admin/v1/users/{user}"), 404, "with seed 1 every well-formed id generated names a user an earlier PUT registered"),
    (Some("PUT /admin/v1/tables/{id}/access"), 404, "with seed 1 every well-formed id generated names a table an earlier PUT registered"),
    (Some("PUT /admin/v1/tables/{id}/permissions"), 404, "with seed 1 every well-formed id generated names a table an earlier PUT registered"),
    (Some("PUT /admin/v1/views/{id}"), 409, "a table placed in another workspace takes two coordinated requests"),
    (Some("POST /admin/v1/attenuations"), 200, "a signed token in the body is beyond generated data; tests/presets_api.rs covers the 200"),
];

/// schemathesis's CLI: `$TESSERA_SCHEMATHESIS`, else where
/// `.ci/interop-tools` installs it.
fn schemathesis() -> PathBuf {
    let default = "target/schemathesis-venv/bin/schemathesis";
    let path = std::env::var_os("TESSERA_SCHEMATHESIS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "schemathesis (PyPI) is not installed: {} does not exist (from $TESSERA_SCHEMATHESIS, or its default {default}); run `bash .ci/interop-tools` from the repository root (`bash .ci/test` does)",
        path.display()
    );
    path
}

/// Registers what the generated ids (`0`, `1`, …) find: workspace 0 with
/// table 0 and view 0, users 0 (owner) and 1 (member), group 0.
async fn seed(server: &Server) {
    let c = client();
    let admin = server.admin_token();
    let puts = [
        ("/admin/v1/views/0", json!({"table": "0", "workspace": "0"})),
        (
            "/admin/v1/users/0",
            json!({"email": "ana@example.com", "name": "Ana"}),
        ),
        (
            "/admin/v1/users/1",
            json!({"email": "bo@example.com", "name": "Bo"}),
        ),
        ("/admin/v1/workspaces/0/members/0", json!({"role": "owner"})),
        (
            "/admin/v1/workspaces/0/members/1",
            json!({"role": "member"}),
        ),
        (
            "/admin/v1/workspaces/0/groups/0",
            json!({"name": "Team", "members": ["0"]}),
        ),
    ];
    for (path, body) in puts {
        let r = c
            .put(server.url(path))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .expect("seed");
        assert_eq!(
            r.status(),
            200,
            "{path}: {}",
            r.text().await.unwrap_or_default()
        );
    }
}

/// Operation label (`GET /admin/v1/audit`) → the statuses it answered, from
/// schemathesis's NDJSON event stream.
fn observed(ndjson: &str) -> BTreeMap<String, BTreeSet<u16>> {
    let mut seen: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for line in ndjson.lines() {
        let event: Value = serde_json::from_str(line).expect("an NDJSON event");
        let Some(recorder) = event.pointer("/ScenarioFinished/recorder") else {
            continue;
        };
        let label = recorder["label"].as_str().expect("label").to_owned();
        let statuses = seen.entry(label).or_default();
        for interaction in recorder["interactions"].as_object().into_iter().flatten() {
            if let Some(status) = interaction.1.pointer("/response/status_code") {
                statuses.insert(status.as_u64().expect("status") as u16);
            }
        }
    }
    seen
}

/// Operation label → its documented statuses.
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<u16>> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let statuses = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .map(|s| s.parse().expect("numeric status"))
                .collect();
            out.insert(format!("{} {path}", method.to_uppercase()), statuses);
        }
    }
    out
}

#[tokio::test]
async fn schemathesis_finds_the_live_gateway_true_to_its_document() {
    let tool = schemathesis();
    let server = Server::start(&[]);
    seed(&server).await;
    let admin = server.admin_token();
    let doc: Value = client()
        .get(server.url("/admin/v1/openapi.json"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("document")
        .json()
        .await
        .expect("json");
    let work = tempfile::tempdir().expect("tempdir");
    let schema = work.path().join("openapi.json");
    std::fs::write(&schema, doc.to_string()).expect("write the document");
    let excluded: Vec<&str> = EXCLUDED_CHECKS.iter().map(|(c, _)| *c).collect();
    let out = Command::new(&tool)
        .current_dir(work.path())
        .env("HOME", work.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .args([
            "run",
            schema.to_str().expect("utf-8 path"),
            "--url",
            &server.base,
        ])
        .args(["-H", &format!("Authorization: Bearer {admin}")])
        .args(["--checks", "all", "--exclude-checks", &excluded.join(",")])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "20", "--seed", "1", "--workers", "1"])
        .args(["--generation-database", "none", "--request-timeout", "10"])
        .args(["--no-color", "--report", "ndjson", "--report-dir"])
        .arg(work.path().join("report"))
        .timeout(Duration::from_secs(85))
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "schemathesis found the gateway untrue to its document:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Tested: 33") || stdout.contains("Tested:"),
        "{stdout}"
    );
    let report = std::fs::read_dir(work.path().join("report"))
        .expect("report dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .expect("an NDJSON report");
    let seen = observed(&std::fs::read_to_string(report).expect("read report"));
    let mut missing = Vec::new();
    for (operation, statuses) in documented(&doc) {
        let got = seen.get(&operation).cloned().unwrap_or_default();
        for status in statuses {
            let exempt = NOT_PROVOKED
                .iter()
                .any(|(op, s, _)| *s == status && op.is_none_or(|op| op == operation));
            if !exempt && !got.contains(&status) {
                missing.push(format!(
                    "{operation} never answered {status} (it answered {got:?})"
                ));
            }
        }
        assert!(
            got.iter().all(|s| *s < 500),
            "{operation} answered a server error: {got:?}"
        );
    }
    assert!(
        missing.is_empty(),
        "documented statuses that never occurred:\n{}",
        missing.join("\n")
    );
    assert!(
        seen.len() >= 30,
        "schemathesis tested every operation: {:?}",
        seen.keys()
    );
}
