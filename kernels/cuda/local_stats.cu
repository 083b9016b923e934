// Local statistics for NIQE and BRISQUE: the CUDA side of the two Candle custom ops whose CPU
// reference is src/quality/image/local_stats.rs (same inputs, same output layout).
//
// mscn:          (h, w) f32 image -> (h, w) f32 MSCN, 7x7 separable Gaussian, zero padding,
//                mean rounded to f32 before (x - mu), f64 accumulation of mu and E[x^2].
// paired_stats:  (h, w) f32 MSCN -> (patches, 5 maps, 5 stats) f32; one block per patch.
//
// Status: written, NOT yet compiled or wired (no cuda_fwd glue in local_stats.rs yet); see
// kernels/README.md for what remains.

#include <stdint.h>

#define RADIUS 3
#define TAPS 7
#define MAPS 5
#define STATS 5
#define BLOCK 256

// One thread per output pixel; the 7 vertical and 7 horizontal taps read through the cache
// (7x7 = 49 loads per pixel for mu and the same values squared for E[x^2]).
extern "C" __global__ void mscn_f32(const float* __restrict__ src, float* __restrict__ dst,
                                    const float* __restrict__ window, float c, int h, int w) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y;
    if (i >= h || j >= w) return;
    double mu = 0.0, sq = 0.0;
    for (int a = 0; a < TAPS; ++a) {
        int r = i + a - RADIUS;
        if (r < 0 || r >= h) continue;
        double row_mu = 0.0, row_sq = 0.0;
        for (int b = 0; b < TAPS; ++b) {
            int col = j + b - RADIUS;
            if (col < 0 || col >= w) continue;
            double v = (double)src[(size_t)r * w + col];
            row_mu += (double)window[b] * v;
            row_sq += (double)window[b] * v * v;
        }
        mu += (double)window[a] * row_mu;
        sq += (double)window[a] * row_sq;
    }
    double sigma = sqrt(fabs(sq - mu * mu));
    double mean = (double)(float)mu;
    dst[(size_t)i * w + j] = (float)(((double)src[(size_t)i * w + j] - mean) / (sigma + (double)c));
}

__device__ inline void add(float* acc, float x) {
    float neg = x < 0.f ? 1.f : 0.f;
    float s = x * x;
    acc[0] += neg;
    acc[1] += s * neg;
    acc[2] += 1.f - neg;
    acc[3] += s * (1.f - neg);
    acc[4] += fabsf(x);
}

// grid: (cols, rows) of patches; block: BLOCK threads striding over the patch's pixels.
// wrap != 0: neighbours wrap inside the patch (skvideo NIQE); 0: only pairs inside (brisque).
extern "C" __global__ void paired_stats_f32(const float* __restrict__ m, float* __restrict__ out,
                                            int w, int ph, int pw, int wrap) {
    __shared__ float partial[BLOCK][MAPS * STATS];
    int top = blockIdx.y * ph, left = blockIdx.x * pw;
    float acc[MAPS * STATS];
    for (int k = 0; k < MAPS * STATS; ++k) acc[k] = 0.f;
    for (int p = threadIdx.x; p < ph * pw; p += blockDim.x) {
        int i = p / pw, j = p % pw;
        float x = m[(size_t)(top + i) * w + left + j];
        add(acc, x);
        int up = i - 1, lj = j - 1, rj = j + 1;
        bool has_up = up >= 0, has_l = lj >= 0, has_r = rj < pw;
        if (wrap) {
            up = (up + ph) % ph; lj = (lj + pw) % pw; rj = rj % pw;
            has_up = has_l = has_r = true;
        }
        const float* row = m + (size_t)(top + i) * w + left;
        const float* above = m + (size_t)(top + up) * w + left;
        if (has_l) add(acc + 1 * STATS, x * row[lj]);
        if (has_up) add(acc + 2 * STATS, x * above[j]);
        if (has_up && has_l) add(acc + 3 * STATS, x * above[lj]);
        if (has_up && has_r) add(acc + 4 * STATS, x * above[rj]);
    }
    for (int k = 0; k < MAPS * STATS; ++k) partial[threadIdx.x][k] = acc[k];
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride)
            for (int k = 0; k < MAPS * STATS; ++k)
                partial[threadIdx.x][k] += partial[threadIdx.x + stride][k];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        size_t patch = (size_t)blockIdx.y * gridDim.x + blockIdx.x;
        for (int k = 0; k < MAPS * STATS; ++k) out[patch * MAPS * STATS + k] = partial[0][k];
    }
}
