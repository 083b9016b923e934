//! Decoder-only transformer for the llama, qwen2 and qwen3 families, built for scoring.
//!
//! - Papers: LLaMA (Touvron et al. 2023, arXiv:2302.13971); Qwen2 technical report
//!   (arXiv:2407.10671); Qwen3 technical report (arXiv:2505.09388).
//! - Checkpoints: Hugging Face `config.json` + safetensors (`LlamaForCausalLM`,
//!   `Qwen2ForCausalLM`, `Qwen3ForCausalLM`, e.g. HuggingFaceTB/SmolLM2-135M-Instruct,
//!   Qwen/Qwen2.5-1.5B-Instruct, Qwen/Qwen3-4B) and llama.cpp GGUF files whose
//!   `general.architecture` is `llama`, `qwen2` or `qwen3` (any quantisation candle reads).
//! - Reference implementations: candle-transformers 0.11 `models::{llama, qwen2, qwen3}` and
//!   `models::{quantized_llama, quantized_qwen2, quantized_qwen3}`, themselves following HF
//!   transformers `modeling_{llama,qwen2,qwen3}.py`. tests/decoder.rs checks our logits against
//!   all six on tiny random weights, and against `quantized_llama` on the real SmolLM2 GGUF.
//!
//! Why not candle's models: they keep the KV cache inside the model and return the logits of
//! the last position only. The judge computes a shared prompt prefix once, clones its cache for
//! every item and scores right-padded batches, so here the cache is an explicit, cloneable
//! value and `forward` reads the logits at a chosen position per row.
//!
//! One forward path serves both formats: every projection is a `QMatMul` (dense safetensors
//! weights become `QMatMul::Tensor`). llama.cpp's converter permutes the rows of llama q/k
//! weights so that its interleaved rope reproduces HF's rotate-half rope; we undo that
//! permutation while loading, so a single (rotate-half) rope serves every family and format.
//!
//! CPU speed: candle's quantized matmul has run-time SIMD kernels for Q8_0 and the k-quants
//! (AVX2 dot products, AVX512-VNNI tiles) but scalar code for Q4_1/Q5_0/Q5_1, while dense f32
//! matmul always has SIMD. So on CPU each GGUF matrix shape is timed quantized and as f32 at
//! load and held in the faster form, within an f32 memory budget (see `storage` and
//! [`GgufOptions`]); Q4_0/Q5_0 are first widened exactly to Q8_0.

mod config;
mod shared_prefix;
mod storage;
mod weights;

use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Error, Result, Tensor};
use candle_nn::attention::{flash_attn, AttnMask};
use candle_nn::VarBuilder;
use std::io::{Read, Seek};

use config::{rope_inv_freq, GGUF_ROPE_FREQS};
pub use config::{DecoderConfig, Family, RopeScaling};
pub use shared_prefix::SharedPrefix;
pub use storage::{Held, StorageChoice};
use storage::{Matrix, StoragePlanner};
use weights::{GgufWeights, HfWeights, Part, WeightSource};

/// Default for [`GgufOptions::cpu_dequantize_max_bytes`]: at most 2 GiB of weights are held
/// as dense f32 on CPU, and only those whose timing says f32 is faster.
pub const CPU_DEQUANTIZE_MAX_BYTES: u64 = 2 << 30;
/// Above this many bytes of attention scores per layer, [`AttentionKernel::Auto`] switches to
/// the fused CPU kernel, which never materialises them but is slower on ordinary prompts.
pub const ATTENTION_SCORES_MAX_BYTES: usize = 512 << 20;

/// How GGUF matrices are held on CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuStorage {
    /// The fastest of quantized, padded Q8_0 and f32 (within the budget), timed at load.
    #[default]
    Measured,
    /// Exactly as in the file, with candle's kernels (what candle's own quantized models do).
    AsStored,
    /// Every matrix dequantized to f32, whatever the budget.
    Dense,
}

