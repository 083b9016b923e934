//! `DecoderConfig` (HF `config.json` or GGUF metadata), `Family` and the rope frequencies.

use std::fmt;

use candle_core::quantized::gguf_file;
use candle_core::{Error, Result};
use serde::Deserialize;

/// HF's default when `rope_theta` is absent, and llama.cpp's when `rope.freq_base` is.
const DEFAULT_ROPE_THETA: f64 = 10_000.0;
/// The only activation these families use in their MLP.
const SUPPORTED_ACT: &str = "silu";
/// GGUF tensor that llama.cpp uses for per-frequency rope divisors (llama 3.x scaling).
pub(super) const GGUF_ROPE_FREQS: &str = "rope_freqs.weight";

/// Which of the supported architectures a checkpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// llama 2/3, SmolLM, TinyLlama and other `LlamaForCausalLM` checkpoints.
    Llama,
    /// Qwen2 / Qwen2.5: bias on q, k and v.
    Qwen2,
    /// Qwen3 (dense): per-head RMSNorm on q and k, explicit `head_dim`.
    Qwen3,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Llama, Family::Qwen2, Family::Qwen3];

    /// The HF `model_type`, which is also the GGUF `general.architecture`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
            Family::Qwen3 => "qwen3",
        }
    }

    /// From an HF `model_type` or a GGUF `general.architecture`.
    pub fn from_model_type(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// From an entry of HF `architectures`, e.g. `Qwen2ForCausalLM`.
    pub fn from_architecture(s: &str) -> Option<Self> {
        match s {
            "LlamaForCausalLM" => Some(Family::Llama),
            "Qwen2ForCausalLM" => Some(Family::Qwen2),
            "Qwen3ForCausalLM" => Some(Family::Qwen3),
            _ => None,
        }
    }

    fn supported_list() -> String {
        Self::ALL.map(|f| f.name()).join(", ")
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `rope_scaling` of an HF config. Some configs spell the kind `type`, some `rope_type`, some
/// both, so both are kept rather than aliased (an alias rejects a config carrying both).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RopeScaling {
    #[serde(default)]
    pub rope_type: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    #[serde(default)]
    pub original_max_position_embeddings: Option<usize>,
}

impl RopeScaling {
    fn kind(&self) -> &str {
        self.rope_type
            .as_deref()
            .or(self.kind.as_deref())
            .unwrap_or("default")
    }
}

/// Mirrors the fields of an HF `config.json` that these families use; unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DecoderConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Absent means multi-head attention (as many kv heads as query heads).
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Absent means `hidden_size / num_attention_heads` (qwen3 sets it explicitly).
    #[serde(default)]
    pub head_dim: Option<usize>,
    pub rms_norm_eps: f64,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    pub max_position_embeddings: usize,
    /// When true, or when the checkpoint has no `lm_head`, the output projection is the
    /// token embedding.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// llama / qwen3: bias on q, k, v and o. qwen2 always has q/k/v biases and none on o.
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default)]
    pub hidden_act: Option<String>,
    #[serde(default)]
    pub use_sliding_window: bool,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
}

fn default_rope_theta() -> f64 {
    DEFAULT_ROPE_THETA
}

impl DecoderConfig {
    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The family named by `model_type`, else by the first known `architectures` entry.
    pub fn family(&self) -> Result<Family> {
        if let Some(mt) = &self.model_type {
            return Family::from_model_type(mt).ok_or_else(|| {
                Error::msg(format!(
                    "unsupported model_type `{mt}` (supported: {})",
                    Family::supported_list()
                ))
            });
        }
        let archs = self.architectures.as_deref().unwrap_or_default();
        archs
            .iter()
            .find_map(|a| Family::from_architecture(a))
            .ok_or_else(|| {
                Error::msg(format!(
                    "config names no supported family (model_type absent, architectures {archs:?}; \
                     supported: {})",
                    Family::supported_list()
                ))
            })
    }

    pub(super) fn qkv_bias(&self, family: Family) -> bool {
        family == Family::Qwen2 || self.attention_bias
    }

    pub(super) fn o_bias(&self, family: Family) -> bool {
        family != Family::Qwen2 && self.attention_bias
    }

