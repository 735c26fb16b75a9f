//! The access log's line, written straight into the log writer's buffer
//! when the logs are plain text without colour (the default on a pipe or a
//! file): byte for byte what `tracing_subscriber`'s plain format writes for
//! the envelope's `tracing::info!` event, without building the event and
//! formatting it through `dyn` visitors. JSON logs, colour and a filter
//! that turns the envelope's target off go through tracing as before.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::log_time::CachedUtcTime;
use super::log_writer::NonBlocking;

/// The envelope's log target (its module path), as the filter sees it.
pub const TARGET: &str = "tessera::gateway::envelope";

static DIRECT: OnceLock<NonBlocking> = OnceLock::new();

thread_local! {
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Writes access-log lines straight to `writer` from now on (`tessera
/// serve` calls it when its logs are plain text without colour).
pub fn write_directly_to(writer: NonBlocking) {
    let _ = DIRECT.set(writer);
}

/// One request's access-log fields.
pub struct Line<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// The peer's address.
    pub peer: IpAddr,
    /// The method.
    pub method: &'a str,
    /// The path as logged (share-link tokens cut).
    pub path: &'a str,
    /// The answer's status.
    pub status: u16,
    /// The error code ("" when none).
    pub error: &'a str,
    /// How long the request took.
    pub micros: u64,
}

impl Line<'_> {
    /// Writes the line directly when that is on (returns true), else
    /// leaves it to the caller's `tracing::info!`.
    pub fn write_directly(&self) -> bool {
        let Some(writer) = DIRECT.get() else {
            return false;
        };
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            let _ = self.format(&mut line, SystemTime::now());
            writer.append_line(line.as_bytes());
            if line.capacity() > 4096 {
                *line = String::new();
            }
        });
        true
    }

    /// The line as tracing's plain format writes it, put together from its
    /// pieces: through `format_args!` the integers, the address and the
    /// quoting cost a third of the envelope's work on a warm request.
    fn format(&self, out: &mut String, at: SystemTime) -> std::fmt::Result {
        CachedUtcTime::write_at(out, at)?;
        out.push_str("  INFO ");
        out.push_str(TARGET);
        out.push_str(": request request_id=");
        out.push_str(self.request_id);
        out.push_str(" peer=");
        match self.peer {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    push_decimal(out, u64::from(octet));
                }
            }
            IpAddr::V6(v6) => write!(out, "{v6}")?,
        }
        out.push_str(" method=");
        out.push_str(self.method);
        out.push_str(" path=");
        out.push_str(self.path);
        out.push_str(" status=");
        push_decimal(out, u64::from(self.status));
        out.push_str(" error=");
        // Error codes are plain words; anything else is quoted as `{:?}` does.
        if self
            .error
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            out.push('"');
            out.push_str(self.error);
            out.push('"');
        } else {
            write!(out, "{:?}", self.error)?;
        }
        out.push_str(" micros=");
        push_decimal(out, self.micros);
        out.push('\n');
        Ok(())
    }
}

/// `n` in decimal, without the formatting machinery.
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // n % 10 < 10: always one ASCII digit.
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Everything after the timestamp (the one part that differs in time).
    fn after_time(line: &str) -> &str {
        &line[line.find(' ').unwrap()..]
    }

    #[test]
    fn writes_what_tracing_writes_for_the_envelopes_event() {
        let capture = Capture::default();
        let path = "/auth/s/…";
        let cases = [
            ("abc-1", "GET", 200, "", "127.0.0.1", 17u64),
            ("x_2", "POST", 403, "revoked", "10.200.3.0", 0),
            ("y", "PUT", 504, "odd \"code\"", "::1", u64::MAX),
            ("z", "GET", 101, "", "2001:db8::7", 1_000_000),
        ];
        for (id, method, status, error, peer, micros) in cases {
            let peer: IpAddr = peer.parse().unwrap();
            let sink = capture.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .with_timer(CachedUtcTime)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(
                    target: TARGET,
                    request_id = %id,
                    peer = %peer,
                    method = %method,
                    path = %path,
                    status = status,
                    error = error,
                    micros = micros,
                    "request"
                );
            });
            let ours = {
                let mut s = String::new();
                let line = Line {
                    request_id: id,
                    peer,
                    method,
                    path,
                    status,
                    error,
                    micros,
                };
                line.format(&mut s, SystemTime::now()).unwrap();
                s
            };
            let theirs =
                String::from_utf8(std::mem::take(&mut *capture.0.lock().unwrap())).unwrap();
            assert_eq!(after_time(&ours), after_time(&theirs));
            assert_eq!(ours.find(' '), theirs.find(' '), "{ours}{theirs}");
        }
    }
}
