//! Architecture Invariant: the reducer (`widget/src/state.rs`) calls no web API, so all of the
//! flow's logic runs and is tested natively. Read from the source: state.rs and every module of
//! this crate it uses (followed through their own `crate::` uses) name no web crate (`web_sys`,
//! `js_sys`, `wasm_bindgen*`, `gloo*`), nothing of `yew` but the `Reducible` trait, and none of the
//! modules that talk to the browser (`imaging`, `draft`, `api`, `app`).

use std::collections::BTreeSet;
use std::path::Path;

const WEB_CRATES: [&str; 4] = ["web_sys", "js_sys", "wasm_bindgen", "gloo"];
const BROWSER_MODULES: [&str; 4] = ["imaging", "draft", "api", "app"];

/// `source` without its comments (line and block), so prose may name anything.
fn code_of(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else if let Some(r) = rest.strip_prefix('"') {
            // A string literal: kept as an empty one (it may hold `//`).
            let mut end = 0;
            let bytes = r.as_bytes();
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Every identifier-like word of `code` followed by `::` (path segments), with its position.
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && (is_ident(bytes[i]) || (bytes[i] == b':' && bytes.get(i + 1) == Some(&b':'))) {
                i += if bytes[i] == b':' { 2 } else { 1 };
            }
            found.push(code[start..i].trim_end_matches(':').to_owned());
        } else {
            i += 1;
        }
    }
    found
}

/// What is wrong with one module's code: web crates, yew beyond `Reducible`, browser modules.
fn offences(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths(code) {
        let first = p.split("::").next().unwrap_or_default();
        if WEB_CRATES.iter().any(|w| first == *w || first.starts_with(&format!("{w}_"))) {
            out.push(p.clone());
        }
        if first == "yew" && p != "yew::Reducible" {
            out.push(p.clone());
        }
        let local = p.strip_prefix("crate::").or_else(|| p.strip_prefix("super::"));
        if let Some(m) = local.and_then(|l| l.split("::").next())
            && BROWSER_MODULES.contains(&m)
        {
            out.push(p.clone());
        }
    }
    // `use yew::{Reducible, html}` and the like: the braces of a `yew` use.
    for (at, _) in code.match_indices("yew::{") {
        let group = &code[at + 6..code[at..].find('}').map_or(code.len(), |e| at + e)];
        for item in group.split(',').map(str::trim).filter(|s| !s.is_empty() && *s != "Reducible") {
            out.push(format!("yew::{item}"));
        }
    }
    // `use crate::{imaging, …}`.
    for (at, _) in code.match_indices("crate::{") {
        let group = &code[at + 8..code[at..].find('}').map_or(code.len(), |e| at + e)];
        for item in group.split(',').map(|s| s.trim().split("::").next().unwrap_or_default()) {
            if BROWSER_MODULES.contains(&item) {
                out.push(format!("crate::{item}"));
            }
        }
    }
    out
}

/// The crate-local modules `code` uses (`crate::x::…` and `crate::{x, …}`).
fn local_modules(code: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = paths(code)
        .iter()
        .filter_map(|p| p.strip_prefix("crate::").and_then(|l| l.split("::").next()).map(str::to_owned))
        .filter(|m| !m.is_empty())
        .collect();
    for (at, _) in code.match_indices("crate::{") {
        let group = &code[at + 8..code[at..].find('}').map_or(code.len(), |e| at + e)];
        out.extend(group.split(',').map(|s| s.trim().split("::").next().unwrap_or_default().to_owned()));
    }
    out.retain(|m| !m.is_empty());
    out
}

fn module_file(src: &Path, name: &str) -> Option<std::path::PathBuf> {
    [src.join(format!("{name}.rs")), src.join(name).join("mod.rs")].into_iter().find(|p| p.is_file())
}

#[test]
fn state_rs_and_the_modules_it_uses_call_no_web_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = BTreeSet::new();
    let mut todo = vec!["state".to_owned()];
    let mut problems = Vec::new();
    while let Some(m) = todo.pop() {
        if !seen.insert(m.clone()) {
            continue;
        }
        // The crate root (`crate::profile_summary`, …) is lib.rs: its items are looked at by name.
        let Some(file) = module_file(&src, &m) else { continue };
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        problems.extend(offences(&code).into_iter().map(|o| format!("{}: {o}", file.display())));
        todo.extend(local_modules(&code));
    }
    assert!(seen.contains("state") && seen.contains("checked"), "followed state.rs's own uses: {seen:?}");
    assert!(problems.is_empty(), "web APIs reachable from the reducer:\n{}", problems.join("\n"));
}

#[test]
fn the_check_finds_what_it_looks_for() {
    let bad = code_of(
        "use crate::imaging::{ImageResult};\nuse web_sys::Url;\nuse yew::{Reducible, html};\n\
         use crate::{draft, model};\nfn f() { js_sys::Date::now(); wasm_bindgen_futures::spawn_local(async {}); }\n\
         // web_sys in a comment is fine\nconst S: &str = \"gloo::x\";\n",
    );
    let found = offences(&bad);
    for expected in [
        "crate::imaging",
        "web_sys::Url",
        "yew::html",
        "crate::draft",
        "js_sys::Date::now",
        "wasm_bindgen_futures::spawn_local",
    ] {
        assert!(found.iter().any(|f| f.starts_with(expected)), "{expected} not found in {found:?}");
    }
    assert!(!found.iter().any(|f| f.starts_with("gloo")), "strings and comments do not count: {found:?}");
    assert!(offences(&code_of("use yew::Reducible;\nuse crate::model::Me;\n")).is_empty());
    assert_eq!(local_modules(&bad), BTreeSet::from(["imaging".to_owned(), "draft".to_owned(), "model".to_owned()]));
}
