//! The judge's rubrics and prompt layout. Every prompt shares one system message and the start
//! of the user message, so their tokens (and KV cache) are computed once per run; what differs
//! per item comes after [`ITEM_BOUNDARY`]. The model's reply is pre-filled with
//! [`ANSWER_PREFIX`] so the very next token is the rating, read from its distribution.

use super::chat::Message;

/// Bumped whenever a rubric or the layout changes: it is part of every judgement's fingerprint.
pub const PROMPT_VERSION: &str = "judge-prompts/v3";

/// Where the shared prefix ends in the user message.
pub const ITEM_BOUNDARY: &str = "\n\n### Task\n";

/// Pre-filled start of the judge's reply; the next token is the rating digit.
pub const ANSWER_PREFIX: &str = "Rating:";

const SYSTEM: &str = "You are an impartial grader of answers produced by multimodal assistants. \
Non-text parts of an answer (images, audio, video, documents, 3D models, code) are shown in place \
as <tag: description>. You give one integer rating from 1 (worst) to 5 (best) and nothing else.";

const SHARED_INSTRUCTIONS: &str = "Rubrics:\n\
- correctness: compare the candidate with the reference by meaning, not wording. Paraphrases, \
reordering, rounding, synonyms, and a different but valid example of the category the reference \
asks for all count as equivalent. Demand exact entities only where the reference clearly requires \
them. Lower the rating for contradictions, violated constraints, and omissions that break the main \
conclusion; minor missing details cost little. 5 = same meaning; 4 = small omissions; 3 = about \
half of the content; 2 = answers the question but contradicts the reference; 1 = unrelated or empty.\n\
- coherence: judge whether the text and the non-text parts form one consistent answer: each part \
fits where it is placed, refers to the right thing, and nothing contradicts anything else. 5 = fully \
consistent and well structured; 1 = disjointed or self-contradictory, or empty.\n\
- style: judge whether tone, register and presentation are uniform across text and non-text parts. \
5 = one harmonious style; 1 = clashing styles, or empty.";

/// What the judge is asked to rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Semantic correctness against the reference (SC).
    Correctness,
    /// Holistic coherence (HC).
    Coherence,
    /// Stylistic harmony (SH).
    Style,
}

impl Criterion {
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Correctness => "correctness",
            Criterion::Coherence => "coherence",
            Criterion::Style => "style",
        }
    }
}

/// The texts of one judgement. `candidate` is the (captioned) response; the reference is only
/// used for correctness.
#[derive(Debug, Clone)]
pub struct JudgeInput<'a> {
    pub criterion: Criterion,
    pub question: &'a str,
    pub reference: &'a str,
    pub candidate: &'a str,
}

/// Worked examples shown before every item (small judges follow a pattern far better than a
/// rubric): one question answered at every level of the rubric, and a short second one.
/// (question, reference, candidate, rating).
const SEASONS_Q: &str = "Why does the Earth have seasons?";
const SEASONS_REF: &str = "The Earth's axis is tilted, so each hemisphere gets more direct sunlight for part of the year, which makes summer, and less for the rest of the year, which makes winter.";
const DEMONSTRATIONS: [(&str, &str, &str, u8); 8] = [
    (SEASONS_Q, SEASONS_REF, "The Earth is tilted.", 3),
    ("What is the capital of France?", "Paris is the capital of France.", "France's capital city is Paris.", 5),
    (SEASONS_Q, SEASONS_REF, "Pasta should be cooked in plenty of salted boiling water.", 1),
    (SEASONS_Q, SEASONS_REF, "The Earth's axis is tilted, so each hemisphere gets more direct sunlight for part of the year.", 4),
    (SEASONS_Q, SEASONS_REF, "", 1),
    (SEASONS_Q, SEASONS_REF, "Seasons happen because the Earth is much closer to the Sun in summer and much farther away in winter.", 2),
    ("What is the capital of France?", "Paris is the capital of France.", "The capital of France is Lyon.", 2),
    (SEASONS_Q, SEASONS_REF, "Because the planet leans on its axis, each half of it receives stronger, more direct sunlight during one part of its orbit, giving summer, and weaker light during the other part, giving winter.", 5),
];

/// The messages of the shared prefix: system, the demonstrations as earlier turns, and the
/// start of the last user message.
pub fn shared_messages() -> Vec<Message> {
    let mut m = vec![Message::new("system", format!("{SYSTEM}\n\n{SHARED_INSTRUCTIONS}"))];
    for (question, reference, candidate, rating) in DEMONSTRATIONS {
        let input = JudgeInput { criterion: Criterion::Correctness, question, reference, candidate };
        m.push(Message::new("user", format!("{ITEM_BOUNDARY}{}", item_text(&input))));
        m.push(Message::new("assistant", format!("{ANSWER_PREFIX} {rating}")));
    }
    m.push(Message::new("user", ITEM_BOUNDARY));
    m
}

/// The item-specific part of the user message (after [`ITEM_BOUNDARY`]).
pub fn item_text(input: &JudgeInput) -> String {
    let question = input.question.trim();
    let candidate = if input.candidate.trim().is_empty() { "(empty answer)" } else { input.candidate.trim() };
    match input.criterion {
        Criterion::Correctness => format!(
            "Rate correctness.\n\nQuestion:\n{question}\n\nReference answer:\n{}\n\nCandidate answer:\n{candidate}\n\nReply with one digit, 1-5.",
            input.reference.trim()
        ),
        Criterion::Coherence => format!(
            "Rate coherence.\n\nQuestion:\n{question}\n\nAnswer:\n{candidate}\n\nReply with one digit, 1-5."
        ),
        Criterion::Style => format!(
            "Rate style.\n\nQuestion:\n{question}\n\nAnswer:\n{candidate}\n\nReply with one digit, 1-5."
        ),
    }
}

/// The full conversation for one judgement (shared prefix + item), for templates that must be
/// rendered whole.
pub fn messages(input: &JudgeInput) -> Vec<Message> {
    let mut m = shared_messages();
    m.last_mut().expect("the shared prefix ends in a user message").content.push_str(&item_text(input));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_text_carries_the_inputs() {
        let input = JudgeInput { criterion: Criterion::Correctness, question: "Q?", reference: "R.", candidate: "" };
        let t = item_text(&input);
        assert!(t.contains("Q?") && t.contains("R.") && t.contains("(empty answer)"));
        let hc = item_text(&JudgeInput { criterion: Criterion::Coherence, ..input });
        assert!(!hc.contains("R."), "coherence does not see the reference");
        let all = messages(&JudgeInput { criterion: Criterion::Style, question: "Q", reference: "", candidate: "C" });
        assert!(all[0].content.contains(SHARED_INSTRUCTIONS));
        assert!(all.last().unwrap().content.starts_with(ITEM_BOUNDARY) && all.last().unwrap().content.ends_with("1-5."));
    }
}
