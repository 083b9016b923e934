//! The spatial half of the video score: an image `FrameScorer` over the sampled frames.
//!
//! Rule: a frame whose shorter side is at least `tile` x `MOSAIC_BELOW_TILES` pixels is scored
//! on its own. Smaller frames hold too few NIQE patches (96 px) for its fitted Gaussian to mean
//! anything (a 256x224 crop of a clean photo scores NIQE ~47, the same photo at 512 px ~9), so
//! they are pooled instead: each is enlarged (Catmull-Rom) until its shorter side is
//! `MIN_TILES` tiles, centre-cropped to whole tiles, and the frames are laid out as one
//! near-square mosaic (empty slots repeat frames from the start) that is scored once. Tile
//! edges coincide with patch edges, so every patch comes from a single frame.

use crate::quality::{FrameScorer, QualityScore};
use image::imageops::{self, FilterType};
use image::RgbImage;

/// Frames below this many tiles on the shorter side are pooled into a mosaic.
pub const MOSAIC_BELOW_TILES: u32 = 4;
/// A pooled frame is enlarged to at least this many tiles on its shorter side.
pub const MIN_TILES: u32 = 2;

/// Accumulates sampled frames and their spatial scores.
pub struct SpatialPass<'a> {
    scorer: &'a dyn FrameScorer,
    tile: u32,
    pooled: Vec<RgbImage>,
    pub scores: Vec<f64>,
    pub raws: Vec<f64>,
    pub failures: usize,
    pub first_failure: Option<String>,
    /// Largest factor a frame was enlarged by (1 when none was).
    pub upscale: f64,
    pub mosaic_frames: usize,
}

impl<'a> SpatialPass<'a> {
    /// `tile`: the scorer's patch side (NIQE: 96); 1 scores every frame on its own.
    pub fn new(scorer: &'a dyn FrameScorer, tile: u32) -> SpatialPass<'a> {
        SpatialPass {
            scorer,
            tile: tile.max(1),
            pooled: Vec::new(),
            scores: Vec::new(),
            raws: Vec::new(),
            failures: 0,
            first_failure: None,
            upscale: 1.0,
            mosaic_frames: 0,
        }
    }

    pub fn add(&mut self, frame: &RgbImage) {
        let short = frame.width().min(frame.height());
        if self.tile == 1 || short >= self.tile * MOSAIC_BELOW_TILES {
            let result = self.scorer.score_frame(frame);
            self.record(result);
        } else {
            let tile = self.to_tile(frame);
            self.pooled.push(tile);
        }
    }

    /// Scores the mosaic of pooled frames, if any.
    pub fn finish(&mut self) {
        if self.pooled.is_empty() {
            return;
        }
        let mosaic = mosaic(&self.pooled);
        self.mosaic_frames = self.pooled.len();
        self.pooled.clear();
        let result = self.scorer.score_frame(&mosaic);
        self.record(result);
    }

    fn record(&mut self, result: Result<QualityScore, crate::quality::QualityError>) {
        match result {
            Ok(QualityScore { score: Some(s), raw, .. }) => {
                self.scores.push(s);
                self.raws.extend(raw);
            }
            Ok(QualityScore { reason, .. }) => self.fail(reason.unwrap_or_else(|| "no score".into())),
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn fail(&mut self, why: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(why);
    }

    fn to_tile(&mut self, frame: &RgbImage) -> RgbImage {
        let (w, h) = frame.dimensions();
        let min_short = self.tile * MIN_TILES;
        let short = w.min(h).max(1);
        let frame = if short < min_short {
            let scale = min_short as f64 / short as f64;
            self.upscale = self.upscale.max(scale);
            let nw = ((w as f64 * scale).ceil() as u32).max(min_short);
            let nh = ((h as f64 * scale).ceil() as u32).max(min_short);
            imageops::resize(frame, nw, nh, FilterType::CatmullRom)
        } else {
            frame.clone()
        };
        let (w, h) = frame.dimensions();
        let (cw, ch) = (w / self.tile * self.tile, h / self.tile * self.tile);
        imageops::crop_imm(&frame, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
    }
}

/// Frames of equal size laid out `ceil(sqrt(n))` wide; empty slots repeat frames in order.
fn mosaic(tiles: &[RgbImage]) -> RgbImage {
    let n = tiles.len() as u32;
    let cols = (n as f64).sqrt().ceil() as u32;
    let rows = n.div_ceil(cols);
    let (tw, th) = tiles[0].dimensions();
    let mut out = RgbImage::new(tw * cols, th * rows);
    for slot in 0..cols * rows {
        let tile = &tiles[(slot % n) as usize];
        imageops::replace(&mut out, tile, ((slot % cols) * tw) as i64, ((slot / cols) * th) as i64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::QualityError;

    /// Scores the image's width, to see what the scorer was given.
    struct Width;
    impl FrameScorer for Width {
        fn name(&self) -> &'static str {
            "width"
        }
        fn score_frame(&self, f: &RgbImage) -> Result<QualityScore, QualityError> {
            Ok(QualityScore::new(0.5, (f.width() * 10_000 + f.height()) as f64))
        }
    }

    #[test]
    fn large_frames_are_scored_alone_and_small_ones_pooled_on_whole_tiles() {
        let mut pass = SpatialPass::new(&Width, 96);
        pass.add(&RgbImage::new(640, 400));
        pass.add(&RgbImage::new(640, 400));
        pass.finish();
        assert_eq!(pass.raws, vec![6_400_400.0, 6_400_400.0]);

        let mut pass = SpatialPass::new(&Width, 96);
        for _ in 0..5 {
            pass.add(&RgbImage::new(176, 144)); // enlarged to 235x192, cropped to 192x192
        }
        pass.finish();
        assert_eq!(pass.mosaic_frames, 5);
        assert_eq!(pass.raws, vec![(3 * 192 * 10_000 + 2 * 192) as f64]);
        assert!((pass.upscale - 192.0 / 144.0).abs() < 1e-12);
    }

    #[test]
    fn empty_mosaic_slots_repeat_frames() {
        let tiles: Vec<RgbImage> = (0..3).map(|i| RgbImage::from_pixel(2, 2, image::Rgb([i * 50; 3]))).collect();
        let m = mosaic(&tiles);
        assert_eq!(m.dimensions(), (4, 4));
        assert_eq!(m.get_pixel(2, 2)[0], 0); // slot 3 repeats frame 0
        assert_eq!(m.get_pixel(0, 2)[0], 100);
    }
}
