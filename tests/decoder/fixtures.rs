//! Fixtures for tests/decoder.rs: tiny random llama / qwen2 / qwen3 checkpoints written as
//! safetensors and as llama.cpp would convert them to GGUF, candle reference runners, helpers.

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{
    llama, quantized_llama, quantized_qwen2, quantized_qwen3, qwen2, qwen3,
};
use omniscore::nn::decoder::{CpuStorage, Decoder, DecoderConfig, Family, GgufOptions, KvCache};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

pub const VOCAB: usize = 128;
pub const HIDDEN: usize = 64;
pub const INTER: usize = 128;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const MAX_POS: usize = 256;
/// Logit tolerance between two f32 implementations of the same weights.
pub const TOL: f32 = 1e-4;
/// Logit tolerance on the real 4-bit model (longer accumulations, 30 layers).
pub const REAL_TOL: f32 = 1e-3;
/// What 8-bit activation rounding alone does to SmolLM2 Q4_1 logits (measured 0.44 to 0.94).
pub const QUANT_NOISE_TOL: f32 = 1.5;
pub const IDS: [u32; 8] = [3, 17, 42, 99, 5, 64, 120, 7];
pub const SMOLLM2_GGUF: &str = "models/store/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SMOLLM2_IDS: [u32; 6] = [1, 504, 3458, 314, 253, 1345];
/// Llama 3 rope scaling for the tiny model: with head_dim 16 and theta 1e4 it leaves the
/// fastest frequency alone, smooths two and divides the rest, so every branch is exercised.
pub const LLAMA3_SCALING: (f64, f64, f64, usize) = (8.0, 1.0, 4.0, 64);

/// Deterministic uniform numbers in [-1, 1) (splitmix64), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn tensor(&mut self, shape: &[usize], scale: f32, offset: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| offset + scale * self.next()).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Uniform with standard deviation 1/sqrt(fan_in).
    fn matrix(&mut self, out: usize, inp: usize) -> Tensor {
        self.tensor(&[out, inp], (3.0 / inp as f32).sqrt(), 0.0)
    }
}

pub struct Tiny {
    pub family: Family,
    pub json: serde_json::Value,
    pub head_dim: usize,
    /// HF names.
    pub weights: HashMap<String, Tensor>,
}

impl Tiny {
    pub fn cfg(&self) -> DecoderConfig {
        serde_json::from_value(self.json.clone()).unwrap()
    }

    pub fn tied(&self) -> bool {
        self.json["tie_word_embeddings"].as_bool().unwrap()
    }
}

pub fn tiny(family: Family) -> Tiny {
    tiny_with(family, false)
}

