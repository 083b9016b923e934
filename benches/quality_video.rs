//! Video throughput: decoded frames/s (H.264 -> RGB, every frame) and scored frames/s (the
//! "video" scorer end to end: decode, temporal features on every frame, NIQE on 12) on
//! carphone_pristine (176x144, 120 frames) and bigbuckbunny (1280x720, 132 frames) from
//! tests/media/video. Criterion reports frames/s as its throughput; medians are in
//! target/criterion/quality_video/*/new/estimates.json.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::media::video::VideoReader;
use omniscore::quality::{registry, ScorerContext};
use std::path::Path;
use std::time::Duration;

const CLIPS: [&str; 2] = ["carphone_pristine.mp4", "bigbuckbunny.mp4"];

fn video_throughput(c: &mut Criterion) {
    let scorer = registry::build("video", &ScorerContext::cpu()).unwrap();
    let mut group = c.benchmark_group("quality_video");
    group.sample_size(10).measurement_time(Duration::from_secs(15)).warm_up_time(Duration::from_secs(2));
    for name in CLIPS {
        let path = Path::new("tests/media/video").join(name);
        if !path.exists() {
            println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", path.display());
            continue;
        }
        let frames = VideoReader::open(&path).unwrap().info().frame_count;
        let all: Vec<usize> = (0..frames).collect();
        group.throughput(Throughput::Elements(frames as u64));
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                let mut reader = VideoReader::open(&path).unwrap();
                let n = reader.frames(&all).map(|f| f.unwrap().image.width() as usize).count();
                assert_eq!(n, frames);
                n
            })
        });
        group.bench_function(format!("score/{name}"), |b| {
            b.iter(|| {
                let s = scorer.score_path(&path).unwrap();
                assert!(s.score.is_some());
                s
            })
        });
    }
    group.finish();
}

criterion_group!(benches, video_throughput);
criterion_main!(benches);
