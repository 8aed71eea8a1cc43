//! `intake check <kind> FILE [--profile NAME] [--fix OUT] [--json]`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use intake_rules::document::{self, DocumentKind};
use intake_rules::profile::ProfileSet;
use intake_rules::report::{Problem, Report};
use intake_rules::{attachment, photo};
use serde_json::json;

/// What the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// The standard photo, against a spec profile.
    Photo,
    /// ID card portrait side.
    IdFront,
    /// ID card national-emblem side.
    IdBack,
    /// Passport personal-information page.
    PassportInfo,
    /// Passport validity page.
    PassportValidity,
    /// Work certificate (JPEG, PNG or PDF).
    WorkCertificate,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// What the file is.
    #[arg(value_enum)]
    kind: Kind,
    /// The file to check.
    file: PathBuf,
    /// Photo spec profile id (default: the active profile; see `intake profiles`).
    #[arg(long)]
    profile: Option<String>,
    /// Write the fixed (photo) or re-encoded (documents) file here.
    #[arg(long, value_name = "OUT")]
    fix: Option<PathBuf>,
    /// Print the report in the API's error-envelope shape.
    #[arg(long)]
    json: bool,
}

/// Largest file read: one byte over the biggest limit any rule accepts, so
/// an oversized file is reported as too large without reading all of it.
const READ_CAP: u64 = 20 * 1024 * 1024 + 1;

/// The result of one check, before printing.
struct Outcome {
    report: Report,
    fixed: Option<Fixed>,
}

