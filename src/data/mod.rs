//! Benchmark formats -> [`Instance`]s: what a ground truth or a response says, with its items.

pub mod modality;
pub mod placeholder;
pub mod records;
pub mod synth;
pub mod unim;

pub use modality::{Modality, Tag};
use placeholder::Reconciled;
use records::Position;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The three UniM fields. The instance's `domain` key holds the field (`general_domain` is a
/// spelling of general area seen in the released data); its `subdomain` key holds the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    NaturalScience,
    SocialScience,
    GeneralArea,
    /// A `domain` value that names none of the three fields.
    Other,
}

impl Field {
    pub const REPORTED: [Field; 4] = [Field::NaturalScience, Field::SocialScience, Field::GeneralArea, Field::Other];

    pub fn from_domain(domain: &str) -> Field {
        let norm: String = domain.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        match norm.as_str() {
            "natural_science" | "natural_sciences" => Field::NaturalScience,
            "social_science" | "social_sciences" => Field::SocialScience,
            "general_area" | "general_domain" | "general" => Field::GeneralArea,
            _ => Field::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::NaturalScience => "Natural Science",
            Field::SocialScience => "Social Science",
            Field::GeneralArea => "General Area",
            Field::Other => "Other",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Field::NaturalScience => "natural_science",
            Field::SocialScience => "social_science",
            Field::GeneralArea => "general_area",
            Field::Other => "other",
        }
    }
}

/// One side of an instance (`input` or `output`).
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub content: String,
    /// `modal` entries with a known modality; the value is the path or inline text (None when
    /// the entry was not a string).
    pub modal: BTreeMap<Tag, Option<String>>,
    /// `modal` keys that name no modality, as written.
    pub unknown_keys: Vec<String>,
    /// `content` placeholders joined with `modal` keys.
    pub items: Reconciled,
}

impl Side {
    /// Nothing to score: no text and no item.
    pub fn is_empty(&self) -> bool {
        self.content.trim().is_empty() && self.items.items.is_empty()
    }
}

/// One UniM record: a ground-truth instance or a model's response to it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub domain: String,
    pub subdomain: String,
    /// 1 easy, 2 medium, 3 hard.
    pub difficulty: Option<u8>,
    pub input: Side,
    pub output: Side,
    /// Where the record starts in its file.
    pub at: Position,
    /// sha256 of the record's bytes: the input part of every store key derived from it.
    pub fingerprint: String,
}

impl Instance {
    pub fn field(&self) -> Field {
        Field::from_domain(&self.domain)
    }
}
