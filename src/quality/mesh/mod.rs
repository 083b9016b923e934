//! The "mesh" scorer: no-reference quality of a 3D file (OBJ, PLY, STL, glTF/GLB), as a mesh
//! or, when the file has no faces, as a point cloud.
//!
//! The official UniM script combines 100 (0.3 topology + 0.4 geometry + 0.3 sampling) but reads
//! every `.ply` as a point cloud and its self-intersection term is always 1.0 (an indexing bug).
//! We keep its weights and compute each part properly (see `MeshScorer` for the mapping).

pub mod geometry;
pub mod intersect;
pub mod points;
pub mod topology;

use super::{QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::media::mesh::{self, Mesh};
use std::path::Path;

const SCORER_NAME: &str = "mesh";
/// Bump when the computation changes (part of the store fingerprint).
const SCORER_VERSION: &str = "1";

/// Official weights of the three mesh parts.
const TOPOLOGY_WEIGHT: f64 = 0.3;
const GEOMETRY_WEIGHT: f64 = 0.4;
const SAMPLING_WEIGHT: f64 = 0.3;
/// A defect share f (of faces or edges) maps to exp(-f / scale): 5 % defective -> 0.37.
/// Linear 1 - f would call a mesh with 5 % non-manifold edges "95 % good".
const DEFECT_SHARE_SCALE: f64 = 0.05;
/// Topology term weights: manifold edges, boundary edges (holes), degenerate faces, duplicate
/// faces, self-intersecting faces, floater faces. They sum to 1.
const TOPOLOGY_TERMS: [f64; 6] = [0.2, 0.2, 0.15, 0.15, 0.2, 0.1];
/// Geometry term weights: orientation consistency, folds, triangle shape.
const GEOMETRY_TERMS: [f64; 3] = [0.4, 0.2, 0.4];
/// Point cloud weights: surface-likeness, spacing uniformity, outliers.
const CLOUD_TERMS: [f64; 3] = [0.5, 0.25, 0.25];
/// Outlier share f maps to exp(-f / scale): 2 % stray points -> 0.37.
const OUTLIER_SHARE_SCALE: f64 = 0.02;
/// Neighbours per point for outliers and local PCA.
const NEIGHBOURS: usize = 16;
/// A point is an outlier when its mean neighbour distance exceeds the median by this many
/// robust standard deviations.
const OUTLIER_SIGMAS: f64 = 6.0;
/// Neighbourhood queries per file; larger clouds are subsampled evenly (bounded cost).
const MAX_QUERIES: usize = 20_000;
/// Area-weighted surface samples (reported only, see `MeshAnalysis::surface_sample_nn_cv`).
const SURFACE_SAMPLES: usize = 4096;
const SAMPLE_SEED: u64 = 0x5EED_3D;
/// Distances below this share of the bounding-box diagonal are zero in the intersection test
/// (float32 coordinates carry about 6e-8 relative rounding; flat regions must stay flat).
const INTERSECTION_EPS_RELATIVE: f64 = 1e-6;
/// Candidate pairs the self-intersection test may examine before it stops (and says so).
const MAX_CANDIDATE_PAIRS: usize = 50_000_000;
/// Fewer points than this cannot give neighbourhood statistics.
const MIN_CLOUD_POINTS: usize = 4;

pub fn scorers() -> Vec<ScorerInfo> {
    vec![ScorerInfo {
        name: SCORER_NAME,
        modality: Modality::ThreeD,
        description: "3D mesh/point cloud: 0.3 topology (manifold, holes, degenerate/duplicate/self-intersecting faces) + 0.4 geometry (orientation, folds, triangle shape) + 0.3 vertex spacing uniformity; point clouds: surface-likeness, uniformity, outliers; all in [0,1]",
        lower_better_raw: false,
        default: true,
        build: |_ctx: &ScorerContext| Ok(Box::new(MeshScorer)),
    }]
}

/// Scores meshes and point clouds in [0, 1], higher is better; `raw` is the same value (the
/// official scale is 100 x raw).
///
/// Mesh (after welding vertices within 1e-6 of the bounding-box diagonal, so UV/normal seams do
/// not count as boundaries): score = 0.3 T + 0.4 G + 0.3 S.
/// - T = 0.2 e(non-manifold edges / edges) + 0.2 e(boundary edges / edges)
///   + 0.15 e(degenerate / faces) + 0.15 e(duplicates / faces)
///   + 0.2 e(self-intersecting faces / faces) + 0.1 e(floater faces / faces),
///   with e(f) = exp(-f / 0.05).
/// - G = 0.4 e(1 - orientation consistency) + 0.2 e(fold share) + 0.4 shape score, where the
///   shape score is the mean over faces of min(1, q / 0.5), q = 4 sqrt(3) A / sum(l^2).
/// - S = 1 / (1 + CV) of the nearest-neighbour distances between the mesh's vertices (how evenly
///   the mesh samples its surface; 1 for a regular grid, 0.66 for Poisson-random points).
///
/// Point cloud (no faces): score = 0.5 (1 - 3 mean surface variation) + 0.25 / (1 + NN CV)
/// + 0.25 exp(-outlier share / 0.02); topology and geometry do not apply and the reason says so.
pub struct MeshScorer;

impl Scorer for MeshScorer {
    fn name(&self) -> &'static str {
        SCORER_NAME
    }

    fn modality(&self) -> Modality {
        Modality::ThreeD
    }

    fn version(&self) -> &'static str {
        SCORER_VERSION
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        Ok(score_mesh(&mesh::load(path)?))
    }
}

