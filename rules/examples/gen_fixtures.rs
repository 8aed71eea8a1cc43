//! Writes the committed fixture corpus under `tests/fixtures/` from the
//! synthetic generators in `rules/tests/common/synth.rs`:
//! `cargo run --release -p intake-rules --example gen_fixtures`.
//! The expected verdicts live, written by hand, in `tests/fixtures/expected.json`;
//! `rules/tests/corpus.rs` checks every file against them.
#![allow(clippy::print_stdout)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::Path;

use synth::{Background, DocKind, DocSpec, ExifSpec, PortraitSpec};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join(name), bytes).expect("write");
    println!("{:>9} B  {}", bytes.len(), dir.join(name).display());
}

fn portrait(spec: PortraitSpec) -> image::RgbImage {
    synth::portrait(&spec)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let photo = root.join("photo");
    let doc = root.join("document");
    let file = root.join("file");
    let base = PortraitSpec { width: 900, height: 1260, ..PortraitSpec::default() };

    // Photos.
    let standard = portrait(PortraitSpec { width: 295, height: 413, seed: 2, ..base });
    write(&photo, "standard_295x413.jpg", &synth::jpeg(&standard, 90, None));
    write(
        &photo,
        "camera_white.jpg",
        &synth::jpeg(&portrait(PortraitSpec { width: 1500, height: 2000, scale: 0.8, top: 0.12, ..base }), 92, None),
    );
    let upright = portrait(PortraitSpec { width: 1500, height: 2000, scale: 0.8, top: 0.12, seed: 3, ..base });
    let exif = synth::exif(&ExifSpec {
        orientation: Some(6),
        gps: Some(synth::XIAMEN),
        make: Some("Xiaomi"),
        model: Some("Redmi Note 12"),
    });
    write(&photo, "camera_exif6_gps.jpg", &synth::jpeg(&synth::to_camera_orientation(&upright, 6), 92, Some(&exif)));
    write(
        &photo,
        "pattern_background.jpg",
        &synth::jpeg(&portrait(PortraitSpec { background: Background::Pattern, ..base }), 90, None),
    );
    write(
        &photo,
        "gradient_background.jpg",
        &synth::jpeg(&portrait(PortraitSpec { background: Background::Gradient, ..base }), 90, None),
    );
    write(
        &photo,
        "grey_background.jpg",
        &synth::jpeg(&portrait(PortraitSpec { background: Background::Gray, ..base }), 90, None),
    );
    write(
        &photo,
        "blue_background.jpg",
        &synth::jpeg(&portrait(PortraitSpec { background: Background::Blue, ..base }), 90, None),
    );
    write(&photo, "grayscale.jpg", &synth::jpeg(&portrait(PortraitSpec { grayscale: true, ..base }), 90, None));
    write(&photo, "dark.jpg", &synth::jpeg(&portrait(PortraitSpec { gain: 0.25, ..base }), 90, None));
    write(&photo, "bright.jpg", &synth::jpeg(&portrait(PortraitSpec { gain: 2.5, ..base }), 90, None));
    write(&photo, "blurred.jpg", &synth::jpeg(&portrait(PortraitSpec { blur_sigma: 9.0, ..base }), 90, None));
    write(
        &photo,
        "tiny_200x280.jpg",
        &synth::jpeg(&portrait(PortraitSpec { width: 200, height: 280, ..base }), 90, None),
    );
    write(
        &photo,
        "off_centre_295x413.jpg",
        &synth::jpeg(&portrait(PortraitSpec { width: 295, height: 413, offset_x: 0.22, scale: 0.8, ..base }), 90, None),
    );
    write(
        &photo,
        "off_centre_camera.jpg",
        &synth::jpeg(
            &portrait(PortraitSpec { width: 1500, height: 2000, offset_x: 0.2, scale: 0.6, top: 0.15, ..base }),
            90,
            None,
        ),
    );
    write(
        &photo,
        "head_too_big_295x413.jpg",
        &synth::jpeg(&portrait(PortraitSpec { width: 295, height: 413, scale: 1.55, top: 0.02, ..base }), 90, None),
    );
    write(&photo, "no_subject.jpg", &synth::jpeg(&portrait(PortraitSpec { subject: false, ..base }), 90, None));
    write(&photo, "portrait.png", &synth::png(&portrait(PortraitSpec { width: 600, height: 840, ..base })));

    // Identity documents.
    let front = synth::document(&DocSpec::default());
    write(&doc, "id_front.jpg", &synth::jpeg(&front, 90, None));
    write(
        &doc,
        "id_back.jpg",
        &synth::jpeg(&synth::document(&DocSpec { kind: DocKind::IdBack, seed: 2, ..DocSpec::default() }), 90, None),
    );
    let resized = image::imageops::resize(&front, 1400, 1050, image::imageops::FilterType::Triangle);
    write(&doc, "id_front_copy_resized.jpg", &synth::jpeg(&resized, 75, None));
    write(
        &doc,
        "id_front_glare.jpg",
        &synth::jpeg(&synth::document(&DocSpec { glare: Some((0.45, 0.45, 0.08)), ..DocSpec::default() }), 90, None),
    );
    write(
        &doc,
        "id_front_blurred.jpg",
        &synth::jpeg(&synth::document(&DocSpec { blur_sigma: 5.0, ..DocSpec::default() }), 90, None),
    );
    write(
        &doc,
        "id_front_dark.jpg",
        &synth::jpeg(&synth::document(&DocSpec { gain: 0.2, ..DocSpec::default() }), 90, None),
    );
    write(
        &doc,
        "id_front_small_640x480.jpg",
        &synth::jpeg(&synth::document(&DocSpec { width: 640, height: 480, ..DocSpec::default() }), 90, None),
    );
    write(
        &doc,
        "passport_info.jpg",
        &synth::jpeg(
            &synth::document(&DocSpec { kind: DocKind::PassportInfo, seed: 3, ..DocSpec::default() }),
            90,
            None,
        ),
    );
    write(
        &doc,
        "passport_validity.jpg",
        &synth::jpeg(
            &synth::document(&DocSpec { kind: DocKind::PassportValidity, seed: 4, ..DocSpec::default() }),
            90,
            None,
        ),
    );

    // Other files and hostile inputs.
    write(&file, "work_certificate.pdf", &synth::pdf_minimal());
    write(&file, "encrypted.pdf", &synth::pdf_encrypted());
    write(
        &file,
        "work_certificate.jpg",
        &synth::jpeg(
            &synth::document(&DocSpec { kind: DocKind::PassportValidity, seed: 9, ..DocSpec::default() }),
            85,
            None,
        ),
    );
    write(&file, "gif_named.jpg", &synth::gif_bytes());
    write(&file, "truncated.jpg", &synth::truncated_jpeg());
    write(&file, "random.jpg", &synth::random_bytes(4096, 5));
    write(&file, "png_bomb.png", &synth::png_bomb());
    write(&file, "jpeg_bomb.jpg", &synth::jpeg_bomb());
    write(&file, "empty.jpg", &[]);
}
