//! "audio-signal" throughput: audio seconds scored per wall second, from the file path (decoding
//! included, as the Python reference does) and from decoded samples (scoring alone), on the
//! LibriVox clips (16 kHz mono wav) and aud2.mp3 (48 kHz stereo mp3, 41 s).
//!
//!     cargo bench --bench quality_audio
//!     python3 scripts/bench_reference_audio.py tests/media/audio/librivox/*.wav \
//!         /work/shared/data/quality-pairs/aud2.mp3
//!
//! Criterion's throughput is set to the clip's length in milliseconds, so its "Kelem/s" figure
//! is audio seconds per wall second. "stage-*" entries split one clip of each kind into decode,
//! loudness, spectral analysis and clipping, to show where the time goes.
//!
//! Measured 2026-11-22 at 209e0e6 (shared 2-core box, `scripts/bench-audio-ratio.sh 5`:
//! `omniscore bench` and scripts/bench_reference_audio.py in alternating rounds; medians over
//! rounds): LibriVox clips 0.54-1.13 ms per clip from the file, 147-174x the Python
//! reproduction of the official approach; aud2 as a 48 kHz WAV 14-15 ms, 57-74x; aud2.mp3
//! 65 ms, 18.5x, most of it MP3 decoding (chunked over both cores; ffmpeg's decoder alone takes
//! 85-96 ms of one core for this file). Stages on LibriVox 0870 (7.1 s): decode 0.07 ms (PCM
//! WAV fast path), loudness 0.46 ms, spectral 0.73 ms, clipping 0.17 ms. Before the stop-9
//! rewrite (48 kHz upsampling for the loudness meter, complex FFTs, symphonia for WAV, one MP3
//! decoder): 2.9-6.9 ms per LibriVox clip (17-26x), aud2 125 ms.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use omniscore::media::audio;
use omniscore::quality::audio::{loudness, signal, spectral};
use omniscore::quality::{registry, ScorerContext};
use std::path::PathBuf;
use std::time::Duration;

fn files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join("tests/media/audio/librivox"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "wav")).collect())
        .unwrap_or_default();
    out.sort();
    if out.is_empty() {
        println!("skipped: LibriVox clips absent (run scripts/fetch-test-media.sh)");
    }
    let pairs = std::env::var_os("OMNISCORE_QUALITY_PAIRS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data/quality-pairs"));
    let aud2 = pairs.join("aud2.mp3");
    if aud2.exists() {
        out.push(aud2);
    } else {
        println!("skipped: {} absent (set OMNISCORE_QUALITY_PAIRS)", aud2.display());
    }
    out
}

fn bench(c: &mut Criterion) {
    let scorer = registry::build(signal::NAME, &ScorerContext::cpu()).unwrap();
    let mut group = c.benchmark_group("audio-signal");
    group.sample_size(40).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    for path in files() {
        let decoded = audio::decode(&path).unwrap();
        let audio_ms = (decoded.duration_s() * 1000.0).round() as u64;
        let name = path.file_stem().unwrap().to_string_lossy().replace("sense_and_sensibility_01_austen_64kb-", "librivox-");
        group.throughput(Throughput::Elements(audio_ms));
        group.bench_with_input(BenchmarkId::new("file", &name), &path, |b, p| {
            b.iter(|| scorer.score_path(p).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("samples", &name), &decoded, |b, a| {
            b.iter(|| signal::score_samples(&a.samples, a.sample_rate, a.source_channels))
        });
        // Where the time goes, on one clip of each kind.
        if name.ends_with("0870") || name == "aud2" {
            group.bench_with_input(BenchmarkId::new("stage-decode", &name), &path, |b, p| {
                b.iter(|| audio::decode(p).unwrap())
            });
            group.bench_with_input(BenchmarkId::new("stage-loudness", &name), &decoded, |b, a| {
                b.iter(|| loudness::integrated_loudness(&a.samples, a.sample_rate))
            });
            group.bench_with_input(BenchmarkId::new("stage-spectral", &name), &decoded, |b, a| {
                b.iter(|| spectral::analyse(&a.samples, a.sample_rate, 0.0))
            });
            group.bench_with_input(BenchmarkId::new("stage-clipping", &name), &decoded, |b, a| {
                b.iter(|| signal::clipping_ratio(&a.samples))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
