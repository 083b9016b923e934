//! Reads ground truth and responses and joins them by id into per-instance structure units.
//! The ground truth is held compactly in memory; responses are streamed, so a response file of
//! any size is read in bounded memory.

use crate::data::records::{Position, DEFAULT_MAX_RECORD_BYTES};
use crate::data::unim::{InstanceReader, OpenError, Parsed};
use crate::data::{Field, Instance, Modality, Tag};
use crate::fingerprint::combine;
use crate::metrics::structure::{lenient, strict, type_counts};
use crate::problem::{Problem, ProblemKind};
use crate::units::{ItemUnit, MediaStatus, StructureUnit};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Version of the structure computation; part of its fingerprint.
const STRUCTURE_VERSION: &[u8] = b"structure/v2";

/// Where to read, and how.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Inputs {
    pub ground_truth: PathBuf,
    pub responses: PathBuf,
    /// Media paths resolve against this, else the responses file's folder.
    pub media_root: Option<PathBuf>,
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
}

fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

impl Inputs {
    pub fn new(ground_truth: PathBuf, responses: PathBuf) -> Self {
        Inputs { ground_truth, responses, media_root: None, max_record_bytes: DEFAULT_MAX_RECORD_BYTES }
    }

    pub fn media_root(&self) -> PathBuf {
        self.media_root.clone().unwrap_or_else(|| folder_of(&self.responses))
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What the joins need of a ground-truth instance.
#[derive(Debug, Clone)]
pub struct GroundTruth {
    pub id: String,
    pub field: Field,
    pub domain: String,
    pub subdomain: String,
    pub difficulty: Option<u8>,
    pub input_modalities: Vec<Modality>,
    pub items: BTreeSet<Tag>,
    pub fingerprint: String,
    /// Where the instance starts in the ground-truth file.
    pub at: Position,
    /// `input.content`: what the judge is told was asked.
    pub question: String,
    /// `output.content`: what the judge compares the response with.
    pub reference: String,
}

impl GroundTruth {
    fn from_instance(i: &Instance) -> Self {
        let input_modalities: BTreeSet<Modality> =
            i.input.items.items.keys().map(|t| t.modality).filter(|m| *m != Modality::Text).collect();
        GroundTruth {
            id: i.id.clone(),
            field: i.field(),
            domain: i.domain.clone(),
            subdomain: i.subdomain.clone(),
            difficulty: i.difficulty,
            input_modalities: input_modalities.into_iter().collect(),
            items: i.output.items.items.keys().copied().collect(),
            fingerprint: i.fingerprint.clone(),
            at: i.at,
            question: i.input.content.clone(),
            reference: i.output.content.clone(),
        }
    }
}

/// The ground truth in file order, and the problems met reading it.
pub struct GroundTruthSet {
    pub entries: Vec<GroundTruth>,
    pub index: HashMap<String, usize>,
    pub problems: Vec<Problem>,
}

pub fn read_ground_truth(inputs: &Inputs) -> Result<GroundTruthSet, OpenError> {
    let path = &inputs.ground_truth;
    let mut set = GroundTruthSet { entries: Vec::new(), index: HashMap::new(), problems: Vec::new() };
    for parsed in InstanceReader::open_with_limit(path, inputs.max_record_bytes)? {
        match parsed {
            Err(p) => set.problems.push(p),
            Ok((instance, problems)) => {
                set.problems.extend(problems);
                if set.index.contains_key(&instance.id) {
                    set.problems.push(duplicate(path, &instance));
                    continue;
                }
                if instance.field() == Field::Other {
                    set.problems.push(
                        Problem::new(ProblemKind::UnknownField, format!("domain `{}` names none of natural_science, social_science, general_area (general_domain); grouped under Other", instance.domain))
                            .in_file(path)
                            .at(instance.at)
                            .for_id(&instance.id),
                    );
                }
                set.index.insert(instance.id.clone(), set.entries.len());
                set.entries.push(GroundTruth::from_instance(&instance));
            }
        }
    }
    Ok(set)
}

fn duplicate(path: &Path, i: &Instance) -> Problem {
    Problem::new(ProblemKind::DuplicateId, "id appears again in this file; the first one is used, this one skipped")
        .in_file(path)
        .at(i.at)
        .for_id(&i.id)
}

/// A joined case: the ground truth and the response, if any.
pub struct Case<'a> {
    pub ground_truth: &'a GroundTruth,
    pub response: Option<Parsed>,
}

/// Streams the responses, joins each with its ground truth and calls `on_case` once per
/// ground-truth instance (responses first, in response-file order; then each instance that got
/// no response). Problems of the join are given to `on_problem`.
pub fn join<E: From<OpenError>>(
    inputs: &Inputs,
    gt: &GroundTruthSet,
    mut on_problem: impl FnMut(Problem) -> Result<(), E>,
    mut on_case: impl FnMut(Case) -> Result<(), E>,
) -> Result<(), E> {
    let path = &inputs.responses;
    let mut seen = vec![false; gt.entries.len()];
    for parsed in InstanceReader::open_with_limit(path, inputs.max_record_bytes)? {
        let (instance, problems) = match parsed {
            Ok(p) => p,
            Err(p) => {
                on_problem(p)?;
                continue;
            }
        };
        let Some(&at) = gt.index.get(&instance.id) else {
            on_problem(
                Problem::new(ProblemKind::ResponseWithoutGroundTruth, "response has no ground-truth instance with this id; skipped")
                    .in_file(path)
                    .at(instance.at)
                    .for_id(&instance.id),
            )?;
            continue;
        };
        if std::mem::replace(&mut seen[at], true) {
            on_problem(duplicate(path, &instance))?;
            continue;
        }
        on_case(Case { ground_truth: &gt.entries[at], response: Some((instance, problems)) })?;
    }
    for (entry, _) in gt.entries.iter().zip(&seen).filter(|(_, s)| !**s) {
        on_case(Case { ground_truth: entry, response: None })?;
    }
    Ok(())
}

fn media_status(instance: &Instance, tag: Tag, media_root: &Path) -> MediaStatus {
    match instance.output.modal.get(&tag) {
        Some(Some(_)) if tag.modality.is_inline() => MediaStatus::Inline,
        Some(Some(value)) => {
            let path = media_root.join(value.trim());
            let shown = path.display().to_string();
            if path.is_file() {
                MediaStatus::Present { path: shown }
            } else {
                MediaStatus::Missing { path: shown }
            }
        }
        _ => MediaStatus::NoEntry,
    }
}

/// The fingerprint and unit of a case's structure stage. Media existence and the file paths
/// (which the unit's problems name) are part of the fingerprint, so a file that appears or
/// moves is noticed on the next run.
pub fn structure_unit(case: &Case, inputs: &Inputs, media_root: &Path) -> (String, StructureUnit) {
    let gt = case.ground_truth;
    let mut problems = Vec::new();
    let gt_path = inputs.ground_truth.to_string_lossy();
    let resp_path = inputs.responses.to_string_lossy();
    let (fingerprint, responded, empty_response, scores, items) = match &case.response {
        None => {
            problems.push(
                Problem::new(ProblemKind::MissingResponse, "no response for this ground-truth instance")
                    .in_file(&inputs.ground_truth)
                    .at(gt.at)
                    .for_id(&gt.id),
            );
            let fp = combine(&[STRUCTURE_VERSION, gt.fingerprint.as_bytes(), gt_path.as_bytes(), b"no-response"]);
            (fp, false, false, None, Vec::new())
        }
        Some((resp, resp_problems)) => {
            problems.extend(resp_problems.iter().cloned());
            let items: Vec<ItemUnit> = resp
                .output
                .items
                .items
                .iter()
                .map(|(tag, source)| ItemUnit { tag: *tag, modality: tag.modality, source: *source, media: media_status(resp, *tag, media_root) })
                .collect();
            for item in &items {
                if let MediaStatus::Missing { path } = &item.media {
                    problems.push(
                        Problem::new(ProblemKind::MissingMediaFile, format!("media file not found: {path}"))
                            .in_file(&inputs.responses)
                            .at(resp.at)
                            .for_id(&gt.id)
                            .for_item(item.tag),
                    );
                }
            }
            let empty = resp.output.is_empty();
            if empty {
                problems.push(
                    Problem::new(ProblemKind::EmptyResponse, "response output is empty")
                        .in_file(&inputs.responses)
                        .at(resp.at)
                        .for_id(&gt.id),
                );
            }
            let media_bits: String = items.iter().map(|i| if matches!(i.media, MediaStatus::Present { .. }) { '1' } else { '0' }).collect();
            let fp = combine(&[
                STRUCTURE_VERSION,
                gt.fingerprint.as_bytes(),
                resp.fingerprint.as_bytes(),
                gt_path.as_bytes(),
                resp_path.as_bytes(),
                media_root.to_string_lossy().as_bytes(),
                media_bits.as_bytes(),
            ]);
            let g = type_counts(&gt.items);
            let r = type_counts(resp.output.items.items.keys());
            (fp, true, empty, Some((strict(&g, &r), lenient(&g, &r))), items)
        }
    };
    let unit = StructureUnit {
        id: gt.id.clone(),
        field: gt.field,
        domain: gt.domain.clone(),
        subdomain: gt.subdomain.clone(),
        difficulty: gt.difficulty,
        input_modalities: gt.input_modalities.clone(),
        responded,
        empty_response,
        sts: scores.map(|s| s.0),
        les: scores.map(|s| s.1),
        gt_items: gt.items.iter().copied().collect(),
        items,
        problems,
    };
    (fingerprint, unit)
}
