//! Asymmetric generalised Gaussian (AGGD) fits from the sufficient statistics of
//! `local_stats::PairedStats`, exactly as each reference computes them:
//! - skvideo.utils.stats.aggd_features (NIQE): the shape alpha is the grid point of
//!   `arange(0.2, 10, 0.001)` closest to the moment ratio (a table look-up, not a solve);
//! - brisque 0.2.0 asymmetric_generalized_gaussian_fit: alpha is the root of
//!   phi(alpha) = R_hat (scipy.optimize.root from 0.2), solved here by bisection on a bracket;
//!   phi is strictly increasing, so the root is unique and any solver finds the same one.

use super::local_stats::{STATS, STAT_ABS, STAT_NEG_COUNT, STAT_NEG_SQ, STAT_POS_COUNT, STAT_POS_SQ};
use std::sync::OnceLock;

/// skvideo's alpha grid: start, step, and number of points (`np.arange(0.2, 10, 0.001)`).
const GRID_START: f64 = 0.2;
const GRID_STEP: f64 = 0.001;
const GRID_POINTS: usize = 9800;
/// Bracket for brisque's alpha root; phi(0.05) ~ 2e-9 and phi(100) ~ 0.75 cover every ratio
/// a real image gives, and a ratio outside is clamped to the bracket's end.
const ROOT_LOW: f64 = 0.05;
const ROOT_HIGH: f64 = 100.0;
const ROOT_ITERATIONS: usize = 200;

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

pub fn gamma(x: f64) -> f64 {
    ln_gamma(x).exp()
}

/// phi(alpha) = Gamma(2/alpha)^2 / (Gamma(1/alpha) Gamma(3/alpha)), in logs so that small
/// alphas do not overflow.
pub fn phi(alpha: f64) -> f64 {
    (2.0 * ln_gamma(2.0 / alpha) - ln_gamma(1.0 / alpha) - ln_gamma(3.0 / alpha)).exp()
}

fn phi_table() -> &'static [f64] {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    TABLE.get_or_init(|| (0..GRID_POINTS).map(|i| phi(grid_alpha(i))).collect())
}

fn grid_alpha(i: usize) -> f64 {
    GRID_START + i as f64 * GRID_STEP
}

/// The moments every fit starts from.
struct Moments {
    left_mean_sqrt: f64,
    right_mean_sqrt: f64,
    /// mean(|x|)^2 / mean(x^2)
    r_hat: f64,
}

fn moments(s: &[f64; STATS]) -> Moments {
    let (n_neg, n_pos) = (s[STAT_NEG_COUNT], s[STAT_POS_COUNT]);
    let n = n_neg + n_pos;
    let mean_sqrt = |sq: f64, n: f64| if n > 0.0 { (sq / n).sqrt() } else { 0.0 };
    let mean_sq = (s[STAT_NEG_SQ] + s[STAT_POS_SQ]) / n;
    let mean_abs = s[STAT_ABS] / n;
    Moments {
        left_mean_sqrt: mean_sqrt(s[STAT_NEG_SQ], n_neg),
        right_mean_sqrt: mean_sqrt(s[STAT_POS_SQ], n_pos),
        r_hat: if mean_sq != 0.0 { mean_abs * mean_abs / mean_sq } else { f64::INFINITY },
    }
}

/// R_hat: r_hat corrected for the asymmetry gamma = left / right.
fn r_hat_norm(r_hat: f64, g: f64) -> f64 {
    r_hat * ((g.powi(3) + 1.0) * (g + 1.0)) / (g * g + 1.0).powi(2)
}

/// skvideo's aggd_features: (alpha, N, bl, br).
pub fn aggd_skvideo(s: &[f64; STATS]) -> (f64, f64, f64, f64) {
    let m = moments(s);
    let g = if m.right_mean_sqrt != 0.0 {
        m.left_mean_sqrt / m.right_mean_sqrt
    } else {
        f64::INFINITY
    };
    let target = r_hat_norm(m.r_hat, g);
    let alpha = grid_alpha(nearest_grid_point(target));
    let (gam1, gam2, gam3) = (gamma(1.0 / alpha), gamma(2.0 / alpha), gamma(3.0 / alpha));
    let ratio = gam1.sqrt() / gam3.sqrt();
    let (bl, br) = (ratio * m.left_mean_sqrt, ratio * m.right_mean_sqrt);
    (alpha, (br - bl) * (gam2 / gam1), bl, br)
}

