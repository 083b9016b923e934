//! Video decoding: H.264 in MP4 (plain and fragmented; `mp4` + OpenH264), GIF / animated WebP /
//! APNG (the `image` crate's `AnimationDecoder`), and frame folders (a directory of numbered
//! images). Frames come out one at a time in presentation order as `RgbImage`s with their time;
//! nothing holds the whole video in memory, and frames nobody asked for skip colour conversion.
//!
//! Frame sampling rule (`SamplingRule::plan`, defaults in `SamplingRule::default`), for a video
//! of `n` decodable frames:
//! - spatial: `min(n, spatial_frames)` frames at the centres of equal segments,
//!   `floor((k + 0.5) * n / K)` for k = 0..K;
//! - temporal: every frame when `n <= temporal_windows * window_len`; otherwise
//!   `temporal_windows` runs of `window_len` consecutive frames, evenly spaced from the first
//!   frame to the last, so consecutive-frame measures (flicker, freezes, cuts) always see true
//!   neighbours.
//!
//! A truncated file decodes what is there: `VideoInfo::truncated` says how much. A missing
//! `moov` atom, garbage, or an unsupported codec or container is a `MediaError` naming the file
//! (and the codec).

mod mp4;

use crate::media::MediaError;
use image::{AnimationDecoder, ImageDecoder, RgbImage, RgbaImage};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// GIF frames with a delay this short are shown for `GIF_SHORT_DELAY_AS_MS` by browsers; we
/// time them the same way.
const GIF_MIN_DELAY_MS: f64 = 10.0;
const GIF_SHORT_DELAY_AS_MS: f64 = 100.0;
/// A frame folder carries no timing: frames are assumed to be this far apart.
pub const FOLDER_FPS: f64 = 25.0;
/// File extensions a frame folder may hold.
const FOLDER_IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"];

/// What a video is, read without decoding its pictures (except animations, whose frames must be
/// walked once to be counted).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub path: PathBuf,
    /// "mp4", "gif", "webp", "png" (APNG or a still), "frames" (a folder).
    pub container: &'static str,
    /// "h264", "gif", "webp", "png", "images".
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// None when the container carries no timing (a single still frame).
    pub fps: Option<f64>,
    /// The duration the container declares (for a truncated file: the intended one).
    pub duration_s: Option<f64>,
    /// Frames that can be decoded (complete in the file).
    pub frame_count: usize,
    pub truncated: Option<Truncation>,
}

/// How much of a truncated file is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Truncation {
    pub frames_present: usize,
    /// What the container says the whole video had (estimated from duration x fps for a
    /// fragmented file whose later fragments are gone).
    pub frames_declared: Option<usize>,
    pub detail: String,
}

/// One decoded picture.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in presentation order, from 0.
    pub index: usize,
    /// Presentation time in seconds from the first frame.
    pub pts_s: f64,
    pub image: RgbImage,
}

/// Which frames a scorer looks at (see the module header for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplingRule {
    pub spatial_frames: usize,
    pub temporal_windows: usize,
    pub window_len: usize,
}

impl Default for SamplingRule {
    /// 12 spatial frames; up to 8 runs of 40 consecutive frames (320 frames: every frame of a
    /// clip up to ~13 s at 24 fps, which covers typical generated videos).
    fn default() -> Self {
        SamplingRule { spatial_frames: 12, temporal_windows: 8, window_len: 40 }
    }
}

/// Frame indices chosen by a `SamplingRule` for one video, each list sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePlan {
    pub spatial: Vec<usize>,
    pub temporal: Vec<usize>,
}

impl SamplingRule {
    pub fn plan(&self, n: usize) -> SamplePlan {
        let k = self.spatial_frames.min(n);
        let spatial: Vec<usize> = (0..k).map(|i| ((2 * i + 1) * n) / (2 * k)).collect();
        let windows = self.temporal_windows.max(1);
        let len = self.window_len.max(2);
        let temporal = if n <= windows * len {
            (0..n).collect()
        } else {
            let mut t = Vec::with_capacity(windows * len);
            for w in 0..windows {
                let start = if windows == 1 { 0 } else { w * (n - len) / (windows - 1) };
                t.extend(start..start + len);
            }
            t.dedup();
            t
        };
        SamplePlan { spatial, temporal }
    }
}

