//! BLIP image captioning (Li et al. 2022, "BLIP: Bootstrapping Language-Image Pre-training for
//! Unified Vision-Language Understanding and Generation"), run by
//! `candle_transformers::models::blip`; reference implementation: transformers
//! `BlipForConditionalGeneration` with `BlipProcessor`.
//!
//! Checkpoints: the Hugging Face layout of Salesforce/blip-image-captioning-large (card
//! `blip-image-captioning-large`, architecture `blip-large`) and -base (`blip-base`):
//! `model.safetensors` with the transformers tensor names and the BERT `tokenizer.json`. The
//! shape comes from code per architecture ([`Variant::config`]), as candle's example does; the
//! Hub config.json is not read.
//!
//! Preprocessing (BlipImageProcessor): a bicubic resize to 384 x 384 (squashed, not cropped),
//! rescale to [0, 1], normalise with the OpenAI CLIP mean and std.
//!
//! Task conditioning: BLIP's conditional captioning continues a text prefix. The rule here: the
//! prompt (the task's question) is tokenised without special tokens, its first
//! [`PROMPT_TOKEN_BUDGET`] word pieces are kept, and the decoder starts from `[DEC]` followed by
//! them, exactly what `BlipProcessor(text=...)` + `generate` feed (they replace `[CLS]` by `[DEC]`
//! and drop the final `[SEP]`). The kept part of the question, as written by the user, is
//! recorded in `prompt_used`. Without a prompt the caption is unconditional (`[DEC]` alone).
//! The caption's text is the continuation only, not the prefix, so the judge does not read the
//! question back as if the captioner had said it.
//!
//! Decoding: greedy, at most [`DEFAULT_MAX_NEW_TOKENS`] new tokens (configurable), stopping at
//! `[SEP]` as transformers does (`eos_token_id = sep_token_id`); no repetition penalty, no
//! beams. The vision tower runs on the whole batch at once; the text decoder then runs image by
//! image, because candle's BLIP text embeddings add their (1, seq) position table without
//! broadcasting over a batch (a batch of N still equals N single calls).

use super::image::{
    candle_err, check_images, greedy_batch, open_checkpoint, random_checkpoint, trim_prompt, CaptionError, Generation,
    ImageCaption, ImageCaptioner, Preprocess,
};
use crate::runtime::model_store::ModelFiles;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{blip, blip_text};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD, which BlipImageProcessor uses.
pub const MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];
/// Word pieces of the question kept as the decoder prefix: long enough for a typical question
/// (median ~12 word pieces), short enough that the prefix does not crowd out the caption
/// (BLIP was trained on captions of ~10-20 tokens).
pub const PROMPT_TOKEN_BUDGET: usize = 24;
/// Room for a dense caption; transformers' default (max_length 20 with the prefix) cuts
/// captions of the large model short.
pub const DEFAULT_MAX_NEW_TOKENS: usize = 40;
/// The decoder's start token (transformers: `text_config.bos_token_id`).
const BOS_TOKEN: &str = "[DEC]";
/// Its id in the Salesforce vocabularies, used when a tokenizer.json lacks the added token.
const BOS_FALLBACK_ID: u32 = 30522;
const SEP_TOKEN: &str = "[SEP]";

/// The BLIP checkpoints this loader knows, by card `architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Salesforce/blip-image-captioning-large: ViT-L/16, 24 layers.
    Large,
    /// Salesforce/blip-image-captioning-base: ViT-B/16, 12 layers.
    Base,
}

impl Variant {
    pub const ALL: [Variant; 2] = [Variant::Large, Variant::Base];

    pub fn architecture(self) -> &'static str {
        match self {
            Variant::Large => "blip-large",
            Variant::Base => "blip-base",
        }
    }

    pub fn from_architecture(a: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.architecture() == a)
    }

    pub fn config(self) -> blip::Config {
        match self {
            Variant::Large => blip::Config::image_captioning_large(),
            Variant::Base => base_config(),
        }
    }
}

/// Salesforce/blip-image-captioning-base's config.json (transformers 4.26): a ViT-B/16 vision
/// tower (768 wide, 12 layers, 12 heads) and the same BERT-base text decoder as the large model.
pub fn base_config() -> blip::Config {
    let mut cfg = blip::Config::image_captioning_large();
    cfg.text_config.encoder_hidden_size = 768;
    let v = &mut cfg.vision_config;
    v.hidden_size = 768;
    v.intermediate_size = 3072;
    v.num_hidden_layers = 12;
    v.num_attention_heads = 12;
    cfg
}