/// How [`Decoder::from_gguf_with`] stores GGUF weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgufOptions {
    pub cpu_storage: CpuStorage,
    /// On CPU, at most this many bytes of weight matrices are held as dense f32, which the
    /// load-time timing picks where it is faster (it also avoids rounding the activations to
    /// 8 bits, as candle's quantized matmul does at every projection). 0 keeps all quantized.
    pub cpu_dequantize_max_bytes: u64,
}

impl Default for GgufOptions {
    fn default() -> Self {
        Self {
            cpu_storage: CpuStorage::Measured,
            cpu_dequantize_max_bytes: CPU_DEQUANTIZE_MAX_BYTES,
        }
    }
}

/// Which attention implementation `forward` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttentionKernel {
    /// Matmul attention, or the fused CPU kernel when the scores would exceed
    /// [`ATTENTION_SCORES_MAX_BYTES`].
    #[default]
    Auto,
    /// `softmax(q k^T + mask) v` with candle matmuls: every device and dtype.
    Matmul,
    /// candle-nn's fused CPU flash attention (f32 on CPU only; elsewhere this means Matmul).
    CpuFused,
}

/// A dense or quantized projection with an optional bias.
#[derive(Debug, Clone)]
struct Linear {
    w: Matrix,
    b: Option<Tensor>,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.w.forward(x)?;
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    gate: Matrix,
    up: Matrix,
    down: Matrix,
    attn_norm: Tensor,
    ffn_norm: Tensor,
}

/// Sizes every layer shares, resolved once from the config.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n_head: usize,
    n_kv: usize,
    head_dim: usize,
    eps: f32,
}

/// Per-layer keys and values of the positions seen so far, laid out `(batch, pos, kv_head,
/// head_dim)`. Cloning is cheap (tensors are reference counted), so one prefix cache can seed
/// many continuations.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// Number of cached positions (the position the next token gets).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows held, or `None` while empty.
    pub fn batch_size(&self) -> Option<usize> {
        self.layers
            .first()
            .and_then(|l| l.as_ref())
            .map(|(k, _)| k.dims()[0])
    }

    /// Repeats a batch-1 cache (a shared prompt prefix) into `batch` identical rows. An empty
    /// cache, or one that already has `batch` rows, is returned as is.
    pub fn expand(&self, batch: usize) -> Result<Self> {
        match self.batch_size() {
            None => Ok(self.clone()),
            Some(b) if b == batch => Ok(self.clone()),
            Some(1) if batch > 0 => {
                let rep = |t: &Tensor| Tensor::cat(&vec![t; batch], 0);
                let layers = self
                    .layers
                    .iter()
                    .map(|l| match l {
                        Some((k, v)) => Ok(Some((rep(k)?, rep(v)?))),
                        None => Ok(None),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Self {
                    layers,
                    len: self.len,
                })
            }
            Some(b) => candle_core::bail!("cannot expand a KV cache of {b} rows to {batch} rows"),
        }
    }
}

/// A llama / qwen2 / qwen3 decoder with an explicit KV cache. See the module docs.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: DecoderConfig,
    family: Family,
    dims: Dims,
    embed: Matrix,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Matrix,
    inv_freq: Vec<f32>,
    dtype: DType,
    device: Device,
    attention: AttentionKernel,
    /// How the CPU GGUF matrices are held and the timings that decided it (empty otherwise).
    storage: Vec<StorageChoice>,
}

impl Decoder {
    /// Loads HF safetensors weights (`model.embed_tokens`, `model.layers.N.self_attn.*`, ...).
    /// On CPU the weights are converted to f32; on a GPU they stay in `vb`'s dtype.
    pub fn new(cfg: &DecoderConfig, family: Family, vb: VarBuilder) -> Result<Self> {
        let device = vb.device().clone();
        let dtype = if device.is_cpu() {
            DType::F32
        } else {
            vb.dtype()
        };
        let mut src = HfWeights {
            vb: vb.set_dtype(dtype),
        };
        Self::build(cfg, family, &mut src, dtype, &device)
    }

