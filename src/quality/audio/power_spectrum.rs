//! The power spectrum |X_k|^2, k = 0..=n/2, of a real frame of even length n: one n/2-point
//! complex FFT (rustfft) of the frame read as complex pairs (x0 + i x1, x2 + i x3, ...), then
//! the standard split of that half-length transform into the real one, done straight to powers
//! in f64. realfft does the same split in the generic scalar form, which had become the largest
//! single cost of the 48 kHz analysis; here bins k and n/2 - k come out of one step.
//!
//! With Z the half-length transform, m = n/2, W = exp(-2 pi i / n), sum = Z_k + conj(Z_{m-k}),
//! diff = Z_k - conj(Z_{m-k}) and t = W^k diff: X_k = (sum - i t) / 2 and
//! X_{m-k} = conj(sum + i t) / 2; X_0 and X_m are Re Z_0 +- Im Z_0.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::{Arc, Mutex, OnceLock};

pub struct PowerSpectrum {
    n: usize,
    fft: Arc<dyn Fft<f32>>,
    /// W^k for k in 0..=n/4.
    twiddles: Vec<Complex<f64>>,
}

/// The half-length complex FFT, planned once per length per process (planning costs more than
/// analysing a short clip).
fn plan(m: usize) -> Arc<dyn Fft<f32>> {
    static PLANNER: OnceLock<Mutex<FftPlanner<f32>>> = OnceLock::new();
    let planner = PLANNER.get_or_init(|| Mutex::new(FftPlanner::new()));
    planner.lock().unwrap_or_else(|p| p.into_inner()).plan_fft_forward(m)
}

impl PowerSpectrum {
    /// For frames of `n` samples (even, at least 4).
    pub fn new(n: usize) -> PowerSpectrum {
        assert!(n >= 4 && n % 2 == 0, "power spectrum length {n}: even and at least 4");
        let twiddles = (0..=n / 4)
            .map(|k| {
                let angle = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                Complex::new(angle.cos(), angle.sin())
            })
            .collect();
        PowerSpectrum { n, fft: plan(n / 2), twiddles }
    }

    /// Working buffers for [`PowerSpectrum::compute`], one per thread.
    pub fn make_workspace(&self) -> Workspace {
        let q = self.n / 4;
        Workspace {
            scratch: vec![Complex::new(0.0, 0.0); self.fft.get_inplace_scratch_len()],
            mirrored: vec![Complex::new(0.0, 0.0); q],
            upper: vec![0.0; q],
        }
    }

    /// |X_k|^2 of `frame` (n samples; transformed in place, so overwritten) into `power`
    /// (n/2 + 1 values).
    #[inline(always)]
    pub fn compute(&self, frame: &mut [f32], work: &mut Workspace, power: &mut [f64]) {
        let m = self.n / 2;
        let q = m / 2;
        assert!(frame.len() == self.n && power.len() == m + 1, "power spectrum buffer sizes");
        // SAFETY: Complex<f32> is repr(C) { re, im }: two f32, alignment of f32; n is even.
        let z = unsafe { std::slice::from_raw_parts_mut(frame.as_mut_ptr().cast::<Complex<f32>>(), m) };
        self.fft.process_with_scratch(z, &mut work.scratch);
        let (re0, im0) = (z[0].re as f64, z[0].im as f64);
        power[0] = (re0 + im0) * (re0 + im0);
        power[m] = (re0 - im0) * (re0 - im0);
        // Bins k and m - k for k = 1..=q come from Z_k and Z_{m-k}. Z_{m-k} is read from a
        // reversed copy and the upper bins are written forward, then reversed into place, so
        // that the arithmetic runs forward over plain slices (it vectorises; indexing from
        // both ends did not).
        for (dst, src) in work.mirrored.iter_mut().zip(z[m - q..].iter().rev()) {
            *dst = *src;
        }
        let lower = &mut power[1..=q];
        for ((((p_lo, p_hi), a), b), w) in lower
            .iter_mut()
            .zip(work.upper.iter_mut())
            .zip(&z[1..=q])
            .zip(&work.mirrored)
            .zip(&self.twiddles[1..=q])
        {
            let (a_re, a_im, b_re, b_im) = (a.re as f64, a.im as f64, b.re as f64, -(b.im as f64));
            let (sum_re, sum_im) = (a_re + b_re, a_im + b_im);
            let (diff_re, diff_im) = (a_re - b_re, a_im - b_im);
            let (t_re, t_im) = (w.re * diff_re - w.im * diff_im, w.re * diff_im + w.im * diff_re);
            let (lo_re, lo_im) = (sum_re + t_im, sum_im - t_re);
            let (hi_re, hi_im) = (sum_re - t_im, sum_im + t_re);
            *p_lo = 0.25 * (lo_re * lo_re + lo_im * lo_im);
            *p_hi = 0.25 * (hi_re * hi_re + hi_im * hi_im);
        }
        // upper[k - 1] is bin m - k: bins m - q..m - 1 in reverse (bin q = m - q is written
        // by both halves with the same value).
        for (dst, src) in power[m - q..m].iter_mut().zip(work.upper.iter().rev()) {
            *dst = *src;
        }
    }
}

/// Per-thread buffers of [`PowerSpectrum::compute`].
pub struct Workspace {
    scratch: Vec<Complex<f32>>,
    /// Z_{m-k} for k = 1..=n/4.
    mirrored: Vec<Complex<f32>>,
    /// |X_{m-k}|^2 for k = 1..=n/4.
    upper: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |X_k|^2 by the definition, in f64.
    fn naive(x: &[f32]) -> Vec<f64> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                let (mut re, mut im) = (0f64, 0f64);
                for (j, v) in x.iter().enumerate() {
                    let angle = -2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
                    re += *v as f64 * angle.cos();
                    im += *v as f64 * angle.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn equals_the_dft_by_definition() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in [4usize, 8, 256, 512, 1024] {
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 2000) as f32 / 1000.0 - 1.0 + 0.3 * (i as f32 * 0.05).sin()
                })
                .collect();
            let spectrum = PowerSpectrum::new(n);
            let (mut frame, mut work, mut power) = (x.clone(), spectrum.make_workspace(), vec![0f64; n / 2 + 1]);
            spectrum.compute(&mut frame, &mut work, &mut power);
            let want = naive(&x);
            let peak = want.iter().copied().fold(0f64, f64::max);
            for (k, (got, want)) in power.iter().zip(&want).enumerate() {
                assert!((got - want).abs() <= 1e-5 * peak, "n {n} bin {k}: {got} vs {want}");
            }
        }
    }
}
