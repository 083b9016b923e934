//! Embedder throughput (sentences/s) on CPU: all-MiniLM-L6-v2 over batches of 32 distinct
//! sentences of about 20 words, the size of a short reference answer. Skipped, with the reason
//! printed, when the weights are not in the model store.

use std::path::PathBuf;
use std::time::Duration;

use candle_core::Device;
use criterion::{Criterion, Throughput};
use omniscore::embed::Embedder;

const MINILM_DIR: &str = "all-minilm-l6-v2";
const BATCH: usize = 32;
const WORDS: usize = 20;

const SUBJECTS: &[&str] = &[
    "The old fisherman",
    "A young student",
    "Our local council",
    "The research team",
];
const VERBS: &[&str] = &[
    "carefully repaired",
    "quickly described",
    "slowly rebuilt",
    "openly criticised",
];
const OBJECTS: &[&str] = &[
    "the wooden bridge",
    "a broken telescope",
    "the annual budget",
    "an ancient manuscript",
];
const TAILS: &[&str] = &[
    "before the heavy rain started falling over the quiet northern harbour town",
    "while everyone else waited patiently outside the crowded lecture hall downstairs",
    "after a long and rather heated discussion about costs and safety",
    "during the cold winter months when few visitors came to the valley",
];

/// 32 distinct sentences of about 20 words each.
fn sentences() -> Vec<String> {
    (0..BATCH)
        .map(|i| {
            let s = format!(
                "{} {} {} {}.",
                SUBJECTS[i % 4],
                VERBS[(i / 4) % 4],
                OBJECTS[(i / 16 + i) % 4],
                TAILS[(i / 2) % 4]
            );
            debug_assert!(s.split_whitespace().count().abs_diff(WORDS) <= 3, "{s}");
            s
        })
        .collect()
}

fn model_dir() -> PathBuf {
    match std::env::var_os("OMNISCORE_MODELS") {
        Some(dir) => PathBuf::from(dir).join(MINILM_DIR),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models/store")
            .join(MINILM_DIR),
    }
}

fn main() {
    let dir = model_dir();
    if !dir.join("model.safetensors").exists() {
        eprintln!(
            "SKIPPED embed bench: {} has no model.safetensors (run `omniscore models pull` to fetch it)",
            dir.display()
        );
        return;
    }
    let embedder = Embedder::load(&dir, &Device::Cpu).expect("load all-MiniLM-L6-v2");
    let texts = sentences();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("embed");
    group.throughput(Throughput::Elements(BATCH as u64));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15));
    group.bench_function("minilm_l6_cpu_batch32_20words", |b| {
        b.iter(|| embedder.embed(&refs).expect("embed"))
    });
    group.finish();
    c.final_summary();
}
