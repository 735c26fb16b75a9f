//! Keys and the admin token over the network: `--public-keys https://…`
//! with `--public-keys-ca`, plain `http://` refused off loopback unless
//! `--insecure-http-keys`, and the CLI's `--server` the same way
//! (`--server-ca`, `--insecure-http-server`).
//!
//! Real processes on loopback only. The test makes a CA and a server
//! certificate for `localhost`/127.0.0.1 with rcgen and runs a TLS front
//! (tokio-rustls, its own thread and runtime) that either answers a keys
//! file or forwards the decrypted bytes to a plain `tessera serve` — the
//! TLS-terminating proxy the gateway is meant to sit behind.

mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use server::{client, issue, seed_registry, tessera_bin, Server};

/// A non-loopback address nothing answers on; never contacted by the
/// refusal tests.
const FAR: &str = "10.255.255.1";

/// Where the keys are served.
const KEYS_PATH: &str = "/.well-known/biscuit-web-keys";

// ---------------------------------------------------------------- the PKI

/// A CA, and a server certificate it signed for localhost and 127.0.0.1.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Pki {
    /// A PKI whose CA is called `name` (another name: another CA, not a
    /// forgery of this one).
    fn new(name: &str) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, format!("tessera test CA {name}"));
        let ca = ca.self_signed(&ca_key).expect("self-signed CA");
        let key = KeyPair::generate().expect("server key");
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");
        Pki {
            ca_pem: ca.pem(),
            chain: vec![leaf.der().clone()],
            key: key.serialize_der(),
        }
    }

    /// Writes the CA certificate as PEM into `dir`.
    fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.ca_pem).expect("write CA");
        path
    }
}

// ------------------------------------------------------------ the TLS front

/// What the TLS front does with a connection once the handshake is done.
#[derive(Clone)]
enum Behind {
    /// Answers every request with 200 and this body.
    Keys(Arc<Vec<u8>>),
    /// Forwards the decrypted bytes both ways to this plain address.
    Proxy(SocketAddr),
}

/// The certificate a [`TlsFront`] presents and what is behind it.
type Presented = Arc<Mutex<(tokio_rustls::TlsAcceptor, Behind)>>;

/// A TLS server on loopback with a [`Pki`]'s certificate, on a runtime of
/// its own (so blocking test code cannot starve it), shut down on drop.
struct TlsFront {
    addr: SocketAddr,
    current: Presented,
    handshakes: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsFront {
    fn start(pki: &Pki, behind: Behind) -> TlsFront {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("TLS front runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind TLS front");
        listener.set_nonblocking(true).expect("nonblocking");
        let current: Presented = Arc::new(Mutex::new((acceptor(pki), behind)));
        let handshakes = Arc::<AtomicUsize>::default();
        let addr = listener.local_addr().expect("addr");
        runtime.spawn(accept_loop(listener, current.clone(), handshakes.clone()));
        TlsFront {
            addr,
            current,
            handshakes,
            runtime: Some(runtime),
        }
    }

    /// From the next connection on, presents `pki`'s certificate with
    /// `behind` behind it.
    fn present(&self, pki: &Pki, behind: Behind) {
        *self.current.lock().expect("current") = (acceptor(pki), behind);
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TLS handshakes that completed.
    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Accepts connections until the runtime shuts down; each gets the
/// handshake and then what is behind, each step bounded in time.
async fn accept_loop(listener: std::net::TcpListener, current: Presented, done: Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    while let Ok((conn, _)) = listener.accept().await {
        let (acceptor, behind) = current.lock().expect("current").clone();
        let done = done.clone();
        tokio::spawn(async move {
            let bounded = Duration::from_secs(30);
            let Ok(Ok(tls)) = tokio::time::timeout(bounded, acceptor.accept(conn)).await else {
                return;
            };
            done.fetch_add(1, Ordering::SeqCst);
            let _ = tokio::time::timeout(bounded, serve(tls, behind)).await;
        });
    }
}

/// A TLS acceptor presenting `pki`'s server certificate.
fn acceptor(pki: &Pki) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            pki.chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.clone())),
        )
        .expect("server certificate");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// One connection after the handshake.
