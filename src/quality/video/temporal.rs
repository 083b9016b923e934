//! Temporal measures over runs of consecutive frames: flicker, freezes, abrupt cuts and
//! temporal consistency. Each frame is reduced on arrival to a few numbers and a small luma
//! thumbnail, so a video of any length costs O(thumbnail) memory per frame pair.
//!
//! Luma is BT.601 (0.299 R + 0.587 G + 0.114 B) on the 0-255 scale. Definitions (pairs are
//! neighbours in presentation order; a pair across a gap in the sampled indices is not a pair):
//! - cut: a spike in either of two distances between the pair: the luma-histogram L1 distance
//!   (0..2) above `CUT_MIN_HIST_L1`, or the thumbnail dissimilarity 1 - SSIM above
//!   `CUT_MIN_DISSIMILARITY`, and in either case `CUT_SPIKE_RATIO` times its median over the
//!   `CUT_CONTEXT` pairs either side (so steady fast motion or noise is not a run of cuts). The
//!   histogram alone misses cuts between shots of similar tone (bikes.mp4 at 7.48 s: L1 0.43);
//!   there SSIM falls to 0.04 where the fastest motion in the clip keeps it above 0.5;
//! - flicker: for each frame whose two neighbours are present and not across a cut, the jump of
//!   its mean luma away from the average of its neighbours' (a fade or a steady change scores
//!   0, an up-down jump scores its height); `flicker` is the mean jump in luma levels;
//! - freeze: a pair whose thumbnails differ by less than `FREEZE_MAD` luma levels on average;
//!   only runs of at least `FREEZE_MIN_PAIRS` frozen pairs count, so the single repeated frame
//!   of a frame-rate conversion is not a freeze;
//! - consistency: mean SSIM of consecutive thumbnails, over pairs that are not cuts.

use crate::media::video::Frame;

/// Thumbnails are box-averaged to at most this many pixels on the long side: enough to see
/// structure, small enough that camera noise and compression grain average out.
const THUMB_LONG_SIDE: usize = 64;
const HIST_BINS: usize = 32;
pub const CUT_MIN_HIST_L1: f64 = 0.5;
pub const CUT_MIN_DISSIMILARITY: f64 = 0.7;
pub const CUT_SPIKE_RATIO: f64 = 2.0;
const CUT_CONTEXT: usize = 5;
/// Mean absolute thumbnail difference (luma levels) under which two frames are the same picture:
/// re-encoded duplicate frames measure 0.02-0.05 (bigbuckbunny's 24->25 fps repeats), the
/// slowest real motion in the test clips 0.16 (carphone_distorted) and 0.17 (bigbuckbunny).
pub const FREEZE_MAD: f64 = 0.1;
pub const FREEZE_MIN_PAIRS: usize = 2;
/// SSIM constants for 8-bit data (Wang et al. 2004: K1 = 0.01, K2 = 0.03, L = 255).
const SSIM_C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const SSIM_C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
const SSIM_BLOCK: usize = 8;

/// What one frame is reduced to.
#[derive(Debug, Clone)]
pub struct FrameFeatures {
    pub index: usize,
    pub pts_s: f64,
    pub mean_luma: f64,
    hist: [f64; HIST_BINS],
    thumb: Vec<f32>,
    thumb_w: usize,
    thumb_h: usize,
}

impl FrameFeatures {
    pub fn of(frame: &Frame) -> FrameFeatures {
        let img = &frame.image;
        let (w, h) = (img.width() as usize, img.height() as usize);
        let scale = (w.max(h) as f64 / THUMB_LONG_SIDE as f64).max(1.0);
        let tw = ((w as f64 / scale).round() as usize).max(1);
        let th = ((h as f64 / scale).round() as usize).max(1);
        let mut sums = vec![0f64; tw * th];
        let mut counts = vec![0u32; tw * th];
        let mut hist = [0f64; HIST_BINS];
        let mut total = 0f64;
        let raw = img.as_raw();
        for y in 0..h {
            let ty = (y * th / h).min(th - 1);
            for x in 0..w {
                let p = &raw[(y * w + x) * 3..(y * w + x) * 3 + 3];
                let l = 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
                total += l;
                hist[((l as usize) * HIST_BINS / 256).min(HIST_BINS - 1)] += 1.0;
                let t = ty * tw + (x * tw / w).min(tw - 1);
                sums[t] += l;
                counts[t] += 1;
            }
        }
        let n = (w * h).max(1) as f64;
        hist.iter_mut().for_each(|b| *b /= n);
        let thumb = sums.iter().zip(&counts).map(|(s, c)| (*s / (*c).max(1) as f64) as f32).collect();
        FrameFeatures {
            index: frame.index,
            pts_s: frame.pts_s,
            mean_luma: total / n,
            hist,
            thumb,
            thumb_w: tw,
            thumb_h: th,
        }
    }
}

/// Comparison of two neighbouring frames.
#[derive(Debug, Clone, Copy)]
struct Pair {
    /// Index of the later frame.
    index: usize,
    hist_l1: f64,
    mad: f64,
    ssim: f64,
    is_cut: bool,
}

