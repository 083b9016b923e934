//! Files scored per second by the `code` scorer (a ~500-line Python file, from disk and inline)
//! and the `document` scorer (the 2-page fixture PDF and, when tests/media is fetched, the
//! 14-page 01-valid.pdf and 5-page 04-valid.pdf). Criterion's "thrpt" line is files/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omniscore::quality::{registry, ScorerContext};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Target length of the generated code file.
const CODE_LINES: usize = 500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python fixture repeated with renamed definitions until it is CODE_LINES long: real,
/// valid code of the size a generated module has.
fn python_500_lines() -> String {
    let base = std::fs::read_to_string(root().join("tests/fixtures/code/valid.py")).unwrap();
    let mut out = String::new();
    let mut k = 0;
    while out.lines().count() < CODE_LINES {
        out.push_str(&base.replace("def words", &format!("def words{k}")).replace("class Tally", &format!("class Tally{k}")));
        out.push('\n');
        k += 1;
    }
    out
}

fn code(c: &mut Criterion) {
    let ctx = ScorerContext::cpu();
    let scorer = registry::build("code", &ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = python_500_lines();
    let path = dir.path().join("module.py");
    std::fs::write(&path, &src).unwrap();
    assert!(scorer.score_path(&path).unwrap().score.unwrap() > 0.9);
    let mut g = c.benchmark_group("code");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function(format!("python_{}_lines_file", src.lines().count()), |b| b.iter(|| scorer.score_path(&path).unwrap()));
    let fenced = format!("Here it is:\n```\n{src}```\n");
    g.bench_function("python_500_lines_inline_untagged", |b| b.iter(|| scorer.score_text(&fenced).unwrap()));
    g.finish();
}

fn documents(c: &mut Criterion) {
    let ctx = ScorerContext::cpu();
    let scorer = registry::build("document", &ctx).unwrap();
    let mut files: Vec<(String, PathBuf)> = vec![("text_2p".into(), root().join("tests/fixtures/document/text.pdf"))];
    for (name, file) in [("01-valid_14p", "01-valid.pdf"), ("04-valid_5p", "04-valid.pdf")] {
        let p = root().join("tests/media/pdf").join(file);
        if p.exists() {
            files.push((name.into(), p));
        } else {
            println!("skipped {name}: {} is absent (run scripts/fetch-test-media.sh)", p.display());
        }
    }
    let mut g = c.benchmark_group("document_pdf");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for (name, path) in &files {
        assert!(scorer.score_path(path).unwrap().score.is_some());
        g.bench_function(name.as_str(), |b| b.iter(|| scorer.score_path(path).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, code, documents);
criterion_main!(benches);