/// What one batch produced, token by token (tests compare these with the reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The decoder prefix: `[DEC]` and the kept prompt tokens.
    pub prefix: Vec<u32>,
    pub prompt_used: Option<String>,
    /// Per image, the generated tokens without the prefix and without `[SEP]`.
    pub tokens: Vec<Vec<u32>>,
}

/// A loaded BLIP captioner.
pub struct BlipCaptioner {
    name: String,
    model: blip::BlipForConditionalGeneration,
    tokenizer: Tokenizer,
    device: Device,
    preprocess: Preprocess,
    bos: u32,
    sep: u32,
    max_positions: usize,
    generation: Generation,
}

impl std::fmt::Debug for BlipCaptioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlipCaptioner").field("name", &self.name).field("generation", &self.generation).finish()
    }
}

impl BlipCaptioner {
    /// Loads an installed card's files (`model.safetensors`, `tokenizer.json`); the shape comes
    /// from the card's architecture.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<BlipCaptioner, CaptionError> {
        let card = &files.card;
        let variant = Variant::from_architecture(&card.architecture).ok_or_else(|| CaptionError::Config {
            model: card.name.clone(),
            detail: format!("architecture `{}` is not a BLIP variant", card.architecture),
        })?;
        Self::from_paths(&card.name, files.path(WEIGHTS_FILE)?, files.path(TOKENIZER_FILE)?, variant.config(), device)
    }

    /// Loads from explicit files in the Hub layout; `name` labels captions and errors.
    pub fn from_paths(
        name: &str,
        weights: &Path,
        tokenizer: &Path,
        cfg: blip::Config,
        device: &Device,
    ) -> Result<BlipCaptioner, CaptionError> {
        let (vb, tok) = open_checkpoint(name, weights, tokenizer, DType::F32, device)?;
        Self::from_varbuilder(name, vb, cfg, tok, tokenizer, device)
    }

    /// Builds the model from any VarBuilder holding transformers' tensor names.
    /// `tokenizer_path` only labels errors.
    pub fn from_varbuilder(
        name: &str,
        vb: VarBuilder,
        cfg: blip::Config,
        tokenizer: Tokenizer,
        tokenizer_path: &Path,
        device: &Device,
    ) -> Result<BlipCaptioner, CaptionError> {
        let vocab = cfg.text_config.vocab_size;
        let tok_err = |detail: String| CaptionError::Tokenizer { path: tokenizer_path.to_path_buf(), detail };
        let sep = tokenizer.token_to_id(SEP_TOKEN).ok_or_else(|| tok_err(format!("no `{SEP_TOKEN}` token")))?;
        let bos = tokenizer
            .token_to_id(BOS_TOKEN)
            .or_else(|| ((BOS_FALLBACK_ID as usize) < vocab).then_some(BOS_FALLBACK_ID))
            .ok_or_else(|| tok_err(format!("no `{BOS_TOKEN}` token")))?;
        if bos as usize >= vocab || sep as usize >= vocab {
            return Err(tok_err(format!(
                "`{BOS_TOKEN}` / `{SEP_TOKEN}` lie outside the model's {vocab}-token vocabulary"
            )));
        }
        let model =
            blip::BlipForConditionalGeneration::new(&cfg, vb).map_err(candle_err(name, "loading the weights"))?;
        let mut c = BlipCaptioner {
            name: name.to_string(),
            model,
            tokenizer,
            device: device.clone(),
            preprocess: Preprocess { size: cfg.vision_config.image_size as u32, mean: MEAN, std: STD },
            bos,
            sep,
            max_positions: cfg.text_config.max_position_embeddings,
            generation: Generation::for_device(DEFAULT_MAX_NEW_TOKENS, device),
        };
        c.set_generation(c.generation)?;
        Ok(c)
    }

    /// Changes the token limit and batch size; refuses a limit the position table cannot hold.
    pub fn set_generation(&mut self, g: Generation) -> Result<(), CaptionError> {
        let needed = 1 + PROMPT_TOKEN_BUDGET + g.max_new_tokens;
        if needed > self.max_positions || g.max_new_tokens == 0 || g.batch_size == 0 {
            return Err(CaptionError::Config {
                model: self.name.clone(),
                detail: format!(
                    "max_new_tokens {} and batch {}: need 1..={} new tokens (the decoder holds {} positions, {} go to the prompt) and a batch of 1 or more",
                    g.max_new_tokens,
                    g.batch_size,
                    self.max_positions.saturating_sub(1 + PROMPT_TOKEN_BUDGET),
                    self.max_positions,
                    1 + PROMPT_TOKEN_BUDGET
                ),
            });
        }
        self.generation = g;
        Ok(())
    }

    pub fn generation(&self) -> Generation {
        self.generation
    }

    pub fn preprocess(&self) -> Preprocess {
        self.preprocess
    }

    /// The decoder prefix for `prompt` and the prompt as recorded (see the module's rule).
    pub fn prefix(&self, prompt: Option<&str>) -> Result<(Vec<u32>, Option<String>), CaptionError> {
        let mut ids = vec![self.bos];
        let kept = match prompt {
            Some(p) => trim_prompt(&self.tokenizer, p, PROMPT_TOKEN_BUDGET, &self.name)?,
            None => None,
        };
        match kept {
            Some((p_ids, shown)) => {
                ids.extend(p_ids);
                Ok((ids, Some(shown)))
            }
            None => Ok((ids, None)),
        }
    }

    /// Greedy generation for the images, batch by batch, as token ids.
    pub fn generate_ids(&self, images: &[image::RgbImage], prompt: Option<&str>) -> Result<Generated, CaptionError> {
        check_images(images)?;
        let (prefix, prompt_used) = self.prefix(prompt)?;
        let mut tokens = Vec::with_capacity(images.len());
        for chunk in images.chunks(self.generation.batch_size) {
            tokens.extend(self.generate_chunk(chunk, &prefix).map_err(candle_err(&self.name, "generating"))?);
        }
        Ok(Generated { prefix, prompt_used, tokens })
    }

    fn generate_chunk(&self, images: &[image::RgbImage], prefix: &[u32]) -> candle_core::Result<Vec<Vec<u32>>> {
        let pixels = self.preprocess.tensor(images, &self.device, DType::F32)?;
        let embeds = self.model.vision_model().forward(&pixels)?;
        let prefix_t = Tensor::new(prefix, &self.device)?.unsqueeze(0)?;
        // candle's BLIP text decoder adds its (1, seq) position embeddings without broadcasting,
        // so it decodes one image at a time; the vision pass above is batched.
        (0..images.len())
            .map(|i| {
                let image_embeds = embeds.narrow(0, i, 1)?;
                // A clone shares the weights and starts with an empty cache: `&self` stays
                // immutable.
                let mut model = self.model.clone();
                model.reset_kv_cache();
                let decoder = model.text_decoder();
                let mut rows = greedy_batch(1, self.generation.max_new_tokens, self.sep, |last| {
                    let input = match last {
                        None => prefix_t.clone(),
                        Some(t) => Tensor::new(t, &self.device)?.unsqueeze(1)?,
                    };
                    let logits = decoder.forward(&input, &image_embeds)?;
                    let s = logits.dim(1)?;
                    logits.narrow(1, s - 1, 1)?.squeeze(1)
                })?;
                Ok(rows.pop().unwrap_or_default())
            })
            .collect()
    }
}

