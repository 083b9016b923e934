// What kernels/cuda/*.cu use from CUDA, for the CPU emulator. The _rn intrinsics are IEEE
// round-to-nearest operations, which is what plain C++ arithmetic is on x86-64 when compiled
// without FMA contraction (-ffp-contract=off), so the emulated arithmetic is the GPU's.
#pragma once

#include <cmath>
#include <cstddef>

#include "emulator.h"

#define __global__
#define __device__
#define __shared__ static
#define __restrict__ __restrict

#define threadIdx emu::thread_idx
#define blockIdx emu::block_idx
#define blockDim emu::block_dim
#define gridDim emu::grid_dim

inline void __syncthreads() { emu::barrier(); }

inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __double2float_rn(double a) { return static_cast<float>(a); }

constexpr int EMU_WARP = 32;

// __shfl_down_sync for a full warp: every lane publishes its value, then reads lane + delta's
// (its own where that is past the warp's end). All lanes of the kernels call it together.
template <typename T>
T __shfl_down_sync(unsigned /*mask*/, T value, unsigned delta) {
    static T slots[1024];
    unsigned t = threadIdx.x, lane = t % EMU_WARP;
    slots[t] = value;
    emu::barrier();
    T result = lane + delta < EMU_WARP ? slots[t + delta] : value;
    emu::barrier();
    return result;
}
