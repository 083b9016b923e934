//! Audio decoding: any container/codec symphonia reads (wav, flac, mp3, ogg/vorbis, aac/m4a,
//! aiff, caf, mkv) into mono `f32` samples in [-1, 1], plus a band-limited resampler.
//!
//! Rules callers can rely on:
//! - Channels are mixed to mono by the plain mean (no channel weighting).
//! - Decoding stops after `MAX_DECODE_SECONDS` (10 minutes) of source audio, and in any case after
//!   `MAX_DECODE_SAMPLES` mono samples (10 minutes at 48 kHz, i.e. 115 MB of `f32`), so a huge or
//!   very high-rate file cannot exhaust memory; `Audio::truncated` says so when it happens.
//! - A stream that ends early (a cut file) or has corrupt packets decodes what it can; `truncated`
//!   says why it stopped or what was skipped. Only a file with no decodable audio at all is an
//!   error.
//! - `resample` is a polyphase Kaiser-windowed sinc (see its doc comment for the filter).
//! - Complete 16-bit/float PCM WAV files take a direct reader (wav.rs); MP3 is decoded in chunks
//!   on rayon's threads (packets.rs). Both give exactly the samples of symphonia's one-decoder
//!   loop (tested).

mod packets;
mod wav;

use super::MediaError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_MP3, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Decoded length cap in seconds of source audio.
pub const MAX_DECODE_SECONDS: u64 = 600;
/// Decoded length cap in mono samples, whatever the rate (10 minutes at 48 kHz).
pub const MAX_DECODE_SAMPLES: usize = 600 * 48_000;
/// A stream is called truncated when it decodes to fewer frames than its header declares by more
/// than this (covers encoder delay/padding and one partial packet).
const DECLARED_LENGTH_TOLERANCE: u64 = 4096;

/// Kaiser-windowed sinc resampler: zero crossings of the sinc on each side of the centre tap
/// (at the lower of the two rates); more crossings means a sharper transition band.
const RESAMPLE_ZERO_CROSSINGS: usize = 32;
/// Passband edge as a fraction of the lower rate's Nyquist frequency.
const RESAMPLE_ROLLOFF: f64 = 0.945;
/// Kaiser window shape: 10 gives about -100 dB side lobes.
const RESAMPLE_KAISER_BETA: f64 = 10.0;
/// Above this many filter phases (an awkward rate ratio such as 44_101 -> 48_000) the kernel is
/// evaluated per output sample instead of from a precomputed table.
const RESAMPLE_MAX_TABLE_PHASES: usize = 4096;

/// A decoded audio stream, mixed to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples in [-1, 1] at `sample_rate`.
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Channel count of the source stream (before mixing to mono).
    pub source_channels: usize,
    /// Sample rate of the source stream (before any resampling).
    pub source_rate: u32,
    /// `Some(why)` when decoding stopped before the end of the stream or skipped corrupt data:
    /// `samples` holds what was there.
    pub truncated: Option<String>,
}

impl Audio {
    /// Duration of `samples` in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate.max(1) as f64
    }
}

/// Decodes `path` at its native rate, mixed to mono.
pub fn decode(path: &Path) -> Result<Audio, MediaError> {
    let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
    if meta.is_dir() {
        return Err(MediaError::unsupported(path, "input: a directory, not an audio file"));
    }
    if meta.len() == 0 {
        return Err(MediaError::decode(path, "empty file (0 bytes)"));
    }
    if let Some(audio) = wav::decode_simple(path, MAX_DECODE_SECONDS, MAX_DECODE_SAMPLES) {
        return Ok(audio);
    }
    decode_general(path)
}

/// Decodes `path` with symphonia (any container and codec it reads), reporting cuts and
/// corrupt packets.
fn decode_general(path: &Path) -> Result<Audio, MediaError> {
    decode_general_with(path, true)
}

