//! The K-weighting filter of BS.1770 at any rate, run fast: the two biquads in cascade over
//! eight signal segments at once (one vector register of f64 lanes), each segment's state built
//! up over the samples before it, with the low-rate correction FIR fused into the reads.

use super::correction::Correction;

/// Analogue prototypes of the BS.1770 K-weighting stages (libebur128's derivation).
const SHELF_F0: f64 = 1681.974450955533;
const SHELF_GAIN_DB: f64 = 3.999843853973347;
const SHELF_Q: f64 = 0.7071752369554196;
const SHELF_VB_EXPONENT: f64 = 0.4996667741545416;
const HIGHPASS_F0: f64 = 38.13547087602444;
const HIGHPASS_Q: f64 = 0.5003270373238773;

/// A biquad in direct form: b = numerator, a = [1, a1, a2].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    pub b: [f64; 3],
    pub a: [f64; 3],
}

impl Biquad {
    /// |H(e^{jw})| at `w` radians per sample.
    pub(super) fn magnitude(&self, w: f64) -> f64 {
        let eval = |c: [f64; 3]| {
            let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
            let im = -c[1] * w.sin() - c[2] * (2.0 * w).sin();
            re.hypot(im)
        };
        eval(self.b) / eval(self.a)
    }
}

/// The two K-weighting stages (pre-filter shelf, then RLB high-pass) at `rate` Hz.
pub fn k_weighting(rate: u32) -> (Biquad, Biquad) {
    let fs = rate as f64;
    let k = (std::f64::consts::PI * SHELF_F0 / fs).tan();
    let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
    let vb = vh.powf(SHELF_VB_EXPONENT);
    let a0 = 1.0 + k / SHELF_Q + k * k;
    let shelf = Biquad {
        b: [
            (vh + vb * k / SHELF_Q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / SHELF_Q + k * k) / a0,
        ],
        a: [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0],
    };
    let k = (std::f64::consts::PI * HIGHPASS_F0 / fs).tan();
    let a0 = 1.0 + k / HIGHPASS_Q + k * k;
    let highpass = Biquad {
        b: [1.0, -2.0, 1.0],
        a: [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGHPASS_Q + k * k) / a0],
    };
    (shelf, highpass)
}

/// The two K-weighting biquads in cascade, each in direct form I with f64 state.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cascade {
    pub(super) shelf: Biquad,
    pub(super) highpass: Biquad,
}

/// Independent signal segments filtered side by side: one biquad's recursion is a chain of
/// dependent multiply-adds, so a single stream waits on latency; eight streams fill the vector
/// units instead (one AVX-512 or two AVX2 registers of f64).
const LANES: usize = 8;
/// A segment's filter state is built up from zero over the `warm_up` samples before it; the
/// state error left is below this share of the state (the poles' decay over the warm-up).
const WARM_UP_RESIDUAL: f64 = 1e-10;
/// See `State::flush_tiny`.
const STATE_FLUSH: f64 = 1e-150;

/// The filter state of `L` streams: per stage x[n-1], x[n-2], y[n-1], y[n-2], per lane.
#[derive(Clone, Copy)]
struct State<const L: usize> {
    s: [[f64; L]; 8],
}

impl<const L: usize> State<L> {
    fn zero() -> Self {
        State { s: [[0.0; L]; 8] }
    }

    /// Sets state values below `STATE_FLUSH` to zero. After sound ends in digital silence the
    /// shelf's recursion decays into f64's subnormal range and, rounding there in absolute steps,
    /// can cycle there forever; every operation on a subnormal costs ~100 cycles, which made a
    /// file with a silent tail (or a padded lane) 3x slower. Flushing changes block powers by
    /// under 1e-300 of full scale.
    fn flush_tiny(&mut self) {
        for v in self.s.iter_mut().flatten() {
            if v.abs() < STATE_FLUSH {
                *v = 0.0;
            }
        }
    }
}

