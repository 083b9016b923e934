//! PLY (Stanford polygon format): ascii, binary_little_endian and binary_big_endian. Reads the
//! `vertex` element's x, y, z (any scalar type) and the `face` element's vertex index list (any
//! count and index types); other properties and elements are skipped and noted. A PLY without
//! faces is a point cloud.

use super::{push_polygon, Dropped, Mesh, MeshFormat};
use crate::media::MediaError;
use std::path::Path;

/// Header lines longer than this, or more than this many lines, mean the file is not a PLY.
const MAX_HEADER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        Some(match name {
            "char" | "int8" => Scalar::I8,
            "uchar" | "uint8" => Scalar::U8,
            "short" | "int16" => Scalar::I16,
            "ushort" | "uint16" => Scalar::U16,
            "int" | "int32" => Scalar::I32,
            "uint" | "uint32" => Scalar::U32,
            "float" | "float32" => Scalar::F32,
            "double" | "float64" => Scalar::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }
}

#[derive(Debug)]
enum Property {
    Scalar { name: String, ty: Scalar },
    List { name: String, count: Scalar, item: Scalar },
}

#[derive(Debug)]
struct Element {
    name: String,
    count: usize,
    properties: Vec<Property>,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Ascii,
    Little,
    Big,
}

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    let Header { encoding, elements, body_start, lines: header_lines, notes } = parse_header(path, bytes)?;
    let format = match encoding {
        Encoding::Ascii => MeshFormat::PlyAscii,
        Encoding::Little => MeshFormat::PlyBinaryLittleEndian,
        Encoding::Big => MeshFormat::PlyBinaryBigEndian,
    };
    let body = &bytes[body_start..];
    let mut reader: Box<dyn ValueReader> = match encoding {
        Encoding::Ascii => Box::new(AsciiReader::new(body, header_lines + 1)),
        e => Box::new(BinaryReader { data: body, pos: 0, big: e == Encoding::Big }),
    };
    let mut positions: Vec<[f64; 3]> = Vec::new();
    let mut triangles = Vec::new();
    let mut dropped = Dropped { notes, ..Dropped::default() };
    let mut poly = Vec::new();
    let mut seen_vertex = false;
    for el in &elements {
        let ctx = |i: usize, r: &dyn ValueReader| format!("{} {i} of {}{}", el.name, el.count, r.where_());
        let truncated = |i: usize, r: &dyn ValueReader| MediaError::Truncated {
            path: path.to_path_buf(),
            detail: format!("{} ends before the end of the data", ctx(i, r)),
        };
        // A header can claim billions of items; never reserve more than the bytes could hold.
        let cap = el.count.min(body.len());
        if el.name == "vertex" {
            seen_vertex = true;
            let idx = ["x", "y", "z"].map(|n| {
                el.properties.iter().position(|p| matches!(p, Property::Scalar { name, .. } if name == n))
            });
            let [Some(ix), Some(iy), Some(iz)] = idx else {
                return Err(MediaError::decode(path, "PLY vertex element has no x, y, z properties"));
            };
            positions.reserve(cap);
            for i in 0..el.count {
                let mut p = [0.0f64; 3];
                for (k, prop) in el.properties.iter().enumerate() {
                    let v = read_property(prop, reader.as_mut(), &mut poly).map_err(|e| e.into_media(path, || ctx(i, reader.as_ref()), || truncated(i, reader.as_ref())))?;
                    let slot = if k == ix { 0 } else if k == iy { 1 } else if k == iz { 2 } else { continue };
                    if !v.is_finite() {
                        return Err(MediaError::decode(path, format!("{}: coordinate is {v}", ctx(i, reader.as_ref()))));
                    }
                    p[slot] = v;
                }
                positions.push(p);
            }
        } else if el.name == "face" {
            let list = el.properties.iter().position(|p| {
                matches!(p, Property::List { name, .. } if name == "vertex_indices" || name == "vertex_index")
            });
            let Some(list) = list else {
                return Err(MediaError::decode(path, "PLY face element has no vertex_indices list"));
            };
            if !seen_vertex {
                return Err(MediaError::decode(path, "PLY face element comes before the vertex element"));
            }
            triangles.reserve(cap);
            for i in 0..el.count {
                let mut indices = Vec::new();
                for (k, prop) in el.properties.iter().enumerate() {
                    read_property(prop, reader.as_mut(), &mut poly).map_err(|e| e.into_media(path, || ctx(i, reader.as_ref()), || truncated(i, reader.as_ref())))?;
                    if k == list {
                        indices = std::mem::take(&mut poly);
                    }
                }
                let n = positions.len();
                let mut ids = Vec::with_capacity(indices.len());
                for v in indices {
                    if v.fract() != 0.0 || v < 0.0 || v >= n as f64 {
                        return Err(MediaError::decode(path, format!("{}: vertex index {v} out of range ({n} vertices)", ctx(i, reader.as_ref()))));
                    }
                    ids.push(v as u32);
                }
                push_polygon(&ids, &mut triangles, &mut dropped);
            }
        } else {
            for i in 0..el.count {
                for prop in &el.properties {
                    read_property(prop, reader.as_mut(), &mut poly).map_err(|e| e.into_media(path, || ctx(i, reader.as_ref()), || truncated(i, reader.as_ref())))?;
                }
            }
            if el.count > 0 {
                dropped.notes.push(format!("PLY element '{}' ({} items) ignored", el.name, el.count));
            }
        }
    }
    if !seen_vertex || positions.is_empty() {
        return Err(MediaError::decode(path, "PLY has no vertices"));
    }
    Ok(Mesh { format, positions, triangles, dropped })
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header, MediaError> {
    let bad = |line: usize, detail: String| MediaError::decode(path, format!("PLY header line {line}: {detail}"));
    if !bytes.starts_with(b"ply") {
        return Err(MediaError::decode(path, "not a PLY file (does not start with 'ply')"));
    }
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    let mut notes = Vec::new();
    loop {
        let rest = &bytes[pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Err(MediaError::Truncated { path: path.to_path_buf(), detail: "PLY header has no end_header".into() });
        };
        if pos + nl > MAX_HEADER_BYTES {
            return Err(MediaError::decode(path, "PLY header longer than 1 MiB"));
        }
        let line = String::from_utf8_lossy(&rest[..nl]);
        pos += nl + 1;
        line_no += 1;
        let mut tok = line.split_whitespace();
        match tok.next() {
            Some("ply") | Some("comment") | Some("obj_info") | None => {}
            Some("format") => {
                encoding = Some(match tok.next() {
                    Some("ascii") => Encoding::Ascii,
                    Some("binary_little_endian") => Encoding::Little,
                    Some("binary_big_endian") => Encoding::Big,
                    other => return Err(bad(line_no, format!("unknown format {other:?}"))),
                });
            }
            Some("element") => {
                let name = tok.next().ok_or_else(|| bad(line_no, "element without a name".into()))?;
                let count = tok.next().and_then(|c| c.parse::<usize>().ok()).ok_or_else(|| bad(line_no, "element without a count".into()))?;
                elements.push(Element { name: name.to_string(), count, properties: Vec::new() });
            }
            Some("property") => {
                let el = elements.last_mut().ok_or_else(|| bad(line_no, "property before any element".into()))?;
                let ty = tok.next().unwrap_or("");
                let prop = if ty == "list" {
                    let count = tok.next().and_then(Scalar::parse).ok_or_else(|| bad(line_no, "bad list count type".into()))?;
                    let item = tok.next().and_then(Scalar::parse).ok_or_else(|| bad(line_no, "bad list item type".into()))?;
                    if matches!(count, Scalar::F32 | Scalar::F64) {
                        return Err(bad(line_no, "list count type must be an integer".into()));
                    }
                    Property::List { name: tok.next().unwrap_or("").to_string(), count, item }
                } else {
                    let ty = Scalar::parse(ty).ok_or_else(|| bad(line_no, format!("unknown property type '{ty}'")))?;
                    Property::Scalar { name: tok.next().unwrap_or("").to_string(), ty }
                };
                el.properties.push(prop);
            }
            Some("end_header") => break,
            // Some writers put free text in the header without `comment` (Blender 2.4x wrote
            // "Created by Blender3D ..."); readers such as assimp accept it, and so do we.
            Some(other) => notes.push(format!("PLY header line {line_no} ('{other} ...') ignored")),
        }
    }
    let encoding = encoding.ok_or_else(|| MediaError::decode(path, "PLY header has no format line"))?;
    Ok(Header { encoding, elements, body_start: pos, lines: line_no, notes })
}

