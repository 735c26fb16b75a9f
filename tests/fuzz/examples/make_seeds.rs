//! Writes the hand-made starting seeds of every target into
//! `corpus/<target>/seed_*` (deterministic: tokens are signed by the
//! harness's seeded keyring with seeded randomness).
//!
//! `cargo run --release --example make_seeds -- [BISCUIT_SAMPLES_DIR]`
//! (in `tests/fuzz/`): with a directory of biscuit conformance samples
//! (`*.bc`), they become `token_decode` seeds too. The committed corpus is
//! these seeds plus what the fuzzers found that adds coverage; rerunning
//! this rewrites the same `seed_*` files.

use std::path::{Path, PathBuf};

use base64::Engine;
use biscuit_auth::UnverifiedBiscuit;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{ADMIN_POLICY, DEFAULT_POLICY};
use tessera::keys::PrivateKeyring;
use tessera::model::{Grant, Id, Operation, Resource, Restriction};
use tessera::routes::DEFAULT_ROUTES;
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};
use tessera_fuzz::{keyring, t0};

fn id(s: &str) -> Id {
    Id::new(s).expect("valid id")
}

fn ops(s: &str) -> std::collections::BTreeSet<Operation> {
    Operation::parse_list(s).expect("valid operations")
}

struct Seeds {
    dir: PathBuf,
    n: usize,
}

impl Seeds {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        Seeds { dir, n: 0 }
    }

    fn add(&mut self, mode: Option<u8>, body: &[u8]) {
        let mut bytes = Vec::with_capacity(body.len() + 1);
        bytes.extend(mode);
        bytes.extend_from_slice(body);
        std::fs::write(self.dir.join(format!("seed_{:03}", self.n)), bytes).expect("write seed");
        self.n += 1;
    }
}

/// Token texts signed by the fixed keyring (and one foreign one).
fn tokens() -> Vec<String> {
    let ring = keyring();
    let mut rng = StdRng::seed_from_u64(3);
    let now = t0();
    let year = now + chrono::Duration::days(365);
    let grants = [
        Grant::guest(id("ws_1"), id("v_1"), &ops("read,export")),
        Grant::guest(
            id("ws_1"),
            id("v_2"),
            &ops("read,write,create,delete,export"),
        )
        .expires_at(Some(year))
        .label(Some("auditor".into())),
        Grant::api_key(id("ws_1"), None, &ops("read,write")),
        Grant::api_key(id("ws_2"), Some(id("t_2")), &ops("read")),
        Grant::admin(),
    ];
    let mut out = Vec::new();
    for grant in &grants {
        let issued = token::issue_with_rng(grant, ring, now, &mut rng).expect("issue");
        out.push(issued.token.expose().to_owned());
    }
    let restriction = Restriction {
        operations: Some(ops("read")),
        resource: Some(Resource::table(id("t_1"))),
        expires_at: Some(now + chrono::Duration::days(1)),
        label: Some("contractor".into()),
    };
    let child = token::attenuate_with_rng(
        &out[2],
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut rng,
    )
    .expect("attenuate");
    let restriction = Restriction {
        operations: Some(ops("read,export")),
        resource: Some(Resource::view(id("v_1"))),
        expires_at: None,
        label: None,
    };
    let grandchild = token::attenuate_with_rng(
        child.expose(),
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut rng,
    )
    .expect("attenuate");
    out.push(child.expose().to_owned());
    out.push(grandchild.expose().to_owned());
    // Sealed.
    let bytes = token::decode_bytes(&out[0], DEFAULT_MAX_TOKEN_BYTES).expect("decode");
    let sealed = UnverifiedBiscuit::from(&bytes)
        .and_then(|u| u.seal())
        .and_then(|u| u.to_vec())
        .expect("seal");
    out.push(format!(
        "tsr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
    ));
    // Signed by a key the fixed keyring does not hold.
    let foreign = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(99), now);
    let issued = token::issue_with_rng(&grants[0], &foreign, now, &mut rng).expect("issue");
    out.push(issued.token.expose().to_owned());
    out
}

