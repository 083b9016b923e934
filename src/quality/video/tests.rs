//! Unit tests of the video scorer with a small frame scorer of our own, so the combination is
//! tested independently of NIQE.

use super::*;
use crate::media::video::Frame;
use image::RgbImage;

/// Mean absolute horizontal gradient, mapped by g / (g + 10): sharper frames score higher.
struct GradientScorer;

impl FrameScorer for GradientScorer {
    fn name(&self) -> &'static str {
        "gradient"
    }

    fn score_frame(&self, frame: &RgbImage) -> Result<QualityScore, QualityError> {
        let (w, h) = frame.dimensions();
        let mut sum = 0.0;
        for y in 0..h {
            for x in 1..w {
                sum += (frame.get_pixel(x, y)[1] as f64 - frame.get_pixel(x - 1, y)[1] as f64).abs();
            }
        }
        let g = sum / ((w - 1) * h) as f64;
        Ok(QualityScore::new(g / (g + 10.0), g))
    }
}

fn clean_report() -> TemporalReport {
    TemporalReport {
        frames: 50,
        pairs: 49,
        flicker: 0.3,
        frozen_ratio: 0.0,
        longest_freeze_frames: 0,
        cuts: 0,
        cut_frames: Vec::new(),
        cuts_per_min: 0.0,
        consistency: 0.8,
    }
}

#[test]
fn a_clean_video_keeps_its_spatial_score() {
    assert_eq!(temporal_factors(&clean_report()), [1.0; 4]);
}

#[test]
fn each_temporal_defect_lowers_its_factor() {
    let base = clean_report();
    let f = temporal_factors(&TemporalReport { flicker: 9.0, ..base.clone() });
    assert!((f[0] - (-2.0f64).exp()).abs() < 1e-12);
    let f = temporal_factors(&TemporalReport { frozen_ratio: 0.75, ..base.clone() });
    assert_eq!(f[1], 0.25);
    let f = temporal_factors(&TemporalReport { cuts: 1, cuts_per_min: 12.0, ..base.clone() });
    assert!((f[2] - (-12.0 / CUTS_PER_MIN_SCALE).exp()).abs() < 1e-12);
    let f = temporal_factors(&TemporalReport { consistency: 0.1, ..base });
    assert!((f[3] - 0.2).abs() < 1e-12);
}

fn write_gif(path: &std::path::Path, frames: impl IntoIterator<Item = RgbImage>) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = image::codecs::gif::GifEncoder::new_with_speed(file, 30);
    for f in frames {
        let rgba = image::DynamicImage::ImageRgb8(f).to_rgba8();
        let delay = image::Delay::from_numer_denom_ms(40, 1);
        enc.encode_frame(image::Frame::from_parts(rgba, 0, 0, delay)).unwrap();
    }
}

/// A smooth pattern panning one pixel per frame.
fn moving(i: u32) -> RgbImage {
    RgbImage::from_fn(64, 48, |x, y| {
        let v = 128.0 + 90.0 * ((x + i) as f64 / 6.0).sin() * (y as f64 / 5.0).cos();
        image::Rgb([v as u8; 3])
    })
}

#[test]
fn a_gif_whose_second_half_is_frozen_scores_below_the_moving_one() {
    let dir = tempfile::tempdir().unwrap();
    let moving_path = dir.path().join("moving.gif");
    let frozen_path = dir.path().join("frozen.gif");
    write_gif(&moving_path, (0..20).map(moving));
    write_gif(&frozen_path, (0..20).map(|i| moving(i.min(10))));
    let scorer = VideoScorer::new(Box::new(GradientScorer), SamplingRule::default());
    let a = scorer.score_path(&moving_path).unwrap();
    let b = scorer.score_path(&frozen_path).unwrap();
    assert_eq!(a.details["frozen_ratio"], 0.0, "{a:?}");
    assert_eq!(a.details["consistency_factor"], 1.0, "{a:?}");
    assert!((b.details["frozen_ratio"] - 9.0 / 19.0).abs() < 1e-9, "{b:?}");
    assert!(b.score.unwrap() < a.score.unwrap() * 0.6, "{a:?} {b:?}");
    assert_eq!(a.details["spatial_frames"], 12.0);
    assert!(a.reason.is_none(), "{a:?}");
}

#[test]
fn a_frame_scorer_that_fails_everywhere_gives_no_score_and_says_why() {
    struct Refuses;
    impl FrameScorer for Refuses {
        fn name(&self) -> &'static str {
            "refuses"
        }
        fn score_frame(&self, _: &RgbImage) -> Result<QualityScore, QualityError> {
            Err(QualityError::Scorer { scorer: "refuses".into(), detail: "frame too small".into() })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.gif");
    write_gif(&path, (0..3).map(moving));
    let s = VideoScorer::new(Box::new(Refuses), SamplingRule::default()).score_path(&path).unwrap();
    assert_eq!(s.score, None);
    assert!(s.reason.as_deref().unwrap().contains("frame too small"), "{s:?}");
}

#[test]
fn frames_carry_their_index_and_time() {
    let f = Frame { index: 3, pts_s: 0.12, image: moving(0) };
    let features = FrameFeatures::of(&f);
    assert_eq!(features.index, 3);
    let direct = f.image.pixels().map(|p| p[0] as f64).sum::<f64>() / (64.0 * 48.0);
    assert!((features.mean_luma - direct).abs() < 0.01, "{} vs {direct}", features.mean_luma);
}
