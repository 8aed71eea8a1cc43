//! Self-tests of the synthetic image generator in `common/synth.rs`: the fixtures must really
//! have the properties the rules' tests rely on.
#![allow(
    clippy::disallowed_methods,
    reason = "the fixtures are judged by the `image` crate's own decoder, independently of the rules"
)]

mod common;

use std::io::Cursor;

use common::synth::{
    Background, CAMERA_1_4MP_UPRIGHT, CAMERA_12MP_UPRIGHT, DocKind, DocSpec, ExifSpec, PortraitSpec, XIAMEN,
    camera_photo_1_4mp, camera_photo_12mp, crc32, document, document_card_rect, exif, gif_bytes, gray_png, jpeg,
    jpeg_bomb, pdf_encrypted, pdf_minimal, png, png_bomb, portrait, random_bytes, to_camera_orientation,
    truncated_jpeg,
};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

fn reader(bytes: &[u8]) -> ImageReader<Cursor<&[u8]>> {
    ImageReader::new(Cursor::new(bytes)).with_guessed_format().expect("in-memory reader")
}

fn luma(p: &image::Rgb<u8>) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// Mean and variance of the 4-neighbour Laplacian of luma over a rectangle.
fn laplacian_var(img: &RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> f64 {
    let l = |x: u32, y: u32| luma(img.get_pixel(x, y));
    let mut vals = Vec::new();
    for y in y0.max(1)..(y0 + h).min(img.height() - 1) {
        for x in x0.max(1)..(x0 + w).min(img.width() - 1) {
            vals.push(l(x - 1, y) + l(x + 1, y) + l(x, y - 1) + l(x, y + 1) - 4.0 * l(x, y));
        }
    }
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
}

fn mean_luma(img: &RgbImage) -> f64 {
    img.pixels().map(luma).sum::<f64>() / f64::from(img.width() * img.height())
}

/// Sampling factors of the components of the first SOF0 segment, in order.
fn sof0_sampling(bytes: &[u8]) -> Vec<u8> {
    let pos = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline SOF0 present");
    let n = usize::from(bytes[pos + 9]);
    (0..n).map(|i| bytes[pos + 11 + 3 * i]).collect()
}

/// Minimal little-endian TIFF IFD reader: `(tag, type, count, value-or-offset)`.
fn ifd_entries(tiff: &[u8], offset: usize) -> Vec<(u16, u16, u32, u32)> {
    let u16_at = |o: usize| u16::from_le_bytes([tiff[o], tiff[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([tiff[o], tiff[o + 1], tiff[o + 2], tiff[o + 3]]);
    let n = usize::from(u16_at(offset));
    (0..n)
        .map(|i| {
            let e = offset + 2 + 12 * i;
            (u16_at(e), u16_at(e + 2), u32_at(e + 4), u32_at(e + 8))
        })
        .collect()
}

fn rational_dms_to_deg(tiff: &[u8], offset: usize) -> f64 {
    let u32_at = |o: usize| f64::from(u32::from_le_bytes([tiff[o], tiff[o + 1], tiff[o + 2], tiff[o + 3]]));
    let part = |i: usize| u32_at(offset + 8 * i) / u32_at(offset + 8 * i + 4);
    part(0) + part(1) / 60.0 + part(2) / 3600.0
}

#[test]
fn camera_jpeg_decodes_with_stored_dimensions_orientation_and_gps() {
    let bytes = camera_photo_1_4mp(3);
    let r = reader(&bytes);
    assert_eq!(r.format(), Some(ImageFormat::Jpeg));
    let mut decoder = r.into_decoder().expect("JPEG decoder");
    assert_eq!(decoder.dimensions(), (1440, 1080));
    assert_eq!(decoder.orientation().expect("orientation"), Orientation::Rotate90);

    let tiff = decoder.exif_metadata().expect("exif").expect("has exif");
    assert_eq!(&tiff[..4], b"II*\0");
    assert_eq!(Orientation::from_exif_chunk(&tiff), Some(Orientation::Rotate90));
    let ifd0 = ifd_entries(&tiff, 8);
    let tags: Vec<u16> = ifd0.iter().map(|e| e.0).collect();
    assert_eq!(tags, [0x010F, 0x0110, 0x0112, 0x8825], "sorted IFD0 tags");
    let make = ifd0[0];
    assert_eq!((make.1, make.2), (2, 7), "ASCII \"Xiaomi\\0\"");
    assert_eq!(&tiff[make.3 as usize..make.3 as usize + 7], b"Xiaomi\0");
    let gps_ptr = ifd0[3];
    assert_eq!((gps_ptr.1, gps_ptr.2), (4, 1), "GPS pointer is one LONG");
    let gps = ifd_entries(&tiff, gps_ptr.3 as usize);
    let gps_tags: Vec<u16> = gps.iter().map(|e| e.0).collect();
    assert_eq!(gps_tags, [0, 1, 2, 3, 4]);
    assert_eq!(gps[1].3.to_le_bytes()[0], b'N');
    assert_eq!(gps[3].3.to_le_bytes()[0], b'E');
    assert_eq!((gps[2].1, gps[2].2), (5, 3), "latitude is 3 RATIONALs");
    let lat = rational_dms_to_deg(&tiff, gps[2].3 as usize);
    let lon = rational_dms_to_deg(&tiff, gps[4].3 as usize);
    assert!((lat - XIAMEN.0).abs() < 1e-5, "{lat}");
    assert!((lon - XIAMEN.1).abs() < 1e-5, "{lon}");

    let orientation = decoder.orientation().expect("orientation");
    let mut img = DynamicImage::from_decoder(decoder).expect("decode");
    img.apply_orientation(orientation);
    assert_eq!((img.width(), img.height()), CAMERA_1_4MP_UPRIGHT);
    // Upright: hair at the top centre is dark, the wall at the top corners is light.
    let rgb = img.to_rgb8();
    let (w, h) = (rgb.width(), rgb.height());
    assert!(luma(rgb.get_pixel(w / 2, h * 15 / 100)) < 90.0);
    assert!(luma(rgb.get_pixel(8, 8)) > 220.0);
    assert!(luma(rgb.get_pixel(w - 8, 8)) > 220.0);
}

#[test]
fn camera_12mp_is_a_4000x3000_orientation_6_jpeg() {
    let bytes = camera_photo_12mp(1);
    let mut decoder = reader(&bytes).into_decoder().expect("JPEG decoder");
    assert_eq!(decoder.dimensions(), (4000, 3000));
    let orientation = decoder.orientation().expect("orientation");
    assert_eq!(orientation, Orientation::Rotate90);
    assert!(bytes.len() > 1_000_000, "{} bytes", bytes.len());
    let mut img = DynamicImage::from_decoder(decoder).expect("decode");
    img.apply_orientation(orientation);
    assert_eq!((img.width(), img.height()), CAMERA_12MP_UPRIGHT);
}

#[test]
fn jpeg_is_baseline_with_4_2_0_subsampling() {
    let img = portrait(&PortraitSpec { width: 300, height: 420, ..PortraitSpec::default() });
    let bytes = jpeg(&img, 90, None);
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
    assert!(!bytes.windows(2).any(|w| w == [0xFF, 0xC2]), "not progressive");
    assert_eq!(sof0_sampling(&bytes), [0x22, 0x11, 0x11]);
    let decoded = reader(&bytes).decode().expect("decode").to_rgb8();
    assert_eq!(decoded.dimensions(), (300, 420));
    // Lossy but close.
    let diff: f64 =
        img.pixels().zip(decoded.pixels()).map(|(a, b)| (luma(a) - luma(b)).abs()).sum::<f64>() / f64::from(300 * 420);
    assert!(diff < 6.0, "mean abs luma error {diff}");
}

#[test]
fn exif_without_gps_has_no_gps_pointer_and_orientation_reads_back() {
    for o in 1..=8u16 {
        let payload = exif(&ExifSpec { orientation: Some(o), ..ExifSpec::default() });
        assert_eq!(&payload[..6], b"Exif\0\0");
        let tiff = &payload[6..];
        let entries = ifd_entries(tiff, 8);
        assert_eq!(entries.len(), 1);
        let expected = Orientation::from_exif(u8::try_from(o).expect("small"));
        assert_eq!(Orientation::from_exif_chunk(tiff), expected);
        let img = portrait(&PortraitSpec { width: 64, height: 48, ..PortraitSpec::default() });
        let bytes = jpeg(&img, 80, Some(&payload));
        let mut decoder = reader(&bytes).into_decoder().expect("decoder");
        assert_eq!(Some(decoder.orientation().expect("orientation")), expected);
    }
}

#[test]
fn exif_short_strings_are_inline_and_long_ones_are_offsets() {
    let payload = exif(&ExifSpec { make: Some("LG"), model: Some("G7 ThinQ"), ..ExifSpec::default() });
    let tiff = &payload[6..];
    let entries = ifd_entries(tiff, 8);
    assert_eq!(entries.len(), 2);
    // "LG\0" fits the 4-byte value field.
    assert_eq!((entries[0].0, entries[0].1, entries[0].2), (0x010F, 2, 3));
    assert_eq!(&entries[0].3.to_le_bytes()[..3], b"LG\0");
    // "G7 ThinQ\0" is stored after the IFD (2 + 2 * 12 + 4 = 30 bytes after offset 8).
    assert_eq!((entries[1].0, entries[1].2, entries[1].3), (0x0110, 9, 38));
    assert_eq!(&tiff[38..47], b"G7 ThinQ\0");
    assert_eq!(Orientation::from_exif_chunk(tiff), None);
}

#[test]
fn tiny_and_odd_sizes_do_not_panic() {
    for (width, height) in [(1, 1), (2, 3), (17, 9), (9, 17), (64, 20)] {
        for background in [
            Background::White,
            Background::Blue,
            Background::Red,
            Background::Gray,
            Background::Pattern,
            Background::Gradient,
        ] {
            let spec = PortraitSpec { width, height, background, blur_sigma: 0.7, ..PortraitSpec::default() };
            assert_eq!(portrait(&spec).dimensions(), (width, height));
        }
        for kind in [DocKind::IdFront, DocKind::IdBack, DocKind::PassportInfo, DocKind::PassportValidity] {
            let spec = DocSpec { width, height, kind, glare: Some((0.5, 0.5, 0.2)), ..DocSpec::default() };
            assert_eq!(document(&spec).dimensions(), (width, height));
        }
    }
    let odd = PortraitSpec { scale: 0.3, offset_x: -0.4, top: 0.3, ..PortraitSpec::default() };
    assert_eq!(portrait(&odd).dimensions(), (1200, 1680));
}

#[test]
fn to_camera_orientation_inverts_every_exif_orientation() {
    let upright = portrait(&PortraitSpec { width: 40, height: 56, ..PortraitSpec::default() });
    for o in 1..=8u16 {
        let stored = to_camera_orientation(&upright, o);
        let mut img = DynamicImage::ImageRgb8(stored);
        img.apply_orientation(Orientation::from_exif(u8::try_from(o).expect("small")).expect("1..=8"));
        assert_eq!(img.to_rgb8(), upright, "orientation {o}");
    }
    // 6 = "rotate 90 CW to display": stored pixels are the upright image rotated CCW.
    let stored = to_camera_orientation(&upright, 6);
    assert_eq!(stored.dimensions(), (56, 40));
    assert_eq!(stored.get_pixel(0, 39), upright.get_pixel(0, 0));
}

#[test]
fn white_portrait_has_near_white_top_corners_and_a_dark_subject() {
    let img = portrait(&PortraitSpec::default());
    assert_eq!(img.dimensions(), (1200, 1680));
    for (x, y) in [(5, 5), (1194, 5), (60, 40), (1140, 40)] {
        let p = img.get_pixel(x, y);
        assert!(p.0.iter().all(|&c| c > 230), "{x},{y}: {p:?}");
    }
    // Hair near the top centre, jacket at the bottom corners (shoulders fill the bottom).
    assert!(luma(img.get_pixel(600, 160)) < 90.0);
    assert!(luma(img.get_pixel(10, 1670)) < 90.0);
    assert!(luma(img.get_pixel(1189, 1670)) < 90.0);
    // Face skin below the eyes is skin-coloured: R > G > B.
    let s = img.get_pixel(600 - 200, 800);
    assert!(s[0] > s[1] && s[1] > s[2], "{s:?}");
}

#[test]
fn coloured_backgrounds_have_their_dominant_channel() {
    let corner = |background| {
        *portrait(&PortraitSpec { width: 200, height: 280, background, ..PortraitSpec::default() }).get_pixel(3, 3)
    };
    let blue = corner(Background::Blue);
    assert!(blue[2] > blue[1] && blue[1] > blue[0], "{blue:?}");
    let red = corner(Background::Red);
    assert!(red[0] > 150 && red[1] < 80 && red[2] < 80, "{red:?}");
    let gray = corner(Background::Gray);
    assert!(gray.0.iter().all(|&c| (130..190).contains(&c)), "{gray:?}");
}

#[test]
fn busy_background_has_far_more_detail_than_a_plain_one() {
    let spec = PortraitSpec { width: 600, height: 840, ..PortraitSpec::default() };
    let plain = portrait(&spec);
    let busy = portrait(&PortraitSpec { background: Background::Pattern, ..spec });
    // Left strip beside the head is background in both.
    let p = laplacian_var(&plain, 0, 100, 60, 300);
    let b = laplacian_var(&busy, 0, 100, 60, 300);
    assert!(b > 1000.0 && b > 10.0 * p, "busy {b} vs plain {p}");
    let g = portrait(&PortraitSpec { background: Background::Gradient, ..spec });
    assert!(luma(g.get_pixel(3, 3)) > luma(g.get_pixel(596, 836)) + 20.0);
}

#[test]
fn grayscale_portrait_has_equal_channels() {
    let img = portrait(&PortraitSpec {
        width: 300,
        height: 420,
        grayscale: true,
        background: Background::Blue,
        ..PortraitSpec::default()
    });
    assert!(img.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    assert!(img.pixels().any(|p| p[0] < 60) && img.pixels().any(|p| p[0] > 120));
}

#[test]
fn gain_blur_and_noise_do_what_they_say() {
    let base = PortraitSpec { width: 400, height: 560, ..PortraitSpec::default() };
    let normal = portrait(&base);
    let dark = portrait(&PortraitSpec { gain: 0.25, ..base });
    let bright = portrait(&PortraitSpec { gain: 2.5, ..base });
    assert!(mean_luma(&dark) < 0.35 * mean_luma(&normal));
    let saturated = bright.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(saturated > bright.pixels().len() / 2, "{saturated}");

    // Sharp subject detail (face and hair) versus the same scene blurred by the optics.
    let sharp = laplacian_var(&normal, 100, 40, 200, 300);
    let blurred = portrait(&PortraitSpec { blur_sigma: 3.0, noise: 0.0, ..base });
    let soft = laplacian_var(&blurred, 100, 40, 200, 300);
    assert!(sharp > 4.0 * soft, "sharp {sharp} vs blurred {soft}");

    // Sensor noise is present on the plain background, and absent when switched off.
    let clean = portrait(&PortraitSpec { noise: 0.0, ..base });
    assert!(laplacian_var(&normal, 0, 0, 60, 60) > 10.0);
    assert!(laplacian_var(&clean, 0, 0, 60, 60) < 1.0);
}

#[test]
fn generation_is_deterministic_and_seeded() {
    let spec = PortraitSpec { width: 120, height: 168, ..PortraitSpec::default() };
    assert_eq!(portrait(&spec), portrait(&spec));
    assert_ne!(portrait(&spec), portrait(&PortraitSpec { seed: 2, ..spec }));
    let doc = DocSpec { width: 400, height: 300, ..DocSpec::default() };
    assert_eq!(document(&doc), document(&doc));
    assert_eq!(camera_photo_1_4mp(9), camera_photo_1_4mp(9));
    assert_eq!(random_bytes(100, 5), random_bytes(100, 5));
    assert_ne!(random_bytes(100, 5), random_bytes(100, 6));
    assert_eq!(random_bytes(13, 5).len(), 13);
}

#[test]
fn documents_fill_most_of_the_frame_on_a_darker_table() {
    for kind in [DocKind::IdFront, DocKind::IdBack, DocKind::PassportInfo, DocKind::PassportValidity] {
        for seed in 1..=3 {
            let spec = DocSpec { kind, seed, ..DocSpec::default() };
            let img = document(&spec);
            assert_eq!(img.dimensions(), (1600, 1200));
            let [x0, y0, w, h] = document_card_rect(&spec);
            let fill = w / 1600.0;
            assert!((0.70..=0.85).contains(&fill), "{kind:?} fill {fill}");
            let aspect = w / h;
            let expected = match kind {
                DocKind::IdFront | DocKind::IdBack => 85.6 / 54.0,
                _ => 125.0 / 88.0,
            };
            assert!((aspect - expected).abs() < 0.01, "{kind:?} aspect {aspect}");
            // The frame corners are table, the card is lighter than the table.
            let table = luma(img.get_pixel(4, 4));
            assert!(table < 190.0, "{kind:?} table {table}");
            let inside = luma(img.get_pixel((x0 + 0.5 * w) as u32, (y0 + 0.06 * h) as u32));
            assert!(inside > table + 40.0, "{kind:?} card {inside} table {table}");
            // Text and print give strong high-frequency content on the card.
            let detail = laplacian_var(&img, x0 as u32, y0 as u32, w as u32, h as u32);
            assert!(detail > 100.0, "{kind:?} detail {detail}");
        }
    }
}

#[test]
fn id_back_has_a_red_emblem_top_left() {
    let spec = DocSpec { kind: DocKind::IdBack, ..DocSpec::default() };
    let img = document(&spec);
    let [x0, y0, w, _] = document_card_rect(&spec);
    let ppm = w / 85.6;
    // Emblem centre at (14, 13.5) mm with radius 9 mm; sample the red field right of the star.
    let p = img.get_pixel((x0 + 17.0 * ppm) as u32, (y0 + 11.0 * ppm) as u32);
    assert!(p[0] > 150 && p[1] < 90 && p[2] < 90, "{p:?}");
}

#[test]
fn glare_is_a_saturated_blob_inside_the_card() {
    let spec = DocSpec { glare: Some((0.95, 0.5, 0.06)), ..DocSpec::default() };
    let img = document(&spec);
    let [x0, y0, w, h] = document_card_rect(&spec);
    let white: Vec<(u32, u32)> =
        img.enumerate_pixels().filter(|(_, _, p)| p.0 == [255, 255, 255]).map(|(x, y, _)| (x, y)).collect();
    assert!(white.len() > 3000, "{}", white.len());
    for (x, y) in white {
        let (x, y) = (x as f32, y as f32);
        assert!(x >= x0 && x < x0 + w && y >= y0 && y < y0 + h, "{x},{y}");
    }
    let without = document(&DocSpec { glare: None, ..spec });
    assert!(!without.pixels().any(|p| p.0 == [255, 255, 255]));
}

#[test]
fn png_encoders_round_trip() {
    let img = portrait(&PortraitSpec { width: 90, height: 126, ..PortraitSpec::default() });
    let bytes = png(&img);
    assert_eq!(reader(&bytes).format(), Some(ImageFormat::Png));
    assert_eq!(reader(&bytes).decode().expect("decode").to_rgb8(), img);
    let gray = GrayImage::from_fn(30, 20, |x, y| image::Luma([(x * 8 + y) as u8]));
    let bytes = gray_png(&gray);
    let decoded = reader(&bytes).decode().expect("decode");
    assert_eq!(decoded.color(), image::ColorType::L8);
    assert_eq!(decoded.to_luma8(), gray);
}

#[test]
fn png_bomb_header_declares_100000_squared_and_decoding_is_refused() {
    let bytes = png_bomb();
    assert_eq!(reader(&bytes).into_dimensions().expect("header parses"), (100_000, 100_000));
    assert!(reader(&bytes).decode().is_err());
    // Every chunk's CRC is right.
    let mut pos = 8;
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4")) as usize;
        let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().expect("4"));
        assert_eq!(crc32(&bytes[pos + 4..pos + 8 + len]), crc);
        pos += 12 + len;
    }
    assert_eq!(pos, bytes.len());
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn jpeg_bomb_header_declares_65000_squared_and_decoding_is_refused() {
    let bytes = jpeg_bomb();
    assert_eq!(reader(&bytes).format(), Some(ImageFormat::Jpeg));
    assert_eq!(reader(&bytes).into_dimensions().expect("header parses"), (65_000, 65_000));
    assert!(reader(&bytes).decode().is_err());
    assert_eq!(sof0_sampling(&bytes), [0x22, 0x11, 0x11]);
}

#[test]
fn truncated_jpeg_keeps_its_header_but_is_incomplete() {
    let bytes = truncated_jpeg();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    assert_ne!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
    assert_eq!(reader(&bytes).format(), Some(ImageFormat::Jpeg));
    assert_eq!(reader(&bytes).into_dimensions().expect("header"), (480, 672));
}

#[test]
fn gif_and_random_bytes_are_not_jpeg_or_png() {
    let gif = gif_bytes();
    assert_eq!(reader(&gif).format(), Some(ImageFormat::Gif));
    // This build of `image` has no GIF decoder: the format is recognised and refused.
    assert!(reader(&gif).decode().is_err());
    let noise = random_bytes(4096, 42);
    assert!(!matches!(reader(&noise).format(), Some(ImageFormat::Jpeg | ImageFormat::Png)));
    assert!(reader(&noise).decode().is_err());
}

fn check_pdf_xref(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    // The trailer and xref are ASCII (the header comment and streams may not be).
    let tail = std::str::from_utf8(&pdf[pdf.len() - 40..]).expect("ASCII tail");
    let startxref: usize = tail
        .rsplit("startxref\n")
        .next()
        .and_then(|t| t.lines().next())
        .and_then(|n| n.parse().ok())
        .expect("startxref offset");
    assert!(pdf[startxref..].starts_with(b"xref\n0 "));
    let xref = std::str::from_utf8(&pdf[startxref..]).expect("ASCII xref");
    let mut lines = xref.lines().skip(1);
    let count: usize = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|n| n.parse().ok()).expect("xref count");
    lines.next(); // free entry 0
    for obj in 1..count {
        let entry = lines.next().expect("xref entry");
        assert_eq!(entry.len(), 19, "20-byte entries including the newline");
        let off: usize = entry[..10].parse().expect("offset");
        assert!(pdf[off..].starts_with(format!("{obj} 0 obj\n").as_bytes()), "object {obj} at {off}");
    }
}

#[test]
fn pdfs_have_correct_xref_tables() {
    let plain = pdf_minimal();
    check_pdf_xref(&plain);
    assert!(!String::from_utf8_lossy(&plain).contains("/Encrypt"));
    let encrypted = pdf_encrypted();
    check_pdf_xref(&encrypted);
    let text = String::from_utf8_lossy(&encrypted);
    let trailer = text.rsplit("trailer").next().expect("trailer");
    assert!(trailer.contains("/Encrypt 5 0 R"));
    assert!(text.contains("5 0 obj\n<< /Filter /Standard"));
}
