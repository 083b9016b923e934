use clap::Parser;
use omniscore::cases::Inputs;
use omniscore::cli::{Cli, Command, InputArgs, StructureArgs, StructureFormat};
use omniscore::pipeline::{self, ImportFiles, Outcome, ScoreRequest, SHOWN_PROBLEMS};
use omniscore::problem::Problem;
use omniscore::progress::ProgressMode;
use omniscore::units::StructureUnit;
use std::io::Write;
use std::process::ExitCode;

/// Scored, but the input had problems.
const EXIT_PROBLEMS: u8 = 3;
/// Could not run.
const EXIT_FAILED: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn inputs(a: &InputArgs) -> Inputs {
    Inputs {
        ground_truth: a.ground_truth.clone(),
        responses: a.responses.clone(),
        media_root: a.media_root.clone(),
        max_record_bytes: (a.max_instance_mib as usize) << 20,
    }
}

fn show_problems(problems: &[Problem], total: usize, where_all: &str) {
    for p in problems.iter().take(SHOWN_PROBLEMS) {
        eprintln!("warning: {p}");
    }
    if total > SHOWN_PROBLEMS {
        eprintln!("warning: ... {} more problems; all are in {where_all}", total - SHOWN_PROBLEMS);
    }
}

fn exit_for(problems: usize) -> ExitCode {
    if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PROBLEMS)
    }
}

fn finish_report(outcome: &Outcome) -> ExitCode {
    let report_json = outcome.reports.first().map(|p| p.display().to_string()).unwrap_or_default();
    show_problems(&outcome.first_problems, outcome.problems, &report_json);
    let files: Vec<String> = outcome.reports.iter().map(|p| p.display().to_string()).collect();
    eprintln!(
        "{} instances, {} problems, {} new units stored; wrote {}",
        outcome.instances,
        outcome.problems,
        outcome.units_written,
        files.join(", ")
    );
    exit_for(outcome.problems)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Score(a) => {
            let req = ScoreRequest {
                inputs: inputs(&a.input),
                imports: ImportFiles { sc: a.import_sc, gq: a.import_gq, ics: a.import_ics, sc_scale: a.sc_scale },
                composition: a.composition.resolve(None),
                out: a.out,
                strict: a.input.strict,
                progress: a.input.progress,
                local: Some(a.local.to_request()),
            };
            let outcome = pipeline::score(&req)?;
            Ok(finish_report(&outcome))
        }
        Command::Report(a) => {
            let outcome = pipeline::rerender(&a.out, |stored| a.composition.resolve(Some(stored)))?;
            Ok(finish_report(&outcome))
        }
        Command::Structure(a) => structure(a),
        Command::Models(a) => {
            let all_ok = omniscore::runtime::commands::run(&a, ProgressMode::Auto)?;
            Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) })
        }
        Command::Quality(a) => {
            if a.list {
                print!("{}", omniscore::quality::command::list());
                return Ok(ExitCode::SUCCESS);
            }
            let summary = omniscore::quality::command::run(&a)?;
            let mut note = format!("{} rows, {} without a score", summary.rows, summary.unscored);
            if summary.skipped_done > 0 {
                note.push_str(&format!(", {} already in the output (skipped)", summary.skipped_done));
            }
            if summary.not_handled > 0 {
                note.push_str(&format!(", {} files no requested scorer handles", summary.not_handled));
            }
            eprintln!("{note}");
            Ok(exit_for(summary.unscored))
        }
        Command::Bench(a) => bench(a),
        Command::Caption(a) => {
            let summary = omniscore::caption::command::run(&a.to_request(), &mut std::io::stdout().lock())?;
            eprintln!("{} files, {} without a caption", summary.files, summary.uncaptioned);
            Ok(exit_for(summary.uncaptioned))
        }
        Command::Doctor => {
            print!("{}", omniscore::doctor::report());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bench(a: omniscore::cli::BenchArgs) -> anyhow::Result<ExitCode> {
    use omniscore::bench::{self, export::ExportFormat, BenchRequest};
    if let Some(card) = &a.judge {
        return bench_judge(card, &a);
    }
    use omniscore::quality::{discover::discover, ScorerContext};
    let exports = [
        (a.export_json, ExportFormat::Json),
        (a.export_markdown, ExportFormat::Markdown),
        (a.export_csv, ExportFormat::Csv),
    ]
    .into_iter()
    .filter_map(|(path, format)| path.map(|p| (p, format)))
    .collect();
    let req = BenchRequest {
        found: discover(&a.paths, a.modality),
        scorers: a.scorers,
        ctx: ScorerContext {
            device: omniscore::runtime::device::open(a.run.device)?,
            store: omniscore::runtime::model_store::ModelStore::new(a.run.models),
            offline: a.run.offline,
            progress: a.run.progress,
        },
        runs: a.runs,
        warmup: a.warmup,
        progress: a.run.progress,
        exports,
    };
    let report = bench::run(&req, &mut std::io::stdout().lock())?;
    let failed = report.results.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        eprintln!("{failed} of {} files and scorers could not be timed (reasons above)", report.results.len());
    }
    Ok(exit_for(failed))
}