async fn serve(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, behind: Behind) {
    match behind {
        Behind::Proxy(to) => {
            if let Ok(mut plain) = tokio::net::TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        }
        Behind::Keys(body) => {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.write_all(&body).await;
            let _ = tls.shutdown().await;
        }
    }
}

// ---------------------------------------------------------------- helpers

/// An issuer's data directory with the registry seeded and a guest token
/// for view v_1, and its public keys; the issuer is stopped, so a verifier
/// can open the same store.
struct Issued {
    _dir: tempfile::TempDir,
    data: PathBuf,
    token: String,
    token_id: String,
    keys: Vec<u8>,
}

async fn issued() -> Issued {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut issuer = Server::start_in(&data, &[], None);
    seed_registry(&issuer).await;
    let t = issue(
        &issuer,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
    )
    .await;
    let keys = client()
        .get(issuer.url(KEYS_PATH))
        .send()
        .await
        .expect("GET keys")
        .bytes()
        .await
        .expect("keys body")
        .to_vec();
    assert_eq!(issuer.terminate().code(), Some(0));
    Issued {
        _dir: dir,
        data,
        token: t["token"].as_str().expect("token").to_owned(),
        token_id: t["token_id"].as_str().expect("token_id").to_owned(),
        keys,
    }
}

/// Another issuer's public keys (Biscuit Web Keys JSON): what someone on
/// the path would substitute.
fn substitute_keys(dir: &Path) -> Vec<u8> {
    let data = dir.join("impostor");
    let data = data.to_str().expect("utf-8 path");
    let bound = Duration::from_secs(20);
    let (out, _) = run_bounded(&["--data-dir", data, "init"], &[], bound);
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, _) = run_bounded(&["--data-dir", data, "keys", "export-public"], &[], bound);
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

/// `GET /readyz`: the body.
async fn readyz(gateway: &Server) -> serde_json::Value {
    client()
        .get(gateway.url("/readyz"))
        .send()
        .await
        .expect("GET /readyz")
        .json()
        .await
        .expect("readyz json")
}

/// Runs `tessera ARGS` (with `env`) to its end, killed and failed after
/// `bound`; returns its output and how long it took.
fn run_bounded(args: &[&str], env: &[(&str, &str)], bound: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(tessera_bin())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("TESSERA_SERVER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tessera");
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tessera {args:?} still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the usage/I-O exit code 2; returns what was said on stderr.
fn exit_2(out: &Output) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    text
}

/// Asserts `text` is the clear-text refusal: what would have travelled,
/// to where, and the flag that allows it.
fn assert_refused(text: &str, what: &str, flag: &str) {
    let refusal =
        format!("refusing to {what} over plain http:// to {FAR}, which is not a loopback address");
    assert!(
        text.contains(&refusal) && text.contains(&format!("pass {flag} to accept the risk")),
        "{text}"
    );
}

