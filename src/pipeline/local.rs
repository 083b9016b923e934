//! The local models of a score run: which are needed (imports take precedence), loading them
//! (pulling a missing default model unless offline), and judging one case with every stored
//! judgement reused.

use super::{put_new, CaseKeys, PipelineError};
use crate::caption::captioned_response;
use crate::cases::Case;
use crate::embed::{EmbedError, Embedder};
use crate::fingerprint::combine;
use crate::judge::llm::{Judge, JudgeError};
use crate::judge::prompts::{Criterion, JudgeInput};
use crate::progress::ProgressMode;
use crate::runtime::card::{default_card, find_card, CardError, Role};
use crate::runtime::device::{open, DeviceError, DeviceSpec};
use crate::runtime::model_store::{ModelError, ModelFiles, ModelStore};
use crate::store::{Store, UnitKey};
use crate::units::{stage, EmbeddingUnit, JudgementUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Version of the embedding SC computation; part of its fingerprint.
const EMBED_VERSION: &[u8] = b"embed-sc/v1";

/// Where SC comes from when no SC file is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScMode {
    /// The local LLM judge.
    #[default]
    Judge,
    /// Embedding similarity (fast estimate).
    Embed,
    /// The judge, with the embedding estimate stored beside it as a sanity signal.
    Both,
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct LocalModels {
    /// Judge card name; None: the default judge card.
    pub judge: Option<String>,
    pub embedder: Option<String>,
    /// No judge at all: SC/HC/SH only from imports (or the embedder in embed mode).
    pub no_judge: bool,
    pub sc_mode: ScMode,
    pub device: DeviceSpec,
    pub models_dir: Option<PathBuf>,
    /// Never download: a missing model is an error.
    pub offline: bool,
    /// Longest judge prompt in tokens; None: the judge's context.
    pub judge_max_tokens: Option<usize>,
    /// Score GQ with the local quality scorers (unless a GQ file is imported).
    pub quality: bool,
    /// Caption media items for the judge.
    pub caption: bool,
    /// ASR card; None: the default.
    pub asr: Option<String>,
    /// Image-captioner card; None: the default.
    pub captioner: Option<String>,
}

impl LocalModels {
    /// What the quality scorers need: the same device, model store and download policy.
    pub fn scorer_context(&self, progress: ProgressMode) -> Result<crate::quality::ScorerContext, LocalError> {
        Ok(crate::quality::ScorerContext {
            device: open(self.device)?,
            store: ModelStore::new(self.models_dir.clone()),
            offline: self.offline,
            progress,
        })
    }
}

/// What a run used, kept in its manifest for the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelsUsed {
    pub judge: Option<String>,
    pub embedder: Option<String>,
    pub sc_mode: ScMode,
    /// SC was imported: the judge rated only HC and SH.
    #[serde(default)]
    pub sc_imported: bool,
    pub device: String,
}

impl ModelsUsed {
    pub fn sc_from_judge(&self) -> bool {
        self.judge.is_some() && self.sc_mode != ScMode::Embed && !self.sc_imported
    }

    pub fn sc_from_embedder(&self) -> bool {
        self.embedder.is_some() && !self.sc_imported
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("judge {card}: {source}")]
    Judge { card: String, source: JudgeError },
    #[error("embedder {card}: {source}")]
    Embed { card: String, source: EmbedError },
}

pub(super) struct Engines {
    judge: Option<Judge>,
    embedder: Option<(String, Embedder)>,
    judge_sc: bool,
    judge_ics: bool,
    used: ModelsUsed,
}

fn locate(store: &ModelStore, name: Option<&str>, role: Role, offline: bool, progress: ProgressMode) -> Result<ModelFiles, LocalError> {
    let card = match name {
        Some(n) => find_card(n)?,
        None => default_card(role)?,
    };
    Ok(if offline { store.locate(&card)? } else { store.locate_or_pull(&card, progress)? })
}

