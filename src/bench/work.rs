//! What one scoring of a file amounts to, in the unit its modality is benchmarked in (the
//! issue's images/s, audio seconds per wall second, video frames/s, meshes/s): read from the
//! scorer's own details where it reports them (decoded duration, frames), else one file.

use crate::data::Modality;
use crate::quality::QualityScore;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Work {
    pub amount: f64,
    /// Plural noun: "images", "audio-s", "frames", "meshes", "pages", "files".
    pub unit: &'static str,
    /// Image size in megapixels, for Mpx/s beside images/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub megapixels: Option<f64>,
}

/// The work in one scoring of `path` that produced `score`.
pub fn of(modality: Modality, path: &Path, score: &QualityScore) -> Work {
    let detail = |name: &str| score.details.get(name).copied().filter(|v| v.is_finite() && *v > 0.0);
    let work = |amount: f64, unit| Work { amount, unit, megapixels: None };
    match modality {
        Modality::Image => Work {
            amount: 1.0,
            unit: "images",
            megapixels: ::image::image_dimensions(path).ok().map(|(w, h)| w as f64 * h as f64 / 1e6),
        },
        Modality::Audio => detail("duration_s").map_or_else(|| work(1.0, "files"), |s| work(s, "audio-s")),
        Modality::Video => detail("temporal_frames").map_or_else(|| work(1.0, "files"), |f| work(f, "frames")),
        Modality::ThreeD => work(1.0, "meshes"),
        Modality::Document => detail("pages").map_or_else(|| work(1.0, "files"), |p| work(p, "pages")),
        Modality::Code | Modality::Text => work(1.0, "files"),
    }
}
