//! "audio-signal": a signal-level, no-reference audio quality score for any audio (speech, music,
//! effects). It measures defects a listener hears or a mastering engineer would flag, maps each
//! to [0, 1] by a stated curve, and combines them by a weighted geometric mean, so one severe
//! defect (heavy clipping, a file of silence) pulls the score down whatever the rest says.
//!
//! Sub-measures (all in `QualityScore::details`, with their [0, 1] sub-scores as `s_<name>`):
//! | measure | definition | curve to [0, 1] | weight |
//! |---|---|---|---|
//! | clipping | share of samples at full scale (abs >= 0.999) or on a flat top (>= 3 equal samples at >= 90 % of the peak) | exp(-ratio / 0.005) | 2 |
//! | dc_offset | abs(mean sample), full scale = 1 | exp(-abs(dc) / 0.05) | 1 |
//! | silence_ratio | share of ~32 ms frames below -60 dBFS | 1 up to 0.3, then linear to 0 at 1.0 | 1 |
//! | snr_db | mean power over the per-band noise floor (mean of each band's quietest 20 % of frames, spectral.rs) | logistic: 1 / (1 + exp(-(snr - 12) / 5)) | 2 |
//! | loudness_lufs | BS.1770-4 integrated loudness (loudness.rs) of the mono mix + 10 log10(channels) | 1 inside [-24, -12] LUFS, else exp(-d^2 / 200), d = LU outside | 1 |
//! | bandwidth_hz | highest frequency within 60 dB of the long-term spectrum's peak | ln(bw / 250) / ln(16000 / 250), clamped | 1 |
//! | flatness | mean spectral flatness of non-silent frames (white noise ~0.56) | exp(-(flatness / 0.4)^2) | 1 |
//!
//! score = exp(sum w ln max(s, 0.001) / sum w) over the measures that exist (loudness needs
//! 0.4 s; a clip shorter than that is scored without it). `raw` is the same value: the scorer's
//! native value is the combined score itself.
//!
//! Channel note: loudness is measured on the mono mix and corrected by +10 log10(channels),
//! which is exact for identical channels (dual mono) and near-exact for typical, highly
//! correlated stereo; uncorrelated channels read up to 3 LU low.

use super::{loudness, spectral};
use crate::data::Modality;
use crate::media::audio;
use crate::quality::{QualityError, QualityScore, Scorer, ScorerContext};
use std::path::Path;

pub const NAME: &str = "audio-signal";
/// Bump when any measure or curve changes (part of the store fingerprint).
const VERSION: &str = "1";

/// Samples at or above this magnitude are clipped.
const CLIP_FULL_SCALE: f32 = 0.999;
/// A flat top: at least this many consecutive equal samples ...
const FLAT_RUN: usize = 3;
/// ... equal within this tolerance ...
const FLAT_TOLERANCE: f32 = 1e-6;
/// ... at or above this share of the signal's peak, in a signal whose peak is at least
/// `FLAT_MIN_PEAK` (clipped-then-attenuated audio).
const FLAT_PEAK_SHARE: f32 = 0.9;
const FLAT_MIN_PEAK: f32 = 0.1;

const CLIP_SCALE: f64 = 0.005;
const DC_SCALE: f64 = 0.05;
const SILENCE_OK: f64 = 0.3;
const SNR_MID_DB: f64 = 12.0;
const SNR_SLOPE_DB: f64 = 5.0;
const LOUDNESS_LOW_LUFS: f64 = -24.0;
const LOUDNESS_HIGH_LUFS: f64 = -12.0;
const LOUDNESS_SIGMA_LU: f64 = 10.0;
const BANDWIDTH_LOW_HZ: f64 = 250.0;
const BANDWIDTH_FULL_HZ: f64 = 16_000.0;
const FLATNESS_SCALE: f64 = 0.4;
/// Sub-scores are floored here before the geometric mean so one zero does not make ln blow up.
const SUBSCORE_FLOOR: f64 = 1e-3;

