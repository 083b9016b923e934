#!/usr/bin/env bash
# The judge's speed against llama.cpp (llama-cpp-python) on the same GGUF file, the same token
# ids and the same thread count, in alternating rounds (scripts/bench_reference_judge.py does
# the rounds; see its docstring for exactly what each side runs).
#
#     bash scripts/bench-judge-ratio.sh [CARD...]      (default: both Qwen2.5-Coder judges)
#
# Environment: THREADS (default: all cores), ROUNDS (3), RUNS (3 timed runs per measure and
# round), PROMPT_TOKENS (64,256,512), LLAMA_VENV (default target/llama-venv: created, with
# llama-cpp-python 0.3.36 built from source, ~10 min once, when missing), OUT (folder for the
# JSON results, default target/bench-judge).
set -euo pipefail
cd "$(dirname "$0")/.."
cards=("$@")
[ ${#cards[@]} -eq 0 ] && cards=(qwen2.5-coder-1.5b-instruct qwen2.5-coder-0.5b-instruct)
threads=${THREADS:-$(nproc)}
venv=${LLAMA_VENV:-target/llama-venv}
out=${OUT:-target/bench-judge}
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    echo "installing llama-cpp-python 0.3.36 into $venv (builds llama.cpp from source)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q llama-cpp-python==0.3.36
fi
cargo build --release --locked >/dev/null 2>&1
omniscore="${CARGO_TARGET_DIR:-target}/release/omniscore"
for card in "${cards[@]}"; do
    "$omniscore" models pull "$card" >&2
    "$venv/bin/python" scripts/bench_reference_judge.py --omniscore "$omniscore" --card "$card" \
        --threads "$threads" --rounds "${ROUNDS:-3}" --runs "${RUNS:-3}" \
        --prompt-tokens "${PROMPT_TOKENS:-64,256,512}" --out "$out/$card.json"
done
