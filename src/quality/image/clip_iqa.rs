//! "clip-iqa": CLIP-IQA (Wang, Chan and Loy, "Exploring CLIP for Assessing the Look and Feel of
//! Images", AAAI 2023; pyiqa's `clipiqa`), a learned no-reference image-quality score computed
//! with the CLIP implementation in candle-transformers (`models::clip`) from the
//! `clip-vit-base-patch32` model card (Hugging Face `openai/clip-vit-base-patch32`:
//! model.safetensors, config.json, tokenizer.json).
//!
//! Score: the image embedding e and the text embeddings t+ of "Good photo." and t- of
//! "Bad photo." are L2-normalised; with CLIP's logit scale s (exp of the checkpoint's
//! `logit_scale`, 100 for the released weights) the score is the softmax probability of the
//! positive prompt, `p = exp(s cos(e,t+)) / (exp(s cos(e,t+)) + exp(s cos(e,t-)))`. It is already in
//! [0, 1], higher is better; `raw` is the same probability, and the details carry both cosines.
//! The two text embeddings are computed once, when the model is loaded.
//!
//! Not pyiqa's numbers: pyiqa's `clipiqa` runs CLIP's ResNet-50 with the attention pool's
//! positional embedding removed, on the image at its own size. This scorer uses ViT-B/32 (the
//! checkpoint candle's CLIP code loads) at its native 224 px, so its values differ from pyiqa's
//! while keeping the method (antonym prompt pair, softmax over scaled cosines).
//!
//! Preprocessing (CLIP's, as transformers' `CLIPImageProcessor` does it with Pillow): the
//! shortest side is resized to the model's image size (224) by Pillow's bicubic filter (a = -0.5,
//! support widened by the downscale factor, 8-bit fixed point, horizontal pass then vertical), the
//! other side to `floor(224 * long / short)`; a centre crop of 224 x 224 is taken at
//! `((w - 224) / 2, (h - 224) / 2)` rounded down; pixels are divided by 255 and normalised by
//! CLIP's per-channel mean and standard deviation. The resize reproduces Pillow's output bytes
//! exactly, and only the pixels inside the crop are computed, so any image (up to the 100 Mpx
//! decode limit of `media::image`) costs about the same and memory stays bounded.
//!
//! Frames are scored in batches ([`ClipIqa::score_frames`]); video reuses the scorer through
//! [`FrameScorer`].

use super::super::{FrameScorer, QualityError, QualityScore, Scorer, ScorerContext, ScorerInfo};
use crate::data::Modality;
use crate::runtime::card::find_card;
use crate::runtime::model_store::{ModelError, ModelFiles};
use ::image::RgbImage;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::{
    div_l2_norm,
    text_model::{Activation, ClipTextConfig},
    vision_model::ClipVisionConfig,
    ClipConfig, ClipModel,
};
use serde::Deserialize;
use serde_json::Value;
use std::ops::Range;
use std::path::Path;
use tokenizers::Tokenizer;

