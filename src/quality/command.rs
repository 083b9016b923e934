//! `omniscore quality`: the command around the batch runner (listing, output file, resume).

use super::batch::{self, BatchRequest, BatchSummary};
use super::discover::discover;
use super::output::{already_done, QualityFormat, RowWriter};
use super::{registry, ScorerContext};
use crate::cli::QualityArgs;
use crate::runtime::device::open;
use crate::runtime::model_store::ModelStore;
use std::io::{Read, Seek, SeekFrom, Write};

/// The registry as a table for `--list`.
pub fn list() -> String {
    let mut s = format!("{:<16} {:<9} {:<8} {}\n", "scorer", "modality", "default", "what it measures");
    for info in registry::all() {
        let default = if info.default { "yes" } else { "no" };
        s.push_str(&format!("{:<16} {:<9} {:<8} {}\n", info.name, info.modality.as_str(), default, info.description));
    }
    s
}

/// Opens `--output` for appending. A line torn by a killed run is ended first so the next row
/// starts on its own line.
fn open_append(path: &std::path::Path) -> std::io::Result<(std::fs::File, bool)> {
    let existed = path.metadata().map(|m| m.len() > 0).unwrap_or(false);
    let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path)?;
    if existed {
        file.seek(SeekFrom::End(-1))?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
        }
    }
    Ok((file, existed))
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("--output {path}: {source}")]
    Output { path: String, source: std::io::Error },
    #[error("--output needs --format json or csv (a table cannot be resumed)")]
    TableToFile,
    #[error(transparent)]
    Batch(#[from] batch::BatchError),
    #[error(transparent)]
    Device(#[from] crate::runtime::device::DeviceError),
}

pub fn run(args: &QualityArgs) -> Result<BatchSummary, CommandError> {
    let ctx = ScorerContext {
        device: open(args.run.device)?,
        store: ModelStore::new(args.run.models.clone()),
        offline: args.run.offline,
        progress: args.run.progress,
    };
    let mut req = BatchRequest {
        found: discover(&args.paths, args.modality),
        scorers: args.scorers.clone(),
        ctx,
        jobs: args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        progress: args.run.progress,
        done: Default::default(),
    };
    match &args.output {
        None => {
            let mut w = RowWriter::new(std::io::stdout().lock(), args.format, true).map_err(batch::BatchError::Write)?;
            Ok(batch::run(&req, |row| w.write(row))?)
        }
        Some(path) => {
            if args.format == QualityFormat::Table {
                return Err(CommandError::TableToFile);
            }
            let shown = path.display().to_string();
            let io = |source| CommandError::Output { path: shown.clone(), source };
            req.done = already_done(path, args.format).map_err(io)?;
            let (file, existed) = open_append(path).map_err(io)?;
            let mut w = RowWriter::new(std::io::BufWriter::new(file), args.format, !existed).map_err(io)?;
            Ok(batch::run(&req, |row| w.write(row))?)
        }
    }
}
