//! Image files -> RGB8: PNG, JPEG, GIF (first frame), WebP, BMP and TIFF through the `image`
//! crate, with a size rule that cannot exhaust memory.
//!
//! Size rule (stated once, here):
//! - the header's width x height is checked BEFORE any pixel is decoded: more than
//!   [`MAX_PIXELS`] (100 Mpx) is refused with `MediaError::TooLarge`; the decoder then runs under
//!   `image::Limits` as well, so a header that lies cannot allocate past [`MAX_DECODE_ALLOC`];
//! - scorers that want a bounded cost call [`fit_within`], which area-averages an image whose
//!   longest side exceeds the limit down to it (aspect ratio kept, sides rounded to the nearest
//!   pixel). The quality scorers use a 2048 px limit (see `quality::image`).
//!
//! A JPEG cut short (which the decoder would silently pad) is reported as truncated.
//! Alpha is dropped (not composited), grey and palette images are expanded to RGB, 16-bit
//! samples are scaled to 8 bits: the same image the Python references see after
//! `PIL.Image.open(path).convert("RGB")`.

use super::MediaError;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Largest image (width x height from the header) that is decoded at all.
pub const MAX_PIXELS: u64 = 100_000_000;
/// Ceiling on the decoder's own allocations: 100 Mpx of 16-bit RGBA plus slack.
pub const MAX_DECODE_ALLOC: u64 = MAX_PIXELS * 8 + (64 << 20);

/// Width and height from the file's header, without decoding pixels.
pub fn dimensions(path: &Path) -> Result<(u32, u32), MediaError> {
    let decoder = open_decoder(path)?;
    Ok(decoder.dimensions())
}

/// Decodes `path` into RGB8, refusing images over [`MAX_PIXELS`] before decoding them.
pub fn load_rgb(path: &Path) -> Result<RgbImage, MediaError> {
    let decoder = open_decoder(path)?;
    let (width, height) = decoder.dimensions();
    check_size(path, width, height)?;
    if width == 0 || height == 0 {
        return Err(MediaError::decode(path, format!("empty image ({width}x{height})")));
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(path, e))?;
    Ok(match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

/// Refuses a width x height over [`MAX_PIXELS`].
pub fn check_size(path: &Path, width: u32, height: u32) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(MediaError::TooLarge {
            path: path.to_path_buf(),
            detail: format!(
                "{width}x{height} = {:.1} Mpx, above the {} Mpx limit",
                pixels as f64 / 1e6,
                MAX_PIXELS / 1_000_000
            ),
        });
    }
    Ok(())
}