impl SamplePlan {
    /// Every index either list wants, sorted and unique.
    pub fn union(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.spatial.iter().chain(&self.temporal).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// An opened video: its `VideoInfo`, and its frames on demand.
pub struct VideoReader {
    info: VideoInfo,
    source: Source,
    produced: usize,
}

enum Source {
    Mp4(Box<mp4::Mp4Video>),
    Animation { frames: image::Frames<'static>, clock_s: f64 },
    Still(Option<RgbImage>),
    Folder { files: Vec<PathBuf>, next: usize },
}

impl VideoReader {
    /// Opens an MP4, GIF, WebP, PNG/APNG or a folder of numbered images (by content, not name).
    pub fn open(path: &Path) -> Result<VideoReader, MediaError> {
        if path.is_dir() {
            return open_folder(path);
        }
        let mut head = [0u8; 12];
        let n =
            File::open(path).and_then(|mut f| read_up_to(&mut f, &mut head)).map_err(|e| MediaError::io(path, e))?;
        let head = &head[..n];
        if n == 0 {
            return Err(MediaError::decode(path, "empty file"));
        }
        if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip") {
            let (video, info) = mp4::Mp4Video::open(path)?;
            return Ok(VideoReader { info, source: Source::Mp4(Box::new(video)), produced: 0 });
        }
        if head.starts_with(b"GIF8") {
            return open_animation(path, "gif");
        }
        if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
            return open_animation(path, "webp");
        }
        if head.starts_with(b"\x89PNG") {
            return open_animation(path, "png");
        }
        if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            return Err(MediaError::unsupported(
                path,
                "container Matroska/WebM: only MP4 (H.264), GIF, WebP, APNG and frame folders are decoded",
            ));
        }
        if head.starts_with(b"RIFF") && head.get(8..11) == Some(b"AVI") {
            return Err(MediaError::unsupported(
                path,
                "container AVI: only MP4 (H.264), GIF, WebP, APNG and frame folders are decoded",
            ));
        }
        Err(MediaError::decode(path, format!("not a recognised video file (starts with {:02x?})", &head[..n.min(8)])))
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Decode problems met so far (frames that did not decode), with the first one's message.
    pub fn decode_errors(&self) -> (usize, Option<String>) {
        match &self.source {
            Source::Mp4(v) => (v.decode_errors, v.first_error.clone()),
            _ => (0, None),
        }
    }

    /// Frames output so far (decoded, whether or not converted to RGB).
    pub fn frames_decoded(&self) -> usize {
        self.produced
    }

    /// The frames whose indices are in `wanted` (any order; duplicates ignored), decoded one at a
    /// time; decoding stops after the last wanted frame.
    pub fn frames(&mut self, wanted: &[usize]) -> SelectedFrames<'_> {
        let mut wanted = wanted.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        SelectedFrames { reader: self, wanted, done: false }
    }

    /// The next frame in presentation order: (index, seconds, RGB when `want(index)`).
    fn next_raw(
        &mut self,
        want: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<(usize, f64, Option<RgbImage>)>, MediaError> {
        let index = self.produced;
        let path = &self.info.path;
        let out = match &mut self.source {
            Source::Mp4(v) => v.next_frame(want)?,
            Source::Animation { frames, clock_s } => match frames.next() {
                None => None,
                Some(Err(e)) => return Err(MediaError::decode(path, format!("frame {index}: {e}"))),
                Some(Ok(frame)) => {
                    let t = *clock_s;
                    *clock_s += frame_delay_s(&frame);
                    Some((index, t, want(index).then(|| flatten_rgba(frame.buffer()))))
                }
            },
            Source::Still(image) => image.take().map(|im| (0, 0.0, want(0).then_some(im))),
            Source::Folder { files, next } => {
                if *next >= files.len() {
                    None
                } else {
                    let file = files[*next].clone();
                    *next += 1;
                    let image = if want(index) { Some(load_folder_frame(&file, &self.info)?) } else { None };
                    Some((index, index as f64 / FOLDER_FPS, image))
                }
            }
        };
        if out.is_some() {
            self.produced += 1;
        }
        Ok(out)
    }
}

/// Iterator over chosen frames (see `VideoReader::frames`); stops at the first error.
pub struct SelectedFrames<'a> {
    reader: &'a mut VideoReader,
    wanted: Vec<usize>,
    done: bool,
}

