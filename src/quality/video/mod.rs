//! Video quality: spatial quality of sampled frames (an image `FrameScorer`, NIQE by default)
//! discounted by temporal defects (flicker, freezes, abrupt cuts, temporal inconsistency).
//!
//! Small frames are pooled into one mosaic for the spatial scorer (see `spatial`).
//! Frames are chosen by `media::video::SamplingRule::default()` (12 evenly spaced frames for the
//! spatial score; every frame, or 8 evenly spaced runs of 40 consecutive frames in a long video,
//! for the temporal measures); see `temporal` for the measures' definitions.

pub mod spatial;
pub mod temporal;

use super::{FrameScorer, QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::media::video::{SamplingRule, VideoReader};
use spatial::SpatialPass;
use std::path::Path;
use temporal::{FrameFeatures, TemporalAnalyzer, TemporalReport};

/// The image scorer applied to sampled frames.
pub const SPATIAL_SCORER: &str = "niqe";
/// Tile side for pooling small frames (see `spatial`): NIQE's patch.
pub const SPATIAL_TILE: u32 = super::image::niqe::PATCH as u32;
/// Mean luma jumps (levels of 255) up to this are normal content change, not flicker.
pub const FLICKER_TOLERANCE: f64 = 1.0;
/// Each further `FLICKER_SCALE` levels of mean jump divide the flicker factor by e.
pub const FLICKER_SCALE: f64 = 4.0;
/// Cut rate (per minute) that divides the cut factor by e: one cut in a 5 s clip gives 0.82,
/// bikes.mp4 (a montage, 4 cuts in 10 s) 0.67. Generated clips are usually one shot, so a cut
/// is suspect, but edited footage has them legitimately: the discount stays moderate.
pub const CUTS_PER_MIN_SCALE: f64 = 60.0;
/// Mean consecutive-thumbnail SSIM at and above which motion counts as fully consistent.
pub const CONSISTENCY_FULL: f64 = 0.5;

pub fn scorers() -> Vec<ScorerInfo> {
    vec![ScorerInfo {
        name: "video",
        modality: Modality::Video,
        description: "mean NIQE frame score x temporal factors (flicker, freezes, cuts, consistency), \
                      each in [0,1]; raw = mean frame NIQE",
        lower_better_raw: true,
        default: true,
        build: build_video,
    }]
}

fn build_video(_ctx: &ScorerContext) -> Result<Box<dyn Scorer>, QualityError> {
    let spatial = super::image::frame_scorer(SPATIAL_SCORER).ok_or_else(|| QualityError::Scorer {
        scorer: "video".into(),
        detail: format!("frame scorer '{SPATIAL_SCORER}' is not available"),
    })?;
    Ok(Box::new(VideoScorer::new(spatial, SamplingRule::default()).with_tile(SPATIAL_TILE)))
}

/// Scores a video as `spatial x flicker x freeze x cut x consistency`, every factor in [0, 1]:
/// - spatial: mean of the frame scorer's [0, 1] scores over the spatial sample (NIQE:
///   `1 / (1 + exp((niqe - 12) / 3))`), or, for frames under 384 px on the shorter side, the
///   score of one mosaic of them (`spatial`); `raw` is the mean native value (NIQE, lower is
///   better);
/// - flicker: `exp(-max(0, flicker - FLICKER_TOLERANCE) / FLICKER_SCALE)`;
/// - freeze: `1 - frozen_ratio` (share of frame pairs inside freezes of 3+ identical frames);
/// - cut: `exp(-cuts_per_min / CUTS_PER_MIN_SCALE)`;
/// - consistency: `min(1, mean consecutive SSIM / CONSISTENCY_FULL)`.
///
/// A clean video therefore scores its spatial quality; each temporal defect discounts it.
/// Every sub-measure is in `details`. A truncated file is scored on the frames that decode and
/// says so in `reason` ("truncated: ...").
pub struct VideoScorer {
    spatial: Box<dyn FrameScorer>,
    rule: SamplingRule,
    tile: u32,
}

impl VideoScorer {
    /// Scores every sampled frame on its own; see `with_tile` for pooling small frames.
    pub fn new(spatial: Box<dyn FrameScorer>, rule: SamplingRule) -> VideoScorer {
        VideoScorer { spatial, rule, tile: 1 }
    }

    /// Pools frames smaller than `MOSAIC_BELOW_TILES` tiles into a mosaic of whole tiles.
    pub fn with_tile(mut self, tile: u32) -> VideoScorer {
        self.tile = tile.max(1);
        self
    }
}

/// The four temporal factors, in the order of the doc comment above.
pub fn temporal_factors(t: &TemporalReport) -> [f64; 4] {
    [
        (-(t.flicker - FLICKER_TOLERANCE).max(0.0) / FLICKER_SCALE).exp(),
        1.0 - t.frozen_ratio,
        (-t.cuts_per_min / CUTS_PER_MIN_SCALE).exp(),
        (t.consistency / CONSISTENCY_FULL).clamp(0.0, 1.0),
    ]
}

impl Scorer for VideoScorer {
    fn name(&self) -> &'static str {
        "video"
    }

    fn modality(&self) -> Modality {
        Modality::Video
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let mut reader = VideoReader::open(path)?;
        let info = reader.info().clone();
        let plan = self.rule.plan(info.frame_count);
        let mut analyzer = TemporalAnalyzer::default();
        let mut pass = SpatialPass::new(self.spatial.as_ref(), self.tile);
        let (mut stopped, mut used) = (None, 0usize);
        for frame in reader.frames(&plan.union()) {
            let frame = match frame {
                // Frames already used are kept: a later decode error truncates the video.
                Err(e) if used > 0 => {
                    stopped = Some(e.to_string());
                    break;
                }
                Err(e) => return Err(e.into()),
                Ok(f) => f,
            };
            used += 1;
            if plan.temporal.binary_search(&frame.index).is_ok() {
                analyzer.push(FrameFeatures::of(&frame));
            }
            if plan.spatial.binary_search(&frame.index).is_ok() {
                pass.add(&frame.image);
            }
        }
        pass.finish();
        let spatial = &pass.scores;
        let spatial_raw = &pass.raws;
        let decoded = reader.frames_decoded();
        let (decode_errors, first_decode_error) = reader.decode_errors();

        let mut reasons = Vec::new();
        if let Some(t) = &info.truncated {
            let of = t.frames_declared.map(|d| format!(" of {d}")).unwrap_or_default();
            reasons.push(format!(
                "truncated: scored the {}{of} frames that are in the file ({})",
                t.frames_present, t.detail
            ));
        }
        if let Some(e) = &stopped {
            reasons.push(format!("truncated: decoding stopped after {decoded} frames: {e}"));
        }
        if decode_errors > 0 {
            reasons.push(format!(
                "{decode_errors} frames did not decode (first: {})",
                first_decode_error.unwrap_or_default()
            ));
        }
        if spatial.is_empty() {
            let why = match pass.first_failure.take() {
                Some(e) => format!("no frame could be scored by {}: {e}", self.spatial.name()),
                None => "no frame decoded".to_string(),
            };
            reasons.insert(0, why);
            return Ok(QualityScore::unscored(reasons.join("; ")));
        }
        if pass.failures > 0 {
            reasons.push(format!(
                "{} of {} spatial scorings by {} failed: {}",
                pass.failures,
                pass.failures + spatial.len(),
                self.spatial.name(),
                pass.first_failure.clone().unwrap_or_default()
            ));
        }

        let report = analyzer.finish();
        if report.pairs == 0 {
            reasons.push("a single frame: no temporal measures".into());
        }
        let spatial_mean = spatial.iter().sum::<f64>() / spatial.len() as f64;
        let raw_mean = if spatial_raw.is_empty() {
            spatial_mean
        } else {
            spatial_raw.iter().sum::<f64>() / spatial_raw.len() as f64
        };
        let factors = temporal_factors(&report);
        let temporal_factor: f64 = factors.iter().product();
        let mut score = QualityScore::new(spatial_mean * temporal_factor, raw_mean)
            .with_detail("spatial", spatial_mean)
            .with_detail("spatial_raw_mean", raw_mean)
            .with_detail("spatial_min", spatial.iter().copied().fold(f64::INFINITY, f64::min))
            .with_detail("spatial_frames", plan.spatial.len() as f64)
            .with_detail("spatial_mosaic_frames", pass.mosaic_frames as f64)
            .with_detail("spatial_upscale", pass.upscale)
            .with_detail("temporal", temporal_factor)
            .with_detail("temporal_frames", report.frames as f64)
            .with_detail("temporal_pairs", report.pairs as f64)
            .with_detail("flicker", report.flicker)
            .with_detail("flicker_factor", factors[0])
            .with_detail("frozen_ratio", report.frozen_ratio)
            .with_detail("longest_freeze_frames", report.longest_freeze_frames as f64)
            .with_detail("freeze_factor", factors[1])
            .with_detail("cuts", report.cuts as f64)
            .with_detail("cuts_per_min", report.cuts_per_min)
            .with_detail("first_cut_frame", report.cut_frames.first().map(|&i| i as f64).unwrap_or(-1.0))
            .with_detail("cut_factor", factors[2])
            .with_detail("consistency", report.consistency)
            .with_detail("consistency_factor", factors[3])
            .with_detail("frames_in_file", info.frame_count as f64)
            .with_detail("frames_decoded", decoded as f64)
            .with_detail("decode_errors", decode_errors as f64);
        if let Some(fps) = info.fps {
            score = score.with_detail("fps", fps);
            if report.longest_freeze_frames > 0 {
                score = score.with_detail("longest_freeze_s", report.longest_freeze_frames as f64 / fps);
            }
        }
        if !reasons.is_empty() {
            score = score.with_reason(reasons.join("; "));
        }
        Ok(score)
    }
}

#[cfg(test)]
mod tests;
