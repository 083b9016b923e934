//! Generation quality (GQ): no-reference scorers per modality, registered by name (pyiqa-style:
//! each with a modality, a native value, and a documented mapping to [0, 1], higher is better).
//!
//! Each modality module exposes `pub fn scorers() -> Vec<ScorerInfo>`; `registry` collects them,
//! picks the default set per modality and builds scorers on demand.

pub mod audio;
pub mod batch;
pub mod code;
pub mod command;
pub mod discover;
pub mod document;
pub mod image;
pub mod mesh;
pub mod output;
pub mod registry;
pub mod video;

use crate::data::Modality;
use crate::media::MediaError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One scorer's verdict on one file (or inline text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityScore {
    /// In [0, 1], higher is better; None when the file could not be scored (see `reason`).
    pub score: Option<f64>,
    /// The scorer's native value (NIQE, BRISQUE: lower is better; a MOS: 1-5; ...).
    pub raw: Option<f64>,
    /// Why there is no score, or a caveat on the score ("truncated: scored 37 of 120 frames").
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Named sub-measures behind the score, for reports (e.g. "clipping", "snr_db").
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub details: BTreeMap<String, f64>,
}

impl QualityScore {
    /// A score in [0, 1] (clamped; NaN becomes None with a reason) with its native value.
    pub fn new(score: f64, raw: f64) -> QualityScore {
        if score.is_nan() {
            return QualityScore::unscored("the scorer produced NaN");
        }
        QualityScore { score: Some(score.clamp(0.0, 1.0)), raw: Some(raw), ..Default::default() }
    }

    pub fn unscored(reason: impl Into<String>) -> QualityScore {
        QualityScore { reason: Some(reason.into()), ..Default::default() }
    }

    pub fn with_detail(mut self, name: &str, value: f64) -> QualityScore {
        self.details.insert(name.to_string(), value);
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> QualityScore {
        self.reason = Some(reason.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("{scorer}: {detail}")]
    Scorer { scorer: String, detail: String },
    #[error("{scorer} cannot score {what}")]
    Unsupported { scorer: String, what: String },
    #[error("unknown quality scorer '{name}' (see `omniscore quality --list`)")]
    UnknownScorer { name: String },
    #[error("{scorer}: model: {source}")]
    Model { scorer: String, source: crate::runtime::model_store::ModelError },
    #[error("{scorer}: {source}")]
    Candle { scorer: String, source: candle_core::Error },
}

/// A built scorer.
pub trait Scorer: Send + Sync {
    fn name(&self) -> &'static str;
    fn modality(&self) -> Modality;
    /// Part of the store fingerprint: bump when the computation changes.
    fn version(&self) -> &'static str;
    /// Scores a file. A file that partly decodes is scored on what decodes, with a reason.
    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError>;
    /// Scores inline content (code and text written in the instance itself).
    fn score_text(&self, _text: &str) -> Result<QualityScore, QualityError> {
        Err(QualityError::Unsupported { scorer: self.name().into(), what: "inline text".into() })
    }
}

/// An image scorer that video scoring reuses per frame.
pub trait FrameScorer: Send + Sync {
    fn name(&self) -> &'static str;
    fn score_frame(&self, frame: &::image::RgbImage) -> Result<QualityScore, QualityError>;
}

/// What building a scorer may need: the device for tensor work and the model store for
/// learned scorers' weights.
#[derive(Clone)]
pub struct ScorerContext {
    pub device: candle_core::Device,
    pub store: crate::runtime::model_store::ModelStore,
    /// Never download: a missing model is an error.
    pub offline: bool,
    pub progress: crate::progress::ProgressMode,
}

impl ScorerContext {
    /// CPU, the default model store, no downloads.
    pub fn cpu() -> ScorerContext {
        ScorerContext {
            device: candle_core::Device::Cpu,
            store: crate::runtime::model_store::ModelStore::from_env(),
            offline: true,
            progress: crate::progress::ProgressMode::Off,
        }
    }
}

/// A registry entry: everything `quality --list` shows, and how to build the scorer.
pub struct ScorerInfo {
    pub name: &'static str,
    pub modality: Modality,
    /// One line: what it measures and how the native value maps to [0, 1].
    pub description: &'static str,
    /// Whether a lower native value is better (NIQE, BRISQUE).
    pub lower_better_raw: bool,
    /// In the default set `score` uses for its modality.
    pub default: bool,
    pub build: fn(&ScorerContext) -> Result<Box<dyn Scorer>, QualityError>,
}
