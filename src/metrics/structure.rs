//! Strict (StS) and lenient (LeS) structure scores, as defined in docs/metrics.md:
//! per type m, g_m and r_m are the numbers of distinct ground-truth and response items;
//! StS = mean over m in G u R of 2 min(g_m, r_m) / (g_m + r_m), 1 when both are empty;
//! LeS = |G n R| / |G|, 1 when G is empty.

use crate::data::{Modality, Tag};
use std::collections::BTreeMap;

/// Items per modality type.
pub type TypeCounts = BTreeMap<Modality, u32>;

pub fn type_counts<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> TypeCounts {
    let mut counts = TypeCounts::new();
    for t in tags {
        *counts.entry(t.modality).or_default() += 1;
    }
    counts
}

/// StS: types and item counts must match; missing or extra types and tags lower it.
pub fn strict(gt: &TypeCounts, resp: &TypeCounts) -> f64 {
    let types: std::collections::BTreeSet<_> = gt.keys().chain(resp.keys()).collect();
    if types.is_empty() {
        return 1.0;
    }
    let sum: f64 = types
        .iter()
        .map(|m| {
            let g = gt.get(m).copied().unwrap_or(0) as f64;
            let r = resp.get(m).copied().unwrap_or(0) as f64;
            2.0 * g.min(r) / (g + r)
        })
        .sum();
    sum / types.len() as f64
}

/// LeS: coverage of the ground truth's types; extra types cost nothing.
pub fn lenient(gt: &TypeCounts, resp: &TypeCounts) -> f64 {
    if gt.is_empty() {
        return 1.0;
    }
    let covered = gt.keys().filter(|m| resp.contains_key(m)).count();
    covered as f64 / gt.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use Modality::*;

    fn counts(spec: &[(Modality, u32)]) -> TypeCounts {
        spec.iter().copied().collect()
    }

    #[test]
    fn exact_match_scores_one() {
        let g = counts(&[(Image, 2), (Audio, 1)]);
        assert_eq!(strict(&g, &g), 1.0);
        assert_eq!(lenient(&g, &g), 1.0);
        assert_eq!(strict(&TypeCounts::new(), &TypeCounts::new()), 1.0);
    }

    #[test]
    fn sample_instance_two() {
        // GT image2 + audio2; response video1 + audio2.
        let g = counts(&[(Image, 1), (Audio, 1)]);
        let r = counts(&[(Video, 1), (Audio, 1)]);
        assert!((strict(&g, &r) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(lenient(&g, &r), 0.5);
    }

    #[test]
    fn tag_count_mismatch_is_partial() {
        let g = counts(&[(Image, 2)]);
        let r = counts(&[(Image, 1)]);
        assert!((strict(&g, &r) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(lenient(&g, &r), 1.0);
    }
}
