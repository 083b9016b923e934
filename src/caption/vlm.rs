//! A stronger captioner for a workstation: moondream2 (vikhyatk, a SigLIP ViT-SO400M/14 vision
//! tower, an MLP projection, and a Phi-1.5 text model; 1.9 B parameters), run by
//! `candle_transformers::models::moondream`; reference implementation: the `moondream.py` /
//! `modeling_phi.py` remote code of the same Hub revision.
//!
//! Checkpoint: vikhyatk/moondream2 at the revision candle's example pinned for this code
//! (card `moondream2`, architecture `moondream2`): `model.safetensors` (float16) and the
//! CodeGen/GPT-2 byte-level BPE `tokenizer.json`. The shape is [`VlmConfig::moondream2`]
//! (candle's `Config::v2`); later moondream2 revisions changed the architecture and do not load.
//!
//! Preprocessing (moondream's VisionEncoder transform): a bicubic resize to 378 x 378 (squashed),
//! rescale to [0, 1], normalise with mean 0.5 and std 0.5; 27 x 27 patches of 14 px.
//!
//! Task conditioning: the question goes into moondream's question/answer template,
//! `<image>` + [`PROMPT_TEMPLATE`] with `{question}` replaced by the question's first
//! [`QUESTION_TOKEN_BUDGET`] tokens (as the user wrote them); without a question the template is
//! [`UNCONDITIONAL_PROMPT`]. The filled-in template is recorded in `prompt_used`. As in the
//! reference, the sequence is `<|endoftext|>` (BOS), the image embeddings, then the prompt's
//! tokens (no special tokens added).
//!
//! Decoding: greedy, at most [`DEFAULT_MAX_NEW_TOKENS`] new tokens, stopping at `<|endoftext|>`;
//! the answer is trimmed of surrounding white space. The text model decodes the whole batch
//! together (one forward pass per step; see [`super::image`]); the vision tower encodes image by
//! image, because candle's moondream vision embeddings add their (1, patches, width) position
//! table without broadcasting over a batch.

use super::image::{
    candle_err, check_images, greedy_batch, open_checkpoint, random_checkpoint, trim_prompt, CaptionError, Generation,
    ImageCaption, ImageCaptioner, Preprocess,
};
use crate::runtime::model_store::ModelFiles;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::moondream;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// The card architecture this loader serves.
pub const ARCHITECTURE: &str = "moondream2";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const MEAN: [f32; 3] = [0.5; 3];
pub const STD: [f32; 3] = [0.5; 3];
/// The vision tower's patch side, fixed in candle's moondream code.
pub const PATCH: u32 = 14;
/// Asks for a dense description that keeps what the task needs: moondream answers questions,
/// so the caption request is itself the question.
pub const PROMPT_TEMPLATE: &str =
    "\n\nQuestion: Describe this image in detail, focusing on what matters for: {question}\n\nAnswer:";
pub const UNCONDITIONAL_PROMPT: &str = "\n\nQuestion: Describe this image in detail.\n\nAnswer:";
/// Question tokens kept in the template: the longest benchmark questions (~150 tokens) fit, and
/// image + prompt + answer stay far inside the 2048-token context.
pub const QUESTION_TOKEN_BUDGET: usize = 256;
pub const DEFAULT_MAX_NEW_TOKENS: usize = 128;
/// moondream's BOS and EOS (the same token since the 2024-04-02 release).
const EOS_TOKEN: &str = "<|endoftext|>";

/// The model shape plus what candle's config does not expose.
#[derive(Debug, Clone)]
pub struct VlmConfig {
    pub model: moondream::Config,
    /// Side of the square input, pixels: (side / 14)^2 must equal the vision `embed_len`.
    pub image_size: u32,
    /// Tokens the text model attends over (image embeddings included).
    pub context: usize,
}

impl VlmConfig {
    /// moondream2 as candle implements it: 378 px input (729 patches), Phi-1.5 with 2048 positions.
    pub fn moondream2() -> VlmConfig {
        VlmConfig { model: moondream::Config::v2(), image_size: 378, context: 2048 }
    }

