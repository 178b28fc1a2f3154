//! A small incremental parser of `text/event-stream` bodies.
//!
//! It follows the WHATWG rules that matter for model APIs' streams: lines end in
//! `\n`, `\r\n` or `\r`; `data:` lines of one event are joined with `\n`; a
//! blank line dispatches the event; lines starting with `:` are comments; an
//! event that is not terminated by a blank line before the end of the body is
//! discarded (so a truncated stream never yields half an event).
//!
//! A line longer than `max_line` bytes or an event whose data is longer than
//! `max_event` bytes is a [`ModelError::ResponseTooLarge`] as soon as the
//! limit is passed: the parser never buffers much more than the limit plus
//! one fed chunk.

use agents_core::ModelError;

use crate::ResponseLimits;

/// One dispatched server-sent event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
}

/// Incremental SSE parser: feed bytes, take events.
///
/// ```
/// use agents_http::{ResponseLimits, SseEvent, SseParser};
///
/// let mut parser = SseParser::new(&ResponseLimits::default());
/// parser.feed(b"event: ping\ndata: {\"type\":");
/// assert_eq!(parser.next_event()?, None); // not complete yet
/// parser.feed(b"\"ping\"}\n\n");
/// let event = parser.next_event()?.expect("one event");
/// assert_eq!(event.event.as_deref(), Some("ping"));
/// assert_eq!(event.data, r#"{"type":"ping"}"#);
/// assert!(!parser.has_partial_event());
/// # Ok::<(), agents_core::ModelError>(())
/// ```
#[derive(Debug)]
pub struct SseParser {
    max_line: usize,
    max_event: usize,
    buf: Vec<u8>,
    /// Start of the unparsed part of `buf`.
    pos: usize,
    /// A `\r` ended the previous line, so a leading `\n` belongs to it.
    skip_lf: bool,
    /// `buf[pos..scanned]` holds no line end: a long line arriving in many
    /// chunks is scanned once, not once per chunk.
    scanned: usize,
    pending: Pending,
}

/// The fields of the event being read.
#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(&ResponseLimits::default())
    }
}

impl SseParser {
    /// A parser enforcing the SSE limits of `limits`.
    pub fn new(limits: &ResponseLimits) -> Self {
        SseParser {
            max_line: limits.max_sse_line_bytes,
            max_event: limits.max_sse_event_bytes,
            buf: Vec::new(),
            pos: 0,
            skip_lf: false,
            scanned: 0,
            pending: Pending::default(),
        }
    }

