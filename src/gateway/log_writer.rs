//! A log writer that never makes a request wait on the log's file or pipe:
//! each thread appends its formatted lines to a buffer of its own (no lock
//! another request thread takes), and one background thread writes the
//! buffers out in batches, a few milliseconds after the first line of a
//! batch. A thread whose buffer is past [`MAX_BUFFERED`] writes it itself,
//! so a stalled output slows the logging threads instead of filling memory.
//! Warnings and errors are written at once, after the thread's own earlier
//! lines (they are rare, and someone may be waiting to read them). Dropping
//! the [`LogGuard`] writes what is left and stops the thread; lines logged
//! after that are written directly.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

/// Bytes one thread may hold before it writes them out itself.
pub const MAX_BUFFERED: usize = 1 << 20;

/// How long the writer waits after the first line of a batch, so that one
/// write carries many lines.
const BATCH_DELAY: Duration = Duration::from_millis(2);

type Buffer = Arc<Mutex<Vec<u8>>>;

struct Shared {
    /// Tells this writer's buffers apart from another writer's in the
    /// thread-local list.
    id: usize,
    buffers: Mutex<Vec<Buffer>>,
    out: Mutex<Box<dyn Write + Send>>,
    /// A line is waiting and the flusher has been woken for it.
    pending: AtomicBool,
    stopped: AtomicBool,
    flusher: OnceLock<Thread>,
}

/// The writer handed to `tracing_subscriber` (`MakeWriter`). Cheap to clone.
#[derive(Clone)]
pub struct NonBlocking {
    shared: Arc<Shared>,
    /// Writes go straight out (a warning or an error).
    direct: bool,
}

/// Keeps the background writer running; dropping it writes what is left.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

thread_local! {
    static LOCAL: RefCell<Vec<(usize, Buffer)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl NonBlocking {
    /// A writer to `out`, and the guard of its background thread.
    pub fn new(out: impl Write + Send + 'static) -> io::Result<(NonBlocking, LogGuard)> {
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, SeqCst),
            buffers: Mutex::new(Vec::new()),
            out: Mutex::new(Box::new(out)),
            pending: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            flusher: OnceLock::new(),
        });
        let worker = shared.clone();
        let thread = thread::Builder::new()
            .name("tessera-log".into())
            .spawn(move || worker.run())?;
        let _ = shared.flusher.set(thread.thread().clone());
        Ok((
            NonBlocking {
                shared: shared.clone(),
                direct: false,
            },
            LogGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// This thread's buffer, registered on first use.
    fn buffer(&self) -> Buffer {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some((_, b)) = local.iter().find(|(id, _)| *id == self.shared.id) {
                return b.clone();
            }
            let b: Buffer = Arc::default();
            lock(&self.shared.buffers).push(b.clone());
            local.push((self.shared.id, b.clone()));
            b
        })
    }

    /// Appends one whole line (the access log's direct path), as a write
    /// through `tracing` would; a failed write of the output is dropped
    /// like tracing drops it.
    pub fn append_line(&self, line: &[u8]) {
        let _ = self.append(line);
    }

    fn append(&self, bytes: &[u8]) -> io::Result<()> {
        if self.direct || self.shared.stopped.load(SeqCst) {
            // This thread's earlier lines first: its lines stay in order.
            let mut out = lock(&self.shared.out);
            let earlier = std::mem::take(&mut *lock(&self.buffer()));
            out.write_all(&earlier)?;
            out.write_all(bytes)?;
            return out.flush();
        }
        let buffer = self.buffer();
        let mut b = lock(&buffer);
        b.extend_from_slice(bytes);
        if b.len() > MAX_BUFFERED {
            let full = std::mem::take(&mut *b);
            drop(b);
            return lock(&self.shared.out).write_all(&full);
        }
        drop(b);
        // Only the first line after a flush wakes the writer.
        if !self.shared.pending.load(SeqCst) && !self.shared.pending.swap(true, SeqCst) {
            if let Some(t) = self.shared.flusher.get() {
                t.unpark();
            }
        }
        Ok(())
    }
}

