//! Short-time analysis behind the signal-level audio scorer: frame levels, a per-band noise floor
//! (minimum statistics), the long-term average spectrum (bandwidth, roll-off) and spectral
//! flatness, all from one pass of Hann-windowed real FFTs (power_spectrum.rs, over rustfft),
//! frames split across rayon's threads in contiguous runs and merged in frame order.
//!
//! Frames are about 32 ms (the power of two nearest to 0.032 x rate, 256..4096 samples) with 50 %
//! overlap. Powers are scaled to mean-square units (a full-scale sine is 0.5), so band energies
//! of a frame sum to the frame's mean square and dB values are dBFS.

use rayon::prelude::*;
use super::power_spectrum::PowerSpectrum;
use std::ops::Range;

/// Frame length target, seconds.
const FRAME_S: f64 = 0.032;
const MIN_FFT: usize = 256;
const MAX_FFT: usize = 4096;
/// Bands for the noise floor: [0, 100 Hz) then log-spaced from 100 Hz to Nyquist.
const N_BANDS: usize = 32;
const FIRST_BAND_HZ: f64 = 100.0;
/// A frame quieter than this (dBFS, mean square of the DC-free signal) counts as silence.
pub const SILENCE_DBFS: f64 = -60.0;
/// A band's noise floor is the mean of its quietest frames, this share of them (a trimmed mean
/// varies less from clip to clip than a single percentile).
const NOISE_SHARE: f64 = 0.20;
/// Energy floor so that digital silence has a finite level (-140 dBFS).
const ENERGY_FLOOR: f64 = 1e-14;
/// The effective bandwidth is the highest frequency whose smoothed long-term spectrum is within
/// this many dB of the spectrum's maximum.
const BANDWIDTH_DB: f64 = 60.0;
/// Smoothing half-width of the long-term spectrum for the bandwidth search, Hz.
const BANDWIDTH_SMOOTH_HZ: f64 = 100.0;
/// Share of the long-term energy below the roll-off frequency.
const ROLLOFF_SHARE: f64 = 0.99;

/// What one pass over the signal measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub frames: usize,
    /// Share of frames below `SILENCE_DBFS`.
    pub silence_ratio: f64,
    /// Percentiles of frame level, dBFS.
    pub level_p10_db: f64,
    pub level_p50_db: f64,
    pub level_p95_db: f64,
    /// Sum of per-band noise floors, dBFS.
    pub noise_floor_db: f64,
    /// Mean frame power over the noise floor, dB (see `analyse`).
    pub snr_db: f64,
    /// Effective bandwidth, Hz (0 when every frame is silent).
    pub bandwidth_hz: f64,
    /// Frequency below which `ROLLOFF_SHARE` of the long-term energy lies, Hz.
    pub rolloff_hz: f64,
    /// Mean spectral flatness (geometric / arithmetic mean power) of non-silent frames, over
    /// 100 Hz .. the effective bandwidth; 0 when every frame is silent.
    pub flatness: f64,
}

fn fft_len(rate: u32) -> usize {
    let target = (FRAME_S * rate as f64).max(1.0);
    let lower = 1usize << (target.log2().floor() as u32);
    let n = if target / lower as f64 > (2 * lower) as f64 / target { 2 * lower } else { lower };
    n.clamp(MIN_FFT, MAX_FFT)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let idx = ((values.len() - 1) as f64 * q).round() as usize;
    let (_, v, _) = values.select_nth_unstable_by(idx, |a, b| a.total_cmp(b));
    *v
}

/// A product of many positive numbers held as a mantissa in [1, 2) and a binary exponent: it
/// cannot underflow, and its logarithm costs one `ln` however many factors it has (a `ln` per
/// spectral bin or band was the largest cost of the analysis).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LogProduct {
    mantissa: f64,
    exponent: i64,
}

const EXP_MASK: u64 = 0x7ff << 52;
const EXP_BIAS: i64 = 1023;

impl LogProduct {
    const ONE: Self = LogProduct { mantissa: 1.0, exponent: 0 };

