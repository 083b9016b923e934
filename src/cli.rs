//! Command-line interface (clap). Every flag explains itself in `--help`.

use crate::data::records::DEFAULT_MAX_RECORD_BYTES;
use crate::data::Modality;
use crate::metrics::ics::DEFAULT_ETA_ICS;
use crate::metrics::sqcs::DEFAULT_ETA_SQCS;
use crate::pipeline::{LocalModels, ScMode};
use crate::progress::ProgressMode;
use crate::runtime::device::DeviceSpec;
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
    /// Score media files on their own with the no-reference quality scorers (batch quality
    /// assessment): files, directories (walked) and glob patterns; a table, JSON lines or CSV.
    #[command(after_help = QUALITY_HELP)]
    Quality(QualityArgs),
    /// Caption media files on their own, as `score` does before judging: speech transcribed,
    /// sound described, images and video keyframes captioned (or described from their pixels
    /// without a captioner), documents and 3D summarised.
    Caption(CaptionArgs),
    /// Time the quality scorers on your own files: warm-up, then timed runs per file and scorer,
    /// median / mean ± σ / min … max and throughput (images/s, audio seconds per second, video
    /// frames/s, meshes/s), totals per scorer; exports to JSON, Markdown and CSV.
    #[command(after_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// List, fetch and verify the local models (judge, embedder, ...).
    Models(crate::runtime::commands::ModelsArgs),
    /// Show the build's features, the devices found and what is installed.
    Doctor,
}

const QUALITY_HELP: &str = "Each row: the file, its modality, the scorer, the score in [0, 1] (higher is \
better; null when the file could not be scored, with the reason), and the scorer's native value. With \
--output, rows are appended and flushed as they finish, and a rerun skips the files already scored \
there. Exit codes: 0 every file scored; 3 some could not be (reasons in the output); 1 could not run; \
2 bad command line.";

#[derive(Args, Debug)]
pub struct QualityArgs {
    /// Files, directories (walked recursively) or glob patterns ("gen/**/*.png"; quote them).
    #[arg(value_name = "PATH", required_unless_present = "list")]
    pub paths: Vec<String>,
    /// List the registered scorers (name, modality, default, what it measures) and exit.
    #[arg(long)]
    pub list: bool,
    /// Scorers to run, by name (repeat or comma-separate) [default: the default set of each
    /// file's modality].
    #[arg(long = "scorer", value_name = "NAME", value_delimiter = ',')]
    pub scorers: Vec<String>,
    /// Treat every file as this modality instead of reading it from the extension.
    #[arg(long, value_name = "MODALITY", value_parser = parse_modality)]
    pub modality: Option<Modality>,
    #[arg(long, value_enum, default_value_t = crate::quality::output::QualityFormat::Table)]
    pub format: crate::quality::output::QualityFormat,
    /// Append rows to this file (json or csv) instead of stdout; a rerun skips what it holds.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Files scored at once [default: the number of CPU cores].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub run: MediaRunArgs,
}

const BENCH_HELP: &str = "Each file is timed on its own (decoding included, as `quality` scores it); \
the scorers use every core inside. Throughput is the file's work over its median time; the totals divide \
each scorer's summed work by its summed medians. The export files are rewritten after every result, so \
an interrupted bench keeps what it measured. Exit codes: 0 every file timed; 3 some could not be scored \
(the reasons are printed and exported); 1 could not run; 2 bad command line.";

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Files, directories (walked recursively) or glob patterns ("gen/**/*.wav"; quote them).
    #[arg(value_name = "PATH", required_unless_present = "judge")]
    pub paths: Vec<String>,
    /// Time a judge model instead of quality scorers: prefill tokens/s at --prompt-tokens and
    /// judgements/s over a built-in set of 8 judgements rated as `score` rates them (shared
    /// prompt cached once; one judgement per pass on CPU, up to 8 on GPU).
    #[arg(long, value_name = "CARD", conflicts_with_all = ["scorers", "modality"])]
    pub judge: Option<String>,
    /// Prompt lengths the judge's prefill is timed at.
    #[arg(long, value_name = "N", value_delimiter = ',', default_value = "64,256,512", requires = "judge")]
    pub prompt_tokens: Vec<usize>,
    /// With --judge: write the token ids of every timed pass as JSON, for replaying the same
    /// work in another runtime (scripts/bench-judge-ratio.sh replays it in llama.cpp).
    #[arg(long, value_name = "FILE", requires = "judge")]
    pub export_workload: Option<PathBuf>,
    /// Scorers to time, by name (repeat or comma-separate) [default: the default set of each
    /// file's modality]; `omniscore quality --list` shows them.
    #[arg(long = "scorer", value_name = "NAME", value_delimiter = ',')]
    pub scorers: Vec<String>,
    /// Treat every file as this modality instead of reading it from the extension.
    #[arg(long, value_name = "MODALITY", value_parser = parse_modality)]
    pub modality: Option<Modality>,
    /// Timed runs per file and scorer (at least 1).
    #[arg(short, long, value_name = "N", default_value_t = 10,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub runs: usize,
    /// Untimed runs before them (file cache, lazily built tables, first-use allocations).
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    pub warmup: usize,
    /// Write every result, with each run's time, as JSON.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Write the results as a Markdown table.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Write the results as CSV, one row per file and scorer.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    #[command(flatten)]
    pub run: MediaRunArgs,
}

