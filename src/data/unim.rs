//! The UniM instance format: records from [`records`](super::records) -> [`Instance`].

use super::placeholder::reconcile;
use super::records::{Record, RecordError, RecordReader, DEFAULT_MAX_RECORD_BYTES};
use super::{Instance, Side, Tag};
use crate::fingerprint::sha256_hex;
use crate::problem::{Problem, ProblemKind};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Read buffer: large enough that a 1 GB file is a few thousand reads.
const READ_BUFFER_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
}

#[derive(Deserialize)]
struct RawInstance {
    id: Option<Value>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    subdomain: Option<String>,
    #[serde(default)]
    input: Option<RawSide>,
    #[serde(default)]
    output: Option<RawSide>,
    #[serde(default)]
    difficulty_level: Option<Value>,
}

#[derive(Deserialize, Default)]
struct RawSide {
    #[serde(default)]
    modal: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    content: Option<Value>,
}

/// Streams the instances of one UniM file; every record that cannot be read becomes a
/// [`Problem`] naming its file, line and column.
pub struct InstanceReader {
    path: PathBuf,
    records: RecordReader<BufReader<File>>,
}

impl InstanceReader {
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Self::open_with_limit(path, DEFAULT_MAX_RECORD_BYTES)
    }

    pub fn open_with_limit(path: &Path, max_record_bytes: usize) -> Result<Self, OpenError> {
        let file = File::open(path).map_err(|source| OpenError::Open { path: path.to_path_buf(), source })?;
        let reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
        Ok(InstanceReader { path: path.to_path_buf(), records: RecordReader::with_limit(reader, max_record_bytes) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A parsed instance with the problems found in it (unknown keys, placeholder mismatches).
pub type Parsed = (Instance, Vec<Problem>);

impl Iterator for InstanceReader {
    type Item = Result<Parsed, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        Some(match record {
            Ok(record) => parse_record(&record, &self.path),
            Err(e) => Err(record_problem(&e, &self.path)),
        })
    }
}

/// Converts a record-level failure into a located problem.
pub fn record_problem(e: &RecordError, path: &Path) -> Problem {
    let kind = match e {
        RecordError::Io { .. } => ProblemKind::ReadFailed,
        RecordError::Syntax { .. } => ProblemKind::MalformedJson,
        RecordError::TooLarge { .. } => ProblemKind::InstanceTooLarge,
    };
    let message = match e {
        RecordError::Io { source, .. } => format!("read failed: {source}"),
        RecordError::Syntax { message, .. } => message.clone(),
        RecordError::TooLarge { limit_mib, .. } => {
            format!("instance is larger than the {limit_mib} MiB limit (--max-instance-mib); skipped")
        }
    };
    Problem::new(kind, message).in_file(path).at(e.position())
}

/// Parses a record's JSON, reporting serde's error at its place in the file.
pub fn parse_json<T: serde::de::DeserializeOwned>(record: &Record, path: &Path) -> Result<T, Problem> {
    serde_json::from_slice(&record.bytes).map_err(|e| {
        let at = record.start.offset_by(e.line(), e.column());
        Problem::new(ProblemKind::MalformedJson, format!("{e}; instance skipped").replace(&format!(" at line {} column {}", e.line(), e.column()), ""))
            .in_file(path)
            .at(at)
    })
}

/// An id written as a string or a number.
pub fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_record(record: &Record, path: &Path) -> Result<Parsed, Problem> {
    let raw: RawInstance = parse_json(record, path)?;
    let located = |kind, msg: String| Problem::new(kind, msg).in_file(path).at(record.start);
    let id = raw.id.as_ref().and_then(id_string).ok_or_else(|| {
        located(ProblemKind::InvalidInstance, "instance has no `id` (a non-empty string or a number); skipped".into())
    })?;
    let mut problems = Vec::new();
    let difficulty = match raw.difficulty_level.as_ref() {
        None | Some(Value::Null) => None,
        Some(v) => {
            let d = parse_difficulty(v);
            if d.is_none() {
                problems.push(
                    located(ProblemKind::InvalidDifficulty, format!("difficulty_level {v} is not 1-3 or easy/medium/hard; left unset"))
                        .for_id(&id),
                );
            }
            d
        }
    };
    let input = build_side(raw.input.unwrap_or_default(), "input", &id, &mut problems, &located);
    let output = build_side(raw.output.unwrap_or_default(), "output", &id, &mut problems, &located);
    let instance = Instance {
        id,
        domain: raw.domain.unwrap_or_default(),
        subdomain: raw.subdomain.unwrap_or_default(),
        difficulty,
        input,
        output,
        at: record.start,
        fingerprint: sha256_hex(&record.bytes),
    };
    Ok((instance, problems))
}

fn parse_difficulty(v: &Value) -> Option<u8> {
    let d = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "easy" => 1,
            "medium" => 2,
            "hard" => 3,
            other => other.parse().ok()?,
        },
        _ => return None,
    };
    (1..=3).contains(&d).then_some(d as u8)
}

fn build_side(
    raw: RawSide,
    side: &str,
    id: &str,
    problems: &mut Vec<Problem>,
    located: &dyn Fn(ProblemKind, String) -> Problem,
) -> Side {
    let content = match raw.content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => {
            problems.push(located(ProblemKind::InvalidInstance, format!("{side}.content is not a string; read as empty")).for_id(id));
            drop(other);
            String::new()
        }
    };
    let mut modal = BTreeMap::new();
    let mut unknown_keys = Vec::new();
    for (key, value) in raw.modal.unwrap_or_default() {
        let Some(tag) = Tag::parse_key(&key) else {
            problems.push(
                located(ProblemKind::UnknownModality, format!("{side}.modal key `{key}` names no modality (image, audio, video, document, code, threeD, text + a number); ignored"))
                    .for_id(id),
            );
            unknown_keys.push(key);
            continue;
        };
        let value = match value {
            Value::String(s) => Some(s),
            other => {
                problems.push(
                    located(ProblemKind::InvalidInstance, format!("{side}.modal value is {other} (expected a string); no media for this item"))
                        .for_id(id)
                        .for_item(tag),
                );
                None
            }
        };
        modal.insert(tag, value);
    }
    let items = reconcile(&content, modal.keys());
    for text in &items.unknown_placeholders {
        problems.push(
            located(ProblemKind::UnknownPlaceholder, format!("{side}.content has placeholder `{text}` naming no modality; not counted"))
                .for_id(id),
        );
    }
    for tag in items.content_only() {
        problems.push(
            located(ProblemKind::PlaceholderWithoutMedia, format!("{side}.content names <{tag}> but {side}.modal has no `{tag}` entry"))
                .for_id(id)
                .for_item(tag),
        );
    }
    for tag in items.modal_only() {
        problems.push(
            located(ProblemKind::MediaWithoutPlaceholder, format!("{side}.modal has `{tag}` but {side}.content never places <{tag}>"))
                .for_id(id)
                .for_item(tag),
        );
    }
    Side { content, modal, unknown_keys, items }
}
