//! Self-intersection: which pairs of a mesh's faces pass through each other.
//!
//! Candidate pairs come from a bounding-volume hierarchy over face boxes (median split on the
//! longest axis), so the cost is about n log n rather than n^2.
//!
//! What counts: interpenetration. A pair intersects when an edge of one passes through the
//! interior of the other, or when the faces are coplanar (within `eps`, a fraction of the
//! bounding-box diagonal) and their interiors overlap: a doubled, z-fighting surface. Contact
//! does not count: a vertex or an edge resting on another face, or faces touching along a line.
//! In floating point a contact cannot be told from a gap of 1e-6 of the model's size, and parts
//! that rest on each other are not a defect. Checked with exact rational arithmetic on real
//! meshes (tests/fixtures/mesh/exact_check.py): every non-coplanar pair reported intersects
//! exactly; the rest are coplanar overlaps within eps.
//!
//! Pairs are classified by the vertices they share, so legitimate neighbours are not reported:
//! - none: Moller's plane-side rejection (1997, "A fast triangle-triangle intersection test"),
//!   then edge-through-triangle tests (two non-coplanar triangles interpenetrate iff an edge of
//!   one crosses the other's interior; the ends of their intersection segment lie on edges);
//! - one vertex `a` (faces a,b,c and a,d,e): their intersection is convex and contains `a`, so
//!   they interpenetrate iff segment bc crosses face ade or segment de crosses face abc
//!   (coplanar: iff their interiors overlap);
//! - an edge `ab` (faces a,b,c and a,b,d): non-coplanar faces meet only along ab; coplanar ones
//!   overlap iff c and d lie on the same side of ab (a face folded back onto its neighbour).
//!
//! Moller's second step (comparing intervals on the planes' common line) is not used: for nearly
//! parallel planes that line is ill-conditioned and reports pairs that are apart.

use super::geometry::{cross, dot, norm2, sub};

type P = [f64; 3];

/// Faces per BVH leaf.
const LEAF_FACES: usize = 4;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelfIntersections {
    /// Intersecting face pairs found.
    pub pairs: usize,
    /// Of `pairs`, how many share no vertex, one vertex, an edge.
    pub pairs_by_shared: [usize; 3],
    /// Faces taking part in at least one intersecting pair.
    pub faces: usize,
    /// Faces whose candidates were all tested (all of them unless the pair budget ran out).
    pub faces_tested: usize,
    pub candidate_pairs: usize,
    pub complete: bool,
}

struct Node {
    lo: P,
    hi: P,
    /// Leaf: first item in `order`; inner: index of the left child (the right one follows it).
    first: u32,
    /// Items in a leaf; 0 for an inner node.
    count: u32,
}

/// Finds intersecting pairs among `faces` (indices into `triangles`, none degenerate or
/// duplicated). Stops adding candidates after `max_pairs` tests and says so in `complete`.
pub fn find(positions: &[P], triangles: &[[u32; 3]], faces: &[u32], eps: f64, max_pairs: usize) -> SelfIntersections {
    find_pairs(positions, triangles, faces, eps, max_pairs, |_, _| {})
}

/// As `find`, calling `on_pair(face_a, face_b)` (indices into `triangles`) for every
/// intersecting pair.
pub fn find_pairs(
    positions: &[P],
    triangles: &[[u32; 3]],
    faces: &[u32],
    eps: f64,
    max_pairs: usize,
    mut on_pair: impl FnMut(u32, u32),
) -> SelfIntersections {
    let tri = |i: usize| triangles[faces[i] as usize].map(|v| positions[v as usize]);
    let boxes: Vec<(P, P)> = (0..faces.len()).map(|i| bounds(&tri(i), eps)).collect();
    let (nodes, order) = build(&boxes);
    let mut hit = vec![false; faces.len()];
    let mut out = SelfIntersections { complete: true, ..Default::default() };
    let mut stack = Vec::new();
    let mut candidates = Vec::new();
    for a in 0..faces.len() {
        candidates.clear();
        query(&nodes, &order, &boxes, a, &mut stack, &mut candidates);
        if out.candidate_pairs + candidates.len() > max_pairs {
            out.complete = false;
            break;
        }
        out.candidate_pairs += candidates.len();
        let ta = triangles[faces[a] as usize];
        for &b in &candidates {
            let tb = triangles[faces[b] as usize];
            if faces_intersect(&ta, &tb, positions, eps) {
                out.pairs += 1;
                out.pairs_by_shared[shared_vertices(&ta, &tb).min(2)] += 1;
                on_pair(faces[a], faces[b]);
                hit[a] = true;
                hit[b] = true;
            }
        }
        out.faces_tested += 1;
    }
    out.faces = hit.iter().filter(|&&h| h).count();
    out
}

