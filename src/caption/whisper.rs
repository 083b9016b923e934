//! Speech transcription with Whisper (Radford et al. 2022, "Robust Speech Recognition via
//! Large-Scale Weak Supervision"), run by `candle_transformers::models::whisper`.
//!
//! Checkpoints: either the Hugging Face layout (openai/whisper-*: `model.safetensors` and an HF
//! `config.json`) or a CTranslate2 conversion (faster-whisper: `model.bin`, whose `config.json`
//! holds `suppress_ids` / `lang_ids`), read natively by [`crate::nn::ct2`]; the weights file is
//! recognised by its content, not its name. Both come with an HF `tokenizer.json`.
//!
//! Decoding follows openai/whisper `transcribe()` without timestamps: the audio is padded with
//! 30 s of silence, turned into a log-mel spectrogram ([`super::mel`]), and cut into consecutive
//! 30 s windows (a short last window is zero-filled as `pad_or_trim` does). Each window is
//! decoded greedily from `<|startoftranscript|>` (`<|lang|><|transcribe|>` for multilingual
//! checkpoints) `<|notimestamps|>`, with the checkpoint's suppress tokens, every special and
//! timestamp token, and (at the first step) blank and end-of-text suppressed. A window whose
//! `<|nospeech|>` probability exceeds [`NO_SPEECH_THRESHOLD`] while its average log-probability
//! is under [`LOGPROB_THRESHOLD`] is dropped as silence. Multilingual checkpoints detect the
//! language once, on the first window (as whisper does). Not implemented: temperature fallback
//! and beam search (greedy only), timestamps, prompts from previous windows.

