//! The logs' timestamp, as tracing-subscriber's default timer writes it
//! (`2026-12-02T03:02:46.695348Z`, UTC, microseconds), with the date and
//! time of day formatted once per second per thread: an access-log line
//! per request then only writes the microseconds.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The timer for `tracing_subscriber::fmt().with_timer(..)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CachedUtcTime;

thread_local! {
    /// The second last formatted on this thread and its text up to the seconds.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl CachedUtcTime {
    /// The timestamp of `at`, written to `out`.
    pub(crate) fn write_at(out: &mut impl std::fmt::Write, at: SystemTime) -> std::fmt::Result {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        SECOND.with(|cached| {
            let mut cached = cached.borrow_mut();
            if cached.0 != secs {
                let date: DateTime<Utc> = at.into();
                cached.1.clear();
                let _ = write!(cached.1, "{}", date.format("%Y-%m-%dT%H:%M:%S"));
                cached.0 = secs;
            }
            write!(out, "{}.{:06}Z", cached.1, since.subsec_micros())
        })
    }
}

impl FormatTime for CachedUtcTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        CachedUtcTime::write_at(w, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn text(at: SystemTime) -> String {
        let mut s = String::new();
        CachedUtcTime::write_at(&mut s, at).unwrap();
        s
    }

    #[test]
    fn writes_what_the_default_timer_writes() {
        let at = UNIX_EPOCH + Duration::new(1_796_180_566, 695_348_123);
        assert_eq!(text(at), "2026-12-02T03:02:46.695348Z");
        // The same second again (from the cache), then the next one.
        assert_eq!(
            text(at + Duration::from_micros(10)),
            "2026-12-02T03:02:46.695358Z"
        );
        assert_eq!(
            text(at + Duration::from_secs(1)),
            "2026-12-02T03:02:47.695348Z"
        );
        assert_eq!(text(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