    /// Rejects what this implementation would silently compute wrong.
    pub fn validate(&self) -> Result<()> {
        let (nh, nkv, hd) = (
            self.num_attention_heads,
            self.num_kv_heads(),
            self.head_dim(),
        );
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", nh),
            ("num_key_value_heads", nkv),
            ("head_dim", hd),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            candle_core::bail!("model config: {name} must be positive");
        }
        if nh % nkv != 0 {
            candle_core::bail!(
                "model config: {nh} attention heads are not a multiple of {nkv} key/value heads"
            );
        }
        if hd % 2 != 0 {
            candle_core::bail!("model config: head_dim {hd} must be even for rotary embeddings");
        }
        if let Some(act) = &self.hidden_act {
            if act != SUPPORTED_ACT {
                candle_core::bail!("model config: hidden_act `{act}` is not supported (only silu)");
            }
        }
        if self.use_sliding_window {
            candle_core::bail!("model config: sliding-window attention is not supported");
        }
        if self.mlp_bias {
            candle_core::bail!("model config: mlp_bias is not supported");
        }
        rope_inv_freq(self).map(|_| ())
    }

    /// Fills the config from the `<arch>.*` metadata of a llama.cpp GGUF file.
    pub fn from_gguf(ct: &gguf_file::Content) -> Result<Self> {
        let arch = match ct.metadata.get("general.architecture") {
            Some(v) => v.to_string()?.clone(),
            None => candle_core::bail!("GGUF metadata has no `general.architecture`"),
        };
        let family = Family::from_model_type(&arch).ok_or_else(|| {
            Error::msg(format!(
                "unsupported GGUF architecture `{arch}` (supported: {})",
                Family::supported_list()
            ))
        })?;
        let md = |k: &str| ct.metadata.get(&format!("{arch}.{k}"));
        let missing = |k: &str| Error::msg(format!("GGUF metadata key `{arch}.{k}` is missing"));
        let opt_usize = |k: &str| -> Result<Option<usize>> {
            md(k)
                .map(|v| gguf_usize(v, &format!("{arch}.{k}")))
                .transpose()
        };
        let req_usize = |k: &str| opt_usize(k)?.ok_or_else(|| missing(k));
        let opt_f64 = |k: &str| -> Result<Option<f64>> {
            md(k)
                .map(|v| gguf_f64(v, &format!("{arch}.{k}")))
                .transpose()
        };
        let tensor_rows = |name: &str| ct.tensor_infos.get(name).map(|t| t.shape.dims()[0]);

        let hidden_size = req_usize("embedding_length")?;
        let num_attention_heads = req_usize("attention.head_count")?;
        let head_dim = opt_usize("attention.key_length")?;
        let resolved_head_dim = head_dim.unwrap_or(hidden_size / num_attention_heads.max(1));
        if let Some(rope_dim) = opt_usize("rope.dimension_count")? {
            if rope_dim != resolved_head_dim {
                candle_core::bail!(
                    "GGUF `{arch}.rope.dimension_count` is {rope_dim} but head_dim is \
                     {resolved_head_dim}: partial rotary embeddings are not supported"
                );
            }
        }
        let intermediate_size = match opt_usize("feed_forward_length")? {
            Some(v) => v,
            None => tensor_rows("blk.0.ffn_gate.weight")
                .ok_or_else(|| missing("feed_forward_length"))?,
        };
        let vocab_size = match opt_usize("vocab_size")? {
            Some(v) => v,
            None => tensor_rows("token_embd.weight").ok_or_else(|| {
                Error::msg(format!(
                    "GGUF tensor `token_embd.weight` is missing ({arch})"
                ))
            })?,
        };
        let rope_scaling = match md("rope.scaling.type") {
            None => None,
            Some(v) => match v.to_string()?.as_str() {
                "none" => None,
                kind => Some(RopeScaling {
                    rope_type: Some(kind.to_string()),
                    kind: None,
                    factor: opt_f64("rope.scaling.factor")?,
                    low_freq_factor: None,
                    high_freq_factor: None,
                    original_max_position_embeddings: opt_usize(
                        "rope.scaling.original_context_length",
                    )?,
                }),
            },
        };
        let cfg = Self {
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers: req_usize("block_count")?,
            num_attention_heads,
            num_key_value_heads: opt_usize("attention.head_count_kv")?,
            head_dim,
            rms_norm_eps: opt_f64("attention.layer_norm_rms_epsilon")?
                .ok_or_else(|| missing("attention.layer_norm_rms_epsilon"))?,
            rope_theta: opt_f64("rope.freq_base")?.unwrap_or(DEFAULT_ROPE_THETA),
            rope_scaling,
            max_position_embeddings: req_usize("context_length")?,
            tie_word_embeddings: !ct.tensor_infos.contains_key("output.weight"),
            attention_bias: family == Family::Qwen2
                || ct.tensor_infos.contains_key("blk.0.attn_q.bias"),
            mlp_bias: false,
            hidden_act: None,
            use_sliding_window: false,
            model_type: Some(arch),
            architectures: None,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

fn gguf_usize(v: &gguf_file::Value, key: &str) -> Result<usize> {
    use gguf_file::Value as V;
    let n: Option<u64> = match v {
        V::U8(x) => Some(*x as u64),
        V::U16(x) => Some(*x as u64),
        V::U32(x) => Some(*x as u64),
        V::U64(x) => Some(*x),
        V::I8(x) => u64::try_from(*x).ok(),
        V::I16(x) => u64::try_from(*x).ok(),
        V::I32(x) => u64::try_from(*x).ok(),
        V::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    };
    n.and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
        Error::msg(format!(
            "GGUF metadata `{key}` should be a non-negative integer, found {v:?}"
        ))
    })
}

