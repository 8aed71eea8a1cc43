//! Identity document pictures (FAQ 7): ID card front and back, passport
//! personal-information and validity pages.
//!
//! A picture must decode, be large enough to read the card (85.6×54 mm at
//! [`MIN_PX_PER_MM`] px/mm), sharp, neither too dark nor too bright, and free
//! of glare; its aspect should look like a document. Accepted pictures are
//! re-encoded upright, at most [`OUTPUT_LONG_SIDE`] px, without metadata.
//! Two sides of one document must not be the same picture.

use image::RgbImage;

use crate::catalog::Code;
use crate::decode::{self, DecodeLimits, Decoded};
use crate::jpeg;
use crate::photo::decode_problem;
use crate::pixels::{edge_sharpness, hamming, largest_interior_blob, luma, phash};
use crate::report::{Problem, Report};
use crate::resample::{Rect, fit_within, render_from, shrink_for};

/// Readable resolution for the card: 10 px/mm (about 254 dpi).
pub const MIN_PX_PER_MM: f32 = 10.0;
/// Smallest long side: the card's 85.6 mm at [`MIN_PX_PER_MM`].
pub const MIN_LONG_SIDE: u32 = 856;
/// Smallest short side: the card's 54 mm at [`MIN_PX_PER_MM`].
pub const MIN_SHORT_SIDE: u32 = 540;
/// Long side of the working copy the checks run on.
pub const WORK_LONG_SIDE: u32 = 1024;
/// Long side cap of the stored picture.
pub const OUTPUT_LONG_SIDE: u32 = 2000;
/// JPEG quality of the stored picture.
pub const OUTPUT_QUALITY: u8 = 85;
/// Edge sharpness (see [`crate::pixels::edge_sharpness`]) at the working size below which text is unreadable.
pub const MIN_SHARPNESS: f32 = 45.0;
/// Mean brightness bounds.
pub const MIN_LUMA: u8 = 50;
/// Mean brightness bounds.
pub const MAX_LUMA: u8 = 235;
/// A saturated blob inside the picture larger than this share of it is glare.
pub const MAX_GLARE: f32 = 0.004;
/// Plausible long/short ratios of a document picture (card 1.59, passport page 1.42, phone frames 1.33–2.2).
pub const ASPECT_RANGE: (f32, f32) = (1.15, 2.25);
/// Perceptual hashes closer than this are the same picture.
pub const SAME_PICTURE_MAX_DISTANCE: u32 = 10;

/// Which picture of which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// ID card portrait side (人像面).
    IdFront,
    /// ID card national-emblem side (国徽面).
    IdBack,
    /// Passport personal-information page.
    PassportInfo,
    /// Passport validity page.
    PassportValidity,
}

impl DocumentKind {
    /// All kinds.
    pub const ALL: [DocumentKind; 4] =
        [DocumentKind::IdFront, DocumentKind::IdBack, DocumentKind::PassportInfo, DocumentKind::PassportValidity];

    /// The upload part name (api.md).
    pub fn field(self) -> &'static str {
        match self {
            DocumentKind::IdFront => "id_front",
            DocumentKind::IdBack => "id_back",
            DocumentKind::PassportInfo => "passport_info",
            DocumentKind::PassportValidity => "passport_validity",
        }
    }

    /// Display names, zh-CN and English.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            DocumentKind::IdFront => ("身份证人像面", "ID card portrait side"),
            DocumentKind::IdBack => ("身份证国徽面", "ID card national-emblem side"),
            DocumentKind::PassportInfo => ("护照个人信息页", "passport personal-information page"),
            DocumentKind::PassportValidity => ("护照有效期页", "passport validity page"),
        }
    }
}

/// A checked, re-encoded document picture.
#[derive(Debug, Clone)]
pub struct ProcessedDocument {
    /// Which picture.
    pub kind: DocumentKind,
    /// Upright JPEG, no metadata.
    pub jpeg: Vec<u8>,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Perceptual hash of the picture.
    pub phash: u64,
    /// Share of strongly red pixels in the upper-left quarter (the national emblem's place).
    pub emblem_score: f32,
}

/// The outcome of [`check`].
#[derive(Debug, Clone)]
pub struct DocumentOutcome {
    /// Every problem found.
    pub report: Report,
    /// The re-encoded picture, when it decoded (present even with problems, for previews).
    pub output: Option<ProcessedDocument>,
}

/// Checks one document picture and re-encodes it.
pub fn check(kind: DocumentKind, bytes: &[u8]) -> DocumentOutcome {
    match decode::decode(bytes, &DecodeLimits::DEFAULT) {
        Ok(decoded) => check_decoded(kind, bytes, &decoded),
        Err(e) => DocumentOutcome {
            report: std::iter::once(decode_problem(kind.field(), &e, "JPEG, PNG")).collect(),
            output: None,
        },
    }
}

