//! Bad input: each kind of broken benchmark file is reported with where it is (file, line,
//! column), costs only the instance it is in, and never panics; the other instances are still
//! scored. Every test runs the built binary on files written into a temporary folder.

use assert_cmd::Command;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// Exit codes of the CLI (see src/main.rs).
const OK: i32 = 0;
const COULD_NOT_RUN: i32 = 1;
const USAGE: i32 = 2;
const PROBLEMS: i32 = 3;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/unim-sample")
}

/// A ground-truth instance: the question has an image and an audio, so does the answer.
fn gt(id: &str) -> Value {
    json!({
        "domain": "general_domain",
        "subdomain": "architecture",
        "id": id,
        "input": {
            "modal": { "image1": format!("image/q{id}.jpg"), "audio1": format!("audio/q{id}.mp3") },
            "content": format!("Question {id}: look at <image1> and listen to <audio1>.")
        },
        "output": {
            "modal": { "image2": format!("image/gt{id}.png"), "audio2": format!("audio/gt{id}.mp3") },
            "content": format!("Answer {id}: see <image2> and hear <audio2>.")
        },
        "difficulty_level": 2
    })
}

/// A response with exactly the structure of `gt(id)` (StS = LeS = 1); its media files are
/// created by [`Fixture::media`].
fn resp(id: &str) -> Value {
    let mut v = gt(id);
    v["output"] = json!({
        "modal": { "image2": format!("image/r{id}.png"), "audio2": format!("audio/r{id}.mp3") },
        "content": format!("Response {id}: see <image2> and hear <audio2>.")
    });
    v
}

/// Each value pretty-printed (objects open at column 1), as separate texts.
fn parts(values: &[Value]) -> Vec<String> {
    values.iter().map(|v| serde_json::to_string_pretty(v).unwrap()).collect()
}

/// Pretty-printed objects one after another: the official UniM layout.
fn join(parts: &[String]) -> String {
    parts.iter().map(|p| format!("{p}\n")).collect()
}

fn stream(values: &[Value]) -> String {
    join(&parts(values))
}

fn jsonl(values: &[Value]) -> String {
    values.iter().map(|v| serde_json::to_string(v).unwrap() + "\n").collect()
}

/// Byte offset in `join(parts)` where part `i` starts.
fn part_offset(parts: &[String], i: usize) -> usize {
    parts[..i].iter().map(|p| p.len() + 1).sum()
}

/// 1-based line and byte column of byte `offset` in `text`.
fn pos_at(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, (offset - line_start) as u64 + 1)
}

/// Position of the one occurrence of `needle` in `text`.
fn pos_of(text: &str, needle: &str) -> (u64, u64) {
    assert_eq!(text.matches(needle).count(), 1, "`{needle}` must occur once in the fixture");
    pos_at(text, text.find(needle).unwrap())
}

/// Position of the first non-whitespace byte after the one occurrence of `needle`.
fn pos_after(text: &str, needle: &str) -> (u64, u64) {
    assert_eq!(text.matches(needle).count(), 1, "`{needle}` must occur once in the fixture");
    let end = text.find(needle).unwrap() + needle.len();
    pos_at(text, end + text[end..].find(|c: char| !c.is_ascii_whitespace()).unwrap())
}

/// A temporary folder holding one test's input files and output folders.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Creates every media file named in the responses' `output.modal` (relative to this
    /// folder, the default media root), so only deliberately missing media are reported.
    fn media(&self, responses: &[Value]) {
        for r in responses {
            let Some(modal) = r["output"]["modal"].as_object() else { continue };
            for v in modal.values().filter_map(Value::as_str) {
                let p = self.path(v);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, b"media").unwrap();
            }
        }
    }

    /// Ground truth `gt(1..=3)` as a pretty-printed stream.
    fn ground_truth(&self) -> PathBuf {
        self.write("gt.json", &stream(&[gt("1"), gt("2"), gt("3")]))
    }

    /// Writes the responses (creating their media) as a pretty-printed stream.
    fn responses(&self, values: &[Value]) -> PathBuf {
        self.media(values);
        self.write("responses.json", &stream(values))
    }
}

/// How one run of the binary went.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    out: PathBuf,
}

