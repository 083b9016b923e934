//! Documents: text per page and structure (headings, paragraphs, lists, tables) from PDF,
//! markdown, HTML and plain text. Decoding only; `quality::document` judges, the captioner reuses
//! [`extract`].
//!
//! The kind comes from the extension (`pdf`; `md`/`markdown`; `html`/`htm`/`xhtml`; anything else
//! is plain text), except that a file starting with `%PDF-` is always read as a PDF.

mod markup;
mod pdf;
mod structure;

pub use structure::{Heading, Structure};

use super::MediaError;
use std::path::{Path, PathBuf};

/// Files above this are refused before reading (a PDF is parsed in memory).
pub const MAX_DOCUMENT_BYTES: u64 = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Markdown,
    Html,
    Text,
}

impl DocumentKind {
    pub fn name(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Markdown => "markdown",
            DocumentKind::Html => "html",
            DocumentKind::Text => "text",
        }
    }
}

/// One page (PDF) or the whole text (other kinds: a single page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// From 1.
    pub number: u32,
    pub text: String,
    /// Image XObjects the page draws from its resources (PDF only): a page with images and no
    /// text is most likely a scan.
    pub images: usize,
    /// Why the page's text could not be extracted (the rest of the document still was).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub path: PathBuf,
    pub kind: DocumentKind,
    pub pages: Vec<Page>,
    pub structure: Structure,
    /// The bytes were not UTF-8 and were read as Latin-1 (text kinds only).
    pub latin1_fallback: bool,
}

impl Document {
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// All pages' text, pages separated by a form feed.
    pub fn text(&self) -> String {
        self.pages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n\u{c}\n")
    }

    /// Pages whose text could not be extracted.
    pub fn failed_pages(&self) -> impl Iterator<Item = &Page> {
        self.pages.iter().filter(|p| p.error.is_some())
    }

    /// Non-whitespace characters of text over all pages.
    pub fn text_chars(&self) -> usize {
        self.pages.iter().map(|p| p.text.chars().filter(|c| !c.is_whitespace()).count()).sum()
    }
}

/// The kind `path` is read as (by extension; the `%PDF-` magic wins when the file has it).
pub fn kind_of(path: &Path, head: &[u8]) -> DocumentKind {
    if head.starts_with(b"%PDF-") {
        return DocumentKind::Pdf;
    }
    match super::extension(path).as_str() {
        "pdf" => DocumentKind::Pdf,
        "md" | "markdown" | "mdown" | "mkd" => DocumentKind::Markdown,
        "html" | "htm" | "xhtml" => DocumentKind::Html,
        _ => DocumentKind::Text,
    }
}

/// Reads a document: its pages' text and its structure.
///
/// Errors name the file: missing or unreadable, too large, binary where text was expected, a
/// PDF that does not parse, is encrypted with a password, or whose every page failed. A PDF
/// whose parser panics (pdf-extract does on some malformed files) is a `Decode` error, never a
/// crash; a page that fails alone is kept with its `error` and the other pages are extracted.
pub fn extract(path: &Path) -> Result<Document, MediaError> {
    let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(MediaError::TooLarge {
            path: path.to_path_buf(),
            detail: format!("{} bytes (limit {MAX_DOCUMENT_BYTES})", meta.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
    let kind = kind_of(path, &bytes[..bytes.len().min(8)]);
    if kind == DocumentKind::Pdf {
        return pdf::extract_pdf(path, &bytes);
    }
    if bytes.contains(&0) {
        return Err(MediaError::unsupported(path, format!("binary file read as {}: it holds NUL bytes", kind.name())));
    }
    let (text, latin1) = decode_text(bytes);
    let mut doc = from_text(&text, kind);
    doc.path = path.to_path_buf();
    doc.latin1_fallback = latin1;
    Ok(doc)
}

/// A document from text already in memory (inline content): markdown, HTML or plain text.
pub fn from_text(text: &str, kind: DocumentKind) -> Document {
    let (page_text, structure) = match kind {
        DocumentKind::Markdown => (text.to_string(), markup::markdown_structure(text)),
        DocumentKind::Html => markup::html_to_text(text),
        // A PDF cannot be inline; its text, if given, is plain text.
        DocumentKind::Text | DocumentKind::Pdf => {
            let lines: Vec<structure::Line> = structure::plain_lines(text);
            (text.to_string(), structure::text_structure(&lines))
        }
    };
    Document {
        path: PathBuf::new(),
        kind,
        pages: vec![Page { number: 1, text: page_text, images: 0, error: None }],
        structure,
        latin1_fallback: false,
    }
}

/// UTF-8 (BOM stripped), UTF-16 with a BOM, else Latin-1 (every byte is a character, so nothing
/// is lost and a legacy-encoded file is not mistaken for garbage).
fn decode_text(bytes: Vec<u8>) -> (String, bool) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        if let Ok(s) = std::str::from_utf8(rest) {
            return (s.to_string(), false);
        }
    }
    for (bom, le) in [([0xFF, 0xFE], true), ([0xFE, 0xFF], false)] {
        if let Some(rest) = bytes.strip_prefix(&bom) {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) })
                .collect();
            return (String::from_utf16_lossy(&units), false);
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => (e.into_bytes().iter().map(|&b| b as char).collect(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_magic_wins_over_the_extension() {
        assert_eq!(kind_of(Path::new("a.txt"), b"%PDF-1.7"), DocumentKind::Pdf);
        assert_eq!(kind_of(Path::new("a.MD"), b"# x"), DocumentKind::Markdown);
        assert_eq!(kind_of(Path::new("a"), b"hello"), DocumentKind::Text);
    }

    #[test]
    fn legacy_bytes_are_read_as_latin1() {
        let (s, latin1) = decode_text(b"caf\xe9".to_vec());
        assert_eq!(s, "café");
        assert!(latin1);
        let (s, latin1) = decode_text("\u{feff}naïve".as_bytes().to_vec());
        assert_eq!((s.as_str(), latin1), ("naïve", false));
    }
}
