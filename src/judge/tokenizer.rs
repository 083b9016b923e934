//! The judge's tokenizer: the model's own `tokenizer.json` when it ships one, otherwise a
//! byte-level BPE tokenizer rebuilt from the `tokenizer.ggml.*` metadata of a GGUF file (many
//! GGUF checkpoints, e.g. SmolLM2-135M-Instruct, come without a tokenizer.json).
//!
//! The rebuild mirrors what llama.cpp's `convert_hf_to_gguf.py` stored: `tokens` are the BPE
//! vocabulary in id order (byte-level strings, `Ġ` for a space), `merges` are `"a b"` strings in
//! rank order, `token_type` marks control tokens (3, e.g. `<|im_start|>`) and user-defined tokens
//! (4), which become added tokens exactly as in the original tokenizer.json. The pre-tokenizer
//! is chosen by `tokenizer.ggml.pre`, the name llama.cpp gives each family's split regex.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::{json, Map, Value as Json};
use tokenizers::Tokenizer;

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";
const KEY_BOS_ID: &str = "tokenizer.ggml.bos_token_id";
const KEY_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";

/// llama.cpp's token types (`llama_token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;
const TOKEN_TYPE_NORMAL: i64 = 1;

/// Qwen2/Qwen2.5/Qwen3 split regex (their tokenizer.json, llama.cpp pre `qwen2`): digits one by one.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3 split regex (llama.cpp pre `llama-bpe`): digits in groups of up to three.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A tokenizer whose ids reach past the model's embedding table would index out of range; one
/// much smaller than the table is almost surely another model's (checkpoints pad their tables by
/// at most a few percent, e.g. Qwen2.5: 151,665 tokens for 151,936 rows).
const MIN_VOCAB_COVERAGE: f64 = 0.9;
/// How many ordinary tokens are compared when a tokenizer.json and GGUF metadata are both given.
const CROSS_CHECK_SAMPLES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("GGUF metadata has no `{0}`: cannot rebuild the tokenizer; put the model's tokenizer.json beside it")]
    MissingKey(&'static str),
    #[error("GGUF metadata `{key}`: {detail}")]
    BadValue { key: &'static str, detail: String },
    #[error(
        "GGUF tokenizer model `{model}` ({family}) cannot be rebuilt from metadata: only byte-level \
         BPE (`gpt2`) can; put the model's tokenizer.json beside the GGUF file"
    )]
    UnsupportedModel { model: String, family: &'static str },
    #[error("tokenizer rebuilt from GGUF metadata does not load: {0}")]
    Build(String),
    #[error("cannot load tokenizer {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("no tokenizer: neither a tokenizer.json nor GGUF tokenizer metadata was given")]
    NoSource,
    #[error("the tokenizer does not match the model: {0}")]
    Mismatch(String),
}