    /// The same architecture at toy size, for tests and the shape-cost bench. The vision width
    /// stays 1152 (candle hard-codes the patch embedding's 588 -> 1152 projection); everything
    /// else shrinks: 28 px input (4 patches), one 2-head vision block, a 32-wide 2-layer Phi.
    pub fn tiny() -> VlmConfig {
        let cfg = serde_json::json!({
            "phi_config": {
                "vocab_size": tiny_vocab_size(), "n_positions": 2048, "n_embd": 32, "n_layer": 2,
                "n_inner": 64, "n_head": 4, "rotary_dim": 4, "activation_function": "gelu",
                "layer_norm_epsilon": 1e-5, "tie_word_embeddings": false, "pad_vocab_size_multiple": 1
            },
            "vision_config": {
                "image_embedding_dim": 1152, "model_dim": 32, "hidden_dim": 64, "hidden_features": 16,
                "embed_len": 4, "embed_dim": 1152, "num_blocks": 1, "num_heads": 2, "act": "gelu_pytorch_tanh"
            }
        });
        let model = serde_json::from_value(cfg).expect("the tiny moondream config matches candle's fields");
        VlmConfig { model, image_size: 2 * PATCH, context: 2048 }
    }

    fn image_tokens(&self) -> usize {
        let side = (self.image_size / PATCH) as usize;
        side * side
    }
}

/// A loaded moondream2 captioner.
pub struct MoondreamCaptioner {
    name: String,
    model: moondream::Model,
    tokenizer: Tokenizer,
    device: Device,
    dtype: DType,
    preprocess: Preprocess,
    eos: u32,
    image_tokens: usize,
    context: usize,
    generation: Generation,
}

impl std::fmt::Debug for MoondreamCaptioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoondreamCaptioner").field("name", &self.name).field("generation", &self.generation).finish()
    }
}

/// Float16 on a GPU (the checkpoint's own precision, as candle's example runs it), f32 on CPU.
fn dtype_for(device: &Device) -> DType {
    if device.is_cpu() {
        DType::F32
    } else {
        DType::F16
    }
}

impl MoondreamCaptioner {
    /// Loads an installed card's files (`model.safetensors`, `tokenizer.json`).
    pub fn load(files: &ModelFiles, device: &Device) -> Result<MoondreamCaptioner, CaptionError> {
        let card = &files.card;
        if card.architecture != ARCHITECTURE {
            return Err(CaptionError::Config {
                model: card.name.clone(),
                detail: format!("architecture `{}` is not `{ARCHITECTURE}`", card.architecture),
            });
        }
        let (w, t) = (files.path(WEIGHTS_FILE)?, files.path(TOKENIZER_FILE)?);
        Self::from_paths(&card.name, w, t, VlmConfig::moondream2(), device)
    }

    /// Loads from explicit files in the Hub layout; `name` labels captions and errors.
    pub fn from_paths(
        name: &str,
        weights: &Path,
        tokenizer: &Path,
        cfg: VlmConfig,
        device: &Device,
    ) -> Result<MoondreamCaptioner, CaptionError> {
        let (vb, tok) = open_checkpoint(name, weights, tokenizer, dtype_for(device), device)?;
        Self::from_varbuilder(name, vb, cfg, tok, tokenizer, device)
    }

    /// Builds the model from any VarBuilder holding the checkpoint's tensor names (its dtype is
    /// the compute dtype). `tokenizer_path` only labels errors.
    pub fn from_varbuilder(
        name: &str,
        vb: VarBuilder,
        cfg: VlmConfig,
        tokenizer: Tokenizer,
        tokenizer_path: &Path,
        device: &Device,
    ) -> Result<MoondreamCaptioner, CaptionError> {
        let eos = tokenizer.token_to_id(EOS_TOKEN).ok_or_else(|| CaptionError::Tokenizer {
            path: tokenizer_path.to_path_buf(),
            detail: format!("no `{EOS_TOKEN}` token"),
        })?;
        if cfg.image_size == 0 || cfg.image_size % PATCH != 0 {
            return Err(CaptionError::Config {
                model: name.into(),
                detail: format!("image size {} is not a multiple of the {PATCH} px patch", cfg.image_size),
            });
        }
        let dtype = vb.dtype();
        let model = moondream::Model::new(&cfg.model, vb).map_err(candle_err(name, "loading the weights"))?;
        Ok(MoondreamCaptioner {
            name: name.to_string(),
            model,
            tokenizer,
            device: device.clone(),
            dtype,
            preprocess: Preprocess { size: cfg.image_size, mean: MEAN, std: STD },
            eos,
            image_tokens: cfg.image_tokens(),
            context: cfg.context,
            generation: Generation::for_device(DEFAULT_MAX_NEW_TOKENS, device),
        })
    }

