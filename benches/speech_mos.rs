//! `speech-mos` (DistillMOS) throughput on CPU, in audio seconds per wall second: the network on
//! one LibriVox clip (7.1 s, one 7.68 s window, ~14 G multiply-adds) and on the same clip twice
//! over (14.2 s, 8 windows), decoding excluded. Skipped, with the reason printed, when the
//! weights or tests/media are absent.

use std::path::Path;
use std::time::Duration;

use candle_core::Device;
use criterion::{Criterion, Throughput};
use omniscore::media::audio;
use omniscore::quality::audio::speech_mos::{SpeechMos, CARD, WEIGHTS_FILE};
use omniscore::runtime::card::find_card;
use omniscore::runtime::model_store::ModelStore;

const CLIP: &str = "tests/media/audio/librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
const RATE: u32 = 16_000;

fn main() {
    let card = find_card(CARD).expect("built-in distillmos card");
    let weights = match ModelStore::from_env().locate(&card) {
        Ok(files) => files.path(WEIGHTS_FILE).expect("card file").to_path_buf(),
        Err(e) => {
            eprintln!("SKIPPED speech_mos bench: {e}");
            return;
        }
    };
    let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join(CLIP);
    if !clip.exists() {
        eprintln!("SKIPPED speech_mos bench: {} is absent (run scripts/fetch-test-media.sh)", clip.display());
        return;
    }
    let scorer = SpeechMos::from_checkpoint(&weights, &Device::Cpu).expect("load DistillMOS");
    let one = audio::decode_at(&clip, RATE).expect("decode").samples;
    let twice: Vec<f32> = one.iter().chain(&one).copied().collect();

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("speech_mos");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, samples) in [("librivox_7s_1window_cpu", &one), ("librivox_14s_8windows_cpu", &twice)] {
        // Throughput in audio milliseconds, so criterion's elements/s reads as ms of audio per s.
        group.throughput(Throughput::Elements((samples.len() as u64 * 1000) / RATE as u64));
        group.bench_function(name, |b| b.iter(|| scorer.score_samples(samples).expect("score")));
    }
    group.finish();
    c.final_summary();
}
