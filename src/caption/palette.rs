//! A description of an image computed from its pixels alone, used when no image-captioning model
//! is installed: size, orientation, brightness, and its main colours. It tells the judge that an
//! image exists and what it roughly looks like (a green landscape is not a red logo), never what
//! it depicts; the caption part says it came from no model.
//!
//! Colour rule: pixels are binned by hue into twelve named families when saturated enough
//! (HSV saturation >= 0.25 and value >= 0.2), else into black / grey / white by value; the
//! families covering at least 10 % of the pixels are named, largest first, at most three.

use image::RgbImage;

/// Below this HSV saturation a pixel counts as achromatic.
const MIN_SATURATION: f32 = 0.25;
/// Below this HSV value a pixel counts as black whatever its hue.
const MIN_VALUE: f32 = 0.2;
/// A colour is named when it covers at least this share of the pixels.
const MIN_SHARE: f64 = 0.10;
const MAX_COLOURS: usize = 3;
/// Pixels sampled along each axis at most (a 4K image is described as fast as a thumbnail).
const MAX_SAMPLES_PER_AXIS: u32 = 256;

/// Hue families, 30 degrees each, starting at red (-15..15).
const HUES: [&str; 12] =
    ["red", "orange", "yellow", "yellow-green", "green", "green-cyan", "cyan", "azure", "blue", "violet", "magenta", "pink"];

fn family(r: u8, g: u8, b: u8) -> &'static str {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    if max < MIN_VALUE {
        return "black";
    }
    let saturation = if max > 0.0 { delta / max } else { 0.0 };
    if saturation < MIN_SATURATION {
        return if max > 0.85 { "white" } else { "grey" };
    }
    let hue = if max == r {
        60.0 * ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / delta + 2.0)
    } else {
        60.0 * ((r - g) / delta + 4.0)
    };
    HUES[(((hue + 15.0) / 30.0) as usize) % HUES.len()]
}

/// "image, 640x480 (landscape), medium brightness; colours: green 45 %, azure 20 %, white 12 %".
pub fn describe(img: &RgbImage) -> String {
    let (w, h) = img.dimensions();
    let orientation = match w.cmp(&h) {
        std::cmp::Ordering::Greater => "landscape",
        std::cmp::Ordering::Less => "portrait",
        std::cmp::Ordering::Equal => "square",
    };
    if w == 0 || h == 0 {
        return format!("image, {w}x{h} (empty)");
    }
    let (sx, sy) = (w.div_ceil(MAX_SAMPLES_PER_AXIS).max(1), h.div_ceil(MAX_SAMPLES_PER_AXIS).max(1));
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    let (mut n, mut luma) = (0usize, 0f64);
    for y in (0..h).step_by(sy as usize) {
        for x in (0..w).step_by(sx as usize) {
            let p = img.get_pixel(x, y).0;
            luma += 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
            n += 1;
            let f = family(p[0], p[1], p[2]);
            match counts.iter_mut().find(|(name, _)| *name == f) {
                Some((_, c)) => *c += 1,
                None => counts.push((f, 1)),
            }
        }
    }
    let brightness = match luma / n as f64 / 255.0 {
        b if b < 0.25 => "dark",
        b if b < 0.45 => "fairly dark",
        b if b < 0.6 => "medium brightness",
        b if b < 0.8 => "bright",
        _ => "very bright",
    };
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let colours: Vec<String> = counts
        .iter()
        .filter(|(_, c)| *c as f64 / n as f64 >= MIN_SHARE)
        .take(MAX_COLOURS)
        .map(|(name, c)| format!("{name} {:.0} %", 100.0 * *c as f64 / n as f64))
        .collect();
    let colours = if colours.is_empty() { "mixed, no colour above 10 %".to_string() } else { colours.join(", ") };
    format!("image, {w}x{h} ({orientation}), {brightness}; colours: {colours}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_main_colours_and_brightness() {
        let mut img = RgbImage::from_pixel(40, 20, image::Rgb([20, 160, 30]));
        for x in 0..10 {
            for y in 0..20 {
                img.put_pixel(x, y, image::Rgb([250, 250, 250]));
            }
        }
        let d = describe(&img);
        assert!(d.starts_with("image, 40x20 (landscape)"), "{d}");
        assert!(d.contains("green 75 %") && d.contains("white 25 %"), "{d}");
        let dark = describe(&RgbImage::from_pixel(8, 8, image::Rgb([5, 5, 5])));
        assert!(dark.contains("dark") && dark.contains("black 100 %"), "{dark}");
    }

    #[test]
    fn primary_hues_fall_in_their_families() {
        assert_eq!(family(255, 0, 0), "red");
        assert_eq!(family(0, 255, 0), "green");
        assert_eq!(family(0, 0, 255), "blue");
        assert_eq!(family(255, 255, 0), "yellow");
        assert_eq!(family(128, 128, 128), "grey");
    }
}
