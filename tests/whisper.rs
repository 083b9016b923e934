//! Whisper transcription (src/caption/whisper.rs, src/caption/mel.rs, src/nn/ct2.rs).
//!
//! - The mel filterbank and log-mel spectrogram against reference values
//!   (tests/fixtures/whisper/, made by make_fixtures.py there).
//! - A tiny random-weight checkpoint (small config, made here) loaded three ways, from a
//!   VarBuilder over the tensors, from a safetensors file with an HF config.json, and from a
//!   CTranslate2 model.bin written with fused projections: all three must transcribe alike.
//! - The released tiny.en weights on the LibriVox clips of Debian `pocketsphinx-testdata`
//!   against their `transcription` file: word error rate <= 10 % (printed per clip and in
//!   total), and a long input cut into 30 s windows. These print "skipped: <why>" without the
//!   `whisper-tiny.en` card installed (`omniscore models pull whisper-tiny.en`) or without
//!   tests/media (scripts/fetch-test-media.sh).

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::Config;
use omniscore::caption::mel::{mel_filters, MelFrontEnd, N_FREQS};
use omniscore::caption::whisper::{random_weights, DecodeConfig, Transcriber, Transcript};
use omniscore::media::audio::{decode_at, Audio};
use omniscore::nn::ct2;
use omniscore::runtime::card::find_card;
use omniscore::runtime::model_store::ModelStore;
use std::collections::HashMap;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/whisper";
const LIBRIVOX: &str = "tests/media/audio/librivox";
const CARD: &str = "whisper-tiny.en";
/// The acceptance bar for tiny.en on the LibriVox clips.
const MAX_WER: f64 = 0.10;
/// The filterbank must match librosa's formula this closely (values are up to ~0.03).
const FILTER_TOLERANCE: f32 = 1e-6;
/// Log-mel values (about -1.5..1.5) against the float64 numpy reference.
const LOGMEL_TOLERANCE: f32 = 1e-4;

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

#[test]
fn mel_filterbank_matches_reference() {
    let reference = read_f32(&Path::new(FIXTURES).join("melfilters80.f32"));
    let ours = mel_filters(16_000, 400, 80);
    assert_eq!(ours.len(), reference.len());
    assert_eq!(reference.len(), 80 * N_FREQS);
    let worst = ours.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("mel filterbank: max |diff| = {worst:e}");
    assert!(worst <= FILTER_TOLERANCE, "max |diff| {worst}");
}

#[test]
fn log_mel_matches_reference() {
    let x = read_f32(&Path::new(FIXTURES).join("chirp.f32"));
    let reference = read_f32(&Path::new(FIXTURES).join("chirp_logmel.f32"));
    let frames = reference.len() / 80;
    let mel = MelFrontEnd::new(80).log_mel(&x, 480_000);
    assert_eq!(mel.frames, (x.len() + 480_000) / 160);
    let mut worst = 0f32;
    for m in 0..80 {
        for t in 0..frames {
            worst = worst.max((mel.data[m * mel.frames + t] - reference[m * frames + t]).abs());
        }
    }
    println!("log-mel: max |diff| over {frames} frames = {worst:e}");
    assert!(worst <= LOGMEL_TOLERANCE, "max |diff| {worst}");
}

// ---------------------------------------------------------------- tiny random checkpoint

const TINY_WORDS: usize = 40;
/// Specials in Whisper's order after the text tokens.
const TINY_SPECIALS: [&str; 12] = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|de|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
    "<|0.00|>",
    "<|0.02|>",
];

fn tiny_config() -> Config {
    Config {
        num_mel_bins: 80,
        max_source_positions: 1500,
        d_model: 32,
        encoder_attention_heads: 2,
        encoder_layers: 1,
        vocab_size: TINY_WORDS + TINY_SPECIALS.len(),
        max_target_positions: 24,
        decoder_attention_heads: 2,
        decoder_layers: 2,
        suppress_tokens: vec![3],
    }
}

/// A word-level tokenizer with Whisper's special tokens: enough for the decoding loop.
fn tiny_tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    for i in 0..TINY_WORDS {
        vocab.insert(format!("w{i}"), (i as u64).into());
    }
    let mut added = Vec::new();
    for (j, s) in TINY_SPECIALS.iter().enumerate() {
        let id = TINY_WORDS + j;
        vocab.insert(s.to_string(), (id as u64).into());
        added.push(serde_json::json!({"id": id, "content": s, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true}));
    }
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "w0"}
    })
    .to_string()
}

