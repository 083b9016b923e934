//! Video keyframes for captioning, and the merge of timed image captions with a timed speech
//! transcript into one time-ordered caption.
//!
//! The keyframe rule ([`KeyframeRule`], defaults in its `Default`), over the frames that decode:
//! 1. the first frame;
//! 2. the first frame of every shot: cuts detected by `quality::video::temporal` (a spike in
//!    the luma-histogram distance or thumbnail dissimilarity between neighbouring frames, the
//!    same detector the video quality scorer reports), unless it falls within `min_gap_s` of
//!    the previous keyframe (a flash of two cuts in a row is one change of content);
//! 3. a frame whenever `max_gap_s` have passed since the last keyframe (a long shot still gets
//!    a picture every few seconds: panning and action change the content without a cut);
//! 4. at most `max_frames`: the first frame and the cuts win (they mark new content), spread
//!    evenly if they alone are too many; the remaining slots go to interval frames, spread
//!    evenly over theirs.
//!
//! Finding cuts needs every frame, so the video is read twice: one pass converts every frame to
//! features (a luma thumbnail and histogram, O(thumbnail) memory), the second decodes only the
//! chosen frames to RGB. A truncated file yields keyframes from what decodes, with
//! [`Keyframes::truncated`] saying so.

use crate::media::video::{VideoInfo, VideoReader};
use crate::media::MediaError;
use crate::quality::video::temporal::{FrameFeatures, TemporalAnalyzer};
use image::RgbImage;
use std::fmt::Write as _;
use std::path::Path;

/// Which frames become keyframes (see the module header).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyframeRule {
    /// Longest time without a keyframe, seconds.
    pub max_gap_s: f64,
    /// A cut this close after the previous keyframe adds none, seconds.
    pub min_gap_s: f64,
    pub max_frames: usize,
}

impl Default for KeyframeRule {
    /// A frame at least every 3 s, at most 8 frames (a 24 s video without cuts is covered
    /// evenly; captioning 8 frames keeps a video's cost to a few images), cuts closer than
    /// 0.5 s to the previous keyframe ignored.
    fn default() -> Self {
        KeyframeRule { max_gap_s: 3.0, min_gap_s: 0.5, max_frames: 8 }
    }
}

/// Why a frame was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeReason {
    First,
    Cut,
    Interval,
}

impl KeyframeReason {
    pub fn name(self) -> &'static str {
        match self {
            KeyframeReason::First => "first frame",
            KeyframeReason::Cut => "cut",
            KeyframeReason::Interval => "interval",
        }
    }
}

/// One chosen frame.
#[derive(Debug, Clone)]
pub struct Keyframe {
    pub index: usize,
    pub pts_s: f64,
    pub reason: KeyframeReason,
    pub image: RgbImage,
}

/// The keyframes of one video and what the scan saw.
#[derive(Debug, Clone)]
pub struct Keyframes {
    pub info: VideoInfo,
    /// In presentation order.
    pub frames: Vec<Keyframe>,
    /// Frames decoded in the scan.
    pub frames_scanned: usize,
    /// Indices of the first frame after each detected cut.
    pub cuts: Vec<usize>,
    /// Presentation time of the last decoded frame, seconds.
    pub last_pts_s: f64,
    /// Set when the file is truncated or a frame failed to decode: what happened. The keyframes
    /// then come from the part that decodes.
    pub truncated: Option<String>,
}

/// Chooses frames by `rule` from the decodable frames' (index, time) in presentation order and
/// the indices of the first frames after cuts. Returns (index, reason), sorted by index.
pub fn plan_keyframes(times: &[(usize, f64)], cuts: &[usize], rule: &KeyframeRule) -> Vec<(usize, KeyframeReason)> {
    let Some(&(first, _)) = times.first() else { return Vec::new() };
    let max = rule.max_frames.max(1);
    let mut chosen: Vec<(usize, f64, KeyframeReason)> = Vec::new();
    let mut last_t = f64::NEG_INFINITY;
    for &(index, t) in times {
        let reason = if index == first {
            Some(KeyframeReason::First)
        } else if cuts.binary_search(&index).is_ok() && t - last_t >= rule.min_gap_s {
            Some(KeyframeReason::Cut)
        } else if t - last_t >= rule.max_gap_s {
            Some(KeyframeReason::Interval)
        } else {
            None
        };
        if let Some(r) = reason {
            chosen.push((index, t, r));
            last_t = t;
        }
    }
    if chosen.len() > max {
        let (major, interval): (Vec<_>, Vec<_>) = chosen.into_iter().partition(|c| c.2 != KeyframeReason::Interval);
        let mut kept = spread(&major, max);
        kept.extend(spread(&interval, max - kept.len()));
        kept.sort_by_key(|c| c.0);
        chosen = kept;
    }
    chosen.into_iter().map(|(i, _, r)| (i, r)).collect()
}

/// `k` items of `items` spread evenly (the first always among them), in order.
fn spread<T: Copy>(items: &[T], k: usize) -> Vec<T> {
    if k >= items.len() {
        return items.to_vec();
    }
    (0..k).map(|j| items[j * items.len() / k]).collect()
}

