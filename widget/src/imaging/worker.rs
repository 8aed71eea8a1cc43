//! The worker side (runs in `www/intake-worker.js`, never on the UI thread).
//!
//! For one request: check the first bytes with the rules
//! (`decode::inspect_prefix`: empty, oversized, unsupported, dimension bombs,
//! implausibly small: refused here, before the browser is asked to decode
//! anything); start the browser's decode and, while it runs off this thread,
//! take the file's header facts with the rules (`decode::inspect`: size,
//! orientation, metadata, completeness); hand the pixels, at about the part's
//! working size, to the rules' analysis and fix; then check the produced bytes
//! with the rules' own decoder (the server's).
//!
//! Two browser decoders, the faster first:
//! - JPEGs go to WebCodecs' `ImageDecoder` with `desiredWidth`/`desiredHeight`:
//!   Chromium then decodes with libjpeg-turbo's scaled IDCT (1/8 steps), so a
//!   12 MP photo is decoded straight to 1000×750 in about half the time of a full
//!   decode, and `VideoFrame.copyTo` gives its RGBA. The frame holds the stored
//!   pixels (orientation is the rules' job, on their small renders); the worker
//!   checks its size is the header's stored size scaled by one factor, and no more
//!   than twice the size asked for. A photo is first asked for less than its
//!   working size (`pipeline::first_long_side`) and decoded once more at the
//!   working size only when the crop the fix chose needs it
//!   (`pipeline::crop_short_of_pixels`). Whether the browser's `ImageDecoder` honours
//!   the requested size is asked once per worker ([`scaled_frames`]); where it
//!   does not, the bitmap is used from the start.
//! - Otherwise (PNG, HEIC, Safari/Firefox without a scaled `ImageDecoder`)
//!   `createImageBitmap`, drawn scaled to the working size on an
//!   `OffscreenCanvas`. Orientation: `imageOrientation: "from-image"`, the spec's
//!   default and the only value Chromium, Firefox and Safari agree on; the bitmap
//!   is upright and the worker checks it has exactly the upright size the header
//!   declares (width and height swapped for orientations 5–8).
//!
//! So no full-resolution RGBA copy ever reaches WASM. Where both fail, the rules
//! decode the bytes themselves. The EXIF orientation the file declares always
//! comes from its header, so `photo.exif_rotated` is reported either way.

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
    /// WebCodecs `ImageDecoder`, scaled decode, `VideoFrame.copyTo`.
    Frame,
    /// `createImageBitmap` + `OffscreenCanvas`.
    Bitmap,
    /// The rules' own decoder (fallback, or a format the browser is not asked to decode).
    Rules,
}

impl Decoder {
    /// The name in the worker's reply.
    pub fn name(self) -> &'static str {
        match self {
            Decoder::Frame => "frame",
            Decoder::Bitmap => "bitmap",
            Decoder::Rules => "rules",
        }
    }
}

/// Which decoders a request may use (the reply's `decoder` field names the one used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The fastest available: `ImageDecoder` for JPEG, else the bitmap, else the rules.
    Best,
    /// `createImageBitmap` (what browsers without a scaled `ImageDecoder` do), else the rules.
    Bitmap,
    /// The rules' decoder only.
    Rules,
}

