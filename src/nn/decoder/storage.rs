//! How each GGUF matrix is held on CPU: quantized blocks or dense f32, chosen by timing both.
//!
//! Which is faster depends on the block type, the shape and the CPU: candle has AVX2 dot
//! products for Q8_0 and the k-quants and AVX512-VNNI tile kernels for Q4_K/Q6_K/Q8_0 when
//! `k % 256 == 0`, but only scalar code for Q4_1/Q5_0/Q5_1, while dense f32 matmul always has
//! a SIMD kernel and costs 4-8x the memory. So the first matrix of each (type, shape) is timed
//! both ways on a prefill-sized random input and the faster form is kept for every matrix like
//! it. Before that, Q4_0 and Q5_0 blocks are widened to Q8_0, which holds the same values
//! exactly (a 4- or 5-bit code minus its offset fits in an i8 under the same scale) and has
//! SIMD kernels. A third form is timed for Q8_0 matrices whose `k` is not a multiple of 256
//! (Qwen2.5-0.5B's hidden size is 896): the rows padded with zero blocks to the next multiple
//! of 256, and the input with zeros to match, which lets candle's AVX512-VNNI tile kernel take
//! them (it needs whole 256-value super-blocks); the zeros add nothing to the products.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result, Tensor, D};

use super::CpuStorage;

/// Rows of the random input a layer matrix is timed on: a judge prompt's suffix is ~100-300
/// tokens, so this is the shape prefill sees.
pub(super) const LAYER_PROBE_ROWS: usize = 64;
/// Rows the vocabulary matrix is timed on: its logits are only read at one position per row.
pub(super) const VOCAB_PROBE_ROWS: usize = 8;
/// A form other than the file's must beat it by this factor to be kept: dense f32 costs 4-8x
/// the memory, and a clear margin keeps the choice (which changes logits in the last digits:
/// the quantized kernels round activations to 8 bits) the same from one run to the next.
const MARGIN: f64 = 0.75;
/// Matrices with fewer values than this are not timed (microseconds are noise): they are held
/// as f32 within the budget, else as stored.
const SMALL_MATRIX_VALUES: usize = 1 << 16;
const ROUNDS: usize = 3;

/// The form a matrix is held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Quantized,
    /// Q8_0 rows padded with zero blocks to a multiple of 256 values.
    QuantizedPadded,
    DenseF32,
}

/// A projection as the decoder holds it: candle's `QMatMul` (quantized or dense) and the zero
/// columns its input gets when the quantized rows were padded.
#[derive(Debug, Clone)]
pub(super) struct Matrix {
    w: QMatMul,
    pad_k: usize,
}

impl Matrix {
    pub(super) fn plain(w: QMatMul) -> Self {
        Self { w, pad_k: 0 }
    }

    /// `x @ w^T` over the last dimension of `x`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.pad_k == 0 {
            return self.w.forward(x);
        }
        self.w.forward(&x.pad_with_zeros(D::Minus1, 0, self.pad_k)?)
    }

    /// Rows of the matrix picked by `ids` (an embedding table).
    pub(super) fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        let e = self.w.embedding(ids)?;
        if self.pad_k == 0 {
            return Ok(e);
        }
        let k = e.dim(D::Minus1)? - self.pad_k;
        e.narrow(D::Minus1, 0, k)?.contiguous()
    }
}

/// One timing decision, for reports (`omniscore bench --judge` prints them).
#[derive(Debug, Clone)]
pub struct StorageChoice {
    /// Block type as stored in the file, and as held when quantized (after widening).
    pub file_dtype: GgmlDType,
    pub held_dtype: GgmlDType,
    pub shape: (usize, usize),
    pub probe_rows: usize,
    pub quantized: Duration,
    /// Q8_0 padded to whole super-blocks, when `k` is not a multiple of 256; else not timed.
    pub padded: Option<Duration>,
    /// `None` when the f32 budget did not allow dense storage, so it was not timed.
    pub dense: Option<Duration>,
    pub held: Held,
    /// How many matrices took this decision.
    pub matrices: usize,
}

pub(super) struct StoragePlanner {
    mode: CpuStorage,
    f32_budget_left: u64,
    choices: HashMap<(GgmlDType, usize, usize, usize), usize>,
    log: Vec<StorageChoice>,
}

impl StoragePlanner {
    /// `f32_budget` caps the bytes of weights held as dense f32 (0 keeps everything quantized).
    pub(super) fn new(mode: CpuStorage, f32_budget: u64) -> Self {
        Self {
            mode,
            f32_budget_left: f32_budget,
            choices: HashMap::new(),
            log: Vec::new(),
        }
    }