struct Fixed {
    bytes: Vec<u8>,
    media_type: &'static str,
    width: Option<u32>,
    height: Option<u32>,
    quality: Option<u8>,
    after: Option<Report>,
}

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let set = ProfileSet::embedded();
    let profile = match &args.profile {
        None => set.default_profile(),
        Some(id) => match set.get(id) {
            Some(p) => p,
            None => {
                let known: Vec<&str> = set.profiles.iter().map(|p| p.id.as_str()).collect();
                return fail(&format!("unknown profile {id:?}; known: {}", known.join(", ")));
            }
        },
    };
    let bytes = match read_capped(&args.file) {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot read {}: {e}", args.file.display())),
    };
    let outcome = match args.kind {
        Kind::Photo => {
            let out = photo::fix(&bytes, profile);
            let fixed = out.output.map(|f| Fixed {
                bytes: f.jpeg,
                media_type: "image/jpeg",
                width: Some(f.width),
                height: Some(f.height),
                quality: Some(f.quality),
                after: Some(f.after),
            });
            Outcome { report: out.before, fixed }
        }
        Kind::IdFront | Kind::IdBack | Kind::PassportInfo | Kind::PassportValidity => {
            let kind = match args.kind {
                Kind::IdFront => DocumentKind::IdFront,
                Kind::IdBack => DocumentKind::IdBack,
                Kind::PassportInfo => DocumentKind::PassportInfo,
                _ => DocumentKind::PassportValidity,
            };
            let out = document::check(kind, &bytes);
            let ok = out.report.passes();
            let fixed = out.output.filter(|_| ok).map(|d| Fixed {
                bytes: d.jpeg,
                media_type: "image/jpeg",
                width: Some(d.width),
                height: Some(d.height),
                quality: Some(document::OUTPUT_QUALITY),
                after: None,
            });
            Outcome { report: out.report, fixed }
        }
        Kind::WorkCertificate => {
            let out = attachment::check("work_certificate", &bytes);
            let fixed = out.output.map(|a| Fixed {
                bytes: a.bytes,
                media_type: a.media_type,
                width: None,
                height: None,
                quality: None,
                after: None,
            });
            Outcome { report: out.report, fixed }
        }
    };

    let mut written = None;
    if let (Some(path), Some(fixed)) = (&args.fix, &outcome.fixed) {
        if let Err(e) = std::fs::write(path, &fixed.bytes) {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
        written = Some(path.clone());
    }
    // With --fix the verdict is the written file's; without, the file's as given.
    let passes = match (&args.fix, &outcome.fixed) {
        (Some(_), Some(f)) => f.after.as_ref().is_none_or(Report::passes),
        (Some(_), None) => false,
        (None, _) => outcome.report.passes(),
    };
    let text = if args.json {
        let faces = (args.kind == Kind::Photo).then(|| faces_report(&bytes));
        json_report(&outcome, passes, written.as_ref(), profile.id.as_str(), args.kind, faces.as_ref())
    } else {
        human_report(&outcome, passes, written.as_ref(), &args.file, profile.id.as_str())
    };
    let _ = emit(&text);
    if passes { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(READ_CAP).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The faces in the photo as given, seen upright, in the file's upright pixel coordinates: boxes, scores,
/// the five landmarks, the eye line's roll and the roll measured by [`intake_faces::Detector::measure_roll`].
/// Not yet part of the verdict (issue 14's next phase wires `photo.no_face` and friends into `photo::check`).
fn faces_report(bytes: &[u8]) -> serde_json::Value {
    use intake_rules::decode::{self, DecodeLimits};
    use intake_rules::resample::{Rect, area_resize_oriented};
    let decoded = match decode::decode(bytes, &DecodeLimits::DEFAULT) {
        Ok(d) => d,
        Err(e) => return json!({ "error": format!("not decoded: {e:?}") }),
    };
    let detector = match intake_faces::Detector::new() {
        Ok(d) => d,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let options = intake_faces::Options::default();
    // Upright, and shrunk to the detector's working size in the same pass (area average).
    let (uw, uh) = decoded.upright_dimensions();
    let (rw, rh) = decoded.raw.dimensions();
    let max_side = u32::try_from(options.max_side).unwrap_or(u32::MAX);
    let scale = (f64::from(uw.max(uh)) / f64::from(max_side)).max(1.0);
    let (sw, sh) = (((f64::from(rw) / scale).round() as u32).max(1), ((f64::from(rh) / scale).round() as u32).max(1));
    let full = Rect { x: 0.0, y: 0.0, w: rw as f32, h: rh as f32 };
    let upright = area_resize_oriented(&decoded.raw, full, sw, sh, decoded.orientation);
    let (w, h) = (upright.width() as usize, upright.height() as usize);
    let (fx, fy) = (uw as f32 / w as f32, uh as f32 / h as f32);
    let found = match detector.detect(upright.as_raw(), w, h, &options) {
        Ok(f) => f,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let point = |p: intake_faces::Point| json!([p.x * fx, p.y * fy]);
    let faces: Vec<serde_json::Value> = found
        .iter()
        .map(|f| {
            let measured = detector.measure_roll(upright.as_raw(), w, h, f, &options).ok();
            let l = f.landmarks;
            json!({
                "box": { "x": f.x * fx, "y": f.y * fy, "width": f.width * fx, "height": f.height * fy },
                "score": f.score,
                "landmarks": {
                    "right_eye": point(l[0]),
                    "left_eye": point(l[1]),
                    "nose": point(l[2]),
                    "mouth_right": point(l[3]),
                    "mouth_left": point(l[4]),
                },
                "eye_distance": f.eye_distance() * fx,
                "eye_line_roll_degrees": f.roll_degrees(),
                "roll_degrees": measured,
            })
        })
        .collect();
    json!({
        "model": "YuNet-n (libfacedetection.train yunet_n_dynamic.onnx, Apache-2.0)",
        "detected_at": [w, h],
        "score_threshold": options.score_threshold,
        "count": faces.len(),
        "faces": faces,
    })
}

fn json_report(
    o: &Outcome,
    passes: bool,
    written: Option<&PathBuf>,
    profile: &str,
    kind: Kind,
    faces: Option<&serde_json::Value>,
) -> String {
    let fixed = o.fixed.as_ref().map(|f| {
        json!({
            "path": written.map(|p| p.display().to_string()),
            "media_type": f.media_type,
            "bytes": f.bytes.len(),
            "width": f.width,
            "height": f.height,
            "quality": f.quality,
            "errors": f.after.as_ref().map(|r| r.problems().to_vec()),
        })
    });
    let value = json!({
        "errors": o.report.problems(),
        "passes": passes,
        "kind": format!("{kind:?}"),
        "profile": (kind == Kind::Photo).then_some(profile),
        "fixed": fixed,
        "faces": faces,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn human_report(o: &Outcome, passes: bool, written: Option<&PathBuf>, file: &Path, profile: &str) -> String {
    let mut s = format!(
        "{}: {} (profile {profile})\n",
        file.display(),
        if o.report.passes() { "通过 PASS" } else { "未通过 FAIL" }
    );
    push_problems(&mut s, o.report.problems());
    if let (Some(path), Some(f)) = (written, &o.fixed) {
        let dims = match (f.width, f.height) {
            (Some(w), Some(h)) => format!(", {w}×{h}"),
            _ => String::new(),
        };
        let q = f.quality.map(|q| format!(", quality {q}")).unwrap_or_default();
        s.push_str(&format!(
            "fixed → {} ({}{dims}, {}{q}): {}\n",
            path.display(),
            f.media_type,
            photo::human_bytes(f.bytes.len()),
            if passes { "通过 PASS" } else { "未通过 FAIL" }
        ));
        if let Some(after) = &f.after {
            push_problems(&mut s, after.problems());
        }
    } else if written.is_none() && o.fixed.is_none() && !o.report.all_errors_fixable() {
        s.push_str("不能自动修正 / cannot be fixed automatically\n");
    }
    s
}

fn push_problems(s: &mut String, problems: &[Problem]) {
    for p in problems {
        let mark = if p.is_error() { "✗" } else { "!" };
        let fix = if p.fixable { " [可自动修正 fixable]" } else { "" };
        s.push_str(&format!(
            "  {mark} {} {}{fix}\n      {}\n      {}\n",
            p.severity.as_str(),
            p.code,
            p.message.zh,
            p.message.en
        ));
        s.push_str(&format!("      → {} / {}\n", p.hint.zh, p.hint.en));
    }
}

/// Writes to standard output (the one place this binary prints).
pub(crate) fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    ExitCode::SUCCESS
}

/// Writes a line to standard error.
pub(crate) fn emit_err(text: &str) -> std::io::Result<()> {
    writeln!(std::io::stderr().lock(), "{text}")
}

fn fail(message: &str) -> ExitCode {
    let _ = emit_err(&format!("intake check: {message}"));
    ExitCode::from(2)
}
