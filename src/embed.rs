//! Sentence embeddings from a BERT-family encoder (all-MiniLM-L6-v2 by default), computed the way
//! sentence-transformers does for that checkpoint: WordPiece ids with `[CLS]`/`[SEP]`, the
//! encoder's last hidden states, mean pooling over the real (unpadded) tokens, L2 normalisation.
//! The cosine of two embeddings is a fast semantic-correctness estimate beside the judge's.
//!
//! Checkpoint: sentence-transformers/all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT;
//! MiniLM, Wang et al. 2020). Reference implementation: sentence-transformers `Transformer ->
//! Pooling(mean) -> Normalize`; the encoder is candle-transformers' `models::bert`.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

const CONFIG_FILE: &str = "config.json";
const WEIGHTS_FILE: &str = "model.safetensors";
const TOKENIZER_FILE: &str = "tokenizer.json";
/// sentence-transformers' own file; its `max_seq_length` is what the model was trained with.
const SBERT_CONFIG_FILE: &str = "sentence_bert_config.json";
/// Word pieces kept when the folder has no `sentence_bert_config.json`: all-MiniLM-L6-v2's
/// `max_seq_length` (what it was trained with), also a common choice of other sentence encoders.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Texts per forward pass: large enough to amortise the matmuls on CPU, small enough that the
/// padded activations of 256-token texts stay well under 100 MB.
pub const BATCH_SIZE: usize = 32;
/// Guards the mean and the norm against division by zero, as `torch.clamp(min=1e-9)` and
/// `F.normalize(eps=1e-12)` do in sentence-transformers.
const MIN_TOKEN_COUNT: f64 = 1e-9;
const MIN_NORM: f64 = 1e-12;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("cannot load tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("{path}: weights do not load as a BERT encoder (truncated, or another architecture?): {source}")]
    Weights {
        path: PathBuf,
        source: candle_core::Error,
    },
    #[error("cannot tokenize text {index}: {message}")]
    Encode { index: usize, message: String },
    #[error("embedding computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}

/// A loaded sentence embedder. Weights are kept in f32 on every device: the model is small and
/// the cosines are compared against fixed thresholds, so half precision would buy little.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    max_tokens: usize,
    max_positions: usize,
    dim: usize,
    pad_id: u32,
}