    /// `x` (positive and normal) split into mantissa and exponent, exactly.
    fn of(x: f64) -> Self {
        let bits = x.to_bits();
        LogProduct {
            mantissa: f64::from_bits((bits & !EXP_MASK) | ((EXP_BIAS as u64) << 52)),
            exponent: ((bits & EXP_MASK) >> 52) as i64 - EXP_BIAS,
        }
    }

    fn times(self, other: Self) -> Self {
        let m = LogProduct::of(self.mantissa * other.mantissa);
        LogProduct { mantissa: m.mantissa, exponent: self.exponent + other.exponent + m.exponent }
    }

    fn ln(self) -> f64 {
        self.mantissa.ln() + self.exponent as f64 * std::f64::consts::LN_2
    }

    /// The product of (v + ENERGY_FLOOR) over `values`, 16 at a time: 16 factors in
    /// [1e-14, 1] multiply to at least 1e-224, still a normal f64. Each 16 are multiplied as
    /// four independent products of four (one dependent chain of 16 multiplies was a third
    /// of the per-frame time).
    fn of_powers(values: &[f64]) -> Self {
        values
            .chunks(16)
            .map(|chunk| {
                let mut p = [1f64; 4];
                let mut quads = chunk.chunks_exact(4);
                for q in quads.by_ref() {
                    for j in 0..4 {
                        p[j] *= q[j] + ENERGY_FLOOR;
                    }
                }
                for (j, v) in quads.remainder().iter().enumerate() {
                    p[j] *= v + ENERGY_FLOOR;
                }
                LogProduct::of((p[0] * p[1]) * (p[2] * p[3]))
            })
            .fold(LogProduct::ONE, LogProduct::times)
    }
}

