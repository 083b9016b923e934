//! The two half-scale resizes the references use, reproduced exactly (they differ, and the
//! second-scale features depend on it):
//! - NIQE (skvideo): `scipy.misc.imresize(img, 0.5, interp='bicubic', mode='F')`, i.e. Pillow's
//!   float32 `resize(BICUBIC)`: cubic kernel a = -0.5 stretched by the scale factor (an
//!   antialiasing filter), taps outside the image dropped and the weights renormalised,
//!   horizontal pass first with a float32 intermediate (Pillow's Resample.c);
//! - BRISQUE (brisque 0.2.0): `cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=INTER_CUBIC)`:
//!   cubic kernel a = -0.75 NOT stretched (plain interpolation at x_src = 2 x + 0.5), edge pixels
//!   replicated, output side = round-half-even(side * 0.5) (OpenCV's cvRound).

/// Pillow's bicubic parameter.
const PILLOW_A: f64 = -0.5;
/// Pillow's bicubic support at scale 1.
const PILLOW_SUPPORT: f64 = 2.0;
/// OpenCV's bicubic parameter.
const OPENCV_A: f32 = -0.75;

fn pillow_cubic(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        ((PILLOW_A + 2.0) * x - (PILLOW_A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * PILLOW_A
    } else {
        0.0
    }
}

/// Pillow's precompute_coeffs: per output index, the first source index and its weights.
fn pillow_coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = PILLOW_SUPPORT * filter_scale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C casts truncate toward zero; the clamps make that equal to floor here.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let mut k: Vec<f64> = (xmin..xmax)
                .map(|x| pillow_cubic((x as f64 - center + 0.5) / filter_scale))
                .collect();
            let total: f64 = k.iter().sum();
            if total != 0.0 {
                k.iter_mut().for_each(|v| *v /= total);
            }
            (xmin, k)
        })
        .collect()
}

/// Pillow `Image.resize((w/2, h/2), BICUBIC)` of a float32 (mode 'F') image, sizes truncated
/// like scipy.misc.imresize's `(array(size) * 0.5).astype(int)`.
pub fn half_pillow_bicubic(src: &[f32], h: usize, w: usize) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (h / 2, w / 2);
    let cols = pillow_coefficients(w, ow);
    let rows = pillow_coefficients(h, oh);
    let mut tmp = vec![0f32; h * ow];
    for y in 0..h {
        let line = &src[y * w..(y + 1) * w];
        for (x, (start, k)) in cols.iter().enumerate() {
            let acc: f64 = k.iter().zip(&line[*start..]).map(|(c, &v)| c * f64::from(v)).sum();
            tmp[y * ow + x] = acc as f32;
        }
    }
    let mut out = vec![0f32; oh * ow];
    let mut acc = vec![0f64; ow];
    for (y, (start, k)) in rows.iter().enumerate() {
        acc.fill(0.0);
        for (i, c) in k.iter().enumerate() {
            let line = &tmp[(start + i) * ow..(start + i + 1) * ow];
            for (a, &v) in acc.iter_mut().zip(line) {
                *a += c * f64::from(v);
            }
        }
        for (o, a) in out[y * ow..(y + 1) * ow].iter_mut().zip(&acc) {
            *o = *a as f32;
        }
    }
    (out, oh, ow)
}

/// OpenCV's interpolateCubic weights for the fractional offset `x` (in f32 as OpenCV has them).
fn opencv_cubic_weights(x: f32) -> [f32; 4] {
    let a = OPENCV_A;
    let w0 = ((a * (x + 1.0) - 5.0 * a) * (x + 1.0) + 8.0 * a) * (x + 1.0) - 4.0 * a;
    let w1 = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    let w2 = ((a + 2.0) * (1.0 - x) - (a + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    [w0, w1, w2, 1.0 - w0 - w1 - w2]
}

/// OpenCV output side for fx = 0.5: cvRound rounds half to even.
fn opencv_half_side(side: usize) -> usize {
    let half = side as f64 * 0.5;
    half.round_ties_even().max(1.0) as usize
}

/// Per output index, the four clamped source indices and their weights.
fn opencv_taps(in_size: usize, out_size: usize) -> Vec<([usize; 4], [f32; 4])> {
    let inv_scale = 2.0f64;
    (0..out_size)
        .map(|d| {
            let f = ((d as f64 + 0.5) * inv_scale - 0.5) as f32;
            let s = f.floor();
            let weights = opencv_cubic_weights(f - s);
            let s = s as i64;
            let idx = [s - 1, s, s + 1, s + 2].map(|i| i.clamp(0, in_size as i64 - 1) as usize);
            (idx, weights)
        })
        .collect()
}

/// `cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)` of a grey image
/// (double accumulation, as OpenCV does for floating-point images).
pub fn half_opencv_cubic(src: &[f32], h: usize, w: usize) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (opencv_half_side(h), opencv_half_side(w));
    let cols = opencv_taps(w, ow);
    let rows = opencv_taps(h, oh);
    // Horizontal pass kept in f64 (OpenCV's working type for double images).
    let mut tmp = vec![0f64; h * ow];
    for y in 0..h {
        let line = &src[y * w..(y + 1) * w];
        for (x, (idx, k)) in cols.iter().enumerate() {
            tmp[y * ow + x] = (0..4).map(|t| f64::from(k[t]) * f64::from(line[idx[t]])).sum();
        }
    }
    let mut out = vec![0f32; oh * ow];
    for (y, (idx, k)) in rows.iter().enumerate() {
        let o = &mut out[y * ow..(y + 1) * ow];
        for (x, v) in o.iter_mut().enumerate() {
            let acc: f64 = (0..4).map(|t| f64::from(k[t]) * tmp[idx[t] * ow + x]).sum();
            *v = acc as f32;
        }
    }
    (out, oh, ow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_images_stay_constant() {
        let src = vec![7.5f32; 13 * 10];
        let (out, oh, ow) = half_pillow_bicubic(&src, 13, 10);
        assert_eq!((oh, ow), (6, 5));
        assert!(out.iter().all(|v| (v - 7.5).abs() < 1e-5));
        let (out, oh, ow) = half_opencv_cubic(&src, 13, 10);
        assert_eq!((oh, ow), (6, 5)); // 6.5 rounds to 6 (half to even), 5 stays 5
        assert!(out.iter().all(|v| (v - 7.5).abs() < 1e-5));
    }

    #[test]
    fn opencv_weights_at_half_pixel() {
        let w = opencv_cubic_weights(0.5);
        assert_eq!(w, [-0.09375, 0.59375, 0.59375, -0.09375]);
    }
}
