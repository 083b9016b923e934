//! Reads the official UniM scripts' output files, so runs scored elsewhere can be re-scored
//! here: semantic correctness (`output.score`, 1-5 or 0-1), generation quality (`scores`:
//! tag -> 0-100 or null) and interleaved coherence (`score.coherence`, `score.style_consistency`).

use crate::data::records::{Record, RecordReader};
use crate::data::unim::{id_string, parse_json, record_problem};
use crate::data::Tag;
use crate::metrics::ics::rating_to_unit;
use crate::problem::{Problem, ProblemKind};
use crate::units::ScScale;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

const RATING_RANGE: std::ops::RangeInclusive<f64> = 1.0..=5.0;
const UNIT_RANGE: std::ops::RangeInclusive<f64> = 0.0..=1.0;
const GQ_RANGE: std::ops::RangeInclusive<f64> = 0.0..=100.0;
/// The official GQ scale; divided out to get [0, 1].
pub const GQ_SCALE: f64 = 100.0;

#[derive(Debug, thiserror::Error)]
#[error("cannot open the {what} file {path}: {source}")]
pub struct ImportError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// What one import file gave, by instance id (ordered, so reports do not depend on hashing).
#[derive(Debug, Default)]
pub struct Imported<T> {
    pub by_id: BTreeMap<String, T>,
    pub problems: Vec<Problem>,
}

/// A number written as a number or a numeric string.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn for_each_record(
    path: &Path,
    what: &'static str,
    mut f: impl FnMut(&Record, &mut Vec<Problem>),
) -> Result<Vec<Problem>, ImportError> {
    let file = File::open(path).map_err(|source| ImportError { what, path: path.to_path_buf(), source })?;
    let mut problems = Vec::new();
    for record in RecordReader::new(BufReader::new(file)) {
        match record {
            Ok(r) => f(&r, &mut problems),
            Err(e) => problems.push(record_problem(&e, path)),
        }
    }
    Ok(problems)
}

/// Parses a record and its id; a record without one becomes a problem.
fn with_id<T: serde::de::DeserializeOwned>(r: &Record, path: &Path, id: impl Fn(&T) -> Option<&Value>) -> Result<(String, T), Problem> {
    let parsed: T = parse_json(r, path)?;
    let id = id(&parsed).and_then(id_string).ok_or_else(|| {
        Problem::new(ProblemKind::ImportRecord, "record has no `id`; ignored").in_file(path).at(r.start)
    })?;
    Ok((id, parsed))
}

fn insert_once<T>(out: &mut BTreeMap<String, T>, id: String, value: T, r: &Record, path: &Path, problems: &mut Vec<Problem>) {
    if out.contains_key(&id) {
        problems.push(
            Problem::new(ProblemKind::DuplicateId, "id appears again in this import file; the first record is used")
                .in_file(path)
                .at(r.start)
                .for_id(&id),
        );
    } else {
        out.insert(id, value);
    }
}

#[derive(Deserialize)]
struct ScRecord {
    id: Option<Value>,
    #[serde(default)]
    output: Option<ScOutput>,
    #[serde(default)]
    score: Option<Value>,
}

#[derive(Deserialize)]
struct ScOutput {
    #[serde(default)]
    score: Option<Value>,
}

/// An SC value as written, with the scale it was read in and its value in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct ScValue {
    pub raw: f64,
    pub scale: ScScale,
    pub value: f64,
}

/// Reads SC scores. The scale is `scale` if given, else decided for the whole file: any value
/// above 1 means ratings 1-5, otherwise values in [0, 1].
pub fn read_sc(path: &Path, scale: Option<ScScale>) -> Result<(Imported<ScValue>, ScScale), ImportError> {
    let mut raw: BTreeMap<String, (f64, crate::data::records::Position)> = BTreeMap::new();
    let mut problems = for_each_record(path, "SC", |r, problems| {
        let (id, rec) = match with_id::<ScRecord>(r, path, |x| x.id.as_ref()) {
            Ok(x) => x,
            Err(p) => return problems.push(p),
        };
        let score = rec.output.and_then(|o| o.score).or(rec.score);
        match score.as_ref().and_then(number) {
            Some(v) => insert_once(&mut raw, id, (v, r.start), r, path, problems),
            None => problems.push(
                Problem::new(ProblemKind::ImportRecord, "record has no numeric `output.score`; SC left unknown")
                    .in_file(path)
                    .at(r.start)
                    .for_id(&id),
            ),
        }
    })?;
    let scale = scale.unwrap_or(if raw.values().any(|(v, _)| *v > 1.0) { ScScale::Five } else { ScScale::Unit });
    let mut by_id = BTreeMap::new();
    for (id, (v, at)) in raw {
        let (range, value) = match scale {
            ScScale::Five => (RATING_RANGE, rating_to_unit(v)),
            ScScale::Unit => (UNIT_RANGE, v),
        };
        if range.contains(&v) {
            by_id.insert(id, ScValue { raw: v, scale, value });
        } else {
            problems.push(
                Problem::new(ProblemKind::ImportRecord, format!("score {v} is outside {range:?} for the {scale:?} scale; SC left unknown"))
                    .in_file(path)
                    .at(at)
                    .for_id(&id),
            );
        }
    }
    Ok((Imported { by_id, problems }, scale))
}

