//! The image pipeline: every picture is decoded, analysed, fixed and checked
//! in a Web Worker (`www/intake-worker.js`), never on the UI thread.
//!
//! The UI calls [`Imaging::process`] with the chosen file; the worker answers
//! with an [`ImageResult`]: the problems of the file as chosen (`before`), the
//! upload-ready bytes (`output`) and the verdict of `intake_rules` on exactly
//! those bytes with the server's own decoder (`verdict`), so what the page
//! shows is what the server will say.
//!
//! Main thread ⇄ worker protocol (structured clone; ArrayBuffers transferred):
//! - request `{id, part, file, profile}`: `part` is the multipart name, `file`
//!   the `File`/`Blob` as chosen (not read on the main thread), `profile` the
//!   photo profile id.
//! - reply `{id, before, verdict, output, mediaType, fileName, width, height,
//!   previewable, phash, emblem, memoryBytes}` (see [`worker`]), or `{id, error}` when the
//!   worker itself failed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use intake_rules::Code;
use intake_rules::report::{Problem, Report};
use intake_rules::submission::Part;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub use crate::checked::{ImageOutput, ImageResult, pair_problems};

pub mod pipeline;
pub mod worker;

/// An idle worker whose WebAssembly memory has grown to this many bytes (it never shrinks: e.g.
/// after the rules decoded a 12 MP photo themselves) is terminated and respawned, which gives the
/// memory back to the browser. A worker that stays small is kept: a fresh one runs its first
/// pictures slower (measured: the 1.4 MP photo's rules 13–20 ms in a new worker, even after its
/// warm-up, against 9 ms in one that has already checked a picture).
pub const RECYCLE_MEMORY_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// Whatever its memory, a worker is respawned after this many images (what the browser's side of
/// it keeps is not in the memory it reports).
pub const RECYCLE_AFTER: u32 = 32;

/// A request the worker has not answered after this long fails with `file.processing_failed`.
pub const TIMEOUT_MS: u32 = 60_000;

impl ImageResult {
    /// Revokes the object URLs of this result (call when the result is replaced or dropped from the page).
    pub fn revoke_urls(&self) {
        for url in self.before_url.iter().chain(self.output.as_ref().map(|o| &o.url)) {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }
}

/// The main thread's handle on the image worker. Cheap to clone (shared).
#[derive(Clone)]
pub struct Imaging {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for Imaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Imaging")
            .field("worker_url", &inner.worker_url)
            .field("running", &inner.worker.is_some())
            .field("pending", &inner.pending.len())
            .finish()
    }
}

impl PartialEq for Imaging {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

struct Inner {
    worker_url: String,
    worker: Option<Running>,
    next_id: u32,
    /// Resolve functions of the requests in flight, by id.
    pending: HashMap<u32, js_sys::Function>,
    /// Workers started so far.
    started: u32,
    /// When an idle worker is respawned: after this many images, or at this much WebAssembly memory.
    recycle: (u32, f64),
}

struct Running {
    worker: web_sys::Worker,
    /// Images sent to this worker.
    sent: u32,
    /// Its WebAssembly memory in bytes, as its last reply reported it.
    memory: f64,
    /// The worker reported an error outside a request (e.g. its script failed to load).
    broken: bool,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

impl Imaging {
    /// A handle on the worker at `worker_url` (a module worker; see `www/intake-worker.js`).
    /// Cheap: the worker is spawned at the first image.
    pub fn new(worker_url: &str) -> Imaging {
        Imaging {
            inner: Rc::new(RefCell::new(Inner {
                worker_url: worker_url.to_owned(),
                worker: None,
                next_id: 1,
                pending: HashMap::new(),
                started: 0,
                recycle: (RECYCLE_AFTER, RECYCLE_MEMORY_BYTES),
            })),
        }
    }

