//! What the backend sends the widget (api.md), as the widget reads it.
//! Every field is defaulted so an older or newer backend never breaks the page.

use intake_rules::form::{ArchiveFacts, Identity, RawEducation, RawUnit};
use intake_rules::profile::PhotoProfile;
use intake_rules::report::Text;
use intake_rules::wire::SubmissionStatus;
use serde::{Deserialize, Deserializer};

/// `null` reads as the default, as the platform sends `null` for empty groups.
fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /api/v1/config`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WidgetConfig {
    /// The active photo spec profile.
    pub profile: PhotoProfile,
    /// Help texts (FAQ 2, FAQ 3).
    #[serde(default)]
    pub help: Help,
    /// Feature switches.
    #[serde(default)]
    pub features: Features,
}

/// Help texts from configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Help {
    /// iXiamen account help, zh-CN.
    pub ixiamen_zh: String,
    /// iXiamen account help, English.
    pub ixiamen_en: String,
    /// iXiamen hotlines.
    pub ixiamen_hotlines: Vec<String>,
    /// iXiamen service window.
    pub ixiamen_window_zh: String,
    /// The same in English.
    pub ixiamen_window_en: String,
    /// The collection system's hotline.
    pub system_hotline: String,
}

/// Feature switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Features {
    /// Information modification (FAQ 6) is open.
    pub modification_open: bool,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Me {
    /// The identity in full (the caller's own), for the bundle.
    pub identity: Identity,
    /// Masked number for display.
    #[serde(default)]
    pub certificate_number_masked: String,
    /// Masked mobile for display.
    #[serde(default)]
    pub mobile_masked: Option<String>,
    /// The name carries pinyin for a rare character (FAQ 4).
    #[serde(default)]
    pub name_has_pinyin: bool,
}

/// `GET /api/v1/archive` (the platform's archive, FAQ 8).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Archive {
    /// Holds the original accounting certificate.
    #[serde(deserialize_with = "null_default")]
    pub holds_certificate: bool,
    /// `xiamen` or `elsewhere`.
    pub certificate_origin: Option<String>,
    /// Working years on record (read-only, FAQ 12).
    pub working_years: Option<u32>,
    /// Gender on record.
    pub gender: Option<String>,
    /// Birth date on record.
    pub birth_date: Option<String>,
    /// Basic information.
    #[serde(deserialize_with = "null_default")]
    pub basic: ArchiveBasic,
    /// Continuing-education records.
    #[serde(deserialize_with = "null_default")]
    pub continuing_education: Vec<EducationRecord>,
    /// Integrity records.
    #[serde(deserialize_with = "null_default")]
    pub integrity: Vec<IntegrityRecord>,
}

impl Archive {
    /// What validation needs from the archive.
    pub fn facts(&self) -> ArchiveFacts {
        ArchiveFacts { holds_certificate: self.holds_certificate, working_years: self.working_years }
    }
}

/// Basic information in the archive.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ArchiveBasic {
    /// The unit.
    #[serde(deserialize_with = "null_default")]
    pub unit: RawUnit,
    /// Position.
    pub position: Option<String>,
    /// Professional title.
    pub title: Option<String>,
    /// Education.
    #[serde(deserialize_with = "null_default")]
    pub education: RawEducation,
}

/// One year of continuing education.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EducationRecord {
    /// Year.
    pub year: u32,
    /// Hours.
    pub hours: u32,
    /// `completed`, `in_progress`…
    pub status: String,
}

/// One integrity record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct IntegrityRecord {
    /// Date.
    pub date: String,
    /// `commendation`, `penalty`…
    pub kind: String,
    /// Description.
    pub description: String,
}

/// A submission as its owner sees it (`GET /api/v1/submissions[/{id}]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubmissionView {
    /// Submission number.
    pub id: String,
    /// The short receipt number people keep (`XXXX-XXXX-XXXX`), when the server gives one.
    #[serde(default)]
    pub receipt_number: Option<String>,
    /// Status.
    pub status: SubmissionStatus,
    /// Status label.
    #[serde(default)]
    pub status_label: Option<Text>,
    /// When it was received.
    #[serde(default)]
    pub received_at: String,
    /// Why it needs attention.
    #[serde(default)]
    pub reason: Option<String>,
    /// `submission` or `amendment`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// `GET /api/v1/submissions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SubmissionList {
    /// Newest first.
    pub submissions: Vec<SubmissionView>,
    /// The modification switch.
    pub modification_open: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_carries_its_receipt_number_when_the_server_gives_one() {
        let with: SubmissionView = serde_json::from_value(serde_json::json!({
            "id": "0193a5b2-7c1e-7d3f-9a4b-5c6d7e8f9012", "receipt_number": "7Q2M-4F8D-K3XT", "status": "received"
        }))
        .unwrap();
        assert_eq!(with.receipt_number.as_deref(), Some("7Q2M-4F8D-K3XT"));
        let without: SubmissionView =
            serde_json::from_value(serde_json::json!({ "id": "x", "status": "received" })).unwrap();
        assert_eq!(without.receipt_number, None, "an older server: the id alone");
    }

    #[test]
    fn reads_the_sandbox_archive_shape() {
        let a: Archive = serde_json::from_value(serde_json::json!({
            "holds_certificate": true, "certificate_origin": "xiamen", "working_years": 12,
            "basic": {"unit": {"name": "厦门鹭江会计服务有限公司", "uscc": "91350200MA31U8K4XK", "type": "enterprise"},
                      "position": "主办会计", "title": "intermediate",
                      "education": {"level": "bachelor", "school": "集美大学", "major": "会计学", "graduation_date": "2007-07-01"}},
            "continuing_education": [{"year": 2024, "hours": 90, "status": "completed"}],
            "integrity": [], "name": "陈静", "unknown_field": 1
        }))
        .unwrap();
        let none: Archive = serde_json::from_value(serde_json::json!({
            "holds_certificate": false, "working_years": null,
            "basic": {"unit": null, "position": null, "title": "none", "education": null},
            "continuing_education": null, "integrity": []
        }))
        .unwrap();
        assert_eq!(none.basic.unit, RawUnit::default());
        assert!(none.continuing_education.is_empty());
        assert_eq!(a.basic.unit.kind.as_deref(), Some("enterprise"));
        assert_eq!(a.facts().working_years, Some(12));
        assert_eq!(a.continuing_education[0].hours, 90);
    }
}
