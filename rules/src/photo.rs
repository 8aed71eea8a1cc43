//! The standard photo (FAQ 5) against a spec profile (rules.md §7).
//!
//! `check` judges a file *as given*; `fix` crops around the subject, resizes
//! to the profile's exact pixels, re-encodes into the byte range without any
//! metadata, and then runs `check` on its own output, which must pass.
//!
//! Pipeline (decode once, downscale early): decode → a small upright working
//! copy (≤ [`WORK_LONG_SIDE`]) for background and subject geometry → the crop
//! rectangle in full-resolution upright coordinates → one area-average render
//! of that rectangle straight to the target pixels. Content checks (background,
//! exposure, sharpness, colour) run on that render, which is exactly what the
//! fix uploads; for a photo that already meets the profile the render is the
//! photo itself.

use image::RgbImage;

use crate::catalog::Code;
use crate::decode::{self, DecodeError, DecodeLimits, Decoded, Sniffed};
use crate::jpeg;
use crate::pixels::{chroma, edge_sharpness, l1, luma, luma_plane, median_colour};
use crate::profile::{Background, PhotoProfile};
use crate::report::{Problem, Report};
use crate::resample::{Rect, fit_within, render, render_from, shrink_for};

/// Long side of the working copy used for geometry.
pub const WORK_LONG_SIDE: u32 = 480;
/// The full-resolution picture is box-shrunk once to at least this long side.
pub const MID_LONG_SIDE: u32 = 1000;
/// Source pixels per output pixel (along the width) a crop must have in a reduced copy (the
/// box-shrunk mid copy, or a browser's scaled decode) to be rendered from it: under this, the
/// render would be visibly softer than one from the full resolution, and sharp photos near
/// [`MIN_SHARPNESS`] could be refused.
pub const MIN_RENDER_SOURCE: f32 = 1.5;
/// Face brightness (mean luma) below which a photo is too dark.
pub const MIN_FACE_LUMA: u8 = 60;
/// Face brightness above which a photo is too bright.
pub const MAX_FACE_LUMA: u8 = 235;
/// Share of the face that may be blown out or crushed before it is refused.
pub const MAX_CLIPPED: f32 = 0.25;
/// Edge sharpness (see [`crate::pixels::edge_sharpness`]) of the head at the profile's pixels below which a photo is blurred (a Gaussian blur of σ ≈ 3 output pixels).
pub const MIN_SHARPNESS: f32 = 45.0;
/// Mean chroma of the subject below which a photo is black and white.
pub const MIN_CHROMA: f32 = 6.0;
/// Background pixels farther than this (sum of channel differences) from the
/// median background colour count as not background.
pub const BACKGROUND_OUTLIER_L1: u32 = 60;
/// Largest share of background samples that may be outliers (pattern, objects).
pub const MAX_BACKGROUND_OUTLIERS: f32 = 0.10;
/// Width of each background sample strip (left and right edges), as a share of the width.
pub const BACKGROUND_SIDE: f32 = 0.06;
/// Height of the background sample strips from the top, as a share of the height (above the shoulders).
pub const BACKGROUND_HEIGHT: f32 = 0.3;
/// Largest difference between the left and right background areas (shadows, uneven light).
pub const MAX_BACKGROUND_UNEVENNESS: u32 = 60;
/// A pixel belongs to the subject when it differs this much from the background.
pub const SUBJECT_L1: u32 = 70;

/// The field name photo problems are reported under.
pub const FIELD: &str = "photo";

/// The background as measured in the strips around the head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundStats {
    /// Median colour.
    pub colour: [u8; 3],
    /// Share of samples far from the median.
    pub outliers: f32,
    /// L1 difference between the median colours of the left and right areas.
    pub unevenness: u32,
}

/// Where the head is, in the coordinates of the picture it was measured on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// First row of the head (top of the hair).
    pub top: u32,
    /// Last row of the head (the neck), exclusive.
    pub bottom: u32,
    /// Horizontal centre of the head.
    pub centre_x: f32,
    /// Head width (widest row above the shoulders).
    pub head_width: u32,
    /// Width and height of the measured picture.
    pub frame: (u32, u32),
}