/// Everything measured on a mesh with faces.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshAnalysis {
    pub topology: topology::Topology,
    pub geometry: geometry::Geometry,
    pub intersections: intersect::SelfIntersections,
    /// CV of nearest-neighbour distances between the vertices the kept faces use.
    pub vertex_nn_cv: f64,
    /// CV of nearest-neighbour distances of area-weighted random surface samples. Reported, not
    /// scored: random samples of any surface form a Poisson process, whose CV is about 0.52
    /// whatever the mesh, so it says little about the mesh itself.
    pub surface_sample_nn_cv: f64,
    /// Vertices merged by welding before the analysis.
    pub welded: usize,
}

/// Welds a copy of the mesh and measures it. None for a point cloud.
pub fn analyse_mesh(mesh: &Mesh) -> Option<MeshAnalysis> {
    if mesh.is_point_cloud() {
        return None;
    }
    let mut m = mesh.clone();
    let welded = m.weld();
    let topo = topology::analyse(&m.positions, &m.triangles);
    let geom = geometry::analyse(&m.positions, &m.triangles, &topo.kept, &topo.interior_pairs);
    let eps = m.bbox_diagonal() * INTERSECTION_EPS_RELATIVE;
    let intersections = intersect::find(&m.positions, &m.triangles, &topo.kept, eps, MAX_CANDIDATE_PAIRS);
    let mut used = vec![false; m.positions.len()];
    let kept_tris: Vec<[u32; 3]> = topo.kept.iter().map(|&f| m.triangles[f as usize]).collect();
    kept_tris.iter().flatten().for_each(|&v| used[v as usize] = true);
    let verts: Vec<[f64; 3]> = m.positions.iter().zip(&used).filter(|(_, &u)| u).map(|(p, _)| *p).collect();
    let vertex_nn_cv = nn_cv(&verts);
    let samples = points::sample_surface(&m.positions, &kept_tris, SURFACE_SAMPLES, SAMPLE_SEED);
    let surface_sample_nn_cv = nn_cv(&samples);
    Some(MeshAnalysis { topology: topo, geometry: geom, intersections, vertex_nn_cv, surface_sample_nn_cv, welded })
}

fn nn_cv(pts: &[[f64; 3]]) -> f64 {
    if pts.len() < 2 {
        return 0.0;
    }
    let tree = points::KdTree::new(pts);
    let d: Vec<f64> = points::query_indices(pts.len(), MAX_QUERIES)
        .into_iter()
        .map(|i| tree.knn(pts[i as usize], 1, Some(i))[0].0.sqrt())
        .collect();
    points::mean_cv(&d).1
}

fn defect(share: f64) -> f64 {
    (-share / DEFECT_SHARE_SCALE).exp()
}

