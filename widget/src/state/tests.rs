//! The reducer's tests, natively: every transition of the flow, the drafts' round trip.

use super::saved::raw_fields;
use super::*;
use crate::checked::ImageOutput;
use crate::model::{Features, Help};
use intake_rules::catalog::Code;
use intake_rules::form::numbers::CertificateType;
use intake_rules::form::{FIELDS, Identity, Section};
use intake_rules::profile::ProfileSet;
use intake_rules::report::Report;

fn people() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/people.json")).expect("people.json")
}

fn session_for(key: &str, modification_open: bool, submissions: Vec<SubmissionView>) -> Rc<Session> {
    let all = people();
    let p = all["people"].as_array().unwrap().iter().find(|p| p["key"] == key).expect("person").clone();
    let identity = Identity {
        name: p["name"].as_str().unwrap().to_owned(),
        certificate_type: CertificateType::parse(p["certificate_type"].as_str().unwrap()).unwrap(),
        certificate_number: p["certificate_number"].as_str().unwrap().to_owned(),
        mobile: p["mobile"].as_str().map(str::to_owned),
    };
    let archive = p.get("archive").filter(|a| !a.is_null()).map(|a| {
        let mut a = a.clone();
        a["gender"] = p["gender"].clone();
        a["birth_date"] = p["birth_date"].clone();
        serde_json::from_value::<Archive>(a).expect("archive")
    });
    Rc::new(Session {
        config: WidgetConfig {
            profile: ProfileSet::embedded().default_profile().clone(),
            help: Help::default(),
            features: Features { modification_open },
        },
        me: Me { identity, certificate_number_masked: "***".into(), mobile_masked: None, name_has_pinyin: false },
        archive,
        submissions,
        today: Date::new(2026, 11, 26).unwrap(),
    })
}

fn loaded(key: &str) -> State {
    let mut s = State::default();
    s.apply(Action::Loaded(session_for(key, false, Vec::new())));
    s
}

fn result(part: Part, name: &str, verdict: Vec<Problem>, output: bool) -> Rc<ImageResult> {
    let mut report = Report::new();
    report.extend(verdict);
    Rc::new(ImageResult {
        part,
        file_name: name.to_owned(),
        before: report.clone(),
        verdict: report,
        output: output.then(|| ImageOutput {
            bytes: vec![0xFF, 0xD8, 0xFF],
            media_type: "image/jpeg".into(),
            file_name: format!("{}.jpg", part.name()),
            width: 295,
            height: 413,
            url: "blob:x".into(),
        }),
        before_url: None,
        fingerprint: None,
    })
}

fn attach(s: &mut State, part: Part, verdict: Vec<Problem>, output: bool) {
    let index = s.parts.get(&part).map_or(0, Vec::len);
    let name = format!("{}-{index}.jpg", part.name());
    s.apply(Action::Checking(part, index, name.clone()));
    assert_eq!(s.part_state(part), PartState::Checking);
    s.apply(Action::Checked(part, index, result(part, &name, verdict, output)));
}

fn field(s: &mut State, name: &str, value: &str) {
    s.apply(Action::Field(name.to_owned(), value.to_owned()));
}

#[test]
fn a_certificate_holder_starts_from_the_archive_with_locked_working_years() {
    let mut s = loaded("xiamen-holder");
    assert_eq!(s.step, Step::Identity);
    assert_eq!(s.raw.unit.uscc.as_deref(), Some("91350200MA31U8K4XK"));
    assert_eq!(s.raw.working_years, Some(12));
    assert_eq!(s.raw.gender.as_deref(), Some("female"));
    assert_eq!(s.raw.birth_date.as_deref(), Some("1985-07-15"));
    assert!(s.working_years_locked());
    field(&mut s, "working_years", "30");
    assert_eq!(s.raw.working_years, Some(12), "FAQ 12: read-only for holders");
    // Only the post status is missing.
    let problems = s.form_check().unwrap_err();
    assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), vec!["post.status"]);
    field(&mut s, "post.status", "on_post");
    assert!(s.form_check().is_ok());
}

