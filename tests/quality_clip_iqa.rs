//! The `clip-iqa` scorer (CLIP-IQA on candle-transformers' CLIP) against the reference, on
//! random weights: the released checkpoint (openai/clip-vit-base-patch32) cannot be fetched here,
//! so every test loads a small-configuration CLIP in the same Hugging Face layout through the
//! same code path (`ClipIqa::new`: card -> model store -> config.json, tokenizer.json,
//! model.safetensors).
//!
//! Fixtures (tests/fixtures/clip_iqa/, made by make_fixtures.py there, command in its
//! docstring): tiny/ (a random CLIP saved by transformers, with its CLIP tokenizer), inputs/
//! (five small RGB images), pil32/ and pil224/ (what transformers' CLIPImageProcessorPil makes of
//! them: Pillow's bicubic resize + centre crop), golden.json (transformers' token ids, text and
//! image embeddings, cosines and CLIP-IQA scores on the tiny model).
//!
//! Tests that use tests/media print "skipped: <why>" when it is absent
//! (scripts/fetch-test-media.sh fetches it).

use candle_core::{DType, Device};
use candle_nn::{Init, VarBuilder, VarMap};
use candle_transformers::models::clip::ClipModel;
use image::RgbImage;
use omniscore::quality::image::clip_iqa::{
    clip_pixels, resize_crop, ClipIqa, Config, CARD, CONFIG_FILE, NEGATIVE_PROMPT, POSITIVE_PROMPT, TOKENIZER_FILE,
    WEIGHTS_FILE,
};
use omniscore::quality::{registry, FrameScorer, Scorer, ScorerContext};
use omniscore::runtime::model_store::ModelStore;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{Lowercase, Replace, Sequence as Normalizers, NFC};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizers;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

const FIXTURES: &str = "tests/fixtures/clip_iqa";
const MEDIA_IMAGES: &str = "tests/media/images";
const INPUTS: [&str; 5] = ["chelsea_120x80", "astronaut_64x64", "gradient_20x30", "noise_40x24", "astronaut_40x120"];
/// The scorer must reproduce transformers' CLIP-IQA probability this closely on the same image.
const SCORE_TOLERANCE: f64 = 1e-4;
/// Embeddings (values of order 1) and cosines.
const EMBEDDING_TOLERANCE: f64 = 1e-4;
/// A batch must give what single calls give.
const BATCH_TOLERANCE: f64 = 1e-5;
/// CLIP's BPE pre-tokenizer pattern (transformers' CLIPTokenizer).
const CLIP_SPLIT: &str =
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";
/// make_fixtures.py's pieces and merges: the prompts' words become single tokens.
const PIECES: [&str; 22] = [
    "a", "b", "d", "g", "h", "o", "p", "t", ".", "a</w>", "d</w>", "o</w>", ".</w>", "go", "goo", "good</w>", "ph",
    "pho", "phot", "photo</w>", "ba", "bad</w>",
];
const MERGES: [(&str, &str); 9] = [
    ("g", "o"),
    ("go", "o"),
    ("goo", "d</w>"),
    ("p", "h"),
    ("ph", "o"),
    ("pho", "t"),
    ("phot", "o</w>"),
    ("b", "a"),
    ("ba", "d</w>"),
];

fn fixture(rel: &str) -> PathBuf {
    Path::new(FIXTURES).join(rel)
}

fn golden() -> &'static Value {
    static GOLDEN: OnceLock<Value> = OnceLock::new();
    GOLDEN.get_or_init(|| serde_json::from_str(&std::fs::read_to_string(fixture("golden.json")).unwrap()).unwrap())
}

fn load(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

/// A store folder holding the card's three files copied from `model_dir`.
fn store_with(model_dir: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(CARD);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE] {
        std::fs::copy(model_dir.join(f), dir.join(f)).unwrap();
    }
    root
}

fn context(root: &Path) -> ScorerContext {
    ScorerContext { store: ModelStore::with_places(vec![root.to_path_buf()], None), ..ScorerContext::cpu() }
}

/// transformers' tiny CLIP, loaded once through the model store.
fn tiny() -> &'static ClipIqa {
    static TINY: OnceLock<ClipIqa> = OnceLock::new();
    TINY.get_or_init(|| {
        let root = store_with(&fixture("tiny"));
        ClipIqa::new(&context(root.path())).unwrap()
    })
}