impl Geometry {
    fn scaled(self, sx: f32, sy: f32) -> (f32, f32, f32, f32) {
        (self.top as f32 * sy, self.bottom as f32 * sy, self.centre_x * sx, self.head_width as f32 * sx)
    }
}

/// Everything a photo check measured, for the widget's explanations and the tests.
#[derive(Debug, Clone)]
pub struct PhotoAnalysis {
    /// Every problem found, as given.
    pub report: Report,
    /// The container format.
    pub format: Sniffed,
    /// Upright width and height, when the file decoded.
    pub dimensions: Option<(u32, u32)>,
    /// The crop the fix would use, in upright pixels.
    pub crop: Option<Rect>,
    /// The picture rendered to the profile's pixels (what the fix encodes).
    rendered: Option<RgbImage>,
    /// True when a rendered picture has no unfixable error.
    fixable: bool,
}

impl PhotoAnalysis {
    /// The picture the fix would encode, if the file could be rendered at the profile's pixels.
    pub fn rendered(&self) -> Option<&RgbImage> {
        self.rendered.as_ref()
    }
}

/// The outcome of [`fix`].
#[derive(Debug, Clone)]
pub struct FixOutcome {
    /// The problems of the file as given.
    pub before: Report,
    /// The fixed JPEG, when every error was fixable.
    pub output: Option<FixedPhoto>,
    /// The crop the fix rendered, in the file's upright pixels (see [`PhotoAnalysis::crop`]).
    pub crop: Option<Rect>,
}

/// A fixed photo: JPEG bytes at exactly the profile's pixels, no metadata.
#[derive(Debug, Clone)]
pub struct FixedPhoto {
    /// The JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The JPEG quality the byte range allowed.
    pub quality: u8,
    /// `check` run on `jpeg`; passes unless the fix itself failed.
    pub after: Report,
}

/// Judges a file as given against the profile.
pub fn check(bytes: &[u8], profile: &PhotoProfile) -> Report {
    analyze(bytes, profile).report
}

/// Checks, and when every error is fixable, produces the fixed JPEG and checks it again.
pub fn fix(bytes: &[u8], profile: &PhotoProfile) -> FixOutcome {
    finish_fix(analyze(bytes, profile), profile)
}

/// [`fix`] on pixels decoded elsewhere (see [`Decoded::from_pixels`]); `bytes` are the
/// file as chosen (its byte size is judged). The output is checked with [`check`], the
/// rules' own decoder, exactly as the server will check it.
pub fn fix_decoded(bytes: &[u8], decoded: &Decoded, profile: &PhotoProfile) -> FixOutcome {
    finish_fix(analyze_decoded(bytes, decoded, profile), profile)
}

fn finish_fix(analysis: PhotoAnalysis, profile: &PhotoProfile) -> FixOutcome {
    let output = if analysis.fixable {
        analysis.rendered.as_ref().and_then(|img| {
            let encoded = jpeg::encode_within(img, profile.min_bytes, profile.max_bytes)?;
            let after = check(&encoded.bytes, profile);
            Some(FixedPhoto {
                jpeg: encoded.bytes,
                width: img.width(),
                height: img.height(),
                quality: encoded.quality,
                after,
            })
        })
    } else {
        None
    };
    let crop = analysis.crop;
    let mut before = analysis.report;
    if analysis.fixable && output.is_none() {
        // Even the lowest quality does not fit, or the highest is still under the minimum.
        for p in before.problems_mut_by(Code::PhotoBytesOutOfRange) {
            p.fixable = false;
        }
    }
    FixOutcome { before, output, crop }
}

/// What is stored of a photo that passes as given: the sanitizer's lossless rebuild
/// ([`crate::sanitize::rebuild`]: SOI, JFIF, tables, frame, scans, EOI, nothing else). None
/// when the file is not a JPEG the sanitizer rebuilds; [`check`] reports an error for every
/// such file, so a passing photo always has a stored form.
pub fn stored(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::sanitize::rebuild(bytes)
}

