//! Image captioning: the [`ImageCaptioner`] trait every image captioner implements, the errors
//! they share, and the parts they have in common (pixel preprocessing, the batched greedy
//! decoding loop, prompt trimming, deterministic random checkpoints for tests and benches).
//!
//! Implementations: [`super::blip`] (BLIP, the `captioner-image` cards) and [`super::vlm`]
//! (moondream2, the `captioner-vlm` card). [`open`] picks one from a model card's
//! `architecture`, so callers never name a model.
//!
//! Batching: a batch shares one prompt, so every row of the decoder has the same prefix length
//! and no padding is needed; [`greedy_batch`] generates all rows together (a row that reached
//! its stop token keeps being fed, its further tokens are discarded) until every row stopped or
//! the token limit is reached. Where candle's model code cannot take a batch in one part (BLIP's
//! text decoder, moondream's vision tower: both add a position table without broadcasting),
//! that part loops over the images and the other part stays batched; each module says which. A
//! batch of N produces exactly what N single-image calls produce (tested).

use crate::media::image::{load_rgb, MAX_PIXELS};
use crate::media::MediaError;
use crate::progress::ProgressMode;
use crate::runtime::card::{find_card, ModelCard};
use crate::runtime::model_store::{ModelError, ModelFiles, ModelStore};
use candle_core::{DType, Device, Shape, Tensor, D};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;
use image::imageops::FilterType;
use image::RgbImage;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokenizers::Tokenizer;

/// Images per forward pass when the caller does not say: a few on CPU (memory grows with the
/// batch and a CPU gains little from more), more on a GPU.
pub const CPU_BATCH: usize = 4;
pub const GPU_BATCH: usize = 16;
/// Resampling for the square model input: bicubic, as the reference processors (PIL BICUBIC)
/// do. Catmull-Rom is the a = -0.5 cubic PIL uses; both widen the kernel when shrinking.
pub const RESIZE_FILTER: FilterType = FilterType::CatmullRom;

