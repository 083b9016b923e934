//! Model-free caption producers: the software rasteriser (ms per 384x384 view of the Stanford
//! bunny, 69,666 triangles, and of the benchmark's thd_1101_01 point cloud, 4,096 splats; one
//! bench per standard view), the 3D text summary (weld + topology), and the audio description
//! (speech / music / other / silence + loudness) of a 7.1 s LibriVox clip and the 41 s aud2.mp3
//! (decoded once outside the timing). Files under tests/media come from
//! scripts/fetch-test-media.sh; absent files are skipped with a printed reason.
//!
//! Measured (criterion medians, one `cargo bench --bench caption_render` run on the 2-core dev
//! machine while other builds ran, so upper bounds): bunny 33 / 35 / 32 / 19 ms per 384x384
//! view (front / side / top / three-quarter), summary 107 ms (weld + topology); thd_1101_01
//! 3.0-3.6 ms per view; audio description 26 ms for the 7.1 s clip (270x real time) and 141 ms
//! for the 41 s mp3 (290x), decoding excluded.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::caption::describe::{describe_audio, describe_mesh};
use omniscore::caption::mesh_render::{render_view, STANDARD_VIEWS};
use omniscore::media::{audio, mesh};
use std::path::Path;
use std::time::Duration;

const SIZE: u32 = 384;
const MESHES: [(&str, &str); 2] =
    [("bunny_obj", "tests/media/mesh/bunny.obj"), ("thd_1101_01_ply", "tests/fixtures/mesh/thd_1101_01.ply")];
const AUDIO: [(&str, &str); 2] = [
    ("librivox_0870", "tests/media/audio/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"),
    ("aud2_mp3", "../shared/data/quality-pairs/aud2.mp3"),
];

fn present(file: &str) -> bool {
    let ok = Path::new(file).exists();
    if !ok {
        eprintln!("skipped: {file} is absent (run scripts/fetch-test-media.sh)");
    }
    ok
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("caption_render");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for (name, file) in MESHES {
        if !present(file) {
            continue;
        }
        let m = mesh::load(Path::new(file)).unwrap();
        for view in STANDARD_VIEWS {
            group.bench_function(format!("view_{SIZE}/{name}/{}", view.name), |b| {
                b.iter(|| render_view(&m, &view, SIZE, SIZE))
            });
        }
        group.bench_function(format!("summary/{name}"), |b| b.iter(|| describe_mesh(&m)));
    }
    group.finish();
}

fn sound(c: &mut Criterion) {
    let mut group = c.benchmark_group("caption_audio");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, file) in AUDIO {
        if !present(file) {
            continue;
        }
        let a = audio::decode(Path::new(file)).unwrap();
        group.bench_function(format!("describe/{name}"), |b| b.iter(|| describe_audio(&a)));
    }
    group.finish();
}

criterion_group!(benches, render, sound);
criterion_main!(benches);