    /// Processes one chosen file in the worker: check, fix, and the server's verdict on the fixed bytes.
    pub async fn process(&self, part: Part, file: web_sys::File, profile_id: &str) -> ImageResult {
        let file_name = file.name();
        let reply = match self.send(part, &file, profile_id).await {
            Ok(reply) => reply,
            Err(detail) => error_reply(&detail),
        };
        let result = from_reply(part, file_name, &file, &reply);
        if let (Some(memory), Some(w)) = (get(&reply, "memoryBytes").as_f64(), self.inner.borrow_mut().worker.as_mut())
        {
            w.memory = memory;
        }
        self.after_reply();
        result
    }

    /// How many workers this handle has started (a recycled worker counts again).
    pub fn workers_started(&self) -> u32 {
        self.inner.borrow().started
    }

    /// When an idle worker is respawned: after `images` images, or once its WebAssembly memory
    /// reaches `memory_bytes` (defaults: [`RECYCLE_AFTER`], [`RECYCLE_MEMORY_BYTES`]).
    pub fn set_recycling(&self, images: u32, memory_bytes: f64) {
        self.inner.borrow_mut().recycle = (images, memory_bytes);
    }

    /// Posts one request and waits for its reply object.
    async fn send(&self, part: Part, file: &web_sys::File, profile_id: &str) -> Result<JsValue, String> {
        let (id, promise) = {
            let mut inner = self.inner.borrow_mut();
            if inner.worker.as_ref().is_none_or(|w| w.broken) {
                inner.worker = None;
                inner.worker = Some(spawn(&inner.worker_url, Rc::downgrade(&self.inner)).map_err(|e| js_text(&e))?);
                inner.started += 1;
            }
            let id = inner.next_id;
            inner.next_id = inner.next_id.wrapping_add(1).max(1);
            let mut resolve_fn = None;
            let promise = Promise::new(&mut |resolve, _reject| resolve_fn = Some(resolve));
            let Some(resolve) = resolve_fn else { return Err("promise".into()) };
            inner.pending.insert(id, resolve);
            let msg = Object::new();
            let set = |k: &str, v: &JsValue| Reflect::set(&msg, &JsValue::from_str(k), v).map(drop);
            set("id", &JsValue::from(id)).map_err(|e| js_text(&e))?;
            set("part", &JsValue::from_str(part.name())).map_err(|e| js_text(&e))?;
            set("file", file).map_err(|e| js_text(&e))?;
            set("profile", &JsValue::from_str(profile_id)).map_err(|e| js_text(&e))?;
            let running = inner.worker.as_mut().ok_or("worker")?;
            running.sent += 1;
            if let Err(e) = running.worker.post_message(&msg) {
                inner.pending.remove(&id);
                return Err(js_text(&e));
            }
            (id, promise)
        };
        self.fail_after(id, TIMEOUT_MS);
        JsFuture::from(promise).await.map_err(|e| js_text(&e))
    }

    /// A worker that crashed without an error event (out of memory on a phone) must not leave the
    /// part "checking" forever: after `ms` the request fails and the worker is replaced.
    fn fail_after(&self, id: u32, ms: u32) {
        let weak = Rc::downgrade(&self.inner);
        let on_timeout = Closure::once_into_js(move || {
            let Some(inner) = weak.upgrade() else { return };
            let resolve = {
                let mut inner = inner.borrow_mut();
                let resolve = inner.pending.remove(&id);
                if resolve.is_some()
                    && let Some(w) = inner.worker.as_mut()
                {
                    w.broken = true;
                }
                resolve
            };
            if let Some(resolve) = resolve {
                let _ = resolve.call1(&JsValue::NULL, &error_reply("the image worker did not answer"));
            }
        });
        let set_timeout = Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(set_timeout) = set_timeout {
            let _ = set_timeout.call2(&JsValue::NULL, &on_timeout, &JsValue::from(ms));
        }
    }

