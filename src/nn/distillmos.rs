//! DistillMOS: a small no-reference speech-quality (MOS) predictor, distilled from an XLS-R based
//! teacher into a complex-spectrogram CNN followed by a transformer with attention pooling.
//!
//! - Paper: B. Stahl, H. Gamper, "Distillation and Pruning for Scalable Self-Supervised
//!   Representation-Based Speech Quality Assessment", ICASSP 2025 (arXiv:2502.05356).
//! - Checkpoint: `distillmos/weights/distill_mos_v7.pt` inside the `distillmos==0.9.1` wheel on
//!   PyPI (MIT; 4.2 M parameters; the state dict sits under the pickle key `model`).
//! - Reference implementation: `distillmos/sqa.py` (`ConvTransformerSQAModel`) and the head from
//!   `xls_r_sqa==0.1.0` (`SingleLayerModel`, `TransformerWrapper`, `PoolAttFF`).
//!
//! Pipeline per 7.68 s segment of 16 kHz audio: peak normalisation -> reflect-padded STFT (20 ms
//! periodic Hann window, 10 ms hop) -> magnitude-compressed complex spectrum (|X|^0.3 with the
//! phase kept) -> 6 conv layers (3x3, LeakyReLU 0.1; stride 2 over frequency from layer 2, and
//! over time in the last) -> two frozen batch norms -> linear projection to 200 -> fixed
//! positional encoding -> 7 post-norm transformer encoder layers -> batch norm -> attention
//! pooling -> sigmoid. MOS = 1 + 4 * mean over segments.
//!
//! Long audio is cut exactly as the reference does (`segments`): windows of 7.68 s whose starts
//! are spread evenly so that consecutive windows start at most 1 s apart; short audio is
//! zero-padded to one window.
//!
//! The STFT is a Candle matmul against a windowed DFT basis rather than rustfft: it keeps the
//! whole forward pass on the model's device (no host round trip on CUDA/Metal), batches with the
//! segments, and costs ~80 M multiply-adds per segment, about 5 % of the CNN.
//!
//! Candle's `conv2d` takes one stride and one padding for both axes, while this CNN strides
//! (2, 1) and pads (0, 1); layers whose two strides differ run as an explicit im2col + matmul
//! (`conv2d_strided`), the others through `conv2d` on an input padded along time.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{layer_norm, linear, LayerNorm, LayerNormConfig, Linear, VarBuilder};

/// Where the state dict sits inside the checkpoint's pickle.
pub const CHECKPOINT_KEY: &str = "model";
/// The lowest and highest MOS the model can output (sigmoid mapped onto 1..5).
pub const MOS_MIN: f64 = 1.0;
pub const MOS_MAX: f64 = 5.0;
/// Conv kernel size (both axes) of every CNN layer.
const KERNEL: usize = 3;
/// The reference clips the STFT magnitude here before compressing it.
const MAGNITUDE_FLOOR: f64 = 1e-12;

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Config {
    /// Input rate the model was trained at (Hz).
    pub sample_rate: u32,
    /// Samples per analysed segment (7.68 s at 16 kHz).
    pub segment_len: usize,
    /// Longest step between the starts of consecutive segments of long audio.
    pub max_hop_len: usize,
    /// STFT hop and window (= FFT size), in samples.
    pub hop_length: usize,
    pub win_length: usize,
    /// Exponent applied to the STFT magnitude (phase kept).
    pub compression: f64,
    pub cnn_layers: usize,
    /// Channels of the first conv layer; doubled per layer after the second, up to the final.
    pub cnn_initial_channels: usize,
    pub cnn_final_channels: usize,
    pub leaky_relu_slope: f64,
    pub dim_transformer: usize,
    pub num_heads: usize,
    pub num_layers: usize,
    /// Feed-forward width of each encoder layer.
    pub dim_feedforward: usize,
    /// Batch-norm and layer-norm epsilon (PyTorch defaults).
    pub norm_eps: f64,
    /// Added to each segment's peak before dividing by it.
    pub peak_eps: f64,
}

