//! The detector against two reference engines, on real photographs (scikit-image's astronaut portrait and
//! chelsea the cat) and composites made from them. `faces/scripts/make_fixtures.py` wrote the fixtures:
//! onnxruntime's raw outputs for the very network input this crate builds, OpenCV FaceDetectorYN's decoded
//! faces (its own engine, decoder and NMS), and OpenCV's Haar cascades (a different detector). No Python runs
//! at test time. (Native only: it reads its fixtures from disk; `tests/wasm.rs` is the wasm32 side.)
#![cfg(not(target_arch = "wasm32"))]

use intake_faces::{Detector, Face, Options, network_input};
use serde_json::Value;

/// Raw network outputs agree with onnxruntime to this (absolute, on sigmoid scores in 0..1 and on box and
/// landmark offsets in cells); the issue asks for 1e-4, 5.6e-6 was measured (astronaut; chelsea 3.2e-6).
const RAW_TOLERANCE: f32 = 2e-5;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let z = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    miniz_oxide::inflate::decompress_to_vec_zlib(&z).expect("zlib")
}

fn image(name: &str) -> (Vec<u8>, usize, usize) {
    let raw = fixture(&format!("{name}.rgb.z"));
    let w = u32::from_le_bytes(raw[0..4].try_into().unwrap()) as usize;
    let h = u32::from_le_bytes(raw[4..8].try_into().unwrap()) as usize;
    assert_eq!(raw.len(), 8 + w * h * 3, "{name}");
    (raw[8..].to_vec(), w, h)
}

