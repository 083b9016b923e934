//! `omniscore quality`: scores files on their own (batch quality assessment). Files are scored by
//! a pool of workers; rows come out in input order, each written (and flushed) as soon as every
//! row before it is, so an interrupted run keeps all it finished and resumes from its output.

use super::discover::Found;
use super::registry;
use super::{QualityScore, Scorer, ScorerContext};
use crate::data::Modality;
use crate::progress::{Progress, ProgressMode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// One file scored by one scorer: the `--format json` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub path: String,
    /// None for an argument that named no file.
    pub modality: Option<Modality>,
    /// None when no scorer ran (unknown extension, nothing found).
    pub scorer: Option<String>,
    pub score: Option<f64>,
    pub raw: Option<f64>,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub details: BTreeMap<String, f64>,
}

impl Row {
    fn unscored(path: String, modality: Option<Modality>, scorer: Option<String>, reason: String) -> Row {
        Row { path, modality, scorer, score: None, raw: None, reason: Some(reason), details: BTreeMap::new() }
    }

    /// The key a resumed run skips on.
    pub fn key(&self) -> (String, Option<String>) {
        (self.path.clone(), self.scorer.clone())
    }
}

pub struct BatchRequest {
    pub found: Vec<Found>,
    /// Scorer names; empty: the default scorers of each file's modality.
    pub scorers: Vec<String>,
    pub ctx: ScorerContext,
    /// Files scored at once.
    pub jobs: usize,
    pub progress: ProgressMode,
    /// (path, scorer) pairs already in the output, not scored again.
    pub done: HashSet<(String, Option<String>)>,
}

#[derive(Debug, Default)]
pub struct BatchSummary {
    pub rows: usize,
    pub unscored: usize,
    pub skipped_done: usize,
    /// Files no requested scorer handles.
    pub not_handled: usize,
}

/// A unit of work: one file and one scorer.
pub struct Job {
    pub path: PathBuf,
    pub modality: Modality,
    pub scorer: String,
}

/// A path or argument known not to be scorable before any scoring: why, for its row.
pub struct Unscorable {
    pub path: String,
    pub modality: Option<Modality>,
    pub reason: String,
}

/// The plan for a set of found files: jobs in input order, interleaved with what cannot be
/// scored; `not_handled` counts files no requested scorer handles (not an error: `--scorer
/// niqe` over a folder of images and audio).
pub struct Plan {
    pub items: Vec<Result<Job, Unscorable>>,
    pub not_handled: usize,
}

/// Builds each scorer once; a scorer that cannot be built gives its reason on every row.
fn build_scorers(names: &HashSet<String>, ctx: &ScorerContext) -> HashMap<String, Result<Arc<dyn Scorer>, String>> {
    names
        .iter()
        .map(|n| (n.clone(), registry::build(n, ctx).map(Arc::from).map_err(|e| e.to_string())))
        .collect()
}

fn score_one(job: &Job, scorer: &Result<Arc<dyn Scorer>, String>) -> Row {
    let path = job.path.display().to_string();
    let result = match scorer {
        Ok(s) => s.score_path(&job.path).map_err(|e| e.to_string()),
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(QualityScore { score, raw, reason, details }) => {
            Row { path, modality: Some(job.modality), scorer: Some(job.scorer.clone()), score, raw, reason, details }
        }
        Err(reason) => Row::unscored(path, Some(job.modality), Some(job.scorer.clone()), reason),
    }
}

/// The `--scorer` names looked up in the registry, with their modalities.
fn requested(names: &[String]) -> Result<Vec<(String, Modality)>, super::QualityError> {
    names.iter().map(|n| registry::find(n).map(|i| (i.name.to_string(), i.modality))).collect()
}

/// The scorers a file of `modality` gets: the requested ones of its modality, or its modality's
/// default set when none were requested.
fn scorers_for(requested: &[(String, Modality)], modality: Modality) -> Vec<String> {
    if requested.is_empty() {
        registry::defaults(modality).into_iter().map(|i| i.name.to_string()).collect()
    } else {
        requested.iter().filter(|(_, m)| *m == modality).map(|(n, _)| n.clone()).collect()
    }
}

