//! All quality scorers by name, and the default set per modality that `score` uses.

use super::{QualityError, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;

/// Every registered scorer, grouped by modality in a stable order.
pub fn all() -> Vec<ScorerInfo> {
    let mut all = Vec::new();
    all.extend(super::image::scorers());
    all.extend(super::audio::scorers());
    all.extend(super::video::scorers());
    all.extend(super::mesh::scorers());
    all.extend(super::code::scorers());
    all.extend(super::document::scorers());
    all
}

/// The registry entry called `name` (case-insensitive).
pub fn find(name: &str) -> Result<ScorerInfo, QualityError> {
    all()
        .into_iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| QualityError::UnknownScorer { name: name.to_string() })
}

/// The default scorers for a modality, in registry order.
pub fn defaults(modality: Modality) -> Vec<ScorerInfo> {
    all().into_iter().filter(|s| s.modality == modality && s.default).collect()
}

/// Builds the scorer called `name`.
pub fn build(name: &str, ctx: &ScorerContext) -> Result<Box<dyn Scorer>, QualityError> {
    (find(name)?.build)(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lower_case() {
        let names: Vec<&str> = all().iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate scorer names: {names:?}");
        assert!(names.iter().all(|n| *n == n.to_ascii_lowercase()), "{names:?}");
    }

    #[test]
    fn unknown_names_are_an_error_that_points_to_the_list() {
        let err = find("no-such-scorer").err().unwrap().to_string();
        assert!(err.contains("quality --list"), "{err}");
    }
}
