//! Document extraction and the `document` scorer on real files: the five PDFs of
//! tests/media/pdf (page counts checked against poppler and pypdf, in
//! tests/fixtures/document/pdf_reference.json), a hand-made text PDF, a scanned PDF without a text
//! layer, broken/encrypted PDFs, and markdown/HTML/plain text with known structure.

use omniscore::media::document::{self, DocumentKind};
use omniscore::media::MediaError;
use omniscore::quality::{registry, QualityScore, Scorer, ScorerContext};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/document").join(name)
}

fn scorer() -> Box<dyn Scorer> {
    registry::build("document", &ScorerContext::cpu()).expect("the document scorer is registered")
}

fn detail(s: &QualityScore, k: &str) -> f64 {
    *s.details.get(k).unwrap_or_else(|| panic!("no detail {k} in {s:?}"))
}

#[test]
fn the_media_pdfs_extract_with_their_reference_page_counts() {
    let dir = root().join("tests/media/pdf");
    if !dir.is_dir() {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", dir.display());
        return;
    }
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("pdf_reference.json")).unwrap()).unwrap();
    let scorer = scorer();
    for (name, want) in reference["files"].as_object().unwrap() {
        let path = dir.join(name);
        if !want["valid"].as_bool().unwrap() {
            let err = document::extract(&path).unwrap_err();
            println!("{name}: {err}");
            assert!(matches!(err, MediaError::Decode { .. }), "{err:?}");
            assert!(err.to_string().contains(name.as_str()), "{err}");
            assert!(scorer.score_path(&path).is_err());
            continue;
        }
        let doc = document::extract(&path).unwrap_or_else(|e| panic!("{e}"));
        let pages = want["pages"].as_u64().unwrap() as usize;
        assert_eq!(doc.page_count(), pages, "{name}");
        assert_eq!(doc.kind, DocumentKind::Pdf);
        assert_eq!(doc.failed_pages().count(), 0, "{name}: {:?}", doc.failed_pages().collect::<Vec<_>>());
        let ours = doc.text_chars() as f64;
        let poppler: f64 = want["text_chars"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
        let s = scorer.score_path(&path).unwrap();
        println!(
            "{name}: {pages} pages, {ours} chars (pdftotext {poppler}), {} headings, score {:?} reason {:?}",
            doc.structure.headings.len(),
            s.score,
            s.reason
        );
        // Different extractors split ligatures, hyphens and spacing differently; the amount of
        // text must still agree.
        assert!((ours - poppler).abs() <= 0.25 * poppler + 10.0, "{name}: {ours} vs pdftotext {poppler}");
        assert_eq!(detail(&s, "pages"), pages as f64);
        if pages > 1 {
            assert!(s.score.unwrap() > 0.7, "{name}: {s:?}");
        }
    }
}

#[test]
fn a_text_pdf_gives_pages_headings_and_paragraphs() {
    let doc = document::extract(&fixture("text.pdf")).unwrap();
    assert_eq!(doc.page_count(), 2);
    assert!(doc.pages[0].text.contains("The survey team visited eleven sites"), "{}", doc.pages[0].text);
    assert!(doc.pages[1].text.contains("Monitoring should continue monthly"), "{}", doc.pages[1].text);
    let headings: Vec<(u8, &str, u32)> = doc.structure.headings.iter().map(|h| (h.level, h.text.as_str(), h.page)).collect();
    assert_eq!(
        headings,
        vec![
            (1, "Quarterly Field Report", 1),
            (2, "1 Introduction", 1),
            (2, "2 Methods", 1),
            (2, "3 Results", 2),
            (2, "4 Conclusions", 2)
        ]
    );
    assert!(doc.structure.paragraphs >= 5, "{:?}", doc.structure);
    let s = scorer().score_path(&fixture("text.pdf")).unwrap();
    assert!(s.score.unwrap() > 0.75, "{s:?}");
    assert_eq!(detail(&s, "word_share"), 1.0);
    assert_eq!(detail(&s, "garbage_ratio"), 0.0);
    // A PDF whose owner password locks nothing opens without one.
    let locked = document::extract(&fixture("owner-locked.pdf")).unwrap();
    assert_eq!(locked.text(), doc.text());
}

#[test]
fn a_scanned_pdf_without_a_text_layer_says_so() {
    let doc = document::extract(&fixture("scanned.pdf")).unwrap();
    assert_eq!((doc.page_count(), doc.text_chars(), doc.pages[0].images), (1, 0, 1));
    let s = scorer().score_path(&fixture("scanned.pdf")).unwrap();
    assert_eq!(s.score, None, "{s:?}");
    assert!(s.reason.as_deref().unwrap().starts_with("no text layer (scanned?)"), "{s:?}");
}

