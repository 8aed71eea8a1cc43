//! The hostile image corpus (`tests/fixtures/hostile/images/`): every file is
//! built here, deterministically, by splicing segments into the committed
//! fixtures or into pictures the JPEG encoder writes from them; the expected
//! codes are written by hand next to each file. Written out by
//! `cargo run --release -p intake-rules --example gen_hostile_images`; the
//! replay (`rules/tests/hostile_corpus.rs`) checks the committed files are
//! exactly these bytes.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgb, RgbImage};
use intake_rules::resample::{Rect, area_resize};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::synth::crc32;

/// One corpus file and its expected verdict.
pub struct Case {
    /// Path relative to `tests/fixtures/hostile/`.
    pub file: &'static str,
    /// The `intake check` kind.
    pub kind: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Every code the check reports.
    pub codes: &'static [&'static str],
    /// Whether the file passes.
    pub accepted: bool,
    /// Why.
    pub why: &'static str,
}

pub use super::walker::{GPS_MARKER, SECRET};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[allow(
    clippy::disallowed_methods,
    reason = "the `image` crate's own decoder as an independent oracle of the rules' output"
)]
fn rgb(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).expect("fixture decodes").into_rgb8()
}

fn shrink(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    area_resize(img, Rect::full(img.width(), img.height()), w, h)
}

fn encode(img: &RgbImage, quality: u8, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, quality);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_progressive(progressive);
    let (w, h) = (img.width() as u16, img.height() as u16);
    e.encode(img.as_raw(), w, h, ColorType::Rgb).expect("encodes");
    out
}

fn encode_four(img: &RgbImage, colour: ColorType, quality: u8) -> Vec<u8> {
    // A plain CMYK separation: C, M, Y from the complement, K = 0 (the encoder stores it
    // inverted, as Adobe does, with its APP14).
    let cmyk: Vec<u8> = img.pixels().flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 0]).collect();
    let mut out = Vec::new();
    let e = Encoder::new(&mut out, quality);
    e.encode(&cmyk, img.width() as u16, img.height() as u16, colour).expect("encodes");
    out
}

/// `FF marker len payload`.
pub fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).expect("segment fits");
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(payload);
    s
}

fn insert(base: &[u8], at: usize, what: &[u8]) -> Vec<u8> {
    [&base[..at], what, &base[at..]].concat()
}

/// Offsets of the SOS markers (entropy-coded data never holds `FF DA`; the bases carry no APPn but JFIF).
fn sos_offsets(jpeg: &[u8]) -> Vec<usize> {
    jpeg.windows(2).enumerate().filter(|(_, w)| *w == [0xFF, 0xDA]).map(|(i, _)| i).collect()
}

fn marker_offset(jpeg: &[u8], marker: u8) -> usize {
    jpeg.windows(2).position(|w| w == [0xFF, marker]).expect("marker present")
}

/// A little-endian EXIF APP1: IFD0 with an ImageDescription (the certificate-number-like
/// string) and a GPS IFD pointer; the GPS IFD with a latitude and a GPS processing-method text.
pub fn exif_gps_app1() -> Vec<u8> {
    let mut desc = SECRET.to_vec();
    desc.push(0);
    let mut method = GPS_MARKER.to_vec();
    method.push(0);
    let ifd0 = 8usize;
    let ifd0_len = 2 + 2 * 12 + 4;
    let desc_at = ifd0 + ifd0_len;
    let gps_at = (desc_at + desc.len()).next_multiple_of(2);
    let gps_len = 2 + 3 * 12 + 4;
    let lat_at = gps_at + gps_len;
    let method_at = lat_at + 24;
    let mut t = b"II\x2a\x00".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x010E, 2, desc.len() as u32, desc_at as u32);
    entry(&mut t, 0x8825, 4, 1, gps_at as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&desc);
    t.resize(gps_at, 0);
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, lat_at as u32);
    entry(&mut t, 0x001B, 7, method.len() as u32, method_at as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(39u32, 1u32), (54, 1), (1512, 100)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    t.extend_from_slice(&method);
    segment(0xE1, &[&b"Exif\0\0"[..], &t].concat())
}

/// A stored (uncompressed) ZIP holding one text file.
fn zip() -> Vec<u8> {
    let name = b"payload.txt";
    let data = b"a polyglot: this ZIP rides after the JPEG's EOI\n";
    let crc = crc32(data);
    let mut z = Vec::new();
    let local = |z: &mut Vec<u8>| {
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
    };
    local(&mut z);
    z.extend_from_slice(name);
    z.extend_from_slice(data);
    let cd_at = z.len();
    z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0; 12]);
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(name);
    let cd_len = z.len() - cd_at;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_at as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

/// Deterministic filler bytes.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::Adaptive)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .expect("png");
    out
}

