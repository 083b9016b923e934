//! Composes one instance's scores from its stored units, with a reason for every null.

use super::ics::ics;
use super::sqcs::{response_gq, sqcs};
use super::support::{SupportFacts, SupportRule};
use crate::data::{Field, Tag};
use crate::units::{GqImport, IcsImport, ItemUnit, ScImport, StructureUnit};
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
    fn from_option(v: Option<f64>, reason: &str) -> Self {
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
}

/// The stored units of one instance.
pub struct Units<'a> {
    pub structure: &'a StructureUnit,
    pub sc: Option<&'a ScImport>,
    pub gq: &'a BTreeMap<Tag, GqImport>,
    pub ics: Option<&'a IcsImport>,
    /// Whether each import was given at all (so a reason can say which flag is missing).
    pub sc_source: bool,
    pub gq_source: bool,
    pub ics_source: bool,
}

const NO_RESPONSE: &str = "no response for this instance";

pub fn compose(u: &Units, c: &Composition) -> InstanceScores {
    let s = u.structure;
    let supported = c.support.supports(&SupportFacts {
        input_modalities: &s.input_modalities,
        responded: s.responded,
        empty: s.empty_response,
    });
    let sts = Scored::from_option(s.sts, NO_RESPONSE);
    let les = Scored::from_option(s.les, NO_RESPONSE);

    let sc = match (u.sc, s.responded) {
        (_, false) => Scored::unknown(NO_RESPONSE),
        (Some(sc), _) => Scored::known(sc.value),
        (None, _) if u.sc_source => Scored::unknown("id not found in the imported SC file"),
        (None, _) => Scored::unknown("no SC source: no judge ran and no --import-sc file was given"),
    };

    let items: Vec<ItemScores> = s
        .items
        .iter()
        .filter(|i| i.modality.has_generation_quality())
        .map(|i| ItemScores { item: i.clone(), gq: item_gq(i, u.gq.get(&i.tag), u.gq_source) })
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
        (None, _) => Scored::unknown("SC unknown"),
        (_, None) => Scored::unknown("GQ unknown"),
    };

    let (hc, sh, ics_score) = match (u.ics, s.responded) {
        (_, false) => (Scored::unknown(NO_RESPONSE), Scored::unknown(NO_RESPONSE), Scored::unknown(NO_RESPONSE)),
        (Some(i), _) => (Scored::known(i.hc), Scored::known(i.sh), Scored::known(ics(i.hc, i.sh, c.eta_ics))),
        (None, _) => {
            let why = if u.ics_source {
                "id not found in the imported coherence file"
            } else {
                "no HC/SH source: no judge ran and no --import-ics file was given"
            };
            (Scored::unknown(why), Scored::unknown(why), Scored::unknown(why))
        }
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
    }
}

fn item_gq(item: &ItemUnit, imported: Option<&GqImport>, gq_source: bool) -> Scored {
    let media_note = item.media.unusable_reason();
    match imported {
        Some(GqImport { value: Some(v), .. }) => Scored::known(*v),
        Some(GqImport { invalid: Some(text), .. }) => {
            Scored::unknown(format!("the imported GQ file has {text}, not a number in 0-100"))
        }
        Some(GqImport { value: None, .. }) => Scored::unknown(match media_note {
            Some(note) => format!("{note}; the imported GQ file has null"),
            None => "the imported GQ file has null for this item".into(),
        }),
        None => Scored::unknown(match (media_note, gq_source) {
            (Some(note), _) => note,
            (None, true) => "item not in the imported GQ file".into(),
            (None, false) => "no GQ source: no quality scorer ran and no --import-gq file was given".into(),
        }),
    }
}