pub const NAME: &str = "clip-iqa";
/// The model card holding the weights.
pub const CARD: &str = "clip-vit-base-patch32";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The antonym pair of CLIP-IQA's quality prompt (pyiqa's default `clipiqa`).
pub const POSITIVE_PROMPT: &str = "Good photo.";
pub const NEGATIVE_PROMPT: &str = "Bad photo.";
/// OpenAI CLIP's normalisation (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
pub const CLIP_MEAN: [f64; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const CLIP_STD: [f64; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];
/// The tokens CLIP's tokenizer wraps a prompt in; the text tower pools at the end token.
const START_TOKEN: &str = "<|startoftext|>";
const END_TOKEN: &str = "<|endoftext|>";
/// Part of the store fingerprint: bump when the computation changes.
const VERSION: &str = "clip-iqa/vit-b32-224/1";
/// Images per forward pass: a ViT-B/32 image is 50 tokens, so a batch costs little memory; on
/// CPU a larger batch buys little, a GPU wants more.
const CPU_BATCH: usize = 16;
const GPU_BATCH: usize = 64;
/// The only layer-norm epsilon and activation candle's CLIP implements.
const LAYER_NORM_EPS: f64 = 1e-5;
const QUICK_GELU: &str = "quick_gelu";

pub fn info() -> ScorerInfo {
    ScorerInfo {
        name: NAME,
        modality: Modality::Image,
        description: "CLIP-IQA (ViT-B/32): P(\"Good photo.\" vs \"Bad photo.\"), softmax of 100 x cosine; score = raw",
        lower_better_raw: false,
        default: false,
        build: |ctx| Ok(Box::new(ClipIqa::new(ctx)?)),
    }
}

fn scorer_error(detail: impl std::fmt::Display) -> QualityError {
    QualityError::Scorer { scorer: NAME.into(), detail: detail.to_string() }
}

fn candle_error(source: candle_core::Error) -> QualityError {
    QualityError::Candle { scorer: NAME.into(), source }
}

/// The parts of a Hugging Face CLIP `config.json` that candle's CLIP needs; a missing field takes
/// the value of openai/clip-vit-base-patch32 (which are also transformers' defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub projection_dim: usize,
    pub logit_scale_init_value: f32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct TextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub max_position_embeddings: usize,
    pub hidden_act: String,
    pub layer_norm_eps: f64,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            vocab_size: 49408,
            hidden_size: 512,
            intermediate_size: 2048,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 77,
            hidden_act: QUICK_GELU.into(),
            layer_norm_eps: LAYER_NORM_EPS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct VisionConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_channels: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub hidden_act: String,
    pub layer_norm_eps: f64,
}

impl Default for VisionConfig {
    fn default() -> Self {
        VisionConfig {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 32,
            hidden_act: QUICK_GELU.into(),
            layer_norm_eps: LAYER_NORM_EPS,
        }
    }
}

impl Config {
    /// openai/clip-vit-base-patch32.
    pub fn vit_base_patch32() -> Config {
        Config {
            text: TextConfig::default(),
            vision: VisionConfig::default(),
            projection_dim: 512,
            logit_scale_init_value: 2.6592,
        }
    }

    /// Parses a Hugging Face CLIP config.json. Old configs may carry `text_config_dict` /
    /// `vision_config_dict`; as in transformers, those win over `text_config` / `vision_config`.
    pub fn from_json(text: &str) -> Result<Config, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let base = Config::vit_base_patch32();
        let section = |keys: [&str; 2]| keys.iter().find_map(|k| v.get(*k).filter(|s| s.is_object()).cloned());
        let text = match section(["text_config_dict", "text_config"]) {
            Some(s) => serde_json::from_value(s).map_err(|e| format!("text_config: {e}"))?,
            None => base.text,
        };
        let vision = match section(["vision_config_dict", "vision_config"]) {
            Some(s) => serde_json::from_value(s).map_err(|e| format!("vision_config: {e}"))?,
            None => base.vision,
        };
        let usize_field = |k: &str, d: usize| v.get(k).and_then(Value::as_u64).map_or(d, |x| x as usize);
        let projection_dim = usize_field("projection_dim", base.projection_dim);
        let logit_scale_init_value =
            v.get("logit_scale_init_value").and_then(Value::as_f64).map_or(base.logit_scale_init_value, |x| x as f32);
        let cfg = Config { text, vision, projection_dim, logit_scale_init_value };
        cfg.check()?;
        Ok(cfg)
    }

    /// What candle's CLIP cannot run, said before loading any weights.
    fn check(&self) -> Result<(), String> {
        for (tower, act, eps) in [
            ("text_config", &self.text.hidden_act, self.text.layer_norm_eps),
            ("vision_config", &self.vision.hidden_act, self.vision.layer_norm_eps),
        ] {
            if act != QUICK_GELU {
                return Err(format!("{tower}.hidden_act is `{act}`; candle's CLIP implements only {QUICK_GELU}"));
            }
            if (eps - LAYER_NORM_EPS).abs() > 1e-12 {
                return Err(format!("{tower}.layer_norm_eps is {eps}; candle's CLIP uses {LAYER_NORM_EPS}"));
            }
        }
        let heads_divide = |h: usize, n: usize| n > 0 && h % n == 0;
        if !heads_divide(self.text.hidden_size, self.text.num_attention_heads)
            || !heads_divide(self.vision.hidden_size, self.vision.num_attention_heads)
        {
            return Err("hidden_size is not a multiple of num_attention_heads".into());
        }
        let v = &self.vision;
        if v.patch_size == 0 || v.image_size % v.patch_size != 0 || v.num_channels != 3 {
            return Err(format!(
                "vision_config: image_size {} must be a multiple of patch_size {} with 3 channels (has {})",
                v.image_size, v.patch_size, v.num_channels
            ));
        }
        Ok(())
    }

    /// candle's configuration. Both projections use the top-level `projection_dim`, as
    /// transformers' CLIPModel does.
    pub fn to_candle(&self) -> ClipConfig {
        let (t, v) = (&self.text, &self.vision);
        ClipConfig {
            text_config: ClipTextConfig {
                vocab_size: t.vocab_size,
                embed_dim: t.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: t.intermediate_size,
                max_position_embeddings: t.max_position_embeddings,
                pad_with: None,
                num_hidden_layers: t.num_hidden_layers,
                num_attention_heads: t.num_attention_heads,
                projection_dim: self.projection_dim,
            },
            vision_config: ClipVisionConfig {
                embed_dim: v.hidden_size,
                activation: Activation::QuickGelu,
                intermediate_size: v.intermediate_size,
                num_hidden_layers: v.num_hidden_layers,
                num_attention_heads: v.num_attention_heads,
                projection_dim: self.projection_dim,
                num_channels: v.num_channels,
                image_size: v.image_size,
                patch_size: v.patch_size,
            },
            logit_scale_init_value: self.logit_scale_init_value,
            image_size: v.image_size,
        }
    }
}