/// Maps a decoder failure to the problem the accountant sees.
pub fn decode_problem(field: &str, error: &DecodeError, accepted: &str) -> Problem {
    match error {
        DecodeError::Empty => Problem::new(field, Code::FileEmpty, &[]),
        DecodeError::TooLarge { size, limit } => {
            Problem::new(field, Code::FileTooLarge, &[("size", &human_bytes(*size)), ("limit", &human_bytes(*limit))])
        }
        // Built without the PNG decoder (the widget), a PNG reaches the rules only when the
        // browser failed to decode it: that is the browser's failure, not the file's format.
        DecodeError::Unsupported(Sniffed::Png) if !cfg!(feature = "png") => {
            Problem::new(field, Code::FileProcessingFailed, &[])
        }
        DecodeError::Unsupported(s) => {
            Problem::new(field, Code::FileUnsupportedFormat, &[("detected", &s.name()), ("accepted", &accepted)])
        }
        DecodeError::DimensionsOverLimit { width, height, max_side } => Problem::new(
            field,
            Code::ImageDimensionsOverLimit,
            &[("width", width), ("height", height), ("max", max_side)],
        ),
        DecodeError::Corrupt => Problem::new(field, Code::ImageCorrupt, &[]),
        DecodeError::UnsupportedEncoding(what) => {
            Problem::new(field, Code::ImageUnsupportedEncoding, &[("encoding", what)])
        }
        DecodeError::MalformedSegments(what) => Problem::new(field, Code::ImageMalformedSegments, &[("detail", what)]),
    }
}

/// `12.3 KB`, `4.9 MB`.
pub fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// The full analysis behind [`check`] and [`fix`].
pub fn analyze(bytes: &[u8], profile: &PhotoProfile) -> PhotoAnalysis {
    match decode::decode(bytes, &DecodeLimits::DEFAULT) {
        Ok(decoded) => analyze_decoded(bytes, &decoded, profile),
        Err(e) => PhotoAnalysis {
            report: std::iter::once(decode_problem(FIELD, &e, "JPEG, PNG")).collect(),
            format: decode::sniff(bytes),
            dimensions: None,
            crop: None,
            rendered: None,
            fixable: false,
        },
    }
}

