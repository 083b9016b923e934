//! Whisper's log-mel front end, computed in Rust: the 80-bin Slaney-style mel filterbank
//! (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`, the matrix openai/whisper ships as
//! `mel_filters.npz`) and `whisper.audio.log_mel_spectrogram`: a centred STFT (periodic Hann
//! window of 400 samples, hop 160, reflect padding), power spectrum without the last frame, mel
//! projection, `log10(max(x, 1e-10))`, clamped to 8 below the maximum, then `(x + 4) / 4`.
//!
//! Checked against the reference: the filterbank against `melfilters.py` (librosa's formula) to
//! 1e-6 and the spectrogram against a numpy transcription of whisper's function
//! (tests/fixtures/whisper/, see its README).

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

pub const SAMPLE_RATE: u32 = 16_000;
pub const N_FFT: usize = 400;
pub const HOP_LENGTH: usize = 160;
/// Frequency bins of a real FFT of `N_FFT` samples.
pub const N_FREQS: usize = N_FFT / 2 + 1;
/// Floor before the logarithm, as whisper.
const LOG_FLOOR: f64 = 1e-10;
/// Dynamic range kept below the loudest bin, in log10 units (80 dB).
const DYNAMIC_RANGE: f32 = 8.0;
/// Whisper's affine normalisation of the log spectrum: (x + OFFSET) / SCALE.
const NORM_OFFSET: f32 = 4.0;
const NORM_SCALE: f32 = 4.0;

// Slaney's mel scale (librosa `hz_to_mel(htk=False)`): linear below 1 kHz, logarithmic above.
const SLANEY_F_SP: f64 = 200.0 / 3.0;
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
const SLANEY_LOG_STEP_BASE: f64 = 6.4;
const SLANEY_LOG_STEP_DIV: f64 = 27.0;

fn hz_to_mel(f: f64) -> f64 {
    let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
    let logstep = SLANEY_LOG_STEP_BASE.ln() / SLANEY_LOG_STEP_DIV;
    if f >= SLANEY_MIN_LOG_HZ {
        min_log_mel + (f / SLANEY_MIN_LOG_HZ).ln() / logstep
    } else {
        f / SLANEY_F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
    let logstep = SLANEY_LOG_STEP_BASE.ln() / SLANEY_LOG_STEP_DIV;
    if m >= min_log_mel {
        SLANEY_MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        SLANEY_F_SP * m
    }
}

/// The mel filterbank, row-major `n_mels x (n_fft/2 + 1)`: triangular filters between
/// `n_mels + 2` points evenly spaced on the Slaney mel scale from 0 to Nyquist, each scaled by
/// `2 / (upper - lower edge in Hz)` (librosa's `norm="slaney"`: equal area). Computed in f64
/// and rounded once, as librosa does before whisper stored it as float32.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    let nyquist = sample_rate as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|i| nyquist * i as f64 / (n_freqs - 1) as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_f: Vec<f64> = (0..n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut out = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            out[m * n_freqs + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

/// A log-mel spectrogram, row-major `n_mels x frames`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    pub data: Vec<f32>,
    pub n_mels: usize,
    pub frames: usize,
}

impl LogMel {
    /// Frames `start..start + len` of every mel row, zero-filled past the end (whisper's
    /// `pad_or_trim` on a segment: zeros, not silence, fill a short last window).
    pub fn window(&self, start: usize, take: usize, len: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.n_mels * len];
        let take = take.min(len).min(self.frames.saturating_sub(start));
        for m in 0..self.n_mels {
            let row = &self.data[m * self.frames..(m + 1) * self.frames];
            out[m * len..m * len + take].copy_from_slice(&row[start..start + take]);
        }
        out
    }
}

/// The front end for one filterbank size; reusable across calls.
pub struct MelFrontEnd {
    n_mels: usize,
    filters: Vec<f32>,
    /// Per mel row, the range of frequency bins where its filter is non-zero.
    spans: Vec<(usize, usize)>,
    window: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for MelFrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelFrontEnd").field("n_mels", &self.n_mels).finish()
    }
}

