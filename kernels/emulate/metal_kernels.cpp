// kernels/metal/local_stats.metal compiled as C++ over metal/metal_stdlib (include path).
#include "kernels.h"
#include <metal_stdlib>

namespace mtl {
#include "../metal/local_stats.metal"
}

namespace metal_api {

void mscn(LaunchShape l, const float* src, float* dst, const float* window, float c, int h, int w) {
    // dispatch_thread_groups: thread_position_in_grid = group * threads per group + index.
    emu::launch({l.grid_x, l.grid_y, 1}, {l.block, 1, 1}, false, [&] {
        metal::uint2 gid{emu::block_idx.x * emu::block_dim.x + emu::thread_idx.x, emu::block_idx.y};
        mtl::mscn_f32(src, dst, window, c, h, w, gid);
    });
}

void paired_stats(LaunchShape l, const float* m, float* out, int w, int ph, int pw, int wrap) {
    emu::launch({l.grid_x, l.grid_y, 1}, {l.block, 1, 1}, true, [&] {
        metal::uint2 group{emu::block_idx.x, emu::block_idx.y};
        metal::uint2 groups{emu::grid_dim.x, emu::grid_dim.y};
        mtl::paired_stats_f32(m, out, w, ph, pw, wrap, group, groups, emu::thread_idx.x);
    });
}

}  // namespace metal_api
