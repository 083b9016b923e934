//! Bench results to files, one exporter per format behind a trait (as hyperfine's export/):
//! JSON (everything, with each run's time), Markdown (a table for a paper or an issue) and CSV.
//! Each file is rewritten whole, atomically, after every result, so an interrupted bench keeps
//! what it measured.

use super::stats::human_time;
use super::BenchReport;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Markdown,
    Csv,
}

trait Exporter {
    fn render(&self, report: &BenchReport) -> String;
}

struct Json;
struct Markdown;
struct Csv;

impl Exporter for Json {
    fn render(&self, report: &BenchReport) -> String {
        serde_json::to_string_pretty(report).expect("bench results serialise to JSON") + "\n"
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl Exporter for Csv {
    fn render(&self, report: &BenchReport) -> String {
        let mut s = String::from(
            "path,modality,scorer,runs,median_s,mean_s,stddev_s,min_s,max_s,work,unit,throughput_per_s,score,error\n",
        );
        for r in &report.results {
            let t = r.time;
            s.push_str(&csv_row(&[
                r.path.clone(),
                r.modality.map(|m| m.as_str().to_string()).unwrap_or_default(),
                r.scorer.clone().unwrap_or_default(),
                r.runs_s.len().to_string(),
                opt(t.map(|t| t.median)),
                opt(t.map(|t| t.mean)),
                opt(t.map(|t| t.stddev)),
                opt(t.map(|t| t.min)),
                opt(t.map(|t| t.max)),
                opt(r.work.as_ref().map(|w| w.amount)),
                r.work.as_ref().map(|w| w.unit.to_string()).unwrap_or_default(),
                opt(r.throughput_per_s),
                opt(r.score),
                r.error.clone().unwrap_or_default(),
            ]));
        }
        s
    }
}

/// One CSV line, quoting fields that need it (RFC 4180).
fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

/// A Markdown table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

impl Exporter for Markdown {
    fn render(&self, report: &BenchReport) -> String {
        let mut s = format!(
            "omniscore {}, device {}, {} CPU threads; {} timed runs after {} warm-up per file and scorer.\n\n",
            report.omniscore, report.device, report.cpus, report.runs, report.warmup
        );
        s.push_str("| file | scorer | median | mean ± σ | min … max | throughput |\n");
        s.push_str("|:---|:---|---:|---:|---:|---:|\n");
        for r in &report.results {
            let (median, mean, range) = match r.time {
                Some(t) => (
                    human_time(t.median),
                    format!("{} ± {}", human_time(t.mean), human_time(t.stddev)),
                    format!("{} … {}", human_time(t.min), human_time(t.max)),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let throughput = match &r.error {
                Some(e) => format!("error: {}", cell(e)),
                None => r.throughput_text(),
            };
            s.push_str(&format!(
                "| {} | {} | {median} | {mean} | {range} | {throughput} |\n",
                cell(&r.path),
                cell(r.scorer.as_deref().unwrap_or("-"))
            ));
        }
        if !report.totals.is_empty() {
            s.push_str("\n| scorer | files | work | time (sum of medians) | throughput |\n");
            s.push_str("|:---|---:|---:|---:|---:|\n");
            for t in &report.totals {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    cell(&t.scorer),
                    t.files,
                    super::stats::human_amount(t.work, t.unit),
                    human_time(t.median_total_s),
                    super::stats::human_rate(t.throughput_per_s, t.unit)
                ));
            }
        }
        s
    }
}

fn exporter(format: ExportFormat) -> Box<dyn Exporter> {
    match format {
        ExportFormat::Json => Box::new(Json),
        ExportFormat::Markdown => Box::new(Markdown),
        ExportFormat::Csv => Box::new(Csv),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct ExportError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Writes `report` to `path` in `format`, through a temporary file and a rename.
pub fn write(path: &Path, format: ExportFormat, report: &BenchReport) -> Result<(), ExportError> {
    let io = |source| ExportError { path: path.to_path_buf(), source };
    let mut name = path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(exporter(format).render(report).as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_and_quotes_are_quoted() {
        let row = csv_row(&["a,b".into(), "say \"hi\"".into(), "plain".into()]);
        assert_eq!(row, "\"a,b\",\"say \"\"hi\"\"\",plain\n");
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
