//! Point-set measures shared by meshes and point clouds: a kd-tree for k-nearest neighbours,
//! nearest-neighbour distance uniformity, statistical outliers, local PCA surface-likeness, and
//! area-weighted surface sampling of a triangle mesh.

/// Points per kd-tree leaf; below this a linear scan beats further splitting.
const LEAF_SIZE: usize = 8;
/// MAD to standard deviation for normally distributed data.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Floor of the robust spread used for outliers, as a share of the median neighbour distance.
const MIN_SPREAD_OF_MEDIAN: f64 = 0.25;

/// A static, balanced kd-tree over borrowed points (implicit layout: the median of each index
/// range is the node, its split axis is stored at the same position).
pub struct KdTree<'a> {
    points: &'a [[f64; 3]],
    order: Vec<u32>,
    axis: Vec<u8>,
}

impl<'a> KdTree<'a> {
    pub fn new(points: &'a [[f64; 3]]) -> KdTree<'a> {
        let mut tree = KdTree { points, order: (0..points.len() as u32).collect(), axis: vec![0; points.len()] };
        tree.build(0, points.len());
        tree
    }

    fn build(&mut self, lo: usize, hi: usize) {
        if hi - lo <= LEAF_SIZE {
            return;
        }
        // Split on the axis of largest spread so elongated clouds still give compact cells.
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for &i in &self.order[lo..hi] {
            let p = self.points[i as usize];
            for k in 0..3 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        let axis = (0..3).max_by(|&a, &b| (max[a] - min[a]).total_cmp(&(max[b] - min[b]))).unwrap_or(0);
        let mid = (lo + hi) / 2;
        let pts = self.points;
        self.order[lo..hi].select_nth_unstable_by(mid - lo, |&a, &b| pts[a as usize][axis].total_cmp(&pts[b as usize][axis]));
        self.axis[mid] = axis as u8;
        self.build(lo, mid);
        self.build(mid + 1, hi);
    }

    /// The `k` nearest points to `q` as (squared distance, index), nearest first. `skip` excludes
    /// one index (the query point itself).
    pub fn knn(&self, q: [f64; 3], k: usize, skip: Option<u32>) -> Vec<(f64, u32)> {
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        if k > 0 {
            self.search(0, self.points.len(), q, k, skip, &mut best);
        }
        best
    }

    fn consider(&self, i: u32, q: [f64; 3], k: usize, skip: Option<u32>, best: &mut Vec<(f64, u32)>) {
        if Some(i) == skip {
            return;
        }
        let d = dist2(self.points[i as usize], q);
        if best.len() == k && d >= best[k - 1].0 {
            return;
        }
        let at = best.partition_point(|&(bd, _)| bd <= d);
        best.insert(at, (d, i));
        best.truncate(k);
    }

    fn search(&self, lo: usize, hi: usize, q: [f64; 3], k: usize, skip: Option<u32>, best: &mut Vec<(f64, u32)>) {
        if hi - lo <= LEAF_SIZE {
            for &i in &self.order[lo..hi] {
                self.consider(i, q, k, skip, best);
            }
            return;
        }
        let mid = (lo + hi) / 2;
        let axis = self.axis[mid] as usize;
        let pivot = self.order[mid];
        let diff = q[axis] - self.points[pivot as usize][axis];
        self.consider(pivot, q, k, skip, best);
        let (near, far) = if diff < 0.0 { ((lo, mid), (mid + 1, hi)) } else { ((mid + 1, hi), (lo, mid)) };
        self.search(near.0, near.1, q, k, skip, best);
        if best.len() < k || diff * diff < best[k - 1].0 {
            self.search(far.0, far.1, q, k, skip, best);
        }
    }
}

pub fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Up to `max` query indices spread evenly over `0..n` (all of them when n <= max), so large
/// clouds cost a bounded number of queries while every region is still represented.
pub fn query_indices(n: usize, max: usize) -> Vec<u32> {
    if n <= max {
        return (0..n as u32).collect();
    }
    (0..max).map(|i| (i as u128 * n as u128 / max as u128) as u32).collect()
}

/// Mean and coefficient of variation (std / mean) of `values`; CV is 0 when the mean is 0.
pub fn mean_cv(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, if mean > 0.0 { var.sqrt() / mean } else { 0.0 })
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// Point-set statistics from one pass of k-nearest-neighbour queries.
#[derive(Debug, Clone, PartialEq)]
pub struct PointStats {
    pub queried: usize,
    /// Coefficient of variation of the distance to the nearest other point (0 = perfectly even).
    pub nn_cv: f64,
    /// Share of queried points whose mean distance to their k neighbours exceeds the median by
    /// more than `outlier_sigmas` robust standard deviations.
    pub outlier_fraction: f64,
    /// Mean over neighbourhoods of lambda_min / (lambda_1 + lambda_2 + lambda_3) of the local
    /// covariance: 0 on a surface, 1/3 for an isotropic blob.
    pub surface_variation: f64,
}

/// Runs the neighbourhood queries for up to `max_queries` points of `points`. `k` neighbours
/// (excluding the point) are used for outliers and PCA; fewer when the cloud is smaller.
pub fn point_stats(points: &[[f64; 3]], k: usize, max_queries: usize, outlier_sigmas: f64) -> Option<PointStats> {
    let k = k.min(points.len().saturating_sub(1));
    if k < 2 {
        return None;
    }
    let tree = KdTree::new(points);
    let queries = query_indices(points.len(), max_queries);
    let mut nn = Vec::with_capacity(queries.len());
    let mut mean_knn = Vec::with_capacity(queries.len());
    let mut variation_sum = 0.0;
    for &i in &queries {
        let p = points[i as usize];
        let neigh = tree.knn(p, k, Some(i));
        nn.push(neigh[0].0.sqrt());
        mean_knn.push(neigh.iter().map(|(d, _)| d.sqrt()).sum::<f64>() / neigh.len() as f64);
        let mut hood: Vec<[f64; 3]> = neigh.iter().map(|&(_, j)| points[j as usize]).collect();
        hood.push(p);
        variation_sum += surface_variation(&hood);
    }
    let (_, nn_cv) = mean_cv(&nn);
    let mut sorted = mean_knn.clone();
    let med = median(&mut sorted);
    let mut dev: Vec<f64> = mean_knn.iter().map(|d| (d - med).abs()).collect();
    let sigma = MAD_TO_SIGMA * median(&mut dev);
    // A regular grid has a zero MAD, which would make every border point an outlier: the
    // spread is floored at a fixed share of the median spacing.
    let limit = med + outlier_sigmas * sigma.max(med * MIN_SPREAD_OF_MEDIAN);
    let outliers = mean_knn.iter().filter(|&&d| d > limit).count();
    Some(PointStats {
        queried: queries.len(),
        nn_cv,
        outlier_fraction: outliers as f64 / queries.len() as f64,
        surface_variation: variation_sum / queries.len() as f64,
    })
}

/// lambda_min / trace of the covariance of `pts` (0 when they all coincide).
pub fn surface_variation(pts: &[[f64; 3]]) -> f64 {
    let n = pts.len() as f64;
    let mut c = [0.0f64; 3];
    for p in pts {
        for k in 0..3 {
            c[k] += p[k] / n;
        }
    }
    let mut m = [[0.0f64; 3]; 3];
    for p in pts {
        let d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
        for r in 0..3 {
            for s in 0..3 {
                m[r][s] += d[r] * d[s] / n;
            }
        }
    }
    let trace = m[0][0] + m[1][1] + m[2][2];
    if trace <= 0.0 {
        return 0.0;
    }
    (symmetric_eigenvalues(&m)[0] / trace).clamp(0.0, 1.0 / 3.0)
}

/// Eigenvalues of a symmetric 3x3 matrix, ascending (closed form, Smith 1961).
pub fn symmetric_eigenvalues(m: &[[f64; 3]; 3]) -> [f64; 3] {
    let p1 = m[0][1].powi(2) + m[0][2].powi(2) + m[1][2].powi(2);
    let q = (m[0][0] + m[1][1] + m[2][2]) / 3.0;
    if p1 == 0.0 {
        let mut e = [m[0][0], m[1][1], m[2][2]];
        e.sort_by(f64::total_cmp);
        return e;
    }
    let p2 = (m[0][0] - q).powi(2) + (m[1][1] - q).powi(2) + (m[2][2] - q).powi(2) + 2.0 * p1;
    let p = (p2 / 6.0).sqrt();
    let b = |r: usize, s: usize| (m[r][s] - if r == s { q } else { 0.0 }) / p;
    let det = b(0, 0) * (b(1, 1) * b(2, 2) - b(1, 2) * b(2, 1)) - b(0, 1) * (b(1, 0) * b(2, 2) - b(1, 2) * b(2, 0))
        + b(0, 2) * (b(1, 0) * b(2, 1) - b(1, 1) * b(2, 0));
    let phi = (det / 2.0).clamp(-1.0, 1.0).acos() / 3.0;
    let e1 = q + 2.0 * p * phi.cos();
    let e3 = q + 2.0 * p * (phi + 2.0 * std::f64::consts::PI / 3.0).cos();
    let e2 = 3.0 * q - e1 - e3;
    let mut e = [e1, e2, e3];
    e.sort_by(f64::total_cmp);
    e
}

/// `n` points drawn uniformly by area from the triangles (deterministic: fixed-seed SplitMix64).
pub fn sample_surface(positions: &[[f64; 3]], triangles: &[[u32; 3]], n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut cumulative = Vec::with_capacity(triangles.len());
    let mut total = 0.0;
    for t in triangles {
        total += super::geometry::triangle_area(positions, t);
        cumulative.push(total);
    }
    if total <= 0.0 {
        return Vec::new();
    }
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|_| {
            let pick = rng.next_f64() * total;
            let t = triangles[cumulative.partition_point(|&c| c < pick).min(triangles.len() - 1)];
            let (r1, r2) = (rng.next_f64().sqrt(), rng.next_f64());
            let [a, b, c] = t.map(|v| positions[v as usize]);
            let (wa, wb, wc) = (1.0 - r1, r1 * (1.0 - r2), r1 * r2);
            [0, 1, 2].map(|k| wa * a[k] + wb * b[k] + wc * c[k])
        })
        .collect()
}

/// SplitMix64: tiny, fast, and good enough for sampling; fixed seeds make scores reproducible.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knn_matches_brute_force() {
        let mut rng = SplitMix64(7);
        let pts: Vec<[f64; 3]> = (0..500).map(|_| [rng.next_f64(), rng.next_f64(), rng.next_f64()]).collect();
        let tree = KdTree::new(&pts);
        for qi in [0u32, 17, 333, 499] {
            let got: Vec<u32> = tree.knn(pts[qi as usize], 5, Some(qi)).iter().map(|x| x.1).collect();
            let mut all: Vec<(f64, u32)> = (0..500u32).filter(|&j| j != qi).map(|j| (dist2(pts[j as usize], pts[qi as usize]), j)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            let want: Vec<u32> = all[..5].iter().map(|x| x.1).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn eigenvalues_of_a_known_matrix() {
        let e = symmetric_eigenvalues(&[[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]);
        for (got, want) in e.iter().zip([1.0, 3.0, 5.0]) {
            assert!((got - want).abs() < 1e-12, "{e:?}");
        }
    }

    #[test]
    fn a_plane_is_a_surface_and_a_blob_is_not() {
        let mut rng = SplitMix64(3);
        let plane: Vec<[f64; 3]> = (0..2000).map(|_| [rng.next_f64(), rng.next_f64(), 0.0]).collect();
        let blob: Vec<[f64; 3]> = (0..2000).map(|_| [rng.next_f64(), rng.next_f64(), rng.next_f64()]).collect();
        let sp = point_stats(&plane, 16, 1000, 6.0).unwrap();
        let sb = point_stats(&blob, 16, 1000, 6.0).unwrap();
        assert!(sp.surface_variation < 1e-12, "{sp:?}");
        assert!(sb.surface_variation > 0.1, "{sb:?}");
        // Poisson points in 2D: NN distances are Rayleigh, CV = sqrt(4/pi - 1) = 0.523.
        assert!((sp.nn_cv - 0.523).abs() < 0.05, "{sp:?}");
    }

    #[test]
    fn a_far_point_is_an_outlier() {
        let mut pts: Vec<[f64; 3]> = (0..400).map(|i| [(i % 20) as f64, (i / 20) as f64, 0.0]).collect();
        pts.push([1000.0, 0.0, 0.0]);
        let s = point_stats(&pts, 8, 10_000, 6.0).unwrap();
        assert_eq!(s.outlier_fraction, 1.0 / 401.0);
    }
}