/// Sum of `values` in eight independent partial sums (vectorises; a plain sum is one chain of
/// dependent adds).
#[inline(always)]
fn sum_lanes(values: &[f64]) -> f64 {
    let mut acc = [0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for c in chunks.by_ref() {
        for j in 0..8 {
            acc[j] += c[j];
        }
    }
    let tail: f64 = chunks.remainder().iter().sum();
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

fn db(power: f64) -> f64 {
    10.0 * power.max(ENERGY_FLOOR).log10()
}

/// What every frame's analysis shares.
struct FrameSetup<'a> {
    samples: &'a [f32],
    n: usize,
    hop: usize,
    dc: f64,
    window: &'a [f32],
    /// Per-bin factor from |X_k|^2 to mean-square units.
    scale: &'a [f64],
    band_ranges: &'a [Range<usize>],
    spectrum: PowerSpectrum,
}

/// The analysis of a run of consecutive frames.
struct FrameRun {
    /// Level of each frame, dBFS.
    levels: Vec<f64>,
    /// Band energies of each frame.
    bands: Vec<[f64; N_BANDS]>,
    /// Per non-silent frame: band energies and band sums of ln(bin power), for flatness.
    band_ln: Vec<([f64; N_BANDS], [LogProduct; N_BANDS])>,
    /// Sum of the non-silent frames' bin powers (long-term average spectrum, unnormalised).
    ltas: Vec<f64>,
}

/// Analyses a run of frames, in the widest vector build the CPU has (the FFT inside picks its
/// own).
fn run_frames(setup: &FrameSetup, frames: Range<usize>) -> FrameRun {
    crate::simd::dispatch_avx512!(run_frames_avx512, run_frames_avx2, run_frames_body, setup, frames)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_frames_avx512(setup: &FrameSetup, frames: Range<usize>) -> FrameRun {
    setup.run(frames)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_frames_avx2(setup: &FrameSetup, frames: Range<usize>) -> FrameRun {
    setup.run(frames)
}

fn run_frames_body(setup: &FrameSetup, frames: Range<usize>) -> FrameRun {
    setup.run(frames)
}

impl FrameSetup<'_> {
    #[inline(always)]
    fn run(&self, frames: Range<usize>) -> FrameRun {
        let half = self.n / 2;
        let mut input = vec![0f32; self.n];
        let mut work = self.spectrum.make_workspace();
        let mut power = vec![0f64; half + 1];
        let mut out = FrameRun {
            levels: Vec::with_capacity(frames.len()),
            bands: Vec::with_capacity(frames.len()),
            band_ln: Vec::new(),
            ltas: vec![0f64; half + 1],
        };
        let dc = self.dc as f32;
        for f in frames {
            let start = f * self.hop;
            let frame = &self.samples[start..(start + self.n).min(self.samples.len())];
            // Two simple passes (one loop doing both did not vectorise): the windowed input, and
            // the mean square in eight f64 partial sums, eight samples at a time.
            for ((x, v), w) in input.iter_mut().zip(frame).zip(self.window) {
                *x = (v - dc) * w;
            }
            input[frame.len()..].fill(0.0);
            let mut ms = [0f64; 8];
            let mut eights = frame.chunks_exact(8);
            for s8 in eights.by_ref() {
                for j in 0..8 {
                    let v = (s8[j] - dc) as f64;
                    ms[j] += v * v;
                }
            }
            for v in eights.remainder() {
                let v = (v - dc) as f64;
                ms[0] += v * v;
            }
            let level = db(ms.iter().sum::<f64>() / frame.len().max(1) as f64);
            out.levels.push(level);
            self.spectrum.compute(&mut input, &mut work, &mut power);
            for (p, s) in power.iter_mut().zip(self.scale) {
                *p *= s;
            }
            let mut e = [0f64; N_BANDS];
            for (b, range) in self.band_ranges.iter().enumerate() {
                e[b] = sum_lanes(&power[range.clone()]);
            }
            out.bands.push(e);
            if level >= SILENCE_DBFS {
                let mut l = [LogProduct::ONE; N_BANDS];
                for (b, range) in self.band_ranges.iter().enumerate() {
                    l[b] = LogProduct::of_powers(&power[range.clone()]);
                }
                for (acc, p) in out.ltas.iter_mut().zip(&power) {
                    *acc += p;
                }
                out.band_ln.push((e, l));
            }
        }
        out
    }
}

/// Analyses mono `samples` at `rate` Hz. `dc` (the signal mean) is removed first so that an
/// offset does not read as signal; it is measured separately.
///
/// Noise floor: for each band, the mean of its quietest 20 % of frames (minimum statistics: in
/// speech the pauses, in most recordings the quietest fifth of the time).
/// SNR estimate: 10 log10((mean frame power - noise) / noise). It reads the noise between events,
/// so it is a noise estimate for speech and effects, and a dynamic-range-like value for dense
/// music (still lower when noise is added).
pub fn analyse(samples: &[f32], rate: u32, dc: f64) -> Analysis {
    let n = fft_len(rate);
    let hop = n / 2;
    let half = n / 2;
    let hz_per_bin = rate as f64 / n as f64;
    let window: Vec<f32> = (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect();
    let win_energy: f64 = window.iter().map(|w| (*w as f64).powi(2)).sum();
    // Bin k's power in mean-square units: one-sided spectrum, so interior bins count twice.
    let scale: Vec<f64> =
        (0..=half).map(|k| if k == 0 || k == half { 1.0 } else { 2.0 } / (n as f64 * win_energy)).collect();
    let nyquist = rate as f64 / 2.0;
    let ratio = (nyquist / FIRST_BAND_HZ).max(1.0 + 1e-9).powf(1.0 / (N_BANDS - 1) as f64);
    let band_of: Vec<usize> = (0..=half)
        .map(|k| {
            let f = k as f64 * hz_per_bin;
            if f < FIRST_BAND_HZ {
                0
            } else {
                (1 + ((f / FIRST_BAND_HZ).ln() / ratio.ln()) as usize).min(N_BANDS - 1)
            }
        })
        .collect();

    // Bands are contiguous bin ranges (band_of is non-decreasing in k).
    let band_ranges: Vec<Range<usize>> = (0..N_BANDS)
        .map(|b| {
            let lo = band_of.iter().position(|x| *x == b).unwrap_or(0);
            let hi = band_of.iter().rposition(|x| *x == b).map_or(lo, |h| h + 1);
            lo..hi
        })
        .collect();
    let n_frames = if samples.len() <= n { 1 } else { 1 + (samples.len() - n) / hop };
    let frame_setup =
        FrameSetup { samples, n, hop, dc, window: &window, scale: &scale, band_ranges: &band_ranges, spectrum: PowerSpectrum::new(n) };
    // Contiguous runs of frames, a few per thread so that a thread that finishes early (the
    // loudness meter runs beside this) can take more.
    let runs = (rayon::current_num_threads() * 4).max(1);
    let per_run = n_frames.div_ceil(runs).max(16);
    let parts: Vec<FrameRun> = (0..n_frames)
        .step_by(per_run)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|first| run_frames(&frame_setup, first..(first + per_run).min(n_frames)))
        .collect();
    let mut levels = Vec::with_capacity(n_frames);
    let mut bands: Vec<[f64; N_BANDS]> = Vec::with_capacity(n_frames);
    let mut band_ln = Vec::with_capacity(n_frames);
    let mut ltas = vec![0f64; half + 1];
    for part in parts {
        levels.extend(part.levels);
        bands.extend(part.bands);
        band_ln.extend(part.band_ln);
        for (acc, p) in ltas.iter_mut().zip(&part.ltas) {
            *acc += p;
        }
    }
    let active = band_ln.len();

    let silence_ratio = 1.0 - active as f64 / n_frames as f64;
    let mut sorted_levels = levels.clone();
    let level_p10_db = percentile(&mut sorted_levels, 0.10);
    let level_p50_db = percentile(&mut sorted_levels, 0.50);
    let level_p95_db = percentile(&mut sorted_levels, 0.95);

    let mut noise = 0f64;
    let mut column = Vec::with_capacity(n_frames);
    for b in 0..N_BANDS {
        column.clear();
        column.extend(bands.iter().map(|e| e[b]));
        let k = ((column.len() as f64 * NOISE_SHARE).ceil() as usize).clamp(1, column.len());
        if k < column.len() {
            column.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
        }
        let floor = column[..k].iter().sum::<f64>() / k as f64;
        noise += floor.max(ENERGY_FLOOR / N_BANDS as f64);
    }
    let mean_power = bands.iter().map(|e| e.iter().sum::<f64>()).sum::<f64>() / n_frames as f64;
    let snr_db = db((mean_power - noise).max(ENERGY_FLOOR)) - db(noise);

    let (bandwidth_hz, rolloff_hz) = if active == 0 {
        (0.0, 0.0)
    } else {
        let smooth = ((BANDWIDTH_SMOOTH_HZ / hz_per_bin).round() as usize).max(1);
        let mut prefix = vec![0f64; half + 2];
        for k in 0..=half {
            prefix[k + 1] = prefix[k] + ltas[k];
        }
        let smoothed: Vec<f64> = (0..=half)
            .map(|k| {
                let lo = k.saturating_sub(smooth);
                let hi = (k + smooth).min(half);
                (prefix[hi + 1] - prefix[lo]) / (hi + 1 - lo) as f64
            })
            .collect();
        // DC and the lowest bins hold rumble, not content: the peak is searched from 50 Hz.
        let first = ((50.0 / hz_per_bin).ceil() as usize).min(half);
        let peak = smoothed[first..].iter().copied().fold(0f64, f64::max);
        let limit = peak * 10f64.powf(-BANDWIDTH_DB / 10.0);
        let top = (first..=half).rev().find(|k| smoothed[*k] >= limit && peak > 0.0).unwrap_or(0);
        let total = prefix[half + 1];
        let roll = (0..=half).find(|k| prefix[k + 1] >= ROLLOFF_SHARE * total).unwrap_or(half);
        (top as f64 * hz_per_bin, roll as f64 * hz_per_bin)
    };

    let flatness = if active == 0 {
        0.0
    } else {
        // Bands 1.. whose lower edge lies below the effective bandwidth.
        let last_band = band_of[((bandwidth_hz / hz_per_bin) as usize).min(half)].max(1);
        let mut counts = [0usize; N_BANDS];
        for k in 1..=half {
            counts[band_of[k]] += 1;
        }
        let bins: usize = counts[1..=last_band].iter().sum();
        let mut total = 0f64;
        for (e, l) in &band_ln {
            let ln_sum = l[1..=last_band].iter().fold(LogProduct::ONE, |p, b| p.times(*b)).ln();
            let e_sum: f64 = e[1..=last_band].iter().sum();
            let geo = (ln_sum / bins.max(1) as f64).exp();
            let arith = e_sum / bins.max(1) as f64 + ENERGY_FLOOR;
            total += (geo / arith).min(1.0);
        }
        total / band_ln.len() as f64
    };

    Analysis {
        frames: n_frames,
        silence_ratio,
        level_p10_db,
        level_p50_db,
        level_p95_db,
        noise_floor_db: db(noise),
        snr_db,
        bandwidth_hz,
        rolloff_hz,
        flatness,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg_noise(n: usize, amp: f32, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    #[test]
    fn log_products_match_the_plain_sum_of_logs() {
        let v: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 * 1e-3 * 10f64.powi(-(i % 15))).collect();
        let plain: f64 = v.iter().map(|x| (x + ENERGY_FLOOR).ln()).sum();
        let fast = LogProduct::of_powers(&v).ln();
        assert!((fast - plain).abs() < 1e-9 * plain.abs(), "{fast} vs {plain}");
        let (a, b) = v.split_at(377);
        let split = LogProduct::of_powers(a).times(LogProduct::of_powers(b)).ln();
        assert!((split - plain).abs() < 1e-9 * plain.abs(), "{split} vs {plain}");
    }

    #[test]
    fn fft_length_is_the_nearest_power_of_two_to_32_ms() {
        assert_eq!(fft_len(16_000), 512);
        assert_eq!(fft_len(44_100), 1024);
        assert_eq!(fft_len(48_000), 2048);
        assert_eq!(fft_len(8_000), 256);
    }

    #[test]
    fn white_noise_is_flat_and_full_band_and_a_tone_is_not() {
        let rate = 16_000;
        let a = analyse(&lcg_noise(rate as usize * 2, 0.3, 1), rate, 0.0);
        // The periodogram of white noise is exponential: geometric/arithmetic mean = e^-gamma.
        assert!((a.flatness - 0.56).abs() < 0.05, "{a:?}");
        assert!(a.bandwidth_hz > 7_500.0, "{a:?}");
        // Level: uniform noise of amplitude 0.3 has mean square 0.03 (-15.2 dBFS).
        assert!((a.level_p50_db + 15.2).abs() < 0.5, "{a:?}");
        let tone: Vec<f32> =
            (0..rate as usize * 2).map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / rate as f32).sin() * 0.5).collect();
        let t = analyse(&tone, rate, 0.0);
        assert!(t.flatness < 0.01, "{t:?}");
        assert!(t.silence_ratio == 0.0 && t.rolloff_hz < 600.0, "{t:?}");
    }

    #[test]
    fn snr_estimate_falls_as_noise_is_added_to_bursts() {
        // Tone bursts with gaps: the gaps show the noise floor.
        let rate = 16_000u32;
        let burst: Vec<f32> = (0..rate as usize * 4)
            .map(|i| if (i / 4000) % 2 == 0 { (i as f32 * 0.2).sin() * 0.5 } else { 0.0 })
            .collect();
        let mut last = f64::INFINITY;
        for amp in [0.001f32, 0.01, 0.05] {
            let noisy: Vec<f32> = burst.iter().zip(lcg_noise(burst.len(), amp, 7)).map(|(a, b)| a + b).collect();
            let a = analyse(&noisy, rate, 0.0);
            assert!(a.snr_db < last, "{amp}: {a:?}");
            last = a.snr_db;
        }
    }
}
