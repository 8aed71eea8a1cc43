//! Types that cross the wire between widget, backend and operators' tools
//! (api.md). The form's `bundle` part is [`crate::form::RawBundle`].

use serde::{Deserialize, Serialize};

use crate::report::Problem;

/// The one error shape of the HTTP API and of `intake check --json`:
/// `{"errors":[{"field","code","severity","fixable","message":{"zh","en"},"hint":{"zh","en"}}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// Every problem found.
    pub errors: Vec<Problem>,
}

/// Where a submission is (rules.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Durably stored, waiting to be forwarded.
    Received,
    /// Delivered to the platform.
    Forwarded,
    /// The platform accepted it.
    Accepted,
    /// The platform refused it; an operator or the accountant must act.
    NeedsAttention,
}

impl SubmissionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [SubmissionStatus; 4] = [
        SubmissionStatus::Received,
        SubmissionStatus::Forwarded,
        SubmissionStatus::Accepted,
        SubmissionStatus::NeedsAttention,
    ];

    /// The stable identifier, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Received => "received",
            SubmissionStatus::Forwarded => "forwarded",
            SubmissionStatus::Accepted => "accepted",
            SubmissionStatus::NeedsAttention => "needs_attention",
        }
    }

    /// Parses the identifier returned by [`SubmissionStatus::as_str`].
    pub fn parse(s: &str) -> Option<SubmissionStatus> {
        SubmissionStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Display labels, zh-CN and English.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            SubmissionStatus::Received => ("已接收", "Received"),
            SubmissionStatus::Forwarded => ("已报送", "Forwarded"),
            SubmissionStatus::Accepted => ("平台已受理", "Accepted by the platform"),
            SubmissionStatus::NeedsAttention => ("需要处理", "Needs attention"),
        }
    }
}

/// The answer to an accepted submission (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// Submission number.
    pub id: String,
    /// The short number for people (`XXXX-XXXX-XXXX`, see `rules::receipt`), unique in the store.
    #[serde(default)]
    pub receipt_number: String,
    /// Current status.
    pub status: SubmissionStatus,
    /// RFC 3339 time it was durably stored.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub received_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Code;

    #[test]
    fn status_identifiers_are_the_serde_names() {
        for status in SubmissionStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(SubmissionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(SubmissionStatus::parse("lost"), None);
    }

    #[test]
    fn envelope_has_the_documented_shape() {
        let env = ErrorEnvelope { errors: vec![Problem::new("photo", Code::PhotoBackgroundNotUniform, &[])] };
        let v: serde_json::Value = serde_json::to_value(&env).unwrap();
        let e = &v["errors"][0];
        assert_eq!(e["field"], "photo");
        assert_eq!(e["code"], "photo.background_not_uniform");
        assert_eq!(e["severity"], "error");
        assert!(e["message"]["zh"].as_str().unwrap().contains("背景"));
        assert!(e["message"]["en"].as_str().unwrap().contains("background"));
        assert!(!e["hint"]["en"].as_str().unwrap().is_empty());
        let back: ErrorEnvelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, env);
    }
}
