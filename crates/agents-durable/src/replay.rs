//! Traces of a replayed run: what a new worker sends again, and what not.
//!
//! When Restate hands a run to a worker again (after a crash, or when a
//! suspended invocation resumes after an approval), the worker runs the loop
//! from the start and the journal answers the steps that completed. The loop
//! opens the same spans as the first time, so without care every completed
//! turn would be traced twice.
//!
//! [`ReplayGate`] knows whether the run is replaying: it is when the
//! journal's start marker comes back recorded, and it stops replaying when
//! the first step runs live. [`ReplayFilter`] sits in front of the run's
//! processors: a span that starts and ends while the run replays describes
//! work an earlier attempt did, and is dropped; a span that starts while
//! replaying and ends live (the agent span of the turn that goes on, the
//! generation span of the first live model call) is sent, start and end,
//! when it ends. Trace start and end events sent while replaying are dropped
//! too: the attempt that did that part of the run sent them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use agents_core::trace::{Processors, Span, SpanId, Trace, TraceProcessor};

/// Whether the current attempt of a run is replaying recorded steps.
#[derive(Debug)]
pub(crate) struct ReplayGate {
    replaying: AtomicBool,
}

impl ReplayGate {
    /// A gate for an attempt that starts replaying (or not).
    pub(crate) fn new(replaying: bool) -> Arc<Self> {
        Arc::new(ReplayGate {
            replaying: AtomicBool::new(replaying),
        })
    }

    /// A step ran live: everything from here on is new work.
    pub(crate) fn live(&self) {
        self.replaying.store(false, Ordering::Release);
    }

    /// Whether the attempt is still replaying.
    pub(crate) fn is_replaying(&self) -> bool {
        self.replaying.load(Ordering::Acquire)
    }
}

/// The run's processors, behind the replay rule of the module docs.
pub(crate) struct ReplayFilter {
    inner: Processors,
    gate: Arc<ReplayGate>,
    /// Spans that started while replaying and have not ended.
    held: Mutex<HashMap<SpanId, Span>>,
}

