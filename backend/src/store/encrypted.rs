//! Encryption at rest for any [`Store`] (PIPL art. 28: ID card images and
//! certificate numbers are sensitive personal information).
//!
//! [`EncryptedStore`] wraps another store and encrypts, on `insert`, the
//! identity JSON, the bundle JSON and every file's bytes; `claim_due` (the
//! forwarder needs plaintext) decrypts them again. Everything else passes
//! through: no other operation returns those fields. Ids, subject (`issuer|sub`),
//! idempotency key, body hash, media types and timestamps stay in clear; the
//! queries need them and none of them is personal data.
//!
//! Envelope encryption with AES-256-GCM:
//!
//! - each submission gets a fresh random 256-bit data key;
//! - every encrypted value is the binary envelope `version (1 byte) || nonce
//!   (12 bytes, fresh) || ciphertext and tag`, with associated data naming the
//!   submission and the field (`identity`, `bundle`, `file` + part + index), so
//!   a value copied to another submission or field does not decrypt;
//! - the data key is wrapped with the active master key (associated data: the
//!   submission id and the master key id) and kept, without a schema change,
//!   inside the stored identity JSON:
//!   `{"v":1,"kid":"<master key id>","dk":"<base64>","ct":"<base64>"}`;
//!   the stored bundle JSON is `{"v":1,"ct":"<base64>"}`, file bytes are the
//!   binary envelope itself.
//!
//! Key rotation: make the new master key active and keep the old one in
//! [`KeyRing`]'s `old` keys until every submission written under it is
//! delivered (or purged); the stored key id selects the key to unwrap with.
//!
//! A submission that cannot be decrypted (unknown master key id, tampered or
//! corrupted data) is never returned as data: `claim_due` moves it to
//! needs-attention with the reason, so it does not block the queue, and
//! answers a [`StoreError`]. The other submissions of that claim stay leased
//! and come back when their lease expires, as after a worker crash. Once the
//! cause is fixed (the old key restored), `retry_now` queues it again.
//! Rows written in plaintext before encryption was enabled are refused the
//! same way: there is no plaintext fallback.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    Claimed, InsertOutcome, NewSubmission, OutboxRow, QueueStats, Store, StoreError, StoredFile, SubmissionRecord,
};

/// Format version of every envelope (binary prefix and JSON `v`).
const VERSION: u8 = 1;
/// AES-GCM nonce length.
const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Context of the key derived for [`KeyRing::keyed_hash`].
const LOOKUP_KEY_CONTEXT: &[u8] = b"intake/certificate-number-lookup/v1";

/// Master keys: the active one encrypts new submissions; all of them (active
/// and old) decrypt. `Debug` shows the key ids only.
#[derive(Clone)]
pub struct KeyRing {
    active_id: String,
    keys: HashMap<String, [u8; 32]>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("KeyRing").field("active_id", &self.active_id).field("key_ids", &ids).finish_non_exhaustive()
    }
}

impl KeyRing {
    /// The active master key `(id, key)` and older keys still needed to decrypt.
    /// An old key with the active key's id is ignored.
    pub fn new(active: (String, [u8; 32]), old: Vec<(String, [u8; 32])>) -> KeyRing {
        let mut keys: HashMap<String, [u8; 32]> = old.into_iter().collect();
        let (active_id, active_key) = active;
        keys.insert(active_id.clone(), active_key);
        KeyRing { active_id, keys }
    }