/// `decode_general`; `mix_planes: false` always goes through the interleaved copy (the tests
/// hold the plane mix to it).
fn decode_general_with(path: &Path, mix_planes: bool) -> Result<Audio, MediaError> {
    let ext = super::extension(path);
    let (probed, reopened) = match probe(path, &ext, true) {
        Ok(p) => (p, None),
        // Some demuxers (ogg) read the end of the file at open to learn the duration, and a cut
        // file fails there; read as a plain stream they decode whatever is present.
        Err(SymError::IoError(io)) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            return Err(MediaError::io(path, io))
        }
        Err(first) => match probe(path, &ext, false) {
            Ok(p) => (p, Some(format!("the container's end is missing or damaged ({first}); read as a stream"))),
            Err(_) => {
                return Err(MediaError::unsupported(
                    path,
                    format!(
                        "audio container: no demuxer recognises it (wav, flac, mp3, ogg, m4a/mp4, \
                         mkv/webm, aiff, caf are read), or it is corrupt ({first})"
                    ),
                ))
            }
        },
    };
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| MediaError::decode(path, "no audio track in the container"))?
        .clone();
    let params = &track.codec_params;
    let codec_name = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| format!("{}", params.codec));
    let mut decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|e| MediaError::unsupported(path, format!("audio codec {codec_name} ({e})")))?;
    let source_rate = params
        .sample_rate
        .filter(|r| *r > 0)
        .ok_or_else(|| MediaError::decode(path, "the stream declares no sample rate"))?;
    let declared_frames = params.n_frames;
    let mut channels = params.channels.map(|c| c.count()).unwrap_or(0);
    let max_samples = MAX_DECODE_SAMPLES.min((MAX_DECODE_SECONDS * source_rate as u64) as usize);

    let track_id = track.id;
    let decoded = if params.codec == CODEC_TYPE_MP3 && mix_planes {
        // Demux first (cheap), then decode in chunks side by side when that applies. Packets
        // past the decode cap are never needed, so collection stops there.
        let mut packets = Vec::new();
        let (mut demux_stop, mut frames) = (None, 0u64);
        while frames <= max_samples as u64 + 4 * 1152 {
            match packets::next_track_packet(format.as_mut(), track_id) {
                Ok(Some(p)) => {
                    frames += p.dur;
                    packets.push(p);
                }
                Ok(None) => break,
                Err(why) => {
                    demux_stop = Some(why);
                    break;
                }
            }
        }
        let chunked = if demux_stop.is_none() {
            packets::decode_mp3_chunks(params, &packets, max_samples, source_rate)
        } else {
            None
        };
        chunked.unwrap_or_else(|| {
            let run = packets.into_iter().map(Ok).chain(demux_stop.map(Err));
            packets::decode_packets(decoder.as_mut(), run, 0, max_samples, source_rate, mix_planes)
        })
    } else {
        let run = std::iter::from_fn(|| packets::next_track_packet(format.as_mut(), track_id).transpose());
        packets::decode_packets(decoder.as_mut(), run, 0, max_samples, source_rate, mix_planes)
    };
    let packets::Decoded { mut samples, channels: decoded_channels, stopped, skipped_packets, first_error } = decoded;
    if decoded_channels > 0 {
        channels = decoded_channels;
    }

    if samples.is_empty() {
        let why = stopped
            .or(first_error.map(|e| format!("every packet failed to decode ({e})")))
            .unwrap_or_else(|| "empty audio stream: no samples".into());
        return Err(MediaError::decode(path, why));
    }
    // Clamp: some codecs overshoot full scale slightly on loud material.
    for s in samples.iter_mut() {
        *s = if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 };
    }

    let mut notes: Vec<String> = reopened.into_iter().collect();
    if let Some(s) = stopped {
        notes.push(s);
    } else {
        let got = samples.len() as u64;
        if let Some(declared) = declared_frames.filter(|d| got + DECLARED_LENGTH_TOLERANCE < *d) {
            notes.push(format!(
                "the stream ends early: decoded {:.2} s of the {:.2} s its header declares",
                got as f64 / source_rate as f64,
                declared as f64 / source_rate as f64
            ));
        } else if let Some(note) = if ext == "mp3" || codec_name == "mp3" {
            mpeg_tail_truncated(path)
        } else if matches!(ext.as_str(), "ogg" | "oga" | "opus") {
            ogg_tail_truncated(path)
        } else {
            None
        } {
            notes.push(note);
        }
    }
    if skipped_packets > 0 {
        notes.push(format!(
            "skipped {skipped_packets} corrupt packet(s) ({})",
            first_error.as_deref().unwrap_or("")
        ));
    }
    Ok(Audio {
        samples,
        sample_rate: source_rate,
        source_channels: channels.max(1),
        source_rate,
        truncated: if notes.is_empty() { None } else { Some(notes.join("; ")) },
    })
}

/// Opens `path` with symphonia's probe; `seekable: false` hides the file's length and seeking
/// from the demuxer.
fn probe(path: &Path, ext: &str, seekable: bool) -> Result<symphonia::core::probe::ProbeResult, SymError> {
    let file = File::open(path)?;
    let source: Box<dyn symphonia::core::io::MediaSource> =
        if seekable { Box::new(file) } else { Box::new(ReadOnlySource::new(file)) };
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if !ext.is_empty() {
        hint.with_extension(ext);
    }
    let format_opts = FormatOptions { enable_gapless: true, ..Default::default() };
    symphonia::default::get_probe().format(&hint, mss, &format_opts, &MetadataOptions::default())
}