fn raw(text: &str) -> Vec<u8> {
    token::decode_bytes(text, DEFAULT_MAX_TOKEN_BYTES).expect("decode")
}

fn token_decode(root: &Path, samples: Option<&Path>, tokens: &[String]) {
    let mut s = Seeds::new(root, "token_decode");
    for t in tokens {
        s.add(Some(0), &raw(t));
        s.add(Some(1), t.as_bytes());
        // The compact form share links carry (`tsz_`, deflated).
        let compact = token::shortest_text(t, DEFAULT_MAX_TOKEN_BYTES).expect("compact");
        s.add(Some(1), compact.expose().as_bytes());
    }
    let t = &tokens[0];
    let body = t.strip_prefix("tsr_").expect("prefixed");
    for text in [
        body.to_owned(),
        format!("  {t}==\n"),
        format!("{t}="),
        t[..t.len() / 2].to_owned(),
        "tsr_".to_owned(),
        "tsr_AAAA".to_owned(),
        "tsr_!!!".to_owned(),
        "tsz_".to_owned(),
        "tsz_AAAA".to_owned(),
        "tsz_Y2BgYGBgYGBgYGBgYGBgYGBgYGAAAA".to_owned(),
        "check if time($t), $t <= 2027-02-22T00:00:00Z".to_owned(),
        "check if time($t), $t < 2027-02-22T00:00:00Z".to_owned(),
    ] {
        s.add(Some(1), text.as_bytes());
    }
    for datalog in [
        "check if operation(\"read\");",
        "check if operation(\"read\") or operation(\"export\");",
        "check if resource(\"view\", \"v_1\");",
        "check if resource($k, $x), parent($k, $x, \"table\", \"t_1\");",
        "check if time($t), $t <= 2027-02-22T00:00:00Z;",
        "check all operation($op), [\"read\", \"export\"].contains($op);",
        "reject if operation(\"write\");",
        "right(\"view\", \"v_2\", \"write\"); kind(\"admin\");",
        "q($x) <- view_setting($x, $n, $b); check if q(\"v_1\");",
        "check if view_setting($a, $b, $c), view_setting($d, $e, $f), view_setting($g, $h, $i), view_setting($j, $k, $l);",
        "check if query(1), query(2); q($x) <- query($x);",
        "check if true; check if 1 + 2 == 3; check if \"abc\".starts_with(\"a\");",
        "check if [1, 2].any($x -> $x > 1); check if {\"a\": 1}.get(\"a\") === 1; check if null === null;",
        "check if \"aaa\".matches(\"^a+$\"); check if 9223372036854775807 + 1 > 0;",
        "check if hex:00ff.length() == 2; check if {1, 2}.intersection({2}) == {2};",
        "check if time($t) trusting ed25519/acdd6d5b53bfee478bf689f8e012fe7988bf755e3d7c5152947abc149bc20189;",
    ] {
        s.add(Some(2), datalog.as_bytes());
    }
    // Builder-made blocks (mode 3): one operation per byte, 0xff between
    // expressions; valid ones and a lone operator.
    for ops in [
        &[0x00, 0x40, 0x84][..],                         // $x == "read"
        &[0x30, 0x31, 0x89, 0x22, 0x80][..],             // 0 + 1 < -14
        &[0xc0, 0x31, 0x89][..],                         // i64::MAX + 1
        &[0x89][..],                                     // a lone +
        &[0x49, 0xe0, 0x99, 0xff, 0x4a, 0xe1, 0x9a][..], // closures over a set and an array
        &[0x42, 0x40, 0x88][..],                         // "(a+)+$".matches("read")
    ] {
        s.add(Some(3), ops);
    }
    if let Some(dir) = samples {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read samples dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bc"))
            .collect();
        files.sort();
        for f in files {
            s.add(Some(0), &std::fs::read(&f).expect("read sample"));
        }
    }
}