    /// From configuration: key id → base64 of 32 bytes; `active_id` names the
    /// key that encrypts, the others only decrypt.
    pub fn from_config(active_id: &str, keys: &HashMap<String, String>) -> Result<KeyRing, String> {
        let mut decoded = HashMap::with_capacity(keys.len());
        for (id, b64) in keys {
            if id.is_empty() {
                return Err("encryption key ids must not be empty".to_owned());
            }
            let bytes =
                BASE64.decode(b64.trim()).map_err(|e| format!("encryption key {id:?} is not valid base64: {e}"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|b: Vec<u8>| format!("encryption key {id:?} must be 32 bytes, got {}", b.len()))?;
            decoded.insert(id.clone(), key);
        }
        if !decoded.contains_key(active_id) {
            return Err(format!("active encryption key {active_id:?} is not among the configured keys"));
        }
        Ok(KeyRing { active_id: active_id.to_owned(), keys: decoded })
    }

    /// The id of the key that encrypts new submissions.
    pub fn active_id(&self) -> &str {
        &self.active_id
    }

    /// A keyed hash (HMAC-SHA256, lower-case hex) of a certificate number, to
    /// find submissions by certificate number without storing the number.
    ///
    /// The number is trimmed and upper-cased first (a final `x` of a resident
    /// ID number matches `X`). The HMAC key is derived from the active master
    /// key (`HMAC-SHA256(master, "intake/certificate-number-lookup/v1")`), so
    /// hashes are stable while the active key is, and change with a rotation:
    /// stored hashes must then be recomputed (from decrypted data) or looked up
    /// under each key.
    pub fn keyed_hash(&self, certificate_number: &str) -> String {
        let master = &self.keys[&self.active_id];
        let derived = hmac_sha256(master, LOOKUP_KEY_CONTEXT);
        let digest = hmac_sha256(&derived, certificate_number.trim().to_uppercase().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn key(&self, id: &str) -> Result<&[u8; 32], String> {
        self.keys.get(id).ok_or_else(|| format!("master key {id:?} is not configured (rotated out of the key ring?)"))
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A [`Store`] that encrypts identity, bundle and files at rest (see the module docs).
#[derive(Clone)]
pub struct EncryptedStore {
    inner: Arc<dyn Store>,
    keys: KeyRing,
}

impl std::fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedStore").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl EncryptedStore {
    /// Encrypts what it stores in `inner` with `keys`.
    pub fn new(inner: Arc<dyn Store>, keys: KeyRing) -> EncryptedStore {
        EncryptedStore { inner, keys }
    }

    /// See [`KeyRing::keyed_hash`].
    pub fn keyed_hash(&self, certificate_number: &str) -> String {
        self.keys.keyed_hash(certificate_number)
    }
}

/// The stored identity JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityEnvelope {
    v: u8,
    kid: String,
    dk: String,
    ct: String,
}

/// The stored bundle JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleEnvelope {
    v: u8,
    ct: String,
}

/// Associated data: a label and its parts, each length-prefixed.
fn aad(label: &str, parts: &[&str]) -> Vec<u8> {
    let mut out = format!("intake/v{VERSION}/{label}").into_bytes();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn file_aad(id: &str, part: &str, index: u32) -> Vec<u8> {
    aad("file", &[id, part, &index.to_string()])
}

/// `version || nonce || ciphertext`.
fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let ct = Aes256Gcm::new(key.into())
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| "encryption failed".to_owned())?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(key: &[u8; 32], envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, String> {
    if envelope.len() < 1 + NONCE_LEN + TAG_LEN {
        return Err("envelope too short".to_owned());
    }
    if envelope[0] != VERSION {
        return Err(format!("unknown envelope version {}", envelope[0]));
    }
    let (nonce, ct) = envelope[1..].split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| "envelope too short".to_owned())?;
    Aes256Gcm::new(key.into())
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .map_err(|_| "authentication failed (tampered or corrupted data, or the wrong key)".to_owned())
}

fn encrypt_submission(keys: &KeyRing, mut new: NewSubmission) -> Result<NewSubmission, String> {
    let id = new.id.clone();
    let mut data_key = [0u8; 32];
    OsRng.fill_bytes(&mut data_key);
    let master = keys.key(&keys.active_id)?;
    let wrapped = seal(master, &data_key, &aad("data-key", &[&id, &keys.active_id]))?;
    let identity_ct = seal(&data_key, new.identity_json.as_bytes(), &aad("identity", &[&id]))?;
    let bundle_ct = seal(&data_key, new.bundle_json.as_bytes(), &aad("bundle", &[&id]))?;
    let identity = IdentityEnvelope {
        v: VERSION,
        kid: keys.active_id.clone(),
        dk: BASE64.encode(wrapped),
        ct: BASE64.encode(identity_ct),
    };
    new.identity_json = serde_json::to_string(&identity).map_err(|e| e.to_string())?;
    new.bundle_json = serde_json::to_string(&BundleEnvelope { v: VERSION, ct: BASE64.encode(bundle_ct) })
        .map_err(|e| e.to_string())?;
    for file in &mut new.files {
        file.bytes = seal(&data_key, &file.bytes, &file_aad(&id, &file.part, file.index))?;
    }
    Ok(new)
}

fn decrypt_claimed(keys: &KeyRing, mut claimed: Claimed) -> Result<Claimed, String> {
    let id = claimed.id.clone();
    let identity: IdentityEnvelope = serde_json::from_str(&claimed.identity_json)
        .map_err(|_| "stored identity is not an encryption envelope".to_owned())?;
    let bundle: BundleEnvelope = serde_json::from_str(&claimed.bundle_json)
        .map_err(|_| "stored bundle is not an encryption envelope".to_owned())?;
    if identity.v != VERSION || bundle.v != VERSION {
        return Err(format!("unknown envelope version {}/{}", identity.v, bundle.v));
    }
    let master = keys.key(&identity.kid)?;
    let b64 = |s: &str, what: &str| BASE64.decode(s).map_err(|_| format!("stored {what} is not valid base64"));
    let data_key = open(master, &b64(&identity.dk, "data key")?, &aad("data-key", &[&id, &identity.kid]))
        .map_err(|e| format!("data key: {e}"))?;
    let data_key: [u8; 32] = data_key.try_into().map_err(|_| "data key has the wrong length".to_owned())?;
    let text = |bytes: Vec<u8>, what: &str| String::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"));
    claimed.identity_json = text(
        open(&data_key, &b64(&identity.ct, "identity")?, &aad("identity", &[&id]))
            .map_err(|e| format!("identity: {e}"))?,
        "identity",
    )?;
    claimed.bundle_json = text(
        open(&data_key, &b64(&bundle.ct, "bundle")?, &aad("bundle", &[&id])).map_err(|e| format!("bundle: {e}"))?,
        "bundle",
    )?;
    for file in &mut claimed.files {
        let StoredFile { part, index, bytes, .. } = file;
        *bytes =
            open(&data_key, bytes, &file_aad(&id, part, *index)).map_err(|e| format!("file {part}[{index}]: {e}"))?;
    }
    Ok(claimed)
}

/// Runs CPU-bound crypto on the blocking pool, off the runtime threads.
async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError(format!("encryption task failed: {e}")))
}

