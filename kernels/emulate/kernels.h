// The kernels of kernels/cuda and kernels/metal as the emulator runs them, one function per
// kernel and API. The launch shape is an argument: the caller passes the one the Rust glue
// uses (src/quality/image/local_stats/launch.rs).
#pragma once

struct LaunchShape { unsigned grid_x, grid_y, block; };

namespace cuda {
void mscn(LaunchShape l, const float* src, float* dst, const float* window, float c, int h, int w,
          int symmetric);
void paired_stats(LaunchShape l, const float* m, float* out, int w, int ph, int pw, int wrap);
}  // namespace cuda

namespace metal_api {
void mscn(LaunchShape l, const float* src, float* dst, const float* window, float c, int h, int w);
void paired_stats(LaunchShape l, const float* m, float* out, int w, int ph, int pw, int wrap);
}  // namespace metal_api
