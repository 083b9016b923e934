//! The two half-scale resizes the references use, reproduced exactly (they differ, and the
//! second-scale features depend on it):
//! - NIQE (skvideo): `scipy.misc.imresize(img, 0.5, interp='bicubic', mode='F')`, i.e. Pillow's
//!   float32 `resize(BICUBIC)`: cubic kernel a = -0.5 stretched by the scale factor (an
//!   antialiasing filter), taps outside the image dropped and the weights renormalised,
//!   horizontal pass first with a float32 intermediate (Pillow's Resample.c);
//! - BRISQUE (brisque 0.2.0): `cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=INTER_CUBIC)`:
//!   cubic kernel a = -0.75 NOT stretched (plain interpolation at x_src = 2 x + 0.5), edge pixels
//!   replicated, output side = round-half-even(side * 0.5) (OpenCV's cvRound).
//!
//! Both are a separable filter given as per-output taps (source index, weight) on each axis,
//! run by [`resize_separable`]: bands of output rows in parallel, each band filtering the source
//! rows it needs horizontally, then vertically. At scale 2 the interior outputs share one set of
//! weights at source offsets 2x + c; those run through a fixed-tap loop over the even and odd
//! samples of the row, which vectorises, and sum in the same order as the general path.

use crate::simd::dispatch_avx512;
use rayon::prelude::*;

/// Pillow's bicubic parameter.
const PILLOW_A: f64 = -0.5;
/// Pillow's bicubic support at scale 1.
const PILLOW_SUPPORT: f64 = 2.0;
/// OpenCV's bicubic parameter.
const OPENCV_A: f32 = -0.75;
/// Output rows per parallel band. Each output value is computed independently of the split,
/// so the result does not depend on this or on the thread count.
const BAND_ROWS: usize = 32;

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

/// One axis of a separable resize: per output index, its (source index, weight) taps.
struct Axis {
    taps: Vec<Vec<(usize, f64)>>,
}

impl Axis {
    /// The run [lo, hi) of outputs x whose taps are (2x + offset + t, weights[t]) with one
    /// shared set of weights, if it has 4 or 8 taps (the two fixed-tap loops).
    fn stride_two_run(&self) -> Option<(usize, usize, isize, Vec<f64>)> {
        let n = self.taps.len();
        let mid = n / 2;
        let reference = self.taps.get(mid)?;
        if !matches!(reference.len(), 4 | 8) {
            return None;
        }
        let offset = reference[0].0 as isize - 2 * mid as isize;
        let weights: Vec<f64> = reference.iter().map(|&(_, k)| k).collect();
        let matches = |x: usize| {
            let taps = &self.taps[x];
            taps.len() == weights.len()
                && taps.iter().enumerate().all(|(t, &(i, k))| {
                    i as isize == 2 * x as isize + offset + t as isize && k == weights[t]
                })
        };
        if !matches(mid) {
            return None;
        }
        let mut lo = mid;
        while lo > 0 && matches(lo - 1) {
            lo -= 1;
        }
        let mut hi = mid + 1;
        while hi < n && matches(hi) {
            hi += 1;
        }
        Some((lo, hi, offset, weights))
    }
}

/// Pillow's precompute_coeffs: per output index, the source taps and their weights.
fn pillow_axis(in_size: usize, out_size: usize) -> Axis {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = PILLOW_SUPPORT * filter_scale;
    let taps = (0..out_size)
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
            (xmin..xmax).zip(k).collect()
        })
        .collect();
    Axis { taps }
}

/// Pillow `Image.resize((w/2, h/2), BICUBIC)` of a float32 (mode 'F') image, sizes truncated
/// like scipy.misc.imresize's `(array(size) * 0.5).astype(int)`.
pub fn half_pillow_bicubic(src: &[f32], h: usize, w: usize) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (h / 2, w / 2);
    let out = resize_separable(src, w, &pillow_axis(h, oh), &pillow_axis(w, ow), true);
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
fn opencv_axis(in_size: usize, out_size: usize) -> Axis {
    let inv_scale = 2.0f64;
    let taps = (0..out_size)
        .map(|d| {
            let f = ((d as f64 + 0.5) * inv_scale - 0.5) as f32;
            let s = f.floor();
            let weights = opencv_cubic_weights(f - s);
            let s = s as i64;
            (0..4)
                .map(|t| {
                    let i = (s - 1 + t as i64).clamp(0, in_size as i64 - 1) as usize;
                    (i, f64::from(weights[t]))
                })
                .collect()
        })
        .collect();
    Axis { taps }
}

