//! Architecture Invariant: `intake-rules` does no IO, no async and depends on
//! no web crate. This test fails when its normal dependency tree gains one.

use std::process::Command;

const FORBIDDEN: &[&str] =
    &["tokio", "warp", "hyper", "yew", "web-sys", "js-sys", "wasm-bindgen", "gloo", "reqwest", "async-std", "futures"];

#[test]
fn rules_has_no_io_async_or_web_dependencies() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "intake-rules", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).expect("utf-8");
    let names: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"image"), "the tree was read (image is a known dependency): {tree}");
    for name in &names {
        assert!(!FORBIDDEN.contains(name), "intake-rules must not depend on {name}:\n{tree}");
    }
}
