//! `mesh` scorer throughput (meshes/s) on real files: the Stanford bunny (OBJ, 69,666 faces),
//! Wuson (binary STL, 3,732 faces, welded on load) and the benchmark's thd_1101_01 point cloud
//! (binary PLY, 4,096 points). "load+score" is what `omniscore quality` does per file;
//! "score" excludes decoding. Files under tests/media come from scripts/fetch-test-media.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::media::mesh;
use omniscore::quality::mesh::score_mesh;
use std::path::Path;
use std::time::Duration;

const FILES: [(&str, &str); 3] = [
    ("bunny_obj", "tests/media/mesh/bunny.obj"),
    ("wuson_stl", "tests/media/mesh/STL/Wuson.stl"),
    ("thd_1101_01_ply", "tests/fixtures/mesh/thd_1101_01.ply"),
];

fn mesh_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("quality_mesh");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, file) in FILES {
        let path = Path::new(file);
        if !path.exists() {
            eprintln!("skipped {name}: {file} is absent (run scripts/fetch-test-media.sh)");
            continue;
        }
        let loaded = mesh::load(path).unwrap();
        group.bench_function(format!("load+score/{name}"), |b| {
            b.iter(|| score_mesh(&mesh::load(path).unwrap()).score.unwrap())
        });
        group.bench_function(format!("score/{name}"), |b| b.iter(|| score_mesh(&loaded).score.unwrap()));
    }
    group.finish();
}

criterion_group!(benches, mesh_throughput);
criterion_main!(benches);
