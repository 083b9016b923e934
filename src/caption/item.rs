//! One response item turned into caption parts: which producer handles which modality.
//!
//! - audio: the Whisper transcript (when it heard speech) and a description of the signal
//!   (duration, loudness, speech/music/silence shares), so music and effects are not empty;
//! - image: the image captioner, conditioned on the question;
//! - video: keyframes captioned by the image captioner and the audio track transcribed, merged in
//!   time order;
//! - document: its structure and the first characters of its text;
//! - 3D: a summary (format, counts, bounding box, watertightness) and rendered views captioned by
//!   the image captioner.
//!
//! A producer whose model is not installed is skipped with its reason; the item still gets every
//! part the other producers could write, and no part at all only when none could.

use super::image::ImageCaptioner;
use super::whisper::Transcriber;
use crate::data::Modality;
use crate::media::audio::{self, Audio};
use crate::quality::ScorerContext;
use crate::runtime::card::{default_card, find_card, Role};
use crate::units::CaptionPart;
use std::path::Path;
use std::sync::Mutex;

/// Version of the rules in this file; part of every caption fingerprint.
pub const CAPTION_RULES_VERSION: &str = "caption/v1";

/// Why images get no model caption when no captioner card was named.
pub const NO_IMAGE_CAPTIONER: &str = "no image captioner chosen (--captioner blip-image-captioning-large or moondream2, \
after `omniscore models pull <card>`)";

/// Side of each rendered 3D view, pixels (the captioners resize to their own input size).
const VIEW_SIDE: u32 = 384;

/// A part computed from the file by a stated rule, with no model.
fn rule_part(kind: &str, text: String) -> CaptionPart {
    CaptionPart { kind: kind.into(), model: None, prompt: None, text }
}

/// What produced no part, and why: joined into the item's reason.
pub type Skipped = Vec<String>;

/// The loaded caption models, or why each could not be loaded.
pub struct ItemCaptioner {
    asr: Result<(String, Mutex<Transcriber>), String>,
    image: Result<Box<dyn ImageCaptioner>, String>,
}

/// Loads the card (the role's default when `name` is None) through the store, pulling it unless
/// offline; the error is the reason every caption it would have written is missing.
fn locate(ctx: &ScorerContext, name: Option<&str>, role: Role) -> Result<crate::runtime::model_store::ModelFiles, String> {
    let card = match name {
        Some(n) => find_card(n),
        None => default_card(role),
    }
    .map_err(|e| e.to_string())?;
    let files = if ctx.offline { ctx.store.locate(&card) } else { ctx.store.locate_or_pull(&card, ctx.progress) };
    files.map_err(|e| format!("{role} model `{}` is not available ({e}); install it with `omniscore models pull {}`", card.name, card.name))
}

impl ItemCaptioner {
    /// Loads the ASR model and the image captioner (card names; None for the role defaults).
    pub fn load(ctx: &ScorerContext, asr: Option<&str>, image: Option<&str>) -> ItemCaptioner {
        let asr = locate(ctx, asr, Role::Asr).and_then(|files| {
            let name = files.card.name.clone();
            Transcriber::load(&files, &ctx.device).map(|t| (name, Mutex::new(t))).map_err(|e| e.to_string())
        });
        // No image-captioner card is a default (none is fetchable without the Hub, and defaults
        // must pin their hashes): without --captioner, images are described from their pixels.
        let image = match image {
            Some(name) => locate(ctx, Some(name), Role::CaptionerImage)
                .and_then(|files| super::image::load(&files, &ctx.device).map_err(|e| e.to_string())),
            None => Err(NO_IMAGE_CAPTIONER.to_string()),
        };
        ItemCaptioner { asr, image }
    }

    /// The models behind the captions, for fingerprints and the run manifest.
    pub fn models(&self) -> Vec<String> {
        let mut v = vec![CAPTION_RULES_VERSION.to_string()];
        v.push(match &self.asr {
            Ok((name, _)) => format!("asr={name}"),
            Err(_) => "asr=none".into(),
        });
        v.push(match &self.image {
            Ok(c) => format!("image={}", c.model()),
            Err(_) => "image=none".into(),
        });
        v
    }

