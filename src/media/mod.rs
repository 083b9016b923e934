//! Decoding only: files of each modality into in-memory samples, frames, meshes or text. Quality
//! scorers and captioners consume these; nothing here judges anything.

pub mod audio;
pub mod document;
pub mod image;

pub mod mesh;
pub mod video;

use std::path::{Path, PathBuf};

/// Why a media file could not be decoded (or only partly). Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: unsupported {what}", path.display())]
    Unsupported { path: PathBuf, what: String },
    #[error("{}: cannot decode: {detail}", path.display())]
    Decode { path: PathBuf, detail: String },
    #[error("{}: truncated: {detail}", path.display())]
    Truncated { path: PathBuf, detail: String },
    #[error("{}: too large: {detail}", path.display())]
    TooLarge { path: PathBuf, detail: String },
}

impl MediaError {
    /// Maps an I/O error on `path`, keeping "not found" distinct.
    pub fn io(path: &Path, source: std::io::Error) -> MediaError {
        if source.kind() == std::io::ErrorKind::NotFound {
            MediaError::NotFound { path: path.to_path_buf() }
        } else {
            MediaError::Io { path: path.to_path_buf(), source }
        }
    }

    pub fn decode(path: &Path, detail: impl std::fmt::Display) -> MediaError {
        MediaError::Decode { path: path.to_path_buf(), detail: detail.to_string() }
    }

    pub fn unsupported(path: &Path, what: impl Into<String>) -> MediaError {
        MediaError::Unsupported { path: path.to_path_buf(), what: what.into() }
    }
}

/// Lower-cased file extension without the dot ("" when there is none).
pub fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default()
}
