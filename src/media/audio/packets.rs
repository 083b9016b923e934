//! From demuxed packets to mono samples: the decode loop (corrupt packets skipped and counted, a
//! cap on the length), and for MP3 the same loop over chunks of the packet list on rayon's
//! threads. An MP3 decoder's state is finite (a bit reservoir of at most 511 bytes, one granule
//! of IMDCT overlap, the synthesis filterbank's 1024-value history), so a decoder started early
//! enough before its chunk (`mp3_chunk_start`: at least 4 packets and 1,022 bytes of main data)
//! with that output dropped gives exactly the samples of one decoder run from the start (tested
//! on aud2, the stereo fixture and a 32 kbps file, with 3 and 16 threads). Any chunk
//! that meets a corrupt packet sends the whole file back to the one-decoder loop, so errors are
//! reported exactly as before.

use symphonia::core::audio::{AudioBufferRef, SampleBuffer};
use symphonia::core::codecs::{CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_MP3};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatReader, Packet};

/// Corrupt packets in a row after which we stop decoding: the rest of the file is junk.
const MAX_CONSECUTIVE_DECODE_ERRORS: usize = 64;
/// Packets decoded and dropped before each MP3 chunk, at least (see `mp3_chunk_start`).
const MP3_PREROLL: usize = 4;
/// How far back a frame's main data may start in the bit reservoir (main_data_begin: 9 bits
/// in MPEG-1, 8 in MPEG-2), bytes.
const MP3_RESERVOIR_BYTES: usize = 511;
/// Bytes of a frame that are not main data, at most: header 4, CRC 2, MPEG-1 stereo side info 32.
const MP3_FRAME_OVERHEAD: usize = 38;
/// Chunks of fewer packets are not cut (about 2.4 s at 48 kHz; the preroll then costs at most
/// a few percent at usual bit rates, and a many-core machine can still use a thread per chunk).
const MP3_MIN_PACKETS_PER_CHUNK: usize = 100;

/// Where a decoder must start for packet `lo` to decode exactly as in one pass over the stream.
/// Packet `lo`'s samples depend on its own main data (up to MP3_RESERVOIR_BYTES back in the
/// reservoir) and, through the IMDCT overlap and the synthesis filterbank, on packet `lo - 1`
/// decoded exactly, which needs its own reservoir. So the decoder starts far enough back that
/// the packets before `lo` hold twice the reservoir's reach of main data, and at least
/// MP3_PREROLL packets: at 256 kbps that is 4 packets, at 32 kbps (96-byte frames) about 18. A
/// fixed count of 4 was not enough at low bit rates (test: tone_noise_32kbps.mp3).
fn mp3_chunk_start(packets: &[Packet], lo: usize) -> usize {
    let (mut start, mut main_data) = (lo, 0usize);
    while start > 0 && (lo - start < MP3_PREROLL || main_data < 2 * MP3_RESERVOIR_BYTES) {
        start -= 1;
        main_data += packets[start].data.len().saturating_sub(MP3_FRAME_OVERHEAD);
    }
    start
}

/// What a run of packets decoded to.
pub(super) struct Decoded {
    pub samples: Vec<f32>,
    /// Channels of the last decoded packet (0 when none decoded).
    pub channels: usize,
    /// Why decoding stopped before the end, if it did.
    pub stopped: Option<String>,
    pub skipped_packets: usize,
    pub first_error: Option<String>,
}

/// The next packet of `track`; `Ok(None)` at the end of the stream, `Err(why)` when demuxing
/// stops early.
pub(super) fn next_track_packet(format: &mut dyn FormatReader, track: u32) -> Result<Option<Packet>, String> {
    loop {
        match format.next_packet() {
            Ok(p) if p.track_id() == track => return Ok(Some(p)),
            Ok(_) => continue,
            // The normal end of most streams, and also where a cut file ends (checked later).
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(SymError::ResetRequired) => return Err("the stream changed its parameters mid-way (chained stream)".into()),
            Err(e) => return Err(format!("demuxing failed: {e}")),
        }
    }
}

