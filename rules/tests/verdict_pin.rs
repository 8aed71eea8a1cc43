//! Every image of the fixture corpus (`tests/fixtures`: documents, photos, files, hostile images),
//! checked as an ID card side, as a work certificate and as a standard photo, and every ordered pair
//! of the decodable ones through the pair check, against the verdict codes pinned in
//! `rules/tests/data/verdicts.json` (issue 16). The snapshot was written with the code *before* the
//! document working copy and statistics were made faster (`INTAKE_PIN_WRITE=1 cargo test -p
//! intake-rules --test verdict_pin` rewrites it); a faster path must give the same codes on every file.

mod common;

use std::collections::BTreeMap;

use common::corpus::{read, root};
use intake_rules::document::{self, DocumentKind, ProcessedDocument};
use intake_rules::profile::ProfileSet;
use intake_rules::{attachment, photo};
use serde_json::{Value, json};

fn images() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["document", "photo", "file", "hostile/images"] {
        let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
            .expect("fixture dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".jpg") || n.ends_with(".jpeg") || n.ends_with(".png"))
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    out
}

fn codes(report: &intake_rules::report::Report) -> Vec<String> {
    let mut c: Vec<String> = report.codes().iter().map(|c| c.as_str().to_owned()).collect();
    c.sort();
    c
}

fn verdicts() -> Value {
    let profile = ProfileSet::embedded().default_profile();
    let mut files = BTreeMap::new();
    let mut fronts: Vec<(String, ProcessedDocument)> = Vec::new();
    let mut backs: Vec<(String, ProcessedDocument)> = Vec::new();
    for rel in images() {
        let bytes = read(&rel);
        let front = document::check(DocumentKind::IdFront, &bytes);
        let back = document::check(DocumentKind::IdBack, &bytes);
        let v = json!({
            "id_front": codes(&front.report),
            "id_back": codes(&back.report),
            "work_certificate": codes(&attachment::check("work_certificate", &bytes).report),
            "photo": codes(&photo::check(&bytes, profile)),
        });
        files.insert(rel.clone(), v);
        if let (Some(f), Some(b)) = (front.output, back.output) {
            fronts.push((rel.clone(), f));
            backs.push((rel, b));
        }
    }
    let mut pairs = BTreeMap::new();
    for (a, f) in &fronts {
        for (b, s) in &backs {
            if a != b {
                let mut c: Vec<String> =
                    document::check_pair(f, s).iter().map(|p| p.code.as_str().to_owned()).collect();
                c.sort();
                if !c.is_empty() {
                    pairs.insert(format!("{a} + {b}"), c);
                }
            }
        }
    }
    json!({ "files": files, "pairs_with_problems": pairs, "pairs_checked": fronts.len() * (fronts.len() - 1) })
}

#[test]
fn every_corpus_image_keeps_its_pinned_verdicts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verdicts.json");
    let found = verdicts();
    if std::env::var_os("INTAKE_PIN_WRITE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&found).expect("json") + "\n").expect("write snapshot");
        return;
    }
    let pinned: Value = serde_json::from_slice(&std::fs::read(&path).expect("verdicts.json")).expect("json");
    assert!(pinned["files"].as_object().expect("files").len() >= 60, "the whole corpus is pinned");
    let mut diffs = Vec::new();
    for (rel, want) in pinned["files"].as_object().expect("files") {
        let got = &found["files"][rel];
        if got != want {
            diffs.push(format!("{rel}: pinned {want}, found {got}"));
        }
    }
    for rel in found["files"].as_object().expect("files").keys() {
        if pinned["files"].get(rel).is_none() {
            diffs.push(format!("{rel}: not pinned (rewrite the snapshot with the code before a change)"));
        }
    }
    let (want, got) = (&pinned["pairs_with_problems"], &found["pairs_with_problems"]);
    let mut keys: Vec<&String> = want.as_object().expect("pairs").keys().collect();
    keys.extend(got.as_object().expect("pairs").keys());
    keys.sort();
    keys.dedup();
    for key in keys {
        if want.get(key) != got.get(key) {
            diffs.push(format!("pair {key}: pinned {:?}, found {:?}", want.get(key), got.get(key)));
        }
    }
    if found["pairs_checked"] != pinned["pairs_checked"] {
        diffs.push(format!("pairs checked: pinned {}, found {}", pinned["pairs_checked"], found["pairs_checked"]));
    }
    assert!(diffs.is_empty(), "{} verdict(s) changed:\n{}", diffs.len(), diffs.join("\n"));
}
