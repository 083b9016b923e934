//! The paper's rationality check (Fig. 6) for the structure scores: from an exact match
//! (StS = LeS = 1), adding or removing a type or a tag lowers StS; only removing a type lowers
//! LeS. Checked on the bundled sample through the CLI, and on generated perturbations of many
//! random ground truths through the library.

use assert_cmd::prelude::*;
use omniscore::data::synth::Rng;
use omniscore::data::{Modality, Tag};
use omniscore::metrics::structure::{lenient, strict, type_counts};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;

const SAMPLE_GT: &str = "samples/unim-sample/ground_truth.json";
const TRIALS: usize = 2000;
const GENERATED: [Modality; 7] = Modality::ALL;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Perturbation {
    AddType,
    RemoveType,
    AddTag,
    RemoveTag,
}

/// Applies a perturbation; None when it does not apply (e.g. no type has two tags).
fn perturb(tags: &BTreeSet<Tag>, p: Perturbation, rng: &mut Rng) -> Option<BTreeSet<Tag>> {
    let types: BTreeSet<Modality> = tags.iter().map(|t| t.modality).collect();
    let mut out = tags.clone();
    let next_index = |m: Modality, s: &BTreeSet<Tag>| s.iter().filter(|t| t.modality == m).map(|t| t.index).max().unwrap_or(0) + 1;
    match p {
        Perturbation::AddType => {
            let absent: Vec<Modality> = GENERATED.iter().copied().filter(|m| !types.contains(m)).collect();
            let m = *absent.get(rng.below(absent.len().max(1)))?;
            out.insert(Tag::new(m, 1));
        }
        Perturbation::RemoveType => {
            let m = *types.iter().nth(rng.below(types.len().max(1)))?;
            out.retain(|t| t.modality != m);
        }
        Perturbation::AddTag => {
            let m = *types.iter().nth(rng.below(types.len().max(1)))?;
            out.insert(Tag::new(m, next_index(m, tags)));
        }
        Perturbation::RemoveTag => {
            let multi: Vec<Modality> =
                types.iter().copied().filter(|m| tags.iter().filter(|t| t.modality == *m).count() > 1).collect();
            let m = *multi.get(rng.below(multi.len().max(1)))?;
            let t = *tags.iter().find(|t| t.modality == m)?;
            out.remove(&t);
        }
    }
    Some(out)
}

fn scores(gt: &BTreeSet<Tag>, resp: &BTreeSet<Tag>) -> (f64, f64) {
    let (g, r) = (type_counts(gt), type_counts(resp));
    (strict(&g, &r), lenient(&g, &r))
}

fn assert_rational(gt: &BTreeSet<Tag>, p: Perturbation, resp: &BTreeSet<Tag>, sts: f64, les: f64) {
    assert!(sts < 1.0, "{p:?} must lower StS: gt {gt:?} resp {resp:?} StS {sts}");
    if p == Perturbation::RemoveType {
        assert!(les < 1.0, "{p:?} must lower LeS: gt {gt:?} resp {resp:?}");
    } else {
        assert_eq!(les, 1.0, "{p:?} must not lower LeS: gt {gt:?} resp {resp:?}");
    }
}

#[test]
fn generated_perturbations_follow_figure_6() {
    let mut rng = Rng::new(42);
    let mut applied = [0usize; 4];
    for _ in 0..TRIALS {
        let mut gt = BTreeSet::new();
        for m in GENERATED {
            if rng.unit() < 0.4 {
                for k in 0..=rng.below(3) as u32 {
                    gt.insert(Tag::new(m, k + 1));
                }
            }
        }
        if gt.is_empty() {
            continue;
        }
        assert_eq!(scores(&gt, &gt), (1.0, 1.0), "an exact match scores 1");
        for (i, p) in [Perturbation::AddType, Perturbation::RemoveType, Perturbation::AddTag, Perturbation::RemoveTag].into_iter().enumerate() {
            if let Some(resp) = perturb(&gt, p, &mut rng) {
                let (sts, les) = scores(&gt, &resp);
                assert_rational(&gt, p, &resp, sts, les);
                applied[i] += 1;
            }
        }
    }
    assert!(applied.iter().all(|n| *n > TRIALS / 10), "every perturbation was exercised: {applied:?}");
}

/// Builds a response file from the sample's ground truth with each instance's output items
/// replaced, runs `omniscore structure --format csv`, and returns (StS, LeS) per instance.
fn structure_via_cli(outputs: &[BTreeSet<Tag>]) -> Vec<(f64, f64)> {
    let gt_text = std::fs::read_to_string(SAMPLE_GT).unwrap();
    let first: Value = serde_json::Deserializer::from_str(&gt_text).into_iter().next().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut gt_file = String::new();
    let mut resp_file = String::new();
    for (i, tags) in outputs.iter().enumerate() {
        let mut gt = first.clone();
        gt["id"] = json!(format!("p{i}"));
        gt_file.push_str(&serde_json::to_string_pretty(&gt).unwrap());
        gt_file.push('\n');
        let mut r = gt.clone();
        let content: String = tags.iter().map(|t| format!("Here is <{t}>. ")).collect();
        let modal: serde_json::Map<String, Value> = tags.iter().map(|t| (t.to_string(), json!(format!("x/{t}.bin")))).collect();
        r["output"] = json!({ "content": content, "modal": modal });
        resp_file.push_str(&serde_json::to_string_pretty(&r).unwrap());
        resp_file.push('\n');
    }
    let (g, r) = (dir.path().join("gt.json"), dir.path().join("resp.json"));
    std::fs::write(&g, gt_file).unwrap();
    std::fs::write(&r, resp_file).unwrap();
    let out = Command::cargo_bin("omniscore").unwrap().args(["structure", "--format", "csv", "--progress", "off"]).arg(&g).arg(&r).output().unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn sample_perturbations_follow_figure_6() {
    // The sample's instance 1 wants image2 + audio2.
    let gt: BTreeSet<Tag> = [Tag::new(Modality::Image, 2), Tag::new(Modality::Audio, 2)].into();
    let mut rng = Rng::new(1);
    let mut cases = vec![(None, gt.clone())];
    for p in [Perturbation::AddType, Perturbation::RemoveType, Perturbation::AddTag] {
        cases.push((Some(p), perturb(&gt, p, &mut rng).unwrap()));
    }
    // The sample has one tag per type, so removing a tag is removing a type there; the
    // generated test above covers removing one of several tags.
    let results = structure_via_cli(&cases.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    assert_eq!(results[0], (1.0, 1.0), "the sample's exact response scores 1");
    for ((p, resp), (sts, les)) in cases.iter().zip(&results).skip(1) {
        assert_rational(&gt, p.unwrap(), resp, *sts, *les);
    }
}
