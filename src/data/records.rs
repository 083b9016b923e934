//! Streams the top-level records of a benchmark file without loading it whole: pretty-printed
//! JSON objects one after another (the official format), a JSON array of objects, or JSONL,
//! detected from the first byte. Each record's bytes are handed out with the line and column
//! where it starts, so a parse error can name its place in the file.
//!
//! Recovery, so one bad instance does not lose the others:
//! - a raw newline inside a string means the string was never closed: the record is dropped and
//!   reading resumes at the next line that opens an object at the record's own column;
//! - an object opening at the start of a line, at the column where the current record opened,
//!   means the current record was never closed: it is reported and the new one begins there;
//! - bytes between records that are not whitespace or separators are reported, and reading
//!   resumes at the next line that opens an object;
//! - a record larger than the size limit is skipped (counted, not buffered).

use std::io::{self, BufRead};

/// Default upper bound on one instance's size; a bigger one is reported and skipped so that a
/// corrupt or adversarial file cannot exhaust memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How the file lays its records out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Objects one after another (pretty-printed or one per line: JSONL is the special case).
    ObjectStream,
    /// One JSON array whose elements are the records.
    Array,
}

/// Where something is in a file: 1-based line and byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Position {
    /// Maps a (line, column) reported by serde_json inside a record to the file.
    pub fn offset_by(self, inner_line: usize, inner_column: usize) -> Position {
        if inner_line <= 1 {
            Position { line: self.line, column: self.column + inner_column.saturating_sub(1) as u64 }
        } else {
            Position { line: self.line + inner_line as u64 - 1, column: inner_column as u64 }
        }
    }
}

/// One record's bytes and where it started.
#[derive(Debug)]
pub struct Record {
    pub start: Position,
    pub bytes: Vec<u8>,
}

/// Why a stretch of the file yielded no record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{at}: read failed: {source}")]
    Io { at: Position, source: io::Error },
    #[error("{at}: {message}")]
    Syntax { at: Position, message: String },
    #[error("{at}: instance is larger than the {limit_mib} MiB limit (--max-instance-mib); skipped")]
    TooLarge { at: Position, limit_mib: usize },
}