fn shared_vertices(ta: &[u32; 3], tb: &[u32; 3]) -> usize {
    ta.iter().filter(|v| tb.contains(v)).count()
}

/// Whether two faces of the same mesh interpenetrate (see the module notes).
pub fn faces_intersect(ta: &[u32; 3], tb: &[u32; 3], positions: &[P], eps: f64) -> bool {
    let pa = ta.map(|v| positions[v as usize]);
    let pb = tb.map(|v| positions[v as usize]);
    // Positions (in ta, in tb) of shared vertices; a fixed array because this runs for every
    // candidate pair.
    let mut shared = [(0usize, 0usize); 3];
    let mut n_shared = 0;
    for i in 0..3 {
        for j in 0..3 {
            if ta[i] == tb[j] && n_shared < 3 {
                shared[n_shared] = (i, j);
                n_shared += 1;
            }
        }
    }
    match n_shared {
        0 => tri_tri(&pa, &pb, eps),
        1 => {
            let (i, j) = shared[0];
            let (b, c) = (pa[(i + 1) % 3], pa[(i + 2) % 3]);
            let (d, e) = (pb[(j + 1) % 3], pb[(j + 2) % 3]);
            let na = cross(sub(b, pa[i]), sub(c, pa[i]));
            let nb = cross(sub(d, pb[j]), sub(e, pb[j]));
            if signed_distances(na, pa[i], &[d, e, e], eps) == [0.0; 3] {
                return coplanar_overlap(na, &pa, &pb, eps);
            }
            if signed_distances(nb, pb[j], &[b, c, c], eps) == [0.0; 3] {
                return coplanar_overlap(nb, &pa, &pb, eps);
            }
            segment_crosses(b, c, &pb, eps) || segment_crosses(d, e, &pa, eps)
        }
        2 => {
            let c = pa[(0..3).find(|&i| !tb.contains(&ta[i])).unwrap_or(0)];
            let d = pb[(0..3).find(|&j| !ta.contains(&tb[j])).unwrap_or(0)];
            let (a, b) = (positions[ta[shared[0].0] as usize], positions[ta[shared[1].0] as usize]);
            let n = cross(sub(b, a), sub(c, a));
            if dot(n, sub(d, a)).abs() > eps * norm2(n).sqrt() {
                return false;
            }
            let ax = drop_axis(n);
            let (a2, b2, c2, d2) = (proj(a, ax), proj(b, ax), proj(c, ax), proj(d, ax));
            side(a2, b2, c2, eps) * side(a2, b2, d2, eps) > 0
        }
        _ => false,
    }
}

/// Whether two triangles sharing no vertex interpenetrate (see the module notes).
pub fn tri_tri(v: &[P; 3], u: &[P; 3], eps: f64) -> bool {
    let n1 = cross(sub(v[1], v[0]), sub(v[2], v[0]));
    let du = signed_distances(n1, v[0], u, eps);
    if du[0] * du[1] >= 0.0 && du[0] * du[2] >= 0.0 && du[1] * du[2] >= 0.0 && du != [0.0; 3] {
        // All of u on one side of v's plane (touching at most): no interpenetration.
        return false;
    }
    let n2 = cross(sub(u[1], u[0]), sub(u[2], u[0]));
    let dv = signed_distances(n2, u[0], v, eps);
    if dv[0] * dv[1] >= 0.0 && dv[0] * dv[2] >= 0.0 && dv[1] * dv[2] >= 0.0 && dv != [0.0; 3] {
        return false;
    }
    if du == [0.0; 3] {
        return coplanar_overlap(n1, v, u, eps);
    }
    if dv == [0.0; 3] {
        return coplanar_overlap(n2, v, u, eps);
    }
    (0..3).any(|i| segment_crosses(v[i], v[(i + 1) % 3], u, eps))
        || (0..3).any(|i| segment_crosses(u[i], u[(i + 1) % 3], v, eps))
}