    /// Spawns the worker now (it loads and compiles the WASM module in the background), so the
    /// first picture does not wait for it; e.g. when the documents step is shown. Optional.
    pub fn warm_up(&self) {
        let mut inner = self.inner.borrow_mut();
        if inner.worker.as_ref().is_none_or(|w| w.broken) {
            inner.worker = None;
            inner.worker = spawn(&inner.worker_url, Rc::downgrade(&self.inner)).ok();
            inner.started += u32::from(inner.worker.is_some());
        }
    }

    /// Recycles the worker once it is idle and has grown to [`RECYCLE_MEMORY_BYTES`] or handled
    /// [`RECYCLE_AFTER`] images: terminates it (which returns its WASM memory) and spawns the next
    /// one at once, so it is ready by the time the next picture is chosen.
    fn after_reply(&self) {
        let recycle = {
            let inner = self.inner.borrow();
            let (images, memory) = inner.recycle;
            inner.pending.is_empty() && inner.worker.as_ref().is_some_and(|w| w.sent >= images || w.memory >= memory)
        };
        if recycle {
            self.inner.borrow_mut().worker = None; // Drop terminates it.
            self.warm_up();
        }
    }
}

/// Browsers start workers only from the page's own origin. When the widget's assets live on
/// another origin (the embed on the iXiamen page), a same-origin `blob:` module imports the real
/// worker script; its imports and the WebAssembly then load by CORS from the asset server.
fn new_worker(url: &str, opts: &web_sys::WorkerOptions) -> Result<web_sys::Worker, JsValue> {
    let page = web_sys::window().map(|w| w.location().origin().unwrap_or_default()).unwrap_or_default();
    let target = web_sys::Url::new(url).map(|u| u.origin()).unwrap_or_default();
    if page.is_empty() || target.is_empty() || page == target {
        return web_sys::Worker::new_with_options(url, opts);
    }
    let source = format!("import {};", json_string(url));
    let parts = js_sys::Array::of1(&JsValue::from_str(&source));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag)?;
    // Not revoked: the worker fetches it asynchronously; it is a few bytes per worker.
    let blob_url = web_sys::Url::create_object_url_with_blob(&blob)?;
    web_sys::Worker::new_with_options(&blob_url, opts)
}

/// A JavaScript string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn spawn(url: &str, inner: Weak<RefCell<Inner>>) -> Result<Running, JsValue> {
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    let worker = new_worker(url, &opts)?;
    let weak = inner.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let data = e.data();
        let id = Reflect::get(&data, &JsValue::from_str("id")).ok().and_then(|v| v.as_f64()).unwrap_or(-1.0);
        let Some(inner) = weak.upgrade() else { return };
        let resolve = inner.borrow_mut().pending.remove(&(id as u32));
        // A late answer after a timeout finds nothing to resolve and is dropped.
        if let Some(resolve) = resolve {
            let _ = resolve.call1(&JsValue::NULL, &data);
        }
    });
    let weak = inner;
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        // The worker script failed to load or threw outside a request: fail every request in flight
        // and let the next request spawn a fresh worker.
        e.prevent_default();
        let Some(inner) = weak.upgrade() else { return };
        let detail = e.dyn_ref::<web_sys::ErrorEvent>().map_or_else(|| "worker error".to_owned(), |ev| ev.message());
        let pending: Vec<js_sys::Function> = {
            let mut inner = inner.borrow_mut();
            if let Some(w) = inner.worker.as_mut() {
                // Replaced at the next request (not here: this closure belongs to it).
                w.broken = true;
            }
            inner.pending.drain().map(|(_, f)| f).collect()
        };
        for resolve in pending {
            let _ = resolve.call1(&JsValue::NULL, &error_reply(&detail));
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Running { worker, sent: 0, memory: 0.0, broken: false, _on_message: on_message, _on_error: on_error })
}

fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{v:?}"))
}

fn error_reply(detail: &str) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &JsValue::from_str("error"), &JsValue::from_str(detail));
    o.into()
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The problem shown when the worker could not finish (it crashed, or its script failed to load).
pub fn processing_failed(part: Part) -> Report {
    std::iter::once(Problem::new(part.name(), Code::FileProcessingFailed, &[])).collect()
}