    pub fn set_generation(&mut self, g: Generation) -> Result<(), CaptionError> {
        if g.max_new_tokens == 0 || g.batch_size == 0 {
            return Err(CaptionError::Config {
                model: self.name.clone(),
                detail: "max_new_tokens and batch size must be 1 or more".into(),
            });
        }
        self.generation = g;
        Ok(())
    }

    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// The prompt text for `question` (see the module's rule) and its token ids.
    pub fn prompt(&self, question: Option<&str>) -> Result<(String, Vec<u32>), CaptionError> {
        let kept = match question {
            Some(q) => trim_prompt(&self.tokenizer, q, QUESTION_TOKEN_BUDGET, &self.name)?,
            None => None,
        };
        let text = match kept {
            Some((_, q)) => PROMPT_TEMPLATE.replace("{question}", &q),
            None => UNCONDITIONAL_PROMPT.to_string(),
        };
        let ids = self
            .tokenizer
            .encode(text.as_str(), false)
            .map_err(|e| CaptionError::Decode { model: self.name.clone(), detail: e.to_string() })?
            .get_ids()
            .to_vec();
        Ok((text, ids))
    }

    /// Greedy generation, batch by batch: (prompt used, generated ids per image).
    pub fn generate_ids(
        &self,
        images: &[image::RgbImage],
        question: Option<&str>,
    ) -> Result<(String, Vec<Vec<u32>>), CaptionError> {
        check_images(images)?;
        let (text, ids) = self.prompt(question)?;
        let needed = 1 + self.image_tokens + ids.len() + self.generation.max_new_tokens;
        if needed > self.context {
            return Err(CaptionError::Config {
                model: self.name.clone(),
                detail: format!(
                    "{} image + {} prompt + {} new tokens exceed the {}-token context",
                    self.image_tokens,
                    ids.len(),
                    self.generation.max_new_tokens,
                    self.context
                ),
            });
        }
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(self.generation.batch_size) {
            out.extend(self.generate_chunk(chunk, &ids).map_err(candle_err(&self.name, "generating"))?);
        }
        Ok((text, out))
    }

    fn generate_chunk(&self, images: &[image::RgbImage], prompt: &[u32]) -> candle_core::Result<Vec<Vec<u32>>> {
        let b = images.len();
        let pixels = self.preprocess.tensor(images, &self.device, self.dtype)?;
        // A clone shares the weights and its cache is cleared: `&self` stays immutable.
        let mut model = self.model.clone();
        model.text_model.clear_kv_cache();
        // candle's moondream vision tower adds its (1, patches, width) position table without
        // broadcasting, so it encodes one image at a time; the text model decodes the batch.
        let per_image = (0..b)
            .map(|i| model.vision_encoder().forward(&pixels.narrow(0, i, 1)?))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let img = Tensor::cat(&per_image, 0)?;
        let bos = Tensor::new(&[self.eos], &self.device)?.unsqueeze(0)?.repeat((b, 1))?;
        let prompt_t = Tensor::new(prompt, &self.device)?.unsqueeze(0)?.repeat((b, 1))?;
        let text = model.text_model();
        greedy_batch(b, self.generation.max_new_tokens, self.eos, |last| match last {
            None => text.forward_with_img(&bos, &prompt_t, &img),
            Some(t) => text.forward(&Tensor::new(t, &self.device)?.unsqueeze(1)?),
        })
    }
}

impl ImageCaptioner for MoondreamCaptioner {
    fn model(&self) -> &str {
        &self.name
    }

    fn caption_batch(
        &self,
        images: &[image::RgbImage],
        prompt: Option<&str>,
    ) -> Result<Vec<ImageCaption>, CaptionError> {
        let (used, tokens) = self.generate_ids(images, prompt)?;
        tokens
            .iter()
            .map(|t| {
                let text = self
                    .tokenizer
                    .decode(t, true)
                    .map_err(|e| CaptionError::Decode { model: self.name.clone(), detail: e.to_string() })?;
                Ok(ImageCaption {
                    text: text.trim().to_string(),
                    model: self.name.clone(),
                    prompt_used: Some(used.clone()),
                })
            })
            .collect()
    }
}

