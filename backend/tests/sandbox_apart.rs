//! Architecture invariant: the sandboxes live in a crate of their own (`intake-sandbox`,
//! `sandbox/`) that the backend's library never names, so nothing `intake serve` runs (the
//! library's router, stores, forwarder) can reach them: only the binary's `main.rs` (its `demo`
//! and `sandbox-platform` subcommands), the tests and the benches use them. Cargo has no
//! binary-only dependencies (the package's `[dependencies]` serve its library and binary alike),
//! so this reads the sources: an `intake_sandbox` anywhere in the library fails here with its file
//! and line. `sandbox_unreachable.rs` checks the same from outside, on the running binary.
//!
//! The dependency points one way: the sandbox crate depends on `intake-rules`, never on the
//! backend.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The names of the `mod name;` declarations (files of their own) in `file`, outside comments.
fn declared_modules(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default().trim())
        .filter_map(|l| l.strip_prefix("pub ").unwrap_or(l).strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(|name| name.trim().to_owned())
        .collect()
}

#[test]
fn the_library_never_names_the_sandbox_crate() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_modules = declared_modules(&src.join("lib.rs"));
    let bin_modules = declared_modules(&src.join("main.rs"));
    assert!(lib_modules.iter().any(|m| m == "app"), "lib.rs's modules were read: {lib_modules:?}");
    assert!(!lib_modules.iter().any(|m| m == "sandbox"), "the library has no sandbox module: {lib_modules:?}");
    assert!(!src.join("sandbox").exists(), "no backend/src/sandbox: the sandboxes are the intake-sandbox crate");
    let shared: Vec<_> = bin_modules.iter().filter(|m| lib_modules.contains(m)).collect();
    assert!(shared.is_empty(), "modules compiled into both the library and the binary: {shared:?}");

    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    let mut in_main = false;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let top = rel.split('/').next().unwrap_or_default().trim_end_matches(".rs");
        let binary_only = rel == "main.rs" || bin_modules.iter().any(|m| m == top);
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let names = code.contains("intake_sandbox") || code.contains("sandbox/src");
            if names && rel == "main.rs" {
                in_main = true;
            }
            if names && !binary_only {
                wrong.push(format!("{rel}:{} names the sandbox crate: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(in_main, "main.rs uses intake_sandbox (demo, sandbox-platform): the scan reads the right files");
    assert!(wrong.is_empty(), "the library reaches the sandboxes:\n{}", wrong.join("\n"));
}

#[test]
fn the_sandbox_crate_depends_on_the_rules_never_on_the_backend() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(value["package"]["name"].as_str(), Some("intake-sandbox"));
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = value.get(table).and_then(toml::Value::as_table) else { continue };
        let backend: Vec<_> =
            deps.keys().filter(|k| !matches!(k.as_str(), "intake-rules") && k.starts_with("intake")).collect();
        assert!(backend.is_empty(), "sandbox/Cargo.toml [{table}] names {backend:?}: only intake-rules is allowed");
    }
    assert!(value["dependencies"].get("intake-rules").is_some(), "the sandbox checks parts with the rules");
}