impl ReplayFilter {
    pub(crate) fn new(inner: Processors, gate: Arc<ReplayGate>) -> Self {
        ReplayFilter {
            inner,
            gate,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<SpanId, Span>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the end of span `id` goes on to the inner processors: not
    /// while replaying. A span that started while replaying and ends live
    /// has its start sent first.
    fn admit_end(&self, id: SpanId) -> bool {
        let started = self.held().remove(&id);
        if self.gate.is_replaying() {
            return false;
        }
        if let Some(started) = started {
            self.inner.iter().for_each(|p| p.on_span_start(&started));
        }
        true
    }
}

impl TraceProcessor for ReplayFilter {
    fn on_trace_start(&self, trace: &Trace) {
        if !self.gate.is_replaying() {
            self.inner.iter().for_each(|p| p.on_trace_start(trace));
        }
    }

    fn on_trace_end(&self, trace: &Trace) {
        if !self.gate.is_replaying() {
            self.inner.iter().for_each(|p| p.on_trace_end(trace));
        }
    }

    fn on_trace_end_owned(&self, trace: Trace) {
        if self.gate.is_replaying() {
            return;
        }
        if let Some((last, others)) = self.inner.split_last() {
            others.iter().for_each(|p| p.on_trace_end(&trace));
            last.on_trace_end_owned(trace);
        }
    }

    fn on_span_start(&self, span: &Span) {
        if self.gate.is_replaying() {
            self.held().insert(span.span_id, span.clone());
        } else {
            self.inner.iter().for_each(|p| p.on_span_start(span));
        }
    }

    fn on_span_end(&self, span: &Span) {
        if self.admit_end(span.span_id) {
            self.inner.iter().for_each(|p| p.on_span_end(span));
        }
    }

    fn on_span_end_owned(&self, span: Span) {
        if !self.admit_end(span.span_id) {
            return;
        }
        if let Some((last, others)) = self.inner.split_last() {
            others.iter().for_each(|p| p.on_span_end(&span));
            last.on_span_end_owned(span);
        }
    }

    fn force_flush(&self) {
        self.inner.iter().for_each(|p| p.force_flush());
    }

    fn shutdown(&self) {
        self.inner.iter().for_each(|p| p.shutdown());
    }
}

/// The trace id of run `run_id`: the same on every worker, so the attempts
/// of one run share one trace. `trace_` and 32 hex digits of a SHA-256 of
/// the run id.
pub(crate) fn run_trace_id(run_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(run_id.as_bytes());
    let mut id = String::with_capacity(38);
    id.push_str("trace_");
    for byte in &digest[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_core::trace::{SpanData, TraceBuilder};

    /// Records the events it receives, as `start:<name>` / `end:<name>`.
    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl TraceProcessor for Record {
        fn on_trace_start(&self, _: &Trace) {
            self.0.lock().unwrap().push("trace-start".into());
        }
        fn on_trace_end(&self, _: &Trace) {
            self.0.lock().unwrap().push("trace-end".into());
        }
        fn on_span_start(&self, s: &Span) {
            self.0
                .lock()
                .unwrap()
                .push(format!("start:{}", s.data.name()));
        }
        fn on_span_end(&self, s: &Span) {
            self.0
                .lock()
                .unwrap()
                .push(format!("end:{}", s.data.name()));
        }
    }

    fn custom(name: &str) -> SpanData {
        SpanData::Custom(agents_core::trace::CustomSpanData::new(
            name,
            Default::default(),
        ))
    }

    #[test]
    fn spans_finished_while_replaying_are_dropped_and_the_rest_sent_whole() {
        let record = Arc::new(Record::default());
        let gate = ReplayGate::new(true);
        let filter: Arc<dyn TraceProcessor> = Arc::new(ReplayFilter::new(
            Arc::from(vec![record.clone() as Arc<dyn TraceProcessor>]),
            Arc::clone(&gate),
        ));
        let guard = TraceBuilder::new("w")
            .with_processors(Arc::from(vec![filter]))
            .start();
        let current = guard.current().expect("recording");
        let agent = current.trace.start_span(current.parent, custom("agent"));
        let replayed = agent.child(custom("replayed"));
        replayed.end();
        let live = agent.child(custom("first-live"));
        gate.live();
        live.end();
        let after = agent.child(custom("after"));
        after.end();
        agent.end();
        guard.end();
        let events = record.0.lock().unwrap().clone();
        assert_eq!(
            events,
            [
                "start:first-live",
                "end:first-live",
                "start:after",
                "end:after",
                "start:agent",
                "end:agent",
                "trace-end",
            ]
        );
    }

    #[test]
    fn an_attempt_that_never_replays_sends_everything_in_order() {
        let record = Arc::new(Record::default());
        let filter: Arc<dyn TraceProcessor> = Arc::new(ReplayFilter::new(
            Arc::from(vec![record.clone() as Arc<dyn TraceProcessor>]),
            ReplayGate::new(false),
        ));
        let guard = TraceBuilder::new("w")
            .with_processors(Arc::from(vec![filter]))
            .start();
        let current = guard.current().expect("recording");
        let span = current.trace.start_span(current.parent, custom("a"));
        span.end();
        guard.end();
        let events = record.0.lock().unwrap().clone();
        assert_eq!(events, ["trace-start", "start:a", "end:a", "trace-end"]);
    }

    #[test]
    fn the_trace_id_of_a_run_is_stable_and_well_formed() {
        let id = run_trace_id("order-42");
        assert_eq!(id, run_trace_id("order-42"));
        assert_ne!(id, run_trace_id("order-43"));
        assert_eq!(id.len(), 38);
        assert!(id.starts_with("trace_"));
        assert!(id[6..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
