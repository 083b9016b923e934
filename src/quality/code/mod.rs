//! The `code` scorer: syntactic validity by tree-sitter plus simple structure signals.
//!
//! Language: see [`detect`] (extension or fence tag, shebang, then content heuristics). Grammars:
//! python, rust, javascript, c, java, go, bash. Other languages (and unrecognised code) are scored
//! on the same structure signals with bracket balance standing in for the parse.
//!
//! Mapping to [0, 1] (higher is better), each sub-measure is in the details:
//! - `syntax`: with a grammar, `syntax_valid_share` x exp(-0.35 x `syntax_errors`), because one
//!   error already stops a program from running whatever its length (1 error: x0.70, 2: x0.50,
//!   5: x0.17). `syntax_valid_share` is the share of non-whitespace bytes that are not error
//!   bytes: tokens inside an ERROR node that belong to no complete (error-free, named) construct,
//!   and the line of each MISSING node. `syntax_errors` counts error sites: runs of error bytes
//!   separated by valid code (at least 1 when the tree has any ERROR or MISSING node).
//!   Without a grammar, exp(-0.35 x `unmatched_brackets`).
//! - `structure` = 0.3 nesting + 0.3 long lines + 0.2 definitions + 0.2 comments, where nesting is
//!   1 up to depth 4 and loses 0.15 per level beyond; long lines is 1 - 5 x (share of non-blank
//!   lines over 120 chars); definitions is 1 when a function/class/type is defined or the code is
//!   a snippet of at most 10 non-blank lines, else 0.6; comments is 1 for a comment share of
//!   5-50 % of the non-whitespace bytes, rising linearly from 0.7 at 0 %, falling to 0.3 at 100 %.
//! - score = 0.7 syntax + 0.3 structure; x0.5 when the code is trivially short (< 20
//!   non-whitespace bytes); 0 for empty code; for code in no recognised language, x the
//!   code-likeness min(1, symbol density / 8 %) so that prose handed in as code scores low.
//! - Inline text with fenced blocks is scored per block, blocks weighted by their size.
//!
//! Native value (`raw`): `syntax_valid_share` with a grammar, else the bracket-balance term.
//! `detected_by` in the details says how the language was found: 1 extension, 2 fence tag,
//! 3 shebang, 4 content (absent: not recognised; the reason says so).

pub mod analyze;
pub mod detect;

use super::{QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::media::MediaError;
use analyze::Analysis;
use detect::{DetectedBy, Language};
use std::path::Path;

pub const NAME: &str = "code";
const VERSION: &str = "1";

/// Each syntax error multiplies the syntax term by exp(-ERROR_DECAY).
const ERROR_DECAY: f64 = 0.35;
const W_SYNTAX: f64 = 0.7;
const W_STRUCTURE: f64 = 0.3;
const W_NESTING: f64 = 0.3;
const W_LONG_LINES: f64 = 0.3;
const W_DEFINITIONS: f64 = 0.2;
const W_COMMENTS: f64 = 0.2;
/// Nesting up to this depth is normal; each level beyond costs NESTING_STEP.
const NESTING_OK: usize = 4;
const NESTING_STEP: f64 = 0.15;
/// A share of long lines this many times over costs the whole long-line term.
const LONG_LINE_PENALTY: f64 = 5.0;
/// Snippets this short need not define anything.
const SNIPPET_LINES: usize = 10;
const NO_DEFINITION_SCORE: f64 = 0.6;
const COMMENT_LOW: f64 = 0.05;
const COMMENT_HIGH: f64 = 0.5;
const NO_COMMENT_SCORE: f64 = 0.7;
const ALL_COMMENT_SCORE: f64 = 0.3;
const TRIVIAL_BYTES: usize = 20;
const TRIVIAL_FACTOR: f64 = 0.5;
/// Code has many more of `;{}()[]=<>+*/%&|!:` than prose does (prose: ~1-2 % of its characters).
const CODE_SYMBOL_DENSITY: f64 = 0.08;
/// Larger inputs are refused rather than parsed (the parse is linear, but a response this large is
/// not code anyone wrote by hand).
pub const MAX_CODE_BYTES: usize = 8 << 20;

pub fn scorers() -> Vec<ScorerInfo> {
    vec![ScorerInfo {
        name: NAME,
        modality: Modality::Code,
        description: "tree-sitter syntactic validity (python, rust, javascript, c, java, go, bash; bracket balance otherwise) \
                      0.7 + structure signals 0.3 (nesting, long lines, definitions, comments); raw = valid byte share",
        lower_better_raw: false,
        default: true,
        build: |_ctx: &ScorerContext| Ok(Box::new(CodeScorer)),
    }]
}

/// Stateless: a tree-sitter parser is built per call (cheap, and parsers are not `Sync`).
pub struct CodeScorer;

impl Scorer for CodeScorer {
    fn name(&self) -> &'static str {
        NAME
    }
    fn modality(&self) -> Modality {
        Modality::Code
    }
    fn version(&self) -> &'static str {
        VERSION
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
        if bytes.len() > MAX_CODE_BYTES {
            return Err(MediaError::TooLarge {
                path: path.to_path_buf(),
                detail: format!("{} bytes of code (limit {MAX_CODE_BYTES})", bytes.len()),
            }
            .into());
        }
        if bytes.contains(&0) {
            return Err(MediaError::unsupported(path, "binary file (NUL bytes), not source code").into());
        }
        let (code, lossy) = match String::from_utf8(bytes) {
            Ok(s) => (s, false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
        };
        let detected = detect::detect_path(path, &code);
        let mut score = score_block(&code, detected);
        if lossy {
            score = append_reason(score, "not valid UTF-8 (read lossily)");
        }
        Ok(score)
    }

    fn score_text(&self, text: &str) -> Result<QualityScore, QualityError> {
        if text.len() > MAX_CODE_BYTES {
            return Err(QualityError::Scorer {
                scorer: NAME.into(),
                detail: format!("inline code of {} bytes is over the limit of {MAX_CODE_BYTES}", text.len()),
            });
        }
        Ok(score_inline(text))
    }
}

