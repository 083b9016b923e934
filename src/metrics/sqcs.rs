//! Semantic-quality composite: SQCS = SC (eta + (1 - eta) GQ).

/// Default eta (paper section 6).
pub const DEFAULT_ETA_SQCS: f64 = 0.7;

pub fn sqcs(sc: f64, gq: f64, eta: f64) -> f64 {
    sc * (eta + (1.0 - eta) * gq)
}

/// GQ of a response: the mean of its scored non-text items; None when none was scored.
pub fn response_gq(item_scores: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = item_scores.into_iter().fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes() {
        assert!((sqcs(0.4, 0.80615, 0.7) - 0.376738).abs() < 1e-6);
        assert_eq!(sqcs(1.0, 0.0, 0.7), 0.7);
        assert_eq!(sqcs(0.0, 1.0, 0.7), 0.0);
        assert_eq!(response_gq([]), None);
        assert_eq!(response_gq([0.5, 1.0]), Some(0.75));
    }
}
