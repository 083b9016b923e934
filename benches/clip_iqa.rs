//! `clip-iqa` throughput on CPU, in images per second: the full ViT-B/32 architecture (the
//! released checkpoint's shapes, random weights: the cost does not depend on the values and the
//! checkpoint cannot be fetched here) on 512x512 and 1920x1080 frames, one at a time and in a
//! batch of 16; and the preprocessing alone (Pillow-exact bicubic resize + centre crop to 224).

use std::time::Duration;

use candle_core::{DType, Device};
use candle_nn::{Init, VarBuilder, VarMap};
use criterion::{Criterion, Throughput};
use image::{Rgb, RgbImage};
use omniscore::quality::image::clip_iqa::{resize_crop, ClipIqa, Config};
use omniscore::quality::FrameScorer;
use tokenizers::Tokenizer;

/// The tiny fixture's CLIP tokenizer: its prompts' ids fit ViT-B/32's text vocabulary.
const TOKENIZER: &str = "tests/fixtures/clip_iqa/tiny/tokenizer.json";
const BATCH: usize = 16;

fn frame(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x * 3 + y * 5) % 256) as u8]))
}

fn vit_b32() -> ClipIqa {
    let cfg = Config::vit_base_patch32();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    // candle's ClipModel reads these two only when present; the rest it creates on demand.
    vb.get_with_hints((), "logit_scale", Init::Const(100f64.ln())).expect("logit_scale");
    vb.get_with_hints(cfg.vision.hidden_size, "vision_model.embeddings.class_embedding", Init::Randn { mean: 0.0, stdev: 1.0 })
        .expect("class_embedding");
    let tok = Tokenizer::from_file(TOKENIZER).expect("fixture tokenizer");
    ClipIqa::from_parts(vb, &cfg, &tok, &Device::Cpu).expect("scorer")
}

fn main() {
    let scorer = vit_b32();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("clip_iqa");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    for (name, w, h) in [("512x512", 512, 512), ("1920x1080", 1920, 1080)] {
        let one = frame(w, h);
        let many: Vec<RgbImage> = (0..BATCH).map(|_| one.clone()).collect();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("preprocess_{name}"), |b| b.iter(|| resize_crop(&one, 224)));
        group.bench_function(format!("vit_b32_{name}_single_cpu"), |b| b.iter(|| scorer.score_frame(&one).expect("score")));
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("vit_b32_{name}_batch{BATCH}_cpu"), |b| {
            b.iter(|| scorer.score_frames(&many).expect("score"))
        });
    }
    group.finish();
    c.final_summary();
}
