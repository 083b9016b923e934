//! The GPU paths of the local-statistics custom ops (kernels/cuda/local_stats.cu,
//! kernels/metal/local_stats.metal) against their CPU reference, to 1e-4 (the GPU
//! tolerance), and NIQE / BRISQUE computed on the GPU against the CPU scores.
//!
//!     CUDA_COMPUTE_CAP=90 cargo test --features cuda --test local_stats_gpu
//!     cargo test --features metal --test local_stats_gpu        (macOS)
//!
//! Built without either feature, or where no device opens, every test prints
//! "skipped: <why>" and returns (see kernels/README.md for the build).

mod local_stats_support;

use candle_core::{Device, Tensor};
use local_stats_support::{fused_diff, max_abs_diff, max_rel_diff, texture, GPU_TOLERANCE, SIZES};
use omniscore::quality::image::local_stats::{Mscn, MscnPairedStats, PairMode, PairedStats};
use omniscore::quality::image::{brisque, niqe};

/// For whole scores: NIQE's skvideo-style alpha is a grid look-up (step 0.001) that a 1e-6
/// change in a moment can move by one step, so the scores get a looser, still tight bar.
const SCORE_TOLERANCE: f64 = 1e-3;

/// The GPU to test on, or why there is none.
fn gpu() -> Result<Device, String> {
    #[cfg(feature = "cuda")]
    {
        Device::new_cuda(0).map_err(|e| format!("no CUDA device opens ({e})"))
    }
    #[cfg(all(feature = "metal", not(feature = "cuda")))]
    {
        Device::new_metal(0).map_err(|e| format!("no Metal device opens ({e})"))
    }
    #[cfg(not(any(feature = "cuda", feature = "metal")))]
    {
        Err("built without the cuda or metal feature (cargo test --features cuda --test local_stats_gpu)"
            .to_string())
    }
}

macro_rules! gpu_or_skip {
    () => {
        match gpu() {
            Ok(device) => device,
            Err(why) => {
                println!("skipped: {why}");
                return;
            }
        }
    };
}

#[cfg(feature = "cuda")]
const COUNT_SLACK: f32 = local_stats_support::CUDA_COUNT_SLACK;
#[cfg(not(feature = "cuda"))]
const COUNT_SLACK: f32 = local_stats_support::METAL_COUNT_SLACK;

fn run<C: candle_core::CustomOp1>(
    op: &C,
    image: &[f32],
    h: usize,
    w: usize,
    device: &Device,
) -> Vec<f32> {
    let x = Tensor::from_slice(image, (h, w), device).unwrap();
    x.apply_op1_no_bwd(op)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

#[test]
fn mscn_matches_the_cpu() {
    let device = gpu_or_skip!();
    for (h, w) in SIZES {
        let image = texture(h, w);
        let op = Mscn::new(1.0);
        let (cpu, gpu) = (
            run(&op, &image, h, w, &Device::Cpu),
            run(&op, &image, h, w, &device),
        );
        let diff = max_abs_diff(&gpu, &cpu);
        println!("mscn {h}x{w}: max |gpu - cpu| = {diff:.2e}");
        assert!(diff <= GPU_TOLERANCE, "mscn {h}x{w}: {diff}");
    }
}

#[test]
fn paired_stats_and_the_fused_op_match_the_cpu() {
    let device = gpu_or_skip!();
    for (h, w) in SIZES {
        let image = texture(h, w);
        // The MSCN map from the CPU, so that only the statistics kernel is compared here.
        let mscn = run(&Mscn::new(1.0), &image, h, w, &Device::Cpu);
        for (patch, mode) in [
            (Some(96), PairMode::Wrap),
            (Some(48), PairMode::Wrap),
            (None, PairMode::Crop),
        ] {
            let stats = PairedStats { patch, mode };
            let (rows, cols, ..) = stats.grid(h, w);
            if rows * cols == 0 {
                continue;
            }
            let cpu = run(&stats, &mscn, h, w, &Device::Cpu);
            let gpu = run(&stats, &mscn, h, w, &device);
            let diff = max_rel_diff(&gpu, &cpu);
            println!("paired-stats {h}x{w} {patch:?} {mode:?}: max relative diff {diff:.2e}");
            assert!(
                diff <= GPU_TOLERANCE,
                "paired-stats {h}x{w} {patch:?} {mode:?}: {diff}"
            );
            let fused = MscnPairedStats {
                mscn: Mscn::new(1.0),
                stats,
            };
            let (cpu, gpu) = (
                run(&fused, &image, h, w, &Device::Cpu),
                run(&fused, &image, h, w, &device),
            );
            let (diff, moved) = fused_diff(&gpu, &cpu);
            println!("mscn-paired-stats {h}x{w} {patch:?} {mode:?}: max relative diff {diff:.2e}, counts moved {moved}");
            assert!(
                diff <= GPU_TOLERANCE,
                "mscn-paired-stats {h}x{w} {patch:?} {mode:?}: {diff}"
            );
            assert!(
                moved <= COUNT_SLACK,
                "mscn-paired-stats {h}x{w} {patch:?} {mode:?}: {moved} counts moved"
            );
        }
    }
}

#[test]
fn niqe_and_brisque_on_the_gpu_match_the_cpu() {
    let device = gpu_or_skip!();
    for (h, w) in [(1080, 1920), (512, 512)] {
        let image = texture(h, w);
        let cpu = niqe::niqe_on(image.clone(), h, w, &Device::Cpu).unwrap();
        let gpu = niqe::niqe_on(image.clone(), h, w, &device).unwrap();
        println!("niqe {h}x{w}: cpu {cpu:.6} gpu {gpu:.6}");
        assert!(
            (gpu - cpu).abs() <= SCORE_TOLERANCE * cpu.abs().max(1.0),
            "niqe {h}x{w}"
        );
        let cpu = brisque::brisque_on(image.clone(), h, w, &Device::Cpu).unwrap();
        let gpu = brisque::brisque_on(image, h, w, &device).unwrap();
        println!("brisque {h}x{w}: cpu {cpu:.6} gpu {gpu:.6}");
        assert!(
            (gpu - cpu).abs() <= SCORE_TOLERANCE * cpu.abs().max(1.0),
            "brisque {h}x{w}"
        );
    }
}
