//! Fitting a judgement into the model's context. The rule, in order, each step repeated while
//! the prompt is too long: (1) shorten the captions inside the candidate (`<tag: ...>` parts) by
//! half; (2) cut the candidate's text to half (keeping its start); (3) cut the question to half.
//! The reference is never cut: if it alone does not fit, there is no verdict.

use regex::Regex;
use std::sync::OnceLock;

/// Part of every judgement's fingerprint.
pub const FIT_VERSION: &str = "fit/v1";
/// Below this many characters a text is not cut further.
const MIN_KEPT_CHARS: usize = 64;
const ELLIPSIS: &str = "…";

fn caption_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<([A-Za-z]+[0-9]+): ([^<>]*)>").expect("valid caption regex"))
}

fn cut_chars(text: &str, keep: usize) -> String {
    if text.chars().count() <= keep {
        return text.to_string();
    }
    let mut s: String = text.chars().take(keep).collect();
    s.push_str(ELLIPSIS);
    s
}

/// Halves every caption; returns None when there is nothing left to shorten.
fn halve_captions(candidate: &str) -> Option<String> {
    let mut changed = false;
    let out = caption_re().replace_all(candidate, |c: &regex::Captures| {
        let body = &c[2];
        let n = body.chars().count();
        if n > MIN_KEPT_CHARS {
            changed = true;
            format!("<{}: {}>", &c[1], cut_chars(body, n / 2))
        } else {
            c[0].to_string()
        }
    });
    changed.then(|| out.into_owned())
}

fn halve(text: &str) -> Option<String> {
    let n = text.chars().count();
    (n > MIN_KEPT_CHARS).then(|| cut_chars(text, n / 2))
}

/// The texts of a judgement as they will be sent, and whether anything was cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub question: String,
    pub candidate: String,
    pub truncated: bool,
}

/// Shortens `question` and `candidate` until `fits` says yes, by the rule above; None when even
/// the shortest form does not fit.
pub fn fit(question: &str, candidate: &str, mut fits: impl FnMut(&str, &str) -> bool) -> Option<Fitted> {
    let (mut q, mut c) = (question.to_string(), candidate.to_string());
    let mut truncated = false;
    loop {
        if fits(&q, &c) {
            return Some(Fitted { question: q, candidate: c, truncated });
        }
        truncated = true;
        if let Some(shorter) = halve_captions(&c) {
            c = shorter;
        } else if let Some(shorter) = halve(&c) {
            c = shorter;
        } else if let Some(shorter) = halve(&q) {
            q = shorter;
        } else {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_go_first_then_candidate_then_question() {
        let caption = "x".repeat(400);
        let candidate = format!("Answer text {} <image2: {caption}> end.", "y".repeat(300));
        let question = "q".repeat(300);
        // Fits once the caption is short.
        let f = fit(&question, &candidate, |_, c| c.len() < 500).unwrap();
        assert!(f.truncated && f.candidate.contains(&"y".repeat(300)) && f.question == question);
        // Needs the candidate cut too, question still whole.
        let f = fit(&question, &candidate, |_, c| c.len() < 200).unwrap();
        assert_eq!(f.question, question);
        // Needs everything: the question goes last.
        let f = fit(&question, &candidate, |q, c| q.len() + c.len() < 300).unwrap();
        assert!(f.question.len() < question.len());
        assert!(fit(&question, &candidate, |_, _| false).is_none());
        let whole = fit("q", "c", |_, _| true).unwrap();
        assert!(!whole.truncated);
    }
}