impl ImageCaptioner for BlipCaptioner {
    fn model(&self) -> &str {
        &self.name
    }

    fn caption_batch(
        &self,
        images: &[image::RgbImage],
        prompt: Option<&str>,
    ) -> Result<Vec<ImageCaption>, CaptionError> {
        let g = self.generate_ids(images, prompt)?;
        g.tokens
            .iter()
            .map(|t| {
                let text = self
                    .tokenizer
                    .decode(t, true)
                    .map_err(|e| CaptionError::Decode { model: self.name.clone(), detail: e.to_string() })?;
                Ok(ImageCaption {
                    text: text.trim().to_string(),
                    model: self.name.clone(),
                    prompt_used: g.prompt_used.clone(),
                })
            })
            .collect()
    }
}

/// Words of the tiny test vocabulary (lower case: the tokenizer lowercases).
const TINY_WORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "with", "and", "is", "are", "there", "this", "what", "how", "many", "man",
    "woman", "people", "cat", "dog", "car", "tree", "sky", "water", "street", "table", "room", "photo", "picture",
    "image", "red", "blue", "green", "white", "black", "large", "small", "two", "sitting", "standing", "near", "color",
    "describe", "it", "at", "holding", "wall", "grass", "?", ".", ",", "##s", "##ing", "##ed",
];
/// Special tokens in BERT's order, then the words, then `[DEC]` (BLIP's added decoder token).
const TINY_SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A BERT WordPiece tokenizer.json over a small vocabulary with BLIP's special tokens (the
/// layout of the Salesforce files: BertNormalizer, BertPreTokenizer, WordPiece, `[DEC]` added).
pub fn tiny_tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    for (i, w) in TINY_SPECIALS.iter().chain(TINY_WORDS).enumerate() {
        vocab.insert((*w).to_string(), (i as u32).into());
    }
    let dec_id = vocab.len() as u32;
    let added = |id: u32, content: &str| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": false, "special": true})
    };
    let mut added_tokens: Vec<serde_json::Value> =
        TINY_SPECIALS.iter().enumerate().map(|(i, s)| added(i as u32, s)).collect();
    added_tokens.push(added(dec_id, BOS_TOKEN));
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added_tokens,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": [SEP_TOKEN, 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab},
    })
    .to_string()
}

