//! document quality scorers (being written).

use super::ScorerInfo;

pub fn scorers() -> Vec<ScorerInfo> {
    Vec::new()
}