    pub(super) fn into_log(self) -> Vec<StorageChoice> {
        self.log
    }

    /// Holds a CPU matrix `(n, k)` in the faster form for `probe_rows`-row inputs.
    pub(super) fn place(&mut self, qt: QTensor, probe_rows: usize) -> Result<Matrix> {
        match self.mode {
            CpuStorage::AsStored => return Ok(Matrix::plain(QMatMul::from_arc(Arc::new(qt))?)),
            CpuStorage::Dense => return Ok(Matrix::plain(QMatMul::Tensor(qt.dequantize(&Device::Cpu)?))),
            CpuStorage::Measured => {}
        }
        let file_dtype = qt.dtype();
        let qt = widen_exact(qt)?;
        let (n, k) = qt.shape().dims2()?;
        let dense_bytes = (n * k * DType::F32.size_in_bytes()) as u64;
        let key = (file_dtype, n, k, probe_rows);
        let choice = match self.choices.get(&key) {
            Some(&i) => i,
            None => {
                // The vocabulary matrix is read at a few rows per call, where the quantized
                // form with a SIMD kernel always wins; timing its f32 copy (0.5-1 GB) would
                // only slow loading.
                let vocab_fast = probe_rows == VOCAB_PROBE_ROWS && has_simd_kernel(qt.dtype());
                let dense_fits = dense_bytes <= self.f32_budget_left;
                let choice = if n * k < SMALL_MATRIX_VALUES {
                    untimed(&qt, file_dtype, probe_rows, dense_fits)?
                } else {
                    measure(&qt, file_dtype, probe_rows, dense_fits && !vocab_fast)?
                };
                self.log.push(choice);
                self.choices.insert(key, self.log.len() - 1);
                self.log.len() - 1
            }
        };
        let entry = &mut self.log[choice];
        entry.matrices += 1;
        match entry.held {
            Held::DenseF32 if dense_bytes <= self.f32_budget_left => {
                self.f32_budget_left -= dense_bytes;
                Ok(Matrix::plain(QMatMul::Tensor(qt.dequantize(&Device::Cpu)?)))
            }
            Held::QuantizedPadded => {
                let (padded, pad_k) = pad_q8_0(&qt)?;
                Ok(Matrix { w: QMatMul::QTensor(Arc::new(padded)), pad_k })
            }
            _ => Ok(Matrix::plain(QMatMul::from_arc(Arc::new(qt))?)),
        }
    }
}

/// Times `qt` quantized, padded (Q8_0 with `k % 256 != 0`) and (when `dense_allowed`)
/// dequantized on a random `(rows, k)` input, in alternating rounds after one warm-up each
/// (the first quantized call may repack the blocks); the best of each is compared.
fn measure(qt: &QTensor, file_dtype: GgmlDType, rows: usize, dense_allowed: bool) -> Result<StorageChoice> {
    let (n, k) = qt.shape().dims2()?;
    let x = Tensor::randn(0f32, 1f32, (rows, k), &Device::Cpu)?;
    let quantized = Matrix::plain(QMatMul::QTensor(Arc::new(clone_qtensor(qt)?)));
    let padded = if qt.dtype() == GgmlDType::Q8_0 && k % PADDED_K != 0 && n % 16 == 0 {
        let (p, pad_k) = pad_q8_0(qt)?;
        Some(Matrix { w: QMatMul::QTensor(Arc::new(p)), pad_k })
    } else {
        None
    };
    let dense = if dense_allowed {
        Some(Matrix::plain(QMatMul::Tensor(qt.dequantize(&Device::Cpu)?)))
    } else {
        None
    };
    let forms: Vec<Option<&Matrix>> = vec![Some(&quantized), padded.as_ref(), dense.as_ref()];
    let time = |w: &Matrix| -> Result<Duration> {
        let start = Instant::now();
        drop(w.forward(&x)?);
        Ok(start.elapsed())
    };
    for w in forms.iter().flatten() {
        time(w)?;
    }
    let mut best = [Duration::MAX; 3];
    for _ in 0..ROUNDS {
        for (b, w) in best.iter_mut().zip(&forms) {
            if let Some(w) = w {
                *b = (*b).min(time(w)?);
            }
        }
    }
    let [best_q, best_p, best_d] = best;
    let padded_time = padded.as_ref().map(|_| best_p);
    let dense_time = dense.as_ref().map(|_| best_d);
    let quantized_best = best_q.min(best_p);
    let beats = |a: Duration, b: Duration| a.as_secs_f64() < MARGIN * b.as_secs_f64();
    let held = match dense_time {
        Some(d) if beats(d, quantized_best) => Held::DenseF32,
        _ if beats(best_p, best_q) => Held::QuantizedPadded,
        _ => Held::Quantized,
    };
    Ok(StorageChoice {
        file_dtype,
        held_dtype: qt.dtype(),
        shape: (n, k),
        probe_rows: rows,
        quantized: best_q,
        padded: padded_time,
        dense: dense_time,
        held,
        matrices: 0,
    })
}