impl Config {
    /// The released checkpoint, `distill_mos_v7.pt`.
    pub fn distill_mos_v7() -> Config {
        Config {
            sample_rate: 16_000,
            segment_len: 122_880,
            max_hop_len: 16_000,
            hop_length: 160,
            win_length: 320,
            compression: 0.3,
            cnn_layers: 6,
            cnn_initial_channels: 64,
            cnn_final_channels: 256,
            leaky_relu_slope: 0.1,
            dim_transformer: 200,
            num_heads: 8,
            num_layers: 7,
            dim_feedforward: 400,
            norm_eps: 1e-5,
            peak_eps: 1e-8,
        }
    }

    /// Frequency bins of the one-sided STFT.
    pub fn n_freq(&self) -> usize {
        self.win_length / 2 + 1
    }

    /// STFT frames per segment (the reflect padding of (win - hop) / 2 per side makes it exact).
    pub fn n_frames(&self) -> usize {
        (self.segment_len + 2 * self.pad_len() - self.win_length) / self.hop_length + 1
    }

    fn pad_len(&self) -> usize {
        (self.win_length - self.hop_length) / 2
    }

    /// (in, out, frequency stride, time stride) of each conv layer, as the reference builds them.
    pub fn conv_layers(&self) -> Vec<(usize, usize, usize, usize)> {
        let mut prev = 2;
        (0..self.cnn_layers)
            .map(|i| {
                let out = (self.cnn_initial_channels << i.saturating_sub(1)).min(self.cnn_final_channels);
                let t_stride = if i + 1 == self.cnn_layers { 2 } else { 1 };
                let f_stride = if i >= 1 { 2 } else { 1 };
                let layer = (prev, out, f_stride, t_stride);
                prev = out;
                layer
            })
            .collect()
    }

    /// (frequency rows, time steps) the CNN outputs per segment.
    pub fn cnn_out_dims(&self) -> (usize, usize) {
        let (mut f, mut t) = (self.n_freq(), self.n_frames());
        for (_, _, fs, ts) in self.conv_layers() {
            f = (f - KERNEL) / fs + 1;
            t = (t + 2 - KERNEL) / ts + 1;
        }
        (f, t)
    }

    /// Width of one CNN output step: channels x frequency rows.
    pub fn dim_input(&self) -> usize {
        self.cnn_final_channels * self.cnn_out_dims().0
    }

    /// Where the reference cuts `n` samples into segments: the start of each window. Audio
    /// shorter than a segment gives one window at 0 (zero-padded by `segment_batch`).
    pub fn segment_starts(&self, n: usize) -> Vec<usize> {
        let over = n.saturating_sub(self.segment_len);
        let hops = over.div_ceil(self.max_hop_len) + 1;
        if hops == 1 {
            return vec![0];
        }
        // np.linspace(0, 1, hops): i * (1 / (hops - 1)), the last one exactly 1; then int(c * over).
        let step = 1.0 / (hops - 1) as f64;
        (0..hops)
            .map(|i| {
                let c = if i + 1 == hops { 1.0 } else { i as f64 * step };
                (c * over as f64) as usize
            })
            .collect()
    }
}

/// A batch norm in eval mode, folded to `x * scale + shift` per channel (last dimension).
#[derive(Debug, Clone)]
struct FrozenBatchNorm {
    scale: Tensor,
    shift: Tensor,
}

impl FrozenBatchNorm {
    fn new(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get(dim, "weight")?;
        let bias = vb.get(dim, "bias")?;
        let mean = vb.get(dim, "running_mean")?;
        let var = vb.get(dim, "running_var")?;
        let scale = weight.div(&(var + eps)?.sqrt()?)?;
        let shift = bias.sub(&mean.mul(&scale)?)?;
        Ok(Self { scale, shift })
    }

    /// `then(self(x))` as one affine map.
    fn followed_by(&self, then: &FrozenBatchNorm) -> Result<Self> {
        Ok(Self { scale: self.scale.mul(&then.scale)?, shift: self.shift.mul(&then.scale)?.add(&then.shift)? })
    }
}

impl Module for FrozenBatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }
}

#[derive(Debug, Clone)]
struct ConvLayer {
    weight: Tensor,
    bias: Tensor,
    f_stride: usize,
    t_stride: usize,
    slope: f64,
}

