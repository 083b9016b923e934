//! BRISQUE, the Blind/Referenceless Image Spatial Quality Evaluator (Mittal, Moorthy, Bovik,
//! IEEE TIP 21(12), 2012), exactly as the `brisque` 0.2.0 package (PyPI) computes
//! `BRISQUE().score(rgb)`, with its libsvm model (models/brisque_svr.json, converted from
//! svm.txt and normalize.pickle by scripts/convert-iqa-params.py).
//!
//! Reference steps, all reproduced: skimage rgb2gray (0.2125 R + 0.7154 G + 0.0721 B, here on
//! 0..255 with C = 1, the same MSCN as [0, 1] with C = 1/255); MSCN (7x7 Gaussian, sigma 7/6,
//! zero padding); AGGD fits of the MSCN map and of the four whole-image paired products
//! (without wrap-around); 18 features at full scale and 18 after OpenCV INTER_CUBIC at 0.5;
//! each feature scaled to [-1, 1] by the stored min/max; an epsilon-SVR with RBF kernel:
//! score = sum_i coef_i exp(-gamma |x - sv_i|^2) - rho. Lower is better (about 0-100).

use super::aggd::aggd_brisque;
use super::local_stats::{Mscn, MscnPairedStats, PairMode, PairedStats, MAPS, STATS};
use super::resize::half_opencv_cubic;
use candle_core::{Device, Tensor};
use std::sync::OnceLock;

/// Smallest side scored: below it the half-scale image has too few coefficient pairs for the
/// AGGD fits to mean anything (the package itself returns NaN or garbage there).
pub const MIN_SIDE: usize = 16;
/// MSCN stabiliser on the 0..255 scale (the package's 1/255 on [0, 1]).
const MSCN_C: f32 = 1.0;
pub const FEATURES: usize = 36;
const FEATURES_PER_SCALE: usize = 18;
const SVR_JSON: &str = include_str!("../../../models/brisque_svr.json");

#[derive(serde::Deserialize)]
struct Svr {
    gamma: f64,
    rho: f64,
    feature_min: Vec<f64>,
    feature_max: Vec<f64>,
    sv_coef: Vec<f64>,
    support_vectors: Vec<Vec<f64>>,
}

fn model() -> Result<&'static Svr, String> {
    static MODEL: OnceLock<Result<Svr, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let m: Svr = serde_json::from_str(SVR_JSON)
                .map_err(|e| format!("models/brisque_svr.json: {e}"))?;
            let ok = m.feature_min.len() == FEATURES
                && m.feature_max.len() == FEATURES
                && m.sv_coef.len() == m.support_vectors.len()
                && m.support_vectors.iter().all(|sv| sv.len() == FEATURES);
            if !ok {
                return Err("models/brisque_svr.json: inconsistent SVR dimensions".into());
            }
            Ok(m)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// BRISQUE of a 0..255 grey image (skimage weights, row-major h x w).
pub fn brisque(grey: &[f32], h: usize, w: usize) -> Result<f64, String> {
    brisque_on(grey.to_vec(), h, w, &Device::Cpu)
}

/// [`brisque`] of an owned grey buffer (no copy), with the local statistics computed on
/// `device` (the CPU, or a CUDA / Metal device with those features).
pub fn brisque_on(grey: Vec<f32>, h: usize, w: usize, device: &Device) -> Result<f64, String> {
    if h < MIN_SIDE || w < MIN_SIDE {
        return Err(format!(
            "BRISQUE needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {w}x{h}"
        ));
    }
    if grey.len() != h * w {
        return Err(format!(
            "BRISQUE: {} grey values for a {w}x{h} image",
            grey.len()
        ));
    }
    let svr = model()?;
    let (half, hh, hw) = half_opencv_cubic(&grey, h, w);
    let (full, second) = if device.is_cpu() {
        // The two scales are independent: run them side by side (each is parallel inside).
        rayon::join(
            || scale_features(grey, h, w, device),
            || scale_features(half, hh, hw, device),
        )
    } else {
        (
            scale_features(grey, h, w, device),
            scale_features(half, hh, hw, device),
        )
    };
    let full = full.map_err(|e| format!("BRISQUE: {e}"))?;
    let second = second.map_err(|e| format!("BRISQUE: {e}"))?;
    let mut features = [0f64; FEATURES];
    features[..FEATURES_PER_SCALE].copy_from_slice(&full);
    features[FEATURES_PER_SCALE..].copy_from_slice(&second);
    Ok(predict(svr, &features))
}

/// The 18 features of one scale: [alpha, variance] of the MSCN map, then
/// [alpha, mean, sigma_l^2, sigma_r^2] of the horizontal, vertical and two diagonal products.
fn scale_features(
    image: Vec<f32>,
    h: usize,
    w: usize,
    device: &Device,
) -> candle_core::Result<[f64; FEATURES_PER_SCALE]> {
    let x = Tensor::from_vec(image, (h, w), &Device::Cpu)?.to_device(device)?;
    let op = MscnPairedStats {
        mscn: Mscn::new(MSCN_C),
        stats: PairedStats {
            patch: None,
            mode: PairMode::Crop,
        },
    };
    let stats = x.apply_op1_no_bwd(&op)?;
    let stats = stats.flatten_all()?.to_vec1::<f32>()?;
    let map =
        |m: usize| -> [f64; STATS] { std::array::from_fn(|k| f64::from(stats[m * STATS + k])) };
    let mut f = [0f64; FEATURES_PER_SCALE];
    let (alpha, _, sl, sr) = aggd_brisque(&map(0));
    f[0] = alpha;
    f[1] = (sl * sl + sr * sr) / 2.0;
    for m in 1..MAPS {
        let (alpha, mean, sl, sr) = aggd_brisque(&map(m));
        f[2 + 4 * (m - 1)..2 + 4 * m].copy_from_slice(&[alpha, mean, sl * sl, sr * sr]);
    }
    Ok(f)
}

/// libsvm svm_predict for epsilon-SVR with the RBF kernel on min/max-scaled features.
fn predict(svr: &Svr, features: &[f64; FEATURES]) -> f64 {
    let x: Vec<f64> = (0..FEATURES)
        .map(|k| {
            let (lo, hi) = (svr.feature_min[k], svr.feature_max[k]);
            -1.0 + 2.0 / (hi - lo) * (features[k] - lo)
        })
        .collect();
    let sum: f64 = svr
        .sv_coef
        .iter()
        .zip(&svr.support_vectors)
        .map(|(coef, sv)| {
            let d2: f64 = sv.iter().zip(&x).map(|(s, v)| (s - v) * (s - v)).sum();
            coef * (-svr.gamma * d2).exp()
        })
        .sum();
    sum - svr.rho
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svr_model_parses() {
        let m = model().unwrap();
        assert_eq!(m.support_vectors.len(), 770);
        assert!((m.gamma - 0.05).abs() < 1e-12);
    }

    #[test]
    fn tiny_images_are_refused_with_a_reason() {
        let err = brisque(&[0.0], 1, 1).unwrap_err();
        assert!(err.contains("at least"), "{err}");
    }
}
