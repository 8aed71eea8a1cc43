//! The one table of fields (issue 13) drives validation: every field, every
//! requirement condition (post status, holder or not), with the field's own label.

use std::collections::BTreeSet;

mod common;

use common::people::{self, today, uscc};
use intake_rules::Code;
use intake_rules::form::{self, ArchiveFacts, Context, FIELDS, Identity, Kind, RawBundle, When, fields};
use serde_json::Value;

fn identity() -> Identity {
    people::identity("陈静")
}

/// Every leaf of the bundle given, written independently of the table.
fn full_json() -> Value {
    let id = identity();
    let uscc = uscc();
    serde_json::json!({
        "identity": {
            "name": id.name,
            "certificate_type": "resident_id",
            "certificate_number": id.certificate_number,
            "mobile": "13800138000"
        },
        "gender": "male",
        "birth_date": "1990-03-07",
        "unit": { "name": "厦门某某会计服务有限公司", "uscc": uscc, "type": "enterprise" },
        "post": { "status": "on_post", "position": "会计" },
        "qualification": { "holds_certificate": true, "certificate_origin": "xiamen", "title": "junior" },
        "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2012-07-01" },
        "working_years": 10,
        "email": "chen@example.com"
    })
}

fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&path, v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn problems(raw: &RawBundle, archive: Option<ArchiveFacts>) -> Vec<(String, Code)> {
    let id = identity();
    let ctx = Context { identity: &id, today: today(), archive };
    match form::validate(raw, &ctx) {
        Ok(_) => Vec::new(),
        Err(report) => report.problems().iter().filter(|p| p.is_error()).map(|p| (p.field.clone(), p.code)).collect(),
    }
}

#[test]
fn the_table_names_every_leaf_of_the_bundle_once_and_reads_it() {
    let json = full_json();
    let raw: RawBundle = serde_json::from_value(json.clone()).unwrap();
    let mut all = Vec::new();
    leaves("", &json, &mut all);
    let table: BTreeSet<&str> = FIELDS.iter().map(|f| f.path).collect();
    assert_eq!(table.len(), FIELDS.len(), "a path is spelled twice");
    let bundle: BTreeSet<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(table, bundle, "the table and the bundle's JSON have the same fields");
    for (path, value) in &all {
        assert_eq!(fields::get(&raw, path), *value, "{path} reads its JSON value");
    }
    assert!(problems(&raw, None).is_empty(), "the full bundle is valid: {:?}", problems(&raw, None));
}

#[test]
fn every_field_round_trips_through_set_and_get_and_blank_clears_it() {
    for f in FIELDS {
        let values: Vec<String> = match f.kind {
            Kind::Choice(_) => f.kind.options().into_iter().map(|(wire, _)| wire.to_owned()).collect(),
            Kind::Date => vec!["2010-07-01".into()],
            Kind::Number => vec!["5".into()],
            Kind::Email => vec!["a@b.cn".into()],
            Kind::Tel => vec!["13800138000".into()],
            Kind::Text { .. } => vec!["厦门 某某".into(), "ABC123".into()],
        };
        assert!(!values.is_empty(), "{} has options", f.path);
        for value in values {
            let mut raw = serde_json::from_value::<RawBundle>(full_json()).unwrap();
            (f.set)(&mut raw, &value);
            assert_eq!((f.get)(&raw), value, "{}", f.path);
            // Written through the table, the value lands at the field's JSON path.
            let json = serde_json::to_value(&raw).unwrap();
            let mut all = Vec::new();
            leaves("", &json, &mut all);
            let at = all.iter().find(|(p, _)| p == f.path).map(|(_, v)| v.clone());
            assert_eq!(at.as_deref(), Some(value.as_str()), "{} in JSON", f.path);
            (f.set)(&mut raw, "  ");
            assert_eq!((f.get)(&raw), "", "{}: blank clears", f.path);
        }
    }
}

