//! `omniscore bench`: how fast the quality scorers run on the user's own files, measured the
//! way a paper or a hardware comparison needs it: per file and scorer, warm-up runs, then timed
//! runs of the whole scoring (decoding included), reported as median, mean ± σ, min … max and a
//! throughput in the modality's unit (images/s, audio seconds per second, video frames/s,
//! meshes/s), with totals per scorer. Files are timed one at a time so that each time is the
//! file's own; the scorers use every core inside, as in `quality`.

pub mod export;
pub mod judge;
pub mod stats;
pub mod work;

use crate::data::Modality;
use crate::progress::{Progress, ProgressMode};
use crate::quality::discover::Found;
use crate::quality::{batch, registry, Scorer, ScorerContext};
use export::ExportFormat;
use serde::Serialize;
use stats::{human_rate, human_time, Summary};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use work::Work;

pub struct BenchRequest {
    pub found: Vec<Found>,
    /// Scorer names; empty: the default scorers of each file's modality.
    pub scorers: Vec<String>,
    pub ctx: ScorerContext,
    pub runs: usize,
    pub warmup: usize,
    pub progress: ProgressMode,
    pub exports: Vec<(PathBuf, ExportFormat)>,
}

/// One file and scorer.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub path: String,
    pub modality: Option<Modality>,
    pub scorer: Option<String>,
    /// Each timed run, seconds.
    pub runs_s: Vec<f64>,
    /// Over `runs_s`, seconds.
    pub time: Option<Summary>,
    pub work: Option<Work>,
    /// work.amount / median time.
    pub throughput_per_s: Option<f64>,
    /// The score of the last run (the scorers are deterministic).
    pub score: Option<f64>,
    /// Why the file has no times.
    pub error: Option<String>,
}

impl BenchResult {
    fn failed(path: String, modality: Option<Modality>, scorer: Option<String>, error: String) -> BenchResult {
        BenchResult {
            path,
            modality,
            scorer,
            runs_s: Vec::new(),
            time: None,
            work: None,
            throughput_per_s: None,
            score: None,
            error: Some(error),
        }
    }

    /// "290 images/s (76.0 Mpx/s)", or "-".
    pub fn throughput_text(&self) -> String {
        match (&self.work, self.time) {
            (Some(w), Some(t)) if t.median > 0.0 => {
                let mut s = human_rate(w.amount / t.median, w.unit);
                if let Some(mpx) = w.megapixels {
                    s.push_str(&format!(" ({:.1} Mpx/s)", mpx / t.median));
                }
                s
            }
            _ => "-".into(),
        }
    }
}

/// Per scorer and unit: all its files' work over the sum of their median times.
#[derive(Debug, Clone, Serialize)]
pub struct ScorerTotal {
    pub scorer: String,
    pub files: usize,
    pub work: f64,
    pub unit: &'static str,
    pub median_total_s: f64,
    pub throughput_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub omniscore: &'static str,
    pub device: String,
    /// Threads the machine offers (the scorers' parallelism).
    pub cpus: usize,
    pub runs: usize,
    pub warmup: usize,
    pub results: Vec<BenchResult>,
    pub totals: Vec<ScorerTotal>,
}

impl BenchReport {
    fn new(req: &BenchRequest) -> BenchReport {
        BenchReport {
            omniscore: env!("CARGO_PKG_VERSION"),
            device: crate::runtime::device::describe(&req.ctx.device),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            runs: req.runs,
            warmup: req.warmup,
            results: Vec::new(),
            totals: Vec::new(),
        }
    }