/// Decodes `path` and resamples it to `rate` Hz (see `resample`).
pub fn decode_at(path: &Path, rate: u32) -> Result<Audio, MediaError> {
    if rate == 0 {
        return Err(MediaError::decode(path, "requested a resampling rate of 0 Hz"));
    }
    let mut audio = decode(path)?;
    if audio.sample_rate != rate {
        audio.samples = resample(&audio.samples, audio.sample_rate, rate);
        audio.sample_rate = rate;
    }
    Ok(audio)
}

/// An MP3 cut mid-way ends inside a frame, which symphonia's demuxer reports exactly like a clean
/// end of stream, and a CBR file's declared length is estimated from the (cut) file size. So we
/// walk the MPEG frame headers ourselves: if the last frame claims bytes past the end of the
/// file, the file was cut. Returns None when the walk loses sync (we cannot tell).
fn mpeg_tail_truncated(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut head = [0u8; 10];
    f.read_exact(&mut head).ok()?;
    let mut pos: u64 = 0;
    if &head[..3] == b"ID3" {
        let size = head[6..10].iter().fold(0u64, |acc, b| (acc << 7) | (*b as u64 & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        pos = 10 + size + footer;
    }
    // Trailing tags are not frames: ID3v1 (128 bytes "TAG") at the very end.
    let mut end = len;
    if len >= 128 {
        let mut tag = [0u8; 3];
        f.seek(SeekFrom::Start(len - 128)).ok()?;
        if f.read_exact(&mut tag).is_ok() && &tag == b"TAG" {
            end = len - 128;
        }
    }
    let mut word = [0u8; 4];
    let mut frames = 0u64;
    while pos + 4 <= end {
        f.seek(SeekFrom::Start(pos)).ok()?;
        f.read_exact(&mut word).ok()?;
        let size = mpeg_frame_size(u32::from_be_bytes(word))? as u64;
        frames += 1;
        if pos + size > end {
            return Some(format!(
                "the file ends inside MPEG frame {frames}: {} of its {size} bytes are missing",
                pos + size - end
            ));
        }
        pos += size;
    }
    None
}

/// A cut Ogg file: symphonia takes its length from the last complete page and ignores a partial
/// one after it. We walk the page headers: a page that claims bytes past the end of the file, or
/// a last page without the end-of-stream flag, means the file was cut. None when the walk loses
/// sync (we cannot tell).
fn ogg_tail_truncated(path: &Path) -> Option<String> {
    const PAGE_HEADER: usize = 27;
    const EOS_FLAG: u8 = 0x04;
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let (mut pos, mut pages, mut last_flags) = (0u64, 0u64, 0u8);
    let mut head = [0u8; PAGE_HEADER];
    let mut lacing = [0u8; 255];
    while pos < len {
        f.seek(SeekFrom::Start(pos)).ok()?;
        if pos + PAGE_HEADER as u64 > len {
            return Some(format!("the file ends inside the header of Ogg page {}", pages + 1));
        }
        f.read_exact(&mut head).ok()?;
        if &head[..4] != b"OggS" {
            return None;
        }
        let n_seg = head[26] as usize;
        if f.read_exact(&mut lacing[..n_seg]).is_err() {
            return Some(format!("the file ends inside the header of Ogg page {}", pages + 1));
        }
        let size = (PAGE_HEADER + n_seg) as u64 + lacing[..n_seg].iter().map(|b| *b as u64).sum::<u64>();
        pages += 1;
        if pos + size > len {
            return Some(format!(
                "the file ends inside Ogg page {pages}: {} of its {size} bytes are missing",
                pos + size - len
            ));
        }
        last_flags = head[5];
        pos += size;
    }
    (pages > 0 && last_flags & EOS_FLAG == 0)
        .then(|| format!("the last of {pages} Ogg pages lacks the end-of-stream flag: the rest is missing"))
}

/// Byte length of the MPEG audio frame whose 4-byte header is `h`, or None for an invalid header.
fn mpeg_frame_size(h: u32) -> Option<usize> {
    if h >> 21 != 0x7ff {
        return None;
    }
    let version = (h >> 19) & 3; // 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1
    let layer = (h >> 17) & 3; // 1: III, 2: II, 3: I
    let br_idx = ((h >> 12) & 0xf) as usize;
    let sr_idx = ((h >> 10) & 3) as usize;
    let padding = ((h >> 9) & 1) as usize;
    if version == 1 || layer == 0 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
        return None;
    }
    const BR_V1_L1: [usize; 15] = [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448];
    const BR_V1_L2: [usize; 15] = [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384];
    const BR_V1_L3: [usize; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const BR_V2_L1: [usize; 15] = [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256];
    const BR_V2_L23: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const SR_V1: [usize; 3] = [44_100, 48_000, 32_000];
    let mpeg1 = version == 3;
    let kbps = match (mpeg1, layer) {
        (true, 3) => BR_V1_L1[br_idx],
        (true, 2) => BR_V1_L2[br_idx],
        (true, _) => BR_V1_L3[br_idx],
        (false, 3) => BR_V2_L1[br_idx],
        (false, _) => BR_V2_L23[br_idx],
    };
    let sr = SR_V1[sr_idx] >> (if mpeg1 { 0 } else if version == 2 { 1 } else { 2 });
    let br = kbps * 1000;
    Some(match layer {
        3 => (12 * br / sr + padding) * 4,
        2 => 144 * br / sr + padding,
        _ if mpeg1 => 144 * br / sr + padding,
        _ => 72 * br / sr + padding,
    })
}

/// Resamples `samples` from `from` Hz to `to` Hz with a band-limited polyphase filter.
///
/// Filter: a Kaiser-windowed sinc (beta 10, about -100 dB side lobes) with its cutoff at 0.945 of
/// the lower rate's Nyquist frequency and 32 zero crossings on each side (stretched by from/to
/// when downsampling, so the anti-aliasing cutoff follows the output rate). The rate ratio is
/// reduced to L/M by their gcd and the L filter phases are tabulated (evaluated directly per
/// output sample when L > 4096). Samples outside the signal are zero; the output has
/// ceil(len * to / from) samples and output sample n sits at input time n * from / to.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    resample_with(samples, from, to, RESAMPLE_ZERO_CROSSINGS, RESAMPLE_KAISER_BETA)
}

/// `resample` with a chosen filter length (zero crossings per side) and Kaiser beta, for
/// callers that need less stopband than `resample`'s -100 dB (the loudness meter's 48 kHz
/// upsampling) and want the shorter filter's speed.
fn resample_with(samples: &[f32], from: u32, to: u32, zero_crossings: usize, beta: f64) -> Vec<f32> {
    if from == to || samples.is_empty() || from == 0 || to == 0 {
        return samples.to_vec();
    }
    let g = gcd(from as u64, to as u64);
    let up = to as u64 / g; // L: phases
    let down = from as u64 / g; // M: input step per output sample, in units of 1/L
    let out_len = ((samples.len() as u64 * up).div_ceil(down)) as usize;
    // Cutoff relative to the input rate (cycles per input sample, Nyquist = 0.5).
    let scale = (to as f64 / from as f64).min(1.0);
    let cutoff = 0.5 * scale * RESAMPLE_ROLLOFF;
    // Half-width in input samples: the zero crossings counted at the lower rate.
    let half = (zero_crossings.max(1) as f64 / scale).ceil() as i64;
    let taps = (2 * half) as usize;
    let i0_beta = bessel_i0(beta);
    let kernel = |t: f64| -> f64 {
        // t: distance in input samples from the output instant to the input sample.
        let r = t / half as f64;
        if r.abs() >= 1.0 {
            return 0.0;
        }
        let w = bessel_i0(beta * (1.0 - r * r).sqrt()) / i0_beta;
        let x = 2.0 * cutoff * t;
        let sinc = if x.abs() < 1e-12 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) };
        2.0 * cutoff * sinc * w
    };
    // Tap j of phase p multiplies input sample (i - half + 1 + j), i = floor(n M / L), frac = p / L.
    let tap_t = |frac: f64, j: usize| frac + (half - 1) as f64 - j as f64;
    let table: Option<Vec<f32>> = (up as usize <= RESAMPLE_MAX_TABLE_PHASES).then(|| {
        let mut t = Vec::with_capacity(up as usize * taps);
        for p in 0..up {
            let frac = p as f64 / up as f64;
            t.extend((0..taps).map(|j| kernel(tap_t(frac, j)) as f32));
        }
        t
    });
    if let (1, Some(t)) = (down, &table) {
        return upsample_integer(samples, up as usize, half as usize, taps, t);
    }
    let n_in = samples.len() as i64;
    let mut scratch = vec![0f32; taps];
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let pos = n * down;
        let i = (pos / up) as i64;
        let p = (pos % up) as usize;
        let coeffs: &[f32] = match &table {
            Some(t) => &t[p * taps..(p + 1) * taps],
            None => {
                let frac = p as f64 / up as f64;
                for (j, c) in scratch.iter_mut().enumerate() {
                    *c = kernel(tap_t(frac, j)) as f32;
                }
                &scratch
            }
        };
        let start = i - half + 1;
        let lo = (-start).max(0) as usize;
        let hi = ((n_in - start).min(taps as i64)).max(0) as usize;
        let acc = if lo < hi {
            let base = (start + lo as i64) as usize;
            dot(&coeffs[lo..hi], &samples[base..base + (hi - lo)])
        } else {
            0.0
        };
        out.push(acc);
    }
    out
}

