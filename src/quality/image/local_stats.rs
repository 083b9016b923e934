//! The local statistics behind NIQE and BRISQUE as Candle custom ops, with their CPU reference.
//!
//! - [`Mscn`]: Gaussian-weighted (7x7, sigma 7/6, zero padding) local mean mu and deviation
//!   sigma = sqrt(|E[x^2] - mu^2|), then MSCN = (x - mu) / (sigma + c). This is
//!   skvideo.utils.compute_image_mscn_transform (separable correlate1d, mode 'constant') and the
//!   brisque package's calculate_mscn_coefficients (convolve2d 'same', fill 0) alike: the 2-D
//!   kernel of both is the outer product of the same normalised 1-D Gaussian.
//! - [`PairedStats`]: the paired products of neighbouring MSCN coefficients (horizontal,
//!   vertical, main and secondary diagonal) reduced, per patch, to the sufficient statistics of
//!   an asymmetric generalised Gaussian fit: for the MSCN map and each product map,
//!   [n(x<0), sum x^2 (x<0), n(x>=0), sum x^2 (x>=0), sum |x|]. The products are never
//!   materialised, which is where the references spend their memory traffic.
//!
//! The GPU kernels (kernels/cuda/local_stats.cu, kernels/metal/local_stats.metal) implement the
//! same two ops with the same output layout; this file is the reference they are tested against.
//! Until their `cuda_fwd` / `metal_fwd` glue lands the ops are CPU-only, and the scorers keep
//! their tensors on the CPU whatever the context's device.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

/// Half-width of the 7x7 window the references use.
pub const WINDOW_RADIUS: usize = 3;
pub const WINDOW_TAPS: usize = 2 * WINDOW_RADIUS + 1;
/// Standard deviation of the window, 7/6 in both references.
pub const WINDOW_SIGMA: f64 = 7.0 / 6.0;
/// Coefficient maps in [`PairedStats`] output order.
pub const MAPS: usize = 5;
/// Statistics per map in [`PairedStats`] output order.
pub const STATS: usize = 5;
pub const STAT_NEG_COUNT: usize = 0;
pub const STAT_NEG_SQ: usize = 1;
pub const STAT_POS_COUNT: usize = 2;
pub const STAT_POS_SQ: usize = 3;
pub const STAT_ABS: usize = 4;

/// The normalised 1-D Gaussian window (radius 3, sigma 7/6).
pub fn gaussian_window() -> [f32; WINDOW_TAPS] {
    let mut w = [0f64; WINDOW_TAPS];
    for (i, v) in w.iter_mut().enumerate() {
        let d = i as f64 - WINDOW_RADIUS as f64;
        *v = (-0.5 * d * d / (WINDOW_SIGMA * WINDOW_SIGMA)).exp();
    }
    let sum: f64 = w.iter().sum();
    w.map(|v| (v / sum) as f32)
}

/// MSCN coefficients of a (H, W) f32 image: see the module header.
#[derive(Debug, Clone)]
pub struct Mscn {
    pub window: [f32; WINDOW_TAPS],
    /// Added to the local deviation; 1 for 0..255 images in both references (brisque's
    /// 1/255 on [0, 1] images is the same map).
    pub c: f32,
}

impl Mscn {
    pub fn new(c: f32) -> Mscn {
        Mscn { window: gaussian_window(), c }
    }
}

/// How product maps treat the patch border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairMode {
    /// Neighbours wrap around inside each patch (numpy.roll per patch: skvideo's NIQE).
    Wrap,
    /// Only pairs inside the patch (slices m[:, :-1] * m[:, 1:] etc.: the brisque package).
    Crop,
}

/// Per-patch AGGD sufficient statistics of the MSCN map and its four paired-product maps:
/// output (patches, MAPS, STATS) f32, patches in row-major order over a grid of `patch`-sized
/// tiles from the top-left (the remainder is ignored), or one patch covering the whole image.
/// Maps: 0 MSCN, 1 horizontal (x, left), 2 vertical (x, up), 3 main diagonal (x, up-left),
/// 4 secondary diagonal (x, up-right).
#[derive(Debug, Clone)]
pub struct PairedStats {
    /// Square patch side; None for the whole image.
    pub patch: Option<usize>,
    pub mode: PairMode,
}

impl PairedStats {
    /// Patch grid (rows, cols, patch height, patch width) for an image of h x w.
    pub fn grid(&self, h: usize, w: usize) -> (usize, usize, usize, usize) {
        match self.patch {
            Some(p) if p > 0 => (h / p, w / p, p, p),
            _ => (1, 1, h, w),
        }
    }
}

fn image_dims(layout: &Layout, op: &str) -> candle_core::Result<(usize, usize)> {
    match layout.shape().dims() {
        [h, w] => Ok((*h, *w)),
        dims => candle_core::bail!("{op}: expected a (height, width) image, got shape {dims:?}"),
    }
}

fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let data = match storage {
        CpuStorage::F32(data) => data,
        other => candle_core::bail!("{op}: expected f32, got {:?}", other.dtype()),
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}

impl CustomOp1 for Mscn {
    fn name(&self) -> &'static str {
        "mscn"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let src = contiguous_f32(storage, layout, self.name())?;
        let out = mscn_cpu(src, h, w, &self.window, self.c);
        Ok((CpuStorage::F32(out), Shape::from((h, w))))
    }


}

impl CustomOp1 for PairedStats {
    fn name(&self) -> &'static str {
        "paired-stats"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let src = contiguous_f32(storage, layout, self.name())?;
        let (rows, cols, ph, pw) = self.grid(h, w);
        if rows * cols == 0 || ph == 0 || pw == 0 {
            candle_core::bail!("{}: a {h}x{w} image holds no {ph}x{pw} patch", self.name());
        }
        let mut out = Vec::with_capacity(rows * cols * MAPS * STATS);
        for r in 0..rows {
            for c in 0..cols {
                let stats = patch_stats(src, w, r * ph, c * pw, ph, pw, self.mode);
                out.extend(stats.iter().flatten().map(|&v| v as f32));
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows * cols, MAPS, STATS))))
    }


}

/// MSCN of a (h, w) image: per output row, the 7-row vertical correlation (zero rows outside)
/// into a padded row buffer, then the 7-tap horizontal one; all loops run over contiguous rows
/// so they vectorise. Accumulates in f64: E[x^2] - mu^2 cancels badly in f32 on 0..255 images
/// (skvideo's own float32 maths loses ~1e-4 there); the result stays within half an f32 ulp of
/// the mean (< 8e-6 on 0..255) of the exact value.
pub fn mscn_cpu(src: &[f32], h: usize, w: usize, window: &[f32; WINDOW_TAPS], c: f32) -> Vec<f32> {
    let r = WINDOW_RADIUS;
    let window = window.map(f64::from);
    let c = f64::from(c);
    let x64: Vec<f64> = src.iter().map(|&v| f64::from(v)).collect();
    let squares: Vec<f64> = x64.iter().map(|v| v * v).collect();
    let mut out = vec![0f32; h * w];
    // Row buffers padded by r zeros on each side for the horizontal pass.
    let mut mu_v = vec![0f64; w + 2 * r];
    let mut sq_v = vec![0f64; w + 2 * r];
    let mut mu = vec![0f64; w];
    let mut sq = vec![0f64; w];
    for i in 0..h {
        let (mu_mid, sq_mid) = (&mut mu_v[r..r + w], &mut sq_v[r..r + w]);
        mu_mid.fill(0.0);
        sq_mid.fill(0.0);
        for (k, &wk) in window.iter().enumerate() {
            let Some(row) = (i + k).checked_sub(r).filter(|&row| row < h) else { continue };
            let (x, x2) = (&x64[row * w..(row + 1) * w], &squares[row * w..(row + 1) * w]);
            for j in 0..w {
                mu_mid[j] += wk * x[j];
                sq_mid[j] += wk * x2[j];
            }
        }
        mu.fill(0.0);
        sq.fill(0.0);
        for (k, &wk) in window.iter().enumerate() {
            let (a, b) = (&mu_v[k..k + w], &sq_v[k..k + w]);
            for j in 0..w {
                mu[j] += wk * a[j];
                sq[j] += wk * b[j];
            }
        }
        let (x, o) = (&x64[i * w..(i + 1) * w], &mut out[i * w..(i + 1) * w]);
        for j in 0..w {
            let sigma = (sq[j] - mu[j] * mu[j]).abs().sqrt();
            // The mean is rounded to f32 as skvideo stores it: over a flat area it is then
            // exactly the pixel value and the coefficient exactly 0 (counted as x >= 0), not
            // a 1e-14 round-off of random sign that would flip the AGGD's left/right counts.
            let mean = f64::from(mu[j] as f32);
            o[j] = ((x[j] - mean) / (sigma + c)) as f32;
        }
    }
    out
}

/// Lane count of the row reductions: f32 lanes that the compiler keeps in vector registers.
const LANES: usize = 8;