fn open_decoder(path: &Path) -> Result<impl ImageDecoder, MediaError> {
    let file = std::fs::File::open(path).map_err(|e| MediaError::io(path, e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| MediaError::io(path, e))?;
    match reader.format() {
        None => {
            return Err(MediaError::unsupported(
                path,
                "image format (expected PNG, JPEG, GIF, WebP, BMP or TIFF)",
            ))
        }
        Some(ImageFormat::Jpeg) => check_jpeg_end(path)?,
        Some(_) => {}
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader.into_decoder().map_err(|e| image_error(path, e))
}

/// How much of a JPEG's end is searched for the end-of-image marker.
const JPEG_TAIL_BYTES: u64 = 1 << 20;

/// The JPEG decoder pads a file cut short with grey and reports success; a cut file is instead
/// recognised by a missing end-of-image marker (FF D9) after its last start-of-scan (FF DA).
/// Entropy-coded data cannot contain FF D9 (FF is stuffed as FF 00), so the check is exact
/// for any scan within the last MiB of the file.
fn check_jpeg_end(path: &Path) -> Result<(), MediaError> {
    let mut file = std::fs::File::open(path).map_err(|e| MediaError::io(path, e))?;
    let len = file.metadata().map_err(|e| MediaError::io(path, e))?.len();
    let start = len.saturating_sub(JPEG_TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).map_err(|e| MediaError::io(path, e))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(|e| MediaError::io(path, e))?;
    let marker = |m: u8| tail.windows(2).rposition(|w| w == [0xFF, m]);
    match (marker(0xDA), marker(0xD9)) {
        (Some(scan), Some(end)) if end > scan => Ok(()),
        (None, Some(_)) if start > 0 => Ok(()), // a scan longer than the window: trust it
        _ => Err(MediaError::Truncated {
            path: path.to_path_buf(),
            detail: "JPEG has no end-of-image marker after its last scan".into(),
        }),
    }
}

/// Maps the `image` crate's errors onto MediaError, keeping truncation and limits distinct.
fn image_error(path: &Path, error: image::ImageError) -> MediaError {
    use image::ImageError;
    match error {
        ImageError::Limits(e) => {
            MediaError::TooLarge { path: path.to_path_buf(), detail: e.to_string() }
        }
        ImageError::Unsupported(e) => MediaError::unsupported(path, e.to_string()),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated { path: path.to_path_buf(), detail: e.to_string() }
        }
        ImageError::IoError(e) => MediaError::io(path, e),
        other => {
            let detail = other.to_string();
            // Decoders report a file cut short in their own words; name it truncation.
            let lower = detail.to_ascii_lowercase();
            if ["eof", "end of file", "unexpected end", "truncated", "no more data"]
                .iter()
                .any(|w| lower.contains(w))
            {
                MediaError::Truncated { path: path.to_path_buf(), detail }
            } else {
                MediaError::decode(path, detail)
            }
        }
    }
}

/// Area-averages `image` so that its longest side is at most `max_side` (aspect ratio kept,
/// each side rounded to the nearest pixel, at least 1); returns None when it already fits.
/// Every output pixel is the exact mean of the source area it covers (fractional edge pixels
/// weighted by coverage), so no detail aliases and the cost is linear in the source size.
pub fn fit_within(image: &RgbImage, max_side: u32) -> Option<RgbImage> {
    let (w, h) = image.dimensions();
    let longest = w.max(h);
    if longest <= max_side || max_side == 0 {
        return None;
    }
    let scale = f64::from(max_side) / f64::from(longest);
    let out_w = ((f64::from(w) * scale).round() as u32).clamp(1, max_side);
    let out_h = ((f64::from(h) * scale).round() as u32).clamp(1, max_side);
    let cols = area_weights(w as usize, out_w as usize);
    let rows = area_weights(h as usize, out_h as usize);
    let src = image.as_raw();
    let (w, out_w) = (w as usize, out_w as usize);
    // Horizontal pass into f32 rows, then vertical: two small separable passes.
    let mut tmp = vec![0f32; h as usize * out_w * 3];
    for y in 0..h as usize {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        let out = &mut tmp[y * out_w * 3..(y + 1) * out_w * 3];
        for (ox, taps) in cols.iter().enumerate() {
            let mut acc = [0f32; 3];
            for &(x, weight) in taps {
                for c in 0..3 {
                    acc[c] += weight * f32::from(row[x * 3 + c]);
                }
            }
            out[ox * 3..ox * 3 + 3].copy_from_slice(&acc);
        }
    }
    let mut out = RgbImage::new(out_w as u32, out_h);
    let dst: &mut [u8] = &mut out;
    for (oy, taps) in rows.iter().enumerate() {
        let line = &mut dst[oy * out_w * 3..(oy + 1) * out_w * 3];
        let mut acc = vec![0f32; out_w * 3];
        for &(y, weight) in taps {
            let src_row = &tmp[y * out_w * 3..(y + 1) * out_w * 3];
            for (a, s) in acc.iter_mut().zip(src_row) {
                *a += weight * s;
            }
        }
        for (d, a) in line.iter_mut().zip(&acc) {
            *d = a.round().clamp(0.0, 255.0) as u8;
        }
    }
    Some(out)
}

/// For each output index, the source indices it covers and their weights (summing to 1).
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let step = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            let (start, end) = (o as f64 * step, ((o + 1) as f64 * step).min(src as f64));
            let mut taps = Vec::new();
            let mut i = start.floor() as usize;
            while (i as f64) < end && i < src {
                let covered = (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0);
                if covered > 0.0 {
                    taps.push((i, (covered / (end - start)) as f32));
                }
                i += 1;
            }
            taps
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_within_keeps_small_images_and_averages_large_ones() {
        let small = RgbImage::from_pixel(10, 8, image::Rgb([1, 2, 3]));
        assert!(fit_within(&small, 16).is_none());
        // A 2x-downscale of a checkerboard is a flat mid-grey: the area average, no aliasing.
        let board = RgbImage::from_fn(40, 20, |x, y| {
            if (x + y) % 2 == 0 { image::Rgb([255, 255, 255]) } else { image::Rgb([0, 0, 0]) }
        });
        let out = fit_within(&board, 20).unwrap();
        assert_eq!(out.dimensions(), (20, 10));
        assert!(out.pixels().all(|p| p.0 == [128, 128, 128]), "{:?}", out.get_pixel(0, 0));
    }

    #[test]
    fn area_weights_sum_to_one() {
        for (src, dst) in [(7, 3), (2049, 2048), (4000, 2048), (5, 5)] {
            for taps in area_weights(src, dst) {
                let sum: f32 = taps.iter().map(|t| t.1).sum();
                assert!((sum - 1.0).abs() < 1e-5, "{src}->{dst}: {sum}");
            }
        }
    }
}