/// [`analyze`] on a decoded picture: `bytes` are the file as chosen (its byte size is
/// judged), `decoded` its pixels, from [`decode::decode`] or [`Decoded::from_pixels`]
/// (possibly downscaled: sizes are judged on the file's header, geometry and content on
/// the pixels).
pub fn analyze_decoded(bytes: &[u8], decoded: &Decoded, profile: &PhotoProfile) -> PhotoAnalysis {
    let mut report = Report::new();
    // Sizes are the file's; renders work in the coordinates of the pixels at hand.
    let (w, h) = decoded.source_dimensions();
    let (pw, ph) = decoded.upright_dimensions();
    container_problems(&mut report, bytes, decoded, profile);

    // Never enlarge: a photo under the minimum is refused, and its content is
    // judged at its own size so every other problem is still reported.
    let too_small =
        w < profile.min_width || h < profile.min_height || w < profile.target_width || h < profile.target_height;
    if too_small {
        report.push(Problem::new(
            FIELD,
            Code::PhotoTooSmall,
            &[("width", &w), ("height", &h), ("min_width", &profile.min_width), ("min_height", &profile.min_height)],
        ));
    }

    // One pass over the full resolution: a box shrink to about MID_LONG_SIDE,
    // from which the working copy and (usually) the crop are rendered.
    let mid = shrink_for(&decoded.raw, MID_LONG_SIDE);
    let (ww, wh) = fit_within(pw, ph, WORK_LONG_SIDE);
    let work = render_from(&mid, decoded.orientation, Rect::full(pw, ph), ww, wh);
    let bg = background_stats(&work);
    let uniform = background_uniform(&bg);
    let geometry = if uniform { find_head(&work, &bg) } else { None };

    let crop = crop_rect(geometry, (ww, wh), (pw, ph), profile);
    let (rw, rh) = if too_small { (ww, wh) } else { (profile.target_width, profile.target_height) };
    // The render is the working copy itself when the photo is too small, or when both are the whole
    // picture at the same size from the same pixels (a photo that already has the profile's pixels,
    // e.g. the check of an upload): then its measurements are the working copy's.
    let same_as_work = too_small || (mid.factor == 1 && crop == Rect::full(pw, ph) && (rw, rh) == (ww, wh));
    let (rendered, rendered_bg, rendered_geometry) = if same_as_work {
        (work, bg, geometry)
    } else {
        let rendered = if crop.w / mid.factor as f32 >= MIN_RENDER_SOURCE * rw as f32 {
            render_from(&mid, decoded.orientation, crop, rw, rh)
        } else {
            // A small crop of a large picture: render it from the full resolution.
            render(&decoded.raw, decoded.orientation, crop, rw, rh)
        };
        // Geometry as given (on the working copy) and after the crop (on the render).
        let rendered_bg = background_stats(&rendered);
        let rendered_geometry =
            if background_uniform(&rendered_bg) { find_head(&rendered, &rendered_bg) } else { None };
        (rendered, rendered_bg, rendered_geometry)
    };
    let mut unfixable = too_small;
    if uniform {
        match geometry {
            None => {
                report.push(Problem::new(FIELD, Code::PhotoNoSubject, &[]));
                unfixable = true;
            }
            Some(g) => {
                let after_ok = rendered_geometry.is_some_and(|rg| geometry_problems(rg, profile).is_empty());
                for p in geometry_problems(g, profile) {
                    unfixable |= !after_ok;
                    report.push(p.fixable(after_ok && !too_small));
                }
            }
        }
    }

    // Content, judged on what would be uploaded.
    let content =
        content_problems(&rendered, &rendered_bg, rendered_geometry.or(geometry.filter(|_| too_small)), profile);
    unfixable |= content.iter().any(Problem::is_error);
    report.extend(content);

    // The crop in the file's upright pixels.
    let (sx, sy) = (w as f32 / pw as f32, h as f32 / ph as f32);
    let crop_in_file = Rect { x: crop.x * sx, y: crop.y * sy, w: crop.w * sx, h: crop.h * sy };
    PhotoAnalysis {
        report,
        format: decoded.format,
        dimensions: Some((w, h)),
        crop: Some(crop_in_file),
        fixable: !unfixable,
        rendered: (!too_small).then_some(rendered),
    }
}

