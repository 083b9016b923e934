//! The placeholder grammar: the one place that decides what counts as an item reference in
//! `content`, and how `content` placeholders reconcile with `modal` keys.
//!
//! Accepted, case-insensitively: `<image1>`, `< image 1 >`, `<Image_1>`, `<threeD1>`, `<3d1>`,
//! and closing forms `</audio1>` (so `<audio1>...</audio1>` is one item). A `<name N>` whose name
//! is not a modality is reported as unknown when the name has at least
//! [`MIN_UNKNOWN_NAME_LEN`] letters (shorter ones are HTML such as `<h1>`).

use super::modality::{Modality, Tag};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Names shorter than this (`h1`, `td2`) are taken for markup, not unknown placeholders.
pub const MIN_UNKNOWN_NAME_LEN: usize = 3;
/// Longest name the grammar considers; longer bracketed words are prose, not placeholders.
const MAX_NAME_LEN: usize = 24;

fn grammar() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            r"<\s*(/?)\s*([A-Za-z3][A-Za-z_\- ]{{0,{MAX_NAME_LEN}}}?)\s*[_\-]?\s*([0-9]{{1,6}})\s*>"
        ))
        .expect("placeholder grammar is a valid regex")
    })
}

/// What one `content` string refers to.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ContentScan {
    /// Distinct item tags, opening or closing form.
    pub tags: BTreeSet<Tag>,
    /// Placeholder-shaped text whose name is not a modality, as written.
    pub unknown: Vec<String>,
}

/// Finds every placeholder in `content`.
pub fn scan_content(content: &str) -> ContentScan {
    let mut scan = ContentScan::default();
    // Cheap pre-check: most of a long answer has no '<' at all.
    if !content.contains('<') {
        return scan;
    }
    for cap in grammar().captures_iter(content) {
        let name = cap[2].trim();
        let Ok(index) = cap[3].parse::<u32>() else { continue };
        match Modality::parse_name(name) {
            Some(m) => {
                scan.tags.insert(Tag::new(m, index));
            }
            None => {
                let letters = name.chars().filter(|c| c.is_ascii_alphabetic()).count();
                if letters >= MIN_UNKNOWN_NAME_LEN {
                    scan.unknown.push(cap[0].to_string());
                }
            }
        }
    }
    scan
}

/// Rewrites every recognised placeholder with `replace(tag)`; where it returns None (and for
/// closing tags) the text is kept as written.
pub fn substitute(content: &str, mut replace: impl FnMut(Tag) -> Option<String>) -> String {
    if !content.contains('<') {
        return content.to_string();
    }
    grammar()
        .replace_all(content, |cap: &regex::Captures| {
            let tag = match (Modality::parse_name(cap[2].trim()), cap[3].parse::<u32>()) {
                (Some(m), Ok(i)) if cap[1].is_empty() => Some(Tag::new(m, i)),
                _ => None,
            };
            tag.and_then(&mut replace).unwrap_or_else(|| cap[0].to_string())
        })
        .into_owned()
}

/// Where an item was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemSource {
    Both,
    ContentOnly,
    ModalOnly,
}

/// The reconciled items of one side (`input` or `output`), and what disagreed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reconciled {
    pub items: BTreeMap<Tag, ItemSource>,
    pub unknown_placeholders: Vec<String>,
}

impl Reconciled {
    pub fn content_only(&self) -> impl Iterator<Item = Tag> + '_ {
        self.with_source(ItemSource::ContentOnly)
    }

    pub fn modal_only(&self) -> impl Iterator<Item = Tag> + '_ {
        self.with_source(ItemSource::ModalOnly)
    }

    fn with_source(&self, source: ItemSource) -> impl Iterator<Item = Tag> + '_ {
        self.items.iter().filter(move |(_, s)| **s == source).map(|(t, _)| *t)
    }
}

/// Joins `content` placeholders with `modal` keys: an item is in either (their union), and each
/// one-sided item is kept so the caller can report it.
pub fn reconcile<'a>(content: &str, modal_tags: impl IntoIterator<Item = &'a Tag>) -> Reconciled {
    let scan = scan_content(content);
    let modal: BTreeSet<Tag> = modal_tags.into_iter().copied().collect();
    let mut items = BTreeMap::new();
    for tag in scan.tags.union(&modal) {
        let source = match (scan.tags.contains(tag), modal.contains(tag)) {
            (true, true) => ItemSource::Both,
            (true, false) => ItemSource::ContentOnly,
            _ => ItemSource::ModalOnly,
        };
        items.insert(*tag, source);
    }
    Reconciled { items, unknown_placeholders: scan.unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        scan_content(s).tags.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn accepts_loose_spellings() {
        assert_eq!(tags("see <image1> and < image 2 >"), ["image1", "image2"]);
        assert_eq!(tags("<AUDIO1>hello</audio1>"), ["audio1"]);
        assert_eq!(tags("<threeD1> <3d2> <three_d3>"), ["threeD1", "threeD2", "threeD3"]);
        assert_eq!(tags("<Image_4> <video-5> <document 6> <code7> <text8>"),
            ["text8", "image4", "video5", "document6", "code7"]);
        assert_eq!(tags("<image1> twice <image1>"), ["image1"]);
    }

    #[test]
    fn ignores_markup_and_prose() {
        assert!(tags("<h1>Title</h1> a < b and c > d, x<2> 3 < 4 >").is_empty());
        assert!(scan_content("<h1>Title</h1>").unknown.is_empty());
        assert!(tags("image1 without brackets").is_empty());
    }

    #[test]
    fn reports_unknown_names() {
        let s = scan_content("a <hologram1> and <image1>");
        assert_eq!(s.unknown, ["<hologram1>"]);
        assert_eq!(s.tags.len(), 1);
    }

    #[test]
    fn substitutes_in_place() {
        let out = substitute("a < image 2 > b <audio1>x</audio1> <h1>", |t| {
            (t.modality == Modality::Image).then(|| format!("<{t}: red apple>"))
        });
        assert_eq!(out, "a <image2: red apple> b <audio1>x</audio1> <h1>");
    }

    #[test]
    fn reconciles_both_ways() {
        let modal = [Tag::new(Modality::Video, 1), Tag::new(Modality::Image, 3)];
        let r = reconcile("Observe <video1>, hear <audio2>", &modal);
        assert_eq!(r.items.len(), 3);
        assert_eq!(r.content_only().map(|t| t.to_string()).collect::<Vec<_>>(), ["audio2"]);
        assert_eq!(r.modal_only().map(|t| t.to_string()).collect::<Vec<_>>(), ["image3"]);
        assert_eq!(r.items[&Tag::new(Modality::Video, 1)], ItemSource::Both);
    }
}
