//! The worker side (runs in `www/intake-worker.js`, never on the UI thread).
//!
//! For one request: read the first bytes and check them with the rules
//! (`decode::inspect_prefix`: empty, oversized, unsupported, dimension bombs,
//! implausibly small: refused here, before the browser is asked to decode
//! anything); start the browser's decode (`createImageBitmap`) and, while it
//! runs off this thread, read the whole file and take its header facts with the
//! rules (`decode::inspect`: size, orientation, metadata, completeness); draw the
//! bitmap scaled to the part's working size on an `OffscreenCanvas` (so no
//! full-resolution RGBA copy ever reaches WASM); hand the pixels to the rules'
//! analysis and fix; then check the produced bytes with the rules' own decoder
//! (the server's). Where `createImageBitmap` or `OffscreenCanvas` are missing or
//! fail, the rules decode the bytes themselves.
//!
//! Orientation: `imageOrientation: "from-image"`, the spec's default and the
//! only value Chromium, Firefox and Safari agree on (Chromium has treated the
//! deprecated `"none"` differently across versions). The bitmap is upright; the
//! worker checks it has exactly the upright size the header declares (width and
//! height swapped for orientations 5–8) and otherwise falls back to the rules'
//! decoder. The EXIF orientation the file declares still comes from its header,
//! so `photo.exif_rotated` is reported as before.

use intake_rules::attachment;
use intake_rules::decode::{self, DecodeLimits, Decoded, Header, Metadata, Orientation, Sniffed};
use intake_rules::resample::fit_within;
use intake_rules::submission::Part;
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::pipeline::{self, Processed};

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn now() -> f64 {
    Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now())
}

/// How the pixels were obtained, for the bench and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// `createImageBitmap` + `OffscreenCanvas`.
    Browser,
    /// The rules' own decoder (fallback, or a format the browser is not asked to decode).
    Rules,
}

/// The worker's answer for one file, before it becomes a JS object.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What the rules said.
    pub processed: Processed,
    /// True when the browser can show the file as chosen.
    pub previewable: bool,
    /// Which decoder produced the pixels.
    pub decoder: Decoder,
    /// Size of the working copy the browser decoded to (0×0 with the rules' decoder).
    pub working: (u32, u32),
    /// Milliseconds per stage (`read`, `inspect`, `decode`, `pixels`, `rules`), for the bench.
    pub timings: Vec<(&'static str, f64)>,
}

