//! The caption stage of `score`: each non-text media item of a response becomes text
//! (caption::item), one stored unit per item, so a resumed run captions nothing twice; the
//! judge then sees `<tag: caption>` in place of each placeholder.

use super::{CaseKeys, PipelineError};
use crate::caption::item::ItemCaptioner;
use crate::cases::Case;
use crate::data::{Modality, Tag};
use crate::fingerprint::combine;
use crate::store::{Store, UnitKey};
use crate::units::{stage, CaptionUnit, MediaStatus, StructureUnit};
use std::collections::BTreeMap;
use std::path::Path;

/// Captions the case's media items, reusing stored units; records their keys and returns the
/// captions the judge should see (items without one stay bare placeholders).
pub(super) fn caption_case(
    captioner: &ItemCaptioner,
    store: &Store,
    case: &Case,
    unit: &StructureUnit,
    keys: &mut CaseKeys,
) -> Result<BTreeMap<Tag, String>, PipelineError> {
    let mut captions = BTreeMap::new();
    if case.response.is_none() {
        return Ok(captions);
    }
    let question = case.ground_truth.question.as_str();
    let models = captioner.models().join(",");
    for item in &unit.items {
        if matches!(item.modality, Modality::Text | Modality::Code) {
            continue; // inline text: shown as written (caption::captioned_response)
        }
        let MediaStatus::Present { path } = &item.media else { continue };
        let Ok(digest) = crate::fingerprint::file_sha256(Path::new(path)) else { continue };
        let fp = combine(&[stage::CAPTION.as_bytes(), models.as_bytes(), digest.as_bytes(), question.as_bytes()]);
        let key = UnitKey::new(&unit.id, &item.tag.to_string(), stage::CAPTION, fp.clone());
        let stored: Option<CaptionUnit> = store.get(&key)?;
        let caption = match stored {
            Some(c) => c,
            None => {
                let c = match captioner.caption(item.modality, Path::new(path), question) {
                    Ok((parts, skipped)) => {
                        let reason = (!skipped.is_empty()).then(|| skipped.join("; "));
                        CaptionUnit::from_parts(parts, reason)
                    }
                    Err(why) => CaptionUnit::from_parts(Vec::new(), Some(why)),
                };
                store.put(&key, &c)?;
                c
            }
        };
        if let Some(text) = caption.text {
            captions.insert(item.tag, text);
        }
        keys.captioned.push((item.tag, fp));
    }
    Ok(captions)
}
