//! Whisper real-time factor on CPU: tiny.en transcribing one LibriVox clip (the longest of the
//! five, about 7 s of speech), and the log-mel front end alone on 30 s. RTF = processing time /
//! audio duration; below 1 is faster than real time. Printed as a plain line after criterion's
//! report. Skipped, with the reason printed, when the weights or tests/media are absent.

use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::Device;
use criterion::Criterion;
use omniscore::caption::mel::MelFrontEnd;
use omniscore::caption::whisper::{Transcriber, N_SAMPLES};
use omniscore::media::audio::decode_at;
use omniscore::runtime::card::find_card;
use omniscore::runtime::model_store::ModelStore;

const CARD: &str = "whisper-tiny.en";
const LIBRIVOX: &str = "tests/media/audio/librivox";
/// Runs timed for the printed RTF (median).
const RTF_RUNS: usize = 5;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mel = MelFrontEnd::new(80);
    let thirty_s: Vec<f32> = (0..N_SAMPLES).map(|i| (i as f32 * 0.01).sin() * 0.1).collect();
    c.bench_function("whisper/log_mel_30s_cpu", |b| b.iter(|| mel.log_mel(&thirty_s, N_SAMPLES)));

    let card = find_card(CARD).expect("built-in card");
    let files = match ModelStore::from_env().locate(&card) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("SKIPPED whisper bench: {e}");
            return;
        }
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(LIBRIVOX);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED whisper bench: {} is absent (run scripts/fetch-test-media.sh)", dir.display());
        return;
    };
    let audio = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .map(|p| decode_at(&p, 16_000).expect("decode a LibriVox clip"))
        .max_by(|a, b| a.samples.len().cmp(&b.samples.len()))
        .expect("LibriVox wavs");
    let mut model = Transcriber::load(&files, &Device::Cpu).expect("load whisper-tiny.en");
    let seconds = audio.duration_s();

    let mut group = c.benchmark_group("whisper");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.bench_function("tiny_en_cpu_librivox_clip", |b| b.iter(|| model.transcribe(&audio).expect("transcribe")));
    group.finish();
    c.final_summary();

    let mut times: Vec<f64> = (0..RTF_RUNS)
        .map(|_| {
            let t = Instant::now();
            model.transcribe(&audio).expect("transcribe");
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[RTF_RUNS / 2];
    println!(
        "whisper tiny.en CPU ({} threads): {seconds:.2} s of audio in {median:.3} s (median of {RTF_RUNS}): RTF {:.3}",
        candle_core::utils::get_num_threads(),
        median / seconds
    );
}