/// [`check`] on a decoded picture: `bytes` are the file as chosen, `decoded` its pixels,
/// from [`decode::decode`] or [`Decoded::from_pixels`] (possibly downscaled: sizes are
/// judged on the file's header, content on the pixels).
pub fn check_decoded(kind: DocumentKind, bytes: &[u8], decoded: &Decoded) -> DocumentOutcome {
    let field = kind.field();
    let mut report = Report::new();
    let (w, h) = decoded.source_dimensions();
    let (long, short) = (w.max(h), w.min(h));
    if long < MIN_LONG_SIDE || short < MIN_SHORT_SIDE {
        report.push(Problem::new(
            field,
            Code::DocumentTooSmall,
            &[("width", &w), ("height", &h), ("min_long", &MIN_LONG_SIDE), ("min_short", &MIN_SHORT_SIDE)],
        ));
    }
    let aspect = long as f32 / short.max(1) as f32;
    if !(ASPECT_RANGE.0..=ASPECT_RANGE.1).contains(&aspect) {
        report.push(Problem::new(field, Code::DocumentAspectUnusual, &[("actual", &format!("{aspect:.2}"))]));
    }
    // One pass over the full resolution; the working copy and the output are rendered from it.
    // Renders work in the coordinates of the pixels at hand.
    let (pw, ph) = decoded.upright_dimensions();
    let mid = shrink_for(&decoded.raw, OUTPUT_LONG_SIDE);
    let (ww, wh) = fit_within(pw, ph, WORK_LONG_SIDE);
    let work = render_from(&mid, decoded.orientation, Rect::full(pw, ph), ww, wh);
    let stats = work_stats(&work);
    report.extend(content_problems(field, &work, &stats));

    // The output has the file's size (capped), whatever the pixels at hand: callers decode
    // to at least this size (the widget's worker does), so nothing is enlarged in practice.
    let (ow, oh) = fit_within(w, h, OUTPUT_LONG_SIDE);
    let render_output = || {
        if (ow, oh) == (ww, wh) {
            work.clone()
        } else {
            render_from(&mid, decoded.orientation, Rect::full(pw, ph), ow, oh)
        }
    };
    let jpeg = if decoded.is_file_pixels() {
        jpeg::keep_or_encode(bytes, decoded, (ow, oh), render_output, OUTPUT_QUALITY)
    } else {
        jpeg::encode(&render_output(), OUTPUT_QUALITY)
    };
    let output =
        ProcessedDocument { kind, jpeg, width: ow, height: oh, phash: phash(&work), emblem_score: stats.emblem_score };
    DocumentOutcome { report, output: Some(output) }
}

/// What the checks read of the working copy, gathered in one pass over its pixels.
struct WorkStats {
    /// The luma plane (for the sharpness).
    luma: Vec<u8>,
    /// Mean luma.
    mean: u8,
    /// Pixels whose every channel is at least 250 (glare candidates).
    saturated: Vec<bool>,
    /// Share of strongly red pixels in the upper-left quarter.
    emblem_score: f32,
}

fn work_stats(work: &RgbImage) -> WorkStats {
    let (w, h) = (work.width() as usize, work.height() as usize);
    let (qw, qh) = (w / 2, h / 2);
    let n = w * h;
    let mut luma_plane = vec![0u8; n];
    let mut saturated = vec![false; n];
    let (mut sum, mut red) = (0u64, 0u32);
    for (y, ((src, lum), sat)) in work
        .as_raw()
        .chunks_exact(w * 3)
        .zip(luma_plane.chunks_exact_mut(w))
        .zip(saturated.chunks_exact_mut(w))
        .enumerate()
    {
        let mut row_sum = 0u32;
        for ((p, l), s) in src.chunks_exact(3).zip(lum.iter_mut()).zip(sat.iter_mut()) {
            let v = luma([p[0], p[1], p[2]]);
            *l = v;
            row_sum += u32::from(v);
            *s = p[0] >= 250 && p[1] >= 250 && p[2] >= 250;
        }
        sum += u64::from(row_sum);
        if y < qh {
            for (p, l) in src[..qw * 3].chunks_exact(3).zip(&lum[..qw]) {
                let [r, g, b] = [p[0], p[1], p[2]];
                if r > 140 && r > g.saturating_add(60) && r > b.saturating_add(60) && *l > 50 {
                    red += 1;
                }
            }
        }
    }
    WorkStats {
        luma: luma_plane,
        mean: (sum / n.max(1) as u64) as u8,
        saturated,
        emblem_score: red as f32 / (qw * qh).max(1) as f32,
    }
}

