//! `omniscore bench`: timed runs per file and scorer, throughput in the modality's unit, the
//! three export files, and what happens with a file that cannot be scored or a bad flag.

use assert_cmd::Command;
use serde_json::Value;

const IMAGE: &str = "tests/media/images/camera.png";
const SPEECH: &str = "tests/media/audio/librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

fn omniscore() -> Command {
    Command::cargo_bin("omniscore").unwrap()
}

fn number(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

#[test]
fn times_each_file_and_scorer_and_exports_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (json, md, csv) = (dir.path().join("b.json"), dir.path().join("b.md"), dir.path().join("b.csv"));
    let out = omniscore()
        .args(["bench", "--runs", "3", "--warmup", "0", "--progress", "off", "--scorer", "niqe,audio-signal"])
        .args([IMAGE, SPEECH])
        .arg("--export-json")
        .arg(&json)
        .arg("--export-markdown")
        .arg(&md)
        .arg("--export-csv")
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("images/s") && stdout.contains("audio-s/s"), "{stdout}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{report}");
    for r in results {
        let runs = r["runs_s"].as_array().unwrap();
        assert_eq!(runs.len(), 3, "{r}");
        let median = number(&r["time"]["median"], "median");
        let (min, max) = (number(&r["time"]["min"], "min"), number(&r["time"]["max"], "max"));
        assert!(min > 0.0 && min <= median && median <= max, "{r}");
        let amount = number(&r["work"]["amount"], "work");
        let throughput = number(&r["throughput_per_s"], "throughput");
        assert!((throughput - amount / median).abs() <= 1e-9 * throughput, "{r}");
        assert!(r["error"].is_null() && number(&r["score"], "score") > 0.0, "{r}");
    }
    let (image, speech) = (&results[0], &results[1]);
    assert_eq!((image["scorer"].as_str(), image["work"]["unit"].as_str()), (Some("niqe"), Some("images")));
    // camera.png is 512 x 512.
    assert!((number(&image["work"]["megapixels"], "megapixels") - 0.262144).abs() < 1e-9);
    assert_eq!(speech["work"]["unit"].as_str(), Some("audio-s"));
    // The clip is 2.99 s of speech: the work is the decoded duration, not one file.
    assert!((number(&speech["work"]["amount"], "duration") - 2.99).abs() < 0.01, "{speech}");
    assert_eq!(report["totals"].as_array().unwrap().len(), 2);

    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("| file | scorer | median |") && markdown.contains("| niqe |"), "{markdown}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("path,modality,scorer,runs,median_s"));
    assert!(lines[2].starts_with(&format!("{SPEECH},audio,audio-signal,3,")), "{csv}");
}

#[test]
fn a_file_that_cannot_be_scored_is_reported_and_the_rest_is_timed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let json = dir.path().join("b.json");
    let out = omniscore()
        .args(["bench", "-r", "1", "-w", "0", "--progress", "off", "--scorer", "brisque"])
        .arg(&broken)
        .arg(dir.path().join("missing.png"))
        .arg(IMAGE)
        .arg("--export-json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{report}");
    assert!(results[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", results[0]);
    assert!(results[0]["runs_s"].as_array().unwrap().is_empty());
    assert!(results[1]["error"].as_str().is_some_and(|e| e.contains("no such file")), "{}", results[1]);
    assert!(results[2]["error"].is_null() && results[2]["throughput_per_s"].as_f64().is_some());
}

#[test]
fn an_export_that_cannot_be_written_fails_before_any_timing() {
    let dir = tempfile::tempdir().unwrap();
    let out = omniscore()
        .args(["bench", "-r", "1", "-w", "0", "--progress", "off", IMAGE, "--export-csv"])
        .arg(dir.path().join("no-such-dir/b.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-dir/b.csv"), "{stderr}");
    assert!(out.stdout.is_empty(), "timed before failing: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn zero_runs_and_unknown_scorers_are_refused() {
    let out = omniscore().args(["bench", "--runs", "0", IMAGE]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = omniscore().args(["bench", "--scorer", "nope", "--progress", "off", IMAGE]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown quality scorer 'nope'") && stderr.contains("--list"), "{stderr}");
}