/// Collects frame features in presentation order and reduces them to a `TemporalReport`.
#[derive(Default)]
pub struct TemporalAnalyzer {
    prev: Option<FrameFeatures>,
    /// (index, mean luma) of every frame, for flicker.
    lumas: Vec<(usize, f64)>,
    pairs: Vec<Pair>,
    frames: usize,
    first_pts: Option<f64>,
    last_pts: f64,
}

/// Temporal measures and their factors in [0, 1] (1 = no defect).
#[derive(Debug, Clone, PartialEq)]
pub struct TemporalReport {
    pub frames: usize,
    pub pairs: usize,
    pub flicker: f64,
    pub frozen_ratio: f64,
    pub longest_freeze_frames: usize,
    pub cuts: usize,
    /// Index of the first frame after each cut.
    pub cut_frames: Vec<usize>,
    pub cuts_per_min: f64,
    pub consistency: f64,
}

impl TemporalAnalyzer {
    pub fn push(&mut self, f: FrameFeatures) {
        self.frames += 1;
        self.first_pts.get_or_insert(f.pts_s);
        self.last_pts = f.pts_s;
        self.lumas.push((f.index, f.mean_luma));
        if let Some(prev) = &self.prev {
            if prev.index + 1 == f.index && prev.thumb.len() == f.thumb.len() {
                let hist_l1 = prev.hist.iter().zip(&f.hist).map(|(a, b)| (a - b).abs()).sum();
                let mad = prev.thumb.iter().zip(&f.thumb).map(|(a, b)| (a - b).abs() as f64).sum::<f64>()
                    / f.thumb.len() as f64;
                let ssim = block_ssim(&prev.thumb, &f.thumb, f.thumb_w, f.thumb_h);
                self.pairs.push(Pair { index: f.index, hist_l1, mad, ssim, is_cut: false });
            }
        }
        self.prev = Some(f);
    }

    pub fn finish(mut self) -> TemporalReport {
        mark_cuts(&mut self.pairs);
        let cut_at: std::collections::HashSet<usize> =
            self.pairs.iter().filter(|p| p.is_cut).map(|p| p.index).collect();

        let mut jumps = Vec::new();
        for w in self.lumas.windows(3) {
            let [(i0, a), (i1, b), (i2, c)] = [w[0], w[1], w[2]];
            if i1 == i0 + 1 && i2 == i1 + 1 && !cut_at.contains(&i1) && !cut_at.contains(&i2) {
                jumps.push((b - (a + c) / 2.0).abs());
            }
        }
        let flicker = mean(&jumps).unwrap_or(0.0);

        let (mut frozen, mut longest, mut run) = (0usize, 0usize, 0usize);
        let mut last_index = None;
        let mut close_run = |run: &mut usize| {
            if *run >= FREEZE_MIN_PAIRS {
                frozen += *run;
                longest = longest.max(*run + 1);
            }
            *run = 0;
        };
        for p in &self.pairs {
            let contiguous = last_index.map(|i| i + 1 == p.index).unwrap_or(true);
            if !contiguous || p.mad >= FREEZE_MAD {
                close_run(&mut run);
            }
            if p.mad < FREEZE_MAD {
                run += 1;
            }
            last_index = Some(p.index);
        }
        close_run(&mut run);

        let cuts = cut_at.len();
        let mut cut_frames: Vec<usize> = cut_at.iter().copied().collect();
        cut_frames.sort_unstable();
        let span_s = self.last_pts - self.first_pts.unwrap_or(0.0);
        let cuts_per_min = if span_s > 0.0 { cuts as f64 * 60.0 / span_s } else { 0.0 };
        let ssims: Vec<f64> = self.pairs.iter().filter(|p| !p.is_cut).map(|p| p.ssim).collect();
        TemporalReport {
            frames: self.frames,
            pairs: self.pairs.len(),
            flicker,
            frozen_ratio: if self.pairs.is_empty() { 0.0 } else { frozen as f64 / self.pairs.len() as f64 },
            longest_freeze_frames: longest,
            cuts,
            cut_frames,
            cuts_per_min,
            consistency: mean(&ssims).unwrap_or(1.0),
        }
    }
}

fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

/// A pair is a cut when its histogram distance or its dissimilarity is a large spike.
fn mark_cuts(pairs: &mut [Pair]) {
    let hist: Vec<f64> = pairs.iter().map(|p| p.hist_l1).collect();
    let dissimilarity: Vec<f64> = pairs.iter().map(|p| 1.0 - p.ssim).collect();
    for (i, p) in pairs.iter_mut().enumerate() {
        p.is_cut = is_spike(&hist, i, CUT_MIN_HIST_L1) || is_spike(&dissimilarity, i, CUT_MIN_DISSIMILARITY);
    }
}

