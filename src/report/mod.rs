//! Report files, one exporter per format: `report.json` (everything), `scores.csv` (one row per
//! instance, for other tools) and `summary.md` (paper-style tables). Each file is written to a
//! temporary name and renamed, so an interrupted write never leaves a half report.

mod csv;
mod json;
mod markdown;

use crate::cases::Inputs;
use crate::metrics::aggregate::{summarise, Summary};
use crate::metrics::compose::{Composition, InstanceScores};
use crate::pipeline::ImportFiles;
use crate::problem::{Problem, ProblemKind};
use crate::units::ScScale;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write report {path}: {source}")]
pub struct ReportError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

#[derive(Debug, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub eta_sqcs: f64,
    pub eta_ics: f64,
    pub support: crate::metrics::support::SupportRule,
    pub sc_scale: Option<ScScale>,
    pub scale: &'static str,
}

/// Everything a report shows.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tool: ToolInfo,
    pub inputs: Inputs,
    pub imports: ImportFiles,
    pub settings: Settings,
    /// The local models that produced judgements, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<crate::pipeline::ModelsUsed>,
    pub summary: Summary,
    pub problem_counts: BTreeMap<ProblemKind, usize>,
    pub instances: Vec<InstanceScores>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn new(
        inputs: &Inputs,
        imports: &ImportFiles,
        sc_scale: Option<ScScale>,
        c: &Composition,
        models: Option<crate::pipeline::ModelsUsed>,
        instances: Vec<InstanceScores>,
        problems: Vec<Problem>,
    ) -> Report {
        let mut problem_counts = BTreeMap::new();
        for p in &problems {
            *problem_counts.entry(p.kind).or_insert(0) += 1;
        }
        Report {
            tool: ToolInfo { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
            inputs: inputs.clone(),
            imports: imports.clone(),
            settings: Settings {
                eta_sqcs: c.eta_sqcs,
                eta_ics: c.eta_ics,
                support: c.support.clone(),
                sc_scale,
                scale: "summary 0-100; per-instance scores in [0, 1]",
            },
            models,
            summary: summarise(&instances),
            problem_counts,
            instances,
            problems,
        }
    }
}

/// One output format.
trait Exporter {
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &Report) -> String;
}

pub const REPORT_JSON: &str = "report.json";
pub const SCORES_CSV: &str = "scores.csv";
pub const SUMMARY_MD: &str = "summary.md";

fn exporters() -> [Box<dyn Exporter>; 3] {
    [Box::new(json::JsonExporter), Box::new(csv::CsvExporter), Box::new(markdown::MarkdownExporter)]
}

/// Writes every report file into `dir`; returns their paths.
pub fn write_all(dir: &Path, report: &Report) -> Result<Vec<PathBuf>, ReportError> {
    exporters()
        .iter()
        .map(|e| {
            let path = dir.join(e.file_name());
            let tmp = dir.join(format!(".{}.tmp", e.file_name()));
            let io = |source| ReportError { path: path.clone(), source };
            std::fs::write(&tmp, e.render(report)).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(path)
        })
        .collect()
}

/// A [0, 1] score for a table cell, "" when unknown.
pub(crate) fn cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}