/// Filters `rows` (one sample per lane each) on from `state` and returns each lane's sum of
/// squared K-weighted outputs. One tight loop over local arrays, so that the state and the sums
/// stay in registers.
#[inline(always)]
fn filter_rows<const L: usize>(c: &Cascade, state: &mut State<L>, rows: &[[f32; L]]) -> [f64; L] {
    let ([b0, b1, b2], [_, a1, a2]) = (c.shelf.b, c.shelf.a);
    let ([d0, d1, d2], [_, e1, e2]) = (c.highpass.b, c.highpass.a);
    let mut s = state.s;
    let mut acc = [0f64; L];
    for row in rows {
        for l in 0..L {
            let v = row[l] as f64;
            // Only `- a1 * y[n-1]` is on each stage's sample-to-sample chain (one multiply-add;
            // transposed form II has two).
            let y = (b0 * v + b1 * s[0][l] + b2 * s[1][l] - a2 * s[3][l]) - a1 * s[2][l];
            (s[1][l], s[0][l], s[3][l], s[2][l]) = (s[0][l], v, s[2][l], y);
            let w = (d0 * y + d1 * s[4][l] + d2 * s[5][l] - e2 * s[7][l]) - e1 * s[6][l];
            (s[5][l], s[4][l], s[7][l], s[6][l]) = (s[4][l], y, s[6][l], w);
            acc[l] += w * w;
        }
    }
    state.s = s;
    acc
}

impl Cascade {
    /// Samples after which a zero-started state matches the true one to `WARM_UP_RESIDUAL`:
    /// from the largest pole radius r of the two stages, ln(residual) / ln(r), with a margin
    /// for the double pole's t r^t transient.
    fn warm_up(&self) -> usize {
        let radius = |a: [f64; 3]| {
            let disc = a[1] * a[1] - 4.0 * a[2];
            if disc < 0.0 {
                a[2].sqrt()
            } else {
                ((-a[1]).abs() + disc.sqrt()) / 2.0
            }
        };
        let r = radius(self.shelf.a).max(radius(self.highpass.a)).min(1.0 - 1e-12);
        (1.5 * WARM_UP_RESIDUAL.ln() / r.ln()).ceil() as usize + 64
    }

    /// The per-hop sums of squared K-weighted samples of `input` (whole hops only), filtered
    /// from a zero state at its first sample.
    pub(super) fn hop_sums(&self, input: &Input, hop: usize) -> Vec<f64> {
        let n_hops = input.x.len() / hop;
        let warm = self.warm_up();
        let hops_per_lane = n_hops.div_ceil(LANES);
        if 2 * hops_per_lane * hop < warm {
            // Too short for the warm-ups to pay (a lane's step costs about what one stream's
            // does, and the lanes also run the warm-up): one stream.
            let mut sums = vec![0f64; n_hops];
            lanes_body::<1>(self, input, n_hops * hop, 0, hop, &mut sums);
            return sums;
        }
        // Lane l filters segment l (hops_per_lane hops) after warming up on the `warm` samples
        // before it; lane 0's warm-up lies before the signal, where the input is zero, i.e. it
        // starts from the zero state. Sums past the last whole hop are dropped.
        let mut sums = vec![0f64; LANES * hops_per_lane];
        lanes_hop_sums(self, input, hops_per_lane * hop, warm, hop, &mut sums);
        // sums is hop-major (hop h of every lane together): reorder to time order.
        let mut out: Vec<f64> = (0..LANES)
            .flat_map(|l| (0..hops_per_lane).map(move |h| (l, h)))
            .map(|(l, h)| sums[h * LANES + l])
            .collect();
        out.truncate(n_hops);
        out
    }
}

/// The filter's input: the signal, through the correction FIR at low rates, zero outside it.
pub(super) struct Input<'a> {
    pub(super) x: &'a [f32],
    pub(super) correction: Option<&'a Correction>,
}

impl Input<'_> {
    /// out[i] = the input at `start + i` (`start` may be negative). `scratch` holds the signal
    /// window with zeros where it runs off either end. Inlined into the lanes' vector builds.
    #[inline(always)]
    pub(super) fn fill(&self, start: isize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let half = self.correction.map_or(0, |c| c.taps.len() - 1);
        let (lo, hi) = (start - half as isize, start + (out.len() + half) as isize);
        let window: &[f32] = if lo >= 0 && hi <= self.x.len() as isize {
            &self.x[lo as usize..hi as usize]
        } else {
            scratch.clear();
            scratch.extend((lo..hi).map(|i| if i >= 0 && (i as usize) < self.x.len() { self.x[i as usize] } else { 0.0 }));
            scratch
        };
        match self.correction {
            None => out.copy_from_slice(window),
            Some(c) => c.apply_window(window, out),
        }
    }
}

/// Samples per lane read, corrected and transposed at a time.
const BLOCK: usize = 256;

fn lanes_hop_sums(c: &Cascade, input: &Input, seg: usize, warm: usize, hop: usize, sums: &mut [f64]) {
    crate::simd::dispatch_avx512!(lanes_avx512, lanes_avx2, lanes_body_wide, c, input, seg, warm, hop, sums)
}