/// The built scorer: CLIP on its device and the prompts' normalised text embeddings.
pub struct ClipIqa {
    model: ClipModel,
    /// (2, projection_dim): "Good photo.", "Bad photo.", L2-normalised.
    text: Tensor,
    logit_scale: f64,
    image_size: u32,
    device: Device,
    batch: usize,
}

impl ClipIqa {
    /// Finds the `clip-vit-base-patch32` card's files in the model store (fetching them unless
    /// offline); a missing model is an error naming `omniscore models pull clip-vit-base-patch32`.
    pub fn new(ctx: &ScorerContext) -> Result<ClipIqa, QualityError> {
        let model_err = |source: ModelError| QualityError::Model { scorer: NAME.into(), source };
        let card = find_card(CARD).map_err(|e| model_err(e.into()))?;
        let files: ModelFiles =
            if ctx.offline { ctx.store.locate(&card) } else { ctx.store.locate_or_pull(&card, ctx.progress) }
                .map_err(model_err)?;
        ClipIqa::from_files(
            files.path(WEIGHTS_FILE).map_err(model_err)?,
            files.path(CONFIG_FILE).map_err(model_err)?,
            files.path(TOKENIZER_FILE).map_err(model_err)?,
            &ctx.device,
        )
    }

    /// Loads a model in the Hugging Face layout from explicit paths.
    pub fn from_files(weights: &Path, config: &Path, tokenizer: &Path, device: &Device) -> Result<ClipIqa, QualityError> {
        let text = std::fs::read_to_string(config).map_err(|e| scorer_error(format!("{}: {e}", config.display())))?;
        let cfg = Config::from_json(&text).map_err(|e| scorer_error(format!("{}: {e}", config.display())))?;
        let tok = Tokenizer::from_file(tokenizer).map_err(|e| scorer_error(format!("{}: {e}", tokenizer.display())))?;
        // SAFETY: the store's files are not modified while the process runs.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, device) }
            .map_err(|e| scorer_error(format!("{}: {e}", weights.display())))?;
        // Name the files once, without repeating the scorer's name already in the error.
        let files = format!("{} (with {})", weights.display(), tokenizer.display());
        ClipIqa::from_parts(vb, &cfg, &tok, device).map_err(|e| match e {
            QualityError::Scorer { detail, .. } => scorer_error(format!("{files}: {detail}")),
            QualityError::Candle { source, .. } => scorer_error(format!("{files}: {source}")),
            other => other,
        })
    }

