#!/usr/bin/env bash
# Type-checks the GPU builds on a machine without a GPU (and without macOS):
#   metal: `cargo check --features metal` for aarch64-apple-darwin (rustup fetches the target's
#          standard library; C code of dependencies is never linked by a check, so a stand-in
#          compiler writes empty objects). The .metal source itself is compiled by Metal at run
#          time; tests/kernels_emulated.rs runs it on the CPU instead.
#   cuda:  `cargo check --features cuda`: build.rs turns kernels/cuda/*.cu into PTX with nvcc and
#          candle-kernels compiles its own kernels. nvcc is $NVCC, $CUDA_HOME/bin/nvcc or nvcc on
#          PATH, else the CUDA 13.4 wheels from PyPI (kernels/README.md) in $OMNISCORE_CUDA_DIR
#          (default ~/.cache/omniscore/cuda13).
# A part whose toolchain cannot be had prints "skipped: <why>"; a compile error fails.
#
#   bash scripts/check-gpu-builds.sh [metal] [cuda]      (no argument: both)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_ROOT="${CARGO_TARGET_DIR:-$PWD/target}"

check_metal() {
    local target=aarch64-apple-darwin
    if ! command -v rustup >/dev/null; then
        echo "metal: skipped: no rustup to add the $target standard library"
        return 0
    fi
    if ! rustup target list --installed | grep -qx "$target"; then
        if ! rustup target add "$target"; then
            echo "metal: skipped: rustup could not fetch the $target standard library"
            return 0
        fi
    fi
    local fake
    fake="$(mktemp -d)"
    cat >"$fake/cc" <<'SH'
#!/usr/bin/env bash
# Stand-in C/C++ compiler for a check: writes an empty object where -o points.
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
[ -n "$out" ] && : >"$out"
exit 0
SH
    cat >"$fake/ar" <<'SH'
#!/usr/bin/env bash
# Stand-in archiver: an empty archive where the .a argument points.
for a in "$@"; do case "$a" in *.a) printf '!<arch>\n' >"$a"; exit 0 ;; esac; done
SH
    chmod +x "$fake/cc" "$fake/ar"
    echo "metal: cargo check --target $target --features metal --lib --tests"
    CC_aarch64_apple_darwin="$fake/cc" CXX_aarch64_apple_darwin="$fake/cc" \
        AR_aarch64_apple_darwin="$fake/ar" CARGO_TARGET_DIR="$TARGET_ROOT/check-metal" \
        cargo check --locked --target "$target" --features metal --lib --tests
    rm -rf "$fake"
}

# Puts an nvcc on PATH (and CUDA_HOME), fetching the PyPI wheels if need be; fails with why.
find_nvcc() {
    if [ -n "${NVCC:-}" ] || command -v nvcc >/dev/null; then return 0; fi
    if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then return 0; fi
    local dir="${OMNISCORE_CUDA_DIR:-$HOME/.cache/omniscore/cuda13}"
    local root="$dir/nvidia/cu13"
    if [ ! -x "$root/bin/nvcc" ]; then
        command -v python3 >/dev/null || { echo "no nvcc and no python3 to fetch it"; return 1; }
        local wheels="$dir/wheels"
        mkdir -p "$wheels"
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux_2_28_x86_64 -d "$wheels" \
            nvidia-cuda-nvcc==13.4.92 nvidia-nvvm==13.4.92 nvidia-cuda-crt==13.4.92 \
            nvidia-cuda-runtime==13.4.92 nvidia-cuda-cccl==13.3.5.0.6 ||
            { echo "could not fetch the CUDA 13.4 wheels from PyPI"; return 1; }
        python3 - "$wheels" "$dir" <<'PY'
import pathlib, sys, zipfile
for wheel in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = z.extract(info, sys.argv[2])
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                pathlib.Path(path).chmod(mode)
PY
        chmod +x "$root"/bin/* "$root"/nvvm/bin/* 2>/dev/null || true
    fi
    export CUDA_HOME="$root" PATH="$root/bin:$PATH"
}

check_cuda() {
    local why
    if ! why="$(find_nvcc)"; then
        echo "cuda: skipped: $why"
        return 0
    fi
    find_nvcc >/dev/null # again in this shell, for its exports
    echo "cuda: cargo check --features cuda --lib --tests (nvcc: $(command -v nvcc || echo "$NVCC"))"
    CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}" CARGO_TARGET_DIR="$TARGET_ROOT/check-cuda" \
        cargo check --locked --features cuda --lib --tests
}

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(metal cuda)
for part in "${parts[@]}"; do
    case "$part" in
    metal) check_metal ;;
    cuda) check_cuda ;;
    *) echo "unknown part '$part' (metal, cuda)" >&2; exit 2 ;;
    esac
done