#[test]
fn a_new_applicant_gets_gender_and_birth_date_from_the_number_and_types_the_rest() {
    let mut s = loaded("new-applicant");
    assert!(s.session().unwrap().archive.is_none());
    assert_eq!(s.raw.birth_date.as_deref(), Some("1998-11-02"));
    assert_eq!(s.raw.gender.as_deref(), Some("female"));
    assert!(!s.working_years_locked());
    field(&mut s, "working_years", "40");
    assert_eq!(s.raw.working_years, Some(40));
    let problems = s.form_check().unwrap_err();
    assert!(problems.iter().any(|p| p.code == Code::FormWorkingYearsExceedAge), "{problems:?}");
}

#[test]
fn next_on_an_invalid_form_shows_every_problem_and_stays() {
    let mut s = loaded("new-applicant");
    s.apply(Action::Next);
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Form);
    assert!(s.field_problems("unit.uscc").is_empty(), "untouched fields are quiet");
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Form);
    assert!(s.show_all);
    assert_eq!(s.field_problems("unit.uscc")[0].code, Code::FormRequired);
    field(&mut s, "unit.uscc", "91350200MA31U8K4XA");
    assert_eq!(s.field_problems("unit.uscc")[0].code, Code::FormUsccInvalid);
    field(&mut s, "unit.uscc", "91350200ma31u8k4xk");
    assert_eq!(s.raw.unit.uscc.as_deref(), Some("91350200MA31U8K4XK"), "upper-cased as typed");
    assert!(s.field_problems("unit.uscc").is_empty());
}

#[test]
fn next_that_cannot_proceed_shows_a_summary_that_leads_to_each_problem() {
    let mut s = loaded("new-applicant");
    s.apply(Action::Next);
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Form);
    assert!(s.summary_shown().is_empty(), "no summary before next is pressed");
    s.apply(Action::Next);
    assert_eq!(s.summary, 1);
    let items = s.summary_shown();
    // One line per error of the form, each leading to its control's id.
    let errors: Vec<Problem> = s.form_check().unwrap_err().into_iter().filter(Problem::is_error).collect();
    assert_eq!(items.len(), errors.len());
    assert!(items.iter().any(|i| i.target == "ix-f-unit-uscc"), "{items:?}");
    for (i, p) in items.iter().zip(&errors) {
        assert_eq!(i.target, format!("ix-f-{}", p.field.replace('.', "-")));
        assert_eq!(i.text.0, p.message.zh);
    }
    assert!(s.live.0.starts_with(&format!("有{}处需要处理：", items.len())), "{:?}", s.live);
    assert!(s.live.0.contains(&items[0].text.0), "announced with its lines");
    assert!(s.live.1.starts_with(&format!("There are {} problems: ", items.len())), "{:?}", s.live);
    // Pressing again shows it again (the view refocuses it); fixing a field drops its line.
    s.apply(Action::Next);
    assert_eq!(s.summary, 2);
    field(&mut s, "unit.uscc", "91350200MA31U8K4XK");
    assert!(!s.summary_shown().iter().any(|i| i.target == "ix-f-unit-uscc"));
    // A new step starts without a summary.
    s.apply(Action::Back);
    assert_eq!(s.summary, 0);
    assert!(s.summary_shown().is_empty());
}

#[test]
fn next_on_documents_with_missing_and_refused_parts_lists_each_part() {
    let mut s = ready_holder();
    attach(&mut s, Part::Photo, vec![Problem::new("photo", Code::PhotoNotColour, &[])], false);
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Documents);
    let targets: Vec<String> = s.summary_shown().into_iter().map(|i| i.target).collect();
    assert_eq!(targets, vec!["ix-part-photo", "ix-part-id_front", "ix-part-id_back"]);
    let photo = &s.summary_shown()[0].text;
    assert!(photo.0.contains("不符合") && photo.1.contains("does not meet"), "{photo:?}");
    s.apply(Action::Remove(Part::Photo, 0));
    attach(&mut s, Part::Photo, Vec::new(), true);
    attach(&mut s, Part::IdFront, Vec::new(), true);
    attach(&mut s, Part::IdBack, Vec::new(), true);
    assert!(s.summary_shown().is_empty(), "nothing left to list");
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Review);
    assert_eq!(s.summary, 0);
}

