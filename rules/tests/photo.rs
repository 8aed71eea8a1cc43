//! Data-driven photo tests: pictures generated in code (`common::synth`),
//! one `check` helper, one line per rule.

mod common;

use common::synth::{self, Background, ExifSpec, PortraitSpec};
use intake_rules::Code;
use intake_rules::decode::{self, DecodeLimits};
use intake_rules::photo;
use intake_rules::profile::{PhotoProfile, ProfileSet};

fn default_profile() -> &'static PhotoProfile {
    ProfileSet::embedded().default_profile()
}

/// A 295×413 photo that meets the default profile, varied by `spec`.
fn standard(spec: PortraitSpec) -> Vec<u8> {
    synth::jpeg(&synth::portrait(&PortraitSpec { width: 295, height: 413, ..spec }), 90, None)
}

fn base() -> PortraitSpec {
    PortraitSpec { seed: 11, ..PortraitSpec::default() }
}

/// Checks `bytes` against `profile` and compares the set of codes found.
fn check(bytes: &[u8], profile: &PhotoProfile, expected: &[Code]) {
    let report = photo::check(bytes, profile);
    let mut found = report.codes();
    found.sort();
    found.dedup();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(found, want, "{report:#?}");
}

#[test]
fn a_standard_photo_passes_as_given() {
    check(&standard(base()), default_profile(), &[]);
}

#[test]
fn content_rules() {
    let p = default_profile();
    check(
        &standard(PortraitSpec { background: Background::Pattern, ..base() }),
        p,
        &[Code::PhotoBackgroundNotUniform, Code::PhotoBackgroundColour],
    );
    check(&standard(PortraitSpec { background: Background::Gray, ..base() }), p, &[Code::PhotoBackgroundColour]);
    check(&standard(PortraitSpec { background: Background::Red, ..base() }), p, &[Code::PhotoBackgroundColour]);
    check(&standard(PortraitSpec { grayscale: true, ..base() }), p, &[Code::PhotoNotColour]);
    check(&standard(PortraitSpec { gain: 0.2, ..base() }), p, &[Code::PhotoTooDark, Code::PhotoBackgroundColour]);
    check(&standard(PortraitSpec { blur_sigma: 3.0, ..base() }), p, &[Code::PhotoBlurry]);
    check(&standard(PortraitSpec { subject: false, ..base() }), p, &[Code::PhotoNoSubject]);
}

#[test]
fn geometry_rules() {
    let p = default_profile();
    check(&standard(PortraitSpec { offset_x: -0.2, scale: 0.8, ..base() }), p, &[Code::PhotoHeadPosition]);
    check(&standard(PortraitSpec { scale: 0.5, ..base() }), p, &[Code::PhotoHeadSize]);
    check(&standard(PortraitSpec { top: 0.3, ..base() }), p, &[Code::PhotoHeadPosition]);
}

#[test]
fn container_rules_are_fixable() {
    let p = default_profile();
    let big = synth::jpeg(
        &synth::portrait(&PortraitSpec { width: 1500, height: 2000, scale: 0.8, top: 0.1, ..base() }),
        92,
        None,
    );
    let report = photo::check(&big, p);
    for code in [Code::PhotoPixelsOverMaximum, Code::PhotoAspectRatio, Code::PhotoBytesOutOfRange] {
        let problem =
            report.problems().iter().find(|x| x.code == code).unwrap_or_else(|| panic!("{code}: {report:#?}"));
        assert!(problem.fixable, "{code} is fixable");
    }
    assert!(report.all_errors_fixable());
}

#[test]
fn too_small_is_refused_and_never_enlarged() {
    let small = synth::jpeg(&synth::portrait(&PortraitSpec { width: 290, height: 406, ..base() }), 92, None);
    let out = photo::fix(&small, default_profile());
    assert!(out.before.has(Code::PhotoTooSmall));
    assert!(out.output.is_none(), "a photo under the minimum is not enlarged");
}

