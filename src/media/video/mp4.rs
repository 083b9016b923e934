//! MP4 (ISO BMFF, plain and fragmented) demuxing with the `mp4` crate's box parsers and H.264
//! decoding with OpenH264 (Cisco's decoder, built from source by the `openh264` crate).
//!
//! The top-level box walk is our own rather than `mp4::Mp4Reader::read_header`, because that
//! refuses any file whose last box runs past the end of the file, which is exactly the truncated
//! download we must still score. We parse `moov`/`moof` with the crate, build the sample table
//! ourselves, and keep only the samples whose bytes are all inside the file.
//!
//! H.264 in MP4 is stored as length-prefixed NAL units with SPS/PPS in the `avcC` record;
//! OpenH264 wants an Annex-B byte stream, so every sample is rewritten with start codes and the
//! parameter sets are sent before the first sample.

use super::{rgb_from_yuv420, Truncation, VideoInfo};
use crate::media::MediaError;
use image::RgbImage;
use mp4::{MoofBox, MoovBox, ReadBox};
use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// An index box (`moov`, `moof`) larger than this is garbage, not a movie header: refuse it
/// before allocating.
const MAX_INDEX_BOX_BYTES: u64 = 256 << 20;
/// A single coded frame larger than this is a corrupt sample table.
const MAX_SAMPLE_BYTES: u32 = 64 << 20;

/// One coded frame: where its bytes are and when it is shown (track timescale units).
#[derive(Clone, Copy, Debug)]
struct Sample {
    offset: u64,
    size: u32,
    pts: i64,
}

/// A top-level box as found in the file.
struct TopBox {
    kind: [u8; 4],
    offset: u64,
    header_len: u64,
    /// Declared size including the header (may run past the end of a truncated file).
    size: u64,
}

/// An opened H.264 MP4, decoding lazily in presentation order.
pub(super) struct Mp4Video {
    path: PathBuf,
    reader: BufReader<File>,
    /// Complete samples, in decode order.
    samples: Vec<Sample>,
    nal_length_size: usize,
    /// SPS and PPS from `avcC`, in Annex-B form, sent with the first sample.
    parameter_sets: Vec<u8>,
    decoder: Decoder,
    timescale: f64,
    pts_origin: i64,
    next_sample: usize,
    flushed: bool,
    /// Presentation times of samples fed but not yet output (a multiset). OpenH264 outputs
    /// pictures in presentation order, so each output picture takes the smallest one; a sample
    /// that fails to decode removes its own.
    pending_pts: BTreeMap<i64, usize>,
    ready: VecDeque<(f64, Option<RgbImage>)>,
    out_index: usize,
    sample_buf: Vec<u8>,
    annexb_buf: Vec<u8>,
    pub(super) decode_errors: usize,
    pub(super) first_error: Option<String>,
}

impl Mp4Video {
    pub(super) fn open(path: &Path) -> Result<(Mp4Video, VideoInfo), MediaError> {
        let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| MediaError::io(path, e))?.len();
        let mut reader = BufReader::new(file);
        let boxes = walk_top_level(path, &mut reader, file_len)?;
        if !boxes.iter().any(|b| &b.kind == b"ftyp" || &b.kind == b"moov") {
            return Err(MediaError::decode(path, "not an MP4 file (no ftyp or moov box)"));
        }
        let moov_box = boxes.iter().find(|b| &b.kind == b"moov").ok_or_else(|| {
            let reached = boxes.last().map(|b| (b.offset + b.size).min(file_len)).unwrap_or(0);
            MediaError::Truncated {
                path: path.to_path_buf(),
                detail: format!(
                    "the moov atom (the index of all frames) is missing: {} bytes read, the file \
                     probably ends before the index was written",
                    reached
                ),
            }
        })?;
        if moov_box.offset + moov_box.size > file_len {
            return Err(MediaError::Truncated {
                path: path.to_path_buf(),
                detail: "the file ends inside the moov atom (the index of all frames)".into(),
            });
        }
        let moov: MoovBox = read_index_box(path, &mut reader, moov_box)?;
        let (track_pos, trak) = moov
            .traks
            .iter()
            .enumerate()
            .find(|(_, t)| &t.mdia.hdlr.handler_type.value == b"vide")
            .ok_or_else(|| MediaError::unsupported(path, "MP4 without a video track"))?;
        let avc1 = trak.mdia.minf.stbl.stsd.avc1.as_ref().ok_or_else(|| {
            let fourcc = raw_sample_entry(&mut reader, moov_box, track_pos).unwrap_or_else(|| "unknown".to_string());
            MediaError::unsupported(
                path,
                format!("video codec '{}' ({}): only H.264 (avc1) MP4 is decoded", fourcc, codec_name(&fourcc)),
            )
        })?;
        let avcc = &avc1.avcc;
        let nal_length_size = avcc.length_size_minus_one as usize % 4 + 1;
        let mut parameter_sets = Vec::new();
        for nal in avcc.sequence_parameter_sets.iter().chain(&avcc.picture_parameter_sets) {
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(&nal.bytes);
        }