impl Iterator for SelectedFrames<'_> {
    type Item = Result<Frame, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        let last = *self.wanted.last()?;
        while !self.done {
            let wanted = &self.wanted;
            let mut want = |i: usize| wanted.binary_search(&i).is_ok();
            match self.reader.next_raw(&mut want) {
                Ok(Some((index, pts_s, image))) => {
                    self.done = index >= last;
                    if let Some(image) = image {
                        return Some(Ok(Frame { index, pts_s, image }));
                    }
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Opens `path` and returns its metadata only.
pub fn probe(path: &Path) -> Result<VideoInfo, MediaError> {
    VideoReader::open(path).map(|r| r.info)
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn animation_frames(path: &Path, kind: &str) -> Result<Option<image::Frames<'static>>, MediaError> {
    let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
    let reader = BufReader::new(file);
    let bad = |e: image::ImageError| MediaError::decode(path, e);
    Ok(match kind {
        "gif" => Some(image::codecs::gif::GifDecoder::new(reader).map_err(bad)?.into_frames()),
        "webp" => {
            let d = image::codecs::webp::WebPDecoder::new(reader).map_err(bad)?;
            d.has_animation().then(|| d.into_frames())
        }
        _ => {
            let d = image::codecs::png::PngDecoder::new(reader).map_err(bad)?;
            if d.is_apng().map_err(bad)? {
                Some(d.apng().map_err(bad)?.into_frames())
            } else {
                None
            }
        }
    })
}

/// Animations are walked once to count frames and time them, then reopened for decoding.
fn open_animation(path: &Path, kind: &'static str) -> Result<VideoReader, MediaError> {
    let Some(frames) = animation_frames(path, kind)? else {
        let image = image::open(path).map_err(|e| MediaError::decode(path, e))?.to_rgb8();
        let info = VideoInfo {
            path: path.to_path_buf(),
            container: kind,
            codec: kind.to_string(),
            width: image.width(),
            height: image.height(),
            fps: None,
            duration_s: None,
            frame_count: 1,
            truncated: None,
        };
        return Ok(VideoReader { info, source: Source::Still(Some(image)), produced: 0 });
    };
    let (mut count, mut total_s, mut size, mut broken) = (0usize, 0.0, (0, 0), None);
    for frame in frames {
        match frame {
            Ok(f) => {
                count += 1;
                total_s += frame_delay_s(&f);
                size = f.buffer().dimensions();
            }
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        }
    }
    if count == 0 {
        let why = broken.unwrap_or_else(|| "no frames".into());
        return Err(MediaError::decode(path, format!("{kind} animation: {why}")));
    }
    let truncated = broken.map(|e| Truncation {
        frames_present: count,
        frames_declared: None,
        detail: format!("{count} frames decode, then: {e}"),
    });
    let info = VideoInfo {
        path: path.to_path_buf(),
        container: kind,
        codec: kind.to_string(),
        width: size.0,
        height: size.1,
        fps: (total_s > 0.0).then(|| count as f64 / total_s),
        duration_s: Some(total_s),
        frame_count: count,
        truncated,
    };
    let frames = animation_frames(path, kind)?.expect("an animation the first pass decoded");
    Ok(VideoReader { info, source: Source::Animation { frames, clock_s: 0.0 }, produced: 0 })
}

fn frame_delay_s(frame: &image::Frame) -> f64 {
    let (num, den) = frame.delay().numer_denom_ms();
    let ms = num as f64 / den.max(1) as f64;
    if ms <= GIF_MIN_DELAY_MS {
        GIF_SHORT_DELAY_AS_MS / 1000.0
    } else {
        ms / 1000.0
    }
}

/// RGBA onto black: a transparent pixel shows as the background a player would most often use.
fn flatten_rgba(rgba: &RgbaImage) -> RgbImage {
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = p[3] as u32;
        for c in 0..3 {
            o[c] = ((p[c] as u32 * a + 127) / 255) as u8;
        }
    }
    out
}

/// The number a frame file is ordered by: the last run of digits in its stem.
fn frame_number(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = stem[..end].rfind(|c: char| !c.is_ascii_digit()).map(|i| i + 1).unwrap_or(0);
    stem[start..end].parse().ok()
}

fn open_folder(dir: &Path) -> Result<VideoReader, MediaError> {
    let entries = std::fs::read_dir(dir).map_err(|e| MediaError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| MediaError::io(dir, e))?.path();
        if p.is_file() && FOLDER_IMAGE_EXTENSIONS.contains(&crate::media::extension(&p).as_str()) {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(MediaError::decode(dir, "frame folder holds no images (png, jpg, bmp, tif, webp)"));
    }
    let unnumbered: Vec<_> = files.iter().filter(|p| frame_number(p).is_none()).collect();
    if !unnumbered.is_empty() {
        return Err(MediaError::decode(
            dir,
            format!("frame folder has images without a frame number, e.g. {}", unnumbered[0].display()),
        ));
    }
    files.sort_by(|a, b| frame_number(a).cmp(&frame_number(b)).then_with(|| a.cmp(b)));
    let (width, height) = image::ImageReader::open(&files[0])
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| MediaError::io(&files[0], e))?
        .into_dimensions()
        .map_err(|e| MediaError::decode(&files[0], e))?;
    let info = VideoInfo {
        path: dir.to_path_buf(),
        container: "frames",
        codec: "images".into(),
        width,
        height,
        fps: Some(FOLDER_FPS),
        duration_s: Some(files.len() as f64 / FOLDER_FPS),
        frame_count: files.len(),
        truncated: None,
    };
    Ok(VideoReader { info, source: Source::Folder { files, next: 0 }, produced: 0 })
}

fn load_folder_frame(file: &Path, info: &VideoInfo) -> Result<RgbImage, MediaError> {
    let decoder = image::ImageReader::open(file)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| MediaError::io(file, e))?
        .into_decoder()
        .map_err(|e| MediaError::decode(file, e))?;
    let (w, h) = decoder.dimensions();
    if (w, h) != (info.width, info.height) {
        return Err(MediaError::decode(
            file,
            format!("frame is {w}x{h} but the folder's first frame is {}x{}", info.width, info.height),
        ));
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(|e| MediaError::decode(file, e))?;
    Ok(match image {
        image::DynamicImage::ImageRgba8(rgba) => flatten_rgba(&rgba),
        other => other.to_rgb8(),
    })
}

/// Limited-range BT.601 YUV 4:2:0 to RGB in 8.8 fixed point (the conversion ffmpeg applies to
/// H.264 that does not signal its matrix; nearly all encoders write limited range).
fn rgb_from_yuv420(
    y: &[u8],
    u: &[u8],
    v: &[u8],
    (w, h): (usize, usize),
    (sy, su, sv): (usize, usize, usize),
) -> RgbImage {
    let mut out = vec![0u8; w * h * 3];
    let clamp = |x: i32| (x >> 8).clamp(0, 255) as u8;
    for row in 0..h {
        let yrow = &y[row * sy..row * sy + w];
        let urow = &u[(row / 2) * su..];
        let vrow = &v[(row / 2) * sv..];
        let orow = &mut out[row * w * 3..(row + 1) * w * 3];
        for col in 0..w {
            let c = 298 * (yrow[col] as i32 - 16) + 128;
            let d = urow[col / 2] as i32 - 128;
            let e = vrow[col / 2] as i32 - 128;
            let o = &mut orow[col * 3..col * 3 + 3];
            o[0] = clamp(c + 409 * e);
            o[1] = clamp(c - 100 * d - 208 * e);
            o[2] = clamp(c + 516 * d);
        }
    }
    RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized w*h*3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_videos_use_every_frame_for_temporal_measures() {
        let rule = SamplingRule::default();
        let plan = rule.plan(100);
        assert_eq!(plan.temporal, (0..100).collect::<Vec<_>>());
        assert_eq!(plan.spatial.len(), 12);
        assert_eq!(plan.spatial[0], 4); // centre of the first of 12 segments of 100 frames
        assert!(plan.spatial.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(rule.plan(3).spatial, vec![0, 1, 2]);
        assert!(rule.plan(0).union().is_empty());
    }

    #[test]
    fn long_videos_use_evenly_spaced_runs_of_consecutive_frames() {
        let rule = SamplingRule { spatial_frames: 4, temporal_windows: 3, window_len: 10 };
        let plan = rule.plan(1000);
        assert_eq!(plan.temporal.len(), 30);
        assert_eq!(&plan.temporal[..10], &(0..10).collect::<Vec<_>>()[..]);
        assert_eq!(&plan.temporal[10..20], &(495..505).collect::<Vec<_>>()[..]);
        assert_eq!(*plan.temporal.last().unwrap(), 999);
        assert_eq!(plan.spatial, vec![125, 375, 625, 875]);
    }

    #[test]
    fn frame_numbers_order_numerically() {
        assert_eq!(frame_number(Path::new("frame_0010.png")), Some(10));
        assert_eq!(frame_number(Path::new("shot2_frame9.jpg")), Some(9));
        assert_eq!(frame_number(Path::new("cover.png")), None);
    }

    #[test]
    fn limited_range_grey_and_red_convert_like_bt601() {
        // Y=16 is black, Y=235 white; (Y,U,V)=(81,90,240) is BT.601 red.
        let img = rgb_from_yuv420(&[16, 235, 81, 81], &[128], &[128], (2, 1), (2, 1, 1));
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [255, 255, 255]);
        let red = rgb_from_yuv420(&[81, 81], &[90], &[240], (2, 1), (2, 1, 1));
        let p = red.get_pixel(0, 0).0;
        assert!(p[0] > 250 && p[1] < 5 && p[2] < 5, "{p:?}");
    }
}