/// The HF tensors as CTranslate2 variables (fused q/k/v and k/v, zero key bias, gamma/beta), in
/// float16 as the released conversions are.
fn to_ct2(t: &HashMap<String, Tensor>, cfg: &Config) -> Vec<(String, Tensor)> {
    let h = |n: &str| t[n].to_dtype(DType::F16).unwrap();
    let mut out: Vec<(String, Tensor)> = Vec::new();
    let mut push = |n: String, v: Tensor| out.push((n, v));
    let zero = Tensor::zeros(cfg.d_model, DType::F16, &Device::Cpu).unwrap();
    let lin = |push: &mut dyn FnMut(String, Tensor), s: &str, d: &str| {
        push(format!("{s}/weight"), h(&format!("{d}.weight")));
        push(format!("{s}/bias"), h(&format!("{d}.bias")));
    };
    let ln = |push: &mut dyn FnMut(String, Tensor), s: &str, d: &str| {
        push(format!("{s}/gamma"), h(&format!("{d}.weight")));
        push(format!("{s}/beta"), h(&format!("{d}.bias")));
    };
    let fused = |push: &mut dyn FnMut(String, Tensor), s: &str, parts: &[String]| {
        let ws: Vec<Tensor> = parts.iter().map(|p| h(&format!("{p}.weight"))).collect();
        let bs: Vec<Tensor> =
            parts.iter().map(|p| if p.ends_with("k_proj") { zero.clone() } else { h(&format!("{p}.bias")) }).collect();
        push(format!("{s}/weight"), Tensor::cat(&ws, 0).unwrap());
        push(format!("{s}/bias"), Tensor::cat(&bs, 0).unwrap());
    };
    for p in ["conv1", "conv2"] {
        lin(&mut push, &format!("encoder/{p}"), &format!("model.encoder.{p}"));
    }
    push("encoder/position_encodings/encodings".into(), h("model.encoder.embed_positions.weight"));
    push("decoder/position_encodings/encodings".into(), h("model.decoder.embed_positions.weight"));
    push("decoder/embeddings/weight".into(), h("model.decoder.embed_tokens.weight"));
    // Scalars as the real conversions store them (int16); the head width is not 64 here.
    push("encoder/num_heads".into(), Tensor::new(cfg.encoder_attention_heads as i64, &Device::Cpu).unwrap());
    push("decoder/num_heads".into(), Tensor::new(cfg.decoder_attention_heads as i64, &Device::Cpu).unwrap());
    let qkv = |t: &str, a: &str| -> Vec<String> {
        ["q_proj", "k_proj", "v_proj"].iter().map(|p| format!("{t}.{a}.{p}")).collect()
    };
    for (stack, n) in [("encoder", cfg.encoder_layers), ("decoder", cfg.decoder_layers)] {
        for i in 0..n {
            let (s, d) = (format!("{stack}/layer_{i}"), format!("model.{stack}.layers.{i}"));
            ln(&mut push, &format!("{s}/self_attention/layer_norm"), &format!("{d}.self_attn_layer_norm"));
            fused(&mut push, &format!("{s}/self_attention/linear_0"), &qkv(&d, "self_attn"));
            lin(&mut push, &format!("{s}/self_attention/linear_1"), &format!("{d}.self_attn.out_proj"));
            if stack == "decoder" {
                ln(&mut push, &format!("{s}/attention/layer_norm"), &format!("{d}.encoder_attn_layer_norm"));
                lin(&mut push, &format!("{s}/attention/linear_0"), &format!("{d}.encoder_attn.q_proj"));
                fused(&mut push, &format!("{s}/attention/linear_1"), &qkv(&d, "encoder_attn")[1..]);
                lin(&mut push, &format!("{s}/attention/linear_2"), &format!("{d}.encoder_attn.out_proj"));
            }
            ln(&mut push, &format!("{s}/ffn/layer_norm"), &format!("{d}.final_layer_norm"));
            lin(&mut push, &format!("{s}/ffn/linear_0"), &format!("{d}.fc1"));
            lin(&mut push, &format!("{s}/ffn/linear_1"), &format!("{d}.fc2"));
        }
        ln(&mut push, &format!("{stack}/layer_norm"), &format!("model.{stack}.layer_norm"));
    }
    out
}

/// A deterministic 3.5 s test tone (speech-free: the random model's text is arbitrary anyway).
fn tone() -> Audio {
    let samples = (0..56_000).map(|i| 0.3 * (i as f32 * 0.07).sin() * (i as f32 * 0.0003).cos()).collect();
    Audio { samples, sample_rate: 16_000, source_channels: 1, source_rate: 16_000, truncated: None }
}