/// Format, pixel count, aspect, bytes, orientation and metadata of the file as given: all fixable.
fn container_problems(report: &mut Report, bytes: &[u8], decoded: &Decoded, profile: &PhotoProfile) {
    let (w, h) = decoded.source_dimensions();
    if decoded.format != Sniffed::Jpeg {
        report.push(Problem::new(FIELD, Code::PhotoNotJpeg, &[("detected", &decoded.format.name())]).fixable(true));
    }
    let over_w = profile.max_width.is_some_and(|m| w > m);
    let over_h = profile.max_height.is_some_and(|m| h > m);
    if over_w || over_h {
        report.push(
            Problem::new(
                FIELD,
                Code::PhotoPixelsOverMaximum,
                &[
                    ("width", &w),
                    ("height", &h),
                    ("max_width", &profile.max_width.unwrap_or(w)),
                    ("max_height", &profile.max_height.unwrap_or(h)),
                    ("target_width", &profile.target_width),
                    ("target_height", &profile.target_height),
                ],
            )
            .fixable(true),
        );
    }
    let actual = w as f32 / h as f32;
    if (actual / profile.aspect() - 1.0).abs() > profile.aspect_tolerance {
        report.push(
            Problem::new(
                FIELD,
                Code::PhotoAspectRatio,
                &[
                    ("actual", &format!("{actual:.3}")),
                    ("expected", &format!("{}:{} ({:.3})", profile.aspect_w, profile.aspect_h, profile.aspect())),
                    ("tolerance", &format!("{:.0}%", profile.aspect_tolerance * 100.0)),
                ],
            )
            .fixable(true),
        );
    }
    // A JPEG as given is stored rebuilt by the sanitizer (metadata, ICC, trailing data gone):
    // its size is the rebuilt file's. One that cannot be rebuilt losslessly (CMYK, YCCK, an
    // Adobe transform, RGB-coded) must be converted by the fix.
    let mut stored_len = bytes.len();
    if decoded.format == Sniffed::Jpeg && decoded.is_file_pixels() {
        let audit = crate::sanitize::audit(bytes);
        match audit.verdict {
            crate::sanitize::Verdict::Reencode(what) => report.push(
                Problem::new(FIELD, Code::ImageColourSpace, &[("detected", &format!("JPEG ({what})"))]).fixable(true),
            ),
            _ => stored_len = audit.rebuilt_len().unwrap_or(stored_len),
        }
    }
    if !(profile.min_bytes..=profile.max_bytes).contains(&stored_len) {
        report.push(
            Problem::new(
                FIELD,
                Code::PhotoBytesOutOfRange,
                &[
                    ("size", &human_bytes(stored_len)),
                    ("min", &human_bytes(profile.min_bytes)),
                    ("max", &human_bytes(profile.max_bytes)),
                ],
            )
            .fixable(true),
        );
    }
    let orientation = decoded.header.orientation.to_exif();
    if orientation != 1 {
        report.push(Problem::new(FIELD, Code::PhotoExifRotated, &[("orientation", &orientation)]).fixable(true));
    }
    let meta = decoded.metadata;
    if meta.any() {
        let what = if meta.gps {
            "EXIF, GPS"
        } else if meta.exif {
            "EXIF"
        } else {
            "XMP/IPTC"
        };
        report.push(Problem::new(FIELD, Code::PhotoMetadataPresent, &[("what", &what)]).fixable(true));
    }
}

/// Samples the background: the outer columns beside the head, above the
/// shoulders (where a standard photo has nothing but background).
pub fn background_stats(img: &RgbImage) -> BackgroundStats {
    let (w, h) = img.dimensions();
    let side = (w as f32 * BACKGROUND_SIDE).ceil().max(1.0) as u32;
    let upper = (h as f32 * BACKGROUND_HEIGHT).ceil().max(1.0) as u32;
    let raw = img.as_raw();
    let region = |x0: u32, x1: u32| {
        let (x0, x1, w) = (x0 as usize, x1.min(w) as usize, w as usize);
        (0..upper.min(h) as usize).flat_map(move |y| {
            raw[(y * w + x0) * 3..(y * w + x1.max(x0)) * 3].chunks_exact(3).map(|p| [p[0], p[1], p[2]])
        })
    };
    let left = median_colour(region(0, side)).unwrap_or([0; 3]);
    let right = median_colour(region(w.saturating_sub(side), w)).unwrap_or([0; 3]);
    let all = || region(0, side).chain(region(w.saturating_sub(side), w));
    let colour = median_colour(all()).unwrap_or([0; 3]);
    let (mut n, mut out) = (0u32, 0u32);
    for p in all() {
        n += 1;
        if l1(p, colour) > BACKGROUND_OUTLIER_L1 {
            out += 1;
        }
    }
    BackgroundStats { colour, outliers: out as f32 / n.max(1) as f32, unevenness: l1(left, right) }
}

fn background_uniform(bg: &BackgroundStats) -> bool {
    bg.outliers <= MAX_BACKGROUND_OUTLIERS && bg.unevenness <= MAX_BACKGROUND_UNEVENNESS
}

/// Classifies a background colour.
pub fn classify_background(c: [u8; 3]) -> Option<Background> {
    let [r, g, b] = c.map(f32::from);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let sat = if max > 0.0 { (max - min) / max } else { 0.0 };
    if min >= 190.0 && max - min <= 30.0 {
        return Some(Background::White);
    }
    if max < 110.0 || sat < 0.3 {
        return None;
    }
    let hue = if max == r {
        60.0 * ((g - b) / (max - min)).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / (max - min) + 2.0)
    } else {
        60.0 * ((r - g) / (max - min) + 4.0)
    };
    if (185.0..=250.0).contains(&hue) {
        Some(Background::Blue)
    } else if !(15.0..345.0).contains(&hue) {
        Some(Background::Red)
    } else {
        None
    }
}