/// Rebuilds the tokenizer stored in a GGUF file's metadata (byte-level BPE models only).
pub fn tokenizer_from_gguf(content: &Content) -> Result<Tokenizer, TokenizerError> {
    let meta = &content.metadata;
    let model = string(meta.get(KEY_MODEL), KEY_MODEL)?;
    if model != "gpt2" {
        return Err(TokenizerError::UnsupportedModel {
            family: model_family(&model),
            model,
        });
    }
    let tokens = string_array(meta.get(KEY_TOKENS), KEY_TOKENS)?;
    let types = int_array(meta.get(KEY_TOKEN_TYPE), KEY_TOKEN_TYPE)?;
    if types.len() != tokens.len() {
        return Err(TokenizerError::BadValue {
            key: KEY_TOKEN_TYPE,
            detail: format!("{} entries for {} tokens", types.len(), tokens.len()),
        });
    }
    let merges = string_array(meta.get(KEY_MERGES), KEY_MERGES)?;
    let pre = match meta.get(KEY_PRE) {
        Some(v) => Some(string(Some(v), KEY_PRE)?),
        None => None,
    };

    let mut vocab = Map::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        // A duplicated string keeps its first id, as llama.cpp's own lookup does.
        vocab.entry(token.to_string()).or_insert(json!(id));
    }
    let merges = merges
        .iter()
        .enumerate()
        .map(|(i, m)| match m.split_once(' ') {
            Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(' ') => Ok(json!([a, b])),
            _ => Err(TokenizerError::BadValue {
                key: KEY_MERGES,
                detail: format!("entry {i} {m:?} is not two tokens separated by one space"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let added: Vec<Json> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, &t))| t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_USER_DEFINED)
        .map(|(id, (token, &t))| {
            json!({"id": id, "content": token, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": t == TOKEN_TYPE_CONTROL})
        })
        .collect();

    let byte_level = |trim_offsets: bool, use_regex: bool| {
        json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": trim_offsets,
               "use_regex": use_regex})
    };
    let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
    let (normalizer, pre_tokenizer, ignore_merges) = match pre.as_deref() {
        Some("smollm" | "starcoder" | "refact") => (
            Json::Null,
            json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true}, byte_level(true, true)]}),
            false,
        ),
        Some("qwen2") => (
            json!({"type": "NFC"}),
            json!({"type": "Sequence", "pretokenizers": [split(QWEN2_SPLIT), byte_level(false, false)]}),
            false,
        ),
        Some("llama-bpe" | "llama3") => (
            Json::Null,
            json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_SPLIT), byte_level(true, false)]}),
            true,
        ),
        // GPT-2's own split, also llama.cpp's fallback for an unknown `pre`.
        _ => (Json::Null, byte_level(true, true), false),
    };

    let add_bos = matches!(meta.get(KEY_ADD_BOS), Some(Value::Bool(true)));
    let post_processor = match (add_bos, meta.get(KEY_BOS_ID).and_then(|v| v.to_u64().ok())) {
        (true, Some(bos)) => match tokens.get(bos as usize) {
            Some(bos_text) => json!({
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos_text, "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos_text, "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos_text, "type_id": 1}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos_text.as_str(): {"id": bos_text, "ids": [bos], "tokens": [bos_text]}}
            }),
            None => {
                return Err(TokenizerError::BadValue {
                    key: KEY_BOS_ID,
                    detail: format!("id {bos} is past the {} tokens", tokens.len()),
                })
            }
        },
        _ => Json::Null,
    };

    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": ignore_merges, "vocab": vocab, "merges": merges
        }
    });
    Tokenizer::from_str(&tokenizer_json.to_string())
        .map_err(|e| TokenizerError::Build(e.to_string()))
}