/// Signed distances (scaled by |n|) of `pts` from the plane through `o` with normal `n`;
/// values within eps of the plane are snapped to 0.
fn signed_distances(n: P, o: P, pts: &[P; 3], eps: f64) -> [f64; 3] {
    let limit = eps * norm2(n).sqrt();
    pts.map(|p| {
        let d = dot(n, sub(p, o));
        if d.abs() <= limit {
            0.0
        } else {
            d
        }
    })
}

/// Whether coplanar triangles' interiors overlap: two edges cross properly, a vertex (or the
/// centroid, for congruent triangles) lies strictly inside the other triangle.
fn coplanar_overlap(n: P, v: &[P; 3], u: &[P; 3], eps: f64) -> bool {
    let ax = drop_axis(n);
    let v2 = v.map(|p| proj(p, ax));
    let u2 = u.map(|p| proj(p, ax));
    for i in 0..3 {
        for j in 0..3 {
            if segments_cross(v2[i], v2[(i + 1) % 3], u2[j], u2[(j + 1) % 3], eps) {
                return true;
            }
        }
    }
    let centroid = |t: &[[f64; 2]; 3]| [(t[0][0] + t[1][0] + t[2][0]) / 3.0, (t[0][1] + t[1][1] + t[2][1]) / 3.0];
    v2.iter().chain([centroid(&v2)].iter()).any(|&p| strictly_inside(p, &u2, eps))
        || u2.iter().chain([centroid(&u2)].iter()).any(|&p| strictly_inside(p, &v2, eps))
}

/// Whether segment s0-s1 passes through the interior of triangle `t`: its ends strictly on
/// opposite sides of the plane and the crossing point strictly inside.
pub fn segment_crosses(s0: P, s1: P, t: &[P; 3], eps: f64) -> bool {
    let n = cross(sub(t[1], t[0]), sub(t[2], t[0]));
    let [d0, d1, _] = signed_distances(n, t[0], &[s0, s1, s1], eps);
    if d0 * d1 >= 0.0 {
        return false;
    }
    // Opposite signs beyond eps: the division is well conditioned.
    let s = d0 / (d0 - d1);
    let x = [0, 1, 2].map(|k| s0[k] + (s1[k] - s0[k]) * s);
    let ax = drop_axis(n);
    strictly_inside(proj(x, ax), &t.map(|p| proj(p, ax)), eps)
}

/// The coordinate to drop when projecting onto the plane with normal n (its largest component),
/// so the projection shrinks lengths by at most sqrt(3).
fn drop_axis(n: P) -> usize {
    (0..3).max_by(|&a, &b| n[a].abs().total_cmp(&n[b].abs())).unwrap_or(2)
}

fn proj(p: P, drop: usize) -> [f64; 2] {
    match drop {
        0 => [p[1], p[2]],
        1 => [p[2], p[0]],
        _ => [p[0], p[1]],
    }
}