fn bench_judge(card: &str, a: &omniscore::cli::BenchArgs) -> anyhow::Result<ExitCode> {
    use omniscore::bench::judge::{run, JudgeBenchRequest};
    use omniscore::runtime::{card::find_card, model_store::ModelStore};
    if a.export_markdown.is_some() || a.export_csv.is_some() {
        anyhow::bail!("--judge: only --export-json and --export-workload are supported");
    }
    let card = find_card(card)?;
    let store = ModelStore::new(a.run.models.clone());
    let files = if a.run.offline { store.locate(&card)? } else { store.locate_or_pull(&card, a.run.progress)? };
    let device = omniscore::runtime::device::open(a.run.device)?;
    let start = std::time::Instant::now();
    let judge = omniscore::judge::llm::Judge::load(&files, &device).map_err(|e| anyhow::anyhow!("model {}: {e}", card.name))?;
    eprintln!("loaded {} in {:.1} s", card.name, start.elapsed().as_secs_f64());
    let model_file = files.files.values().find(|p| p.extension().is_some_and(|e| e == "gguf")).cloned();
    let req = JudgeBenchRequest {
        runs: a.runs,
        warmup: a.warmup,
        prompt_tokens: a.prompt_tokens.clone(),
        progress: a.run.progress,
        export_json: a.export_json.clone(),
        export_workload: a.export_workload.clone(),
        model_file,
    };
    run(&judge, &req, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

fn tags(t: impl IntoIterator<Item = impl ToString>) -> String {
    t.into_iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
}

fn structure(a: StructureArgs) -> anyhow::Result<ExitCode> {
    let (units, run_problems) = pipeline::structure(&inputs(&a.input), a.input.strict, a.input.progress)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        StructureFormat::Table => {
            writeln!(out, "{:<12} {:>8} {:>8}  {:<28} {}", "id", "StS", "LeS", "ground truth", "response")?;
            for u in &units {
                writeln!(
                    out,
                    "{:<12} {:>8} {:>8}  {:<28} {}",
                    u.id,
                    fmt4(u.sts),
                    fmt4(u.les),
                    tags(&u.gt_items),
                    if u.responded { tags(u.items.iter().map(|i| i.tag)) } else { "(no response)".into() }
                )?;
            }
            let mean = |f: fn(&StructureUnit) -> Option<f64>| {
                let v: Vec<f64> = units.iter().filter_map(f).collect();
                (!v.is_empty()).then(|| 100.0 * v.iter().sum::<f64>() / v.len() as f64)
            };
            writeln!(
                out,
                "mean over {} responded instances: StS {}, LeS {} (0-100)",
                units.iter().filter(|u| u.responded).count(),
                mean(|u| u.sts).map(|x| format!("{x:.2}")).unwrap_or("-".into()),
                mean(|u| u.les).map(|x| format!("{x:.2}")).unwrap_or("-".into()),
            )?;
        }
        StructureFormat::Csv => {
            writeln!(out, "id,sts,les")?;
            for u in &units {
                let c = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
                writeln!(out, "{},{},{}", u.id, c(u.sts), c(u.les))?;
            }
        }
        StructureFormat::Jsonl => {
            for u in &units {
                serde_json::to_writer(&mut out, u)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    let mut problems = run_problems;
    problems.extend(units.iter().flat_map(|u| u.problems.iter().cloned()));
    show_problems(&problems, problems.len(), "the jsonl output (--format jsonl)");
    Ok(exit_for(problems.len()))
}

fn fmt4(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}