fn media_images() -> Option<Vec<PathBuf>> {
    let dir = Path::new(MEDIA_IMAGES);
    if !dir.is_dir() {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", dir.display());
        return None;
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "jpg"))
        .collect();
    paths.sort();
    Some(paths)
}

/// CLIP's tokenizer (transformers' CLIPTokenizer pipeline) over make_fixtures.py's pieces, built
/// with the tokenizers crate.
fn clip_tokenizer() -> Tokenizer {
    let mut vocab: Vocab = PIECES.iter().enumerate().map(|(i, p)| (p.to_string(), i as u32)).collect();
    let (bos, eos) = (PIECES.len() as u32, PIECES.len() as u32 + 1);
    vocab.insert("<|startoftext|>".into(), bos);
    vocab.insert("<|endoftext|>".into(), eos);
    let merges = MERGES.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .unk_token("<|endoftext|>".into())
        .end_of_word_suffix("</w>".into())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(bpe);
    let normalizer = Normalizers::new(vec![
        NFC.into(),
        Replace::new(ReplacePattern::Regex(r"\s+".into()), " ").unwrap().into(),
        Lowercase.into(),
    ]);
    tok.with_normalizer(Some(normalizer)).unwrap();
    tok.with_pre_tokenizer(Some(PreTokenizers::new(vec![
        Split::new(SplitPattern::Regex(CLIP_SPLIT.into()), SplitDelimiterBehavior::Removed, true).unwrap().into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tok.with_post_processor(Some(
        RobertaProcessing::new(("<|endoftext|>".into(), eos), ("<|startoftext|>".into(), bos))
            .trim_offsets(false)
            .add_prefix_space(false),
    ));
    tok.with_decoder(Some(ByteLevel::default()));
    tok.add_special_tokens([AddedToken::from("<|startoftext|>", true), AddedToken::from("<|endoftext|>", true)]).unwrap();
    tok
}

/// A CLIP with candle's random initialisation, a different shape from the fixture's (64 px images
/// in 32 px patches, one layer per tower), written in the Hub layout into `dir`.
fn write_random_model(dir: &Path) {
    let tok = clip_tokenizer();
    let config = json!({
        "projection_dim": 16,
        "logit_scale_init_value": 2.6592,
        "text_config": {"vocab_size": tok.get_vocab_size(true), "hidden_size": 32, "intermediate_size": 48,
                        "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 12,
                        "hidden_act": "quick_gelu"},
        "vision_config": {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "image_size": 64, "patch_size": 32, "hidden_act": "quick_gelu"},
    });
    let cfg = Config::from_json(&config.to_string()).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    // candle's ClipModel reads these two only when present; create them so they are saved.
    vb.get_with_hints((), "logit_scale", Init::Const(100f64.ln())).unwrap();
    vb.get_with_hints(32, "vision_model.embeddings.class_embedding", Init::Randn { mean: 0.0, stdev: 1.0 }).unwrap();
    ClipModel::new(vb, &cfg.to_candle()).unwrap();
    varmap.save(dir.join(WEIGHTS_FILE)).unwrap();
    std::fs::write(dir.join(CONFIG_FILE), config.to_string()).unwrap();
    tok.save(dir.join(TOKENIZER_FILE), false).unwrap();
}

/// make_fixtures.py's formula_image: an integer pattern with fine detail.
fn formula_image(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (u64::from(x), u64::from(y));
        image::Rgb([((x * x + 3 * y) % 256) as u8, ((x * y / 7) % 256) as u8, ((5 * x + y * y / 11) % 256) as u8])
    })
}

fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: ours {got}, reference {want} (tolerance {tol})");
}

#[test]
fn matches_transformers_on_the_tiny_model() {
    let s = tiny();
    let g = golden();
    assert_close("logit scale", s.logit_scale(), g["logit_scale_exp"].as_f64().unwrap(), 1e-3);
    let text: Vec<Vec<f32>> = s.text_embeddings().to_vec2().unwrap();
    for (i, want) in g["text_embeddings"].as_array().unwrap().iter().enumerate() {
        let want: Vec<f64> = want.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let norm = want.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (j, w) in want.iter().enumerate() {
            assert_close(&format!("text embedding {i}[{j}]"), f64::from(text[i][j]), w / norm, EMBEDDING_TOLERANCE);
        }
    }
    let mut worst = 0f64;
    for name in INPUTS {
        let want = &g["images"][name];
        let path = fixture(&format!("inputs/{name}.png"));
        let got = s.score_path(&path).unwrap();
        let score = got.score.unwrap();
        println!("{name}: ours {score:.6}, transformers {:.6}", want["score"].as_f64().unwrap());
        assert_close(name, score, want["score"].as_f64().unwrap(), SCORE_TOLERANCE);
        assert_eq!(got.raw, got.score, "raw is the same probability");
        assert_close("cos_good", got.details["cos_good"], want["cos_good"].as_f64().unwrap(), EMBEDDING_TOLERANCE);
        assert_close("cos_bad", got.details["cos_bad"], want["cos_bad"].as_f64().unwrap(), EMBEDDING_TOLERANCE);
        let emb: Vec<Vec<f32>> = s.image_embeddings(&[load(&path)]).unwrap().to_vec2().unwrap();
        for (j, w) in want["image_embedding"].as_array().unwrap().iter().enumerate() {
            let diff = (f64::from(emb[0][j]) - w.as_f64().unwrap()).abs();
            worst = worst.max(diff);
            assert!(diff <= EMBEDDING_TOLERANCE, "{name} image embedding [{j}]: off by {diff}");
        }
        let pixels: f64 = clip_pixels(&load(&path), s.image_size()).iter().map(|v| f64::from(*v)).sum();
        assert_close("pixel sum", pixels, want["pixel_sum"].as_f64().unwrap(), 1e-2);
    }
    println!("largest image-embedding difference: {worst:.2e}");
    // The fixture's scores differ from one another, so matching them is not luck.
    let scores: Vec<f64> = INPUTS.iter().map(|n| g["images"][n]["score"].as_f64().unwrap()).collect();
    assert!(scores.iter().any(|s| (s - scores[0]).abs() > 0.1), "{scores:?}");
}

#[test]
fn preprocessing_matches_pillow_byte_for_byte() {
    for name in INPUTS {
        let input = load(&fixture(&format!("inputs/{name}.png")));
        for (size, dir) in [(32, "pil32"), (224, "pil224")] {
            let want = load(&fixture(&format!("{dir}/{name}.png")));
            let got = resize_crop(&input, size);
            let differing = got.as_raw().iter().zip(want.as_raw()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{name} at {size} px: {differing} bytes differ from Pillow");
        }
    }
    let formula = formula_image(240, 500);
    assert!(resize_crop(&formula, 224) == load(&fixture("pil224/formula_240x500.png")), "240x500 pattern differs");
    let Some(_) = media_images() else { return };
    for name in ["chelsea", "astronaut"] {
        let input = load(&Path::new(MEDIA_IMAGES).join(format!("{name}.png")));
        let want = load(&fixture(&format!("pil224/media_{name}.png")));
        let got = resize_crop(&input, 224);
        assert!(got.as_raw() == want.as_raw(), "{name}.png at 224 px differs from Pillow");
    }
}

#[test]
fn tokenizers_built_here_and_by_transformers_agree() {
    let ours = clip_tokenizer();
    let theirs = Tokenizer::from_file(fixture("tiny/tokenizer.json")).unwrap();
    for (i, prompt) in [POSITIVE_PROMPT, NEGATIVE_PROMPT].iter().enumerate() {
        let want: Vec<u32> =
            golden()["token_ids"][i].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(ours.encode(*prompt, true).unwrap().get_ids(), want.as_slice(), "{prompt}");
        assert_eq!(theirs.encode(*prompt, true).unwrap().get_ids(), want.as_slice(), "{prompt}");
    }
}

#[test]
fn random_weights_built_here_load_from_the_store_and_score() {
    let model = tempfile::tempdir().unwrap();
    write_random_model(model.path());
    let root = store_with(model.path());
    let s = ClipIqa::new(&context(root.path())).unwrap();
    assert_eq!(s.image_size(), 64);
    assert!((s.logit_scale() - 100.0).abs() < 1e-3);
    let mut scores = Vec::new();
    for name in INPUTS {
        let path = fixture(&format!("inputs/{name}.png"));
        let a = s.score_path(&path).unwrap();
        let b = s.score_path(&path).unwrap();
        assert_eq!(a, b, "{name}: deterministic");
        let score = a.score.unwrap();
        assert!((0.0..=1.0).contains(&score), "{name}: {score}");
        scores.push(score);
    }
    println!("candle-initialised CLIP scores: {scores:?}");
}

#[test]
fn scores_photos_from_tests_media_in_unit_range() {
    let s = tiny();
    let Some(paths) = media_images() else { return };
    assert!(!paths.is_empty());
    for path in &paths {
        let a = s.score_path(path).unwrap();
        let score = a.score.unwrap_or_else(|| panic!("{}: {:?}", path.display(), a.reason));
        assert!((0.0..=1.0).contains(&score), "{}: {score}", path.display());
        assert_eq!(s.score_path(path).unwrap(), a, "{}: deterministic", path.display());
    }
    println!("scored {} photos", paths.len());
}

#[test]
fn a_batch_equals_single_calls() {
    let frames: Vec<RgbImage> = INPUTS
        .iter()
        .map(|n| load(&fixture(&format!("inputs/{n}.png"))))
        .chain([
            RgbImage::from_fn(97, 33, |x, y| image::Rgb([(x * 2) as u8, (y * 7) as u8, ((x + y) * 3) as u8])),
            RgbImage::from_pixel(16, 16, image::Rgb([200, 30, 90])),
        ])
        .collect();
    let single: Vec<f64> = frames.iter().map(|f| tiny().score_frame(f).unwrap().score.unwrap()).collect();
    let root = store_with(&fixture("tiny"));
    for batch in [1, 2, 4, 16] {
        let s = ClipIqa::new(&context(root.path())).unwrap().with_batch(batch);
        let batched = s.score_frames(&frames).unwrap();
        assert_eq!(batched.len(), frames.len());
        for (i, (b, one)) in batched.iter().zip(&single).enumerate() {
            assert_close(&format!("batch {batch}, frame {i}"), b.score.unwrap(), *one, BATCH_TOLERANCE);
        }
    }
    assert!(tiny().score_frames(&[]).unwrap().is_empty());
}

#[test]
fn images_of_any_size_and_shape_are_scored() {
    let s = tiny();
    let sizes = [(1, 1), (2, 300), (300, 2), (31, 32), (33, 32), (640, 480), (1920, 1080)];
    for (w, h) in sizes {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 256) as u8]));
        let score = s.score_frame(&img).unwrap().score.unwrap();
        assert!((0.0..=1.0).contains(&score), "{w}x{h}: {score}");
        assert_eq!(resize_crop(&img, 224).dimensions(), (224, 224));
    }
    // The same picture at two sizes scores alike but not identically (it is resampled).
    let big = load(&fixture("inputs/chelsea_120x80.png"));
    let small = image::imageops::resize(&big, 60, 40, image::imageops::FilterType::Triangle);
    let (a, b) = (s.score_frame(&big).unwrap().score.unwrap(), s.score_frame(&small).unwrap().score.unwrap());
    assert!(a != b && (0.0..=1.0).contains(&b), "{a} {b}");
}

