//! Helpers shared by the integration tests that use real weights.
// Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::PathBuf;

/// Where the model store puts `card` (searched like the binary does: `$OMNISCORE_MODELS`, the
/// project's `models/store`, the Hugging Face cache); the first store root when it is not there.
pub fn model_dir(card: &str) -> PathBuf {
    let store = omniscore::runtime::model_store::ModelStore::from_env();
    match omniscore::runtime::card::find_card(card).map(|c| store.locate(&c)) {
        Ok(Ok(files)) => files.dir,
        _ => store.roots().next().map(|r| r.join(card)).unwrap_or_else(|| PathBuf::from(card)),
    }
}

/// Ranks from 1, ties given their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson correlation of the ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

