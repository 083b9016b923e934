//! `omniscore caption PATH...`: captions media files on their own, the same way `score` does
//! before judging (caption::item), one JSON object per file or a readable listing.

use super::item::ItemCaptioner;
use crate::progress::{Progress, ProgressMode};
use crate::quality::discover::{discover, Found};
use crate::quality::ScorerContext;
use crate::runtime::device::{open, DeviceError};
use crate::runtime::model_store::ModelStore;
use crate::units::CaptionUnit;
use serde::Serialize;
use std::io::Write;

/// How `caption` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CaptionFormat {
    /// The file, then its caption text indented, then why anything was skipped.
    Text,
    /// One JSON object per file: path, modality, text, parts (kind, model, prompt, text), reason.
    Json,
}

/// What `caption` was asked.
#[derive(Debug, Clone)]
pub struct CaptionRequest {
    pub paths: Vec<String>,
    pub modality: Option<crate::data::Modality>,
    /// Conditions model captions (the task's question).
    pub question: String,
    pub asr: Option<String>,
    pub captioner: Option<String>,
    pub format: CaptionFormat,
    pub device: crate::runtime::device::DeviceSpec,
    pub models: Option<std::path::PathBuf>,
    pub offline: bool,
    pub progress: ProgressMode,
}

#[derive(Serialize)]
struct Row<'a> {
    path: String,
    modality: String,
    #[serde(flatten)]
    caption: &'a CaptionUnit,
}

/// Files captioned, and how many got no text at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptionSummary {
    pub files: usize,
    pub uncaptioned: usize,
}

pub fn run(req: &CaptionRequest, out: &mut dyn Write) -> Result<CaptionSummary, CaptionCommandError> {
    let ctx = ScorerContext { device: open(req.device)?, store: ModelStore::new(req.models.clone()), offline: req.offline, progress: req.progress };
    let captioner = ItemCaptioner::load(&ctx, req.asr.as_deref(), req.captioner.as_deref());
    let found = discover(&req.paths, req.modality);
    let mut progress = Progress::new(req.progress, "caption", found.len() as u64);
    let mut summary = CaptionSummary::default();
    for f in &found {
        let (path, modality, unit) = match f {
            Found::File { path, modality } => {
                let unit = match captioner.caption(*modality, path, &req.question) {
                    Ok((parts, skipped)) => CaptionUnit::from_parts(parts, (!skipped.is_empty()).then(|| skipped.join("; "))),
                    Err(why) => CaptionUnit::from_parts(Vec::new(), Some(why)),
                };
                (path.display().to_string(), modality.to_string(), unit)
            }
            Found::Unknown { path } => (
                path.display().to_string(),
                "unknown".to_string(),
                CaptionUnit::from_parts(Vec::new(), Some("the extension names no modality (use --modality)".into())),
            ),
            Found::Nothing { arg, why } => (arg.clone(), "none".to_string(), CaptionUnit::from_parts(Vec::new(), Some(why.clone()))),
        };
        summary.files += 1;
        if unit.text.is_none() {
            summary.uncaptioned += 1;
        }
        let io = |source| CaptionCommandError::Write { source };
        match req.format {
            CaptionFormat::Json => {
                let row = Row { path, modality, caption: &unit };
                writeln!(out, "{}", serde_json::to_string(&row).expect("caption rows serialise")).map_err(io)?;
            }
            CaptionFormat::Text => {
                writeln!(out, "{path} ({modality})").map_err(io)?;
                for p in &unit.parts {
                    let by = p.model.as_deref().map_or(String::new(), |m| format!(" [{m}]"));
                    writeln!(out, "  {}{by}: {}", p.kind, p.text).map_err(io)?;
                }
                if let Some(r) = &unit.reason {
                    writeln!(out, "  note: {r}").map_err(io)?;
                }
            }
        }
        out.flush().map_err(|source| CaptionCommandError::Write { source })?;
        progress.inc();
    }
    progress.finish();
    Ok(summary)
}

#[derive(Debug, thiserror::Error)]
pub enum CaptionCommandError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("writing the captions: {source}")]
    Write { source: std::io::Error },
}
