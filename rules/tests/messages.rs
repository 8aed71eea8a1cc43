//! Every problem the rules produce on real inputs, rendered: the fixture corpus (documents,
//! photos, files, hostile images and PDFs) through every check, the pairs the pinned verdicts
//! list, crafted files for the codes the corpus misses, form mutations and whole submissions.
//! For each problem, in both languages, message and hint: no `{placeholder}` left over, and
//! the English has no Chinese outside quoted user data. Every code the rules can produce must
//! be produced here, or be named in `NOT_PRODUCED_HERE` with the reason.
//!
//! The catalog's own test (`catalog::tests::every_message_in_both_languages_keeps_one_style`)
//! renders every code with sample arguments; this one holds the checks' real arguments to the
//! same, and (debug builds) `Problem::new` panics on a placeholder without an argument.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::corpus::{read, root};
use common::people::{self, id_number, today, uscc};
use intake_rules::document::{self, DocumentKind, ProcessedDocument};
use intake_rules::form::{self, ArchiveFacts, Context};
use intake_rules::profile::ProfileSet;
use intake_rules::{Code, Problem, attachment, photo, submission};
use serde_json::{Value, json};

/// Codes the rules crate has but no input here produces, each with the reason.
const NOT_PRODUCED_HERE: &[(Code, &str)] = &[
    (Code::FileHeicUnsupported, "the widget's, when the browser cannot decode a HEIC file"),
    (Code::FileProcessingFailed, "the widget's, or a PNG in a build without the PNG decoder"),
    (Code::FilePdfCheckerUnavailable, "a build without the `pdf` feature (the widget's first load)"),
    (Code::PhotoTooBright, "needs a detected face over-exposed; no corpus photo is"),
];

/// The areas whose codes the rules produce (the others are the backend's and the widget's).
const RULES_AREAS: &[&str] = &["file", "image", "photo", "document", "form"];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}')
}