fn report_of(v: &JsValue) -> Option<Report> {
    serde_json::from_str(&v.as_string()?).ok()
}

/// Builds the result from a worker reply (see the module docs for its fields).
fn from_reply(part: Part, file_name: String, file: &web_sys::File, reply: &JsValue) -> ImageResult {
    let failed = |file_name: String| ImageResult {
        part,
        file_name,
        before: processing_failed(part),
        verdict: processing_failed(part),
        output: None,
        before_url: None,
        fingerprint: None,
    };
    if !get(reply, "error").is_undefined() {
        return failed(file_name);
    }
    let (Some(before), Some(verdict)) = (report_of(&get(reply, "before")), report_of(&get(reply, "verdict"))) else {
        return failed(file_name);
    };
    let output = get(reply, "output").dyn_into::<js_sys::ArrayBuffer>().ok().and_then(|buf| {
        let bytes = Uint8Array::new(&buf).to_vec();
        let media_type = get(reply, "mediaType").as_string().unwrap_or_else(|| "image/jpeg".into());
        let url = object_url(&buf, &media_type)?;
        Some(ImageOutput {
            bytes,
            file_name: get(reply, "fileName").as_string().unwrap_or_else(|| format!("{}.jpg", part.name())),
            media_type,
            width: get(reply, "width").as_f64().unwrap_or(0.0) as u32,
            height: get(reply, "height").as_f64().unwrap_or(0.0) as u32,
            url,
        })
    });
    let before_url = if get(reply, "previewable").as_bool() == Some(true) {
        web_sys::Url::create_object_url_with_blob(file).ok()
    } else {
        None
    };
    let fingerprint = get(reply, "phash")
        .as_string()
        .and_then(|s| s.parse::<u64>().ok())
        .zip(get(reply, "emblem").as_f64().map(|e| e as f32));
    ImageResult { part, file_name, before, verdict, output, before_url, fingerprint }
}

fn object_url(buf: &js_sys::ArrayBuffer, media_type: &str) -> Option<String> {
    let parts = Array::of1(buf);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(media_type);
    let blob = web_sys::Blob::new_with_buffer_source_sequence_and_options(&parts, &opts).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(part: Part, phash: u64, emblem: f32) -> ImageResult {
        ImageResult {
            part,
            file_name: "x.jpg".into(),
            before: Report::new(),
            verdict: Report::new(),
            output: None,
            before_url: None,
            fingerprint: Some((phash, emblem)),
        }
    }

    #[test]
    fn pair_problems_find_the_same_picture_in_either_order() {
        let a = doc(Part::IdFront, 0xDEAD_BEEF, 0.0);
        let b = doc(Part::IdBack, 0xDEAD_BEEF, 0.0);
        let codes = |v: Vec<Problem>| v.into_iter().map(|p| p.code).collect::<Vec<_>>();
        assert_eq!(codes(pair_problems(&a, &b)), vec![Code::DocumentSameImageBothSides]);
        assert_eq!(codes(pair_problems(&b, &a)), vec![Code::DocumentSameImageBothSides]);
        let c = doc(Part::IdBack, !0xDEAD_BEEF, 0.0);
        assert!(pair_problems(&a, &c).is_empty());
        // Not two sides of one document.
        assert!(pair_problems(&a, &doc(Part::PassportValidity, 0xDEAD_BEEF, 0.0)).is_empty());
    }

    #[test]
    fn pair_problems_warn_when_the_sides_are_swapped() {
        let front = doc(Part::IdFront, 0, 0.05);
        let back = doc(Part::IdBack, u64::MAX, 0.0);
        let p = pair_problems(&back, &front);
        assert_eq!(p.iter().map(|p| p.code).collect::<Vec<_>>(), vec![Code::DocumentSidesSwapped]);
    }
}
