//! Architecture Invariant: the reducer (`widget/src/state/`) calls no web API, so all of the
//! flow's logic runs and is tested natively. Read from the source: every file of `state/` (its
//! `mod.rs` and each submodule it declares, followed through their `mod` declarations) and every
//! module of this crate they use (followed through their own `crate::` uses, each with its own
//! submodules) name no web crate (`web_sys`, `js_sys`, `wasm_bindgen*`, `gloo*`), nothing of `yew`
//! but the `Reducible` trait, and none of the modules that talk to the browser (`imaging`, `draft`,
//! `api`, `app`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
        // `super::x` (or `super::super::x`) from a submodule as well as `crate::x`.
        let mut local = p.strip_prefix("crate::");
        let mut up = p.as_str();
        while let Some(r) = up.strip_prefix("super::") {
            up = r;
            local = Some(r);
        }
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

fn module_file(src: &Path, name: &str) -> Option<PathBuf> {
    [src.join(format!("{name}.rs")), src.join(name).join("mod.rs")].into_iter().find(|p| p.is_file())
}

/// The submodules `code` declares from a file (`mod x;`, `pub(crate) mod x;`, `#[cfg(test)] mod x;`;
/// not `mod x { … }`, whose code is the file's own).
fn declared_modules(code: &str) -> Vec<String> {
    let words: Vec<&str> =
        code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ';' || c == '{')).collect();
    let mut out = Vec::new();
    for w in words.windows(2) {
        if w[0] == "mod"
            && let Some(name) = w[1].strip_suffix(';')
            && !name.is_empty()
        {
            out.push(name.to_owned());
        }
    }
    // `mod x ;` (a space before the semicolon).
    for w in words.windows(3) {
        if w[0] == "mod" && !w[1].is_empty() && w[2].starts_with(';') && !w[1].contains(';') {
            out.push(w[1].to_owned());
        }
    }
    out
}

/// Where the submodule `name` of the module in `file` lives: next to `mod.rs`, or under the
/// directory named after a non-`mod.rs` file.
fn submodule_file(file: &Path, name: &str) -> Option<PathBuf> {
    let dir = match file.file_stem().and_then(|s| s.to_str()) {
        Some("mod") => file.parent()?.to_path_buf(),
        Some(stem) => file.parent()?.join(stem),
        None => return None,
    };
    [dir.join(format!("{name}.rs")), dir.join(name).join("mod.rs")].into_iter().find(|p| p.is_file())
}

/// Every file of the crate-level module `name` (its own and, through their `mod` declarations,
/// its submodules'), or none when it has no file (the crate root's items, looked at by name).
fn module_files(src: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = module_file(src, name).into_iter().collect();
    while let Some(file) = todo.pop() {
        if out.contains(&file) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        todo.extend(declared_modules(&code).iter().filter_map(|m| submodule_file(&file, m)));
        out.push(file);
    }
    out
}

/// From the module `start`: every module reached, every file read, and what is wrong in them.
fn walk(src: &Path, start: &str) -> (BTreeSet<String>, Vec<PathBuf>, Vec<String>) {
    let mut seen = BTreeSet::new();
    let mut read = Vec::new();
    let mut todo = vec![start.to_owned()];
    let mut problems = Vec::new();
    while let Some(m) = todo.pop() {
        if !seen.insert(m.clone()) {
            continue;
        }
        for file in module_files(src, &m) {
            let code = code_of(&std::fs::read_to_string(&file).unwrap());
            problems.extend(offences(&code).into_iter().map(|o| format!("{}: {o}", file.display())));
            todo.extend(local_modules(&code));
            read.push(file);
        }
    }
    (seen, read, problems)
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_state_module_and_the_modules_it_uses_call_no_web_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (seen, read, problems) = walk(&src, "state");
    assert!(seen.contains("state") && seen.contains("checked"), "followed state's own uses: {seen:?}");
    // Every file of `state/` was read, not only its `mod.rs`.
    let state_files = rust_files(&src.join("state"));
    assert!(state_files.len() > 1 && state_files.iter().any(|f| f.ends_with("state/mod.rs")), "{state_files:?}");
    for f in &state_files {
        assert!(read.contains(f), "{} is part of the reducer and was not read: {read:?}", f.display());
    }
    assert!(problems.is_empty(), "web APIs reachable from the reducer:\n{}", problems.join("\n"));
}

/// A module directory whose `mod.rs` is clean but one of whose submodules (declared in the
/// ways a module can be) imports a web crate or a browser module: the walk reads every one.
#[test]
fn a_web_api_in_any_submodule_is_found() {
    let src = std::env::temp_dir().join(format!("intake-state-is-pure-{}", std::process::id()));
    let state = src.join("state");
    std::fs::create_dir_all(state.join("nested")).unwrap();
    let write = |p: &Path, s: &str| std::fs::write(p, s).unwrap();
    write(
        &state.join("mod.rs"),
        "//! mod hidden;\nmod clean;\npub(crate) mod nested;\n#[cfg(test)]\nmod tests;\nmod inline { }\nuse yew::Reducible;\n",
    );
    write(&state.join("clean.rs"), "use super::State;\nuse crate::model::Me;\n");
    write(&state.join("tests.rs"), "use super::super::imaging::Imaging;\n");
    write(&state.join("nested").join("mod.rs"), "mod deep;\n");
    write(&state.join("nested").join("deep.rs"), "use web_sys::Url;\n");
    write(&state.join("hidden.rs"), "use gloo::x;\n");
    write(&src.join("model.rs"), "use wasm_bindgen::JsValue;\n");
    let (seen, read, problems) = walk(&src, "state");
    std::fs::remove_dir_all(&src).unwrap();
    assert_eq!(seen, BTreeSet::from(["state".to_owned(), "model".to_owned()]));
    assert_eq!(read.len(), 6, "mod.rs, clean, nested/mod.rs, nested/deep, tests, model.rs: {read:?}");
    for expected in ["deep.rs: web_sys::Url", "tests.rs: super::super::imaging", "model.rs: wasm_bindgen::JsValue"] {
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected} not in {problems:?}");
    }
    // Only what the compiler compiles: a `mod` in a comment declares nothing.
    assert!(!problems.iter().any(|p| p.contains("gloo")), "{problems:?}");
    assert_eq!(problems.len(), 3, "{problems:?}");
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
