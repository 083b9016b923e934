//! A small software rasteriser that turns a 3D mesh or point cloud into grey-on-white pictures
//! an image captioner can describe (issue 5: "3D: ... several rendered views"). Pure Rust, CPU
//! only, deterministic (no threads, no random numbers, fixed iteration order).
//!
//! What a view is:
//! - projection: **orthographic** (no perspective): a captioner asked "what object is this"
//!   does better without foreshortening, and an orthographic view needs no camera distance;
//! - framing: the mesh is centred on its axis-aligned bounding box and scaled so that the
//!   projection of that box (its 8 corners) fills the picture minus [`MARGIN`] on the longer
//!   side; every view of one mesh therefore shows it at one consistent scale per direction;
//! - camera directions ([`STANDARD_VIEWS`]), with +Y up (the OBJ and glTF convention; STL and
//!   PLY files are often +Z up, in which case "top" shows their front, and the set still holds
//!   three orthogonal views plus a three-quarter one): front (camera on +Z), side (camera on +X),
//!   top (camera on +Y, screen up = -Z) and an isometric three-quarter view (azimuth 45 deg,
//!   elevation 35.26 deg, the direction (1, 1, 1));
//! - visibility: a depth buffer per pixel (sample at the pixel centre, top-left fill rule not
//!   needed because every covered pixel is written with its nearest depth);
//! - shading: flat per triangle, Lambert with ambient, grey albedo on a white background,
//!   two-sided (`|n . l|`) because many real files have inconsistent winding; the light sits
//!   over the viewer's upper left ([`LIGHT_DIR_VIEW`] in view space) so each view is lit the
//!   same way relative to the picture;
//! - point clouds (no triangles): each point is a shaded sphere impostor ("splat") of a radius
//!   chosen from the point density ([`splat_radius`]), depth-tested per pixel.
//!
//! Degenerate input never panics: no vertices, a single point, all points equal, zero-area
//! triangles or non-finite coordinates (skipped) give a picture that is blank or shows what
//! can be drawn.

use crate::media::mesh::Mesh;
use image::{Rgb, RgbImage};

/// Share of the picture's longer side left empty around the object (on each side).
pub const MARGIN: f64 = 0.06;
/// The object's albedo: grey, so shaded pixels stay well below the white background.
pub const ALBEDO: f64 = 0.82;
/// Ambient share of the light: faces turned away from the light stay visible.
pub const AMBIENT: f64 = 0.22;
/// Background colour (white).
pub const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);
/// Light direction in view space (x right, y up, z towards the viewer): upper left, in front.
pub const LIGHT_DIR_VIEW: [f64; 3] = [-0.4, 0.6, 1.0];
/// Splat radius bounds in pixels for point clouds.
pub const MIN_SPLAT_RADIUS: f64 = 1.0;
pub const MAX_SPLAT_RADIUS: f64 = 6.0;
/// A point cloud's splats together cover about this share of the projected box area (before
/// overlap), which keeps sparse clouds readable and dense ones from turning into a blob.
const SPLAT_FILL: f64 = 0.9;
/// Elevation of the isometric view: atan(1 / sqrt(2)), the direction (1, 1, 1).
const ISO_ELEVATION_DEG: f64 = 35.264_389_682_754_654;
/// Above this |sin(elevation)| the camera looks (almost) straight down or up and world +Y
/// cannot serve as the screen's up direction; -Z (or +Z) does.
const POLE_SIN: f64 = 0.999;

/// One camera direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub name: &'static str,
    /// Rotation of the camera around +Y from +Z towards +X, degrees.
    pub azimuth_deg: f64,
    /// Height of the camera above the XZ plane, degrees (90 = looking straight down).
    pub elevation_deg: f64,
}

/// Front, side, top and an isometric three-quarter view (see the module header).
pub const STANDARD_VIEWS: [View; 4] = [
    View { name: "front", azimuth_deg: 0.0, elevation_deg: 0.0 },
    View { name: "side", azimuth_deg: 90.0, elevation_deg: 0.0 },
    View { name: "top", azimuth_deg: 0.0, elevation_deg: 90.0 },
    View { name: "three-quarter", azimuth_deg: 45.0, elevation_deg: ISO_ELEVATION_DEG },
];

/// One rendered view.
#[derive(Debug, Clone)]
pub struct RenderedView {
    pub view: View,
    pub image: RgbImage,
    /// Share of pixels that are not background (see [`coverage`]).
    pub coverage: f64,
}