/// Scores an already loaded mesh or point cloud (see `MeshScorer` for the formula).
pub fn score_mesh(mesh: &Mesh) -> QualityScore {
    let mut notes = mesh.dropped.summary();
    if mesh.is_point_cloud() {
        return score_cloud(mesh, notes);
    }
    let Some(a) = analyse_mesh(mesh) else { return score_cloud(mesh, notes) };
    let t = &a.topology;
    if t.kept.is_empty() {
        return QualityScore::new(0.0, 0.0)
            .with_reason(format!("all {} faces are degenerate or duplicates", t.faces))
            .with_detail("faces", t.faces as f64);
    }
    let faces = t.faces as f64;
    let edges = t.edges.max(1) as f64;
    let si_share = if a.intersections.faces_tested > 0 {
        a.intersections.faces as f64 / a.intersections.faces_tested.max(1) as f64
    } else {
        0.0
    };
    if !a.intersections.complete {
        notes.push(format!(
            "self-intersection test stopped after {} candidate pairs ({} of {} faces tested)",
            a.intersections.candidate_pairs, a.intersections.faces_tested, t.kept.len()
        ));
    }
    let topo_terms = [
        defect(t.non_manifold_edges as f64 / edges),
        defect(t.boundary_edges as f64 / edges),
        defect(t.degenerate_faces as f64 / faces),
        defect(t.duplicate_faces as f64 / faces),
        defect(si_share),
        defect(t.floater_faces as f64 / faces),
    ];
    let topology: f64 = topo_terms.iter().zip(TOPOLOGY_TERMS).map(|(v, w)| v * w).sum();
    let g = &a.geometry;
    let geom_terms = [defect(1.0 - g.orientation_consistency), defect(g.fold_fraction), g.shape_score];
    let geometry: f64 = geom_terms.iter().zip(GEOMETRY_TERMS).map(|(v, w)| v * w).sum();
    let sampling = 1.0 / (1.0 + a.vertex_nn_cv);
    let score = TOPOLOGY_WEIGHT * topology + GEOMETRY_WEIGHT * geometry + SAMPLING_WEIGHT * sampling;
    let mut q = QualityScore::new(score, score);
    if !notes.is_empty() {
        q = q.with_reason(notes.join("; "));
    }
    let details = [
        ("topology", topology),
        ("geometry", geometry),
        ("sampling", sampling),
        ("faces", faces),
        ("vertices", t.vertices as f64),
        ("welded_vertices", a.welded as f64),
        ("edges", t.edges as f64),
        ("boundary_edges", t.boundary_edges as f64),
        ("holes", t.holes as f64),
        ("non_manifold_edges", t.non_manifold_edges as f64),
        ("degenerate_faces", t.degenerate_faces as f64),
        ("duplicate_faces", t.duplicate_faces as f64),
        ("components", t.components as f64),
        ("floater_faces", t.floater_faces as f64),
        ("euler_characteristic", t.euler_characteristic as f64),
        ("self_intersecting_pairs", a.intersections.pairs as f64),
        ("self_intersecting_faces", a.intersections.faces as f64),
        ("orientation_consistency", g.orientation_consistency),
        ("fold_fraction", g.fold_fraction),
        ("mean_normal_cosine", g.mean_normal_cosine),
        ("mean_shape_quality", g.mean_shape_quality),
        ("sliver_fraction", g.sliver_fraction),
        ("shape_score", g.shape_score),
        ("vertex_nn_cv", a.vertex_nn_cv),
        ("surface_sample_nn_cv", a.surface_sample_nn_cv),
    ];
    for (k, v) in details {
        q = q.with_detail(k, v);
    }
    q
}

fn score_cloud(mesh: &Mesh, mut notes: Vec<String>) -> QualityScore {
    let n = mesh.positions.len();
    if n < MIN_CLOUD_POINTS {
        return QualityScore::unscored(format!("point cloud of {n} points: too few to score"));
    }
    let Some(s) = points::point_stats(&mesh.positions, NEIGHBOURS, MAX_QUERIES, OUTLIER_SIGMAS) else {
        return QualityScore::unscored(format!("point cloud of {n} points: too few to score"));
    };
    let surface_likeness = (1.0 - 3.0 * s.surface_variation).clamp(0.0, 1.0);
    let uniformity = 1.0 / (1.0 + s.nn_cv);
    let outliers = (-s.outlier_fraction / OUTLIER_SHARE_SCALE).exp();
    let terms = [surface_likeness, uniformity, outliers];
    let score: f64 = terms.iter().zip(CLOUD_TERMS).map(|(v, w)| v * w).sum();
    notes.insert(
        0,
        format!("point cloud ({n} points, no faces): scored on local surface-likeness, spacing uniformity and outliers; topology and geometry do not apply"),
    );
    let mut q = QualityScore::new(score, score).with_reason(notes.join("; "));
    for (k, v) in [
        ("points", n as f64),
        ("queried_points", s.queried as f64),
        ("surface_variation", s.surface_variation),
        ("surface_likeness", surface_likeness),
        ("nn_cv", s.nn_cv),
        ("uniformity", uniformity),
        ("outlier_fraction", s.outlier_fraction),
        ("outlier_score", outliers),
    ] {
        q = q.with_detail(k, v);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::mesh::{Dropped, MeshFormat};

    fn mesh(p: Vec<[f64; 3]>, t: Vec<[u32; 3]>) -> Mesh {
        Mesh { format: MeshFormat::Obj, positions: p, triangles: t, dropped: Dropped::default() }
    }

    #[test]
    fn defects_lower_the_cube_score() {
        let (p, t) = topology::tests::cube();
        let clean = score_mesh(&mesh(p.clone(), t.clone()));
        assert_eq!(clean.details["holes"], 0.0);
        assert_eq!(clean.details["self_intersecting_pairs"], 0.0);
        let mut broken = t.clone();
        broken.remove(3);
        broken.push(broken[0]);
        let worse = score_mesh(&mesh(p, broken));
        assert!(worse.score < clean.score, "{worse:?} vs {clean:?}");
        assert_eq!((worse.details["holes"], worse.details["duplicate_faces"]), (1.0, 1.0));
    }

    #[test]
    fn weights_sum_to_one() {
        for w in [TOPOLOGY_TERMS.iter().sum::<f64>(), GEOMETRY_TERMS.iter().sum(), CLOUD_TERMS.iter().sum(), TOPOLOGY_WEIGHT + GEOMETRY_WEIGHT + SAMPLING_WEIGHT] {
            assert!((w - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn tiny_point_clouds_are_unscored_with_a_reason() {
        let q = score_mesh(&mesh(vec![[0.0; 3], [1.0, 0.0, 0.0]], vec![]));
        assert!(q.score.is_none() && q.reason.unwrap().contains("too few"));
    }
}