struct Header {
    encoding: Encoding,
    elements: Vec<Element>,
    body_start: usize,
    lines: usize,
    notes: Vec<String>,
}

enum ReadError {
    Eof,
    Bad(String),
}

impl ReadError {
    fn into_media(self, path: &Path, ctx: impl Fn() -> String, truncated: impl Fn() -> MediaError) -> MediaError {
        match self {
            ReadError::Eof => truncated(),
            ReadError::Bad(d) => MediaError::decode(path, format!("{}: {d}", ctx())),
        }
    }
}

/// Reads one property; a scalar's value is returned, a list's items go to `list`.
fn read_property(prop: &Property, r: &mut dyn ValueReader, list: &mut Vec<f64>) -> Result<f64, ReadError> {
    match prop {
        Property::Scalar { ty, .. } => r.read(*ty),
        Property::List { count, item, .. } => {
            let n = r.read(*count)?;
            if n < 0.0 || n.fract() != 0.0 {
                return Err(ReadError::Bad(format!("list length {n}")));
            }
            list.clear();
            for _ in 0..n as usize {
                list.push(r.read(*item)?);
            }
            Ok(n)
        }
    }
}

trait ValueReader {
    fn read(&mut self, ty: Scalar) -> Result<f64, ReadError>;
    /// Where the reader is, for messages (" (line 12)" or " (byte 345)").
    fn where_(&self) -> String;
}