impl ConvLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The reference pads time by 1 on each side and frequency not at all.
        let x = x.pad_with_zeros(D::Minus1, 1, 1)?;
        let y = if self.f_stride == self.t_stride {
            x.conv2d(&self.weight, 0, self.f_stride, 1, 1)?
        } else {
            conv2d_strided(&x, &self.weight, self.f_stride, self.t_stride)?
        };
        let y = y.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)?;
        candle_nn::ops::leaky_relu(&y, self.slope)
    }
}

/// Unpadded 2-D convolution of `x` (B, C, H, W) with `w` (O, C, kh, kw) and separate strides per
/// axis, as im2col + one matmul.
pub fn conv2d_strided(x: &Tensor, w: &Tensor, stride_h: usize, stride_w: usize) -> Result<Tensor> {
    let (b, c, h, width) = x.dims4()?;
    let (o, _, kh, kw) = w.dims4()?;
    let out_h = (h - kh) / stride_h + 1;
    let out_w = (width - kw) / stride_w + 1;
    let mut cols = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        let rows: Vec<u32> = (0..out_h).map(|r| (i + r * stride_h) as u32).collect();
        let rows = Tensor::from_vec(rows, out_h, x.device())?;
        let band = x.index_select(&rows, 2)?;
        for j in 0..kw {
            if stride_w == 1 {
                // A view; `stack` below does the one copy.
                cols.push(band.narrow(3, j, out_w)?);
            } else {
                let idx: Vec<u32> = (0..out_w).map(|t| (j + t * stride_w) as u32).collect();
                cols.push(band.index_select(&Tensor::from_vec(idx, out_w, x.device())?, 3)?);
            }
        }
    }
    // (B, C, kh*kw, out_h, out_w): the column order c * kh * kw + i * kw + j matches w's layout.
    let cols = Tensor::stack(&cols, 2)?.reshape((b, c * kh * kw, out_h * out_w))?;
    let w = w.reshape((o, c * kh * kw))?;
    w.broadcast_matmul(&cols)?.reshape((b, o, out_h, out_w))
}

/// Complex STFT with compressed magnitude followed by the CNN.
#[derive(Debug, Clone)]
struct ComplexSpecCnn {
    /// (win, 2 * n_freq): Hann-windowed cos | -sin DFT basis.
    basis: Tensor,
    layers: Vec<ConvLayer>,
    cfg: Config,
}