impl MelFrontEnd {
    /// Whisper's front end with `n_mels` bins (80 for Whisper v1/v2, 128 for large-v3).
    pub fn new(n_mels: usize) -> MelFrontEnd {
        let filters = mel_filters(SAMPLE_RATE, N_FFT, n_mels);
        let spans = (0..n_mels)
            .map(|m| {
                let row = &filters[m * N_FREQS..(m + 1) * N_FREQS];
                let first = row.iter().position(|&v| v != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&v| v != 0.0).map_or(0, |p| p + 1);
                (first, last.max(first))
            })
            .collect();
        // torch.hann_window(400) is periodic: cos over N, not N - 1.
        let window =
            (0..N_FFT).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()).collect();
        let fft = FftPlanner::new().plan_fft_forward(N_FFT);
        MelFrontEnd { n_mels, filters, spans, window, fft }
    }

    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    pub fn filters(&self) -> &[f32] {
        &self.filters
    }

    /// `whisper.audio.log_mel_spectrogram(samples, padding=padding)`: `samples` at 16 kHz are
    /// followed by `padding` zeros; the result has `(len + padding) / HOP_LENGTH` frames.
    pub fn log_mel(&self, samples: &[f32], padding: usize) -> LogMel {
        let n = samples.len() + padding;
        let frames = n / HOP_LENGTH; // 1 + n / hop centred frames, the last dropped
        let half = N_FFT / 2;
        let at = |i: usize| -> f64 { samples.get(i).copied().unwrap_or(0.0) as f64 };
        // Reflect padding (torch.stft center=True): index -k reads k, n-1+k reads n-1-k.
        let reflect = |i: isize| -> f64 {
            if n <= 1 {
                return at(0);
            }
            let period = 2 * (n as isize - 1);
            let mut j = i.rem_euclid(period);
            if j >= n as isize {
                j = period - j;
            }
            at(j as usize)
        };
        let mut power = vec![0f64; N_FREQS];
        let mut buf = vec![Complex::new(0.0, 0.0); N_FFT];
        let mut scratch = vec![Complex::new(0.0, 0.0); self.fft.get_inplace_scratch_len()];
        let mut data = vec![0f32; self.n_mels * frames];
        let mut max = f32::NEG_INFINITY;
        for t in 0..frames {
            let start = (t * HOP_LENGTH) as isize - half as isize;
            for (k, c) in buf.iter_mut().enumerate() {
                let i = start + k as isize;
                let x = if i >= 0 && (i as usize) < n { at(i as usize) } else { reflect(i) };
                *c = Complex::new(x * self.window[k], 0.0);
            }
            self.fft.process_with_scratch(&mut buf, &mut scratch);
            for (p, c) in power.iter_mut().zip(&buf[..N_FREQS]) {
                *p = c.norm_sqr();
            }
            for m in 0..self.n_mels {
                let (a, b) = self.spans[m];
                let row = &self.filters[m * N_FREQS + a..m * N_FREQS + b];
                let e: f64 = row.iter().zip(&power[a..b]).map(|(&w, &p)| w as f64 * p).sum();
                let v = e.max(LOG_FLOOR).log10() as f32;
                max = max.max(v);
                data[m * frames + t] = v;
            }
        }
        let floor = max - DYNAMIC_RANGE;
        for v in &mut data {
            *v = (v.max(floor) + NORM_OFFSET) / NORM_SCALE;
        }
        LogMel { data, n_mels: self.n_mels, frames }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_have_equal_area_and_cover_the_band() {
        let f = mel_filters(SAMPLE_RATE, N_FFT, 80);
        assert_eq!(f.len(), 80 * N_FREQS);
        assert!(f.iter().all(|v| *v >= 0.0));
        // Each row is non-zero somewhere; the top bin (Nyquist) is the upper edge of the last filter.
        for m in 0..80 {
            assert!(f[m * N_FREQS..(m + 1) * N_FREQS].iter().any(|v| *v > 0.0), "row {m} is empty");
        }
        assert_eq!(hz_to_mel(mel_to_hz(37.5)), 37.5);
    }

    #[test]
    fn frame_count_and_silence() {
        let fe = MelFrontEnd::new(80);
        let mel = fe.log_mel(&vec![0.0; 1600], 0);
        assert_eq!(mel.frames, 10);
        // All bins are at the floor: log10(1e-10) = -10, normalised (-10 + 4) / 4.
        assert!(mel.data.iter().all(|v| (*v - (-1.5)).abs() < 1e-6));
        let w = mel.window(8, 5, 4);
        assert_eq!(w.len(), 80 * 4);
        assert_eq!(&w[..4], &[-1.5, -1.5, 0.0, 0.0]);
    }
}
