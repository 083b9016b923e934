// kernels/cuda/local_stats.cu compiled as C++ over cuda_shim.h.
#include "kernels.h"
#include "cuda_shim.h"

#include "../cuda/local_stats.cu"

namespace cuda {

void mscn(LaunchShape l, const float* src, float* dst, const float* window, float c, int h, int w,
          int symmetric) {
    emu::launch({l.grid_x, l.grid_y, 1}, {l.block, 1, 1}, false,
                [&] { mscn_f32(src, dst, window, c, h, w, symmetric); });
}

void paired_stats(LaunchShape l, const float* m, float* out, int w, int ph, int pw, int wrap) {
    emu::launch({l.grid_x, l.grid_y, 1}, {l.block, 1, 1}, true,
                [&] { paired_stats_f32(m, out, w, ph, pw, wrap); });
}

}  // namespace cuda