fn lanes_body_wide(c: &Cascade, input: &Input, seg: usize, warm: usize, hop: usize, sums: &mut [f64]) {
    lanes_body::<LANES>(c, input, seg, warm, hop, sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lanes_avx512(c: &Cascade, input: &Input, seg: usize, warm: usize, hop: usize, sums: &mut [f64]) {
    lanes_body::<LANES>(c, input, seg, warm, hop, sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lanes_avx2(c: &Cascade, input: &Input, seg: usize, warm: usize, hop: usize, sums: &mut [f64]) {
    lanes_body::<LANES>(c, input, seg, warm, hop, sums)
}

/// `L` streams in lock step: stream l filters the input from `l * seg - warm` for `warm + seg`
/// samples and writes the sum of its hop h (after the warm-up) to sums[h * L + l]; hops that do
/// not fit in `sums` are dropped.
#[inline(always)]
fn lanes_body<const L: usize>(c: &Cascade, input: &Input, seg: usize, warm: usize, hop: usize, sums: &mut [f64]) {
    let mut state = State::<L>::zero();
    // Read BLOCK samples of each stream, then step through them time-major.
    let mut lane_block = vec![0f32; BLOCK];
    let mut scratch = Vec::with_capacity(BLOCK + 64);
    let mut block = [[0f32; L]; BLOCK];
    let (mut acc, mut in_hop, mut next_sum) = ([0f64; L], 0usize, 0usize);
    let total = warm + seg;
    let mut t0 = 0;
    while t0 < total {
        let len = BLOCK.min(total - t0);
        for l in 0..L {
            let start = (l * seg + t0) as isize - warm as isize;
            input.fill(start, &mut lane_block[..len], &mut scratch);
            for (row, v) in block.iter_mut().zip(&lane_block[..len]) {
                row[l] = *v;
            }
        }
        // The warm-up part of this block, then the counted part cut at hop ends.
        let mut i = warm.saturating_sub(t0).min(len);
        state.flush_tiny();
        filter_rows(c, &mut state, &block[..i]);
        while i < len {
            let take = (hop - in_hop).min(len - i);
            let part = filter_rows(c, &mut state, &block[i..i + take]);
            for l in 0..L {
                acc[l] += part[l];
            }
            (i, in_hop) = (i + take, in_hop + take);
            if in_hop == hop {
                if let Some(out) = sums.get_mut(next_sum * L..(next_sum + 1) * L) {
                    out.copy_from_slice(&acc);
                }
                (acc, in_hop, next_sum) = ([0f64; L], 0, next_sum + 1);
            }
        }
        t0 += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_weighting_at_48k_matches_the_standard_table() {
        // ITU-R BS.1770-4, Tables 1 and 2.
        let (shelf, hp) = k_weighting(48_000);
        let want_shelf = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [-1.69065929318241, 0.73248077421585]);
        let want_hp = ([1.0, -2.0, 1.0], [-1.99004745483398, 0.99007225036621]);
        for (got, want) in shelf.b.iter().zip(want_shelf.0).chain(hp.b.iter().zip(want_hp.0)) {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
        for (got, want) in shelf.a[1..].iter().zip(want_shelf.1).chain(hp.a[1..].iter().zip(want_hp.1)) {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
    }

    #[test]
    fn lanes_with_warm_up_equal_one_stream() {
        for rate in [16_000u32, 48_000] {
            let (shelf, highpass) = k_weighting(rate);
            let c = Cascade { shelf, highpass };
            let hop = rate as usize / 10;
            let mut seed = 1u64;
            let x: Vec<f32> = (0..hop * 97 + 13)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * (1.0 + (i as f32 * 1e-4).sin())
                })
                .collect();
            let lanes = c.hop_sums(&Input { x: &x, correction: None }, hop);
            let mut state = State::<1>::zero();
            let serial: Vec<f64> = x
                .chunks_exact(hop)
                .map(|h| {
                    let rows: Vec<[f32; 1]> = h.iter().map(|v| [*v]).collect();
                    filter_rows(&c, &mut state, &rows)[0]
                })
                .collect();
            assert_eq!(lanes.len(), serial.len());
            for (h, (a, b)) in lanes.iter().zip(&serial).enumerate() {
                assert!((a - b).abs() <= 1e-9 * b.abs(), "{rate} Hz hop {h}: {a} vs {b}");
            }
        }
    }
}