impl ComplexSpecCnn {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let basis = dft_basis(cfg.win_length, vb.device())?.to_dtype(vb.dtype())?;
        let vb = vb.pp("cnn");
        let layers = cfg
            .conv_layers()
            .into_iter()
            .enumerate()
            .map(|(i, (cin, cout, f_stride, t_stride))| {
                // Sequential indices: conv at 2i, LeakyReLU (no weights) at 2i + 1.
                let vb = vb.pp(2 * i);
                Ok(ConvLayer {
                    weight: vb.get((cout, cin, KERNEL, KERNEL), "weight")?,
                    bias: vb.get(cout, "bias")?,
                    f_stride,
                    t_stride,
                    slope: cfg.leaky_relu_slope,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { basis, layers, cfg: cfg.clone() })
    }

    /// (B, L) normalised segments -> (B, 2, n_freq, n_frames): real and imaginary parts scaled so
    /// the magnitude is |X|^compression.
    fn compressed_spectrum(&self, x: &Tensor) -> Result<Tensor> {
        let cfg = &self.cfg;
        let (b, len) = x.dims2()?;
        let pad = cfg.pad_len();
        // Reflect padding (the edge sample is not repeated), as torch's mode="reflect".
        let reflect: Vec<u32> = (1..=pad)
            .rev()
            .chain(0..len)
            .chain((len - 1 - pad..len - 1).rev())
            .map(|i| i as u32)
            .collect();
        let padded_len = reflect.len();
        let x = x.index_select(&Tensor::from_vec(reflect, padded_len, x.device())?, 1)?;
        let frames = (padded_len - cfg.win_length) / cfg.hop_length + 1;
        let idx: Vec<u32> = (0..frames)
            .flat_map(|f| (0..cfg.win_length).map(move |n| (f * cfg.hop_length + n) as u32))
            .collect();
        let framed =
            x.index_select(&Tensor::from_vec(idx, frames * cfg.win_length, x.device())?, 1)?.reshape((
                b,
                frames,
                cfg.win_length,
            ))?;
        let spec = framed.broadcast_matmul(&self.basis)?; // (B, frames, 2F)
        let nf = cfg.n_freq();
        let re = spec.narrow(2, 0, nf)?;
        let im = spec.narrow(2, nf, nf)?;
        let mag = (re.sqr()? + im.sqr()?)?.sqrt()?.maximum(MAGNITUDE_FLOOR)?;
        let gain = mag.powf(cfg.compression - 1.0)?;
        let re = (re * &gain)?;
        let im = (im * &gain)?;
        Tensor::stack(&[re, im], 1)?.transpose(2, 3)?.contiguous()
    }

    /// (B, L) -> (B, T', C * F'): one feature vector per (strided) time step.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.compressed_spectrum(x)?;
        for layer in &self.layers {
            h = layer.forward(&h)?;
        }
        h.flatten(1, 2)?.transpose(1, 2)?.contiguous()
    }
}

/// Periodic Hann window times the DFT basis: columns k < n/2+1 are w[n] cos(2 pi k n / N), the
/// next n/2+1 are -w[n] sin(2 pi k n / N), so `frames @ basis` gives (Re X | Im X) as torch.stft.
fn dft_basis(win: usize, device: &Device) -> Result<Tensor> {
    let nf = win / 2 + 1;
    let tau = 2.0 * std::f64::consts::PI;
    let mut data = vec![0f32; win * 2 * nf];
    for n in 0..win {
        let w = 0.5 - 0.5 * (tau * n as f64 / win as f64).cos();
        for k in 0..nf {
            // k * n reduced mod N keeps the angle small and the f64 trig exact enough.
            let angle = tau * ((k * n) % win) as f64 / win as f64;
            data[n * 2 * nf + k] = (w * angle.cos()) as f32;
            data[n * 2 * nf + nf + k] = (-w * angle.sin()) as f32;
        }
    }
    Tensor::from_vec(data, (win, 2 * nf), device)
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    in_proj: Linear,
    out_proj: Linear,
    linear1: Linear,
    linear2: Linear,
    norm1: LayerNorm,
    norm2: LayerNorm,
    num_heads: usize,
}

impl EncoderLayer {
    fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.dim_transformer;
        let attn = vb.pp("self_attn");
        let in_proj =
            Linear::new(attn.get((3 * d, d), "in_proj_weight")?, Some(attn.get(3 * d, "in_proj_bias")?));
        let ln = LayerNormConfig { eps: cfg.norm_eps, ..Default::default() };
        Ok(Self {
            in_proj,
            out_proj: linear(d, d, attn.pp("out_proj"))?,
            linear1: linear(d, cfg.dim_feedforward, vb.pp("linear1"))?,
            linear2: linear(cfg.dim_feedforward, d, vb.pp("linear2"))?,
            norm1: layer_norm(d, ln, vb.pp("norm1"))?,
            norm2: layer_norm(d, ln, vb.pp("norm2"))?,
            num_heads: cfg.num_heads,
        })
    }

    fn self_attention(&self, x: &Tensor) -> Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let head_dim = d / self.num_heads;
        let qkv = self.in_proj.forward(x)?;
        let heads = |i: usize| -> Result<Tensor> {
            qkv.narrow(2, i * d, d)?.reshape((b, l, self.num_heads, head_dim))?.transpose(1, 2)?.contiguous()
        };
        let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
        let q = (q / (head_dim as f64).sqrt())?;
        let att = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, l, d))?;
        self.out_proj.forward(&y)
    }

    /// Post-norm (PyTorch's default `norm_first=False`), ReLU feed-forward.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.norm1.forward(&(x + self.self_attention(x)?)?)?;
        let ff = self.linear2.forward(&self.linear1.forward(&x)?.relu()?)?;
        self.norm2.forward(&(x + ff)?)
    }
}

/// The whole network: `forward` maps segments to a MOS each.
#[derive(Debug, Clone)]
pub struct DistillMos {
    cnn: ComplexSpecCnn,
    /// `norm_input` then the wrapper's `norm`, folded into one affine map.
    input_norm: FrozenBatchNorm,
    linear_proj: Linear,
    position: Tensor,
    layers: Vec<EncoderLayer>,
    norm_trans: FrozenBatchNorm,
    pool_linear1: Linear,
    pool_linear2: Linear,
    pool_linear3: Linear,
    cfg: Config,
}

