//! The one place where stages are wired: read and join -> structure -> imports -> store ->
//! compose -> report. Every unit goes into the store as it finishes; the report is rendered
//! from the store alone, so `omniscore report` can re-render it without the inputs.

use crate::cases::{join, read_ground_truth, structure_unit, Case, Inputs};
use crate::data::unim::OpenError;
use crate::data::Tag;
use crate::fingerprint::combine;
use crate::import::{read_gq, read_ics, read_sc, GqValue, ImportError, Imported, GQ_SCALE};
use crate::metrics::compose::{compose, Composition, InstanceScores, Units};
use crate::metrics::ics::rating_to_unit;
use crate::problem::{Problem, ProblemKind};
use crate::progress::{Progress, ProgressMode};
use crate::report::{self, Report, ReportError};
use crate::store::{Store, StoreError, UnitKey};
use crate::units::{stage, GqImport, IcsImport, ScImport, ScScale, StructureUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Name of the run record a `report` re-renders.
const LAST_RUN: &str = "last";
const IMPORT_VERSION: &[u8] = b"import/v1";
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
}

/// The store keys of one instance's units.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaseKeys {
    id: String,
    structure: String,
    sc: Option<String>,
    gq: Vec<(Tag, String)>,
    ics: Option<String>,
}

/// What a finished run leaves in the store so its report can be re-rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    inputs: Inputs,
    imports: ImportFiles,
    /// The SC scale actually used (given or decided).
    sc_scale_used: Option<ScScale>,
    composition: Composition,
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
    mut on_unit: impl FnMut(String, StructureUnit) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let gt = read_ground_truth(inputs)?;
    for p in gt.problems.iter().cloned() {
        problems.push(p)?;
    }
    if gt.entries.is_empty() {
        return Err(PipelineError::NoGroundTruth { path: inputs.ground_truth.clone() });
    }
    let media_root = inputs.media_root();
    let mut bar = Progress::new(progress, "structure", gt.entries.len() as u64);
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
            on_unit(fp, unit)?;
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
    structure_pass(inputs, &mut problems, progress, |_, unit| {
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

fn import_fingerprint<T: Serialize>(value: &T) -> String {
    combine(&[IMPORT_VERSION, serde_json::to_string(value).expect("import units serialise").as_bytes()])
}

/// `omniscore score`.
pub fn score(req: &ScoreRequest) -> Result<Outcome, PipelineError> {
    let store = Store::open(&req.out)?;
    let mut problems = Problems { strict: req.strict, list: Vec::new() };
    let mut cases: Vec<CaseKeys> = Vec::new();
    let mut order: Vec<(String, Vec<Tag>)> = Vec::new();
    structure_pass(&req.inputs, &mut problems, req.progress, |fp, unit| {
        let key = UnitKey::new(&unit.id, "", stage::STRUCTURE, fp.clone());
        put_new(&store, &key, &unit)?;
        order.push((unit.id.clone(), unit.items.iter().map(|i| i.tag).collect()));
        cases.push(CaseKeys { id: unit.id.clone(), structure: fp, sc: None, gq: Vec::new(), ics: None });
        Ok(())
    })?;
    let index: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();

    let mut sc_scale_used = None;
    if let Some(path) = &req.imports.sc {
        let (imported, scale) = read_sc(path, req.imports.sc_scale)?;
        sc_scale_used = Some(scale);
        attach(imported, path, "SC", &index, &mut problems, |id, at, v| {
            let unit = ScImport { raw: v.raw, scale: v.scale, value: v.value, file: path.display().to_string() };
            cases[at].sc = Some(put_import(&store, id, "", stage::IMPORT_SC, &unit)?);
            Ok(vec![])
        })?;
    }
    if let Some(path) = &req.imports.gq {
        attach(read_gq(path)?, path, "GQ", &index, &mut problems, |id, at, items| {
            let mut foreign = Vec::new();
            for (tag, value) in items {
                if !order[at].1.contains(&tag) {
                    foreign.push(Problem::new(
                        ProblemKind::ImportRecord,
                        format!("imported GQ names {tag}, which the response does not have; ignored"),
                    ));
                    continue;
                }
                let (raw, invalid) = match value {
                    GqValue::Score(x) => (Some(x), None),
                    GqValue::Null => (None, None),
                    GqValue::Invalid(text) => (None, Some(text)),
                };
                let unit = GqImport { raw, value: raw.map(|v| v / GQ_SCALE), invalid, file: path.display().to_string() };
                cases[at].gq.push((tag, put_import(&store, id, tag, stage::IMPORT_GQ, &unit)?));
            }
            Ok(foreign)
        })?;
    }
    if let Some(path) = &req.imports.ics {
        attach(read_ics(path)?, path, "coherence", &index, &mut problems, |id, at, v| {
            let unit = IcsImport {
                coherence: v.coherence,
                style_consistency: v.style_consistency,
                hc: rating_to_unit(v.coherence),
                sh: rating_to_unit(v.style_consistency),
                file: path.display().to_string(),
            };
            cases[at].ics = Some(put_import(&store, id, "", stage::IMPORT_ICS, &unit)?);
            Ok(vec![])
        })?;
    }

    let manifest = Manifest {
        inputs: req.inputs.clone(),
        imports: req.imports.clone(),
        sc_scale_used,
        composition: req.composition.clone(),
        cases,
        problems: problems.list,
    };
    store.save_run(LAST_RUN, &manifest)?;
    let outcome = render(&store, &manifest, &req.out)?;
    Ok(Outcome { units_written: store.written(), ..outcome })
}

/// Stores an imported unit; returns its fingerprint.
fn put_import<T: Serialize>(store: &Store, id: &str, item: impl ToString, stage: &str, unit: &T) -> Result<String, PipelineError> {
    let fp = import_fingerprint(unit);
    put_new(store, &UnitKey::new(id, item, stage, fp.clone()), unit)?;
    Ok(fp)
}

/// Hands each imported record of an instance in this run to `store_one` (with the instance's
/// position in the run), and reports the file's problems, the problems `store_one` finds, and
/// records for instances not in the run.
fn attach<T>(
    imported: Imported<T>,
    path: &Path,
    what: &str,
    index: &BTreeMap<&str, usize>,
    problems: &mut Problems,
    mut store_one: impl FnMut(&str, usize, T) -> Result<Vec<Problem>, PipelineError>,
) -> Result<(), PipelineError> {
    for p in imported.problems {
        problems.push(p)?;
    }
    for (id, value) in imported.by_id {
        let found = match index.get(id.as_str()) {
            Some(&at) => store_one(&id, at, value)?,
            None => vec![Problem::new(ProblemKind::ImportRecord, format!("{what} record for an instance that is not in this run; ignored"))],
        };
        for p in found {
            problems.push(p.in_file(path).for_id(&id))?;
        }
    }
    Ok(())
}

/// `omniscore report`: re-render the last run in `out`; `adjust` may change its composition
/// settings (eta, support) from the stored ones.
pub fn rerender(out: &Path, adjust: impl FnOnce(&Composition) -> Composition) -> Result<Outcome, PipelineError> {
    let store = Store::open_existing(out)?;
    let mut manifest: Manifest = store.load_run(LAST_RUN)?;
    manifest.composition = adjust(&manifest.composition);
    render(&store, &manifest, out)
}

fn load<T: serde::de::DeserializeOwned>(store: &Store, key: UnitKey) -> Result<T, PipelineError> {
    Ok(store.get_required(&key)?)
}

fn render(store: &Store, m: &Manifest, out: &Path) -> Result<Outcome, PipelineError> {
    let mut scores: Vec<InstanceScores> = Vec::with_capacity(m.cases.len());
    let mut instance_problems = Vec::new();
    for c in &m.cases {
        let structure: StructureUnit = load(store, UnitKey::new(&c.id, "", stage::STRUCTURE, c.structure.clone()))?;
        let sc: Option<ScImport> =
            c.sc.as_ref().map(|fp| load(store, UnitKey::new(&c.id, "", stage::IMPORT_SC, fp.clone()))).transpose()?;
        let ics: Option<IcsImport> =
            c.ics.as_ref().map(|fp| load(store, UnitKey::new(&c.id, "", stage::IMPORT_ICS, fp.clone()))).transpose()?;
        let mut gq = BTreeMap::new();
        for (tag, fp) in &c.gq {
            gq.insert(*tag, load::<GqImport>(store, UnitKey::new(&c.id, tag, stage::IMPORT_GQ, fp.clone()))?);
        }
        let units = Units {
            structure: &structure,
            sc: sc.as_ref(),
            gq: &gq,
            ics: ics.as_ref(),
            sc_source: m.imports.sc.is_some(),
            gq_source: m.imports.gq.is_some(),
            ics_source: m.imports.ics.is_some(),
        };
        scores.push(compose(&units, &m.composition));
        instance_problems.extend(structure.problems);
    }
    let mut all_problems = m.problems.clone();
    all_problems.extend(instance_problems);
    let report = Report::new(&m.inputs, &m.imports, m.sc_scale_used, &m.composition, scores, all_problems);
    let reports = report::write_all(out, &report)?;
    Ok(Outcome {
        instances: report.instances.len(),
        problems: report.problems.len(),
        first_problems: report.problems.iter().take(SHOWN_PROBLEMS).cloned().collect(),
        units_written: 0,
        reports,
    })
}