const W_CLIP: f64 = 2.0;
const W_DC: f64 = 1.0;
const W_SILENCE: f64 = 1.0;
const W_SNR: f64 = 2.0;
const W_LOUDNESS: f64 = 1.0;
const W_BANDWIDTH: f64 = 1.0;
const W_FLATNESS: f64 = 1.0;

/// The native measures of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalMeasures {
    pub duration_s: f64,
    pub peak: f64,
    pub clipping: f64,
    pub dc_offset: f64,
    /// None when shorter than one 400 ms block; -inf-like silence reads as `Some(-70)`.
    pub loudness_lufs: Option<f64>,
    pub spectral: spectral::Analysis,
}

/// Sum of the samples (f64) and the peak magnitude, in one pass with eight lanes each so that
/// both vectorise (a single f64 accumulator or `f32::max` fold would not).
fn sum_and_peak(x: &[f32]) -> (f64, f32) {
    let mut sums = [0f64; 8];
    let mut peaks = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            sums[i] += c[i] as f64;
            let a = c[i].abs();
            peaks[i] = if a > peaks[i] { a } else { peaks[i] };
        }
    }
    let sum = sums.iter().sum::<f64>() + tail.iter().map(|v| *v as f64).sum::<f64>();
    let peak = peaks.iter().chain(tail.iter()).fold(0f32, |m, v| m.max(v.abs()));
    (sum, peak)
}

/// Index of the first sample at `from` or later whose magnitude is at least `level`. Scans
/// blocks of 16 without an early exit inside a block, so the common case (no such sample in
/// the block) vectorises.
fn next_at_least(x: &[f32], from: usize, level: f32) -> Option<usize> {
    const BLOCK: usize = 16;
    let mut start = from;
    while start < x.len() {
        let end = (start + BLOCK).min(x.len());
        let block = &x[start..end];
        if block.iter().fold(false, |hit, v| hit | (v.abs() >= level)) {
            return block.iter().position(|v| v.abs() >= level).map(|p| start + p);
        }
        start = end;
    }
    None
}

/// Share of clipped samples (see the module table), for a signal whose peak magnitude is `peak`.
fn clipping_ratio_with_peak(x: &[f32], peak: f32) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let full_scale = x.iter().filter(|v| v.abs() >= CLIP_FULL_SCALE).count();
    let mut flat_below_full_scale = 0usize;
    if peak >= FLAT_MIN_PEAK {
        // A flat run starts at a high sample and goes on while the next is high and equal to
        // the previous; only runs of FLAT_RUN or more count, and their full-scale samples are
        // counted above already.
        let level = peak * FLAT_PEAK_SHARE;
        let mut i = 0;
        while let Some(start) = next_at_least(x, i, level) {
            i = start + 1;
            while i < x.len() && x[i].abs() >= level && (x[i] - x[i - 1]).abs() <= FLAT_TOLERANCE {
                i += 1;
            }
            if i - start >= FLAT_RUN {
                flat_below_full_scale += x[start..i].iter().filter(|s| s.abs() < CLIP_FULL_SCALE).count();
            }
        }
    }
    (full_scale + flat_below_full_scale) as f64 / x.len() as f64
}

/// Share of clipped samples (see the module table).
pub fn clipping_ratio(x: &[f32]) -> f64 {
    clipping_ratio_with_peak(x, sum_and_peak(x).1)
}