fn describe_colour(c: [u8; 3]) -> (String, String) {
    if let Some(b) = classify_background(c) {
        let (zh, en) = b.name();
        return (zh.to_owned(), en.to_owned());
    }
    let l = luma(c);
    let (zh, en) = if chroma(c) < 30 {
        if l < 80 { ("深色", "dark") } else { ("灰色", "grey") }
    } else {
        ("其他颜色", "another colour")
    };
    (format!("{zh} RGB({},{},{})", c[0], c[1], c[2]), format!("{en} RGB({},{},{})", c[0], c[1], c[2]))
}

/// Finds the head against a uniform background.
fn find_head(img: &RgbImage, bg: &BackgroundStats) -> Option<Geometry> {
    let (w, h) = img.dimensions();
    if w < 8 || h < 8 {
        return None;
    }
    // Per row: subject span (first and last subject pixel of runs of at least 3).
    let min_count = ((w as f32 * 0.03) as u32).max(3);
    let mut spans: Vec<Option<(u32, u32)>> = Vec::with_capacity(h as usize);
    let mut subject_pixels = 0u64;
    for row in img.as_raw().chunks_exact(w as usize * 3) {
        let (mut first, mut last, mut count, mut run) = (None, 0u32, 0u32, 0u32);
        for (x, p) in (0u32..).zip(row.chunks_exact(3)) {
            if l1([p[0], p[1], p[2]], bg.colour) > SUBJECT_L1 {
                run += 1;
                count += 1;
                if run >= 3 {
                    first.get_or_insert(x + 1 - run);
                    last = x;
                }
            } else {
                run = 0;
            }
        }
        subject_pixels += u64::from(count);
        spans.push(first.filter(|_| count >= min_count).map(|f| (f, last)));
    }
    if (subject_pixels as f32) < 0.05 * (w * h) as f32 {
        return None;
    }
    // Top of the head: the first of 3 consecutive subject rows.
    let top = (0..h.saturating_sub(2)).find(|&y| (y..y + 3).all(|yy| spans[yy as usize].is_some()))?;
    let width_at = |y: u32| spans[y as usize].map_or(0, |(a, b)| b - a + 1);
    // Walk down: the head widens to its widest row, narrows to the neck, and
    // the shoulders then widen beyond the head. The head ends at the neck.
    let (mut max_w, mut in_neck, mut neck, mut neck_w) = (0u32, false, None, u32::MAX);
    for y in top..h {
        let wy = width_at(y);
        if !in_neck {
            max_w = max_w.max(wy);
            if (wy as f32) < 0.75 * max_w as f32 && (y - top) as f32 > 0.3 * max_w as f32 {
                in_neck = true;
            }
        }
        if in_neck {
            if wy < neck_w {
                neck_w = wy;
                neck = Some(y);
            }
            if wy as f32 > 1.1 * max_w as f32 {
                break;
            }
        }
    }
    if max_w == 0 {
        return None;
    }
    // Without a visible neck (a tight crop), the head is the first 1.3 head widths.
    let bottom = neck.unwrap_or_else(|| (top + (1.3 * max_w as f32) as u32).min(h)).max(top + 1);
    let (mut sum, mut n) = (0f32, 0u32);
    for y in top..bottom {
        if let Some((a, b)) = spans[y as usize] {
            sum += (a + b) as f32 / 2.0;
            n += 1;
        }
    }
    Some(Geometry { top, bottom, centre_x: sum / n.max(1) as f32, head_width: max_w, frame: (w, h) })
}

