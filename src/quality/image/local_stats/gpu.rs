//! GPU glue of the local-statistics ops ([`super::Mscn`], [`super::PairedStats`]): launches the
//! kernels of kernels/cuda/local_stats.cu (`cuda` feature; PTX built by build.rs) and
//! kernels/metal/local_stats.metal (`metal` feature; the source is compiled by Metal on first
//! use and cached per device). Inputs must be contiguous f32 (h, w) images, as on the CPU.
//! Launch shapes and flags come from [`super::launch`] (shared with the emulated-kernel test).

#[allow(unused_imports)]
use super::launch::{self, Launch};
#[allow(unused_imports)]
use super::{Mscn, PairedStats, MAPS, STATS};
#[allow(unused_imports)]
use candle_core::{Layout, Result, Shape};

/// CUDA's limit on grid.y and grid.z.
#[cfg(feature = "cuda")]
const MAX_GRID_Y: usize = 65_535;

/// The (start, end) element offsets of a contiguous layout, or why the op cannot run.
fn contiguous(layout: &Layout, op: &str) -> Result<(usize, usize)> {
    match layout.contiguous_offsets() {
        Some(offsets) => Ok(offsets),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}

fn as_i32(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| candle_core::Error::Msg(format!("{what} {v} exceeds i32")))
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::*;
    use candle_core::backend::BackendStorage;
    use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::CudaStorage;

    /// kernels/cuda/local_stats.cu compiled to PTX by build.rs.
    const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/local_stats.ptx"));
    /// Name under which candle caches the loaded module per device.
    const MODULE: &str = "omniscore_local_stats";

    fn config(launch: Launch) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (launch.grid.0 as u32, launch.grid.1 as u32, 1),
            block_dim: (launch.block as u32, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    pub fn mscn_cuda(
        op: &Mscn,
        storage: &CudaStorage,
        layout: &Layout,
        h: usize,
        w: usize,
    ) -> Result<(CudaStorage, Shape)> {
        if h > MAX_GRID_Y {
            candle_core::bail!("mscn: {h} rows exceed the CUDA grid's {MAX_GRID_Y}");
        }
        let dev = storage.device();
        let (start, end) = contiguous(layout, "mscn")?;
        let src = storage.as_cuda_slice::<f32>()?.slice(start..end);
        let window = dev.clone_htod(&op.window[..])?;
        // SAFETY: every element is written by the kernel (one thread per pixel).
        let out = unsafe { dev.alloc::<f32>(h * w)? };
        let func = dev.get_or_load_custom_func("mscn_f32", MODULE, PTX)?;
        let cfg = config(launch::mscn(h, w));
        let (c, hi, wi) = (op.c, as_i32(h, "height")?, as_i32(w, "width")?);
        let symmetric = i32::from(launch::symmetric(&op.window));
        let mut builder = func.builder();
        builder.arg(&src);
        builder.arg(&out);
        builder.arg(&window);
        builder.arg(&c);
        builder.arg(&hi);
        builder.arg(&wi);
        builder.arg(&symmetric);
        // SAFETY: the arguments match mscn_f32's signature; src holds h * w f32.
        unsafe { builder.launch(cfg) }.w()?;
        Ok((
            CudaStorage::wrap_cuda_slice(out, dev.clone()),
            Shape::from((h, w)),
        ))
    }

    pub fn paired_stats_cuda(
        op: &PairedStats,
        storage: &CudaStorage,
        layout: &Layout,
        w: usize,
        (rows, cols, ph, pw): (usize, usize, usize, usize),
    ) -> Result<(CudaStorage, Shape)> {
        if rows > MAX_GRID_Y {
            candle_core::bail!(
                "paired-stats: {rows} patch rows exceed the CUDA grid's {MAX_GRID_Y}"
            );
        }
        let dev = storage.device();
        let (start, end) = contiguous(layout, "paired-stats")?;
        let src = storage.as_cuda_slice::<f32>()?.slice(start..end);
        let patches = rows * cols;
        // SAFETY: thread 0..MAPS*STATS of every block writes its patch's statistics.
        let out = unsafe { dev.alloc::<f32>(patches * MAPS * STATS)? };
        let func = dev.get_or_load_custom_func("paired_stats_f32", MODULE, PTX)?;
        let cfg = config(launch::paired_stats(rows, cols));
        let wrap = launch::wrap(op.mode);
        let (wi, phi, pwi) = (
            as_i32(w, "width")?,
            as_i32(ph, "patch height")?,
            as_i32(pw, "patch width")?,
        );
        let mut builder = func.builder();
        builder.arg(&src);
        builder.arg(&out);
        builder.arg(&wi);
        builder.arg(&phi);
        builder.arg(&pwi);
        builder.arg(&wrap);
        // SAFETY: the arguments match paired_stats_f32's signature; the grid covers the patches.
        unsafe { builder.launch(cfg) }.w()?;
        let shape = Shape::from((patches, MAPS, STATS));
        Ok((CudaStorage::wrap_cuda_slice(out, dev.clone()), shape))
    }
}

#[cfg(feature = "cuda")]
pub use cuda::{mscn_cuda, paired_stats_cuda};

#[cfg(feature = "metal")]
mod metal {
    use super::*;
    use candle_core::backend::BackendStorage;
    use candle_core::{DType, MetalDevice, MetalError, MetalStorage};
    use candle_metal_kernels::metal::{ComputeCommandEncoder, ComputePipeline};
    use objc2_metal::MTLSize;
    use std::sync::Mutex;

    /// kernels/metal/local_stats.metal, compiled by Metal at run time.
    const SOURCE: &str = include_str!("../../../../kernels/metal/local_stats.metal");

    /// The pipeline of kernel `name` on `device`, compiled once per device and kernel.
    fn pipeline(device: &MetalDevice, name: &'static str) -> Result<ComputePipeline> {
        type Cache = Vec<(u64, &'static str, ComputePipeline)>;
        static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
        let metal = device.metal_device();
        let id = metal.registry_id();
        let mut cache = CACHE
            .lock()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        if let Some((_, _, p)) = cache.iter().find(|(d, n, _)| *d == id && *n == name) {
            return Ok(p.clone());
        }
        let library = metal
            .new_library_with_source(SOURCE, None)
            .map_err(MetalError::from)?;
        let function = library.get_function(name, None).map_err(MetalError::from)?;
        let pipeline = metal
            .new_compute_pipeline_state_with_function(&function)
            .map_err(MetalError::from)?;
        cache.push((id, name, pipeline.clone()));
        Ok(pipeline)
    }

    fn size(width: usize, height: usize) -> MTLSize {
        MTLSize {
            width,
            height,
            depth: 1,
        }
    }

    /// Dispatches `launch` as (grid.x, grid.y) threadgroups of `block` threads.
    fn dispatch(encoder: &ComputeCommandEncoder, launch: Launch) {
        let (x, y) = launch.grid;
        encoder.dispatch_thread_groups(size(x, y), size(launch.block, 1));
    }

    pub fn mscn_metal(
        op: &Mscn,
        storage: &MetalStorage,
        layout: &Layout,
        h: usize,
        w: usize,
    ) -> Result<(MetalStorage, Shape)> {
        if storage.dtype() != DType::F32 {
            candle_core::bail!("mscn: expected f32, got {:?}", storage.dtype());
        }
        let device = storage.device();
        let (start, _) = contiguous(layout, "mscn")?;
        let pipeline = pipeline(device, "mscn_f32")?;
        let out = device
            .new_buffer_builder()
            .with_size_for(h * w, DType::F32)
            .with_label("mscn")
            .build()?;
        let (hi, wi) = (as_i32(h, "height")?, as_i32(w, "width")?);
        {
            let guard = device.command_encoder()?;
            let encoder: &ComputeCommandEncoder = guard.as_ref();
            encoder.set_compute_pipeline_state(&pipeline);
            encoder.set_input_buffer(
                0,
                Some(storage.buffer()),
                start * DType::F32.size_in_bytes(),
            );
            encoder.set_output_buffer(1, Some(&*out), 0);
            encoder.set_bytes(2, &op.window);
            encoder.set_bytes(3, &op.c);
            encoder.set_bytes(4, &hi);
            encoder.set_bytes(5, &wi);
            dispatch(encoder, launch::mscn(h, w));
        }
        let storage = MetalStorage::new(out, device.clone(), h * w, DType::F32);
        Ok((storage, Shape::from((h, w))))
    }

    pub fn paired_stats_metal(
        op: &PairedStats,
        storage: &MetalStorage,
        layout: &Layout,
        w: usize,
        (rows, cols, ph, pw): (usize, usize, usize, usize),
    ) -> Result<(MetalStorage, Shape)> {
        if storage.dtype() != DType::F32 {
            candle_core::bail!("paired-stats: expected f32, got {:?}", storage.dtype());
        }
        let device = storage.device();
        let (start, _) = contiguous(layout, "paired-stats")?;
        let pipeline = pipeline(device, "paired_stats_f32")?;
        let count = rows * cols * MAPS * STATS;
        let out = device
            .new_buffer_builder()
            .with_size_for(count, DType::F32)
            .with_label("paired-stats")
            .build()?;
        let wrap = launch::wrap(op.mode);
        let (wi, phi, pwi) = (
            as_i32(w, "width")?,
            as_i32(ph, "patch height")?,
            as_i32(pw, "patch width")?,
        );
        {
            let guard = device.command_encoder()?;
            let encoder: &ComputeCommandEncoder = guard.as_ref();
            encoder.set_compute_pipeline_state(&pipeline);
            encoder.set_input_buffer(
                0,
                Some(storage.buffer()),
                start * DType::F32.size_in_bytes(),
            );
            encoder.set_output_buffer(1, Some(&*out), 0);
            encoder.set_bytes(2, &wi);
            encoder.set_bytes(3, &phi);
            encoder.set_bytes(4, &pwi);
            encoder.set_bytes(5, &wrap);
            dispatch(encoder, launch::paired_stats(rows, cols));
        }
        let storage = MetalStorage::new(out, device.clone(), count, DType::F32);
        Ok((storage, Shape::from((rows * cols, MAPS, STATS))))
    }
}

#[cfg(feature = "metal")]
pub use metal::{mscn_metal, paired_stats_metal};