        let track_id = trak.tkhd.track_id;
        let timescale = trak.mdia.mdhd.timescale.max(1) as f64;
        let mut all = table_samples(path, &moov, track_pos)?;
        let mut moof_count = 0;
        for b in boxes.iter().filter(|b| &b.kind == b"moof") {
            if b.offset + b.size > file_len {
                break; // A partial fragment header: its samples are not in the file either.
            }
            let moof: MoofBox = read_index_box(path, &mut reader, b)?;
            moof_count += 1;
            all.extend(fragment_samples(&moov, &moof, b.offset, track_id));
        }
        let declared = all.len();
        let complete = all.iter().take_while(|s| s.offset + s.size as u64 <= file_len).count();
        all.truncate(complete);
        let samples = all;

        let pts_origin = samples.iter().map(|s| s.pts).min().unwrap_or(0);
        let fps = frame_rate(&samples, timescale);
        let track_secs = trak.mdia.mdhd.duration as f64 / timescale;
        let movie_secs = moov.mvhd.duration as f64 / moov.mvhd.timescale.max(1) as f64;
        let fragment_secs = moov
            .mvex
            .as_ref()
            .and_then(|m| m.mehd.as_ref())
            .map(|m| m.fragment_duration as f64 / moov.mvhd.timescale.max(1) as f64)
            .unwrap_or(0.0);
        let declared_secs = [track_secs, fragment_secs, movie_secs].into_iter().find(|d| *d > 0.0);
        // A fragmented file lists its frames fragment by fragment; when fragments are missing
        // the only count left is the declared duration times the frame rate.
        let declared_frames = match (moof_count > 0, declared_secs, fps) {
            (true, Some(d), Some(f)) => declared.max((d * f).round() as usize),
            _ => declared,
        };
        let mdat_cut = boxes.last().filter(|b| b.offset + b.size > file_len);
        let truncated = if complete < declared_frames || mdat_cut.is_some() {
            let expected_bytes = boxes.last().map(|b| b.offset + b.size).unwrap_or(file_len);
            Some(Truncation {
                frames_present: complete,
                frames_declared: Some(declared_frames),
                detail: format!(
                    "the file ends at byte {} of {}: {} of {} frames are complete",
                    file_len, expected_bytes, complete, declared_frames
                ),
            })
        } else {
            None
        };
        let info = VideoInfo {
            path: path.to_path_buf(),
            container: "mp4",
            codec: "h264".into(),
            width: avc1.width as u32,
            height: avc1.height as u32,
            fps,
            duration_s: declared_secs.or_else(|| fps.map(|f| declared_frames as f64 / f)),
            frame_count: complete,
            truncated,
        };
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| MediaError::decode(path, format!("cannot start the H.264 decoder: {e}")))?;
        let video = Mp4Video {
            path: path.to_path_buf(),
            reader,
            samples,
            nal_length_size,
            parameter_sets,
            decoder,
            timescale,
            pts_origin,
            next_sample: 0,
            flushed: false,
            pending_pts: BTreeMap::new(),
            ready: VecDeque::new(),
            out_index: 0,
            sample_buf: Vec::new(),
            annexb_buf: Vec::new(),
            decode_errors: 0,
            first_error: None,
        };
        Ok((video, info))
    }

    /// The next picture in presentation order: (index, seconds, RGB when `want(index)`).
    pub(super) fn next_frame(
        &mut self,
        want: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<(usize, f64, Option<RgbImage>)>, MediaError> {
        loop {
            if let Some((pts, image)) = self.ready.pop_front() {
                let index = self.out_index;
                self.out_index += 1;
                return Ok(Some((index, pts, image)));
            }
            if self.next_sample < self.samples.len() {
                self.feed_next(want)?;
            } else if !self.flushed {
                self.flushed = true;
                let first_index = self.out_index + self.ready.len();
                let images: Vec<Option<RgbImage>> = match self.decoder.flush_remaining() {
                    Ok(pictures) => pictures
                        .iter()
                        .enumerate()
                        .map(|(k, yuv)| want(first_index + k).then(|| picture_to_rgb(yuv)))
                        .collect(),
                    Err(e) => {
                        self.note_error(format!("flushing the decoder: {e}"));
                        Vec::new()
                    }
                };
                for image in images {
                    let pts = take_smallest(&mut self.pending_pts);
                    let secs = self.seconds(pts);
                    self.ready.push_back((secs, image));
                }
            } else {
                return Ok(None);
            }
        }
    }

    fn seconds(&self, pts: Option<i64>) -> f64 {
        // A picture with no pending time (never seen in practice) takes the next frame slot.
        match pts {
            Some(p) => (p - self.pts_origin) as f64 / self.timescale,
            None => self.ready.back().map(|r| r.0).unwrap_or(0.0),
        }
    }

    fn note_error(&mut self, message: String) {
        self.decode_errors += 1;
        self.first_error.get_or_insert(message);
    }

    fn feed_next(&mut self, want: &mut dyn FnMut(usize) -> bool) -> Result<(), MediaError> {
        let sample = self.samples[self.next_sample];
        let first = self.next_sample == 0;
        self.next_sample += 1;
        if sample.size > MAX_SAMPLE_BYTES {
            self.note_error(format!("sample of {} bytes", sample.size));
            return Ok(());
        }
        self.sample_buf.resize(sample.size as usize, 0);
        self.reader
            .seek(SeekFrom::Start(sample.offset))
            .and_then(|_| self.reader.read_exact(&mut self.sample_buf))
            .map_err(|e| MediaError::io(&self.path, e))?;
        self.annexb_buf.clear();
        if first {
            self.annexb_buf.extend_from_slice(&self.parameter_sets);
        }
        if let Err(detail) = to_annex_b(&self.sample_buf, self.nal_length_size, &mut self.annexb_buf) {
            let n = self.next_sample - 1;
            self.note_error(format!("frame {n}: {detail}"));
            return Ok(());
        }
        *self.pending_pts.entry(sample.pts).or_insert(0) += 1;
        let index = self.out_index + self.ready.len();
        match self.decoder.decode(&self.annexb_buf) {
            Ok(Some(yuv)) => {
                let image = want(index).then(|| picture_to_rgb(&yuv));
                let pts = take_smallest(&mut self.pending_pts);
                let secs = self.seconds(pts);
                self.ready.push_back((secs, image));
            }
            Ok(None) => {}
            Err(e) => {
                remove_one(&mut self.pending_pts, sample.pts);
                let n = self.next_sample - 1;
                self.note_error(format!("H.264 sample {n} (decode order): {e}"));
            }
        }
        Ok(())
    }
}