/// Scores inline code: its fenced blocks when it has any, else the whole text.
pub fn score_inline(text: &str) -> QualityScore {
    let blocks = detect::fenced_blocks(text);
    if blocks.is_empty() {
        return score_block(text, detect::detect_content(text));
    }
    let mut parts = Vec::with_capacity(blocks.len());
    for b in &blocks {
        let detected = match Language::from_tag(&b.tag) {
            Some(l) => Some((l, DetectedBy::FenceTag)),
            None => detect::detect_content(&b.code),
        };
        let mut s = score_block(&b.code, detected);
        if b.unclosed {
            s = append_reason(s, "unclosed code fence (truncated response?)");
        }
        parts.push((b.code.bytes().filter(|c| !c.is_ascii_whitespace()).count().max(1), s));
    }
    let mut merged = merge(parts);
    merged.details.insert("fenced_blocks".into(), blocks.len() as f64);
    merged
}

/// A byte-weighted mean of block scores; counts are summed, shares and terms averaged.
fn merge(parts: Vec<(usize, QualityScore)>) -> QualityScore {
    if parts.len() == 1 {
        return parts.into_iter().next().map(|(_, s)| s).unwrap_or_default();
    }
    const SUMMED: &[&str] = &["syntax_errors", "error_nodes", "missing_nodes", "unmatched_brackets", "definitions", "lines"];
    let total: f64 = parts.iter().map(|(w, _)| *w as f64).sum();
    let mut out = QualityScore::default();
    let (mut score, mut raw) = (0.0, 0.0);
    let mut reasons: Vec<String> = Vec::new();
    for (w, s) in &parts {
        let w = *w as f64 / total;
        score += w * s.score.unwrap_or(0.0);
        raw += w * s.raw.unwrap_or(0.0);
        for (k, v) in &s.details {
            let e = out.details.entry(k.clone()).or_insert(0.0);
            if SUMMED.contains(&k.as_str()) {
                *e += v;
            } else if k == "max_nesting" {
                *e = e.max(*v);
            } else {
                *e += w * v;
            }
        }
        if let Some(r) = &s.reason {
            if !reasons.contains(r) {
                reasons.push(r.clone());
            }
        }
    }
    let mut q = QualityScore::new(score, raw);
    q.details = out.details;
    q.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    q
}

/// Scores one piece of code in a known (or unrecognised) language.
pub fn score_block(code: &str, detected: Option<(Language, DetectedBy)>) -> QualityScore {
    let lang = detected.map(|(l, _)| l);
    let a = analyze::analyze(code, lang);
    if a.code_bytes == 0 {
        return QualityScore::new(0.0, 0.0).with_detail("lines", a.lines as f64).with_reason("empty code");
    }
    let syntax = syntax_term(&a);
    let structure = structure_term(&a);
    let mut score = W_SYNTAX * syntax + W_STRUCTURE * structure;
    let mut reasons: Vec<String> = Vec::new();
    let mut likeness = None;
    match lang {
        None => {
            let l = code_likeness(code);
            likeness = Some(l);
            score *= l;
            reasons.push("language not recognised: syntax estimated from bracket balance".into());
        }
        Some(l) if !a.parsed => reasons.push(format!("no tree-sitter grammar for {}: syntax estimated from bracket balance", l.name())),
        Some(_) => {}
    }
    if a.code_bytes < TRIVIAL_BYTES {
        score *= TRIVIAL_FACTOR;
        reasons.push(format!("trivially short ({} non-whitespace bytes)", a.code_bytes));
    }
    let raw = if a.parsed { a.valid_share() } else { syntax };
    let mut q = QualityScore::new(score, raw)
        .with_detail("syntax", syntax)
        .with_detail("structure", structure)
        .with_detail("grammar", if a.parsed { 1.0 } else { 0.0 })
        .with_detail("definitions", a.definitions as f64)
        .with_detail("comment_ratio", a.comment_ratio())
        .with_detail("max_nesting", a.max_nesting as f64)
        .with_detail("long_line_share", a.long_line_share())
        .with_detail("lines", a.lines as f64);
    if a.parsed {
        q = q
            .with_detail("syntax_valid_share", a.valid_share())
            .with_detail("syntax_errors", a.syntax_errors() as f64)
            .with_detail("error_nodes", a.error_nodes as f64)
            .with_detail("missing_nodes", a.missing_nodes as f64);
    } else {
        q = q.with_detail("unmatched_brackets", a.unmatched_brackets as f64);
    }
    if let Some(l) = likeness {
        q = q.with_detail("code_likeness", l);
    }
    if let Some((_, by)) = detected {
        q = q.with_detail("detected_by", detected_by_code(by));
    }
    if !reasons.is_empty() {
        q.reason = Some(reasons.join("; "));
    }
    q
}