impl Run {
    fn report(&self) -> Value {
        let path = self.out.join("report.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}\nstderr:\n{}", path.display(), self.stderr));
        serde_json::from_str(&text).unwrap()
    }

    fn csv_text(&self) -> String {
        std::fs::read_to_string(self.out.join("scores.csv")).unwrap()
    }

    /// scores.csv rows by id (the fixtures need no CSV quoting).
    fn csv(&self) -> HashMap<String, HashMap<String, String>> {
        let text = self.csv_text();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        lines
            .map(|l| {
                let row: HashMap<String, String> =
                    header.iter().zip(l.split(',')).map(|(h, v)| (h.to_string(), v.to_string())).collect();
                (row["id"].clone(), row)
            })
            .collect()
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs the binary; asserts it exited normally and did not panic.
fn omniscore(args: &[&std::ffi::OsStr], out: &Path) -> Run {
    let o = Command::cargo_bin("omniscore")
        .unwrap()
        .args(args)
        .env_remove("OMNISCORE_CRASH_AFTER_UNITS")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "the binary panicked:\n{stderr}");
    let code = o.status.code().unwrap_or_else(|| panic!("killed by a signal: {:?}\nstderr:\n{stderr}", o.status));
    Run { code, stdout, stderr, out: out.to_path_buf() }
}

/// `omniscore score GT RESPONSES -o <fixture>/<out> --progress off EXTRA...`
fn score(fx: &Fixture, gt: &Path, responses: &Path, out: &str, extra: &[&str]) -> Run {
    let out = fx.path(out);
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["score".as_ref(), gt.as_os_str(), responses.as_os_str(), "-o".as_ref(), out.as_os_str(), "--progress".as_ref(), "off".as_ref(), "--no-judge".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    omniscore(&args, &out)
}

fn instance<'a>(report: &'a Value, id: &str) -> &'a Value {
    let all = report["instances"].as_array().unwrap();
    let found: Vec<&Value> = all.iter().filter(|i| i["id"] == id).collect();
    assert_eq!(found.len(), 1, "instance {id} must be reported once: {all:#?}");
    found[0]
}

fn ids(report: &Value) -> BTreeSet<String> {
    report["instances"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

fn value(report: &Value, id: &str, metric: &str) -> Option<f64> {
    instance(report, id)[metric]["value"].as_f64()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Asserts the listed instances were scored as a perfect structural match.
fn assert_scored(report: &Value, ids: &[&str]) {
    for id in ids {
        assert_eq!(value(report, id, "sts"), Some(1.0), "instance {id} sts: {:#}", instance(report, id));
        assert_eq!(value(report, id, "les"), Some(1.0), "instance {id} les: {:#}", instance(report, id));
    }
}

fn problems<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == kind).collect()
}

/// The single problem of `kind`.
fn one<'a>(report: &'a Value, kind: &str) -> &'a Value {
    let found = problems(report, kind);
    assert_eq!(found.len(), 1, "exactly one `{kind}` problem expected in {:#}", report["problems"]);
    assert_eq!(report["problem_counts"][kind], 1, "problem_counts: {:#}", report["problem_counts"]);
    found[0]
}

/// Asserts `p` names `file` at `pos`, in report.json and on stderr.
fn assert_located(run: &Run, p: &Value, file: &Path, pos: (u64, u64)) {
    let file = file.display().to_string();
    assert_eq!(p["file"], file.as_str(), "file of {p:#}");
    assert_eq!((p["line"].as_u64(), p["column"].as_u64()), (Some(pos.0), Some(pos.1)), "line:column of {p:#}");
    let shown = format!("{file}:{}:{}", pos.0, pos.1);
    assert!(run.stderr.contains(&shown), "stderr should name {shown}:\n{}", run.stderr);
}

/// Item tags of an instance's report entry (non-text items).
fn item_tags(report: &Value, id: &str) -> BTreeSet<String> {
    instance(report, id)["items"].as_array().unwrap().iter().map(|i| i["tag"].as_str().unwrap().to_string()).collect()
}

fn item<'a>(report: &'a Value, id: &str, tag: &str) -> &'a Value {
    let items = instance(report, id)["items"].as_array().unwrap();
    items.iter().find(|i| i["tag"] == tag).unwrap_or_else(|| panic!("instance {id} has no item {tag}: {items:#?}"))
}

fn set(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|s| s.to_string()).collect()
}