/// Renders `mesh` from each of `views` at `width` x `height`.
pub fn render_views(mesh: &Mesh, views: &[View], width: u32, height: u32) -> Vec<RenderedView> {
    views
        .iter()
        .map(|v| {
            let image = render_view(mesh, v, width, height);
            RenderedView { view: *v, coverage: coverage(&image), image }
        })
        .collect()
}

/// Renders `mesh` (triangles, or splats when it has none) from `view`.
pub fn render_view(mesh: &Mesh, view: &View, width: u32, height: u32) -> RgbImage {
    render_parts(&mesh.positions, &mesh.triangles, view, width, height)
}

/// Share of pixels that differ from the white background.
pub fn coverage(image: &RgbImage) -> f64 {
    let n = (image.width() as usize * image.height() as usize).max(1);
    image.pixels().filter(|p| **p != BACKGROUND).count() as f64 / n as f64
}

/// The camera: an orthonormal basis (right, up, towards the viewer) in world space.
#[derive(Debug, Clone, Copy)]
struct Camera {
    right: [f64; 3],
    up: [f64; 3],
    back: [f64; 3],
}

impl Camera {
    fn new(view: &View) -> Camera {
        let (az, el) = (view.azimuth_deg.to_radians(), view.elevation_deg.to_radians());
        // Direction from the object towards the camera.
        let back = [el.cos() * az.sin(), el.sin(), el.cos() * az.cos()];
        let world_up = if el.sin().abs() > POLE_SIN {
            // Looking down: the picture's up is away from the front (-Z rotated by azimuth).
            let s = -el.sin().signum();
            [s * az.sin(), 0.0, s * az.cos()]
        } else {
            [0.0, 1.0, 0.0]
        };
        let right = normalize(cross(world_up, back));
        let up = cross(back, right);
        Camera { right, up, back }
    }

    /// (x right, y up, z towards the viewer) of a world point relative to `centre`.
    fn to_view(&self, p: [f64; 3], centre: [f64; 3]) -> [f64; 3] {
        let d = [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]];
        [dot(d, self.right), dot(d, self.up), dot(d, self.back)]
    }
}

/// Maps view-space x/y to pixel coordinates (y down), fitting the projected bounding box.
#[derive(Debug, Clone, Copy)]
struct Framing {
    scale: f64,
    cx: f64,
    cy: f64,
    mid_x: f64,
    mid_y: f64,
}

impl Framing {
    fn fit(corners: &[[f64; 3]], width: u32, height: u32) -> Framing {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for c in corners {
            x0 = x0.min(c[0]);
            x1 = x1.max(c[0]);
            y0 = y0.min(c[1]);
            y1 = y1.max(c[1]);
        }
        let (w, h) = (width as f64, height as f64);
        let usable = 1.0 - 2.0 * MARGIN;
        let (ex, ey) = (x1 - x0, y1 - y0);
        let sx = if ex > 0.0 { w * usable / ex } else { f64::INFINITY };
        let sy = if ey > 0.0 { h * usable / ey } else { f64::INFINITY };
        let mut scale = sx.min(sy);
        if !scale.is_finite() {
            // A single point (or all points equal) seen from here: any scale draws it centred.
            scale = 1.0;
        }
        Framing { scale, cx: w / 2.0, cy: h / 2.0, mid_x: (x0 + x1) / 2.0, mid_y: (y0 + y1) / 2.0 }
    }

    fn pixel(&self, v: [f64; 3]) -> (f64, f64) {
        (self.cx + (v[0] - self.mid_x) * self.scale, self.cy - (v[1] - self.mid_y) * self.scale)
    }
}

/// A depth buffer and the picture it guards.
struct Target {
    width: usize,
    height: usize,
    depth: Vec<f64>,
    rgb: Vec<u8>,
}

impl Target {
    fn new(width: u32, height: u32) -> Target {
        let (w, h) = (width as usize, height as usize);
        Target { width: w, height: h, depth: vec![f64::NEG_INFINITY; w * h], rgb: vec![255; w * h * 3] }
    }

    /// Writes `grey` at (x, y) when `z` is nearer than what is there.
    #[inline]
    fn plot(&mut self, x: usize, y: usize, z: f64, grey: u8) {
        let i = y * self.width + x;
        if z > self.depth[i] {
            self.depth[i] = z;
            self.rgb[3 * i..3 * i + 3].fill(grey);
        }
    }