    /// Appends body bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.scanned = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.scanned = self.scanned.saturating_sub(self.pos);
            self.pos = 0;
        }
        let needed = self.buf.len() + chunk.len();
        if needed > self.buf.capacity() {
            // Double, but never past what an over-long line can fill before
            // it is refused: the buffer stays near the line limit.
            let ceiling = self
                .pos
                .saturating_add(self.max_line)
                .saturating_add(chunk.len());
            let target = self
                .buf
                .capacity()
                .saturating_mul(2)
                .min(ceiling)
                .max(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the fed bytes contain one, or the limit
    /// the stream went over.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, ModelError> {
        loop {
            if self.skip_lf && self.pos < self.buf.len() {
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            let from = self.scanned.max(self.pos);
            let Some(found) = self.buf[from..]
                .iter()
                .position(|b| *b == b'\n' || *b == b'\r')
            else {
                self.scanned = self.buf.len();
                if self.buf.len() - self.pos > self.max_line {
                    return Err(too_large("max_sse_line_bytes", self.max_line));
                }
                return Ok(None);
            };
            let end = from - self.pos + found;
            if end > self.max_line {
                return Err(too_large("max_sse_line_bytes", self.max_line));
            }
            let rest = &self.buf[self.pos..];
            let raw = &rest[..end];
            self.skip_lf = rest[end] == b'\r';
            self.pos += end + 1;
            let line = String::from_utf8_lossy(raw);
            if let Some(event) = self.pending.process_line(&line, self.max_event)? {
                return Ok(Some(event));
            }
        }
    }

    /// Whether bytes of an unfinished event are pending (used to describe
    /// truncated streams).
    pub fn has_partial_event(&self) -> bool {
        self.pending.has_data || self.pending.event.is_some() || self.pos < self.buf.len()
    }
}

fn too_large(limit: &str, max_bytes: usize) -> ModelError {
    ModelError::ResponseTooLarge {
        limit: limit.to_owned(),
        max_bytes,
    }
}

impl Pending {
    fn process_line(
        &mut self,
        line: &str,
        max_event: usize,
    ) -> Result<Option<SseEvent>, ModelError> {
        if line.is_empty() {
            let event = self.event.take();
            if !self.has_data {
                return Ok(None);
            }
            self.has_data = false;
            return Ok(Some(SseEvent {
                event,
                data: std::mem::take(&mut self.data),
            }));
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                let joined = self.data.len() + usize::from(self.has_data) + value.len();
                if joined > max_event {
                    return Err(too_large("max_sse_event_bytes", max_event));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {} // `id`, `retry` and unknown fields are not needed.
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> (Vec<SseEvent>, bool) {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c);
            while let Some(e) = p.next_event().expect("within the limits") {
                out.push(e);
            }
        }
        let partial = p.has_partial_event();
        (out, partial)
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn parses_events_split_anywhere() {
        let body =
            b"event: a\ndata: {\"x\":1}\n\n: comment\ndata: one\ndata:two\n\ndata: [DONE]\n\n";
        let whole = parse_chunks(&[body]);
        assert_eq!(
            whole.0,
            vec![
                ev(Some("a"), "{\"x\":1}"),
                ev(None, "one\ntwo"),
                ev(None, "[DONE]")
            ]
        );
        assert!(!whole.1);
        // Byte by byte gives the same events.
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes).0, whole.0);
    }

    #[test]
    fn handles_crlf_and_cr_line_endings() {
        let (events, _) =
            parse_chunks(&[b"data: a\r\n\r\ndata: b\r", b"\r", b"data: c\r\n", b"\r\n"]);
        assert_eq!(events, vec![ev(None, "a"), ev(None, "b"), ev(None, "c")]);
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        let (events, partial) = parse_chunks(&[b"data: {\"a\":1}\n\ndata: {\"trunc"]);
        assert_eq!(events, vec![ev(None, "{\"a\":1}")]);
        assert!(partial);
        let (events, partial) = parse_chunks(&[b"data: {\"a\":1}\n"]);
        assert!(events.is_empty());
        assert!(partial);
    }

    #[test]
    fn long_lines_and_long_streams_in_small_chunks() {
        let big = "x".repeat(200_000);
        let mut body = Vec::new();
        for i in 0..2_000 {
            body.extend_from_slice(format!("data: {i}\n\n").as_bytes());
        }
        body.extend_from_slice(format!("data: {big}\n\n").as_bytes());
        body.extend_from_slice(b"data: end\n\n");
        let chunks: Vec<&[u8]> = body.chunks(1000).collect();
        let (events, partial) = parse_chunks(&chunks);
        assert!(!partial);
        assert_eq!(events.len(), 2_002);
        assert_eq!(events[1_999].data, "1999");
        assert_eq!(events[2_000].data.len(), 200_000);
        assert_eq!(events[2_001].data, "end");
    }

    #[test]
    fn events_without_data_are_ignored() {
        let (events, partial) = parse_chunks(&[b"event: ping\n\nretry: 10\n\n"]);
        assert!(events.is_empty());
        assert!(!partial);
    }

    fn limits(line: usize, event: usize) -> ResponseLimits {
        ResponseLimits::default()
            .with_max_sse_line_bytes(line)
            .with_max_sse_event_bytes(event)
    }

    /// Feeds `chunks` to a parser with the given limits: the events, then
    /// the error that stopped it, if any.
    fn parse_limited(
        chunks: &[&[u8]],
        limits: &ResponseLimits,
    ) -> (Vec<SseEvent>, Option<ModelError>) {
        let mut p = SseParser::new(limits);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c);
            loop {
                match p.next_event() {
                    Ok(Some(e)) => out.push(e),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
            // What stays buffered is bounded by the limits.
            assert!(p.buf.len() - p.pos <= limits.max_sse_line_bytes);
            assert!(p.pending.data.len() <= limits.max_sse_event_bytes);
        }
        (out, None)
    }

    fn limit_name(error: Option<ModelError>) -> Option<(String, usize)> {
        match error {
            Some(ModelError::ResponseTooLarge { limit, max_bytes }) => Some((limit, max_bytes)),
            other => panic!("not a size error: {other:?}"),
        }
    }

    #[test]
    fn lines_and_events_over_the_limits_are_typed_errors() {
        let l = limits(16, 20);
        // Exactly at the limits is fine.
        let (events, error) = parse_limited(&[b"data: 0123456789\n\n"], &l);
        assert!(error.is_none());
        assert_eq!(events, vec![ev(None, "0123456789")]);
        // A line one byte over, terminated or not.
        for chunks in [
            &[&b"data: 0123456789A\n\n"[..]][..],
            &[&b"data: 01234"[..], b"56789A"][..],
        ] {
            let (events, error) = parse_limited(chunks, &l);
            assert!(events.is_empty());
            assert_eq!(limit_name(error), Some(("max_sse_line_bytes".into(), 16)));
        }
        // An endless line fails once the limit is passed, whatever the chunks.
        let chunk = [b'x'; 7];
        let mut chunks: Vec<&[u8]> = vec![b"data: "];
        chunks.extend(std::iter::repeat_n(&chunk[..], 1000));
        let (_, error) = parse_limited(&chunks, &l);
        assert_eq!(limit_name(error), Some(("max_sse_line_bytes".into(), 16)));
        // Many short data lines: the event limit (lines joined with `\n`).
        let (events, error) = parse_limited(&[b"data: 0123456789\ndata: 0123456789\n\n"], &l);
        assert!(events.is_empty());
        assert_eq!(limit_name(error), Some(("max_sse_event_bytes".into(), 20)));
        let (events, error) = parse_limited(&[b"data:0123456789\ndata: 012345678\n\n"], &l);
        assert!(error.is_none(), "10 + 1 + 9 bytes fit exactly");
        assert_eq!(events, vec![ev(None, "0123456789\n012345678")]);
        // Endless comments and blank lines buffer nothing.
        let comment = b": keep-alive\n\n";
        let chunks: Vec<&[u8]> = std::iter::repeat_n(&comment[..], 10_000).collect();
        let (events, error) = parse_limited(&chunks, &l);
        assert!(events.is_empty() && error.is_none());
    }

    /// A valid stream: `(event name, data lines)` per event, written with one
    /// line ending, with comments between events.
    fn write_stream(events: &[(Option<String>, Vec<String>)], eol: &str) -> Vec<u8> {
        let mut out = String::new();
        for (i, (name, lines)) in events.iter().enumerate() {
            if i % 2 == 1 {
                out.push_str(&format!(": comment {i}{eol}"));
            }
            if let Some(name) = name {
                out.push_str(&format!("event: {name}{eol}"));
            }
            for line in lines {
                out.push_str(&format!("data: {line}{eol}"));
            }
            out.push_str(eol);
        }
        out.into_bytes()
    }

    fn split_at_points<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in cuts {
            chunks.push(&bytes[from..cut]);
            from = cut;
        }
        chunks.push(&bytes[from..]);
        chunks
    }

    proptest::proptest! {
        #[test]
        fn any_split_of_a_valid_stream_gives_the_same_events(
            events in proptest::collection::vec(
                (
                    proptest::option::of("[a-z.]{1,12}"),
                    proptest::collection::vec("[^\r\n]{0,20}", 1..4),
                ),
                0..8,
            ),
            eol in proptest::prop_oneof![
                proptest::strategy::Just("\n"),
                proptest::strategy::Just("\r\n"),
                proptest::strategy::Just("\r"),
            ],
            points in proptest::collection::vec(0usize..10_000, 0..12),
        ) {
            let bytes = write_stream(&events, eol);
            let expected: Vec<SseEvent> = events
                .iter()
                .map(|(name, lines)| SseEvent { event: name.clone(), data: lines.join("\n") })
                .collect();
            let (whole, partial) = parse_chunks(&[&bytes]);
            proptest::prop_assert_eq!(&whole, &expected);
            proptest::prop_assert!(!partial);
            let (split, partial) = parse_chunks(&split_at_points(&bytes, &points));
            proptest::prop_assert_eq!(&split, &expected);
            proptest::prop_assert!(!partial);
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            proptest::prop_assert_eq!(parse_chunks(&bytewise).0, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2_000),
            points in proptest::collection::vec(0usize..2_000, 0..12),
            line in 1usize..64,
            event in 1usize..128,
        ) {
            let chunks = split_at_points(&bytes, &points);
            let (events, error) = parse_limited(&chunks, &limits(line, event));
            for e in &events {
                proptest::prop_assert!(e.data.len() <= event);
            }
            if let Some(error) = error {
                let is_size_error = matches!(error, ModelError::ResponseTooLarge { .. });
                proptest::prop_assert!(is_size_error);
            }
            // With the default limits, splitting changes nothing.
            let whole = parse_chunks(&[&bytes]);
            proptest::prop_assert_eq!(parse_chunks(&chunks), whole);
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let (events, _) = parse_chunks(&[b"data: \xff\xfe\n\n"]);
        assert_eq!(events.len(), 1);
        assert!(events[0].data.contains('\u{fffd}'));
    }
}