/// Responses 1-3 with object 2 edited as text by `edit`.
fn responses_with_broken_second(edit: impl Fn(&str) -> String) -> (Vec<Value>, Vec<String>) {
    let values = vec![resp("1"), resp("2"), resp("3")];
    let mut texts = parts(&values);
    let edited = edit(&texts[1]);
    assert_ne!(edited, texts[1], "the edit must change the second object");
    texts[1] = edited;
    (values, texts)
}

/// Writes responses 1-3 (object 2 edited by `edit`) with their media; returns the texts of
/// the three objects, the whole file's text and its path.
fn write_broken_second(fx: &Fixture, edit: impl Fn(&str) -> String) -> (Vec<String>, String, PathBuf) {
    let (values, texts) = responses_with_broken_second(edit);
    fx.media(&values);
    let text = join(&texts);
    let path = fx.write("responses.json", &text);
    (texts, text, path)
}

/// The usual checks after response 2 was lost to a syntax error at `pos`: one
/// `malformed-json` problem there, instances 1 and 3 scored, instance 2 without a response.
fn assert_second_response_lost(run: &Run, responses: &Path, pos: (u64, u64)) -> Value {
    run.expect_code(PROBLEMS);
    let r = run.report();
    assert_located(run, one(&r, "malformed-json"), responses, pos);
    assert_eq!(ids(&r), set(&["1", "2", "3"]));
    assert_scored(&r, &["1", "3"]);
    assert_eq!(one(&r, "missing-response")["id"], "2");
    assert_eq!(value(&r, "2", "sts"), None);
    r
}

// ------------------------------------------------------------------------------------------
// 1. Malformed JSON
// ------------------------------------------------------------------------------------------

#[test]
fn malformed_json_missing_comma_is_located_and_costs_only_its_instance() {
    let fx = Fixture::new();
    let (texts, text, path) = write_broken_second(&fx, |t| t.replacen("\"id\": \"2\",", "\"id\": \"2\"", 1));
    // serde wants `,` or `}` after "2"; the offending token is the next key, a line further down.
    let pos = pos_after(&text, "\"id\": \"2\"");
    assert!(pos.0 > texts[0].lines().count() as u64 + 1, "the error is inside the second object");
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    let r = assert_second_response_lost(&run, &path, pos);
    let msg = one(&r, "malformed-json")["message"].as_str().unwrap();
    assert!(msg.contains("expected `,` or `}`"), "{msg}");
}

#[test]
fn malformed_json_bad_token_is_located_and_costs_only_its_instance() {
    let fx = Fixture::new();
    let (_, text, path) = write_broken_second(&fx, |t| t.replacen("\"difficulty_level\": 2", "\"difficulty_level\": @2", 1));
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    assert_second_response_lost(&run, &path, pos_of(&text, "@2"));
}

#[test]
fn malformed_json_under_strict_stops_with_exit_1() {
    let fx = Fixture::new();
    let (_, text, path) = write_broken_second(&fx, |t| t.replacen("\"id\": \"2\",", "\"id\": \"2\"", 1));
    let run = score(&fx, &fx.ground_truth(), &path, "out", &["--strict"]);
    run.expect_code(COULD_NOT_RUN);
    assert!(run.stderr.contains("--strict"), "{}", run.stderr);
    let (line, col) = pos_after(&text, "\"id\": \"2\"");
    let shown = format!("{}:{line}:{col}", path.display());
    assert!(run.stderr.contains(&shown), "stderr should name {shown}:\n{}", run.stderr);
}

// ------------------------------------------------------------------------------------------
// 2. Unterminated object, unterminated string
// ------------------------------------------------------------------------------------------

#[test]
fn unterminated_object_is_reported_where_it_opens_and_the_next_one_is_read() {
    let fx = Fixture::new();
    // The second object never closes; the third opens at column 1 of the next line.
    let (texts, text, path) = write_broken_second(&fx, |t| t.trim_end().strip_suffix('}').unwrap().to_string());
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    let r = assert_second_response_lost(&run, &path, pos_at(&text, part_offset(&texts, 1)));
    let msg = one(&r, "malformed-json")["message"].as_str().unwrap();
    assert!(msg.contains("never closed"), "{msg}");
}

