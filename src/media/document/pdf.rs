//! PDF text per page with pdf-extract (on lopdf), keeping each line's font size so headings can
//! be found by size.
//!
//! pdf-extract panics on some malformed files (`unwrap`s on page dictionaries, a missing
//! `MediaBox`, odd fonts). Loading and each page run under `catch_unwind`: a panic while loading
//! is a `Decode` error naming the file; a panic on one page marks that page failed and the rest
//! is still extracted. The default panic hook still prints the panic message to stderr.

use super::structure::{text_structure, Line};
use super::{Document, DocumentKind, Page};
use crate::media::MediaError;
use pdf_extract::{MediaBox, Object, ObjectId, OutputDev, OutputError, Transform};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Line and word breaks follow pdf-extract's `PlainTextOutput`: a vertical move of more than
/// this many font sizes is blank space between blocks...
const BLOCK_GAP: f64 = 1.5;
/// ...a move down (and back left) of more than this many is a new line...
const LINE_GAP: f64 = 0.5;
/// ...and a horizontal gap over this many font sizes is a space.
const WORD_GAP: f64 = 0.1;

/// Collects one page's lines with their font sizes.
#[derive(Default)]
struct LineCollector {
    page_height: f64,
    lines: Vec<Line>,
    current: String,
    /// Characters per font size (in 1/100 pt) on the current line: the line's size is the one
    /// most of its characters have, so one large symbol does not make a line a heading.
    current_sizes: Vec<(i64, usize)>,
    gap_before: bool,
    last_end: f64,
    last_y: f64,
    word_start: bool,
    page: u32,
}

impl LineCollector {
    fn new(page: u32) -> LineCollector {
        LineCollector { last_end: f64::INFINITY, gap_before: true, page, ..Default::default() }
    }

    fn break_line(&mut self, gap: bool) {
        let text = self.current.trim();
        if !text.is_empty() {
            let size = self.current_sizes.iter().max_by_key(|(k, n)| (*n, *k)).map(|(k, _)| *k as f64 / 100.0);
            self.lines.push(Line {
                text: text.to_string(),
                size,
                gap_before: self.gap_before,
                page: self.page,
            });
            self.gap_before = false;
        }
        self.current.clear();
        self.current_sizes.clear();
        self.gap_before |= gap;
    }
}

impl OutputDev for LineCollector {
    fn begin_page(&mut self, _page: u32, media_box: &MediaBox, _art: Option<(f64, f64, f64, f64)>) -> Result<(), OutputError> {
        self.page_height = media_box.ury - media_box.lly;
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), OutputError> {
        self.break_line(true);
        Ok(())
    }
    fn output_character(&mut self, trm: &Transform, width: f64, _spacing: f64, font_size: f64, ch: &str) -> Result<(), OutputError> {
        // The text matrix maps glyph space to the page; the size on the page is the geometric
        // mean of the scaled font size along both axes (as pdf-extract computes it).
        let sx = font_size * (trm.m11 + trm.m21);
        let sy = font_size * (trm.m12 + trm.m22);
        let size = (sx * sy).abs().sqrt();
        let (x, y) = (trm.m31, self.page_height - trm.m32);
        if self.word_start {
            let dy = (y - self.last_y).abs();
            if dy > size * BLOCK_GAP {
                self.break_line(true);
            } else if x < self.last_end && dy > size * LINE_GAP {
                self.break_line(false);
            } else if x > self.last_end + size * WORD_GAP {
                self.current.push(' ');
            }
        }
        self.current.push_str(ch);
        if size.is_finite() && !ch.trim().is_empty() {
            let key = (size * 100.0).round() as i64;
            match self.current_sizes.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => self.current_sizes.push((key, 1)),
            }
        }
        self.word_start = false;
        self.last_y = y;
        self.last_end = x + width * size;
        Ok(())
    }
    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.word_start = true;
        Ok(())
    }
    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// The message a caught panic carries.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Image XObjects in the page's resources (inherited resources included).
fn count_images(doc: &pdf_extract::Document, page: ObjectId) -> usize {
    let Ok((own, inherited)) = doc.get_page_resources(page) else { return 0 };
    let mut dicts: Vec<&pdf_extract::Dictionary> = own.into_iter().collect();
    dicts.extend(inherited.into_iter().filter_map(|id| doc.get_dictionary(id).ok()));
    let mut seen = std::collections::BTreeSet::new();
    for res in dicts {
        let xobjects = match res.get(b"XObject") {
            Ok(Object::Reference(id)) => doc.get_dictionary(*id).ok(),
            Ok(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        for (name, value) in xobjects.into_iter().flat_map(|d| d.iter()) {
            let is_image = match value {
                Object::Reference(id) => doc
                    .get_object(*id)
                    .and_then(Object::as_stream)
                    .ok()
                    .and_then(|s| s.dict.get(b"Subtype").ok())
                    .and_then(|o| o.as_name().ok())
                    .is_some_and(|n| n == b"Image"),
                _ => false,
            };
            if is_image {
                seen.insert(name.clone());
            }
        }
    }
    seen.len()
}

pub(super) fn extract_pdf(path: &Path, bytes: &[u8]) -> Result<Document, MediaError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(MediaError::decode(path, "not a PDF: no %PDF- header"));
    }
    let loaded = catch_unwind(|| pdf_extract::Document::load_mem(bytes))
        .map_err(|p| MediaError::decode(path, format!("the PDF parser panicked: {}", panic_message(&*p))))?;
    let mut doc = loaded.map_err(|e| MediaError::decode(path, format!("PDF does not parse: {e}")))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        // lopdf already tried the empty user password while loading; what is left needs one.
        return Err(MediaError::unsupported(path, "encrypted PDF: a password is needed to read its text"));
    }
    let page_ids = doc.get_pages();
    if page_ids.is_empty() {
        return Err(MediaError::decode(path, "the PDF has no pages (its page tree is empty or broken)"));
    }
    let mut pages = Vec::with_capacity(page_ids.len());
    let mut all_lines = Vec::new();
    for (&number, &id) in &page_ids {
        let images = count_images(&doc, id);
        let run = catch_unwind(AssertUnwindSafe(|| {
            let mut out = LineCollector::new(number);
            pdf_extract::output_doc_page(&doc, &mut out, number).map(|_| out.lines)
        }));
        let (lines, error) = match run {
            Ok(Ok(lines)) => (lines, None),
            Ok(Err(e)) => (Vec::new(), Some(format!("page {number}: {e}"))),
            Err(p) => (Vec::new(), Some(format!("page {number}: the PDF text extractor panicked: {}", panic_message(&*p)))),
        };
        let mut text = String::new();
        for l in &lines {
            if l.gap_before && !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&l.text);
            text.push('\n');
        }
        all_lines.extend(lines);
        pages.push(Page { number, text, images, error });
    }
    if pages.iter().all(|p| p.error.is_some()) {
        let first = pages[0].error.clone().unwrap_or_default();
        return Err(MediaError::decode(path, format!("no page's text could be extracted ({} pages; {first})", pages.len())));
    }
    Ok(Document {
        path: path.to_path_buf(),
        kind: DocumentKind::Pdf,
        structure: text_structure(&all_lines),
        pages,
        latin1_fallback: false,
    })
}
