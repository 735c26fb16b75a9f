//! The processes the load generator drives, each stopped when dropped:
//! `tessera serve`, and the bare baselines ([`crate::bare`]).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tessera::store::datadir::DataDir;

/// A child process that prints `listening on http://ADDR` once it serves.
/// Dropping it stops it (SIGTERM, then SIGKILL after 10 s).
pub(crate) struct Listening {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Listening {
    /// Starts `command` (its stdout is read here, its stdin is a pipe that
    /// closes when this process ends) and waits for its address; `logs`
    /// tells why when it exits first.
    pub(crate) fn start(
        mut command: Command,
        what: &str,
        logs: impl Fn() -> String,
    ) -> Result<Listening, String> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            // Keeps draining stdout for the life of the process.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut process = Listening {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                process.addr = addr
                    .parse()
                    .map_err(|e| format!("bad listen address {addr:?}: {e}"))?;
                return Ok(process);
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!("{what} exited with {status}: {}", logs()));
            }
            if Instant::now() > deadline {
                return Err(format!("{what} did not start within 30 s"));
            }
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tessera serve` process on 127.0.0.1:0, its data directory and log.
pub(crate) struct Server {
    // Held for its Drop: the process stops with this value.
    _process: Listening,
    pub(crate) addr: SocketAddr,
    pub(crate) data: PathBuf,
}

impl Server {
    pub(crate) fn start(data: &Path, extra: &[&str], log: &str) -> Result<Server, String> {
        // TESSERA_LOAD_BIN: a copy of the release binary to measure (the
        // shared target dir's may be rebuilt by someone else meanwhile).
        let bin = std::env::var("TESSERA_LOAD_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tessera").to_owned());
        // The log (access log on, as by default) goes to a file, as it
        // would to journald or a file in production: a reader in this
        // process would take CPU from the load generator on shared cores.
        DataDir::new(data)
            .create()
            .map_err(|e| format!("cannot create {data:?}: {e}"))?;
        let log_file = std::fs::File::create(data.join("serve.log"))
            .map_err(|e| format!("cannot create serve.log: {e}"))?;
        let mut command = Command::new(bin);
        command
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0", "--log", log])
            .args(extra)
            .stderr(log_file);
        let process = Listening::start(command, "tessera serve", || read_log(data))?;
        Ok(Server {
            addr: process.addr,
            _process: process,
            data: data.to_owned(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_owned()
    }
}

/// The last 64 KiB of the log of the gateway on `data`.
fn read_log(data: &Path) -> String {
    let text = std::fs::read_to_string(data.join("serve.log")).unwrap_or_default();
    let start = text.len().saturating_sub(64 * 1024);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[start..].to_owned()
}