struct BinaryReader<'a> {
    data: &'a [u8],
    pos: usize,
    big: bool,
}

impl ValueReader for BinaryReader<'_> {
    fn read(&mut self, ty: Scalar) -> Result<f64, ReadError> {
        let n = ty.size();
        let b = self.data.get(self.pos..self.pos + n).ok_or(ReadError::Eof)?;
        self.pos += n;
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b);
        if self.big {
            a[..n].reverse();
        }
        Ok(match ty {
            Scalar::I8 => a[0] as i8 as f64,
            Scalar::U8 => a[0] as f64,
            Scalar::I16 => i16::from_le_bytes([a[0], a[1]]) as f64,
            Scalar::U16 => u16::from_le_bytes([a[0], a[1]]) as f64,
            Scalar::I32 => i32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::U32 => u32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::F32 => f32::from_le_bytes([a[0], a[1], a[2], a[3]]) as f64,
            Scalar::F64 => f64::from_le_bytes(a),
        })
    }

    fn where_(&self) -> String {
        format!(" (data byte {})", self.pos)
    }
}

struct AsciiReader<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> AsciiReader<'a> {
    fn new(data: &'a [u8], first_line: usize) -> Self {
        AsciiReader { data, pos: 0, line: first_line }
    }
}

impl ValueReader for AsciiReader<'_> {
    fn read(&mut self, ty: Scalar) -> Result<f64, ReadError> {
        while self.pos < self.data.len() && self.data[self.pos].is_ascii_whitespace() {
            if self.data[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        let start = self.pos;
        while self.pos < self.data.len() && !self.data[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(ReadError::Eof);
        }
        let tok = std::str::from_utf8(&self.data[start..self.pos]).unwrap_or("?");
        let v: f64 = tok.parse().map_err(|_| ReadError::Bad(format!("invalid number '{tok}'")))?;
        if !matches!(ty, Scalar::F32 | Scalar::F64) && v.fract() != 0.0 {
            return Err(ReadError::Bad(format!("'{tok}' is not an integer")));
        }
        Ok(v)
    }

    fn where_(&self) -> String {
        format!(" (line {})", self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n";

    #[test]
    fn ascii_triangle() {
        let m = parse(Path::new("t.ply"), format!("{HEADER}0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n").as_bytes()).unwrap();
        assert_eq!(m.triangles, vec![[0, 1, 2]]);
        assert_eq!(m.format, MeshFormat::PlyAscii);
    }

    #[test]
    fn ascii_errors_name_the_line() {
        let e = parse(Path::new("t.ply"), format!("{HEADER}0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n").as_bytes()).unwrap_err().to_string();
        assert!(e.contains("t.ply") && e.contains("line 13") && e.contains("out of range"), "{e}");
        let e = parse(Path::new("t.ply"), format!("{HEADER}0 0 0\nnan 0 0\n0 1 0\n3 0 1 2\n").as_bytes()).unwrap_err().to_string();
        assert!(e.contains("line 11") && e.contains("NaN"), "{e}");
    }

    #[test]
    fn binary_big_endian_with_short_indices_and_truncation() {
        let mut b = b"ply\nformat binary_big_endian 1.0\nelement vertex 3\nproperty double x\nproperty double y\nproperty double z\nelement face 1\nproperty list ushort ushort vertex_indices\nend_header\n".to_vec();
        for p in [[0.0f64, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] {
            for c in p {
                b.extend(c.to_be_bytes());
            }
        }
        b.extend(3u16.to_be_bytes());
        for i in [2u16, 1, 0] {
            b.extend(i.to_be_bytes());
        }
        let m = parse(Path::new("b.ply"), &b).unwrap();
        assert_eq!(m.positions[1], [1.0, 0.0, 0.0]);
        assert_eq!(m.triangles, vec![[2, 1, 0]]);
        let e = parse(Path::new("b.ply"), &b[..b.len() - 1]).unwrap_err();
        assert!(matches!(e, MediaError::Truncated { .. }), "{e}");
        assert!(e.to_string().contains("face 0 of 1"), "{e}");
    }
}
