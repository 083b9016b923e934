//! The local LLM judge: a decoder (llama / qwen2 / qwen3, GGUF or safetensors) with its
//! tokenizer and chat template. The shared prompt prefix (system message and rubrics) is run
//! once at load and its KV cache reused for every judgement; the judgements of a call are
//! batched (right-padded) over that cache. The rating is read from the next-token
//! distribution at the answer position (see [`super::verdict`]).

use super::chat::{ChatError, ChatTemplate};
use super::fit::{fit, FIT_VERSION};
use super::prompts::{item_text, shared_messages, JudgeInput, ANSWER_PREFIX, ITEM_BOUNDARY, PROMPT_VERSION};
use super::tokenizer::{check_tokenizer_matches, load_tokenizer, TokenizerError};
use super::verdict::{RatingDistribution, RatingTokens, VerdictError};
use crate::fingerprint::combine;
use crate::nn::decoder::{Decoder, DecoderConfig, SharedPrefix};
use crate::runtime::card::ModelFormat;
use crate::runtime::device::preferred_dtype;
use crate::runtime::model_store::{ModelError, ModelFiles};
use candle_core::{quantized::gguf_file, DType, Device, Tensor};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// Judgements run together in one forward pass at most (on GPU; see [`Judge::max_batch`]).
pub const MAX_BATCH: usize = 8;
/// The rating used to find where the answer prefix ends (any of 1-5 would do).
const PROBE_RATING: usize = 4;
/// Marks where the item goes when the template is rendered once to find the shared prefix.
const SENTINEL: &str = "\u{1}OMNISCORE-ITEM\u{1}";

#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot load the model: {source}")]
    Load { path: PathBuf, source: candle_core::Error },
    #[error("{path}: not a usable config.json: {source}")]
    Config { path: PathBuf, source: serde_json::Error },
    #[error("model {card}: {what}")]
    Card { card: String, what: String },
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("chat template: the rendered prompt lost the item marker; cannot split off the shared prefix")]
    TemplateSplit,
    #[error(transparent)]
    Verdict(#[from] VerdictError),
    #[error("tokenizer: {0}")]
    Encode(String),
    #[error("prompt needs {needed} tokens but the context holds {context}, even with captions, answer and question cut; the reference alone is too long")]
    TooLong { needed: usize, context: usize },
    #[error("forward pass failed: {0}")]
    Forward(#[from] candle_core::Error),
}

/// One rating and whether its inputs had to be cut to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub distribution: RatingDistribution,
    pub truncated: bool,
}

pub struct Judge {
    name: String,
    fingerprint: String,
    decoder: Decoder,
    tokenizer: Tokenizer,
    ratings: RatingTokens,
    /// The rendered prompt after the item text, up to the generation prompt.
    tail: String,
    prefix_ids: Vec<u32>,
    /// The shared prefix's keys and values, computed once at load and read by every batch.
    prefix: SharedPrefix,
    pad_id: u32,
    /// Prompt length limit (shared prefix included): the model's context unless lowered.
    max_prompt_tokens: usize,
    max_batch: usize,
}

/// One judgement at a time on CPU: its matmuls run as fast per row at ~100 rows as at 800, so
/// a batch only adds the padding of its shorter items (measured on Qwen2.5-Coder-1.5B, 2
/// cores, 8 judgements of 40-160 tokens: 7.9 s one at a time, 11.6 s as one batch of 8).
/// GPUs need the rows to fill the device.
fn default_batch(device: &Device) -> usize {
    if device.is_cpu() {
        1
    } else {
        MAX_BATCH
    }
}

fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, JudgeError> {
    tokenizer.encode(text, false).map(|e| e.get_ids().to_vec()).map_err(|e| JudgeError::Encode(e.to_string()))
}

fn file_with_ext<'a>(files: &'a ModelFiles, ext: &str) -> Vec<&'a Path> {
    files.files.values().filter(|p| p.extension().is_some_and(|e| e == ext)).map(PathBuf::as_path).collect()
}

