//! Where the decoder's weights come from: HF safetensors names or llama.cpp GGUF names.

use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, gguf_file, QMatMul, QTensor};
use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::storage::{Matrix, StoragePlanner, LAYER_PROBE_ROWS, VOCAB_PROBE_ROWS};

/// The weights a decoder needs, named independently of the checkpoint format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Embed,
    FinalNorm,
    LmHead,
    Q,
    K,
    V,
    O,
    QBias,
    KBias,
    VBias,
    OBias,
    QNorm,
    KNorm,
    Gate,
    Up,
    Down,
    AttnNorm,
    FfnNorm,
}

impl Part {
    pub(super) fn hf_name(self, layer: usize) -> String {
        let p = format!("model.layers.{layer}");
        match self {
            Part::Embed => "model.embed_tokens.weight".into(),
            Part::FinalNorm => "model.norm.weight".into(),
            Part::LmHead => "lm_head.weight".into(),
            Part::Q => format!("{p}.self_attn.q_proj.weight"),
            Part::K => format!("{p}.self_attn.k_proj.weight"),
            Part::V => format!("{p}.self_attn.v_proj.weight"),
            Part::O => format!("{p}.self_attn.o_proj.weight"),
            Part::QBias => format!("{p}.self_attn.q_proj.bias"),
            Part::KBias => format!("{p}.self_attn.k_proj.bias"),
            Part::VBias => format!("{p}.self_attn.v_proj.bias"),
            Part::OBias => format!("{p}.self_attn.o_proj.bias"),
            Part::QNorm => format!("{p}.self_attn.q_norm.weight"),
            Part::KNorm => format!("{p}.self_attn.k_norm.weight"),
            Part::Gate => format!("{p}.mlp.gate_proj.weight"),
            Part::Up => format!("{p}.mlp.up_proj.weight"),
            Part::Down => format!("{p}.mlp.down_proj.weight"),
            Part::AttnNorm => format!("{p}.input_layernorm.weight"),
            Part::FfnNorm => format!("{p}.post_attention_layernorm.weight"),
        }
    }

    pub(super) fn gguf_name(self, layer: usize) -> String {
        let p = format!("blk.{layer}");
        match self {
            Part::Embed => "token_embd.weight".into(),
            Part::FinalNorm => "output_norm.weight".into(),
            Part::LmHead => "output.weight".into(),
            Part::Q => format!("{p}.attn_q.weight"),
            Part::K => format!("{p}.attn_k.weight"),
            Part::V => format!("{p}.attn_v.weight"),
            Part::O => format!("{p}.attn_output.weight"),
            Part::QBias => format!("{p}.attn_q.bias"),
            Part::KBias => format!("{p}.attn_k.bias"),
            Part::VBias => format!("{p}.attn_v.bias"),
            Part::OBias => format!("{p}.attn_output.bias"),
            Part::QNorm => format!("{p}.attn_q_norm.weight"),
            Part::KNorm => format!("{p}.attn_k_norm.weight"),
            Part::Gate => format!("{p}.ffn_gate.weight"),
            Part::Up => format!("{p}.ffn_up.weight"),
            Part::Down => format!("{p}.ffn_down.weight"),
            Part::AttnNorm => format!("{p}.attn_norm.weight"),
            Part::FfnNorm => format!("{p}.ffn_norm.weight"),
        }
    }
}

/// A checkpoint format: hands out projections and vectors by `Part`.
pub(super) trait WeightSource {
    fn matmul(
        &mut self,
        part: Part,
        layer: usize,
        out_dim: usize,
        in_dim: usize,
    ) -> Result<Matrix>;
    fn vector(&mut self, part: Part, layer: usize, len: usize) -> Result<Tensor>;
    fn has(&self, part: Part, layer: usize) -> bool;
}

pub(super) struct HfWeights<'a> {
    pub(super) vb: VarBuilder<'a>,
}

impl WeightSource for HfWeights<'_> {
    fn matmul(
        &mut self,
        part: Part,
        layer: usize,
        out_dim: usize,
        in_dim: usize,
    ) -> Result<Matrix> {
        Ok(Matrix::plain(QMatMul::Tensor(
            self.vb.get((out_dim, in_dim), &part.hf_name(layer))?,
        )))
    }

    fn vector(&mut self, part: Part, layer: usize, len: usize) -> Result<Tensor> {
        self.vb.get(len, &part.hf_name(layer))
    }

    fn has(&self, part: Part, layer: usize) -> bool {
        self.vb.contains_tensor(&part.hf_name(layer))
    }
}