impl Embedder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    ///
    /// Texts are truncated to `max_seq_length` of `sentence_bert_config.json` when the folder
    /// has one, otherwise to [`DEFAULT_MAX_TOKENS`] (256 word pieces, `[CLS]` and `[SEP]`
    /// included: all-MiniLM-L6-v2's trained length), never past the model's
    /// `max_position_embeddings`; [`Embedder::set_max_tokens`] changes it. The tokenizer's own
    /// truncation and fixed padding (128 in that checkpoint's tokenizer.json) are replaced.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, EmbedError> {
        let config_path = dir.join(CONFIG_FILE);
        let config_text = read(&config_path)?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| EmbedError::Config {
                path: config_path.clone(),
                message: e.to_string(),
            })?;

        let sbert = sbert_max_seq_length(dir)?;
        let max_tokens = sbert
            .unwrap_or(DEFAULT_MAX_TOKENS)
            .min(config.max_position_embeddings);
        // A bad length can only have come from sentence-transformers' file.
        let length_source = match sbert {
            Some(_) => dir.join(SBERT_CONFIG_FILE),
            None => config_path.clone(),
        };

        let tokenizer_path = dir.join(TOKENIZER_FILE);
        let tokenizer_error = |message: String| EmbedError::Tokenizer {
            path: tokenizer_path.clone(),
            message,
        };
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| tokenizer_error(e.to_string()))?;
        let pad_id = tokenizer
            .get_padding()
            .map(|p| p.pad_id)
            .unwrap_or(config.pad_token_id as u32);
        tokenizer.with_padding(None);
        let max_id = tokenizer.get_vocab(true).into_values().max().unwrap_or(0) as usize;
        if max_id >= config.vocab_size {
            return Err(tokenizer_error(format!(
                "ids reach {max_id} but the model's vocabulary has {} entries: not this model's tokenizer",
                config.vocab_size
            )));
        }

        let weights_path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&weights_path).map_err(|source| EmbedError::Read {
            path: weights_path.clone(),
            source,
        })?;
        let weights_error = |source| EmbedError::Weights {
            path: weights_path.clone(),
            source,
        };
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, device)
            .map_err(weights_error)?;
        let model = BertModel::load(vb, &config).map_err(weights_error)?;

        let mut embedder = Embedder {
            model,
            tokenizer,
            device: device.clone(),
            max_tokens,
            max_positions: config.max_position_embeddings,
            dim: config.hidden_size,
            pad_id,
        };
        embedder.set_max_tokens(max_tokens).map_err(|e| match e {
            EmbedError::Config { message, .. } => EmbedError::Config {
                path: length_source,
                message,
            },
            other => other,
        })?;
        Ok(embedder)
    }

    /// Truncates texts to `max_tokens` word pieces (`[CLS]` and `[SEP]` included); refused past
    /// the model's `max_position_embeddings` or below 2.
    pub fn set_max_tokens(&mut self, max_tokens: usize) -> Result<(), EmbedError> {
        if max_tokens < 2 || max_tokens > self.max_positions {
            return Err(EmbedError::Config {
                path: PathBuf::from(CONFIG_FILE),
                message: format!(
                    "maximum sequence length {max_tokens} is outside 2..={} (room for [CLS] and [SEP], \
                     the model's max_position_embeddings)",
                    self.max_positions
                ),
            });
        }
        let truncation = TruncationParams {
            max_length: max_tokens,
            ..Default::default()
        };
        self.tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| EmbedError::Config {
                path: PathBuf::from(TOKENIZER_FILE),
                message: e.to_string(),
            })?;
        self.max_tokens = max_tokens;
        Ok(())
    }

    /// One unit-length vector per text, in order. Texts are batched ([`BATCH_SIZE`] at a time,
    /// grouped by length to limit padding); a text's vector does not depend on its batch-mates.
    /// An empty text still embeds (its `[CLS] [SEP]` pair).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut encodings = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let enc = self
                .tokenizer
                .encode(*text, true)
                .map_err(|e| EmbedError::Encode {
                    index,
                    message: e.to_string(),
                })?;
            encodings.push(enc);
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());

        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_SIZE) {
            let batch: Vec<&tokenizers::Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let vectors = self.forward(&batch)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// SC estimate of `candidate` against `reference`: [`sc_from_similarity`] of their cosine,
    /// except that an empty (or whitespace-only) candidate is 0, as the SC rubric rates an
    /// empty answer 1 of 5; its `[CLS] [SEP]` embedding would otherwise land anywhere.
    pub fn sc_estimate(&self, reference: &str, candidate: &str) -> Result<f64, EmbedError> {
        if candidate.trim().is_empty() {
            return Ok(0.0);
        }
        let v = self.embed(&[reference, candidate])?;
        Ok(sc_from_similarity(cosine(&v[0], &v[1])))
    }

    /// Word pieces `text` is embedded from, `[CLS]` and `[SEP]` included; equal to
    /// [`Embedder::max_tokens`] when the text was cut.
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Encode {
                index: 0,
                message: e.to_string(),
            })?;
        Ok(enc.get_ids().len())
    }

    /// Word pieces a text keeps at most, `[CLS]` and `[SEP]` included.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn forward(&self, batch: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let n = batch.len();
        let mut ids = vec![self.pad_id; n * len];
        let mut types = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, enc) in batch.iter().enumerate() {
            let at = row * len;
            let k = enc.get_ids().len();
            ids[at..at + k].copy_from_slice(enc.get_ids());
            types[at..at + k].copy_from_slice(enc.get_type_ids());
            mask[at..at + k].copy_from_slice(enc.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let types = Tensor::from_vec(types, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;

        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (n, len, dim)
        let weights = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&weights)?.sum(1)?; // (n, dim)
        let counts = weights.sum(1)?.clamp(MIN_TOKEN_COUNT, f64::INFINITY)?; // (n, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(MIN_NORM, f64::INFINITY)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// Cosine similarity; 0 when either vector is zero. Both must come from the same embedder
/// (equal lengths); extra entries of a longer vector are ignored.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "cosine of vectors of different lengths");
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

/// Maps a cosine to an SC estimate in [0, 1]: `clamp(cos, 0, 1)`; NaN -> 0.
///
/// Why no rescale: on the 72 graded answers of `tests/embed.rs` (all-MiniLM-L6-v2), mean
/// cosines are paraphrase 0.85, minor omission 0.92, half the content 0.76, contradiction 0.71,
/// unrelated 0.02. The rubric's SC for those levels is 1, 0.75, 0.5, 0, 0. A linear rescale
/// fitted on the first six references (0.6 -> 0, 1.0 -> 1) lowers the mean absolute error on
/// the other six only from 0.23 to 0.20, and does it by pushing reworded paraphrases down
/// (mean 0.82 -> 0.55) about as far as contradictions (0.76 -> 0.42): cosine measures shared
/// topic and wording, not agreement, so no monotone map separates the two. The plain clamp
/// keeps cosine's meaning and ranking. An empty answer is rated by rule, not by its cosine
/// (see [`Embedder::sc_estimate`]).
pub fn sc_from_similarity(cos: f32) -> f64 {
    if cos.is_nan() {
        return 0.0;
    }
    (cos as f64).clamp(0.0, 1.0)
}

fn read(path: &Path) -> Result<String, EmbedError> {
    std::fs::read_to_string(path).map_err(|source| EmbedError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn sbert_max_seq_length(dir: &Path) -> Result<Option<usize>, EmbedError> {
    let path = dir.join(SBERT_CONFIG_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_str(&read(&path)?).map_err(|e| EmbedError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
    match value.get("max_seq_length") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| EmbedError::Config {
                path,
                message: format!("max_seq_length is {v}, not a positive integer"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_mapping() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-2.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(sc_from_similarity(-0.3), 0.0);
        assert_eq!(sc_from_similarity(0.4), 0.4f32 as f64);
        assert_eq!(sc_from_similarity(1.0), 1.0);
        assert_eq!(sc_from_similarity(f32::NAN), 0.0);
    }

    #[test]
    fn missing_folder_is_a_clear_error() {
        let err = Embedder::load(Path::new("/nonexistent/embedder"), &Device::Cpu)
            .err()
            .unwrap();
        assert!(err.to_string().contains("config.json"), "{err}");
    }
}
