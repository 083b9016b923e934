//! Captions in `score`: every media item of a response becomes text for the judge, stored per
//! item (a rerun captions nothing again) and shown in report.json next to the item.
//!
//! Needs the default judge and ASR cards installed (scripts/test.sh pulls them); prints
//! "skipped: <why>" otherwise.

use assert_cmd::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const S: &str = "samples/unim-sample";

fn score(out: &Path) -> Output {
    Command::cargo_bin("omniscore")
        .unwrap()
        .args(["score", "--progress", "off", "--offline", "--no-quality", "--judge-max-tokens", "768", "--judge", "smollm2-135m-instruct"])
        .arg(format!("{S}/ground_truth.json"))
        .arg(format!("{S}/responses.json"))
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn item(report: &Value, id: &str, tag: &str) -> Value {
    let inst = report["instances"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap();
    inst["items"].as_array().unwrap().iter().find(|i| i["tag"] == tag).unwrap().clone()
}

#[test]
fn every_decodable_item_is_captioned_and_a_rerun_reuses_the_captions() {
    let dir = tempfile::tempdir().unwrap();
    let first = score(dir.path());
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    if !matches!(first.status.code(), Some(0 | 3)) && stderr.contains("models pull") {
        println!("skipped: a default model is not installed: {stderr}");
        return;
    }
    // The sample's <audio2> in instance 2 has no media entry: exit 3 with that problem.
    assert_eq!(first.status.code(), Some(3), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();

    // The image: a model caption when a captioner is installed, else a description of its
    // pixels that names no model and says why.
    let image = item(&report, "1", "image2");
    let part = &image["caption"]["parts"][0];
    assert_eq!(part["kind"], "image", "{image}");
    if part["model"].is_null() {
        assert!(part["text"].as_str().unwrap().starts_with("image, "), "{image}");
        assert!(image["caption"]["reason"].as_str().unwrap().contains("--captioner"), "{image}");
    }

    // The audio: the transcript, by the ASR card.
    let audio = item(&report, "1", "audio2");
    let parts = audio["caption"]["parts"].as_array().unwrap();
    let speech = parts.iter().find(|p| p["kind"] == "speech");
    match speech {
        Some(s) => {
            assert_eq!(s["model"], "whisper-tiny.en", "{audio}");
            assert!(s["text"].as_str().unwrap().len() > 20, "{audio}");
        }
        None => panic!("no transcript for the spoken aud_0001_02.mp3: {audio}"),
    }
    assert!(audio["caption"]["text"].as_str().unwrap().contains("speech: \""), "{audio}");

    // Missing media gets no caption (its reason is the structure problem).
    assert!(item(&report, "2", "audio2")["caption"].is_null());

    let before = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let second = score(dir.path());
    assert!(String::from_utf8_lossy(&second.stderr).contains(" 0 new units stored"), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(before, std::fs::read_to_string(dir.path().join("report.json")).unwrap());
}

#[test]
fn no_caption_leaves_items_bare() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("omniscore")
        .unwrap()
        .args(["score", "--progress", "off", "--offline", "--no-quality", "--no-caption", "--sc-mode", "embed", "--no-judge"])
        .arg(format!("{S}/ground_truth.json"))
        .arg(format!("{S}/responses.json"))
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !matches!(out.status.code(), Some(0 | 3)) && stderr.contains("models pull") {
        println!("skipped: the default embedder is not installed: {stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    assert!(item(&report, "1", "image2")["caption"].is_null());
}

#[test]
fn caption_command_prints_one_json_object_per_file() {
    let out = Command::cargo_bin("omniscore")
        .unwrap()
        .args(["caption", "--progress", "off", "--offline", "--format", "json"])
        .arg(format!("{S}/video/vid_1111_01.mp4"))
        .arg(format!("{S}/image/img_0001_02.png"))
        .arg(format!("{S}/no-such-file.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The missing file has no caption: exit 3.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let rows: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    // The truncated video: keyframes from the part that decodes, in time order, and why.
    assert_eq!(rows[0]["modality"], "video");
    let text = rows[0]["text"].as_str().unwrap();
    assert!(text.starts_with("[0.0 s] image: "), "{text}");
    assert!(rows[0]["reason"].as_str().unwrap().contains("71 of 660 frames"), "{}", rows[0]);
    assert!(rows[1]["text"].as_str().unwrap().starts_with("image, 557x522"), "{}", rows[1]);
    assert!(rows[2]["text"].is_null() && rows[2]["reason"].as_str().is_some(), "{}", rows[2]);
}
