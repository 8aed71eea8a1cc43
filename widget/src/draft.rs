//! Drafts on this device: the reducer's [`Draft`] (state.rs), encrypted with AES-256-GCM under a
//! non-extractable WebCrypto key, kept in IndexedDB.
//!
//! Database `intake-drafts` (version 1):
//! - store `keys`: one `CryptoKey` under `"aes-gcm"` (generated with `extractable = false`, so
//!   its bytes never leave the browser's key store; structured-cloned into IndexedDB);
//! - store `drafts`: one record per person under the person's id, `{iv, data, expires}`: `data`
//!   is the AES-GCM ciphertext of [`Draft::encode`] with a fresh 12-byte `iv` and the person's id
//!   as additional data (a record copied under another person's id does not decrypt); `expires`
//!   (ms since the epoch, indexed) lets every load delete expired drafts, anyone's.
//!
//! The person's id is the SHA-256 (hex) of the token's `iss` and `sub` claims: the token itself
//! is never stored, and the person's subject is not stored in the clear. Every function fails
//! softly (`Err`): the flow works without a draft; the page says so.

use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransactionMode};

use crate::state::{Draft, Restored};

const DB: &str = "intake-drafts";
const KEYS: &str = "keys";
const DRAFTS: &str = "drafts";
const KEY_ID: &str = "aes-gcm";

type Res<T> = Result<T, JsValue>;

fn window() -> Res<web_sys::Window> {
    web_sys::window().ok_or_else(|| JsValue::from_str("no window"))
}

fn subtle() -> Res<web_sys::SubtleCrypto> {
    Ok(window()?.crypto()?.subtle())
}