/// Decodes `packets` in order, mixing to mono; the output of the first `drop_first` packets is
/// discarded (and their errors ignored). Stops after `max_samples` samples.
pub(super) fn decode_packets(
    decoder: &mut dyn Decoder,
    packets: impl Iterator<Item = Result<Packet, String>>,
    drop_first: usize,
    max_samples: usize,
    source_rate: u32,
    mix_planes: bool,
) -> Decoded {
    let mut out = Decoded { samples: Vec::new(), channels: 0, stopped: None, skipped_packets: 0, first_error: None };
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut consecutive_errors = 0usize;
    for (index, packet) in packets.enumerate() {
        let packet = match packet {
            Ok(p) => p,
            Err(why) => {
                out.stopped = Some(why);
                break;
            }
        };
        let counted = index >= drop_first;
        match decoder.decode(&packet) {
            Ok(decoded) => {
                consecutive_errors = 0;
                let n_ch = decoded.spec().channels.count().max(1);
                if !counted || decoded.frames() == 0 {
                    continue;
                }
                out.channels = n_ch;
                let take = decoded.frames().min(max_samples - out.samples.len());
                mix_to_mono(decoded, take, n_ch, mix_planes, &mut buf, &mut out.samples);
                if out.samples.len() >= max_samples {
                    out.stopped = Some(format!(
                        "stopped at the decode cap of {:.0} s ({} samples); the file is longer",
                        max_samples as f64 / source_rate as f64,
                        max_samples
                    ));
                    break;
                }
            }
            Err(SymError::DecodeError(_)) if !counted => {}
            Err(SymError::DecodeError(e)) => {
                out.skipped_packets += 1;
                consecutive_errors += 1;
                out.first_error.get_or_insert_with(|| e.to_string());
                if consecutive_errors >= MAX_CONSECUTIVE_DECODE_ERRORS {
                    out.stopped = Some(format!(
                        "{consecutive_errors} corrupt packets in a row ({}); the rest is unreadable",
                        out.first_error.as_deref().unwrap_or("")
                    ));
                    break;
                }
            }
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                out.stopped = Some(format!("decoding failed: {e}"));
                break;
            }
        }
    }
    out
}

/// Appends the first `take` frames of `decoded`, mixed to mono (the plain mean, summed in
/// channel order).
fn mix_to_mono(
    decoded: AudioBufferRef,
    take: usize,
    n_ch: usize,
    mix_planes: bool,
    buf: &mut Option<SampleBuffer<f32>>,
    samples: &mut Vec<f32>,
) {
    let inv = 1.0 / n_ch as f32;
    if let (true, AudioBufferRef::F32(planar)) = (mix_planes, &decoded) {
        // Float decoders (MP3, AAC, Vorbis): straight from the channel planes, without the
        // interleaved copy (an eighth of an MP3's decode time).
        let planes = planar.planes();
        let planes = planes.planes();
        if n_ch == 1 {
            samples.extend_from_slice(&planes[0][..take]);
        } else {
            samples.extend((0..take).map(|i| planes.iter().fold(-0.0f32, |acc, p| acc + p[i]) * inv));
        }
        return;
    }
    let need = decoded.capacity() as u64;
    if buf.as_ref().map_or(true, |b| (b.capacity() as u64) < need * n_ch as u64) {
        *buf = Some(SampleBuffer::<f32>::new(need, *decoded.spec()));
    }
    let b = buf.as_mut().expect("sample buffer allocated above");
    let frames = decoded.frames();
    b.copy_interleaved_ref(decoded);
    let inter = &b.samples()[..frames * n_ch];
    if n_ch == 1 {
        samples.extend_from_slice(&inter[..take]);
    } else {
        samples.extend(inter.chunks_exact(n_ch).take(take).map(|f| f.iter().sum::<f32>() * inv));
    }
}