fn orient2(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Side of c relative to the line ab: 1 left, -1 right, 0 within eps of the line.
fn side(a: [f64; 2], b: [f64; 2], c: [f64; 2], eps: f64) -> i8 {
    let o = orient2(a, b, c);
    let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
    if o.abs() <= eps * len {
        0
    } else if o > 0.0 {
        1
    } else {
        -1
    }
}

/// Proper crossing: each segment's ends strictly on opposite sides of the other's line.
fn segments_cross(p1: [f64; 2], p2: [f64; 2], q1: [f64; 2], q2: [f64; 2], eps: f64) -> bool {
    side(p1, p2, q1, eps) * side(p1, p2, q2, eps) < 0 && side(q1, q2, p1, eps) * side(q1, q2, p2, eps) < 0
}

fn strictly_inside(p: [f64; 2], t: &[[f64; 2]; 3], eps: f64) -> bool {
    let s = [side(t[0], t[1], p, eps), side(t[1], t[2], p, eps), side(t[2], t[0], p, eps)];
    s[0] != 0 && s[0] == s[1] && s[1] == s[2]
}

fn bounds(t: &[P; 3], eps: f64) -> (P, P) {
    let mut lo = t[0];
    let mut hi = t[0];
    for p in &t[1..] {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo.map(|x| x - eps), hi.map(|x| x + eps))
}

fn build(boxes: &[(P, P)]) -> (Vec<Node>, Vec<u32>) {
    let mut order: Vec<u32> = (0..boxes.len() as u32).collect();
    let mut nodes = Vec::with_capacity(2 * boxes.len() / LEAF_FACES + 1);
    if !boxes.is_empty() {
        nodes.push(Node { lo: [0.0; 3], hi: [0.0; 3], first: 0, count: 0 });
        split(0, 0, boxes.len(), boxes, &mut order, &mut nodes);
    }
    (nodes, order)
}

fn split(node: usize, lo_i: usize, hi_i: usize, boxes: &[(P, P)], order: &mut [u32], nodes: &mut Vec<Node>) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for &i in &order[lo_i..hi_i] {
        for k in 0..3 {
            lo[k] = lo[k].min(boxes[i as usize].0[k]);
            hi[k] = hi[k].max(boxes[i as usize].1[k]);
        }
    }
    nodes[node].lo = lo;
    nodes[node].hi = hi;
    if hi_i - lo_i <= LEAF_FACES {
        nodes[node].first = lo_i as u32;
        nodes[node].count = (hi_i - lo_i) as u32;
        return;
    }
    let axis = (0..3).max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b]))).unwrap_or(0);
    let mid = (lo_i + hi_i) / 2;
    let centre = |i: u32| boxes[i as usize].0[axis] + boxes[i as usize].1[axis];
    order[lo_i..hi_i].select_nth_unstable_by(mid - lo_i, |&a, &b| centre(a).total_cmp(&centre(b)));
    let left = nodes.len();
    nodes.push(Node { lo: [0.0; 3], hi: [0.0; 3], first: 0, count: 0 });
    nodes.push(Node { lo: [0.0; 3], hi: [0.0; 3], first: 0, count: 0 });
    nodes[node].first = left as u32;
    split(left, lo_i, mid, boxes, order, nodes);
    split(left + 1, mid, hi_i, boxes, order, nodes);
}