/// One caption, with what produced it (issue 5: the caption records its model and prompt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCaption {
    pub text: String,
    /// The model card's name.
    pub model: String,
    /// The conditioning text exactly as the model saw it (after trimming and templating);
    /// `None` for an unconditional caption.
    pub prompt_used: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptionError {
    /// Not installed (the message names `omniscore models pull <card>`), damaged, or no card.
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("image {index} of the batch: {detail}")]
    Image { index: usize, detail: String },
    #[error("{}: tokenizer: {detail}", path.display())]
    Tokenizer { path: PathBuf, detail: String },
    #[error("captioner `{model}`: {what}: {source}")]
    Candle { model: String, what: &'static str, source: candle_core::Error },
    #[error("captioner `{model}`: {detail}")]
    Config { model: String, detail: String },
    #[error("captioner `{model}`: decoding the tokens: {detail}")]
    Decode { model: String, detail: String },
    #[error("model card `{card}`: architecture `{architecture}` is not an image captioner (known: {known})")]
    Architecture { card: String, architecture: String, known: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// Maps a candle error to [`CaptionError::Candle`] for model `model`.
pub(crate) fn candle_err<'a>(model: &'a str, what: &'static str) -> impl Fn(candle_core::Error) -> CaptionError + 'a {
    move |source| CaptionError::Candle { model: model.to_string(), what, source }
}

/// A captioner of still images. Implementations are immutable once loaded (each call works on
/// its own copy of the decoder's cache), so one captioner can serve several threads.
pub trait ImageCaptioner: Send + Sync {
    /// The model card's name.
    fn model(&self) -> &str;

    /// Captions every image, conditioned on `prompt` (the task's question) when given; one
    /// caption per image, in order.
    fn caption_batch(&self, images: &[RgbImage], prompt: Option<&str>) -> Result<Vec<ImageCaption>, CaptionError>;

    /// One image.
    fn caption(&self, image: &RgbImage, prompt: Option<&str>) -> Result<ImageCaption, CaptionError> {
        let mut out = self.caption_batch(std::slice::from_ref(image), prompt)?;
        out.pop().ok_or_else(|| CaptionError::Decode { model: self.model().into(), detail: "no caption".into() })
    }
}

/// Decoding limits shared by the captioners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// Tokens generated per image at most (the stop token not counted).
    pub max_new_tokens: usize,
    /// Images per forward pass; a larger batch is split.
    pub batch_size: usize,
}

impl Generation {
    pub fn for_device(max_new_tokens: usize, device: &Device) -> Generation {
        Generation { max_new_tokens, batch_size: if device.is_cpu() { CPU_BATCH } else { GPU_BATCH } }
    }
}

/// The model input: a square resize and per-channel normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocess {
    /// Side of the square input, pixels.
    pub size: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// Refuses an empty image or one over the decoder's pixel limit, naming its place in the batch.
pub fn check_images(images: &[RgbImage]) -> Result<(), CaptionError> {
    for (index, im) in images.iter().enumerate() {
        let (w, h) = im.dimensions();
        if w == 0 || h == 0 {
            return Err(CaptionError::Image { index, detail: format!("empty image ({w}x{h})") });
        }
        let pixels = u64::from(w) * u64::from(h);
        if pixels > MAX_PIXELS {
            return Err(CaptionError::Image {
                index,
                detail: format!("{w}x{h} is above the {} Mpx limit", MAX_PIXELS / 1_000_000),
            });
        }
    }
    Ok(())
}

/// Decodes an image file for captioning (the size rule of [`crate::media::image`]).
pub fn load_image(path: &Path) -> Result<RgbImage, CaptionError> {
    Ok(load_rgb(path)?)
}

impl Preprocess {
    /// Resizes each image to `size` x `size` (aspect ratio not kept: the reference processors
    /// squash, they do not crop), scales to [0, 1] and normalises: a (batch, 3, size, size)
    /// tensor of `dtype` on `device`.
    pub fn tensor(&self, images: &[RgbImage], device: &Device, dtype: DType) -> candle_core::Result<Tensor> {
        let s = self.size;
        let plane = (s * s) as usize;
        let mut data = vec![0f32; images.len() * 3 * plane];
        for (b, im) in images.iter().enumerate() {
            let resized;
            let im = if im.dimensions() == (s, s) {
                im
            } else {
                resized = image::imageops::resize(im, s, s, RESIZE_FILTER);
                &resized
            };
            let base = b * 3 * plane;
            for (i, px) in im.pixels().enumerate() {
                for c in 0..3 {
                    // Rescale then normalise in that order, as the reference processors do.
                    let v = f32::from(px[c]) * (1.0 / 255.0);
                    data[base + c * plane + i] = (v - self.mean[c]) / self.std[c];
                }
            }
        }
        Tensor::from_vec(data, (images.len(), 3, s as usize, s as usize), device)?.to_dtype(dtype)
    }
}

/// Greedy decoding for a batch sharing one prefix. `step(None)` runs the prefix and returns the
/// logits of its last position, (batch, vocab); `step(Some(tokens))` feeds one token per row.
/// Returns each row's tokens up to (not including) `stop`, at most `max_new` of them.
pub(crate) fn greedy_batch(
    batch: usize,
    max_new: usize,
    stop: u32,
    mut step: impl FnMut(Option<&[u32]>) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Vec<Vec<u32>>> {
    let mut out = vec![Vec::new(); batch];
    let mut done = vec![false; batch];
    let mut last: Vec<u32> = Vec::new();
    for i in 0..max_new {
        let logits = step(if i == 0 { None } else { Some(&last) })?;
        let next: Vec<u32> = logits.to_dtype(DType::F32)?.argmax(D::Minus1)?.to_vec1()?;
        for (row, &t) in next.iter().enumerate() {
            if done[row] {
                continue;
            }
            if t == stop {
                done[row] = true;
            } else {
                out[row].push(t);
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
        last = next;
    }
    Ok(out)
}

/// A checkpoint's weights (memory-mapped safetensors, as `dtype`) and tokenizer, with errors
/// that name the card and the file.
pub(crate) fn open_checkpoint<'a>(
    name: &str,
    weights: &Path,
    tokenizer: &Path,
    dtype: DType,
    device: &'a Device,
) -> Result<(VarBuilder<'a>, Tokenizer), CaptionError> {
    if !weights.is_file() {
        return Err(ModelError::Io {
            card: name.into(),
            path: weights.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "weights file not found"),
        }
        .into());
    }
    let tok = read_tokenizer(tokenizer)?;
    // SAFETY: the store's files are not modified while the process runs.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], dtype, device) }
        .map_err(candle_err(name, "reading the safetensors weights"))?;
    Ok((vb, tok))
}

/// Loads a tokenizer.json.
pub(crate) fn read_tokenizer(path: &Path) -> Result<Tokenizer, CaptionError> {
    Tokenizer::from_file(path).map_err(|e| CaptionError::Tokenizer { path: path.to_path_buf(), detail: e.to_string() })
}

/// The first `budget` tokens of `text` (no special tokens added) and their decoded text, which
/// is what the model is then said to have seen. `None` when nothing is left.
pub(crate) fn trim_prompt(
    tokenizer: &Tokenizer,
    text: &str,
    budget: usize,
    model: &str,
) -> Result<Option<(Vec<u32>, String)>, CaptionError> {
    let bad = |e: tokenizers::Error| CaptionError::Decode { model: model.into(), detail: e.to_string() };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let enc = tokenizer.encode(text, false).map_err(bad)?;
    let ids: Vec<u32> = enc.get_ids().iter().copied().take(budget).collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let shown = if ids.len() == enc.get_ids().len() {
        text.to_string()
    } else {
        // Cut at the last kept token's end in the original text, so the recorded prompt is a
        // prefix of the user's text rather than its normalised decoding.
        let end = enc.get_offsets().get(ids.len() - 1).map_or(text.len(), |o| o.1);
        text.get(..end).unwrap_or(text).trim_end().to_string()
    };
    Ok(Some((ids, shown)))
}

/// Finds card `name_or_role`'s files (fetching them unless `offline`) and loads the captioner
/// its `architecture` names.
pub fn open(
    name_or_role: &str,
    store: &ModelStore,
    offline: bool,
    progress: ProgressMode,
    device: &Device,
) -> Result<Box<dyn ImageCaptioner>, CaptionError> {
    let card = find_card(name_or_role).map_err(ModelError::from)?;
    known_architecture(&card)?;
    let files = if offline { store.locate(&card)? } else { store.locate_or_pull(&card, progress)? };
    load(&files, device)
}

/// Loads the captioner for an installed card's files.
pub fn load(files: &ModelFiles, device: &Device) -> Result<Box<dyn ImageCaptioner>, CaptionError> {
    let card = &files.card;
    known_architecture(card)?;
    if super::blip::Variant::from_architecture(&card.architecture).is_some() {
        Ok(Box::new(super::blip::BlipCaptioner::load(files, device)?))
    } else {
        Ok(Box::new(super::vlm::MoondreamCaptioner::load(files, device)?))
    }
}

fn known_architecture(card: &ModelCard) -> Result<(), CaptionError> {
    let a = card.architecture.as_str();
    if super::blip::Variant::from_architecture(a).is_some() || a == super::vlm::ARCHITECTURE {
        return Ok(());
    }
    let mut known: Vec<&str> = super::blip::Variant::ALL.iter().map(|v| v.architecture()).collect();
    known.push(super::vlm::ARCHITECTURE);
    Err(CaptionError::Architecture {
        card: card.name.clone(),
        architecture: card.architecture.clone(),
        known: known.join(", "),
    })
}

/// A VarBuilder backend that makes up every tensor a model asks for, deterministically (each
/// tensor's values depend only on its name and the seed), and remembers them so they can be
/// written out as a checkpoint with the names the model reads.
struct RandomBackend {
    seed: u64,
    made: Mutex<HashMap<String, Tensor>>,
}

/// splitmix64: small, fast, and the same on every machine.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RandomBackend {
    fn values(&self, name: &str, shape: &Shape) -> Vec<f32> {
        // FNV-1a of the name, so a tensor does not change when another one is added.
        let mut state =
            name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        state ^= self.seed;
        let dims = shape.dims();
        // Matrices scaled like a uniform fan-in initialisation so activations stay O(1); vectors
        // (norm weights, biases) spread around 1 or 0 so they are not all alike.
        let (centre, half) = match (dims.len(), name.ends_with("weight")) {
            (1, true) => (1.0, 0.25),
            (1, false) => (0.0, 0.25),
            _ => (0.0, (3.0 / *dims.last().unwrap_or(&1) as f32).sqrt()),
        };
        (0..shape.elem_count())
            .map(|_| {
                let u = (splitmix(&mut state) >> 40) as f32 / (1u64 << 24) as f32;
                centre + half * (2.0 * u - 1.0)
            })
            .collect()
    }
}

impl SimpleBackend for RandomBackend {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut made = self.made.lock().expect("random backend lock");
        if let Some(t) = made.get(name) {
            if t.shape() != &s {
                candle_core::bail!("{name} asked for as {s:?} and as {:?}", t.shape())
            }
            return t.to_dtype(dtype)?.to_device(dev);
        }
        let t = Tensor::from_vec(self.values(name, &s), s, &Device::Cpu)?;
        made.insert(name.to_string(), t.clone());
        t.to_dtype(dtype)?.to_device(dev)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("random checkpoint: `{name}` asked for without a shape")
    }

    fn contains_tensor(&self, _name: &str) -> bool {
        true
    }
}

