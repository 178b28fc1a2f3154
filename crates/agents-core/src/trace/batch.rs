//! [`BatchTraceProcessor`]: export off the hot path, through a bounded queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Span, Trace, TraceProcessor};
use serde::{Deserialize, Serialize};

/// What an exporter receives: a trace as it starts (no `ended_at`) and as
/// it ends (after its spans), or a finished span.
///
/// As JSON: the trace's or span's fields plus `"object": "trace"` or
/// `"object": "span"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "object", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TraceRecord {
    /// A trace started (`ended_at` unset) or ended (after its spans).
    Trace(Trace),
    /// A span ended.
    Span(Span),
}

/// Sends finished traces and spans somewhere (a file, a collector). Runs on
/// the [`BatchTraceProcessor`]'s background thread, never on a run's task.
pub trait TraceExporter: Send + 'static {
    /// Exports one batch, in the order the records ended. An error is
    /// counted ([`BatchStats::failed_batches`]) and the batch dropped.
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String>;

    /// Pushes out anything buffered.
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Releases resources; called once, after the last flush.
    fn shutdown(&mut self) {}
}

/// Settings of a [`BatchTraceProcessor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchConfig {
    /// Records the queue holds; more are dropped (and counted). Default 8192.
    pub max_queue: usize,
    /// Records per export call. Default 512.
    pub max_batch: usize,
    /// A partial batch is exported after this long. Default 1 s.
    pub interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue: 8192,
            max_batch: 512,
            interval: Duration::from_secs(1),
        }
    }
}

impl BatchConfig {
    /// Sets the queue bound (at least 1).
    pub fn max_queue(mut self, n: usize) -> Self {
        self.max_queue = n.max(1);
        self
    }

    /// Sets the batch size (at least 1).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// Sets the export interval of partial batches.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// Counters of a [`BatchTraceProcessor`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchStats {
    /// Records handed to the exporter in batches that succeeded.
    pub exported: u64,
    /// Records dropped because the queue was full (or the processor was
    /// shut down).
    pub dropped: u64,
    /// Export calls that failed (their records are lost).
    pub failed_batches: u64,
}

/// What the run's side and the export thread share.
struct Queue {
    state: Mutex<State>,
    /// Wakes the export thread: a full batch, a flush, or the end.
    wake: Condvar,
}

#[derive(Default)]
struct State {
    records: Vec<TraceRecord>,
    /// Flush requests, each answered once everything queued before it is
    /// exported.
    flushes: Vec<SyncSender<()>>,
    /// No more records are taken; the thread exports what is queued and ends.
    closed: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Counters {
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn note(&self, error: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }
}

/// A [`TraceProcessor`] that queues finished spans and traces and exports
/// them in batches on a background thread.
///
/// The run's side appends the record to a bounded queue under a short lock
/// and wakes the export thread only when a batch is full: a full queue drops
/// the record and counts it ([`BatchStats::dropped`]), so a slow or failing
/// exporter never slows or fails a run. Partial batches go out every
/// [`BatchConfig::interval`]. Export errors and panics are counted; the last
/// one is kept ([`BatchTraceProcessor::last_error`]).
pub struct BatchTraceProcessor {
    queue: Arc<Queue>,
    config: BatchConfig,
    worker: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for BatchTraceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchTraceProcessor")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl BatchTraceProcessor {
    /// A processor exporting through `exporter` with default settings.
    pub fn new(exporter: impl TraceExporter) -> Self {
        Self::with_config(exporter, BatchConfig::default())
    }