pub(super) struct GgufWeights<'a, R> {
    pub(super) ct: &'a gguf_file::Content,
    pub(super) reader: &'a mut R,
    pub(super) device: &'a Device,
    pub(super) arch: &'static str,
    /// llama files: (query heads, kv heads) whose q/k rows llama.cpp permuted.
    pub(super) permuted_heads: Option<(usize, usize)>,
    /// On CPU: picks quantized or dense f32 per matrix shape by timing both.
    pub(super) planner: Option<StoragePlanner>,
}

impl<R: Read + Seek> GgufWeights<'_, R> {
    pub(super) fn read(&mut self, name: &str, dims: &[usize], device: &Device) -> Result<QTensor> {
        let Some(info) = self.ct.tensor_infos.get(name) else {
            candle_core::bail!(
                "GGUF tensor `{name}` is missing from this {} model",
                self.arch
            )
        };
        if info.shape.dims() != dims {
            candle_core::bail!(
                "GGUF tensor `{name}` has shape {:?}, the {} config implies {dims:?}",
                info.shape.dims(),
                self.arch
            );
        }
        info.read(self.reader, self.ct.tensor_data_offset, device)
            .map_err(|e| e.context(format!("reading GGUF tensor `{name}`")))
    }

    /// The heads whose rows llama.cpp permuted for this part, if any.
    fn permutation(&self, part: Part) -> Option<usize> {
        let (nh, nkv) = self.permuted_heads?;
        match part {
            Part::Q | Part::QBias => Some(nh),
            Part::K | Part::KBias => Some(nkv),
            _ => None,
        }
    }
}

/// Row order that turns llama.cpp's interleaved-rope layout back into HF's: within each head,
/// HF row `half * d/2 + i` is stored at row `2 i + half`.
fn hf_row_order(rows: usize, n_heads: usize) -> Vec<usize> {
    let hd = rows / n_heads;
    let half = hd / 2;
    (0..rows)
        .map(|r| {
            let (head, j) = (r / hd, r % hd);
            head * hd + 2 * (j % half) + j / half
        })
        .collect()
}

impl<R: Read + Seek> WeightSource for GgufWeights<'_, R> {
    fn matmul(
        &mut self,
        part: Part,
        layer: usize,
        out_dim: usize,
        in_dim: usize,
    ) -> Result<Matrix> {
        let name = part.gguf_name(layer);
        let qt = match self.permutation(part) {
            None => self.read(&name, &[out_dim, in_dim], self.device)?,
            Some(heads) => {
                // Rows of a quantized matrix are independent runs of blocks, so permuting
                // rows is a byte shuffle that keeps the quantisation exact.
                let cpu = self.read(&name, &[out_dim, in_dim], &Device::Cpu)?;
                let dtype = cpu.dtype();
                let row_bytes = in_dim / dtype.block_size() * dtype.type_size();
                let data = cpu.data()?;
                let mut out = Vec::with_capacity(data.len());
                for src in hf_row_order(out_dim, heads) {
                    out.extend_from_slice(&data[src * row_bytes..(src + 1) * row_bytes]);
                }
                qtensor_from_ggml(dtype, &out, vec![out_dim, in_dim], self.device)?
            }
        };
        let probe_rows = match part {
            Part::Embed | Part::LmHead => VOCAB_PROBE_ROWS,
            _ => LAYER_PROBE_ROWS,
        };
        match &mut self.planner {
            Some(planner) => planner.place(qt, probe_rows),
            None => Ok(Matrix::plain(QMatMul::from_arc(Arc::new(qt))?)),
        }
    }

    fn vector(&mut self, part: Part, layer: usize, len: usize) -> Result<Tensor> {
        let name = part.gguf_name(layer);
        let t = self
            .read(&name, &[len], self.device)?
            .dequantize(self.device)?;
        match self.permutation(part) {
            None => Ok(t),
            Some(heads) => {
                let order: Vec<u32> = hf_row_order(len, heads)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect();
                t.index_select(&Tensor::new(order.as_slice(), self.device)?, 0)
            }
        }
    }

    fn has(&self, part: Part, layer: usize) -> bool {
        self.ct.tensor_infos.contains_key(&part.gguf_name(layer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_row_order_inverts_llama_cpp_permutation() {
        // llama.cpp: reshape(n_head, 2, d/2, ..).swapaxes(1, 2), so gguf row h*d + 2i + half
        // holds HF row h*d + half*d/2 + i.
        let (heads, hd) = (2, 8);
        let hf: Vec<usize> = (0..heads * hd).collect();
        let mut gguf = vec![0; hf.len()];
        for h in 0..heads {
            for half in 0..2 {
                for i in 0..hd / 2 {
                    gguf[h * hd + 2 * i + half] = hf[h * hd + half * hd / 2 + i];
                }
            }
        }
        let back: Vec<usize> = hf_row_order(hf.len(), heads)
            .into_iter()
            .map(|src| gguf[src])
            .collect();
        assert_eq!(back, hf);
    }
}
