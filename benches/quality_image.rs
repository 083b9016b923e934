//! Image quality throughput (images/s) for NIQE and BRISQUE at 512x512 and 1920x1080, scoring
//! decoded RGB frames (decoding excluded, as in scripts/bench_reference_image.py), and the
//! ratio to the Python references measured in the same run.
//!
//!     OMNISCORE_BENCH_PYTHON=/tmp/iqa-venv/bin/python cargo bench --bench quality_image
//!
//! The images: astronaut.png (512x512) and motorcycle_left.png resized to 1920x1080 (Catmull-Rom)
//! from tests/media/images; both are written to $OMNISCORE_BENCH_DIR (default
//! /tmp/omniscore-bench-images) so that the Python references time the same pixels.
//!
//! Criterion entries: `scorer/<name>/<size>` is the registered frame scorer (`score_frame`:
//! grey conversion in quality/image/mod.rs, then `niqe` / `brisque` on a borrowed buffer);
//! `owned/<name>/<size>` is `resize::weighted_grey` then `niqe_on` / `brisque_on`, the entry
//! points that take the grey buffer by value and avoid its copy. After criterion, when
//! OMNISCORE_BENCH_PYTHON names a Python with the reference packages (see
//! tests/fixtures/image/make_reference.py), the bench times each entry again (median of
//! REPEATS), runs scripts/bench_reference_image.py on the same images, and prints the ratios.
//!
//! Measured 2026-11-22 on the shared 2-core box (Xeon 2.1 GHz, AVX-512; load average 2-3),
//! criterion medians, Python medians from the same run:
//!
//! | entry | 512x512 | 1920x1080 |
//! |---|---|---|
//! | scorer/niqe | 3.45 ms (290 img/s) | 19.5 ms (51.4 img/s) |
//! | owned/niqe | 2.49 ms (401 img/s) | 14.6 ms (68.7 img/s) |
//! | scorer/brisque | 2.54 ms (394 img/s) | 20.6 ms (48.6 img/s) |
//! | owned/brisque | 2.28 ms (438 img/s) | 20.5 ms (48.7 img/s) |
//! | python niqe (skvideo) | 68.9 ms (14.5 img/s) | 628 ms (1.59 img/s) |
//! | python brisque | 300 ms (3.33 img/s) | 2373 ms (0.42 img/s) |
//!
//! Ratios (scorer): NIQE 20x / 32x, BRISQUE 118x / 115x; the same-run re-timing printed
//! NIQE 25x / 26x (scorer) and 29x / 30x (owned). The code before this bench's rewrite, timed
//! in the same session: NIQE 21.1 ms / 154 ms, BRISQUE 19.8 ms / 150 ms per image.

use candle_core::Device;
use criterion::{criterion_group, Criterion, Throughput};
use image::RgbImage;
use omniscore::quality::image::{brisque, niqe, resize::weighted_grey};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Grey weights of the two scorers (as in quality/image/mod.rs): skvideo's BT.601 luma for
/// NIQE, skimage's rgb2gray for BRISQUE.
const NIQE_GREY: [f64; 3] = [0.2989, 0.5870, 0.1140];
const BRISQUE_GREY: [f64; 3] = [0.2125, 0.7154, 0.0721];
/// Timed runs per entry for the same-run comparison (after two warm-up runs).
const REPEATS: usize = 15;
const SCORERS: [&str; 2] = ["niqe", "brisque"];

fn bench_dir() -> PathBuf {
    std::env::var_os("OMNISCORE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/omniscore-bench-images"))
}

fn bench_images() -> Vec<(&'static str, RgbImage)> {
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/media/images");
    let load = |name: &str| omniscore::media::image::load_rgb(&media.join(name));
    let (small, large) = match (load("astronaut.png"), load("motorcycle_left.png")) {
        (Ok(small), Ok(moto)) => {
            let large = image::imageops::resize(&moto, 1920, 1080, image::imageops::CatmullRom);
            (small, large)
        }
        _ => {
            println!("tests/media/images is absent: timing synthetic textures instead");
            let texture = |w: u32, h: u32| {
                RgbImage::from_fn(w, h, |x, y| {
                    let v = ((x * 7 + y * 13) ^ (x * y)) as u8;
                    image::Rgb([v, v.wrapping_mul(3), 255 - v])
                })
            };
            (texture(512, 512), texture(1920, 1080))
        }
    };
    let out = bench_dir();
    std::fs::create_dir_all(&out).unwrap();
    small.save(out.join("bench_512x512.png")).unwrap();
    large.save(out.join("bench_1920x1080.png")).unwrap();
    vec![("512x512", small), ("1920x1080", large)]
}

