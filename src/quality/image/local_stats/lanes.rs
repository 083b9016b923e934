//! Lane sums for the paired statistics: per map, the running [n(x<0), sum x^2 (x<0), sum x^2,
//! sum |x|] in LANES f32 lanes, moved into f64 totals now and then (`LaneSums::flush`). Two
//! implementations of the same per-lane IEEE arithmetic: plain arrays (any CPU) and AVX2
//! intrinsics (the compiler does not vectorise the compare-and-select form reliably).

use super::{STATS, STAT_ABS, STAT_NEG_COUNT, STAT_NEG_SQ, STAT_POS_COUNT, STAT_POS_SQ};

/// Lane count of the reductions: one 256-bit register of f32.
pub const LANES: usize = 8;

/// f32 lane sums of one map since the last flush: lane l holds the values at positions
/// l mod LANES of each row segment added. A segment's last partial chunk is padded with
/// zeros, which add nothing to any sum (the counts come from `count`).
#[derive(Clone, Copy, Default)]
pub struct LaneSums {
    neg_n: [f32; LANES],
    neg_sq: [f32; LANES],
    all_sq: [f32; LANES],
    abs: [f32; LANES],
    /// Values added (all lanes).
    count: usize,
}

impl LaneSums {
    /// Moves the lane sums into `total` ([`STATS`] order) and clears them.
    pub fn flush(&mut self, total: &mut [f64; STATS]) {
        let sum = |v: &[f32; LANES]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
        let (n_neg, sq_neg, sq_all) = (sum(&self.neg_n), sum(&self.neg_sq), sum(&self.all_sq));
        total[STAT_NEG_COUNT] += n_neg;
        total[STAT_NEG_SQ] += sq_neg;
        total[STAT_POS_COUNT] += self.count as f64 - n_neg;
        total[STAT_POS_SQ] += sq_all - sq_neg;
        total[STAT_ABS] += sum(&self.abs);
        *self = LaneSums::default();
    }
}

/// How lane sums are accumulated: [`PlainLanes`] everywhere, [`Avx2Lanes`] with AVX2
/// intrinsics. Both do the same IEEE operations per lane in the same order, so they give
/// identical sums (tested): per value x, neg = x < 0, then n += neg ? 1 : 0,
/// sq_neg += neg ? x^2 : 0, sq += x^2, abs += |x|.
pub trait Lanes {
    /// Adds xs.
    fn values(s: &mut LaneSums, xs: &[f32]);
    /// Adds a[j] * b[j] (equal lengths).
    fn products(s: &mut LaneSums, a: &[f32], b: &[f32]);
}

/// The lane arithmetic on plain arrays.
pub struct PlainLanes;

impl PlainLanes {
    #[inline(always)]
    // One index over five same-length lane arrays reads clearer than a five-way zip.
    #[allow(clippy::needless_range_loop)]
    fn add(s: &mut LaneSums, x: &[f32; LANES]) {
        for l in 0..LANES {
            let neg = x[l] < 0.0;
            let sq = x[l] * x[l];
            s.neg_n[l] += if neg { 1.0 } else { 0.0 };
            s.neg_sq[l] += if neg { sq } else { 0.0 };
            s.all_sq[l] += sq;
            s.abs[l] += x[l].abs();
        }
    }
}

impl Lanes for PlainLanes {
    #[inline(always)]
    fn values(s: &mut LaneSums, xs: &[f32]) {
        let chunks = xs.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            Self::add(s, chunk.try_into().expect("a chunk of LANES"));
        }
        if !tail.is_empty() {
            let mut padded = [0f32; LANES];
            padded[..tail.len()].copy_from_slice(tail);
            Self::add(s, &padded);
        }
        s.count += xs.len();
    }

    #[inline(always)]
    fn products(s: &mut LaneSums, a: &[f32], b: &[f32]) {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            Self::add(s, &std::array::from_fn(|l| x[l] * y[l]));
        }
        if !ta.is_empty() {
            let mut padded = [0f32; LANES];
            for (p, (&x, &y)) in padded.iter_mut().zip(ta.iter().zip(tb)) {
                *p = x * y;
            }
            Self::add(s, &padded);
        }
        s.count += n;
    }
}

