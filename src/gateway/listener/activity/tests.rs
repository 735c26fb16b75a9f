use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn limits(header_read: u64, idle: u64) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(header_read),
        idle_timeout: Duration::from_secs(idle),
        max_connections: 1,
        read_buffer: 64 * 1024,
    }
}

fn seen(moved: u64, ended: u64, handling: usize) -> Seen {
    Seen {
        moved,
        ended,
        handling,
    }
}

/// Looks at the counts at each step (seconds after the start) and checks
/// what the watcher says: `None`, no timeout yet.
fn looks(header_read: u64, idle: u64, steps: &[(u64, Seen, Option<ConnectionTimeout>)]) {
    let t0 = Instant::now();
    let mut watch = Watch::new(&limits(header_read, idle), t0, Seen::default());
    for &(at, counts, expected) in steps {
        let said = watch.look(t0 + SECOND * u32::try_from(at).unwrap(), counts);
        assert_eq!(said.ok(), expected, "at {at} s, {counts:?}");
    }
}

#[test]
fn a_head_that_never_completes_times_out_though_bytes_keep_moving() {
    // A byte every second (a slow client): never idle, but the head is late.
    let mut steps: Vec<_> = (1..10).map(|s| (s, seen(s, 0, 0), None)).collect();
    steps.push((10, seen(10, 0, 0), Some(ConnectionTimeout::HeaderRead)));
    looks(10, 3, &steps);
}

#[test]
fn idle_means_no_byte_and_no_request_for_the_whole_limit() {
    looks(
        30,
        3,
        &[
            // A request being handled, however long, is never idle.
            (5, seen(1, 0, 1), None),
            (25, seen(1, 0, 1), None),
            // It ended: the idle clock starts when the watcher sees that.
            (26, seen(2, 1, 0), None),
            (28, seen(2, 1, 0), None),
            // A byte moving restarts it.
            (28, seen(3, 1, 0), None),
            (30, seen(3, 1, 0), None),
            (31, seen(3, 1, 0), Some(ConnectionTimeout::Idle)),
        ],
    );
}

#[test]
fn the_watcher_asks_to_look_again_when_a_timeout_could_first_pass() {
    let t0 = Instant::now();
    let mut watch = Watch::new(&limits(30, 3), t0, Seen::default());
    let ended = t0 + SECOND * 26;
    assert_eq!(watch.look(ended, seen(2, 1, 0)), Err(ended + SECOND * 3));
    assert_eq!(watch.look(ended, seen(2, 1, 1)), Err(ended + SECOND * 3));
}

#[test]
fn a_kept_alive_connection_waits_for_its_next_head_at_most_the_header_limit() {
    // One request, handled and ended; then nothing more arrives.
    looks(
        2,
        60,
        &[
            (1, seen(4, 1, 0), None),
            (2, seen(4, 1, 0), None),
            (3, seen(4, 1, 0), Some(ConnectionTimeout::HeaderRead)),
        ],
    );
}

#[test]
fn of_two_passed_timeouts_the_earlier_is_named() {
    // Looked at late (a busy machine): both passed.
    let late = |which| [(9, Seen::default(), Some(which))];
    looks(5, 2, &late(ConnectionTimeout::Idle));
    looks(2, 5, &late(ConnectionTimeout::HeaderRead));
}

#[tokio::test(start_paused = true)]
async fn the_watcher_counts_what_the_request_path_noted() {
    let activity = Arc::<Activity>::default();
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(200),
        ..limits(1, 1)
    };
    let started = Instant::now();
    let handling = activity.handling();
    let watched = activity.clone();
    let watcher = tokio::spawn(async move { (watched.watch(&limits).await, Instant::now()) });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !watcher.is_finished(),
        "timed out while a request was handled"
    );
    drop(handling);
    let ended = Instant::now();
    // Bytes keep it from idling, but not from awaiting the next head.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        activity.touch();
    }
    let (timeout, at) = watcher.await.unwrap();
    assert_eq!(timeout, ConnectionTimeout::HeaderRead);
    let waited = at - ended;
    assert!(waited >= limits.header_read_timeout, "{waited:?}");
    assert!(
        waited <= limits.header_read_timeout + limits.idle_timeout / 8 * 2,
        "{waited:?}"
    );
    assert!(at - started > Duration::from_secs(5));
}
