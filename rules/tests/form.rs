//! Data-driven tests of the form rules (rules.md §4): one valid bundle, one
//! mutation per case, the exact set of `(field, code)` expected.

mod common;

use common::people::{self, id_number, today, uscc};
use intake_rules::Code;
use intake_rules::form::{self, ArchiveFacts, Context, Identity, RawBundle};

fn identity() -> Identity {
    people::identity("王bing")
}

fn valid() -> RawBundle {
    let id = identity();
    serde_json::from_value(serde_json::json!({
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
    }))
    .unwrap()
}

/// Validates `valid()` after `mutate`, and compares the problems found with `expected`.
fn check(mutate: impl FnOnce(&mut RawBundle), archive: Option<ArchiveFacts>, expected: &[(&str, Code)]) {
    let mut raw = valid();
    mutate(&mut raw);
    let id = identity();
    let ctx = Context { identity: &id, today: today(), archive };
    let found: Vec<(String, Code)> = match form::validate(&raw, &ctx) {
        Ok(_) => Vec::new(),
        Err(report) => report.problems().iter().filter(|p| p.is_error()).map(|p| (p.field.clone(), p.code)).collect(),
    };
    let mut found_sorted = found.clone();
    found_sorted.sort();
    let mut want: Vec<(String, Code)> = expected.iter().map(|(f, c)| (f.to_string(), *c)).collect();
    want.sort();
    // Only errors are compared here; warnings have their own tests.
    assert_eq!(found_sorted, want, "problems found: {found:?}");
}

fn none(_: &mut RawBundle) {}

#[test]
fn a_valid_bundle_passes_and_keeps_the_pinyin_name() {
    let id = identity();
    let ctx = Context { identity: &id, today: today(), archive: None };
    let (bundle, warnings) = form::validate(&valid(), &ctx).expect("valid");
    assert_eq!(warnings.codes(), vec![Code::FormNamePinyin], "the offline-correction note is shown");
    assert_eq!(bundle.name(), "王bing", "names are kept exactly as iXiamen registered them");
    assert_eq!(bundle.working_years(), 10);
    check(none, None, &[]);
}

#[test]
fn names_with_latin_letters_and_dots_are_never_refused() {
    for name in ["王bing", "阿依古丽·买买提", "John•Smith", "Zhang San"] {
        let id = Identity { name: name.into(), ..identity() };
        let mut raw = valid();
        raw.identity.name = Some(name.into());
        let ctx = Context { identity: &id, today: today(), archive: None };
        assert!(form::validate(&raw, &ctx).is_ok(), "{name}");
    }
}

#[test]
fn required_fields() {
    check(|b| b.gender = None, None, &[("gender", Code::FormRequired)]);
    check(|b| b.unit.name = Some("   ".into()), None, &[("unit.name", Code::FormRequired)]);
    check(|b| b.post.status = None, None, &[("post.status", Code::FormRequired)]);
    check(
        |b| b.qualification.holds_certificate = None,
        None,
        &[("qualification.holds_certificate", Code::FormRequired)],
    );
    check(|b| b.working_years = None, None, &[("working_years", Code::FormRequired)]);
    check(
        |b| b.education = Default::default(),
        None,
        &[
            ("education.level", Code::FormRequired),
            ("education.school", Code::FormRequired),
            ("education.major", Code::FormRequired),
            ("education.graduation_date", Code::FormRequired),
        ],
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    check(
        |b| {
            b.gender = Some("x".into());
            b.unit.kind = Some("company".into());
            b.email = Some("not-an-email".into());
            b.identity.mobile = Some("12345".into());
        },
        None,
        &[
            ("gender", Code::FormInvalidChoice),
            ("unit.type", Code::FormInvalidChoice),
            ("email", Code::FormEmailInvalid),
            ("identity.mobile", Code::FormMobileInvalid),
        ],
    );
}

#[test]
fn identity_must_equal_ixiamen() {
    check(|b| b.identity.name = Some("王冰".into()), None, &[("identity.name", Code::FormIdentityMismatch)]);
    check(|b| b.identity.mobile = Some("13900139000".into()), None, &[("identity.mobile", Code::FormIdentityMismatch)]);
    let other = id_number("35020319900307125");
    check(
        |b| b.identity.certificate_number = Some(other),
        None,
        &[("identity.certificate_number", Code::FormIdentityMismatch)],
    );
    check(
        |b| b.identity.certificate_type = Some("passport".into()),
        None,
        // The number is then judged as a passport number too: 18 characters is no passport number.
        &[
            ("identity.certificate_type", Code::FormIdentityMismatch),
            ("identity.certificate_number", Code::FormCertificateNumberLength),
        ],
    );
}

#[test]
fn certificate_number_formats() {
    let mut broken = identity().certificate_number;
    let last = broken.pop().unwrap();
    broken.push(if last == '0' { '1' } else { '0' });
    check(
        |b| b.identity.certificate_number = Some(broken),
        None,
        &[
            ("identity.certificate_number", Code::FormCertificateNumberCheckDigit),
            ("identity.certificate_number", Code::FormIdentityMismatch),
        ],
    );
    check(
        |b| b.identity.certificate_number = Some("3502031990030712".into()),
        None,
        &[
            ("identity.certificate_number", Code::FormCertificateNumberLength),
            ("identity.certificate_number", Code::FormIdentityMismatch),
        ],
    );
}

#[test]
fn full_width_and_lowercase_numbers_are_normalised() {
    let full_width: String = identity()
        .certificate_number
        .chars()
        .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap() } else { c })
        .collect();
    check(|b| b.identity.certificate_number = Some(full_width), None, &[]);
}