#[test]
fn broken_and_encrypted_pdfs_are_clear_errors() {
    for (name, want) in [
        ("truncated.pdf", "truncated.pdf: cannot decode"),
        ("garbage.pdf", "garbage.pdf: cannot decode"),
        ("encrypted.pdf", "encrypted PDF: a password is needed"),
    ] {
        let err = document::extract(&fixture(name)).unwrap_err().to_string();
        println!("{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(err.contains(name), "{err}");
        assert!(scorer().score_path(&fixture(name)).is_err());
    }
    // A PDF extension on something that is not a PDF, and a missing file.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.pdf");
    std::fs::write(&fake, "just some text").unwrap();
    assert!(document::extract(&fake).unwrap_err().to_string().contains("not a PDF"));
    let gone = document::extract(&dir.path().join("gone.pdf")).unwrap_err();
    assert!(matches!(gone, MediaError::NotFound { .. }), "{gone:?}");
    // Every prefix of a real PDF is an error or a document, never a panic that escapes.
    let bytes = std::fs::read(fixture("text.pdf")).unwrap();
    for cut in (16..bytes.len()).step_by(97) {
        let p = dir.path().join(format!("cut{cut}.pdf"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let _ = document::extract(&p);
    }
}

#[test]
fn markdown_structure_is_detected() {
    let doc = document::extract(&fixture("report.md")).unwrap();
    assert_eq!(doc.kind, DocumentKind::Markdown);
    let st = &doc.structure;
    let titles: Vec<&str> = st.headings.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(titles, vec!["Bridge Inspection Summary", "Findings", "Load rating", "Recommendations"]);
    assert_eq!(st.headings.iter().map(|h| h.level).collect::<Vec<_>>(), vec![1, 2, 2, 2]);
    assert_eq!((st.paragraphs, st.lists, st.list_items, st.tables, st.code_blocks), (2, 2, 6, 1, 1), "{st:?}");
    let s = scorer().score_path(&fixture("report.md")).unwrap();
    assert!(s.score.unwrap() > 0.9, "{s:?}");
}

#[test]
fn html_text_keeps_headings_and_drops_markup() {
    let doc = document::extract(&fixture("page.html")).unwrap();
    assert_eq!(doc.kind, DocumentKind::Html);
    let h: Vec<(u8, &str)> = doc.structure.headings.iter().map(|h| (h.level, h.text.as_str())).collect();
    assert_eq!(
        h,
        vec![(1, "Community Garden Handbook"), (2, "Plots & membership"), (2, "Rules"), (3, "Opening hours")]
    );
    let st = &doc.structure;
    assert_eq!((st.paragraphs, st.lists, st.list_items, st.tables), (3, 1, 3, 1), "{st:?}");
    let text = doc.text();
    assert!(text.contains("Weekdays\t07:00–20:00"), "{text}");
    for hidden in ["font-family", "DOMContentLoaded", "Old section", "<p>"] {
        assert!(!text.contains(hidden), "{hidden} leaked into {text}");
    }
}

#[test]
fn clean_and_organised_text_ranks_above_mojibake_and_walls_of_text() {
    let scorer = scorer();
    let score = |name: &str| scorer.score_path(&fixture(name)).unwrap();
    let (clean, garbled) = (score("typography.txt"), score("mojibake.txt"));
    println!("typography {:?} mojibake {:?}", clean.score, garbled.score);
    assert!(detail(&garbled, "mojibake_ratio") > 0.0 && detail(&clean, "mojibake_ratio") == 0.0);
    assert!(clean.score.unwrap() > garbled.score.unwrap(), "{clean:?} vs {garbled:?}");
    let (notes, wall) = (score("notes.txt"), score("wall.txt"));
    println!("notes {:?} wall {:?}", notes.score, wall.score);
    assert!(detail(&notes, "headings") >= 1.0 && detail(&notes, "list_items") == 3.0, "{notes:?}");
    assert!(notes.score.unwrap() > wall.score.unwrap() + 0.1, "{notes:?} vs {wall:?}");
    // Inline document text is read as markdown.
    let md = std::fs::read_to_string(fixture("report.md")).unwrap();
    assert_eq!(scorer.score_text(&md).unwrap().score, score("report.md").score);
    let empty = scorer.score_text("  \n ").unwrap();
    assert_eq!(empty.score, Some(0.0));
}
