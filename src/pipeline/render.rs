//! Rendering a run's reports from its manifest and stored units alone: each score's source is
//! resolved here (import first, then the local judge, then the embedder), with a reason for
//! every score that has none.

use super::{local::ModelsUsed, CaseKeys, Manifest, Outcome, PipelineError, SHOWN_PROBLEMS};
use crate::data::Tag;
use crate::metrics::compose::{compose, imported_gq, InstanceScores, Scored, Units, NOT_IN_GQ_IMPORT, NO_GQ_SOURCE};
use crate::report::{self, Report};
use crate::store::{Store, UnitKey};
use crate::units::{stage, CaptionUnit, EmbeddingUnit, Evidence, GqImport, IcsImport, JudgementUnit, QualityUnit, ScImport, StructureUnit};
use std::collections::BTreeMap;
use std::path::Path;

fn load<T: serde::de::DeserializeOwned>(store: &Store, c: &CaseKeys, item: impl ToString, stage: &str, fp: &str) -> Result<T, PipelineError> {
    Ok(store.get_required(&UnitKey::new(&c.id, item, stage, fp.to_string()))?)
}

fn load_opt<T: serde::de::DeserializeOwned>(store: &Store, c: &CaseKeys, stage: &str, fp: &Option<String>) -> Result<Option<T>, PipelineError> {
    fp.as_ref().map(|fp| load(store, c, "", stage, fp)).transpose()
}

fn judged(store: &Store, c: &CaseKeys, stage: &str) -> Result<Option<JudgementUnit>, PipelineError> {
    c.judged.iter().find(|(s, _)| s == stage).map(|(s, fp)| load(store, c, "", s, fp)).transpose()
}

fn from_judgement(j: Option<JudgementUnit>, why_none: &str) -> Scored {
    match j {
        Some(JudgementUnit { value: Some(v), .. }) => Scored::known(v),
        Some(JudgementUnit { reason, .. }) => Scored::unknown(format!("judge gave no verdict: {}", reason.unwrap_or_default())),
        None => Scored::unknown(why_none),
    }
}

const NO_SC_SOURCE: &str = "no SC source: no judge ran and no --import-sc file was given";
const NO_ICS_SOURCE: &str = "no HC/SH source: no judge ran and no --import-ics file was given";

fn instance_scores(store: &Store, m: &Manifest, c: &CaseKeys, structure: &StructureUnit) -> Result<InstanceScores, PipelineError> {
    let sc_import: Option<ScImport> = load_opt(store, c, stage::IMPORT_SC, &c.sc)?;
    let ics_import: Option<IcsImport> = load_opt(store, c, stage::IMPORT_ICS, &c.ics)?;
    let embedded: Option<EmbeddingUnit> = load_opt(store, c, stage::EMBED_SC, &c.embedded)?;
    let (judge_sc, judge_hc, judge_sh) = (judged(store, c, stage::JUDGE_SC)?, judged(store, c, stage::JUDGE_HC)?, judged(store, c, stage::JUDGE_SH)?);
    // GQ per item: an imported file when one was given, else the local scorers.
    let mut gq = BTreeMap::new();
    let mut quality = BTreeMap::new();
    let item_of = |tag: &Tag| structure.items.iter().find(|i| i.tag == *tag);
    for (tag, fp) in &c.gq {
        let imported = load::<GqImport>(store, c, tag, stage::IMPORT_GQ, fp)?;
        if let Some(item) = item_of(tag) {
            gq.insert(*tag, imported_gq(item, &imported));
        }
    }
    if m.imports.gq.is_none() {
        for (tag, fp) in &c.quality {
            let unit = load::<QualityUnit>(store, c, tag, stage::QUALITY, fp)?;
            gq.insert(*tag, Scored::from_option(unit.value, unit.reason.as_deref().unwrap_or("no scorer gave a score")));
            quality.insert(*tag, unit.results);
        }
    }
    let gq_missing = if m.imports.gq.is_some() {
        NOT_IN_GQ_IMPORT
    } else if !m.quality.is_empty() {
        "no default quality scorer for this modality"
    } else {
        NO_GQ_SOURCE
    };
    let used = m.local.clone().unwrap_or_default();

    let mut evidence = Evidence { sc_embed: embedded.as_ref().map(|e| e.value), ..Default::default() };
    for (name, j) in [("correctness", &judge_sc), ("coherence", &judge_hc), ("style", &judge_sh)] {
        if let Some(d) = j.as_ref().and_then(|j| j.distribution.clone()) {
            evidence.ratings.insert(name.to_string(), d);
        }
    }
    let sc = if m.imports.sc.is_some() {
        evidence.sc_source = sc_import.is_some().then(|| "import".into());
        sc_import.map(|s| Scored::known(s.value)).unwrap_or_else(|| Scored::unknown("id not found in the imported SC file"))
    } else if used.sc_from_judge() {
        evidence.sc_source = Some("judge".into());
        from_judgement(judge_sc, NO_SC_SOURCE)
    } else if used.sc_from_embedder() {
        evidence.sc_source = Some("embed".into());
        embedded.map(|e| Scored::known(e.value)).unwrap_or_else(|| Scored::unknown(NO_SC_SOURCE))
    } else {
        Scored::unknown(NO_SC_SOURCE)
    };
    let (hc, sh) = if m.imports.ics.is_some() {
        match ics_import {
            Some(i) => (Scored::known(i.hc), Scored::known(i.sh)),
            None => {
                let why = "id not found in the imported coherence file";
                (Scored::unknown(why), Scored::unknown(why))
            }
        }
    } else if used.judge.is_some() {
        (from_judgement(judge_hc, NO_ICS_SOURCE), from_judgement(judge_sh, NO_ICS_SOURCE))
    } else {
        (Scored::unknown(NO_ICS_SOURCE), Scored::unknown(NO_ICS_SOURCE))
    };
    let mut captions = BTreeMap::new();
    for (tag, fp) in &c.captioned {
        captions.insert(*tag, load::<CaptionUnit>(store, c, tag, stage::CAPTION, fp)?);
    }
    let units = Units { structure, sc, hc, sh, gq: &gq, gq_missing, quality: &quality, captions: &captions, evidence };
    Ok(compose(units, &m.composition))
}

pub(super) fn render(store: &Store, m: &Manifest, out: &Path) -> Result<Outcome, PipelineError> {
    let mut scores: Vec<InstanceScores> = Vec::with_capacity(m.cases.len());
    let mut instance_problems = Vec::new();
    for c in &m.cases {
        let structure: StructureUnit = load(store, c, "", stage::STRUCTURE, &c.structure)?;
        scores.push(instance_scores(store, m, c, &structure)?);
        instance_problems.extend(structure.problems);
    }
    let mut all_problems = m.problems.clone();
    all_problems.extend(instance_problems);
    let models = m.local.clone().unwrap_or_default();
    let report = Report::new(&m.inputs, &m.imports, m.sc_scale_used, &m.composition, models_used(&models), scores, all_problems);
    let reports = report::write_all(out, &report)?;
    Ok(Outcome {
        instances: report.instances.len(),
        problems: report.problems.len(),
        first_problems: report.problems.iter().take(SHOWN_PROBLEMS).cloned().collect(),
        units_written: 0,
        reports,
    })
}

fn models_used(m: &ModelsUsed) -> Option<ModelsUsed> {
    (m.judge.is_some() || m.embedder.is_some()).then(|| m.clone())
}