#[test]
fn gender_and_birth_date_must_match_the_number() {
    check(|b| b.gender = Some("female".into()), None, &[("gender", Code::FormGenderMismatch)]);
    check(|b| b.birth_date = Some("1990-03-08".into()), None, &[("birth_date", Code::FormBirthDateMismatch)]);
    check(|b| b.birth_date = Some("1990-02-30".into()), None, &[("birth_date", Code::FormDateInvalid)]);
}

#[test]
fn working_years_are_bounded_by_age_and_locked_for_holders() {
    // Born 1990-03-07, today 2026-11-26: age 36, at most 20 years.
    check(|b| b.working_years = Some(20), None, &[]);
    check(|b| b.working_years = Some(21), None, &[("working_years", Code::FormWorkingYearsExceedAge)]);
    let archive = Some(ArchiveFacts { holds_certificate: true, working_years: Some(12) });
    check(|b| b.working_years = Some(13), archive, &[("working_years", Code::FormWorkingYearsLocked)]);
    check(|b| b.working_years = Some(12), archive, &[]);
    check(|b| b.working_years = None, archive, &[]);
}

#[test]
fn unit_code_and_choices() {
    check(|b| b.unit.uscc = Some("91350200MA2Y8K1230".into()), None, &[("unit.uscc", Code::FormUsccInvalid)]);
    check(|b| b.unit.uscc = Some("9135".into()), None, &[("unit.uscc", Code::FormUsccInvalid)]);
    check(
        |b| {
            b.qualification.holds_certificate = Some(true);
            b.qualification.certificate_origin = None;
        },
        None,
        &[("qualification.certificate_origin", Code::FormRequired)],
    );
}

#[test]
fn text_limits_and_invisible_characters() {
    check(|b| b.unit.name = Some("厦".repeat(101)), None, &[("unit.name", Code::FormTooLong)]);
    check(|b| b.post.position = Some("会计\u{200B}".into()), None, &[("post.position", Code::FormInvalidText)]);
}

#[test]
fn graduation_must_be_plausible() {
    check(
        |b| b.education.graduation_date = Some("2027-07-01".into()),
        None,
        &[("education.graduation_date", Code::FormDateOutOfRange)],
    );
    check(
        |b| b.education.graduation_date = Some("1995-07-01".into()),
        None,
        &[("education.graduation_date", Code::FormDateOutOfRange)],
    );
}

#[test]
fn warnings_do_not_block() {
    let id = identity();
    let ctx = Context { identity: &id, today: today(), archive: None };
    let mut raw = valid();
    raw.qualification.holds_certificate = Some(true);
    raw.qualification.certificate_origin = Some("elsewhere".into());
    let (_, warnings) = form::validate(&raw, &ctx).expect("warnings do not block");
    assert!(warnings.has(Code::FormCertificateElsewhere) && warnings.passes());
}

#[test]
fn malformed_json_is_one_clear_problem() {
    let err = form::parse_raw(b"{\"gender\": 5}").unwrap_err();
    assert_eq!(err.codes(), vec![Code::FormMalformed]);
    let err = form::parse_raw(b"{\"surprise\": 1}").unwrap_err();
    assert_eq!(err.codes(), vec![Code::FormMalformed], "unknown fields are refused");
    assert!(form::parse_raw(b"{}").is_ok());
}
