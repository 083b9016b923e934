// Local statistics for NIQE and BRISQUE: the Metal side of the two Candle custom ops whose CPU
// reference is src/quality/image/local_stats.rs (same layout as kernels/cuda/local_stats.cu).
// Compiled at run time by Metal (src/quality/image/local_stats/gpu.rs, feature `metal`).
//
// Metal has no f64, so the maths is arranged for f32:
// - mscn_f32 works on d = x - x_center: mu = x_center + sum w d, and the variance is the
//   two-pass sum w (d - mean(d))^2, never E[x^2] - mu^2 (which cancels catastrophically in f32
//   on 0..255 images). Over a flat area d = 0 exactly, so the coefficient is exactly 0 as on
//   the CPU (the sign of x - mu decides the AGGD's left/right counts).
// - paired_stats_f32 sums each thread's values in f32 blocks of INNER values before adding the
//   block into a second f32 accumulator, so no sum runs over more than a few hundred terms.
// Expected agreement with the CPU reference: ~1e-5 relative (the issue's GPU tolerance is 1e-4).

#include <metal_stdlib>
using namespace metal;

constant int RADIUS = 3;
constant int TAPS = 7;
constant int MAPS = 5;
constant int STATS = 5;
// Threads per threadgroup: the glue dispatches (cols, rows) groups of BLOCK threads.
constant int BLOCK = 256;
// Values a thread sums in its inner accumulator before moving them to the outer one.
constant int INNER = 64;

// Pixel (r, col), zero outside the image (the references' zero padding).
inline float pixel(device const float* src, int h, int w, int r, int col) {
    return (r < 0 || r >= h || col < 0 || col >= w) ? 0.f : src[r * w + col];
}

kernel void mscn_f32(device const float* src [[buffer(0)]], device float* dst [[buffer(1)]],
                     constant float* window [[buffer(2)]], constant float& c [[buffer(3)]],
                     constant int& h [[buffer(4)]], constant int& w [[buffer(5)]],
                     uint2 gid [[thread_position_in_grid]]) {
    int j = gid.x, i = gid.y;
    if (i >= h || j >= w) return;
    float center = src[i * w + j];
    float mu_d = 0.f;
    for (int a = 0; a < TAPS; ++a) {
        float row = 0.f;
        for (int b = 0; b < TAPS; ++b) {
            row += window[b] * (pixel(src, h, w, i + a - RADIUS, j + b - RADIUS) - center);
        }
        mu_d += window[a] * row;
    }
    float var = 0.f;
    for (int a = 0; a < TAPS; ++a) {
        float row = 0.f;
        for (int b = 0; b < TAPS; ++b) {
            float e = pixel(src, h, w, i + a - RADIUS, j + b - RADIUS) - center - mu_d;
            row += window[b] * e * e;
        }
        var += window[a] * row;
    }
    float mean = center + mu_d;
    dst[i * w + j] = (center - mean) / (sqrt(var) + c);
}

// Adds x's [n(x<0), sum x^2 (x<0), n(x>=0), sum x^2 (x>=0), |x|] to acc.
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
    float inner[MAPS * STATS], outer[MAPS * STATS];
    for (int k = 0; k < MAPS * STATS; ++k) { inner[k] = 0.f; outer[k] = 0.f; }
    int steps = 0;
    for (int p = tid; p < ph * pw; p += BLOCK) {
        int i = p / pw, j = p % pw;
        device const float* row = m + (top + i) * w + left;
        float x = row[j];
        add(inner, x);
        int up = i - 1, lj = j - 1, rj = j + 1;
        bool has_up = up >= 0, has_l = lj >= 0, has_r = rj < pw;
        if (wrap) { up = (up + ph) % ph; lj = (lj + pw) % pw; rj = rj % pw; has_up = has_l = has_r = true; }
        device const float* above = m + (top + up) * w + left;
        if (has_l) add(inner + 1 * STATS, x * row[lj]);
        if (has_up) add(inner + 2 * STATS, x * above[j]);
        if (has_up && has_l) add(inner + 3 * STATS, x * above[lj]);
        if (has_up && has_r) add(inner + 4 * STATS, x * above[rj]);
        if (++steps == INNER) {
            for (int k = 0; k < MAPS * STATS; ++k) { outer[k] += inner[k]; inner[k] = 0.f; }
            steps = 0;
        }
    }
    for (int k = 0; k < MAPS * STATS; ++k) partial[tid][k] = outer[k] + inner[k];
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
