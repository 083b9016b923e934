//! `omniscore models list|pull|verify`: what models this build knows, fetching them, and
//! checking installed files against their cards. Results go to stdout, failures to stderr.

use super::card::{CardSet, ModelCard, SourceKind, CARDS_ENV};
use super::model_store::{Expected, ModelError, ModelStore, MODELS_ENV};
use crate::progress::ProgressMode;
use std::io::{self, Write};
use std::path::PathBuf;

/// Hex digits of a hash shown in `verify`: enough to compare by eye, short enough for one line.
const SHOWN_HASH_CHARS: usize = 16;

#[derive(clap::Args, Debug)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: ModelsAction,
    /// Model store folder, searched first and written by `pull` [default: $OMNISCORE_MODELS, else
    /// the project's models/store].
    #[arg(long, value_name = "DIR", global = true)]
    pub models: Option<PathBuf>,
    /// Folder of extra model cards (*.toml); a card there replaces a built-in card of the same name
    /// [default: $OMNISCORE_CARDS].
    #[arg(long, value_name = "DIR", global = true)]
    pub cards: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum ModelsAction {
    /// List the model cards: role, format, default for its role, and where it is installed.
    List,
    /// Fetch models (by card name, or by role for its default card), trying each card's sources
    /// in order, into the --models folder or the project's models/store.
    Pull {
        #[arg(value_name = "NAME|ROLE", required_unless_present = "defaults")]
        names: Vec<String>,
        /// Pull the default card of every role.
        #[arg(long)]
        defaults: bool,
        /// Only try sources of this kind.
        #[arg(long, value_enum, value_name = "KIND")]
        source: Option<SourceKind>,
    },
    /// Hash installed model files and compare them with their cards [default: every installed model].
    Verify {
        #[arg(value_name = "NAME|ROLE")]
        names: Vec<String>,
    },
}

/// Runs a `models` action; `Ok(false)` when some model could not be pulled or failed its check.
pub fn run(args: &ModelsArgs, progress: ProgressMode) -> Result<bool, ModelError> {
    // The environment fallbacks are read here: clap's `env` feature is not enabled in this crate.
    let from_env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cards = CardSet::load(args.cards.clone().or_else(|| from_env(CARDS_ENV)).as_deref())?;
    let store = ModelStore::new(args.models.clone().or_else(|| from_env(MODELS_ENV)));
    let mut out = io::stdout().lock();
    let ok = execute(&args.action, &cards, &store, progress, &mut out)?;
    out.flush().map_err(ModelError::Output)?;
    Ok(ok)
}

/// [`run`] with its cards, store and output given.
pub fn execute(
    action: &ModelsAction,
    cards: &CardSet,
    store: &ModelStore,
    progress: ProgressMode,
    out: &mut impl Write,
) -> Result<bool, ModelError> {
    match action {
        ModelsAction::List => list(cards, store, out).map(|()| true),
        ModelsAction::Pull { names, defaults, source } => {
            let mut chosen = resolve(cards, names)?;
            if *defaults {
                chosen.extend(cards.defaults());
            }
            pull(&dedup(chosen), store, progress, *source, out)
        }
        ModelsAction::Verify { names } if names.is_empty() => {
            let installed: Vec<&ModelCard> = cards.cards().iter().filter(|c| store.find(c).is_ok()).collect();
            if installed.is_empty() {
                writeln!(out, "no model is installed; `omniscore models pull --defaults` fetches the default ones")
                    .map_err(ModelError::Output)?;
                return Ok(true);
            }
            verify(&installed, store, out)
        }
        ModelsAction::Verify { names } => verify(&dedup(resolve(cards, names)?), store, out),
    }
}

fn resolve<'a>(cards: &'a CardSet, names: &[String]) -> Result<Vec<&'a ModelCard>, ModelError> {
    names.iter().map(|n| cards.find(n).map_err(ModelError::from)).collect()
}

fn dedup(cards: Vec<&ModelCard>) -> Vec<&ModelCard> {
    let mut seen = std::collections::BTreeSet::new();
    cards.into_iter().filter(|c| seen.insert(c.name.clone())).collect()
}

fn list(cards: &CardSet, store: &ModelStore, out: &mut impl Write) -> Result<(), ModelError> {
    let name_w = cards.cards().iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
    let w = |out: &mut dyn Write, line: String| writeln!(out, "{}", line.trim_end()).map_err(ModelError::Output);
    w(out, format!("{:<name_w$}  {:<15}  {:<11}  {:<7}  installed", "name", "role", "format", "default"))?;
    for c in cards.cards() {
        let installed = match store.find(c) {
            Ok((place, dir, _)) => format!("{} ({place})", dir.display()),
            Err(_) => format!("no (omniscore models pull {})", c.name),
        };
        let default = if c.default_for_role { "yes" } else { "-" };
        w(
            out,
            format!(
                "{:<name_w$}  {:<15}  {:<11}  {:<7}  {installed}",
                c.name,
                c.role.to_string(),
                c.format.to_string(),
                default
            ),
        )?;
    }
    Ok(())
}

fn pull(
    cards: &[&ModelCard],
    store: &ModelStore,
    progress: ProgressMode,
    source: Option<SourceKind>,
    out: &mut impl Write,
) -> Result<bool, ModelError> {
    let mut all_ok = true;
    for card in cards {
        match store.pull_from(card, progress, source) {
            Ok(files) => {
                writeln!(out, "{}: ok, {} ({})", card.name, files.dir.display(), files.place)
                    .map_err(ModelError::Output)?;
            }
            Err(e) => {
                eprintln!("error: {e}");
                all_ok = false;
            }
        }
    }
    Ok(all_ok)
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(SHOWN_HASH_CHARS)]
}

fn verify(cards: &[&ModelCard], store: &ModelStore, out: &mut impl Write) -> Result<bool, ModelError> {
    let mut all_ok = true;
    for card in cards {
        let checks = match store.verify(card) {
            Ok(checks) => checks,
            Err(e @ (ModelError::Missing { .. } | ModelError::Io { .. })) => {
                eprintln!("error: {e}");
                all_ok = false;
                continue;
            }
            Err(e) => return Err(e),
        };
        for c in checks {
            let basis = match &c.expected {
                Expected::Card(_) => "pinned by the card".to_string(),
                Expected::Recorded(_) => "recorded on first use".to_string(),
                Expected::FirstUse => "not pinned; recorded now".to_string(),
            };
            let line = match &c.problem {
                None => format!("ok        {}/{}  sha256 {}...  ({basis})", card.name, c.name, short(&c.sha256)),
                Some(problem) => {
                    all_ok = false;
                    let expected = match &c.expected {
                        Expected::Card(h) | Expected::Recorded(h) => format!("expected {}... ({basis})", short(h)),
                        Expected::FirstUse => "no hash to compare with".to_string(),
                    };
                    format!(
                        "DAMAGED   {}/{}  sha256 {}..., {expected}: {problem}; {}",
                        card.name,
                        c.name,
                        short(&c.sha256),
                        c.path.display()
                    )
                }
            };
            writeln!(out, "{line}").map_err(ModelError::Output)?;
        }
    }
    Ok(all_ok)
}
