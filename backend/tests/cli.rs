//! `intake check` as operators and tests call it: exit codes, the JSON
//! envelope, and `--fix` output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel)
}

fn intake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intake")).args(args).output().expect("intake runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("intake-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_standard_photo_passes_with_exit_0() {
    let out = intake(&["check", "photo", fixture("photo/standard_295x413.jpg").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("PASS"));
}

#[test]
fn a_bad_photo_fails_with_exit_1_and_its_codes() {
    let out = intake(&["check", "photo", fixture("photo/pattern_background.jpg").to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let codes: Vec<&str> = v["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"photo.background_not_uniform"), "{codes:?}");
    let first = &v["errors"][0];
    assert!(first["message"]["zh"].is_string() && first["message"]["en"].is_string() && first["field"] == "photo");
    assert_eq!(v["passes"], false);
}

#[test]
fn fix_writes_an_upright_profile_sized_jpeg_without_exif() {
    let out_path = tmp("fixed.jpg");
    let out = intake(&[
        "check",
        "photo",
        fixture("photo/camera_exif6_gps.jpg").to_str().unwrap(),
        "--fix",
        out_path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v = json(&out);
    assert!(v["errors"].as_array().unwrap().iter().any(|e| e["code"] == "photo.exif_rotated"), "as given: rotated");
    assert_eq!(v["fixed"]["width"], 295);
    assert_eq!(v["fixed"]["height"], 413);
    assert_eq!(v["fixed"]["errors"].as_array().unwrap().len(), 0);
    let bytes = std::fs::read(&out_path).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF block in the fixed file");
    #[allow(
        clippy::disallowed_methods,
        reason = "the `image` crate's own decoder as an independent check of the CLI's output"
    )]
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (295, 413));
    // And the fixed file passes on its own.
    let again = intake(&["check", "photo", out_path.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[test]
fn unfixable_photo_with_fix_exits_1_and_writes_nothing() {
    let out_path = tmp("never.jpg");
    let out = intake(&[
        "check",
        "photo",
        fixture("photo/grayscale.jpg").to_str().unwrap(),
        "--fix",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out_path.exists());
    assert!(stdout(&out).contains("photo.not_colour"));
}

#[test]
fn unreadable_file_and_unknown_profile_exit_2() {
    let out = intake(&["check", "photo", "/nonexistent/photo.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = intake(&["check", "photo", fixture("photo/standard_295x413.jpg").to_str().unwrap(), "--profile", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("intake-default"), "lists the known profiles");
}

#[test]
fn hostile_files_exit_1_with_a_code() {
    for (file, code) in [
        ("file/png_bomb.png", "image.dimensions_over_limit"),
        ("file/jpeg_bomb.jpg", "image.dimensions_over_limit"),
        ("file/truncated.jpg", "image.corrupt"),
        ("file/random.jpg", "file.unsupported_format"),
        ("file/gif_named.jpg", "file.unsupported_format"),
        ("file/empty.jpg", "file.empty"),
    ] {
        let out = intake(&["check", "photo", fixture(file).to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert_eq!(json(&out)["errors"][0]["code"], code, "{file}");
    }
}

#[test]
fn documents_and_work_certificates() {
    let ok = intake(&["check", "id-front", fixture("document/id_front.jpg").to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let glare = intake(&["check", "id-front", fixture("document/id_front_glare.jpg").to_str().unwrap()]);
    assert_eq!(glare.status.code(), Some(1));
    assert!(stdout(&glare).contains("document.glare"));
    let pdf = intake(&["check", "work-certificate", fixture("file/work_certificate.pdf").to_str().unwrap()]);
    assert_eq!(pdf.status.code(), Some(0));
    let enc = intake(&["check", "work-certificate", fixture("file/encrypted.pdf").to_str().unwrap(), "--json"]);
    assert_eq!(enc.status.code(), Some(1));
    assert_eq!(json(&enc)["errors"][0]["code"], "file.pdf_encrypted");
}

#[test]
fn the_profile_option_changes_the_verdict() {
    let blue = fixture("photo/blue_background.jpg");
    let default = intake(&["check", "photo", blue.to_str().unwrap(), "--json"]);
    assert!(json(&default)["errors"].as_array().unwrap().iter().any(|e| e["code"] == "photo.background_colour"));
    let out_path = tmp("blue.jpg");
    let provincial = intake(&[
        "check",
        "photo",
        blue.to_str().unwrap(),
        "--profile",
        "provincial-blue",
        "--fix",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(provincial.status.code(), Some(0), "{}", stdout(&provincial));
}

#[test]
fn codes_command_prints_the_catalog() {
    let out = intake(&["codes"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("`photo.background_not_uniform`") && text.contains("`document.sides_swapped`"));
}

/// `--json` reports the faces of a photo (issue 14, phase 1: reported, not yet judged): scikit-image's
/// astronaut framed as an ID photo has one face with its eyes level in the upper half, the cat none.
#[test]
fn check_photo_json_reports_faces_landmarks_and_roll() {
    let faces_fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("../faces/tests/fixtures").join(name);
    let out = intake(&["check", "photo", faces_fixture("astronaut_295x413.jpg").to_str().unwrap(), "--json"]);
    let v = json(&out);
    let faces = &v["faces"];
    assert_eq!(faces["count"], 1, "{faces}");
    let face = &faces["faces"][0];
    let (r, l) = (&face["landmarks"]["right_eye"], &face["landmarks"]["left_eye"]);
    let (rx, ry, lx, ly) =
        (r[0].as_f64().unwrap(), r[1].as_f64().unwrap(), l[0].as_f64().unwrap(), l[1].as_f64().unwrap());
    assert!(rx < lx && (100.0..200.0).contains(&rx) && (100.0..200.0).contains(&lx), "{face}");
    assert!(ry < 413.0 / 2.0 && ly < 413.0 / 2.0, "the eyes are in the upper half: {face}");
    assert!(face["roll_degrees"].as_f64().unwrap().abs() < 6.0, "{face}");
    assert!(face["eye_distance"].as_f64().unwrap() > 30.0, "{face}");

    let out = intake(&["check", "photo", faces_fixture("chelsea.jpg").to_str().unwrap(), "--json"]);
    assert_eq!(json(&out)["faces"]["count"], 0, "the cat");

    // The synthetic corpus photo has a drawn face: found, in the file's upright coordinates.
    let out = intake(&["check", "photo", fixture("photo/camera_exif6_gps.jpg").to_str().unwrap(), "--json"]);
    let v = json(&out);
    assert_eq!(v["faces"]["count"], 1, "{}", v["faces"]);
    // The file is 2000 × 1500 stored, EXIF 6: upright 1500 × 2000, detected at 480 × 640; the face is centred.
    let eyes = &v["faces"]["faces"][0]["landmarks"];
    let mid = (eyes["right_eye"][0].as_f64().unwrap() + eyes["left_eye"][0].as_f64().unwrap()) / 2.0;
    assert!((675.0..825.0).contains(&mid), "upright coordinates of the full-size file (centre 750): {mid}");
}