fn content_problems(field: &str, work: &RgbImage, stats: &WorkStats) -> Vec<Problem> {
    let mut out = Vec::new();
    let (w, h) = work.dimensions();
    let mean = stats.mean;
    if mean < MIN_LUMA {
        out.push(Problem::new(field, Code::DocumentTooDark, &[("value", &mean), ("min", &MIN_LUMA)]));
    } else if mean > MAX_LUMA {
        out.push(Problem::new(field, Code::DocumentTooBright, &[("value", &mean), ("max", &MAX_LUMA)]));
    }
    // Edge contrast scales with exposure: an under- or over-exposed picture
    // would read as blurred, so sharpness is judged only when exposure is fine.
    let exposure_ok = !out.iter().any(|p| matches!(p.code, Code::DocumentTooDark | Code::DocumentTooBright));
    if exposure_ok {
        let sharpness = edge_sharpness(&stats.luma, w, (0, 0, w, h));
        if sharpness < MIN_SHARPNESS {
            out.push(Problem::new(
                field,
                Code::DocumentBlurry,
                &[("value", &format!("{sharpness:.0}")), ("min", &format!("{MIN_SHARPNESS:.0}"))],
            ));
        }
    }
    let blob = largest_interior_blob(&stats.saturated, w, h) as f32 / (w * h).max(1) as f32;
    if blob > MAX_GLARE {
        out.push(Problem::new(field, Code::DocumentGlare, &[("percent", &format!("{:.1}%", blob * 100.0))]));
    }
    out
}

/// Share of strongly red pixels in the upper-left quarter (the national emblem's place).
#[cfg(test)]
fn emblem_score(work: &RgbImage) -> f32 {
    let (w, h) = work.dimensions();
    let (qw, qh) = (w / 2, h / 2);
    let mut red = 0u32;
    for y in 0..qh {
        for x in 0..qw {
            let [r, g, b] = work.get_pixel(x, y).0;
            if r > 140 && r > g.saturating_add(60) && r > b.saturating_add(60) && luma([r, g, b]) > 50 {
                red += 1;
            }
        }
    }
    red as f32 / (qw * qh).max(1) as f32
}

/// Checks two sides of one document against each other: the same picture is
/// an error; an ID card whose portrait side carries the emblem and whose
/// emblem side does not is a warning.
pub fn check_pair(first: &ProcessedDocument, second: &ProcessedDocument) -> Vec<Problem> {
    let mut out = Vec::new();
    let (f_zh, f_en) = first.kind.names();
    let (s_zh, s_en) = second.kind.names();
    let args: [(&str, &dyn std::fmt::Display); 4] =
        [("first", &f_zh), ("second", &s_zh), ("first_en", &f_en), ("second_en", &s_en)];
    if hamming(first.phash, second.phash) <= SAME_PICTURE_MAX_DISTANCE {
        out.push(Problem::new(second.kind.field(), Code::DocumentSameImageBothSides, &args));
    } else if first.kind == DocumentKind::IdFront
        && second.kind == DocumentKind::IdBack
        && first.emblem_score > 0.004
        && first.emblem_score > second.emblem_score * 2.0 + 0.002
    {
        out.push(Problem::new(first.kind.field(), Code::DocumentSidesSwapped, &args));
    }
    out
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;
    use crate::pixels::luma_plane;

    #[test]
    fn one_pass_stats_equal_the_separate_measurements() {
        // Noise with saturated and strongly red patches, odd sizes (quarters round down).
        let mut s = 99u32;
        let img = RgbImage::from_fn(203, 131, |x, y| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if (40..60).contains(&x) && (30..50).contains(&y) {
                Rgb([255, 251, 250])
            } else if x < 90 && y < 60 && s.is_multiple_of(3) {
                Rgb([200 + (s % 50) as u8, (s >> 8) as u8 % 80, (s >> 16) as u8 % 90])
            } else {
                Rgb([s as u8, (s >> 8) as u8, (s >> 16) as u8])
            }
        });
        let stats = work_stats(&img);
        let lum = luma_plane(&img);
        assert_eq!(stats.luma, lum);
        assert_eq!(stats.mean, (lum.iter().map(|l| u64::from(*l)).sum::<u64>() / lum.len() as u64) as u8);
        let saturated: Vec<bool> = img.pixels().map(|p| p.0.iter().all(|c| *c >= 250)).collect();
        assert_eq!(stats.saturated, saturated);
        assert!(stats.saturated.iter().any(|s| *s));
        assert_eq!(stats.emblem_score, emblem_score(&img));
        assert!(stats.emblem_score > 0.0);
    }
}
