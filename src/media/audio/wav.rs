//! A fast path for the simplest and most common audio file: a complete RIFF/WAVE file of 16-bit
//! integer or 32-bit float PCM. Read in one go and converted exactly as symphonia converts
//! (i16 / 32768), it takes a tenth of the time of symphonia's packet loop, which matters when a
//! scorer's whole budget for a short clip is a millisecond. Anything else (other sample formats,
//! a data chunk that runs past the end of the file, a length over the decode cap) returns
//! `None`, and symphonia decodes it with its truncation and corruption reporting.

use std::path::Path;

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Sample encodings the fast path reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    I16,
    F32,
}

/// What the `fmt ` chunk says.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Format {
    encoding: Encoding,
    channels: usize,
    rate: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_format(chunk: &[u8]) -> Option<Format> {
    let mut tag = u16_at(chunk, 0)?;
    let channels = u16_at(chunk, 2)? as usize;
    let rate = u32_at(chunk, 4)?;
    let block_align = u16_at(chunk, 12)? as usize;
    let bits = u16_at(chunk, 14)?;
    if tag == WAVE_FORMAT_EXTENSIBLE {
        // cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID whose first two
        // bytes are the format tag. Padded containers (valid bits < container bits) go to
        // symphonia.
        if u16_at(chunk, 18)? != bits {
            return None;
        }
        tag = u16_at(chunk, 24)?;
    }
    let encoding = match (tag, bits) {
        (WAVE_FORMAT_PCM, 16) => Encoding::I16,
        (WAVE_FORMAT_IEEE_FLOAT, 32) => Encoding::F32,
        _ => return None,
    };
    let width = if encoding == Encoding::I16 { 2 } else { 4 };
    (channels > 0 && rate > 0 && block_align == width * channels).then_some(Format { encoding, channels, rate })
}