/// Clears each field in turn, on and off an accounting post, holder or not; the problem
/// appears exactly when the table says the field is required, with its own label.
#[test]
fn the_table_says_when_each_field_is_required_and_validate_agrees() {
    let mut seen = BTreeSet::new();
    for (status, holds) in [("on_post", true), ("off_post", true), ("on_post", false), ("off_post", false)] {
        for f in FIELDS {
            let mut raw: RawBundle = serde_json::from_value(full_json()).unwrap();
            fields::set(&mut raw, "post.status", status);
            fields::set(&mut raw, "qualification.holds_certificate", &holds.to_string());
            if holds {
                fields::set(&mut raw, "qualification.certificate_origin", "xiamen");
            }
            let before = raw.clone();
            (f.set)(&mut raw, "");
            let found = problems(&raw, None);
            let required = f.required(&before) && f.applies(&before);
            let mine: Vec<&(String, Code)> = found.iter().filter(|(p, _)| p == f.path).collect();
            if required {
                assert_eq!(mine, vec![&(f.path.to_owned(), Code::FormRequired)], "{} ({status}, {holds})", f.path);
                seen.insert(f.path);
            } else {
                assert!(found.is_empty(), "{} may be empty ({status}, holds {holds}): {found:?}", f.path);
            }
            // The expectation is not only the table's word: spelled out here too.
            let expected = match f.path {
                "email" => false,
                "unit.name" | "unit.uscc" | "unit.type" | "post.position" => status == "on_post",
                "qualification.certificate_origin" => holds,
                _ => true,
            };
            assert_eq!(required, expected, "{} ({status}, holds {holds})", f.path);
        }
    }
    let every_required: BTreeSet<&str> = FIELDS.iter().filter(|f| f.when != When::Optional).map(|f| f.path).collect();
    assert_eq!(seen, every_required, "every required field was seen missing");
}

#[test]
fn a_missing_value_is_reported_with_the_fields_own_label_and_verb() {
    for f in FIELDS.iter().filter(|f| f.when == When::Always) {
        let mut raw: RawBundle = serde_json::from_value(full_json()).unwrap();
        (f.set)(&mut raw, "");
        let id = identity();
        let ctx = Context { identity: &id, today: today(), archive: None };
        let report = form::validate(&raw, &ctx).unwrap_err();
        let p = report.problems().iter().find(|p| p.field == f.path).expect(f.path);
        let verb = match f.kind {
            Kind::Choice(_) | Kind::Date => "请选择",
            _ => "请填写",
        };
        assert_eq!(p.message.zh, format!("{verb}{}。", f.zh), "{}", f.path);
        assert_eq!(p.message.en, format!("{} is required.", f.en), "{}", f.path);
        assert!(!p.hint.zh.contains(f.zh), "{}: the hint does not repeat the label", f.path);
    }
}

#[test]
fn off_post_without_a_unit_is_valid_and_what_is_given_is_still_checked() {
    let mut raw: RawBundle = serde_json::from_value(full_json()).unwrap();
    raw.post.status = Some("off_post".into());
    raw.unit = Default::default();
    raw.post.position = None;
    let id = identity();
    let ctx = Context { identity: &id, today: today(), archive: None };
    let (bundle, _) = form::validate(&raw, &ctx).expect("an off-post person without a unit is valid");
    assert!(!bundle.has_unit());
    let json = bundle.to_json();
    assert_eq!(json["unit_name"], Value::Null);
    assert_eq!(json["post_status"], "off_post");

    raw.unit.uscc = Some("9135".into());
    assert_eq!(problems(&raw, None), vec![("unit.uscc".to_owned(), Code::FormUsccInvalid)]);
    raw.unit.uscc = None;
    raw.unit.kind = Some("company".into());
    assert_eq!(problems(&raw, None), vec![("unit.type".to_owned(), Code::FormInvalidChoice)]);

    raw.unit = Default::default();
    raw.post.status = Some("on_post".into());
    let missing: BTreeSet<String> = problems(&raw, None).into_iter().map(|(p, _)| p).collect();
    let want: BTreeSet<String> =
        ["unit.name", "unit.uscc", "unit.type", "post.position"].into_iter().map(String::from).collect();
    assert_eq!(missing, want, "on an accounting post the unit block is required");
}

/// The docs list the table as it is: every field's row names its path and both labels.
#[test]
fn the_docs_table_lists_every_field_with_its_labels() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fields-and-contract.md");
    let docs = std::fs::read_to_string(path).expect("docs/fields-and-contract.md");
    let rows: Vec<&str> = docs.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), FIELDS.len(), "one row per field");
    for (row, f) in rows.iter().zip(FIELDS) {
        let want = format!("| `{}` | {} | {} |", f.path, f.zh, f.en);
        assert!(row.starts_with(&want), "docs row {row:?} should start with {want:?} (the table's order and labels)");
    }
}