/// llama is tied (like SmolLM2), qwen2 has biases and an lm_head, qwen3 has q/k norms and a
/// head_dim that is not hidden / heads.
pub fn tiny_with(family: Family, llama3_scaling: bool) -> Tiny {
    let mut rng = Rng(0x5EED + family as u64);
    let (head_dim, tie, theta, eps) = match family {
        Family::Llama => (16, true, 10_000.0, 1e-5),
        Family::Qwen2 => (16, false, 1_000_000.0, 1e-6),
        Family::Qwen3 => (32, false, 1_000_000.0, 1e-6),
    };
    let (arch, model_type) = match family {
        Family::Llama => ("LlamaForCausalLM", "llama"),
        Family::Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
        Family::Qwen3 => ("Qwen3ForCausalLM", "qwen3"),
    };
    // Extra keys on purpose: real config.json files carry many we ignore.
    let mut json = serde_json::json!({
        "architectures": [arch], "model_type": model_type, "vocab_size": VOCAB,
        "hidden_size": HIDDEN, "intermediate_size": INTER, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "rms_norm_eps": eps,
        "rope_theta": theta, "max_position_embeddings": MAX_POS, "tie_word_embeddings": tie,
        "hidden_act": "silu", "attention_bias": false, "bos_token_id": 1,
        "torch_dtype": "bfloat16", "rope_scaling": null, "sliding_window": MAX_POS,
        "max_window_layers": LAYERS, "use_sliding_window": false, "use_cache": true,
    });
    if family == Family::Qwen3 {
        json["head_dim"] = head_dim.into();
    }
    if llama3_scaling {
        let (factor, low, high, orig) = LLAMA3_SCALING;
        json["rope_scaling"] = serde_json::json!({
            "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
            "original_max_position_embeddings": orig, "rope_type": "llama3",
        });
    }
    let mut w = HashMap::new();
    let mut put = |name: String, t: Tensor| {
        w.insert(name, t);
    };
    put(
        "model.embed_tokens.weight".into(),
        rng.tensor(&[VOCAB, HIDDEN], 1.0, 0.0),
    );
    put("model.norm.weight".into(), rng.tensor(&[HIDDEN], 0.2, 1.0));
    if !tie {
        put("lm_head.weight".into(), rng.matrix(VOCAB, HIDDEN));
    }
    let (q_dim, kv_dim) = (HEADS * head_dim, KV_HEADS * head_dim);
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        put(
            format!("{p}.self_attn.q_proj.weight"),
            rng.matrix(q_dim, HIDDEN),
        );
        put(
            format!("{p}.self_attn.k_proj.weight"),
            rng.matrix(kv_dim, HIDDEN),
        );
        put(
            format!("{p}.self_attn.v_proj.weight"),
            rng.matrix(kv_dim, HIDDEN),
        );
        put(
            format!("{p}.self_attn.o_proj.weight"),
            rng.matrix(HIDDEN, q_dim),
        );
        if family == Family::Qwen2 {
            put(
                format!("{p}.self_attn.q_proj.bias"),
                rng.tensor(&[q_dim], 0.3, 0.0),
            );
            put(
                format!("{p}.self_attn.k_proj.bias"),
                rng.tensor(&[kv_dim], 0.3, 0.0),
            );
            put(
                format!("{p}.self_attn.v_proj.bias"),
                rng.tensor(&[kv_dim], 0.3, 0.0),
            );
        }
        if family == Family::Qwen3 {
            put(
                format!("{p}.self_attn.q_norm.weight"),
                rng.tensor(&[head_dim], 0.2, 1.0),
            );
            put(
                format!("{p}.self_attn.k_norm.weight"),
                rng.tensor(&[head_dim], 0.2, 1.0),
            );
        }
        put(
            format!("{p}.mlp.gate_proj.weight"),
            rng.matrix(INTER, HIDDEN),
        );
        put(format!("{p}.mlp.up_proj.weight"), rng.matrix(INTER, HIDDEN));
        put(
            format!("{p}.mlp.down_proj.weight"),
            rng.matrix(HIDDEN, INTER),
        );
        put(
            format!("{p}.input_layernorm.weight"),
            rng.tensor(&[HIDDEN], 0.2, 1.0),
        );
        put(
            format!("{p}.post_attention_layernorm.weight"),
            rng.tensor(&[HIDDEN], 0.2, 1.0),
        );
    }
    Tiny {
        family,
        json,
        head_dim,
        weights: w,
    }
}

pub fn write_safetensors(t: &Tiny, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{}.safetensors", t.family));
    candle_core::safetensors::save(&t.weights, &path).unwrap();
    path
}

pub fn mmap(path: &Path) -> VarBuilder<'static> {
    // SAFETY: the file is written by this test and not modified while mapped.
    unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu).unwrap() }
}

pub fn ours_safetensors(t: &Tiny, path: &Path) -> Decoder {
    let cfg = t.cfg();
    Decoder::new(&cfg, cfg.family().unwrap(), mmap(path)).unwrap()
}

/// What llama.cpp's converter does to llama q/k rows (and biases) for its interleaved rope.
pub fn llama_cpp_permute(t: &Tensor, n_head: usize) -> Tensor {
    let dims = t.dims().to_vec();
    let rows = dims[0];
    let mut split = vec![n_head, 2, rows / n_head / 2];
    split.extend_from_slice(&dims[1..]);
    t.reshape(split)
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .reshape(dims)
        .unwrap()
}