/// `tessera serve` on a fresh data directory under `dir`, expected to stop
/// by itself within `bound`.
fn serve_to_exit(dir: &Path, args: &[&str], bound: Duration) -> (Output, Duration) {
    let data = dir.join("data");
    let data = data.to_str().expect("utf-8 path");
    let mut all = vec!["--data-dir", data, "serve", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    run_bounded(&all, &[], bound)
}

/// `GET /auth` for a read of view v_1 with `token`: the status.
async fn auth_status(gateway: &Server, token: &str) -> u16 {
    client()
        .get(gateway.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/api/v1/views/v_1/rows")
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /auth")
        .status()
        .as_u16()
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn keys_over_https_with_the_private_ca_verify_tokens_and_the_cli_reaches_the_gateway_over_https(
) {
    let pki = Pki::new("ours");
    let issued = issued().await;
    let ca = pki.write_ca(issued._dir.path(), "ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let keys = TlsFront::start(&pki, Behind::Keys(Arc::new(issued.keys.clone())));
    let url = format!("https://localhost:{}{KEYS_PATH}", keys.port());

    // (a) The verifier starts with the keys fetched over TLS and allows the
    // issuer's token: a real /auth answer.
    let verifier = Server::start_in(
        &issued.data,
        &["--public-keys", &url, "--public-keys-ca", ca],
        None,
    );
    assert!(keys.handshakes() >= 1);
    assert_eq!(auth_status(&verifier, &issued.token).await, 200);
    assert_eq!(auth_status(&verifier, "not-a-token").await, 401);

    // (f) The CLI through a TLS-terminating proxy in front of that gateway,
    // trusting the private CA: the admin API answers with the ledger.
    let port: u16 = verifier
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("gateway port");
    let front = TlsFront::start(
        &pki,
        Behind::Proxy(SocketAddr::from(([127, 0, 0, 1], port))),
    );
    let server = format!("https://localhost:{}", front.port());
    let data = issued.data.to_str().expect("utf-8 path");
    let (out, _) = run_bounded(
        &[
            "--data-dir",
            data,
            "--server",
            &server,
            "--server-ca",
            ca,
            "tokens",
            "list",
            "--json",
        ],
        &[],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&issued.token_id), "{stdout}");
}

#[tokio::test]
async fn an_impostor_certificate_at_refresh_substitutes_no_key_and_counts_a_failure() {
    let pki = Pki::new("ours");
    let issued = issued().await;
    let ca = pki.write_ca(issued._dir.path(), "ca.pem");
    let keys = TlsFront::start(&pki, Behind::Keys(Arc::new(issued.keys.clone())));
    let url = format!("https://localhost:{}{KEYS_PATH}", keys.port());
    let verifier = Server::start_in(
        &issued.data,
        &[
            "--public-keys",
            &url,
            "--public-keys-ca",
            ca.to_str().expect("utf-8 path"),
            "--key-refresh-secs",
            "1",
            "--key-fetch-timeout-ms",
            "2000",
        ],
        None,
    );
    assert_eq!(auth_status(&verifier, &issued.token).await, 200);
    assert_eq!(readyz(&verifier).await["key_refresh_failures"], 0);

    // Someone on the path answers with a certificate from another CA and
    // another issuer's keys.
    let impostor = Pki::new("impostor");
    let substitute = substitute_keys(issued._dir.path());
    keys.present(&impostor, Behind::Keys(Arc::new(substitute)));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = readyz(&verifier).await;
        if body["key_refresh_failures"]
            .as_u64()
            .is_some_and(|n| n >= 2)
        {
            assert_eq!(body["keys"], 1, "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed refresh counted: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The keys were kept: the issuer's token still verifies.
    assert_eq!(auth_status(&verifier, &issued.token).await, 200);
    assert!(
        verifier
            .logs()
            .contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        verifier.logs()
    );
}

#[test]
fn keys_over_https_from_an_untrusted_certificate_fail_the_start() {
    let pki = Pki::new("ours");
    let keys = TlsFront::start(&pki, Behind::Keys(Arc::new(b"[]".to_vec())));
    let url = format!("https://localhost:{}{KEYS_PATH}", keys.port());
    let dir = tempfile::tempdir().expect("tempdir");
    let other = Pki::new("other").write_ca(dir.path(), "other-ca.pem");
    let other = other.to_str().expect("utf-8 path");
    // (b) No --public-keys-ca: the built-in roots do not know this CA; and
    // a CA other than the one that signed the certificate.
    for ca in [&[][..], &["--public-keys-ca", other][..]] {
        let mut args = vec!["--public-keys", &url];
        args.extend_from_slice(ca);
        let (out, _) = serve_to_exit(dir.path(), &args, Duration::from_secs(20));
        let text = exit_2(&out);
        let refused = format!("cannot load public keys from {url}: client error (Connect): invalid peer certificate: UnknownIssuer");
        assert!(text.contains(&refused), "{ca:?}: {text}");
    }
    assert_eq!(keys.handshakes(), 0);
}

#[test]
fn plain_http_keys_off_loopback_are_refused_at_once_unless_insecure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("http://{FAR}/keys.toml");
    let bound = Duration::from_secs(20);
    // (c) Refused before anything: no fetch (its deadline is 10 s), not
    // even the data directory.
    let args = ["--public-keys", &url, "--key-fetch-timeout-ms", "10000"];
    let (out, took) = serve_to_exit(dir.path(), &args, bound);
    let text = exit_2(&out);
    assert!(
        text.contains(&format!("cannot load public keys from {url}: ")),
        "{text}"
    );
    assert_refused(&text, "fetch public keys", "--insecure-http-keys");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!dir.path().join("data").exists());

    // (d) With the flag the check passes and the fetch itself is what
    // fails (nothing answers there); and loopback needs no flag.
    let insecure = [
        "--public-keys",
        &url,
        "--insecure-http-keys",
        "--key-fetch-timeout-ms",
        "300",
    ];
    let loopback = "http://127.0.0.1:1/keys.toml";
    for (args, source) in [
        (&insecure[..], url.as_str()),
        (&["--public-keys", loopback][..], loopback),
    ] {
        let (out, _) = serve_to_exit(dir.path(), args, bound);
        let text = exit_2(&out);
        assert!(
            text.contains(&format!("cannot load public keys from {source}: ")),
            "{text}"
        );
        assert!(!text.contains("refusing"), "{text}");
    }
}

#[test]
fn the_cli_refuses_to_send_the_admin_token_in_clear_text_off_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let server = format!("http://{FAR}:9");
    // (e) Refused within a second: a connection attempt to that address
    // would wait for the CLI's 30 s timeout.
    let (out, took) = run_bounded(
        &["--data-dir", data, "--server", &server, "tokens", "list"],
        &[("TESSERA_ADMIN_TOKEN", "an-admin-token")],
        Duration::from_secs(20),
    );
    let text = exit_2(&out);
    assert_refused(&text, "send the admin token", "--insecure-http-server");
    assert!(!text.contains("an-admin-token"), "{text}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn the_cli_refuses_a_server_certificate_its_ca_did_not_sign_before_sending_the_token() {
    let pki = Pki::new("ours");
    let dir = tempfile::tempdir().expect("tempdir");
    // Behind the front: a plain listener that must never see a connection.
    let behind = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    behind.set_nonblocking(true).expect("nonblocking");
    let front = TlsFront::start(&pki, Behind::Proxy(behind.local_addr().expect("addr")));
    let server = format!("https://localhost:{}", front.port());
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let wrong = Pki::new("wrong").write_ca(dir.path(), "wrong-ca.pem");
    let wrong = wrong.to_str().expect("utf-8 path");
    for ca in [&["--server-ca", wrong][..], &[][..]] {
        let mut args = vec!["--data-dir", data, "--server", &server];
        args.extend_from_slice(ca);
        args.extend_from_slice(&["tokens", "list"]);
        let env = [("TESSERA_ADMIN_TOKEN", "an-admin-token")];
        let (out, _) = run_bounded(&args, &env, Duration::from_secs(30));
        let text = exit_2(&out);
        let refused = format!("cannot reach {server}/admin/v1/tokens: client error (Connect): invalid peer certificate: UnknownIssuer");
        assert!(text.contains(&refused), "{ca:?}: {text}");
    }
    assert_eq!(front.handshakes(), 0);
    assert!(matches!(
        behind.accept(),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    ));
}