    fn into_image(self) -> RgbImage {
        RgbImage::from_raw(self.width as u32, self.height as u32, self.rgb).expect("buffer sized w*h*3")
    }
}

fn shade(lambert: f64) -> u8 {
    let l = AMBIENT + (1.0 - AMBIENT) * lambert.clamp(0.0, 1.0);
    (255.0 * ALBEDO * l).round().clamp(0.0, 255.0) as u8
}

fn render_parts(positions: &[[f64; 3]], triangles: &[[u32; 3]], view: &View, width: u32, height: u32) -> RgbImage {
    let mut target = Target::new(width, height);
    let finite: Vec<[f64; 3]> = positions.iter().copied().filter(|p| p.iter().all(|c| c.is_finite())).collect();
    let Some((lo, hi)) = crate::media::mesh::bounding_box(&finite) else {
        return target.into_image();
    };
    if width == 0 || height == 0 {
        return target.into_image();
    }
    let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, (lo[2] + hi[2]) / 2.0];
    let cam = Camera::new(view);
    let corners: Vec<[f64; 3]> = (0..8)
        .map(|k| {
            let c = [
                if k & 1 == 0 { lo[0] } else { hi[0] },
                if k & 2 == 0 { lo[1] } else { hi[1] },
                if k & 4 == 0 { lo[2] } else { hi[2] },
            ];
            cam.to_view(c, centre)
        })
        .collect();
    let framing = Framing::fit(&corners, width, height);
    let light = normalize(LIGHT_DIR_VIEW);
    // Every vertex in view space and as (pixel x, pixel y, depth in pixels); NaN for
    // non-finite input.
    let in_view: Vec<[f64; 3]> = positions
        .iter()
        .map(|p| if p.iter().all(|c| c.is_finite()) { cam.to_view(*p, centre) } else { [f64::NAN; 3] })
        .collect();
    let projected: Vec<[f64; 3]> = in_view
        .iter()
        .map(|v| {
            let (x, y) = framing.pixel(*v);
            [x, y, v[2] * framing.scale]
        })
        .collect();

    if triangles.is_empty() {
        let (x0, x1, y0, y1) = corners.iter().fold((f64::MAX, f64::MIN, f64::MAX, f64::MIN), |a, c| {
            (a.0.min(c[0]), a.1.max(c[0]), a.2.min(c[1]), a.3.max(c[1]))
        });
        let area_px = ((x1 - x0) * framing.scale).max(1.0) * ((y1 - y0) * framing.scale).max(1.0);
        let r = splat_radius(finite.len(), area_px);
        for p in &projected {
            if p[0].is_finite() {
                draw_splat(&mut target, *p, r, light);
            }
        }
    } else {
        for t in triangles {
            let [a, b, c] = t.map(|i| i as usize);
            if a.max(b).max(c) >= positions.len() {
                continue;
            }
            let v = [projected[a], projected[b], projected[c]];
            if v.iter().any(|p| !p[0].is_finite()) {
                continue;
            }
            // The face normal in view space gives the Lambert term; two-sided lighting.
            let n = cross(sub(in_view[b], in_view[a]), sub(in_view[c], in_view[a]));
            let len = dot(n, n).sqrt();
            if len == 0.0 || !len.is_finite() {
                continue;
            }
            draw_triangle(&mut target, v, shade((dot(n, light) / len).abs()));
        }
    }
    target.into_image()
}

/// Splat radius in pixels for `n` points spread over `area_px` pixels: the radius at which the
/// splats' discs would cover [`SPLAT_FILL`] of that area, clamped.
pub fn splat_radius(n: usize, area_px: f64) -> f64 {
    let r = (SPLAT_FILL * area_px / (n.max(1) as f64 * std::f64::consts::PI)).sqrt();
    r.clamp(MIN_SPLAT_RADIUS, MAX_SPLAT_RADIUS)
}