/// Per-frequency divisors llama.cpp stores as `rope_freqs.weight` for llama 3 scaling
/// (written from convert_hf_to_gguf.py, independently of the decoder's formula).
pub fn llama3_rope_factors(head_dim: usize, theta: f64) -> Tensor {
    let (factor, low, high, orig) = LLAMA3_SCALING;
    let (low_wavelen, high_wavelen) = (orig as f64 / low, orig as f64 / high);
    let v: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| {
            let freq = 1.0 / theta.powf(i as f64 / head_dim as f64);
            let wavelen = 2.0 * std::f64::consts::PI / freq;
            let f = if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor
            } else {
                let smooth = (orig as f64 / wavelen - low) / (high - low);
                1.0 / ((1.0 - smooth) / factor + smooth)
            };
            f as f32
        })
        .collect();
    Tensor::new(v, &Device::Cpu).unwrap()
}

#[derive(Default)]
pub struct GgufOpts<'a> {
    pub drop_tensor: Option<&'a str>,
    pub drop_key: Option<&'a str>,
    pub arch: Option<&'a str>,
    /// Store matrices as f32 after a round trip through `qtype` (the exact dequantized weights).
    pub round_trip: bool,
}

/// The tiny model as llama.cpp would convert it: its names, its metadata, its q/k permutation.
pub fn gguf_bytes(t: &Tiny, qtype: GgmlDType, opts: &GgufOpts) -> Vec<u8> {
    use gguf_file::Value as V;
    let arch = opts.arch.unwrap_or(t.family.name());
    let j = &t.json;
    let u = |k: &str| V::U32(j[k].as_u64().unwrap() as u32);
    let mut md: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String(arch.into())),
        // quantized_qwen3 builds its rope tables in f16 unless told the model is f32.
        ("general.dtype".into(), V::U32(0)),
        (
            format!("{arch}.context_length"),
            u("max_position_embeddings"),
        ),
        (format!("{arch}.embedding_length"), u("hidden_size")),
        (format!("{arch}.block_count"), u("num_hidden_layers")),
        (
            format!("{arch}.feed_forward_length"),
            u("intermediate_size"),
        ),
        (
            format!("{arch}.attention.head_count"),
            u("num_attention_heads"),
        ),
        (
            format!("{arch}.attention.head_count_kv"),
            u("num_key_value_heads"),
        ),
        (
            format!("{arch}.attention.key_length"),
            V::U32(t.head_dim as u32),
        ),
        (
            format!("{arch}.attention.value_length"),
            V::U32(t.head_dim as u32),
        ),
        (
            format!("{arch}.rope.dimension_count"),
            V::U32(t.head_dim as u32),
        ),
        (
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            V::F32(j["rms_norm_eps"].as_f64().unwrap() as f32),
        ),
        (
            format!("{arch}.rope.freq_base"),
            V::F32(j["rope_theta"].as_f64().unwrap() as f32),
        ),
    ];
    md.retain(|(k, _)| Some(k.as_str()) != opts.drop_key);

    let w = |n: &str| t.weights[n].clone();
    let mut ts: Vec<(String, Tensor)> = vec![
        ("token_embd.weight".into(), w("model.embed_tokens.weight")),
        ("output_norm.weight".into(), w("model.norm.weight")),
    ];
    if !t.tied() {
        ts.push(("output.weight".into(), w("lm_head.weight")));
    }
    if !j["rope_scaling"].is_null() {
        let theta = j["rope_theta"].as_f64().unwrap();
        ts.push((
            "rope_freqs.weight".into(),
            llama3_rope_factors(t.head_dim, theta),
        ));
    }
    let permute = |x: Tensor, heads: usize| {
        if t.family == Family::Llama {
            llama_cpp_permute(&x, heads)
        } else {
            x
        }
    };
    for l in 0..LAYERS {
        let (hf, gg) = (format!("model.layers.{l}"), format!("blk.{l}"));
        let hw = |s: &str| w(&format!("{hf}.{s}"));
        ts.push((
            format!("{gg}.attn_q.weight"),
            permute(hw("self_attn.q_proj.weight"), HEADS),
        ));
        ts.push((
            format!("{gg}.attn_k.weight"),
            permute(hw("self_attn.k_proj.weight"), KV_HEADS),
        ));
        ts.push((format!("{gg}.attn_v.weight"), hw("self_attn.v_proj.weight")));
        ts.push((
            format!("{gg}.attn_output.weight"),
            hw("self_attn.o_proj.weight"),
        ));
        if t.family == Family::Qwen2 {
            ts.push((format!("{gg}.attn_q.bias"), hw("self_attn.q_proj.bias")));
            ts.push((format!("{gg}.attn_k.bias"), hw("self_attn.k_proj.bias")));
            ts.push((format!("{gg}.attn_v.bias"), hw("self_attn.v_proj.bias")));
        }
        if t.family == Family::Qwen3 {
            ts.push((
                format!("{gg}.attn_q_norm.weight"),
                hw("self_attn.q_norm.weight"),
            ));
            ts.push((
                format!("{gg}.attn_k_norm.weight"),
                hw("self_attn.k_norm.weight"),
            ));
        }
        ts.push((format!("{gg}.ffn_gate.weight"), hw("mlp.gate_proj.weight")));
        ts.push((format!("{gg}.ffn_up.weight"), hw("mlp.up_proj.weight")));
        ts.push((format!("{gg}.ffn_down.weight"), hw("mlp.down_proj.weight")));
        ts.push((
            format!("{gg}.attn_norm.weight"),
            hw("input_layernorm.weight"),
        ));
        ts.push((
            format!("{gg}.ffn_norm.weight"),
            hw("post_attention_layernorm.weight"),
        ));
    }
    ts.retain(|(n, _)| Some(n.as_str()) != opts.drop_tensor);
    let qts: Vec<(String, QTensor)> = ts
        .into_iter()
        .map(|(n, x)| {
            let dtype = if x.rank() == 2 { qtype } else { GgmlDType::F32 };
            let q = QTensor::quantize(&x, dtype).unwrap();
            if opts.round_trip {
                let deq = q.dequantize(&Device::Cpu).unwrap();
                (n, QTensor::quantize(&deq, GgmlDType::F32).unwrap())
            } else {
                (n, q)
            }
        })
        .collect();

    let md_refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = qts.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md_refs, &t_refs).unwrap();
    out.into_inner()
}