impl Route {
    /// From the request's `decoder` field: `"rules"`, `"bitmap"`, anything else is [`Route::Best`].
    pub fn parse(s: Option<&str>) -> Route {
        match s {
            Some("rules") => Route::Rules,
            Some("bitmap") => Route::Bitmap,
            _ => Route::Best,
        }
    }
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
    /// How many times the browser decoded the file: 1, or 2 for a photo whose crop needed a larger
    /// decode than the first (see `pipeline::first_long_side`); 0 with the rules' decoder.
    pub decodes: u8,
    /// Milliseconds per stage (`read`, `inspect`, `decode`, `pixels`, `rules`, and for a photo decoded
    /// twice `second decode`, `second rules`), for the bench.
    pub timings: Vec<(&'static str, f64)>,
}

/// Processes one file: see the module docs.
pub async fn answer(part: Part, blob: &web_sys::Blob, profile_id: &str, route: Route) -> Result<Answer, JsValue> {
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
    let working = pipeline::working_long_side(part);
    let profile = pipeline::profile(profile_id);
    // What `ImageDecoder` is asked for first (a photo: less than the working size, see below).
    let first = pipeline::first_long_side(part, profile);
    // The first bytes decide whether the browser may decode the file (bombs, unsupported formats
    // and oversized files never reach it); its decode then runs while the file is inspected here.
    // `ImageDecoder` is given the bytes once they are read (a stream would be pumped through this
    // thread while it reads: measured 3–5 ms slower); `createImageBitmap` takes the `Blob` right
    // after the first bytes, so its decode overlaps the reading.
    let size = blob.size() as usize;
    let (early, bytes, js_bytes) = if route == Route::Best && scaled_frames().await {
        let buf = Uint8Array::new(&JsFuture::from(blob.array_buffer()).await?);
        let bytes = buf.to_vec();
        let early = match decode::inspect_prefix(&bytes[..bytes.len().min(decode::PREFIX_BYTES)], size, &limits) {
            Err(_) => None,
            Ok((Sniffed::Jpeg, w, h)) => start_frame(&buf, (w, h), first)
                .map(Early::Frame)
                .or_else(|| start_bitmap(blob).ok().map(Early::Bitmap)),
            Ok(_) => start_bitmap(blob).ok().map(Early::Bitmap),
        };
        (early, bytes, Some(buf))
    } else {
        let prefix = read_blob(&blob.slice_with_f64_and_f64(0.0, decode::PREFIX_BYTES as f64)?).await?;
        let early = match (route, decode::inspect_prefix(&prefix, size, &limits)) {
            // No `createImageBitmap` here: the rules' decoder takes over below.
            (Route::Rules, _) | (_, Err(_)) => None,
            (_, Ok(_)) => start_bitmap(blob).ok().map(Early::Bitmap),
        };
        (early, read_blob(blob).await?, None)
    };
    lap("read", &mut timings);
    let sniffed = decode::sniff(&bytes);
    let rules_path = |bytes: &[u8], previewable: bool, mut timings: Vec<(&'static str, f64)>| {
        let t = now();
        let processed = pipeline::process(part, bytes, None, profile);
        timings.push(("rules", now() - t));
        Answer { processed, previewable, decoder: Decoder::Rules, working: (0, 0), decodes: 0, timings }
    };
    match sniffed {
        Sniffed::Jpeg | Sniffed::Png => {
            // The whole header (and, for JPEG, that the file is complete), as the rules' decode checks it.
            let header = decode::inspect(&bytes, &limits);
            lap("inspect", &mut timings);
            let Ok(header) = header else {
                // A truncated file the browser may already be decoding: its pixels are not used.
                if let Some(early) = early {
                    early.discard().await;
                }
                return Ok(rules_path(&bytes, false, timings));
            };
            if route == Route::Rules {
                return Ok(rules_path(&bytes, true, timings));
            }
            // The upright size a bitmap must have.
            let expect = Some(header.upright_dimensions());
            let (decoded, decoder) = match early {
                Some(Early::Frame(frame)) => match read_frame(frame, &header, first).await {
                    Ok(p) => (Ok(p), Decoder::Frame),
                    // A frame the worker cannot use: the bitmap decodes the file again.
                    Err(_) => (bitmap_pixels(blob, expect, working).await, Decoder::Bitmap),
                },
                Some(Early::Bitmap(p)) => (read_bitmap(p, expect, working).await, Decoder::Bitmap),
                None => (bitmap_pixels(blob, expect, working).await, Decoder::Bitmap),
            };
            lap("decode", &mut timings);
            let Ok(BrowserPixels { rgba, width: w, height: h, upright, .. }) = decoded else {
                return Ok(rules_path(&bytes, true, timings));
            };
            let Some(pixels) = Decoded::from_rgba(header, &rgba, w, h, upright) else {
                return Ok(rules_path(&bytes, true, timings));
            };
            drop(rgba);
            lap("pixels", &mut timings);
            let mut frame = pixels.upright_dimensions();
            let mut processed = pipeline::process(part, &bytes, Some(&pixels), profile);
            drop(pixels);
            lap("rules", &mut timings);
            let mut decodes = 1;
            // A photo's first decode is smaller than its working size. When the crop the fix chose
            // turned out to have too few of its pixels, decode once more at the working size and
            // fix from that (a subject far away or off to one side, in a file of about 1 to 3 MP).
            let stored = (header.width, header.height);
            let larger = scaled_request(stored, working).unwrap_or(stored);
            if decoder == Decoder::Frame
                && larger.0.max(larger.1) > frame.0.max(frame.1)
                && pipeline::crop_short_of_pixels(&processed, frame.0, header.upright_dimensions().0, profile)
                && let Some(again) = js_bytes.as_ref().and_then(|b| start_frame(b, stored, working))
                && let Ok(p) = read_frame(again, &header, working).await
                && let Some(pixels) = Decoded::from_rgba(header, &p.rgba, p.width, p.height, p.upright)
            {
                lap("second decode", &mut timings);
                frame = pixels.upright_dimensions();
                processed = pipeline::process(part, &bytes, Some(&pixels), profile);
                decodes = 2;
                lap("second rules", &mut timings);
            }
            Ok(Answer { processed, previewable: true, decoder, working: frame, decodes, timings })
        }
        Sniffed::Heif if bytes.len() > limits.max_file_bytes => Ok(rules_path(&bytes, false, timings)),
        Sniffed::Heif if route == Route::Rules => Ok(rules_path(&bytes, false, timings)),
        Sniffed::Heif => {
            // The rules do not read HEIC; the browser may (Safari does).
            let Ok(BrowserPixels { rgba, width: w, height: h, full, .. }) = bitmap_pixels(blob, None, working).await
            else {
                return Ok(Answer {
                    processed: pipeline::heic_unsupported(part),
                    previewable: false,
                    decoder: Decoder::Bitmap,
                    working: (0, 0),
                    decodes: 0,
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
                    decoder: Decoder::Bitmap,
                    working: (w, h),
                    decodes: 1,
                    timings,
                }),
                None => Ok(Answer {
                    processed: pipeline::heic_unsupported(part),
                    previewable: false,
                    decoder: Decoder::Bitmap,
                    working: (0, 0),
                    decodes: 0,
                    timings,
                }),
            }
        }
        // PDFs, other formats, empty files: the rules say what they are.
        _ => Ok(rules_path(&bytes, false, timings)),
    }
}

/// A browser decode started before the whole file was read.
enum Early {
    Frame(FrameDecode),
    Bitmap(js_sys::Promise),
}

impl Early {
    /// Ends a decode whose pixels will not be used and releases them.
    async fn discard(self) {
        match self {
            // Closing the decoder rejects its pending decode; a frame that made it anyway is closed.
            Early::Frame(f) => {
                f.decoder.close();
                let frame = JsFuture::from(f.frame);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(r) = frame.await {
                        frame_of(&r).close();
                    }
                });
            }
            Early::Bitmap(p) => {
                if let Ok(b) = JsFuture::from(p).await.and_then(JsCast::dyn_into::<web_sys::ImageBitmap>) {
                    b.close();
                }
            }
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// WebCodecs `ImageDecoder` (not among web-sys' stable bindings).
    #[wasm_bindgen(js_name = ImageDecoder)]
    type JsImageDecoder;
    #[wasm_bindgen(constructor, js_class = "ImageDecoder", catch)]
    fn new(init: &Object) -> Result<JsImageDecoder, JsValue>;
    /// Resolves to `{image: VideoFrame, complete}`.
    #[wasm_bindgen(method, js_class = "ImageDecoder", catch)]
    fn decode(this: &JsImageDecoder) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, js_class = "ImageDecoder", js_name = close)]
    fn close(this: &JsImageDecoder);
}