#[test]
fn unterminated_string_is_reported_where_it_opens_and_the_next_instance_is_read() {
    let fx = Fixture::new();
    // The closing quote of the content string is missing: the string runs into a line break.
    let (_, text, path) = write_broken_second(&fx, |t| t.replacen("<audio2>.\"", "<audio2>.", 1));
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    let r = assert_second_response_lost(&run, &path, pos_of(&text, "\"Response 2"));
    let msg = one(&r, "malformed-json")["message"].as_str().unwrap();
    assert!(msg.contains("string is never closed"), "{msg}");
}

// ------------------------------------------------------------------------------------------
// 3. Duplicate ids
// ------------------------------------------------------------------------------------------

/// Same id as `resp(id)`, but answering with a single video: StS 0 against `gt(id)`.
fn video_only(mut v: Value, id: &str) -> Value {
    v["output"] = json!({ "modal": { "video1": format!("video/dup{id}.mp4") }, "content": "See <video1>." });
    v
}

#[test]
fn duplicate_response_id_is_reported_and_the_first_wins() {
    let fx = Fixture::new();
    let values = vec![resp("1"), resp("2"), video_only(resp("2"), "2"), resp("3")];
    fx.media(&values);
    let texts = parts(&values);
    let text = join(&texts);
    let path = fx.write("responses.json", &text);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    let p = one(&r, "duplicate-id");
    assert_eq!(p["id"], "2");
    assert_located(&run, p, &path, pos_at(&text, part_offset(&texts, 2)));
    assert_eq!(ids(&r), set(&["1", "2", "3"]));
    // The first response of 2 (a perfect match) is the one scored, not the video-only one.
    assert_scored(&r, &["1", "2", "3"]);
    assert_eq!(item_tags(&r, "2"), set(&["image2", "audio2"]));
    assert!(problems(&r, "missing-response").is_empty());
}