/// `d[i]` is above `floor` and `CUT_SPIKE_RATIO` times the median of its neighbours.
fn is_spike(d: &[f64], i: usize, floor: f64) -> bool {
    if d[i] <= floor {
        return false;
    }
    let lo = i.saturating_sub(CUT_CONTEXT);
    let hi = (i + CUT_CONTEXT + 1).min(d.len());
    let mut context: Vec<f64> = (lo..hi).filter(|&j| j != i).map(|j| d[j]).collect();
    if context.is_empty() {
        return true;
    }
    context.sort_by(f64::total_cmp);
    d[i] > CUT_SPIKE_RATIO * context[context.len() / 2]
}

/// Mean SSIM over non-overlapping `SSIM_BLOCK` blocks (the whole thumbnail when smaller).
fn block_ssim(a: &[f32], b: &[f32], w: usize, h: usize) -> f64 {
    let bw = SSIM_BLOCK.min(w);
    let bh = SSIM_BLOCK.min(h);
    let mut total = 0.0;
    let mut blocks = 0;
    for by in (0..=h - bh).step_by(bh) {
        for bx in (0..=w - bw).step_by(bw) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in by..by + bh {
                for x in bx..bx + bw {
                    let (p, q) = (a[y * w + x] as f64, b[y * w + x] as f64);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = (bw * bh) as f64;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + SSIM_C1) * (2.0 * cov + SSIM_C2))
                / ((ma * ma + mb * mb + SSIM_C1) * (va + vb + SSIM_C2));
            blocks += 1;
        }
    }
    total / blocks.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn frame(index: usize, image: RgbImage) -> Frame {
        Frame { index, pts_s: index as f64 / 25.0, image }
    }

    /// A textured frame drifting right by `shift` pixels, brightness offset `gain`.
    fn textured(shift: u32, gain: i32) -> RgbImage {
        RgbImage::from_fn(96, 64, |x, y| {
            let v = (((x + shift) * 7 + y * 13) % 97) as i32 + 60 + gain;
            image::Rgb([v.clamp(0, 255) as u8; 3])
        })
    }

    fn analyse(frames: impl IntoIterator<Item = RgbImage>) -> TemporalReport {
        let mut t = TemporalAnalyzer::default();
        for (i, im) in frames.into_iter().enumerate() {
            t.push(FrameFeatures::of(&frame(i, im)));
        }
        t.finish()
    }

    #[test]
    fn moving_content_is_clean() {
        let r = analyse((0..30).map(|i| textured(i, 0)));
        assert_eq!(r.pairs, 29);
        assert_eq!(r.cuts, 0);
        assert_eq!(r.frozen_ratio, 0.0);
        assert!(r.flicker < 0.5, "{r:?}");
    }

    #[test]
    fn a_frozen_stretch_is_found_but_a_single_repeat_is_not() {
        let mut frames: Vec<RgbImage> = (0..10).map(|i| textured(i, 0)).collect();
        frames.extend((0..10).map(|_| textured(10, 0)));
        frames.extend((11..21).map(|i| textured(i, 0)));
        let r = analyse(frames);
        // Frames 10..=19 are one picture: 10 frames, 9 frozen pairs of 29.
        assert_eq!(r.longest_freeze_frames, 10, "{r:?}");
        assert!((r.frozen_ratio - 9.0 / 29.0).abs() < 1e-9);
        let single = analyse([0, 1, 1, 2, 3].map(|i| textured(i, 0)));
        assert_eq!(single.frozen_ratio, 0.0);
    }

    #[test]
    fn alternating_brightness_is_flicker() {
        let r = analyse((0..30).map(|i| textured(i, if i % 2 == 0 { 20 } else { -20 })));
        assert!(r.flicker > 30.0, "{r:?}");
        let fade = analyse((0..30).map(|i| textured(i, i as i32 * 3 - 45)));
        assert!(fade.flicker < 1.0, "{fade:?}");
    }

    #[test]
    fn a_scene_change_is_one_cut() {
        let dark = |i: u32| RgbImage::from_fn(96, 64, |x, y| image::Rgb([(((x + i) * 3 + y) % 40) as u8 + 10; 3]));
        let frames = (0..15).map(|i| textured(i, 0)).chain((0..15).map(dark));
        let r = analyse(frames);
        assert_eq!(r.cuts, 1, "{r:?}");
    }

    #[test]
    fn gaps_between_sampled_runs_are_not_pairs() {
        let mut t = TemporalAnalyzer::default();
        for i in [0usize, 1, 2, 10, 11] {
            t.push(FrameFeatures::of(&frame(i, textured(i as u32, 0))));
        }
        assert_eq!(t.finish().pairs, 3);
    }

    #[test]
    fn ssim_of_identical_thumbnails_is_one_and_of_unrelated_ones_is_low() {
        let a: Vec<f32> = (0..256).map(|i| ((i * 37) % 255) as f32).collect();
        let b: Vec<f32> = (0..256).map(|i| ((i * 91 + 40) % 255) as f32).collect();
        assert!((block_ssim(&a, &a, 16, 16) - 1.0).abs() < 1e-9);
        assert!(block_ssim(&a, &b, 16, 16) < 0.3);
    }
}
