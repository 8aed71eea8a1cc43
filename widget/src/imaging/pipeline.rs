//! The worker's work, without any browser API: given the file's bytes and
//! (optionally) pixels the browser decoded, run `intake_rules`' analysis and
//! fix, then `intake_rules`' check of the produced bytes with the server's own
//! decoder. Pure Rust, so it is tested natively as well as in the browser.

use intake_rules::attachment;
use intake_rules::decode::Decoded;
use intake_rules::document;
use intake_rules::photo;
use intake_rules::profile::{PhotoProfile, ProfileSet};
use intake_rules::report::{Problem, Report};
use intake_rules::resample::Rect;
use intake_rules::submission::Part;
use intake_rules::{Code, decode};

/// Long side of the working copy the browser's decode is scaled to, per part: what
/// the rules render from (photo: the mid copy the crop is rendered from;
/// documents and attachments: their output caps, so the output is never
/// enlarged), and no more.
pub fn working_long_side(part: Part) -> u32 {
    match part {
        Part::Photo => photo::MID_LONG_SIDE,
        Part::IdFront | Part::IdBack | Part::PassportInfo | Part::PassportValidity => document::OUTPUT_LONG_SIDE,
        Part::WorkCertificate | Part::Supporting => attachment::OUTPUT_LONG_SIDE,
    }
}

/// Long side a photo's scaled browser decode is first asked for (the `ImageDecoder` route): enough
/// for the analysis ([`photo::WORK_LONG_SIDE`]) and for a crop as tall as the picture to have
/// [`photo::MIN_RENDER_SOURCE`] source pixels per output pixel. Smaller than
/// [`working_long_side`] (a 1.4 MP photo decodes at 1/2 instead of 3/4 of its size); when the crop
/// the fix chose turns out to need more ([`crop_short_of_pixels`]), the worker decodes again at the
/// working size. Other parts: their working size.
pub fn first_long_side(part: Part, profile: &PhotoProfile) -> u32 {
    match part {
        Part::Photo => {
            let target = profile.target_width.max(profile.target_height) as f32;
            ((photo::MIN_RENDER_SOURCE * target).ceil() as u32).clamp(photo::WORK_LONG_SIDE, photo::MID_LONG_SIDE)
        }
        _ => working_long_side(part),
    }
}

/// True when `processed` is a photo fixed from a decode `frame_width` upright pixels wide (the file:
/// `file_width`) whose crop had fewer than [`photo::MIN_RENDER_SOURCE`] of those pixels per output
/// pixel: a larger decode would give a sharper render (the rules' own bar for rendering from a
/// reduced copy).
pub fn crop_short_of_pixels(processed: &Processed, frame_width: u32, file_width: u32, profile: &PhotoProfile) -> bool {
    processed.crop.is_some_and(|c| {
        let in_frame = c.w * frame_width as f32 / file_width.max(1) as f32;
        in_frame < photo::MIN_RENDER_SOURCE * profile.target_width as f32
    })
}

/// The photo profile by id; the default profile for an unknown id.
pub fn profile(id: &str) -> &'static PhotoProfile {
    let set = ProfileSet::embedded();
    set.get(id).unwrap_or_else(|| set.default_profile())
}

/// What the worker hands back.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// Problems of the file as chosen.
    pub before: Report,
    /// The rules' check of `output` (or of the file as chosen when there is no output).
    pub verdict: Report,
    /// Upload-ready bytes.
    pub output: Option<Output>,
    /// Documents: perceptual hash and emblem score of the output, as the server computes them.
    pub fingerprint: Option<(u64, f32)>,
    /// Photos: the crop the fix rendered, in the file's upright pixels.
    pub crop: Option<Rect>,
}

/// Upload-ready bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `application/pdf`.
    pub media_type: &'static str,
    /// Width (0 for PDF).
    pub width: u32,
    /// Height (0 for PDF).
    pub height: u32,
}

