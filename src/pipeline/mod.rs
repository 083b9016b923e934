//! The one place where stages are wired: read and join -> structure -> imports -> store ->
//! compose -> report. Every unit goes into the store as it finishes; the report is rendered
//! from the store alone, so `omniscore report` can re-render it without the inputs.

mod caption;
mod imports;
mod local;
mod quality;
mod render;

pub use local::{LocalModels, ModelsUsed, ScMode};

use crate::caption::item::ItemCaptioner;
use crate::cases::{join, read_ground_truth, structure_unit, Case, Inputs};
use crate::data::unim::OpenError;
use crate::data::Tag;
use crate::import::ImportError;
use crate::metrics::compose::Composition;
use crate::problem::Problem;
use crate::progress::{Progress, ProgressMode};
use crate::report::ReportError;
use crate::store::{Store, StoreError, UnitKey};
use crate::units::{stage, ScScale, StructureUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Name of the run record a `report` re-renders.
const LAST_RUN: &str = "last";
/// Problems an [`Outcome`] carries for the console; all of them are in report.json.
pub const SHOWN_PROBLEMS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("--strict: stopping at the first problem: {0}")]
    Strict(Box<Problem>),
    #[error("{path}: no instance could be read from the ground truth")]
    NoGroundTruth { path: PathBuf },
    #[error(transparent)]
    Local(#[from] local::LocalError),
}

/// The official-output files to import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportFiles {
    pub sc: Option<PathBuf>,
    pub gq: Option<PathBuf>,
    pub ics: Option<PathBuf>,
    /// None: decided per file.
    pub sc_scale: Option<ScScale>,
}

pub struct ScoreRequest {
    pub inputs: Inputs,
    pub imports: ImportFiles,
    pub composition: Composition,
    pub out: PathBuf,
    pub strict: bool,
    pub progress: ProgressMode,
    /// The local judge and embedder; None: scores come from imports only.
    pub local: Option<LocalModels>,
}

/// The store keys of one instance's units.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CaseKeys {
    id: String,
    structure: String,
    sc: Option<String>,
    gq: Vec<(Tag, String)>,
    ics: Option<String>,
    /// Local judgements: (stage, fingerprint).
    #[serde(default)]
    judged: Vec<(String, String)>,
    #[serde(default)]
    embedded: Option<String>,
    /// Local quality units: (item, fingerprint).
    #[serde(default)]
    quality: Vec<(Tag, String)>,
    /// Caption units: (item, fingerprint).
    #[serde(default)]
    captioned: Vec<(Tag, String)>,
}

/// What a finished run leaves in the store so its report can be re-rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    inputs: Inputs,
    imports: ImportFiles,
    /// The SC scale actually used (given or decided).
    sc_scale_used: Option<ScScale>,
    composition: Composition,
    /// Which local models produced judgements, if any.
    #[serde(default)]
    local: Option<local::ModelsUsed>,
    /// The quality scorers that gave GQ (empty: GQ only from an import, or none).
    #[serde(default)]
    quality: Vec<String>,
    /// The caption rules and models in use (empty: no captions).
    #[serde(default)]
    captioner: Vec<String>,
    cases: Vec<CaseKeys>,
    problems: Vec<Problem>,
}

/// How a run went.
#[derive(Debug)]
pub struct Outcome {
    pub instances: usize,
    pub problems: usize,
    /// The first problems, in report order, for the console.
    pub first_problems: Vec<Problem>,
    pub units_written: u64,
    pub reports: Vec<PathBuf>,
}

/// Collects run-level problems, stopping at the first under `--strict`.
struct Problems {
    strict: bool,
    list: Vec<Problem>,
}

impl Problems {
    fn push(&mut self, p: Problem) -> Result<(), PipelineError> {
        if self.strict {
            return Err(PipelineError::Strict(Box::new(p)));
        }
        self.list.push(p);
        Ok(())
    }
}

/// Reads, joins and computes the structure unit of every instance, handing each to `on_unit`.
/// Shared by `score` (which stores units) and `structure`.
fn structure_pass(
    inputs: &Inputs,
    problems: &mut Problems,
    progress: ProgressMode,
    label: &str,
    mut on_unit: impl FnMut(&Case, String, StructureUnit) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let gt = read_ground_truth(inputs)?;
    for p in gt.problems.iter().cloned() {
        problems.push(p)?;
    }
    if gt.entries.is_empty() {
        return Err(PipelineError::NoGroundTruth { path: inputs.ground_truth.clone() });
    }
    let media_root = inputs.media_root();
    let mut bar = Progress::new(progress, label, gt.entries.len() as u64);
    let strict = problems.strict;
    join::<PipelineError>(
        inputs,
        &gt,
        |p| problems.push(p),
        |case: Case| {
            let (fp, unit) = structure_unit(&case, inputs, &media_root);
            if let Some(p) = unit.problems.first().filter(|_| strict) {
                return Err(PipelineError::Strict(Box::new(p.clone())));
            }
            on_unit(&case, fp, unit)?;
            bar.inc();
            Ok(())
        },
    )?;
    bar.finish();
    Ok(())
}

