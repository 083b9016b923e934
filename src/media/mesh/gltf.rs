//! glTF 2.0 (`.gltf` with external or embedded buffers) and GLB, through the `gltf` crate.
//!
//! Every mesh primitive of every node reachable from the default scene (the first scene when
//! none is marked default; every root node when the file has no scenes) is placed with its node's
//! world transform and appended. Primitive modes:
//! - TRIANGLES as is; TRIANGLE_STRIP and TRIANGLE_FAN are unrolled into triangles (strip
//!   triangles that repeat an index are the strip's stitching, not geometry, and are skipped);
//! - POINTS: the positions are kept as unreferenced vertices (a file of only points is a point
//!   cloud) and counted in `dropped.points`;
//! - LINES, LINE_LOOP, LINE_STRIP: dropped and counted in `dropped.lines`.
//!
//! Morph targets and skins are not applied (the rest pose is what is scored) and are noted.
//! Draco-compressed files (KHR_draco_mesh_compression) are reported as unsupported.

use super::{Dropped, Mesh, MeshFormat};
use crate::media::MediaError;
use ::gltf::mesh::Mode;
use std::path::Path;

type Mat4 = [[f64; 4]; 4];

const IDENTITY: Mat4 = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
/// Deeper node hierarchies than this are taken to be cyclic (the glTF spec forbids cycles).
const MAX_NODE_DEPTH: usize = 256;
const DRACO: &str = "KHR_draco_mesh_compression";

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Mesh, MediaError> {
    let glb = bytes.starts_with(b"glTF");
    let draco = || MediaError::unsupported(path, format!("glTF extension {DRACO} (Draco-compressed geometry)"));
    let gltf = match ::gltf::Gltf::from_slice(bytes) {
        Ok(g) => g,
        Err(e) => {
            // Validation reports every accessor a Draco file leaves empty; name the real cause.
            if let Ok(raw) = ::gltf::Gltf::from_slice_without_validation(bytes) {
                if raw.document.extensions_required().any(|x| x == DRACO) {
                    return Err(draco());
                }
            }
            return Err(MediaError::decode(path, format!("glTF: {}", shorten(&e.to_string()))));
        }
    };
    if gltf.document.extensions_required().any(|e| e == DRACO) {
        return Err(draco());
    }
    let base = path.parent();
    let buffers = ::gltf::import_buffers(&gltf.document, base, gltf.blob.clone())
        .map_err(|e| MediaError::decode(path, format!("glTF buffers: {e}")))?;
    let mut out = Builder { path, buffers: &buffers, mesh: Mesh {
        format: if glb { MeshFormat::Glb } else { MeshFormat::Gltf },
        positions: Vec::new(),
        triangles: Vec::new(),
        dropped: Dropped::default(),
    } };
    let doc = &gltf.document;
    let roots: Vec<::gltf::Node> = match doc.default_scene().or_else(|| doc.scenes().next()) {
        Some(scene) => scene.nodes().collect(),
        None => {
            let mut is_child = vec![false; doc.nodes().len()];
            for n in doc.nodes() {
                for c in n.children() {
                    is_child[c.index()] = true;
                }
            }
            doc.nodes().filter(|n| !is_child[n.index()]).collect()
        }
    };
    let mut stack: Vec<usize> = Vec::new();
    for node in roots {
        out.visit(&node, &IDENTITY, &mut stack)?;
    }
    if out.mesh.positions.is_empty() {
        return Err(MediaError::decode(path, "glTF scene has no mesh geometry"));
    }
    Ok(out.mesh)
}

struct Builder<'a> {
    path: &'a Path,
    buffers: &'a [::gltf::buffer::Data],
    mesh: Mesh,
}