/// Integer-factor upsampling (16 -> 48 kHz, ...) with the same taps as the general path, done
/// phase by phase as one multiply-add sweep over the whole signal per tap: contiguous, so it
/// vectorises, where the general path pays per-output overhead.
fn upsample_integer(samples: &[f32], up: usize, half: usize, taps: usize, table: &[f32]) -> Vec<f32> {
    let n = samples.len();
    // Output n = i * up + p uses input samples i - half + 1 .. i + half: padded index i + j.
    let mut padded = vec![0f32; n + taps];
    padded[half - 1..half - 1 + n].copy_from_slice(samples);
    let mut out = vec![0f32; n * up];
    let mut phase = vec![0f32; n];
    for p in 0..up {
        phase.iter_mut().for_each(|v| *v = 0.0);
        for (j, c) in table[p * taps..(p + 1) * taps].iter().enumerate() {
            for (acc, x) in phase.iter_mut().zip(&padded[j..j + n]) {
                *acc += c * x;
            }
        }
        for (i, v) in phase.iter().enumerate() {
            out[i * up + p] = *v;
        }
    }
    out
}

/// Dot product with eight independent accumulators: a single running sum is one long chain of
/// dependent adds that the compiler may not reorder (no fast-math), eight lanes vectorise.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (xa, xb) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += xa[l] * xb[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the
/// arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-16 * sum {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32 * 0.5)
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn resample_keeps_a_passband_tone_and_its_length() {
        for (from, to) in [(44_100, 16_000), (16_000, 48_000), (48_000, 44_100), (44_101, 48_000)] {
            let x = sine(1000.0, from, 1.0);
            let y = resample(&x, from, to);
            assert_eq!(y.len(), (x.len() as u64 * to as u64).div_ceil(from as u64) as usize);
            // Skip the filter's edge transients.
            let mid = &y[y.len() / 4..3 * y.len() / 4];
            let want = sine(1000.0, to, 1.0);
            let err = mid
                .iter()
                .zip(&want[y.len() / 4..3 * y.len() / 4])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(err < 2e-3, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn resample_rejects_what_would_alias() {
        // 12 kHz is above the 16 kHz output's Nyquist; linear interpolation would fold it to 4 kHz.
        let x = sine(12_000.0, 48_000, 1.0);
        let y = resample(&x, 48_000, 16_000);
        let mid = &y[y.len() / 4..3 * y.len() / 4];
        assert!(rms(mid) < 1e-4 * rms(&x), "alias rms {}", rms(mid));
    }

    #[test]
    fn mixing_from_planes_equals_the_interleaved_mix() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<std::path::PathBuf> = ["tests/media/audio", "tests/fixtures/audio"]
            .iter()
            .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "mp3" || e == "ogg" || e == "m4a" || e == "flac"))
            .collect();
        let pairs = std::path::PathBuf::from("/work/shared/data/quality-pairs/aud2.mp3");
        if pairs.exists() {
            files.push(pairs);
        }
        for path in &files {
            let planes = decode_general_with(path, true).unwrap();
            let interleaved = decode_general_with(path, false).unwrap();
            assert_eq!(planes, interleaved, "{}", path.display());
        }
        println!("{} files compared", files.len());
        assert!(!files.is_empty(), "the committed fixtures include a stereo flac");
    }

    #[test]
    fn mpeg_frame_sizes_match_the_standard() {
        // MPEG-1 Layer III, 128 kbps, 44.1 kHz, no padding: 417 bytes.
        assert_eq!(mpeg_frame_size(0xFFFB_9000), Some(417));
        // Same with the padding bit: 418.
        assert_eq!(mpeg_frame_size(0xFFFB_9200), Some(418));
        // MPEG-2 Layer III, 64 kbps, 22.05 kHz: 72 * 64000 / 22050 = 208.
        assert_eq!(mpeg_frame_size(0xFFF3_8000), Some(208));
        assert_eq!(mpeg_frame_size(0x1234_5678), None);
    }
}
