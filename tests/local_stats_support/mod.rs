//! What the two GPU-kernel tests share (tests/local_stats_gpu.rs on a device,
//! tests/kernels_emulated.rs on the emulator): the test image, the comparisons, the bar.
// Each test crate uses only some of them.
#![allow(dead_code)]

/// Agreement the issue asks of the GPU paths.
pub const GPU_TOLERANCE: f32 = 1e-4;

/// Counts a fused op may move between paths: a coefficient within rounding of 0 can take the
/// other sign on another path and move one count (1e-4 of a 96x96 patch). The CUDA MSCN does
/// the CPU's operations in the CPU's order, so nothing moves there; Metal has only f32.
pub const CUDA_COUNT_SLACK: f32 = 0.0;
pub const METAL_COUNT_SLACK: f32 = 2.0;

/// Image sizes the kernels are checked on: 1080p, a square, odd sizes, a tiny one.
pub const SIZES: [(usize, usize); 4] = [(1080, 1920), (480, 480), (37, 53), (5, 4)];

/// A deterministic 0..255 test image: smooth shading, texture, a flat block and a hard edge.
pub fn texture(h: usize, w: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..h * w)
        .map(|k| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (i, j) = (k / w, k % w);
            if i < h / 4 && j < w / 4 {
                return 203.7; // flat: MSCN exactly 0 inside
            }
            let smooth = 128.0 + 70.0 * (i as f32 * 0.05).sin() * (j as f32 * 0.03).cos();
            let edge = if j > w / 2 { 40.0 } else { 0.0 };
            (smooth + edge + (state % 48) as f32 - 24.0).clamp(0.0, 255.0)
        })
        .collect()
}

/// max |a - b|; NaN (a value no thread wrote) counts as infinitely far.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "output sizes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = (x - y).abs();
            if d.is_nan() { f32::INFINITY } else { d }
        })
        .fold(0.0, f32::max)
}

/// Values relative to max(|cpu|, 1), as the CPU op's own test does; NaN counts as infinite.
pub fn max_rel_diff(gpu: &[f32], cpu: &[f32]) -> f32 {
    assert_eq!(gpu.len(), cpu.len(), "output sizes differ");
    gpu.iter()
        .zip(cpu)
        .map(|(g, c)| {
            let d = (g - c).abs() / c.abs().max(1.0);
            if d.is_nan() { f32::INFINITY } else { d }
        })
        .fold(0.0, f32::max)
}

/// (max relative difference of the sums, max absolute difference of the counts) of two
/// (patches, 5, 5) outputs; the counts are stats 0 and 2 of each map.
pub fn fused_diff(gpu: &[f32], cpu: &[f32]) -> (f32, f32) {
    assert_eq!(gpu.len(), cpu.len(), "output sizes differ");
    let (mut rel, mut moved) = (0f32, 0f32);
    for (k, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        let (g, c) = (*g, *c);
        if g.is_nan() {
            return (f32::INFINITY, f32::INFINITY);
        }
        if matches!(k % 5, 0 | 2) {
            moved = moved.max((g - c).abs());
        } else {
            rel = rel.max((g - c).abs() / c.abs().max(1.0));
        }
    }
    (rel, moved)
}
