//! `structure` throughput (instances/s): read, join and score StS/LeS for a generated file
//! shaped like UniM (31,026 instances, the benchmark's field, difficulty and modality shares).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::cases::Inputs;
use omniscore::data::synth::{write_dataset, SynthOptions, UNIM_INSTANCES};
use omniscore::pipeline;
use omniscore::progress::ProgressMode;
use std::fs::File;
use std::io::BufWriter;
use std::time::Duration;

fn structure_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let gt = dir.path().join("ground_truth.json");
    let responses = dir.path().join("responses.json");
    let opts = SynthOptions { instances: UNIM_INSTANCES, ..Default::default() };
    write_dataset(&opts, &mut BufWriter::new(File::create(&gt).unwrap()), &mut BufWriter::new(File::create(&responses).unwrap()))
        .unwrap();
    let inputs = Inputs::new(gt, responses);

    let mut group = c.benchmark_group("structure");
    group.throughput(Throughput::Elements(UNIM_INSTANCES as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("unim_31026", |b| {
        b.iter(|| {
            let (units, _) = pipeline::structure(&inputs, false, ProgressMode::Off).unwrap();
            assert_eq!(units.len(), UNIM_INSTANCES);
            units
        })
    });
    group.finish();
}

criterion_group!(benches, structure_throughput);
criterion_main!(benches);
