//! Structure of line-oriented text (plain text and PDF text): headings, paragraphs, lists and
//! tables, by layout rules rather than markup.
//!
//! Rules, per line:
//! - heading: (PDF) a short line whose characters are mostly set at least
//!   [`HEADING_SIZE_RATIO`] x the body font size (the size carrying the most characters), levels
//!   by size rank, consecutive lines of one level merged (a wrapped title); or a numbered title
//!   `2.1 Methods` of at most 8 words and one comma (multi-level, or single-level and set apart by
//!   blank space); or (plain text) a short ALL-CAPS line set apart by blank space;
//! - list item: a bullet (`-`, `*`, `+`, `•`, `◦`, `▪`, `‣`, `–`) or `1.`/`1)`/`a)`/`(a)` and text;
//!   consecutive items form one list;
//! - table: at least [`TABLE_MIN_ROWS`] consecutive lines of at least 3 cells split by tabs, runs
//!   of 2+ spaces, or `|` (PDF text keeps single spaces only, so PDF tables are not detected);
//! - paragraph: a run of other lines, broken by blank space, headings, lists and tables.

use regex::Regex;
use std::sync::LazyLock;

/// A line this much larger than the body text is a heading candidate.
pub const HEADING_SIZE_RATIO: f64 = 1.15;
/// Headings are short.
pub const MAX_HEADING_CHARS: usize = 120;
const MAX_NUMBERED_HEADING_CHARS: usize = 80;
/// Numbered headings are a few words without a list of names (a numbered reference is not one).
const MAX_NUMBERED_HEADING_WORDS: usize = 8;
const MAX_HEADING_COMMAS: usize = 1;
const MAX_CAPS_HEADING_CHARS: usize = 60;
pub const TABLE_MIN_ROWS: usize = 3;
const TABLE_MIN_CELLS: usize = 3;
const MAX_HEADING_LEVEL: u8 = 6;
/// Font sizes are compared in steps of this many points (PDF sizes carry rounding noise).
const SIZE_STEP: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    /// 1 (top) to 6.
    pub level: u8,
    pub text: String,
    /// The page it is on, from 1.
    pub page: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Structure {
    pub headings: Vec<Heading>,
    pub paragraphs: usize,
    /// Non-whitespace characters per paragraph, on average (0 without paragraphs).
    pub mean_paragraph_chars: f64,
    pub list_items: usize,
    pub lists: usize,
    pub tables: usize,
    /// Fenced or `<pre>` code blocks (markdown and HTML).
    pub code_blocks: usize,
}

/// One line of laid-out text.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    /// Font size in points (PDF), None for plain text.
    pub size: Option<f64>,
    /// Blank space (a blank line, a large vertical jump, a page break) precedes it.
    pub gap_before: bool,
    pub page: u32,
}

/// Non-blank lines of plain text, marking those that follow a blank line.
pub fn plain_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut gap = true;
    for raw in text.lines() {
        let t = raw.trim_end();
        if t.trim().is_empty() {
            gap = true;
            continue;
        }
        out.push(Line { text: t.to_string(), size: None, gap_before: gap, page: 1 });
        gap = false;
    }
    out
}

static LIST_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([-*+•◦▪‣–∙]|\d{1,3}[.)]|[a-z][)]|\([a-z0-9]{1,3}\))\s+\S").expect("list pattern"));
static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+\p{Lu}").expect("numbered heading pattern"));
static CELL_SPLIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\t+| {2,}|\|").expect("cell pattern"));

fn size_key(size: f64) -> i64 {
    (size / SIZE_STEP).round() as i64
}

/// The font size carrying the most characters (the body text), if lines have sizes.
fn body_size(lines: &[Line]) -> Option<f64> {
    let mut weights: std::collections::BTreeMap<i64, usize> = Default::default();
    for l in lines {
        if let Some(s) = l.size {
            *weights.entry(size_key(s)).or_default() += l.text.chars().filter(|c| !c.is_whitespace()).count();
        }
    }
    weights.into_iter().max_by_key(|(k, w)| (*w, -*k)).map(|(k, _)| k as f64 * SIZE_STEP)
}

fn has_letter(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
}

fn ends_like_sentence(s: &str) -> bool {
    s.trim_end().ends_with(['.', ',', ';', ':'])
}

/// The heading level of line `i`, if it is a heading.
fn heading_level(lines: &[Line], i: usize, body: Option<f64>, sizes: &[i64]) -> Option<u8> {
    let line = &lines[i];
    let text = line.text.trim();
    let chars = text.chars().count();
    if !has_letter(text) || chars > MAX_HEADING_CHARS {
        return None;
    }
    if let (Some(size), Some(body)) = (line.size, body) {
        if size >= body * HEADING_SIZE_RATIO && !text.ends_with(['.', ',']) {
            let rank = sizes.iter().position(|k| *k == size_key(size)).unwrap_or(0);
            return Some((rank as u8 + 1).min(MAX_HEADING_LEVEL));
        }
    }
    let isolated = line.gap_before || lines.get(i + 1).map_or(true, |n| n.gap_before);
    if let Some(c) = NUMBERED.captures(text) {
        let depth = c[1].split('.').count();
        let words = text.split_whitespace().count();
        let commas = text.matches(',').count();
        if chars <= MAX_NUMBERED_HEADING_CHARS
            && words <= MAX_NUMBERED_HEADING_WORDS
            && commas <= MAX_HEADING_COMMAS
            && !ends_like_sentence(text)
            && (depth > 1 || isolated)
        {
            return Some((depth as u8).min(MAX_HEADING_LEVEL));
        }
    }
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if line.size.is_none()
        && isolated
        && chars <= MAX_CAPS_HEADING_CHARS
        && letters.len() >= 2
        && letters.iter().all(|c| c.is_uppercase())
    {
        return Some(1);
    }
    None
}