use super::mel::{MelFrontEnd, HOP_LENGTH, SAMPLE_RATE};
use crate::media::audio::{resample, Audio};
use crate::nn::ct2::{self, Ct2Error, Ct2Model, MULTILINGUAL_VOCAB};
use crate::runtime::model_store::{ModelError, ModelFiles};
use candle_core::{DType, Device, IndexOp, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::{model::Whisper, Config};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Mel frames in one 30 s window (the encoder's fixed input).
pub const N_FRAMES: usize = 3000;
/// Samples in one 30 s window.
pub const N_SAMPLES: usize = N_FRAMES * HOP_LENGTH;
/// openai/whisper `transcribe()` defaults for dropping a silent window.
pub const NO_SPEECH_THRESHOLD: f64 = 0.6;
pub const LOGPROB_THRESHOLD: f64 = -1.0;
/// Whisper's blank token (" ") id in both vocabularies, suppressed at the first step when the
/// checkpoint's config names no `begin_suppress_tokens`.
const BLANK_TOKEN: u32 = 220;
/// Bytes read to tell a CTranslate2 file from a safetensors one.
const SNIFF_BYTES: usize = 64;

const SOT: &str = "<|startoftranscript|>";
const EOT: &str = "<|endoftext|>";
const TRANSCRIBE: &str = "<|transcribe|>";
const TRANSLATE: &str = "<|translate|>";
const NO_TIMESTAMPS: &str = "<|notimestamps|>";
/// `<|nocaptions|>` in the original vocabulary, renamed `<|nospeech|>` in later tokenizers.
const NO_SPEECH: [&str; 2] = ["<|nospeech|>", "<|nocaptions|>"];

#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Ct2(#[from] Ct2Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("{path}: tokenizer: {detail}")]
    Tokenizer { path: PathBuf, detail: String },
    #[error("whisper model `{model}`: {what}: {source}")]
    Candle { model: String, what: &'static str, source: candle_core::Error },
    #[error("whisper model `{model}`: decoding the tokens: {detail}")]
    Decode { model: String, detail: String },
}

/// One 30 s window's text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Probability of `<|nospeech|>` at the first step.
    pub no_speech_prob: f64,
    /// Mean log-probability of the chosen tokens (end-of-text included).
    pub avg_logprob: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    /// The segments' texts joined by spaces.
    pub text: String,
    /// ISO 639-1 code: detected for multilingual checkpoints, `en` for English-only ones, `None`
    /// when nothing was decoded (empty audio).
    pub language: Option<String>,
    pub segments: Vec<Segment>,
}

/// Token ids the decoding loop needs, looked up by name in the tokenizer.
#[derive(Debug, Clone)]
struct Specials {
    sot: u32,
    eot: u32,
    transcribe: u32,
    no_timestamps: u32,
    no_speech: u32,
    /// Language tokens (`<|en|>`, ...) with their codes, between `<|startoftranscript|>` and
    /// `<|translate|>`.
    languages: Vec<(u32, String)>,
}

impl Specials {
    fn from_tokenizer(tok: &Tokenizer, path: &Path) -> Result<Specials, WhisperError> {
        let id = |t: &str| {
            tok.token_to_id(t).ok_or_else(|| WhisperError::Tokenizer {
                path: path.to_path_buf(),
                detail: format!("no `{t}` token: not a Whisper tokenizer"),
            })
        };
        let sot = id(SOT)?;
        let translate = id(TRANSLATE)?;
        let no_speech = NO_SPEECH.iter().find_map(|t| tok.token_to_id(t)).map_or_else(|| id(NO_SPEECH[0]), Ok)?;
        let languages = (sot + 1..translate)
            .filter_map(|i| {
                let t = tok.id_to_token(i)?;
                let code = t.strip_prefix("<|")?.strip_suffix("|>")?.to_string();
                Some((i, code))
            })
            .collect();
        Ok(Specials {
            sot,
            eot: id(EOT)?,
            transcribe: id(TRANSCRIBE)?,
            no_timestamps: id(NO_TIMESTAMPS)?,
            no_speech,
            languages,
        })
    }
}

/// Decoding settings a checkpoint's config.json carries.
#[derive(Debug, Clone, Default)]
pub struct DecodeConfig {
    /// Token ids never produced (non-speech symbols).
    pub suppress_tokens: Vec<u32>,
    /// Token ids not allowed as the first produced token (blank, end-of-text).
    pub begin_suppress_tokens: Option<Vec<u32>>,
}

/// What a checkpoint's config.json says, in either layout.
enum ConfigJson {
    /// Hugging Face: the model shape plus the decoding lists.
    Hf(Config, DecodeConfig),
    /// CTranslate2: decoding lists only; the shape comes from the weights.
    Ct2(DecodeConfig),
}

fn read_config(path: &Path) -> Result<ConfigJson, WhisperError> {
    let text = std::fs::read_to_string(path).map_err(|source| WhisperError::Io { path: path.to_path_buf(), source })?;
    let bad = |detail: String| WhisperError::Config { path: path.to_path_buf(), detail };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let ids = |key: &str| -> Result<Option<Vec<u32>>, WhisperError> {
        match v.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(x) => serde_json::from_value(x.clone()).map(Some).map_err(|e| bad(format!("`{key}`: {e}"))),
        }
    };
    if v.get("d_model").is_some() {
        let cfg: Config = serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?;
        let dc = DecodeConfig {
            suppress_tokens: cfg.suppress_tokens.clone(),
            begin_suppress_tokens: ids("begin_suppress_tokens")?,
        };
        Ok(ConfigJson::Hf(cfg, dc))
    } else if v.get("suppress_ids").is_some() || v.get("lang_ids").is_some() {
        Ok(ConfigJson::Ct2(DecodeConfig {
            suppress_tokens: ids("suppress_ids")?.unwrap_or_default(),
            begin_suppress_tokens: ids("suppress_ids_begin")?,
        }))
    } else {
        Err(bad("neither a Hugging Face Whisper config (`d_model`) nor a CTranslate2 one (`suppress_ids`)".into()))
    }
}

/// Result of decoding one window.
struct Decoded {
    tokens: Vec<u32>,
    avg_logprob: f64,
    no_speech_prob: f64,
}

