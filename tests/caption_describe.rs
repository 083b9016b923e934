//! The caption producers that need no neural model, on real files: 3D summaries and rendered
//! views (tests/media/mesh, the benchmark's point clouds), document and code summaries, the
//! speech / music / other / silence description of audio, and video keyframes with the
//! time-ordered merge. Files in tests/media come from scripts/fetch-test-media.sh and those in
//! ../shared/data from the benchmark; a test whose file is absent prints "skipped: ..." and
//! returns.

use omniscore::caption::describe::{
    describe_audio_file, describe_code_file, describe_document, describe_document_file, describe_mesh,
    describe_mesh_file,
};
use omniscore::caption::keyframes::{keyframes, merge_timeline, KeyframeReason, KeyframeRule};
use omniscore::caption::mesh_render::{coverage, render_view, render_views, STANDARD_VIEWS};
use omniscore::media::document::{self, DocumentKind};
use omniscore::media::mesh;
use std::path::{Path, PathBuf};

const MEDIA: &str = "tests/media";
const PAIRS: &str = "../shared/data/quality-pairs";
/// The benchmark's truncated video; a copy is kept in tests/fixtures/video.
const TRUNCATED_COPY: &str = "tests/fixtures/video/vid_1111_01_truncated.mp4";

/// `path` if it exists, else None after printing why the test is skipped.
fn present(path: impl AsRef<Path>) -> Option<PathBuf> {
    let p = path.as_ref().to_path_buf();
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh; ../shared/data for the pairs)", p.display());
        None
    }
}

fn media(rel: &str) -> Option<PathBuf> {
    present(Path::new(MEDIA).join(rel))
}

// ---------------------------------------------------------------------------------------------
// 3D

#[test]
fn bunny_views_are_sensible_distinct_and_deterministic() {
    let Some(path) = media("mesh/bunny.obj") else { return };
    let m = mesh::load(&path).unwrap();
    let views = render_views(&m, &STANDARD_VIEWS, 192, 192);
    assert_eq!(views.len(), 4);
    for v in &views {
        // The bunny is a compact blob: it fills a good part of its framed box, never all of it.
        assert!(v.coverage > 0.15 && v.coverage < 0.8, "{}: coverage {}", v.view.name, v.coverage);
        // Shaded, not a flat silhouette: many grey levels.
        let mut greys: Vec<u8> = v.image.pixels().map(|p| p[0]).collect();
        greys.sort_unstable();
        greys.dedup();
        assert!(greys.len() > 30, "{}: {} grey levels", v.view.name, greys.len());
    }
    for i in 0..views.len() {
        for j in i + 1..views.len() {
            let differing = views[i].image.pixels().zip(views[j].image.pixels()).filter(|(a, b)| a != b).count();
            assert!(
                differing > 192 * 192 / 20,
                "{} vs {}: {differing} pixels differ",
                views[i].view.name,
                views[j].view.name
            );
        }
    }
    let again = render_view(&m, &STANDARD_VIEWS[3], 192, 192);
    assert_eq!(again, views[3].image, "rendering is deterministic");

    let s = describe_mesh(&m);
    assert_eq!(s.format, "OBJ");
    assert_eq!(s.vertices, m.positions.len());
    let t = s.topology.unwrap();
    // This bunny.obj is the closed version: every one of its 104,499 edges has two faces and
    // V - E + F = 34,835 - 104,499 + 69,666 = 2 (counted from the file with a script).
    assert!(t.watertight && t.holes == 0 && t.components == 1, "{t:?}");
    let text = s.text();
    assert!(text.starts_with("3D mesh (OBJ): 34,835 vertices, 69,666 triangles; bounding box "), "{text}");
    assert!(text.contains("; watertight (0 holes, 0 non-manifold edges), 1 component"), "{text}");
    println!("{text}");
}

