//! [`BatchTraceProcessor`]: export off the hot path, through a bounded queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
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

enum Msg {
    Record(TraceRecord),
    Flush(SyncSender<()>),
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
/// The run's side is one non-blocking `try_send` per finished span: a full
/// queue drops the record and counts it ([`BatchStats::dropped`]), so a slow
/// or failing exporter never slows or fails a run. Export errors and
/// panics are counted; the last one is kept ([`BatchTraceProcessor::last_error`]).
pub struct BatchTraceProcessor {
    tx: Mutex<Option<SyncSender<Msg>>>,
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
        let (tx, rx) = mpsc::sync_channel(config.max_queue.max(1));
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let worker = std::thread::Builder::new()
            .name("agents-trace-export".into())
            .spawn(move || work(Box::new(exporter), rx, config, &worker_counters));
        let worker = match worker {
            Ok(w) => Some(w),
            Err(e) => {
                counters.note(format!("cannot start the trace export thread: {e}"));
                None
            }
        };
        BatchTraceProcessor {
            tx: Mutex::new(worker.as_ref().map(|_| tx)),
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
        let guard = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = match guard.as_ref() {
            Some(tx) => match tx.try_send(Msg::Record(record)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush_and_wait(&self, timeout: Duration) {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(tx) = tx else { return };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        // Flushing may wait for room in the queue: it is never on a run's path.
        if tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(timeout);
        }
    }
}

impl TraceProcessor for BatchTraceProcessor {
    fn on_trace_start(&self, trace: &Trace) {
        self.push(TraceRecord::Trace(trace.clone()));
    }

    fn on_trace_end(&self, trace: &Trace) {
        self.push(TraceRecord::Trace(trace.clone()));
    }

    fn on_span_end(&self, span: &Span) {
        self.push(TraceRecord::Span(span.clone()));
    }

    /// Exports everything queued so far and waits (at most 30 s).
    fn force_flush(&self) {
        self.flush_and_wait(Duration::from_secs(30));
    }

    /// Flushes, stops the thread and shuts the exporter down. Later records
    /// are dropped.
    fn shutdown(&self) {
        self.flush_and_wait(Duration::from_secs(30));
        // Closing the channel ends the worker after what is queued.
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
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
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

fn work(
    mut exporter: Box<dyn TraceExporter>,
    rx: Receiver<Msg>,
    config: BatchConfig,
    counters: &Counters,
) {
    let mut batch: Vec<TraceRecord> = Vec::with_capacity(config.max_batch.max(1));
    let mut deadline = Instant::now() + config.interval;
    let export = |batch: &mut Vec<TraceRecord>, exporter: &mut Box<dyn TraceExporter>| {
        if batch.is_empty() {
            return;
        }
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
        batch.clear();
    };
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Msg::Record(r)) => {
                batch.push(r);
                if batch.len() >= config.max_batch {
                    export(&mut batch, &mut exporter);
                    deadline = Instant::now() + config.interval;
                }
            }
            Ok(Msg::Flush(ack)) => {
                export(&mut batch, &mut exporter);
                if let Err(e) = exporter.flush() {
                    counters.note(format!("flushing failed: {e}"));
                }
                let _ = ack.try_send(());
                deadline = Instant::now() + config.interval;
            }
            Err(RecvTimeoutError::Timeout) => {
                export(&mut batch, &mut exporter);
                deadline = Instant::now() + config.interval;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    export(&mut batch, &mut exporter);
    let _ = exporter.flush();
    exporter.shutdown();
}