/// Measures mono `samples` at `rate` Hz from a source of `channels` channels.
pub fn measure(samples: &[f32], rate: u32, channels: usize) -> SignalMeasures {
    let n = samples.len().max(1) as f64;
    let (sum, peak) = sum_and_peak(samples);
    let dc = sum / n;
    // The loudness meter (a serial IIR) and the clipping scan (serial runs) run beside the
    // spectral analysis, whose frames rayon spreads over the threads that are free.
    let (blocks, (clipping, spectral)) = rayon::join(
        || loudness::block_powers(samples, rate),
        || {
            rayon::join(|| clipping_ratio_with_peak(samples, peak), || spectral::analyse(samples, rate, dc))
        },
    );
    let peak = peak as f64;
    let loudness_lufs = if blocks.is_empty() {
        None
    } else {
        // All blocks under the absolute gate: as quiet as BS.1770 can say.
        let l = loudness::gated_loudness(&blocks).unwrap_or(-70.0);
        Some(l + 10.0 * (channels.max(1) as f64).log10())
    };
    SignalMeasures {
        duration_s: samples.len() as f64 / rate.max(1) as f64,
        peak,
        clipping,
        dc_offset: dc,
        loudness_lufs,
        spectral,
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl SignalMeasures {
    /// (name, sub-score in [0, 1], weight) for each measure that exists.
    pub fn subscores(&self) -> Vec<(&'static str, f64, f64)> {
        let s = &self.spectral;
        let mut out = vec![
            ("clipping", (-self.clipping / CLIP_SCALE).exp(), W_CLIP),
            ("dc_offset", (-self.dc_offset.abs() / DC_SCALE).exp(), W_DC),
            ("silence_ratio", ((1.0 - s.silence_ratio) / (1.0 - SILENCE_OK)).clamp(0.0, 1.0), W_SILENCE),
            ("snr_db", logistic((s.snr_db - SNR_MID_DB) / SNR_SLOPE_DB), W_SNR),
            (
                "bandwidth_hz",
                ((s.bandwidth_hz.max(1.0) / BANDWIDTH_LOW_HZ).ln() / (BANDWIDTH_FULL_HZ / BANDWIDTH_LOW_HZ).ln())
                    .clamp(0.0, 1.0),
                W_BANDWIDTH,
            ),
            ("flatness", (-(s.flatness / FLATNESS_SCALE).powi(2)).exp(), W_FLATNESS),
        ];
        if let Some(l) = self.loudness_lufs {
            let d = (LOUDNESS_LOW_LUFS - l).max(l - LOUDNESS_HIGH_LUFS).max(0.0);
            out.push(("loudness_lufs", (-d * d / (2.0 * LOUDNESS_SIGMA_LU.powi(2))).exp(), W_LOUDNESS));
        }
        out
    }

    /// The weighted geometric mean of the sub-scores.
    pub fn combined(&self) -> f64 {
        let subs = self.subscores();
        let wsum: f64 = subs.iter().map(|(_, _, w)| w).sum();
        let lsum: f64 = subs.iter().map(|(_, s, w)| w * s.max(SUBSCORE_FLOOR).ln()).sum();
        (lsum / wsum).exp()
    }

    /// The score with every native measure and sub-score in `details`.
    pub fn to_score(&self) -> QualityScore {
        let q = self.combined();
        let s = &self.spectral;
        let mut score = QualityScore::new(q, q)
            .with_detail("duration_s", self.duration_s)
            .with_detail("peak", self.peak)
            .with_detail("clipping", self.clipping)
            .with_detail("dc_offset", self.dc_offset)
            .with_detail("silence_ratio", s.silence_ratio)
            .with_detail("snr_db", s.snr_db)
            .with_detail("noise_floor_dbfs", s.noise_floor_db)
            .with_detail("level_p10_dbfs", s.level_p10_db)
            .with_detail("level_p50_dbfs", s.level_p50_db)
            .with_detail("level_p95_dbfs", s.level_p95_db)
            .with_detail("bandwidth_hz", s.bandwidth_hz)
            .with_detail("rolloff_hz", s.rolloff_hz)
            .with_detail("flatness", s.flatness);
        if let Some(l) = self.loudness_lufs {
            score = score.with_detail("loudness_lufs", l);
        }
        for (name, sub, _) in self.subscores() {
            score = score.with_detail(&format!("s_{name}"), sub);
        }
        score
    }
}

/// Scores mono samples directly (what `score_path` does after decoding).
pub fn score_samples(samples: &[f32], rate: u32, channels: usize) -> QualityScore {
    if samples.is_empty() || rate == 0 {
        return QualityScore::unscored("no audio samples");
    }
    measure(samples, rate, channels).to_score()
}

/// The built scorer: decodes at the file's own rate (the K-weighting and the analysis adapt to
/// it) and scores the mono mix.
pub struct AudioSignal;

impl Scorer for AudioSignal {
    fn name(&self) -> &'static str {
        NAME
    }
    fn modality(&self) -> Modality {
        Modality::Audio
    }
    fn version(&self) -> &'static str {
        VERSION
    }
    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let a = audio::decode(path)?;
        let mut score = score_samples(&a.samples, a.sample_rate, a.source_channels);
        if let Some(why) = &a.truncated {
            score = score.with_reason(format!("truncated: scored the {:.2} s that decode ({why})", a.duration_s()));
        }
        Ok(score)
    }
}

