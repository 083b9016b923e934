//! The `code` scorer on real programs: every grammar language ranks valid code above the same
//! code with a few brackets/keywords deleted, languages are detected from content alone, and
//! fenced inline code is unwrapped.

use omniscore::quality::code::detect::{self, DetectedBy, Language};
use omniscore::quality::{registry, QualityScore, Scorer, ScorerContext};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code").join(name)
}

fn scorer() -> Box<dyn Scorer> {
    registry::build("code", &ScorerContext::cpu()).expect("the code scorer is registered")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// (valid file, broken file, language)
const PAIRS: &[(&str, &str, Language)] = &[
    ("valid.py", "broken.py", Language::Python),
    ("valid.rs", "broken.rs", Language::Rust),
    ("valid.js", "broken.js", Language::JavaScript),
    ("valid.c", "broken.c", Language::C),
    ("Valid.java", "Broken.java", Language::Java),
    ("valid.go", "broken.go", Language::Go),
    ("valid.sh", "broken.sh", Language::Bash),
];

fn detail(s: &QualityScore, k: &str) -> f64 {
    *s.details.get(k).unwrap_or_else(|| panic!("no detail {k} in {s:?}"))
}

#[test]
fn valid_code_ranks_above_the_same_code_with_syntax_errors_in_every_grammar_language() {
    let scorer = scorer();
    for (valid, broken, lang) in PAIRS {
        let v = scorer.score_path(&fixture(valid)).unwrap();
        let b = scorer.score_path(&fixture(broken)).unwrap();
        let (vs, bs) = (v.score.unwrap(), b.score.unwrap());
        println!(
            "{:<11} valid {vs:.3} (share {:.3}, errors {}) broken {bs:.3} (share {:.3}, errors {})",
            lang.name(),
            detail(&v, "syntax_valid_share"),
            detail(&v, "syntax_errors"),
            detail(&b, "syntax_valid_share"),
            detail(&b, "syntax_errors")
        );
        assert_eq!(detail(&v, "grammar"), 1.0, "{valid}");
        assert_eq!(detail(&v, "syntax_errors"), 0.0, "{valid} parses cleanly: {v:?}");
        assert_eq!(v.raw, Some(1.0), "{valid}");
        assert!(detail(&b, "syntax_errors") >= 1.0, "{broken}: {b:?}");
        assert!(detail(&b, "syntax_valid_share") < 1.0, "{broken}: {b:?}");
        assert!(vs > 0.85, "{valid} scores {vs}: {v:?}");
        assert!(vs - bs > 0.15, "{valid} {vs} vs {broken} {bs}");
        assert!(v.reason.is_none(), "{valid}: {:?}", v.reason);
    }
}

#[test]
fn languages_are_detected_from_content_alone() {
    for (valid, broken, lang) in PAIRS {
        for name in [valid, broken] {
            let got = detect::detect_content(&read(name));
            assert_eq!(got.map(|g| g.0), Some(*lang), "{name}: {got:?}");
        }
    }
    assert_eq!(detect::detect_content(&read("valid.ts")).map(|g| g.0), Some(Language::TypeScript));
    // The bash fixture's shebang decides before any content rule.
    assert_eq!(detect::detect_content(&read("valid.sh")).map(|g| g.1), Some(DetectedBy::Shebang));
    assert_eq!(detect::detect_content(&read("valid.py")).map(|g| g.1), Some(DetectedBy::Content));
    // By path the extension decides.
    let by_path = detect::detect_path(&fixture("valid.go"), "");
    assert_eq!(by_path, Some((Language::Go, DetectedBy::Extension)));
}

#[test]
fn inline_fenced_code_is_unwrapped_and_scored_like_the_file() {
    let scorer = scorer();
    for (valid, broken, lang) in PAIRS {
        let file = scorer.score_path(&fixture(valid)).unwrap();
        let tagged = format!("Here is the program:\n\n```{}\n{}```\n\nIt prints the result.", lang.name(), read(valid));
        let inline = scorer.score_text(&tagged).unwrap();
        assert_eq!(inline.score, file.score, "{valid} inline vs file");
        assert_eq!(detail(&inline, "detected_by"), 2.0, "fence tag decides: {inline:?}");
        // Without a tag the content decides, with the same result.
        let untagged = scorer.score_text(&format!("```\n{}```\n", read(valid))).unwrap();
        assert_eq!(untagged.score, file.score, "{valid} untagged fence");
        let broken_inline = scorer.score_text(&format!("```{}\n{}```", lang.name(), read(broken))).unwrap();
        assert!(inline.score.unwrap() > broken_inline.score.unwrap(), "{valid} inline");
    }
    // Raw inline code (no fence) is detected by content.
    let raw = scorer.score_text(&read("valid.rs")).unwrap();
    assert_eq!(detail(&raw, "detected_by"), 4.0);
    assert_eq!(raw.score, scorer.score_path(&fixture("valid.rs")).unwrap().score);
}

#[test]
fn two_fenced_blocks_are_weighted_by_size() {
    let scorer = scorer();
    let text = format!("```python\n{}```\nand the shell part:\n```bash\n{}```\n", read("valid.py"), read("broken.sh"));
    let s = scorer.score_text(&text).unwrap();
    let py = scorer.score_path(&fixture("valid.py")).unwrap().score.unwrap();
    let sh = scorer.score_path(&fixture("broken.sh")).unwrap().score.unwrap();
    let got = s.score.unwrap();
    assert_eq!(detail(&s, "fenced_blocks"), 2.0);
    assert!(got < py && got > sh, "{sh} < {got} < {py}");
    assert!(detail(&s, "syntax_errors") >= 1.0);
}

#[test]
fn a_language_without_a_grammar_is_scored_by_bracket_balance_and_says_so() {
    let scorer = scorer();
    let v = scorer.score_path(&fixture("valid.ts")).unwrap();
    let b = scorer.score_path(&fixture("broken.ts")).unwrap();
    println!("typescript valid {:?} broken {:?}", v.score, b.score);
    assert_eq!(detail(&v, "grammar"), 0.0);
    assert_eq!(detail(&v, "unmatched_brackets"), 0.0, "{v:?}");
    assert!(detail(&b, "unmatched_brackets") >= 2.0, "{b:?}");
    assert!(v.reason.as_deref().unwrap_or("").contains("no tree-sitter grammar for typescript"), "{v:?}");
    assert!(v.score.unwrap() - b.score.unwrap() > 0.15, "{v:?} vs {b:?}");
}

#[test]
fn bad_inputs_are_errors_or_low_scores_with_reasons() {
    let scorer = scorer();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("blob.py");
    std::fs::write(&bin, [0x7f, b'E', b'L', b'F', 0, 0, 1, 2]).unwrap();
    let err = scorer.score_path(&bin).unwrap_err().to_string();
    assert!(err.contains("blob.py") && err.contains("binary"), "{err}");
    let missing = scorer.score_path(&dir.path().join("nope.rs")).unwrap_err().to_string();
    assert!(missing.contains("nope.rs") && missing.contains("not found"), "{missing}");
    let short = scorer.score_text("```python\nx = 1\n```").unwrap();
    assert!(short.score.unwrap() <= 0.5 && short.reason.unwrap().contains("trivially short"));
    let cut = scorer.score_text("```rust\nfn main() {\n    println!(\"hi\");\n").unwrap();
    assert!(cut.reason.as_deref().unwrap_or("").contains("unclosed code fence"), "{cut:?}");
    assert!(detail(&cut, "syntax_errors") >= 1.0, "{cut:?}");
}
