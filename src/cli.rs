//! Command-line interface (clap). Every flag explains itself in `--help`.

use crate::data::records::DEFAULT_MAX_RECORD_BYTES;
use crate::data::Modality;
use crate::metrics::ics::DEFAULT_ETA_ICS;
use crate::metrics::sqcs::DEFAULT_ETA_SQCS;
use crate::progress::ProgressMode;
use crate::units::ScScale;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const DEFAULT_OUT: &str = "omniscore-out";

const EXIT_CODES: &str = "Exit codes: 0 scored with no problems; 3 scored, with problems in the input \
(listed on stderr and in report.json); 1 could not run; 2 bad command line.";

#[derive(Parser, Debug)]
#[command(
    name = "omniscore",
    version,
    about = "Score any-to-any multimodal model outputs the way the UniM benchmark does, locally and resumably.",
    long_about = "Score any-to-any multimodal model outputs the way the UniM benchmark does: structure \
(StS, LeS), semantic correctness and quality (SC, GQ, SQCS), interleaved coherence (HC, SH, ICS) and the \
supporting rate, per field, domain and difficulty. Every finished unit of work is kept in a SQLite store in \
the output folder, so an interrupted run resumes where it stopped.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score responses against the ground truth and write report.json, scores.csv and summary.md.
    #[command(after_help = EXIT_CODES)]
    Score(ScoreArgs),
    /// Structure scores only (StS, LeS): no models, nothing stored; prints one row per instance.
    #[command(after_help = EXIT_CODES)]
    Structure(StructureArgs),
    /// Re-render the reports of the last `score` run in an output folder from its store, without
    /// recomputing anything (optionally with other eta values or support set).
    Report(ReportArgs),
    /// Show the build's features, the devices found and what is installed.
    Doctor,
}

#[derive(Args, Debug)]
pub struct InputArgs {
    /// Ground-truth instances: UniM JSON (objects one after another, a JSON array, or JSONL).
    pub ground_truth: PathBuf,
    /// The model's responses, same format, joined to the ground truth by `id`.
    pub responses: PathBuf,
    /// Folder that media paths in the responses are relative to [default: the responses file's folder].
    #[arg(long, value_name = "DIR")]
    pub media_root: Option<PathBuf>,
    /// Stop at the first problem in the input instead of reporting it and going on.
    #[arg(long)]
    pub strict: bool,
    /// Largest single instance read, in MiB; a bigger one is reported and skipped (bounds memory).
    #[arg(long, value_name = "MIB", default_value_t = (DEFAULT_MAX_RECORD_BYTES >> 20) as u64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_instance_mib: u64,
    /// Progress display: a bar on a terminal, plain lines when piped.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

#[derive(Args, Debug, Clone)]
pub struct CompositionArgs {
    /// Weight of SC in SQCS = SC (eta + (1 - eta) GQ); the paper uses 0.7.
    #[arg(long, value_name = "ETA", value_parser = unit_interval)]
    pub eta_sqcs: Option<f64>,
    /// Weight of HC in ICS = eta HC + (1 - eta) SH; the paper uses 0.8.
    #[arg(long, value_name = "ETA", value_parser = unit_interval)]
    pub eta_ics: Option<f64>,
    /// Modalities the model takes as input, comma-separated (image,audio,video,document,code,threeD).
    /// An instance is supported when all its input modalities are listed. Without this flag,
    /// support is inferred: a missing or empty response means unsupported.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub supports: Option<Vec<Modality>>,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output folder: the results store (omniscore.sqlite) and the reports go here. Rerunning into
    /// the same folder skips every unit already stored.
    #[arg(short, long, value_name = "DIR", default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Import SC from an official semantic-correctness output (`output.score`, 1-5 or 0-1).
    #[arg(long, value_name = "FILE")]
    pub import_sc: Option<PathBuf>,
    /// Import GQ from an official generation-quality output (`scores`: tag -> 0-100 or null).
    #[arg(long, value_name = "FILE")]
    pub import_gq: Option<PathBuf>,
    /// Import HC and SH from an official coherence output (`score.coherence`, `score.style_consistency`, 1-5).
    #[arg(long, value_name = "FILE")]
    pub import_ics: Option<PathBuf>,
    /// Scale of the imported SC scores [default: decided per file: any value above 1 means five].
    #[arg(long, value_enum, value_name = "SCALE")]
    pub sc_scale: Option<ScScale>,
    #[command(flatten)]
    pub composition: CompositionArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StructureFormat {
    Table,
    Csv,
    Jsonl,
}

#[derive(Args, Debug)]
pub struct StructureArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = StructureFormat::Table)]
    pub format: StructureFormat,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Output folder of an earlier `omniscore score` run.
    #[arg(short, long, value_name = "DIR", default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    #[command(flatten)]
    pub composition: CompositionArgs,
}

fn unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside [0, 1]"))
    }
}

impl CompositionArgs {
    /// The composition these flags ask for, with defaults from `base`.
    pub fn resolve(&self, base: Option<&crate::metrics::compose::Composition>) -> crate::metrics::compose::Composition {
        use crate::metrics::support::SupportRule;
        crate::metrics::compose::Composition {
            eta_sqcs: self.eta_sqcs.or(base.map(|b| b.eta_sqcs)).unwrap_or(DEFAULT_ETA_SQCS),
            eta_ics: self.eta_ics.or(base.map(|b| b.eta_ics)).unwrap_or(DEFAULT_ETA_ICS),
            support: match &self.supports {
                Some(list) => SupportRule::Declared(list.iter().copied().collect()),
                None => base.map(|b| b.support.clone()).unwrap_or(SupportRule::Inferred),
            },
        }
    }
}
