#include "emulator.h"

#include <cstdio>
#include <cstdlib>
#include <ucontext.h>
#include <vector>

namespace emu {

Dim thread_idx, block_idx, block_dim, grid_dim;

namespace {

constexpr size_t STACK_BYTES = 128 * 1024;

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool done = false;
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
const std::function<void()>* current_body = nullptr;
Fiber* running = nullptr;
bool barriers_allowed = false;

void fiber_main() {
    (*current_body)();
    running->done = true;
    // Returning resumes uc_link, the scheduler.
}

// Runs the threads of one block until all have returned.
void run_block(unsigned threads) {
    fibers.resize(threads);
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        f.stack.resize(STACK_BYTES);
        f.done = false;
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = f.stack.size();
        f.context.uc_link = &scheduler;
        makecontext(&f.context, fiber_main, 0);
    }
    // One pass resumes every live thread once; it runs to its next barrier or to its end, so
    // after a pass all live threads wait at a barrier and the next pass releases them.
    for (unsigned live = threads; live > 0;) {
        live = 0;
        for (unsigned t = 0; t < threads; ++t) {
            Fiber& f = fibers[t];
            if (f.done) continue;
            thread_idx = Dim{t, 0, 0};
            running = &f;
            swapcontext(&scheduler, &f.context);
            if (!f.done) ++live;
        }
    }
}

}  // namespace

void launch(Dim grid, Dim block, bool with_barriers, const std::function<void()>& body) {
    grid_dim = grid;
    block_dim = block;
    current_body = &body;
    barriers_allowed = with_barriers;
    for (unsigned by = 0; by < grid.y; ++by) {
        for (unsigned bx = 0; bx < grid.x; ++bx) {
            block_idx = Dim{bx, by, 0};
            if (with_barriers) {
                run_block(block.x);
            } else {
                for (unsigned t = 0; t < block.x; ++t) {
                    thread_idx = Dim{t, 0, 0};
                    body();
                }
            }
        }
    }
}

void barrier() {
    if (!barriers_allowed) {
        std::fprintf(stderr, "emulator: barrier in a launch without barriers\n");
        std::abort();
    }
    Fiber* self = running;
    swapcontext(&self->context, &scheduler);
}

}  // namespace emu