/// Rasterises one triangle (pixel coordinates + depth) with the depth test; pixel centres at
/// +0.5. Zero-area (in the picture) triangles draw nothing.
fn draw_triangle(target: &mut Target, v: [[f64; 3]; 3], grey: u8) {
    let area = edge(v[0], v[1], v[2]);
    if area.abs() < 1e-12 {
        return;
    }
    let min_x = v.iter().map(|p| p[0]).fold(f64::MAX, f64::min).floor().max(0.0);
    let max_x = v.iter().map(|p| p[0]).fold(f64::MIN, f64::max).ceil().min(target.width as f64 - 1.0);
    let min_y = v.iter().map(|p| p[1]).fold(f64::MAX, f64::min).floor().max(0.0);
    let max_y = v.iter().map(|p| p[1]).fold(f64::MIN, f64::max).ceil().min(target.height as f64 - 1.0);
    if min_x > max_x || min_y > max_y {
        return;
    }
    let inv = 1.0 / area;
    for y in min_y as usize..=max_y as usize {
        let py = y as f64 + 0.5;
        for x in min_x as usize..=max_x as usize {
            let p = [x as f64 + 0.5, py, 0.0];
            let (w0, w1, w2) = (edge(v[1], v[2], p) * inv, edge(v[2], v[0], p) * inv, edge(v[0], v[1], p) * inv);
            // Inside when all barycentric weights are non-negative (either winding, since they
            // were divided by the signed area).
            if w0 >= 0.0 && w1 >= 0.0 && w2 >= 0.0 {
                let z = w0 * v[0][2] + w1 * v[1][2] + w2 * v[2][2];
                target.plot(x, y, z, grey);
            }
        }
    }
}

/// Twice the signed area of (a, b, p) in the picture plane.
#[inline]
fn edge(a: [f64; 3], b: [f64; 3], p: [f64; 3]) -> f64 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

