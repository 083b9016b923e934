//! The shapes of the finished units of work kept in the store. A report is rendered only from
//! these, so a resumed run and an uninterrupted one render the same report.

use crate::data::placeholder::ItemSource;
use crate::data::{Field, Modality, Tag};
use crate::problem::Problem;
use serde::{Deserialize, Serialize};

/// Stage names used in store keys.
pub mod stage {
    pub const STRUCTURE: &str = "structure";
    pub const IMPORT_SC: &str = "import-sc";
    pub const IMPORT_GQ: &str = "import-gq";
    pub const IMPORT_ICS: &str = "import-ics";
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
