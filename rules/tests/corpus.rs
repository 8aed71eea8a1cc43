//! The committed fixture corpus (`tests/fixtures`) against the hand-written
//! verdicts in `tests/fixtures/expected.json`.

mod common;

use std::collections::BTreeSet;

use common::corpus::{doc_kind, expected, read};
use intake_rules::document;
use intake_rules::profile::ProfileSet;
use intake_rules::{attachment, decode, jpeg, photo};
use serde_json::Value;

fn codes(v: &Value) -> BTreeSet<String> {
    v.as_array().expect("codes").iter().map(|c| c.as_str().expect("code").to_owned()).collect()
}

#[test]
fn every_fixture_gets_exactly_its_expected_codes() {
    let set = ProfileSet::embedded();
    let mut failures = Vec::new();
    let files = expected()["files"].as_array().expect("files").clone();
    assert!(files.len() >= 40, "the corpus is complete");
    for case in &files {
        let rel = case["file"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        let bytes = read(rel);
        let want = codes(&case["codes"]);
        let (found, fix_ok) = match kind {
            "photo" => {
                let profile = case["profile"].as_str().map_or(set.default_profile(), |p| set.get(p).expect("profile"));
                let out = photo::fix(&bytes, profile);
                let fixed = out.output.map(|f| {
                    // The fixed output: exact pixels, in the byte range, no metadata, and passes.
                    let d = decode::decode(&f.jpeg, &decode::DecodeLimits::DEFAULT).expect("fixed output decodes");
                    assert_eq!(d.raw.dimensions(), (profile.target_width, profile.target_height), "{rel}");
                    assert!(!d.metadata.any() && !jpeg::has_metadata_segments(&f.jpeg), "{rel}: metadata left");
                    assert!((profile.min_bytes..=profile.max_bytes).contains(&f.jpeg.len()), "{rel}: bytes");
                    f.after.passes()
                });
                (out.before.codes().iter().map(|c| c.as_str().to_owned()).collect::<BTreeSet<_>>(), fixed)
            }
            "work-certificate" => {
                let out = attachment::check("work_certificate", &bytes);
                (out.report.codes().iter().map(|c| c.as_str().to_owned()).collect(), None)
            }
            other => {
                let out = document::check(doc_kind(other).expect("document kind"), &bytes);
                (out.report.codes().iter().map(|c| c.as_str().to_owned()).collect(), None)
            }
        };
        if found != want {
            failures.push(format!("{rel} as {kind}: expected {want:?}, found {found:?}"));
        }
        match case["fix"].as_str() {
            Some("passes") if fix_ok != Some(true) => {
                failures.push(format!("{rel}: the fix must pass, got {fix_ok:?}"));
            }
            Some("refused") if fix_ok.is_some() => failures.push(format!("{rel}: the fix must be refused")),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn document_pairs() {
    let mut failures = Vec::new();
    for case in expected()["pairs"].as_array().expect("pairs") {
        let first = case["first"].as_str().unwrap();
        let second = case["second"].as_str().unwrap();
        let kinds = case["kinds"].as_array().unwrap();
        let a = document::check(doc_kind(kinds[0].as_str().unwrap()).expect("document kind"), &read(first))
            .output
            .expect("decodes");
        let b = document::check(doc_kind(kinds[1].as_str().unwrap()).expect("document kind"), &read(second))
            .output
            .expect("decodes");
        let found: BTreeSet<String> = document::check_pair(&a, &b).iter().map(|p| p.code.as_str().to_owned()).collect();
        let want = codes(&case["codes"]);
        if found != want {
            failures.push(format!("{first} + {second}: expected {want:?}, found {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