fn take_smallest(pending: &mut BTreeMap<i64, usize>) -> Option<i64> {
    let (&pts, _) = pending.iter().next()?;
    remove_one(pending, pts);
    Some(pts)
}

fn remove_one(pending: &mut BTreeMap<i64, usize>, pts: i64) {
    if let Some(count) = pending.get_mut(&pts) {
        *count -= 1;
        if *count == 0 {
            pending.remove(&pts);
        }
    }
}

fn picture_to_rgb(yuv: &openh264::decoder::DecodedYUV<'_>) -> RgbImage {
    let (w, h) = yuv.dimensions();
    let (sy, su, sv) = yuv.strides();
    rgb_from_yuv420(yuv.y(), yuv.u(), yuv.v(), (w, h), (sy, su, sv))
}

/// Rewrites length-prefixed NAL units as Annex-B (start code + NAL) into `out`.
fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut pos = 0;
    while pos < sample.len() {
        if pos + length_size > sample.len() {
            return Err(format!("NAL length field cut at byte {pos} of {}", sample.len()));
        }
        let len = sample[pos..pos + length_size].iter().fold(0usize, |acc, b| acc << 8 | *b as usize);
        pos += length_size;
        if len > sample.len() - pos {
            return Err(format!("NAL unit of {len} bytes but only {} left", sample.len() - pos));
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&sample[pos..pos + len]);
        pos += len;
    }
    Ok(())
}