/// Runs the rules on one file. `pixels` is the browser's decode of `bytes`
/// (possibly downscaled and already upright, see `Decoded::from_pixels`); None
/// means the rules decode the bytes themselves.
pub fn process(part: Part, bytes: &[u8], pixels: Option<&Decoded>, profile: &PhotoProfile) -> Processed {
    let mut out = match part {
        Part::Photo => {
            let fixed = match pixels {
                Some(d) => photo::fix_decoded(bytes, d, profile),
                None => photo::fix(bytes, profile),
            };
            match fixed.output {
                Some(f) => Processed {
                    before: fixed.before,
                    verdict: f.after,
                    output: Some(Output { bytes: f.jpeg, media_type: "image/jpeg", width: f.width, height: f.height }),
                    fingerprint: None,
                    crop: fixed.crop,
                },
                None => Processed {
                    verdict: fixed.before.clone(),
                    before: fixed.before,
                    output: None,
                    fingerprint: None,
                    crop: fixed.crop,
                },
            }
        }
        Part::IdFront | Part::IdBack | Part::PassportInfo | Part::PassportValidity => {
            let kind = part.document_kind().unwrap_or(document::DocumentKind::IdFront);
            let outcome = match pixels {
                Some(d) => document::check_decoded(kind, bytes, d),
                None => document::check(kind, bytes),
            };
            match outcome.output {
                Some(doc) if outcome.report.passes() => {
                    // The server's check of the very bytes that will be uploaded.
                    let server = document::check(kind, &doc.jpeg);
                    let fingerprint = server.output.as_ref().map(|d| (d.phash, d.emblem_score));
                    Processed {
                        before: outcome.report,
                        verdict: server.report,
                        output: Some(Output {
                            bytes: doc.jpeg,
                            media_type: "image/jpeg",
                            width: doc.width,
                            height: doc.height,
                        }),
                        fingerprint,
                        crop: None,
                    }
                }
                _ => Processed {
                    verdict: outcome.report.clone(),
                    before: outcome.report,
                    output: None,
                    fingerprint: None,
                    crop: None,
                },
            }
        }
        Part::WorkCertificate | Part::Supporting => {
            let outcome = match pixels {
                Some(d) => attachment::check_decoded(part.name(), bytes, d),
                None => attachment::check(part.name(), bytes),
            };
            match outcome.output {
                Some(a) => {
                    let server = attachment::check(part.name(), &a.bytes);
                    let (width, height) = match decode::probe(&a.bytes) {
                        Ok((_, w, h)) => (w, h),
                        Err(_) => (0, 0),
                    };
                    Processed {
                        before: outcome.report,
                        verdict: server.report,
                        output: Some(Output { bytes: a.bytes, media_type: a.media_type, width, height }),
                        fingerprint: None,
                        crop: None,
                    }
                }
                None => Processed {
                    verdict: outcome.report.clone(),
                    before: outcome.report,
                    output: None,
                    fingerprint: None,
                    crop: None,
                },
            }
        }
    };
    // Never let a passing verdict stand without bytes to upload.
    if out.output.is_none() && out.verdict.passes() {
        out.verdict.push(Problem::new(part.name(), Code::FileProcessingFailed, &[]));
    }
    out
}

/// A synthetic upright photo (white background, a textured head and shoulders) that the photo
/// fix accepts, run when a worker starts (as JPEG bytes through the worker's whole path, see
/// `worker::imaging_warm_up`; as a camera's frame through [`process`] by [`warm_up`]), so the
/// WebAssembly engine has compiled the hot loops (resampling, analysis, JPEG encode and decode)
/// with its optimising tier before the first real picture (V8 runs a function's first calls in its
/// baseline tier, and a long loop never switches mid-call: the first 12 MP photo of a fresh worker
/// took twice as long).
fn warm_up_image() -> image::RgbImage {
    let mut seed = 0x9E37_79B9u32;
    image::RgbImage::from_fn(600, 800, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 41) as i32 - 20;
        let (fx, fy) = (x as f32 - 300.0, y as f32 - 330.0);
        let head = (fx / 120.0).powi(2) + (fy / 160.0).powi(2) <= 1.0;
        let shoulders = y >= 560 && (x as f32 - 300.0).abs() <= 120.0 + (y as f32 - 560.0) * 0.9;
        let base: [i32; 3] = if head {
            // Hair above the eyes' line, skin below, dark eyes and mouth for edges.
            if fy < -70.0 {
                [40, 30, 25]
            } else if (fy + 10.0).abs() < 8.0 && (fx.abs() - 45.0).abs() < 18.0
                || (fy - 80.0).abs() < 5.0 && fx.abs() < 40.0
            {
                [60, 40, 40]
            } else {
                [200, 160, 135]
            }
        } else if shoulders {
            [30, 40, 80]
        } else {
            return image::Rgb([255, 255, 255]);
        };
        image::Rgb(base.map(|c| (c + noise).clamp(0, 255) as u8))
    })
}