    fn update_totals(&mut self) {
        let mut totals: Vec<ScorerTotal> = Vec::new();
        for r in &self.results {
            let (Some(scorer), Some(w), Some(t)) = (&r.scorer, &r.work, r.time) else { continue };
            match totals.iter_mut().find(|x| &x.scorer == scorer && x.unit == w.unit) {
                Some(x) => {
                    x.files += 1;
                    x.work += w.amount;
                    x.median_total_s += t.median;
                }
                None => totals.push(ScorerTotal {
                    scorer: scorer.clone(),
                    files: 1,
                    work: w.amount,
                    unit: w.unit,
                    median_total_s: t.median,
                    throughput_per_s: 0.0,
                }),
            }
        }
        for x in &mut totals {
            x.throughput_per_s = if x.median_total_s > 0.0 { x.work / x.median_total_s } else { 0.0 };
        }
        self.totals = totals;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Quality(#[from] crate::quality::QualityError),
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error("writing the results: {0}")]
    Write(std::io::Error),
    #[error("--runs must be at least 1")]
    NoRuns,
}

/// Warm-up then timed runs of one file and scorer.
fn time_one(
    scorer: &dyn Scorer,
    path: &std::path::Path,
    modality: Modality,
    req: &BenchRequest,
    bar: &mut Progress,
) -> BenchResult {
    let shown = path.display().to_string();
    let fail = |e: String| BenchResult::failed(shown.clone(), Some(modality), Some(scorer.name().into()), e);
    for _ in 0..req.warmup {
        if let Err(e) = scorer.score_path(path) {
            return fail(e.to_string());
        }
    }
    let mut runs_s = Vec::with_capacity(req.runs);
    let mut last = None;
    for _ in 0..req.runs {
        let start = Instant::now();
        let result = scorer.score_path(path);
        runs_s.push(start.elapsed().as_secs_f64());
        bar.inc();
        match result {
            Ok(score) => last = Some(score),
            Err(e) => return fail(e.to_string()),
        }
    }
    let score = last.expect("runs >= 1");
    let time = Summary::of(&runs_s);
    let work = work::of(modality, path, &score);
    let throughput_per_s = time.filter(|t| t.median > 0.0).map(|t| work.amount / t.median);
    BenchResult {
        path: shown,
        modality: Some(modality),
        scorer: Some(scorer.name().into()),
        runs_s,
        time,
        work: Some(work),
        throughput_per_s,
        score: score.score,
        error: score.score.is_none().then(|| score.reason.unwrap_or_else(|| "no score".into())),
    }
}

/// A result as the terminal shows it.
fn print_result(out: &mut impl Write, r: &BenchResult) -> std::io::Result<()> {
    let scorer = r.scorer.as_deref().unwrap_or("-");
    writeln!(out, "{scorer}  {}", r.path)?;
    if let Some(t) = r.time {
        writeln!(
            out,
            "  time (median):  {}   mean {} ± {}   [{} … {}, {} runs]",
            human_time(t.median),
            human_time(t.mean),
            human_time(t.stddev),
            human_time(t.min),
            human_time(t.max),
            r.runs_s.len()
        )?;
        writeln!(out, "  throughput:     {}", r.throughput_text())?;
    }
    if let Some(e) = &r.error {
        writeln!(out, "  error: {e}")?;
    }
    Ok(())
}

fn print_totals(out: &mut impl Write, totals: &[ScorerTotal]) -> std::io::Result<()> {
    if totals.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{:<16} {:>6} {:>18} {:>12}  {}", "scorer", "files", "work", "time", "throughput")?;
    for t in totals {
        writeln!(
            out,
            "{:<16} {:>6} {:>18} {:>12}  {}",
            t.scorer,
            t.files,
            stats::human_amount(t.work, t.unit),
            human_time(t.median_total_s),
            human_rate(t.throughput_per_s, t.unit)
        )?;
    }
    Ok(())
}

/// Times every planned file and scorer, printing each result to `out` as it finishes and
/// rewriting the export files after each.
pub fn run(req: &BenchRequest, out: &mut impl Write) -> Result<BenchReport, BenchError> {
    if req.runs == 0 {
        return Err(BenchError::NoRuns);
    }
    let planned = batch::plan_jobs(&req.found, &req.scorers)?.items;
    let timed = planned.iter().filter(|p| p.is_ok()).count();
    let mut bar = Progress::new(req.progress, "bench", (timed * req.runs) as u64);
    let mut built: HashMap<String, Result<Arc<dyn Scorer>, String>> = HashMap::new();
    let mut report = BenchReport::new(req);
    // An export path that cannot be written fails now, not after the first measurement.
    for (path, format) in &req.exports {
        export::write(path, *format, &report)?;
    }
    for item in planned {
        let result = match item {
            Err(u) => BenchResult::failed(u.path, u.modality, None, u.reason),
            Ok(batch::Job { path, modality, scorer: name }) => {
                let scorer = built
                    .entry(name.clone())
                    .or_insert_with(|| registry::build(&name, &req.ctx).map(Arc::from).map_err(|e| e.to_string()));
                match scorer {
                    Ok(s) => time_one(s.as_ref(), &path, modality, req, &mut bar),
                    Err(e) => {
                        for _ in 0..req.runs {
                            bar.inc();
                        }
                        BenchResult::failed(path.display().to_string(), Some(modality), Some(name), e.clone())
                    }
                }
            }
        };
        bar.suspend(|| print_result(out, &result).and_then(|_| out.flush())).map_err(BenchError::Write)?;
        report.results.push(result);
        report.update_totals();
        for (path, format) in &req.exports {
            export::write(path, *format, &report)?;
        }
    }
    bar.finish();
    print_totals(out, &report.totals).map_err(BenchError::Write)?;
    Ok(report)
}
