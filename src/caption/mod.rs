//! Turning a response into text for the judge: each item placeholder is replaced in place by
//! `<tag: text>`. Inline items carry their own text (code: its first [`CODE_CHARS`] characters,
//! as the official suite does); media items get their caption when a captioner has produced
//! one, and stay a bare `<tag>` otherwise.

pub mod blip;
pub mod command;
pub mod describe;
pub mod image;
pub mod item;
pub mod keyframes;
pub mod mel;
pub mod mesh_render;
pub mod palette;
pub mod vlm;
pub mod whisper;

use crate::data::placeholder::substitute;
use crate::data::{Instance, Modality, Tag};
use std::collections::BTreeMap;

/// The official suite shows code to the judge as its first 6000 characters.
pub const CODE_CHARS: usize = 6000;

/// The response's `output.content` with every item shown as text where it can be.
pub fn captioned_response(response: &Instance, captions: &BTreeMap<Tag, String>) -> String {
    let text_of = |tag: Tag| -> Option<String> {
        if let Some(c) = captions.get(&tag) {
            return Some(c.clone());
        }
        let value = response.output.modal.get(&tag)?.as_ref()?;
        match tag.modality {
            Modality::Text => Some(value.clone()),
            Modality::Code => Some(value.chars().take(CODE_CHARS).collect()),
            _ => None,
        }
    };
    let mut out = substitute(&response.output.content, |tag| text_of(tag).map(|t| format!("<{tag}: {t}>")));
    // Items only in `modal` still belong to the answer: append them so the judge sees them.
    for tag in response.output.items.modal_only() {
        match text_of(tag) {
            Some(t) => out.push_str(&format!("\n<{tag}: {t}>")),
            None => out.push_str(&format!("\n<{tag}>")),
        }
    }
    out
}