/// `cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)` of a grey image
/// (double accumulation, as OpenCV does for floating-point images).
pub fn half_opencv_cubic(src: &[f32], h: usize, w: usize) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (opencv_half_side(h), opencv_half_side(w));
    let out = resize_separable(src, w, &opencv_axis(h, oh), &opencv_axis(w, ow), false);
    (out, oh, ow)
}

/// A stride-two run of an axis: outputs [lo, hi) whose taps are (2x + offset + t, weights[t]).
type Run = (usize, usize, isize, Vec<f64>);

/// Separable resize of a row-major image `w` wide: horizontal taps `cols`, then vertical taps
/// `rows`, f64 sums; the horizontal result is rounded to f32 first when `f32_intermediate`
/// (Pillow), else kept in f64 (OpenCV).
fn resize_separable(
    src: &[f32],
    w: usize,
    rows: &Axis,
    cols: &Axis,
    f32_intermediate: bool,
) -> Vec<f32> {
    let (oh, ow) = (rows.taps.len(), cols.taps.len());
    let mut out = vec![0f32; oh * ow];
    if oh == 0 || ow == 0 {
        return out;
    }
    let run = cols.stride_two_run();
    out.par_chunks_mut(BAND_ROWS * ow)
        .enumerate()
        .for_each(|(band, out)| {
            let band_taps = &rows.taps[band * BAND_ROWS..band * BAND_ROWS + out.len() / ow];
            resize_band(src, w, band_taps, cols, run.as_ref(), f32_intermediate, out);
        });
    out
}

