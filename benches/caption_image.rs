//! Image captioning throughput on tiny random-weight checkpoints of the real architectures
//! (shape cost: preprocessing, the vision pass, the batched greedy loop; not model quality):
//! BLIP (32-wide, 2+2 layers, 32 px) and moondream2 (1152-wide single vision block, 28 px,
//! 32-wide 2-layer Phi), batch 1 and 8, at most 20 new tokens per image, on CPU. Criterion
//! reports elements/s = captions/s; the tokens actually generated per batch are printed so the
//! figures can be read per token as well.

use candle_core::Device;
use criterion::{BenchmarkId, Criterion, Throughput};
use image::{Rgb, RgbImage};
use omniscore::caption::blip::{self, BlipCaptioner};
use omniscore::caption::image::{Generation, ImageCaptioner};
use omniscore::caption::vlm::{self, MoondreamCaptioner, VlmConfig};

const BATCHES: [usize; 2] = [1, 8];
const MAX_NEW_TOKENS: usize = 20;
const SEED: u64 = 11;
/// The tests' moondream seed (one whose answers depend on the image).
const MOONDREAM_SEED: u64 = 3;
const QUESTION: &str = "What is the man holding near the car?";
/// Input images are larger than the models' inputs, so the resize is part of the cost.
const SIDE: u32 = 256;

fn images(n: usize) -> Vec<RgbImage> {
    (0..n)
        .map(|i| RgbImage::from_fn(SIDE, SIDE, |x, y| Rgb([(x + i as u32 * 40) as u8, y as u8, ((x * y) % 251) as u8])))
        .collect()
}

fn bench(c: &mut Criterion, name: &str, captioner: &dyn ImageCaptioner, tokens: &dyn Fn(&[RgbImage]) -> usize) {
    let mut group = c.benchmark_group(format!("caption_image/{name}"));
    for batch in BATCHES {
        let ims = images(batch);
        println!("{name} batch {batch}: {} tokens generated per call", tokens(&ims));
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("batch", batch), &ims, |b, ims| {
            b.iter(|| captioner.caption_batch(ims, Some(QUESTION)).expect("caption"))
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let dev = Device::Cpu;
    let generation = Generation { max_new_tokens: MAX_NEW_TOKENS, batch_size: *BATCHES.iter().max().unwrap() };

    let (w, t) = blip::write_random_checkpoint(dir.path(), &blip::tiny_config(), SEED).expect("tiny blip");
    let mut b = BlipCaptioner::from_paths("tiny-blip", &w, &t, blip::tiny_config(), &dev).expect("load tiny blip");
    b.set_generation(generation).expect("generation");
    let count = |ims: &[RgbImage]| b.generate_ids(ims, Some(QUESTION)).unwrap().tokens.iter().map(Vec::len).sum();
    bench(&mut c, "blip-tiny", &b, &count);

    let vdir = dir.path().join("moondream");
    std::fs::create_dir_all(&vdir).expect("temp dir");
    let (w, t) = vlm::write_random_checkpoint(&vdir, &VlmConfig::tiny(), MOONDREAM_SEED).expect("tiny moondream");
    let mut m = MoondreamCaptioner::from_paths("tiny-moondream", &w, &t, VlmConfig::tiny(), &dev).expect("load");
    m.set_generation(generation).expect("generation");
    let count = |ims: &[RgbImage]| m.generate_ids(ims, Some(QUESTION)).unwrap().1.iter().map(Vec::len).sum();
    bench(&mut c, "moondream2-tiny", &m, &count);
    c.final_summary();
}