#[test]
fn required_documents_follow_certificate_type_and_post_status() {
    let mut s = loaded("passport-holder");
    field(&mut s, "post.status", "on_post");
    let parts: Vec<Part> = s.requirements().iter().filter(|r| r.min > 0).map(|r| r.part).collect();
    assert_eq!(parts, vec![Part::Photo, Part::PassportInfo, Part::PassportValidity, Part::WorkCertificate]);
    let mut s = loaded("xiamen-holder");
    field(&mut s, "post.status", "off_post");
    let reqs = s.requirements();
    let required: Vec<Part> = reqs.iter().filter(|r| r.min > 0).map(|r| r.part).collect();
    assert_eq!(required, vec![Part::Photo, Part::IdFront, Part::IdBack]);
    assert!(reqs.iter().any(|r| r.part == Part::Supporting && r.min == 0 && r.max == 3));
}

fn ready_holder() -> State {
    let mut s = loaded("xiamen-holder");
    field(&mut s, "post.status", "off_post");
    for _ in 0..4 {
        s.apply(Action::Next);
    }
    assert_eq!(s.step, Step::Documents);
    s
}

#[test]
fn errors_block_warnings_need_acknowledging_and_late_results_are_ignored() {
    let mut s = ready_holder();
    assert!(!s.can_submit());
    attach(&mut s, Part::Photo, vec![Problem::new("photo", Code::PhotoNotColour, &[])], false);
    assert_eq!(s.part_state(Part::Photo), PartState::Error);
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Documents, "an error keeps the person on the documents step");
    // Replace the photo; the old file's late result must not overwrite the new slot.
    s.apply(Action::Checking(Part::Photo, 0, "new.jpg".into()));
    s.apply(Action::Checked(Part::Photo, 0, result(Part::Photo, "old.jpg", Vec::new(), true)));
    assert_eq!(s.part_state(Part::Photo), PartState::Checking);
    s.apply(Action::Checked(Part::Photo, 0, result(Part::Photo, "new.jpg", Vec::new(), true)));
    assert_eq!(s.part_state(Part::Photo), PartState::Ok);
    attach(&mut s, Part::IdFront, Vec::new(), true);
    let swapped = Problem::new(
        "id_back",
        Code::DocumentSidesSwapped,
        &[("first", &"a"), ("second", &"b"), ("first_en", &"a"), ("second_en", &"b")],
    );
    attach(&mut s, Part::IdBack, vec![swapped], true);
    assert_eq!(s.part_state(Part::IdBack), PartState::Warning);
    assert!(!s.can_submit());
    s.apply(Action::Ack(Part::IdBack, true));
    assert!(s.can_submit(), "{:?}", s.blockers());
    s.apply(Action::Next);
    assert_eq!(s.step, Step::Review);
    let files: Vec<Part> = s.upload_files().iter().map(|(p, _)| *p).collect();
    assert_eq!(files, vec![Part::Photo, Part::IdFront, Part::IdBack]);
    s.apply(Action::Remove(Part::IdFront, 0));
    assert!(!s.can_submit());
    assert!(!s.acks.contains(&Part::IdFront));
}

fn submittable() -> State {
    let mut s = ready_holder();
    for part in [Part::Photo, Part::IdFront, Part::IdBack] {
        attach(&mut s, part, Vec::new(), true);
    }
    s.apply(Action::Next);
    assert!(s.can_submit(), "{:?}", s.blockers());
    s
}

#[test]
fn one_idempotency_key_per_bundle_across_retries() {
    let mut s = submittable();
    s.apply(Action::Submit("key-1".into()));
    assert_eq!(s.key.as_deref(), Some("key-1"));
    assert!(!s.can_submit(), "no second upload while one is running");
    s.apply(Action::Submit("key-x".into()));
    assert_eq!(s.key.as_deref(), Some("key-1"));
    s.apply(Action::Waiting(2, 2));
    s.apply(Action::Failed(Failure { problems: Vec::new(), retryable: true }));
    s.apply(Action::Submit("key-2".into()));
    assert_eq!(s.key.as_deref(), Some("key-1"), "a retry of the same bundle reuses its key");
    s.apply(Action::Failed(Failure { problems: Vec::new(), retryable: true }));
    field(&mut s, "email", "chen@example.com");
    assert_eq!(s.key, None, "a changed bundle gets a new key");
    s.apply(Action::Submit("key-3".into()));
    assert_eq!(s.key.as_deref(), Some("key-3"));
    let receipt = SubmissionView {
        receipt_number: None,
        id: "sub-1".into(),
        status: intake_rules::wire::SubmissionStatus::Received,
        status_label: None,
        received_at: "2026-11-26T12:00:00Z".into(),
        reason: None,
        kind: None,
    };
    s.apply(Action::Submitted(receipt.clone()));
    assert_eq!(s.step, Step::Receipt);
    s.apply(Action::Back);
    assert_eq!(s.step, Step::Receipt, "no way back into a submitted bundle");
    let mut later = receipt;
    later.status = intake_rules::wire::SubmissionStatus::Accepted;
    s.apply(Action::Status(later));
    assert_eq!(s.receipt.as_ref().unwrap().status, intake_rules::wire::SubmissionStatus::Accepted);
}

