//! Supporting rate: which instances a model supports, declared or inferred.

use crate::data::Modality;
use std::collections::BTreeSet;

/// How support is decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "modalities")]
pub enum SupportRule {
    /// Declared with `--supports`: an instance is supported when every non-text modality of
    /// its input is in the set.
    Declared(BTreeSet<Modality>),
    /// Inferred: an instance is unsupported when its response is missing or empty.
    Inferred,
}

/// What the rule needs to know about one instance.
pub struct SupportFacts<'a> {
    pub input_modalities: &'a [Modality],
    pub responded: bool,
    pub empty: bool,
}

impl SupportRule {
    pub fn supports(&self, facts: &SupportFacts) -> bool {
        match self {
            SupportRule::Declared(set) => facts
                .input_modalities
                .iter()
                .all(|m| *m == Modality::Text || set.contains(m)),
            SupportRule::Inferred => facts.responded && !facts.empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_and_inferred() {
        let declared = SupportRule::Declared([Modality::Image].into_iter().collect());
        let facts = |m: &'static [Modality], responded, empty| SupportFacts { input_modalities: m, responded, empty };
        assert!(declared.supports(&facts(&[Modality::Image, Modality::Text], true, false)));
        assert!(!declared.supports(&facts(&[Modality::Image, Modality::Audio], true, false)));
        assert!(SupportRule::Inferred.supports(&facts(&[Modality::Audio], true, false)));
        assert!(!SupportRule::Inferred.supports(&facts(&[], false, false)));
        assert!(!SupportRule::Inferred.supports(&facts(&[], true, true)));
    }
}