impl Builder<'_> {
    fn visit(&mut self, node: &::gltf::Node, parent: &Mat4, stack: &mut Vec<usize>) -> Result<(), MediaError> {
        if stack.contains(&node.index()) || stack.len() >= MAX_NODE_DEPTH {
            return Err(MediaError::decode(self.path, format!("glTF node {} is its own ancestor (cyclic hierarchy)", node.index())));
        }
        let local = node.transform().matrix().map(|col| col.map(f64::from));
        let world = mul(parent, &local);
        if let Some(mesh) = node.mesh() {
            if node.skin().is_some() {
                self.note("glTF skins not applied (bind pose scored)");
            }
            for prim in mesh.primitives() {
                self.primitive(node.index(), &prim, &world)?;
            }
        }
        stack.push(node.index());
        for child in node.children() {
            self.visit(&child, &world, stack)?;
        }
        stack.pop();
        Ok(())
    }

    fn primitive(&mut self, node: usize, prim: &::gltf::Primitive, m: &Mat4) -> Result<(), MediaError> {
        let what = format!("node {node} primitive {}", prim.index());
        let reader = prim.reader(|b| self.buffers.get(b.index()).map(|d| &d.0[..]));
        let Some(read) = reader.read_positions() else {
            self.note(&format!("glTF {what} without POSITION skipped"));
            return Ok(());
        };
        if prim.morph_targets().next().is_some() {
            self.note("glTF morph targets not applied (base shape scored)");
        }
        let base = self.mesh.positions.len();
        for (i, p) in read.enumerate() {
            let p = p.map(f64::from);
            if p.iter().any(|c| !c.is_finite()) {
                return Err(MediaError::decode(self.path, format!("glTF {what}: vertex {i} has a NaN or infinite coordinate")));
            }
            self.mesh.positions.push(transform(m, p));
        }
        let n = self.mesh.positions.len() - base;
        let indices: Vec<u32> = match reader.read_indices() {
            Some(ix) => ix.into_u32().collect(),
            None => (0..n as u32).collect(),
        };
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= n) {
            return Err(MediaError::decode(self.path, format!("glTF {what}: index {bad} out of range ({n} vertices)")));
        }
        let tri = |a: u32, b: u32, c: u32| [base as u32 + a, base as u32 + b, base as u32 + c];
        let d = &mut self.mesh.dropped;
        match prim.mode() {
            Mode::Triangles => {
                if indices.len() % 3 != 0 {
                    d.notes.push(format!("glTF {what}: {} trailing indices ignored", indices.len() % 3));
                }
                self.mesh.triangles.extend(indices.chunks_exact(3).map(|t| tri(t[0], t[1], t[2])));
            }
            Mode::TriangleStrip => {
                for k in 0..indices.len().saturating_sub(2) {
                    let (a, b, c) = (indices[k], indices[k + 1], indices[k + 2]);
                    if a == b || b == c || a == c {
                        continue;
                    }
                    // Every other strip triangle is wound the other way; swap to keep orientation.
                    self.mesh.triangles.push(if k % 2 == 0 { tri(a, b, c) } else { tri(b, a, c) });
                }
            }
            Mode::TriangleFan => {
                for k in 1..indices.len().saturating_sub(1) {
                    self.mesh.triangles.push(tri(indices[0], indices[k], indices[k + 1]));
                }
            }
            Mode::Points => d.points += 1,
            Mode::Lines | Mode::LineLoop | Mode::LineStrip => d.lines += 1,
        }
        Ok(())
    }

    fn note(&mut self, s: &str) {
        if !self.mesh.dropped.notes.iter().any(|n| n == s) {
            self.mesh.dropped.notes.push(s.to_string());
        }
    }
}

/// Validation errors list every failing field; keep a message readable.
fn shorten(msg: &str) -> String {
    const MAX_CHARS: usize = 300;
    match msg.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{} ...", &msg[..cut]),
        None => msg.to_string(),
    }
}

/// Column-major product a * b (glTF stores matrices column by column).
fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for (col, out_col) in out.iter_mut().enumerate() {
        for (row, v) in out_col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][row] * b[col][k]).sum();
        }
    }
    out
}

fn transform(m: &Mat4, p: [f64; 3]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (row, v) in out.iter_mut().enumerate() {
        *v = m[0][row] * p[0] + m[1][row] * p[1] + m[2][row] * p[2] + m[3][row];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_major_transform_translates_after_scaling() {
        let scale: Mat4 = [[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
        let mut translate = IDENTITY;
        translate[3] = [1.0, 2.0, 3.0, 1.0];
        let m = mul(&translate, &scale);
        assert_eq!(transform(&m, [1.0, 1.0, 1.0]), [3.0, 4.0, 5.0]);
    }
}