#[test]
fn an_earlier_submission_shows_the_receipt_while_modification_is_closed() {
    let earlier = SubmissionView {
        receipt_number: None,
        id: "sub-0".into(),
        status: intake_rules::wire::SubmissionStatus::Forwarded,
        status_label: None,
        received_at: String::new(),
        reason: None,
        kind: Some("submission".into()),
    };
    let mut s = State::default();
    s.apply(Action::Loaded(session_for("xiamen-holder", false, vec![earlier.clone()])));
    assert_eq!(s.step, Step::Receipt);
    assert!(s.already_submitted);
    assert_eq!(s.amends(), None);
    let mut s = State::default();
    s.apply(Action::Loaded(session_for("xiamen-holder", true, vec![earlier])));
    assert_eq!(s.step, Step::Identity, "with modification open the flow becomes an amendment");
    assert_eq!(s.amends(), Some("sub-0"));
}

#[test]
fn fields_round_trip_through_their_names() {
    let mut raw = RawBundle::default();
    for (name, value) in [
        ("unit.name", "厦门某公司"),
        ("unit.type", "enterprise"),
        ("post.position", "会计"),
        ("qualification.holds_certificate", "true"),
        ("qualification.certificate_origin", "elsewhere"),
        ("education.graduation_date", "2010-07-01"),
        ("working_years", "5"),
        ("email", "a@b.cn"),
    ] {
        set_field(&mut raw, name, value);
        assert_eq!(get_field(&raw, name), value, "{name}");
    }
    set_field(&mut raw, "qualification.holds_certificate", "false");
    assert_eq!(raw.qualification.certificate_origin, None, "origin only applies to holders");
    set_field(&mut raw, "unit.name", "   ");
    assert_eq!(raw.unit.name, None);
}

/// A value for a field of the table, as a person would give it.
fn sample_value(f: &intake_rules::form::Field) -> String {
    use intake_rules::form::Kind;
    match f.kind {
        Kind::Choice(_) => f.kind.options().last().map(|(wire, _)| (*wire).to_owned()).unwrap_or_default(),
        Kind::Date => "2010-07-01".into(),
        Kind::Number => "7".into(),
        Kind::Email => "a@b.cn".into(),
        Kind::Tel => "13900139000".into(),
        Kind::Text { .. } => format!("值 {}", f.path.len()),
    }
}