/// Processes one file: see the module docs. `use_browser = false` forces the rules' decoder.
pub async fn answer(part: Part, blob: &web_sys::Blob, profile_id: &str, use_browser: bool) -> Result<Answer, JsValue> {
    let mut timings = Vec::new();
    let mut t = now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        let n = now();
        timings.push((name, n - t));
        t = n;
    };
    let limits = match part {
        Part::WorkCertificate | Part::Supporting => {
            DecodeLimits { max_file_bytes: attachment::MAX_BYTES, ..DecodeLimits::DEFAULT }
        }
        _ => DecodeLimits::DEFAULT,
    };
    // The first bytes decide whether the browser may decode the file (bombs, unsupported formats
    // and oversized files never reach it); its decode then runs while the whole file is read and
    // inspected here.
    let prefix = read_blob(&blob.slice_with_f64_and_f64(0.0, decode::PREFIX_BYTES as f64)?).await?;
    let early = if use_browser && decode::inspect_prefix(&prefix, blob.size() as usize, &limits).is_ok() {
        // No `createImageBitmap` here: the rules' decoder takes over below.
        start_bitmap(blob).ok()
    } else {
        None
    };
    let bytes = read_blob(blob).await?;
    lap("read", &mut timings);
    let profile = pipeline::profile(profile_id);
    let sniffed = decode::sniff(&bytes);
    let rules_path = |bytes: &[u8], previewable: bool, mut timings: Vec<(&'static str, f64)>| {
        let t = now();
        let processed = pipeline::process(part, bytes, None, profile);
        timings.push(("rules", now() - t));
        Answer { processed, previewable, decoder: Decoder::Rules, working: (0, 0), timings }
    };
    match sniffed {
        Sniffed::Jpeg | Sniffed::Png => {
            // The whole header (and, for JPEG, that the file is complete), as the rules' decode checks it.
            let header = decode::inspect(&bytes, &limits);
            lap("inspect", &mut timings);
            let Ok(header) = header else {
                if let Some(early) = early {
                    // A truncated file the browser was already decoding: its pixels are not used.
                    if let Ok(b) = JsFuture::from(early).await.and_then(JsCast::dyn_into::<web_sys::ImageBitmap>) {
                        b.close();
                    }
                }
                return Ok(rules_path(&bytes, false, timings));
            };
            if !use_browser {
                return Ok(rules_path(&bytes, true, timings));
            }
            let bitmap = match early {
                Some(p) => Ok(p),
                None => start_bitmap(blob),
            };
            let decoded = match bitmap {
                Ok(p) => read_bitmap(p, Some(header.upright_dimensions()), pipeline::working_long_side(part)).await,
                Err(e) => Err(e),
            };
            lap("decode", &mut timings);
            match decoded {
                Ok(BrowserPixels { rgba, width: w, height: h, .. }) => {
                    let pixels = Decoded::from_rgba(header, &rgba, w, h, true);
                    lap("pixels", &mut timings);
                    match pixels {
                        Some(d) => {
                            let processed = pipeline::process(part, &bytes, Some(&d), profile);
                            lap("rules", &mut timings);
                            Ok(Answer {
                                processed,
                                previewable: true,
                                decoder: Decoder::Browser,
                                working: (w, h),
                                timings,
                            })
                        }
                        None => Ok(rules_path(&bytes, true, timings)),
                    }
                }
                _ => Ok(rules_path(&bytes, true, timings)),
            }
        }
        Sniffed::Heif if bytes.len() > limits.max_file_bytes => Ok(rules_path(&bytes, false, timings)),
        Sniffed::Heif => {
            // The rules do not read HEIC; the browser may (Safari does).
            let decoded = match start_bitmap(blob) {
                Ok(p) => read_bitmap(p, None, pipeline::working_long_side(part)).await,
                Err(e) => Err(e),
            };
            let Ok(BrowserPixels { rgba, width: w, height: h, full }) = decoded else {
                return Ok(Answer {
                    processed: pipeline::heic_unsupported(part),
                    previewable: false,
                    decoder: Decoder::Browser,
                    working: (0, 0),
                    timings,
                });
            };
            let header = Header {
                format: Sniffed::Heif,
                width: full.0,
                height: full.1,
                orientation: Orientation::NoTransforms,
                metadata: Metadata::default(),
            };
            match Decoded::from_rgba(header, &rgba, w, h, true) {
                Some(d) => Ok(Answer {
                    processed: pipeline::process(part, &bytes, Some(&d), profile),
                    previewable: true,
                    decoder: Decoder::Browser,
                    working: (w, h),
                    timings,
                }),
                None => Ok(Answer {
                    processed: pipeline::heic_unsupported(part),
                    previewable: false,
                    decoder: Decoder::Browser,
                    working: (0, 0),
                    timings,
                }),
            }
        }
        // PDFs, other formats, empty files: the rules say what they are.
        _ => Ok(rules_path(&bytes, false, timings)),
    }
}

/// How the canvas resamples the full-size bitmap to the working size (`imageSmoothingQuality`):
/// bilinear (`low`) is exact enough up to a 2× reduction and about twice as fast; larger
/// reductions need the mipmapped `high` so fine detail (noise, edges) does not alias.
fn smoothing(from: u32, to: u32) -> &'static str {
    if from <= 2 * to { "low" } else { "high" }
}

/// Pixels read back from the browser's decode.
struct BrowserPixels {
    rgba: Vec<u8>,
    /// Working size (what `rgba` holds).
    width: u32,
    height: u32,
    /// The bitmap's full upright size.
    full: (u32, u32),
}

async fn read_blob(blob: &web_sys::Blob) -> Result<Vec<u8>, JsValue> {
    let buf = JsFuture::from(blob.array_buffer()).await?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// Starts `createImageBitmap` (upright, full size: its own `resizeWidth` costs more than the
/// decode, while a scaled `drawImage` is cheap); the browser decodes off this thread.
fn start_bitmap(blob: &web_sys::Blob) -> Result<js_sys::Promise, JsValue> {
    let opts = web_sys::ImageBitmapOptions::new();
    // Not `premultiplyAlpha: "none"`: it costs Chromium a slower decode path (+40 % for 12 MP),
    // and the canvas below is opaque anyway.
    opts.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let global = js_sys::global();
    if let Some(scope) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        scope.create_image_bitmap_with_blob_and_image_bitmap_options(blob, &opts)
    } else if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.create_image_bitmap_with_blob_and_image_bitmap_options(blob, &opts)
    } else {
        Err(JsValue::from_str("no createImageBitmap"))
    }
}