#[test]
fn tiny_random_checkpoint_loads_in_every_layout_and_decodes_alike() {
    let cfg = tiny_config();
    let dev = Device::Cpu;
    // Round the weights through float16 first so all three layouts hold identical values.
    let weights: HashMap<String, Tensor> = random_weights(&cfg, &dev, 7)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.to_dtype(DType::F16).unwrap().to_dtype(DType::F32).unwrap()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let tok_path = dir.path().join("tokenizer.json");
    std::fs::write(&tok_path, tiny_tokenizer_json()).unwrap();
    let tokenizer = tokenizers::Tokenizer::from_file(&tok_path).unwrap();

    // 1. A VarBuilder over the tensors.
    let dc = DecodeConfig { suppress_tokens: cfg.suppress_tokens.clone(), begin_suppress_tokens: None };
    let vb = VarBuilder::from_tensors(weights.clone(), DType::F32, &dev);
    let mut direct = Transcriber::from_varbuilder("tiny", vb, cfg.clone(), dc, tokenizer, &tok_path, &dev).unwrap();
    assert!(!direct.multilingual(), "a 52-token vocabulary is English-only by whisper's rule");
    let a = direct.transcribe(&tone()).unwrap();
    println!("random tiny, VarBuilder: {a:?}");
    assert_eq!(a.language.as_deref(), Some("en"));
    assert!(a.segments.len() <= 1, "3.5 s is one window");
    for s in &a.segments {
        assert_eq!((s.start, s.end), (0.0, 3.5));
        assert!(
            s.text.split_whitespace().all(|w| w.starts_with('w') && w != "w3"),
            "specials or suppressed: {}",
            s.text
        );
    }

    // 2. safetensors + an HF config.json.
    let st = dir.path().join("model.safetensors");
    candle_core::safetensors::save(&weights, &st).unwrap();
    let hf_cfg = dir.path().join("config.json");
    let mut c = serde_json::json!({
        "num_mel_bins": cfg.num_mel_bins, "max_source_positions": cfg.max_source_positions, "d_model": cfg.d_model,
        "encoder_attention_heads": cfg.encoder_attention_heads, "encoder_layers": cfg.encoder_layers,
        "vocab_size": cfg.vocab_size, "max_target_positions": cfg.max_target_positions,
        "decoder_attention_heads": cfg.decoder_attention_heads, "decoder_layers": cfg.decoder_layers,
        "suppress_tokens": cfg.suppress_tokens,
    });
    std::fs::write(&hf_cfg, c.to_string()).unwrap();
    let b = Transcriber::from_paths("tiny-hf", &st, &hf_cfg, &tok_path, &dev).unwrap().transcribe(&tone()).unwrap();
    assert_eq!(a, b, "safetensors layout");

    // 3. A CTranslate2 model.bin (float16, fused projections) + a CTranslate2 config.json.
    let bin = dir.path().join("model.bin");
    ct2::write(&bin, ct2::WHISPER_SPEC, &to_ct2(&weights, &cfg)).unwrap();
    let ct2_cfg = dir.path().join("ct2-config.json");
    c = serde_json::json!({"suppress_ids": cfg.suppress_tokens, "suppress_ids_begin": [TINY_WORDS], "lang_ids": [42, 43]});
    std::fs::write(&ct2_cfg, c.to_string()).unwrap();
    let mut from_ct2 = Transcriber::from_paths("tiny-ct2", &bin, &ct2_cfg, &tok_path, &dev).unwrap();
    assert_eq!(from_ct2.config(), &cfg, "shape recovered from the CTranslate2 variables");
    let c3 = from_ct2.transcribe(&tone()).unwrap();
    assert_eq!(a, c3, "CTranslate2 layout");

    // Multilingual path: the language comes from the language tokens of the tokenizer.
    from_ct2.set_multilingual(true);
    let m = from_ct2.transcribe(&tone()).unwrap();
    println!("random tiny, multilingual: {m:?}");
    assert!(matches!(m.language.as_deref(), Some("en") | Some("de")), "{:?}", m.language);

    // Empty audio: no window, no language, no text.
    let silent = Audio { samples: vec![], ..tone() };
    let e = direct.transcribe(&silent).unwrap();
    assert_eq!(e, Transcript { text: String::new(), language: None, segments: vec![] });

    // A safetensors file beside a CTranslate2 config is refused with both files named.
    let err = Transcriber::from_paths("tiny", &st, &ct2_cfg, &tok_path, &dev).unwrap_err().to_string();
    assert!(err.contains("ct2-config.json") && err.contains("model.safetensors"), "{err}");
}

// ---------------------------------------------------------------- released tiny.en weights

/// Lower case, punctuation and hyphens to spaces, apostrophes dropped, and a few spellings made
/// one (whisper writes "Mr." where LibriSpeech-style references spell "mister").
fn normalise(s: &str) -> Vec<String> {
    let cleaned: String = s
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned
        .split_whitespace()
        .map(|w| match w {
            "mr" => "mister",
            "mrs" => "missus",
            "dr" => "doctor",
            other => other,
        })
        .map(str::to_string)
        .collect()
}

