//! Synthetic UniM-shaped data for benchmarks and tests: fields, difficulties and modality
//! shares follow the benchmark's published proportions; responses are the ground truth with
//! items dropped, added or swapped at random, so every structure score occurs. Deterministic
//! for a seed (a small xorshift generator, so no dependency is needed).

use super::{Modality, Tag};
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// Size of the real benchmark.
pub const UNIM_INSTANCES: usize = 31_026;

const FIELDS: [(&str, f64); 3] = [("natural_science", 0.342), ("social_science", 0.373), ("general_area", 0.285)];
const DIFFICULTY: [(u8, f64); 3] = [(1, 0.344), (2, 0.454), (3, 0.202)];
/// Share of instances using each modality (paper, section 3).
const MODALITY_SHARE: [(Modality, f64); 6] = [
    (Modality::Image, 0.739),
    (Modality::Audio, 0.805),
    (Modality::Video, 0.075),
    (Modality::Document, 0.124),
    (Modality::Code, 0.026),
    (Modality::ThreeD, 0.014),
];
const SUBDOMAINS: [&str; 10] =
    ["architecture", "biology", "chemistry", "economics", "geography", "history", "music", "physics", "psychology", "sports"];
const FILLER: &str = "The answer explains the scene step by step, naming each part and why it matters. ";

/// xorshift64*: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, weighted: &[(T, f64)]) -> T {
        let total: f64 = weighted.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (v, w) in weighted {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        weighted[weighted.len() - 1].0
    }
}

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub instances: usize,
    pub seed: u64,
    /// Extra filler characters in each response's content (to make large files).
    pub response_padding: usize,
    /// Share of responses that are left out entirely.
    pub missing_share: f64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions { instances: UNIM_INSTANCES, seed: 1, response_padding: 0, missing_share: 0.01 }
    }
}

fn media_path(tag: Tag, id: usize) -> String {
    let ext = match tag.modality {
        Modality::Image => "png",
        Modality::Audio => "mp3",
        Modality::Video => "mp4",
        Modality::Document => "pdf",
        Modality::ThreeD => "ply",
        Modality::Code | Modality::Text => "txt",
    };
    format!("{}/{}_{id:05}_{:02}.{ext}", tag.modality, tag.modality, tag.index)
}

fn side(tags: &[Tag], id: usize, sentence: &str, padding: usize) -> Value {
    let mut modal = Map::new();
    let mut content = String::from(sentence);
    for t in tags {
        let value = if t.modality.is_inline() { format!("inline {} for instance {id}", t.modality) } else { media_path(*t, id) };
        modal.insert(t.to_string(), Value::String(value));
        content.push_str(&format!(" See <{t}> here."));
    }
    while content.len() < sentence.len() + padding {
        content.push_str(FILLER);
    }
    json!({ "modal": modal, "content": content })
}

fn output_tags(rng: &mut Rng) -> Vec<Tag> {
    let mut tags = Vec::new();
    for (m, share) in MODALITY_SHARE {
        if rng.unit() < share {
            let count = 1 + rng.below(2) as u32;
            tags.extend((0..count).map(|k| Tag::new(m, 2 + k)));
        }
    }
    if tags.is_empty() {
        tags.push(Tag::new(Modality::Image, 2));
    }
    tags
}

/// Perturbs ground-truth tags the way weak models do: drop one, add one, or swap a type.
fn response_tags(rng: &mut Rng, gt: &[Tag]) -> Vec<Tag> {
    let mut tags = gt.to_vec();
    match rng.below(4) {
        0 => {} // exact
        1 if tags.len() > 1 => {
            tags.remove(rng.below(tags.len()));
        }
        2 => tags.push(Tag::new(MODALITY_SHARE[rng.below(MODALITY_SHARE.len())].0, 9)),
        _ => {
            let i = rng.below(tags.len());
            tags[i] = Tag::new(MODALITY_SHARE[rng.below(MODALITY_SHARE.len())].0, 8);
        }
    }
    tags.sort();
    tags.dedup();
    tags
}

/// One generated instance pair.
pub struct SynthInstance {
    pub ground_truth: Value,
    pub response: Option<Value>,
}

pub fn generate(opts: &SynthOptions) -> impl Iterator<Item = SynthInstance> + '_ {
    let mut rng = Rng::new(opts.seed);
    (1..=opts.instances).map(move |id| {
        let field = rng.pick(&FIELDS);
        let difficulty = rng.pick(&DIFFICULTY);
        let subdomain = SUBDOMAINS[rng.below(SUBDOMAINS.len())];
        let input_tags: Vec<Tag> = output_tags(&mut rng).iter().map(|t| Tag::new(t.modality, 1)).collect();
        let gt_tags = output_tags(&mut rng);
        let mut input_tags = input_tags;
        input_tags.dedup();
        let base = |output: Value| {
            json!({
                "domain": field, "subdomain": subdomain, "id": id.to_string(),
                "input": side(&input_tags, id, "Answer the question about the material.", 0),
                "output": output, "difficulty_level": difficulty,
            })
        };
        let ground_truth = base(side(&gt_tags, id, "The reference answer.", 0));
        let response = (rng.unit() >= opts.missing_share)
            .then(|| base(side(&response_tags(&mut rng, &gt_tags), id, "The model's answer.", opts.response_padding)));
        SynthInstance { ground_truth, response }
    })
}

/// Writes ground truth and responses in the official layout (pretty-printed objects one after
/// another).
pub fn write_dataset(opts: &SynthOptions, ground_truth: &mut impl Write, responses: &mut impl Write) -> io::Result<usize> {
    let mut n = 0;
    for inst in generate(opts) {
        serde_json::to_writer_pretty(&mut *ground_truth, &inst.ground_truth)?;
        writeln!(ground_truth)?;
        if let Some(r) = inst.response {
            serde_json::to_writer_pretty(&mut *responses, &r)?;
            writeln!(responses)?;
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped_like_unim() {
        let opts = SynthOptions { instances: 2000, ..Default::default() };
        let a: Vec<Value> = generate(&opts).map(|i| i.ground_truth).collect();
        let b: Vec<Value> = generate(&opts).map(|i| i.ground_truth).collect();
        assert_eq!(a, b);
        let audio = a.iter().filter(|v| v["output"]["modal"].as_object().unwrap().keys().any(|k| k.starts_with("audio"))).count();
        let share = audio as f64 / a.len() as f64;
        assert!((share - 0.805).abs() < 0.05, "audio share {share}");
    }
}