/// Awaits the bitmap, checks it against `expect` (the upright size the header declares) and the
/// rules' limits, draws it scaled to fit `max_long` on an `OffscreenCanvas` and reads the RGBA
/// pixels back.
async fn read_bitmap(
    promise: js_sys::Promise,
    expect: Option<(u32, u32)>,
    max_long: u32,
) -> Result<BrowserPixels, JsValue> {
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise).await?.dyn_into()?;
    let (bw, bh) = (bitmap.width(), bitmap.height());
    let limits = DecodeLimits::DEFAULT;
    if bw == 0
        || bh == 0
        || bw > limits.max_side
        || bh > limits.max_side
        || u64::from(bw) * u64::from(bh) > limits.max_pixels
        || expect.is_some_and(|e| e != (bw, bh))
    {
        bitmap.close();
        return Err(JsValue::from_str("the bitmap is not the size the header declares, or over the limits"));
    }
    let (w, h) = fit_within(bw, bh, max_long);
    let result = (|| {
        let canvas = web_sys::OffscreenCanvas::new(w, h)?;
        let ctx_opts = Object::new();
        set(&ctx_opts, "willReadFrequently", &JsValue::TRUE);
        set(&ctx_opts, "alpha", &JsValue::FALSE);
        let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
            .get_context_with_context_options("2d", &ctx_opts)?
            .ok_or_else(|| JsValue::from_str("no 2d context"))?
            .dyn_into()?;
        // An opaque canvas filled white: transparency is composited on white, as the rules do.
        set(ctx.unchecked_ref(), "fillStyle", &JsValue::from_str("#fff"));
        ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
        if (w, h) == (bw, bh) {
            ctx.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)?;
        } else {
            set(ctx.unchecked_ref(), "imageSmoothingQuality", &JsValue::from_str(smoothing(bw.max(bh), w.max(h))));
            ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, f64::from(w), f64::from(h))?;
        }
        let data = ctx.get_image_data(0.0, 0.0, f64::from(w), f64::from(h))?;
        Ok::<_, JsValue>(data.data().0)
    })();
    bitmap.close();
    Ok(BrowserPixels { rgba: result?, width: w, height: h, full: (bw, bh) })
}

/// The reply object for `www/intake-worker.js` (see the module docs of `imaging`), and the
/// list of buffers to transfer.
pub fn reply(part: Part, file_name: &str, answer: &Answer, timings: &Object) -> Result<Object, JsValue> {
    let o = Object::new();
    let p = &answer.processed;
    let json = |r| serde_json::to_string(r).map_err(|e| JsValue::from_str(&e.to_string()));
    set(&o, "before", &JsValue::from_str(&json(&p.before)?));
    set(&o, "verdict", &JsValue::from_str(&json(&p.verdict)?));
    set(&o, "passes", &JsValue::from_bool(p.verdict.passes()));
    set(&o, "previewable", &JsValue::from_bool(answer.previewable));
    set(&o, "decoder", &JsValue::from_str(if answer.decoder == Decoder::Browser { "browser" } else { "rules" }));
    set(&o, "workingWidth", &JsValue::from(answer.working.0));
    set(&o, "workingHeight", &JsValue::from(answer.working.1));
    set(&o, "timings", timings);
    match &p.output {
        Some(out) => {
            let buf = Uint8Array::from(out.bytes.as_slice()).buffer();
            set(&o, "output", &buf);
            set(&o, "mediaType", &JsValue::from_str(out.media_type));
            set(&o, "fileName", &JsValue::from_str(&pipeline::output_file_name(part, file_name, out.media_type)));
            set(&o, "width", &JsValue::from(out.width));
            set(&o, "height", &JsValue::from(out.height));
        }
        None => set(&o, "output", &JsValue::NULL),
    }
    if let Some((phash, emblem)) = p.fingerprint {
        // u64 does not fit a JS number: as a decimal string.
        set(&o, "phash", &JsValue::from_str(&phash.to_string()));
        set(&o, "emblem", &JsValue::from_f64(f64::from(emblem)));
    }
    Ok(o)
}

/// Worker entry point, called by `www/intake-worker.js` for each request
/// `{id, part, file, profile, decoder?}`. Resolves to the reply object (without `id`);
/// the worker script posts it with `output` in the transfer list.
#[wasm_bindgen(js_name = imagingProcess)]
pub async fn imaging_process(msg: JsValue) -> Result<JsValue, JsValue> {
    let t0 = now();
    let get = |k: &str| Reflect::get(&msg, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let part_name = get("part").as_string().unwrap_or_default();
    let part = Part::parse(&part_name).ok_or_else(|| JsValue::from_str(&format!("unknown part {part_name:?}")))?;
    let blob: web_sys::Blob = get("file").dyn_into()?;
    let file_name = blob.dyn_ref::<web_sys::File>().map(web_sys::File::name).unwrap_or_default();
    let profile = get("profile").as_string().unwrap_or_default();
    let use_browser = get("decoder").as_string().as_deref() != Some("rules");
    let answer = answer(part, &blob, &profile, use_browser).await?;
    let timings = Object::new();
    for (name, ms) in &answer.timings {
        set(&timings, name, &JsValue::from_f64(*ms));
    }
    set(&timings, "total", &JsValue::from_f64(now() - t0));
    Ok(reply(part, &file_name, &answer, &timings)?.into())
}