/// A loaded Whisper checkpoint, ready to transcribe.
pub struct Transcriber {
    name: String,
    model: Whisper,
    tokenizer: Tokenizer,
    mel: MelFrontEnd,
    device: Device,
    specials: Specials,
    multilingual: bool,
    /// Added to every step's logits: -inf on suppressed ids, 0 elsewhere.
    suppress: Tensor,
    /// Added at the first step only.
    begin_suppress: Tensor,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber").field("name", &self.name).field("multilingual", &self.multilingual).finish()
    }
}

/// Reads the first bytes of a file to recognise its format.
fn head(path: &Path) -> Result<Vec<u8>, WhisperError> {
    let io_err = |source| WhisperError::Io { path: path.to_path_buf(), source };
    let mut f = std::fs::File::open(path).map_err(io_err)?;
    let mut buf = Vec::with_capacity(SNIFF_BYTES);
    f.by_ref().take(SNIFF_BYTES as u64).read_to_end(&mut buf).map_err(io_err)?;
    Ok(buf)
}

impl Transcriber {
    /// Loads an installed card's files (weights in either layout, `config.json`,
    /// `tokenizer.json`) onto `device`.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<Transcriber, WhisperError> {
        let weights = files
            .card
            .files
            .iter()
            .map(|f| f.name.as_str())
            .find(|n| *n != CONFIG_FILE && *n != TOKENIZER_FILE)
            .ok_or_else(|| ModelError::NoSuchFile { card: files.card.name.clone(), file: "weights".into() })?;
        Self::from_paths(
            &files.card.name,
            files.path(weights)?,
            files.path(CONFIG_FILE)?,
            files.path(TOKENIZER_FILE)?,
            device,
        )
    }

    /// Loads from explicit paths; `name` only labels errors.
    pub fn from_paths(
        name: &str,
        weights: &Path,
        config: &Path,
        tokenizer: &Path,
        device: &Device,
    ) -> Result<Transcriber, WhisperError> {
        let config_json = read_config(config)?;
        let tok = Tokenizer::from_file(tokenizer)
            .map_err(|e| WhisperError::Tokenizer { path: tokenizer.to_path_buf(), detail: e.to_string() })?;
        let candle = |what| move |source| WhisperError::Candle { model: name.to_string(), what, source };
        let (vb, cfg, dc) = if ct2::sniff(&head(weights)?) {
            let (tensors, mut cfg) = Ct2Model::read(weights)?.into_whisper()?;
            let dc = match config_json {
                ConfigJson::Ct2(dc) => dc,
                // A CTranslate2 weights file beside an HF config: the config's lists still apply.
                ConfigJson::Hf(_, dc) => dc,
            };
            cfg.suppress_tokens = dc.suppress_tokens.clone();
            (VarBuilder::from_tensors(tensors, DType::F32, device), cfg, dc)
        } else {
            let ConfigJson::Hf(cfg, dc) = config_json else {
                return Err(WhisperError::Config {
                    path: config.to_path_buf(),
                    detail: format!(
                        "a CTranslate2 config beside {}, which is not a CTranslate2 model.bin",
                        weights.display()
                    ),
                });
            };
            // SAFETY: the store's files are not modified while the process runs.
            let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, device) }
                .map_err(candle("reading the safetensors weights"))?;
            (vb, cfg, dc)
        };
        Self::from_varbuilder(name, vb, cfg, dc, tok, tokenizer, device)
    }

    /// Builds the model from any VarBuilder holding Hugging Face Whisper names (tests use
    /// random tensors). `tokenizer_path` only labels errors.
    pub fn from_varbuilder(
        name: &str,
        vb: VarBuilder,
        cfg: Config,
        dc: DecodeConfig,
        tokenizer: Tokenizer,
        tokenizer_path: &Path,
        device: &Device,
    ) -> Result<Transcriber, WhisperError> {
        let candle = |what| move |source| WhisperError::Candle { model: name.to_string(), what, source };
        let specials = Specials::from_tokenizer(&tokenizer, tokenizer_path)?;
        let vocab = cfg.vocab_size;
        if specials.eot as usize >= vocab || specials.no_timestamps as usize >= vocab {
            return Err(WhisperError::Tokenizer {
                path: tokenizer_path.to_path_buf(),
                detail: format!("special tokens lie outside the model's {vocab}-token vocabulary"),
            });
        }
        let mut mask = vec![0f32; vocab];
        // Every special and timestamp token sits above end-of-text; only end-of-text may be chosen.
        mask.iter_mut().skip(specials.eot as usize + 1).for_each(|m| *m = f32::NEG_INFINITY);
        for &t in dc.suppress_tokens.iter().filter(|&&t| (t as usize) < vocab) {
            mask[t as usize] = f32::NEG_INFINITY;
        }
        let begin = dc.begin_suppress_tokens.clone().unwrap_or_else(|| vec![BLANK_TOKEN, specials.eot]);
        let mut begin_mask = vec![0f32; vocab];
        for &t in begin.iter().filter(|&&t| (t as usize) < vocab) {
            begin_mask[t as usize] = f32::NEG_INFINITY;
        }
        let model = Whisper::load(&vb, cfg.clone()).map_err(candle("loading the weights"))?;
        Ok(Transcriber {
            name: name.to_string(),
            mel: MelFrontEnd::new(cfg.num_mel_bins),
            multilingual: vocab >= MULTILINGUAL_VOCAB,
            suppress: Tensor::new(mask, device).map_err(candle("building the token mask"))?,
            begin_suppress: Tensor::new(begin_mask, device).map_err(candle("building the token mask"))?,
            model,
            tokenizer,
            device: device.clone(),
            specials,
        })
    }

    /// Whether the checkpoint detects the language (openai/whisper: a vocabulary of 51865
    /// tokens or more); English-only checkpoints transcribe English.
    pub fn multilingual(&self) -> bool {
        self.multilingual
    }

    /// Overrides the vocabulary-size rule (small test checkpoints).
    pub fn set_multilingual(&mut self, yes: bool) {
        self.multilingual = yes;
    }

    pub fn config(&self) -> &Config {
        &self.model.config
    }

    /// Transcribes `audio` (any rate: resampled to 16 kHz first) in consecutive 30 s windows.
    pub fn transcribe(&mut self, audio: &Audio) -> Result<Transcript, WhisperError> {
        let resampled;
        let samples: &[f32] = if audio.sample_rate == SAMPLE_RATE {
            &audio.samples
        } else {
            resampled = resample(&audio.samples, audio.sample_rate, SAMPLE_RATE);
            &resampled
        };
        let mel = self.mel.log_mel(samples, N_SAMPLES);
        let content_frames = mel.frames.saturating_sub(N_FRAMES);
        let mut segments = Vec::new();
        let mut language: Option<(u32, String)> = None;
        let mut seek = 0;
        while seek < content_frames {
            let size = (content_frames - seek).min(N_FRAMES);
            let window = mel.window(seek, size, N_FRAMES);
            let x = Tensor::from_vec(window, (1, mel.n_mels, N_FRAMES), &self.device)
                .map_err(self.candle("preparing the spectrogram"))?;
            let features = self.model.encoder.forward(&x, true).map_err(self.candle("running the audio encoder"))?;
            if self.multilingual && language.is_none() {
                language = Some(self.detect_language(&features)?);
            }
            let d = self.decode_window(&features, language.as_ref().map(|l| l.0))?;
            let (start, end) = (frames_to_s(seek), frames_to_s(seek + size));
            seek += size;
            if d.no_speech_prob > NO_SPEECH_THRESHOLD && d.avg_logprob < LOGPROB_THRESHOLD {
                continue;
            }
            let text = self
                .tokenizer
                .decode(&d.tokens, true)
                .map_err(|e| WhisperError::Decode { model: self.name.clone(), detail: e.to_string() })?;
            let text = text.trim().to_string();
            if !text.is_empty() {
                segments.push(Segment {
                    start,
                    end,
                    text,
                    no_speech_prob: d.no_speech_prob,
                    avg_logprob: d.avg_logprob,
                });
            }
        }
        let language = match language {
            Some((_, code)) => Some(code),
            None if content_frames > 0 && !self.multilingual => Some("en".to_string()),
            None => None,
        };
        let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Transcript { text, language, segments })
    }

    fn candle(&self, what: &'static str) -> impl Fn(candle_core::Error) -> WhisperError + '_ {
        move |source| WhisperError::Candle { model: self.name.clone(), what, source }
    }

    /// The most likely language token after `<|startoftranscript|>` (whisper `detect_language`).
    fn detect_language(&mut self, features: &Tensor) -> Result<(u32, String), WhisperError> {
        let name = self.name.clone();
        let candle = |what: &'static str| {
            let model = name.clone();
            move |source| WhisperError::Candle { model, what, source }
        };
        let langs = &self.specials.languages;
        if langs.is_empty() {
            return Err(WhisperError::Decode {
                model: self.name.clone(),
                detail: "the tokenizer has no language tokens".into(),
            });
        }
        let prompt = Tensor::new(&[[self.specials.sot]], &self.device).map_err(candle("language detection"))?;
        let ys = self.model.decoder.forward(&prompt, features, true).map_err(candle("language detection"))?;
        let logits = ys
            .i((.., 0..1))
            .and_then(|y| self.model.decoder.final_linear(&y))
            .and_then(|l| l.flatten_all())
            .map_err(candle("language detection"))?;
        let logits: Vec<f32> = logits.to_vec1().map_err(candle("language detection"))?;
        let best = langs
            .iter()
            .filter(|(id, _)| (*id as usize) < logits.len())
            .max_by(|a, b| logits[a.0 as usize].total_cmp(&logits[b.0 as usize]))
            .cloned()
            .expect("language list checked non-empty");
        Ok(best)
    }

    /// Greedy decoding of one window from its encoder output.
    fn decode_window(&mut self, features: &Tensor, language: Option<u32>) -> Result<Decoded, WhisperError> {
        let name = self.name.clone();
        let candle = |what: &'static str| {
            let model = name.clone();
            move |source| WhisperError::Candle { model, what, source }
        };
        let s = &self.specials;
        let mut tokens = vec![s.sot];
        if self.multilingual {
            if let Some(l) = language {
                tokens.push(l);
            }
            tokens.push(s.transcribe);
        }
        tokens.push(s.no_timestamps);
        let prompt_len = tokens.len();
        // whisper's `sample_len`: at most half the text context is generated.
        let max_new = self.model.config.max_target_positions / 2;
        let (mut sum_logprob, mut no_speech_prob) = (0f64, f64::NAN);
        for step in 0..max_new {
            let t = Tensor::new(tokens.as_slice(), &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(candle("decoding"))?;
            let ys = self.model.decoder.forward(&t, features, step == 0).map_err(candle("decoding"))?;
            if step == 0 {
                let p = ys
                    .i((.., 0..1))
                    .and_then(|y| self.model.decoder.final_linear(&y))
                    .and_then(|l| candle_nn::ops::softmax_last_dim(&l.flatten_all()?))
                    .and_then(|p| p.i(s.no_speech as usize)?.to_scalar::<f32>())
                    .map_err(candle("decoding"))?;
                no_speech_prob = p as f64;
            }
            let seq = ys.dim(1).map_err(candle("decoding"))?;
            let mut logits = ys
                .i((.., seq - 1..seq))
                .and_then(|y| self.model.decoder.final_linear(&y))
                .and_then(|l| l.flatten_all())
                .and_then(|l| l.broadcast_add(&self.suppress))
                .map_err(candle("decoding"))?;
            if step == 0 {
                logits = logits.broadcast_add(&self.begin_suppress).map_err(candle("decoding"))?;
            }
            let logprobs: Vec<f32> = candle_nn::ops::log_softmax(&logits, D::Minus1)
                .and_then(|l| l.to_vec1())
                .map_err(candle("decoding"))?;
            let (next, lp) = logprobs
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, &lp)| (i as u32, lp as f64))
                .expect("a non-empty vocabulary");
            sum_logprob += lp;
            if next == s.eot {
                break;
            }
            tokens.push(next);
            if tokens.len() >= self.model.config.max_target_positions {
                break;
            }
        }
        let text_tokens: Vec<u32> = tokens[prompt_len..].to_vec();
        let avg_logprob = sum_logprob / (text_tokens.len() + 1) as f64;
        Ok(Decoded { tokens: text_tokens, avg_logprob, no_speech_prob })
    }
}