/// The choice for a small matrix, without timing.
fn untimed(qt: &QTensor, file_dtype: GgmlDType, rows: usize, dense_allowed: bool) -> Result<StorageChoice> {
    Ok(StorageChoice {
        file_dtype,
        held_dtype: qt.dtype(),
        shape: qt.shape().dims2()?,
        probe_rows: rows,
        quantized: Duration::ZERO,
        padded: None,
        dense: None,
        held: if dense_allowed { Held::DenseF32 } else { Held::Quantized },
        matrices: 0,
    })
}

/// Q8_0 rows are padded to a multiple of this many values for the VNNI tile kernel.
const PADDED_K: usize = 256;

/// `qt` (Q8_0, `(n, k)`) with every row extended by zero blocks to a multiple of
/// [`PADDED_K`]; returns it and the number of zero columns the input needs.
fn pad_q8_0(qt: &QTensor) -> Result<(QTensor, usize)> {
    let (n, k) = qt.shape().dims2()?;
    let padded_k = k.div_ceil(PADDED_K) * PADDED_K;
    let data = qt.data()?;
    let row_bytes = k / 32 * Q8_0_BLOCK;
    let pad_bytes = (padded_k - k) / 32 * Q8_0_BLOCK;
    let mut out = Vec::with_capacity(n * (row_bytes + pad_bytes));
    for row in data.chunks_exact(row_bytes) {
        out.extend_from_slice(row);
        out.resize(out.len() + pad_bytes, 0); // d = 0 (f16 zero), codes 0
    }
    let padded = qtensor_from_ggml(GgmlDType::Q8_0, &out, vec![n, padded_k], &Device::Cpu)?;
    Ok((padded, padded_k - k))
}

/// Block types candle multiplies with SIMD on x86 (the rest are scalar).
fn has_simd_kernel(dtype: GgmlDType) -> bool {
    use GgmlDType as T;
    matches!(dtype, T::Q8_0 | T::Q2K | T::Q3K | T::Q4K | T::Q5K | T::Q6K | T::Q8K)
}

fn clone_qtensor(qt: &QTensor) -> Result<QTensor> {
    let data = qt.data()?;
    qtensor_from_ggml(qt.dtype(), &data, qt.shape().dims().to_vec(), &Device::Cpu)
}

const Q8_0_BLOCK: usize = 34;
const Q5_0_BLOCK: usize = 22;
const Q4_0_BLOCK: usize = 18;

/// Q4_0 and Q5_0 blocks rewritten as Q8_0 blocks with the same scale and the same values
/// (`code - 8` or `code - 16` as i8); other types are returned as they are.
pub(super) fn widen_exact(qt: QTensor) -> Result<QTensor> {
    let (from, block) = match qt.dtype() {
        GgmlDType::Q4_0 => (GgmlDType::Q4_0, Q4_0_BLOCK),
        GgmlDType::Q5_0 => (GgmlDType::Q5_0, Q5_0_BLOCK),
        _ => return Ok(qt),
    };
    let data = qt.data()?;
    if data.len() % block != 0 {
        candle_core::bail!("{from:?} tensor of {} bytes is not whole blocks", data.len());
    }
    let mut out = Vec::with_capacity(data.len() / block * Q8_0_BLOCK);
    for b in data.chunks_exact(block) {
        let values = match from {
            GgmlDType::Q4_0 => q4_0_values(b),
            _ => q5_0_values(b),
        };
        out.extend_from_slice(&b[..2]); // the f16 scale, unchanged
        out.extend(values.iter().map(|&v| v as u8));
    }
    qtensor_from_ggml(GgmlDType::Q8_0, &out, qt.shape().dims().to_vec(), &Device::Cpu)
}

/// The 32 signed codes of a Q4_0 block (`d: f16, qs: [u8; 16]`).
fn q4_0_values(b: &[u8]) -> [i8; 32] {
    let qs = &b[2..18];
    let mut v = [0i8; 32];
    for j in 0..16 {
        v[j] = (qs[j] & 0x0f) as i8 - 8;
        v[j + 16] = (qs[j] >> 4) as i8 - 8;
    }
    v
}