/// `omniscore structure`: StS and LeS only, nothing stored.
pub fn structure(inputs: &Inputs, strict: bool, progress: ProgressMode) -> Result<(Vec<StructureUnit>, Vec<Problem>), PipelineError> {
    let mut problems = Problems { strict, list: Vec::new() };
    let mut units = Vec::new();
    structure_pass(inputs, &mut problems, progress, "structure", |_, _, unit| {
        units.push(unit);
        Ok(())
    })?;
    Ok((units, problems.list))
}

/// Stores `value` under `key` unless an identical unit is already there.
fn put_new<T: Serialize>(store: &Store, key: &UnitKey, value: &T) -> Result<(), PipelineError> {
    if !store.contains(key)? {
        store.put(key, value)?;
    }
    Ok(())
}

/// `omniscore score`.
pub fn score(req: &ScoreRequest) -> Result<Outcome, PipelineError> {
    let store = Store::open(&req.out)?;
    let engines = match &req.local {
        Some(local) => Some(local::Engines::load(local, req.imports.sc.is_some(), req.imports.ics.is_some(), req.progress)?),
        None => None,
    };
    let quality = match &req.local {
        Some(local) if local.quality && req.imports.gq.is_none() => Some(quality::QualityEngines::load(&local.scorer_context(req.progress)?)),
        _ => None,
    };
    // Captions only matter to a judge that reads the response.
    let captioner = match (&req.local, &engines) {
        (Some(local), Some(e)) if local.caption && e.judges_responses() => {
            Some(ItemCaptioner::load(&local.scorer_context(req.progress)?, local.asr.as_deref(), local.captioner.as_deref()))
        }
        _ => None,
    };
    let mut problems = Problems { strict: req.strict, list: Vec::new() };
    let mut cases: Vec<CaseKeys> = Vec::new();
    let mut order: Vec<(String, Vec<Tag>)> = Vec::new();
    let label = if engines.as_ref().is_some_and(|e| e.runs_anything()) { "judge" } else { "structure" };
    structure_pass(&req.inputs, &mut problems, req.progress, label, |case, fp, unit| {
        let key = UnitKey::new(&unit.id, "", stage::STRUCTURE, fp.clone());
        put_new(&store, &key, &unit)?;
        order.push((unit.id.clone(), unit.items.iter().map(|i| i.tag).collect()));
        let mut keys = CaseKeys { id: unit.id.clone(), structure: fp, ..Default::default() };
        if let Some(quality) = &quality {
            quality.score_case(&store, case, &unit, &mut keys)?;
        }
        let captions = match &captioner {
            Some(c) => caption::caption_case(c, &store, case, &unit, &mut keys)?,
            None => BTreeMap::new(),
        };
        if let Some(engines) = &engines {
            engines.judge_case(&store, case, &captions, &mut keys)?;
        }
        cases.push(keys);
        Ok(())
    })?;

    let sc_scale_used = imports::attach_all(&req.imports, &store, &mut cases, &order, &mut problems)?;

    let manifest = Manifest {
        inputs: req.inputs.clone(),
        imports: req.imports.clone(),
        sc_scale_used,
        composition: req.composition.clone(),
        local: engines.as_ref().map(|e| e.used()),
        quality: quality.as_ref().map(|q| q.names()).unwrap_or_default(),
        captioner: captioner.as_ref().map(|c| c.models()).unwrap_or_default(),
        cases,
        problems: problems.list,
    };
    store.save_run(LAST_RUN, &manifest)?;
    let outcome = render::render(&store, &manifest, &req.out)?;
    Ok(Outcome { units_written: store.written(), ..outcome })
}

/// `omniscore report`: re-render the last run in `out`; `adjust` may change its composition
/// settings (eta, support) from the stored ones.
pub fn rerender(out: &Path, adjust: impl FnOnce(&Composition) -> Composition) -> Result<Outcome, PipelineError> {
    let store = Store::open_existing(out)?;
    let mut manifest: Manifest = store.load_run(LAST_RUN)?;
    manifest.composition = adjust(&manifest.composition);
    render::render(&store, &manifest, out)
}