    /// Builds the scorer from any VarBuilder holding the Hugging Face CLIP tensor names.
    pub fn from_parts(vb: VarBuilder, cfg: &Config, tokenizer: &Tokenizer, device: &Device) -> Result<ClipIqa, QualityError> {
        cfg.check().map_err(scorer_error)?;
        // candle's ClipModel keeps its logit scale private; read it the same way it does.
        let logit_scale = if vb.contains_tensor("logit_scale") {
            vb.get(&[], "logit_scale").and_then(|t| t.to_dtype(DType::F64)?.to_scalar::<f64>()).map_err(candle_error)?
        } else {
            f64::from(cfg.logit_scale_init_value)
        };
        let model = ClipModel::new(vb, &cfg.to_candle()).map_err(candle_error)?;
        let mut embeddings = Vec::with_capacity(2);
        for prompt in [POSITIVE_PROMPT, NEGATIVE_PROMPT] {
            let ids = prompt_ids(tokenizer, prompt, cfg.text.max_position_embeddings)?;
            let ids = Tensor::new(ids.as_slice(), device).and_then(|t| t.unsqueeze(0)).map_err(candle_error)?;
            embeddings.push(model.get_text_features(&ids).map_err(candle_error)?);
        }
        let text = Tensor::cat(&embeddings, 0).and_then(|t| div_l2_norm(&t)).map_err(candle_error)?;
        let batch = if device.is_cpu() { CPU_BATCH } else { GPU_BATCH };
        Ok(ClipIqa {
            model,
            text,
            logit_scale: logit_scale.exp(),
            image_size: cfg.vision.image_size as u32,
            device: device.clone(),
            batch,
        })
    }

    /// The side of the square the model sees (224 for ViT-B/32).
    pub fn image_size(&self) -> u32 {
        self.image_size
    }

    /// exp(logit_scale): 100 for the released weights.
    pub fn logit_scale(&self) -> f64 {
        self.logit_scale
    }

    /// The prompts' normalised text embeddings, (2, projection_dim).
    pub fn text_embeddings(&self) -> &Tensor {
        &self.text
    }

    /// Images per forward pass.
    pub fn with_batch(mut self, batch: usize) -> ClipIqa {
        self.batch = batch.max(1);
        self
    }

    /// Projected (unnormalised) image embeddings of preprocessed frames, (n, projection_dim).
    pub fn image_embeddings(&self, frames: &[RgbImage]) -> Result<Tensor, QualityError> {
        let side = self.image_size as usize;
        let mut pixels = Vec::with_capacity(frames.len() * 3 * side * side);
        for frame in frames {
            pixels.extend(clip_pixels(frame, self.image_size));
        }
        let batch = Tensor::from_vec(pixels, (frames.len(), 3, side, side), &self.device).map_err(candle_error)?;
        self.model.get_image_features(&batch).map_err(candle_error)
    }

    /// Scores frames, `batch` at a time; the result is the same as scoring each alone.
    pub fn score_frames(&self, frames: &[RgbImage]) -> Result<Vec<QualityScore>, QualityError> {
        let mut scores = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(self.batch) {
            let cos: Vec<Vec<f32>> = self
                .image_embeddings(chunk)
                .and_then(|e| {
                    div_l2_norm(&e).and_then(|e| e.matmul(&self.text.t()?)).and_then(|c| c.to_vec2()).map_err(candle_error)
                })?;
            for row in cos {
                let (good, bad) = (f64::from(row[0]), f64::from(row[1]));
                // The two-way softmax, written as a logistic so neither exponential overflows.
                let p = 1.0 / (1.0 + (-self.logit_scale * (good - bad)).exp());
                scores.push(QualityScore::new(p, p).with_detail("cos_good", good).with_detail("cos_bad", bad));
            }
        }
        Ok(scores)
    }
}

