//! Helpers shared by the integration tests that use real weights.

use std::path::PathBuf;

/// Where the model store puts `card` (searched like the binary does: `$OMNISCORE_MODELS`, the
/// project's `models/store`, the Hugging Face cache); the first store root when it is not there.
pub fn model_dir(card: &str) -> PathBuf {
    let store = omniscore::runtime::model_store::ModelStore::from_env();
    match omniscore::runtime::card::find_card(card).map(|c| store.locate(&c)) {
        Ok(Ok(files)) => files.dir,
        _ => store.roots().next().map(|r| r.join(card)).unwrap_or_else(|| PathBuf::from(card)),
    }
}