#[test]
fn duplicate_ground_truth_id_is_reported_and_the_first_wins() {
    let fx = Fixture::new();
    let gts = vec![gt("1"), gt("2"), video_only(gt("2"), "2"), gt("3")];
    let texts = parts(&gts);
    let gt_text = join(&texts);
    let gt_path = fx.write("gt.json", &gt_text);
    let responses = fx.responses(&[resp("1"), resp("2"), resp("3")]);
    let run = score(&fx, &gt_path, &responses, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    let p = one(&r, "duplicate-id");
    assert_eq!(p["id"], "2");
    assert_located(&run, p, &gt_path, pos_at(&gt_text, part_offset(&texts, 2)));
    assert_eq!(r["instances"].as_array().unwrap().len(), 3);
    // Scored against the first ground truth of 2 (image + audio), not the video-only one.
    assert_scored(&r, &["1", "2", "3"]);
}

// ------------------------------------------------------------------------------------------
// 4. Response without ground truth, ground truth without response
// ------------------------------------------------------------------------------------------

#[test]
fn orphan_response_and_missing_response_are_reported() {
    let fx = Fixture::new();
    let values = vec![resp("1"), resp("99"), resp("3")];
    fx.media(&values);
    let texts = parts(&values);
    let text = join(&texts);
    let path = fx.write("responses.json", &text);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();

    let orphan = one(&r, "response-without-ground-truth");
    assert_eq!(orphan["id"], "99");
    assert_located(&run, orphan, &path, pos_at(&text, part_offset(&texts, 1)));
    assert_eq!(ids(&r), set(&["1", "2", "3"]), "the orphan is no instance");

    assert_eq!(one(&r, "missing-response")["id"], "2");
    let sts = &instance(&r, "2")["sts"];
    assert!(sts["value"].is_null(), "{sts}");
    assert!(sts["reason"].as_str().is_some_and(|s| !s.is_empty()), "a null score has a reason: {sts}");
    assert_scored(&r, &["1", "3"]);

    // Inferred support: no response means unsupported.
    let csv = run.csv();
    assert_eq!(csv["2"]["supported"], "false");
    assert_eq!(csv["2"]["sts"], "");
    assert_eq!(csv["1"]["supported"], "true");
    assert_eq!(csv["3"]["supported"], "true");
    assert_eq!(csv["3"]["sts"], "1");
}

// ------------------------------------------------------------------------------------------
// 5. Unknown modality
// ------------------------------------------------------------------------------------------

#[test]
fn unknown_modality_key_and_placeholder_are_reported_and_not_counted() {
    let fx = Fixture::new();
    let mut r2 = resp("2");
    r2["output"]["modal"]["hologram1"] = json!("holo/h2.bin");
    let mut r3 = resp("3");
    r3["output"]["content"] = json!("Response 3: see <image2>, hear <audio2> and behold <hologram1>.");
    let values = vec![resp("1"), r2, r3];
    let texts = parts(&values);
    let path = fx.responses(&values);
    let text = join(&texts);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();

    let key = one(&r, "unknown-modality");
    assert_eq!(key["id"], "2");
    assert!(key["message"].as_str().unwrap().contains("hologram1"), "{key}");
    assert_located(&run, key, &path, pos_at(&text, part_offset(&texts, 1)));
    let placeholder = one(&r, "unknown-placeholder");
    assert_eq!(placeholder["id"], "3");
    assert!(placeholder["message"].as_str().unwrap().contains("<hologram1>"), "{placeholder}");
    assert_located(&run, placeholder, &path, pos_at(&text, part_offset(&texts, 2)));

    // Neither adds an item or a type: both responses still match the ground truth exactly.
    assert_scored(&r, &["1", "2", "3"]);
    assert_eq!(item_tags(&r, "2"), set(&["image2", "audio2"]));
    assert_eq!(item_tags(&r, "3"), set(&["image2", "audio2"]));
}

// ------------------------------------------------------------------------------------------
// 6. Placeholder without media, media without placeholder
// ------------------------------------------------------------------------------------------

#[test]
fn placeholder_without_media_and_media_without_placeholder_are_reported() {
    let fx = Fixture::new();
    let mut r2 = resp("2");
    r2["output"]["content"] = json!("Response 2: see <image2>, hear <audio2> and watch <video1>.");
    let mut r3 = resp("3");
    r3["output"]["content"] = json!("Response 3: see <image2>.");
    let values = vec![resp("1"), r2, r3];
    let texts = parts(&values);
    let path = fx.responses(&values);
    let text = join(&texts);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();

    let p = one(&r, "placeholder-without-media");
    assert_eq!((&p["id"], &p["item"]), (&json!("2"), &json!("video1")));
    assert_located(&run, p, &path, pos_at(&text, part_offset(&texts, 1)));
    let video = item(&r, "2", "video1");
    assert_eq!(video["media"]["status"], "no_entry", "{video}");
    assert_eq!(video["source"], "content_only", "{video}");
    // The union of content and modal is what is scored: an extra video type, StS 2/3.
    assert!(close(value(&r, "2", "sts"), 2.0 / 3.0), "{:#}", instance(&r, "2"));
    assert_eq!(value(&r, "2", "les"), Some(1.0));

    let p = one(&r, "media-without-placeholder");
    assert_eq!((&p["id"], &p["item"]), (&json!("3"), &json!("audio2")));
    assert_located(&run, p, &path, pos_at(&text, part_offset(&texts, 2)));
    assert_eq!(item(&r, "3", "audio2")["source"], "modal_only");
    assert_scored(&r, &["1", "3"]);
}

// ------------------------------------------------------------------------------------------
// 7. Missing media file
// ------------------------------------------------------------------------------------------

#[test]
fn missing_media_file_is_reported_and_explains_the_missing_gq() {
    let fx = Fixture::new();
    let path = fx.responses(&[resp("1"), resp("2"), resp("3")]);
    let missing = fx.path("image/r2.png");
    std::fs::remove_file(&missing).unwrap();
    let gq = fx.write(
        "gq.jsonl",
        &jsonl(&[
            json!({ "id": "1", "scores": { "image2": 90, "audio2": 70 } }),
            json!({ "id": "2", "scores": { "image2": null, "audio2": 80 } }),
            json!({ "id": "3", "scores": { "image2": 60, "audio2": 40 } }),
        ]),
    );
    let run = score(&fx, &fx.ground_truth(), &path, "out", &["--import-gq", gq.to_str().unwrap()]);
    run.expect_code(PROBLEMS);
    let r = run.report();

    let p = one(&r, "missing-media-file");
    assert_eq!((&p["id"], &p["item"]), (&json!("2"), &json!("image2")));
    assert!(p["message"].as_str().unwrap().contains("r2.png"), "{p}");
    assert!(run.stderr.contains("r2.png"), "{}", run.stderr);

    let image = item(&r, "2", "image2");
    assert_eq!(image["media"]["status"], "missing", "{image}");
    assert!(image["media"]["path"].as_str().unwrap().ends_with("r2.png"), "{image}");
    assert!(image["gq"]["value"].is_null(), "{image}");
    let reason = image["gq"]["reason"].as_str().unwrap();
    assert!(reason.contains("not found") && reason.contains("r2.png"), "the GQ reason names the missing file: {reason}");
    assert_eq!(item(&r, "2", "audio2")["media"]["status"], "present");
    // The item without a score is left out of the mean; the instance keeps its structure.
    assert!(close(value(&r, "2", "gq"), 0.8), "{:#}", instance(&r, "2"));
    assert_eq!(instance(&r, "2")["gq_failed"], 1);
    assert_scored(&r, &["1", "2", "3"]);
    assert!(close(value(&r, "1", "gq"), 0.8));
    assert!(close(value(&r, "3", "gq"), 0.5));
}

// ------------------------------------------------------------------------------------------
// 8. Empty response
// ------------------------------------------------------------------------------------------

#[test]
fn empty_response_scores_zero_and_is_unsupported_unless_declared() {
    let fx = Fixture::new();
    let mut r2 = resp("2");
    r2["output"] = json!({ "content": "", "modal": {} });
    let path = fx.responses(&[resp("1"), r2, resp("3")]);
    let gt_path = fx.ground_truth();

    let run = score(&fx, &gt_path, &path, "inferred", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    assert_eq!(one(&r, "empty-response")["id"], "2");
    assert_eq!(value(&r, "2", "sts"), Some(0.0));
    assert_eq!(value(&r, "2", "les"), Some(0.0));
    assert_scored(&r, &["1", "3"]);
    let csv = run.csv();
    assert_eq!((csv["2"]["supported"].as_str(), csv["2"]["sts"].as_str(), csv["2"]["les"].as_str()), ("false", "0", "0"));
    assert_eq!(csv["1"]["supported"], "true");

    let run = score(&fx, &gt_path, &path, "declared", &["--supports", "image,audio"]);
    run.expect_code(PROBLEMS);
    let csv = run.csv();
    assert_eq!((csv["2"]["supported"].as_str(), csv["2"]["sts"].as_str()), ("true", "0"));
    assert_eq!(csv["1"]["supported"], "true");
    assert_eq!(csv["3"]["supported"], "true");
}

// ------------------------------------------------------------------------------------------
// 9. Bad flags and paths
// ------------------------------------------------------------------------------------------

#[test]
fn eta_outside_the_unit_interval_is_a_usage_error() {
    let fx = Fixture::new();
    let path = fx.responses(&[resp("1")]);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &["--eta-sqcs", "1.5"]);
    run.expect_code(USAGE);
    assert!(run.stderr.contains("--eta-sqcs") && run.stderr.contains("1.5"), "{}", run.stderr);
    assert!(!fx.path("out").join("report.json").exists());
}

#[test]
fn missing_ground_truth_file_cannot_run_and_names_the_path() {
    let fx = Fixture::new();
    let path = fx.responses(&[resp("1")]);
    let absent = fx.path("no_such_ground_truth.json");
    let run = score(&fx, &absent, &path, "out", &[]);
    run.expect_code(COULD_NOT_RUN);
    assert!(run.stderr.contains(&absent.display().to_string()), "{}", run.stderr);
    assert!(!fx.path("out").join("report.json").exists());
}

#[test]
fn report_on_an_empty_folder_cannot_run_and_says_why() {
    let fx = Fixture::new();
    let empty = fx.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = omniscore(&["report".as_ref(), "-o".as_ref(), empty.as_os_str()], &empty);
    run.expect_code(COULD_NOT_RUN);
    assert!(run.stderr.contains(&empty.display().to_string()), "{}", run.stderr);
    assert!(run.stderr.contains("no finished run") && run.stderr.contains("omniscore score"), "{}", run.stderr);
}

// ------------------------------------------------------------------------------------------
// 10. Import files with bad records
// ------------------------------------------------------------------------------------------

#[test]
fn bad_import_records_are_reported_and_the_rest_imported() {
    let fx = Fixture::new();
    let path = fx.responses(&[resp("1"), resp("2"), resp("3")]);
    let sc = fx.write(
        "sc.jsonl",
        "{\"id\": \"1\", \"output\": {\"score\": 4}}\n\
         {\"output\": {\"score\": 3}}\n\
         this line is not JSON\n\
         {\"id\": \"3\", \"output\": {\"score\": 5}}\n",
    );
    let gq = fx.write(
        "gq.jsonl",
        "{\"id\": \"1\", \"scores\": {\"image2\": 250, \"audio2\": 50}}\n\
         {\"id\": \"2\", \"scores\": {\"image2\": 60, \"audio2\": 40}}\n\
         neither is this\n\
         {\"id\": \"3\", \"scores\": {\"image2\": 100, \"audio2\": 0}}\n",
    );
    let run = score(&fx, &fx.ground_truth(), &path, "out", &["--import-sc", sc.to_str().unwrap(), "--import-gq", gq.to_str().unwrap()]);
    run.expect_code(PROBLEMS);
    let r = run.report();

    let import = problems(&r, "import-record");
    assert_eq!(import.len(), 2, "{:#}", r["problems"]);
    let no_id = import.iter().find(|p| p["file"] == sc.display().to_string()).expect("SC record without id");
    assert!(no_id["message"].as_str().unwrap().contains("id"), "{no_id}");
    assert_located(&run, no_id, &sc, (2, 1));
    let out_of_range = import.iter().find(|p| p["file"] == gq.display().to_string()).expect("GQ value 250");
    assert!(out_of_range["message"].as_str().unwrap().contains("250"), "{out_of_range}");
    assert_eq!((&out_of_range["id"], out_of_range["line"].as_u64()), (&json!("1"), Some(1)));

    let malformed = problems(&r, "malformed-json");
    assert_eq!(malformed.len(), 2, "{:#}", r["problems"]);
    let sc_line = malformed.iter().find(|p| p["file"] == sc.display().to_string()).expect("SC non-JSON line");
    assert_located(&run, sc_line, &sc, (3, 1));
    let gq_line = malformed.iter().find(|p| p["file"] == gq.display().to_string()).expect("GQ non-JSON line");
    assert_located(&run, gq_line, &gq, (3, 1));

    // Everything else was imported: SC 4 and 5 on the 1-5 scale, GQ means of the valid items.
    assert!(close(value(&r, "1", "sc"), 0.75));
    assert!(close(value(&r, "3", "sc"), 1.0));
    assert_eq!(value(&r, "2", "sc"), None);
    assert!(instance(&r, "2")["sc"]["reason"].as_str().unwrap().contains("not found"));
    assert!(item(&r, "1", "image2")["gq"]["value"].is_null(), "250 is read as null");
    assert!(close(value(&r, "1", "gq"), 0.5));
    assert!(close(value(&r, "2", "gq"), 0.5));
    assert!(close(value(&r, "3", "gq"), 0.5));
    assert!(value(&r, "1", "sqcs").is_some() && value(&r, "3", "sqcs").is_some());
    assert_scored(&r, &["1", "2", "3"]);
}

// ------------------------------------------------------------------------------------------
// 11. Layouts: pretty-printed stream, JSON array, JSONL
// ------------------------------------------------------------------------------------------

#[test]
fn array_and_jsonl_layouts_score_like_the_pretty_printed_sample() {
    let fx = Fixture::new();
    let sample = sample_dir();
    let read = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(sample.join(name)).unwrap();
        serde_json::Deserializer::from_str(&text).into_iter::<Value>().map(Result::unwrap).collect()
    };
    let (gts, responses) = (read("ground_truth.json"), read("responses.json"));
    assert_eq!((gts.len(), responses.len()), (2, 2));
    let arg = |p: PathBuf| p.to_str().unwrap().to_string();
    let imports: Vec<String> = vec![
        "--import-sc".into(),
        arg(sample.join("official_sc_output.json")),
        "--import-gq".into(),
        arg(sample.join("official_gq_output.json")),
        "--media-root".into(),
        arg(sample.clone()),
    ];
    let imports: Vec<&str> = imports.iter().map(String::as_str).collect();

    let original = score(&fx, &sample.join("ground_truth.json"), &sample.join("responses.json"), "pretty", &imports);
    assert!([OK, PROBLEMS].contains(&original.code), "{}", original.stderr);
    let array = |v: &[Value]| serde_json::to_string_pretty(&Value::Array(v.to_vec())).unwrap();
    let layouts = [
        ("array", fx.write("gt_array.json", &array(&gts)), fx.write("resp_array.json", &array(&responses))),
        ("jsonl", fx.write("gt.jsonl", &jsonl(&gts)), fx.write("resp.jsonl", &jsonl(&responses))),
    ];
    let base = original.report();
    assert_eq!(base["instances"].as_array().unwrap().len(), 2);
    assert!(base["problems"].as_array().unwrap().iter().all(|p| p["kind"] != "malformed-json"));
    for (name, g, r) in &layouts {
        let run = score(&fx, g, r, name, &imports);
        run.expect_code(original.code);
        assert_eq!(run.csv_text(), original.csv_text(), "scores.csv of the {name} layout");
        let report = run.report();
        assert_eq!(report["instances"], base["instances"], "report.json instances of the {name} layout");
        assert_eq!(report["problem_counts"], base["problem_counts"], "problem counts of the {name} layout");
    }
}