/// A prompt's token ids, checked against what candle's text tower assumes: CLIP's start and end
/// tokens around it, and the end token's id above every other (the tower pools at the argmax).
fn prompt_ids(tokenizer: &Tokenizer, prompt: &str, max_len: usize) -> Result<Vec<u32>, QualityError> {
    let enc = tokenizer.encode(prompt, true).map_err(|e| scorer_error(format!("tokenizing {prompt:?}: {e}")))?;
    let ids = enc.get_ids().to_vec();
    let end = tokenizer.token_to_id(END_TOKEN);
    let start = tokenizer.token_to_id(START_TOKEN);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(scorer_error(format!("the tokenizer lacks CLIP's {START_TOKEN} / {END_TOKEN} tokens")));
    };
    if ids.first() != Some(&start) || ids.last() != Some(&end) {
        return Err(scorer_error(format!(
            "the tokenizer does not wrap {prompt:?} in {START_TOKEN} ... {END_TOKEN} (ids {ids:?})"
        )));
    }
    if ids[..ids.len() - 1].iter().any(|&i| i >= end) {
        return Err(scorer_error(format!("{END_TOKEN} (id {end}) is not the highest id in {ids:?}")));
    }
    if ids.len() > max_len {
        return Err(scorer_error(format!("{prompt:?} is {} tokens, above max_position_embeddings {max_len}", ids.len())));
    }
    Ok(ids)
}

impl Scorer for ClipIqa {
    fn name(&self) -> &'static str {
        NAME
    }

    fn modality(&self) -> Modality {
        Modality::Image
    }

    fn version(&self) -> &'static str {
        VERSION
    }

    fn score_path(&self, path: &Path) -> Result<QualityScore, QualityError> {
        let rgb = crate::media::image::load_rgb(path)?;
        self.score_frame(&rgb)
    }
}

impl FrameScorer for ClipIqa {
    fn name(&self) -> &'static str {
        NAME
    }

    fn score_frame(&self, frame: &RgbImage) -> Result<QualityScore, QualityError> {
        let mut scores = self.score_frames(std::slice::from_ref(frame))?;
        scores.pop().ok_or_else(|| scorer_error("no score for the frame"))
    }
}

/// CLIP's input for one image: [`resize_crop`] to `size`, then (v / 255 - mean) / std per
/// channel, channel-major (3 x size x size).
pub fn clip_pixels(image: &RgbImage, size: u32) -> Vec<f32> {
    let crop = resize_crop(image, size);
    let plane = (size * size) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, p) in crop.as_raw().chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = ((f64::from(p[c]) / 255.0 - CLIP_MEAN[c]) / CLIP_STD[c]) as f32;
        }
    }
    out
}

/// The output size of CLIP's resize: the shortest side to `size`, the other to
/// `floor(size * long / short)` (transformers' `get_resize_output_image_size`).
pub fn resized_dimensions(width: u32, height: u32, size: u32) -> (u32, u32) {
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let new_long = (f64::from(size) * f64::from(long) / f64::from(short.max(1))) as u32;
    if width <= height {
        (size, new_long)
    } else {
        (new_long, size)
    }
}

/// Pillow's `resize(BICUBIC)` to [`resized_dimensions`] followed by the centre `size` x `size`
/// crop, byte for byte (Pillow 13's pass order included), computing only the pixels inside the
/// crop.
pub fn resize_crop(image: &RgbImage, size: u32) -> RgbImage {
    let (in_w, in_h) = image.dimensions();
    let (out_w, out_h) = resized_dimensions(in_w, in_h, size);
    let (left, top) = ((out_w - size) / 2, (out_h - size) / 2);
    let n = size as usize;
    let src = Plane { width: in_w as usize, pixels: image.as_raw() };
    let across = (out_w != in_w).then(|| Taps::bicubic(in_w, out_w, left, size));
    let down = (out_h != in_h).then(|| Taps::bicubic(in_h, out_h, top, size));
    let (left, top) = (left as usize, top as usize);
    let out = if horizontal_first(in_w, in_h, out_w, out_h) {
        // Resample across only the rows the vertical pass reads.
        let rows = down.as_ref().map_or(top..top + n, Taps::span);
        let mid = match &across {
            Some(t) => src.horizontal(rows.clone(), t, 0),
            None => src.copy(rows.clone(), left..left + n),
        };
        let mid = Plane { width: n, pixels: &mid };
        match &down {
            Some(t) => mid.vertical(0..n, t, rows.start),
            None => mid.pixels.to_vec(),
        }
    } else {
        let cols = across.as_ref().map_or(left..left + n, Taps::span);
        let mid = match &down {
            Some(t) => src.vertical(cols.clone(), t, 0),
            None => src.copy(top..top + n, cols.clone()),
        };
        let mid = Plane { width: cols.len(), pixels: &mid };
        match &across {
            Some(t) => mid.horizontal(0..n, t, cols.start),
            None => mid.pixels.to_vec(),
        }
    };
    RgbImage::from_raw(size, size, out).expect("size x size x 3 bytes")
}