fn geometry_problems(g: Geometry, profile: &PhotoProfile) -> Vec<Problem> {
    let (w, h) = (g.frame.0 as f32, g.frame.1 as f32);
    let spec = &profile.head;
    let mut out = Vec::new();
    let ratio = g.head_width as f32 / w;
    if !(spec.width_min..=spec.width_max).contains(&ratio) {
        out.push(Problem::new(
            FIELD,
            Code::PhotoHeadSize,
            &[("ratio", &pct(ratio)), ("min", &pct(spec.width_min)), ("max", &pct(spec.width_max))],
        ));
    }
    let top = g.top as f32 / h;
    let offset = g.centre_x / w - 0.5;
    let mut zh = Vec::new();
    let mut en = Vec::new();
    if g.top == 0 {
        zh.push("头顶被裁切".to_owned());
        en.push("the top of the head is cut off".to_owned());
    } else if top < spec.top_min {
        zh.push(format!("头顶离上边缘太近（{}，应不少于 {}）", pct(top), pct(spec.top_min)));
        en.push(format!("too little space above the head ({}, at least {})", pct(top), pct(spec.top_min)));
    } else if top > spec.top_max {
        zh.push(format!("头顶离上边缘太远（{}，应不超过 {}）", pct(top), pct(spec.top_max)));
        en.push(format!("too much space above the head ({}, at most {})", pct(top), pct(spec.top_max)));
    }
    if offset.abs() > spec.centre_tolerance {
        let (side_zh, side_en) = if offset < 0.0 { ("偏左", "left") } else { ("偏右", "right") };
        zh.push(format!("头部{side_zh} {}", pct(offset.abs())));
        en.push(format!("the head is {} off-centre to the {side_en}", pct(offset.abs())));
    }
    if !zh.is_empty() {
        out.push(Problem::new(
            FIELD,
            Code::PhotoHeadPosition,
            &[("detail", &zh.join("；")), ("detail_en", &en.join("; "))],
        ));
    }
    out
}

fn pct(v: f32) -> String {
    format!("{:.0}%", v * 100.0)
}

/// The crop the fix uses, in full-resolution upright coordinates: the
/// profile's aspect, the head at the target width ratio and top margin, centred;
/// shifted and shrunk to stay inside the picture; never smaller than the target.
fn crop_rect(geometry: Option<Geometry>, work: (u32, u32), full: (u32, u32), profile: &PhotoProfile) -> Rect {
    let (fw, fh) = (full.0 as f32, full.1 as f32);
    let aspect = profile.target_width as f32 / profile.target_height as f32;
    let (tw, th) = (profile.target_width as f32, profile.target_height as f32);
    let largest = if fw / fh > aspect { (fh * aspect, fh) } else { (fw, fw / aspect) };
    let Some(g) = geometry else {
        // No subject: a centred crop of the largest aspect-correct rectangle.
        return Rect { x: (fw - largest.0) / 2.0, y: (fh - largest.1) / 2.0, w: largest.0, h: largest.1 };
    };
    let (top, _bottom, cx, hw) = g.scaled(fw / work.0 as f32, fh / work.1 as f32);
    let mut cw = hw / profile.head.width_target;
    cw = cw.max(tw).min(largest.0);
    let ch = cw / aspect;
    let ch = ch.max(th);
    let cw = ch * aspect;
    let x = (cx - cw / 2.0).clamp(0.0, (fw - cw).max(0.0));
    let y = (top - profile.head.top_target * ch).clamp(0.0, (fh - ch).max(0.0));
    Rect { x, y, w: cw, h: ch }.clamp_to(full.0, full.1)
}