impl Judge {
    /// Loads the model of a located card on `device`.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<Judge, JudgeError> {
        let card = &files.card;
        let tokenizer_json = files.files.get("tokenizer.json").map(PathBuf::as_path);
        let tokenizer_config = files.files.get("tokenizer_config.json");
        let (decoder, tokenizer, gguf_template) = match card.format {
            ModelFormat::Gguf => {
                let path = *file_with_ext(files, "gguf").first().ok_or_else(|| JudgeError::Card {
                    card: card.name.clone(),
                    what: "a gguf card lists no .gguf file".into(),
                })?;
                let mut f = std::fs::File::open(path).map_err(|source| JudgeError::Open { path: path.into(), source })?;
                let content = gguf_file::Content::read(&mut f).map_err(|source| JudgeError::Load { path: path.into(), source })?;
                let tokenizer = load_tokenizer(tokenizer_json, Some(&content))?;
                let template = ChatTemplate::from_gguf(&content);
                let decoder = Decoder::from_gguf(&content, &mut f, device).map_err(|source| JudgeError::Load { path: path.into(), source })?;
                (decoder, tokenizer, template)
            }
            ModelFormat::Safetensors => {
                let config_path = files.path("config.json")?;
                let text = std::fs::read_to_string(config_path).map_err(|source| JudgeError::Open { path: config_path.into(), source })?;
                let cfg: DecoderConfig = serde_json::from_str(&text).map_err(|source| JudgeError::Config { path: config_path.into(), source })?;
                let family = cfg.family().map_err(|source| JudgeError::Load { path: config_path.into(), source })?;
                let weights = file_with_ext(files, "safetensors");
                // SAFETY: the files are memory-mapped read-only; the store does not modify them while loaded.
                let vb = unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&weights, preferred_dtype(device), device) }
                    .map_err(|source| JudgeError::Load { path: files.dir.clone(), source })?;
                let decoder = Decoder::new(&cfg, family, vb).map_err(|source| JudgeError::Load { path: files.dir.clone(), source })?;
                (decoder, load_tokenizer(tokenizer_json, None)?, None)
            }
        };
        check_tokenizer_matches(&tokenizer, decoder.vocab_size())?;
        let template = match tokenizer_config {
            Some(p) => ChatTemplate::from_tokenizer_config(p)?,
            None => None,
        }
        .or(gguf_template)
        .unwrap_or_else(ChatTemplate::chatml);
        let mut ratings = RatingTokens::from_tokenizer(&tokenizer)?;
        ratings.add_in_context(&tokenizer, ANSWER_PREFIX)?;

        // Render once with a marker where the item goes: before it is the shared prefix,
        // after it the template's closing of the user turn and the opening of the reply.
        let mut messages = shared_messages();
        messages.last_mut().expect("the shared prefix ends in a user message").content.push_str(SENTINEL);
        let rendered = template.render(&messages, true)?;
        let (prefix, tail) = rendered.split_once(SENTINEL).ok_or(JudgeError::TemplateSplit)?;
        debug_assert!(prefix.ends_with(ITEM_BOUNDARY));
        let prefix_ids = encode(&tokenizer, prefix)?;
        let mut prefix_cache = decoder.new_cache();
        let last = prefix_ids.len() - 1;
        let t = Tensor::new(prefix_ids.as_slice(), device)?.unsqueeze(0)?;
        decoder.forward(&t, &mut prefix_cache, &[last])?;
        let prefix = SharedPrefix::from_cache(&prefix_cache)?;

        let hashes: Vec<String> = card.files.iter().map(|f| f.sha256.clone().unwrap_or_else(|| format!("{}:unpinned", f.name))).collect();
        let fingerprint = combine(&[
            card.name.as_bytes(),
            hashes.join(",").as_bytes(),
            PROMPT_VERSION.as_bytes(),
            FIT_VERSION.as_bytes(),
            template.source().as_bytes(),
        ]);
        let pad_id = tokenizer.token_to_id(template.eos_token()).unwrap_or(0);
        let max_prompt_tokens = decoder.context_length();
        Ok(Judge { name: card.name.clone(), fingerprint, decoder, tokenizer, ratings, tail: tail.to_string(), prefix_ids, prefix, pad_id, max_prompt_tokens, max_batch: default_batch(device) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Identifies the model, its files, prompts and fitting rule: part of every stored
    /// judgement's key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn prefix_tokens(&self) -> usize {
        self.prefix.len()
    }

    /// The token ids of the shared prefix (for benches that replay the same work elsewhere).
    pub fn prefix_ids(&self) -> &[u32] {
        &self.prefix_ids
    }

    /// The token ids one judgement adds after the shared prefix, fitted to the context; the
    /// rating is read from the distribution after the last of them.
    pub fn item_ids(&self, input: &JudgeInput) -> Result<Vec<u32>, JudgeError> {
        self.prepare(input).map(|(ids, _)| ids)
    }

    /// Judgements per forward pass: 1 on CPU, [`MAX_BATCH`] elsewhere, unless set here.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub fn set_max_batch(&mut self, batch: usize) {
        self.max_batch = batch.max(1);
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Lowers the prompt length limit below the model's context (never above it): prompts are
    /// fitted to it by the usual rule. Bounds the cost of each judgement on a slow device. The
    /// limit is part of the fingerprint, since it can change verdicts.
    pub fn limit_prompt_tokens(&mut self, tokens: usize) {
        self.max_prompt_tokens = tokens.min(self.decoder.context_length());
        self.fingerprint = combine(&[self.fingerprint.as_bytes(), b"max-prompt", self.max_prompt_tokens.to_string().as_bytes()]);
    }

    /// The ids after the shared prefix, ending just before the rating. They are cut from the
    /// tokenization of the reply *with* a probe rating, so the model sees the answer prefix
    /// exactly as it would in text (for many tokenizers `Rating: 4` is `Rating`, `:`, ` `, `4`,
    /// and a prompt ending in `:` would ask for the space, not the digit).
    fn suffix_ids(&self, input: &JudgeInput, question: &str, candidate: &str) -> Result<Vec<u32>, JudgeError> {
        let item = item_text(&JudgeInput { question, candidate, ..input.clone() });
        let mut ids = encode(&self.tokenizer, &format!("{item}{}{ANSWER_PREFIX} {PROBE_RATING}", self.tail))?;
        match ids.pop() {
            Some(last) if self.ratings.ids()[PROBE_RATING - 1].contains(&last) => Ok(ids),
            _ => Err(JudgeError::Encode(format!("the reply `{ANSWER_PREFIX} {PROBE_RATING}` does not end in a rating token"))),
        }
    }

    /// The token ids after the shared prefix for one judgement, cut to fit the context.
    fn prepare(&self, input: &JudgeInput) -> Result<(Vec<u32>, bool), JudgeError> {
        let budget = self.max_prompt_tokens.saturating_sub(self.prefix.len());
        let mut longest = 0;
        let mut last_err = None;
        let fitted = fit(input.question, input.candidate, |q, c| match self.suffix_ids(input, q, c) {
            Ok(ids) => {
                longest = ids.len();
                ids.len() <= budget
            }
            Err(e) => {
                last_err = Some(e);
                true
            }
        });
        if let Some(e) = last_err {
            return Err(e);
        }
        let fitted = fitted.ok_or(JudgeError::TooLong { needed: longest + self.prefix.len(), context: self.max_prompt_tokens })?;
        Ok((self.suffix_ids(input, &fitted.question, &fitted.candidate)?, fitted.truncated))
    }

    /// Rates each input; a failure of one judgement (too long, no mass on the ratings) is its
    /// own error, the others still get their verdicts. Batches of at most [`Judge::max_batch`].
    pub fn rate(&self, inputs: &[JudgeInput]) -> Vec<Result<Rated, JudgeError>> {
        let mut out: Vec<Option<Result<Rated, JudgeError>>> = inputs.iter().map(|_| None).collect();
        let mut ready = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            match self.prepare(input) {
                Ok((ids, truncated)) => ready.push((i, ids, truncated)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        // Similar lengths together: a batch is padded to its longest item.
        ready.sort_by_key(|(_, ids, _)| ids.len());
        for batch in ready.chunks(self.max_batch) {
            match self.run_batch(batch) {
                Ok(rated) => {
                    for ((i, _, _), r) in batch.iter().zip(rated) {
                        out[*i] = Some(r);
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (i, _, _) in batch {
                        out[*i] = Some(Err(JudgeError::Encode(format!("batch failed: {msg}"))));
                    }
                }
            }
        }
        out.into_iter().map(|r| r.expect("every input got a result")).collect()
    }

    fn run_batch(&self, batch: &[(usize, Vec<u32>, bool)]) -> Result<Vec<Result<Rated, JudgeError>>, JudgeError> {
        let width = batch.iter().map(|(_, ids, _)| ids.len()).max().unwrap_or(1);
        let mut flat = Vec::with_capacity(batch.len() * width);
        let mut last = Vec::with_capacity(batch.len());
        for (_, ids, _) in batch {
            flat.extend_from_slice(ids);
            flat.extend(std::iter::repeat(self.pad_id).take(width - ids.len()));
            last.push(ids.len() - 1);
        }
        let tokens = Tensor::from_vec(flat, (batch.len(), width), self.decoder.device())?;
        let logits = self.decoder.forward_after_prefix(&tokens, &self.prefix, &last)?.to_dtype(DType::F32)?;
        let rows: Vec<Vec<f32>> = logits.to_vec2()?;
        Ok(rows
            .iter()
            .zip(batch)
            .map(|(row, (_, _, truncated))| {
                RatingDistribution::from_logits(row, &self.ratings)
                    .map(|distribution| Rated { distribution, truncated: *truncated })
                    .map_err(JudgeError::from)
            })
            .collect())
    }
}
