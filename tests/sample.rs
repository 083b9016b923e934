//! The acceptance checks on the bundled UniM sample.

use assert_cmd::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const S: &str = "samples/unim-sample";

fn omniscore() -> Command {
    Command::cargo_bin("omniscore").unwrap()
}

fn sample(f: &str) -> String {
    format!("{S}/{f}")
}

fn score_sample(out: &Path) -> std::process::Output {
    omniscore()
        .args(["score", "--progress", "off", "--no-judge"])
        .arg(sample("ground_truth.json"))
        .arg(sample("responses.json"))
        .arg("--import-sc")
        .arg(sample("official_sc_output.json"))
        .arg("--import-gq")
        .arg(sample("official_gq_output.json"))
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn instance<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["instances"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap()
}

fn close(v: &Value, expected: f64) -> bool {
    (v.as_f64().unwrap() - expected).abs() < 1e-9
}

#[test]
fn structure_gives_the_papers_scores() {
    let out = omniscore()
        .args(["structure", "--format", "csv", "--progress", "off"])
        .arg(sample("ground_truth.json"))
        .arg(sample("responses.json"))
        .output()
        .unwrap();
    // The sample's <audio2> has no media entry: scored, with a problem (exit 3).
    assert_eq!(out.status.code(), Some(3));
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<f64>> = csv.lines().skip(1).map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect()).collect();
    assert_eq!(rows[0], [1.0, 1.0]);
    assert!((rows[1][0] - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(rows[1][1], 0.5);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("responses.json:21:1: instance 2: audio2: output.content names <audio2>"), "{stderr}");
}

#[test]
fn score_reproduces_official_sc_and_gq_and_composes_sqcs() {
    let dir = tempfile::tempdir().unwrap();
    let out = score_sample(dir.path());
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();

    let one = instance(&report, "1");
    assert!(close(&one["sc"]["value"], 0.4));
    assert!(close(&one["items"][0]["gq"]["value"], 0.911), "{}", one["items"]);
    assert!(close(&one["items"][1]["gq"]["value"], 0.7013));
    assert!(close(&one["gq"]["value"], (0.911 + 0.7013) / 2.0));
    assert!(close(&one["sqcs"]["value"], 0.4 * (0.7 + 0.3 * (0.911 + 0.7013) / 2.0)));
    assert!(close(&one["sts"]["value"], 1.0) && close(&one["les"]["value"], 1.0));

    let two = instance(&report, "2");
    assert!(close(&two["sc"]["value"], 0.6));
    let audio2 = two["items"].as_array().unwrap().iter().find(|i| i["tag"] == "audio2").unwrap();
    assert!(audio2["gq"]["value"].is_null());
    assert!(audio2["gq"]["reason"].as_str().unwrap().contains("no media entry"), "{audio2}");
    assert!(two["sqcs"]["value"].is_null() && two["sqcs"]["reason"] == "GQ unknown");
    assert_eq!(report["settings"]["sc_scale"], "unit");

    let csv = std::fs::read_to_string(dir.path().join("scores.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("id,field,domain,subdomain,difficulty,supported,sts,les,sc,gq,sqcs,hc,sh,ics"), "{header}");
    assert!(csv.lines().nth(1).unwrap().starts_with("1,general_area,general_domain,architecture,3,true,1,1,0.4,0.80615,0.376738,,,"));
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("| General Area | 2 | 50.00 | 80.62 | 37.67 | 100.00 | 37.67 |"), "{md}");
}

#[test]
fn report_rerenders_from_the_store_alone() {
    let dir = tempfile::tempdir().unwrap();
    score_sample(dir.path());
    let before = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    std::fs::remove_file(dir.path().join("report.json")).unwrap();
    let out = omniscore().args(["report", "-o"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(std::fs::read_to_string(dir.path().join("report.json")).unwrap(), before);

    // Other eta, no recomputation: SQCS = SC when eta = 1.
    omniscore().args(["report", "--eta-sqcs", "1", "-o"]).arg(dir.path()).output().unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    assert!(close(&instance(&report, "1")["sqcs"]["value"], 0.4));
}

#[test]
fn doctor_and_help_explain_themselves() {
    let out = omniscore().arg("doctor").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("build features") && text.contains("cuda") && text.contains("sqlite"), "{text}");
    let help = omniscore().args(["score", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in ["--import-sc", "--import-gq", "--import-ics", "--eta-sqcs", "--eta-ics", "--supports", "--media-root", "--strict", "Exit codes"] {
        assert!(help.contains(flag), "score --help lacks {flag}");
    }
}

#[test]
fn imported_coherence_gives_hc_sh_and_ics() {
    // The official coherence script appends pretty-printed (indent 4) records.
    let dir = tempfile::tempdir().unwrap();
    let ics = dir.path().join("coherence.json");
    let record = |id: &str, c: u8, s: u8| {
        format!(
            "{{\n    \"domain\": \"general_domain\",\n    \"id\": \"{id}\",\n    \"content\": \"...\",\n    \"modal\": {{}},\n    \"score\": {{\n        \"coherence\": {c},\n        \"style_consistency\": {s}\n    }}\n}}\n"
        )
    };
    std::fs::write(&ics, record("1", 4, 5) + &record("2", 1, 1)).unwrap();
    let out = dir.path().join("out");
    let run = omniscore()
        .args(["score", "--progress", "off", "--no-judge", "--import-ics"])
        .arg(&ics)
        .arg(sample("ground_truth.json"))
        .arg(sample("responses.json"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let one = instance(&report, "1");
    assert!(close(&one["hc"]["value"], 0.75) && close(&one["sh"]["value"], 1.0));
    assert!(close(&one["ics"]["value"], 0.8 * 0.75 + 0.2));
    assert!(close(&instance(&report, "2")["ics"]["value"], 0.0));
    assert!(one["sc"]["reason"].as_str().unwrap().contains("--import-sc"), "{}", one["sc"]);
}

/// Without --import-gq, every generated item with media is scored by the native quality
/// scorers; the truncated video is scored on what decodes and says so; a rerun rescored nothing.
#[test]
fn local_quality_scores_every_item_it_can_and_explains_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        omniscore()
            .args(["score", "--progress", "off", "--no-judge", "--import-sc"])
            .arg(sample("official_sc_output.json"))
            .arg(sample("ground_truth.json"))
            .arg(sample("responses.json"))
            .arg("-o")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(3), "{}", String::from_utf8_lossy(&first.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let items = |id: &str| instance(&report, id)["items"].as_array().unwrap().clone();
    for item in items("1") {
        let gq = item["gq"]["value"].as_f64().unwrap_or_else(|| panic!("no GQ: {item}"));
        assert!((0.0..=1.0).contains(&gq));
        let scorers = item["scorers"].as_array().unwrap();
        assert!(!scorers.is_empty(), "{item}");
        let mean = scorers.iter().map(|s| s["score"].as_f64().unwrap()).sum::<f64>() / scorers.len() as f64;
        assert!((mean - gq).abs() < 1e-9, "item GQ is the mean of its scorers: {item}");
    }
    let video = items("2").into_iter().find(|i| i["tag"] == "video1").unwrap();
    assert!(video["gq"]["value"].as_f64().is_some(), "{video}");
    assert!(video["scorers"][0]["reason"].as_str().unwrap().contains("truncated"), "{video}");
    let audio = items("2").into_iter().find(|i| i["tag"] == "audio2").unwrap();
    assert!(audio["gq"]["reason"].as_str().unwrap().contains("no media entry"), "{audio}");
    assert!(instance(&report, "1")["sqcs"]["value"].as_f64().is_some());

    let before = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let second = run();
    assert!(String::from_utf8_lossy(&second.stderr).contains(" 0 new units stored"), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(before, std::fs::read_to_string(dir.path().join("report.json")).unwrap());
}