/// A zlib stream that inflates to 8192 × 8193 zero bytes (64 MiB): the IDAT of an all-black
/// 8192×8192 greyscale PNG, written at the encoder's best compression.
fn zlib_zeros() -> Vec<u8> {
    let side = 8192u32;
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::NoFilter)
        .write_image(&vec![0u8; (side * side) as usize], side, side, image::ExtendedColorType::L8)
        .expect("png");
    let mut z = Vec::new();
    let mut at = 8;
    while at + 8 <= out.len() {
        let len = u32::from_be_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]) as usize;
        if &out[at + 4..at + 8] == b"IDAT" {
            z.extend_from_slice(&out[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    z
}

/// `chunk` placed right after IHDR.
fn png_with(base: &[u8], chunk: &[u8]) -> Vec<u8> {
    insert(base, 33, chunk)
}

/// A certificate-like page: white, with dark lines of "text".
fn page() -> RgbImage {
    RgbImage::from_fn(1000, 700, |x, y| {
        let line = (y / 24) % 2 == 1 && y > 80 && y < 620 && x > 80 && x < 920;
        let gap = (x / 37 + y / 24) % 5 == 0;
        if line && !gap { Rgb([30, 30, 40]) } else { Rgb([250, 250, 248]) }
    })
}

/// Every file, in order.
pub fn corpus() -> Vec<Case> {
    let photo = read("photo/standard_295x413.jpg");
    let photo_px = rgb(&photo);
    let photo_prog = encode(&photo_px, 92, true);
    let doc_px = shrink(&rgb(&read("document/id_front.jpg")), 1000, 750);
    let doc = encode(&doc_px, 80, false);
    let doc_prog = encode(&doc_px, 80, true);
    let back_px = shrink(&rgb(&read("document/id_back.jpg")), 1000, 750);
    let back = encode(&back_px, 80, false);
    let back_prog = encode(&back_px, 80, true);
    let cert_px = shrink(&rgb(&read("file/work_certificate.jpg")), 1000, 750);
    let cert = encode(&cert_px, 80, false);
    let exif = exif_gps_app1();
    let end = |b: &[u8]| b.len() - 2;

    let mut out = Vec::new();
    let mut case = |file, kind, bytes, codes, accepted, why| out.push(Case { file, kind, bytes, codes, accepted, why });

    // ---- metadata where a scan-stopping parser never looks ----
    let sos = sos_offsets(&photo_prog);
    case(
        "images/gps_between_scans_photo.jpg",
        "photo",
        insert(&photo_prog, sos[1], &exif),
        &["photo.metadata_present"][..],
        true,
        "EXIF with GPS and a certificate number between the scans of a progressive photo: the full parse sees it (the decoder does not) and warns; stored rebuilt without it",
    );
    let sos = sos_offsets(&doc_prog);
    case(
        "images/gps_between_scans.jpg",
        "id-front",
        insert(&doc_prog, sos[1], &exif),
        &[],
        true,
        "EXIF with GPS and a certificate number between progressive scans of an ID picture: rebuilt without it",
    );
    case(
        "images/gps_after_scans.jpg",
        "id-back",
        insert(&back_prog, end(&back_prog), &exif),
        &[],
        true,
        "EXIF with GPS after the last scan, before EOI: rebuilt without it",
    );
    case(
        "images/gps_after_eoi_photo.jpg",
        "photo",
        [&photo[..], &exif].concat(),
        &["photo.metadata_present"],
        true,
        "an EXIF APP1 with GPS appended after EOI of the photo: seen and warned about; stored rebuilt, nothing after EOI",
    );
    // ---- polyglots and second images ----
    case(
        "images/zip_after_eoi.jpg",
        "photo",
        [&photo[..], &zip()].concat(),
        &[],
        true,
        "a ZIP appended after EOI: the photo passes and is stored rebuilt, nothing after EOI",
    );
    case(
        "images/html_after_eoi.jpg",
        "work-certificate",
        [&cert[..], b"<html><body><script>alert(document.cookie)</script></body></html>\n"].concat(),
        &[],
        true,
        "HTML appended after EOI: rebuilt without it",
    );
    let small = encode(&shrink(&photo_px, 59, 83), 80, false);
    case(
        "images/second_jpeg.jpg",
        "photo",
        [&photo[..], &small].concat(),
        &[],
        true,
        "a second JPEG after the first: one image is stored",
    );
    let small_gps = insert(&small, 2, &exif);
    case(
        "images/second_jpeg_with_gps.jpg",
        "id-front",
        [&doc[..], &small_gps].concat(),
        &[],
        true,
        "a second JPEG carrying EXIF GPS after the first image's EOI: one image, no EXIF stored",
    );
    // ---- APPn, COM and JPGn carrying arbitrary bytes ----
    let jfxx = segment(0xE0, &[&b"JFXX\0\x10"[..], &noise(3000, 1)].concat());
    case(
        "images/jfxx_app0.jpg",
        "id-front",
        insert(&doc, 20, &jfxx),
        &[],
        true,
        "a JFXX APP0 extension with 3000 arbitrary bytes: dropped (the rebuild writes its own JFIF)",
    );
    let adobe = segment(0xEE, &[&b"Adobe\0\x64\0\0\0\0\x01"[..], &noise(400, 2)].concat());
    case(
        "images/adobe_app14.jpg",
        "id-front",
        insert(&doc, 20, &adobe),
        &[],
        true,
        "an Adobe APP14 with 400 arbitrary bytes: an Adobe transform is not rebuilt, the picture is re-encoded",
    );
    case(
        "images/adobe_app14_photo.jpg",
        "photo",
        insert(&photo, 20, &adobe),
        &["image.colour_space"],
        false,
        "the photo as given with an Adobe APP14 cannot be stored rebuilt: a fixable error, the fix re-encodes",
    );
    let jpgn: Vec<u8> =
        [0xF0u8, 0xF7, 0xFD].iter().enumerate().flat_map(|(i, m)| segment(*m, &noise(200, 10 + i as u32))).collect();
    case(
        "images/jpgn_segments.jpg",
        "id-front",
        insert(&doc, 20, &jpgn),
        &["image.malformed_segments"],
        false,
        "JPGn (FF F0, FF F7, FF FD) segments with arbitrary bytes: refused",
    );
    case(
        "images/jpgn_segments_certificate.jpg",
        "work-certificate",
        insert(&cert, 20, &jpgn),
        &["image.malformed_segments"],
        false,
        "the same JPGn segments in a work certificate: refused",
    );
    let com = segment(0xFE, b"<?php system($_GET['c']); ?> 110101199003078515");
    case(
        "images/com_segment.jpg",
        "work-certificate",
        insert(&cert, 20, &com),
        &[],
        true,
        "a COM segment with PHP and a certificate number: dropped",
    );
    let icc: Vec<u8> = (0..4u8)
        .flat_map(|i| segment(0xE2, &[&b"ICC_PROFILE\0"[..], &[i + 1, 4], &noise(60_000, 20 + u32::from(i))].concat()))
        .collect();
    case(
        "images/large_icc.jpg",
        "id-back",
        insert(&back, 20, &icc),
        &[],
        true,
        "a 240 KB ICC profile in four APP2 segments: dropped (ICC is never kept)",
    );
    // ---- colour spaces that must not be forwarded ----
    case(
        "images/cmyk.jpg",
        "id-front",
        encode_four(&doc_px, ColorType::Cmyk, 85),
        &[],
        true,
        "a CMYK JPEG: decoded and re-encoded as an sRGB (YCbCr) baseline JPEG",
    );
    case(
        "images/cmyk_photo.jpg",
        "photo",
        encode_four(&photo_px, ColorType::Cmyk, 98),
        &["image.colour_space"],
        false,
        "a CMYK photo: never stored as given; the fix converts it",
    );
    case(
        "images/ycck.jpg",
        "work-certificate",
        encode_four(&cert_px, ColorType::CmykAsYcck, 85),
        &[],
        true,
        "a YCCK JPEG: re-encoded as an sRGB baseline JPEG",
    );
    // ---- encodings the decoder does not read (headers built by hand) ----
    let sof = |b: &[u8]| marker_offset(b, 0xC0);
    let mut twelve = photo.clone();
    let at = sof(&twelve);
    twelve[at + 1] = 0xC1;
    twelve[at + 4] = 12;
    case(
        "images/twelve_bit.jpg",
        "photo",
        twelve,
        &["image.unsupported_encoding"],
        false,
        "an extended SOF1 frame with 12-bit samples",
    );
    let mut arith = doc.clone();
    let at = sof(&arith);
    arith[at + 1] = 0xC9;
    arith = insert(&arith, at, &segment(0xCC, &[0x00, 0x10, 0x11, 0x05]));
    case(
        "images/arithmetic.jpg",
        "id-front",
        arith,
        &["image.unsupported_encoding"],
        false,
        "an arithmetic-coded SOF9 frame with its DAC segment",
    );
    let mut lossless = cert;
    let at = sof(&lossless);
    lossless[at + 1] = 0xC3;
    case(
        "images/lossless.jpg",
        "work-certificate",
        lossless,
        &["image.unsupported_encoding"],
        false,
        "a lossless SOF3 frame",
    );
    let mut hier = back.clone();
    let at = sof(&hier);
    hier[at + 1] = 0xC5;
    case(
        "images/hierarchical.jpg",
        "id-back",
        hier,
        &["image.unsupported_encoding"],
        false,
        "a hierarchical SOF5 frame",
    );
    // ---- broken structure ----
    let mut broken = insert(&doc, 20, &segment(0xE1, &noise(100, 30)));
    broken[22..24].copy_from_slice(&0x4000u16.to_be_bytes());
    case(
        "images/broken_length.jpg",
        "id-front",
        broken,
        &["image.malformed_segments"],
        false,
        "an APP1 whose length runs 16 KB past its data, into the tables and the scan",
    );
    let dqt = marker_offset(&back, 0xDB);
    let dqt_len = usize::from(u16::from_be_bytes([back[dqt + 2], back[dqt + 3]]));
    let hidden = b"hidden in a quantisation table: 110101199003078515";
    let mut smuggled = insert(&back, dqt + 2 + dqt_len, hidden);
    smuggled[dqt + 2..dqt + 4].copy_from_slice(&((dqt_len + hidden.len()) as u16).to_be_bytes());
    case(
        "images/dqt_with_payload.jpg",
        "id-back",
        smuggled,
        &["image.malformed_segments"],
        false,
        "a DQT segment longer than its tables, the rest a hidden text: refused (tables must hold exactly their tables)",
    );
    case(
        "images/unknown_marker.jpg",
        "photo",
        insert(&photo, 20, &segment(0x4F, &noise(16, 40))),
        &["image.malformed_segments"],
        false,
        "a reserved marker (FF 4F) with a length: refused",
    );
    let cut = sof(&doc) + 6;
    case(
        "images/truncated_segment.jpg",
        "id-front",
        doc[..cut].to_vec(),
        &["image.corrupt"],
        false,
        "the file ends inside the frame header",
    );
    // ---- PNG ancillary chunks that inflate ----
    let zeros = zlib_zeros();
    let page_png = png(&page());
    case(
        "images/png_iccp_bomb.png",
        "work-certificate",
        png_with(&page_png, &png_chunk(b"iCCP", &[&b"bomb\0\0"[..], &zeros].concat())),
        &[],
        true,
        "an iCCP chunk inflating to 64 MiB: never inflated, the picture is re-encoded",
    );
    case(
        "images/png_ztxt_bomb.png",
        "work-certificate",
        png_with(&page_png, &png_chunk(b"zTXt", &[&b"Comment\0\0"[..], &zeros].concat())),
        &[],
        true,
        "a zTXt chunk inflating to 64 MiB: never inflated",
    );
    let photo_png = png(&photo_px);
    case(
        "images/png_itxt_bomb.png",
        "photo",
        png_with(&photo_png, &png_chunk(b"iTXt", &[&b"Comment\0\x01\0\0\0"[..], &zeros].concat())),
        &["photo.not_jpeg"],
        false,
        "a compressed iTXt chunk inflating to 64 MiB in a PNG photo: never inflated; the fix converts to JPEG",
    );
    let mut exif_chunk = b"MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00".to_vec();
    exif_chunk.extend_from_slice(&noise(512 * 1024, 50));
    case(
        "images/png_exif_large.png",
        "work-certificate",
        png_with(&page_png, &png_chunk(b"eXIf", &exif_chunk)),
        &[],
        true,
        "a 512 KB eXIf chunk: read within the file's own size, dropped from the output",
    );
    out
}

/// Small seeds for the sanitizer's fuzz target (`fuzz/corpus/sanitize/`): the same kinds of
/// splices on 16×16 pictures, so the fuzzer starts from every structure the corpus has.
pub fn fuzz_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let img = RgbImage::from_fn(16, 16, |x, y| Rgb([(x * 16) as u8, (y * 16) as u8, 128]));
    let base = encode(&img, 80, false);
    let prog = encode(&img, 80, true);
    let exif = exif_gps_app1();
    let sos = sos_offsets(&prog);
    let mut twelve = base.clone();
    let at = marker_offset(&twelve, 0xC0);
    twelve[at + 1] = 0xC1;
    twelve[at + 4] = 12;
    vec![
        ("baseline.jpg", base.clone()),
        ("progressive.jpg", prog.clone()),
        ("exif_between_scans.jpg", insert(&prog, sos[1], &exif)),
        ("zip_after_eoi.jpg", [&base[..], &zip()].concat()),
        ("second_image.jpg", [&base[..], &base[..]].concat()),
        ("jpgn.jpg", insert(&base, 20, &segment(0xF3, b"arbitrary"))),
        ("com.jpg", insert(&base, 20, &segment(0xFE, b"comment"))),
        ("twelve_bit.jpg", twelve),
        ("cmyk.jpg", encode_four(&img, ColorType::Cmyk, 80)),
        ("restart.jpg", {
            let mut out = Vec::new();
            let mut e = Encoder::new(&mut out, 80);
            e.set_restart_interval(1);
            e.encode(img.as_raw(), 16, 16, ColorType::Rgb).expect("encodes");
            out
        }),
    ]
}