/// Scans `path` for cuts and returns its keyframes by `rule`.
pub fn keyframes(path: &Path, rule: &KeyframeRule) -> Result<Keyframes, MediaError> {
    // Pass 1: every frame's features, for cuts and times.
    let mut reader = VideoReader::open(path)?;
    let info = reader.info().clone();
    let all: Vec<usize> = (0..info.frame_count).collect();
    let mut analyzer = TemporalAnalyzer::default();
    let mut times = Vec::with_capacity(info.frame_count);
    let mut scan_error = None;
    for frame in reader.frames(&all) {
        match frame {
            Ok(f) => {
                times.push((f.index, f.pts_s));
                analyzer.push(FrameFeatures::of(&f));
            }
            Err(e) => {
                scan_error = Some(e.to_string());
                break;
            }
        }
    }
    let (skipped, first_skip) = reader.decode_errors();
    if times.is_empty() {
        let why = scan_error.or(first_skip).unwrap_or_else(|| "no frame decodes".into());
        return Err(MediaError::decode(path, format!("no keyframe: {why}")));
    }
    let cuts = analyzer.finish().cut_frames;
    let plan = plan_keyframes(&times, &cuts, rule);

    // Pass 2: only the chosen frames to RGB.
    let wanted: Vec<usize> = plan.iter().map(|p| p.0).collect();
    let mut reader = VideoReader::open(path)?;
    let mut frames = Vec::with_capacity(plan.len());
    for frame in reader.frames(&wanted) {
        let f = frame?;
        if let Ok(k) = plan.binary_search_by_key(&f.index, |p| p.0) {
            frames.push(Keyframe { index: f.index, pts_s: f.pts_s, reason: plan[k].1, image: f.image });
        }
    }

    let mut notes = Vec::new();
    if let Some(t) = &info.truncated {
        notes.push(t.detail.clone());
    }
    if let Some(e) = scan_error {
        notes.push(format!("decoding stopped after {} frames: {e}", times.len()));
    }
    if skipped > 0 {
        notes.push(format!("{skipped} frames failed to decode ({})", first_skip.unwrap_or_default()));
    }
    Ok(Keyframes {
        frames_scanned: times.len(),
        last_pts_s: times.last().map(|t| t.1).unwrap_or(0.0),
        info,
        frames,
        cuts,
        truncated: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// One caption string over time: image captions at their keyframe time `(t, caption)` and
/// transcript segments `(start, end, text)`, ordered by start time (an image before speech
/// starting at the same time), as "[0.0 s] image: ... [1.2-4.0 s] speech: ...", entries
/// separated by one space. Empty texts are left out, and an image caption equal to the
/// previous image caption is left out (a static scene is said once).
pub fn merge_timeline(images: &[(f64, String)], speech: &[(f64, f64, String)]) -> String {
    let mut entries: Vec<(f64, u8, String)> = Vec::new();
    let mut previous_image: Option<&str> = None;
    let mut sorted_images: Vec<&(f64, String)> = images.iter().collect();
    sorted_images.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, caption) in sorted_images {
        let c = caption.trim();
        if c.is_empty() || previous_image == Some(c) {
            continue;
        }
        previous_image = Some(c);
        entries.push((*t, 0, format!("[{t:.1} s] image: {c}")));
    }
    for (start, end, text) in speech {
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        entries.push((*start, 1, format!("[{start:.1}-{end:.1} s] speech: {t}")));
    }
    entries.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = String::new();
    for (_, _, e) in entries {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyframeReason::*;

    fn times(n: usize, fps: f64) -> Vec<(usize, f64)> {
        (0..n).map(|i| (i, i as f64 / fps)).collect()
    }

    #[test]
    fn first_frame_cuts_and_intervals() {
        let rule = KeyframeRule { max_gap_s: 2.0, min_gap_s: 0.5, max_frames: 10 };
        // 10 s at 10 fps; a cut at 3.0 s and one at 3.2 s (too close: ignored).
        let plan = plan_keyframes(&times(100, 10.0), &[30, 32], &rule);
        assert_eq!(plan, vec![(0, First), (20, Interval), (30, Cut), (50, Interval), (70, Interval), (90, Interval)]);
    }

    #[test]
    fn the_cap_keeps_cuts_before_intervals() {
        let rule = KeyframeRule { max_gap_s: 1.0, min_gap_s: 0.5, max_frames: 4 };
        let plan = plan_keyframes(&times(100, 10.0), &[55], &rule);
        assert_eq!(plan.len(), 4);
        assert_eq!(plan[0], (0, First));
        assert!(plan.contains(&(55, Cut)), "{plan:?}");
        // Too many cuts alone: spread over them, the first frame kept.
        let cuts: Vec<usize> = (1..50).map(|k| 2 * k).collect();
        let plan = plan_keyframes(&times(100, 10.0), &cuts, &rule);
        assert_eq!(plan.len(), 4);
        assert_eq!(plan[0], (0, First));
    }

    #[test]
    fn no_frames_no_plan_and_one_frame_is_kept() {
        assert!(plan_keyframes(&[], &[], &KeyframeRule::default()).is_empty());
        assert_eq!(plan_keyframes(&[(0, 0.0)], &[], &KeyframeRule::default()), vec![(0, First)]);
    }

    #[test]
    fn timeline_is_ordered_and_deduplicated() {
        let images = vec![(2.0, "a dog runs".to_string()), (0.0, "a dog".to_string()), (4.0, "a dog runs".to_string())];
        let speech = vec![(1.24, 3.96, " hello there ".to_string()), (0.0, 0.5, "".to_string())];
        assert_eq!(
            merge_timeline(&images, &speech),
            "[0.0 s] image: a dog [1.2-4.0 s] speech: hello there [2.0 s] image: a dog runs"
        );
        assert_eq!(merge_timeline(&[], &[]), "");
    }
}
