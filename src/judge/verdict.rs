//! A rating read from the judge's next-token distribution: the probabilities of the rating
//! tokens 1-5 at the answer position, renormalised; the rating is their expectation. No
//! sampling, so the same model and input always give the same verdict.

use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

pub const RATINGS: usize = 5;
/// Below this total probability on the rating tokens the judge is not answering the question
/// (it wants to say something else): no verdict rather than a renormalised guess.
pub const MIN_RATING_MASS: f64 = 1e-4;

#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error("the tokenizer has no single token for rating {0} (tried \"{0}\" and \" {0}\")")]
    NoRatingToken(usize),
    #[error("the judge put only {mass:.2e} of its probability on the ratings 1-5 (minimum {MIN_RATING_MASS:.0e}); no verdict")]
    NoRatingMass { mass: f64 },
    #[error("logits have {got} entries but a rating token id is {id}")]
    VocabMismatch { got: usize, id: u32 },
}

/// Token ids that spell each rating; a rating may have several spellings (`"4"`, `" 4"`).
#[derive(Debug, Clone, PartialEq)]
pub struct RatingTokens {
    ids: [Vec<u32>; RATINGS],
}

impl RatingTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> Result<Self, VerdictError> {
        let mut ids: [Vec<u32>; RATINGS] = Default::default();
        for (k, slot) in ids.iter_mut().enumerate() {
            let digit = (k + 1).to_string();
            for spelling in [digit.clone(), format!(" {digit}")] {
                if let Ok(enc) = tokenizer.encode(spelling.as_str(), false) {
                    if let [id] = enc.get_ids() {
                        if !slot.contains(id) {
                            slot.push(*id);
                        }
                    }
                }
            }
            if slot.is_empty() {
                return Err(VerdictError::NoRatingToken(k + 1));
            }
        }
        Ok(RatingTokens { ids })
    }

    /// Adds the id each rating gets after `prefix` followed by a space (`"Rating: 4"`): the
    /// spelling the model actually produces there, whatever the tokenizer does with spaces.
    pub fn add_in_context(&mut self, tokenizer: &Tokenizer, prefix: &str) -> Result<(), VerdictError> {
        for (k, slot) in self.ids.iter_mut().enumerate() {
            let enc = tokenizer.encode(format!("{prefix} {}", k + 1).as_str(), false).map_err(|_| VerdictError::NoRatingToken(k + 1))?;
            let last = *enc.get_ids().last().ok_or(VerdictError::NoRatingToken(k + 1))?;
            let shown = tokenizer.decode(&[last], false).unwrap_or_default();
            if shown.trim() != (k + 1).to_string() {
                return Err(VerdictError::NoRatingToken(k + 1));
            }
            if !slot.contains(&last) {
                slot.push(last);
            }
        }
        Ok(())
    }

    pub fn ids(&self) -> &[Vec<u32>; RATINGS] {
        &self.ids
    }
}

/// The judge's distribution over the ratings 1-5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingDistribution {
    /// P(rating = k + 1), renormalised over the ratings.
    pub probs: [f64; RATINGS],
    /// Probability the model put on rating tokens at all, before renormalising.
    pub mass: f64,
}

impl RatingDistribution {
    /// From the next-token logits at the answer position.
    pub fn from_logits(logits: &[f32], tokens: &RatingTokens) -> Result<Self, VerdictError> {
        // log-sum-exp in f64 over the whole vocabulary for the un-renormalised mass.
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
        let mut raw = [0.0f64; RATINGS];
        for (k, ids) in tokens.ids.iter().enumerate() {
            for &id in ids {
                let l = *logits.get(id as usize).ok_or(VerdictError::VocabMismatch { got: logits.len(), id })?;
                raw[k] += (l as f64 - max).exp() / sum;
            }
        }
        let mass: f64 = raw.iter().sum();
        if !(mass >= MIN_RATING_MASS) {
            return Err(VerdictError::NoRatingMass { mass });
        }
        Ok(RatingDistribution { probs: raw.map(|p| p / mass), mass })
    }

    /// E[k], in [1, 5].
    pub fn expected(&self) -> f64 {
        self.probs.iter().enumerate().map(|(k, p)| (k + 1) as f64 * p).sum()
    }

    /// (E[k] - 1) / 4, in [0, 1].
    pub fn unit(&self) -> f64 {
        crate::metrics::ics::rating_to_unit(self.expected())
    }

    /// The most likely rating, for confidence displays.
    pub fn mode(&self) -> usize {
        let mut best = 0;
        for k in 1..RATINGS {
            if self.probs[k] > self.probs[best] {
                best = k;
            }
        }
        best + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> RatingTokens {
        RatingTokens { ids: [vec![1], vec![2], vec![3], vec![4, 9], vec![5]] }
    }

    #[test]
    fn expectation_over_rating_tokens() {
        let mut logits = vec![-30.0f32; 10];
        logits[4] = 0.0; // "4"
        logits[9] = 0.0; // " 4"
        logits[5] = 0.0; // "5"
        let d = RatingDistribution::from_logits(&logits, &tokens()).unwrap();
        assert!((d.probs[3] - 2.0 / 3.0).abs() < 1e-9 && (d.probs[4] - 1.0 / 3.0).abs() < 1e-9);
        assert!((d.expected() - (4.0 * 2.0 / 3.0 + 5.0 / 3.0)).abs() < 1e-9);
        assert_eq!(d.mode(), 4);
        assert!(d.mass > 0.99);
    }

    #[test]
    fn no_mass_on_ratings_is_no_verdict() {
        let mut logits = vec![-50.0f32; 10];
        logits[0] = 10.0;
        assert!(matches!(RatingDistribution::from_logits(&logits, &tokens()), Err(VerdictError::NoRatingMass { .. })));
        assert!(matches!(RatingDistribution::from_logits(&[0.0; 3], &tokens()), Err(VerdictError::VocabMismatch { .. })));
    }
}
