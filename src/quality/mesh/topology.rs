//! Mesh topology on welded vertices: degenerate and duplicate faces, edge manifoldness,
//! boundary edges and the holes they bound, connected components.

use super::geometry::{cross, sub};

/// A face is degenerate when an index repeats or twice its area is below this share of its
/// longest edge squared (about the sine of its smallest angle): a needle or a collinear triple.
pub const COLLINEAR_TOLERANCE: f64 = 1e-7;
/// Components holding less than this share of the faces are floaters (stray fragments).
pub const FLOATER_FACE_SHARE: f64 = 0.005;

/// An interior edge shared by exactly two faces, and whether they traverse it in opposite
/// directions (consistent orientation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgePair {
    pub faces: [u32; 2],
    pub consistent: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// Faces after welding, including degenerate and duplicate ones.
    pub faces: usize,
    pub degenerate_faces: usize,
    /// Faces whose vertex set repeats an earlier face (either winding); the first copy is kept.
    pub duplicate_faces: usize,
    /// Indices of the faces that are neither degenerate nor duplicates (the ones analysed).
    pub kept: Vec<u32>,
    /// Vertices referenced by kept faces.
    pub vertices: usize,
    pub edges: usize,
    pub boundary_edges: usize,
    /// Edges shared by more than two faces.
    pub non_manifold_edges: usize,
    /// Closed loops (connected groups) of boundary edges.
    pub holes: usize,
    pub components: usize,
    /// Faces in components holding less than `FLOATER_FACE_SHARE` of the faces.
    pub floater_faces: usize,
    /// V - E + F over the kept faces.
    pub euler_characteristic: i64,
    pub interior_pairs: Vec<EdgePair>,
}

impl Topology {
    pub fn is_closed_manifold(&self) -> bool {
        self.boundary_edges == 0 && self.non_manifold_edges == 0 && self.edges > 0
    }
}

pub fn analyse(positions: &[[f64; 3]], triangles: &[[u32; 3]]) -> Topology {
    let mut topo = Topology { faces: triangles.len(), ..Default::default() };
    let mut seen = std::collections::HashSet::with_capacity(triangles.len());
    for (i, t) in triangles.iter().enumerate() {
        if is_degenerate(positions, t) {
            topo.degenerate_faces += 1;
            continue;
        }
        let mut key = *t;
        key.sort_unstable();
        if !seen.insert(key) {
            topo.duplicate_faces += 1;
            continue;
        }
        topo.kept.push(i as u32);
    }

    // Directed half-edges sorted by their undirected key group the faces around each edge.
    let mut half: Vec<(u32, u32, u32, bool)> = Vec::with_capacity(3 * topo.kept.len());
    for &f in &topo.kept {
        let t = triangles[f as usize];
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            half.push((a.min(b), a.max(b), f, a < b));
        }
    }
    half.sort_unstable();
    let mut boundary_uf = UnionFind::new(positions.len());
    let mut start = 0;
    while start < half.len() {
        let mut end = start + 1;
        while end < half.len() && half[end].0 == half[start].0 && half[end].1 == half[start].1 {
            end += 1;
        }
        topo.edges += 1;
        match end - start {
            1 => {
                topo.boundary_edges += 1;
                boundary_uf.union(half[start].0, half[start].1);
            }
            2 => topo.interior_pairs.push(EdgePair {
                faces: [half[start].2, half[start + 1].2],
                consistent: half[start].3 != half[start + 1].3,
            }),
            _ => topo.non_manifold_edges += 1,
        }
        start = end;
    }
    let mut boundary_vertices: Vec<u32> = half
        .chunk_by(|a, b| a.0 == b.0 && a.1 == b.1)
        .filter(|g| g.len() == 1)
        .flat_map(|g| [g[0].0, g[0].1])
        .collect();
    boundary_vertices.sort_unstable();
    boundary_vertices.dedup();
    let mut hole_roots: Vec<u32> = boundary_vertices.iter().map(|&v| boundary_uf.find(v)).collect();
    hole_roots.sort_unstable();
    hole_roots.dedup();
    topo.holes = hole_roots.len();

    let mut uf = UnionFind::new(positions.len());
    let mut used = vec![false; positions.len()];
    for &f in &topo.kept {
        let t = triangles[f as usize];
        uf.union(t[0], t[1]);
        uf.union(t[1], t[2]);
        for v in t {
            used[v as usize] = true;
        }
    }
    topo.vertices = used.iter().filter(|&&u| u).count();
    let mut faces_per_root = std::collections::HashMap::new();
    for &f in &topo.kept {
        *faces_per_root.entry(uf.find(triangles[f as usize][0])).or_insert(0usize) += 1;
    }
    topo.components = faces_per_root.len();
    let floater_limit = FLOATER_FACE_SHARE * topo.kept.len() as f64;
    topo.floater_faces = faces_per_root.values().filter(|&&n| (n as f64) < floater_limit).sum();
    topo.euler_characteristic = topo.vertices as i64 - topo.edges as i64 + topo.kept.len() as i64;
    topo
}

pub fn is_degenerate(positions: &[[f64; 3]], t: &[u32; 3]) -> bool {
    if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
        return true;
    }
    let [a, b, c] = t.map(|v| positions[v as usize]);
    let n = cross(sub(b, a), sub(c, a));
    let twice_area = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    let longest2 = [sub(b, a), sub(c, b), sub(a, c)].iter().map(|e| e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).fold(0.0, f64::max);
    twice_area <= COLLINEAR_TOLERANCE * longest2
}

/// Union-find with path halving and union by size.
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A unit cube as 12 outward-facing triangles.
    pub(crate) fn cube() -> (Vec<[f64; 3]>, Vec<[u32; 3]>) {
        let p = (0..8).map(|i| [(i & 1) as f64, ((i >> 1) & 1) as f64, ((i >> 2) & 1) as f64]).collect();
        let quads = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]];
        let t = quads.iter().flat_map(|q: &[u32; 4]| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]).collect();
        (p, t)
    }

    #[test]
    fn cube_is_closed_genus_zero() {
        let (p, t) = cube();
        let topo = analyse(&p, &t);
        assert!(topo.is_closed_manifold(), "{topo:?}");
        assert_eq!((topo.edges, topo.components, topo.holes, topo.euler_characteristic), (18, 1, 0, 2));
        assert!(topo.interior_pairs.iter().all(|e| e.consistent));
    }

    #[test]
    fn hole_duplicate_degenerate_and_non_manifold_are_counted() {
        let (mut p, mut t) = cube();
        t.remove(0); // opens a hole with 3 boundary edges
        t.push(t[0]); // a duplicate
        t.push([t[1][2], t[1][1], t[1][0]]); // the same face flipped: also a duplicate
        p.push([0.5, 0.5, 0.5]);
        t.push([0, 8, 0]); // repeated index: degenerate
        p.push([2.0, 0.0, 0.0]);
        p.push([3.0, 0.0, 0.0]);
        t.push([0, 9, 10]); // collinear: degenerate
        let topo = analyse(&p, &t);
        assert_eq!((topo.duplicate_faces, topo.degenerate_faces), (2, 2));
        assert_eq!((topo.boundary_edges, topo.holes, topo.non_manifold_edges), (3, 1, 0));
        // A third face on an existing edge makes it non-manifold.
        p.push([0.5, -1.0, 0.0]);
        t.push([4, 5, 11]);
        assert_eq!(analyse(&p, &t).non_manifold_edges, 1);
    }
}