/// The warm-up picture as a JPEG file (what `worker::imaging_warm_up` hands the worker's path).
pub fn warm_up_jpeg() -> Vec<u8> {
    intake_rules::jpeg::encode(&warm_up_image(), 92)
}

/// The warm-up picture as JPEG bytes and as a camera photo's frame of them: stored rotated (EXIF
/// orientation 6), so the rules orient it as they do a real one.
pub fn warm_up_picture() -> (Vec<u8>, Decoded) {
    let img = warm_up_image();
    let bytes = intake_rules::jpeg::encode(&img, 92);
    let stored = image::imageops::rotate270(&img);
    let header = decode::Header {
        format: decode::Sniffed::Jpeg,
        width: stored.width(),
        height: stored.height(),
        orientation: decode::Orientation::Rotate90,
        metadata: decode::Metadata::default(),
    };
    (bytes, Decoded::from_pixels(header, stored, false))
}

/// Runs the warm-up picture's frame through the photo fix and check (the worker's warm-up where it
/// cannot make a `Blob`); true when it produced a passing upload (so every stage ran).
pub fn warm_up() -> bool {
    let (bytes, decoded) = warm_up_picture();
    let p = process(Part::Photo, &bytes, Some(&decoded), profile(""));
    p.output.is_some() && p.verdict.passes()
}

/// What the PDF module (`intake-pdf`: these rules with their PDF parser, loaded by the worker when a
/// PDF is chosen, see `worker`) answered for an attachment: its check of the file as chosen
/// (`before`), its check of the rewrite (`verdict`) and the rewrite to upload.
pub fn from_pdf_module(part: Part, before: Report, verdict: Report, rewrite: Option<Vec<u8>>) -> Processed {
    let mut out = Processed {
        before,
        verdict,
        output: rewrite.map(|bytes| Output { bytes, media_type: "application/pdf", width: 0, height: 0 }),
        fingerprint: None,
        crop: None,
    };
    if out.output.is_none() && out.verdict.passes() {
        out.verdict.push(Problem::new(part.name(), Code::FileProcessingFailed, &[]));
    }
    out
}

/// The answer for a file the browser could not decode and the rules do not read (HEIC/HEIF).
pub fn heic_unsupported(part: Part) -> Processed {
    let report: Report = std::iter::once(Problem::new(part.name(), Code::FileHeicUnsupported, &[])).collect();
    Processed { before: report.clone(), verdict: report, output: None, fingerprint: None, crop: None }
}

