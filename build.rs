//! Build script. Without the `cuda` feature it does nothing. With it, every kernels/cuda/*.cu
//! is compiled to PTX ($OUT_DIR/<stem>.ptx, included by the ops that launch it) with nvcc:
//! - nvcc: $NVCC, else $CUDA_HOME/bin/nvcc (or CUDA_PATH, CUDA_ROOT), else `nvcc` on PATH;
//! - target: sm_$CUDA_COMPUTE_CAP (e.g. 90 for H100/H200), default sm_80, whose PTX the
//!   driver JIT-compiles for any newer GPU.
//! kernels/README.md says how to get nvcc without a CUDA install (the PyPI wheels).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compute capability when CUDA_COMPUTE_CAP is unset.
const DEFAULT_COMPUTE_CAP: u32 = 80;
const KERNEL_DIR: &str = "kernels/cuda";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    for var in [
        "NVCC",
        "CUDA_HOME",
        "CUDA_PATH",
        "CUDA_ROOT",
        "CUDA_COMPUTE_CAP",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed={KERNEL_DIR}");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cap = compute_cap();
    let nvcc = nvcc();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(KERNEL_DIR)
        .unwrap_or_else(|e| panic!("build.rs: cannot list {KERNEL_DIR}: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "cu"))
        .collect();
    sources.sort();
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
        let stem = source
            .file_stem()
            .expect("a .cu file has a stem")
            .to_string_lossy();
        compile_ptx(&nvcc, source, &out_dir.join(format!("{stem}.ptx")), cap);
    }
}

/// CUDA_COMPUTE_CAP as a number ("90", "9.0" and "sm_90" all mean 90).
fn compute_cap() -> u32 {
    let Ok(raw) = std::env::var("CUDA_COMPUTE_CAP") else {
        return DEFAULT_COMPUTE_CAP;
    };
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| {
        panic!("build.rs: CUDA_COMPUTE_CAP={raw:?} is not a compute capability such as 80 or 90")
    })
}

fn nvcc() -> PathBuf {
    if let Some(path) = std::env::var_os("NVCC") {
        return PathBuf::from(path);
    }
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Some(root) = std::env::var_os(var) {
            let candidate = Path::new(&root).join("bin").join("nvcc");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("nvcc")
}

fn compile_ptx(nvcc: &Path, source: &Path, ptx: &Path, cap: u32) {
    let output = Command::new(nvcc)
        .arg("--ptx")
        .arg(format!("--gpu-architecture=sm_{cap}"))
        .args(["-O3", "-std=c++17", "-o"])
        .arg(ptx)
        .arg(source)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "build.rs: the `cuda` feature compiles {} with nvcc, which could not be run ({}: \
                 {e}). Put nvcc on PATH, or set NVCC or CUDA_HOME; without a CUDA install, nvcc \
                 comes in the PyPI wheel nvidia-cuda-nvcc (see kernels/README.md).",
                source.display(),
                nvcc.display()
            )
        });
    if !output.status.success() {
        panic!(
            "build.rs: {} --ptx {} failed ({}):\n{}{}",
            nvcc.display(),
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
