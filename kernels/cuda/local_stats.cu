// Local statistics for NIQE and BRISQUE: the CUDA side of the two Candle custom ops whose CPU
// reference is src/quality/image/local_stats.rs (same inputs, same output layout). Compiled to
// PTX by build.rs (feature `cuda`), launched by src/quality/image/local_stats/gpu.rs, checked
// against the CPU by tests/local_stats_gpu.rs.
//
// mscn_f32:          (h, w) f32 image -> (h, w) f32 MSCN, 7x7 separable Gaussian, zero padding,
//                    f64 accumulation of mu and E[x^2] (their difference cancels badly in f32),
//                    then as on the CPU: mean rounded to f32, sqrt and division in f32; the same
//                    operations in the same order as the CPU, so the same bits.
// paired_stats_f32:  (h, w) f32 MSCN -> (patches, 5 maps, 5 stats) f32; one block per patch,
//                    f64 sums per thread, warp-shuffle then shared-memory reduction.

#include <stdint.h>

#define RADIUS 3
#define TAPS 7
#define MAPS 5
#define STATS 5
// Launch shape the glue uses: BLOCK threads per block (a multiple of the warp size).
#define BLOCK 256
#define WARP 32

// The 7 taps over a[0..7], in the CPU's order and rounding (no FMA contraction): the
// symmetric form w0 (a0 + a6) + w1 (a1 + a5) + w2 (a2 + a4) + w3 a3 when the window is
// symmetric, else the plain sum in tap order; both left to right.
__device__ inline double taps7(const double* w, const double* a, int symmetric) {
    if (symmetric) {
        double t = __dadd_rn(__dmul_rn(w[0], __dadd_rn(a[0], a[6])), __dmul_rn(w[1], __dadd_rn(a[1], a[5])));
        t = __dadd_rn(t, __dmul_rn(w[2], __dadd_rn(a[2], a[4])));
        return __dadd_rn(t, __dmul_rn(w[3], a[3]));
    }
    double t = __dmul_rn(w[0], a[0]);
    for (int k = 1; k < TAPS; ++k) t = __dadd_rn(t, __dmul_rn(w[k], a[k]));
    return t;
}

// One thread per output pixel; grid (ceil(w / BLOCK), h). Each of the 7 rows around the pixel
// is correlated horizontally (zero padding) for x and x^2, then the 7 row sums vertically,
// exactly as src/quality/image/local_stats/cpu.rs does, with IEEE round-to-nearest intrinsics
// throughout: the coefficients equal the CPU's bit for bit.
extern "C" __global__ void mscn_f32(const float* __restrict__ src, float* __restrict__ dst,
                                    const float* __restrict__ window, float c, int h, int w,
                                    int symmetric) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y;
    if (i >= h || j >= w) return;
    double wd[TAPS];
    for (int k = 0; k < TAPS; ++k) wd[k] = (double)window[k];
    double row_mu[TAPS], row_sq[TAPS];
    for (int a = 0; a < TAPS; ++a) {
        int r = i + a - RADIUS;
        double v[TAPS], v2[TAPS];
        for (int b = 0; b < TAPS; ++b) {
            int col = j + b - RADIUS;
            bool inside = r >= 0 && r < h && col >= 0 && col < w;
            v[b] = inside ? (double)src[(size_t)r * w + col] : 0.0;
            v2[b] = __dmul_rn(v[b], v[b]);
        }
        bool row_inside = r >= 0 && r < h;
        row_mu[a] = row_inside ? taps7(wd, v, symmetric) : 0.0;
        row_sq[a] = row_inside ? taps7(wd, v2, symmetric) : 0.0;
    }
    double mu = taps7(wd, row_mu, symmetric);
    double sq = taps7(wd, row_sq, symmetric);
    float var = __double2float_rn(fabs(__dsub_rn(sq, __dmul_rn(mu, mu))));
    float mean = __double2float_rn(mu);
    float x = src[(size_t)i * w + j];
    dst[(size_t)i * w + j] = __fdiv_rn(__fsub_rn(x, mean), __fadd_rn(__fsqrt_rn(var), c));
}

__device__ inline void add(double* acc, float x) {
    double neg = x < 0.f ? 1.0 : 0.0;
    double s = (double)(x * x);
    acc[0] += neg;
    acc[1] += s * neg;
    acc[2] += 1.0 - neg;
    acc[3] += s * (1.0 - neg);
    acc[4] += (double)fabsf(x);
}

// grid: (cols, rows) of patches; block: BLOCK threads striding over the patch's pixels.
// wrap != 0: neighbours wrap inside the patch (skvideo NIQE); 0: only pairs inside (brisque).
// Products are formed in f32 like the CPU's, then summed in f64.
extern "C" __global__ void paired_stats_f32(const float* __restrict__ m, float* __restrict__ out,
                                            int w, int ph, int pw, int wrap) {
    __shared__ double partial[BLOCK / WARP][MAPS * STATS];
    size_t top = (size_t)blockIdx.y * ph, left = (size_t)blockIdx.x * pw;
    double acc[MAPS * STATS];
    for (int k = 0; k < MAPS * STATS; ++k) acc[k] = 0.0;
    long long pixels = (long long)ph * pw;
    for (long long p = threadIdx.x; p < pixels; p += blockDim.x) {
        int i = (int)(p / pw), j = (int)(p % pw);
        const float* row = m + (top + i) * w + left;
        float x = row[j];
        add(acc, x);
        int up = i - 1, lj = j - 1, rj = j + 1;
        bool has_up = up >= 0, has_l = lj >= 0, has_r = rj < pw;
        if (wrap) {
            up = (up + ph) % ph;
            lj = (lj + pw) % pw;
            rj = rj % pw;
            has_up = has_l = has_r = true;
        }
        const float* above = m + (top + up) * w + left;
        if (has_l) add(acc + 1 * STATS, x * row[lj]);
        if (has_up) add(acc + 2 * STATS, x * above[j]);
        if (has_up && has_l) add(acc + 3 * STATS, x * above[lj]);
        if (has_up && has_r) add(acc + 4 * STATS, x * above[rj]);
    }
    int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    for (int k = 0; k < MAPS * STATS; ++k) {
        double v = acc[k];
        for (int offset = WARP / 2; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
        if (lane == 0) partial[warp][k] = v;
    }
    __syncthreads();
    if (threadIdx.x < MAPS * STATS) {
        double total = 0.0;
        for (int k = 0; k < (int)(blockDim.x / WARP); ++k) total += partial[k][threadIdx.x];
        size_t patch = (size_t)blockIdx.y * gridDim.x + blockIdx.x;
        out[patch * MAPS * STATS + threadIdx.x] = (float)total;
    }
}