#[test]
fn a_closed_cube_is_watertight_and_fills_its_front_view() {
    let Some(path) = media("mesh/PLY/cube.ply") else { return };
    let m = mesh::load(&path).unwrap();
    let s = describe_mesh(&m);
    let t = s.topology.unwrap();
    assert!(t.watertight && t.holes == 0 && t.non_manifold_edges == 0, "{t:?}");
    assert!(s.text().contains("; watertight (0 holes, 0 non-manifold edges), 1 component"), "{}", s.text());
    let front = render_view(&m, &STANDARD_VIEWS[0], 128, 128);
    let c = coverage(&front);
    // Face-on a cube is its square: (1 - 2 x margin)^2 of the picture.
    assert!((c - 0.7744).abs() < 0.03, "front coverage {c}");
    let iso = coverage(&render_view(&m, &STANDARD_VIEWS[3], 128, 128));
    // Seen along its diagonal the cube is a regular hexagon, which fills 3/4 of its bounding
    // rectangle (less than the face-on square fills of the picture).
    assert!(iso > 0.5 && iso < c, "iso coverage {iso}");
}

#[test]
fn an_open_mesh_is_not_watertight() {
    let Some(path) = media("mesh/STL/sphereWithHole.stl") else { return };
    let s = describe_mesh_file(&path).unwrap();
    let t = s.topology.unwrap();
    assert!(!t.watertight && t.holes >= 1 && t.boundary_edges > 0, "{t:?}");
    assert!(s.text().starts_with("3D mesh (STL (ascii)): ") || s.text().starts_with("3D mesh (STL (binary)): "));
    assert!(s.text().contains("; not watertight ("), "{}", s.text());
}

#[test]
fn point_clouds_render_as_splats() {
    let Some(path) = present(Path::new(PAIRS).join("thd_1101_01.ply")) else { return };
    let m = mesh::load(&path).unwrap();
    assert!(m.is_point_cloud());
    let s = describe_mesh(&m);
    assert!(s.text().starts_with("3D point cloud (PLY"), "{}", s.text());
    assert!(s.text().contains("4,096 points"), "{}", s.text());
    for v in render_views(&m, &STANDARD_VIEWS, 160, 160) {
        assert!(v.coverage > 0.05 && v.coverage < 0.9, "{}: {}", v.view.name, v.coverage);
    }
    if let Some(bad) = present(Path::new(PAIRS).join("bad_random.ply")) {
        let r = render_view(&mesh::load(&bad).unwrap(), &STANDARD_VIEWS[0], 160, 160);
        assert!(coverage(&r) > 0.05, "500 random points still show");
    }
}

#[test]
fn degenerate_mesh_files_render_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    // Every vertex the same point: zero-size box, zero-area faces.
    let p = dir.path().join("collapsed.obj");
    std::fs::write(&p, "v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n").unwrap();
    let m = mesh::load(&p).unwrap();
    for v in STANDARD_VIEWS {
        let img = render_view(&m, &v, 64, 64);
        assert_eq!((img.width(), img.height()), (64, 64));
    }
    let s = describe_mesh(&m).text();
    assert!(s.contains("bounding box 0 x 0 x 0"), "{s}");
    // A flat square seen edge-on draws (almost) nothing; seen face-on it fills its box.
    let q = dir.path().join("square.obj");
    std::fs::write(&q, "v 0 0 0\nv 1 0 0\nv 1 0 1\nv 0 0 1\nf 1 2 3 4\n").unwrap();
    let m = mesh::load(&q).unwrap();
    assert!(coverage(&render_view(&m, &STANDARD_VIEWS[0], 64, 64)) < 0.05);
    assert!(coverage(&render_view(&m, &STANDARD_VIEWS[2], 64, 64)) > 0.7);
}

#[test]
fn every_fetched_mesh_summarises_and_renders() {
    let Some(dir) = media("mesh") else { return };
    let mut done = 0;
    for sub in ["OBJ", "PLY", "STL"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = entry.unwrap().path();
            let Ok(s) = describe_mesh_file(&p) else { continue }; // loader errors are the loader's tests
            let m = mesh::load(&p).unwrap();
            // A flat part can be edge-on in one view (regr_3429812.obj is a tiny quad almost
            // edge-on to the isometric view); some view must show it.
            let shown = render_views(&m, &STANDARD_VIEWS, 48, 48).iter().map(|v| v.coverage).fold(0.0, f64::max);
            assert!(shown > 0.0, "{}: blank in every view", p.display());
            assert!(!s.text().is_empty());
            done += 1;
        }
    }
    assert!(done > 10, "only {done} meshes loaded");
}

