//! [`JsonlExporter`]: traces and spans as JSON lines in a file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use agents_core::trace::{BatchTraceProcessor, TraceExporter, TraceRecord};

/// Writes each finished span and trace as one JSON line (a
/// [`TraceRecord`]: `"object": "span"` or `"trace"`). Times are
/// microseconds since the Unix epoch. Meant for local work: read the file
/// with `jq`, or load it in a notebook.
pub struct JsonlExporter {
    out: BufWriter<File>,
}

impl std::fmt::Debug for JsonlExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlExporter").finish_non_exhaustive()
    }
}

impl JsonlExporter {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(JsonlExporter {
            out: BufWriter::new(File::create(path)?),
        })
    }

    /// Appends to the file at `path` (created when missing).
    pub fn append(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonlExporter {
            out: BufWriter::new(file),
        })
    }

    /// A [`BatchTraceProcessor`] appending to the file at `path`: register
    /// it with `add_trace_processor(Arc::new(..))`.
    pub fn processor(path: impl AsRef<Path>) -> io::Result<BatchTraceProcessor> {
        Ok(BatchTraceProcessor::new(Self::append(path)?))
    }
}

impl TraceExporter for JsonlExporter {
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
        for record in batch {
            serde_json::to_writer(&mut self.out, record).map_err(|e| e.to_string())?;
            self.out.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        // A batch is on disk when exported, so the file can be read while
        // the program runs.
        self.out.flush().map_err(|e| e.to_string())
    }

    fn flush(&mut self) -> Result<(), String> {
        self.out.flush().map_err(|e| e.to_string())
    }
}
