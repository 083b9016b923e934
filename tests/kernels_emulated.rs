//! The GPU kernels' own source (kernels/cuda/local_stats.cu, kernels/metal/local_stats.metal)
//! run on the CPU by kernels/emulate/ (C++: each GPU thread a fiber, barriers and warp shuffles
//! emulated, the launch shapes of src/quality/image/local_stats/launch.rs), against the CPU
//! reference ops. This checks the kernels' indexing, patch layouts, wrap-around, reductions and
//! arithmetic where no GPU is lent; it does not check the GPU compilers or drivers (that is
//! tests/local_stats_gpu.rs with a device). The CUDA MSCN is held to its claim of the CPU's
//! bits exactly; the rest to the GPU tolerance, 1e-4.
//!
//! Needs a C++17 compiler (`$CXX`, else `c++`); without one every test prints why it skipped.

mod local_stats_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use candle_core::{CustomOp1, Device, Tensor};
use local_stats_support::*;
use omniscore::quality::image::local_stats::launch::{self, Launch};
use omniscore::quality::image::local_stats::{Mscn, MscnPairedStats, PairMode, PairedStats};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    Cuda,
    Metal,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Cuda => "cuda",
            Api::Metal => "metal",
        }
    }
}

const APIS: [Api; 2] = [Api::Cuda, Api::Metal];

/// The emulator binary, built once per test run, or why it cannot be.
fn emulator() -> Result<&'static Path, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build_emulator).as_deref().map_err(Clone::clone)
}

fn build_emulator() -> Result<PathBuf, String> {
    if !cfg!(unix) {
        return Err("the emulator uses ucontext fibers (Unix only)".into());
    }
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    if Command::new(&cxx).arg("--version").output().is_err() {
        return Err(format!("no C++ compiler `{cxx}` (set CXX or install g++)"));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels/emulate");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gpu-emulator");
    let sources = ["emulator.cpp", "cuda_kernels.cpp", "metal_kernels.cpp", "main.cpp"];
    // -ffp-contract=off: no fused multiply-adds, so each operation rounds like the GPU's _rn
    // intrinsics (and like the Rust CPU reference).
    let status = Command::new(&cxx)
        .args(["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-Wno-attributes"])
        .arg("-I")
        .arg(dir.join("metal"))
        .args(sources.iter().map(|s| dir.join(s)))
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("running {cxx}: {e}"))?;
    // The compiler is there: a failed build is the kernels' (or the shims') fault, not a skip.
    assert!(
        status.status.success(),
        "building the emulator failed:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    Ok(out)
}