// ---------------------------------------------------------------------------------------------
// Documents and code

#[test]
fn pdfs_are_summarised_with_pages_and_a_bounded_excerpt() {
    let Some(path) = media("pdf/04-valid.pdf") else { return };
    let s = describe_document_file(&path).unwrap();
    assert_eq!(s.kind, DocumentKind::Pdf);
    assert!(s.pages > 1);
    let text = s.text();
    assert!(text.starts_with(&format!("PDF, {} pages; ", s.pages)), "{text}");
    assert!(text.contains("; tables: "), "{text}");
    assert!(text.contains("[page 1]"), "{text}");
    assert!(s.excerpt.chars().count() <= omniscore::caption::describe::DOCUMENT_CHARS);
    assert!(s.text_chars > 100);
    println!("{}", &text[..text.len().min(400)]);
}

/// A one-page PDF that only draws an image (a scan): written by hand with a correct xref.
fn scanned_pdf() -> Vec<u8> {
    let pixels = [0u8, 255, 255, 0];
    let content = b"q 200 0 0 200 0 0 cm /Im1 Do Q\n";
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>".to_vec(),
    ];
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {} >>\nstream\n",
        pixels.len()
    )
    .into_bytes();
    image.extend_from_slice(&pixels);
    image.extend_from_slice(b"\nendstream");
    objects.push(image);
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content);
    stream.extend_from_slice(b"endstream");
    objects.push(stream);
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(o);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

#[test]
fn a_pdf_without_a_text_layer_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scan.pdf");
    std::fs::write(&p, scanned_pdf()).unwrap();
    let doc = document::extract(&p).unwrap();
    let s = describe_document(&doc);
    assert_eq!((s.pages, s.text_chars), (1, 0));
    let text = s.text();
    assert!(text.starts_with("PDF, 1 page; no headings; tables: 0; no text layer"), "{text}");
    assert!(text.contains("1 of its pages are images (a scan?)"), "{text}");
}

#[test]
fn code_files_name_their_language() {
    for (file, lang) in [("valid.py", "python"), ("valid.rs", "rust"), ("Valid.java", "java"), ("valid.sh", "bash")] {
        let s = describe_code_file(&Path::new("tests/fixtures/code").join(file)).unwrap();
        assert!(s.text().starts_with(&format!("{lang} code:\n")), "{file}: {}", s.text());
        assert_eq!(s.total_chars, s.excerpt.chars().count());
    }
}

// ---------------------------------------------------------------------------------------------
// Audio

