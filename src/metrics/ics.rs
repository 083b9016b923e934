//! Interleaved coherence: ICS = eta HC + (1 - eta) SH.

/// Default eta (paper section 6).
pub const DEFAULT_ETA_ICS: f64 = 0.8;

pub fn ics(hc: f64, sh: f64, eta: f64) -> f64 {
    eta * hc + (1.0 - eta) * sh
}

/// Maps a 1-5 rating (or an expected rating) to [0, 1]: (k - 1) / 4.
pub fn rating_to_unit(k: f64) -> f64 {
    (k - 1.0) / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes() {
        assert!((ics(1.0, 0.5, 0.8) - 0.9).abs() < 1e-12);
        assert_eq!(rating_to_unit(1.0), 0.0);
        assert_eq!(rating_to_unit(5.0), 1.0);
        assert_eq!(rating_to_unit(3.0), 0.5);
    }
}
