//! 3D decoding: OBJ, PLY (ascii and binary, meshes and point clouds), STL (ascii and binary) and
//! glTF 2.0 / GLB into one in-memory [`Mesh`]: positions, triangles (empty for a point cloud) and
//! an account of what the loader dropped or changed. Nothing here judges quality
//! (`crate::quality::mesh` does).
//!
//! Every error names the file (and the line for text formats). Coordinates that are NaN or
//! infinite and face indices out of range are errors, never silently skipped, because a scorer
//! fed a half-read mesh would score something that is not the file.

mod gltf;
mod obj;
mod ply;
mod stl;

use super::MediaError;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Vertices closer than this fraction of the bounding-box diagonal are one vertex when welding.
/// STL stores each triangle's corners separately; welding restores shared vertices so topology
/// (edges, boundaries, components) can be computed. 1e-6 of the diagonal sits well above float32
/// rounding (about 6e-8 relative) and well below any feature a real model keeps.
pub const MERGE_RELATIVE_TOLERANCE: f64 = 1e-6;

/// Which decoder read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshFormat {
    Obj,
    PlyAscii,
    PlyBinaryLittleEndian,
    PlyBinaryBigEndian,
    StlAscii,
    StlBinary,
    Gltf,
    Glb,
}

impl fmt::Display for MeshFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MeshFormat::Obj => "OBJ",
            MeshFormat::PlyAscii => "PLY (ascii)",
            MeshFormat::PlyBinaryLittleEndian => "PLY (binary little endian)",
            MeshFormat::PlyBinaryBigEndian => "PLY (binary big endian)",
            MeshFormat::StlAscii => "STL (ascii)",
            MeshFormat::StlBinary => "STL (binary)",
            MeshFormat::Gltf => "glTF",
            MeshFormat::Glb => "GLB",
        })
    }
}

/// What the loader did not carry into the [`Mesh`] (or changed), counted so a report can say so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Line elements (OBJ `l`, glTF LINES / LINE_LOOP / LINE_STRIP primitives).
    pub lines: usize,
    /// Point elements (OBJ `p`, glTF POINTS primitives); their vertices stay in `positions`.
    pub points: usize,
    /// Faces with fewer than three vertices.
    pub short_faces: usize,
    /// Polygons with more than three vertices, split into a triangle fan (kept, not dropped;
    /// a concave polygon's fan can overlap itself).
    pub polygons_triangulated: usize,
    /// Vertices merged into an earlier one within the weld tolerance (STL on load).
    pub merged_vertices: usize,
    /// Anything else, one line each ("PLY element 'edge' (12 items)", "glTF morph targets").
    pub notes: Vec<String>,
}

impl Dropped {
    /// One line per non-zero count and note, for a score's reason.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        let counts = [
            (self.lines, "line elements dropped"),
            (self.points, "point elements kept as vertices only"),
            (self.short_faces, "faces with < 3 vertices dropped"),
            (self.polygons_triangulated, "polygons fan-triangulated"),
            (self.merged_vertices, "duplicate vertices merged"),
        ];
        for (n, what) in counts {
            if n > 0 {
                out.push(format!("{n} {what}"));
            }
        }
        out.extend(self.notes.iter().cloned());
        out
    }
}

/// A triangle mesh or, when `triangles` is empty, a point cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    pub format: MeshFormat,
    pub positions: Vec<[f64; 3]>,
    /// Indices into `positions`, all in range (checked by the loaders).
    pub triangles: Vec<[u32; 3]>,
    pub dropped: Dropped,
}

impl Mesh {
    pub fn is_point_cloud(&self) -> bool {
        self.triangles.is_empty()
    }

    /// Length of the axis-aligned bounding box diagonal (0 for fewer than two distinct points).
    pub fn bbox_diagonal(&self) -> f64 {
        let Some((lo, hi)) = bounding_box(&self.positions) else { return 0.0 };
        ((hi[0] - lo[0]).powi(2) + (hi[1] - lo[1]).powi(2) + (hi[2] - lo[2]).powi(2)).sqrt()
    }

    /// Merges vertices within `MERGE_RELATIVE_TOLERANCE` of the bounding-box diagonal (first
    /// occurrence wins, so the result is deterministic) and remaps the triangles. Vertices no
    /// triangle references are kept. Returns how many vertices were merged away.
    pub fn weld(&mut self) -> usize {
        let tolerance = self.bbox_diagonal() * MERGE_RELATIVE_TOLERANCE;
        let (positions, remap) = weld_positions(&self.positions, tolerance);
        let merged = self.positions.len() - positions.len();
        for t in &mut self.triangles {
            for v in t.iter_mut() {
                *v = remap[*v as usize];
            }
        }
        self.positions = positions;
        self.dropped.merged_vertices += merged;
        merged
    }
}

