// A GPU launch run on the CPU: every thread of a block is a fiber (ucontext) with its own stack,
// blocks run one after another. A barrier suspends the calling fiber until every live thread of
// its block has reached one, which is all that __syncthreads / threadgroup_barrier and the warp
// shuffles (built on it) need. Used only by tests (tests/kernels_emulated.rs): it runs the
// kernels' own source, so their indexing, reductions and arithmetic order are what is tested.
#pragma once

#include <functional>

namespace emu {

struct Dim { unsigned x = 1, y = 1, z = 1; };

// Indices of the running thread, valid inside a kernel body.
extern Dim thread_idx, block_idx, block_dim, grid_dim;

// Runs body for every thread of a (grid.x, grid.y) grid of block.x-thread blocks.
// with_barriers = false runs threads as plain calls (faster; a barrier then aborts).
void launch(Dim grid, Dim block, bool with_barriers, const std::function<void()>& body);

// Waits until every live thread of the block has called barrier.
void barrier();

}  // namespace emu
