//! JPEG output: the encoder every re-encoded image goes through, and the
//! choice between it and the sanitizer's lossless rebuild ([`crate::sanitize`]).

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Encodes upright RGB pixels as a baseline JPEG with 4:2:0 chroma
/// subsampling (as cameras write). The output carries only a JFIF header: no
/// EXIF, GPS, XMP or comments.
pub fn encode(img: &RgbImage, quality: u8) -> Vec<u8> {
    encode_with(img, quality, SamplingFactor::R_4_2_0)
}

fn encode_with(img: &RgbImage, quality: u8, sampling: SamplingFactor) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(sampling);
    let (w, h) = img.dimensions();
    // Dimensions are bounded by the decoder limits (12 000 px) and fit in u16;
    // a failure here would be a bug, and an empty output is refused downstream.
    let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else { return Vec::new() };
    if encoder.encode(img.as_raw(), w, h, ColorType::Rgb).is_err() {
        return Vec::new();
    }
    out
}

/// The result of a quality search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The JPEG bytes.
    pub bytes: Vec<u8>,
    /// The quality used.
    pub quality: u8,
}

/// Lowest quality the search will go to; below it the picture is visibly damaged.
pub const MIN_QUALITY: u8 = 40;

/// Finds the highest quality whose output lies within `min..=max` bytes.
/// Returns `None` when no quality between [`MIN_QUALITY`] and 100 lands in the range.
pub fn encode_within(img: &RgbImage, min: usize, max: usize) -> Option<Encoded> {
    let fits = |len: usize| (min..=max).contains(&len);
    let first = encode(img, 92);
    if fits(first.len()) {
        return Some(Encoded { bytes: first, quality: 92 });
    }
    if first.len() < min {
        // Too small even at 92: more quality, then full chroma resolution.
        for (q, sampling) in [(97, SamplingFactor::R_4_2_0), (100, SamplingFactor::R_4_4_4)] {
            let bytes = encode_with(img, q, sampling);
            if fits(bytes.len()) {
                return Some(Encoded { bytes, quality: q });
            }
        }
        return None;
    }
    // Too large: binary search for the highest quality that fits under `max`.
    let (mut lo, mut hi) = (MIN_QUALITY, 91u8);
    let mut best = None;
    while lo <= hi {
        let q = lo + (hi - lo) / 2;
        let bytes = encode(img, q);
        if bytes.len() <= max {
            if bytes.len() >= min {
                best = Some(Encoded { bytes, quality: q });
            }
            lo = q + 1;
        } else {
            if q == 0 {
                break;
            }
            hi = q - 1;
        }
    }
    best
}

/// The stored form of an accepted picture: a JPEG that is already upright
/// and within the size cap (`out` equals its own dimensions) is rebuilt
/// losslessly by [`crate::sanitize::rebuild`] (no second generation of JPEG
/// loss, and no encode on the server for what the widget already re-encoded);
/// anything else, and every JPEG the sanitizer does not rebuild (CMYK, YCCK,
/// Adobe-transformed), is rendered by `render` and encoded at `quality`.
pub fn keep_or_encode(
    bytes: &[u8],
    decoded: &crate::decode::Decoded,
    out: (u32, u32),
    render: impl FnOnce() -> RgbImage,
    quality: u8,
) -> Vec<u8> {
    let upright = decoded.orientation == image::metadata::Orientation::NoTransforms;
    if decoded.format == crate::decode::Sniffed::Jpeg
        && upright
        && decoded.raw.dimensions() == out
        && let Some(rebuilt) = match &decoded.audit {
            // The parse the decode made of these very bytes (same length), not a second one.
            Some((len, audit)) if *len == bytes.len() => crate::sanitize::rebuild_audited(bytes, audit),
            _ => crate::sanitize::rebuild(bytes),
        }
    {
        return rebuilt;
    }
    encode(&render(), quality)
}

/// True when a JPEG carries anything but what decoding needs (APPn other than
/// one JFIF APP0, COM, JPGn, trailing bytes, a second image), by the sanitizer's
/// full parse ([`crate::sanitize::audit`]).
pub fn has_metadata_segments(jpeg: &[u8]) -> bool {
    let a = crate::sanitize::audit(jpeg);
    a.app_segments > 0 || a.com > 0 || a.jpgn > 0 || a.trailing_bytes > 0 || a.images > 1
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    fn noisy(w: u32, h: u32) -> RgbImage {
        let mut s = 12345u32;
        RgbImage::from_fn(w, h, |x, y| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            Rgb([(x * 3) as u8 ^ (s as u8 & 63), (y * 2) as u8, (s >> 8) as u8 & 127])
        })
    }

    #[test]
    fn quality_search_lands_in_the_range() {
        let img = noisy(295, 413);
        let out = encode_within(&img, 10 * 1024, 60 * 1024).expect("fits");
        assert!((10 * 1024..=60 * 1024).contains(&out.bytes.len()), "{} bytes", out.bytes.len());
        assert!(out.quality >= MIN_QUALITY);
        assert!(encode_within(&img, 1, 200).is_none(), "200 bytes cannot hold this picture");
    }
}
