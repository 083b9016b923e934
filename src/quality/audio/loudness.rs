//! Integrated loudness per ITU-R BS.1770-4 / EBU R 128 (LUFS), for one channel at any rate.
//!
//! K-weighting: the standard gives its two biquads (a high shelf and an RLB high-pass) only at
//! 48 kHz. At other rates we redesign them from the analogue prototypes that reproduce those
//! 48 kHz coefficients exactly (the derivation libebur128 uses: shelf f0 = 1681.97 Hz, gain
//! 4.0 dB, Q = 0.7072; high-pass f0 = 38.14 Hz, Q = 0.5003; bilinear transform with
//! pre-warping); below 44.1 kHz we upsample to 48 kHz instead (see `NATIVE_WEIGHTING_MIN_RATE`).
//! Gating: 400 ms blocks every 100 ms (75 % overlap), an absolute gate at -70 LUFS,
//! then a relative gate 10 LU below the loudness of the blocks that passed the absolute gate.
//! Reference checks: a full-scale 997 Hz sine reads -3.01 LUFS (BS.1770-4, section 2.1 note), and
//! tests/fixtures/audio/loudness_reference.json holds a NumPy/SciPy rendering of the standard
//! (table filter at 48 kHz) and pyloudnorm's values (its RBJ-cookbook K-weighting is an
//! approximation, about 0.04 LU away from the table filter on our files).