#[test]
fn exif_rotated_gps_camera_photo_is_fixed_upright_without_metadata() {
    let upright = synth::portrait(&PortraitSpec { width: 1200, height: 1600, scale: 0.8, top: 0.12, ..base() });
    for orientation in [3u16, 6, 8] {
        let stored = synth::to_camera_orientation(&upright, orientation);
        let exif = synth::exif(&ExifSpec {
            orientation: Some(orientation),
            gps: Some(synth::XIAMEN),
            make: Some("Test"),
            model: None,
        });
        let bytes = synth::jpeg(&stored, 92, Some(&exif));
        let out = photo::fix(&bytes, default_profile());
        assert!(out.before.has(Code::PhotoExifRotated), "orientation {orientation}");
        let meta =
            out.before.problems().iter().find(|p| p.code == Code::PhotoMetadataPresent).expect("metadata warning");
        assert!(meta.message.en.contains("GPS"), "{}", meta.message.en);
        let fixed = out.output.expect("fixable");
        assert!(fixed.after.passes(), "orientation {orientation}: {:#?}", fixed.after);
        let d = decode::decode(&fixed.jpeg, &DecodeLimits::DEFAULT).unwrap();
        assert_eq!(d.raw.dimensions(), (295, 413));
        assert!(!d.metadata.any(), "no EXIF, no GPS in the output");
        // Upright: the top rows are background, the bottom rows are the jacket.
        let top: f32 = (0..295).map(|x| f32::from(d.raw.get_pixel(x, 2)[0])).sum::<f32>() / 295.0;
        let bottom: f32 = (0..40).map(|x| f32::from(d.raw.get_pixel(x, 410)[0])).sum::<f32>() / 40.0;
        assert!(top > 200.0 && bottom < 100.0, "orientation {orientation}: top {top}, bottom {bottom}");
    }
}

#[test]
fn fixed_output_is_deterministic_and_passes_every_profile_it_targets() {
    let bytes = synth::jpeg(
        &synth::portrait(&PortraitSpec { width: 1500, height: 2000, scale: 0.8, top: 0.1, ..base() }),
        92,
        None,
    );
    for profile in &ProfileSet::embedded().profiles {
        let out = photo::fix(&bytes, profile);
        let fixed = out.output.unwrap_or_else(|| panic!("{}: {:#?}", profile.id, out.before));
        assert_eq!((fixed.width, fixed.height), (profile.target_width, profile.target_height), "{}", profile.id);
        assert!(fixed.after.passes(), "{}: {:#?}", profile.id, fixed.after);
        assert!((profile.min_bytes..=profile.max_bytes).contains(&fixed.jpeg.len()), "{}", profile.id);
        let again = photo::fix(&bytes, profile).output.unwrap();
        assert_eq!(again.jpeg, fixed.jpeg, "{}: same input, same output", profile.id);
    }
}

#[test]
fn blue_background_passes_a_profile_that_allows_it() {
    let set = ProfileSet::embedded();
    let bytes = standard(PortraitSpec { background: Background::Blue, ..base() });
    check(&bytes, set.default_profile(), &[Code::PhotoBackgroundColour]);
    let blue = set.get("provincial-blue").unwrap();
    let fixed = photo::fix(&bytes, blue).output.expect("fixable under the blue profile");
    assert!(fixed.after.passes(), "{:#?}", fixed.after);
}

#[test]
fn every_problem_is_reported_at_once() {
    // Small, grey background, black and white, off centre: all of it, not the first.
    let bytes =
        standard(PortraitSpec { background: Background::Gray, grayscale: true, offset_x: 0.2, scale: 0.8, ..base() });
    let report = photo::check(&bytes, default_profile());
    for code in [Code::PhotoBackgroundColour, Code::PhotoHeadPosition, Code::PhotoNotColour] {
        assert!(report.has(code), "{code} missing: {report:#?}");
    }
}

#[test]
fn messages_carry_the_numbers_in_both_languages() {
    let small = synth::jpeg(&synth::portrait(&PortraitSpec { width: 200, height: 280, ..base() }), 92, None);
    let report = photo::check(&small, default_profile());
    let p = report.problems().iter().find(|p| p.code == Code::PhotoTooSmall).expect("too small");
    assert!(p.message.zh.contains("200×280") && p.message.zh.contains("295×413"), "{}", p.message.zh);
    assert!(p.message.en.contains("200×280") && p.message.en.contains("295×413"), "{}", p.message.en);
    assert!(!p.hint.zh.is_empty() && !p.hint.en.is_empty());
    assert!(!p.message.zh.contains('{') && !p.message.en.contains('{'), "every placeholder filled");
}
