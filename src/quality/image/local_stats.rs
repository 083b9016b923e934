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
//! - [`MscnPairedStats`]: the two in one op, what the scorers run; on the CPU it never stores
//!   the MSCN map whole.
//!
//! CPU path (`cpu`): bands of rows run in parallel (rayon) over a split that does not depend on
//! the thread count, so results are identical on any machine; the inner loops are written so
//! that they vectorise and are compiled twice, plain and with AVX2, picked at run time.
//! GPU paths (`gpu`): `cuda_fwd` runs kernels/cuda/local_stats.cu (PTX built by build.rs with the
//! `cuda` feature), `metal_fwd` kernels/metal/local_stats.metal (compiled by Metal at run time,
//! `metal` feature). This file is the reference they are tested against (tests/local_stats_gpu.rs).

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

#[cfg(any(feature = "cuda", feature = "metal"))]
mod gpu;
pub mod launch;

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


mod cpu;
mod lanes;
pub use cpu::{mscn_cpu, mscn_paired_stats_cpu, paired_stats_cpu, patch_stats, Grid, MapTotals};

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
        Mscn {
            window: gaussian_window(),
            c,
        }
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
    pub fn grid(&self, h: usize, w: usize) -> Grid {
        match self.patch {
            Some(p) if p > 0 => (h / p, w / p, p, p),
            _ => (1, 1, h, w),
        }
    }

    /// The grid, or why the image holds no patch.
    fn checked_grid(&self, h: usize, w: usize) -> candle_core::Result<Grid> {
        let (rows, cols, ph, pw) = self.grid(h, w);
        if rows * cols == 0 || ph == 0 || pw == 0 {
            candle_core::bail!("{}: a {h}x{w} image holds no {ph}x{pw} patch", self.name());
        }
        Ok((rows, cols, ph, pw))
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

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        gpu::mscn_cuda(self, storage, layout, h, w)
    }

    #[cfg(feature = "metal")]
    fn metal_fwd(
        &self,
        storage: &candle_core::MetalStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        gpu::mscn_metal(self, storage, layout, h, w)
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
        let grid = self.checked_grid(h, w)?;
        let totals = paired_stats_cpu(src, w, grid, self.mode);
        Ok(stats_storage(&totals))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let grid = self.checked_grid(h, w)?;
        gpu::paired_stats_cuda(self, storage, layout, w, grid)
    }

    #[cfg(feature = "metal")]
    fn metal_fwd(
        &self,
        storage: &candle_core::MetalStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let grid = self.checked_grid(h, w)?;
        gpu::paired_stats_metal(self, storage, layout, w, grid)
    }
}

/// [`Mscn`] then [`PairedStats`] as one op, (h, w) image in, PairedStats' output out: what the
/// scorers run. On the CPU the two are fused per band of rows (see `cpu`), so the MSCN map is
/// never stored whole, with exactly the unfused ops' values; on a GPU it is the two kernels in
/// sequence.
#[derive(Debug, Clone)]
pub struct MscnPairedStats {
    pub mscn: Mscn,
    pub stats: PairedStats,
}

/// (patches, MAPS, STATS) f32 storage of per-patch totals.
fn stats_storage(totals: &[MapTotals]) -> (CpuStorage, Shape) {
    let out = totals
        .iter()
        .flatten()
        .flatten()
        .map(|&v| v as f32)
        .collect();
    (
        CpuStorage::F32(out),
        Shape::from((totals.len(), MAPS, STATS)),
    )
}

