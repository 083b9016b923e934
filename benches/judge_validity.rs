//! Does the judge's rating mean something? For every judge card installed (or those named in
//! OMNISCORE_JUDGES, comma-separated), on the committed fixtures:
//! - tests/fixtures/graded_pairs.json: candidates at six intended levels (paraphrase, minor
//!   omission, half, contradiction, unrelated, empty), derived from one paraphrase so levels
//!   differ in content, not wording. Prints SC's Spearman with the level and SC's mean per level.
//! - tests/fixtures/coherence_pairs.json: a coherent interleaved answer, the same sentences made
//!   incoherent, and the answer switching style half-way. Prints HC and SH means for each and
//!   how often the intact answer is rated above its broken twin.
//! `cargo bench --bench judge_validity` (a minute or two per 1.5B card on 2 cores); results also
//! go to target/judge-validity.json. Under `cargo test` it only checks the fixtures parse.

#[path = "../tests/common/mod.rs"]
mod common;
use common::spearman;

use omniscore::judge::llm::Judge;
use omniscore::judge::prompts::{Criterion, JudgeInput};
use omniscore::runtime::card::{builtin_cards, Role};
use omniscore::runtime::model_store::ModelStore;
use serde::Deserialize;
use std::time::Instant;

const LEVELS: [&str; 6] = ["paraphrase", "minor omission", "half", "contradiction", "unrelated", "empty"];

#[derive(Deserialize)]
struct Graded {
    domain: String,
    question: String,
    reference: String,
    levels: Vec<String>,
}

#[derive(Deserialize)]
struct Coherence {
    question: String,
    answer: String,
    incoherent: String,
    style_switch: String,
}

fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn rate(judge: &Judge, inputs: &[JudgeInput]) -> Vec<f64> {
    judge.rate(inputs).into_iter().map(|r| r.map(|r| r.distribution.unit()).unwrap_or(f64::NAN)).collect()
}

fn evaluate(judge: &Judge, graded: &[Graded], coherence: &[Coherence]) -> serde_json::Value {
    let start = Instant::now();
    let sc_inputs: Vec<JudgeInput> = graded
        .iter()
        .flat_map(|g| {
            g.levels.iter().map(move |c| JudgeInput { criterion: Criterion::Correctness, question: &g.question, reference: &g.reference, candidate: c })
        })
        .collect();
    let sc = rate(judge, &sc_inputs);
    let level: Vec<f64> = graded.iter().flat_map(|g| (0..g.levels.len()).map(|l| -(l as f64))).collect();
    let rho = spearman(&sc, &level);
    let per_level: Vec<f64> = (0..LEVELS.len()).map(|l| mean(&sc.iter().skip(l).step_by(LEVELS.len()).copied().collect::<Vec<_>>())).collect();
    let monotone = per_level.windows(2).all(|w| w[0] >= w[1]);
    let mut domains: Vec<&str> = graded.iter().map(|g| g.domain.as_str()).collect();
    domains.sort();
    domains.dedup();

    let variants = |c: &Coherence| [c.answer.clone(), c.incoherent.clone(), c.style_switch.clone()];
    let texts: Vec<(String, [String; 3])> = coherence.iter().map(|c| (c.question.clone(), variants(c))).collect();
    let mut out = serde_json::Map::new();
    for criterion in [Criterion::Coherence, Criterion::Style] {
        let inputs: Vec<JudgeInput> = texts
            .iter()
            .flat_map(|(q, v)| v.iter().map(move |c| JudgeInput { criterion, question: q, reference: "", candidate: c }))
            .collect();
        let r = rate(judge, &inputs);
        let col = |k: usize| r.iter().skip(k).step_by(3).copied().collect::<Vec<_>>();
        let (intact, incoherent, switched) = (col(0), col(1), col(2));
        let above = |broken: &[f64]| intact.iter().zip(broken).filter(|(a, b)| a > b).count() as f64 / intact.len() as f64;
        out.insert(
            criterion.name().into(),
            serde_json::json!({
                "mean_intact": mean(&intact), "mean_incoherent": mean(&incoherent), "mean_style_switch": mean(&switched),
                "intact_above_incoherent": above(&incoherent), "intact_above_style_switch": above(&switched),
            }),
        );
    }
    let secs = start.elapsed().as_secs_f64();
    let judgements = sc_inputs.len() + 2 * 3 * coherence.len();
    serde_json::json!({
        "model": judge.name(),
        "pairs": sc.len(), "sets": graded.len(), "domains": domains,
        "sc_spearman": rho, "sc_level_means": LEVELS.iter().zip(&per_level).map(|(n, m)| (n.to_string(), serde_json::json!(m))).collect::<serde_json::Map<_, _>>(),
        "sc_monotone": monotone,
        "coherence": out["coherence"], "style": out["style"],
        "judgements": judgements, "seconds": secs, "judgements_per_s": judgements as f64 / secs,
    })
}