fn resize_band(
    src: &[f32],
    w: usize,
    band_taps: &[Vec<(usize, f64)>],
    cols: &Axis,
    run: Option<&Run>,
    f32_intermediate: bool,
    out: &mut [f32],
) {
    dispatch_avx512!(
        resize_band_avx512,
        resize_band_avx2,
        resize_band_body,
        src,
        w,
        band_taps,
        cols,
        run,
        f32_intermediate,
        out
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn resize_band_avx512(
    src: &[f32],
    w: usize,
    band_taps: &[Vec<(usize, f64)>],
    cols: &Axis,
    run: Option<&Run>,
    f32_intermediate: bool,
    out: &mut [f32],
) {
    resize_band_body(src, w, band_taps, cols, run, f32_intermediate, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resize_band_avx2(
    src: &[f32],
    w: usize,
    band_taps: &[Vec<(usize, f64)>],
    cols: &Axis,
    run: Option<&Run>,
    f32_intermediate: bool,
    out: &mut [f32],
) {
    resize_band_body(src, w, band_taps, cols, run, f32_intermediate, out)
}

/// One band of output rows: the horizontal pass of the source rows it reads, then the
/// vertical pass.
#[inline(always)]
fn resize_band_body(
    src: &[f32],
    w: usize,
    band_taps: &[Vec<(usize, f64)>],
    cols: &Axis,
    run: Option<&Run>,
    f32_intermediate: bool,
    out: &mut [f32],
) {
    let ow = cols.taps.len();
    let first = band_taps
        .iter()
        .flatten()
        .map(|&(i, _)| i)
        .min()
        .unwrap_or(0);
    let last = band_taps
        .iter()
        .flatten()
        .map(|&(i, _)| i)
        .max()
        .unwrap_or(0);
    let mut tmp = vec![0f64; (last + 1 - first) * ow];
    let mut even = vec![0f64; w.div_ceil(2)];
    let mut odd = vec![0f64; w / 2];
    for (y, t) in (first..=last).zip(tmp.chunks_exact_mut(ow)) {
        horizontal(&src[y * w..(y + 1) * w], cols, run, &mut even, &mut odd, t);
        if f32_intermediate {
            for v in t.iter_mut() {
                *v = f64::from(*v as f32);
            }
        }
    }
    let tmp_row = |i: usize| &tmp[(i - first) * ow..(i - first + 1) * ow];
    let mut acc = vec![0f64; ow];
    for (taps, o) in band_taps.iter().zip(out.chunks_exact_mut(ow)) {
        let weights: Vec<f64> = taps.iter().map(|&(_, k)| k).collect();
        match taps.len() {
            4 => weighted4(
                &weights,
                std::array::from_fn(|t| tmp_row(taps[t].0)),
                &mut acc,
            ),
            8 => weighted8(
                &weights,
                std::array::from_fn(|t| tmp_row(taps[t].0)),
                &mut acc,
            ),
            _ => {
                acc.fill(0.0);
                for &(i, k) in taps {
                    for (a, &v) in acc.iter_mut().zip(tmp_row(i)) {
                        *a += k * v;
                    }
                }
            }
        }
        for (o, a) in o.iter_mut().zip(&acc) {
            *o = *a as f32;
        }
    }
}

/// out[j] = k0 v0[j] + k1 v1[j] + k2 v2[j] + k3 v3[j], summed in tap order like the general
/// path. The inputs are cut to out's length so the loop vectorises.
#[inline(always)]
fn weighted4(k: &[f64], v: [&[f64]; 4], out: &mut [f64]) {
    let n = out.len();
    let [a, b, c, d] = v.map(|s| &s[..n]);
    let (k0, k1, k2, k3) = (k[0], k[1], k[2], k[3]);
    for j in 0..n {
        out[j] = k0 * a[j] + k1 * b[j] + k2 * c[j] + k3 * d[j];
    }
}

/// [`weighted4`] with eight taps.
#[inline(always)]
fn weighted8(k: &[f64], v: [&[f64]; 8], out: &mut [f64]) {
    let n = out.len();
    let [a, b, c, d, e, f, g, h] = v.map(|s| &s[..n]);
    let (k0, k1, k2, k3, k4, k5, k6, k7) = (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
    for j in 0..n {
        out[j] = k0 * a[j]
            + k1 * b[j]
            + k2 * c[j]
            + k3 * d[j]
            + k4 * e[j]
            + k5 * f[j]
            + k6 * g[j]
            + k7 * h[j];
    }
}

/// Horizontal taps of one source row into `out` (f64): the stride-two run through the even
/// and odd samples (buffers of ceil(w/2) and floor(w/2)), every other output through its own
/// taps; both sum in tap order.
#[inline(always)]
fn horizontal(
    line: &[f32],
    cols: &Axis,
    run: Option<&Run>,
    even: &mut [f64],
    odd: &mut [f64],
    out: &mut [f64],
) {
    let (lo, hi) = match run {
        Some(&(lo, hi, offset, ref weights)) => {
            for (pair, (e, o)) in line
                .chunks_exact(2)
                .zip(even.iter_mut().zip(odd.iter_mut()))
            {
                *e = f64::from(pair[0]);
                *o = f64::from(pair[1]);
            }
            if line.len() % 2 == 1 {
                even[line.len() / 2] = f64::from(line[line.len() - 1]);
            }
            // Tap t reads line[2x + offset + t] = (even or odd)[x + q], q = floor((offset + t) / 2);
            // the run only holds outputs whose taps are all inside the row, so the slices exist.
            let view = |t: usize| -> &[f64] {
                let s = offset + t as isize;
                let arr: &[f64] = if s.rem_euclid(2) == 0 { even } else { odd };
                &arr[(lo as isize + s.div_euclid(2)) as usize..]
            };
            match weights.len() {
                4 => weighted4(weights, std::array::from_fn(view), &mut out[lo..hi]),
                _ => weighted8(weights, std::array::from_fn(view), &mut out[lo..hi]),
            }
            (lo, hi)
        }
        None => (0, 0),
    };
    for x in (0..lo).chain(hi..out.len()) {
        let mut acc = 0.0;
        for &(i, k) in &cols.taps[x] {
            acc += k * f64::from(line[i]);
        }
        out[x] = acc;
    }
}

/// Pixels per parallel task of [`weighted_grey`].
const GREY_CHUNK: usize = 1 << 16;

/// Weighted grey of packed 8-bit RGB on the 0..255 scale, rounded to f32 as both references
/// store it: (w0 R + w1 G + w2 B) in f64, exactly. The products come from three 256-entry
/// tables (the same f64 products), and chunks of pixels run in parallel; the scorers' input
/// conversion, ~4x faster than the per-pixel arithmetic at 1920x1080.
pub fn weighted_grey(rgb: &[u8], weights: [f64; 3]) -> Vec<f32> {
    let tables: [[f64; 256]; 3] =
        std::array::from_fn(|c| std::array::from_fn(|v| weights[c] * v as f64));
    let mut out = vec![0f32; rgb.len() / 3];
    out.par_chunks_mut(GREY_CHUNK)
        .enumerate()
        .for_each(|(k, out)| {
            let src = &rgb[k * GREY_CHUNK * 3..(k * GREY_CHUNK + out.len()) * 3];
            for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                *o = (tables[0][usize::from(p[0])]
                    + tables[1][usize::from(p[1])]
                    + tables[2][usize::from(p[2])]) as f32;
            }
        });
    out
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

    /// The plain per-output sums, with no stride-two loop and no bands.
    fn naive(src: &[f32], w: usize, rows: &Axis, cols: &Axis, f32_intermediate: bool) -> Vec<f32> {
        let h = src.len() / w;
        let ow = cols.taps.len();
        let tmp: Vec<f64> = (0..h)
            .flat_map(|y| {
                cols.taps.iter().map(move |taps| {
                    let v: f64 = taps
                        .iter()
                        .fold(0.0, |a, &(i, k)| a + k * f64::from(src[y * w + i]));
                    if f32_intermediate {
                        f64::from(v as f32)
                    } else {
                        v
                    }
                })
            })
            .collect();
        rows.taps
            .iter()
            .flat_map(|taps| {
                let tmp = &tmp;
                (0..ow).map(move |x| {
                    taps.iter().fold(0.0, |a, &(i, k)| a + k * tmp[i * ow + x]) as f32
                })
            })
            .collect()
    }

    #[test]
    fn fast_paths_equal_the_plain_sums_exactly() {
        // Odd and even sizes, several bands, and sides too small for a stride-two run.
        for (h, w) in [(100, 77), (96, 192), (75, 40), (7, 5), (3, 2)] {
            let src: Vec<f32> = (0..h * w)
                .map(|k| ((k * 7919) % 251) as f32 + 0.25 * (k % 3) as f32)
                .collect();
            let (out, oh, ow) = half_pillow_bicubic(&src, h, w);
            assert_eq!(
                out,
                naive(&src, w, &pillow_axis(h, oh), &pillow_axis(w, ow), true),
                "pillow {h}x{w}"
            );
            let (out, oh, ow) = half_opencv_cubic(&src, h, w);
            assert_eq!(
                out,
                naive(&src, w, &opencv_axis(h, oh), &opencv_axis(w, ow), false),
                "opencv {h}x{w}"
            );
        }
    }

    #[test]
    fn plain_and_simd_builds_agree_exactly() {
        let (h, w) = (70, 101);
        let src: Vec<f32> = (0..h * w)
            .map(|k| ((k * 7919) % 251) as f32 * 0.9)
            .collect();
        for (rows, cols, f32_intermediate) in [
            (pillow_axis(h, h / 2), pillow_axis(w, w / 2), true),
            (
                opencv_axis(h, opencv_half_side(h)),
                opencv_axis(w, opencv_half_side(w)),
                false,
            ),
        ] {
            let dispatched = resize_separable(&src, w, &rows, &cols, f32_intermediate);
            let run = cols.stride_two_run();
            let mut plain = vec![0f32; rows.taps.len() * cols.taps.len()];
            resize_band_body(
                &src,
                w,
                &rows.taps,
                &cols,
                run.as_ref(),
                f32_intermediate,
                &mut plain,
            );
            assert_eq!(dispatched, plain);
        }
    }

    #[test]
    fn weighted_grey_equals_the_per_pixel_arithmetic() {
        let rgb: Vec<u8> = (0..3 * 70_001)
            .map(|k| ((k * 7919 + k / 3) % 256) as u8)
            .collect();
        let weights = [0.2989, 0.5870, 0.1140];
        let plain: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| {
                (weights[0] * f64::from(p[0])
                    + weights[1] * f64::from(p[1])
                    + weights[2] * f64::from(p[2])) as f32
            })
            .collect();
        assert_eq!(weighted_grey(&rgb, weights), plain);
    }

    #[test]
    fn scale_two_axes_have_a_stride_two_interior() {
        let (lo, hi, offset, weights) = pillow_axis(192, 96).stride_two_run().unwrap();
        assert_eq!((weights.len(), offset), (8, -3));
        assert!(lo <= 2 && hi >= 94, "{lo}..{hi}");
        let (lo, hi, offset, weights) = opencv_axis(192, 96).stride_two_run().unwrap();
        assert_eq!((weights.len(), offset), (4, -1));
        assert!(lo <= 1 && hi >= 95, "{lo}..{hi}");
    }
}