/// Items after `a` (in face order) whose boxes overlap item a's box.
fn query(nodes: &[Node], order: &[u32], boxes: &[(P, P)], a: usize, stack: &mut Vec<u32>, out: &mut Vec<usize>) {
    let (qlo, qhi) = boxes[a];
    let overlaps = |lo: &P, hi: &P| (0..3).all(|k| lo[k] <= qhi[k] && qlo[k] <= hi[k]);
    stack.clear();
    if !nodes.is_empty() {
        stack.push(0);
    }
    while let Some(n) = stack.pop() {
        let node = &nodes[n as usize];
        if !overlaps(&node.lo, &node.hi) {
            continue;
        }
        if node.count > 0 {
            for &b in &order[node.first as usize..(node.first + node.count) as usize] {
                let b = b as usize;
                if b > a && overlaps(&boxes[b].0, &boxes[b].1) {
                    out.push(b);
                }
            }
        } else {
            stack.push(node.first);
            stack.push(node.first + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::mesh::topology::tests::cube;

    const EPS: f64 = 1e-12;

    #[test]
    fn crossing_and_separate_triangles() {
        let t = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];
        let piercing = [[0.5, 0.5, -1.0], [0.5, 0.5, 1.0], [1.5, 1.5, 1.0]];
        let above = [[0.5, 0.5, 0.1], [0.5, 0.5, 1.0], [1.5, 1.5, 1.0]];
        let beside = [[1.0, 3.0, -1.0], [1.0, 3.0, 1.0], [1.0, 4.0, 0.0]];
        assert!(tri_tri(&t, &piercing, EPS) && tri_tri(&piercing, &t, EPS));
        assert!(!tri_tri(&t, &above, EPS) && !tri_tri(&above, &t, EPS));
        // Each crosses the other's plane (the classic trap), yet they are apart.
        assert!(!tri_tri(&t, &beside, EPS));
    }

    #[test]
    fn contact_is_not_interpenetration() {
        let t = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];
        let vertex_on_face = [[0.5, 0.5, 0.0], [0.5, 0.5, 1.0], [1.0, 0.2, 1.0]];
        let edge_on_face = [[0.2, 0.2, 0.0], [1.0, 0.5, 0.0], [0.5, 0.5, 1.0]];
        let a_hair_through = [[0.5, 0.5, -1e-13], [0.5, 0.5, 1.0], [1.0, 0.2, 1.0]];
        for u in [vertex_on_face, edge_on_face, a_hair_through] {
            assert!(!tri_tri(&t, &u, 1e-9) && !tri_tri(&u, &t, 1e-9), "{u:?}");
        }
        assert!(tri_tri(&t, &[[0.5, 0.5, -1e-3], [0.5, 0.5, 1.0], [1.0, 0.2, 1.0]], 1e-9));
    }

    #[test]
    fn coplanar_overlap_and_separation() {
        let t = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];
        let inside = [[0.2, 0.2, 0.0], [0.5, 0.2, 0.0], [0.2, 0.5, 0.0]];
        let away = [[3.0, 3.0, 0.0], [4.0, 3.0, 0.0], [3.0, 4.0, 0.0]];
        let crossing = [[1.0, -0.5, 0.0], [1.0, 0.5, 0.0], [3.0, 0.0, 0.0]];
        let same = [t[1], t[2], t[0]];
        assert!(tri_tri(&t, &inside, EPS) && tri_tri(&inside, &t, EPS));
        assert!(tri_tri(&t, &crossing, EPS) && tri_tri(&t, &same, EPS));
        assert!(!tri_tri(&t, &away, EPS));
    }

    #[test]
    fn shared_vertex_and_edge_pairs() {
        // Fan around a vertex on a plane: no intersection.
        let p = vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.3, 0.3, -1.0], [0.3, 0.3, 1.0], [0.6, 0.1, 0.0]];
        assert!(!faces_intersect(&[0, 1, 2], &[0, 3, 4], &p, EPS));
        // Sharing vertex 0 but piercing face 0,1,2 through its interior.
        assert!(faces_intersect(&[0, 1, 2], &[0, 5, 6], &p, EPS));
        // Sharing edge 0-1: bent (not coplanar) is fine; folded back onto the same side is not.
        assert!(!faces_intersect(&[0, 1, 2], &[1, 0, 4], &p, EPS));
        assert!(!faces_intersect(&[0, 1, 2], &[1, 0, 5], &p, EPS));
        assert!(faces_intersect(&[0, 1, 2], &[1, 0, 7], &p, EPS));
    }

    #[test]
    fn closed_cube_has_none_and_a_poking_triangle_is_found() {
        let (mut p, mut t) = cube();
        let all: Vec<u32> = (0..t.len() as u32).collect();
        assert_eq!(find(&p, &t, &all, EPS, usize::MAX).pairs, 0);
        // A triangle from the cube's centre out through the top face (z = 1).
        p.extend([[0.5, 0.5, 0.5], [0.5, 0.4, 1.5], [0.6, 0.6, 1.5]]);
        t.push([8, 9, 10]);
        let all: Vec<u32> = (0..t.len() as u32).collect();
        let si = find(&p, &t, &all, EPS, usize::MAX);
        assert!(si.pairs >= 1 && si.complete, "{si:?}");
    }
}