/// One score through the owned-buffer entry points.
fn owned(scorer: &str, img: &RgbImage) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let cpu = Device::Cpu;
    match scorer {
        "niqe" => niqe::niqe_on(weighted_grey(img.as_raw(), NIQE_GREY), h, w, &cpu).unwrap(),
        _ => brisque::brisque_on(weighted_grey(img.as_raw(), BRISQUE_GREY), h, w, &cpu).unwrap(),
    }
}

fn image_quality(c: &mut Criterion) {
    let images = bench_images();
    let mut group = c.benchmark_group("quality_image");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for scorer in SCORERS {
        let s = omniscore::quality::image::frame_scorer(scorer).unwrap();
        for (size, img) in &images {
            group.bench_function(format!("scorer/{scorer}/{size}"), |b| {
                b.iter(|| s.score_frame(img).unwrap().raw.unwrap())
            });
            group.bench_function(format!("owned/{scorer}/{size}"), |b| {
                b.iter(|| owned(scorer, img))
            });
        }
    }
    group.finish();
}

fn median_seconds(mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

/// Times every entry again, runs the Python references on the same images right after, and
/// prints the ratios (medians of both).
fn same_run_comparison(python: &Path) {
    let images = bench_images();
    let mut ours = Vec::new();
    for scorer in SCORERS {
        let s = omniscore::quality::image::frame_scorer(scorer).unwrap();
        for (size, img) in &images {
            let scorer_s = median_seconds(|| {
                std::hint::black_box(s.score_frame(img).unwrap());
            });
            let owned_s = median_seconds(|| {
                std::hint::black_box(owned(scorer, img));
            });
            ours.push((scorer, *size, scorer_s, owned_s));
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_reference_image.py");
    let dir = bench_dir();
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(dir.join("bench_512x512.png"))
        .arg(dir.join("bench_1920x1080.png"))
        .output();
    let reference: Vec<serde_json::Value> = match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let last = text.lines().last().unwrap_or("[]");
            serde_json::from_str(last).unwrap_or_default()
        }
        Ok(out) => {
            println!(
                "python reference failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Vec::new()
        }
        Err(e) => {
            println!("python reference could not run ({}): {e}", python.display());
            Vec::new()
        }
    };
    println!("\nsame-run medians ({REPEATS} runs each; python: scripts/bench_reference_image.py)");
    println!("scorer   size        scorer ms  img/s   owned ms  img/s   python ms  img/s  ratio(scorer) ratio(owned)");
    for (scorer, size, scorer_s, owned_s) in ours {
        let py = reference
            .iter()
            .find(|r| r["scorer"] == scorer && r["size"] == size)
            .and_then(|r| r["median_s"].as_f64());
        let (py_ms, py_rate, r1, r2) = match py {
            Some(p) => (
                format!("{:9.1}", p * 1e3),
                format!("{:6.2}", 1.0 / p),
                format!("{:13.1}x", p / scorer_s),
                format!("{:11.1}x", p / owned_s),
            ),
            None => (
                "        -".into(),
                "     -".into(),
                "            -".into(),
                "          -".into(),
            ),
        };
        println!(
            "{scorer:8} {size:10} {:9.2} {:7.1} {:9.2} {:7.1} {py_ms} {py_rate} {r1} {r2}",
            scorer_s * 1e3,
            1.0 / scorer_s,
            owned_s * 1e3,
            1.0 / owned_s
        );
    }
}

criterion_group!(benches, image_quality);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary once per bench without --bench: skip the extra
    // timing there.
    let benching = std::env::args().any(|a| a == "--bench");
    match std::env::var_os("OMNISCORE_BENCH_PYTHON") {
        Some(python) if benching => same_run_comparison(Path::new(&python)),
        _ if benching => println!(
            "set OMNISCORE_BENCH_PYTHON to a Python with the reference packages for the same-run ratios"
        ),
        _ => {}
    }
}