/// The model's tokenizer: its `tokenizer.json` when given (checked against the GGUF vocabulary
/// when both are), otherwise rebuilt from the GGUF metadata.
pub fn load_tokenizer(
    tokenizer_json: Option<&Path>,
    gguf: Option<&Content>,
) -> Result<Tokenizer, TokenizerError> {
    match (tokenizer_json, gguf) {
        (Some(path), gguf) => {
            let tokenizer = Tokenizer::from_file(path).map_err(|e| TokenizerError::File {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            if let Some(content) = gguf {
                cross_check(&tokenizer, content).map_err(|m| {
                    TokenizerError::Mismatch(format!(
                        "{} and the GGUF vocabulary differ: {m}",
                        path.display()
                    ))
                })?;
            }
            Ok(tokenizer)
        }
        (None, Some(content)) => tokenizer_from_gguf(content),
        (None, None) => Err(TokenizerError::NoSource),
    }
}

/// Refuses a tokenizer that cannot belong to a model whose embedding table has
/// `model_vocab_size` rows: one that can produce an id past the table, or one covering less
/// than [`MIN_VOCAB_COVERAGE`] of it.
pub fn check_tokenizer_matches(
    tokenizer: &Tokenizer,
    model_vocab_size: usize,
) -> Result<(), TokenizerError> {
    let max_id = tokenizer.get_vocab(true).into_values().max();
    let Some(max_id) = max_id else {
        return Err(TokenizerError::Mismatch(
            "the tokenizer has an empty vocabulary".into(),
        ));
    };
    let size = max_id as usize + 1;
    if size > model_vocab_size {
        return Err(TokenizerError::Mismatch(format!(
            "the tokenizer has ids up to {max_id} but the model's vocabulary has {model_vocab_size} entries"
        )));
    }
    if (size as f64) < MIN_VOCAB_COVERAGE * model_vocab_size as f64 {
        return Err(TokenizerError::Mismatch(format!(
            "the tokenizer has {size} ids but the model's vocabulary has {model_vocab_size} entries; \
             it is most likely another model's tokenizer"
        )));
    }
    Ok(())
}

/// Compares evenly spaced ordinary tokens of the GGUF vocabulary with the tokenizer's strings
/// for the same ids; both come from the same tokenizer.json when they belong together.
fn cross_check(tokenizer: &Tokenizer, content: &Content) -> Result<(), String> {
    let meta = &content.metadata;
    let (Ok(tokens), Ok(types)) = (
        string_array(meta.get(KEY_TOKENS), KEY_TOKENS),
        int_array(meta.get(KEY_TOKEN_TYPE), KEY_TOKEN_TYPE),
    ) else {
        return Ok(()); // nothing to compare against
    };
    let normal: Vec<usize> = (0..tokens.len())
        .filter(|&i| types.get(i).copied().unwrap_or(TOKEN_TYPE_NORMAL) == TOKEN_TYPE_NORMAL)
        .collect();
    if normal.is_empty() {
        return Ok(());
    }
    let step = (normal.len() / CROSS_CHECK_SAMPLES).max(1);
    let sampled: Vec<usize> = normal
        .iter()
        .copied()
        .step_by(step)
        .take(CROSS_CHECK_SAMPLES)
        .collect();
    let mismatches: Vec<usize> = sampled
        .iter()
        .copied()
        .filter(|&id| tokenizer.id_to_token(id as u32).as_deref() != Some(tokens[id].as_str()))
        .collect();
    // A tokenizer.json may normalise a handful of strings differently; another model's differs almost everywhere.
    if mismatches.len() * 8 > sampled.len() {
        let id = mismatches[0];
        return Err(format!(
            "{} of {} sampled ids differ, e.g. id {id} is {:?} in the GGUF file and {:?} in the tokenizer",
            mismatches.len(),
            sampled.len(),
            tokens[id],
            tokenizer.id_to_token(id as u32).unwrap_or_default()
        ));
    }
    Ok(())
}

fn model_family(model: &str) -> &'static str {
    match model {
        "llama" => "SentencePiece BPE with byte fallback",
        "t5" => "SentencePiece Unigram",
        "bert" => "WordPiece",
        "rwkv" => "RWKV trie tokenizer",
        "plamo2" => "PLaMo-2 tokenizer",
        "none" => "no tokenizer",
        _ => "unknown tokenizer model",
    }
}

fn string(value: Option<&Value>, key: &'static str) -> Result<String, TokenizerError> {
    match value {
        None => Err(TokenizerError::MissingKey(key)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(TokenizerError::BadValue {
            key,
            detail: format!("expected a string, found {:?}", other.value_type()),
        }),
    }
}

fn string_array(value: Option<&Value>, key: &'static str) -> Result<Vec<String>, TokenizerError> {
    let items = array(value, key)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(TokenizerError::BadValue {
                key,
                detail: format!("entry {i} is {:?}, expected a string", other.value_type()),
            }),
        })
        .collect()
}

fn int_array(value: Option<&Value>, key: &'static str) -> Result<Vec<i64>, TokenizerError> {
    let items = array(value, key)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let n = match v {
                Value::I32(n) => Some(*n as i64),
                Value::U32(n) => Some(*n as i64),
                Value::I64(n) => Some(*n),
                Value::U64(n) => i64::try_from(*n).ok(),
                Value::I8(n) => Some(*n as i64),
                Value::U8(n) => Some(*n as i64),
                Value::I16(n) => Some(*n as i64),
                Value::U16(n) => Some(*n as i64),
                _ => None,
            };
            n.ok_or_else(|| TokenizerError::BadValue {
                key,
                detail: format!("entry {i} is not an integer"),
            })
        })
        .collect()
}

