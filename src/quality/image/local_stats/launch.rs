//! How the GPU kernels of kernels/ are launched: grid and block shapes and the scalar flags
//! they take. One definition, used by the CUDA and Metal glue (`gpu.rs`) and by
//! tests/kernels_emulated.rs, which runs the kernels' own source on the CPU with these shapes.

use super::{PairMode, WINDOW_TAPS};

/// Threads per block / threadgroup: the kernels' `BLOCK`.
pub const BLOCK: usize = 256;

/// A 2-D grid of 1-D blocks: `grid` = (x, y) blocks of `block` threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    pub grid: (usize, usize),
    pub block: usize,
}

/// `mscn_f32`: one thread per pixel, a row of blocks per image row.
pub fn mscn(h: usize, w: usize) -> Launch {
    Launch {
        grid: (w.div_ceil(BLOCK), h),
        block: BLOCK,
    }
}

/// `paired_stats_f32`: one block per patch of a (rows, cols) patch grid.
pub fn paired_stats(rows: usize, cols: usize) -> Launch {
    Launch {
        grid: (cols, rows),
        block: BLOCK,
    }
}

/// The CUDA `mscn_f32` flag: whether the CPU sums the window's taps in their symmetric form
/// (the kernel must sum them the same way to give the same bits).
pub fn symmetric(window: &[f32; WINDOW_TAPS]) -> bool {
    (0..WINDOW_TAPS).all(|k| window[k] == window[WINDOW_TAPS - 1 - k])
}

/// The `paired_stats_f32` flag: neighbours wrap inside the patch (1) or pairs stay inside (0).
pub fn wrap(mode: PairMode) -> i32 {
    i32::from(mode == PairMode::Wrap)
}
