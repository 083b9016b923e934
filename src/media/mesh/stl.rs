//! STL, ascii and binary. STL stores every triangle's three corners on their own, so the loader
//! welds equal corners (within `MERGE_RELATIVE_TOLERANCE` of the bounding-box diagonal) to get
//! shared vertices back; without that no edge would ever be shared and topology would be void.
//!
//! Binary or ascii: a file whose size is exactly 84 + 50 n (n from its header) is binary even if
//! its 80-byte header starts with "solid" (many exporters write that); otherwise a file that
//! starts with "solid" and whose first KiB is printable text is ascii, and anything else is a
//! binary file whose size is wrong (truncated, or with trailing bytes).

use super::{push_polygon, Dropped, Mesh, MeshFormat};
use crate::media::MediaError;
use std::path::Path;

const HEADER_BYTES: usize = 80;
const PREAMBLE_BYTES: usize = HEADER_BYTES + 4;
const TRIANGLE_BYTES: usize = 50;
/// Bytes inspected to tell ascii from binary: a binary file's triangle count and floats soon
/// produce non-printable bytes even when its header is text.
const TEXT_SNIFF_BYTES: usize = 1024;

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    let declared = bytes.get(HEADER_BYTES..PREAMBLE_BYTES).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let binary_size = declared.map(|n| PREAMBLE_BYTES as u128 + TRIANGLE_BYTES as u128 * n as u128);
    let exact_binary = binary_size == Some(bytes.len() as u128);
    let head = &bytes[..bytes.len().min(TEXT_SNIFF_BYTES)];
    let printable = head.iter().all(|&b| b == b'\t' || b == b'\n' || b == b'\r' || (0x20..0x7f).contains(&b));
    let starts_solid = String::from_utf8_lossy(head).trim_start().starts_with("solid");
    let looks_ascii = printable && starts_solid;
    let mut mesh = if exact_binary || !looks_ascii {
        match parse_binary(path, bytes) {
            Ok(m) => m,
            // An ascii file with a few non-ASCII bytes (a solid name in Latin-1): try it as text
            // before blaming a binary reading.
            Err(e) if starts_solid && !exact_binary => parse_ascii(path, bytes).map_err(|_| e)?,
            Err(e) => return Err(e),
        }
    } else {
        parse_ascii(path, bytes)?
    };
    mesh.weld();
    Ok(mesh)
}

fn parse_binary(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    if bytes.len() < PREAMBLE_BYTES {
        return Err(MediaError::Truncated {
            path: path.to_path_buf(),
            detail: format!("binary STL is {} bytes, shorter than its 84-byte header", bytes.len()),
        });
    }
    let n = u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as usize;
    let available = (bytes.len() - PREAMBLE_BYTES) / TRIANGLE_BYTES;
    if available < n {
        return Err(MediaError::Truncated {
            path: path.to_path_buf(),
            detail: format!("binary STL declares {n} triangles but holds only {available} ({} bytes)", bytes.len()),
        });
    }
    let mut dropped = Dropped::default();
    if bytes.len() != PREAMBLE_BYTES + n * TRIANGLE_BYTES {
        dropped.notes.push(format!("{} trailing bytes after the last STL triangle ignored", bytes.len() - PREAMBLE_BYTES - n * TRIANGLE_BYTES));
    }
    let mut positions = Vec::with_capacity(3 * n);
    for t in 0..n {
        // 12 bytes of facet normal (recomputed by consumers, so unused), 3 corners, 2 attribute bytes.
        let rec = &bytes[PREAMBLE_BYTES + t * TRIANGLE_BYTES..][..TRIANGLE_BYTES];
        for corner in 0..3 {
            let mut p = [0.0f64; 3];
            for (k, c) in p.iter_mut().enumerate() {
                let o = 12 + corner * 12 + k * 4;
                *c = f32::from_le_bytes([rec[o], rec[o + 1], rec[o + 2], rec[o + 3]]) as f64;
            }
            if p.iter().any(|c| !c.is_finite()) {
                return Err(MediaError::decode(path, format!("triangle {t} corner {corner} has a NaN or infinite coordinate")));
            }
            positions.push(p);
        }
    }
    let triangles = (0..n as u32).map(|t| [3 * t, 3 * t + 1, 3 * t + 2]).collect();
    if n == 0 {
        return Err(MediaError::decode(path, "binary STL with 0 triangles"));
    }
    Ok(Mesh { format: MeshFormat::StlBinary, positions, triangles, dropped })
}

