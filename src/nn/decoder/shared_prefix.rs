//! Scoring many continuations of one shared prompt prefix (the judge's rubric and worked
//! examples) without copying the prefix's keys and values into every row.
//!
//! The plain path expands a one-row prefix cache to the batch, appends each row's keys, repeats
//! every kv head for the query heads that read it (GQA) and then runs `softmax(q k^T) v`: for
//! 8 judgements after a 1,000-token prefix on Qwen2.5-1.5B that is several GB of copies per
//! batch. Here queries are grouped by the kv head they read, so that all rows and all heads of
//! a group meet the prefix in one matmul against the prefix keys as they are; the scores for
//! the prefix and for the row's own (causal) tokens are joined on one row, so one softmax
//! normalises over both, and the two halves are multiplied by their values separately.

use super::{Dims, KvCache};
use candle_core::{DType, Device, Result, Tensor, D};

/// Keys and values of a one-row prefix, per layer `(kv_head, len, head_dim)`, contiguous.
#[derive(Debug, Clone)]
pub struct SharedPrefix {
    pub(super) layers: Vec<(Tensor, Tensor)>,
    len: usize,
}

impl SharedPrefix {
    /// Takes the keys and values of a one-row cache (as filled by `Decoder::forward`).
    pub fn from_cache(cache: &KvCache) -> Result<Self> {
        match cache.batch_size() {
            Some(1) => {}
            Some(b) => candle_core::bail!("a shared prefix is one row; this cache has {b}"),
            None => candle_core::bail!("a shared prefix needs at least one cached position"),
        }
        let grouped = |t: &Tensor| t.squeeze(0)?.transpose(0, 1)?.contiguous();
        let layers = cache
            .layers
            .iter()
            .map(|l| match l {
                Some((k, v)) => Ok((grouped(k)?, grouped(v)?)),
                None => candle_core::bail!("the cache is missing a layer"),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, len: cache.len() })
    }

    /// Number of prefix positions (the position the first continuation token gets).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Attention of queries `q (b, l, head, head_dim)` over the shared prefix (if any) and over the
/// call's own keys/values `(b, l, kv_head, head_dim)`, causally; returns `(b, l, head * head_dim)`.
pub(super) fn attend(q: &Tensor, k: &Tensor, v: &Tensor, prefix: Option<&(Tensor, Tensor)>, d: &Dims) -> Result<Tensor> {
    let (b, l, nh, hd) = q.dims4()?;
    let (nkv, rep) = (d.n_kv, d.n_head / d.n_kv);
    let scale = 1.0 / (hd as f64).sqrt();
    // Rows ordered (kv head, batch row, position, query head within the group).
    let qg = (q.reshape((b, l, nkv, rep, hd))?.permute((2, 0, 1, 3, 4))?.contiguous()? * scale)?;
    let own = |t: &Tensor| t.permute((2, 0, 1, 3))?.contiguous()?.reshape((nkv * b, l, hd));
    let (ko, vo) = (own(k)?, own(v)?);
    let scores_own = qg.reshape((nkv * b, l * rep, hd))?.matmul(&ko.t()?)?;
    let scores_own = if l > 1 { scores_own.broadcast_add(&grouped_causal_mask(l, rep, q.dtype(), q.device())?)? } else { scores_own };
    let ctx = match prefix {
        None => candle_nn::ops::softmax_last_dim(&scores_own)?.matmul(&vo)?,
        Some((kp, vp)) => {
            let p = kp.dim(1)?;
            let rows = nkv * b * l * rep;
            let scores_prefix = qg.reshape((nkv, b * l * rep, hd))?.matmul(&kp.t()?)?;
            let all = Tensor::cat(&[scores_prefix.reshape((rows, p))?, scores_own.reshape((rows, l))?], D::Minus1)?;
            let probs = candle_nn::ops::softmax_last_dim(&all)?;
            let from_prefix = probs.narrow(1, 0, p)?.contiguous()?.reshape((nkv, b * l * rep, p))?.matmul(vp)?;
            let from_own = probs.narrow(1, p, l)?.contiguous()?.reshape((nkv * b, l * rep, l))?.matmul(&vo)?;
            (from_prefix.reshape((nkv * b, l * rep, hd))? + from_own)?
        }
    };
    // (kv, b, l, rep, hd) -> (b, l, kv, rep, hd): head h = kv * rep + r, as in repeat_kv.
    ctx.reshape((nkv, b, l, rep, hd))?.permute((1, 2, 0, 3, 4))?.reshape((b, l, nh * hd))
}

/// `(l * rep, l)`: row (i, r) sees own positions `j <= i`.
fn grouped_causal_mask(l: usize, rep: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let mut m = Vec::with_capacity(l * rep * l);
    for i in 0..l {
        for _ in 0..rep {
            m.extend((0..l).map(|j| if j > i { f32::NEG_INFINITY } else { 0.0 }));
        }
    }
    Tensor::from_vec(m, (l * rep, l), device)?.to_dtype(dtype)
}