pub fn content(bytes: &[u8]) -> gguf_file::Content {
    gguf_file::Content::read(&mut Cursor::new(bytes)).unwrap()
}

pub fn try_ours_gguf(bytes: &[u8]) -> candle_core::Result<Decoder> {
    let ct = gguf_file::Content::read(&mut Cursor::new(bytes))?;
    Decoder::from_gguf(&ct, &mut Cursor::new(bytes), &Device::Cpu)
}

/// Keeps every matrix quantized as stored, as candle's quantized references do.
pub fn ours_gguf_quantized(bytes: &[u8]) -> Decoder {
    ours_gguf_with(bytes, CpuStorage::AsStored)
}

/// Every matrix dequantized to f32.
pub fn ours_gguf_dense(bytes: &[u8]) -> Decoder {
    ours_gguf_with(bytes, CpuStorage::Dense)
}

fn ours_gguf_with(bytes: &[u8], cpu_storage: CpuStorage) -> Decoder {
    let options = GgufOptions {
        cpu_storage,
        ..Default::default()
    };
    Decoder::from_gguf_with(
        &content(bytes),
        &mut Cursor::new(bytes),
        &Device::Cpu,
        options,
    )
    .unwrap()
}

pub fn ours_gguf(bytes: &[u8]) -> Decoder {
    try_ours_gguf(bytes).unwrap()
}

pub fn ids(v: &[u32]) -> Tensor {
    Tensor::new(v, &Device::Cpu).unwrap().unsqueeze(0).unwrap()
}