macro_rules! emulator_or_skip {
    () => {
        match emulator() {
            Ok(path) => path,
            Err(why) => {
                println!("skipped: {why}");
                return;
            }
        }
    };
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A scratch folder per call (tests run in parallel).
fn scratch(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("emulated-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_emulator(binary: &Path, args: &[String]) {
    let out = Command::new(binary).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "gpu-emulator {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn shape_args(l: Launch) -> [String; 3] {
    [l.grid.0.to_string(), l.grid.1.to_string(), l.block.to_string()]
}

/// `mscn_f32` of `api` on the emulator, launched as the glue launches it.
fn emulated_mscn(binary: &Path, api: Api, op: &Mscn, image: &[f32], h: usize, w: usize) -> Vec<f32> {
    let dir = scratch("mscn");
    let (src, window, out) = (dir.join("src"), dir.join("window"), dir.join("out"));
    write_f32(&src, image);
    write_f32(&window, &op.window);
    let mut args = vec![api.name().into(), "mscn".into(), h.to_string(), w.to_string()];
    args.push(format!("{:e}", op.c));
    args.push(i32::from(launch::symmetric(&op.window)).to_string());
    args.extend(shape_args(launch::mscn(h, w)));
    args.extend([&src, &window, &out].map(|p| p.display().to_string()));
    run_emulator(binary, &args);
    let values = read_f32(&out);
    std::fs::remove_dir_all(&dir).ok();
    values
}

/// `paired_stats_f32` of `api` on the emulator, with the op's patch grid and wrap flag.
fn emulated_paired_stats(
    binary: &Path,
    api: Api,
    op: &PairedStats,
    wrap: i32,
    mscn: &[f32],
    h: usize,
    w: usize,
) -> Vec<f32> {
    let (rows, cols, ph, pw) = op.grid(h, w);
    let dir = scratch("paired");
    let (src, out) = (dir.join("src"), dir.join("out"));
    // The kernel reads only the rows the patches cover.
    write_f32(&src, &mscn[..rows * ph * w]);
    let mut args = vec![api.name().into(), "paired-stats".into(), w.to_string()];
    args.extend([ph, pw].map(|v| v.to_string()));
    args.push(wrap.to_string());
    args.extend(shape_args(launch::paired_stats(rows, cols)));
    args.extend([&src, &out].map(|p| p.display().to_string()));
    run_emulator(binary, &args);
    let values = read_f32(&out);
    std::fs::remove_dir_all(&dir).ok();
    values
}

fn cpu<C: CustomOp1>(op: &C, image: &[f32], h: usize, w: usize) -> Vec<f32> {
    let x = Tensor::from_slice(image, (h, w), &Device::Cpu).unwrap();
    x.apply_op1_no_bwd(op).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Patch layouts of NIQE (96 and 48 px, wrap-around) and BRISQUE (whole image, pairs inside).
const LAYOUTS: [(Option<usize>, PairMode); 3] = [
    (Some(96), PairMode::Wrap),
    (Some(48), PairMode::Wrap),
    (None, PairMode::Crop),
];

#[test]
fn mscn_kernels_match_the_cpu() {
    let binary = emulator_or_skip!();
    for (h, w) in SIZES {
        let image = texture(h, w);
        let op = Mscn::new(1.0);
        let reference = cpu(&op, &image, h, w);
        for api in APIS {
            let diff = max_abs_diff(&emulated_mscn(binary, api, &op, &image, h, w), &reference);
            println!("{} mscn {h}x{w}: max |kernel - cpu| = {diff:.2e}", api.name());
            let bar = if api == Api::Cuda { 0.0 } else { GPU_TOLERANCE };
            assert!(diff <= bar, "{} mscn {h}x{w}: {diff} > {bar}", api.name());
        }
    }
}

/// Sizes for the statistics kernels: every GPU thread of these is a fiber, so 1080p is left to
/// the real device test; these cover whole and partial patches and a tiny image.
const STATS_SIZES: [(usize, usize); 4] = [(480, 480), (200, 301), (37, 53), (5, 4)];

#[test]
fn paired_stats_and_fused_kernels_match_the_cpu() {
    let binary = emulator_or_skip!();
    for (h, w) in STATS_SIZES {
        let image = texture(h, w);
        let mscn_op = Mscn::new(1.0);
        let mscn = cpu(&mscn_op, &image, h, w);
        for (patch, mode) in LAYOUTS {
            let stats = PairedStats { patch, mode };
            let (rows, cols, ..) = stats.grid(h, w);
            if rows * cols == 0 {
                continue;
            }
            let reference = cpu(&stats, &mscn, h, w);
            let fused_reference = cpu(&MscnPairedStats { mscn: mscn_op.clone(), stats: stats.clone() }, &image, h, w);
            for api in APIS {
                let name = format!("{} {h}x{w} {patch:?} {mode:?}", api.name());
                let wrap = launch::wrap(mode);
                let got = emulated_paired_stats(binary, api, &stats, wrap, &mscn, h, w);
                let diff = max_rel_diff(&got, &reference);
                println!("{name}: paired-stats max relative diff {diff:.2e}");
                assert!(diff <= GPU_TOLERANCE, "{name}: paired-stats {diff}");
                // The fused op on a GPU: the API's MSCN kernel, then its statistics kernel.
                let kernel_mscn = emulated_mscn(binary, api, &mscn_op, &image, h, w);
                let got = emulated_paired_stats(binary, api, &stats, wrap, &kernel_mscn, h, w);
                let (diff, moved) = fused_diff(&got, &fused_reference);
                println!("{name}: fused max relative diff {diff:.2e}, counts moved {moved}");
                let slack = if api == Api::Cuda { CUDA_COUNT_SLACK } else { METAL_COUNT_SLACK };
                assert!(diff <= GPU_TOLERANCE, "{name}: fused {diff}");
                assert!(moved <= slack, "{name}: {moved} counts moved");
            }
        }
    }
}

#[test]
fn the_comparison_catches_a_wrong_launch_flag() {
    // The bar is not vacuous: the wrap flag flipped (NIQE patches read as BRISQUE's) must fail it.
    let binary = emulator_or_skip!();
    let (h, w) = (200, 301);
    let image = texture(h, w);
    let mscn = cpu(&Mscn::new(1.0), &image, h, w);
    let stats = PairedStats { patch: Some(96), mode: PairMode::Wrap };
    let reference = cpu(&stats, &mscn, h, w);
    for api in APIS {
        let wrong = emulated_paired_stats(binary, api, &stats, 0, &mscn, h, w);
        let diff = max_rel_diff(&wrong, &reference);
        println!("{} with the wrap flag flipped: {diff:.2e}", api.name());
        assert!(diff > 100.0 * GPU_TOLERANCE, "{}: {diff}", api.name());
    }
}