fn routes(root: &Path) {
    let mut s = Seeds::new(root, "routes");
    s.add(Some(0), DEFAULT_ROUTES.as_bytes());
    for table in [
        "[[route]]\nmethods = [\"GET\"]\npath = \"/v/{view}\"\noperation = \"read\"\nresource = \"view\"\n",
        "[[route]]\nmethods = [\"GET\", \"POST\"]\npath = \"/t/{table}/r/{row}\"\noperation = \"write\"\nresource = \"table\"\n\n[[route]]\nmethods = [\"GET\"]\npath = \"/t/{table}/x\"\noperation = \"export\"\nresource = \"table\"\n",
        "[[route]]\nmethods = [\"GET\"]\npath = \"/a/{view}\"\noperation = \"read\"\nresource = \"view\"\n[[route]]\nmethods = [\"GET\"]\npath = \"/{workspace}/b\"\noperation = \"read\"\nresource = \"workspace\"\n",
        "[[route]]\nmethods = [\"HEAD\"]\npath = \"/a/{view}\"\noperation = \"read\"\nresource = \"view\"\n",
        "[[route]]\nmethods = [\"GET\"]\npath = \"/a/../{view}\"\noperation = \"read\"\nresource = \"view\"\n",
        "[[route]]\nmethods = [\"GET\"]\npath = \"/a/{view}/{view}\"\noperation = \"read\"\nresource = \"view\"\n",
        "[[route]]\nmethods = []\npath = \"/a/{table}\"\noperation = \"read\"\nresource = \"table\"\n",
        "route = []\n",
        "[[route]]\nmethods = [\"get\"]\npath = \"a/{view}/\"\noperation = \"fly\"\nresource = \"row\"\nextra = 1\n",
    ] {
        s.add(Some(0), table.as_bytes());
    }
    for line in [
        "GET /api/v1/views/v_1/rows",
        "HEAD /api/v1/views/v_1/rows?limit=5",
        "POST /api/v1/views/v_1/rows",
        "PATCH /api/v1/views/v_1/rows/r9",
        "DELETE /api/v1/tables/t_1/rows/r9",
        "PUT /api/v1/tables/t_1/columns/c_1",
        "GET /api/v1/workspaces/ws_1/tables",
        "GET /views/v_1/",
        "GET /api/v1/views/v%5F1/rows#frag",
        "GET /api/v1/views/v_1/../../views/v_2/rows",
        "GET /api/v1/views/./v_1/rows",
        "GET /api/v1/views/%2e%2e/rows",
        "GET /api/v1/views/v_1%2frows",
        "GET /api/v1/views/v_1%5Crows",
        "GET /api/v1//views/v_1/rows",
        "GET /api/v1/views/v_1%252frows",
        "GET /api/v1/views/v_1%00/rows",
        "GET /api/v1/views/v_1%ff/rows",
        "GET /api/v1/views/v%20_1/rows",
        "GET api/v1/views/v_1/rows",
        "OPTIONS /api/v1/views/v_1/rows",
        "GET /",
        "GET /?a=/../",
    ] {
        s.add(Some(1), line.as_bytes());
    }
}