/// The lane arithmetic with AVX2 intrinsics (eight f32 lanes per register); only called from
/// functions compiled with AVX2, into which it inlines.
#[cfg(target_arch = "x86_64")]
pub struct Avx2Lanes;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LaneSums, LANES};
    use std::arch::x86_64::*;

    /// The four lane sums in registers.
    struct Regs {
        neg_n: __m256,
        neg_sq: __m256,
        all_sq: __m256,
        abs: __m256,
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load(s: &LaneSums) -> Regs {
        // SAFETY: each array holds LANES = 8 f32, one unaligned 256-bit load.
        unsafe {
            Regs {
                neg_n: _mm256_loadu_ps(s.neg_n.as_ptr()),
                neg_sq: _mm256_loadu_ps(s.neg_sq.as_ptr()),
                all_sq: _mm256_loadu_ps(s.all_sq.as_ptr()),
                abs: _mm256_loadu_ps(s.abs.as_ptr()),
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn store(r: &Regs, s: &mut LaneSums) {
        // SAFETY: each array holds LANES = 8 f32, one unaligned 256-bit store.
        unsafe {
            _mm256_storeu_ps(s.neg_n.as_mut_ptr(), r.neg_n);
            _mm256_storeu_ps(s.neg_sq.as_mut_ptr(), r.neg_sq);
            _mm256_storeu_ps(s.all_sq.as_mut_ptr(), r.all_sq);
            _mm256_storeu_ps(s.abs.as_mut_ptr(), r.abs);
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn add(r: &mut Regs, x: __m256) {
        let zero = _mm256_setzero_ps();
        let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, zero);
        let sq = _mm256_mul_ps(x, x);
        r.neg_n = _mm256_add_ps(r.neg_n, _mm256_and_ps(neg, _mm256_set1_ps(1.0)));
        r.neg_sq = _mm256_add_ps(r.neg_sq, _mm256_and_ps(neg, sq));
        r.all_sq = _mm256_add_ps(r.all_sq, sq);
        r.abs = _mm256_add_ps(r.abs, _mm256_andnot_ps(_mm256_set1_ps(-0.0), x));
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn values(s: &mut LaneSums, xs: &[f32]) {
        let mut r = load(s);
        let chunks = xs.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            // SAFETY: the chunk holds LANES = 8 f32.
            add(&mut r, unsafe { _mm256_loadu_ps(chunk.as_ptr()) });
        }
        if !tail.is_empty() {
            let mut padded = [0f32; LANES];
            padded[..tail.len()].copy_from_slice(tail);
            // SAFETY: as above.
            add(&mut r, unsafe { _mm256_loadu_ps(padded.as_ptr()) });
        }
        store(&r, s);
        s.count += xs.len();
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn products(s: &mut LaneSums, a: &[f32], b: &[f32]) {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut r = load(s);
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            // SAFETY: both chunks hold LANES = 8 f32.
            let (x, y) = unsafe { (_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr())) };
            add(&mut r, _mm256_mul_ps(x, y));
        }
        if !ta.is_empty() {
            let mut padded = [0f32; LANES];
            for (p, (&x, &y)) in padded.iter_mut().zip(ta.iter().zip(tb)) {
                *p = x * y;
            }
            // SAFETY: padded holds LANES = 8 f32.
            add(&mut r, unsafe { _mm256_loadu_ps(padded.as_ptr()) });
        }
        store(&r, s);
        s.count += n;
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2Lanes {
    #[inline(always)]
    fn values(s: &mut LaneSums, xs: &[f32]) {
        // SAFETY: Avx2Lanes is only used by region_stats_avx2, which runs only where
        // is_x86_feature_detected!("avx2") holds.
        unsafe { avx2::values(s, xs) }
    }

    #[inline(always)]
    fn products(s: &mut LaneSums, a: &[f32], b: &[f32]) {
        // SAFETY: as in `values`.
        unsafe { avx2::products(s, a, b) }
    }
}