/// Resolves when an IndexedDB request succeeds (with its result), rejects on its error.
async fn request(req: &IdbRequest) -> Res<JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = req.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &ok.result().unwrap_or(JsValue::UNDEFINED));
        });
        let bad = req.clone();
        let on_error = Closure::once_into_js(move || {
            let e = bad.error().ok().flatten().map_or(JsValue::from_str("IndexedDB error"), JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        req.set_onsuccess(Some(on_success.unchecked_ref()));
        req.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

thread_local! {
    /// The open database and the key, once opened (each save reuses them).
    static CACHE: std::cell::RefCell<Option<(IdbDatabase, CryptoKey)>> = const { std::cell::RefCell::new(None) };
    /// Set on sign-out: nothing is saved on this page any more.
    static CLOSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Stops saving drafts on this page (sign-out).
pub fn close() {
    CLOSED.with(|c| c.set(true));
}

/// The database and the device's key, opened once per page.
async fn db_and_key() -> Res<(IdbDatabase, CryptoKey)> {
    if let Some(c) = CACHE.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let db = open().await?;
    let key = key(&db).await?;
    CACHE.with(|c| *c.borrow_mut() = Some((db.clone(), key.clone())));
    Ok((db, key))
}

async fn open() -> Res<IdbDatabase> {
    let factory = window()?.indexed_db()?.ok_or_else(|| JsValue::from_str("no IndexedDB"))?;
    let req = factory.open_with_u32(DB, 1)?;
    let upgrade = req.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrade.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
            let names = db.object_store_names();
            if !names.contains(KEYS) {
                let _ = db.create_object_store(KEYS);
            }
            if !names.contains(DRAFTS)
                && let Ok(store) = db.create_object_store(DRAFTS)
            {
                let _ = store.create_index_with_str("expires", "expires");
            }
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    request(&req).await?.dyn_into::<IdbDatabase>()
}

fn store(db: &IdbDatabase, name: &str, mode: IdbTransactionMode) -> Res<IdbObjectStore> {
    db.transaction_with_str_and_mode(name, mode)?.object_store(name)
}

/// The device's draft key: read, or generated once (non-extractable) and kept.
async fn key(db: &IdbDatabase) -> Res<CryptoKey> {
    let found = request(&store(db, KEYS, IdbTransactionMode::Readonly)?.get(&KEY_ID.into())?).await?;
    if let Ok(k) = found.dyn_into::<CryptoKey>() {
        return Ok(k);
    }
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into())?;
    Reflect::set(&algorithm, &"length".into(), &256.into())?;
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let k: CryptoKey =
        JsFuture::from(subtle()?.generate_key_with_object(&algorithm, false, &usages)?).await?.dyn_into()?;
    // `add`, not `put`: when another tab stored a key first, use that one.
    match request(&store(db, KEYS, IdbTransactionMode::Readwrite)?.add_with_key(&k, &KEY_ID.into())?).await {
        Ok(_) => Ok(k),
        Err(_) => request(&store(db, KEYS, IdbTransactionMode::Readonly)?.get(&KEY_ID.into())?).await?.dyn_into(),
    }
}

fn gcm(iv: &[u8], person: &str) -> Res<Object> {
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
    Reflect::set(&params, &"iv".into(), &Uint8Array::from(iv))?;
    Reflect::set(&params, &"additionalData".into(), &Uint8Array::from(person.as_bytes()))?;
    Ok(params)
}

/// The person's id for a token: SHA-256 (hex) of `iss` + `|` + `sub` from its claims.
pub async fn person_of(token: &str) -> Res<String> {
    let payload = token.split('.').nth(1).ok_or_else(|| JsValue::from_str("not a JWT"))?;
    let mut b64 = payload.replace('-', "+").replace('_', "/");
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    let json = window()?.atob(&b64)?;
    // atob gives one char per byte; the claims we need are ASCII in practice, and UTF-8 bytes
    // round-trip through the same mapping either way.
    let bytes: Vec<u8> = json.chars().map(|c| u32::from(c) as u8).collect();
    // `from_str` after a UTF-8 check, not `from_slice`: the same answer (serde_json refuses invalid
    // UTF-8 either way) without a second copy of the JSON parser for byte slices in the module.
    let claims: serde_json::Value = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| JsValue::from_str("bad claims"))?;
    let (iss, sub) = (claims["iss"].as_str().unwrap_or_default(), claims["sub"].as_str().unwrap_or_default());
    if sub.is_empty() {
        return Err(JsValue::from_str("no subject"));
    }
    let digest =
        JsFuture::from(subtle()?.digest_with_str_and_u8_array("SHA-256", format!("{iss}|{sub}").as_bytes())?).await?;
    Ok(Uint8Array::new(&digest).to_vec().iter().map(|b| format!("{b:02x}")).collect())
}

/// Deletes every expired draft (anyone's), then reads `person`'s, decrypted, when it is
/// restorable now. Object URLs are made for the files' previews.
pub async fn load(person: &str) -> Res<Option<Restored>> {
    let (db, key) = db_and_key().await?;
    let now = js_sys::Date::now();
    {
        let drafts = store(&db, DRAFTS, IdbTransactionMode::Readwrite)?;
        let expired = web_sys::IdbKeyRange::upper_bound(&now.into())?;
        let keys: Array = request(&drafts.index("expires")?.get_all_keys_with_key(&expired)?).await?.dyn_into()?;
        for k in keys.iter() {
            let _ = drafts.delete(&k);
        }
    }
    let record = request(&store(&db, DRAFTS, IdbTransactionMode::Readonly)?.get(&person.into())?).await?;
    if record.is_undefined() || record.is_null() {
        return Ok(None);
    }
    let iv = Uint8Array::new(&Reflect::get(&record, &"iv".into())?).to_vec();
    let data = Uint8Array::new(&Reflect::get(&record, &"data".into())?).to_vec();
    let plain = match JsFuture::from(subtle()?.decrypt_with_object_and_u8_array(&gcm(&iv, person)?, &key, &data)?).await
    {
        Ok(p) => Uint8Array::new(&p).to_vec(),
        Err(_) => {
            // Not ours to read (another key, or damaged): it can never be restored.
            let _ = clear(person).await;
            return Ok(None);
        }
    };
    let Some(draft) = Draft::decode(&plain).filter(|d| d.restorable(person, now)) else { return Ok(None) };
    let results = draft
        .files
        .iter()
        .filter_map(|f| {
            let url = f.output.as_ref().and_then(|o| object_url(&o.bytes, &o.media_type)).unwrap_or_default();
            let r = f.to_result(url)?;
            Some((r.part, f.index, Rc::new(r)))
        })
        .collect();
    Ok(Some(Restored { draft, results }))
}

fn object_url(bytes: &[u8], media_type: &str) -> Option<String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(media_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Encrypts and stores `draft` under its person (replacing the earlier one).
pub async fn save(draft: &Draft) -> Res<()> {
    if CLOSED.with(std::cell::Cell::get) {
        return Ok(());
    }
    let (db, key) = db_and_key().await?;
    let mut iv = [0u8; 12];
    window()?.crypto()?.get_random_values_with_u8_array(&mut iv)?;
    let plain = draft.encode();
    let data =
        JsFuture::from(subtle()?.encrypt_with_object_and_u8_array(&gcm(&iv, &draft.person)?, &key, &plain)?).await?;
    drop(plain);
    if CLOSED.with(std::cell::Cell::get) {
        return Ok(());
    }
    let record = Object::new();
    Reflect::set(&record, &"iv".into(), &Uint8Array::from(&iv[..]))?;
    Reflect::set(&record, &"data".into(), &data)?;
    Reflect::set(&record, &"expires".into(), &draft.expires_at_ms.into())?;
    request(&store(&db, DRAFTS, IdbTransactionMode::Readwrite)?.put_with_key(&record, &draft.person.as_str().into())?)
        .await?;
    Ok(())
}

/// Deletes `person`'s draft.
pub async fn clear(person: &str) -> Res<()> {
    let (db, _) = db_and_key().await?;
    request(&store(&db, DRAFTS, IdbTransactionMode::Readwrite)?.delete(&person.into())?).await?;
    Ok(())
}
