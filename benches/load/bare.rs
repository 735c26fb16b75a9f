//! The bare baselines, each a process of its own as the gateway is (this
//! bench's binary started again with `--bare-server` or `--bare-proxy
//! ADDR`), so that both sides pay the same for crossing processes: a bare
//! axum server that answers 200 to everything, and a bare axum reverse
//! proxy (hyper-util's pooled client). Each runs tokio's default runtime
//! (a worker per core), as `tessera serve` does, and exits when its stdin
//! closes (the bench ended, however it ended).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;

use crate::servers::Listening;

/// A bare server process. Dropping it stops it.
pub(crate) struct Bare {
    // Held for its Drop: the process stops with this value.
    _process: Listening,
    pub(crate) addr: SocketAddr,
}

impl Bare {
    /// The bare server: 200 to everything.
    pub(crate) fn start() -> Bare {
        Bare::spawn(&["--bare-server"])
    }

    /// A bare axum reverse proxy to `upstream`.
    pub(crate) fn proxy(upstream: SocketAddr) -> Bare {
        Bare::spawn(&["--bare-proxy", &upstream.to_string()])
    }

    fn spawn(args: &[&str]) -> Bare {
        let exe = std::env::current_exe().expect("this bench's binary");
        let mut command = Command::new(exe);
        command.args(args);
        let process =
            Listening::start(command, "bare server", String::new).expect("start bare server");
        Bare {
            addr: process.addr,
            _process: process,
        }
    }
}

/// In a process started by [`Bare`]: serves what its arguments name and
/// returns true; otherwise returns false at once.
pub(crate) fn serve_if_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let app = match args.get(1).map(String::as_str) {
        Some("--bare-server") => axum::Router::new().fallback(|| async { "ok" }),
        Some("--bare-proxy") => {
            let upstream = args
                .get(2)
                .and_then(|a| a.parse().ok())
                .expect("--bare-proxy ADDR");
            proxy_to(upstream)
        }
        _ => return false,
    };
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bare-server")
        .enable_all()
        .build()
        .expect("bare runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind bare server");
        let addr = listener.local_addr().expect("bare address");
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
        let _ = axum::serve(listener, app).await;
    });
    true
}

/// Each request's path and query sent on to `upstream` with hyper-util's
/// pooled client, the answer passed back.
fn proxy_to(upstream: SocketAddr) -> axum::Router {
    use hyper_util::client::legacy::{connect::HttpConnector, Client};
    let client: Client<HttpConnector, axum::body::Body> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let client = client.clone();
        async move {
            let (mut parts, body) = request.into_parts();
            let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            parts.uri = format!("http://{upstream}{pq}").parse().expect("uri");
            match client
                .request(hyper::Request::from_parts(parts, body))
                .await
            {
                Ok(r) => r.map(axum::body::Body::new),
                Err(_) => {
                    let mut r = hyper::Response::new(axum::body::Body::empty());
                    *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                    r
                }
            }
        }
    })
}
