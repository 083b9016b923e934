//! Audio quality scorers. Decoding lives in `crate::media::audio`; each scorer here takes a file
//! (or mono samples) and returns a score in [0, 1], higher is better.
//!
//! - `audio-signal` (signal.rs): signal-level defects of any audio (speech, music, effects):
//!   clipping, DC offset, silence, noise floor / SNR, BS.1770 loudness (loudness.rs), bandwidth,
//!   spectral flatness (spectral.rs), combined by a weighted geometric mean.

pub mod loudness;
mod power_spectrum;
pub mod signal;
pub mod spectral;
pub mod speech_mos;

use super::ScorerInfo;
use crate::data::Modality;

/// Every audio scorer; append new ones to this list.
pub fn scorers() -> Vec<ScorerInfo> {
    vec![ScorerInfo {
        name: signal::NAME,
        modality: Modality::Audio,
        description: "signal-level defects (clipping, DC, silence, SNR estimate, BS.1770 loudness, \
                      bandwidth, flatness), each mapped to [0,1] and combined by a weighted \
                      geometric mean; raw = that mean",
        lower_better_raw: false,
        default: true,
        build: signal::build,
    }, speech_mos::info()]
}