/// The top-level boxes, stopping at the end of the file (a box may run past it when truncated).
fn walk_top_level(path: &Path, reader: &mut BufReader<File>, file_len: u64) -> Result<Vec<TopBox>, MediaError> {
    let mut boxes = Vec::new();
    let mut offset = 0u64;
    while offset + 8 <= file_len {
        reader.seek(SeekFrom::Start(offset)).map_err(|e| MediaError::io(path, e))?;
        let mut header = [0u8; 16];
        let n = if offset + 16 <= file_len { 16 } else { 8 };
        reader.read_exact(&mut header[..n]).map_err(|e| MediaError::io(path, e))?;
        let size32 = u32::from_be_bytes(header[0..4].try_into().unwrap()) as u64;
        let kind: [u8; 4] = header[4..8].try_into().unwrap();
        if !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            if boxes.is_empty() {
                return Err(MediaError::decode(path, "not an MP4 file (no box structure)"));
            }
            break; // Garbage after the last box: treat what came before as the file.
        }
        let (header_len, size) = match size32 {
            0 => (8, file_len - offset),
            1 if n == 16 => (16, u64::from_be_bytes(header[8..16].try_into().unwrap())),
            1 => break,
            s => (8, s),
        };
        if size < header_len {
            return Err(MediaError::decode(
                path,
                format!("box '{}' at byte {offset} has size {size}", fourcc_str(&kind)),
            ));
        }
        boxes.push(TopBox { kind, offset, header_len, size });
        offset = offset.saturating_add(size);
    }
    Ok(boxes)
}

/// Reads a whole index box into memory and parses it with the `mp4` crate.
fn read_index_box<T: for<'a> ReadBox<&'a mut Cursor<Vec<u8>>>>(
    path: &Path,
    reader: &mut BufReader<File>,
    b: &TopBox,
) -> Result<T, MediaError> {
    let payload_len = b.size - b.header_len;
    if payload_len > MAX_INDEX_BOX_BYTES {
        return Err(MediaError::decode(path, format!("'{}' box of {} bytes", fourcc_str(&b.kind), b.size)));
    }
    // The crate's parsers locate the box start 8 bytes before the cursor: give them a plain
    // 8-byte header even when the file used the 16-byte form.
    let size32 = u32::try_from(payload_len + 8)
        .map_err(|_| MediaError::decode(path, format!("'{}' box too large", fourcc_str(&b.kind))))?;
    let mut buf = Vec::with_capacity(payload_len as usize + 8);
    buf.extend_from_slice(&size32.to_be_bytes());
    buf.extend_from_slice(&b.kind);
    buf.resize(payload_len as usize + 8, 0);
    reader
        .seek(SeekFrom::Start(b.offset + b.header_len))
        .and_then(|_| reader.read_exact(&mut buf[8..]))
        .map_err(|e| MediaError::io(path, e))?;
    let mut cursor = Cursor::new(buf);
    cursor.set_position(8);
    T::read_box(&mut cursor, payload_len + 8)
        .map_err(|e| MediaError::decode(path, format!("bad '{}' box: {e}", fourcc_str(&b.kind))))
}