impl Engines {
    /// Loads what the run needs: nothing for what is imported.
    pub(super) fn load(req: &LocalModels, sc_imported: bool, ics_imported: bool, progress: ProgressMode) -> Result<Engines, LocalError> {
        let judge_sc = !req.no_judge && !sc_imported && req.sc_mode != ScMode::Embed;
        let judge_ics = !req.no_judge && !ics_imported;
        let embed = !sc_imported && req.sc_mode != ScMode::Judge;
        let store = ModelStore::new(req.models_dir.clone());
        let device = open(req.device)?;
        let judge = if judge_sc || judge_ics {
            let files = locate(&store, req.judge.as_deref(), Role::Judge, req.offline, progress)?;
            let card = files.card.name.clone();
            let mut judge = Judge::load(&files, &device).map_err(|source| LocalError::Judge { card, source })?;
            if let Some(n) = req.judge_max_tokens {
                judge.limit_prompt_tokens(n);
            }
            Some(judge)
        } else {
            None
        };
        let embedder = if embed {
            let files = locate(&store, req.embedder.as_deref(), Role::Embedder, req.offline, progress)?;
            let card = files.card.name.clone();
            let e = Embedder::load(&files.dir, &device).map_err(|source| LocalError::Embed { card: card.clone(), source })?;
            Some((card, e))
        } else {
            None
        };
        let used = ModelsUsed {
            judge: judge.as_ref().map(|j| j.name().to_string()),
            embedder: embedder.as_ref().map(|(n, _)| n.clone()),
            sc_mode: req.sc_mode,
            sc_imported,
            device: crate::runtime::device::describe(&device),
        };
        Ok(Engines { judge, embedder, judge_sc, judge_ics, used })
    }

    /// Whether a model reads the response text (captions are wasted otherwise).
    pub(super) fn judges_responses(&self) -> bool {
        self.judge.is_some() || self.embedder.is_some()
    }

    pub(super) fn runs_anything(&self) -> bool {
        self.judge.is_some() || self.embedder.is_some()
    }

    pub(super) fn used(&self) -> ModelsUsed {
        self.used.clone()
    }

    /// Judges (and embeds) one case, reusing stored units; records their keys in `keys`.
    pub(super) fn judge_case(
        &self,
        store: &Store,
        case: &Case,
        captions: &BTreeMap<crate::data::Tag, String>,
        keys: &mut CaseKeys,
    ) -> Result<(), PipelineError> {
        let Some((response, _)) = &case.response else { return Ok(()) };
        let gt = case.ground_truth;
        let candidate = captioned_response(response, captions);

        if let Some(judge) = &self.judge {
            let mut criteria = Vec::new();
            if self.judge_sc {
                criteria.push((Criterion::Correctness, stage::JUDGE_SC));
            }
            if self.judge_ics {
                criteria.push((Criterion::Coherence, stage::JUDGE_HC));
                criteria.push((Criterion::Style, stage::JUDGE_SH));
            }
            let mut pending = Vec::new();
            for (criterion, stage) in criteria {
                let reference = if criterion == Criterion::Correctness { gt.reference.as_str() } else { "" };
                let input = JudgeInput { criterion, question: &gt.question, reference, candidate: &candidate };
                let fp = combine(&[judge.fingerprint().as_bytes(), criterion.name().as_bytes(), gt.question.as_bytes(), reference.as_bytes(), candidate.as_bytes()]);
                let key = UnitKey::new(&gt.id, "", stage, fp.clone());
                if !store.contains(&key)? {
                    pending.push((key, input));
                }
                keys.judged.push((stage.to_string(), fp));
            }
            let inputs: Vec<JudgeInput> = pending.iter().map(|(_, i)| i.clone()).collect();
            for ((key, _), rated) in pending.iter().zip(judge.rate(&inputs)) {
                let unit = match rated {
                    Ok(r) => JudgementUnit {
                        model: judge.name().to_string(),
                        value: Some(r.distribution.unit()),
                        distribution: Some(r.distribution),
                        reason: None,
                        truncated: r.truncated,
                    },
                    // Deterministic for this input: stored, so a rerun does not retry it.
                    Err(e @ (JudgeError::TooLong { .. } | JudgeError::Verdict(_))) => JudgementUnit {
                        model: judge.name().to_string(),
                        value: None,
                        distribution: None,
                        reason: Some(e.to_string()),
                        truncated: false,
                    },
                    // The model or device failed: stop; finished units are kept for the rerun.
                    Err(source) => return Err(LocalError::Judge { card: judge.name().to_string(), source }.into()),
                };
                store.put(key, &unit)?;
            }
        }

        if let Some((name, embedder)) = &self.embedder {
            let fp = combine(&[EMBED_VERSION, name.as_bytes(), gt.reference.as_bytes(), candidate.as_bytes()]);
            let key = UnitKey::new(&gt.id, "", stage::EMBED_SC, fp.clone());
            if !store.contains(&key)? {
                let value = embedder
                    .sc_estimate(&gt.reference, &candidate)
                    .map_err(|source| LocalError::Embed { card: name.clone(), source })?;
                let unit = EmbeddingUnit { model: name.clone(), value };
                put_new(store, &key, &unit)?;
            }
            keys.embedded = Some(fp);
        }
        Ok(())
    }
}