#[test]
fn missing_weights_are_an_error_that_says_how_to_fetch_them() {
    let empty = tempfile::tempdir().unwrap();
    let err = ClipIqa::new(&context(empty.path())).err().expect("no weights in an empty store").to_string();
    assert!(err.contains("clip-iqa") && err.contains("omniscore models pull clip-vit-base-patch32"), "{err}");
    let err = (registry::find("clip-iqa").unwrap().build)(&context(empty.path())).err().unwrap().to_string();
    assert!(err.contains("omniscore models pull clip-vit-base-patch32"), "{err}");
}

#[test]
fn registered_as_an_optional_image_scorer() {
    let info = registry::find("clip-iqa").unwrap();
    assert_eq!(info.modality, omniscore::data::Modality::Image);
    assert!(!info.default && !info.lower_better_raw);
    assert!(registry::defaults(omniscore::data::Modality::Image).iter().all(|i| i.name != "clip-iqa"));
}

#[test]
fn a_tokenizer_without_clip_special_tokens_is_refused() {
    let model = tempfile::tempdir().unwrap();
    write_random_model(model.path());
    let mut plain = clip_tokenizer();
    plain.with_post_processor(None::<RobertaProcessing>);
    plain.save(model.path().join(TOKENIZER_FILE), false).unwrap();
    let root = store_with(model.path());
    let err = ClipIqa::new(&context(root.path())).err().unwrap().to_string();
    assert!(err.contains("<|startoftext|>") && err.contains(TOKENIZER_FILE), "{err}");
    assert_eq!(err.matches("clip-iqa").count(), 1, "{err}");
}