/// Per-map sums of one patch (see [`PairedStats`]); f64 totals of f32 row sums.
pub fn patch_stats(
    src: &[f32],
    stride: usize,
    top: usize,
    left: usize,
    ph: usize,
    pw: usize,
    mode: PairMode,
) -> [[f64; STATS]; MAPS] {
    let mut totals = [[0f64; STATS]; MAPS];
    let mut products = vec![0f32; pw];
    let row = |i: usize| &src[(top + i) * stride + left..(top + i) * stride + left + pw];
    for i in 0..ph {
        let cur = row(i);
        add_row(&mut totals[0], cur);
        let up = match (i, mode) {
            (0, PairMode::Crop) => None,
            (0, PairMode::Wrap) => Some(row(ph - 1)),
            _ => Some(row(i - 1)),
        };
        // Horizontal: x[j] * x[j - 1].
        let first = usize::from(mode == PairMode::Crop);
        if mode == PairMode::Wrap {
            products[0] = cur[0] * cur[pw - 1];
        }
        for j in 1..pw {
            products[j] = cur[j] * cur[j - 1];
        }
        add_row(&mut totals[1], &products[first..]);
        let Some(up) = up else { continue };
        // Vertical: x[j] * up[j].
        for j in 0..pw {
            products[j] = cur[j] * up[j];
        }
        add_row(&mut totals[2], &products);
        // Main diagonal: x[j] * up[j - 1].
        if mode == PairMode::Wrap {
            products[0] = cur[0] * up[pw - 1];
        }
        for j in 1..pw {
            products[j] = cur[j] * up[j - 1];
        }
        add_row(&mut totals[3], &products[first..]);
        // Secondary diagonal: x[j] * up[j + 1].
        for j in 0..pw - 1 {
            products[j] = cur[j] * up[j + 1];
        }
        let end = match mode {
            PairMode::Wrap => {
                products[pw - 1] = cur[pw - 1] * up[0];
                pw
            }
            PairMode::Crop => pw - 1,
        };
        add_row(&mut totals[4], &products[..end]);
    }
    totals
}

/// Adds one row's [n(x<0), sum x^2 (x<0), n(x>=0), sum x^2 (x>=0), sum |x|] to `total`.
fn add_row(total: &mut [f64; STATS], xs: &[f32]) {
    let mut neg_n = [0f32; LANES];
    let mut neg_sq = [0f32; LANES];
    let mut all_sq = [0f32; LANES];
    let mut abs = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for l in 0..LANES {
            let x = chunk[l];
            let neg = if x < 0.0 { 1.0 } else { 0.0 };
            let sq = x * x;
            neg_n[l] += neg;
            neg_sq[l] += sq * neg;
            all_sq[l] += sq;
            abs[l] += x.abs();
        }
    }
    for (l, &x) in tail.iter().enumerate() {
        let neg = if x < 0.0 { 1.0 } else { 0.0 };
        neg_n[l] += neg;
        neg_sq[l] += x * x * neg;
        all_sq[l] += x * x;
        abs[l] += x.abs();
    }
    let sum = |v: [f32; LANES]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
    let (n_neg, sq_neg, sq_all) = (sum(neg_n), sum(neg_sq), sum(all_sq));
    total[STAT_NEG_COUNT] += n_neg;
    total[STAT_NEG_SQ] += sq_neg;
    total[STAT_POS_COUNT] += xs.len() as f64 - n_neg;
    total[STAT_POS_SQ] += sq_all - sq_neg;
    total[STAT_ABS] += sum(abs);
}

/// The same MSCN built from stock Candle ops (conv2d with the 7x7 Gaussian, elementwise maths,
/// in f64 then rounded to the input's dtype): the plain composition the op is tested against.
pub fn mscn_reference(image: &Tensor, c: f64) -> candle_core::Result<Tensor> {
    let (h, w) = image.dims2()?;
    let window = gaussian_window();
    let mut kernel = Vec::with_capacity(WINDOW_TAPS * WINDOW_TAPS);
    for a in window {
        for b in window {
            kernel.push(a * b);
        }
    }
    let kernel = Tensor::from_vec(kernel, (1, 1, WINDOW_TAPS, WINDOW_TAPS), image.device())?
        .to_dtype(candle_core::DType::F64)?;
    let x = image.to_dtype(candle_core::DType::F64)?.reshape((1, 1, h, w))?;
    let mu = x.conv2d(&kernel, WINDOW_RADIUS, 1, 1, 1)?;
    let sq = x.sqr()?.conv2d(&kernel, WINDOW_RADIUS, 1, 1, 1)?;
    let sigma = (sq - mu.sqr()?)?.abs()?.sqrt()?;
    let out = ((x - mu)? / (sigma + c)?)?;
    out.reshape((h, w))?.to_dtype(image.dtype())
}