#[async_trait]
impl Store for EncryptedStore {
    async fn insert(&self, new: NewSubmission) -> Result<InsertOutcome, StoreError> {
        let keys = self.keys.clone();
        let id = new.id.clone();
        let sealed = blocking(move || encrypt_submission(&keys, new))
            .await?
            .map_err(|e| StoreError(format!("encrypting submission {id}: {e}")))?;
        self.inner.insert(sealed).await
    }

    async fn find_by_key(&self, subject: &str, key: &str) -> Result<Option<(SubmissionRecord, String)>, StoreError> {
        self.inner.find_by_key(subject, key).await
    }

    async fn get(&self, subject: &str, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
        self.inner.get(subject, id).await
    }

    async fn list(&self, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError> {
        self.inner.list(subject).await
    }

    async fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        let claimed = self.inner.claim_due(now_ms, lease_ms, limit).await?;
        let keys = self.keys.clone();
        let results = blocking(move || {
            claimed
                .into_iter()
                .map(|c| {
                    let (id, token) = (c.id.clone(), c.lease_token.clone());
                    decrypt_claimed(&keys, c).map_err(|e| (id, token, e))
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let mut ok = Vec::with_capacity(results.len());
        let mut failed = Vec::new();
        for result in results {
            match result {
                Ok(c) => ok.push(c),
                Err(f) => failed.push(f),
            }
        }
        if failed.is_empty() {
            return Ok(ok);
        }
        let mut messages = Vec::with_capacity(failed.len());
        for (id, token, error) in failed {
            let reason = format!("cannot decrypt stored submission: {error}");
            // Park it for an operator so it does not come back every lease.
            let parked = match self.inner.mark_attention(&id, &token, &reason, now_ms).await {
                Ok(true) => "moved to needs attention",
                Ok(false) => "lease lost",
                Err(_) => "could not move it to needs attention",
            };
            messages.push(format!("submission {id}: {error} ({parked})"));
        }
        Err(StoreError(format!("decrypting claimed submissions: {}", messages.join("; "))))
    }

    async fn mark_forwarded(
        &self,
        id: &str,
        lease_token: &str,
        accepted: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.mark_forwarded(id, lease_token, accepted, now_ms).await
    }

    async fn mark_retry(
        &self,
        id: &str,
        lease_token: &str,
        next_attempt_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner.mark_retry(id, lease_token, next_attempt_ms, error, now_ms).await
    }

    async fn mark_attention(&self, id: &str, lease_token: &str, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.mark_attention(id, lease_token, reason, now_ms).await
    }

    async fn purge_delivered_files(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.inner.purge_delivered_files(before_ms).await
    }

    async fn outbox(&self, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
        self.inner.outbox(only_attention).await
    }

    async fn retry_now(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.retry_now(id, now_ms).await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.inner.stats().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use intake_rules::wire::SubmissionStatus;

    use super::*;
    use crate::store::SubmissionKind;
    use crate::store::sqlite::SqliteStore;

    const CERT: &str = "350203198507154321";
    const NAME: &str = "欧阳测试名";
    const T0: i64 = 1_700_000_000_000;

    fn marker() -> Vec<u8> {
        (0..64u8).map(|i| i.wrapping_mul(37).wrapping_add(0xA5)).collect()
    }

    fn ring(id: &str, byte: u8) -> KeyRing {
        KeyRing::new((id.to_owned(), [byte; 32]), Vec::new())
    }

    fn new_submission(received_at_ms: i64) -> NewSubmission {
        let id = uuid::Uuid::new_v4().to_string();
        let mut image = vec![0xFF, 0xD8, 0xFF];
        image.extend(marker());
        image.extend([0xFF, 0xD9]);
        NewSubmission {
            id: id.clone(),
            subject: "https://issuer.example|user-1".to_owned(),
            kind: SubmissionKind::Submission,
            idempotency_key: format!("key-{id}"),
            body_hash: "0".repeat(64),
            identity_json: format!(r#"{{"sub":"user-1","name":"{NAME}","certificate_number":"{CERT}"}}"#),
            bundle_json: format!(r#"{{"family_name":"{NAME}","certificate_number":"{CERT}"}}"#),
            files: vec![
                StoredFile { part: "id_front".to_owned(), index: 0, media_type: "image/jpeg".to_owned(), bytes: image },
                StoredFile { part: "photo".to_owned(), index: 0, media_type: "image/jpeg".to_owned(), bytes: marker() },
            ],
            received_at_ms,
        }
    }

    fn sorted(mut files: Vec<StoredFile>) -> Vec<StoredFile> {
        files.sort_by(|a, b| (&a.part, a.index).cmp(&(&b.part, b.index)));
        files
    }

    fn assert_plaintext(claimed: &Claimed, new: &NewSubmission) {
        assert_eq!(claimed.id, new.id);
        assert_eq!(claimed.identity_json, new.identity_json);
        assert_eq!(claimed.bundle_json, new.bundle_json);
        assert_eq!(sorted(claimed.files.clone()), sorted(new.files.clone()));
    }

    async fn insert(store: &dyn Store, new: &NewSubmission) {
        match store.insert(new.clone()).await.expect("insert") {
            InsertOutcome::Created(record) => assert_eq!(record.id, new.id),
            other => panic!("expected created, got {other:?}"),
        }
    }

    /// A database file in a unique temp directory, removed on drop.
    struct TempDb {
        dir: PathBuf,
    }

    impl TempDb {
        fn new(name: &str) -> TempDb {
            TempDb { dir: std::env::temp_dir().join(format!("intake-encrypted-{name}-{}", uuid::Uuid::new_v4())) }
        }

        fn path(&self) -> PathBuf {
            self.dir.join("intake.db")
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The database file and its WAL/shared-memory files, whichever exist.
    fn raw_files(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", path.display())))
            .filter(|p| p.exists())
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read raw file");
                (p, bytes)
            })
            .collect()
    }

    #[tokio::test]
    async fn contract_suite_through_encryption() {
        let inner = SqliteStore::open_in_memory().expect("open in memory");
        let store = EncryptedStore::new(Arc::new(inner), ring("k1", 7));
        super::super::contract::run_all(&store).await;
    }

    #[tokio::test]
    async fn nothing_sensitive_reaches_the_database_file() {
        let db = TempDb::new("raw");
        let store = EncryptedStore::new(Arc::new(SqliteStore::open(&db.path()).expect("open")), ring("k1", 7));
        let new = new_submission(T0);
        insert(&store, &new).await;

        let files = raw_files(&db.path());
        assert!(files.iter().any(|(_, b)| !b.is_empty()), "the database was written");
        let needles: [(&str, Vec<u8>); 3] =
            [("certificate number", CERT.as_bytes().to_vec()), ("name", NAME.as_bytes().to_vec()), ("image", marker())];
        let check = |files: &[(PathBuf, Vec<u8>)]| {
            for (path, bytes) in files {
                for (what, needle) in &needles {
                    assert!(!contains(bytes, needle), "{what} found in {}", path.display());
                }
            }
        };
        check(&files);
        // The control: the same needles are found in plaintext (so the search works).
        assert!(contains(new.identity_json.as_bytes(), CERT.as_bytes()));
        assert!(contains(&new.files[0].bytes, &marker()));

        let claimed = store.claim_due(T0, 30_000, 10).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        assert_plaintext(&claimed[0], &new);
        drop(claimed);
        drop(store);
        check(&raw_files(&db.path()));
    }

    #[tokio::test]
    async fn old_master_keys_still_decrypt_after_rotation() {
        let inner: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("open"));
        let before = EncryptedStore::new(Arc::clone(&inner), ring("2025-01", 1));
        let old = new_submission(T0);
        insert(&before, &old).await;

        let after = EncryptedStore::new(
            Arc::clone(&inner),
            KeyRing::new(("2025-07".to_owned(), [2; 32]), vec![("2025-01".to_owned(), [1; 32])]),
        );
        let fresh = new_submission(T0 + 1);
        insert(&after, &fresh).await;

        // New data is written under the new key id.
        let raw = inner.claim_due(T0 + 1, 1, 10).await.expect("raw claim");
        let kid_of = |id: &str| {
            let c = raw.iter().find(|c| c.id == id).expect("claimed");
            serde_json::from_str::<IdentityEnvelope>(&c.identity_json).expect("envelope").kid
        };
        assert_eq!(kid_of(&old.id), "2025-01");
        assert_eq!(kid_of(&fresh.id), "2025-07");

        let claimed = after.claim_due(T0 + 10, 30_000, 10).await.expect("claim after rotation");
        assert_eq!(claimed.len(), 2);
        for c in &claimed {
            assert_plaintext(c, if c.id == old.id { &old } else { &fresh });
        }

        // Without the old key: a clear error naming the key id, no panic.
        let forgot = EncryptedStore::new(Arc::clone(&inner), ring("2025-07", 2));
        let err = forgot.claim_due(T0 + 100_000, 30_000, 10).await.expect_err("old key missing");
        assert!(err.0.contains("2025-01") && err.0.contains("not configured"), "{err}");
        assert!(err.0.contains(&old.id), "{err}");
        assert!(!err.0.contains(CERT) && !err.0.contains(NAME), "{err}");
        // Parked for an operator; once the key is back, `retry_now` queues it again.
        let record = forgot.get(&old.subject, &old.id).await.expect("get").expect("exists");
        assert_eq!(record.status, SubmissionStatus::NeedsAttention);
        assert!(after.retry_now(&old.id, T0 + 200_000).await.expect("retry now"));
        let again = after.claim_due(T0 + 200_000, 30_000, 10).await.expect("claim with the key back");
        assert!(again.iter().any(|c| c.id == old.id));
    }

    #[tokio::test]
    async fn tampering_is_detected_not_returned() {
        let db = TempDb::new("tamper");
        let store = EncryptedStore::new(Arc::new(SqliteStore::open(&db.path()).expect("open")), ring("k1", 7));
        let flipped = new_submission(T0);
        let swapped = new_submission(T0);
        let intact = new_submission(T0 + 5);
        for new in [&flipped, &swapped, &intact] {
            insert(&store, new).await;
        }

        let conn = rusqlite::Connection::open(db.path()).expect("open raw");
        conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
        let mut bytes: Vec<u8> = conn
            .query_row("SELECT bytes FROM files WHERE submission_id = ?1 AND part = 'id_front'", [&flipped.id], |r| {
                r.get(0)
            })
            .expect("read file");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        conn.execute(
            "UPDATE files SET bytes = ?1 WHERE submission_id = ?2 AND part = 'id_front'",
            rusqlite::params![bytes, flipped.id],
        )
        .expect("tamper");
        // A valid ciphertext moved to another part does not decrypt either.
        conn.execute(
            "UPDATE files SET bytes = (SELECT bytes FROM files WHERE submission_id = ?1 AND part = 'photo')
             WHERE submission_id = ?1 AND part = 'id_front'",
            [&swapped.id],
        )
        .expect("swap");
        drop(conn);

        let err = store.claim_due(T0, 30_000, 10).await.expect_err("tampered claim fails");
        assert!(err.0.contains(&flipped.id) && err.0.contains(&swapped.id), "{err}");
        assert!(err.0.contains("authentication failed"), "{err}");
        for id in [&flipped.id, &swapped.id] {
            let record = store.get(&flipped.subject, id).await.expect("get").expect("exists");
            assert_eq!(record.status, SubmissionStatus::NeedsAttention);
        }
        // The queue is not blocked: the intact one comes back after its lease, in plaintext.
        let claimed = store.claim_due(T0 + 60_000, 30_000, 10).await.expect("claim the rest");
        assert_eq!(claimed.len(), 1);
        assert_plaintext(&claimed[0], &intact);
    }

    #[test]
    fn key_ring_from_config() {
        let mut keys = HashMap::new();
        keys.insert("new".to_owned(), BASE64.encode([2u8; 32]));
        keys.insert("old".to_owned(), BASE64.encode([1u8; 32]));
        let ring = KeyRing::from_config("new", &keys).expect("valid");
        assert_eq!(ring.active_id(), "new");
        assert_eq!(ring.key("old").expect("old key"), &[1u8; 32]);
        assert!(!format!("{ring:?}").contains("[2, 2"), "Debug shows no key bytes");

        assert!(KeyRing::from_config("missing", &keys).expect_err("no active").contains("missing"));
        keys.insert("short".to_owned(), BASE64.encode([1u8; 16]));
        assert!(KeyRing::from_config("new", &keys).expect_err("short").contains("32 bytes"));
        keys.insert("short".to_owned(), "not base64!".to_owned());
        assert!(KeyRing::from_config("new", &keys).expect_err("bad").contains("base64"));
    }

    #[test]
    fn keyed_hash_is_stable_keyed_and_normalised() {
        let a = ring("k1", 7);
        let hash = a.keyed_hash("35020319850715432x");
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash, a.keyed_hash(" 35020319850715432X "));
        assert_ne!(hash, a.keyed_hash(CERT));
        assert_ne!(hash, ring("k1", 8).keyed_hash("35020319850715432X"), "depends on the master key");
        assert!(!hash.contains("350203"));
    }
}