fn forward_headers(root: &Path, tokens: &[String]) {
    let mut s = Seeds::new(root, "forward_headers");
    let guest = &tokens[0];
    let api = &tokens[2];
    for input in [
        format!("GET\nx-original-method: GET\nx-original-uri: /api/v1/views/v_1/rows\nauthorization: Bearer {guest}"),
        format!("POST\nx-forwarded-method: get\nx-forwarded-uri: /api/v1/views/v_1/export?x=1\ncookie: a=1; tessera_session={guest}; b=2"),
        format!("GET\nx-original-url: https://h.example/api/v1/tables/t_1/rows?z=1\nauthorization: bearer  {api} "),
        format!("GET\nx-forwarded-method: DELETE\nx-forwarded-uri: /api/v1/tables/t_1/rows/r_1\nauthorization: Bearer {}", tokens[5]),
        format!("GET\nx-original-uri: /api/v1/views/v_1/rows\nauthorization: Bearer {}", tokens[8]),
        "GET\nx-original-method: GET\nx-original-uri: /api/v1/views/v_2/rows".to_owned(),
        "GET\nx-original-uri: /api/v1/views/v_1/rows\nx-forwarded-method: GET".to_owned(),
        "GET\nx-forwarded-uri: /a\nx-forwarded-uri: /b".to_owned(),
        "GET\nx-original-uri: /api/v1/views/v_1/../v_2/rows".to_owned(),
        "GET\nx-original-uri: /api/v1/views/v_1/rows\nauthorization: Basic dXNlcjpwdw==".to_owned(),
        "GET\nx-original-uri: /api/v1/views/v_1/rows\nauthorization: Bearer tsr_AAAA".to_owned(),
        "GET\nx-original-uri: /api/v1/views/v_1/rows\nauthorization: Bearer \u{ff}".to_owned(),
        "GET\n".to_owned(),
    ] {
        s.add(None, input.as_bytes());
    }
    // Non-UTF-8 (obs-text) header values.
    s.add(
        None,
        b"GET\nx-original-uri: /api/v1/views/v_1/rows\xff\ncookie: tessera_session=\xfe",
    );
}

fn loaders(root: &Path) {
    let mut s = Seeds::new(root, "loaders");
    s.add(Some(0), DEFAULT_POLICY.as_bytes());
    s.add(Some(0), ADMIN_POLICY.as_bytes());
    s.add(Some(0), b"right($x) <- right($x);\ncheck if true;\n");
    s.add(
        Some(0),
        b"allow if \"a\".matches(\"(a+)+$\"); deny if true;",
    );
    s.add(Some(1), b"");
    s.add(
        Some(1),
        concat!(
            "listen = \"0.0.0.0:9000\"\npublic_keys = \"http://issuer/.well-known/biscuit-web-keys\"\n",
            "upstream = \"http://127.0.0.1:3000\"\npublic_url = \"https://t.example\"\n",
            "trusted_peers = [\"10.0.0.0/8\", \"::1/128\"]\ninsecure_cookies = true\n",
            "view_page = \"/v/{view}\"\npolicy = \"p.datalog\"\nroutes = \"r.toml\"\n",
            "max_token_bytes = 4096\nmax_header_bytes = 8192\nrequest_timeout_ms = 1000\n",
            "max_facts = 10\nmax_iterations = 10\nmax_authorizer_ms = 18446744073709551615\n",
            "token_cache_capacity = 0\ndecision_cache_capacity = 1\ndecision_cache_ms = 0\n",
            "key_refresh_secs = 1\nkey_refresh_min_secs = 1\nlast_used_flush_secs = 1\nlog_json = true\n",
            "[token_limits]\nmax_blocks = 1\nmax_facts_per_block = 1\nmax_rules_per_block = 1\n",
            "max_checks_per_block = 1\nmax_query_cost = 1\n",
        )
        .as_bytes(),
    );
    s.add(Some(1), b"lisen = 1\n");
    let mut ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(5), t0());
    ring.rotate_with_rng(&mut StdRng::seed_from_u64(6), t0());
    let text = ring.to_toml();
    s.add(Some(2), text.as_bytes());
    s.add(Some(2), text[..text.len() - 10].as_bytes());
    s.add(Some(2), text.replace("verifying", "active").as_bytes());
    let bwk = ring.public().to_bwk_json();
    s.add(Some(3), bwk.as_bytes());
    s.add(
        Some(3),
        bwk.replace("\"expires_at\": null", "\"expires_at\": 1700000000")
            .as_bytes(),
    );
    s.add(Some(3), b"[]");
    s.add(Some(3), b"{");
    s.add(Some(4), DEFAULT_ROUTES.as_bytes());
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let samples = std::env::args_os().nth(1).map(PathBuf::from);
    let tokens = tokens();
    token_decode(&root, samples.as_deref(), &tokens);
    routes(&root);
    forward_headers(&root, &tokens);
    loaders(&root);
    println!("seeds written under {}", root.display());
}