fn gguf_f64(v: &gguf_file::Value, key: &str) -> Result<f64> {
    match v {
        gguf_file::Value::F32(x) => Ok(*x as f64),
        gguf_file::Value::F64(x) => Ok(*x),
        _ => candle_core::bail!("GGUF metadata `{key}` should be a float, found {v:?}"),
    }
}

/// Rotary inverse frequencies, one per pair of head dimensions. Computed like candle's
/// references (f64 power, f32 result) so positions times frequencies match them bit for bit.
pub(super) fn rope_inv_freq(cfg: &DecoderConfig) -> Result<Vec<f32>> {
    let dim = cfg.head_dim();
    let base: Vec<f32> = (0..dim)
        .step_by(2)
        .map(|i| 1f32 / cfg.rope_theta.powf(i as f64 / dim as f64) as f32)
        .collect();
    let Some(scaling) = &cfg.rope_scaling else {
        return Ok(base);
    };
    let need = |v: Option<f64>, name: &str| {
        v.ok_or_else(|| Error::msg(format!("rope_scaling `{}` needs `{name}`", scaling.kind())))
    };
    match scaling.kind() {
        "default" => Ok(base),
        "linear" => {
            let factor = need(scaling.factor, "factor")? as f32;
            Ok(base.into_iter().map(|f| f / factor).collect())
        }
        "llama3" => {
            // As in HF `_compute_llama3_parameters` and candle's llama.rs.
            let factor = need(scaling.factor, "factor")? as f32;
            let low = need(scaling.low_freq_factor, "low_freq_factor")? as f32;
            let high = need(scaling.high_freq_factor, "high_freq_factor")? as f32;
            let orig = need(
                scaling.original_max_position_embeddings.map(|v| v as f64),
                "original_max_position_embeddings",
            )? as f32;
            let (low_wavelen, high_wavelen) = (orig / low, orig / high);
            Ok(base
                .into_iter()
                .map(|freq| {
                    let wavelen = 2. * std::f32::consts::PI / freq;
                    if wavelen < high_wavelen {
                        freq
                    } else if wavelen > low_wavelen {
                        freq / factor
                    } else {
                        let smooth = (orig / wavelen - low) / (high - low);
                        (1. - smooth) * freq / factor + smooth * freq
                    }
                })
                .collect())
        }
        other => candle_core::bail!(
            "rope_scaling type `{other}` is not supported (supported: default, linear, llama3)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_round_trip() {
        for f in Family::ALL {
            assert_eq!(Family::from_model_type(f.name()), Some(f));
        }
        assert_eq!(
            Family::from_architecture("Qwen2ForCausalLM"),
            Some(Family::Qwen2)
        );
        assert_eq!(Family::from_model_type("gpt2"), None);
    }
}