/// Writes `tensors` as `dir/weights_file` (safetensors) and `tokenizer_json` as
/// `dir/tokenizer_file`: a test checkpoint in the Hub layout. Returns (weights, tokenizer).
pub fn save_checkpoint(
    dir: &std::path::Path,
    model: &str,
    tensors: &HashMap<String, Tensor>,
    (weights_file, tokenizer_file): (&str, &str),
    tokenizer_json: &str,
) -> Result<(PathBuf, PathBuf), CaptionError> {
    let weights = dir.join(weights_file);
    candle_core::safetensors::save(tensors, &weights).map_err(candle_err(model, "writing the weights"))?;
    let tokenizer = dir.join(tokenizer_file);
    std::fs::write(&tokenizer, tokenizer_json).map_err(|source| CaptionError::Io { path: tokenizer.clone(), source })?;
    Ok((weights, tokenizer))
}

/// A deterministic random checkpoint for whatever model `build` constructs from the VarBuilder:
/// every tensor it reads, by name (the names the real checkpoints use), in f32. Tests and
/// benches write it as safetensors and load it back through the normal loading path.
pub fn random_checkpoint(
    seed: u64,
    build: impl FnOnce(VarBuilder) -> candle_core::Result<()>,
) -> candle_core::Result<HashMap<String, Tensor>> {
    let backend = std::sync::Arc::new(RandomBackend { seed, made: Mutex::new(HashMap::new()) });
    struct Shared(std::sync::Arc<RandomBackend>);
    impl SimpleBackend for Shared {
        fn get(&self, s: Shape, n: &str, h: candle_nn::Init, d: DType, dev: &Device) -> candle_core::Result<Tensor> {
            self.0.get(s, n, h, d, dev)
        }
        fn get_unchecked(&self, n: &str, d: DType, dev: &Device) -> candle_core::Result<Tensor> {
            self.0.get_unchecked(n, d, dev)
        }
        fn contains_tensor(&self, n: &str) -> bool {
            self.0.contains_tensor(n)
        }
    }
    let vb = VarBuilder::from_backend(Box::new(Shared(backend.clone())), DType::F32, Device::Cpu);
    build(vb)?;
    let made = std::mem::take(&mut *backend.made.lock().expect("random backend lock"));
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_stops_per_row_and_at_the_limit() {
        // Row 0 emits 5,6,stop; row 1 never stops.
        let script = [[5u32, 7], [6, 8], [1, 9], [4, 4], [4, 4]];
        let mut i = 0;
        let out = greedy_batch(2, 4, 1, |_| {
            let row = script[i];
            i += 1;
            let mut logits = vec![0f32; 2 * 10];
            logits[row[0] as usize] = 1.0;
            logits[10 + row[1] as usize] = 1.0;
            Tensor::from_vec(logits, (2, 10), &Device::Cpu)
        })
        .unwrap();
        assert_eq!(out, vec![vec![5, 6], vec![7, 8, 9, 4]]);
        assert_eq!(i, 4, "stops at max_new");
    }

    #[test]
    fn preprocess_normalises_channels_first() {
        let mut im = RgbImage::new(2, 2);
        im.put_pixel(1, 0, image::Rgb([255, 0, 51]));
        let p = Preprocess { size: 2, mean: [0.5; 3], std: [0.5; 3] };
        let t = p.tensor(&[im], &Device::Cpu, DType::F32).unwrap();
        assert_eq!(t.dims(), &[1, 3, 2, 2]);
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(v[1], 1.0);
        assert_eq!(v[4 + 1], -1.0);
        assert!((v[8 + 1] - (0.2 - 0.5) / 0.5).abs() < 1e-6);
        assert_eq!(v[0], -1.0);
    }

    #[test]
    fn empty_and_huge_images_are_refused_by_index() {
        let e = check_images(&[RgbImage::new(1, 1), RgbImage::new(0, 3)]).unwrap_err().to_string();
        assert!(e.contains("image 1") && e.contains("empty"), "{e}");
    }

    #[test]
    fn random_checkpoints_depend_on_name_and_seed_only() {
        let a = random_checkpoint(7, |vb| {
            vb.get((2, 3), "a.weight")?;
            vb.get(4, "b.bias")?;
            Ok(())
        })
        .unwrap();
        let b = random_checkpoint(7, |vb| {
            vb.get(4, "b.bias")?;
            vb.get((2, 3), "a.weight")?;
            Ok(())
        })
        .unwrap();
        let c = random_checkpoint(8, |vb| vb.get((2, 3), "a.weight").map(|_| ())).unwrap();
        let v = |m: &HashMap<String, Tensor>, k: &str| m[k].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v(&a, "a.weight"), v(&b, "a.weight"));
        assert_eq!(v(&a, "b.bias"), v(&b, "b.bias"));
        assert_ne!(v(&a, "a.weight"), v(&c, "a.weight"));
    }
}