/// A sphere impostor of radius `r` pixels centred at `p` (pixel x, y, depth): per pixel, the
/// sphere's normal gives the Lambert term and its front surface the depth.
fn draw_splat(target: &mut Target, p: [f64; 3], r: f64, light: [f64; 3]) {
    let (x0, x1) = ((p[0] - r).floor().max(0.0), (p[0] + r).ceil().min(target.width as f64 - 1.0));
    let (y0, y1) = ((p[1] - r).floor().max(0.0), (p[1] + r).ceil().min(target.height as f64 - 1.0));
    if x0 > x1 || y0 > y1 {
        return;
    }
    for y in y0 as usize..=y1 as usize {
        for x in x0 as usize..=x1 as usize {
            let dx = (x as f64 + 0.5 - p[0]) / r;
            let dy = -(y as f64 + 0.5 - p[1]) / r;
            let d2 = dx * dx + dy * dy;
            // A splat smaller than a pixel still covers the pixel holding its centre.
            let centre_pixel = x == p[0].floor() as usize && y == p[1].floor() as usize;
            if d2 > 1.0 && !centre_pixel {
                continue;
            }
            let dz = (1.0 - d2.min(1.0)).sqrt();
            let lambert = dot([dx, dy, dz], light).max(0.0);
            target.plot(x, y, p[2] + dz * r, shade(lambert));
        }
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn normalize(a: [f64; 3]) -> [f64; 3] {
    let l = dot(a, a).sqrt();
    if l > 0.0 {
        [a[0] / l, a[1] / l, a[2] / l]
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::mesh::{Dropped, MeshFormat};

    fn mesh(positions: Vec<[f64; 3]>, triangles: Vec<[u32; 3]>) -> Mesh {
        Mesh { format: MeshFormat::Obj, positions, triangles, dropped: Dropped::default() }
    }

    /// A unit cube, outward winding.
    fn cube() -> Mesh {
        let p = (0..8).map(|k| [(k & 1) as f64, ((k >> 1) & 1) as f64, ((k >> 2) & 1) as f64]).collect();
        let quads = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]];
        let t = quads.iter().flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]).collect();
        mesh(p, t)
    }

    #[test]
    fn camera_bases_are_orthonormal_and_point_the_stated_way() {
        for v in STANDARD_VIEWS {
            let c = Camera::new(&v);
            for (a, b) in [(c.right, c.up), (c.up, c.back), (c.back, c.right)] {
                assert!(dot(a, b).abs() < 1e-12, "{v:?}");
            }
            for a in [c.right, c.up, c.back] {
                assert!((dot(a, a) - 1.0).abs() < 1e-12);
            }
        }
        let front = Camera::new(&STANDARD_VIEWS[0]);
        assert!((front.back[2] - 1.0).abs() < 1e-12 && (front.up[1] - 1.0).abs() < 1e-12);
        let top = Camera::new(&STANDARD_VIEWS[2]);
        assert!((top.back[1] - 1.0).abs() < 1e-12 && (top.up[2] + 1.0).abs() < 1e-12);
        let iso = Camera::new(&STANDARD_VIEWS[3]);
        let k = 1.0 / 3f64.sqrt();
        assert!(iso.back.iter().all(|c| (c - k).abs() < 1e-9), "{:?}", iso.back);
    }

    #[test]
    fn a_cube_face_on_fills_the_framed_square() {
        let img = render_view(&cube(), &STANDARD_VIEWS[0], 100, 100);
        // The front face fills the box inside the margin: (1 - 2 * 0.06)^2 = 0.7744.
        let c = coverage(&img);
        assert!((c - 0.7744).abs() < 0.03, "coverage {c}");
        // Face-on, the face is one flat grey, darker than the background.
        let centre = img.get_pixel(50, 50).0;
        assert!(centre[0] < 230 && centre[0] == centre[1] && centre[1] == centre[2], "{centre:?}");
        assert_eq!(img.get_pixel(2, 2).0, [255, 255, 255]);
    }

    #[test]
    fn the_three_quarter_cube_shows_three_shades() {
        let img = render_view(&cube(), &STANDARD_VIEWS[3], 120, 120);
        let mut greys: Vec<u8> = img.pixels().map(|p| p[0]).filter(|g| *g != 255).collect();
        greys.sort_unstable();
        greys.dedup();
        assert_eq!(greys.len(), 3, "{greys:?}");
    }

    #[test]
    fn depth_test_keeps_the_nearer_face() {
        // Two overlapping squares facing the camera; the nearer one (z = 1) is tilted so its
        // shade differs, and it must win wherever they overlap, whatever the drawing order.
        let p = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 1.3],
            [1.0, 1.0, 1.3],
            [0.0, 1.0, 1.0],
        ];
        let far = [[0, 1, 2], [0, 2, 3]];
        let near = [[4, 5, 6], [4, 6, 7]];
        let a = render_view(&mesh(p.clone(), [far, near].concat()), &STANDARD_VIEWS[0], 64, 64);
        let b = render_view(&mesh(p, [near, far].concat()), &STANDARD_VIEWS[0], 64, 64);
        assert_eq!(a, b);
        let tilted = render_view(
            &mesh(vec![[0.0, 0.0, 1.0], [1.0, 0.0, 1.3], [1.0, 1.0, 1.3], [0.0, 1.0, 1.0]], far.to_vec()),
            &STANDARD_VIEWS[0],
            64,
            64,
        );
        assert_eq!(a.get_pixel(32, 32), tilted.get_pixel(32, 32));
        let flat = render_view(
            &mesh(vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]], far.to_vec()),
            &STANDARD_VIEWS[0],
            64,
            64,
        );
        assert_ne!(flat.get_pixel(32, 32), tilted.get_pixel(32, 32), "the two squares must differ in shade");
    }

    #[test]
    fn degenerate_input_draws_without_panicking() {
        let v = &STANDARD_VIEWS[3];
        assert_eq!(coverage(&render_view(&mesh(vec![], vec![]), v, 32, 32)), 0.0);
        // One point: one splat in the middle.
        let one = render_view(&mesh(vec![[1.0, 2.0, 3.0]], vec![]), v, 32, 32);
        assert!(coverage(&one) > 0.0 && one.get_pixel(16, 16).0 != [255, 255, 255]);
        // All vertices equal, zero-area triangles: nothing to fill, no panic.
        let flat = mesh(vec![[0.5; 3]; 3], vec![[0, 1, 2], [0, 0, 0]]);
        assert_eq!(coverage(&render_view(&flat, v, 32, 32)), 0.0);
        // A non-finite vertex is skipped with its triangles; the rest is drawn.
        let mut c = cube();
        c.positions.push([f64::NAN, 0.0, 0.0]);
        c.triangles.push([0, 1, 8]);
        assert!(coverage(&render_view(&c, v, 32, 32)) > 0.3);
        // Zero-size pictures and out-of-range indices.
        assert_eq!(render_view(&cube(), v, 0, 0).len(), 0);
        let bad = mesh(vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], vec![[0, 1, 7]]);
        assert_eq!(coverage(&render_view(&bad, v, 16, 16)), 0.0);
    }

    #[test]
    fn splat_radius_follows_density() {
        assert_eq!(splat_radius(10, 100.0 * 100.0), MAX_SPLAT_RADIUS);
        assert_eq!(splat_radius(1_000_000, 100.0 * 100.0), MIN_SPLAT_RADIUS);
        let mid = splat_radius(1000, 100.0 * 100.0);
        assert!(mid > MIN_SPLAT_RADIUS && mid < MAX_SPLAT_RADIUS, "{mid}");
    }
}