/// Pillow 13's pass order (Resample.c): vertical first when the height shrinks by more than
/// twice as many pixels as the width, else horizontal first. Older Pillow always went
/// horizontal first; the two orders differ by one level on some pixels.
fn horizontal_first(in_w: u32, in_h: u32, out_w: u32, out_h: u32) -> bool {
    let shrink_h = i64::from(in_h) - i64::from(out_h);
    let shrink_w = i64::from(in_w) - i64::from(out_w);
    !(shrink_h > 0 && shrink_h > shrink_w * 2)
}

/// Rows of RGB8 pixels `width` wide.
struct Plane<'a> {
    width: usize,
    pixels: &'a [u8],
}

impl Plane<'_> {
    fn copy(&self, rows: Range<usize>, cols: Range<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(rows.len() * cols.len() * 3);
        for r in rows {
            out.extend_from_slice(&self.pixels[(r * self.width + cols.start) * 3..(r * self.width + cols.end) * 3]);
        }
        out
    }

    /// Each of `rows` resampled across by `taps`, whose input indices are offset by `base`.
    fn horizontal(&self, rows: Range<usize>, taps: &Taps, base: usize) -> Vec<u8> {
        let n = taps.starts.len();
        let mut out = vec![0u8; rows.len() * n * 3];
        for (i, r) in rows.enumerate() {
            let line = &self.pixels[r * self.width * 3..(r + 1) * self.width * 3];
            let dst = &mut out[i * n * 3..(i + 1) * n * 3];
            for (j, (start, w)) in taps.starts.iter().zip(&taps.weights).enumerate() {
                let mut acc = [FIXED_HALF; 3];
                for (k, &wk) in w.iter().enumerate() {
                    let p = &line[(start - base + k) * 3..][..3];
                    for c in 0..3 {
                        acc[c] += i32::from(p[c]) * wk;
                    }
                }
                for c in 0..3 {
                    dst[j * 3 + c] = clip8(acc[c]);
                }
            }
        }
        out
    }

    /// Columns `cols` resampled down by `taps`, whose input indices are offset by `base`.
    fn vertical(&self, cols: Range<usize>, taps: &Taps, base: usize) -> Vec<u8> {
        let m = cols.len() * 3;
        let mut out = vec![0u8; taps.starts.len() * m];
        let mut acc = vec![0i32; m];
        for (i, (start, w)) in taps.starts.iter().zip(&taps.weights).enumerate() {
            acc.fill(FIXED_HALF);
            for (k, &wk) in w.iter().enumerate() {
                let row = (start - base + k) * self.width;
                let line = &self.pixels[(row + cols.start) * 3..(row + cols.end) * 3];
                for (a, &p) in acc.iter_mut().zip(line) {
                    *a += i32::from(p) * wk;
                }
            }
            for (o, &a) in out[i * m..(i + 1) * m].iter_mut().zip(&acc) {
                *o = clip8(a);
            }
        }
        out
    }
}