    /// A processor exporting through `exporter` with `config`.
    pub fn with_config(exporter: impl TraceExporter, config: BatchConfig) -> Self {
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                records: Vec::with_capacity(config.max_batch.clamp(1, config.max_queue.max(1))),
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        let counters = Arc::new(Counters::default());
        let (worker_queue, worker_counters) = (Arc::clone(&queue), Arc::clone(&counters));
        let worker = std::thread::Builder::new()
            .name("agents-trace-export".into())
            .spawn(move || work(Box::new(exporter), &worker_queue, config, &worker_counters));
        let worker = match worker {
            Ok(w) => Some(w),
            Err(e) => {
                counters.note(format!("cannot start the trace export thread: {e}"));
                queue.lock().closed = true;
                None
            }
        };
        BatchTraceProcessor {
            queue,
            config,
            worker: Mutex::new(worker),
            counters,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> BatchStats {
        BatchStats {
            exported: self.counters.exported.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed_batches: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// The last export error (or exporter panic, or failure to start the
    /// export thread), if any.
    pub fn last_error(&self) -> Option<String> {
        self.counters
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, record: TraceRecord) {
        let mut state = self.queue.lock();
        if state.closed || state.records.len() >= self.config.max_queue {
            drop(state);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.records.push(record);
        let full = state.records.len() == self.config.max_batch;
        drop(state);
        if full {
            self.queue.wake.notify_one();
        }
    }

    fn flush_and_wait(&self, timeout: Duration) {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        {
            let mut state = self.queue.lock();
            if state.closed {
                return;
            }
            state.flushes.push(ack_tx);
        }
        self.queue.wake.notify_one();
        let _ = ack_rx.recv_timeout(timeout);
    }

    /// Stops taking records; the thread exports what is queued and ends.
    fn close(&self) {
        self.queue.lock().closed = true;
        self.queue.wake.notify_one();
    }
}

impl TraceProcessor for BatchTraceProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        self.push(TraceRecord::Trace(trace.clone()));
    }

    fn on_trace_end(&self, trace: &Trace) {
        self.push(TraceRecord::Trace(trace.clone()));
    }

    fn on_trace_end_owned(&self, trace: Trace) {
        self.push(TraceRecord::Trace(trace));
    }

    fn on_span_end(&self, span: &Span) {
        self.push(TraceRecord::Span(span.clone()));
    }

    fn on_span_end_owned(&self, span: Span) {
        self.push(TraceRecord::Span(span));
    }

    /// Exports everything queued so far and waits (at most 30 s).
    fn force_flush(&self) {
        self.flush_and_wait(Duration::from_secs(30));
    }

    /// Flushes, stops the thread and shuts the exporter down. Later records
    /// are dropped.
    fn shutdown(&self) {
        self.flush_and_wait(Duration::from_secs(30));
        self.close();
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = worker {
            let _ = w.join();
        }
    }
}

impl Drop for BatchTraceProcessor {
    fn drop(&mut self) {
        // The worker exports what is queued, then exits on its own.
        self.close();
    }
}

fn work(
    mut exporter: Box<dyn TraceExporter>,
    queue: &Queue,
    config: BatchConfig,
    counters: &Counters,
) {
    let max_batch = config.max_batch.max(1);
    // A zero interval would spin.
    let interval = config.interval.max(Duration::from_millis(1));
    let export = |exporter: &mut Box<dyn TraceExporter>, records: &[TraceRecord]| {
        for batch in records.chunks(max_batch) {
            let n = batch.len() as u64;
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exporter.export(batch)));
            match outcome {
                Ok(Ok(())) => {
                    counters.exported.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    counters.note(format!("exporting {n} records failed: {e}"));
                }
                Err(_) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    counters.note(format!("the exporter panicked exporting {n} records"));
                }
            }
        }
    };
    let mut deadline = Instant::now() + interval;
    // The queue and a spare swap places at each batch, so that the run's
    // side appends into a vector that already has room (no reallocation
    // and copying of records as it grows).
    let mut spare: Vec<TraceRecord> = Vec::with_capacity(max_batch.min(config.max_queue.max(1)));
    loop {
        let mut state = queue.lock();
        while state.records.len() < max_batch && state.flushes.is_empty() && !state.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = queue
                .wake
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let mut records = std::mem::replace(&mut state.records, spare);
        let flushes = std::mem::take(&mut state.flushes);
        let closed = state.closed;
        drop(state);
        export(&mut exporter, &records);
        records.clear();
        spare = records;
        if !flushes.is_empty() || closed {
            if let Err(e) = exporter.flush() {
                counters.note(format!("flushing failed: {e}"));
            }
        }
        for ack in flushes {
            let _ = ack.try_send(());
        }
        if closed {
            break;
        }
        if Instant::now() >= deadline {
            deadline = Instant::now() + interval;
        }
    }
    exporter.shutdown();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{CustomSpanData, SpanData, SpanId};
    use std::time::SystemTime;