#[wasm_bindgen]
extern "C" {
    /// WebCodecs `VideoFrame`, as `ImageDecoder` gives it.
    #[wasm_bindgen(js_name = VideoFrame)]
    type JsVideoFrame;
    #[wasm_bindgen(method, getter, js_class = "VideoFrame", js_name = codedWidth)]
    fn coded_width(this: &JsVideoFrame) -> u32;
    #[wasm_bindgen(method, getter, js_class = "VideoFrame", js_name = codedHeight)]
    fn coded_height(this: &JsVideoFrame) -> u32;
    #[wasm_bindgen(method, getter, js_class = "VideoFrame", js_name = visibleRect)]
    fn visible_rect(this: &JsVideoFrame) -> Option<web_sys::DomRectReadOnly>;
    #[wasm_bindgen(method, js_class = "VideoFrame", js_name = allocationSize, catch)]
    fn allocation_size(this: &JsVideoFrame, options: &Object) -> Result<f64, JsValue>;
    /// Resolves when `dest` holds the pixels.
    #[wasm_bindgen(method, js_class = "VideoFrame", js_name = copyTo, catch)]
    fn copy_to(this: &JsVideoFrame, dest: &Uint8Array, options: &Object) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, js_class = "VideoFrame", js_name = close)]
    fn close(this: &JsVideoFrame);
}

fn frame_of(decode_result: &JsValue) -> JsVideoFrame {
    Reflect::get(decode_result, &JsValue::from_str("image")).unwrap_or(JsValue::NULL).unchecked_into()
}

