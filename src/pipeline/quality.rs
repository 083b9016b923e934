//! The GQ stage of `score`: each generated non-text item is scored by the default quality
//! scorers of its modality (quality::registry), one stored unit per item, so a resumed run
//! rescores nothing it finished.

use super::{CaseKeys, PipelineError};
use crate::cases::Case;
use crate::data::Modality;
use crate::fingerprint::combine;
use crate::quality::{registry, Scorer, ScorerContext};
use crate::store::{Store, UnitKey};
use crate::units::{stage, MediaStatus, QualityUnit, ScorerResult, StructureUnit};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of how scorer results become an item's GQ; part of every fingerprint.
const QUALITY_VERSION: &[u8] = b"quality/v1";

pub(super) struct QualityEngines {
    /// Per modality, the default scorers, or why each could not be built.
    scorers: BTreeMap<Modality, Vec<(String, Result<Box<dyn Scorer>, String>)>>,
}

impl QualityEngines {
    pub(super) fn load(ctx: &ScorerContext) -> QualityEngines {
        let mut scorers = BTreeMap::new();
        for m in Modality::ALL {
            let built: Vec<_> = registry::defaults(m)
                .into_iter()
                .map(|info| (info.name.to_string(), (info.build)(ctx).map_err(|e| e.to_string())))
                .collect();
            scorers.insert(m, built);
        }
        QualityEngines { scorers }
    }

    /// Names of the scorers in use, for the run manifest.
    pub(super) fn names(&self) -> Vec<String> {
        self.scorers.values().flatten().map(|(n, _)| n.clone()).collect()
    }

    /// Scores the case's generated items, reusing stored units; records their keys.
    pub(super) fn score_case(&self, store: &Store, case: &Case, unit: &StructureUnit, keys: &mut CaseKeys) -> Result<(), PipelineError> {
        let Some((response, _)) = &case.response else { return Ok(()) };
        for item in &unit.items {
            let Some(scorers) = self.scorers.get(&item.modality).filter(|s| !s.is_empty()) else { continue };
            // What the item is: a file's content hash, or inline text (code).
            let (subject, inline): (String, Option<&str>) = match &item.media {
                MediaStatus::Present { path } => match crate::fingerprint::file_sha256(Path::new(path)) {
                    Ok(d) => (d, None),
                    Err(_) => continue, // vanished since the structure pass: reported there on rerun
                },
                MediaStatus::Inline => match response.output.modal.get(&item.tag).and_then(|v| v.as_deref()) {
                    Some(text) => (String::new(), Some(text)),
                    None => continue,
                },
                _ => continue, // missing media: its reason comes from the structure unit
            };
            let versions: Vec<String> =
                scorers.iter().map(|(n, s)| format!("{n}@{}", s.as_ref().map_or("unbuilt", |s| s.version()))).collect();
            let fp = combine(&[QUALITY_VERSION, versions.join(",").as_bytes(), subject.as_bytes(), inline.unwrap_or("").as_bytes()]);
            let key = UnitKey::new(&unit.id, &item.tag.to_string(), stage::QUALITY, fp.clone());
            if !store.contains(&key)? {
                let results = scorers
                    .iter()
                    .map(|(name, scorer)| {
                        let score = match scorer {
                            Ok(s) => match (&item.media, inline) {
                                (_, Some(text)) => s.score_text(text),
                                (MediaStatus::Present { path }, None) => s.score_path(Path::new(path)),
                                _ => unreachable!("only present or inline items get here"),
                            }
                            .unwrap_or_else(|e| crate::quality::QualityScore::unscored(e.to_string())),
                            Err(why) => crate::quality::QualityScore::unscored(why.clone()),
                        };
                        ScorerResult { scorer: name.clone(), version: scorer.as_ref().map_or("", |s| s.version()).to_string(), score }
                    })
                    .collect();
                store.put(&key, &QualityUnit::from_results(results))?;
            }
            keys.quality.push((item.tag, fp));
        }
        Ok(())
    }
}