impl CustomOp1 for MscnPairedStats {
    fn name(&self) -> &'static str {
        "mscn-paired-stats"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let src = contiguous_f32(storage, layout, self.name())?;
        let grid = self.stats.checked_grid(h, w)?;
        let (window, c, mode) = (&self.mscn.window, self.mscn.c, self.stats.mode);
        Ok(stats_storage(&mscn_paired_stats_cpu(
            src, w, window, c, grid, mode,
        )))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let grid = self.stats.checked_grid(h, w)?;
        let (mscn, _) = gpu::mscn_cuda(&self.mscn, storage, layout, h, w)?;
        gpu::paired_stats_cuda(&self.stats, &mscn, &Layout::contiguous((h, w)), w, grid)
    }

    #[cfg(feature = "metal")]
    fn metal_fwd(
        &self,
        storage: &candle_core::MetalStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        let (h, w) = image_dims(layout, self.name())?;
        let grid = self.stats.checked_grid(h, w)?;
        let (mscn, _) = gpu::mscn_metal(&self.mscn, storage, layout, h, w)?;
        gpu::paired_stats_metal(&self.stats, &mscn, &Layout::contiguous((h, w)), w, grid)
    }
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
    let x = image
        .to_dtype(candle_core::DType::F64)?
        .reshape((1, 1, h, w))?;
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
    let masks = [
        valid(0, false)?,
        valid(-1, false)?,
        valid(0, true)?,
        valid(-1, true)?,
        valid(1, true)?,
    ];
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
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    #[test]
    fn mscn_op_matches_the_conv2d_composition() {
        // 70 rows span several parallel bands; 5x4 is smaller than the window.
        for (h, w) in [(37, 53), (96, 96), (70, 33), (5, 4)] {
            let x = texture(h, w);
            let op = x.apply_op1_no_bwd(&Mscn::new(1.0)).unwrap();
            let reference = mscn_reference(&x, 1.0).unwrap();
            let diff = max_abs_diff(&op, &reference);
            assert!(diff < 1e-5, "{h}x{w}: max |op - conv2d| = {diff}");
        }
    }

    #[test]
    fn mscn_of_a_flat_area_is_exactly_zero() {
        // Away from the zero-padded border a constant image has mean == pixel.
        let x = Tensor::full(203.7f32, (20, 24), &Device::Cpu).unwrap();
        let op = x
            .apply_op1_no_bwd(&Mscn::new(1.0))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for row in &op[WINDOW_RADIUS..20 - WINDOW_RADIUS] {
            assert!(
                row[WINDOW_RADIUS..24 - WINDOW_RADIUS]
                    .iter()
                    .all(|&v| v == 0.0),
                "{row:?}"
            );
        }
    }

    #[test]
    fn paired_stats_op_matches_the_tensor_composition() {
        // 29x41: odd sizes leave lane remainders; 150x37 spans several parallel row bands.
        for (h, w) in [(29, 41), (150, 37)] {
            let x = texture(h, w);
            let mscn = x.apply_op1_no_bwd(&Mscn::new(1.0)).unwrap();
            for mode in [PairMode::Wrap, PairMode::Crop] {
                let op = mscn
                    .apply_op1_no_bwd(&PairedStats { patch: None, mode })
                    .unwrap();
                let reference = paired_stats_reference(&mscn, mode).unwrap();
                let (a, b) = (op.flatten_all().unwrap(), reference.flatten_all().unwrap());
                for (u, v) in a
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .zip(b.to_vec1::<f32>().unwrap())
                {
                    let tol = 1e-5 * v.abs().max(1.0);
                    assert!(
                        (u - v).abs() <= tol,
                        "{h}x{w} {mode:?}: op {u} vs composition {v}"
                    );
                }
            }
        }
    }

    #[test]
    fn patches_tile_from_the_top_left() {
        let x = texture(100, 70);
        let op = PairedStats {
            patch: Some(32),
            mode: PairMode::Wrap,
        };
        let out = x.apply_op1_no_bwd(&op).unwrap();
        assert_eq!(out.dims(), &[3 * 2, MAPS, STATS]);
        // The second patch of the first row equals the whole-image stats of that crop.
        let crop = x
            .narrow(0, 0, 32)
            .unwrap()
            .narrow(1, 32, 32)
            .unwrap()
            .contiguous()
            .unwrap();
        let whole = crop.apply_op1_no_bwd(&PairedStats {
            patch: None,
            mode: PairMode::Wrap,
        });
        let diff = max_abs_diff(&out.get(1).unwrap(), &whole.unwrap().get(0).unwrap());
        assert!(diff < 1e-2, "{diff}");
    }
}