impl Shared {
    fn run(&self) {
        let mut spare = Vec::new();
        loop {
            thread::park();
            let stopping = self.stopped.load(SeqCst);
            if !stopping {
                thread::sleep(BATCH_DELAY);
            }
            self.pending.store(false, SeqCst);
            self.flush(&mut spare);
            if stopping {
                return;
            }
        }
    }

    /// Writes every thread's buffer; forgets the buffers of threads gone.
    fn flush(&self, spare: &mut Vec<u8>) {
        let buffers: Vec<Buffer> = {
            let mut all = lock(&self.buffers);
            // Ours is the only handle left: its thread has exited.
            all.retain(|b| Arc::strong_count(b) > 1 || !lock(b).is_empty());
            all.clone()
        };
        for buffer in buffers {
            // The output first: a direct write (which takes its thread's
            // buffer under this lock) cannot come between taking the
            // buffer and writing it.
            let mut out = lock(&self.out);
            std::mem::swap(&mut *lock(&buffer), spare);
            if !spare.is_empty() {
                let _ = out.write_all(spare);
                let _ = out.flush();
            }
            drop(out);
            spare.clear();
            if spare.capacity() > MAX_BUFFERED {
                *spare = Vec::new();
            }
        }
    }
}

impl Write for NonBlocking {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.append(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.append(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for NonBlocking {
    type Writer = NonBlocking;
    fn make_writer(&'a self) -> NonBlocking {
        self.clone()
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> NonBlocking {
        NonBlocking {
            shared: self.shared.clone(),
            direct: *meta.level() <= tracing::Level::WARN,
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.stopped.store(true, SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_and_soon() {
        let sink = Sink::default();
        let (writer, guard) = NonBlocking::new(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                thread::spawn(move || {
                    for i in 0..500 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Written within a bounded time, without the guard being dropped.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while lock(&sink.0).iter().filter(|&&b| b == b'\n').count() < 2000 {
            assert!(std::time::Instant::now() < deadline, "lines not written");
            thread::sleep(Duration::from_millis(5));
        }
        drop(guard);
        let text = String::from_utf8(lock(&sink.0).clone()).unwrap();
        for t in 0..4 {
            for i in [0, 499] {
                assert!(text.contains(&format!("thread {t} line {i}\n")));
            }
        }
        assert_eq!(text.lines().count(), 2000);
    }

    #[test]
    fn the_guard_writes_what_is_left_and_later_lines_go_straight_out() {
        let sink = Sink::default();
        let (mut writer, guard) = NonBlocking::new(sink.clone()).unwrap();
        writer.write_all(b"before\n").unwrap();
        drop(guard);
        assert_eq!(lock(&sink.0).as_slice(), b"before\n");
        writer.write_all(b"after\n").unwrap();
        assert_eq!(lock(&sink.0).as_slice(), b"before\nafter\n");
    }

    #[test]
    fn warnings_go_out_at_once_after_the_threads_earlier_lines() {
        let sink = Sink::default();
        let (writer, _guard) = NonBlocking::new(sink.clone()).unwrap();
        let mut info = writer.clone();
        info.write_all(b"info line\n").unwrap();
        let mut warning = NonBlocking {
            direct: true,
            ..writer.clone()
        };
        warning.write_all(b"warning line\n").unwrap();
        assert_eq!(lock(&sink.0).as_slice(), b"info line\nwarning line\n");
    }

    #[test]
    fn a_full_buffer_is_written_by_its_own_thread() {
        let sink = Sink::default();
        let (mut writer, _guard) = NonBlocking::new(sink.clone()).unwrap();
        let burst = vec![b'x'; MAX_BUFFERED + 1];
        writer.write_all(&burst).unwrap();
        assert_eq!(lock(&sink.0).len(), burst.len(), "written before returning");
    }
}
