//! Per-face geometry: orientation consistency and folds across shared edges, triangle shape.

use super::topology::EdgePair;

/// Adjacent faces whose (orientation-corrected) normals turn by more than this cosine's angle
/// (about 135 degrees) form a fold: a spike, a crumpled region or a face flipped onto its
/// neighbour. A cube's 90-degree creases are not folds.
pub const FOLD_COSINE: f64 = -0.7;
/// Shape quality q = 4 sqrt(3) area / (sum of squared edge lengths): 1 for an equilateral
/// triangle, 0.87 for a right isosceles one, 0 for a degenerate one. Triangles at or above this q
/// count as well shaped; below it the shape score falls linearly.
pub const GOOD_SHAPE_QUALITY: f64 = 0.5;
/// Triangles below this q are slivers (reported).
pub const SLIVER_QUALITY: f64 = 0.1;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geometry {
    /// Interior manifold edges whose two faces traverse it in opposite directions, as a share
    /// (1 when there are no interior edges).
    pub orientation_consistency: f64,
    /// Share of interior manifold edges whose faces fold onto each other.
    pub fold_fraction: f64,
    /// Mean cosine between adjacent (orientation-corrected) face normals.
    pub mean_normal_cosine: f64,
    pub mean_shape_quality: f64,
    pub sliver_fraction: f64,
    /// Mean over faces of min(1, q / GOOD_SHAPE_QUALITY).
    pub shape_score: f64,
}

pub fn analyse(positions: &[[f64; 3]], triangles: &[[u32; 3]], kept: &[u32], pairs: &[EdgePair]) -> Geometry {
    let normal = |f: u32| unit(face_normal(positions, &triangles[f as usize]));
    let (mut consistent, mut folds, mut cos_sum) = (0usize, 0usize, 0.0);
    for e in pairs {
        let (a, b) = (normal(e.faces[0]), normal(e.faces[1]));
        // Faces that disagree on orientation have opposite normals for the same surface.
        let cos = dot(a, b) * if e.consistent { 1.0 } else { -1.0 };
        consistent += e.consistent as usize;
        folds += (cos < FOLD_COSINE) as usize;
        cos_sum += cos;
    }
    let n_pairs = pairs.len().max(1) as f64;
    let (mut q_sum, mut slivers, mut score_sum) = (0.0, 0usize, 0.0);
    for &f in kept {
        let q = shape_quality(positions, &triangles[f as usize]);
        q_sum += q;
        slivers += (q < SLIVER_QUALITY) as usize;
        score_sum += (q / GOOD_SHAPE_QUALITY).min(1.0);
    }
    let n_faces = kept.len().max(1) as f64;
    Geometry {
        orientation_consistency: if pairs.is_empty() { 1.0 } else { consistent as f64 / n_pairs },
        fold_fraction: folds as f64 / n_pairs,
        mean_normal_cosine: if pairs.is_empty() { 1.0 } else { cos_sum / n_pairs },
        mean_shape_quality: q_sum / n_faces,
        sliver_fraction: slivers as f64 / n_faces,
        shape_score: score_sum / n_faces,
    }
}

pub fn shape_quality(positions: &[[f64; 3]], t: &[u32; 3]) -> f64 {
    let [a, b, c] = t.map(|v| positions[v as usize]);
    let sum2 = norm2(sub(b, a)) + norm2(sub(c, b)) + norm2(sub(a, c));
    if sum2 <= 0.0 {
        return 0.0;
    }
    (4.0 * 3f64.sqrt() * triangle_area(positions, t) / sum2).clamp(0.0, 1.0)
}

/// Unnormalised normal (b - a) x (c - a); its length is twice the area.
pub fn face_normal(positions: &[[f64; 3]], t: &[u32; 3]) -> [f64; 3] {
    let [a, b, c] = t.map(|v| positions[v as usize]);
    cross(sub(b, a), sub(c, a))
}

pub fn triangle_area(positions: &[[f64; 3]], t: &[u32; 3]) -> f64 {
    0.5 * norm2(face_normal(positions, t)).sqrt()
}

pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn norm2(a: [f64; 3]) -> f64 {
    dot(a, a)
}

fn unit(a: [f64; 3]) -> [f64; 3] {
    let n = norm2(a).sqrt();
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::mesh::topology::{self, tests::cube};

    #[test]
    fn shape_quality_of_known_triangles() {
        let p = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 3f64.sqrt() / 2.0, 0.0], [0.0, 1.0, 0.0]];
        assert!((shape_quality(&p, &[0, 1, 2]) - 1.0).abs() < 1e-12);
        assert!((shape_quality(&p, &[0, 1, 3]) - 3f64.sqrt() / 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_flipped_face_breaks_orientation_consistency() {
        let (p, mut t) = cube();
        let g = |t: &[[u32; 3]]| {
            let topo = topology::analyse(&p, t);
            analyse(&p, t, &topo.kept, &topo.interior_pairs)
        };
        let clean = g(&t);
        assert_eq!((clean.orientation_consistency, clean.fold_fraction), (1.0, 0.0));
        t[0].swap(1, 2);
        let flipped = g(&t);
        assert_eq!(flipped.orientation_consistency, 15.0 / 18.0);
        assert_eq!(flipped.fold_fraction, 0.0, "a consistently corrected flip is not a fold");
    }
}