/// numpy.argmin((table - target)^2) on the increasing table: the first of equally close points.
fn nearest_grid_point(target: f64) -> usize {
    let table = phi_table();
    if !target.is_finite() {
        // numpy's argmin of all-inf or NaN distances is the first point.
        return 0;
    }
    let upper = table.partition_point(|&v| v < target);
    let candidates = [upper.saturating_sub(1), upper.min(GRID_POINTS - 1)];
    let distance = |i: usize| (table[i] - target).powi(2);
    if distance(candidates[0]) <= distance(candidates[1]) {
        candidates[0]
    } else {
        candidates[1]
    }
}

/// brisque's asymmetric_generalized_gaussian_fit: (alpha, mean, sigma_l, sigma_r).
pub fn aggd_brisque(s: &[f64; STATS]) -> (f64, f64, f64, f64) {
    let m = moments(s);
    // brisque takes the mean of empty selections as NaN; keep that (the score becomes None).
    let sided = |sq: f64, n: f64| if n > 0.0 { (sq / n).sqrt() } else { f64::NAN };
    let sigma_l = sided(s[STAT_NEG_SQ], s[STAT_NEG_COUNT]);
    let sigma_r = sided(s[STAT_POS_SQ], s[STAT_POS_COUNT]);
    let target = r_hat_norm(m.r_hat, sigma_l / sigma_r);
    let alpha = solve_phi(target);
    let constant = (gamma(1.0 / alpha) / gamma(3.0 / alpha)).sqrt();
    let mean = (sigma_r - sigma_l) * constant * (gamma(2.0 / alpha) / gamma(1.0 / alpha));
    (alpha, mean, sigma_l, sigma_r)
}

/// The alpha with phi(alpha) = target, by bisection in log(alpha) to machine precision.
fn solve_phi(target: f64) -> f64 {
    if target.is_nan() {
        return f64::NAN;
    }
    let (mut lo, mut hi) = (ROOT_LOW.ln(), ROOT_HIGH.ln());
    if target <= phi(ROOT_LOW) {
        return ROOT_LOW;
    }
    if target >= phi(ROOT_HIGH) {
        return ROOT_HIGH;
    }
    for _ in 0..ROOT_ITERATIONS {
        let mid = 0.5 * (lo + hi);
        if phi(mid.exp()) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    (0.5 * (lo + hi)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_matches_known_values() {
        for (x, want) in [(0.5, std::f64::consts::PI.sqrt()), (1.0, 1.0), (5.0, 24.0), (10.5, 1133278.3889487855)] {
            assert!((gamma(x) / want - 1.0).abs() < 1e-12, "Gamma({x}) = {} vs {want}", gamma(x));
        }
    }

    #[test]
    fn phi_grid_is_increasing_and_matches_scipy() {
        let t = phi_table();
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // scipy.special values: phi(0.2) and phi(9.999) from the same formula.
        assert!((t[0] - 0.06293706293706294).abs() < 1e-12, "{}", t[0]);
        assert!((t[GRID_POINTS - 1] - 0.7405328752004217).abs() < 1e-12);
    }

    #[test]
    fn gaussian_samples_fit_alpha_two() {
        // Symmetric moments of a unit Gaussian: E|x| = sqrt(2/pi), E x^2 = 1.
        let n = 1e6;
        let s = [n / 2.0, n / 2.0, n / 2.0, n / 2.0, n * (2.0 / std::f64::consts::PI).sqrt()];
        let (alpha, mean, ..) = aggd_brisque(&s);
        assert!((alpha - 2.0).abs() < 1e-9 && mean.abs() < 1e-12, "{alpha} {mean}");
        let (alpha, n_param, ..) = aggd_skvideo(&s);
        assert!((alpha - 2.0).abs() < 1.5e-3 && n_param.abs() < 1e-12, "{alpha}");
    }
}
