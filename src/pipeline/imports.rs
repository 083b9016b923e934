//! Attaching the official scripts' output files to a run: each record becomes a stored unit of
//! its instance; records for other instances and unusable values become problems.

use super::{put_new, CaseKeys, ImportFiles, PipelineError, Problems};
use crate::data::Tag;
use crate::fingerprint::combine;
use crate::import::{read_gq, read_ics, read_sc, GqValue, Imported, GQ_SCALE};
use crate::metrics::ics::rating_to_unit;
use crate::problem::{Problem, ProblemKind};
use crate::store::{Store, UnitKey};
use crate::units::{stage, GqImport, IcsImport, ScImport, ScScale};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

const IMPORT_VERSION: &[u8] = b"import/v1";

/// Reads every import file of the request into the store and the cases' keys; returns the SC
/// scale used, if SC was imported.
pub(super) fn attach_all(
    imports: &ImportFiles,
    store: &Store,
    cases: &mut [CaseKeys],
    order: &[(String, Vec<Tag>)],
    problems: &mut Problems,
) -> Result<Option<ScScale>, PipelineError> {
    let index: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();
    let store = &store;
    let mut sc_scale_used = None;
    if let Some(path) = &imports.sc {
        let (imported, scale) = read_sc(path, imports.sc_scale)?;
        sc_scale_used = Some(scale);
        attach(imported, path, "SC", &index, problems, |id, at, v| {
            let unit = ScImport { raw: v.raw, scale: v.scale, value: v.value, file: path.display().to_string() };
            cases[at].sc = Some(put_import(store, id, "", stage::IMPORT_SC, &unit)?);
            Ok(vec![])
        })?;
    }
    if let Some(path) = &imports.gq {
        attach(read_gq(path)?, path, "GQ", &index, problems, |id, at, items| {
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
                cases[at].gq.push((tag, put_import(store, id, tag, stage::IMPORT_GQ, &unit)?));
            }
            Ok(foreign)
        })?;
    }
    if let Some(path) = &imports.ics {
        attach(read_ics(path)?, path, "coherence", &index, problems, |id, at, v| {
            let unit = IcsImport {
                coherence: v.coherence,
                style_consistency: v.style_consistency,
                hc: rating_to_unit(v.coherence),
                sh: rating_to_unit(v.style_consistency),
                file: path.display().to_string(),
            };
            cases[at].ics = Some(put_import(store, id, "", stage::IMPORT_ICS, &unit)?);
            Ok(vec![])
        })?;
    }

    Ok(sc_scale_used)
}

fn import_fingerprint<T: Serialize>(value: &T) -> String {
    combine(&[IMPORT_VERSION, serde_json::to_string(value).expect("import units serialise").as_bytes()])
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