/// GPT-2's byte -> printable character table (`bytes_to_unicode`), which byte-level BPE
/// vocabularies are written in.
fn byte_chars() -> Vec<char> {
    let mut bytes: Vec<u32> = (33..=126).chain(161..=172).chain(174..=255).collect();
    let mut chars = bytes.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !bytes.contains(&b) {
            bytes.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut table = vec!['\0'; 256];
    for (b, c) in bytes.into_iter().zip(chars) {
        table[b as usize] = char::from_u32(c).expect("GPT-2 byte characters are valid");
    }
    table
}

/// A few merges so the tiny vocabulary is a real BPE (merged tokens follow the 256 bytes).
const TINY_MERGES: &[(&str, &str)] = &[
    ("Ġ", "t"),
    ("h", "e"),
    ("Ġt", "he"),
    ("Ġ", "a"),
    ("i", "n"),
    ("o", "n"),
    ("e", "s"),
    ("Q", "u"),
    ("Qu", "es"),
    ("Ċ", "Ċ"),
    ("A", "n"),
    ("Ġ", "i"),
];

/// Vocabulary size of [`tiny_tokenizer_json`]: 256 bytes, the merges, `<|endoftext|>`.
pub fn tiny_vocab_size() -> usize {
    256 + TINY_MERGES.len() + 1
}

/// A byte-level BPE tokenizer.json in the layout of moondream's CodeGen tokenizer (ByteLevel
/// pre-tokenizer and decoder, `<|endoftext|>` as the special token) over a tiny vocabulary.
pub fn tiny_tokenizer_json() -> String {
    let table = byte_chars();
    let mut vocab = serde_json::Map::new();
    for (b, c) in table.iter().enumerate() {
        vocab.insert(c.to_string(), b.into());
    }
    for (i, (a, b)) in TINY_MERGES.iter().enumerate() {
        vocab.insert(format!("{a}{b}"), (256 + i).into());
    }
    let eos = 256 + TINY_MERGES.len();
    let merges: Vec<String> = TINY_MERGES.iter().map(|(a, b)| format!("{a} {b}")).collect();
    let byte_level =
        serde_json::json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [{"id": eos, "content": EOS_TOKEN, "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": false, "special": true}],
        "normalizer": null,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": merges},
    })
    .to_string()
}

/// Writes a random-weight checkpoint of `cfg` in the Hub layout (float16 `model.safetensors`
/// with the names candle reads, [`tiny_tokenizer_json`]) into `dir`; returns (weights, tokenizer).
pub fn write_random_checkpoint(dir: &Path, cfg: &VlmConfig, seed: u64) -> Result<(PathBuf, PathBuf), CaptionError> {
    let err = |what| candle_err("random moondream", what);
    let tensors = random_checkpoint(seed, |vb| moondream::Model::new(&cfg.model, vb).map(|_| ()))
        .map_err(err("making the weights"))?
        .into_iter()
        .map(|(k, v)| v.to_dtype(DType::F16).map(|v| (k, v)))
        .collect::<candle_core::Result<std::collections::HashMap<_, _>>>()
        .map_err(err("converting the weights"))?;
    super::image::save_checkpoint(dir, "random moondream", &tensors, (WEIGHTS_FILE, TOKENIZER_FILE), &tiny_tokenizer_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_tokenizer_round_trips_text() {
        let tok: Tokenizer = tiny_tokenizer_json().parse().unwrap();
        assert_eq!(tok.token_to_id(EOS_TOKEN), Some(tiny_vocab_size() as u32 - 1));
        let text = UNCONDITIONAL_PROMPT;
        let enc = tok.encode(text, false).unwrap();
        // The merges apply ("Qu" + "es"), and newlines are GPT-2's `Ċ`.
        assert!(enc.get_tokens().iter().any(|t| t == "Ques"), "{:?}", enc.get_tokens());
        assert_eq!(enc.get_tokens()[0], "Ċ");
        assert_eq!(tok.decode(enc.get_ids(), true).unwrap(), text);
    }

    #[test]
    fn configs_agree_with_the_patch_grid() {
        assert_eq!(VlmConfig::moondream2().image_tokens(), 729);
        assert_eq!(VlmConfig::tiny().image_tokens(), 4);
    }
}