fn expected() -> Value {
    let path = format!("{}/tests/fixtures/expected.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn detector() -> Detector {
    Detector::new().expect("the committed model loads")
}

fn detect(name: &str) -> Vec<Face> {
    let (rgb, w, h) = image(name);
    detector().detect(&rgb, w, h, &Options::default()).unwrap()
}

#[test]
#[allow(clippy::print_stderr)] // the measured worst difference, for the notes
fn raw_outputs_match_onnxruntime() {
    let det = detector();
    let names: Vec<String> =
        expected()["output_names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    for image_name in ["astronaut", "chelsea"] {
        let (rgb, w, h) = image(image_name);
        let outputs = det.run(network_input(&rgb, w, h)).unwrap();
        let reference = fixture(&format!("{image_name}.ref.z"));
        let mut at = 0;
        let mut worst = 0.0f32;
        assert_eq!(outputs.len(), names.len());
        for ((name, tensor), want_name) in outputs.iter().zip(&names) {
            assert_eq!(name, want_name);
            let n = u32::from_le_bytes(reference[at..at + 4].try_into().unwrap()) as usize;
            at += 4;
            assert_eq!(tensor.data.len(), n, "{image_name} {name}: element count");
            for (i, got) in tensor.data.iter().enumerate() {
                let want = f32::from_le_bytes(reference[at + 4 * i..at + 4 * i + 4].try_into().unwrap());
                let d = (got - want).abs();
                worst = worst.max(d);
                assert!(d <= RAW_TOLERANCE, "{image_name} {name}[{i}]: {got} vs onnxruntime {want}");
            }
            at += 4 * n;
        }
        assert_eq!(at, reference.len(), "{image_name}: the reference has more outputs");
        // The measured worst difference, for the notes (cargo test -- --nocapture).
        eprintln!("{image_name}: worst |intake-faces - onnxruntime| = {worst:e}");
    }
}

/// Every fixture's faces agree with OpenCV FaceDetectorYN (same model, OpenCV's engine and decoder): the same
/// count, and boxes, landmarks and scores within a small fraction of a pixel.
#[test]
fn faces_match_opencv_yunet() {
    let all = expected();
    for (name, want) in all["images"].as_object().unwrap() {
        let got = detect(name);
        let want = want["opencv_yunet"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: {got:?}");
        for (face, w) in got.iter().zip(want) {
            let w: Vec<f32> = w.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let mut ours = vec![face.x, face.y, face.width, face.height];
            ours.extend(face.landmarks.iter().flat_map(|p| [p.x, p.y]));
            for (i, (a, b)) in ours.iter().zip(&w).enumerate() {
                assert!((a - b).abs() < 0.01, "{name} value {i}: {a} vs OpenCV {b}");
            }
            assert!((face.score - w[14]).abs() < 0.001, "{name} score {} vs OpenCV {}", face.score, w[14]);
        }
    }
}

#[test]
fn the_astronaut_is_one_face_with_its_eyes_inside_haar_s_face() {
    let faces = detect("astronaut");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = &faces[0];
    let (r, l) = (face.right_eye(), face.left_eye());
    assert!(r.x < l.x, "the person's right eye is on the image's left");
    // Independent detector: OpenCV's Haar frontal-face box, and its one eye found.
    let haar = &expected()["images"]["astronaut"]["haar"];
    let [bx, by, bw, bh] = [0, 1, 2, 3].map(|i| haar[0]["box"][i].as_f64().unwrap() as f32);
    for eye in [r, l] {
        assert!(
            eye.x > bx && eye.x < bx + bw && eye.y > by && eye.y < by + bh * 0.5,
            "{eye:?} in the upper half of Haar's {bx} {by} {bw} {bh}"
        );
    }
    let haar_eye = &haar[0]["eyes"][0];
    let (hx, hy) = (haar_eye[0].as_f64().unwrap() as f32, haar_eye[1].as_f64().unwrap() as f32);
    let nearest = [r, l].iter().map(|p| (p.x - hx).hypot(p.y - hy)).fold(f32::INFINITY, f32::min);
    assert!(nearest < 4.0, "Haar's eye ({hx}, {hy}) is {nearest} px from the nearest landmark");
    assert!((15.0..30.0).contains(&face.eye_distance()), "{}", face.eye_distance());
    assert!(face.roll_degrees().abs() < 5.0, "an upright portrait: roll {}", face.roll_degrees());
}

#[test]
fn the_cat_is_no_face() {
    let faces = detect("chelsea");
    assert!(faces.is_empty(), "{faces:?}");
}

#[test]
fn two_astronauts_side_by_side_are_two_faces_one_in_each_half() {
    let faces = detect("two_astronauts");
    assert_eq!(faces.len(), 2, "{faces:?}");
    let mut centres: Vec<f32> = faces.iter().map(|f| f.x + f.width / 2.0).collect();
    centres.sort_by(f32::total_cmp);
    assert!(centres[0] < 192.0 && centres[1] > 192.0, "{centres:?}");
}

#[test]
fn a_small_off_centre_face_on_a_grey_wall_is_found_where_it_was_pasted() {
    let faces = detect("astronaut_small_on_wall");
    assert_eq!(faces.len(), 1, "{faces:?}");
    // Pasted at x 20..148, y 150..278 (a 128 px astronaut: its face is in the upper middle).
    let f = &faces[0];
    assert!(f.x > 20.0 && f.x + f.width < 148.0 && f.y > 150.0 && f.y + f.height < 214.0, "{f:?}");
}

/// The astronaut rotated 20° counter-clockwise on screen: the eye line follows, with the sign of a
/// counter-clockwise tilt (negative). YuNet's landmarks under-read a roll (about half at this face size):
/// the bound below is what the model gives, not the truth, and is recorded in the notes.
#[test]
fn a_rotated_astronaut_has_its_roll_measured_from_the_eye_line() {
    let upright = detect("astronaut")[0].roll_degrees();
    let faces = detect("astronaut_roll20");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let roll = faces[0].roll_degrees();
    let change = roll - upright;
    assert!((-20.0..-5.0).contains(&change), "rotated 20° counter-clockwise: roll {roll}, upright {upright}");
}

/// The same rotation measured by re-detecting in windows de-rotated around the estimate: within 4° of the 20°
/// applied (18.9° measured), where one detection's eye line reads 8°.
#[test]
fn measure_roll_recovers_the_rotation_applied() {
    let det = detector();
    let roll = |name: &str| {
        let (rgb, w, h) = image(name);
        let faces = det.detect(&rgb, w, h, &Options::default()).unwrap();
        det.measure_roll(&rgb, w, h, &faces[0], &Options::default()).unwrap()
    };
    let (upright, rotated) = (roll("astronaut"), roll("astronaut_roll20"));
    assert!(upright.abs() < 3.0, "upright: {upright}");
    assert!((rotated - upright + 20.0).abs() < 4.0, "rotated 20° counter-clockwise: {rotated}, upright {upright}");
}

#[test]
fn a_large_image_is_shrunk_and_its_faces_scaled_back() {
    // The astronaut 3× larger (768 × 768, nearest) with max_side 256: the same face, 3× the coordinates.
    let (rgb, w, h) = image("astronaut");
    let big: Vec<u8> = (0..h * 3)
        .flat_map(|y| (0..w * 3).flat_map(move |x| [0, 1, 2].map(|c| (y / 3 * w + x / 3) * 3 + c)))
        .map(|i| rgb[i])
        .collect();
    let options = Options { max_side: 256, ..Options::default() };
    let small = detector().detect(&rgb, w, h, &options).unwrap();
    let large = detector().detect(&big, w * 3, h * 3, &options).unwrap();
    assert_eq!(large.len(), 1);
    for (a, b) in small[0].landmarks.iter().zip(&large[0].landmarks) {
        assert!((a.x * 3.0 - b.x).abs() < 1.0 && (a.y * 3.0 - b.y).abs() < 1.0, "{a:?} {b:?}");
    }
}

/// Tiny, thin and extreme images run (the padding to 32 keeps every level at least one cell) and find nothing.
#[test]
fn odd_sizes_run_and_find_no_face_in_flat_grey() {
    let det = detector();
    for (w, h) in [(1, 1), (31, 33), (33, 1), (1, 700), (5000, 20), (64, 64)] {
        let grey = vec![128u8; w * h * 3];
        let faces = det.detect(&grey, w, h, &Options::default()).unwrap_or_else(|e| panic!("{w}×{h}: {e}"));
        assert!(faces.is_empty(), "{w}×{h}: {faces:?}");
    }
}

#[test]
fn bad_input_is_refused_not_guessed() {
    let det = detector();
    assert!(det.detect(&[0; 10], 2, 2, &Options::default()).is_err());
    assert!(det.detect(&[], 0, 0, &Options::default()).is_err());
    assert!(det.run(intake_faces::Tensor { dims: vec![1, 3, 30, 32], data: vec![0.0; 3 * 30 * 32] }).is_err());
    assert!(Detector::from_onnx(b"not a model").is_err());
}