/// The sample entry four-character code of the `track_pos`-th track, read from the raw `moov`
/// (the crate keeps only the codecs it knows, so an HEVC or MPEG-4 Part 2 track shows as none).
fn raw_sample_entry(reader: &mut BufReader<File>, moov: &TopBox, track_pos: usize) -> Option<String> {
    let mut buf = vec![0u8; (moov.size - moov.header_len) as usize];
    reader.seek(SeekFrom::Start(moov.offset + moov.header_len)).ok()?;
    reader.read_exact(&mut buf).ok()?;
    let trak = children(&buf).filter(|(k, _)| k == b"trak").nth(track_pos)?.1;
    let mut node = trak;
    for kind in [b"mdia", b"minf", b"stbl", b"stsd"] {
        node = children(node).find(|(k, _)| k == kind)?.1;
    }
    // stsd: version/flags (4) and entry count (4), then sample entries as boxes.
    let entry = children(node.get(8..)?).next()?;
    Some(fourcc_str(&entry.0))
}

/// The child boxes of a box payload.
fn children(mut buf: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < 8 {
            return None;
        }
        let size = u32::from_be_bytes(buf[0..4].try_into().ok()?) as usize;
        let kind: [u8; 4] = buf[4..8].try_into().ok()?;
        if size < 8 || size > buf.len() {
            return None;
        }
        let payload = &buf[8..size];
        buf = &buf[size..];
        Some((kind, payload))
    })
}

fn fourcc_str(kind: &[u8; 4]) -> String {
    String::from_utf8_lossy(kind).into_owned()
}

/// A human name for the sample entry codes one meets in MP4 video tracks.
fn codec_name(fourcc: &str) -> &'static str {
    match fourcc {
        "hvc1" | "hev1" => "HEVC / H.265",
        "mp4v" => "MPEG-4 Part 2",
        "av01" => "AV1",
        "vp08" => "VP8",
        "vp09" => "VP9",
        "avc3" => "H.264 with in-band parameter sets",
        "encv" => "encrypted video",
        "mjpa" | "mjpb" | "jpeg" => "Motion JPEG",
        _ => "unknown codec",
    }
}

/// Samples listed in the track's own sample table (all of them in a plain MP4).
fn table_samples(path: &Path, moov: &MoovBox, track_pos: usize) -> Result<Vec<Sample>, MediaError> {
    let stbl = &moov.traks[track_pos].mdia.minf.stbl;
    let count = stbl.stsz.sample_count as usize;
    if count == 0 {
        return Ok(Vec::new());
    }
    let size_of = |i: usize| -> u32 {
        if stbl.stsz.sample_size != 0 {
            stbl.stsz.sample_size
        } else {
            stbl.stsz.sample_sizes.get(i).copied().unwrap_or(0)
        }
    };
    let chunk_offsets: Vec<u64> = match (&stbl.stco, &stbl.co64) {
        (Some(stco), _) => stco.entries.iter().map(|&o| o as u64).collect(),
        (None, Some(co64)) => co64.entries.clone(),
        (None, None) => return Err(MediaError::decode(path, "video track without chunk offsets")),
    };
    let mut decode_times = Vec::with_capacity(count);
    let mut t = 0i64;
    for e in &stbl.stts.entries {
        for _ in 0..e.sample_count {
            decode_times.push(t);
            t += e.sample_delta as i64;
        }
    }
    let mut cts = Vec::with_capacity(count);
    if let Some(ctts) = &stbl.ctts {
        for e in &ctts.entries {
            cts.extend(std::iter::repeat(e.sample_offset as i64).take(e.sample_count as usize));
        }
    }
    let mut samples = Vec::with_capacity(count);
    let entries = &stbl.stsc.entries;
    'chunks: for (ci, &chunk_offset) in chunk_offsets.iter().enumerate() {
        let chunk_no = ci as u32 + 1;
        let per_chunk =
            entries.iter().take_while(|e| e.first_chunk <= chunk_no).last().map(|e| e.samples_per_chunk).unwrap_or(0);
        let mut offset = chunk_offset;
        for _ in 0..per_chunk {
            let i = samples.len();
            if i >= count {
                break 'chunks;
            }
            let size = size_of(i);
            let dts = decode_times.get(i).copied().unwrap_or(t);
            samples.push(Sample { offset, size, pts: dts + cts.get(i).copied().unwrap_or(0) });
            offset += size as u64;
        }
    }
    Ok(samples)
}