/// Word-level Levenshtein distance (substitutions + deletions + insertions).
fn word_errors(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut cur = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(r != h)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[hypothesis.len()]
}

#[test]
fn wer_counts_edits() {
    let w = |s: &str| normalise(s);
    assert_eq!(word_errors(&w("he was not an ill disposed man"), &w("He was not an ill-disposed young man.")), 1);
    assert_eq!(word_errors(&w("mister john"), &w("Mr. John")), 0);
    assert_eq!(word_errors(&w("a b c"), &w("")), 3);
    assert_eq!(word_errors(&w(""), &w("x y")), 2);
}

/// `<s> words </s> (file id)` per line.
fn transcriptions(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("transcription")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (words, id) = l.rsplit_once('(').expect("a `(file id)` at the end of the line");
            let words = words.replace("<s>", "").replace("</s>", "");
            (id.trim().trim_end_matches(')').to_string(), words.trim().to_string())
        })
        .collect()
}

fn tiny_en() -> Option<Transcriber> {
    let card = find_card(CARD).unwrap();
    match ModelStore::from_env().locate(&card) {
        Ok(files) => Some(Transcriber::load(&files, &Device::Cpu).unwrap()),
        Err(e) => {
            println!("skipped: {e}");
            None
        }
    }
}

fn librivox() -> Option<Vec<(String, String, Audio)>> {
    let dir = Path::new(LIBRIVOX);
    if !dir.join("transcription").is_file() {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", dir.display());
        return None;
    }
    let clips = transcriptions(dir)
        .into_iter()
        .map(|(id, words)| {
            let audio = decode_at(&dir.join(format!("{id}.wav")), 16_000).unwrap();
            (id, words, audio)
        })
        .collect();
    Some(clips)
}

#[test]
fn tiny_en_transcribes_librivox_within_ten_percent_wer() {
    let Some(clips) = librivox() else { return };
    let Some(mut model) = tiny_en() else { return };
    assert!(!model.multilingual());
    let (mut errors, mut words) = (0, 0);
    for (id, reference, audio) in &clips {
        let t = model.transcribe(audio).unwrap();
        let (r, h) = (normalise(reference), normalise(&t.text));
        let e = word_errors(&r, &h);
        println!("{id}: WER {:.1} % ({e}/{}): {:?}", 100.0 * e as f64 / r.len() as f64, r.len(), t.text);
        assert_eq!(t.language.as_deref(), Some("en"));
        assert_eq!(t.segments.len(), 1, "a clip under 30 s is one window");
        errors += e;
        words += r.len();
    }
    let wer = errors as f64 / words as f64;
    println!("total: WER {:.2} % ({errors} errors / {words} words, {} clips)", 100.0 * wer, clips.len());
    assert!(wer <= MAX_WER, "WER {wer}");
}

#[test]
fn tiny_en_cuts_long_audio_into_30_s_windows() {
    let Some(clips) = librivox() else { return };
    let Some(mut model) = tiny_en() else { return };
    // All clips in a row with 1 s of silence between them, twice: about 60 s, three windows.
    let gap = vec![0f32; 16_000];
    let mut samples = Vec::new();
    let mut reference = Vec::new();
    for _ in 0..2 {
        for (_, words, audio) in &clips {
            samples.extend_from_slice(&audio.samples);
            samples.extend_from_slice(&gap);
            reference.extend(normalise(words));
        }
    }
    let seconds = samples.len() as f64 / 16_000.0;
    let long = Audio { samples, ..clips[0].2.clone() };
    let t = model.transcribe(&long).unwrap();
    for s in &t.segments {
        println!("{:.1}-{:.1} s: {}", s.start, s.end, s.text);
    }
    let windows = (seconds / 30.0).ceil() as usize;
    assert_eq!(t.segments.len(), windows, "{seconds:.1} s of speech");
    for (i, s) in t.segments.iter().enumerate() {
        assert_eq!(s.start, 30.0 * i as f64);
        assert!((s.end - (30.0 * (i + 1) as f64).min(seconds)).abs() < 0.01, "{s:?}");
    }
    // Words cut at a window edge may be lost or garbled; the rest must still be right.
    let e = word_errors(&reference, &normalise(&t.text));
    let wer = e as f64 / reference.len() as f64;
    println!("long input ({seconds:.1} s): WER {:.1} % ({e}/{})", 100.0 * wer, reference.len());
    assert!(wer <= 2.0 * MAX_WER, "WER {wer}");
}