/// BS.1770 offset that makes a 0 dBFS 1 kHz sine read -3.01 LKFS after K-weighting.
const LOUDNESS_OFFSET: f64 = -0.691;
/// Gating block length and hop, seconds (400 ms, 75 % overlap).
const BLOCK_S: f64 = 0.4;
const HOP_S: f64 = 0.1;
const HOPS_PER_BLOCK: usize = 4;
/// The rate at which BS.1770 tabulates the K-weighting filter.
const STANDARD_RATE: u32 = 48_000;
/// Below this rate the bilinear redesign of the K-weighting drifts from the 48 kHz filter's
/// response (by about 0.08 LU on 16 kHz speech, measured against the table filter on the signal
/// upsampled to 48 kHz), so such signals are upsampled to 48 kHz and weighted with the table
/// filter itself. At 44.1 kHz and above the redesign is within 0.01 LU.
const NATIVE_WEIGHTING_MIN_RATE: u32 = 44_100;
/// The upsampling filter for that: 12 zero crossings per side, Kaiser beta 7 (about -70 dB
/// images). A third of `resample`'s default cost; the loudness moves by under 0.005 LU.
const UPSAMPLE_ZERO_CROSSINGS: usize = 12;
const UPSAMPLE_KAISER_BETA: f64 = 7.0;
/// Absolute gate, LUFS.
const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// Relative gate below the absolute-gated loudness, LU.
const RELATIVE_GATE_LU: f64 = -10.0;

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
    /// Filters `x` in direct form I (f64 state): only `-a1 * y[n-1]` is on the sample-to-sample
    /// dependency chain, one multiply-add per sample, where transposed form II has two.
    fn run(&self, x: impl Iterator<Item = f64>) -> impl Iterator<Item = f64> {
        let (b, a) = (self.b, self.a);
        let (mut x1, mut x2, mut y1, mut y2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        x.map(move |v| {
            let partial = b[0] * v + b[1] * x1 + b[2] * x2 - a[2] * y2;
            let y = partial - a[1] * y1;
            (x2, x1, y2, y1) = (x1, v, y1, y);
            y
        })
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

/// Per-block mean squares of the K-weighted signal (400 ms blocks every 100 ms; only blocks that
/// lie wholly inside the signal). Empty when the signal is shorter than one block.
pub fn block_powers(samples: &[f32], rate: u32) -> Vec<f64> {
    if rate > 0 && rate < NATIVE_WEIGHTING_MIN_RATE && samples.len() as f64 >= BLOCK_S * rate as f64 {
        let up = crate::media::audio::resample_with(
            samples,
            rate,
            STANDARD_RATE,
            UPSAMPLE_ZERO_CROSSINGS,
            UPSAMPLE_KAISER_BETA,
        );
        return block_powers(&up, STANDARD_RATE);
    }
    // A block is exactly four hops (400 ms = 4 x 100 ms; at rates that are not a multiple of
    // 10 Hz the block is 4 x the rounded hop), so only per-hop sums are kept: memory stays
    // O(blocks) however long the signal.
    let hop = (HOP_S * rate as f64).round().max(1.0) as usize;
    let block = HOPS_PER_BLOCK * hop;
    if samples.len() < block {
        return Vec::new();
    }
    let (shelf, hp) = k_weighting(rate);
    let weighted = hp.run(shelf.run(samples.iter().map(|s| *s as f64)));
    let n_hops = samples.len() / hop;
    let mut hop_sums = Vec::with_capacity(n_hops);
    let mut acc = 0.0f64;
    for (i, y) in weighted.take(n_hops * hop).enumerate() {
        acc += y * y;
        if (i + 1) % hop == 0 {
            hop_sums.push(acc);
            acc = 0.0;
        }
    }
    hop_sums.windows(HOPS_PER_BLOCK).map(|w| w.iter().sum::<f64>() / block as f64).collect()
}

fn lufs(power: f64) -> f64 {
    LOUDNESS_OFFSET + 10.0 * power.log10()
}

/// Integrated loudness in LUFS of a single channel, or None when no 400 ms block exists (the
/// signal is shorter than 0.4 s) or every block is below the -70 LUFS absolute gate.
pub fn integrated_loudness(samples: &[f32], rate: u32) -> Option<f64> {
    gated_loudness(&block_powers(samples, rate))
}

/// The two-stage gate over per-block mean squares.
pub fn gated_loudness(blocks: &[f64]) -> Option<f64> {
    let above_abs: Vec<f64> =
        blocks.iter().copied().filter(|z| *z > 0.0 && lufs(*z) > ABSOLUTE_GATE_LUFS).collect();
    if above_abs.is_empty() {
        return None;
    }
    let mean_abs = above_abs.iter().sum::<f64>() / above_abs.len() as f64;
    let gate = lufs(mean_abs) + RELATIVE_GATE_LU;
    let kept: Vec<f64> = above_abs.into_iter().filter(|z| lufs(*z) > gate).collect();
    if kept.is_empty() {
        return None;
    }
    Some(lufs(kept.iter().sum::<f64>() / kept.len() as f64))
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
    fn full_scale_sine_reads_minus_3_01_lufs_at_any_rate() {
        for rate in [16_000u32, 44_100, 48_000] {
            let x: Vec<f32> = (0..rate as usize * 5)
                .map(|i| (2.0 * std::f64::consts::PI * 997.0 * i as f64 / rate as f64).sin() as f32)
                .collect();
            let l = integrated_loudness(&x, rate).unwrap();
            assert!((l + 3.01).abs() < 0.05, "{rate} Hz: {l}");
        }
    }

    #[test]
    fn gates_drop_silence_and_quiet_passages() {
        let rate = 48_000u32;
        let tone = |amp: f64, secs: f64| -> Vec<f32> {
            (0..(rate as f64 * secs) as usize)
                .map(|i| (amp * (2.0 * std::f64::consts::PI * 997.0 * i as f64 / rate as f64).sin()) as f32)
                .collect()
        };
        let loud = tone(0.1, 4.0);
        let reference = integrated_loudness(&loud, rate).unwrap();
        // Appending digital silence (absolute gate) and a -40 dB passage (relative gate) leaves
        // the integrated loudness where it was, up to the few blocks straddling the joins.
        let mut x = loud.clone();
        x.extend(vec![0.0; rate as usize * 4]);
        x.extend(tone(0.001, 4.0));
        let l = integrated_loudness(&x, rate).unwrap();
        assert!((l - reference).abs() < 0.3, "{l} vs {reference}");
        assert_eq!(integrated_loudness(&vec![0.0; rate as usize], rate), None);
        assert_eq!(integrated_loudness(&loud[..1000], rate), None);
    }
}
