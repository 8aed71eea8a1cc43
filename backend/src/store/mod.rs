//! Durable storage behind one trait: SQLite (default, `sqlite.rs`) and
//! PostgreSQL (scale-out, the hardening issue). Everything the backend
//! promises about submissions rests on these operations:
//!
//! - `insert` commits the submission, its files and its first history entry
//!   in one transaction before it returns (the API answers 201 only after).
//! - The idempotency key is unique per subject: the same key with the same
//!   body hash returns the existing submission, with another hash a conflict.
//! - The forwarder `claim_due`s submissions with a lease; every later mark
//!   names the lease token, so a worker whose lease expired cannot overwrite
//!   a newer claim. A crash at any point leaves a submission claimable again
//!   once its lease expires.

pub mod encrypted;
pub mod postgres;
pub mod sqlite;

#[cfg(test)]
mod contract;

use async_trait::async_trait;
use intake_rules::wire::SubmissionStatus;
use serde::{Deserialize, Serialize};

/// A stored file (the bytes as the rules re-encoded them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Multipart part name (`photo`, `id_front`, …).
    pub part: String,
    /// Position among the files of that part.
    pub index: u32,
    /// Media type of `bytes`.
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What a new submission is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SubmissionKind {
    /// A first submission.
    Submission,
    /// An amendment of an earlier submission (FAQ 6).
    Amendment {
        /// The submission it amends.
        of: String,
    },
}

/// Everything `insert` stores.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    /// Submission number (UUIDv7 text).
    pub id: String,
    /// Who submitted: `issuer|sub` of the token.
    pub subject: String,
    /// Submission or amendment.
    pub kind: SubmissionKind,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: String,
    /// SHA-256 (hex) of the request content (bundle and every part), for idempotency.
    pub body_hash: String,
    /// The identity from the token, JSON, forwarded with the bundle.
    pub identity_json: String,
    /// The validated bundle, JSON.
    pub bundle_json: String,
    /// The files.
    pub files: Vec<StoredFile>,
    /// Unix milliseconds when received.
    pub received_at_ms: i64,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The status entered.
    pub status: SubmissionStatus,
    /// Why (the platform's reason, the retry's error), if anything.
    pub note: Option<String>,
}

/// A stored submission as its owner and operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    /// Submission number.
    pub id: String,
    /// Who submitted.
    pub subject: String,
    /// Submission or amendment.
    pub kind: SubmissionKind,
    /// Current status.
    pub status: SubmissionStatus,
    /// Unix milliseconds when received.
    pub received_at_ms: i64,
    /// Forwarding attempts so far.
    pub attempts: u32,
    /// The last forwarding error or platform reason.
    pub last_error: Option<String>,
    /// Status history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// The answer of `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored now.
    Created(SubmissionRecord),
    /// The same key with the same body was stored before: the original.
    Existing(SubmissionRecord),
    /// The same key was used with a different body.
    Conflict,
}

/// A submission claimed for forwarding.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Submission number (also the platform's Idempotency-Key).
    pub id: String,
    /// Submission or amendment.
    pub kind: SubmissionKind,
    /// Identity JSON.
    pub identity_json: String,
    /// Bundle JSON.
    pub bundle_json: String,
    /// The files.
    pub files: Vec<StoredFile>,
    /// Attempts before this one.
    pub attempts: u32,
    /// Unix milliseconds when received (queue age).
    pub received_at_ms: i64,
    /// Names this claim in later marks.
    pub lease_token: String,
}

/// A row of `intake outbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Submission number.
    pub id: String,
    /// Current status.
    pub status: SubmissionStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// Unix milliseconds when received.
    pub received_at_ms: i64,
    /// Unix milliseconds of the next attempt, while queued.
    pub next_attempt_ms: Option<i64>,
    /// Last error or platform reason.
    pub last_error: Option<String>,
}

/// Queue numbers for `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Submissions waiting to be forwarded.
    pub queued: u64,
    /// Receive time of the oldest waiting one.
    pub oldest_queued_ms: Option<i64>,
    /// Submissions needing attention.
    pub needs_attention: u64,
}

/// A storage failure. The API answers 503 `server.unavailable`; nothing acknowledged is lost.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Storage operations (see the module docs for the guarantees).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new submission durably, or finds the one with the same idempotency key.
    async fn insert(&self, new: NewSubmission) -> Result<InsertOutcome, StoreError>;
    /// The submission `subject` stored under an idempotency key, with its body hash.
    async fn find_by_key(&self, subject: &str, key: &str) -> Result<Option<(SubmissionRecord, String)>, StoreError>;
    /// One submission of `subject` (another subject's id is `None`).
    async fn get(&self, subject: &str, id: &str) -> Result<Option<SubmissionRecord>, StoreError>;
    /// All submissions of `subject`, newest first.
    async fn list(&self, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError>;
    /// Claims up to `limit` submissions that are due (status received, next attempt ≤ now, lease free).
    async fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError>;
    /// Delivered (2xx/409). `accepted`: the platform also accepted it. False when the lease was lost.
    async fn mark_forwarded(
        &self,
        id: &str,
        lease_token: &str,
        accepted: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A transient failure: try again at `next_attempt_ms`. False when the lease was lost.
    async fn mark_retry(
        &self,
        id: &str,
        lease_token: &str,
        next_attempt_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A permanent refusal: needs attention, with the platform's reason. False when the lease was lost.
    async fn mark_attention(&self, id: &str, lease_token: &str, reason: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Deletes the image bytes of submissions delivered before `before_ms` (receipt and history stay).
    async fn purge_delivered_files(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Operators' view: every submission not yet delivered, or only those needing attention.
    async fn outbox(&self, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError>;
    /// Puts a submission needing attention (or waiting) back in the queue, due now. False if unknown or delivered.
    async fn retry_now(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Queue numbers.
    async fn stats(&self) -> Result<QueueStats, StoreError>;
    /// Readiness: the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

// ---- helpers shared by the store implementations ----

/// Parses a stored status.
pub(crate) fn parse_status(text: &str) -> Result<SubmissionStatus, StoreError> {
    SubmissionStatus::parse(text).ok_or_else(|| StoreError(format!("unknown submission status {text:?}")))
}

/// The stored text of a kind (JSON).
pub(crate) fn kind_text(kind: &SubmissionKind) -> Result<String, StoreError> {
    serde_json::to_string(kind).map_err(|e| StoreError(format!("cannot encode submission kind: {e}")))
}

/// Parses a stored kind.
pub(crate) fn parse_kind(text: &str) -> Result<SubmissionKind, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError(format!("invalid submission kind {text:?}: {e}")))
}

/// The applied schema version, refusing a database migrated by a newer build.
/// The receipt number the store keeps for a submission id, under a unique constraint: the 12
/// characters without hyphens (`rules::receipt`), `None` for an id that is not a UUID.
pub(crate) fn receipt_key(id: &str) -> Option<String> {
    intake_rules::receipt::ReceiptNumber::for_id(id).map(|n| n.compact())
}

pub(crate) fn check_schema_version(current: i64, known: usize) -> Result<usize, StoreError> {
    let current = usize::try_from(current).map_err(|_| StoreError(format!("invalid schema version {current}")))?;
    if current > known {
        return Err(StoreError(format!(
            "database schema version {current} is newer than this build supports ({known})"
        )));
    }
    Ok(current)
}