impl DistillMos {
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let last = cfg.conv_layers().last().map_or(0, |l| l.1);
        if last != cfg.cnn_final_channels {
            // The reference asserts the same: the channel schedule must end at the final width.
            candle_core::bail!(
                "distillmos config: {} conv layers end at {last} channels, not cnn_final_channels = {}",
                cfg.cnn_layers,
                cfg.cnn_final_channels
            );
        }
        let cnn = ComplexSpecCnn::new(cfg, vb.pp("cnn"))?;
        let head = vb.pp("transformer_pool_attn");
        let dim_in = cfg.dim_input();
        let d = cfg.dim_transformer;
        let norm_input = FrozenBatchNorm::new(dim_in, cfg.norm_eps, head.pp("norm_input"))?;
        let wrapper = head.pp("transformer");
        let norm = FrozenBatchNorm::new(dim_in, cfg.norm_eps, wrapper.pp("norm"))?;
        let seq = cfg.cnn_out_dims().1;
        let position = wrapper.get((1, seq, d), "position_encoding.pe")?;
        let enc = wrapper.pp("transformer_encoder.layers");
        let layers = (0..cfg.num_layers).map(|i| EncoderLayer::new(cfg, enc.pp(i))).collect::<Result<Vec<_>>>()?;
        let pool = head.pp("pool");
        Ok(Self {
            cnn,
            input_norm: norm_input.followed_by(&norm)?,
            linear_proj: linear(dim_in, d, wrapper.pp("linear_proj"))?,
            position,
            layers,
            norm_trans: FrozenBatchNorm::new(d, cfg.norm_eps, head.pp("norm_trans"))?,
            pool_linear1: linear(d, 2 * d, pool.pp("linear1"))?,
            pool_linear2: linear(2 * d, 1, pool.pp("linear2"))?,
            pool_linear3: linear(d, 1, pool.pp("linear3"))?,
            cfg: cfg.clone(),
        })
    }

    /// Reads a checkpoint in the reference's format (a torch pickle with the state dict under
    /// `model`); tensors keep their names, so `new` sees the reference's module paths.
    pub fn load_checkpoint(path: &std::path::Path, cfg: &Config, device: &Device) -> Result<Self> {
        let tensors = candle_core::pickle::read_all_with_key(path, Some(CHECKPOINT_KEY))?;
        let vb = VarBuilder::from_tensors(tensors.into_iter().collect(), DType::F32, device);
        Self::new(cfg, vb)
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// CNN features of (B, segment_len) raw segments, after peak normalisation: (B, T', C * F').
    pub fn features(&self, segments: &Tensor) -> Result<Tensor> {
        let peak = segments.abs()?.max_keepdim(1)?;
        let x = segments.broadcast_div(&(peak + self.cfg.peak_eps)?)?;
        self.cnn.forward(&x)
    }

    /// Quality in [0, 1] (before the 1..5 mapping) from CNN features.
    pub fn head(&self, features: &Tensor) -> Result<Tensor> {
        let x = self.input_norm.forward(features)?;
        let mut x = self.linear_proj.forward(&x)?.broadcast_add(&self.position)?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        let x = self.norm_trans.forward(&x)?;
        let att = self.pool_linear2.forward(&self.pool_linear1.forward(&x)?.relu()?)?; // (B, T', 1)
        let att = candle_nn::ops::softmax_last_dim(&att.transpose(1, 2)?.contiguous()?)?;
        let pooled = att.matmul(&x)?.squeeze(1)?; // (B, D)
        candle_nn::ops::sigmoid(&self.pool_linear3.forward(&pooled)?)?.squeeze(1)
    }

    /// (B, segment_len) segments -> (B,) MOS in [1, 5].
    pub fn forward(&self, segments: &Tensor) -> Result<Tensor> {
        let q = self.head(&self.features(segments)?)?;
        q.affine(MOS_MAX - MOS_MIN, MOS_MIN)
    }

    /// The segments of `samples` starting at `starts[..]`, zero-padded at the end, as one
    /// (starts.len(), segment_len) tensor.
    pub fn segment_batch(&self, samples: &[f32], starts: &[usize], device: &Device) -> Result<Tensor> {
        let len = self.cfg.segment_len;
        let mut data = vec![0f32; starts.len() * len];
        for (row, &s) in data.chunks_mut(len).zip(starts) {
            let end = (s + len).min(samples.len());
            if s < end {
                row[..end - s].copy_from_slice(&samples[s..end]);
            }
        }
        Tensor::from_vec(data, (starts.len(), len), device)
    }

    /// MOS of a whole clip at `cfg.sample_rate`: the mean over the reference's segments, run
    /// `batch` segments at a time (memory grows ~150 MB per segment in the CNN on CPU).
    pub fn score(&self, samples: &[f32], batch: usize, device: &Device) -> Result<f64> {
        let starts = self.cfg.segment_starts(samples.len());
        let mut sum = 0f64;
        for chunk in starts.chunks(batch.max(1)) {
            let x = self.segment_batch(samples, chunk, device)?;
            let q = self.head(&self.features(&x)?)?;
            sum += q.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        }
        Ok(MOS_MIN + (MOS_MAX - MOS_MIN) * sum / starts.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_dimensions_match_the_checkpoint() {
        let cfg = Config::distill_mos_v7();
        assert_eq!(cfg.n_freq(), 161);
        assert_eq!(cfg.n_frames(), 768);
        assert_eq!(cfg.cnn_out_dims(), (4, 384));
        assert_eq!(cfg.dim_input(), 1024);
        let chans: Vec<usize> = cfg.conv_layers().iter().map(|l| l.1).collect();
        assert_eq!(chans, [64, 64, 128, 256, 256, 256]);
    }

    #[test]
    fn segments_follow_numpy_linspace() {
        let cfg = Config::distill_mos_v7();
        assert_eq!(cfg.segment_starts(1000), [0]);
        assert_eq!(cfg.segment_starts(122_880), [0]);
        // 1 sample over: two windows, the second at the very end.
        assert_eq!(cfg.segment_starts(122_881), [0, 1]);
        // 40 000 over: ceil(2.5) + 1 = 4 windows at 0, 1/3, 2/3, 1 of the overlength.
        assert_eq!(cfg.segment_starts(162_880), [0, 13_333, 26_666, 40_000]);
    }

    #[test]
    fn strided_conv_matches_candle_conv2d_where_it_can() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (2, 3, 9, 7), &dev)?;
        let w = Tensor::randn(0f32, 1., (4, 3, 3, 3), &dev)?;
        let ours = conv2d_strided(&x, &w, 2, 2)?;
        let theirs = x.conv2d(&w, 0, 2, 1, 1)?;
        let diff = (ours - theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{diff}");
        // Stride (2, 1) = stride 1 then every other row.
        let ours = conv2d_strided(&x, &w, 2, 1)?;
        let full = x.conv2d(&w, 0, 1, 1, 1)?;
        let rows = Tensor::new(&[0u32, 2, 4, 6], &dev)?;
        let diff = (ours - full.index_select(&rows, 2)?)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{diff}");
        Ok(())
    }

    #[test]
    fn dft_basis_matches_a_direct_dft() -> Result<()> {
        let win = 8;
        let basis = dft_basis(win, &Device::Cpu)?;
        let x: Vec<f32> = (0..win).map(|i| ((i * 7 % 5) as f32) - 2.0).collect();
        let spec = Tensor::from_vec(x.clone(), (1, win), &Device::Cpu)?.matmul(&basis)?.squeeze(0)?.to_vec1::<f32>()?;
        for k in 0..=win / 2 {
            let (mut re, mut im) = (0f64, 0f64);
            for (n, v) in x.iter().enumerate() {
                let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / win as f64).cos();
                let a = 2.0 * std::f64::consts::PI * (k * n) as f64 / win as f64;
                re += w * *v as f64 * a.cos();
                im -= w * *v as f64 * a.sin();
            }
            assert!((spec[k] as f64 - re).abs() < 1e-5 && (spec[win / 2 + 1 + k] as f64 - im).abs() < 1e-5);
        }
        Ok(())
    }
}
