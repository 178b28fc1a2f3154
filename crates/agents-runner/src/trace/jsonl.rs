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
    /// Creates (or truncates) the file at `path`, and its directory when
    /// missing. An error names the path.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = with_dir(path, || File::create(path))?;
        Ok(JsonlExporter {
            out: BufWriter::new(file),
        })
    }

    /// Appends to the file at `path` (created, with its directory, when
    /// missing). An error names the path.
    pub fn append(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = with_dir(path, || {
            OpenOptions::new().create(true).append(true).open(path)
        })?;
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

/// Creates the parent directory of `path` when missing, then opens it with
/// `open`; an error says which path it was about.
fn with_dir(path: &Path, open: impl FnOnce() -> io::Result<File>) -> io::Result<File> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(named)?;
    }
    open().map_err(named)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_created_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/traces.jsonl");
        JsonlExporter::append(&path).unwrap();
        assert!(path.is_file());
        JsonlExporter::create(dir.path().join("c/traces.jsonl")).unwrap();
        // A directory cannot be made below a regular file.
        let blocked = path.join("x.jsonl");
        let e = JsonlExporter::append(&blocked).unwrap_err();
        assert!(e.to_string().contains(&*blocked.to_string_lossy()), "{e}");
        let e = JsonlExporter::create(&blocked).unwrap_err();
        assert!(e.to_string().contains(&*blocked.to_string_lossy()), "{e}");
    }
}
