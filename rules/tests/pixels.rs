//! The pixel entry points (`Decoded::from_pixels` + `photo::fix_decoded`,
//! `document::check_decoded`, `attachment::check_decoded`), which the widget's
//! worker feeds with the browser's decode, against the bytes path on the
//! fixture corpus (`tests/fixtures/expected.json`).
//!
//! The browser hands the worker upright pixels (`imageOrientation:
//! "from-image"`), downscaled to the part's working size. Here the same is
//! simulated with the rules' own decode: (1) the stored pixels, (2) the same
//! pixels made upright, (3) an upright copy at half size. All three must give
//! exactly the codes of the bytes path, and the same fix outcome.
//!
//! Why (3) agrees everywhere on this corpus, size and sharpness included:
//! sizes (`photo.too_small`, `photo.pixels_over_maximum`, aspect,
//! `document.too_small`) are judged on the file's header, not on the pixels;
//! sharpness, exposure, glare and colour are judged on a render at the
//! profile's pixels (photo) or at most 1024 px (documents), which a 2× smaller
//! source still covers. What *can* differ: a source downscaled below those
//! render sizes (the worker never does that: it decodes to at least 2000 px, or
//! the file's own size), and thresholds hit within rounding (area average vs
//! the browser's resampler).

mod common;

use std::collections::BTreeSet;

use common::corpus::{doc_kind, expected, read};
use image::RgbImage;
use intake_rules::decode::{self, DecodeLimits, Decoded};
use intake_rules::document::{self, DocumentKind};
use intake_rules::profile::ProfileSet;
use intake_rules::resample::{Rect, area_resize, render};
use intake_rules::{attachment, jpeg, photo};

fn set(codes: Vec<intake_rules::Code>) -> BTreeSet<&'static str> {
    codes.into_iter().map(|c| c.as_str()).collect()
}

/// The upright pixels of a decode, at `scale` of its size (1 = same size), as a browser decode gives them.
fn upright(d: &Decoded, scale: u32) -> RgbImage {
    let (w, h) = d.upright_dimensions();
    let full = render(&d.raw, d.orientation, Rect::full(w, h), w, h);
    if scale == 1 { full } else { area_resize(&full, Rect::full(w, h), w / scale, h / scale) }
}