/// Where the models of `quality` and `caption` run and come from.
#[derive(Args, Debug)]
pub struct MediaRunArgs {
    /// Device for the models: auto, cpu, cuda[:N], metal.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceSpec,
    /// Extra folder to look for model files in first.
    #[arg(long, value_name = "DIR", env = "OMNISCORE_MODELS")]
    pub models: Option<PathBuf>,
    /// Never download a missing model; what needs it gives null (or is skipped) with the reason.
    #[arg(long)]
    pub offline: bool,
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

#[derive(Args, Debug)]
pub struct CaptionArgs {
    /// Files, directories (walked recursively) or glob patterns (quote them).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,
    /// The task's question: conditions the captions of models that take a prompt.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub question: String,
    /// Treat every file as this modality instead of reading it from the extension.
    #[arg(long, value_name = "MODALITY", value_parser = parse_modality)]
    pub modality: Option<Modality>,
    /// Speech-recognition card [default: whisper-tiny.en].
    #[arg(long, value_name = "CARD")]
    pub asr: Option<String>,
    /// Image-captioner card (blip-image-captioning-large, blip-image-captioning-base, moondream2)
    /// [default: none: images are described from their pixels].
    #[arg(long, value_name = "CARD")]
    pub captioner: Option<String>,
    #[arg(long, value_enum, default_value_t = crate::caption::command::CaptionFormat::Text)]
    pub format: crate::caption::command::CaptionFormat,
    #[command(flatten)]
    pub run: MediaRunArgs,
}

impl CaptionArgs {
    pub fn to_request(&self) -> crate::caption::command::CaptionRequest {
        crate::caption::command::CaptionRequest {
            paths: self.paths.clone(),
            modality: self.modality,
            question: self.question.clone(),
            asr: self.asr.clone(),
            captioner: self.captioner.clone(),
            format: self.format,
            device: self.run.device,
            models: self.run.models.clone(),
            offline: self.run.offline,
            progress: self.run.progress,
        }
    }
}

fn parse_modality(s: &str) -> Result<Modality, String> {
    Modality::parse_name(s).ok_or_else(|| format!("unknown modality '{s}' (image, audio, video, document, code, threeD, text)"))
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
    #[command(flatten)]
    pub local: LocalArgs,
}

/// The local models `score` runs where nothing is imported.
#[derive(Args, Debug)]
pub struct LocalArgs {
    /// Judge model card (`omniscore models list`) [default: the default judge, qwen2.5-coder-1.5b-instruct; smollm2-135m-instruct for quick smoke runs].
    #[arg(long, value_name = "CARD")]
    pub judge: Option<String>,
    /// Embedding model card for `--sc-mode embed|both` [default: all-minilm-l6-v2].
    #[arg(long, value_name = "CARD")]
    pub embedder: Option<String>,
    /// Run no judge: SC, HC and SH come only from imports (or the embedder with --sc-mode embed).
    #[arg(long)]
    pub no_judge: bool,
    /// Where SC comes from when no --import-sc is given: the judge, embedding similarity, or the
    /// judge with the embedding estimate stored beside it.
    #[arg(long, value_enum, default_value_t = ScMode::Judge)]
    pub sc_mode: ScMode,
    /// Device for the models: auto (CUDA, then Metal, then CPU), cpu, cuda, cuda:N or metal.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: DeviceSpec,
    /// Model store folder searched first (and where missing models are fetched to)
    /// [default: $OMNISCORE_MODELS, else the project's models/store].
    #[arg(long, value_name = "DIR", env = "OMNISCORE_MODELS")]
    pub models: Option<PathBuf>,
    /// Never download: a model that is not installed is an error that says how to fetch it.
    #[arg(long)]
    pub offline: bool,
    /// Longest judge prompt in tokens [default: the judge's context]; longer ones are cut by the
    /// stated rule (captions, then the response, then the question; never the reference).
    /// Bounds the time per judgement on a CPU.
    #[arg(long, value_name = "TOKENS")]
    pub judge_max_tokens: Option<usize>,
    /// Do not score generation quality locally: GQ comes only from --import-gq (or is null).
    /// Without it, every generated item is scored by its modality's default quality scorers
    /// (`omniscore quality --list`) unless a GQ file is imported.
    #[arg(long)]
    pub no_quality: bool,
    /// Do not caption media items: the judge sees them as bare placeholders. Without it, every
    /// media item of a response is turned into text first (speech transcribed, the signal
    /// described, ...); a captioner whose model is missing is skipped with its reason in the
    /// report.
    #[arg(long)]
    pub no_caption: bool,
    /// Speech-recognition model card for audio captions [default: whisper-tiny.en].
    #[arg(long, value_name = "CARD")]
    pub asr: Option<String>,
    /// Image-captioner card for images, video keyframes and 3D views [default:
    /// blip-image-captioning-large]; moondream2 is the stronger VLM for workstations.
    /// Without one installed, images are described from their pixels (size, brightness, colours).
    #[arg(long, value_name = "CARD")]
    pub captioner: Option<String>,
}

impl LocalArgs {
    pub fn to_request(&self) -> LocalModels {
        LocalModels {
            judge: self.judge.clone(),
            embedder: self.embedder.clone(),
            no_judge: self.no_judge,
            sc_mode: self.sc_mode,
            device: self.device,
            models_dir: self.models.clone(),
            offline: self.offline,
            judge_max_tokens: self.judge_max_tokens,
            quality: !self.no_quality,
            caption: !self.no_caption,
            asr: self.asr.clone(),
            captioner: self.captioner.clone(),
        }
    }
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
