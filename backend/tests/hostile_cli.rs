//! The hostile corpora (`tests/fixtures/hostile/*/expected.json`) through `intake check <kind>
//! FILE --json --fix OUT`: every file reports exactly its codes and passes or not as the table
//! says; every written output is clean under the independent walker (a JPEG: no APPn but JFIF,
//! no COM, no JPGn, nothing after EOI, one image, decodes; a PDF: nothing after its last `%%EOF`).

#[path = "../../rules/tests/common/walker.rs"]
mod walker;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile")
}

fn cases() -> Vec<Value> {
    let mut dirs: Vec<_> =
        std::fs::read_dir(hostile()).expect("hostile dir").map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        if let Ok(text) = std::fs::read(dir.join("expected.json")) {
            let table: Value = serde_json::from_slice(&text).expect("table");
            out.extend(table["files"].as_array().expect("files").iter().cloned());
        }
    }
    out
}

#[test]
fn intake_check_reports_every_hostile_files_codes_and_writes_only_clean_outputs() {
    let dir = std::env::temp_dir().join(format!("intake-hostile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let rel = case["file"].as_str().unwrap();
        // `intake check` has no separate kind for supporting files: they get the work certificate's check.
        let kind = match case["kind"].as_str().unwrap() {
            "supporting" => "work-certificate",
            k => k,
        };
        let file = hostile().join(rel);
        let want: BTreeSet<String> =
            case["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        let accepted = case["accepted"].as_bool().unwrap();
        // As given.
        let out = Command::new(env!("CARGO_BIN_EXE_intake"))
            .args(["check", kind, file.to_str().unwrap(), "--json"])
            .output()
            .expect("intake runs");
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{rel}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        let found: BTreeSet<String> =
            v["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect();
        if found != want {
            failures.push(format!("{rel} as {kind}: expected {want:?}, found {found:?}"));
        }
        if (out.status.code() == Some(0)) != accepted {
            failures.push(format!("{rel}: exit {:?}, accepted {accepted}", out.status.code()));
        }
        // With --fix: whatever is written is clean.
        let target = dir.join(format!("out-{i}"));
        let _ = std::fs::remove_file(&target);
        let fixed = Command::new(env!("CARGO_BIN_EXE_intake"))
            .args(["check", kind, file.to_str().unwrap(), "--json", "--fix", target.to_str().unwrap()])
            .output()
            .expect("intake runs");
        let v: Value = serde_json::from_slice(&fixed.stdout).expect("json");
        if let Ok(bytes) = std::fs::read(&target) {
            let media = v["fixed"]["media_type"].as_str().unwrap_or("");
            let verdict = match media {
                "image/jpeg" => walker::clean_jpeg(&bytes),
                "application/pdf" => {
                    let last = bytes.windows(5).rposition(|w| w == b"%%EOF");
                    match last {
                        Some(at) if bytes[at + 5..].iter().all(u8::is_ascii_whitespace) => Ok(()),
                        _ => Err("bytes after the last %%EOF".to_owned()),
                    }
                }
                other => Err(format!("media type {other:?}")),
            };
            if let Err(e) = verdict {
                failures.push(format!("{rel}: --fix output not clean: {e}"));
            }
        } else if accepted && kind != "photo" {
            failures.push(format!("{rel}: accepted but --fix wrote nothing"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}