/// A running `ImageDecoder` decode.
struct FrameDecode {
    decoder: JsImageDecoder,
    frame: js_sys::Promise,
}

/// The scaled size to ask `ImageDecoder` for: the stored size times the smallest n/8 (libjpeg's
/// scaled IDCT steps) whose long side still reaches `working` (never under the working size the
/// bitmap path gives). Chromium picks ⌊8·desired/stored⌋/8, which this rounds up to exactly n/8.
/// None when no reduction is possible (n = 8).
pub fn scaled_request(stored: (u32, u32), working: u32) -> Option<(u32, u32)> {
    let long = stored.0.max(stored.1);
    if long == 0 {
        return None;
    }
    let n = (u64::from(working) * 8).div_ceil(u64::from(long)).max(1);
    if n >= 8 {
        return None;
    }
    let scale = |v: u32| u32::try_from((u64::from(v) * n).div_ceil(8)).unwrap_or(v);
    Some((scale(stored.0), scale(stored.1)))
}

thread_local! {
    /// The answer of [`probe_scaled_frames`], asked once per worker.
    static SCALED_FRAMES: std::cell::RefCell<Option<js_sys::Promise>> = const { std::cell::RefCell::new(None) };
}

/// True when this browser's `ImageDecoder` decodes a JPEG to a smaller requested size and copies
/// its RGBA out. Asked once per worker (a browser that ignored the size would otherwise decode a
/// 12 MP photo in full and then again with the bitmap).
pub async fn scaled_frames() -> bool {
    let probe = SCALED_FRAMES.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                wasm_bindgen_futures::future_to_promise(async { Ok(JsValue::from_bool(probe_scaled_frames().await)) })
            })
            .clone()
    });
    JsFuture::from(probe).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Decodes a 16×16 JPEG asking for 8×8 and copies the frame out as RGBA.
async fn probe_scaled_frames() -> bool {
    if !Reflect::has(&js_sys::global(), &JsValue::from_str("ImageDecoder")).unwrap_or(false) {
        return false;
    }
    let jpeg = intake_rules::jpeg::encode(&image::RgbImage::from_pixel(16, 16, image::Rgb([120, 130, 140])), 90);
    let Some(f) = frame_decode(&Uint8Array::from(jpeg.as_slice()), Some((8, 8))) else { return false };
    let header = Header {
        format: Sniffed::Jpeg,
        width: 16,
        height: 16,
        orientation: Orientation::NoTransforms,
        metadata: Metadata::default(),
    };
    read_frame(f, &header, 8).await.is_ok_and(|p| (p.width, p.height, p.rgba.len()) == (8, 8, 256))
}

/// Starts a scaled `ImageDecoder` decode of the JPEG `bytes` whose stored size is `stored`; None
/// where the browser refuses the request (the bitmap is used then).
fn start_frame(bytes: &Uint8Array, stored: (u32, u32), working: u32) -> Option<FrameDecode> {
    frame_decode(bytes, scaled_request(stored, working))
}

/// `new ImageDecoder({data, type: "image/jpeg", desiredWidth, desiredHeight}).decode()`.
fn frame_decode(data: &JsValue, desired: Option<(u32, u32)>) -> Option<FrameDecode> {
    let init = Object::new();
    set(&init, "data", data);
    set(&init, "type", &JsValue::from_str("image/jpeg"));
    set(&init, "preferAnimation", &JsValue::FALSE);
    if let Some((w, h)) = desired {
        set(&init, "desiredWidth", &JsValue::from(w));
        set(&init, "desiredHeight", &JsValue::from(h));
    }
    let decoder = JsImageDecoder::new(&init).ok()?;
    match decoder.decode() {
        Ok(frame) => Some(FrameDecode { decoder, frame }),
        Err(_) => {
            decoder.close();
            None
        }
    }
}

/// Awaits the frame and copies its RGBA out, after checking it against the header: the stored
/// size scaled by one factor, at most twice the working size on its long side (a larger frame is
/// refused so no full-resolution copy reaches WASM). Square pictures with a rotation in their
/// header are refused too: their frame's size cannot tell whether it is stored or upright.
async fn read_frame(f: FrameDecode, header: &Header, working: u32) -> Result<BrowserPixels, JsValue> {
    let result = JsFuture::from(f.frame).await;
    f.decoder.close();
    let frame = frame_of(&result?);
    let out = copy_frame(&frame, header, working).await;
    frame.close();
    out
}

