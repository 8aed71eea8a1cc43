//! Architecture invariant: the backend's modules point one way. `app` (wiring: stores, the serve
//! loop, the forwarder's start) may use everything; nothing points back at it. `api` may use the
//! layers below (identity, store, metrics, net) but none of them uses `api`. Read from the
//! sources, so a `use crate::app::…` added anywhere fails here with its file and line. Also the
//! file-size rule: no source file over 800 lines.

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

/// Every `crate::<module>` path in `file` outside comments, as (line number, module).
fn uses(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let module: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push((i + 1, module));
        }
    }
    out
}

#[test]
fn nothing_points_back_at_app_and_the_lower_layers_never_use_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "the sources were found ({})", files.len());
    let lower = ["identity.rs", "store", "metrics.rs", "net.rs", "forwarder.rs", "platform.rs", "config.rs"];
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let is_app = rel == "app.rs" || rel == "main.rs" || rel == "lib.rs";
        let is_lower = lower.iter().any(|l| rel == *l || rel.starts_with(&format!("{l}/")));
        for (line, module) in uses(f) {
            if (module == "app" && !is_app) || (module == "api" && is_lower) {
                wrong.push(format!("{rel}:{line} uses crate::{module}"));
            }
        }
    }
    assert!(wrong.is_empty(), "modules pointing the wrong way:\n{}", wrong.join("\n"));
}

/// The file-size rule (issue 15): no source file of the backend or of the sandbox crate over 800
/// lines, tests included; a file that grows past it is split along a seam of its own.
#[test]
fn no_source_file_is_over_800_lines() {
    const MOST: usize = 800;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&manifest.join("src"), &mut files);
    sources(&manifest.join("../sandbox/src"), &mut files);
    assert!(files.iter().any(|f| f.ends_with("sandbox/src/lib.rs")), "the sandbox crate's sources were read");
    let mut long = Vec::new();
    for f in &files {
        let lines = std::fs::read_to_string(f).unwrap().lines().count();
        if lines > MOST {
            long.push(format!("{}: {lines} lines", f.display()));
        }
    }
    assert!(long.is_empty(), "files over {MOST} lines:\n{}", long.join("\n"));
}
