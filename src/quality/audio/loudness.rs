//! Integrated loudness per ITU-R BS.1770-4 / EBU R 128 (LUFS), for one channel at any rate.
//!
//! K-weighting: the standard gives its two biquads (a high shelf and an RLB high-pass) only at
//! 48 kHz. At other rates we redesign them from the analogue prototypes that reproduce those
//! 48 kHz coefficients exactly (the derivation libebur128 uses: shelf f0 = 1681.97 Hz, gain
//! 4.0 dB, Q = 0.7072; high-pass f0 = 38.14 Hz, Q = 0.5003; bilinear transform with
//! pre-warping). Below 44.1 kHz that redesign drifts from the 48 kHz filter near Nyquist (up to
//! 0.15 dB at 16 kHz), so a short linear-phase FIR (`Correction`) restores the table filter's
//! magnitude response: the signal is filtered at its own rate, never upsampled. A band-limited
//! signal upsampled to 48 kHz and weighted there has exactly the power of the native signal
//! weighted by any filter with the table filter's magnitude below the native Nyquist frequency,
//! so this is the standard's measurement, not an approximation of it, up to the fit (< 0.01 dB).
//! Gating: 400 ms blocks every 100 ms (75 % overlap), an absolute gate at -70 LUFS,
//! then a relative gate 10 LU below the loudness of the blocks that passed the absolute gate.
//! Reference checks: a full-scale 997 Hz sine reads -3.01 LUFS (BS.1770-4, section 2.1 note), and
//! tests/fixtures/audio/loudness_reference.json holds a NumPy/SciPy rendering of the standard
//! (table filter at 48 kHz) and pyloudnorm's values (its RBJ-cookbook K-weighting is an
//! approximation, about 0.04 LU away from the table filter on our files).

mod correction;
mod kweight;

pub use correction::Correction;
use kweight::{Cascade, Input};
pub use kweight::{k_weighting, Biquad};

/// BS.1770 offset that makes a 0 dBFS 1 kHz sine read -3.01 LKFS after K-weighting.
const LOUDNESS_OFFSET: f64 = -0.691;
/// Gating block length and hop, seconds (400 ms, 75 % overlap).
const HOP_S: f64 = 0.1;
const HOPS_PER_BLOCK: usize = 4;
/// The rate at which BS.1770 tabulates the K-weighting filter.
const STANDARD_RATE: u32 = 48_000;
/// Below this rate the bilinear redesign of the K-weighting drifts from the 48 kHz filter's
/// response (by about 0.08 LU on 16 kHz speech) and `Correction` is applied; at 44.1 kHz and
/// above the redesign is within 0.01 LU.
const NATIVE_WEIGHTING_MIN_RATE: u32 = 44_100;
/// Absolute gate, LUFS.
const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// Relative gate below the absolute-gated loudness, LU.
const RELATIVE_GATE_LU: f64 = -10.0;

/// Per-block mean squares of the K-weighted signal (400 ms blocks every 100 ms; only blocks that
/// lie wholly inside the signal). Empty when the signal is shorter than one block.
pub fn block_powers(samples: &[f32], rate: u32) -> Vec<f64> {
    // A block is exactly four hops (400 ms = 4 x 100 ms; at rates that are not a multiple of
    // 10 Hz the block is 4 x the rounded hop), so only per-hop sums are kept: memory stays
    // O(blocks) however long the signal.
    let hop = (HOP_S * rate as f64).round().max(1.0) as usize;
    let block = HOPS_PER_BLOCK * hop;
    if rate == 0 || samples.len() < block {
        return Vec::new();
    }
    let correction = (rate < NATIVE_WEIGHTING_MIN_RATE).then(|| correction::for_rate(rate));
    let input = Input { x: samples, correction: correction.as_deref() };
    let (shelf, highpass) = k_weighting(rate);
    let hop_sums = Cascade { shelf, highpass }.hop_sums(&input, hop);
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