pub fn flat(t: Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

pub fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let scale = a.iter().map(|x| x.abs()).fold(0f32, f32::max);
    eprintln!("{what}: max |diff| {diff:e} (max |logit| {scale:.2})");
    assert!(
        diff <= tol,
        "{what}: max |diff| {diff:e} > {tol:e} (max |logit| {scale})"
    );
    // A comparison of near-zero logits would prove nothing.
    assert!(
        scale > 0.5,
        "{what}: logits are degenerate (max |logit| {scale})"
    );
}

/// Logits after IDS[..7] (prefill) and after IDS[7] (one cached step).
pub fn ours_two_steps(dec: &Decoder) -> (Vec<f32>, Vec<f32>) {
    let mut cache = dec.new_cache();
    let a = dec.forward(&ids(&IDS[..7]), &mut cache, &[6]).unwrap();
    let b = dec.forward(&ids(&IDS[7..]), &mut cache, &[0]).unwrap();
    assert_eq!(cache.len(), IDS.len());
    (flat(a), flat(b))
}

pub fn reference_two_steps(mut f: impl FnMut(&Tensor, usize) -> Tensor) -> (Vec<f32>, Vec<f32>) {
    (flat(f(&ids(&IDS[..7]), 0)), flat(f(&ids(&IDS[7..]), 7)))
}

pub fn assert_golden(ours: (Vec<f32>, Vec<f32>), reference: (Vec<f32>, Vec<f32>), what: &str) {
    assert_close(&ours.0, &reference.0, TOL, &format!("{what}, prefill"));
    assert_close(&ours.1, &reference.1, TOL, &format!("{what}, cached step"));
}

pub fn reference_safetensors(t: &Tiny, path: &Path) -> (Vec<f32>, Vec<f32>) {
    let json = t.json.to_string();
    match t.family {
        Family::Llama => {
            let cfg = serde_json::from_str::<llama::LlamaConfig>(&json)
                .unwrap()
                .into_config(false);
            let model = llama::Llama::load(mmap(path), &cfg).unwrap();
            let mut cache = llama::Cache::new(true, DType::F32, &cfg, &Device::Cpu).unwrap();
            reference_two_steps(|x, pos| model.forward(x, pos, &mut cache).unwrap())
        }
        Family::Qwen2 => {
            let cfg: qwen2::Config = serde_json::from_str(&json).unwrap();
            let mut model = qwen2::ModelForCausalLM::new(&cfg, mmap(path)).unwrap();
            reference_two_steps(|x, pos| model.forward(x, pos).unwrap())
        }
        Family::Qwen3 => {
            let cfg: qwen3::Config = serde_json::from_str(&json).unwrap();
            let mut model = qwen3::ModelForCausalLM::new(&cfg, mmap(path)).unwrap();
            reference_two_steps(|x, pos| model.forward(x, pos).unwrap())
        }
    }
}

pub fn reference_gguf(family: Family, bytes: &[u8]) -> (Vec<f32>, Vec<f32>) {
    let dev = Device::Cpu;
    let mut r = Cursor::new(bytes);
    match family {
        Family::Llama => {
            let mut m =
                quantized_llama::ModelWeights::from_gguf(content(bytes), &mut r, &dev).unwrap();
            reference_two_steps(|x, pos| m.forward(x, pos).unwrap())
        }
        Family::Qwen2 => {
            let mut m =
                quantized_qwen2::ModelWeights::from_gguf(content(bytes), &mut r, &dev).unwrap();
            reference_two_steps(|x, pos| m.forward(x, pos).unwrap())
        }
        Family::Qwen3 => {
            let mut m =
                quantized_qwen3::ModelWeights::from_gguf(content(bytes), &mut r, &dev).unwrap();
            reference_two_steps(|x, pos| m.forward(x, pos).unwrap())
        }
    }
}