/// Every field of the table goes through the reducer's `Action::Field` and comes back through
/// `get_field`, and the review lists it with its label and its value (a choice by its label).
#[test]
fn every_field_of_the_table_goes_through_the_reducer_and_appears_on_the_review() {
    let mut s = loaded("new-applicant");
    // Holders are asked where the certificate was issued: answer that first.
    field(&mut s, "qualification.holds_certificate", "true");
    for f in FIELDS {
        let value = sample_value(f);
        let value = if f.path == "qualification.holds_certificate" { "true".to_owned() } else { value };
        let before = get_field(&s.raw, f.path);
        field(&mut s, f.path, &value);
        if f.section == Section::Identity {
            assert_eq!(get_field(&s.raw, f.path), before, "{}: iXiamen's identity is not set from the page", f.path);
            assert!(!before.is_empty(), "{} comes from iXiamen", f.path);
        } else {
            assert_eq!(get_field(&s.raw, f.path), value, "{}", f.path);
        }
    }
    let rows = review_rows(&s.raw);
    let listed: Vec<&str> = rows.iter().map(|r| r.path).collect();
    let every: Vec<&str> = FIELDS.iter().map(|f| f.path).collect();
    assert_eq!(listed, every, "the review lists every field, in the table's order");
    for must in ["gender", "birth_date", "email", "unit.type", "education.major", "education.graduation_date"] {
        assert!(listed.contains(&must), "{must} is on the review");
    }
    for (row, f) in rows.iter().zip(FIELDS) {
        assert_eq!(row.labels, (f.zh, f.en));
        let value = get_field(&s.raw, f.path);
        match f.kind.options().into_iter().find(|(wire, _)| *wire == value) {
            Some((_, (zh, en))) => assert_eq!(row.value, (zh.to_owned(), en.to_owned()), "{}", f.path),
            None if f.path == "identity.certificate_number" => {
                assert!(row.value.0.contains('*') && row.value.0 != value, "the number is masked: {:?}", row.value);
            }
            None => assert_eq!(row.value, (value.clone(), value), "{}", f.path),
        }
    }
    // What the form shows read-only, the review offers no change for.
    let fresh = loaded("new-applicant");
    assert!(fresh.field_readonly("identity.name") && fresh.field_readonly("birth_date"), "derived from the ID number");
    assert!(
        !fresh.field_readonly("unit.name") && !fresh.field_readonly("working_years"),
        "a new applicant types these"
    );
    assert!(!s.field_readonly("birth_date"), "a birth date found wrong (here: not the number's) becomes editable");
    // Not a holder: the certificate origin is not asked, so not listed; an empty optional field says so.
    field(&mut s, "qualification.holds_certificate", "false");
    field(&mut s, "email", "");
    let rows = review_rows(&s.raw);
    assert!(!rows.iter().any(|r| r.path == "qualification.certificate_origin"));
    let email = rows.iter().find(|r| r.path == "email").expect("email row");
    assert_eq!(email.value, ("未填写".to_owned(), "Not given".to_owned()));
}

const PERSON: &str = "person-a";
const NOW: f64 = 1_800_000_000_000.0;

fn with_person(mut s: State) -> State {
    s.apply(Action::Restore(PERSON.into(), None));
    assert!(s.draft_ready);
    s
}

/// The draft round trip as draft.rs does it: encode, decode, results with fresh URLs.
fn reopen(draft: &Draft, key: &str) -> State {
    let bytes = draft.encode();
    let back = Draft::decode(&bytes).expect("decodes");
    assert_eq!(&back, draft, "encode/decode is lossless, bytes included");
    let results = back
        .files
        .iter()
        .filter_map(|f| Some((Part::parse(&f.part)?, f.index, Rc::new(f.to_result("blob:new".into())?))))
        .collect();
    let mut s = loaded(key);
    let ok = back.restorable(PERSON, NOW + 1.0);
    s.apply(Action::Restore(PERSON.into(), ok.then(|| Rc::new(Restored { draft: back, results }))));
    s
}

#[test]
fn a_draft_restores_the_form_files_verdicts_acks_step_and_language() {
    let mut s = with_person(ready_holder());
    field(&mut s, "email", "chen@example.com");
    attach(&mut s, Part::Photo, Vec::new(), true);
    attach(&mut s, Part::IdFront, Vec::new(), true);
    let swapped = Problem::new(
        "id_back",
        Code::DocumentSidesSwapped,
        &[("first", &"a"), ("second", &"b"), ("first_en", &"a"), ("second_en", &"b")],
    );
    attach(&mut s, Part::IdBack, vec![swapped], true);
    s.apply(Action::Ack(Part::IdBack, true));
    s.apply(Action::Checking(Part::Supporting, 0, "still-checking.jpg".into()));
    s.apply(Action::SetLang(Lang::En));
    s.apply(Action::Submit("key-1".into()));
    let d = s.draft(NOW, DRAFT_DEFAULT_DAYS, DRAFT_MAX_BYTES).expect("a draft");
    assert_eq!(d.step, "documents");
    assert_eq!(d.files.len(), 3, "files still being checked are not kept");
    assert_eq!(d.expires_at_ms, NOW + 7.0 * 86_400_000.0, "kept 7 days by default");

    let r = reopen(&d, "xiamen-holder");
    assert_eq!(r.step, Step::Documents);
    assert_eq!(r.lang, Lang::En);
    assert_eq!(r.raw, s.raw);
    assert_eq!(r.raw.email.as_deref(), Some("chen@example.com"));
    assert_eq!(r.touched, s.touched);
    assert_eq!(r.acks, s.acks);
    assert_eq!(r.part_state(Part::IdBack), PartState::Warning);
    assert_eq!(r.part_state(Part::Photo), PartState::Ok);
    assert_eq!(r.part_state(Part::Supporting), PartState::Empty);
    assert_eq!(r.results(Part::Photo)[0].output.as_ref().unwrap().bytes, vec![0xFF, 0xD8, 0xFF]);
    assert_eq!(r.results(Part::Photo)[0].output.as_ref().unwrap().url, "blob:new");
    assert_eq!(r.upload, Upload::Idle, "the upload is not part of a draft");
    assert_eq!(r.key, None, "nor its idempotency key");
    assert!(r.blockers().is_empty(), "{:?}", r.blockers());
}