/// The same paired statistics from stock Candle ops over one whole-image patch
/// (narrow + mul + masks + sums), for the custom op's test.
pub fn paired_stats_reference(mscn: &Tensor, mode: PairMode) -> candle_core::Result<Tensor> {
    let (h, w) = mscn.dims2()?;
    let shifted = |rows: isize, cols: isize| -> candle_core::Result<Tensor> {
        // Value at (i, j) is mscn[(i + rows) mod h, (j + cols) mod w].
        let roll = |t: &Tensor, dim: usize, by: isize, n: usize| -> candle_core::Result<Tensor> {
            let by = by.rem_euclid(n as isize) as usize;
            if by == 0 {
                return Ok(t.clone());
            }
            Tensor::cat(&[t.narrow(dim, by, n - by)?, t.narrow(dim, 0, by)?], dim)
        };
        roll(&roll(mscn, 0, rows, h)?, 1, cols, w)
    };
    let maps = [
        mscn.clone(),
        (mscn * shifted(0, -1)?)?,
        (mscn * shifted(-1, 0)?)?,
        (mscn * shifted(-1, -1)?)?,
        (mscn * shifted(-1, 1)?)?,
    ];
    // Which products are pairs inside the image (Crop) rather than wrapped around its border.
    let valid = |dj: isize, di: bool| -> candle_core::Result<Tensor> {
        let mut mask = vec![1f32; h * w];
        for i in 0..h {
            for j in 0..w {
                let out_row = di && i == 0;
                let out_col = (dj < 0 && j == 0) || (dj > 0 && j == w - 1);
                if mode == PairMode::Crop && (out_row || out_col) {
                    mask[i * w + j] = 0.0;
                }
            }
        }
        Tensor::from_vec(mask, (h, w), mscn.device())
    };
    let masks =
        [valid(0, false)?, valid(-1, false)?, valid(0, true)?, valid(-1, true)?, valid(1, true)?];
    let mut stats = Vec::new();
    for (map, mask) in maps.iter().zip(&masks) {
        let neg = (map.lt(0f32)?.to_dtype(candle_core::DType::F32)? * mask)?;
        let sq = (map.sqr()? * mask)?;
        let n_all = mask.sum_all()?;
        let n_neg = neg.sum_all()?;
        let sq_neg = (&sq * &neg)?.sum_all()?;
        let sq_all = sq.sum_all()?;
        stats.extend([
            n_neg.clone(),
            sq_neg.clone(),
            (n_all - n_neg)?,
            (sq_all - sq_neg)?,
            (map.abs()? * mask)?.sum_all()?,
        ]);
    }
    Tensor::stack(&stats, 0)?.reshape((1, MAPS, STATS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// A deterministic textured test image on the 0..255 scale.
    fn texture(h: usize, w: usize) -> Tensor {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<f32> = (0..h * w)
            .map(|k| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let (i, j) = ((k / w) as f32, (k % w) as f32);
                let smooth = 128.0 + 60.0 * (i * 0.11).sin() * (j * 0.07).cos();
                (smooth + (state % 64) as f32 - 32.0).clamp(0.0, 255.0)
            })
            .collect();
        Tensor::from_vec(data, (h, w), &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar().unwrap()
    }

    #[test]
    fn mscn_op_matches_the_conv2d_composition() {
        for (h, w) in [(37, 53), (96, 96), (5, 4)] {
            let x = texture(h, w);
            let op = x.apply_op1_no_bwd(&Mscn::new(1.0)).unwrap();
            let reference = mscn_reference(&x, 1.0).unwrap();
            let diff = max_abs_diff(&op, &reference);
            assert!(diff < 1e-5, "{h}x{w}: max |op - conv2d| = {diff}");
        }
    }

    #[test]
    fn paired_stats_op_matches_the_tensor_composition() {
        let x = texture(29, 41);
        let mscn = x.apply_op1_no_bwd(&Mscn::new(1.0)).unwrap();
        for mode in [PairMode::Wrap, PairMode::Crop] {
            let op = mscn.apply_op1_no_bwd(&PairedStats { patch: None, mode }).unwrap();
            let reference = paired_stats_reference(&mscn, mode).unwrap();
            let (a, b) = (op.flatten_all().unwrap(), reference.flatten_all().unwrap());
            for (u, v) in a.to_vec1::<f32>().unwrap().iter().zip(b.to_vec1::<f32>().unwrap()) {
                let tol = 1e-5 * v.abs().max(1.0);
                assert!((u - v).abs() <= tol, "{mode:?}: op {u} vs composition {v}");
            }
        }
    }

    #[test]
    fn patches_tile_from_the_top_left() {
        let x = texture(100, 70);
        let op = PairedStats { patch: Some(32), mode: PairMode::Wrap };
        let out = x.apply_op1_no_bwd(&op).unwrap();
        assert_eq!(out.dims(), &[3 * 2, MAPS, STATS]);
        // The second patch of the first row equals the whole-image stats of that crop.
        let crop = x.narrow(0, 0, 32).unwrap().narrow(1, 32, 32).unwrap().contiguous().unwrap();
        let whole = crop.apply_op1_no_bwd(&PairedStats { patch: None, mode: PairMode::Wrap });
        let diff = max_abs_diff(&out.get(1).unwrap(), &whole.unwrap().get(0).unwrap());
        assert!(diff < 1e-2, "{diff}");
    }
}