/// Pillow's filter support for BICUBIC, and its fixed-point precision for 8-bit images.
const BICUBIC_SUPPORT: f64 = 2.0;
const BICUBIC_A: f64 = -0.5;
const PRECISION_BITS: u32 = 32 - 8 - 2;
/// Rounding offset every fixed-point sum starts from.
const FIXED_HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Pillow's `clip8`: the fixed-point sum to a byte, flooring, saturating.
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `bicubic_filter` (Resample.c), operation for operation.
fn bicubic(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        ((BICUBIC_A + 2.0) * x - (BICUBIC_A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * BICUBIC_A
    } else {
        0.0
    }
}

/// Fixed-point resampling weights for a run of output positions along one axis (Pillow's
/// `precompute_coeffs` + `normalize_coeffs_8bpc`).
struct Taps {
    /// Per output position: first input index and the weights from there.
    starts: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

impl Taps {
    /// Outputs `first .. first + count` of resampling `in_size` to `out_size`.
    fn bicubic(in_size: u32, out_size: u32, first: u32, count: u32) -> Taps {
        // Pillow divides the float box width by the output size in double precision.
        let scale = f64::from(in_size as f32) / f64::from(out_size);
        let filterscale = scale.max(1.0);
        let support = BICUBIC_SUPPORT * filterscale;
        let inv_filterscale = 1.0 / filterscale;
        let one = f64::from(1u32 << PRECISION_BITS);
        let (mut starts, mut weights) = (Vec::new(), Vec::new());
        for xx in first..first + count {
            let center = (f64::from(xx) + 0.5) * scale;
            // C's (int) casts truncate toward zero, as `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(i64::from(in_size)) - xmin;
            let w: Vec<f64> =
                (0..xmax).map(|x| bicubic(((x + xmin) as f64 - center + 0.5) * inv_filterscale)).collect();
            let ww: f64 = w.iter().sum();
            let fixed = w
                .iter()
                .map(|&k| {
                    let k = if ww != 0.0 { k / ww } else { k };
                    if k < 0.0 {
                        (-0.5 + k * one) as i32
                    } else {
                        (0.5 + k * one) as i32
                    }
                })
                .collect();
            starts.push(xmin as usize);
            weights.push(fixed);
        }
        Taps { starts, weights }
    }

    /// The input indices these outputs read.
    fn span(&self) -> Range<usize> {
        let first = self.starts.iter().copied().min().unwrap_or(0);
        let end = self.starts.iter().zip(&self.weights).map(|(s, w)| s + w.len()).max().unwrap_or(first);
        first..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_dimensions_follow_transformers() {
        assert_eq!(resized_dimensions(451, 300, 224), (336, 224));
        assert_eq!(resized_dimensions(40, 24, 224), (373, 224));
        assert_eq!(resized_dimensions(20, 30, 224), (224, 336));
        assert_eq!(resized_dimensions(512, 512, 224), (224, 224));
        assert_eq!(resized_dimensions(1, 3, 224), (224, 672));
    }

    #[test]
    fn same_size_is_a_centre_crop_and_constant_stays_constant() {
        let img = RgbImage::from_fn(40, 32, |x, y| ::image::Rgb([x as u8, y as u8, (x * y) as u8]));
        let crop = resize_crop(&img, 32);
        assert_eq!(crop.get_pixel(0, 0), img.get_pixel(4, 0));
        assert_eq!(crop.get_pixel(31, 31), img.get_pixel(35, 31));
        let flat = RgbImage::from_pixel(97, 61, ::image::Rgb([10, 128, 250]));
        for size in [16, 61, 224] {
            assert!(resize_crop(&flat, size).pixels().all(|p| p.0 == [10, 128, 250]), "{size}");
        }
    }

    #[test]
    fn extreme_aspect_ratios_stay_bounded() {
        let thin = RgbImage::from_fn(3, 5000, |_, y| ::image::Rgb([(y % 256) as u8, 0, 255]));
        assert_eq!(resize_crop(&thin, 224).dimensions(), (224, 224));
        let wide = RgbImage::from_fn(5000, 1, |x, _| ::image::Rgb([0, (x % 256) as u8, 9]));
        assert_eq!(resize_crop(&wide, 224).dimensions(), (224, 224));
    }

    #[test]
    fn config_defaults_are_vit_b32_and_bad_configs_are_named() {
        assert_eq!(Config::from_json("{}").unwrap(), Config::vit_base_patch32());
        let cfg = Config::from_json(r#"{"text_config": {"hidden_size": 64, "num_attention_heads": 4}, "text_config_dict": null}"#)
            .unwrap();
        assert_eq!((cfg.text.hidden_size, cfg.text.vocab_size), (64, 49408));
        let e = Config::from_json(r#"{"vision_config": {"hidden_act": "gelu"}}"#).unwrap_err();
        assert!(e.contains("vision_config.hidden_act") && e.contains("gelu"), "{e}");
        let e = Config::from_json(r#"{"vision_config": {"image_size": 100}}"#).unwrap_err();
        assert!(e.contains("patch_size"), "{e}");
    }
}
