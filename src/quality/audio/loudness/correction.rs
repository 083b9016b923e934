//! The zero-phase FIR that gives the bilinear K-weighting at a rate below 44.1 kHz the 48 kHz
//! table filter's magnitude response (see the loudness module doc).

use super::kweight::{k_weighting, Input};
use super::STANDARD_RATE;

/// The correction FIR has 2 x CORRECTION_HALF + 1 taps (least squares over CORRECTION_GRID
/// frequencies from DC to Nyquist): worst-case magnitude error 0.006 dB at 8 to 32 kHz (0.001 dB
/// with 33 taps, which cost a third more and moved no loudness on our files by 0.001 LU).
const CORRECTION_HALF: usize = 12;
const CORRECTION_GRID: usize = 512;

/// A zero-phase FIR that turns the bilinear K-weighting at a low rate into the 48 kHz table
/// filter's magnitude response (see the module doc): taps h[0], h[1..] applied symmetrically.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub(super) taps: Vec<f32>,
}

impl Correction {
    /// Least-squares fit of sum_m h[m] cos(m w) to |K48(w')| / |K_rate(w)| on a uniform grid
    /// (w' = w rate / 48000), solved by the normal equations (the cosine basis is nearly
    /// orthogonal on such a grid, so they are well conditioned).
    pub fn design(rate: u32) -> Self {
        let (s48, h48) = k_weighting(STANDARD_RATE);
        let (s, h) = k_weighting(rate);
        let to48 = rate as f64 / STANDARD_RATE as f64;
        let m = CORRECTION_HALF + 1;
        let mut ata = vec![0f64; m * m];
        let mut atc = vec![0f64; m];
        let mut row = vec![0f64; m];
        // DC is skipped: both responses are 0 there (the high-pass).
        for j in 1..=CORRECTION_GRID {
            let w = std::f64::consts::PI * j as f64 / CORRECTION_GRID as f64;
            let target = s48.magnitude(w * to48) * h48.magnitude(w * to48) / (s.magnitude(w) * h.magnitude(w));
            row[0] = 1.0;
            for (k, r) in row.iter_mut().enumerate().skip(1) {
                *r = 2.0 * (k as f64 * w).cos();
            }
            for a in 0..m {
                atc[a] += row[a] * target;
                for b in 0..m {
                    ata[a * m + b] += row[a] * row[b];
                }
            }
        }
        let taps = solve(&mut ata, &mut atc, m).into_iter().map(|t| t as f32).collect();
        Correction { taps }
    }

    /// out[i] = sum_k taps[|k|] window[half + i + k]: `window` holds the input from `half`
    /// samples before out's first position to `half` after its last.
    #[inline(always)]
    pub(super) fn apply_window(&self, window: &[f32], out: &mut [f32]) {
        let half = self.taps.len() - 1;
        let n = out.len();
        let centre = &window[half..half + n];
        for (o, c) in out.iter_mut().zip(centre) {
            *o = self.taps[0] * c;
        }
        for (k, t) in self.taps.iter().enumerate().skip(1) {
            let (before, after) = (&window[half - k..half - k + n], &window[half + k..half + k + n]);
            for ((o, p), q) in out.iter_mut().zip(before).zip(after) {
                *o += t * (p + q);
            }
        }
    }

    /// The filtered signal, same length, delay compensated (zeros assumed outside `x`).
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; x.len()];
        Input { x, correction: Some(self) }.fill(0, &mut out, &mut Vec::new());
        out
    }
}

/// Solves the symmetric positive definite system `a x = b` (n x n, row-major) by Gaussian
/// elimination with partial pivoting.
fn solve(a: &mut [f64], b: &mut [f64], n: usize) -> Vec<f64> {
    for col in 0..n {
        let pivot = (col..n).max_by(|x, y| a[x * n + col].abs().total_cmp(&a[y * n + col].abs())).unwrap_or(col);
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        for r in col + 1..n {
            let f = a[r * n + col] / a[col * n + col];
            for k in col..n {
                a[r * n + k] -= f * a[col * n + k];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0f64; n];
    for r in (0..n).rev() {
        let tail: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - tail) / a[r * n + r];
    }
    x
}

/// The correction for `rate`, designed once per rate.
pub(super) fn for_rate(rate: u32) -> std::sync::Arc<Correction> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<u32, Arc<Correction>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&rate) {
        return c.clone();
    }
    let c = Arc::new(Correction::design(rate));
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(rate, c.clone());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_low_rate_weighting_has_the_table_filters_magnitude() {
        let (s48, h48) = k_weighting(STANDARD_RATE);
        for rate in [8_000u32, 11_025, 16_000, 22_050, 24_000, 32_000] {
            let c = Correction::design(rate);
            let (s, h) = k_weighting(rate);
            let mut worst = 0f64;
            // Off the design grid, from 20 Hz to Nyquist.
            for j in 0..1000 {
                let f = 20.0 + (rate as f64 / 2.0 - 20.0) * j as f64 / 999.0;
                let w = 2.0 * std::f64::consts::PI * f / rate as f64;
                let fir: f64 = c.taps[0] as f64
                    + c.taps.iter().enumerate().skip(1).map(|(k, t)| 2.0 * *t as f64 * (k as f64 * w).cos()).sum::<f64>();
                let w48 = 2.0 * std::f64::consts::PI * f / STANDARD_RATE as f64;
                let got = s.magnitude(w) * h.magnitude(w) * fir;
                let want = s48.magnitude(w48) * h48.magnitude(w48);
                worst = worst.max((20.0 * (got / want).log10()).abs());
            }
            assert!(worst < 0.01, "{rate} Hz: {worst} dB");
        }
    }

    #[test]
    fn correction_filter_is_zero_phase_and_keeps_the_length() {
        let c = Correction::design(16_000);
        let mut impulse = vec![0f32; 101];
        impulse[50] = 1.0;
        let y = c.apply(&impulse);
        assert_eq!(y.len(), impulse.len());
        for k in 0..c.taps.len() {
            assert_eq!(y[50 + k], c.taps[k]);
            assert_eq!(y[50 - k], c.taps[k]);
        }
    }
}
