//! Image quality throughput (images/s) for NIQE and BRISQUE at 512x512 and 1920x1080, scoring
//! decoded RGB frames (decoding excluded, as in scripts/bench_reference_image.py).
//!
//! The images: astronaut.png (512x512) and motorcycle_left.png resized to 1920x1080 (Catmull-Rom)
//! from tests/media/images; both are written to $OMNISCORE_BENCH_DIR (default
//! /tmp/omniscore-bench-images) so that the Python references time the same pixels:
//!     cargo bench --bench quality_image
//!     python scripts/bench_reference_image.py /tmp/omniscore-bench-images/*.png

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    let out = std::env::var_os("OMNISCORE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/omniscore-bench-images"));
    std::fs::create_dir_all(&out).unwrap();
    small.save(out.join("bench_512x512.png")).unwrap();
    large.save(out.join("bench_1920x1080.png")).unwrap();
    vec![("512x512", small), ("1920x1080", large)]
}

fn image_quality(c: &mut Criterion) {
    let images = bench_images();
    let mut group = c.benchmark_group("quality_image");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    for scorer in ["niqe", "brisque"] {
        let s = omniscore::quality::image::frame_scorer(scorer).unwrap();
        for (size, img) in &images {
            group.bench_function(format!("{scorer}/{size}"), |b| {
                b.iter(|| s.score_frame(img).unwrap().raw.unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, image_quality);
criterion_main!(benches);
