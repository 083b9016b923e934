//! Judge throughput on this machine: prefill tokens/s of the decoder (256 tokens from an empty
//! cache) and judgements/s (batches of 8 over the cached shared prompt), for each judge card
//! installed: the default Qwen2.5-Coder-1.5B (Q4_K_M), the 0.5B and SmolLM2-135M. A card that
//! is not installed is skipped with the reason printed. The ratios to llama.cpp on the same
//! files come from scripts/bench-judge-ratio.sh (criterion cannot run llama.cpp in-process).

use candle_core::{quantized::gguf_file, Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::judge::llm::{Judge, MAX_BATCH};
use omniscore::judge::prompts::{Criterion as Rubric, JudgeInput};
use omniscore::nn::decoder::Decoder;
use omniscore::runtime::card::find_card;
use omniscore::runtime::model_store::ModelStore;
use std::time::Duration;

const PREFILL_TOKENS: usize = 256;

const CARDS: [&str; 3] = ["qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"];

fn judge_benches(c: &mut Criterion) {
    for card in CARDS {
        match ModelStore::from_env().locate(&find_card(card).unwrap()) {
            Ok(files) => bench_card(c, card, &files),
            Err(e) => eprintln!("judge bench for {card} skipped: {e}"),
        }
    }
}

fn bench_card(c: &mut Criterion, card: &str, files: &omniscore::runtime::model_store::ModelFiles) {
    let device = Device::Cpu;
    let gguf = files.files.values().find(|p| p.extension().is_some_and(|e| e == "gguf")).unwrap().clone();
    let mut f = std::fs::File::open(&gguf).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let decoder = Decoder::from_gguf(&content, &mut f, &device).unwrap();
    let ids: Vec<u32> = (0..PREFILL_TOKENS as u32).map(|i| 100 + (i * 37) % 20000).collect();
    let tokens = Tensor::new(ids.as_slice(), &device).unwrap().unsqueeze(0).unwrap();

    let mut group = c.benchmark_group(format!("judge/{card}"));
    group.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(PREFILL_TOKENS as u64));
    group.bench_function("prefill_256_tokens", |b| {
        b.iter(|| {
            let mut cache = decoder.new_cache();
            decoder.forward(&tokens, &mut cache, &[PREFILL_TOKENS - 1]).unwrap()
        })
    });

    let judge = Judge::load(files, &device).unwrap();
    let reference = "The excavator digs the foundation trench and loads the soil into a dump truck, while a worker behind it guides the operator with hand signals.";
    let candidates = [
        "The excavator is digging the trench for the foundation and putting the earth into a dump truck.",
        "The excavator digs the trench.",
        "A worker guides the excavator operator with hand signals while soil goes into a truck.",
        "The crane lifts steel beams onto the roof.",
        "The excavator is demolishing a wall.",
        "Soil is loaded into a truck by the excavator, which is digging the foundation.",
        "Nobody is working at the site.",
        "The <image2: an excavator next to a trench> shows the digging; <audio2: a worker calling out instructions> explains it.",
    ];
    let inputs: Vec<JudgeInput> = candidates
        .iter()
        .map(|c| JudgeInput { criterion: Rubric::Correctness, question: "What does the excavator do?", reference, candidate: c })
        .collect();
    assert_eq!(inputs.len(), MAX_BATCH);
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("judgements_batch_8", |b| b.iter(|| judge.rate(&inputs)));
    group.finish();
}

criterion_group!(benches, judge_benches);
criterion_main!(benches);