/// The file's `fmt ` and `data` chunk contents, when the RIFF structure is whole up to the end of
/// the data chunk.
fn chunks(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32_at(bytes, at + 4)? as usize;
        let body = bytes.get(at + 8..at + 8 + len)?; // None: the chunk runs past the file's end
        match id {
            b"fmt " => format = Some(body),
            b"data" => return Some((format?, body)),
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    None
}

/// Converts the interleaved frames of `data` (`W`-byte samples read by `read`) to the mono mix in
/// `out`, straight from the bytes: the general decoder's mix, the plain mean summed in channel
/// order (c0 + c1 + ... then times 1 / channels, the same value as its sum), with no interleaved
/// float copy of the file. Mono and stereo get their own loops (zips over preallocated buffers:
/// a collect over byte chunks did not vectorise).
fn mix_into<const W: usize>(out: &mut [f32], data: &[u8], channels: usize, read: impl Fn(&[u8; W]) -> f32) {
    let sample = |b: &[u8]| read(b.try_into().expect("W-byte chunks"));
    match channels {
        1 => {
            for (o, b) in out.iter_mut().zip(data.chunks_exact(W)) {
                *o = sample(b);
            }
        }
        2 => {
            for (o, f) in out.iter_mut().zip(data.chunks_exact(2 * W)) {
                *o = (sample(&f[..W]) + sample(&f[W..])) * 0.5;
            }
        }
        _ => {
            let inv = 1.0 / channels as f32;
            for (o, f) in out.iter_mut().zip(data.chunks_exact(channels * W)) {
                let mut c = f.chunks_exact(W);
                let first = sample(c.next().expect("channels > 0"));
                *o = c.fold(first, |acc, b| acc + sample(b)) * inv;
            }
        }
    }
}

/// Decodes `path` when it is a simple, complete PCM WAV file; `None` when symphonia must.
/// `max_seconds` and `max_samples` are the general decoder's caps: a longer file goes to
/// symphonia, which reports the cut.
pub(super) fn decode_simple(path: &Path, max_seconds: u64, max_samples: usize) -> Option<super::Audio> {
    let ext = super::super::extension(path);
    if !matches!(ext.as_str(), "wav" | "wave") {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    // Mapped rather than read: no copy of the file and no fresh pages to fault in for it (a
    // tenth of a 48 kHz file's scoring time). populate() maps it in one call.
    // SAFETY: the map is read-only and dropped before returning; a file rewritten while it is
    // being decoded yields wrong samples, as a concurrent write would with read(2).
    let bytes = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.ok()?;
    let (fmt, data) = chunks(&bytes)?;
    let format = parse_format(fmt)?;
    let width = if format.encoding == Encoding::I16 { 2 } else { 4 };
    let frame_bytes = width * format.channels;
    if data.is_empty() || data.len() % frame_bytes != 0 {
        return None;
    }
    let frames = data.len() / frame_bytes;
    if frames > max_samples.min((max_seconds * format.rate as u64) as usize) {
        return None;
    }
    let mut samples = vec![0f32; frames];
    match format.encoding {
        // Exactly symphonia's i16 / 32768 (a power of two: the product is the same value).
        Encoding::I16 => mix_into(&mut samples, data, format.channels, |b: &[u8; 2]| {
            i16::from_le_bytes(*b) as f32 * (1.0 / 32_768.0)
        }),
        Encoding::F32 => mix_into(&mut samples, data, format.channels, |b: &[u8; 4]| f32::from_le_bytes(*b)),
    }
    if format.encoding == Encoding::F32 {
        // As the general decoder, after mixing: clamped to full scale, non-finite values zeroed
        // (16-bit samples are in [-1, 1) already).
        for s in samples.iter_mut() {
            *s = if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 };
        }
    }
    Some(super::Audio {
        samples,
        sample_rate: format.rate,
        source_channels: format.channels,
        source_rate: format.rate,
        truncated: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn wav_bytes(tag: u16, bits: u16, channels: u16, rate: u32, data: &[u8]) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * block as u32).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    fn both(path: &Path) -> (Option<super::super::Audio>, super::super::Audio) {
        let fast = decode_simple(path, super::super::MAX_DECODE_SECONDS, super::super::MAX_DECODE_SAMPLES);
        (fast, super::super::decode_general(path).unwrap())
    }

    #[test]
    fn the_fast_path_equals_symphonia_on_real_files() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut files: Vec<PathBuf> = ["media/audio/librivox", "media/audio", "fixtures/audio"]
            .iter()
            .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wav"))
            .collect();
        files.sort();
        let mut fast_count = 0;
        for path in &files {
            let (fast, general) = both(path);
            if let Some(fast) = fast {
                assert_eq!(fast, general, "{}", path.display());
                fast_count += 1;
            }
        }
        println!("{fast_count} of {} wav files took the fast path", files.len());
        assert!(fast_count >= 1, "the committed stereo fixture is a 16-bit PCM wav");
    }

    #[test]
    fn float_and_stereo_files_decode_like_symphonia_and_odd_ones_are_left_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let values = [0.0f32, 0.5, -0.25, 1.5, -2.0, 0.125];
        let float: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let pcm: Vec<u8> = [0i16, 16384, -8192, 32767, -32768, 100].iter().flat_map(|v| v.to_le_bytes()).collect();
        for (name, bytes) in [
            ("f32_stereo.wav", wav_bytes(WAVE_FORMAT_IEEE_FLOAT, 32, 2, 8000, &float)),
            ("i16_mono.wav", wav_bytes(WAVE_FORMAT_PCM, 16, 1, 22050, &pcm)),
            ("i16_three.wav", wav_bytes(WAVE_FORMAT_PCM, 16, 3, 8000, &pcm)),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let (fast, general) = both(&path);
            assert_eq!(fast.expect(name), general, "{name}");
        }
        // 8-bit, a cut data chunk, a partial frame: symphonia's.
        let cases = [
            ("u8.wav", wav_bytes(WAVE_FORMAT_PCM, 8, 1, 8000, &[1, 2, 3, 4])),
            ("cut.wav", wav_bytes(WAVE_FORMAT_PCM, 16, 1, 8000, &pcm)[..40].to_vec()),
            ("partial.wav", wav_bytes(WAVE_FORMAT_PCM, 16, 2, 8000, &pcm[..10])),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert!(decode_simple(&path, 600, usize::MAX).is_none(), "{name}");
        }
        // Over the cap: symphonia, which says where it stopped.
        let path = dir.path().join("i16_mono.wav");
        assert!(decode_simple(&path, 600, 2).is_none());
    }
}
