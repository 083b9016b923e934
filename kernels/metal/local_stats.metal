// Local statistics for NIQE and BRISQUE: the Metal side of the two Candle custom ops whose CPU
// reference is src/quality/image/local_stats.rs (same layout as kernels/cuda/local_stats.cu).
// Metal has no f64: accumulation is f32 here, so the GPU path is expected to match the CPU
// reference to ~1e-4 rather than 1e-5 (the issue's GPU tolerance).
//
// Status: written, NOT yet compiled or wired (no metal_fwd glue yet); see kernels/README.md.

#include <metal_stdlib>
using namespace metal;

constant int RADIUS = 3;
constant int TAPS = 7;
constant int MAPS = 5;
constant int STATS = 5;
constant int BLOCK = 256;

kernel void mscn_f32(device const float* src [[buffer(0)]], device float* dst [[buffer(1)]],
                     constant float* window [[buffer(2)]], constant float& c [[buffer(3)]],
                     constant int& h [[buffer(4)]], constant int& w [[buffer(5)]],
                     uint2 gid [[thread_position_in_grid]]) {
    int j = gid.x, i = gid.y;
    if (i >= h || j >= w) return;
    float mu = 0.f, sq = 0.f;
    for (int a = 0; a < TAPS; ++a) {
        int r = i + a - RADIUS;
        if (r < 0 || r >= h) continue;
        float row_mu = 0.f, row_sq = 0.f;
        for (int b = 0; b < TAPS; ++b) {
            int col = j + b - RADIUS;
            if (col < 0 || col >= w) continue;
            float v = src[r * w + col];
            row_mu += window[b] * v;
            row_sq += window[b] * v * v;
        }
        mu += window[a] * row_mu;
        sq += window[a] * row_sq;
    }
    float sigma = sqrt(fabs(sq - mu * mu));
    dst[i * w + j] = (src[i * w + j] - mu) / (sigma + c);
}

inline void add(thread float* acc, float x) {
    float neg = x < 0.f ? 1.f : 0.f;
    float s = x * x;
    acc[0] += neg; acc[1] += s * neg; acc[2] += 1.f - neg; acc[3] += s * (1.f - neg);
    acc[4] += fabs(x);
}

kernel void paired_stats_f32(device const float* m [[buffer(0)]], device float* out [[buffer(1)]],
                             constant int& w [[buffer(2)]], constant int& ph [[buffer(3)]],
                             constant int& pw [[buffer(4)]], constant int& wrap [[buffer(5)]],
                             uint2 patch [[threadgroup_position_in_grid]],
                             uint2 patches [[threadgroups_per_grid]],
                             uint tid [[thread_index_in_threadgroup]]) {
    threadgroup float partial[BLOCK][MAPS * STATS];
    int top = patch.y * ph, left = patch.x * pw;
    float acc[MAPS * STATS];
    for (int k = 0; k < MAPS * STATS; ++k) acc[k] = 0.f;
    for (int p = tid; p < ph * pw; p += BLOCK) {
        int i = p / pw, j = p % pw;
        float x = m[(top + i) * w + left + j];
        add(acc, x);
        int up = i - 1, lj = j - 1, rj = j + 1;
        bool has_up = up >= 0, has_l = lj >= 0, has_r = rj < pw;
        if (wrap) { up = (up + ph) % ph; lj = (lj + pw) % pw; rj = rj % pw; has_up = has_l = has_r = true; }
        device const float* row = m + (top + i) * w + left;
        device const float* above = m + (top + up) * w + left;
        if (has_l) add(acc + 1 * STATS, x * row[lj]);
        if (has_up) add(acc + 2 * STATS, x * above[j]);
        if (has_up && has_l) add(acc + 3 * STATS, x * above[lj]);
        if (has_up && has_r) add(acc + 4 * STATS, x * above[rj]);
    }
    for (int k = 0; k < MAPS * STATS; ++k) partial[tid][k] = acc[k];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int stride = BLOCK / 2; stride > 0; stride >>= 1) {
        if ((int)tid < stride)
            for (int k = 0; k < MAPS * STATS; ++k) partial[tid][k] += partial[tid + stride][k];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0) {
        int index = patch.y * patches.x + patch.x;
        for (int k = 0; k < MAPS * STATS; ++k) out[index * MAPS * STATS + k] = partial[0][k];
    }
}