    fn span(n: u64) -> Span {
        Span {
            trace_id: Arc::from("trace_0"),
            span_id: SpanId::from_u64(n),
            parent_id: None,
            started_at: SystemTime::UNIX_EPOCH,
            ended_at: Some(SystemTime::UNIX_EPOCH),
            data: SpanData::Custom(CustomSpanData::new(n.to_string(), Default::default())),
            error: None,
        }
    }

    /// Records what it exports; blocks while the gate is closed.
    #[derive(Clone, Default)]
    struct Sink {
        seen: Arc<Mutex<Vec<u64>>>,
        batches: Arc<Mutex<Vec<usize>>>,
        gate: Arc<(Mutex<bool>, Condvar)>,
        fail: bool,
    }

    impl Sink {
        fn open(&self) {
            *self.gate.0.lock().unwrap() = true;
            self.gate.1.notify_all();
        }
    }

    impl TraceExporter for Sink {
        fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
            let mut open = self.gate.0.lock().unwrap();
            while !*open {
                open = self.gate.1.wait(open).unwrap();
            }
            drop(open);
            self.batches.lock().unwrap().push(batch.len());
            for r in batch {
                if let TraceRecord::Span(s) = r {
                    self.seen.lock().unwrap().push(s.span_id.to_u64());
                }
            }
            if self.fail {
                Err("collector down".into())
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_never_blocks_the_run() {
        let sink = Sink::default();
        let p = BatchTraceProcessor::with_config(
            sink.clone(),
            BatchConfig::default()
                .max_queue(4)
                .max_batch(2)
                .interval(Duration::from_secs(60)),
        );
        // The first full batch goes to the exporter, which blocks on the
        // gate: the queue then fills up (4) and the rest are dropped.
        for n in 0..2 {
            p.on_span_end(&span(n));
        }
        let started = Instant::now();
        while sink.batches.lock().unwrap().is_empty() && p.queue.lock().records.len() == 2 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no export started"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        for n in 2..10 {
            p.on_span_end(&span(n));
        }
        assert_eq!(p.stats().dropped, 4, "{:?}", p.stats());
        sink.open();
        p.shutdown();
        let stats = p.stats();
        assert_eq!(stats.exported, 6);
        assert_eq!(stats.dropped, 4);
        assert_eq!(*sink.seen.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
        // Closed: later records are dropped, not queued.
        p.on_span_end(&span(99));
        assert_eq!(p.stats().dropped, 5);
    }

    #[test]
    fn flush_exports_a_partial_batch_in_order_and_in_batches() {
        let sink = Sink::default();
        sink.open();
        let p = BatchTraceProcessor::with_config(
            sink.clone(),
            BatchConfig::default()
                .max_batch(3)
                .interval(Duration::from_secs(60)),
        );
        for n in 0..2 {
            p.on_span_end(&span(n));
        }
        p.force_flush();
        assert_eq!(*sink.seen.lock().unwrap(), [0, 1], "a partial batch");
        for n in 2..9 {
            p.on_span_end(&span(n));
        }
        p.force_flush();
        assert_eq!(*sink.seen.lock().unwrap(), (0..9).collect::<Vec<_>>());
        assert!(sink.batches.lock().unwrap().iter().all(|&b| b <= 3));
        assert_eq!(p.stats().exported, 9);
    }

    #[test]
    fn a_partial_batch_goes_out_after_the_interval() {
        let sink = Sink::default();
        sink.open();
        let p = BatchTraceProcessor::with_config(
            sink.clone(),
            BatchConfig::default().interval(Duration::from_millis(20)),
        );
        p.on_span_end(&span(7));
        let started = Instant::now();
        while sink.seen.lock().unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never exported"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*sink.seen.lock().unwrap(), [7]);
    }

    #[test]
    fn failed_exports_are_counted_with_the_last_error() {
        let sink = Sink {
            fail: true,
            ..Sink::default()
        };
        sink.open();
        let p = BatchTraceProcessor::new(sink);
        p.on_span_end(&span(1));
        p.shutdown();
        assert_eq!(p.stats().failed_batches, 1);
        assert_eq!(p.stats().exported, 0);
        assert!(p.last_error().is_some_and(|e| e.contains("collector down")));
    }
}
