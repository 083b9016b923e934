//! Wavefront OBJ: `v` positions and `f` faces (`i`, `i/t`, `i//n`, `i/t/n`, negative = relative
//! to the vertices read so far). Polygons become triangle fans; `l` and `p` elements are counted
//! as dropped; texture coordinates, normals, groups and materials are not needed for geometry and
//! are ignored. A file with vertices and no faces is a point cloud.

use super::{push_polygon, Dropped, Mesh, MeshFormat};
use crate::media::MediaError;
use std::path::Path;

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    let text = decode_text(bytes);
    let err = |line: usize, detail: String| MediaError::decode(path, format!("line {line}: {detail}"));
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles = Vec::new();
    let mut dropped = Dropped::default();
    // Positive indices may point forward (some writers emit faces first); they are checked once
    // every vertex is known, against the line of the largest one.
    let mut max_forward: Option<(usize, usize)> = None;
    let mut poly: Vec<u32> = Vec::new();
    for (line_no, line) in logical_lines(&text) {
        let line = line.split('#').next().unwrap_or("");
        let mut tokens = line.split_whitespace();
        let Some(keyword) = tokens.next() else { continue };
        match keyword {
            "v" => {
                let mut xyz = [0.0f64; 3];
                for (k, c) in xyz.iter_mut().enumerate() {
                    let tok = tokens.next().ok_or_else(|| err(line_no, format!("vertex has {k} coordinates, needs 3")))?;
                    *c = tok.parse::<f64>().map_err(|_| err(line_no, format!("invalid number '{tok}'")))?;
                    if !c.is_finite() {
                        return Err(err(line_no, format!("vertex coordinate '{tok}' is not finite")));
                    }
                }
                positions.push(xyz);
            }
            "f" | "fo" => {
                poly.clear();
                for tok in tokens {
                    let first = tok.split('/').next().unwrap_or("");
                    let i: i64 = first.parse().map_err(|_| err(line_no, format!("invalid face index '{tok}'")))?;
                    let n = positions.len() as i64;
                    let resolved = match i {
                        0 => return Err(err(line_no, "face index 0 (OBJ indices start at 1)".into())),
                        i if i > 0 => {
                            let r = (i - 1) as usize;
                            if max_forward.map_or(true, |(m, _)| r > m) {
                                max_forward = Some((r, line_no));
                            }
                            r as i64
                        }
                        i => {
                            if n + i < 0 {
                                return Err(err(line_no, format!("relative face index {i} reaches before the first vertex ({n} read so far)")));
                            }
                            n + i
                        }
                    };
                    if resolved > u32::MAX as i64 {
                        return Err(err(line_no, format!("face index {i} too large")));
                    }
                    poly.push(resolved as u32);
                }
                push_polygon(&poly, &mut triangles, &mut dropped);
            }
            "l" => dropped.lines += 1,
            "p" => dropped.points += 1,
            _ => {}
        }
    }
    if let Some((max, line_no)) = max_forward {
        if max >= positions.len() {
            return Err(err(line_no, format!("face index {} out of range ({} vertices)", max + 1, positions.len())));
        }
    }
    if positions.is_empty() {
        return Err(MediaError::decode(path, "no vertices ('v' lines) in the OBJ file"));
    }
    Ok(Mesh { format: MeshFormat::Obj, positions, triangles, dropped })
}

/// OBJ is nominally ASCII; accept UTF-8, and UTF-16 when a byte-order mark says so (some Windows
/// tools write it). Invalid UTF-8 in names or comments must not stop the geometry from loading.
fn decode_text(bytes: &[u8]) -> String {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFE, 0xFF, ..] => utf16(true),
        [0xFF, 0xFE, ..] => utf16(false),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Lines with their 1-based numbers, joining `\` continuations (reported at their first line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(stripped) = raw.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            pending = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    out.extend(pending);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Mesh, MediaError> {
        parse(Path::new("t.obj"), s.as_bytes())
    }

    #[test]
    fn index_forms_and_negative_indices() {
        let m = parse_str("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1/1 2/2/2 3//3\nf -3 -2 -1\n").unwrap();
        assert_eq!(m.triangles, vec![[0, 1, 2], [1, 2, 3]]);
    }

    #[test]
    fn quads_are_fanned_and_lines_counted() {
        let m = parse_str("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\nl 1 2\np 3\nf 1 2\n").unwrap();
        assert_eq!(m.triangles, vec![[0, 1, 2], [0, 2, 3]]);
        assert_eq!((m.dropped.lines, m.dropped.points, m.dropped.short_faces), (1, 1, 1));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_str("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n").unwrap_err().to_string();
        assert!(e.contains("t.obj") && e.contains("line 4") && e.contains("out of range"), "{e}");
        let e = parse_str("v 0 0 0\nv nan 0 0\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("not finite"), "{e}");
        let e = parse_str("v 0 0 0\nf -1 -2 -3\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn continuation_lines_join() {
        let m = parse_str("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 \\\n 2 3\n").unwrap();
        assert_eq!(m.triangles, vec![[0, 1, 2]]);
    }
}