fn is_table_row(text: &str) -> bool {
    CELL_SPLIT.split(text.trim()).filter(|c| !c.trim().is_empty()).count() >= TABLE_MIN_CELLS
}

/// Headings, paragraphs, lists and tables of laid-out lines (rules in the module doc).
pub fn text_structure(lines: &[Line]) -> Structure {
    let body = body_size(lines);
    // Distinct heading sizes, largest first, give the levels.
    let mut sizes: Vec<i64> = match body {
        Some(b) => lines
            .iter()
            .filter_map(|l| l.size)
            .filter(|s| *s >= b * HEADING_SIZE_RATIO)
            .map(size_key)
            .collect(),
        None => Vec::new(),
    };
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();

    let mut s = Structure::default();
    let mut in_list = false;
    let mut prev_heading = false;
    let mut table_run = 0usize;
    let mut para_chars: Option<usize> = None; // the paragraph being read
    let mut para_total = 0usize;
    let close_para = |para: &mut Option<usize>, s: &mut Structure, total: &mut usize| {
        if let Some(n) = para.take() {
            s.paragraphs += 1;
            *total += n;
        }
    };
    for i in 0..lines.len() {
        let line = &lines[i];
        let text = line.text.trim();
        if line.gap_before {
            close_para(&mut para_chars, &mut s, &mut para_total);
            in_list = false;
        }
        let row = is_table_row(text);
        table_run = if row { table_run + 1 } else { 0 };
        if table_run == TABLE_MIN_ROWS {
            s.tables += 1;
        }
        if let Some(level) = heading_level(lines, i, body, &sizes) {
            close_para(&mut para_chars, &mut s, &mut para_total);
            in_list = false;
            // A heading wrapped over lines (or a cluster of same-size labels) is one heading.
            match s.headings.last_mut() {
                Some(h) if prev_heading && !line.gap_before && h.level == level && h.page == line.page => {
                    h.text.push(' ');
                    h.text.push_str(text);
                }
                _ => s.headings.push(Heading { level, text: text.to_string(), page: line.page }),
            }
            prev_heading = true;
            continue;
        }
        prev_heading = false;
        if LIST_ITEM.is_match(text) {
            close_para(&mut para_chars, &mut s, &mut para_total);
            if !in_list {
                s.lists += 1;
            }
            in_list = true;
            s.list_items += 1;
            continue;
        }
        if row {
            close_para(&mut para_chars, &mut s, &mut para_total);
            continue;
        }
        if in_list && !line.gap_before {
            // A wrapped list item continues its item, not a paragraph.
            continue;
        }
        in_list = false;
        let n = text.chars().filter(|c| !c.is_whitespace()).count();
        para_chars = Some(para_chars.unwrap_or(0) + n);
    }
    close_para(&mut para_chars, &mut s, &mut para_total);
    if s.paragraphs > 0 {
        s.mean_paragraph_chars = para_total as f64 / s.paragraphs as f64;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_structure() {
        let text = "REPORT\n\n1. Introduction\n\nThis is the first paragraph.\nIt wraps.\n\nSecond paragraph here.\n\n\
                    - one\n- two\n  wrapped\n- three\n\n2.1 Methods used\nname  size  kind\na  1  x\nb  2  y\n";
        let s = text_structure(&plain_lines(text));
        let titles: Vec<(&str, u8)> = s.headings.iter().map(|h| (h.text.as_str(), h.level)).collect();
        assert_eq!(titles, vec![("REPORT", 1), ("1. Introduction", 1), ("2.1 Methods used", 2)]);
        assert_eq!(s.paragraphs, 2, "{s:?}");
        assert_eq!((s.lists, s.list_items), (1, 3));
        assert_eq!(s.tables, 1);
    }

    #[test]
    fn larger_type_is_a_heading_by_size_rank() {
        let line = |t: &str, size: f64, gap: bool| Line { text: t.into(), size: Some(size), gap_before: gap, page: 1 };
        let lines = vec![
            line("Big Title", 24.0, true),
            line("Section", 14.0, true),
            line("Body text that is long enough to dominate the character count.", 10.0, true),
            line("More body text that is long enough to dominate.", 10.0, false),
        ];
        let s = text_structure(&lines);
        let got: Vec<(&str, u8)> = s.headings.iter().map(|h| (h.text.as_str(), h.level)).collect();
        assert_eq!(got, vec![("Big Title", 1), ("Section", 2)]);
        assert_eq!(s.paragraphs, 1);
    }
}