/// Loads a mesh or point cloud, choosing the decoder by extension (`.obj`, `.ply`, `.stl`,
/// `.gltf`, `.glb`).
pub fn load(path: &Path) -> Result<Mesh, MediaError> {
    let ext = super::extension(path);
    if !matches!(ext.as_str(), "obj" | "ply" | "stl" | "gltf" | "glb") {
        return Err(MediaError::unsupported(path, format!("3D format '.{ext}' (use obj, ply, stl, gltf, glb)")));
    }
    let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
    if bytes.is_empty() {
        return Err(MediaError::decode(path, "empty file"));
    }
    let mesh = match ext.as_str() {
        "obj" => obj::parse(path, &bytes)?,
        "ply" => ply::parse(path, &bytes)?,
        "stl" => stl::parse(path, &bytes)?,
        _ => gltf::parse(path, &bytes)?,
    };
    check(path, &mesh)?;
    Ok(mesh)
}

/// The invariants every loader promises, checked once here as a last line of defence.
fn check(path: &Path, mesh: &Mesh) -> Result<(), MediaError> {
    if mesh.positions.is_empty() {
        return Err(MediaError::decode(path, "no vertices"));
    }
    if let Some(i) = mesh.positions.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
        return Err(MediaError::decode(path, format!("vertex {i} has a NaN or infinite coordinate")));
    }
    let n = mesh.positions.len();
    if let Some(t) = mesh.triangles.iter().find(|t| t.iter().any(|&v| v as usize >= n)) {
        return Err(MediaError::decode(path, format!("triangle {t:?} indexes past the {n} vertices")));
    }
    Ok(())
}

/// Lower and upper corners of the points' bounding box, None when there are none.
pub fn bounding_box(points: &[[f64; 3]]) -> Option<([f64; 3], [f64; 3])> {
    let first = *points.first()?;
    let (mut lo, mut hi) = (first, first);
    for p in points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    Some((lo, hi))
}

/// Welds points closer than `tolerance` (Euclidean). Returns the kept points and, for every
/// input point, its index among them. A hash grid with cells of the tolerance's size means only
/// the 27 surrounding cells can hold a match, so this is linear in the number of points.
pub fn weld_positions(points: &[[f64; 3]], tolerance: f64) -> (Vec<[f64; 3]>, Vec<u32>) {
    let mut kept: Vec<[f64; 3]> = Vec::with_capacity(points.len());
    let mut remap = Vec::with_capacity(points.len());
    if tolerance <= 0.0 || !tolerance.is_finite() {
        // A zero-size box: only bit-identical points can merge.
        let mut seen: HashMap<[u64; 3], u32> = HashMap::new();
        for p in points {
            let key = [p[0].to_bits(), p[1].to_bits(), p[2].to_bits()];
            let idx = *seen.entry(key).or_insert_with(|| {
                kept.push(*p);
                (kept.len() - 1) as u32
            });
            remap.push(idx);
        }
        return (kept, remap);
    }
    let cell = |p: &[f64; 3]| -> [i64; 3] {
        [(p[0] / tolerance).floor() as i64, (p[1] / tolerance).floor() as i64, (p[2] / tolerance).floor() as i64]
    };
    let tol2 = tolerance * tolerance;
    let mut grid: HashMap<[i64; 3], Vec<u32>> = HashMap::new();
    for p in points {
        let c = cell(p);
        let mut found = None;
        'search: for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    if let Some(list) = grid.get(&[c[0] + dx, c[1] + dy, c[2] + dz]) {
                        for &k in list {
                            let q = kept[k as usize];
                            let d2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                            if d2 <= tol2 {
                                found = Some(k);
                                break 'search;
                            }
                        }
                    }
                }
            }
        }
        let idx = found.unwrap_or_else(|| {
            kept.push(*p);
            let k = (kept.len() - 1) as u32;
            grid.entry(c).or_default().push(k);
            k
        });
        remap.push(idx);
    }
    (kept, remap)
}

/// Splits a polygon into a triangle fan around its first vertex, recording the split.
fn push_polygon(poly: &[u32], triangles: &mut Vec<[u32; 3]>, dropped: &mut Dropped) {
    match poly.len() {
        0..=2 => dropped.short_faces += 1,
        3 => triangles.push([poly[0], poly[1], poly[2]]),
        _ => {
            dropped.polygons_triangulated += 1;
            for k in 1..poly.len() - 1 {
                triangles.push([poly[0], poly[k], poly[k + 1]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weld_merges_within_tolerance_and_keeps_distinct_points() {
        let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [1.0, 1e-7, 0.0], [0.5, 0.5, 0.5]];
        let (kept, remap) = weld_positions(&pts, 1e-6);
        assert_eq!(kept.len(), 3);
        assert_eq!(remap, vec![0, 1, 0, 1, 2]);
    }

    #[test]
    fn weld_finds_neighbours_across_cell_borders() {
        // Both sides of the cell boundary at 1e-3: same vertex within tolerance.
        let pts = [[0.999_999_9e-3, 0.0, 0.0], [1.000_000_1e-3, 0.0, 0.0]];
        let (kept, _) = weld_positions(&pts, 1e-3);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn polygons_become_fans() {
        let mut tris = Vec::new();
        let mut d = Dropped::default();
        push_polygon(&[0, 1, 2, 3, 4], &mut tris, &mut d);
        push_polygon(&[0, 1], &mut tris, &mut d);
        assert_eq!(tris, vec![[0, 1, 2], [0, 2, 3], [0, 3, 4]]);
        assert_eq!((d.polygons_triangulated, d.short_faces), (1, 1));
    }
}