/// One tiny decoder per family and format the scoring paths must hold for.
pub fn decoders() -> Vec<(String, Decoder)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for family in Family::ALL {
        let t = tiny(family);
        out.push((
            format!("{family} safetensors"),
            ours_safetensors(&t, &write_safetensors(&t, dir.path())),
        ));
    }
    let bytes = gguf_bytes(&tiny(Family::Llama), GgmlDType::Q8_0, &Default::default());
    out.push(("llama Q8_0 GGUF".into(), ours_gguf(&bytes)));
    out.push((
        "llama Q8_0 GGUF kept quantized".into(),
        ours_gguf_quantized(&bytes),
    ));
    out
}

pub fn run(dec: &Decoder, cache: &mut KvCache, toks: &[u32]) -> Vec<f32> {
    flat(dec.forward(&ids(toks), cache, &[toks.len() - 1]).unwrap())
}

/// Right-pads rows with id 0 into one `(rows, max_len)` tensor.
pub fn padded(rows: &[&[u32]]) -> (Tensor, Vec<usize>) {
    let width = rows.iter().map(|r| r.len()).max().unwrap();
    let mut v = Vec::new();
    for r in rows {
        v.extend_from_slice(r);
        v.extend(std::iter::repeat(0).take(width - r.len()));
    }
    let t = Tensor::from_vec(v, (rows.len(), width), &Device::Cpu).unwrap();
    (t, rows.iter().map(|r| r.len() - 1).collect())
}

pub fn gguf_error(opts: &GgufOpts) -> String {
    let bytes = gguf_bytes(&tiny(Family::Llama), GgmlDType::Q8_0, opts);
    format!("{:#}", try_ours_gguf(&bytes).unwrap_err())
}

pub fn smollm2_path() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(SMOLLM2_GGUF);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipped: {} not found (the install step fetches the default judge)",
            p.display()
        );
        None
    }
}

/// The same GGUF with every tensor dequantized to f32: candle's references then compute with
/// exact weights and f32 activations, as our CPU-dequantized path does.
pub fn dequantized_copy(bytes: &[u8]) -> Vec<u8> {
    let ct = content(bytes);
    let mut r = Cursor::new(bytes);
    let tensors: Vec<(String, QTensor)> = ct
        .tensor_infos
        .keys()
        .map(|name| {
            let q = ct.tensor(&mut r, name, &Device::Cpu).unwrap();
            let f = q.dequantize(&Device::Cpu).unwrap();
            (name.clone(), QTensor::quantize(&f, GgmlDType::F32).unwrap())
        })
        .collect();
    let md: Vec<(&str, &gguf_file::Value)> =
        ct.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).unwrap();
    out.into_inner()
}

/// Logits of candle's quantized_llama: after SMOLLM2_IDS minus one (prefill), and after all.
pub fn smollm2_reference(bytes: &[u8]) -> (Vec<f32>, Vec<f32>) {
    let mut m = quantized_llama::ModelWeights::from_gguf(
        content(bytes),
        &mut Cursor::new(bytes),
        &Device::Cpu,
    )
    .unwrap();
    let n = SMOLLM2_IDS.len();
    let prefill = flat(m.forward(&ids(&SMOLLM2_IDS[..n - 1]), 0).unwrap());
    (
        prefill,
        flat(m.forward(&ids(&SMOLLM2_IDS[n - 1..]), n - 1).unwrap()),
    )
}

pub fn smollm2_check(dec: &Decoder, reference: &(Vec<f32>, Vec<f32>), how: &str) -> Vec<f32> {
    let n = SMOLLM2_IDS.len();
    let mut cache = dec.new_cache();
    let prefill = run(dec, &mut cache, &SMOLLM2_IDS[..n - 1]);
    let step = run(dec, &mut cache, &SMOLLM2_IDS[n - 1..]);
    assert_close(
        &prefill,
        &reference.0,
        REAL_TOL,
        &format!("SmolLM2 {how}: prefill"),
    );
    assert_close(
        &step,
        &reference.1,
        REAL_TOL,
        &format!("SmolLM2 {how}: cached step"),
    );
    let one_pass = run(dec, &mut dec.new_cache(), &SMOLLM2_IDS);
    assert_close(
        &one_pass,
        &reference.1,
        REAL_TOL,
        &format!("SmolLM2 {how}: one pass"),
    );
    one_pass
}