#[test]
fn the_pixel_path_gives_the_bytes_path_codes() {
    let profiles = ProfileSet::embedded();
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in expected()["files"].as_array().expect("files") {
        let rel = case["file"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        let bytes = read(rel);
        let Ok(d) = decode::decode(&bytes, &DecodeLimits::DEFAULT) else { continue };
        let header = decode::inspect(&bytes, &DecodeLimits::DEFAULT).expect("inspect agrees with decode");
        assert_eq!(header, d.header, "{rel}");
        let variants = [
            ("stored", Decoded::from_pixels(header, d.raw.clone(), false)),
            ("upright", Decoded::from_pixels(header, upright(&d, 1), true)),
            ("half", Decoded::from_pixels(header, upright(&d, 2), true)),
        ];
        for (name, pixels) in variants {
            let (want, got) = match kind {
                "photo" => {
                    let profile =
                        case["profile"].as_str().map_or(profiles.default_profile(), |p| profiles.get(p).unwrap());
                    let by_bytes = photo::fix(&bytes, profile);
                    let by_pixels = photo::fix_decoded(&bytes, &pixels, profile);
                    if let Some(f) = &by_pixels.output {
                        // The verdict is the rules' check of the output bytes, and it passes.
                        assert_eq!(f.after, photo::check(&f.jpeg, profile), "{rel} {name}");
                        assert!(f.after.passes(), "{rel} {name}: {:?}", f.after);
                        assert!(!jpeg::has_metadata_segments(&f.jpeg), "{rel} {name}");
                        assert_eq!((f.width, f.height), (profile.target_width, profile.target_height));
                    }
                    if by_bytes.output.is_some() != by_pixels.output.is_some() {
                        failures.push(format!("{rel} ({name}): fix outcome differs"));
                    }
                    (set(by_bytes.before.codes()), set(by_pixels.before.codes()))
                }
                "work-certificate" => {
                    let a = attachment::check("work_certificate", &bytes);
                    let b = attachment::check_decoded("work_certificate", &bytes, &pixels);
                    let out = b.output.expect("a decoded picture is stored");
                    assert!(attachment::check("work_certificate", &out.bytes).report.passes(), "{rel} {name}");
                    assert!(!jpeg::has_metadata_segments(&out.bytes), "{rel} {name}");
                    (set(a.report.codes()), set(b.report.codes()))
                }
                other => {
                    let k = doc_kind(other).expect("document kind");
                    let a = document::check(k, &bytes);
                    let b = document::check_decoded(k, &bytes, &pixels);
                    let out = b.output.as_ref().expect("a decoded document is re-encoded");
                    let (ow, oh) = (out.width, out.height);
                    let verdict = document::check(k, &out.jpeg);
                    let od = decode::decode(&out.jpeg, &DecodeLimits::DEFAULT).expect("output decodes");
                    assert_eq!(od.upright_dimensions(), (ow, oh), "{rel} {name}");
                    assert!(!od.metadata.any(), "{rel} {name}");
                    if b.report.passes() {
                        assert!(verdict.report.passes(), "{rel} {name}: {:?}", verdict.report);
                    }
                    (set(a.report.codes()), set(b.report.codes()))
                }
            };
            compared += 1;
            if want != got {
                failures.push(format!("{rel} as {kind} ({name}): bytes path {want:?}, pixel path {got:?}"));
            }
        }
    }
    assert!(compared >= 85, "compared {compared}");
    assert!(failures.is_empty(), "{} disagreement(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn an_upright_decode_of_a_rotated_file_still_reports_the_rotation_and_the_metadata() {
    let bytes = read("photo/camera_exif6_gps.jpg");
    let d = decode::decode(&bytes, &DecodeLimits::DEFAULT).unwrap();
    let pixels = Decoded::from_pixels(d.header, upright(&d, 2), true);
    assert_eq!(pixels.source_dimensions(), d.upright_dimensions(), "sizes are the file's");
    assert_ne!(pixels.upright_dimensions(), pixels.source_dimensions());
    let out = photo::fix_decoded(&bytes, &pixels, ProfileSet::embedded().default_profile());
    let codes = set(out.before.codes());
    assert!(codes.contains("photo.exif_rotated") && codes.contains("photo.metadata_present"), "{codes:?}");
    assert!(out.output.is_some_and(|f| f.after.passes()));
    assert!(!pixels.is_file_pixels() && d.is_file_pixels());
}

#[test]
fn inspect_refuses_what_decode_refuses_without_decoding() {
    for rel in ["file/png_bomb.png", "file/jpeg_bomb.jpg", "file/truncated.jpg", "file/gif_named.jpg", "file/empty.jpg"]
    {
        let bytes = read(rel);
        let by_decode = decode::decode(&bytes, &DecodeLimits::DEFAULT).unwrap_err();
        assert_eq!(decode::inspect(&bytes, &DecodeLimits::DEFAULT).unwrap_err(), by_decode, "{rel}");
    }
}

#[test]
fn a_downscaled_document_keeps_the_files_size_for_the_size_rule() {
    // A 640×480 card picture is too small; a browser decode of a large one downscaled to 640×480 is not.
    let small = read("document/id_front_small_640x480.jpg");
    let d = decode::decode(&small, &DecodeLimits::DEFAULT).unwrap();
    assert!(
        document::check_decoded(DocumentKind::IdFront, &small, &d).report.has(intake_rules::Code::DocumentTooSmall)
    );
    let big = read("document/id_front.jpg");
    let bd = decode::decode(&big, &DecodeLimits::DEFAULT).unwrap();
    let (w, h) = bd.upright_dimensions();
    let shrunk = area_resize(&upright(&bd, 1), Rect::full(w, h), 640, 640 * h / w);
    let pixels = Decoded::from_pixels(bd.header, shrunk, true);
    let out = document::check_decoded(DocumentKind::IdFront, &big, &pixels);
    assert!(!out.report.has(intake_rules::Code::DocumentTooSmall), "{:?}", out.report);
}

#[test]
fn the_prefix_check_refuses_bombs_from_the_first_bytes_and_agrees_with_inspect() {
    let limits = DecodeLimits::DEFAULT;
    for rel in ["file/png_bomb.png", "file/jpeg_bomb.jpg", "file/gif_named.jpg", "file/empty.jpg", "file/random.jpg"] {
        let bytes = read(rel);
        let prefix = &bytes[..bytes.len().min(decode::PREFIX_BYTES)];
        let by_prefix = decode::inspect_prefix(prefix, bytes.len(), &limits).unwrap_err();
        assert_eq!(by_prefix, decode::inspect(&bytes, &limits).unwrap_err(), "{rel}");
    }
    for rel in ["photo/camera_exif6_gps.jpg", "photo/portrait.png", "document/id_front.jpg"] {
        let bytes = read(rel);
        let h = decode::inspect(&bytes, &limits).unwrap();
        let prefix = &bytes[..bytes.len().min(decode::PREFIX_BYTES)];
        assert_eq!(decode::inspect_prefix(prefix, bytes.len(), &limits), Ok((h.format, h.width, h.height)), "{rel}");
    }
    // Truncation is not visible in the first bytes: the whole-file inspect catches it.
    let truncated = read("file/truncated.jpg");
    assert!(decode::inspect_prefix(&truncated[..4096], truncated.len(), &limits).is_ok());
    assert_eq!(decode::inspect(&truncated, &limits).unwrap_err(), decode::DecodeError::Corrupt);
    // A claimed size far beyond the prefix is judged on the file's length.
    let camera = read("photo/camera_exif6_gps.jpg");
    assert_eq!(decode::inspect_prefix(&camera[..4096], 600, &limits), Err(decode::DecodeError::Corrupt));
}