// ------------------------------------------------------------------------------------------
// Recovery and locations found wanting once, kept as regressions
// ------------------------------------------------------------------------------------------

#[test]
fn stray_line_with_a_brace_costs_only_itself() {
    let fx = Fixture::new();
    let values = [resp("1"), resp("2"), resp("3")];
    fx.media(&values);
    let lines: Vec<String> = values.iter().map(|v| serde_json::to_string(v).unwrap()).collect();
    let text = format!("{}\noops, this is not JSON {{\n{}\n{}\n", lines[0], lines[1], lines[2]);
    let path = fx.write("responses.jsonl", &text);
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    assert_located(&run, one(&r, "malformed-json"), &path, (2, 1));
    assert!(problems(&r, "missing-response").is_empty(), "{:#}", r["problems"]);
    assert_scored(&r, &["1", "2", "3"]);
}

#[test]
fn problems_found_after_parsing_name_their_place() {
    let fx = Fixture::new();
    let mut r2 = resp("2");
    r2["output"] = json!({ "content": "", "modal": {} });
    let values = vec![resp("1"), r2, resp("4")];
    let texts = parts(&values);
    let path = fx.responses(&values);
    std::fs::remove_file(fx.path("image/r1.png")).unwrap();
    let text = join(&texts);
    let gt_values = [gt("1"), gt("2"), gt("3"), gt("4")];
    let gt_texts = parts(&gt_values);
    let gt_path = fx.write("gt.json", &join(&gt_texts));
    let run = score(&fx, &gt_path, &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    // The response record the problem is in...
    assert_located(&run, one(&r, "missing-media-file"), &path, pos_at(&text, part_offset(&texts, 0)));
    assert_located(&run, one(&r, "empty-response"), &path, pos_at(&text, part_offset(&texts, 1)));
    // ... or, with no response, the ground-truth instance.
    assert_located(&run, one(&r, "missing-response"), &gt_path, pos_at(&join(&gt_texts), part_offset(&gt_texts, 2)));
}

#[test]
fn non_utf8_bytes_cost_only_their_instance() {
    let fx = Fixture::new();
    let values = [resp("1"), resp("2"), resp("3")];
    fx.media(&values);
    let texts = parts(&values);
    let mut bytes = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        if i == 1 {
            // An invalid UTF-8 byte inside the content string of the second instance.
            bytes.extend_from_slice(t.replacen("Response 2", "Response \u{1}2", 1).replace('\u{1}', "\u{FFFF}").as_bytes());
            let at = bytes.windows(3).position(|w| w == "\u{FFFF}".as_bytes()).unwrap();
            bytes.splice(at..at + 3, [0xFFu8]);
        } else {
            bytes.extend_from_slice(t.as_bytes());
        }
    }
    let path = fx.path("responses.json");
    std::fs::write(&path, &bytes).unwrap();
    let run = score(&fx, &fx.ground_truth(), &path, "out", &[]);
    run.expect_code(PROBLEMS);
    let r = run.report();
    assert_eq!(problems(&r, "malformed-json").len(), 1, "{:#}", r["problems"]);
    assert_scored(&r, &["1", "3"]);
}
