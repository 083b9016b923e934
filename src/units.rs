//! The shapes of the finished units of work kept in the store. A report is rendered only from
//! these, so a resumed run and an uninterrupted one render the same report.

use crate::data::placeholder::ItemSource;
use crate::data::{Field, Modality, Tag};
use crate::problem::Problem;
use serde::{Deserialize, Serialize};

/// Stage names used in store keys.
pub mod stage {
    pub const STRUCTURE: &str = "structure";
    pub const JUDGE_SC: &str = "judge-sc";
    pub const JUDGE_HC: &str = "judge-hc";
    pub const JUDGE_SH: &str = "judge-sh";
    pub const EMBED_SC: &str = "embed-sc";
    pub const IMPORT_SC: &str = "import-sc";
    pub const IMPORT_GQ: &str = "import-gq";
    pub const IMPORT_ICS: &str = "import-ics";
    pub const QUALITY: &str = "quality";
    pub const CAPTION: &str = "caption";
}

/// Where an item's media is, as found when the instance was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum MediaStatus {
    /// Text or code written in the instance itself.
    Inline,
    Present { path: String },
    Missing { path: String },
    /// A placeholder with no `modal` entry (or an entry that is not a string).
    NoEntry,
}

impl MediaStatus {
    /// Why this item's media cannot be scored here, if it cannot.
    pub fn unusable_reason(&self) -> Option<String> {
        match self {
            MediaStatus::Inline | MediaStatus::Present { .. } => None,
            MediaStatus::Missing { path } => Some(format!("media file not found: {path}")),
            MediaStatus::NoEntry => Some("placeholder has no media entry in output.modal".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemUnit {
    pub tag: Tag,
    pub modality: Modality,
    pub source: ItemSource,
    pub media: MediaStatus,
}

/// Stage `structure`: everything about one instance that needs no model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureUnit {
    pub id: String,
    pub field: Field,
    pub domain: String,
    pub subdomain: String,
    pub difficulty: Option<u8>,
    /// Non-text modalities of the question, for a declared support set.
    pub input_modalities: Vec<Modality>,
    pub responded: bool,
    pub empty_response: bool,
    /// None when there is no response.
    pub sts: Option<f64>,
    pub les: Option<f64>,
    pub gt_items: Vec<Tag>,
    pub items: Vec<ItemUnit>,
    pub problems: Vec<Problem>,
}

/// The scale a semantic-correctness file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScScale {
    /// Integer ratings 1-5, mapped to (k - 1) / 4 like the local judge.
    Five,
    /// Values already in [0, 1] (older official runs: steps of 0.2), kept as written.
    Unit,
}

/// Stage `import-sc`: one instance's SC read from an official output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScImport {
    pub raw: f64,
    pub scale: ScScale,
    pub value: f64,
    pub file: String,
}

/// Stage `import-gq`: one item's GQ read from an official output file (0-100 or null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GqImport {
    pub raw: Option<f64>,
    pub value: Option<f64>,
    /// Why there is no value, when the file had one that was not usable.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invalid: Option<String>,
    pub file: String,
}

/// Stage `import-ics`: one instance's coherence ratings (1-5 each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IcsImport {
    pub coherence: f64,
    pub style_consistency: f64,
    pub hc: f64,
    pub sh: f64,
    pub file: String,
}

/// Stages `judge-sc`, `judge-hc`, `judge-sh`: one rating by the local judge, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgementUnit {
    /// Model card name.
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distribution: Option<crate::judge::verdict::RatingDistribution>,
    /// E[k] mapped to [0, 1].
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Caption text was cut to fit the context (the rule is in judge::fit).
    #[serde(default)]
    pub truncated: bool,
}

/// Stage `embed-sc`: embedding similarity between the reference and the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingUnit {
    pub model: String,
    /// The SC estimate in [0, 1] (embed::Embedder::sc_estimate: the cosine clamped, 0 for an
    /// empty answer).
    pub value: f64,
}

/// Where an instance's SC came from and what backs it, for reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `import`, `judge` or `embed`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sc_source: Option<String>,
    /// The embedding SC estimate, stored beside the judge's as a sanity signal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sc_embed: Option<f64>,
    /// The judge's rating distributions by criterion (`correctness`, `coherence`, `style`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub ratings: std::collections::BTreeMap<String, crate::judge::verdict::RatingDistribution>,
}

/// One quality scorer's result on one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerResult {
    pub scorer: String,
    pub version: String,
    #[serde(flatten)]
    pub score: crate::quality::QualityScore,
}

/// Stage `quality`: one generated item scored by its modality's default scorers. The item's GQ
/// is the mean of the scores they gave; None (with their reasons) when none gave one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityUnit {
    pub results: Vec<ScorerResult>,
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl QualityUnit {
    pub fn from_results(results: Vec<ScorerResult>) -> QualityUnit {
        let scores: Vec<f64> = results.iter().filter_map(|r| r.score.score).collect();
        let value = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        let reason = value.is_none().then(|| {
            results
                .iter()
                .map(|r| format!("{}: {}", r.scorer, r.score.reason.as_deref().unwrap_or("no score")))
                .collect::<Vec<_>>()
                .join("; ")
        });
        QualityUnit { results, value, reason }
    }
}

/// One piece of an item's caption: what produced it (a model card and the prompt it was given,
/// or a rule-based description with no model) and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionPart {
    /// What the text is: `speech`, `sound`, `image`, `keyframe`, `summary`, `view`, `text`.
    pub kind: String,
    /// Model card that wrote it; None for descriptions computed from the file itself.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<String>,
    /// The prompt that conditioned the model, when it took one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prompt: Option<String>,
    pub text: String,
}

/// Stage `caption`: one response item turned into text for the judge (its parts joined), or why
/// it could not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionUnit {
    pub parts: Vec<CaptionPart>,
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl CaptionUnit {
    /// Parts joined with "; "; no text (and the reason) when there are none.
    pub fn from_parts(parts: Vec<CaptionPart>, reason: Option<String>) -> CaptionUnit {
        let text = (!parts.is_empty()).then(|| parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("; "));
        CaptionUnit { parts, text, reason }
    }
}