fn print(r: &serde_json::Value) {
    println!("{}: {} graded pairs over {} domains", r["model"].as_str().unwrap(), r["pairs"], r["domains"].as_array().unwrap().len());
    println!("  SC Spearman with the level: {:.3} (level means {}monotone)", r["sc_spearman"].as_f64().unwrap(), if r["sc_monotone"].as_bool().unwrap() { "" } else { "NOT " });
    for name in LEVELS {
        println!("    {name:<15} {:.3}", r["sc_level_means"][name].as_f64().unwrap());
    }
    for c in ["coherence", "style"] {
        let v = &r[c];
        println!(
            "  {c:<9}: intact {:.3}, incoherent {:.3}, style switch {:.3}; intact rated higher than incoherent in {:.0}%, than style switch in {:.0}%",
            v["mean_intact"].as_f64().unwrap(), v["mean_incoherent"].as_f64().unwrap(), v["mean_style_switch"].as_f64().unwrap(),
            100.0 * v["intact_above_incoherent"].as_f64().unwrap(), 100.0 * v["intact_above_style_switch"].as_f64().unwrap()
        );
    }
    println!("  {} judgements in {:.0} s ({:.2}/s)", r["judgements"], r["seconds"].as_f64().unwrap(), r["judgements_per_s"].as_f64().unwrap());
}

fn main() {
    let graded: Vec<Graded> = fixture("graded_pairs.json");
    let coherence: Vec<Coherence> = fixture("coherence_pairs.json");
    assert!(graded.iter().all(|g| g.levels.len() == LEVELS.len()), "every graded set has {} levels", LEVELS.len());
    if !std::env::args().any(|a| a == "--bench") {
        println!("judge_validity: fixtures parse ({} graded sets, {} coherence sets); run `cargo bench --bench judge_validity` to rate them", graded.len(), coherence.len());
        return;
    }
    let wanted: Option<Vec<String>> = std::env::var("OMNISCORE_JUDGES").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let store = ModelStore::from_env();
    let device = candle_core::Device::Cpu;
    let mut results = Vec::new();
    for card in builtin_cards().into_iter().filter(|c| c.role == Role::Judge) {
        if wanted.as_ref().is_some_and(|w| !w.contains(&card.name)) {
            continue;
        }
        let files = match store.locate(&card) {
            Ok(f) => f,
            Err(e) => {
                println!("{}: skipped, not installed ({e})", card.name);
                continue;
            }
        };
        let judge = Judge::load(&files, &device).unwrap_or_else(|e| panic!("{}: {e}", card.name));
        let r = evaluate(&judge, &graded, &coherence);
        print(&r);
        results.push(r);
    }
    let path = format!("{}/target/judge-validity.json", env!("CARGO_MANIFEST_DIR"));
    if std::fs::write(&path, serde_json::to_string_pretty(&results).unwrap()).is_ok() {
        println!("results: {path}");
    }
}