#[derive(Deserialize)]
struct GqRecord {
    id: Option<Value>,
    #[serde(default)]
    scores: Option<BTreeMap<String, Value>>,
}

/// One item's imported GQ as written.
#[derive(Debug, Clone, PartialEq)]
pub enum GqValue {
    /// 0-100.
    Score(f64),
    /// The file has null: the official script could not score the item.
    Null,
    /// Something that is not a number in 0-100, as written.
    Invalid(String),
}

/// Reads GQ per item: tag -> the value as written.
pub fn read_gq(path: &Path) -> Result<Imported<BTreeMap<Tag, GqValue>>, ImportError> {
    let mut by_id = BTreeMap::new();
    let problems = for_each_record(path, "GQ", |r, problems| {
        let (id, rec) = match with_id::<GqRecord>(r, path, |x| x.id.as_ref()) {
            Ok(x) => x,
            Err(p) => return problems.push(p),
        };
        let Some(scores) = rec.scores else {
            return problems.push(
                Problem::new(ProblemKind::ImportRecord, "record has no `scores` object; GQ left unknown").in_file(path).at(r.start).for_id(&id),
            );
        };
        let mut items = BTreeMap::new();
        for (key, v) in scores {
            let located = |msg: String| Problem::new(ProblemKind::ImportRecord, msg).in_file(path).at(r.start).for_id(&id);
            let Some(tag) = Tag::parse_key(&key) else {
                problems.push(located(format!("`scores` key `{key}` names no item; ignored")));
                continue;
            };
            let value = match &v {
                Value::Null => GqValue::Null,
                other => match number(other) {
                    Some(x) if GQ_RANGE.contains(&x) => GqValue::Score(x),
                    _ => {
                        problems.push(located(format!("GQ {other} for {tag} is not a number in 0-100; item left unscored")));
                        GqValue::Invalid(other.to_string())
                    }
                },
            };
            items.insert(tag, value);
        }
        insert_once(&mut by_id, id, items, r, path, problems);
    })?;
    Ok(Imported { by_id, problems })
}

#[derive(Deserialize)]
struct IcsRecord {
    id: Option<Value>,
    #[serde(default)]
    score: Option<IcsScore>,
}

#[derive(Deserialize)]
struct IcsScore {
    #[serde(default)]
    coherence: Option<Value>,
    #[serde(default)]
    style_consistency: Option<Value>,
}

/// Coherence and style ratings, 1-5 each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IcsValue {
    pub coherence: f64,
    pub style_consistency: f64,
}

pub fn read_ics(path: &Path) -> Result<Imported<IcsValue>, ImportError> {
    let mut by_id = BTreeMap::new();
    let problems = for_each_record(path, "coherence", |r, problems| {
        let (id, rec) = match with_id::<IcsRecord>(r, path, |x| x.id.as_ref()) {
            Ok(x) => x,
            Err(p) => return problems.push(p),
        };
        let pair = rec.score.and_then(|s| Some((number(s.coherence.as_ref()?)?, number(s.style_consistency.as_ref()?)?)));
        match pair {
            Some((c, s)) if RATING_RANGE.contains(&c) && RATING_RANGE.contains(&s) => {
                insert_once(&mut by_id, id, IcsValue { coherence: c, style_consistency: s }, r, path, problems)
            }
            _ => problems.push(
                Problem::new(ProblemKind::ImportRecord, "record has no `score.coherence` and `score.style_consistency` in 1-5; HC/SH left unknown")
                    .in_file(path)
                    .at(r.start)
                    .for_id(&id),
            ),
        }
    })?;
    Ok(Imported { by_id, problems })
}