/// The 32 signed codes of a Q5_0 block (`d: f16, qh: [u8; 4], qs: [u8; 16]`).
fn q5_0_values(b: &[u8]) -> [i8; 32] {
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    let mut v = [0i8; 32];
    for j in 0..16 {
        let hi0 = (((qh >> j) << 4) & 0x10) as u8;
        let hi1 = ((qh >> (j + 12)) & 0x10) as u8;
        v[j] = ((qs[j] & 0x0f) | hi0) as i8 - 16;
        v[j + 16] = ((qs[j] >> 4) | hi1) as i8 - 16;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_rows(n: usize, k: usize) -> Tensor {
        Tensor::randn(0f32, 1f32, (n, k), &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn widening_keeps_every_value_exactly() {
        let w = random_rows(8, 96);
        for dtype in [GgmlDType::Q4_0, GgmlDType::Q5_0] {
            let q = QTensor::quantize(&w, dtype).unwrap();
            let before = q.dequantize(&Device::Cpu).unwrap();
            let widened = widen_exact(q).unwrap();
            assert_eq!(widened.dtype(), GgmlDType::Q8_0);
            let after = widened.dequantize(&Device::Cpu).unwrap();
            assert_eq!(max_abs_diff(&before, &after), 0.0, "{dtype:?}");
        }
    }

    #[test]
    fn other_types_are_not_widened() {
        let q = QTensor::quantize(&random_rows(4, 256), GgmlDType::Q4K).unwrap();
        assert_eq!(widen_exact(q).unwrap().dtype(), GgmlDType::Q4K);
    }

    #[test]
    fn a_zero_budget_keeps_matrices_quantized_and_logs_one_choice_per_shape() {
        let mut planner = StoragePlanner::new(CpuStorage::Measured, 0);
        for _ in 0..3 {
            let q = QTensor::quantize(&random_rows(256, 512), GgmlDType::Q5_0).unwrap();
            let m = planner.place(q, 4).unwrap();
            assert!(matches!(m.w, QMatMul::QTensor(_)));
        }
        let log = planner.into_log();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].matrices, 3);
        assert_eq!(log[0].held_dtype, GgmlDType::Q8_0);
        assert!(log[0].dense.is_none());
        assert!(log[0].quantized > Duration::ZERO, "timed");
    }

    #[test]
    fn small_matrices_are_not_timed() {
        let q = || QTensor::quantize(&random_rows(32, 64), GgmlDType::Q4_1).unwrap();
        let mut dense = StoragePlanner::new(CpuStorage::Measured, u64::MAX);
        assert!(matches!(dense.place(q(), 4).unwrap().w, QMatMul::Tensor(_)));
        let mut none = StoragePlanner::new(CpuStorage::Measured, 0);
        assert!(matches!(none.place(q(), 4).unwrap().w, QMatMul::QTensor(_)));
        assert_eq!(none.into_log()[0].quantized, Duration::ZERO);
    }

    #[test]
    fn padded_rows_give_the_same_product_and_embedding() {
        let w = random_rows(16, 96);
        let x = random_rows(5, 96);
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let plain = Matrix::plain(QMatMul::QTensor(Arc::new(clone_qtensor(&q).unwrap())));
        let (p, pad_k) = pad_q8_0(&q).unwrap();
        assert_eq!((p.shape().dims2().unwrap(), pad_k), ((16, 256), 160));
        let padded = Matrix { w: QMatMul::QTensor(Arc::new(p)), pad_k };
        let exact = x.matmul(&q.dequantize(&Device::Cpu).unwrap().t().unwrap()).unwrap();
        let scale = max_abs_diff(&exact, &exact.zeros_like().unwrap());
        for m in [&plain, &padded] {
            let err = max_abs_diff(&m.forward(&x).unwrap(), &exact);
            // Both round the input to 8 bits (in blocks of 32 or of 256 values): ~1% error.
            assert!(err < 0.03 * scale, "{err} of {scale}");
        }
        let ids = Tensor::new(&[3u32, 0, 15], &Device::Cpu).unwrap();
        let (ea, eb) = (plain.embedding(&ids).unwrap(), padded.embedding(&ids).unwrap());
        assert_eq!(ea.to_vec2::<f32>().unwrap(), eb.to_vec2::<f32>().unwrap());
    }

    #[test]
    fn the_chosen_form_computes_the_same_product() {
        let w = random_rows(16, 64);
        let x = random_rows(3, 64);
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let reference = x.matmul(&q.dequantize(&Device::Cpu).unwrap().t().unwrap()).unwrap();
        let mut planner = StoragePlanner::new(CpuStorage::Measured, u64::MAX);
        let m = planner.place(q, 4).unwrap();
        let diff = max_abs_diff(&m.forward(&x).unwrap(), &reference);
        // The quantized path rounds activations to 8 bits; the dense path is exact.
        assert!(diff < 0.5, "{diff}");
    }
}
