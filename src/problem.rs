//! Problems found in the input: each names where it is and what was done about it. They are
//! collected, never thrown, so one bad instance costs only itself.

use crate::data::records::Position;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    MalformedJson,
    InstanceTooLarge,
    ReadFailed,
    InvalidInstance,
    DuplicateId,
    ResponseWithoutGroundTruth,
    MissingResponse,
    EmptyResponse,
    UnknownModality,
    UnknownPlaceholder,
    PlaceholderWithoutMedia,
    MediaWithoutPlaceholder,
    MissingMediaFile,
    InvalidDifficulty,
    UnknownField,
    ImportRecord,
}

/// One thing wrong with the input, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub item: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem { kind, file: None, line: None, column: None, id: None, item: None, message: message.into() }
    }

    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.display().to_string());
        self
    }

    pub fn at(mut self, pos: Position) -> Self {
        self.line = Some(pos.line);
        self.column = Some(pos.column);
        self
    }

    pub fn for_id(mut self, id: &str) -> Self {
        self.id = Some(id.to_string());
        self
    }

    pub fn for_item(mut self, item: impl fmt::Display) -> Self {
        self.item = Some(item.to_string());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        if let Some(id) = &self.id {
            write!(f, "instance {id}: ")?;
        }
        if let Some(item) = &self.item {
            write!(f, "{item}: ")?;
        }
        write!(f, "{}", self.message)
    }
}