#[test]
fn the_draft_encoding_keeps_every_form_field_and_every_value() {
    // Every leaf of the form's JSON is one of the draft's fields: fill each with a distinct
    // value through the JSON (the wire's own names) and read it back through the encoding.
    let mut json = serde_json::to_value(RawBundle::default()).unwrap();
    let mut leaves = 0;
    for (group, v) in json.as_object_mut().unwrap() {
        let mut fill = |name: &str, v: &mut serde_json::Value| {
            leaves += 1;
            *v = match name {
                "holds_certificate" => serde_json::Value::Bool(true),
                "working_years" => serde_json::json!(12),
                _ => serde_json::Value::String(format!("{group}.{name} 值")),
            };
        };
        match v.as_object_mut() {
            Some(fields) => fields.iter_mut().for_each(|(k, v)| fill(k, v)),
            None => fill(group, v),
        }
    }
    let raw: RawBundle = serde_json::from_value(json).unwrap();
    assert_eq!(leaves, 18 + 2, "raw_fields and the two typed fields");
    assert!(raw_fields(&raw).iter().all(|f| f.is_some()));
    let mut s = with_person(ready_holder());
    s.raw = raw.clone();
    let mut d = s.draft(NOW, 7.0, DRAFT_MAX_BYTES).unwrap();
    d.files.push(DraftFile {
        part: "photo".into(),
        index: 1,
        file_name: "照片.jpg".into(),
        before: Report::new(),
        verdict: std::iter::once(Problem::new("photo", Code::PhotoBlurry, &[])).collect(),
        output: Some(DraftOutput {
            media_type: "image/jpeg".into(),
            file_name: "照片.jpg".into(),
            width: 295,
            height: 413,
            len: 3,
            bytes: vec![0xFF, 0xD8, 0xFF],
        }),
        fingerprint: Some((u64::MAX - 7, 0.125)),
    });
    d.files.push(DraftFile { output: None, fingerprint: None, ..d.files[0].clone() });
    let back = Draft::decode(&d.encode()).expect("decodes");
    assert_eq!(back, d);
    assert_eq!(back.raw, raw);
    // Absent values stay absent.
    let empty = Draft { raw: RawBundle::default(), files: Vec::new(), ..d };
    assert_eq!(Draft::decode(&empty.encode()), Some(empty));
}

#[test]
fn a_draft_never_holds_the_token_or_the_upload() {
    let mut s = with_person(submittable());
    s.apply(Action::Submit("idem-key-123".into()));
    let d = s.draft(NOW, 1.0, DRAFT_MAX_BYTES).unwrap();
    let json: serde_json::Value = serde_json::to_value(&d).unwrap();
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "acks",
            "expires_at_ms",
            "files",
            "lang",
            "omitted",
            "person",
            "raw",
            "saved_at_ms",
            "show_all",
            "step",
            "touched",
            "version"
        ],
        "exactly these: no token, no upload, no key"
    );
    let text = String::from_utf8_lossy(&d.encode()).to_lowercase();
    for word in ["token", "bearer", "authorization", "idem-key-123", "eyj"] {
        assert!(!text.contains(word), "{word} is never saved");
    }
}

#[test]
fn no_draft_without_a_person_or_after_the_receipt_and_files_over_the_bound_are_left_out() {
    let s = ready_holder();
    assert_eq!(s.draft(NOW, 7.0, DRAFT_MAX_BYTES), None, "the person is not known yet");
    let mut s = with_person(submittable());
    let d = s.draft(NOW, 7.0, 16 * 1024 + 1024 + 3 + 2).unwrap();
    assert_eq!((d.files.len(), d.omitted), (1, 2), "only what fits");
    s.apply(Action::Submitted(SubmissionView {
        receipt_number: None,
        id: "sub-1".into(),
        status: intake_rules::wire::SubmissionStatus::Received,
        status_label: None,
        received_at: String::new(),
        reason: None,
        kind: None,
    }));
    assert_eq!(s.draft(NOW, 7.0, DRAFT_MAX_BYTES), None, "a submitted bundle leaves no draft");
}