fn array<'a>(
    value: Option<&'a Value>,
    key: &'static str,
) -> Result<&'a Vec<Value>, TokenizerError> {
    match value {
        None => Err(TokenizerError::MissingKey(key)),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(TokenizerError::BadValue {
            key,
            detail: format!("expected an array, found {:?}", other.value_type()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A toy byte-level BPE: "ab" merges, "<|im_start|>" control token.
    fn toy(model: &str) -> Content {
        let tokens = ["<|im_start|>", "a", "b", "ab", "1", "2", "Ġ", "Ġa"];
        let types = [3, 1, 1, 1, 1, 1, 1, 1];
        let mut metadata = HashMap::new();
        metadata.insert(KEY_MODEL.to_string(), Value::String(model.into()));
        metadata.insert(KEY_PRE.to_string(), Value::String("smollm".into()));
        metadata.insert(
            KEY_TOKENS.to_string(),
            Value::Array(
                tokens
                    .iter()
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ),
        );
        metadata.insert(
            KEY_TOKEN_TYPE.to_string(),
            Value::Array(types.iter().map(|&t| Value::I32(t)).collect()),
        );
        metadata.insert(
            KEY_MERGES.to_string(),
            Value::Array(
                ["a b", "Ġ a"]
                    .iter()
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ),
        );
        Content {
            magic: candle_core::quantized::gguf_file::VersionedMagic::GgufV3,
            metadata,
            tensor_infos: HashMap::new(),
            tensor_data_offset: 0,
        }
    }

    #[test]
    fn rebuilds_a_toy_bpe() {
        let tok = tokenizer_from_gguf(&toy("gpt2")).unwrap();
        let enc = tok.encode("<|im_start|>ab a12", false).unwrap();
        assert_eq!(enc.get_ids(), &[0, 3, 7, 4, 5]);
        assert_eq!(
            tok.decode(enc.get_ids(), false).unwrap(),
            "<|im_start|>ab a12"
        );
        check_tokenizer_matches(&tok, 8).unwrap();
        assert!(matches!(
            check_tokenizer_matches(&tok, 7),
            Err(TokenizerError::Mismatch(_))
        ));
        assert!(matches!(
            check_tokenizer_matches(&tok, 100),
            Err(TokenizerError::Mismatch(_))
        ));
    }

    #[test]
    fn adds_bos_when_the_metadata_asks() {
        let mut c = toy("gpt2");
        c.metadata.insert(KEY_ADD_BOS.into(), Value::Bool(true));
        c.metadata.insert(KEY_BOS_ID.into(), Value::U32(0));
        let tok = tokenizer_from_gguf(&c).unwrap();
        assert_eq!(tok.encode("ab", true).unwrap().get_ids(), &[0, 3]);
        assert_eq!(tok.encode("ab", false).unwrap().get_ids(), &[3]);
        c.metadata.insert(KEY_BOS_ID.into(), Value::U32(99));
        assert!(matches!(
            tokenizer_from_gguf(&c),
            Err(TokenizerError::BadValue {
                key: KEY_BOS_ID,
                ..
            })
        ));
    }

    #[test]
    fn refuses_sentencepiece_and_bad_metadata() {
        let err = tokenizer_from_gguf(&toy("llama")).unwrap_err();
        assert!(err.to_string().contains("`llama` (SentencePiece"), "{err}");
        let mut c = toy("gpt2");
        c.metadata.remove(KEY_MERGES);
        assert!(matches!(
            tokenizer_from_gguf(&c),
            Err(TokenizerError::MissingKey(KEY_MERGES))
        ));
        let mut c = toy("gpt2");
        c.metadata.insert(
            KEY_MERGES.into(),
            Value::Array(vec![Value::String("abc".into())]),
        );
        assert!(matches!(
            tokenizer_from_gguf(&c),
            Err(TokenizerError::BadValue {
                key: KEY_MERGES,
                ..
            })
        ));
        let mut c = toy("gpt2");
        c.metadata
            .insert(KEY_TOKEN_TYPE.into(), Value::Array(vec![Value::I32(1)]));
        assert!(matches!(
            tokenizer_from_gguf(&c),
            Err(TokenizerError::BadValue {
                key: KEY_TOKEN_TYPE,
                ..
            })
        ));
        assert!(matches!(
            load_tokenizer(None, None),
            Err(TokenizerError::NoSource)
        ));
    }
}