/// Vocabulary size of [`tiny_tokenizer_json`] (`[DEC]` included).
pub fn tiny_vocab_size() -> usize {
    TINY_SPECIALS.len() + TINY_WORDS.len() + 1
}

/// The BLIP architecture at toy size: 32-wide, 2 layers each side, 32 x 32 input in 8 x 8
/// patches; for tests and the shape-cost bench.
pub fn tiny_config() -> blip::Config {
    let text_config = blip_text::Config {
        vocab_size: tiny_vocab_size(),
        hidden_size: 32,
        encoder_hidden_size: 32,
        intermediate_size: 64,
        projection_dim: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        max_position_embeddings: 96,
        hidden_act: candle_nn::Activation::Gelu,
        layer_norm_eps: 1e-12,
        is_decoder: true,
    };
    let vision_config = blip::VisionConfig {
        hidden_size: 32,
        intermediate_size: 64,
        projection_dim: 32,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        image_size: 32,
        patch_size: 8,
        hidden_act: candle_nn::Activation::Gelu,
        layer_norm_eps: 1e-5,
    };
    blip::Config { text_config, vision_config, projection_dim: 32, image_text_hidden_size: 32 }
}

/// Writes a random-weight checkpoint of `cfg` in the Hub layout (`model.safetensors` with the
/// names candle reads, which are transformers' names, and [`tiny_tokenizer_json`]) into `dir`;
/// returns (weights, tokenizer) paths.
pub fn write_random_checkpoint(dir: &Path, cfg: &blip::Config, seed: u64) -> Result<(PathBuf, PathBuf), CaptionError> {
    let tensors = random_checkpoint(seed, |vb| blip::BlipForConditionalGeneration::new(cfg, vb).map(|_| ()))
        .map_err(candle_err("random blip", "making the weights"))?;
    super::image::save_checkpoint(dir, "random blip", &tensors, (WEIGHTS_FILE, TOKENIZER_FILE), &tiny_tokenizer_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_round_trip_and_base_is_vit_b() {
        for v in Variant::ALL {
            assert_eq!(Variant::from_architecture(v.architecture()), Some(v));
        }
        let b = base_config();
        assert_eq!((b.vision_config.hidden_size, b.vision_config.num_hidden_layers), (768, 12));
        assert_eq!(b.text_config.encoder_hidden_size, b.vision_config.hidden_size);
        let l = Variant::Large.config();
        assert_eq!(l.text_config.encoder_hidden_size, l.vision_config.hidden_size);
    }

    #[test]
    fn tiny_tokenizer_has_blip_specials() {
        let tok: Tokenizer = tiny_tokenizer_json().parse().unwrap();
        assert_eq!(tok.token_to_id("[SEP]"), Some(3));
        assert_eq!(tok.token_to_id("[DEC]"), Some(tiny_vocab_size() as u32 - 1));
        let enc = tok.encode("What COLOR is the cats?", false).unwrap();
        assert_eq!(enc.get_tokens(), &["what", "color", "is", "the", "cat", "##s", "?"]);
        assert_eq!(tok.decode(enc.get_ids(), true).unwrap(), "what color is the cats?");
    }
}