#[test]
fn an_expired_draft_another_persons_or_a_damaged_one_is_not_restored() {
    let mut s = with_person(ready_holder());
    field(&mut s, "email", "chen@example.com");
    let d = s.draft(NOW, 7.0, DRAFT_MAX_BYTES).unwrap();
    assert!(d.restorable(PERSON, NOW + 6.9 * 86_400_000.0));
    assert!(!d.restorable(PERSON, NOW + 7.0 * 86_400_000.0), "expired after 7 days");
    assert!(!d.restorable("person-b", NOW), "another person's draft");
    let mut old = d.clone();
    old.version = 0;
    assert!(!old.restorable(PERSON, NOW));
    let bytes = d.encode();
    assert_eq!(Draft::decode(&bytes[..bytes.len() - 1]), None, "a truncated draft");
    assert_eq!(Draft::decode(b"IXD1"), None);
    // Every shorter prefix, and anything after a whole draft, is not a draft.
    for n in 0..bytes.len() {
        assert_eq!(Draft::decode(&bytes[..n]), None, "prefix of {n} bytes");
    }
    assert_eq!(Draft::decode(&[&bytes[..], b"x"].concat()), None, "bytes after the draft");
    // A draft of the former (JSON) format is not read.
    let mut v1 = b"IXD1".to_vec();
    v1.extend_from_slice(&bytes[4..]);
    assert_eq!(Draft::decode(&v1), None);

    // Restored into another person's session (same device, key mix-up): nothing is taken.
    let mut other = loaded("new-applicant");
    other.apply(Action::Restore(PERSON.into(), Some(Rc::new(Restored { draft: d.clone(), results: Vec::new() }))));
    assert_eq!(other.step, Step::Identity);
    assert_eq!(other.raw.email, None, "a draft of another identity is never shown");
    // Or to a different person key.
    let mut b = loaded("xiamen-holder");
    b.apply(Action::Restore("person-b".into(), Some(Rc::new(Restored { draft: d, results: Vec::new() }))));
    assert_eq!(b.raw.email, None);
    assert!(b.draft_ready);
}

#[test]
fn the_history_moves_between_steps_with_the_guards_of_next() {
    let mut s = loaded("new-applicant");
    s.apply(Action::Navigate(Step::Form));
    assert_eq!(s.step, Step::Form, "forward through steps that need nothing");
    s.apply(Action::Navigate(Step::Review));
    assert_eq!(s.step, Step::Form, "not past an invalid form");
    s.apply(Action::Navigate(Step::Identity));
    assert_eq!(s.step, Step::Identity, "back");
    let mut s = with_person(submittable());
    let before = s.revision;
    s.apply(Action::AuthRequired);
    assert!(s.auth_required);
    assert!(s.revision > before, "the draft is saved when the sign-in is refused");
    assert_eq!(s.step, Step::Review, "the person stays where they are");
}

#[test]
fn signing_in_again_in_place_continues_for_the_same_person_and_starts_afresh_for_anyone_else() {
    let mut s = with_person(submittable());
    s.apply(Action::Resume { same: true });
    assert_eq!(s.step, Step::Review, "nothing to resume without a 401");
    s.apply(Action::AuthRequired);
    let parts = s.parts.clone();
    s.apply(Action::Resume { same: true });
    assert!(!s.auth_required, "the prompt goes");
    assert_eq!(s.step, Step::Review, "the same step");
    assert_eq!(s.parts, parts, "every file is still there");
    assert!(s.can_submit(), "and it can be submitted: {:?}", s.blockers());

    let mut s = with_person(submittable());
    s.apply(Action::AuthRequired);
    s.apply(Action::Resume { same: false });
    assert!(!s.auth_required);
    assert!(matches!(s.load, Load::Loading), "another person's session is loaded afresh");
    assert!(s.parts.is_empty() && s.person.is_none() && s.key.is_none(), "none of the first person's work");
    assert_eq!(s.raw, RawBundle::default());
    assert!(!s.draft_ready, "no draft is saved until the new person's is looked for");
}
