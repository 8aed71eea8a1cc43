//! The sample people shared by the sandboxes (identity provider, platform) and the tests.
//!
//! The data lives in `tests/fixtures/people.json` at the workspace root and is compiled in.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const PEOPLE_JSON: &str = include_str!("../../tests/fixtures/people.json");

/// One sample person. `archive` is `None` for a person the platform holds no archive for.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Person {
    pub key: String,
    pub name: String,
    pub certificate_type: String,
    pub certificate_number: String,
    pub mobile: String,
    pub gender: String,
    pub birth_date: String,
    pub archive: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PeopleFile {
    people: Vec<Person>,
}

/// All sample people, in the fixture's order (parsed once).
pub fn people() -> &'static [Person] {
    static PEOPLE: OnceLock<Vec<Person>> = OnceLock::new();
    PEOPLE.get_or_init(|| {
        let file: PeopleFile =
            serde_json::from_str(PEOPLE_JSON).expect("tests/fixtures/people.json is valid (checked by a unit test)");
        file.people
    })
}

/// The person with this fixture key (`"xiamen-holder"`, …).
pub fn person(key: &str) -> Option<&'static Person> {
    people().iter().find(|p| p.key == key)
}

/// The person holding this certificate. The number is compared case-insensitively
/// (a resident id may end in `X` or `x`; passport numbers are upper case).
pub fn by_certificate(certificate_type: &str, number: &str) -> Option<&'static Person> {
    people()
        .iter()
        .find(|p| p.certificate_type == certificate_type && p.certificate_number.eq_ignore_ascii_case(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_parses_with_unique_keys_and_certificates() {
        let all = people();
        assert!(all.len() >= 5, "expected the sample people, got {}", all.len());
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.key, b.key);
                assert!(
                    !(a.certificate_type == b.certificate_type && a.certificate_number == b.certificate_number),
                    "{} and {} share a certificate",
                    a.key,
                    b.key
                );
            }
        }
    }

    #[test]
    fn lookups() {
        let p = person("xiamen-holder").expect("xiamen-holder");
        assert_eq!(p.name, "陈静");
        assert!(p.archive.is_some());
        let same = by_certificate(&p.certificate_type, &p.certificate_number).expect("by certificate");
        assert_eq!(same.key, p.key);
        assert!(person("new-applicant").expect("new-applicant").archive.is_none());
        let passport = by_certificate("passport", "e12345678").expect("case-insensitive");
        assert_eq!(passport.key, "passport-holder");
        assert!(person("nobody").is_none());
        assert!(by_certificate("passport", "350203198507154321").is_none());
    }
}
