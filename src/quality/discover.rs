//! Which files a `quality` run scores: paths, directories (walked recursively, sorted) and glob
//! patterns, each file's modality from its extension (or forced with `--modality`).

use crate::data::Modality;
use crate::media::extension;
use std::path::{Path, PathBuf};

/// Extensions of each modality, lower case. GIF is an image here (its first frame): animated
/// GIFs are videos only when the modality is forced.
const IMAGE: &[&str] = &["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"];
const AUDIO: &[&str] = &["wav", "flac", "mp3", "ogg", "oga", "m4a", "aac"];
const VIDEO: &[&str] = &["mp4", "m4v", "mov"];
const THREE_D: &[&str] = &["obj", "ply", "stl", "gltf", "glb"];
const DOCUMENT: &[&str] = &["pdf", "md", "markdown", "html", "htm", "txt"];
const CODE: &[&str] = &[
    "py", "rs", "js", "mjs", "cjs", "jsx", "ts", "tsx", "c", "h", "cc", "cpp", "cxx", "hpp", "java", "go", "sh", "bash", "rb",
    "php", "cs", "kt", "swift", "scala", "lua", "r", "m", "sql",
];

/// The modality a file's extension says, if it says one.
pub fn modality_of(path: &Path) -> Option<Modality> {
    let ext = extension(path);
    let table: [(&[&str], Modality); 6] = [
        (IMAGE, Modality::Image),
        (AUDIO, Modality::Audio),
        (VIDEO, Modality::Video),
        (THREE_D, Modality::ThreeD),
        (DOCUMENT, Modality::Document),
        (CODE, Modality::Code),
    ];
    table.iter().find(|(exts, _)| exts.contains(&ext.as_str())).map(|(_, m)| *m)
}

/// A file to score, or an argument that named nothing scoreable.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    File { path: PathBuf, modality: Modality },
    /// A file whose extension names no modality (and none was forced).
    Unknown { path: PathBuf },
    /// An argument that is not a file, a directory or a pattern matching anything.
    Nothing { arg: String, why: String },
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands the arguments in order: a file as itself, a directory to every file below it whose
/// extension names a modality (sorted, hidden entries skipped), a pattern to its sorted matches.
pub fn discover(args: &[String], forced: Option<Modality>) -> Vec<Found> {
    let mut out = Vec::new();
    for arg in args {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut files = Vec::new();
            walk(&path, &mut files);
            files.sort();
            let before = out.len();
            out.extend(files.into_iter().filter_map(|p| classify(p, forced, true)));
            if out.len() == before {
                out.push(Found::Nothing { arg: arg.clone(), why: "the directory holds no file with a known media extension".into() });
            }
        } else if path.exists() {
            out.extend(classify(path, forced, false));
        } else if has_glob_chars(arg) {
            match glob::glob(arg) {
                Ok(paths) => {
                    let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                    files.sort();
                    if files.is_empty() {
                        out.push(Found::Nothing { arg: arg.clone(), why: "the pattern matches no file".into() });
                    }
                    out.extend(files.into_iter().filter_map(|p| classify(p, forced, false)));
                }
                Err(e) => out.push(Found::Nothing { arg: arg.clone(), why: format!("bad pattern: {e}") }),
            }
        } else {
            out.push(Found::Nothing { arg: arg.clone(), why: "no such file or directory".into() });
        }
    }
    out
}

/// Files found by walking a directory with an unknown extension are skipped silently; named
/// files with one are reported.
fn classify(path: PathBuf, forced: Option<Modality>, walked: bool) -> Option<Found> {
    match forced.or_else(|| modality_of(&path)) {
        Some(modality) => Some(Found::File { path, modality }),
        None if walked => None,
        None => Some(Found::Unknown { path }),
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files),
            Ok(t) if t.is_file() => files.push(path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_modalities_case_insensitively() {
        assert_eq!(modality_of(Path::new("a/B.PNG")), Some(Modality::Image));
        assert_eq!(modality_of(Path::new("x.mp3")), Some(Modality::Audio));
        assert_eq!(modality_of(Path::new("m.glb")), Some(Modality::ThreeD));
        assert_eq!(modality_of(Path::new("p.pdf")), Some(Modality::Document));
        assert_eq!(modality_of(Path::new("s.rs")), Some(Modality::Code));
        assert_eq!(modality_of(Path::new("noext")), None);
    }

    #[test]
    fn directories_walk_sorted_and_patterns_expand() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.wav", "a.png", "sub/c.obj", ".hidden.png", "notes.xyz"] {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let root = dir.path().to_string_lossy().to_string();
        let found = discover(&[root.clone()], None);
        let names: Vec<String> = found
            .iter()
            .map(|f| match f {
                Found::File { path, .. } => path.strip_prefix(dir.path()).unwrap().to_string_lossy().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["a.png", "b.wav", "sub/c.obj"]);
        let pattern = format!("{root}/*.wav");
        assert!(matches!(&discover(&[pattern], None)[..], [Found::File { modality: Modality::Audio, .. }]));
        let none = discover(&[format!("{root}/*.mp4"), format!("{root}/missing.png")], None);
        assert!(none.iter().all(|f| matches!(f, Found::Nothing { .. })), "{none:?}");
        let unknown = discover(&[format!("{root}/notes.xyz")], None);
        assert!(matches!(&unknown[..], [Found::Unknown { .. }]));
        let forced = discover(&[format!("{root}/notes.xyz")], Some(Modality::Code));
        assert!(matches!(&forced[..], [Found::File { modality: Modality::Code, .. }]));
    }
}