impl RecordError {
    pub fn position(&self) -> Position {
        match self {
            RecordError::Io { at, .. } | RecordError::Syntax { at, .. } | RecordError::TooLarge { at, .. } => *at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Before the first significant byte.
    Start,
    /// Between records.
    Between,
    /// Inside a record.
    InRecord,
    /// After a broken record, skipping to the next line that opens an object at `column`.
    Resync { column: u64 },
    /// After the closing `]` of an array, or at the end of input.
    Done,
}

/// The byte-level state machine; kept apart from the reader so a buffered chunk can be
/// scanned in place.
struct Scanner {
    layout: Option<Layout>,
    state: State,
    pos: Position,
    /// Only whitespace seen so far on the current line.
    at_line_start: bool,
    max_bytes: usize,
    // Current record.
    start: Position,
    started_line: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
    string_start: Position,
    buf: Vec<u8>,
    too_large: bool,
}

impl Scanner {
    fn new(max_bytes: usize) -> Self {
        Scanner {
            layout: None,
            state: State::Start,
            pos: Position { line: 1, column: 1 },
            at_line_start: true,
            max_bytes,
            start: Position::default(),
            started_line: false,
            depth: 0,
            in_string: false,
            escaped: false,
            string_start: Position::default(),
            buf: Vec::new(),
            too_large: false,
        }
    }

    fn record_depth(&self) -> u32 {
        match self.layout {
            Some(Layout::Array) => 1,
            _ => 0,
        }
    }

    fn begin_record(&mut self) {
        self.state = State::InRecord;
        self.start = self.pos;
        self.started_line = self.at_line_start;
        self.depth = self.record_depth() + 1;
        self.in_string = false;
        self.escaped = false;
        self.buf.clear();
        self.too_large = false;
        self.push(b'{');
    }

    fn push(&mut self, b: u8) {
        if self.too_large {
            return;
        }
        if self.buf.len() >= self.max_bytes {
            self.too_large = true;
            self.buf = Vec::new();
        } else {
            self.buf.push(b);
        }
    }

    fn finish_record(&mut self) -> Result<Record, RecordError> {
        self.state = State::Between;
        if self.too_large {
            self.too_large = false;
            return Err(RecordError::TooLarge { at: self.start, limit_mib: self.max_bytes >> 20 });
        }
        Ok(Record { start: self.start, bytes: std::mem::take(&mut self.buf) })
    }

    fn syntax(&self, at: Position, message: impl Into<String>) -> RecordError {
        RecordError::Syntax { at, message: message.into() }
    }

    /// Consumes one byte; returns a finished record or error when one is complete.
    fn step(&mut self, b: u8) -> Option<Result<Record, RecordError>> {
        let line_start = self.at_line_start;
        let out = self.step_at(b, line_start);
        if b == b'\n' {
            self.pos.line += 1;
            self.pos.column = 1;
            self.at_line_start = true;
        } else {
            self.pos.column += 1;
            if !b.is_ascii_whitespace() {
                self.at_line_start = false;
            }
        }
        out
    }

    fn step_at(&mut self, b: u8, line_start: bool) -> Option<Result<Record, RecordError>> {
        match self.state {
            State::Done => {
                if b.is_ascii_whitespace() {
                    None
                } else {
                    self.state = State::Resync { column: 0 };
                    Some(Err(self.syntax(self.pos, format!("unexpected `{}` after the end of the array", b as char))))
                }
            }
            State::Start => match b {
                // Whitespace, or a UTF-8 byte order mark.
                _ if b.is_ascii_whitespace() || UTF8_BOM.contains(&b) => None,
                b'[' => {
                    self.layout = Some(Layout::Array);
                    self.state = State::Between;
                    None
                }
                b'{' => {
                    self.layout = Some(Layout::ObjectStream);
                    self.begin_record();
                    None
                }
                _ => {
                    self.layout = Some(Layout::ObjectStream);
                    self.state = State::Resync { column: 0 };
                    Some(Err(self.syntax(self.pos, format!("expected `{{` or `[` to start the file, found `{}`", b as char))))
                }
            },
            State::Between => match b {
                b'{' => {
                    self.begin_record();
                    None
                }
                b',' if self.layout == Some(Layout::Array) => None,
                b']' if self.layout == Some(Layout::Array) => {
                    self.state = State::Done;
                    None
                }
                _ if b.is_ascii_whitespace() => None,
                _ => {
                    self.state = State::Resync { column: 0 };
                    Some(Err(self.syntax(self.pos, format!("expected `{{` to start an instance, found `{}`", b as char))))
                }
            },
            State::Resync { column } => {
                // Only an object that opens a line can be trusted as the next record: a `{` in
                // the middle of a bad line is part of the damage.
                if b == b'{' && line_start && (column == 0 || self.pos.column == column) {
                    self.begin_record();
                }
                None
            }
            State::InRecord => self.step_in_record(b, line_start),
        }
    }

    fn step_in_record(&mut self, b: u8, line_start: bool) -> Option<Result<Record, RecordError>> {
        if self.in_string {
            if b == b'\n' {
                let at = self.string_start;
                self.state = State::Resync { column: if self.started_line { self.start.column } else { 0 } };
                self.buf.clear();
                return Some(Err(self.syntax(at, "string is never closed (a raw line break inside a string); instance skipped")));
            }
            self.push(b);
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return None;
        }
        match b {
            b'"' => {
                self.in_string = true;
                self.string_start = self.pos;
                self.push(b);
            }
            b'{' if line_start && self.started_line && self.pos.column == self.start.column => {
                // A sibling opens where this record opened: this one was never closed.
                let err = self.syntax(self.start, format!("instance is never closed (the next one opens at line {}); instance skipped", self.pos.line));
                self.begin_record();
                return Some(Err(err));
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.push(b);
            }
            b'}' | b']' => {
                self.push(b);
                self.depth -= 1;
                if self.depth == self.record_depth() {
                    return Some(self.finish_record());
                }
            }
            _ => self.push(b),
        }
        None
    }

    fn at_eof(&mut self) -> Option<Result<Record, RecordError>> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match state {
            State::InRecord => Some(Err(self.syntax(self.start, "file ends inside this instance (truncated?); instance skipped"))),
            State::Between if self.layout == Some(Layout::Array) => {
                Some(Err(self.syntax(self.pos, "file ends before the closing `]` of the array (truncated?)")))
            }
            _ => None,
        }
    }
}

/// Yields each record of a benchmark file, or the reason a stretch of it yielded none.
pub struct RecordReader<R> {
    inner: R,
    scanner: Scanner,
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, DEFAULT_MAX_RECORD_BYTES)
    }

    pub fn with_limit(inner: R, max_bytes: usize) -> Self {
        RecordReader { inner, scanner: Scanner::new(max_bytes) }
    }

    /// The layout, once the first significant byte has been read.
    pub fn layout(&self) -> Option<Layout> {
        self.scanner.layout
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.scanner.state = State::Done;
                    return Some(Err(RecordError::Io { at: self.scanner.pos, source: e }));
                }
            };
            if chunk.is_empty() {
                return self.scanner.at_eof();
            }
            let mut used = chunk.len();
            let mut result = None;
            for (i, &b) in chunk.iter().enumerate() {
                if let Some(r) = self.scanner.step(b) {
                    used = i + 1;
                    result = Some(r);
                    break;
                }
            }
            self.inner.consume(used);
            if result.is_some() {
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<(Position, String), String>> {
        RecordReader::new(text.as_bytes())
            .map(|r| r.map(|r| (r.start, String::from_utf8(r.bytes).unwrap())).map_err(|e| e.to_string()))
            .collect()
    }

    fn ok_texts(text: &str) -> Vec<String> {
        read(text).into_iter().filter_map(Result::ok).map(|(_, s)| s).collect()
    }

    #[test]
    fn reads_the_three_layouts() {
        let pretty = "{\n  \"id\": \"1\",\n  \"x\": {\"a\": [1, {\"b\": 2}]}\n}\n{\n  \"id\": \"2\"\n}\n";
        assert_eq!(ok_texts(pretty).len(), 2);
        let array = "[\n  {\"id\": \"1\"},\n  {\"id\": \"2\", \"s\": \"}{][\\\"\"}\n]\n";
        let recs = ok_texts(array);
        assert_eq!(recs, ["{\"id\": \"1\"}", "{\"id\": \"2\", \"s\": \"}{][\\\"\"}"]);
        let jsonl = "{\"id\": 1}\n{\"id\": 2}\n\n{\"id\": 3}\n";
        assert_eq!(ok_texts(jsonl).len(), 3);
        let bom = "\u{feff}{\"id\": 1}";
        assert_eq!(ok_texts(bom).len(), 1);
    }

    #[test]
    fn positions_are_where_records_open() {
        let text = "{\"id\": 1}\n  {\"id\": 2}";
        let r = read(text);
        assert_eq!(r[0].as_ref().unwrap().0, Position { line: 1, column: 1 });
        assert_eq!(r[1].as_ref().unwrap().0, Position { line: 2, column: 3 });
    }

    #[test]
    fn recovers_from_an_unclosed_string() {
        let text = "{\n  \"id\": \"1\n}\n{\n  \"id\": \"2\"\n}\n";
        let r = read(text);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].as_ref().unwrap_err().starts_with("2:9: string is never closed"), "{r:?}");
        assert!(r[1].as_ref().unwrap().1.contains("\"2\""));
    }

    #[test]
    fn recovers_from_an_unclosed_object() {
        let text = "{\n  \"id\": \"1\",\n  \"o\": {\n}\n{\n  \"id\": \"2\"\n}\n";
        let r = read(text);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].as_ref().unwrap_err().contains("never closed (the next one opens at line 5)"), "{r:?}");
        assert!(r[1].as_ref().unwrap().1.contains("\"2\""));
    }

    #[test]
    fn reports_stray_text_and_truncation() {
        let r = read("{\"id\": 1}\ngarbage\n{\"id\": 2}\n{\"id\": 3");
        assert!(r[0].is_ok() && r[2].is_ok(), "{r:?}");
        assert!(r[1].as_ref().unwrap_err().starts_with("2:1: expected `{`"), "{r:?}");
        assert!(r[3].as_ref().unwrap_err().starts_with("4:1: file ends inside"), "{r:?}");
        let r = read("[{\"id\": 1},");
        assert!(r[1].as_ref().unwrap_err().contains("closing `]`"), "{r:?}");
    }

    #[test]
    fn skips_oversized_records_without_buffering_them() {
        let big = format!("{{\"id\": \"{}\"}}\n{{\"id\": 2}}", "x".repeat(5000));
        let r: Vec<_> = RecordReader::with_limit(big.as_bytes(), 1000).collect();
        assert!(matches!(r[0], Err(RecordError::TooLarge { .. })));
        assert!(r[1].is_ok());
    }

    #[test]
    fn maps_inner_positions() {
        let p = Position { line: 10, column: 5 };
        assert_eq!(p.offset_by(1, 3), Position { line: 10, column: 7 });
        assert_eq!(p.offset_by(3, 4), Position { line: 12, column: 4 });
    }
}
