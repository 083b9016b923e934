//! `omniscore bench --judge CARD`: how fast a judge model runs here, in the two numbers that
//! decide a run's time: prefill tokens/s at given prompt lengths (one forward pass over N
//! tokens from an empty cache, logits of the last position, as llama.cpp's `eval` does) and
//! judgements/s over a fixed set of judgements rated the way `score` rates them (shared prefix
//! cached once, then each judgement as `Judge::rate` runs it). `--export-workload` writes the exact token ids so another
//! runtime can replay the same work (scripts/bench-judge-ratio.sh does, with llama.cpp).

use super::stats::Summary;
use crate::judge::llm::Judge;
use crate::judge::prompts::{Criterion, JudgeInput};
use crate::progress::{Progress, ProgressMode};
use candle_core::Tensor;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

pub struct JudgeBenchRequest {
    pub runs: usize,
    pub warmup: usize,
    pub prompt_tokens: Vec<usize>,
    pub progress: ProgressMode,
    pub export_json: Option<PathBuf>,
    /// Token ids of every timed pass, for replaying elsewhere.
    pub export_workload: Option<PathBuf>,
    /// The model file, named in the workload so the replay loads the same weights.
    pub model_file: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Timed {
    pub runs_s: Vec<f64>,
    pub time: Summary,
}

#[derive(Debug, Serialize)]
pub struct Prefill {
    pub tokens: usize,
    #[serde(flatten)]
    pub timed: Timed,
    pub tokens_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Judgements {
    pub count: usize,
    pub prefix_tokens: usize,
    pub item_tokens_mean: f64,
    #[serde(flatten)]
    pub timed: Timed,
    pub per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct StorageRow {
    pub file_type: String,
    pub held: String,
    pub shape: (usize, usize),
    pub matrices: usize,
    pub quantized_ms: f64,
    pub padded_ms: Option<f64>,
    pub dense_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct JudgeBenchReport {
    pub model: String,
    pub device: String,
    pub threads: usize,
    pub storage: Vec<StorageRow>,
    pub prefill: BTreeMap<String, Prefill>,
    pub judgements: Judgements,
}

/// Judgements of the built-in set: (criterion, question, reference, candidate). Lengths like
/// UniM's captioned answers: a few sentences each, correctness and interleaved criteria.
const ITEMS: [(Criterion, &str, &str, &str); 8] = [
    (Criterion::Correctness, "Why do leaves change colour in autumn?",
     "In autumn trees stop producing chlorophyll, so the green fades and the yellow and orange carotenoids already in the leaf become visible; some trees also make red anthocyanins.",
     "As days shorten, trees stop making chlorophyll; the green disappears and reveals the yellow and orange pigments that were there all along."),
    (Criterion::Correctness, "Describe the photo of the construction site.",
     "An excavator digs the foundation trench and loads soil into a dump truck while a worker behind it guides the operator with hand signals.",
     "<image: a yellow excavator lifting soil into a red dump truck on a muddy site, a worker in an orange vest raising one hand behind it> The excavator is loading earth from the trench into the truck while a worker signals."),
    (Criterion::Correctness, "What is the time complexity of binary search?",
     "Binary search halves the search interval at each step, so it takes O(log n) comparisons on a sorted array of n elements.",
     "It is O(n) because every element has to be checked once."),
    (Criterion::Correctness, "Explain what the audio clip contains.",
     "A woman reads a short weather forecast: rain in the morning, clearing by the afternoon, with highs around 18 degrees.",
     "<audio: a female voice says 'expect showers this morning, sunny spells later, top temperature eighteen degrees'> The clip is a weather report predicting morning rain and a dry afternoon."),
    (Criterion::Coherence, "Show how to make a paper airplane.",
     "",
     "Fold the sheet in half lengthwise and open it again. <image: a sheet of paper with a vertical crease down the middle> Then fold the top corners to the centre crease. <image: the two top corners folded into a point> Fold the new edges to the centre once more, fold the plane in half and fold down the wings."),
    (Criterion::Style, "Summarise the history of the printing press for a museum plaque.",
     "",
     "Around 1440 Johannes Gutenberg combined movable metal type, oil-based ink and a screw press. <image: a wooden hand press beside trays of metal type> lol and then books got super cheap and everyone could read stuff, pretty wild tbh."),
    (Criterion::Coherence, "Present the results of the survey on commuting.",
     "",
     "As the chart above shows, most people cycle. <image: a pie chart, 52% car, 23% public transport, 15% cycling, 10% walking> In conclusion, we surveyed 400 commuters. Therefore nobody drives to work."),
    (Criterion::Correctness, "What causes tides?",
     "Tides are caused mainly by the Moon's gravity pulling on the oceans, with a smaller contribution from the Sun; the Earth's rotation carries each place through two bulges a day.",
     ""),
];

/// Prose the prefill inputs are cut from (repeated as needed).
const PREFILL_TEXT: &str = "The evaluation suite scores any-to-any multimodal answers. Every non-text item is first turned into a dense caption conditioned on the task, then a language model rates the answer against the reference for semantic correctness and, for interleaved answers, for coherence and stylistic harmony. Quality scorers give each generated image, clip, video, document, program and mesh a no-reference score, and the pieces are combined per field, domain and difficulty. ";

pub fn run(judge: &Judge, req: &JudgeBenchRequest, out: &mut dyn Write) -> anyhow::Result<JudgeBenchReport> {
    let decoder = judge.decoder();
    let device = decoder.device().clone();
    let threads = candle_core::utils::get_num_threads();
    writeln!(out, "judge {} on {device:?}, {threads} threads", judge.name())?;
    let storage: Vec<StorageRow> = decoder
        .storage()
        .iter()
        .map(|c| StorageRow {
            file_type: format!("{:?}", c.file_dtype),
            held: match c.held {
                crate::nn::decoder::Held::Quantized => format!("{:?}", c.held_dtype),
                crate::nn::decoder::Held::QuantizedPadded => format!("{:?}, padded to 256", c.held_dtype),
                crate::nn::decoder::Held::DenseF32 => "f32".into(),
            },
            shape: c.shape,
            matrices: c.matrices,
            quantized_ms: c.quantized.as_secs_f64() * 1e3,
            padded_ms: c.padded.map(|d| d.as_secs_f64() * 1e3),
            dense_ms: c.dense.map(|d| d.as_secs_f64() * 1e3),
        })
        .collect();
    for s in &storage {
        let ms = |t: Option<f64>| t.map(|d| format!("{d:.1} ms")).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  storage {:>5} {:>6}x{:<6} x{:<3} held as {:<20} (quantized {:.1} ms, padded {}, f32 {})",
            s.file_type, s.shape.0, s.shape.1, s.matrices, s.held, s.quantized_ms, ms(s.padded_ms), ms(s.dense_ms)
        )?;
    }

    let text_ids = judge
        .tokenizer()
        .encode(PREFILL_TEXT, false)
        .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?
        .get_ids()
        .to_vec();
    let inputs: Vec<JudgeInput> = ITEMS
        .iter()
        .map(|&(criterion, question, reference, candidate)| JudgeInput { criterion, question, reference, candidate })
        .collect();
    let items: Vec<Vec<u32>> = inputs.iter().map(|i| judge.item_ids(i)).collect::<Result<_, _>>()?;

    let passes = (req.prompt_tokens.len() + 1) * (req.warmup + req.runs);
    let mut progress = Progress::new(req.progress, "bench judge", passes as u64);
    let mut prefill = BTreeMap::new();
    let mut workload_prefill = BTreeMap::new();
    for &n in &req.prompt_tokens {
        if n == 0 || n > decoder.context_length() {
            anyhow::bail!("--prompt-tokens {n}: must be 1..={} (the model's context)", decoder.context_length());
        }
        let ids: Vec<u32> = text_ids.iter().copied().cycle().take(n).collect();
        let tokens = Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?;
        let timed = time_runs(req, &mut progress, || {
            let mut cache = decoder.new_cache();
            decoder.forward(&tokens, &mut cache, &[n - 1])?.to_vec2::<f32>()?;
            Ok(())
        })?;
        let tokens_per_s = n as f64 / timed.time.median;
        prefill.insert(n.to_string(), Prefill { tokens: n, timed, tokens_per_s });
        workload_prefill.insert(n.to_string(), ids);
    }
    let judged = time_runs(req, &mut progress, || {
        for r in judge.rate(&inputs) {
            r?;
        }
        Ok(())
    })?;
    progress.finish();
    let judgements = Judgements {
        count: inputs.len(),
        prefix_tokens: judge.prefix_tokens(),
        item_tokens_mean: items.iter().map(Vec::len).sum::<usize>() as f64 / items.len() as f64,
        per_s: inputs.len() as f64 / judged.time.median,
        timed: judged,
    };
    for p in prefill.values() {
        writeln!(out, "  prefill {:>5} tokens: median {:.3} s, {:.1} tokens/s", p.tokens, p.timed.time.median, p.tokens_per_s)?;
    }
    writeln!(
        out,
        "  judgements: {} (shared prefix {} tokens cached, items {:.0} tokens on average): median {:.3} s, {:.2} judgements/s",
        judgements.count, judgements.prefix_tokens, judgements.item_tokens_mean, judgements.timed.time.median, judgements.per_s
    )?;
    let report = JudgeBenchReport {
        model: judge.name().to_string(),
        device: format!("{device:?}"),
        threads,
        storage,
        prefill,
        judgements,
    };
    if let Some(path) = &req.export_json {
        write_json(path, &report)?;
    }
    if let Some(path) = &req.export_workload {
        let workload = serde_json::json!({
            "model": judge.name(),
            "gguf": req.model_file,
            "prefill": workload_prefill,
            "prefix": judge.prefix_ids(),
            "items": items,
        });
        write_json(path, &workload)?;
    }
    Ok(report)
}

fn time_runs(req: &JudgeBenchRequest, progress: &mut Progress, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Timed> {
    for _ in 0..req.warmup {
        f()?;
        progress.inc();
    }
    let mut runs_s = Vec::with_capacity(req.runs);
    for _ in 0..req.runs {
        let start = Instant::now();
        f()?;
        runs_s.push(start.elapsed().as_secs_f64());
        progress.inc();
    }
    let time = Summary::of(&runs_s).ok_or_else(|| anyhow::anyhow!("no timed runs"))?;
    Ok(Timed { runs_s, time })
}

fn write_json(path: &PathBuf, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
}
