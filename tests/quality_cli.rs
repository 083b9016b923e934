//! `omniscore quality`: the registry listing, JSON rows for a mix of good, bad, missing and
//! unknown files, ordering of a quality pair, and resuming from an output file.

use assert_cmd::Command;
use serde_json::Value;

const PAIRS: &str = "../shared/data/quality-pairs";

fn omniscore() -> Command {
    Command::cargo_bin("omniscore").unwrap()
}

fn rows(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn list_shows_every_modality_with_a_default_scorer() {
    let out = omniscore().args(["quality", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for modality in ["image", "audio", "video", "threeD", "code", "document"] {
        assert!(text.lines().any(|l| l.split_whitespace().nth(1) == Some(modality) && l.split_whitespace().nth(2) == Some("yes")), "no default {modality} scorer:\n{text}");
    }
}

#[test]
fn json_rows_rank_a_pair_and_explain_what_could_not_be_scored() {
    if !std::path::Path::new(PAIRS).is_dir() {
        eprintln!("skipped: {PAIRS} is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("notes.xyz");
    std::fs::write(&unknown, "x").unwrap();
    let out = omniscore()
        .args(["quality", "--format", "json", "--progress", "off"])
        .arg(format!("{PAIRS}/thd_1101_01.ply"))
        .arg(format!("{PAIRS}/bad_random.ply"))
        .arg(dir.path().join("missing.png"))
        .arg(&unknown)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = rows(&out.stdout);
    let score = |name: &str| rows.iter().find(|r| r["path"].as_str().unwrap().ends_with(name)).unwrap()["score"].as_f64();
    let (good, bad) = (score("thd_1101_01.ply").unwrap(), score("bad_random.ply").unwrap());
    assert!(good > bad, "real object {good} vs random points {bad}");
    for r in &rows {
        for key in ["path", "modality", "scorer", "score", "raw", "reason"] {
            assert!(r.get(key).is_some(), "{key} missing: {r}");
        }
        if r["score"].is_null() {
            assert!(r["reason"].as_str().is_some_and(|s| !s.is_empty()), "null without a reason: {r}");
        }
    }
    assert!(rows.iter().any(|r| r["path"].as_str().unwrap().ends_with("missing.png") && r["reason"].as_str().unwrap().contains("no such file")));
    assert!(rows.iter().any(|r| r["path"].as_str().unwrap().ends_with("notes.xyz") && r["reason"].as_str().unwrap().contains("--modality")));
}

#[test]
fn an_output_file_is_resumed_not_rescored() {
    if !std::path::Path::new(PAIRS).is_dir() {
        eprintln!("skipped: {PAIRS} is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("scores.jsonl");
    let run = |files: &[&str]| {
        let mut cmd = omniscore();
        cmd.args(["quality", "--format", "json", "--progress", "off", "-o"]).arg(&out_file);
        for f in files {
            cmd.arg(format!("{PAIRS}/{f}"));
        }
        cmd.output().unwrap()
    };
    let first = run(&["thd_1101_01.ply"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run(&["thd_1101_01.ply", "bad_random.ply"]);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already in the output"), "{}", String::from_utf8_lossy(&second.stderr));
    let written = rows(&std::fs::read(&out_file).unwrap());
    let paths: Vec<&str> = written.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 2, "each file scored once: {paths:?}");
    assert!(paths[0].ends_with("thd_1101_01.ply") && paths[1].ends_with("bad_random.ply"));
}

#[test]
fn a_table_cannot_be_resumed_and_an_unknown_scorer_is_named() {
    let out = omniscore().args(["quality", "--format", "table", "-o", "x.txt", "a.png"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format json or csv"));
    let out = omniscore().args(["quality", "--scorer", "nope", "a.png"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown quality scorer 'nope'"));
}