/// Upload file name: the chosen name with the output's extension.
pub fn output_file_name(part: Part, chosen: &str, media_type: &str) -> String {
    if media_type == "application/pdf" {
        return if chosen.is_empty() { format!("{}.pdf", part.name()) } else { chosen.to_owned() };
    }
    let stem = chosen.rsplit_once('.').map_or(chosen, |(s, _)| s);
    let stem = if stem.trim().is_empty() { part.name() } else { stem };
    format!("{stem}.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA: &[u8] = include_bytes!("../../../tests/fixtures/photo/camera_exif6_gps.jpg");
    const OFF_CENTRE: &[u8] = include_bytes!("../../../tests/fixtures/photo/off_centre_camera.jpg");
    const BLURRED: &[u8] = include_bytes!("../../../tests/fixtures/photo/blurred.jpg");
    const PDF: &[u8] = include_bytes!("../../../tests/fixtures/file/work_certificate.pdf");
    const ID_FRONT: &[u8] = include_bytes!("../../../tests/fixtures/document/id_front.jpg");
    const ID_DARK: &[u8] = include_bytes!("../../../tests/fixtures/document/id_front_dark.jpg");

    #[test]
    fn the_warm_up_picture_runs_every_stage() {
        let (_, decoded) = warm_up_picture();
        // A camera frame: stored rotated, oriented by the rules.
        assert_eq!((decoded.raw.dimensions(), decoded.upright_dimensions()), ((800, 600), (600, 800)));
        assert_eq!(decoded.orientation, decode::Orientation::Rotate90);
        let p = process(Part::Photo, &[0; 16], Some(&decoded), profile(""));
        assert!(p.output.is_some() && p.verdict.passes(), "before {:?}, verdict {:?}", p.before, p.verdict);
        assert!(warm_up());
    }

    #[test]
    fn a_fixable_photo_gets_bytes_whose_check_is_the_verdict() {
        let p = process(Part::Photo, CAMERA, None, profile(""));
        assert!(p.before.has(Code::PhotoExifRotated) && !p.before.passes());
        let out = p.output.expect("fixed");
        assert_eq!(p.verdict, photo::check(&out.bytes, profile("")));
        assert!(p.verdict.passes());
        assert_eq!((out.media_type, out.width, out.height), ("image/jpeg", 295, 413));
    }

    #[test]
    fn what_cannot_be_fixed_has_no_bytes_and_a_failing_verdict() {
        let p = process(Part::Photo, BLURRED, None, profile(""));
        assert!(p.output.is_none() && p.verdict.has(Code::PhotoBlurry) && !p.verdict.passes());
        let dark = process(Part::IdFront, ID_DARK, None, profile(""));
        assert!(dark.output.is_none() && dark.fingerprint.is_none() && dark.verdict.has(Code::DocumentTooDark));
    }

    #[test]
    fn documents_carry_the_servers_fingerprint_and_pdfs_are_uploaded_as_the_rules_rewrite() {
        let p = process(Part::IdFront, ID_FRONT, None, profile(""));
        let out = p.output.expect("document");
        let server = document::check(document::DocumentKind::IdFront, &out.bytes);
        let d = server.output.expect("decodes");
        assert_eq!(p.fingerprint, Some((d.phash, d.emblem_score)));
        let pdf = process(Part::WorkCertificate, PDF, None, profile(""));
        let stub = process(Part::WorkCertificate, b"%PDF-1.7 %%EOF\n", None, profile(""));
        if attachment::READS_PDF {
            // Rules with the parser (a workspace build unifies the feature): the upload is the
            // server's own rewrite, whose check is the verdict.
            let rewrite = attachment::check("work_certificate", PDF).output.expect("valid").bytes;
            assert_ne!(rewrite, PDF);
            assert!(pdf.verdict.passes());
            assert_eq!(pdf.output.map(|o| (o.media_type, o.bytes)), Some(("application/pdf", rewrite)));
            // A PDF the server refuses is refused here with the same code, and nothing is uploaded.
            assert!(stub.output.is_none() && stub.verdict.codes() == vec![Code::FilePdfInvalid]);
        } else {
            // The widget's own build (no parser): a PDF is never accepted here; the worker hands it
            // to the PDF module (`from_pdf_module`).
            for p in [pdf, stub] {
                assert!(p.output.is_none() && p.verdict.codes() == vec![Code::FilePdfCheckerUnavailable]);
            }
        }
        // What the PDF module answers is taken as it is, and a passing verdict never stands without bytes.
        let ok: Report = Report::new();
        let taken = from_pdf_module(Part::WorkCertificate, ok.clone(), ok.clone(), Some(b"%PDF-rewrite".to_vec()));
        assert_eq!(taken.output.map(|o| (o.media_type, o.bytes)), Some(("application/pdf", b"%PDF-rewrite".to_vec())));
        let empty = from_pdf_module(Part::WorkCertificate, ok.clone(), ok, None);
        assert!(empty.output.is_none() && empty.verdict.codes() == vec![Code::FileProcessingFailed]);
    }

    /// `bytes` decoded as `ImageDecoder` gives it when asked for `long`: the stored pixels at the
    /// scaled request's size (an area average standing in for libjpeg's scaled IDCT).
    fn frame(bytes: &[u8], long: u32) -> Decoded {
        let full = decode::decode(bytes, &decode::DecodeLimits::DEFAULT).expect("decodes");
        let stored = full.raw.dimensions();
        let (w, h) = crate::imaging::worker::scaled_request(stored, long).unwrap_or(stored);
        let raw = intake_rules::resample::area_resize(&full.raw, Rect::full(stored.0, stored.1), w, h);
        Decoded::from_pixels(full.header, raw, false)
    }

    #[test]
    fn a_photo_is_decoded_small_first_and_again_only_when_its_crop_is_short_of_pixels() {
        let p = profile("");
        let first = first_long_side(Part::Photo, p);
        assert!((photo::WORK_LONG_SIDE..working_long_side(Part::Photo)).contains(&first), "{first}");
        assert_eq!(first_long_side(Part::IdFront, p), working_long_side(Part::IdFront));
        // Both upright 1500×2000: the first decode is 3/8 (563×750 upright).
        for (file, short_at_first) in [(CAMERA, false), (OFF_CENTRE, true)] {
            let small = frame(file, first);
            assert_eq!(small.raw.width().max(small.raw.height()), 750);
            let processed = process(Part::Photo, file, Some(&small), p);
            let width = small.upright_dimensions().0;
            assert_eq!(crop_short_of_pixels(&processed, width, 1500, p), short_at_first);
            // At the working size (1/2) neither crop is short, and both are fixed.
            let large = frame(file, working_long_side(Part::Photo));
            let processed = process(Part::Photo, file, Some(&large), p);
            assert!(!crop_short_of_pixels(&processed, large.upright_dimensions().0, 1500, p));
            assert!(processed.verdict.passes() && processed.output.is_some(), "{:?}", processed.verdict);
        }
        // Not a photo: no crop, never short.
        assert!(!crop_short_of_pixels(&process(Part::IdFront, ID_FRONT, None, p), 10, 1000, p));
    }

    #[test]
    fn every_uploaded_picture_is_the_sanitizers_or_the_encoders_output() {
        // Hostile files through the worker's pipeline (the rules decoding them, as when the
        // browser cannot): whatever would be uploaded is one clean image by the full parse.
        for (part, bytes) in [
            (Part::IdFront, &include_bytes!("../../../tests/fixtures/hostile/images/gps_between_scans.jpg")[..]),
            (Part::IdFront, &include_bytes!("../../../tests/fixtures/hostile/images/cmyk.jpg")[..]),
            (Part::IdFront, &include_bytes!("../../../tests/fixtures/hostile/images/second_jpeg_with_gps.jpg")[..]),
            (Part::Photo, &include_bytes!("../../../tests/fixtures/hostile/images/gps_between_scans_photo.jpg")[..]),
            (Part::WorkCertificate, &include_bytes!("../../../tests/fixtures/hostile/images/html_after_eoi.jpg")[..]),
        ] {
            let p = process(part, bytes, None, profile(""));
            let out = p.output.expect("uploadable");
            let audit = intake_rules::sanitize::audit(&out.bytes);
            assert!(audit.is_clean() && !audit.has_exif && audit.icc_bytes == 0, "{part:?}: {audit:?}");
            assert!(p.verdict.passes(), "{part:?}: {:?}", p.verdict);
        }
    }

    #[test]
    fn output_names_follow_the_output_format() {
        assert_eq!(output_file_name(Part::Photo, "IMG_0001.HEIC", "image/jpeg"), "IMG_0001.jpg");
        assert_eq!(output_file_name(Part::IdFront, "", "image/jpeg"), "id_front.jpg");
        assert_eq!(output_file_name(Part::Supporting, "证明.pdf", "application/pdf"), "证明.pdf");
        assert_eq!(heic_unsupported(Part::Photo).verdict.codes(), vec![Code::FileHeicUnsupported]);
    }
}