pub fn build(_ctx: &ScorerContext) -> Result<Box<dyn Scorer>, QualityError> {
    Ok(Box::new(AudioSignal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amp: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| amp * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn clipping_counts_full_scale_and_flat_tops_but_not_a_clean_sine() {
        let clean = sine(0.9, 48_000, 1.0);
        assert_eq!(clipping_ratio(&clean), 0.0);
        let hard: Vec<f32> = sine(2.0, 48_000, 1.0).iter().map(|v| v.clamp(-1.0, 1.0)).collect();
        assert!(clipping_ratio(&hard) > 0.5, "{}", clipping_ratio(&hard));
        // Clipped at 1 then attenuated to 0.5: flat tops well below full scale.
        let soft: Vec<f32> = hard.iter().map(|v| v * 0.5).collect();
        assert!((clipping_ratio(&soft) - clipping_ratio(&hard)).abs() < 0.01);
    }

    /// The sample-by-sample definition the fast `clipping_ratio` must reproduce.
    fn clipping_ratio_reference(x: &[f32]) -> f64 {
        let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let flat_level = if peak >= FLAT_MIN_PEAK { peak * FLAT_PEAK_SHARE } else { f32::INFINITY };
        let (mut clipped, mut run) = (0usize, 0usize);
        for (i, v) in x.iter().enumerate() {
            let high = v.abs() >= flat_level;
            let same = i > 0 && (v - x[i - 1]).abs() <= FLAT_TOLERANCE;
            if high && same && run > 0 {
                run += 1;
            } else {
                if run >= FLAT_RUN {
                    clipped += x[i - run..i].iter().filter(|s| s.abs() < CLIP_FULL_SCALE).count();
                }
                run = usize::from(high);
            }
            if v.abs() >= CLIP_FULL_SCALE {
                clipped += 1;
            }
        }
        if run >= FLAT_RUN {
            clipped += x[x.len() - run..].iter().filter(|s| s.abs() < CLIP_FULL_SCALE).count();
        }
        clipped as f64 / x.len().max(1) as f64
    }

    #[test]
    fn fast_clipping_ratio_matches_the_sample_by_sample_definition() {
        let mut seed = 3u64;
        for case in 0..40 {
            let n = 1 + case * 37;
            let gain = 0.5 + case as f32 * 0.1;
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let noise = ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2;
                    // Quantised so that flat runs occur at many levels, then clipped and scaled.
                    let v = ((i as f32 * 0.05).sin() * gain + noise).clamp(-1.0, 1.0);
                    (v * 16.0).round() / 16.0 * if case % 3 == 0 { 0.5 } else { 1.0 }
                })
                .collect();
            assert_eq!(clipping_ratio(&x), clipping_ratio_reference(&x), "case {case}");
            let (sum, peak) = sum_and_peak(&x);
            assert_eq!(peak, x.iter().fold(0f32, |m, v| m.max(v.abs())));
            assert!((sum - x.iter().map(|v| *v as f64).sum::<f64>()).abs() < 1e-9);
        }
    }

    #[test]
    fn silence_scores_near_zero_and_defects_lower_the_score() {
        let rate = 48_000;
        let silent = score_samples(&vec![0.0; rate as usize * 2], rate, 1);
        assert!(silent.score.unwrap() < 0.2, "{silent:?}");
        let clean = score_samples(&sine(0.3, rate, 2.0), rate, 1).score.unwrap();
        let dc: Vec<f32> = sine(0.3, rate, 2.0).iter().map(|v| v + 0.2).collect();
        assert!(score_samples(&dc, rate, 1).score.unwrap() < clean);
    }
}
