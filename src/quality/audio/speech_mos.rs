//! "speech-mos": a learned no-reference speech-quality score, DistillMOS (`nn::distillmos`) run
//! natively on Candle from the `distillmos` model card.
//!
//! Mapping: the model predicts a mean opinion score (MOS) on the 1-5 ACR scale; `raw` is that
//! MOS and `score = (MOS - 1) / 4`, clamped to [0, 1].
//!
//! Input: the file is decoded with `media::audio::decode_at` at 16 kHz, channels mixed to mono
//! (the reference keeps only the first channel; mixing keeps a one-sided stereo file from
//! scoring as silence). Audio longer than 7.68 s is scored as the mean over overlapping 7.68 s
//! windows starting at most 1 s apart, exactly as the reference package does, so cost grows
//! linearly with duration (about one window per second of audio).
//!
//! Non-speech audio still gets a score: the model rates how a listener would judge the clip *as
//! speech*, so music, tones and noise score low to middling (the alsa `Noise.wav` rates ~1.9).
//! A low score on a clip that is not meant to be speech says "not clean speech", not "broken
//! audio"; the signal-level scorer is the one that measures damage to any audio. Digital silence
//! is scored too (the model sees an empty spectrum), with a reason saying it was silent.

use super::super::{QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::media::audio;
use crate::nn::distillmos::{Config, DistillMos, MOS_MAX, MOS_MIN};
use crate::runtime::card::find_card;
use crate::runtime::model_store::{ModelError, ModelFiles};
use candle_core::Device;
use std::path::Path;

pub const NAME: &str = "speech-mos";
/// The model card holding the weights.
pub const CARD: &str = "distillmos";
/// The card's weights file: a torch pickle (named for the card format check, see models/distillmos.toml).
pub const WEIGHTS_FILE: &str = "distill_mos_v7.pt.safetensors";
/// Part of the store fingerprint: bump when the computation changes.
const VERSION: &str = "distillmos-v7.1";
/// Windows run through the network at once: the CNN's im2col needs ~150 MB per window, and on
/// CPU a batch buys nothing, while a GPU is kept busy by several.
const CPU_BATCH: usize = 1;
const GPU_BATCH: usize = 8;

pub fn info() -> ScorerInfo {
    ScorerInfo {
        name: NAME,
        modality: Modality::Audio,
        description: "DistillMOS speech MOS (1-5, learned, no reference); score = (MOS - 1) / 4",
        lower_better_raw: false,
        default: false,
        build: |ctx| Ok(Box::new(SpeechMos::new(ctx)?)),
    }
}

/// The built scorer: the network on its device.
pub struct SpeechMos {
    model: DistillMos,
    device: Device,
    batch: usize,
}

fn scorer_error(detail: impl std::fmt::Display) -> QualityError {
    QualityError::Scorer { scorer: NAME.into(), detail: detail.to_string() }
}

fn candle_error(source: candle_core::Error) -> QualityError {
    QualityError::Candle { scorer: NAME.into(), source }
}

impl SpeechMos {
    /// Finds the `distillmos` card's weights in the model store (fetching them unless offline).
    pub fn new(ctx: &ScorerContext) -> Result<SpeechMos, QualityError> {
        let model_err = |source: ModelError| QualityError::Model { scorer: NAME.into(), source };
        let card = find_card(CARD).map_err(|e| model_err(e.into()))?;
        let files: ModelFiles =
            if ctx.offline { ctx.store.locate(&card) } else { ctx.store.locate_or_pull(&card, ctx.progress) }
                .map_err(model_err)?;
        let path = files.path(WEIGHTS_FILE).map_err(model_err)?;
        SpeechMos::from_checkpoint(path, &ctx.device)
    }

    /// Loads a checkpoint file directly (the released weights or one of the same format).
    pub fn from_checkpoint(path: &Path, device: &Device) -> Result<SpeechMos, QualityError> {
        let model = DistillMos::load_checkpoint(path, &Config::distill_mos_v7(), device)
            .map_err(|e| scorer_error(format!("{}: {e}", path.display())))?;
        let batch = if device.is_cpu() { CPU_BATCH } else { GPU_BATCH };
        Ok(SpeechMos { model, device: device.clone(), batch })
    }

    pub fn model(&self) -> &DistillMos {
        &self.model
    }

    /// MOS of mono samples at 16 kHz, as a score.
    pub fn score_samples(&self, samples: &[f32]) -> Result<QualityScore, QualityError> {
        if samples.is_empty() {
            return Ok(QualityScore::unscored("no audio samples"));
        }
        let mos = self.model.score(samples, self.batch, &self.device).map_err(candle_error)?;
        let windows = self.model.config().segment_starts(samples.len()).len();
        let mut score = QualityScore::new((mos - MOS_MIN) / (MOS_MAX - MOS_MIN), mos)
            .with_detail("mos", mos)
            .with_detail("windows", windows as f64);
        if samples.iter().all(|s| *s == 0.0) {
            score = score.with_reason("digital silence: the model rated an empty spectrum");
        }
        Ok(score)
    }
}

impl Scorer for SpeechMos {
    fn name(&self) -> &'static str {
        NAME
    }

    fn modality(&self) -> Modality {
        Modality::Audio
    }

    fn version(&self) -> &'static str {
        VERSION
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let rate = self.model.config().sample_rate;
        let decoded = audio::decode_at(path, rate)?;
        let mut score = self.score_samples(&decoded.samples)?;
        if let Some(why) = decoded.truncated {
            let caveat = format!("truncated: scored what decoded ({why})");
            score.reason = Some(match score.reason.take() {
                Some(r) => format!("{r}; {caveat}"),
                None => caveat,
            });
        }
        Ok(score.with_detail("duration_s", decoded.samples.len() as f64 / rate as f64))
    }
}