/// Samples of `track_id` in one movie fragment, in decode order.
fn fragment_samples(moov: &MoovBox, moof: &MoofBox, moof_offset: u64, track_id: u32) -> Vec<Sample> {
    let trex = moov.mvex.as_ref().map(|m| &m.trex).filter(|t| t.track_id == track_id);
    let mut samples = Vec::new();
    for traf in moof.trafs.iter().filter(|t| t.tfhd.track_id == track_id) {
        let Some(trun) = &traf.trun else { continue };
        let tfhd = &traf.tfhd;
        // Without an explicit base, data offsets count from the moof: that is what the
        // default-base-is-moof flag says, and also the rule for a moof's first track fragment.
        let base = tfhd.base_data_offset.unwrap_or(moof_offset);
        let mut offset = (base as i64 + trun.data_offset.unwrap_or(0) as i64).max(0) as u64;
        let mut dts = traf.tfdt.as_ref().map(|t| t.base_media_decode_time as i64).unwrap_or(0);
        let default_size = tfhd.default_sample_size.or(trex.map(|t| t.default_sample_size)).unwrap_or(0);
        let default_duration = tfhd.default_sample_duration.or(trex.map(|t| t.default_sample_duration)).unwrap_or(0);
        for i in 0..trun.sample_count as usize {
            let size = trun.sample_sizes.get(i).copied().unwrap_or(default_size);
            // Version-1 trun offsets are signed; version 0 ones are small enough that the
            // reinterpretation is the identity.
            let cts = trun.sample_cts.get(i).map(|&c| c as i32 as i64).unwrap_or(0);
            samples.push(Sample { offset, size, pts: dts + cts });
            offset += size as u64;
            dts += trun.sample_durations.get(i).copied().unwrap_or(default_duration) as i64;
        }
    }
    samples
}

/// Frames per second from the median spacing of presentation times.
fn frame_rate(samples: &[Sample], timescale: f64) -> Option<f64> {
    let mut pts: Vec<i64> = samples.iter().map(|s| s.pts).collect();
    pts.sort_unstable();
    let mut gaps: Vec<i64> = pts.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    Some(timescale / gaps[gaps.len() / 2] as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_nal_units_become_annex_b() {
        let sample = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x41];
        let mut out = Vec::new();
        to_annex_b(&sample, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x41]);
        let mut out = Vec::new();
        assert!(to_annex_b(&[0, 0, 0, 9, 1], 4, &mut out).is_err());
    }

    #[test]
    fn pending_times_are_a_multiset() {
        let mut p = BTreeMap::new();
        for t in [30, 10, 10, 20] {
            *p.entry(t).or_insert(0) += 1;
        }
        remove_one(&mut p, 20);
        assert_eq!(take_smallest(&mut p), Some(10));
        assert_eq!(take_smallest(&mut p), Some(10));
        assert_eq!(take_smallest(&mut p), Some(30));
        assert_eq!(take_smallest(&mut p), None);
    }
}
