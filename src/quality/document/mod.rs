//! The `document` scorer: is the text extractable and clean, and is it organised?
//!
//! Decoding is `media::document::extract` (PDF per page with pdf-extract, markdown, HTML, plain
//! text). Mapping to [0, 1] (higher is better), every sub-measure in the details:
//! - `extractability` = 0.3 `density` + 0.4 `word_share` + 0.3 `clean`, where
//!   `density` = min(1, `chars_per_page` / 500) for PDFs (a page of prose carries 1500-3500
//!   non-whitespace characters; a slide 200-500) and min(1, chars / 50) for the other kinds (their
//!   length is the author's choice, only a near-empty text is penalised); `word_share` = share of
//!   tokens that look like words or numbers (see [`text_stats`]); `clean` = 1 - min(1, 20 x
//!   `garbage_ratio`), garbage being U+FFFD, control and private-use characters (unmapped PDF
//!   glyphs) and UTF-8-read-as-Latin-1 mojibake (`Ã©`, `â€™`).
//! - `structure` = 0.4 headings + 0.4 paragraphs + 0.2 organisation: headings is 1 when there is
//!   one (or the text is under 1000 characters, too short to need any), else 0; paragraphs is
//!   min(1, paragraphs / 2) x min(1, 2500 / mean paragraph length) (a wall of text loses);
//!   organisation is 1 with lists, tables, code blocks or 3+ headings, else 0.5.
//! - score = 0.7 extractability + 0.3 structure; raw = text characters per page.
//! - A PDF without any text but with images is not scored (null, reason "no text layer
//!   (scanned?)"): without OCR nothing can be said about its content, and scoring it low would
//!   mix "scanned" with "bad". A PDF with neither text nor images, and empty text files, score 0.
//!   Pages with images and no text in an otherwise textual PDF count as empty pages (lower
//!   density) and are named in the reason. Pages that failed to extract are also named.
//! - Encrypted, truncated or broken PDFs are errors naming the file.

pub mod text_stats;

use super::{QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::media::document::{self, Document, DocumentKind};
use std::path::Path;

pub const NAME: &str = "document";
const VERSION: &str = "1";

const W_EXTRACTABILITY: f64 = 0.7;
const W_STRUCTURE: f64 = 0.3;
const W_DENSITY: f64 = 0.3;
const W_WORDS: f64 = 0.4;
const W_CLEAN: f64 = 0.3;
/// Non-whitespace characters per PDF page that count as a fully textual page.
const TARGET_CHARS_PER_PAGE: f64 = 500.0;
/// Below this many characters a markdown/HTML/text document is near-empty.
const MIN_TEXT_CHARS: f64 = 50.0;
/// Each 1 % of garbage characters costs 20 % of the clean term (mojibake is glaring to a reader).
const GARBAGE_PENALTY: f64 = 20.0;
const W_HEADINGS: f64 = 0.4;
const W_PARAGRAPHS: f64 = 0.4;
const W_ORGANISATION: f64 = 0.2;
/// Texts shorter than this need no headings.
const SHORT_TEXT_CHARS: usize = 1000;
const MIN_PARAGRAPHS: f64 = 2.0;
/// A mean paragraph longer than this is a wall of text.
const WALL_OF_TEXT_CHARS: f64 = 2500.0;
const MANY_HEADINGS: usize = 3;
const FLAT_ORGANISATION: f64 = 0.5;

pub fn scorers() -> Vec<ScorerInfo> {
    vec![ScorerInfo {
        name: NAME,
        modality: Modality::Document,
        description: "PDF/markdown/HTML/text: 0.7 extractability (text per page, word-like tokens, no mojibake) + 0.3 structure \
                      (headings, paragraphs, lists/tables); scanned PDF without text -> null; raw = text chars per page",
        lower_better_raw: false,
        default: true,
        build: |_ctx: &ScorerContext| Ok(Box::new(DocumentScorer)),
    }]
}

pub struct DocumentScorer;

impl Scorer for DocumentScorer {
    fn name(&self) -> &'static str {
        NAME
    }
    fn modality(&self) -> Modality {
        Modality::Document
    }
    fn version(&self) -> &'static str {
        VERSION
    }
    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        Ok(score_document(&document::extract(path)?))
    }
    /// Inline document text is read as markdown (plain text is markdown without markup).
    fn score_text(&self, text: &str) -> Result<QualityScore, QualityError> {
        Ok(score_document(&document::from_text(text, DocumentKind::Markdown)))
    }
}