fn parse_ascii(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    let text = String::from_utf8_lossy(bytes);
    let err = |line: usize, detail: String| MediaError::decode(path, format!("line {line}: {detail}"));
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles = Vec::new();
    let mut dropped = Dropped::default();
    // Corners of the facet being read, and the line where it started.
    let mut facet: Option<(usize, Vec<u32>)> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut tok = line.split_whitespace();
        match tok.next() {
            Some("facet") => {
                if let Some((start, _)) = facet {
                    return Err(err(line_no, format!("facet starts before the facet of line {start} ended")));
                }
                facet = Some((line_no, Vec::new()));
            }
            Some("vertex") => {
                let Some((_, corners)) = facet.as_mut() else {
                    return Err(err(line_no, "vertex outside a facet".into()));
                };
                let mut p = [0.0f64; 3];
                for c in p.iter_mut() {
                    let t = tok.next().ok_or_else(|| err(line_no, "vertex needs 3 coordinates".into()))?;
                    *c = t.parse().map_err(|_| err(line_no, format!("invalid number '{t}'")))?;
                    if !c.is_finite() {
                        return Err(err(line_no, format!("vertex coordinate '{t}' is not finite")));
                    }
                }
                positions.push(p);
                corners.push((positions.len() - 1) as u32);
            }
            Some("endfacet") => {
                let Some((_, corners)) = facet.take() else {
                    return Err(err(line_no, "endfacet without facet".into()));
                };
                push_polygon(&corners, &mut triangles, &mut dropped);
            }
            // solid/endsolid (several solids may follow each other), outer loop/endloop.
            _ => {}
        }
    }
    if let Some((start, _)) = facet {
        return Err(MediaError::Truncated {
            path: path.to_path_buf(),
            detail: format!("ascii STL ends inside the facet that starts at line {start}"),
        });
    }
    if triangles.is_empty() {
        return Err(MediaError::decode(path, "ascii STL has no facets"));
    }
    Ok(Mesh { format: MeshFormat::StlAscii, positions, triangles, dropped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(tris: &[[[f32; 3]; 3]]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_BYTES];
        b[..5].copy_from_slice(b"solid"); // the misleading header many exporters write
        b.extend((tris.len() as u32).to_le_bytes());
        for t in tris {
            b.extend([0u8; 12]);
            for c in t.iter().flatten() {
                b.extend(c.to_le_bytes());
            }
            b.extend([0u8; 2]);
        }
        b
    }

    #[test]
    fn binary_welds_shared_corners_and_detects_truncation() {
        let a = [0.0, 0.0, 0.0];
        let (b, c, d) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]);
        let data = binary(&[[a, b, c], [b, d, c]]);
        let m = parse(Path::new("t.stl"), &data).unwrap();
        assert_eq!(m.format, MeshFormat::StlBinary);
        assert_eq!((m.positions.len(), m.triangles.len(), m.dropped.merged_vertices), (4, 2, 2));
        assert_eq!(m.triangles[1], [1, 3, 2]);
        let e = parse(Path::new("t.stl"), &data[..data.len() - 10]).unwrap_err();
        assert!(e.to_string().contains("declares 2 triangles but holds only 1"), "{e}");
    }

    #[test]
    fn ascii_and_unfinished_facet() {
        let s = "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n";
        let m = parse(Path::new("a.stl"), s.as_bytes()).unwrap();
        assert_eq!((m.format, m.triangles.len()), (MeshFormat::StlAscii, 1));
        let cut = &s[..s.find("vertex 0 1 0").unwrap()];
        let e = parse(Path::new("a.stl"), cut.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("a.stl") && e.contains("truncated") && e.contains("line 2"), "{e}");
    }
}
