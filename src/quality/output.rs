//! The formats `omniscore quality` writes: an aligned table, JSON lines, CSV; and reading back a
//! JSON-lines or CSV output so a rerun skips what it already holds.

use super::batch::Row;
use std::collections::HashSet;
use std::io::{self, BufRead, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QualityFormat {
    /// Aligned columns for reading.
    Table,
    /// One JSON object per file and scorer: path, modality, scorer, score, raw, reason (details).
    Json,
    Csv,
}

const CSV_HEADER: &str = "path,modality,scorer,score,raw,reason";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// Writes rows in one format; the header (table, CSV) goes first unless the output is resumed.
pub struct RowWriter<W: Write> {
    out: W,
    format: QualityFormat,
}

impl<W: Write> RowWriter<W> {
    pub fn new(mut out: W, format: QualityFormat, header: bool) -> io::Result<RowWriter<W>> {
        if header {
            match format {
                QualityFormat::Table => writeln!(out, "{:>8} {:>10}  {:<16} {:<9} {}", "score", "raw", "scorer", "modality", "path")?,
                QualityFormat::Csv => writeln!(out, "{CSV_HEADER}")?,
                QualityFormat::Json => {}
            }
        }
        Ok(RowWriter { out, format })
    }

    /// Writes and flushes one row: a finished row is on disk before the next file is scored.
    pub fn write(&mut self, row: &Row) -> io::Result<()> {
        let modality = row.modality.map(|m| m.as_str()).unwrap_or("-");
        let scorer = row.scorer.as_deref().unwrap_or("-");
        match self.format {
            QualityFormat::Json => {
                serde_json::to_writer(&mut self.out, row)?;
                writeln!(self.out)?;
            }
            QualityFormat::Csv => writeln!(
                self.out,
                "{},{},{},{},{},{}",
                csv_field(&row.path),
                modality,
                scorer,
                num(row.score),
                num(row.raw),
                csv_field(row.reason.as_deref().unwrap_or(""))
            )?,
            QualityFormat::Table => {
                let score = row.score.map(|s| format!("{s:.4}")).unwrap_or_else(|| "null".into());
                let raw = row.raw.map(|r| format!("{r:.4}")).unwrap_or_default();
                let reason = row.reason.as_deref().map(|r| format!("  ({r})")).unwrap_or_default();
                writeln!(self.out, "{score:>8} {raw:>10}  {scorer:<16} {modality:<9} {}{reason}", row.path)?;
            }
        }
        self.out.flush()
    }
}

/// The (path, scorer) pairs an earlier run already wrote to `path` (JSON lines or CSV), for
/// resuming. Rows without a score are not counted: they are tried again. A torn last line (the
/// run was killed mid-write) is ignored.
pub fn already_done(path: &Path, format: QualityFormat) -> io::Result<HashSet<(String, Option<String>)>> {
    let mut done = HashSet::new();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(e),
    };
    for line in io::BufReader::new(file).lines() {
        let line = line?;
        match format {
            QualityFormat::Json => {
                if let Ok(row) = serde_json::from_str::<Row>(&line) {
                    if row.score.is_some() {
                        done.insert(row.key());
                    }
                }
            }
            QualityFormat::Csv => {
                // Only rows whose path needs no quoting are recognised; others are rescored.
                let cols: Vec<&str> = line.split(',').collect();
                if cols.len() >= 6 && line != CSV_HEADER && !cols[0].starts_with('"') && !cols[3].is_empty() {
                    done.insert((cols[0].to_string(), Some(cols[2].to_string())));
                }
            }
            QualityFormat::Table => {}
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Modality;

    fn row(path: &str, score: Option<f64>) -> Row {
        Row {
            path: path.into(),
            modality: Some(Modality::Image),
            scorer: Some("niqe".into()),
            score,
            raw: score.map(|s| 10.0 * s),
            reason: score.is_none().then(|| "bad, \"very\"".into()),
            details: Default::default(),
        }
    }

    #[test]
    fn json_and_csv_outputs_read_back_for_resume() {
        let dir = tempfile::tempdir().unwrap();
        for format in [QualityFormat::Json, QualityFormat::Csv] {
            let path = dir.path().join(format!("{format:?}"));
            let mut w = RowWriter::new(std::fs::File::create(&path).unwrap(), format, true).unwrap();
            w.write(&row("a.png", Some(0.5))).unwrap();
            w.write(&row("b.png", None)).unwrap();
            drop(w);
            // A torn last line from a killed run.
            std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"path\":\"c.pn").unwrap();
            let done = already_done(&path, format).unwrap();
            assert_eq!(done, HashSet::from([("a.png".to_string(), Some("niqe".to_string()))]), "{format:?}");
        }
    }

    #[test]
    fn json_rows_have_the_documented_keys() {
        let v: serde_json::Value = serde_json::to_value(row("a.png", Some(0.25))).unwrap();
        for key in ["path", "modality", "scorer", "score", "raw", "reason"] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
    }
}
