//! The CPU implementation of the local-statistics ops (see the parent module for what they
//! compute): MSCN, the per-patch paired statistics, and both fused so that the MSCN map is
//! never stored whole.
//!
//! Work is split into fixed bands of rows (not derived from the thread count), run in parallel
//! with rayon, and combined in band order, so results are identical on every machine. The inner
//! loops run over contiguous rows, written so that they vectorise; each band function is
//! compiled more than once (plain, AVX2, and for the MSCN AVX-512), picked at run time
//! (`dispatch_avx2!`, `dispatch_avx512!`); every build gives bit-identical results (tested).

// The dispatch macros are in scope textually: the parent defines them before `mod cpu`.
#[cfg(target_arch = "x86_64")]
use super::lanes::Avx2Lanes;
use super::lanes::{LaneSums, Lanes, PlainLanes};
use super::{PairMode, MAPS, STATS, WINDOW_RADIUS, WINDOW_TAPS};
use crate::simd::{dispatch_avx2, dispatch_avx512};
use rayon::prelude::*;

/// MSCN output rows per parallel task of [`mscn_cpu`]. Each band first correlates the six
/// source rows around its edge, so bands much shorter than this waste work.
const MSCN_BAND_ROWS: usize = 64;
/// Output columns per strip inside a band: the seven-row ring of f64 x and x^2 sums of a
/// 256-column strip (28 KiB) stays in L1.
const MSCN_STRIP: usize = 256;
/// Rows per parallel task of the paired statistics: one NIQE patch (96 or 48 rows) is a single
/// band, and BRISQUE's whole image splits into bands of this many rows.
const STATS_BAND_ROWS: usize = 96;
/// f32 lane sums hold at most about this many values per map before they are moved into the
/// f64 totals: 512 per lane keeps their relative rounding error near 1e-6.
const FLUSH_VALUES: usize = 4096;

/// Per-map totals of one patch or band, in [`STATS`] order.
pub type MapTotals = [[f64; STATS]; MAPS];

/// The patch grid: (rows, cols, patch height, patch width).
pub type Grid = (usize, usize, usize, usize);

/// MSCN of a (h, w) image, in parallel bands of output rows. Per band, each source row it
/// reads is correlated horizontally once (7 taps, zero padding) for x and x^2 into a ring of
/// seven rows, and each output row combines seven ring rows vertically. mu and E[x^2]
/// accumulate in f64: E[x^2] - mu^2 cancels badly in f32 on 0..255 images (skvideo's own
/// float32 maths loses ~1e-4 there). The variance, once formed in f64, is rounded to f32 for
/// the square root and the division, which keeps the result within a few f32 ulps (< 4e-6 for
/// |MSCN| < 30) of exact.
pub fn mscn_cpu(src: &[f32], h: usize, w: usize, window: &[f32; WINDOW_TAPS], c: f32) -> Vec<f32> {
    let mut out = vec![0f32; h * w];
    if h == 0 || w == 0 {
        return out;
    }
    let window = window.map(f64::from);
    out.par_chunks_mut(MSCN_BAND_ROWS * w)
        .enumerate()
        .for_each(|(band, rows)| {
            mscn_rows(src, h, w, &window, c, band * MSCN_BAND_ROWS, rows);
        });
    out
}