/// What is wrong with one rendered problem.
fn faults(p: &Problem) -> Vec<String> {
    let mut out = Vec::new();
    let texts = [("zh", &p.message.zh), ("hint_zh", &p.hint.zh), ("en", &p.message.en), ("hint_en", &p.hint.en)];
    for (which, text) in texts {
        if text.contains('{') || text.contains('}') {
            out.push(format!("{} {which}: a placeholder is left over: {text}", p.code));
        }
        if which.ends_with("en") {
            // The person's own data (a name, a refused value, a parser's quote of it) is quoted
            // and may be Chinese; nothing else in English text may be.
            let mut quote: Option<char> = None;
            for c in text.chars() {
                match (quote, c) {
                    (None, '“') => quote = Some('”'),
                    (None, '"' | '`') => quote = Some(c),
                    (Some(end), c) if c == end => quote = None,
                    (None, c) if is_cjk(c) => {
                        out.push(format!("{} {which}: Chinese in English text: {text}", p.code));
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[derive(Default)]
struct Seen {
    codes: BTreeSet<Code>,
    faults: Vec<String>,
    problems: usize,
    /// Every problem as rendered, one line each (`INTAKE_MESSAGES_DUMP=path` writes them).
    lines: Vec<String>,
}

impl Seen {
    fn add<'a>(&mut self, input: &str, problems: impl IntoIterator<Item = &'a Problem>) {
        for p in problems {
            self.problems += 1;
            self.codes.insert(p.code);
            self.faults.extend(faults(p).into_iter().map(|f| format!("{input}: {f}")));
            let (m, h) = (&p.message, &p.hint);
            self.lines.push(format!("{input}\t{}\t{}\t{}\t{}\t{}\t{}", p.field, p.code, m.zh, m.en, h.zh, h.en));
        }
    }
}

fn images(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

fn jpeg_of(w: u32, h: u32, grey: u8) -> Vec<u8> {
    intake_rules::jpeg::encode(&image::RgbImage::from_pixel(w, h, image::Rgb([grey; 3])), 90)
}

fn files(seen: &mut Seen) {
    let profile = ProfileSet::embedded().default_profile();
    let mut docs: BTreeMap<(String, &str), ProcessedDocument> = BTreeMap::new();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["document", "photo", "file", "hostile/images", "hostile/pdf"] {
        inputs.extend(images(dir).into_iter().map(|rel| (rel.clone(), read(&rel))));
    }
    inputs.push(("a long strip".into(), jpeg_of(2000, 400, 128)));
    inputs.push(("a white page".into(), jpeg_of(1200, 800, 255)));
    inputs.push(("11 MiB of '%'".into(), vec![b'%'; attachment::MAX_BYTES + 1]));
    for (rel, bytes) in &inputs {
        for kind in DocumentKind::ALL {
            let out = document::check(kind, bytes);
            seen.add(&format!("{rel} as {}", kind.field()), out.report.problems());
            if let Some(d) = out.output {
                docs.insert((rel.clone(), kind.field()), d);
            }
        }
        seen.add(&format!("{rel} as attachment"), attachment::check("work_certificate", bytes).report.problems());
        if !rel.ends_with(".pdf") {
            let out = photo::fix(bytes, profile);
            seen.add(&format!("{rel} as photo"), out.before.problems());
            if let Some(f) = &out.output {
                seen.add(&format!("{rel} as photo, fixed"), f.after.problems());
            }
        }
    }
    // The pairs the pinned verdicts list with problems, each side as the pin checked it.
    let pins: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verdicts.json")).expect("verdicts"),
    )
    .expect("json");
    for pair in pins["pairs_with_problems"].as_object().expect("pairs").keys() {
        let (a, b) = pair.split_once(" + ").expect("a + b");
        let front = &docs[&(a.to_owned(), "id_front")];
        let back = &docs[&(b.to_owned(), "id_back")];
        seen.add(pair, &document::check_pair(front, back));
    }
}

fn valid_bundle() -> Value {
    let id = people::identity("王bing");
    json!({
        "identity": {
            "name": id.name,
            "certificate_type": "resident_id",
            "certificate_number": id.certificate_number,
            "mobile": "13800138000"
        },
        "gender": "male",
        "birth_date": "1990-03-07",
        "unit": { "name": "厦门某某会计服务有限公司", "uscc": uscc(), "type": "enterprise" },
        "post": { "status": "on_post", "position": "会计" },
        "qualification": { "holds_certificate": false, "title": "junior" },
        "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2012-07-01" },
        "working_years": 10,
        "email": "wang@example.com"
    })
}

/// The valid bundle with the values at these JSON pointers replaced.
fn mutated(changes: &[(&str, Value)]) -> Value {
    let mut b = valid_bundle();
    for (pointer, value) in changes {
        let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
        let object = b.pointer_mut(parent).and_then(Value::as_object_mut).unwrap_or_else(|| panic!("{pointer}"));
        object.insert(key.to_owned(), value.clone());
    }
    b
}

/// JSON pointers into the valid bundle and the values put there.
type Changes = Vec<(&'static str, Value)>;

/// A submission's parts: name and bytes.
type Parts<'a> = Vec<(&'a str, &'a [u8])>;

fn forms(seen: &mut Seen) {
    let id = people::identity("王bing");
    let holder = Some(ArchiveFacts { holds_certificate: true, working_years: Some(12) });
    let cases: Vec<(Changes, Option<ArchiveFacts>)> = vec![
        (vec![], None),
        (vec![("/gender", Value::Null), ("/unit/name", json!("  ")), ("/birth_date", Value::Null)], None),
        (vec![("/education/school", Value::Null), ("/working_years", Value::Null)], None),
        (vec![("/gender", json!("x")), ("/unit/type", json!("y")), ("/email", json!("bad"))], None),
        (vec![("/identity/mobile", json!("123"))], None),
        (vec![("/identity/mobile", json!("13900139000"))], None),
        (vec![("/identity/name", json!("王冰"))], None),
        (vec![("/identity/certificate_type", json!("passport"))], None),
        (vec![("/identity/certificate_number", json!("123"))], None),
        (vec![("/identity/certificate_number", json!("35020319900307123!"))], None),
        (vec![("/identity/certificate_number", json!("350203199003071230"))], None),
        (vec![("/identity/certificate_number", json!(id_number("35020319901307123")))], None),
        (vec![("/identity/certificate_number", json!(id_number("00020319900307123")))], None),
        (vec![("/gender", json!("female")), ("/birth_date", json!("1990-03-08"))], None),
        (vec![("/birth_date", json!("1990-02-30"))], None),
        (vec![("/birth_date", json!("2020-01-01"))], None),
        (vec![("/education/graduation_date", json!("2027-07-01"))], None),
        (vec![("/working_years", json!(21))], None),
        (vec![("/working_years", json!(13))], holder),
        (vec![("/unit/uscc", json!("9135"))], None),
        (vec![("/unit/uscc", json!("91350200MA2Y8K1230"))], None),
        (vec![("/unit/uscc", json!("91350200MA2Y8K12!0"))], None),
        (vec![("/qualification/holds_certificate", json!(true))], None),
        (
            vec![
                ("/qualification/holds_certificate", json!(true)),
                ("/qualification/certificate_origin", json!("elsewhere")),
            ],
            None,
        ),
        (vec![("/unit/name", json!("厦".repeat(101))), ("/post/position", json!("会计\u{200B}"))], None),
        (vec![("/post/status", Value::Null)], None),
    ];
    for (changes, archive) in cases {
        let bundle = mutated(&changes);
        let raw = form::parse_raw(bundle.to_string().as_bytes()).expect("parses");
        let ctx = Context { identity: &id, today: today(), archive };
        let report = match form::validate(&raw, &ctx) {
            Ok((_, warnings)) => warnings,
            Err(report) => report,
        };
        seen.add(&format!("form {changes:?}"), report.problems());
    }
    for json in [&b"{\"gender\": 5}"[..], b"{\"surprise\": 1}", "{\"working_years\": \"十年\"}".as_bytes(), b"{"] {
        let report = form::parse_raw(json).expect_err("malformed");
        seen.add(&format!("form {}", String::from_utf8_lossy(json)), report.problems());
    }
}

fn submissions(seen: &mut Seen) {
    let id = people::identity("王bing");
    let profile = ProfileSet::embedded().default_profile();
    let photo = read("photo/standard_295x413.jpg");
    let bundle = valid_bundle().to_string();
    let cases: Vec<(&str, Parts<'_>)> = vec![
        ("no files", vec![]),
        (
            "two photos, a passport page, an unknown part",
            vec![("photo", &photo), ("photo", &photo), ("passport_info", &photo), ("surprise", b"x")],
        ),
    ];
    for (what, parts) in cases {
        let ctx = Context { identity: &id, today: today(), archive: None };
        let report = submission::check(bundle.as_bytes(), &parts, &ctx, profile).expect_err("refused");
        seen.add(&format!("submission: {what}"), report.problems());
    }
}

#[test]
fn every_problem_the_rules_produce_reads_in_both_languages() {
    let mut seen = Seen::default();
    files(&mut seen);
    forms(&mut seen);
    submissions(&mut seen);
    if let Some(path) = std::env::var_os("INTAKE_MESSAGES_DUMP") {
        std::fs::write(path, seen.lines.join("\n") + "\n").expect("dump");
    }
    assert!(
        seen.faults.is_empty(),
        "{} fault(s) in {} problems:\n{}",
        seen.faults.len(),
        seen.problems,
        seen.faults.join("\n")
    );
    let mut missing = Vec::new();
    let mut listed_but_produced = Vec::new();
    for code in Code::ALL {
        let listed = NOT_PRODUCED_HERE.iter().any(|(c, _)| c == code);
        let produced = seen.codes.contains(code);
        if RULES_AREAS.contains(&code.area()) && !produced && !listed {
            missing.push(code.as_str());
        }
        if listed && produced {
            listed_but_produced.push(code.as_str());
        }
    }
    assert!(missing.is_empty(), "no input here produces {missing:?}: add one, or list it in NOT_PRODUCED_HERE");
    assert!(listed_but_produced.is_empty(), "{listed_but_produced:?} are produced: take them off NOT_PRODUCED_HERE");
}

#[test]
fn the_check_catches_a_left_over_placeholder_and_chinese_in_english() {
    let mut p = Problem::new("photo", Code::PhotoNotColour, &[]);
    assert!(faults(&p).is_empty());
    p.message.en = "The {field} is missing.".into();
    p.hint.en = "Upload the 工作证明.".into();
    let found = faults(&p);
    assert_eq!(found.len(), 2, "{found:?}");
    p.message.en = "The name “王冰” and `十年` are the person's own.".into();
    p.hint.en = "ok".into();
    assert!(faults(&p).is_empty(), "quoted user data may be Chinese");
}