    /// Caption parts for one media file, and what was skipped (with why). An error is a file
    /// that cannot be read at all.
    pub fn caption(&self, modality: Modality, path: &Path, question: &str) -> Result<(Vec<CaptionPart>, Skipped), String> {
        match modality {
            Modality::Audio => {
                let a = audio::decode(path).map_err(|e| e.to_string())?;
                let mut skipped = Vec::new();
                let mut parts = Vec::new();
                if let Some(p) = self.speech(&a, &mut skipped) {
                    parts.push(p);
                }
                // What the signal is (speech, music, silence shares), so music and effects are
                // not captioned as nothing.
                parts.push(rule_part("sound", super::describe::sound::describe_audio(&a).text()));
                if let Some(why) = &a.truncated {
                    skipped.push(format!("{why}: captioned what decodes"));
                }
                Ok((parts, skipped))
            }
            Modality::Image => {
                let img = crate::media::image::load_rgb(path).map_err(|e| e.to_string())?;
                let mut skipped = Vec::new();
                Ok((vec![self.image_part(&img, question, "image", &mut skipped)], skipped))
            }
            Modality::Video => self.video(path, question),
            Modality::Document => {
                let d = super::describe::describe_document_file(path).map_err(|e| e.to_string())?;
                Ok((vec![rule_part("document", d.text())], Vec::new()))
            }
            Modality::ThreeD => {
                let mesh = crate::media::mesh::load(path).map_err(|e| e.to_string())?;
                let mut parts = vec![rule_part("summary", super::describe::describe_mesh(&mesh).text())];
                let mut skipped = Vec::new();
                // Rendered views are only worth showing a model: the pixel description of a
                // grey render on white says nothing the summary does not.
                if self.image.is_ok() {
                    let views = super::mesh_render::render_views(&mesh, &super::mesh_render::STANDARD_VIEWS, VIEW_SIDE, VIEW_SIDE);
                    for v in views {
                        let mut p = self.image_part(&v.image, question, "view", &mut skipped);
                        p.text = format!("{} view: {}", v.view.name, p.text);
                        parts.push(p);
                    }
                }
                Ok((parts, skipped))
            }
            Modality::Code => {
                let c = super::describe::describe_code_file(path).map_err(|e| e.to_string())?;
                Ok((vec![rule_part("code", c.text())], Vec::new()))
            }
            Modality::Text => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok((vec![rule_part("text", text.chars().take(super::describe::DOCUMENT_CHARS).collect())], Vec::new()))
            }
        }
    }

    /// Keyframes (caption::keyframes' rule) captioned by the image captioner and the audio
    /// track transcribed, merged in time order. Without an image captioner the frames are
    /// described from their pixels.
    fn video(&self, path: &Path, question: &str) -> Result<(Vec<CaptionPart>, Skipped), String> {
        let kf = super::keyframes::keyframes(path, &super::keyframes::KeyframeRule::default()).map_err(|e| e.to_string())?;
        let mut skipped = Vec::new();
        let mut images = Vec::new();
        let mut model = None;
        let mut prompt = None;
        let mut first_failure = None;
        for f in &kf.frames {
            let mut why = Vec::new();
            let p = self.image_part(&f.image, question, "keyframe", &mut why);
            if first_failure.is_none() {
                first_failure = why.pop();
            }
            model = model.or(p.model.clone());
            prompt = prompt.or(p.prompt.clone());
            images.push((f.pts_s, p.text));
        }
        skipped.extend(first_failure);
        // The audio track, when the container has one symphonia can decode.
        let mut speech = Vec::new();
        if let Ok(a) = audio::decode(path) {
            if let Some((name, t)) = self.asr.as_ref().ok() {
                match t.lock().unwrap_or_else(|e| e.into_inner()).transcribe(&a) {
                    Ok(tr) => {
                        speech = tr.segments.iter().map(|s| (s.start, s.end, s.text.trim().to_string())).collect();
                        if !speech.is_empty() {
                            model = Some(model.map_or(name.clone(), |m| format!("{m} + {name}")));
                        }
                    }
                    Err(e) => skipped.push(format!("transcribing the audio track failed: {e}")),
                }
            }
        }
        if let Some(why) = &kf.truncated {
            skipped.push(format!("{why}: keyframes chosen from the {} frames that decode", kf.frames_scanned));
        }
        let text = super::keyframes::merge_timeline(&images, &speech);
        if text.is_empty() {
            return Ok((Vec::new(), skipped));
        }
        Ok((vec![CaptionPart { kind: "video".into(), model, prompt, text }], skipped))
    }

    /// The image captioner's caption conditioned on the question, or, without a captioner, a
    /// description of the pixels (caption::palette) that says no model wrote it.
    fn image_part(&self, img: &image::RgbImage, question: &str, kind: &str, skipped: &mut Skipped) -> CaptionPart {
        let prompt = (!question.trim().is_empty()).then_some(question);
        let why = match &self.image {
            Ok(c) => match c.caption(img, prompt) {
                Ok(cap) => return CaptionPart { kind: kind.into(), model: Some(cap.model), prompt: cap.prompt_used, text: cap.text },
                Err(e) => format!("image captioning failed: {e}"),
            },
            Err(why) => why.clone(),
        };
        skipped.push(format!("{why}; described from its pixels instead"));
        CaptionPart { kind: kind.into(), model: None, prompt: None, text: super::palette::describe(img) }
    }

    /// The transcript as a `speech` part, when speech was heard.
    fn speech(&self, a: &Audio, skipped: &mut Skipped) -> Option<CaptionPart> {
        let (name, transcriber) = match &self.asr {
            Ok(t) => t,
            Err(why) => {
                skipped.push(why.clone());
                return None;
            }
        };
        let mut t = transcriber.lock().unwrap_or_else(|e| e.into_inner());
        match t.transcribe(a) {
            Ok(tr) if !tr.text.trim().is_empty() => Some(CaptionPart {
                kind: "speech".into(),
                model: Some(name.clone()),
                prompt: None,
                text: format!("speech: \"{}\"", tr.text.trim()),
            }),
            Ok(_) => None,
            Err(e) => {
                skipped.push(format!("transcription failed: {e}"));
                None
            }
        }
    }
}
