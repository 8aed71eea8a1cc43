//! Writes one synthetic camera-like picture, for the browser tests and for trying the widget by hand:
//! `cargo run -p intake-rules --example synth -- <kind> <out>`.
//!
//! Kinds: `camera-12mp` (4000×3000 stored, EXIF orientation 6, Xiamen GPS, make/model, 4:2:0, quality 92)
//! `camera-1.4mp` (1440×1080 stored, same metadata) and `camera-1.4mp-far` (the same, the person farther
//! away and off to one side). Both come from `rules/tests/common/synth.rs`, so
//! they are the same bytes on every machine.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out] = args.as_slice() else {
        eprintln!("usage: synth <camera-12mp|camera-1.4mp> <out.jpg>");
        return ExitCode::from(2);
    };
    let bytes = match kind.as_str() {
        "camera-12mp" => synth::camera_photo_12mp(7),
        "camera-1.4mp" => synth::camera_photo_1_4mp(7),
        "camera-1.4mp-far" => synth::camera_photo_1_4mp_far(7),
        other => {
            eprintln!("synth: unknown kind {other:?} (camera-12mp, camera-1.4mp, camera-1.4mp-far)");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("synth: cannot write {out}: {e}");
        return ExitCode::from(1);
    }
    println!("{kind}: {} bytes -> {out}", bytes.len());
    ExitCode::SUCCESS
}