/// `detected_by` detail: 1 extension, 2 fence tag, 3 shebang, 4 content (absent: not recognised).
fn detected_by_code(by: DetectedBy) -> f64 {
    match by {
        DetectedBy::Extension => 1.0,
        DetectedBy::FenceTag => 2.0,
        DetectedBy::Shebang => 3.0,
        DetectedBy::Content => 4.0,
    }
}

pub fn syntax_term(a: &Analysis) -> f64 {
    if a.parsed {
        a.valid_share() * (-ERROR_DECAY * a.syntax_errors() as f64).exp()
    } else {
        (-ERROR_DECAY * a.unmatched_brackets as f64).exp()
    }
}

pub fn structure_term(a: &Analysis) -> f64 {
    let nesting = if a.max_nesting <= NESTING_OK {
        1.0
    } else {
        (1.0 - NESTING_STEP * (a.max_nesting - NESTING_OK) as f64).max(0.0)
    };
    let long_lines = (1.0 - LONG_LINE_PENALTY * a.long_line_share()).max(0.0);
    let definitions = if a.definitions > 0 || a.nonblank_lines <= SNIPPET_LINES { 1.0 } else { NO_DEFINITION_SCORE };
    let r = a.comment_ratio();
    let comments = if r < COMMENT_LOW {
        NO_COMMENT_SCORE + (1.0 - NO_COMMENT_SCORE) * r / COMMENT_LOW
    } else if r <= COMMENT_HIGH {
        1.0
    } else {
        1.0 - (1.0 - ALL_COMMENT_SCORE) * (r - COMMENT_HIGH) / (1.0 - COMMENT_HIGH)
    };
    W_NESTING * nesting + W_LONG_LINES * long_lines + W_DEFINITIONS * definitions + W_COMMENTS * comments
}

/// min(1, density of code symbols / CODE_SYMBOL_DENSITY) over non-whitespace characters.
pub fn code_likeness(code: &str) -> f64 {
    let (mut symbols, mut total) = (0usize, 0usize);
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        total += 1;
        if ";{}()[]=<>+*/%&|!:\"'".contains(c) {
            symbols += 1;
        }
    }
    if total == 0 {
        return 0.0;
    }
    (symbols as f64 / total as f64 / CODE_SYMBOL_DENSITY).min(1.0)
}

fn append_reason(mut q: QualityScore, reason: &str) -> QualityScore {
    q.reason = Some(match q.reason.take() {
        Some(r) => format!("{r}; {reason}"),
        None => reason.to_string(),
    });
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_handed_in_as_code_scores_low() {
        let prose = "I am sorry, but I cannot write this program for you today. Please ask again later.";
        let code = "for (int i = 0; i < n; i++) { total += a[i] * b[i]; }";
        assert!(code_likeness(prose) < 0.3, "{}", code_likeness(prose));
        assert_eq!(code_likeness(code), 1.0);
        let s = score_inline(prose);
        assert!(s.score.unwrap() < 0.4, "{s:?}");
    }

    #[test]
    fn empty_code_scores_zero_with_a_reason() {
        let s = score_inline("   \n\n");
        assert_eq!(s.score, Some(0.0));
        assert_eq!(s.reason.as_deref(), Some("empty code"));
    }

    #[test]
    fn structure_terms_stay_in_range() {
        let mut a = Analysis { parsed: true, code_bytes: 100, nonblank_lines: 50, lines: 50, ..Default::default() };
        assert!((structure_term(&a) - (0.3 + 0.3 + 0.2 * 0.6 + 0.2 * 0.7)).abs() < 1e-12);
        a.max_nesting = 40;
        a.long_lines = 50;
        a.comment_bytes = 100;
        let t = structure_term(&a);
        assert!((0.0..=1.0).contains(&t), "{t}");
    }
}