fn frames_to_s(frames: usize) -> f64 {
    (frames * HOP_LENGTH) as f64 / SAMPLE_RATE as f64
}

/// Hugging Face Whisper names with random values for a configuration: a stand-in checkpoint for
/// tests of the loading and decoding path without released weights.
pub fn random_weights(cfg: &Config, device: &Device, seed: u64) -> candle_core::Result<HashMap<String, Tensor>> {
    let d = cfg.d_model;
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("model.encoder.conv1.weight".into(), vec![d, cfg.num_mel_bins, 3]),
        ("model.encoder.conv1.bias".into(), vec![d]),
        ("model.encoder.conv2.weight".into(), vec![d, d, 3]),
        ("model.encoder.conv2.bias".into(), vec![d]),
        ("model.encoder.embed_positions.weight".into(), vec![cfg.max_source_positions, d]),
        ("model.decoder.embed_tokens.weight".into(), vec![cfg.vocab_size, d]),
        ("model.decoder.embed_positions.weight".into(), vec![cfg.max_target_positions, d]),
    ];
    let block = |shapes: &mut Vec<(String, Vec<usize>)>, p: String, cross: bool| {
        let mut attn = vec![("self_attn", "self_attn_layer_norm")];
        if cross {
            attn.push(("encoder_attn", "encoder_attn_layer_norm"));
        }
        for (a, ln) in attn {
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                shapes.push((format!("{p}.{a}.{proj}.weight"), vec![d, d]));
                if proj != "k_proj" {
                    shapes.push((format!("{p}.{a}.{proj}.bias"), vec![d]));
                }
            }
            shapes.push((format!("{p}.{ln}.weight"), vec![d]));
            shapes.push((format!("{p}.{ln}.bias"), vec![d]));
        }
        shapes.push((format!("{p}.fc1.weight"), vec![4 * d, d]));
        shapes.push((format!("{p}.fc1.bias"), vec![4 * d]));
        shapes.push((format!("{p}.fc2.weight"), vec![d, 4 * d]));
        shapes.push((format!("{p}.fc2.bias"), vec![d]));
        shapes.push((format!("{p}.final_layer_norm.weight"), vec![d]));
        shapes.push((format!("{p}.final_layer_norm.bias"), vec![d]));
    };
    for i in 0..cfg.encoder_layers {
        block(&mut shapes, format!("model.encoder.layers.{i}"), false);
    }
    for i in 0..cfg.decoder_layers {
        block(&mut shapes, format!("model.decoder.layers.{i}"), true);
    }
    for s in ["encoder", "decoder"] {
        shapes.push((format!("model.{s}.layer_norm.weight"), vec![d]));
        shapes.push((format!("model.{s}.layer_norm.bias"), vec![d]));
    }
    // A fixed-seed generator so a failing test reproduces: splitmix64 mapped to [-0.1, 0.1).
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32 * 0.2 - 0.1
    };
    shapes
        .into_iter()
        .map(|(n, shape)| {
            let count: usize = shape.iter().product();
            let values: Vec<f32> =
                if n.contains("layer_norm.weight") { vec![1.0; count] } else { (0..count).map(|_| next()).collect() };
            Tensor::from_vec(values, shape, device).map(|t| (n, t))
        })
        .collect()
}