/// Plans every (file, scorer) for `found` with the `--scorer` names (empty: defaults).
pub fn plan_jobs(found: &[Found], scorers: &[String]) -> Result<Plan, super::QualityError> {
    let requested = requested(scorers)?;
    let mut plan = Plan { items: Vec::new(), not_handled: 0 };
    let unscorable = |path: String, modality, reason| Err(Unscorable { path, modality, reason });
    for f in found {
        match f {
            Found::Nothing { arg, why } => plan.items.push(unscorable(arg.clone(), None, why.clone())),
            Found::Unknown { path } => plan.items.push(unscorable(
                path.display().to_string(),
                None,
                "unknown file extension: name the modality with --modality".into(),
            )),
            Found::File { path, modality } => {
                let names = scorers_for(&requested, *modality);
                if names.is_empty() {
                    if requested.is_empty() {
                        let why = format!("no quality scorer for {modality} is registered");
                        plan.items.push(unscorable(path.display().to_string(), Some(*modality), why));
                    } else {
                        plan.not_handled += 1;
                    }
                }
                plan.items.extend(
                    names.into_iter().map(|scorer| Ok(Job { path: path.clone(), modality: *modality, scorer })),
                );
            }
        }
    }
    Ok(plan)
}

/// Plans the rows: each entry is either a job or a row known without scoring.
fn plan(req: &BatchRequest, summary: &mut BatchSummary) -> Result<Vec<Result<Job, Row>>, super::QualityError> {
    let plan = plan_jobs(&req.found, &req.scorers)?;
    summary.not_handled = plan.not_handled;
    let mut planned = Vec::new();
    for item in plan.items {
        match item {
            Err(u) => planned.push(Err(Row::unscored(u.path, u.modality, None, u.reason))),
            Ok(job) => {
                let key = (job.path.display().to_string(), Some(job.scorer.clone()));
                if req.done.contains(&key) {
                    summary.skipped_done += 1;
                } else {
                    planned.push(Ok(job));
                }
            }
        }
    }
    Ok(planned)
}

/// Scores everything, handing rows to `emit` in plan order.
pub fn run(req: &BatchRequest, mut emit: impl FnMut(&Row) -> std::io::Result<()>) -> Result<BatchSummary, BatchError> {
    let mut summary = BatchSummary::default();
    let planned = plan(req, &mut summary)?;
    let names: HashSet<String> = planned.iter().filter_map(|p| p.as_ref().ok().map(|j| j.scorer.clone())).collect();
    let scorers = build_scorers(&names, &req.ctx);
    let mut bar = Progress::new(req.progress, "quality", planned.len() as u64);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Row)>();
    let workers = req.jobs.max(1).min(planned.len().max(1));
    std::thread::scope(|scope| -> Result<(), BatchError> {
        for _ in 0..workers {
            let tx = tx.clone();
            let (planned, scorers, next) = (&planned, &scorers, &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = planned.get(i) else { break };
                let row = match item {
                    Ok(job) => score_one(job, &scorers[&job.scorer]),
                    Err(row) => row.clone(),
                };
                if tx.send((i, row)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Rows arrive in any order; write them in plan order.
        let mut waiting: BTreeMap<usize, Row> = BTreeMap::new();
        let mut written = 0;
        for (i, row) in rx {
            waiting.insert(i, row);
            while let Some(row) = waiting.remove(&written) {
                emit(&row).map_err(BatchError::Write)?;
                summary.rows += 1;
                if row.score.is_none() {
                    summary.unscored += 1;
                }
                written += 1;
                bar.inc();
            }
        }
        Ok(())
    })?;
    bar.finish();
    Ok(summary)
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Quality(#[from] super::QualityError),
    #[error("writing the output: {0}")]
    Write(std::io::Error),
}