async fn copy_frame(frame: &JsVideoFrame, header: &Header, working: u32) -> Result<BrowserPixels, JsValue> {
    let (w, h) = match frame.visible_rect() {
        Some(r) => (r.width() as u32, r.height() as u32),
        None => (frame.coded_width(), frame.coded_height()),
    };
    let (sw, sh) = (header.width, header.height);
    // Same aspect as the stored picture, to within the rounding of one scaled pixel.
    let same_aspect = |a: (u32, u32), b: (u32, u32)| {
        let cross = (i64::from(a.0) * i64::from(b.1) - i64::from(a.1) * i64::from(b.0)).abs();
        cross <= i64::from(b.0.max(b.1))
    };
    let rotated = header.orientation != Orientation::NoTransforms;
    if w == 0
        || h == 0
        || w > sw
        || h > sh
        || w.max(h) > 2 * working.max(1)
        || !same_aspect((w, h), (sw, sh))
        || (sw == sh && rotated)
    {
        return Err(JsValue::from_str("the frame is not the stored picture at a usable scale"));
    }
    let opts = Object::new();
    set(&opts, "format", &JsValue::from_str("RGBA"));
    let size = frame.allocation_size(&opts)?;
    if size != f64::from(w) * f64::from(h) * 4.0 {
        return Err(JsValue::from_str("unexpected frame layout"));
    }
    let buf = Uint8Array::new_with_length(size as u32);
    JsFuture::from(frame.copy_to(&buf, &opts)?).await?;
    Ok(BrowserPixels { rgba: buf.to_vec(), width: w, height: h, full: (sw, sh), upright: false })
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
    /// The picture's full size (upright for a bitmap, stored for a frame).
    full: (u32, u32),
    /// True when `rgba` is upright (a bitmap), false when it is in the stored orientation (a frame).
    upright: bool,
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

/// The bitmap of `blob`, read as [`read_bitmap`] does.
async fn bitmap_pixels(
    blob: &web_sys::Blob,
    expect: Option<(u32, u32)>,
    max_long: u32,
) -> Result<BrowserPixels, JsValue> {
    read_bitmap(start_bitmap(blob)?, expect, max_long).await
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
    Ok(BrowserPixels { rgba: result?, width: w, height: h, full: (bw, bh), upright: true })
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
    set(&o, "decoder", &JsValue::from_str(answer.decoder.name()));
    set(&o, "workingWidth", &JsValue::from(answer.working.0));
    set(&o, "workingHeight", &JsValue::from(answer.working.1));
    set(&o, "decodes", &JsValue::from(answer.decodes));
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

/// Called by `www/intake-worker.js` once the module is loaded, before the first picture arrives:
/// asks the browser's decoders what they can do, then runs the warm-up picture
/// (`pipeline::warm_up_jpeg`) three times through the same path a chosen file takes (read,
/// inspect, the browser's decode, the rules' fix and check), so the engine has optimised that code
/// before the first real picture. Measured in Chromium: with the rules' fix alone, run once, a new
/// worker's first 1.4 MP photo still took its rules about 1.5× as long as in a worker that had
/// checked a picture. Resolves to the milliseconds it took.
#[wasm_bindgen(js_name = imagingWarmUp)]
pub async fn imaging_warm_up() -> f64 {
    let t = now();
    scaled_frames().await;
    let jpeg = pipeline::warm_up_jpeg();
    let parts = js_sys::Array::of1(&Uint8Array::from(jpeg.as_slice()));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("image/jpeg");
    match web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts) {
        Ok(blob) => {
            for _ in 0..3 {
                let _ = answer(Part::Photo, &blob, "", Route::Best).await;
            }
        }
        Err(_) => {
            pipeline::warm_up();
        }
    }
    now() - t
}

/// Worker entry point, called by `www/intake-worker.js` for each request
/// `{id, part, file, profile, decoder?}` (`decoder`: see [`Route::parse`]). Resolves to the reply object (without `id`);
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
    let route = Route::parse(get("decoder").as_string().as_deref());
    let answer = answer(part, &blob, &profile, route).await?;
    let timings = Object::new();
    for (name, ms) in &answer.timings {
        set(&timings, name, &JsValue::from_f64(*ms));
    }
    set(&timings, "total", &JsValue::from_f64(now() - t0));
    let o = reply(part, &file_name, &answer, &timings)?;
    set(&o, "memoryBytes", &JsValue::from_f64(memory_bytes()));
    Ok(o.into())
}

/// This worker's WebAssembly memory in bytes (it only grows; the page recycles a worker that has
/// grown large, see `Imaging`).
fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}