#[test]
fn librivox_speech_reads_as_speech() {
    let Some(dir) = media("audio/librivox") else { return };
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if omniscore::media::extension(&p) != "wav" {
            continue;
        }
        let s = describe_audio_file(&p).unwrap();
        let prop = s.proportions.unwrap();
        println!("{}: {}", p.display(), s.text());
        assert!(prop.speech >= 0.8, "{}: {}", p.display(), s.text());
        assert!(prop.music < 0.1);
        let lufs = s.loudness_lufs.unwrap();
        assert!((-40.0..-10.0).contains(&lufs), "{lufs}");
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn noise_is_other_sound_and_spoken_words_are_speech() {
    let Some(noise) = media("audio/Noise.wav") else { return };
    let s = describe_audio_file(&noise).unwrap();
    println!("{}", s.text());
    assert!(s.proportions.unwrap().other >= 0.9, "{}", s.text());
    let Some(words) = media("audio/Front_Center.wav") else { return };
    let s = describe_audio_file(&words).unwrap();
    println!("{}", s.text());
    let p = s.proportions.unwrap();
    assert!(p.speech >= 0.5 && p.music == 0.0, "{}", s.text());
}

#[test]
fn music_reads_as_music() {
    // aud2.mp3: the benchmark's clean audio of its quality pair, a piano-like piece (held notes,
    // no voice), 41 s.
    let Some(path) = present(Path::new(PAIRS).join("aud2.mp3")) else { return };
    let s = describe_audio_file(&path).unwrap();
    println!("{}", s.text());
    let p = s.proportions.unwrap();
    assert!(p.music >= 0.8 && p.speech < 0.1, "{}", s.text());
    assert!((s.duration_s - 40.96).abs() < 0.1);
}

#[test]
fn a_film_soundtrack_reads_as_music() {
    // bigbuckbunny.mp4's soundtrack (score and birdsong), mixed to mono: see the README there.
    let s = describe_audio_file(Path::new("tests/fixtures/caption/bigbuckbunny_soundtrack.wav")).unwrap();
    println!("{}", s.text());
    assert!(s.proportions.unwrap().music >= 0.8, "{}", s.text());
}

// ---------------------------------------------------------------------------------------------
// Video

#[test]
fn keyframes_follow_the_rule_on_real_videos() {
    let rule = KeyframeRule::default();
    for name in ["bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4"] {
        let Some(path) = media(&format!("video/{name}")) else { continue };
        let k = keyframes(&path, &rule).unwrap();
        assert!(k.truncated.is_none(), "{name}: {:?}", k.truncated);
        assert_eq!(k.frames_scanned, k.info.frame_count);
        let f = &k.frames;
        assert!(!f.is_empty() && f.len() <= rule.max_frames);
        assert_eq!((f[0].index, f[0].reason), (0, KeyframeReason::First));
        for w in f.windows(2) {
            assert!(w[1].pts_s > w[0].pts_s);
            assert!(w[1].pts_s - w[0].pts_s <= rule.max_gap_s + 0.1, "{name}: gap {:?}", (w[0].pts_s, w[1].pts_s));
        }
        assert!(k.last_pts_s - f.last().unwrap().pts_s <= rule.max_gap_s + 0.1);
        for kf in f {
            assert_eq!((kf.image.width(), kf.image.height()), (k.info.width, k.info.height));
        }
        let summary: Vec<String> = f.iter().map(|kf| format!("{:.2} s {}", kf.pts_s, kf.reason.name())).collect();
        println!("{name}: cuts {:?}; keyframes {summary:?}", k.cuts);
        if name == "bikes.mp4" {
            // The shot change at 7.48 s (see quality::video::temporal) is a keyframe.
            assert!(
                f.iter().any(|kf| kf.reason == KeyframeReason::Cut && (kf.pts_s - 7.48).abs() < 0.1),
                "{summary:?}"
            );
        }
    }
}

#[test]
fn a_truncated_video_gives_keyframes_from_what_decodes() {
    let path =
        [Path::new(PAIRS).join("vid_1111_01.mp4"), PathBuf::from(TRUNCATED_COPY)].into_iter().find(|p| p.exists());
    let Some(path) = path else {
        println!("skipped: neither {PAIRS}/vid_1111_01.mp4 nor {TRUNCATED_COPY} is present");
        return;
    };
    let k = keyframes(&path, &KeyframeRule::default()).unwrap();
    let why = k.truncated.as_deref().expect("the truncation is reported");
    println!("{}: {} frames decoded, {} keyframes; {why}", path.display(), k.frames_scanned, k.frames.len());
    assert!(!k.frames.is_empty());
    assert!(k.frames_scanned > 0);
    // The file declares 27.5 s; what decodes is far less.
    assert!(k.last_pts_s < k.info.duration_s.unwrap() - 1.0, "{} vs {:?}", k.last_pts_s, k.info.duration_s);
    assert_eq!((k.frames[0].image.width(), k.frames[0].image.height()), (1280, 720));

    // Keyframe captions and a transcript merge into one timeline.
    let images: Vec<(f64, String)> = k.frames.iter().map(|f| (f.pts_s, format!("frame {}", f.index))).collect();
    let merged = merge_timeline(&images, &[(0.5, 1.5, "hello".to_string())]);
    assert!(merged.starts_with("[0.0 s] image: frame 0 [0.5-1.5 s] speech: hello"), "{merged}");
}
