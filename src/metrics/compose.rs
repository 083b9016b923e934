//! Composes one instance's scores from its stored units, with a reason for every null.

use super::ics::ics;
use super::sqcs::{response_gq, sqcs};
use super::support::{SupportFacts, SupportRule};
use crate::data::{Field, Tag};
use crate::units::{Evidence, GqImport, ItemUnit, ScorerResult, StructureUnit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings that change composed scores but no stored unit: a report can be re-rendered with
/// other values without recomputing anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    pub eta_sqcs: f64,
    pub eta_ics: f64,
    pub support: SupportRule,
}

const TIDY: f64 = 1e12;

/// A score in [0, 1], or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl Scored {
    /// Rounded to 12 decimals: drops binary noise such as 0.7012999999999999 for 70.13 / 100
    /// without changing any score that matters.
    pub fn known(v: f64) -> Self {
        Scored { value: Some((v * TIDY).round() / TIDY), reason: None }
    }
    pub fn unknown(reason: impl Into<String>) -> Self {
        Scored { value: None, reason: Some(reason.into()) }
    }
    pub fn from_option(v: Option<f64>, reason: &str) -> Self {
        match v {
            Some(v) => Scored::known(v),
            None => Scored::unknown(reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemScores {
    #[serde(flatten)]
    pub item: ItemUnit,
    pub gq: Scored,
    /// Each quality scorer's result on this item (local GQ), for reports.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scorers: Vec<ScorerResult>,
    /// The text the judge saw for this item (and what wrote it), when it was captioned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub caption: Option<crate::units::CaptionUnit>,
}

/// Every score of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceScores {
    pub id: String,
    pub field: Field,
    pub domain: String,
    pub subdomain: String,
    pub difficulty: Option<u8>,
    pub supported: bool,
    pub sts: Scored,
    pub les: Scored,
    pub sc: Scored,
    pub gq: Scored,
    pub sqcs: Scored,
    pub hc: Scored,
    pub sh: Scored,
    pub ics: Scored,
    pub items: Vec<ItemScores>,
    /// Items whose GQ could not be had (excluded from the mean).
    pub gq_failed: usize,
    /// Where SC came from, the judge's rating distributions (confidence), the embedding SC.
    pub evidence: Evidence,
}

/// What one instance's scores are composed from: its structure unit, its GQ items, and SC, HC
/// and SH already resolved from whichever source the run used (import, judge, embedder), each a
/// value or the reason there is none.
pub struct Units<'a> {
    pub structure: &'a StructureUnit,
    pub sc: Scored,
    pub hc: Scored,
    pub sh: Scored,
    /// Each item's GQ, already resolved from the run's source (import or local scorers).
    pub gq: &'a BTreeMap<Tag, Scored>,
    /// Why an item absent from `gq` has none (when its media is not the reason).
    pub gq_missing: &'a str,
    /// The local scorers' results per item.
    pub quality: &'a BTreeMap<Tag, Vec<ScorerResult>>,
    /// Each captioned item's caption unit.
    pub captions: &'a BTreeMap<Tag, crate::units::CaptionUnit>,
    pub evidence: Evidence,
}

const NO_RESPONSE: &str = "no response for this instance";

pub fn compose(u: Units, c: &Composition) -> InstanceScores {
    let s = u.structure;
    let supported = c.support.supports(&SupportFacts {
        input_modalities: &s.input_modalities,
        responded: s.responded,
        empty: s.empty_response,
    });
    let sts = Scored::from_option(s.sts, NO_RESPONSE);
    let les = Scored::from_option(s.les, NO_RESPONSE);
    let answered = |x: Scored| if s.responded { x } else { Scored::unknown(NO_RESPONSE) };
    let sc = answered(u.sc);

    let items: Vec<ItemScores> = s
        .items
        .iter()
        .filter(|i| i.modality.has_generation_quality())
        .map(|i| ItemScores {
            item: i.clone(),
            gq: u.gq.get(&i.tag).cloned().unwrap_or_else(|| Scored::unknown(i.media.unusable_reason().unwrap_or_else(|| u.gq_missing.to_string()))),
            scorers: u.quality.get(&i.tag).cloned().unwrap_or_default(),
            caption: u.captions.get(&i.tag).cloned(),
        })
        .collect();
    let gq_failed = items.iter().filter(|i| i.gq.value.is_none()).count();
    let gq = if !s.responded {
        Scored::unknown(NO_RESPONSE)
    } else if items.is_empty() {
        Scored::unknown("response has no non-text item to score")
    } else {
        match response_gq(items.iter().filter_map(|i| i.gq.value)) {
            Some(v) => Scored::known(v),
            None => Scored::unknown(format!("none of the {} item(s) has a GQ score", items.len())),
        }
    };

    let sqcs = match (sc.value, gq.value) {
        (Some(sc), Some(gq)) => Scored::known(sqcs(sc, gq, c.eta_sqcs)),
        (None, _) => Scored::unknown(format!("SC unknown: {}", sc.reason.as_deref().unwrap_or(""))),
        (_, None) => Scored::unknown("GQ unknown"),
    };

    let (hc, sh) = (answered(u.hc), answered(u.sh));
    let ics_score = match (hc.value, sh.value) {
        (Some(h), Some(x)) => Scored::known(ics(h, x, c.eta_ics)),
        (None, _) => Scored::unknown(format!("HC unknown: {}", hc.reason.as_deref().unwrap_or(""))),
        (_, None) => Scored::unknown(format!("SH unknown: {}", sh.reason.as_deref().unwrap_or(""))),
    };

    InstanceScores {
        id: s.id.clone(),
        field: s.field,
        domain: s.domain.clone(),
        subdomain: s.subdomain.clone(),
        difficulty: s.difficulty,
        supported,
        sts,
        les,
        sc,
        gq,
        sqcs,
        hc,
        sh,
        ics: ics_score,
        items,
        gq_failed,
        evidence: u.evidence,
    }
}

/// An item's GQ from an official GQ file's entry.
pub fn imported_gq(item: &ItemUnit, imported: &GqImport) -> Scored {
    let media_note = item.media.unusable_reason();
    match imported {
        GqImport { value: Some(v), .. } => Scored::known(*v),
        GqImport { invalid: Some(text), .. } => Scored::unknown(format!("the imported GQ file has {text}, not a number in 0-100")),
        GqImport { value: None, .. } => Scored::unknown(match media_note {
            Some(note) => format!("{note}; the imported GQ file has null"),
            None => "the imported GQ file has null for this item".into(),
        }),
    }
}

/// Why an item has no GQ when no source covered it.
pub const NO_GQ_SOURCE: &str = "no GQ source: no quality scorer ran and no --import-gq file was given";
pub const NOT_IN_GQ_IMPORT: &str = "item not in the imported GQ file";