/// Background colour and uniformity, exposure, clipping, sharpness and colour.
fn content_problems(
    img: &RgbImage,
    bg: &BackgroundStats,
    geometry: Option<Geometry>,
    profile: &PhotoProfile,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if !background_uniform(bg) {
        out.push(Problem::new(FIELD, Code::PhotoBackgroundNotUniform, &[]));
    }
    let class = classify_background(bg.colour);
    if !class.is_some_and(|c| profile.backgrounds.contains(&c)) {
        let (zh, en) = describe_colour(bg.colour);
        let allowed_zh: Vec<&str> = profile.backgrounds.iter().map(|b| b.name().0).collect();
        let allowed_en: Vec<&str> = profile.backgrounds.iter().map(|b| b.name().1).collect();
        let mut p =
            Problem::new(FIELD, Code::PhotoBackgroundColour, &[("detected", &zh), ("allowed", &allowed_zh.join("、"))]);
        let en_p = Problem::new(
            FIELD,
            Code::PhotoBackgroundColour,
            &[("detected", &en), ("allowed", &allowed_en.join(" or "))],
        );
        p.message.en = en_p.message.en;
        p.hint.en = en_p.hint.en;
        out.push(p);
    }
    let Some(g) = geometry else { return out };
    let (w, h) = img.dimensions();
    let lum = luma_plane(img);
    // Sharpness over the head box (hair edges, eyes, mouth).
    let half = g.head_width as f32 / 2.0;
    let x0 = (g.centre_x - half).max(0.0) as u32;
    let x1 = ((g.centre_x + half) as u32).min(w);
    let (y0, y1) = (g.top, g.bottom.min(h));
    // Exposure and colour over the face: an ellipse in the lower part of the head, no background, no hair.
    let head_h = y1.saturating_sub(y0) as f32;
    let (fcx, fcy) = (g.centre_x, y0 as f32 + 0.58 * head_h);
    let (rx, ry) = ((0.3 * g.head_width as f32).max(1.0), (0.3 * head_h).max(1.0));
    let (mut sum, mut n, mut clipped, mut chroma_sum) = (0u64, 0u32, 0u32, 0u64);
    for y in ((fcy - ry).max(0.0) as u32)..((fcy + ry) as u32).min(h) {
        for x in ((fcx - rx).max(0.0) as u32)..((fcx + rx) as u32).min(w) {
            let (dx, dy) = ((x as f32 - fcx) / rx, (y as f32 - fcy) / ry);
            if dx * dx + dy * dy > 1.0 {
                continue;
            }
            let p = img.get_pixel(x, y).0;
            sum += u64::from(lum[(y * w + x) as usize]);
            n += 1;
            if p.iter().all(|c| *c >= 250) || p.iter().all(|c| *c <= 5) {
                clipped += 1;
            }
            chroma_sum += u64::from(chroma(p));
        }
    }
    if n > 0 {
        let mean = (sum / u64::from(n)) as u8;
        if mean < MIN_FACE_LUMA {
            out.push(Problem::new(FIELD, Code::PhotoTooDark, &[("value", &mean), ("min", &MIN_FACE_LUMA)]));
        } else if mean > MAX_FACE_LUMA {
            out.push(Problem::new(FIELD, Code::PhotoTooBright, &[("value", &mean), ("max", &MAX_FACE_LUMA)]));
        }
        let share = clipped as f32 / n as f32;
        if share > MAX_CLIPPED {
            out.push(Problem::new(FIELD, Code::PhotoClipped, &[("percent", &pct(share))]));
        }
        if (chroma_sum as f32 / n as f32) < MIN_CHROMA && chroma(bg.colour) < 30 {
            out.push(Problem::new(FIELD, Code::PhotoNotColour, &[]));
        }
    }
    // Edge contrast scales with exposure: an under- or over-exposed picture
    // would read as blurred, so sharpness is judged only when exposure is fine.
    let exposure_ok =
        !out.iter().any(|p| matches!(p.code, Code::PhotoTooDark | Code::PhotoTooBright | Code::PhotoClipped));
    let sharpness = edge_sharpness(&lum, w, (x0, y0, x1, y1));
    if exposure_ok && sharpness < MIN_SHARPNESS {
        out.push(Problem::new(
            FIELD,
            Code::PhotoBlurry,
            &[("value", &format!("{sharpness:.0}")), ("min", &format!("{MIN_SHARPNESS:.0}"))],
        ));
    }
    out
}

impl Report {
    /// Mutable access to the problems with a code (for the fix to update fixability).
    fn problems_mut_by(&mut self, code: Code) -> impl Iterator<Item = &mut Problem> {
        self.problems_mut().iter_mut().filter(move |p| p.code == code)
    }
}