    /// Loads a llama.cpp GGUF file (`token_embd`, `blk.N.attn_q`, ...) with the default
    /// [`GgufOptions`]. Activations are f32 on every device (what candle's quantized matmul
    /// takes).
    pub fn from_gguf<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
    ) -> Result<Self> {
        Self::from_gguf_with(content, reader, device, GgufOptions::default())
    }

    pub fn from_gguf_with<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        options: GgufOptions,
    ) -> Result<Self> {
        let cfg = DecoderConfig::from_gguf(content)?;
        let family = cfg.family()?;
        let mut src = GgufWeights {
            ct: content,
            reader,
            device,
            arch: family.name(),
            permuted_heads: (family == Family::Llama)
                .then(|| (cfg.num_attention_heads, cfg.num_kv_heads())),
            planner: device
                .is_cpu()
                .then(|| StoragePlanner::new(options.cpu_storage, options.cpu_dequantize_max_bytes)),
        };
        let mut decoder = Self::build(&cfg, family, &mut src, DType::F32, device)?;
        decoder.storage = src.planner.take().map(StoragePlanner::into_log).unwrap_or_default();
        if content.tensor_infos.contains_key(GGUF_ROPE_FREQS) {
            let n = decoder.inv_freq.len();
            let factors = src
                .read(GGUF_ROPE_FREQS, &[n], &Device::Cpu)?
                .dequantize(&Device::Cpu)?
                .to_vec1::<f32>()?;
            for (f, d) in decoder.inv_freq.iter_mut().zip(factors) {
                *f /= d;
            }
        }
        Ok(decoder)
    }

    fn build(
        cfg: &DecoderConfig,
        family: Family,
        src: &mut dyn WeightSource,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate()?;
        let dims = Dims {
            n_head: cfg.num_attention_heads,
            n_kv: cfg.num_kv_heads(),
            head_dim: cfg.head_dim(),
            eps: cfg.rms_norm_eps as f32,
        };
        let (h, inter) = (cfg.hidden_size, cfg.intermediate_size);
        let (q_dim, kv_dim) = (dims.n_head * dims.head_dim, dims.n_kv * dims.head_dim);
        let (qkv_bias, o_bias) = (cfg.qkv_bias(family), cfg.o_bias(family));
        let embed = src.matmul(Part::Embed, 0, cfg.vocab_size, h)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            let mut linear = |w: Part, b: Part, out: usize, inp: usize, bias: bool| {
                Ok::<_, Error>(Linear {
                    w: src.matmul(w, l, out, inp)?,
                    b: if bias {
                        Some(src.vector(b, l, out)?)
                    } else {
                        None
                    },
                })
            };
            let q = linear(Part::Q, Part::QBias, q_dim, h, qkv_bias)?;
            let k = linear(Part::K, Part::KBias, kv_dim, h, qkv_bias)?;
            let v = linear(Part::V, Part::VBias, kv_dim, h, qkv_bias)?;
            let o = linear(Part::O, Part::OBias, h, q_dim, o_bias)?;
            let (q_norm, k_norm) = if family == Family::Qwen3 {
                (
                    Some(src.vector(Part::QNorm, l, dims.head_dim)?),
                    Some(src.vector(Part::KNorm, l, dims.head_dim)?),
                )
            } else {
                (None, None)
            };
            layers.push(Layer {
                q,
                k,
                v,
                o,
                q_norm,
                k_norm,
                gate: src.matmul(Part::Gate, l, inter, h)?,
                up: src.matmul(Part::Up, l, inter, h)?,
                down: src.matmul(Part::Down, l, h, inter)?,
                attn_norm: src.vector(Part::AttnNorm, l, h)?,
                ffn_norm: src.vector(Part::FfnNorm, l, h)?,
            });
        }
        let norm = src.vector(Part::FinalNorm, 0, h)?;
        let lm_head = if cfg.tie_word_embeddings || !src.has(Part::LmHead, 0) {
            embed.clone()
        } else {
            src.matmul(Part::LmHead, 0, cfg.vocab_size, h)?
        };
        Ok(Self {
            cfg: cfg.clone(),
            family,
            dims,
            embed,
            layers,
            norm,
            lm_head,
            inv_freq: rope_inv_freq(cfg)?,
            dtype,
            device: device.clone(),
            attention: AttentionKernel::Auto,
            storage: Vec::new(),
        })
    }

    /// The load-time storage decisions for GGUF weights on CPU, one per (type, shape).
    pub fn storage(&self) -> &[StorageChoice] {
        &self.storage
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// Positions the model was trained for; `forward` refuses to go past it.
    pub fn context_length(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    pub fn vocab_size(&self) -> usize {
        self.cfg.vocab_size
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype activations are computed in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache {
            layers: vec![None; self.layers.len()],
            len: 0,
        }
    }

    pub fn set_attention_kernel(&mut self, kernel: AttentionKernel) {
        self.attention = kernel;
    }

    /// Whether a call over `b` rows of `l` new tokens after `past` uses the fused CPU kernel.
    fn cpu_fused(&self, b: usize, l: usize, past: usize) -> bool {
        let possible = self.device.is_cpu() && self.dtype == DType::F32;
        let scores = b * self.dims.n_head * l * (past + l) * self.dtype.size_in_bytes();
        possible
            && match self.attention {
                AttentionKernel::Auto => scores > ATTENTION_SCORES_MAX_BYTES,
                AttentionKernel::Matmul => false,
                AttentionKernel::CpuFused => true,
            }
    }

    /// Runs `tokens` (`(batch, seq)` ids, right-padded) after the positions in `cache` and
    /// returns `(batch, vocab)` f32 logits of the next token after `tokens[row, last[row]]`.
    ///
    /// Positions start at `cache.len()` for every row, and each token attends to the cache and
    /// to the tokens before it, so right padding needs no mask: real tokens never see the pads
    /// after them. The cache does keep the pads of short rows, so a cache extended by a
    /// batched, padded call is for scoring only; do not continue generation from it. A
    /// non-empty cache must have as many rows as `tokens` (see [`KvCache::expand`]). On error
    /// the cache is left as it was.
    pub fn forward(&self, tokens: &Tensor, cache: &mut KvCache, last: &[usize]) -> Result<Tensor> {
        let (b, l) = tokens.dims2()?;
        let past = cache.len;
        self.check_inputs(b, l, past, cache, last)?;
        let mut x = self.embed_tokens(tokens)?;
        let (cos, sin) = self.rope_tables(past, l)?;
        let flash = self.cpu_fused(b, l, past);
        let mask = if l > 1 && !flash {
            Some(candle_transformers::utils::build_additive_causal_mask(
                l,
                past,
                None,
                &self.device,
                self.dtype,
            )?)
        } else {
            None
        };
        let mut kvs = Vec::with_capacity(self.layers.len());
        for (layer, cached) in self.layers.iter().zip(&cache.layers) {
            let attn = Attn {
                cos: &cos,
                sin: &sin,
                past,
                cached: cached.as_ref(),
                mask: mask.as_ref(),
                flash,
            };
            let (y, kv) = layer.forward(&x, &self.dims, &attn)?;
            x = y;
            kvs.push(Some(kv));
        }
        cache.layers = kvs;
        cache.len = past + l;
        self.logits_at(&x, last)
    }

    /// Like [`Decoder::forward`] after a one-row cache shared by every row, for scoring only:
    /// the prefix is read in place by all rows (see `shared_prefix`), and no cache of the
    /// continuation is kept.
    pub fn forward_after_prefix(&self, tokens: &Tensor, prefix: &SharedPrefix, last: &[usize]) -> Result<Tensor> {
        let (b, l) = tokens.dims2()?;
        let past = prefix.len();
        if prefix.layers.len() != self.layers.len() {
            candle_core::bail!("the shared prefix has {} layers, the model {}", prefix.layers.len(), self.layers.len());
        }
        self.check_inputs(b, l, past, &KvCache { layers: vec![None; self.layers.len()], len: past }, last)?;
        let mut x = self.embed_tokens(tokens)?;
        let (cos, sin) = self.rope_tables(past, l)?;
        for (layer, kv) in self.layers.iter().zip(&prefix.layers) {
            let (q, k, v) = layer.qkv(&x, &self.dims, &cos, &sin)?;
            let ctx = shared_prefix::attend(&q, &k, &v, (past > 0).then_some(kv), &self.dims)?;
            x = layer.finish(&x, &ctx, &self.dims)?;
        }
        self.logits_at(&x, last)
    }

    /// Token ids (any integer dtype) -> embeddings in the model dtype, ids checked.
    fn embed_tokens(&self, tokens: &Tensor) -> Result<Tensor> {
        let tokens = tokens.to_device(&self.device)?.to_dtype(DType::U32)?;
        let max_id = tokens.flatten_all()?.max(0)?.to_scalar::<u32>()? as usize;
        if max_id >= self.cfg.vocab_size {
            candle_core::bail!(
                "token id {max_id} is outside the vocabulary of {} (tokenizer and model do not match?)",
                self.cfg.vocab_size
            );
        }
        self.embed.embedding(&tokens)?.to_dtype(self.dtype)
    }

    /// `(batch, vocab)` f32 logits after hidden states `x (b, l, hidden)` at `last[row]`.
    fn logits_at(&self, x: &Tensor, last: &[usize]) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        // Norm and lm_head on the wanted positions only: the vocabulary can be 150k wide.
        let rows: Vec<u32> = last
            .iter()
            .enumerate()
            .map(|(r, &p)| (r * l + p) as u32)
            .collect();
        let rows = Tensor::new(rows.as_slice(), &self.device)?;
        let h = x
            .reshape((b * l, self.cfg.hidden_size))?
            .index_select(&rows, 0)?;
        let h = candle_nn::ops::rms_norm(&h, &self.norm, self.dims.eps)?;
        self.lm_head.forward(&h)?.to_dtype(DType::F32)
    }

    fn check_inputs(
        &self,
        b: usize,
        l: usize,
        past: usize,
        cache: &KvCache,
        last: &[usize],
    ) -> Result<()> {
        if b == 0 || l == 0 {
            candle_core::bail!("forward needs at least one token per row, got shape ({b}, {l})");
        }
        if cache.layers.len() != self.layers.len() {
            candle_core::bail!(
                "KV cache has {} layers, the model {}: it was made by another model",
                cache.layers.len(),
                self.layers.len()
            );
        }
        if let Some(cb) = cache.batch_size() {
            if cb != b {
                candle_core::bail!(
                    "KV cache holds {cb} rows but tokens have {b}; expand the prefix cache first"
                );
            }
        }
        if last.len() != b {
            candle_core::bail!("`last` has {} entries for {b} rows", last.len());
        }
        if let Some((row, &p)) = last.iter().enumerate().find(|(_, &p)| p >= l) {
            candle_core::bail!("last[{row}] = {p} is outside the {l} tokens of the row");
        }
        if past + l > self.context_length() {
            candle_core::bail!(
                "input of {} positions ({past} cached + {l} new) exceeds the model context of {}",
                past + l,
                self.context_length()
            );
        }
        Ok(())
    }

    /// cos/sin for positions `start..start + len`, `(len, head_dim / 2)`.
    fn rope_tables(&self, start: usize, len: usize) -> Result<(Tensor, Tensor)> {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for pos in start..start + len {
            for &f in &self.inv_freq {
                let angle = pos as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let cos = Tensor::from_vec(cos, (len, half), &self.device)?.to_dtype(self.dtype)?;
        let sin = Tensor::from_vec(sin, (len, half), &self.device)?.to_dtype(self.dtype)?;
        Ok((cos, sin))
    }
}

/// What one attention call needs besides its layer's weights.
struct Attn<'a> {
    cos: &'a Tensor,
    sin: &'a Tensor,
    past: usize,
    cached: Option<&'a (Tensor, Tensor)>,
    mask: Option<&'a Tensor>,
    flash: bool,
}

impl Layer {
    /// Normed input -> rope'd queries `(b, l, head, head_dim)` and this call's keys and values
    /// `(b, l, kv_head, head_dim)`.
    fn qkv(&self, x: &Tensor, d: &Dims, cos: &Tensor, sin: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let (b, l, _) = x.dims3()?;
        let h = candle_nn::ops::rms_norm(x, &self.attn_norm, d.eps)?;
        let q = self.q.forward(&h)?.reshape((b, l, d.n_head, d.head_dim))?;
        let k = self.k.forward(&h)?.reshape((b, l, d.n_kv, d.head_dim))?;
        let v = self.v.forward(&h)?.reshape((b, l, d.n_kv, d.head_dim))?;
        let q = match &self.q_norm {
            Some(w) => candle_nn::ops::rms_norm(&q.contiguous()?, w, d.eps)?,
            None => q,
        };
        let k = match &self.k_norm {
            Some(w) => candle_nn::ops::rms_norm(&k.contiguous()?, w, d.eps)?,
            None => k,
        };
        let q = candle_nn::rotary_emb::rope_thd(&q.contiguous()?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope_thd(&k.contiguous()?, cos, sin)?;
        Ok((q, k, v.contiguous()?))
    }

    /// The attention context `(b, l, head * head_dim)` -> output projection, residual, MLP.
    fn finish(&self, x: &Tensor, ctx: &Tensor, d: &Dims) -> Result<Tensor> {
        let x = (x + self.o.forward(ctx)?)?;
        let h = candle_nn::ops::rms_norm(&x, &self.ffn_norm, d.eps)?;
        let gated = (candle_nn::ops::silu(&self.gate.forward(&h)?)? * self.up.forward(&h)?)?;
        x + self.down.forward(&gated)?
    }

    /// Returns the layer output and this layer's keys/values for all positions so far.
    fn forward(&self, x: &Tensor, d: &Dims, a: &Attn) -> Result<(Tensor, (Tensor, Tensor))> {
        let (b, l, _) = x.dims3()?;
        let (q, k, v) = self.qkv(x, d, a.cos, a.sin)?;
        let (k, v) = match a.cached {
            Some((pk, pv)) => (Tensor::cat(&[pk, &k], 1)?, Tensor::cat(&[pv, &v], 1)?),
            None => (k, v),
        };

        let scale = 1.0 / (d.head_dim as f64).sqrt();
        let ctx = if a.flash {
            // Fused CPU kernel: causal with the cache as offset, GQA without copying k/v.
            flash_attn::<f32>(
                &q,
                &k,
                &v,
                scale as f32,
                AttnMask::causal_with_offset(a.past),
                None,
                None,
            )?
        } else {
            let rep = d.n_head / d.n_kv;
            let q = q.transpose(1, 2)?.contiguous()?;
            let kh = candle_transformers::utils::repeat_kv(k.transpose(1, 2)?.contiguous()?, rep)?
                .contiguous()?;
            let vh = candle_transformers::utils::repeat_kv(v.transpose(1, 2)?.contiguous()?, rep)?
                .contiguous()?;
            let att = (q.matmul(&kh.t()?)? * scale)?;
            let att = match a.mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            candle_nn::ops::softmax_last_dim(&att)?.matmul(&vh)?
        };
        // Both paths give (b, head, pos, head_dim).
        let ctx = ctx
            .transpose(1, 2)?
            .reshape((b, l, d.n_head * d.head_dim))?;
        Ok((self.finish(x, &ctx, d)?, (k, v)))
    }
}