/// For an MP3 track with enough packets and more than one thread: every packet (the demuxing is
/// cheap), decoded in chunks side by side. `None` when this does not apply or a chunk met a
/// corrupt packet or the cap: the caller decodes `packets` with one decoder instead.
pub(super) fn decode_mp3_chunks(
    params: &CodecParameters,
    packets: &[Packet],
    max_samples: usize,
    source_rate: u32,
) -> Option<Decoded> {
    use rayon::prelude::*;
    let chunks = rayon::current_num_threads().min(packets.len() / MP3_MIN_PACKETS_PER_CHUNK);
    if params.codec != CODEC_TYPE_MP3 || chunks < 2 {
        return None;
    }
    let per_chunk = packets.len().div_ceil(chunks);
    let parts: Vec<Option<Decoded>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (c * per_chunk, ((c + 1) * per_chunk).min(packets.len()));
            let start = mp3_chunk_start(packets, lo);
            let mut decoder = symphonia::default::get_codecs().make(params, &DecoderOptions::default()).ok()?;
            let run = packets[start..hi].iter().cloned().map(Ok);
            let part = decode_packets(decoder.as_mut(), run, lo - start, max_samples, source_rate, true);
            (part.skipped_packets == 0 && part.stopped.is_none()).then_some(part)
        })
        .collect();
    let mut all = Decoded { samples: Vec::new(), channels: 0, stopped: None, skipped_packets: 0, first_error: None };
    for part in parts {
        let part = part?;
        all.samples.extend(part.samples);
        all.channels = if part.channels > 0 { part.channels } else { all.channels };
    }
    (all.samples.len() < max_samples).then_some(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    /// The fixture MP3 repeated into a stream long enough to be decoded in chunks (its ID3v2 tag
    /// kept only at the start).
    fn long_mp3(dir: &Path, copies: usize) -> PathBuf {
        let bytes = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/speech_stereo.mp3")).unwrap();
        let tag = if bytes.starts_with(b"ID3") {
            10 + bytes[6..10].iter().fold(0usize, |acc, b| (acc << 7) | (*b as usize & 0x7f))
        } else {
            0
        };
        let mut out = bytes.clone();
        for _ in 1..copies {
            out.extend_from_slice(&bytes[tag..]);
        }
        let path = dir.join("long.mp3");
        std::fs::write(&path, out).unwrap();
        path
    }

    fn demux(path: &Path) -> (CodecParameters, Vec<Packet>, u32) {
        let mss = MediaSourceStream::new(Box::new(std::fs::File::open(path).unwrap()), Default::default());
        let mut hint = Hint::new();
        hint.with_extension("mp3");
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
            .unwrap();
        let mut format = probed.format;
        let track = format.default_track().unwrap().clone();
        let mut packets = Vec::new();
        while let Some(p) = next_track_packet(format.as_mut(), track.id).unwrap() {
            packets.push(p);
        }
        let rate = track.codec_params.sample_rate.unwrap();
        (track.codec_params, packets, rate)
    }

    #[test]
    fn chunked_mp3_decoding_equals_one_decoder() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = vec![long_mp3(dir.path(), 40)];
        let aud2 = PathBuf::from("/work/shared/data/quality-pairs/aud2.mp3");
        if aud2.exists() {
            files.push(aud2);
        }
        // 32 kbps at 48 kHz: 96-byte frames, the reservoir reaching back several of them.
        files.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/tone_noise_32kbps.mp3"));
        for path in &files {
            let (params, packets, rate) = demux(path);
            let mut decoder = symphonia::default::get_codecs().make(&params, &DecoderOptions::default()).unwrap();
            let whole = decode_packets(decoder.as_mut(), packets.iter().cloned().map(Ok), 0, usize::MAX, rate, true);
            // Chunks whatever the machine's thread count: three, and as many as a 16-core
            // machine would cut (16 for the long files, 6 for the 15 s one).
            for threads in [3, 16] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let chunked = pool.install(|| decode_mp3_chunks(&params, &packets, usize::MAX, rate));
                let chunked = chunked
                    .unwrap_or_else(|| panic!("{}: {} packets were not chunked", path.display(), packets.len()));
                assert_eq!(chunked.samples.len(), whole.samples.len(), "{} ({threads} threads)", path.display());
                assert!(chunked.samples == whole.samples, "{}: samples differ ({threads} threads)", path.display());
                assert_eq!(chunked.channels, whole.channels);
            }
            println!("{}: {} packets, {} samples, equal", path.display(), packets.len(), whole.samples.len());
        }
    }
}