/// MSCN rows first_row.. (as many as `out` holds) of the (h, w) image.
pub fn mscn_rows(
    src: &[f32],
    h: usize,
    w: usize,
    window: &[f64; WINDOW_TAPS],
    c: f32,
    first_row: usize,
    out: &mut [f32],
) {
    dispatch_avx512!(
        mscn_rows_avx512,
        mscn_rows_avx2,
        mscn_rows_body,
        src,
        h,
        w,
        window,
        c,
        first_row,
        out
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mscn_rows_avx512(
    src: &[f32],
    h: usize,
    w: usize,
    window: &[f64; WINDOW_TAPS],
    c: f32,
    first_row: usize,
    out: &mut [f32],
) {
    mscn_rows_body(src, h, w, window, c, first_row, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mscn_rows_avx2(
    src: &[f32],
    h: usize,
    w: usize,
    window: &[f64; WINDOW_TAPS],
    c: f32,
    first_row: usize,
    out: &mut [f32],
) {
    mscn_rows_body(src, h, w, window, c, first_row, out)
}

/// The taps of a 7-tap correlation: the symmetric form (w0 (a0 + a6) + ...: fewer products)
/// when the window is symmetric, as the Gaussian is, else the plain sum in tap order.
#[derive(Clone, Copy)]
struct Taps {
    w: [f64; WINDOW_TAPS],
    symmetric: bool,
}

impl Taps {
    /// out[j] = the taps over a[0][j] .. a[6][j]. Each input is cut to out's length first so
    /// that the loop runs without bounds checks and vectorises.
    #[inline(always)]
    fn apply(&self, a: [&[f64]; WINDOW_TAPS], out: &mut [f64]) {
        let n = out.len();
        let [a0, a1, a2, a3, a4, a5, a6] = a.map(|s| &s[..n]);
        let w = &self.w;
        if self.symmetric {
            for j in 0..n {
                out[j] = w[0] * (a0[j] + a6[j])
                    + w[1] * (a1[j] + a5[j])
                    + w[2] * (a2[j] + a4[j])
                    + w[3] * a3[j];
            }
        } else {
            for j in 0..n {
                out[j] = w[0] * a0[j]
                    + w[1] * a1[j]
                    + w[2] * a2[j]
                    + w[3] * a3[j]
                    + w[4] * a4[j]
                    + w[5] * a5[j]
                    + w[6] * a6[j];
            }
        }
    }
}

#[inline(always)]
fn mscn_rows_body(
    src: &[f32],
    h: usize,
    w: usize,
    window: &[f64; WINDOW_TAPS],
    c: f32,
    first_row: usize,
    out: &mut [f32],
) {
    let r = WINDOW_RADIUS;
    let symmetric = (0..WINDOW_TAPS).all(|k| window[k] == window[WINDOW_TAPS - 1 - k]);
    let taps = Taps {
        w: *window,
        symmetric,
    };
    let strip = w.min(MSCN_STRIP);
    // Ring of horizontally correlated rows of one column strip: source row s lives in slot
    // s % WINDOW_TAPS. A strip keeps the ring in L1, which the vertical pass reads 14 times.
    let mut ring_mu = vec![0f64; WINDOW_TAPS * strip];
    let mut ring_sq = vec![0f64; WINDOW_TAPS * strip];
    let zero = vec![0f64; strip];
    // One strip of a source row and its squares as f64, with r columns of halo on each side
    // (zero outside the image).
    let mut xp = vec![0f64; strip + 2 * r];
    let mut sqp = vec![0f64; strip + 2 * r];
    let rows = out.len() / w;
    for c0 in (0..w).step_by(strip) {
        let cols = c0..(c0 + strip).min(w);
        let sw = cols.len();
        // Source rows enter the ring ahead of the output rows that read them. (No closure
        // here: closures are not compiled with the enclosing function's AVX2.)
        let ahead = (first_row.saturating_sub(r)..(first_row + r).min(h))
            .map(Some)
            .chain((first_row..first_row + rows).map(|i| Some(i + r).filter(|&s| s < h)));
        for (step, source) in ahead.enumerate() {
            if let Some(s) = source {
                let slot = (s % WINDOW_TAPS) * sw;
                let row = &src[s * w..(s + 1) * w];
                let (mu_slot, sq_slot) =
                    (&mut ring_mu[slot..slot + sw], &mut ring_sq[slot..slot + sw]);
                horizontal_strip(
                    &taps,
                    row,
                    cols.clone(),
                    &mut xp,
                    &mut sqp,
                    mu_slot,
                    sq_slot,
                );
            }
            let warm_up = (first_row + r).min(h) - first_row.saturating_sub(r);
            let Some(li) = step.checked_sub(warm_up) else {
                continue;
            };
            let i = first_row + li;
            // Ring offset of source row i + k - r, None for the zero rows outside the image.
            let at = |k: usize| {
                (i + k)
                    .checked_sub(r)
                    .filter(|&s| s < h)
                    .map(|s| (s % WINDOW_TAPS) * sw)
            };
            let mu_rows: [&[f64]; WINDOW_TAPS] =
                std::array::from_fn(|k| at(k).map_or(&zero[..], |a| &ring_mu[a..a + sw]));
            let sq_rows: [&[f64]; WINDOW_TAPS] =
                std::array::from_fn(|k| at(k).map_or(&zero[..], |a| &ring_sq[a..a + sw]));
            let (x, o) = (
                &src[i * w + c0..i * w + c0 + sw],
                &mut out[li * w + c0..li * w + c0 + sw],
            );
            mscn_row(&taps, mu_rows, sq_rows, x, c, o);
        }
    }
}

/// Correlates columns `cols` of one source row horizontally, for x and x^2, into mu and sq;
/// xp and sqp are buffers for the strip plus r halo columns on each side.
#[inline(always)]
fn horizontal_strip(
    taps: &Taps,
    row: &[f32],
    cols: std::ops::Range<usize>,
    xp: &mut [f64],
    sqp: &mut [f64],
    mu: &mut [f64],
    sq: &mut [f64],
) {
    let (r, w, sw) = (WINDOW_RADIUS, row.len(), cols.len());
    // Halo columns outside the image are the references' zero padding.
    let lo = cols.start.saturating_sub(r);
    let hi = (cols.end + r).min(w);
    let pad_left = r - (cols.start - lo);
    let n = sw + 2 * r;
    let (xp, sqp) = (&mut xp[..n], &mut sqp[..n]);
    xp[..pad_left].fill(0.0);
    sqp[..pad_left].fill(0.0);
    for ((x, q), &v) in xp[pad_left..]
        .iter_mut()
        .zip(&mut sqp[pad_left..])
        .zip(&row[lo..hi])
    {
        let v = f64::from(v);
        *x = v;
        *q = v * v;
    }
    let filled = pad_left + (hi - lo);
    xp[filled..].fill(0.0);
    sqp[filled..].fill(0.0);
    taps.apply(std::array::from_fn(|k| &xp[k..k + sw]), mu);
    taps.apply(std::array::from_fn(|k| &sqp[k..k + sw]), sq);
}

/// One MSCN output row from the seven horizontally correlated rows of x and x^2 around it,
/// in one pass: both vertical sums, then the coefficient.
#[inline(always)]
fn mscn_row(
    taps: &Taps,
    mu_rows: [&[f64]; WINDOW_TAPS],
    sq_rows: [&[f64]; WINDOW_TAPS],
    x: &[f32],
    c: f32,
    out: &mut [f32],
) {
    // The branch stays outside the loop, which then vectorises.
    if taps.symmetric {
        mscn_row_taps::<true>(&taps.w, mu_rows, sq_rows, x, c, out)
    } else {
        mscn_row_taps::<false>(&taps.w, mu_rows, sq_rows, x, c, out)
    }
}

#[inline(always)]
fn mscn_row_taps<const SYMMETRIC: bool>(
    w: &[f64; WINDOW_TAPS],
    mu_rows: [&[f64]; WINDOW_TAPS],
    sq_rows: [&[f64]; WINDOW_TAPS],
    x: &[f32],
    c: f32,
    out: &mut [f32],
) {
    let n = out.len();
    let [m0, m1, m2, m3, m4, m5, m6] = mu_rows.map(|s| &s[..n]);
    let [s0, s1, s2, s3, s4, s5, s6] = sq_rows.map(|s| &s[..n]);
    let x = &x[..n];
    let taps = |a: [f64; WINDOW_TAPS]| {
        if SYMMETRIC {
            w[0] * (a[0] + a[6]) + w[1] * (a[1] + a[5]) + w[2] * (a[2] + a[4]) + w[3] * a[3]
        } else {
            w[0] * a[0]
                + w[1] * a[1]
                + w[2] * a[2]
                + w[3] * a[3]
                + w[4] * a[4]
                + w[5] * a[5]
                + w[6] * a[6]
        }
    };
    for j in 0..n {
        let mu = taps([m0[j], m1[j], m2[j], m3[j], m4[j], m5[j], m6[j]]);
        let sq = taps([s0[j], s1[j], s2[j], s3[j], s4[j], s5[j], s6[j]]);
        let var = (sq - mu * mu).abs() as f32;
        // The mean is rounded to f32 as skvideo stores it: over a flat area it is then
        // exactly the pixel value and the coefficient exactly 0 (counted as x >= 0), not
        // a 1e-14 round-off of random sign that would flip the AGGD's left/right counts.
        let mean = mu as f32;
        out[j] = (x[j] - mean) / (var.sqrt() + c);
    }
}

/// Where the MSCN rows of one patch row (all patches side by side) are: `data` holds rows
/// `first..` of it (patch-relative), `stride` apart, each starting at image column 0.
#[derive(Clone, Copy)]
struct PatchRows<'a> {
    data: &'a [f32],
    stride: usize,
    first: usize,
}

impl<'a> PatchRows<'a> {
    #[inline(always)]
    fn row(&self, i: usize, left: usize, pw: usize) -> &'a [f32] {
        let at = (i - self.first) * self.stride + left;
        &self.data[at..at + pw]
    }
}

/// Band `band` of a patch: its patch-relative rows [first, last).
fn band_rows(band: usize, ph: usize) -> (usize, usize) {
    let first = band * STATS_BAND_ROWS;
    (first, (first + STATS_BAND_ROWS).min(ph))
}

/// The first patch-relative row a band's statistics read: the row above the band (none above
/// a patch's first row, whose Wrap partner, the patch's last row, is handled apart).
fn band_needs(first: usize, mode: PairMode) -> usize {
    match (first, mode) {
        (0, _) => 0,
        _ => first - 1,
    }
}

/// Adds `totals` of every (patch, band) part, in band order, into per-patch totals.
fn sum_bands(parts: &[MapTotals], bands: usize) -> Vec<MapTotals> {
    parts
        .chunks_exact(bands)
        .map(|bands| {
            let mut total = [[0f64; STATS]; MAPS];
            for band in bands {
                for (t, b) in total.iter_mut().flatten().zip(band.iter().flatten()) {
                    *t += b;
                }
            }
            total
        })
        .collect()
}

/// PairedStats on the CPU: per patch of the grid, in row-major patch order. Bands of patch
/// rows run in parallel.
pub fn paired_stats_cpu(src: &[f32], stride: usize, grid: Grid, mode: PairMode) -> Vec<MapTotals> {
    let (rows, cols, ph, pw) = grid;
    let bands = ph.div_ceil(STATS_BAND_ROWS);
    let parts: Vec<Vec<MapTotals>> = (0..rows * bands)
        .into_par_iter()
        .map(|task| {
            let (patch_row, band) = (task / bands, task % bands);
            let top = patch_row * ph;
            let data = PatchRows {
                data: &src[top * stride..],
                stride,
                first: 0,
            };
            let (first, last) = band_rows(band, ph);
            (0..cols)
                .map(|c| region_stats(data, data, c * pw, ph, pw, first, last, mode))
                .collect()
        })
        .collect();
    reorder(parts, rows, cols, bands)
}

/// Parts listed per (patch row, band) with one entry per patch column, summed per patch in
/// row-major patch order.
fn reorder(parts: Vec<Vec<MapTotals>>, rows: usize, cols: usize, bands: usize) -> Vec<MapTotals> {
    let mut ordered = Vec::with_capacity(rows * cols * bands);
    for patch_row in parts.chunks_exact(bands) {
        for c in 0..cols {
            ordered.extend(patch_row.iter().map(|band| band[c]));
        }
    }
    debug_assert_eq!(ordered.len(), rows * cols * bands);
    sum_bands(&ordered, bands)
}

/// MSCN then PairedStats without storing the MSCN map: each (patch row, band) task computes
/// the MSCN rows its statistics read (its rows, the row above, and with Wrap the patch's last
/// row) into a band buffer. Every value equals the unfused ops' exactly: same MSCN rows, same
/// bands, same summation order.
pub fn mscn_paired_stats_cpu(
    src: &[f32],
    w: usize,
    window: &[f32; WINDOW_TAPS],
    c: f32,
    grid: Grid,
    mode: PairMode,
) -> Vec<MapTotals> {
    let (rows, cols, ph, pw) = grid;
    let h = src.len() / w.max(1);
    let window = window.map(f64::from);
    let bands = ph.div_ceil(STATS_BAND_ROWS);
    let parts: Vec<Vec<MapTotals>> = (0..rows * bands)
        .into_par_iter()
        .map(|task| {
            let (patch_row, band) = (task / bands, task % bands);
            let top = patch_row * ph;
            let (first, last) = band_rows(band, ph);
            let needs = band_needs(first, mode);
            let mut buffer = vec![0f32; (last - needs) * w];
            mscn_rows(src, h, w, &window, c, top + needs, &mut buffer);
            let data = PatchRows {
                data: &buffer,
                stride: w,
                first: needs,
            };
            // With Wrap the first row pairs with the patch's last row, outside this band
            // unless the patch is a single band.
            let wrap_needed = mode == PairMode::Wrap && first == 0 && last < ph;
            let mut wrap_buffer = vec![0f32; if wrap_needed { w } else { 0 }];
            let wrap = if wrap_needed {
                mscn_rows(src, h, w, &window, c, top + ph - 1, &mut wrap_buffer);
                PatchRows {
                    data: &wrap_buffer,
                    stride: w,
                    first: ph - 1,
                }
            } else {
                data
            };
            (0..cols)
                .map(|c| region_stats(data, wrap, c * pw, ph, pw, first, last, mode))
                .collect()
        })
        .collect();
    reorder(parts, rows, cols, bands)
}

/// Per-map sums of one whole patch at (top, left) of a row-major image (see PairedStats).
pub fn patch_stats(
    src: &[f32],
    stride: usize,
    top: usize,
    left: usize,
    ph: usize,
    pw: usize,
    mode: PairMode,
) -> MapTotals {
    let data = PatchRows {
        data: &src[top * stride..],
        stride,
        first: 0,
    };
    region_stats(data, data, left, ph, pw, 0, ph, mode)
}

/// Sums over patch rows first..last of the patch at column `left`; `last_row` holds the
/// patch's last row (row ph - 1), read by Wrap's first row.
#[allow(clippy::too_many_arguments)]
fn region_stats(
    rows: PatchRows,
    last_row: PatchRows,
    left: usize,
    ph: usize,
    pw: usize,
    first: usize,
    last: usize,
    mode: PairMode,
) -> MapTotals {
    dispatch_avx2!(
        region_stats_avx2,
        region_stats_plain,
        rows,
        last_row,
        left,
        ph,
        pw,
        first,
        last,
        mode
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn region_stats_avx2(
    rows: PatchRows,
    last_row: PatchRows,
    left: usize,
    ph: usize,
    pw: usize,
    first: usize,
    last: usize,
    mode: PairMode,
) -> MapTotals {
    region_stats_body::<Avx2Lanes>(rows, last_row, left, ph, pw, first, last, mode)
}

#[allow(clippy::too_many_arguments)]
fn region_stats_plain(
    rows: PatchRows,
    last_row: PatchRows,
    left: usize,
    ph: usize,
    pw: usize,
    first: usize,
    last: usize,
    mode: PairMode,
) -> MapTotals {
    region_stats_body::<PlainLanes>(rows, last_row, left, ph, pw, first, last, mode)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn region_stats_body<L: Lanes>(
    rows: PatchRows,
    last_row: PatchRows,
    left: usize,
    ph: usize,
    pw: usize,
    first: usize,
    last: usize,
    mode: PairMode,
) -> MapTotals {
    let mut totals = [[0f64; STATS]; MAPS];
    if pw == 0 {
        return totals;
    }
    let mut sums = [LaneSums::default(); MAPS];
    let flush_rows = (FLUSH_VALUES / pw).max(1);
    for (n, i) in (first..last).enumerate() {
        let cur = rows.row(i, left, pw);
        let up = match (i, mode) {
            (0, PairMode::Crop) => None,
            (0, PairMode::Wrap) => Some(last_row.row(ph - 1, left, pw)),
            _ => Some(rows.row(i - 1, left, pw)),
        };
        L::values(&mut sums[0], cur);
        // Horizontal: x[j] * x[j - 1].
        L::products(&mut sums[1], &cur[1..], &cur[..pw - 1]);
        if mode == PairMode::Wrap {
            L::values(&mut sums[1], &[cur[0] * cur[pw - 1]]);
        }
        if let Some(up) = up {
            // Vertical: x[j] * up[j].
            L::products(&mut sums[2], cur, up);
            // Main diagonal: x[j] * up[j - 1].
            L::products(&mut sums[3], &cur[1..], &up[..pw - 1]);
            // Secondary diagonal: x[j] * up[j + 1].
            L::products(&mut sums[4], &cur[..pw - 1], &up[1..]);
            if mode == PairMode::Wrap {
                L::values(&mut sums[3], &[cur[0] * up[pw - 1]]);
                L::values(&mut sums[4], &[cur[pw - 1] * up[0]]);
            }
        }
        if (n + 1) % flush_rows == 0 {
            for (s, t) in sums.iter_mut().zip(totals.iter_mut()) {
                s.flush(t);
            }
        }
    }
    for (s, t) in sums.iter_mut().zip(totals.iter_mut()) {
        s.flush(t);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(h: usize, w: usize) -> Vec<f32> {
        (0..h * w)
            .map(|k| {
                let (i, j) = ((k / w) as f32, (k % w) as f32);
                (128.0 + 60.0 * (i * 0.13).sin() * (j * 0.07).cos() + ((k * 7919) % 61) as f32
                    - 30.0)
                    .clamp(0.0, 255.0)
            })
            .collect()
    }

    #[test]
    fn fused_equals_unfused_exactly() {
        let window = super::super::gaussian_window();
        // NIQE-like patch grids (single-band and multi-band patches, remainders ignored) and
        // BRISQUE-like whole images over several bands.
        for (h, w, patch, mode) in [
            (200, 150, Some(48), PairMode::Wrap),
            (250, 130, Some(120), PairMode::Wrap),
            (230, 77, None, PairMode::Crop),
            (100, 64, None, PairMode::Wrap),
        ] {
            let src = texture(h, w);
            let grid = match patch {
                Some(p) => (h / p, w / p, p, p),
                None => (1, 1, h, w),
            };
            let mscn = mscn_cpu(&src, h, w, &window, 1.0);
            let unfused = paired_stats_cpu(&mscn, w, grid, mode);
            let fused = mscn_paired_stats_cpu(&src, w, &window, 1.0, grid, mode);
            assert_eq!(unfused, fused, "{h}x{w} {patch:?} {mode:?}");
            // And a single-band patch computed on its own equals its place in the grid.
            if patch == Some(48) {
                let (_, cols, ph, pw) = grid;
                assert_eq!(
                    patch_stats(&mscn, w, ph, pw, ph, pw, mode),
                    unfused[cols + 1]
                );
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn baseline_and_avx2_builds_agree_exactly() {
        // The run-time dispatch must not change results between machines.
        let (h, w) = (45, 77);
        let x = texture(h, w);
        let window = super::super::gaussian_window().map(f64::from);
        let mut plain = vec![0f32; h * w];
        mscn_rows_body(&x, h, w, &window, 1.0, 0, &mut plain);
        let rows = PatchRows {
            data: &plain,
            stride: w,
            first: 0,
        };
        let stats = region_stats_plain(rows, rows, 0, h, w, 0, h, PairMode::Wrap);
        if std::is_x86_feature_detected!("avx2") {
            let mut fast = vec![0f32; h * w];
            // SAFETY: AVX2 is present, checked just above.
            unsafe { mscn_rows_avx2(&x, h, w, &window, 1.0, 0, &mut fast) };
            assert_eq!(plain, fast);
            // SAFETY: as above.
            let fast = unsafe { region_stats_avx2(rows, rows, 0, h, w, 0, h, PairMode::Wrap) };
            assert_eq!(stats, fast);
        }
        if std::is_x86_feature_detected!("avx512f") {
            let mut wide = vec![0f32; h * w];
            // SAFETY: AVX-512F is present, checked just above.
            unsafe { mscn_rows_avx512(&x, h, w, &window, 1.0, 0, &mut wide) };
            assert_eq!(plain, wide);
        }
    }
}