/// Scores an extracted document (mapping in the module doc).
pub fn score_document(doc: &Document) -> QualityScore {
    let pages = doc.page_count().max(1);
    let chars = doc.text_chars();
    let images: usize = doc.pages.iter().map(|p| p.images).sum();
    let failed: Vec<u32> = doc.failed_pages().map(|p| p.number).collect();
    let blank_scans: Vec<u32> = doc
        .pages
        .iter()
        .filter(|p| p.error.is_none() && p.images > 0 && p.text.trim().is_empty())
        .map(|p| p.number)
        .collect();
    let base = QualityScore::default()
        .with_detail("pages", doc.page_count() as f64)
        .with_detail("images", images as f64)
        .with_detail("failed_pages", failed.len() as f64);
    if chars == 0 {
        if doc.kind == DocumentKind::Pdf && images > 0 {
            let mut q = base.with_reason(format!(
                "no text layer (scanned?): {} page(s) with {images} image(s) and no extractable text",
                doc.page_count()
            ));
            q.raw = Some(0.0);
            return q;
        }
        let mut q = QualityScore::new(0.0, 0.0).with_reason("empty document: no extractable text");
        q.details = base.details;
        return q;
    }

    let stats = text_stats::measure(&doc.text());
    let chars_per_page = chars as f64 / pages as f64;
    let density = match doc.kind {
        DocumentKind::Pdf => (chars_per_page / TARGET_CHARS_PER_PAGE).min(1.0),
        _ => (chars as f64 / MIN_TEXT_CHARS).min(1.0),
    };
    let clean = (1.0 - GARBAGE_PENALTY * stats.garbage_ratio()).max(0.0);
    let extractability = W_DENSITY * density + W_WORDS * stats.word_share() + W_CLEAN * clean;

    let st = &doc.structure;
    let headings = if !st.headings.is_empty() || chars < SHORT_TEXT_CHARS { 1.0 } else { 0.0 };
    let wall = if st.mean_paragraph_chars > WALL_OF_TEXT_CHARS { WALL_OF_TEXT_CHARS / st.mean_paragraph_chars } else { 1.0 };
    let paragraphs = (st.paragraphs as f64 / MIN_PARAGRAPHS).min(1.0) * wall;
    let organised = st.lists > 0 || st.tables > 0 || st.code_blocks > 0 || st.headings.len() >= MANY_HEADINGS;
    let organisation = if organised { 1.0 } else { FLAT_ORGANISATION };
    let structure = W_HEADINGS * headings + W_PARAGRAPHS * paragraphs + W_ORGANISATION * organisation;

    let score = W_EXTRACTABILITY * extractability + W_STRUCTURE * structure;
    let mut q = QualityScore::new(score, chars_per_page);
    q.details = base.details;
    let mut q = q
        .with_detail("chars_per_page", chars_per_page)
        .with_detail("density", density)
        .with_detail("word_share", stats.word_share())
        .with_detail("printable_share", stats.printable_share())
        .with_detail("mojibake_ratio", stats.mojibake_ratio())
        .with_detail("garbage_ratio", stats.garbage_ratio())
        .with_detail("extractability", extractability)
        .with_detail("headings", st.headings.len() as f64)
        .with_detail("paragraphs", st.paragraphs as f64)
        .with_detail("mean_paragraph_chars", st.mean_paragraph_chars)
        .with_detail("list_items", st.list_items as f64)
        .with_detail("tables", st.tables as f64)
        .with_detail("code_blocks", st.code_blocks as f64)
        .with_detail("structure", structure)
        .with_detail("pages_without_text", blank_scans.len() as f64);
    let mut reasons = Vec::new();
    if !blank_scans.is_empty() {
        reasons.push(format!("no text layer on page(s) {} (scanned?)", list(&blank_scans)));
    }
    if !failed.is_empty() {
        reasons.push(format!("text of page(s) {} could not be extracted", list(&failed)));
    }
    if doc.latin1_fallback {
        reasons.push("not UTF-8: read as Latin-1".to_string());
    }
    if !reasons.is_empty() {
        q.reason = Some(reasons.join("; "));
    }
    q
}

/// "1, 2, 3" (at most 10, then "... (N in all)").
fn list(pages: &[u32]) -> String {
    const SHOWN: usize = 10;
    let head: Vec<String> = pages.iter().take(SHOWN).map(u32::to_string).collect();
    if pages.len() > SHOWN {
        format!("{}, ... ({} in all)", head.join(", "), pages.len())
    } else {
        head.join(", ")
    }
}
