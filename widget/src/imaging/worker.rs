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
//!   decode, and `VideoFrame.copyTo` gives its RGBA. Engines differ in what the
//!   frame holds: Chromium gives the stored pixels and says how to show them
//!   (`rotation`, `flip`); Firefox applies the EXIF orientation while decoding,
//!   reports no `rotation`, and squeezes the upright picture into whatever box it
//!   is asked for. So each worker learns once, by decoding a tiny EXIF-6 JPEG
//!   ([`frame_support`]: feature detection, no user-agent sniffing), whether frames
//!   come stored or upright, asks for the size in that aspect ([`frame_request`]),
//!   and decides for each frame from what it is ([`frame_layout`]: its size, its
//!   `rotation`/`flip`, the header's stored and upright sizes) whether its pixels
//!   are stored (the rules orient their small renders) or upright; a frame that is
//!   neither at a usable scale is refused and the bitmap decodes the file. A photo
//!   is first asked for less than its working size (`pipeline::first_long_side`)
//!   and decoded once more at the working size only when the crop the fix chose
//!   needs it (`pipeline::crop_short_of_pixels`). Where the browser's
//!   `ImageDecoder` does not honour the requested size, the bitmap is used from
//!   the start.
//! - Otherwise (PNG, HEIC, WebKit/Safari, which has no `ImageDecoder`)
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
    /// What this worker learnt of the engine's `ImageDecoder` ([`frame_support`]).
    pub frames: FrameSupport,
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
    let support = if route == Route::Best { frame_support().await } else { FrameSupport::NONE };
    // Where the engine orients its frames (Firefox), the request must be in the upright aspect, so
    // the header (orientation) is read before the decode starts; elsewhere while it runs.
    let mut inspected = None;
    let (early, bytes, js_bytes) = if support.scaled {
        let buf = Uint8Array::new(&JsFuture::from(blob.array_buffer()).await?);
        let bytes = buf.to_vec();
        let early = match decode::inspect_prefix(&bytes[..bytes.len().min(decode::PREFIX_BYTES)], size, &limits) {
            Err(_) => None,
            Ok((Sniffed::Jpeg, w, h)) => {
                let orientation = if support.orientation == Some(FrameOrientation::Upright) {
                    let header = decode::inspect(&bytes, &limits);
                    let o = header.as_ref().map_or(Orientation::NoTransforms, |h| h.orientation);
                    inspected = Some(header);
                    o
                } else {
                    Orientation::NoTransforms
                };
                frame_request((w, h), orientation, first, support)
                    .and_then(|desired| frame_decode(&buf, desired))
                    .map(Early::Frame)
                    .or_else(|| start_bitmap(blob).ok().map(Early::Bitmap))
            }
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
    // A PDF for an attachment, in a build without the rules' PDF parser (the widget's own): the PDF
    // module reads it (the same rules with the parser, loaded now). Should it not load, the rules
    // here refuse the file (`file.pdf_checker_unavailable`): a PDF is never accepted unread.
    if matches!(part, Part::WorkCertificate | Part::Supporting) && attachment::needs_pdf_module(&bytes) {
        if let Some(early) = early {
            early.discard().await;
        }
        let processed = match pdf_module(part, &bytes).await {
            Some(p) => p,
            None => pipeline::process(part, &bytes, None, profile),
        };
        lap("pdf", &mut timings);
        return Ok(Answer {
            processed,
            previewable: false,
            decoder: Decoder::Rules,
            working: (0, 0),
            decodes: 0,
            timings,
            frames: support,
        });
    }
    let rules_path = |bytes: &[u8], previewable: bool, mut timings: Vec<(&'static str, f64)>| {
        let t = now();
        let processed = pipeline::process(part, bytes, None, profile);
        timings.push(("rules", now() - t));
        Answer {
            processed,
            previewable,
            decoder: Decoder::Rules,
            working: (0, 0),
            decodes: 0,
            timings,
            frames: support,
        }
    };
    match sniffed {
        Sniffed::Jpeg | Sniffed::Png => {
            // The whole header (and, for JPEG, that the file is complete), as the rules' decode checks it.
            let header = inspected.unwrap_or_else(|| decode::inspect(&bytes, &limits));
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
                Some(Early::Frame(frame)) => match read_frame(frame, &header, first, support).await {
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
                && let Some(again) = js_bytes.as_ref().and_then(|b| {
                    frame_request(stored, header.orientation, working, support).and_then(|d| frame_decode(b, d))
                })
                && let Ok(p) = read_frame(again, &header, working, support).await
                && let Some(pixels) = Decoded::from_rgba(header, &p.rgba, p.width, p.height, p.upright)
            {
                lap("second decode", &mut timings);
                frame = pixels.upright_dimensions();
                processed = pipeline::process(part, &bytes, Some(&pixels), profile);
                decodes = 2;
                lap("second rules", &mut timings);
            }
            Ok(Answer { processed, previewable: true, decoder, working: frame, decodes, timings, frames: support })
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
                    frames: support,
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
                    frames: support,
                }),
                None => Ok(Answer {
                    processed: pipeline::heic_unsupported(part),
                    previewable: false,
                    decoder: Decoder::Bitmap,
                    working: (0, 0),
                    decodes: 0,
                    timings,
                    frames: support,
                }),
            }
        }
        // PDFs, other formats, empty files: the rules say what they are.
        _ => Ok(rules_path(&bytes, false, timings)),
    }
}

/// The PDF module's check of an attachment: `intakePdf(field, bytes)`, which `www/intake-worker.js`
/// defines (it loads `pkg/intake_pdf.js`, the rules with their PDF parser, at the first PDF) and which
/// resolves to `{before, verdict, output, mediaType}` (see `widget/pdf`). None when there is no such
/// function, it failed (the module did not load), or its answer is not one.
async fn pdf_module(part: Part, bytes: &[u8]) -> Option<Processed> {
    let hook = Reflect::get(&js_sys::global(), &JsValue::from_str("intakePdf")).ok()?;
    let hook = hook.dyn_into::<js_sys::Function>().ok()?;
    let called = hook.call2(&JsValue::NULL, &JsValue::from_str(part.name()), &Uint8Array::from(bytes)).ok()?;
    let reply = JsFuture::from(js_sys::Promise::resolve(&called)).await.ok()?;
    let field = |k: &str| Reflect::get(&reply, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let report = |k: &str| serde_json::from_str::<intake_rules::Report>(&field(k).as_string()?).ok();
    let (before, verdict) = (report("before")?, report("verdict")?);
    let output = match field("output").dyn_into::<js_sys::ArrayBuffer>() {
        Ok(buf) if field("mediaType").as_string().as_deref() == Some("application/pdf") => {
            Some(Uint8Array::new(&buf).to_vec())
        }
        Ok(_) => return None,
        Err(_) => None,
    };
    Some(pipeline::from_pdf_module(part, before, verdict, output))
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

/// What this engine's `ImageDecoder` does with a JPEG's EXIF orientation, learnt once per worker by
/// decoding a tiny EXIF-6 JPEG ([`probe_frame_support`]), never from the user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOrientation {
    /// Frames hold the stored pixels (Chromium, which says so with `rotation`/`flip`): the rules
    /// orient their small renders, and the request is in the stored aspect.
    Stored,
    /// Frames are already upright (Firefox applies the orientation while decoding and reports no
    /// `rotation`): the request must then be in the upright aspect, or the engine squeezes the
    /// upright picture into the stored box.
    Upright,
}

/// What a worker knows of the engine's `ImageDecoder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSupport {
    /// It decodes a JPEG to a smaller requested size and copies the RGBA out.
    pub scaled: bool,
    /// Its orientation behaviour; None when the probe could not tell (frames of rotated files are
    /// then not used: the bitmap decodes them).
    pub orientation: Option<FrameOrientation>,
}

impl FrameSupport {
    /// No usable `ImageDecoder` (or a route that does not ask for it).
    pub const NONE: FrameSupport = FrameSupport { scaled: false, orientation: None };

    /// The name in the worker's reply (`frameOrientation`): `stored`, `upright`, `unknown`, or `none`
    /// without a scaled `ImageDecoder`.
    pub fn name(self) -> &'static str {
        match (self.scaled, self.orientation) {
            (false, _) => "none",
            (true, Some(FrameOrientation::Stored)) => "stored",
            (true, Some(FrameOrientation::Upright)) => "upright",
            (true, None) => "unknown",
        }
    }

    fn to_js(self) -> f64 {
        match (self.scaled, self.orientation) {
            (false, _) => 0.0,
            (true, Some(FrameOrientation::Stored)) => 1.0,
            (true, Some(FrameOrientation::Upright)) => 2.0,
            (true, None) => 3.0,
        }
    }

    fn from_js(v: f64) -> FrameSupport {
        let orientation = match v as u8 {
            1 => Some(FrameOrientation::Stored),
            2 => Some(FrameOrientation::Upright),
            _ => None,
        };
        FrameSupport { scaled: (1.0..=3.0).contains(&v), orientation }
    }
}

thread_local! {
    /// The answer of [`probe_frame_support`], asked once per worker.
    static FRAME_SUPPORT: std::cell::RefCell<Option<js_sys::Promise>> = const { std::cell::RefCell::new(None) };
}

/// What this browser's `ImageDecoder` does (see [`FrameSupport`]). Asked once per worker (a browser
/// that ignored the size would otherwise decode a 12 MP photo in full and then again with the bitmap).
pub async fn frame_support() -> FrameSupport {
    let probe = FRAME_SUPPORT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                wasm_bindgen_futures::future_to_promise(async {
                    Ok(JsValue::from_f64(probe_frame_support().await.to_js()))
                })
            })
            .clone()
    });
    JsFuture::from(probe).await.ok().and_then(|v| v.as_f64()).map_or(FrameSupport::NONE, FrameSupport::from_js)
}

/// True when this browser's `ImageDecoder` decodes a JPEG to a smaller requested size.
pub async fn scaled_frames() -> bool {
    frame_support().await.scaled
}

/// A JPEG APP1 segment holding only an EXIF orientation tag (big-endian TIFF, one IFD entry).
pub fn exif_orientation_segment(orientation: u8) -> Vec<u8> {
    let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let len = u16::try_from(tiff.len() + 2).unwrap_or(u16::MAX);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(&tiff);
    seg
}

/// The orientation probe's picture: 32×16 stored, the left half red and the right half blue, with
/// EXIF orientation 6 (upright it is 16×32, red on top).
pub fn orientation_probe_jpeg() -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(
            32,
            16,
            |x, _| if x < 16 { image::Rgb([220, 20, 20]) } else { image::Rgb([20, 20, 220]) },
        );
    let jpeg = intake_rules::jpeg::encode(&img, 95);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_orientation_segment(6));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// What the orientation probe's frame shows: its size and RGBA pixels (row-major).
pub fn classify_orientation_probe(size: (u32, u32), rgba: &[u8]) -> Option<FrameOrientation> {
    let px = |x: u32, y: u32| {
        let i = ((y * size.0 + x) * 4) as usize;
        rgba.get(i..i + 3).map(|p| (p[0], p[2]))
    };
    let red = |p: Option<(u8, u8)>| p.is_some_and(|(r, b)| r > 150 && b < 100);
    let blue = |p: Option<(u8, u8)>| p.is_some_and(|(r, b)| b > 150 && r < 100);
    if rgba.len() != (size.0 * size.1 * 4) as usize {
        return None;
    }
    match size {
        (32, 16) if red(px(4, 8)) && blue(px(27, 8)) => Some(FrameOrientation::Stored),
        (16, 32) if red(px(8, 4)) && blue(px(8, 27)) => Some(FrameOrientation::Upright),
        _ => None,
    }
}

/// Decodes a 16×16 JPEG asking for 8×8 (is the requested size honoured?), then the EXIF-6 probe
/// picture at its own size (are frames stored or upright?).
async fn probe_frame_support() -> FrameSupport {
    if !Reflect::has(&js_sys::global(), &JsValue::from_str("ImageDecoder")).unwrap_or(false) {
        return FrameSupport::NONE;
    }
    let jpeg = intake_rules::jpeg::encode(&image::RgbImage::from_pixel(16, 16, image::Rgb([120, 130, 140])), 90);
    let Some(f) = frame_decode(&Uint8Array::from(jpeg.as_slice()), Some((8, 8))) else { return FrameSupport::NONE };
    let scaled = match JsFuture::from(f.frame).await {
        Ok(r) => {
            let frame = frame_of(&r);
            let ok = (frame.coded_width(), frame.coded_height()) == (8, 8)
                && copy_rgba(&frame, (8, 8)).await.is_ok_and(|p| p.len() == 256);
            frame.close();
            ok
        }
        Err(_) => false,
    };
    f.decoder.close();
    if !scaled {
        return FrameSupport::NONE;
    }
    let probe = orientation_probe_jpeg();
    let orientation = match frame_decode(&Uint8Array::from(probe.as_slice()), None) {
        Some(f) => {
            let out = match JsFuture::from(f.frame).await {
                Ok(r) => {
                    let frame = frame_of(&r);
                    let facts = frame_facts(&frame);
                    let o = match copy_rgba(&frame, facts.size).await {
                        Ok(rgba) => classify_orientation_probe(facts.size, &rgba),
                        Err(_) => None,
                    };
                    frame.close();
                    o
                }
                Err(_) => None,
            };
            f.decoder.close();
            out
        }
        None => None,
    };
    FrameSupport { scaled, orientation }
}

/// The size to ask `ImageDecoder` for a JPEG stored `stored` with `orientation`: the scaled
/// request ([`scaled_request`]) in the stored aspect where the engine gives stored frames, in
/// the upright aspect where it orients them. None where a frame could not be told apart (a rotated
/// file on an engine whose behaviour the probe could not tell): the bitmap decodes it then.
/// `Some(None)` asks for the full size.
pub fn frame_request(
    stored: (u32, u32),
    orientation: Orientation,
    working: u32,
    support: FrameSupport,
) -> Option<Option<(u32, u32)>> {
    if !support.scaled {
        return None;
    }
    let scaled = scaled_request(stored, working);
    match (orientation, support.orientation) {
        (Orientation::NoTransforms, _) | (_, Some(FrameOrientation::Stored)) => Some(scaled),
        (o, Some(FrameOrientation::Upright)) if decode::transposes(o) => Some(scaled.map(|(w, h)| (h, w))),
        (_, Some(FrameOrientation::Upright)) => Some(scaled),
        (_, None) => None,
    }
}

/// What a `VideoFrame` says it is: the size of its visible pixels, and the `rotation` (degrees) and
/// `flip` it asks a renderer to apply (absent in engines without them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameFacts {
    pub size: (u32, u32),
    pub rotation: Option<f64>,
    pub flip: Option<bool>,
}

/// Whether a frame's pixels are upright (`Some(true)`), in the stored orientation (`Some(false)`),
/// or cannot be used (None: not the picture the header declares at a usable scale, or not
/// decidable). Decided from the frame itself and the header, with the engine's probed behaviour
/// only where the frame says nothing:
/// - a frame that asks to be rotated or flipped still holds stored pixels: its size must be the
///   stored size scaled, its rotation must swap the axes exactly when the header's orientation
///   does;
/// - a frame that asks for no transform holds what the engine shows: for a file without orientation,
///   the stored pixels; for a rotated file, the upright picture where the engine orients (its
///   size must then have the upright aspect: a frame squeezed into the stored aspect is refused),
///   the stored pixels where it does not;
/// - any frame: not larger than the file, at most twice the working size on its long side (no
///   full-resolution copy reaches WASM).
pub fn frame_layout(
    facts: FrameFacts,
    header: &Header,
    working: u32,
    engine: Option<FrameOrientation>,
) -> Option<bool> {
    let (w, h) = facts.size;
    let stored = (header.width, header.height);
    let upright = header.upright_dimensions();
    // Same aspect, to within the rounding of one scaled pixel.
    let same_aspect = |b: (u32, u32)| {
        let cross = (i64::from(w) * i64::from(b.1) - i64::from(h) * i64::from(b.0)).abs();
        cross <= i64::from(b.0.max(b.1))
    };
    let fits =
        |b: (u32, u32)| w > 0 && h > 0 && w <= b.0 && h <= b.1 && w.max(h) <= 2 * working.max(1) && same_aspect(b);
    let rotation = facts.rotation.map_or(0, |r| (r.rem_euclid(360.0)) as u32);
    let transform = rotation != 0 || facts.flip == Some(true);
    let rotated = header.orientation != Orientation::NoTransforms;
    let square = stored.0 == stored.1;
    let is_upright = match (rotated, transform) {
        (false, false) => false,
        // The engine would transform a picture that declares no orientation: not understood.
        (false, true) => return None,
        (true, true) => {
            if (rotation % 180 == 90) != decode::transposes(header.orientation) {
                return None;
            }
            false
        }
        (true, false) => match engine {
            Some(FrameOrientation::Upright) => true,
            Some(FrameOrientation::Stored) => false,
            // Unknown engine: only an aspect that is the upright one and not the stored one tells.
            None if !square
                && decode::transposes(header.orientation)
                && same_aspect(upright)
                && !same_aspect(stored) =>
            {
                true
            }
            None => return None,
        },
    };
    fits(if is_upright { upright } else { stored }).then_some(is_upright)
}

/// A frame's [`FrameFacts`].
fn frame_facts(frame: &JsVideoFrame) -> FrameFacts {
    let size = match frame.visible_rect() {
        Some(r) => (r.width() as u32, r.height() as u32),
        None => (frame.coded_width(), frame.coded_height()),
    };
    let get = |k: &str| Reflect::get(frame.as_ref(), &JsValue::from_str(k)).ok();
    FrameFacts { size, rotation: get("rotation").and_then(|v| v.as_f64()), flip: get("flip").and_then(|v| v.as_bool()) }
}

/// Copies a frame's visible pixels out as RGBA (`VideoFrame.copyTo({format: "RGBA"})`).
async fn copy_rgba(frame: &JsVideoFrame, (w, h): (u32, u32)) -> Result<Vec<u8>, JsValue> {
    let opts = Object::new();
    set(&opts, "format", &JsValue::from_str("RGBA"));
    let size = frame.allocation_size(&opts)?;
    if size != f64::from(w) * f64::from(h) * 4.0 {
        return Err(JsValue::from_str("unexpected frame layout"));
    }
    let buf = Uint8Array::new_with_length(size as u32);
    JsFuture::from(frame.copy_to(&buf, &opts)?).await?;
    Ok(buf.to_vec())
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

/// Awaits the frame and copies its RGBA out, after deciding what it is ([`frame_layout`]).
async fn read_frame(
    f: FrameDecode,
    header: &Header,
    working: u32,
    support: FrameSupport,
) -> Result<BrowserPixels, JsValue> {
    let result = JsFuture::from(f.frame).await;
    f.decoder.close();
    let frame = frame_of(&result?);
    let out = copy_frame(&frame, header, working, support).await;
    frame.close();
    out
}

async fn copy_frame(
    frame: &JsVideoFrame,
    header: &Header,
    working: u32,
    support: FrameSupport,
) -> Result<BrowserPixels, JsValue> {
    let facts = frame_facts(frame);
    let Some(upright) = frame_layout(facts, header, working, support.orientation) else {
        return Err(JsValue::from_str("the frame is not the picture the header declares at a usable scale"));
    };
    let rgba = copy_rgba(frame, facts.size).await?;
    let full = if upright { header.upright_dimensions() } else { (header.width, header.height) };
    Ok(BrowserPixels { rgba, width: facts.size.0, height: facts.size.1, full, upright })
}

/// How many bilinear halvings come before the last draw to the working size: each exact 2×
/// reduction with bilinear smoothing averages 2×2 pixels (a box filter, like the rules' area
/// average), so after them the last draw reduces by at most 2× and does not alias fine detail
/// (noise, edges). Not `imageSmoothingQuality: "high"`, whose filter differs by engine: Chromium's
/// is a mipmap (the same pixels as the halvings, mean difference 0.5 of 255), WebKitGTK's a
/// sharper, slower filter (1.1–1.8 s for a 12 MP photo drawn to 750×1000 alone, the halvings
/// 155 ms; its `medium` is its `low`, aliased). With the halvings WebKit's 12 MP output is
/// closer to the rules' own decoder's (mean difference 0.49 instead of 0.98).
fn halvings(from: (u32, u32), to: (u32, u32)) -> u32 {
    let mut n = 0;
    let (mut w, mut h) = from;
    while w.max(h) > 2 * to.0.max(to.1) && n < 8 {
        w = w.div_ceil(2);
        h = h.div_ceil(2);
        n += 1;
    }
    n
}

/// An opaque 2D canvas filled white (transparency is composited on white, as the rules do), bilinear smoothing.
fn white_canvas(
    w: u32,
    h: u32,
) -> Result<(web_sys::OffscreenCanvas, web_sys::OffscreenCanvasRenderingContext2d), JsValue> {
    let canvas = web_sys::OffscreenCanvas::new(w, h)?;
    let ctx_opts = Object::new();
    set(&ctx_opts, "willReadFrequently", &JsValue::TRUE);
    set(&ctx_opts, "alpha", &JsValue::FALSE);
    let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context_with_context_options("2d", &ctx_opts)?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    set(ctx.unchecked_ref(), "fillStyle", &JsValue::from_str("#fff"));
    ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
    set(ctx.unchecked_ref(), "imageSmoothingQuality", &JsValue::from_str("low"));
    Ok((canvas, ctx))
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
        let (_canvas, ctx) = white_canvas(w, h)?;
        if (w, h) == (bw, bh) {
            ctx.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)?;
        } else {
            // Halve first (see `halvings`), then one bilinear draw of at most 2×.
            let mut step: Option<web_sys::OffscreenCanvas> = None;
            let (mut sw, mut sh) = (bw, bh);
            for _ in 0..halvings((bw, bh), (w, h)) {
                (sw, sh) = (sw.div_ceil(2), sh.div_ceil(2));
                let (c, x) = white_canvas(sw, sh)?;
                match &step {
                    None => {
                        x.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, f64::from(sw), f64::from(sh))?;
                    }
                    Some(prev) => {
                        x.draw_image_with_offscreen_canvas_and_dw_and_dh(prev, 0.0, 0.0, f64::from(sw), f64::from(sh))?;
                    }
                }
                step = Some(c);
            }
            match &step {
                None => {
                    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, f64::from(w), f64::from(h))?;
                }
                Some(prev) => {
                    ctx.draw_image_with_offscreen_canvas_and_dw_and_dh(prev, 0.0, 0.0, f64::from(w), f64::from(h))?;
                }
            }
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
    set(&o, "frameOrientation", &JsValue::from_str(answer.frames.name()));
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
    frame_support().await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(stored: (u32, u32), orientation: Orientation) -> Header {
        Header { format: Sniffed::Jpeg, width: stored.0, height: stored.1, orientation, metadata: Metadata::default() }
    }

    const fn facts(size: (u32, u32), rotation: Option<f64>, flip: Option<bool>) -> FrameFacts {
        FrameFacts { size, rotation, flip }
    }

    const CHROMIUM: FrameSupport = FrameSupport { scaled: true, orientation: Some(FrameOrientation::Stored) };
    const FIREFOX: FrameSupport = FrameSupport { scaled: true, orientation: Some(FrameOrientation::Upright) };
    const UNKNOWN: FrameSupport = FrameSupport { scaled: true, orientation: None };

    #[test]
    fn the_request_is_in_the_aspect_the_engines_frames_come_in() {
        // The EXIF-6 camera fixture: stored 2000×1500, upright 1500×2000; the photo's first decode 750.
        let stored = (2000, 1500);
        assert_eq!(frame_request(stored, Orientation::Rotate90, 750, CHROMIUM), Some(Some((750, 563))));
        assert_eq!(frame_request(stored, Orientation::Rotate90, 750, FIREFOX), Some(Some((563, 750))));
        assert_eq!(frame_request(stored, Orientation::Rotate180, 750, FIREFOX), Some(Some((750, 563))));
        assert_eq!(frame_request(stored, Orientation::NoTransforms, 750, UNKNOWN), Some(Some((750, 563))));
        // A rotated file where the engine's behaviour is not known: not through a frame.
        assert_eq!(frame_request(stored, Orientation::Rotate90, 750, UNKNOWN), None);
        assert_eq!(frame_request(stored, Orientation::Rotate90, 750, FrameSupport::NONE), None);
        // Nothing to reduce: the full size (None as the desired size).
        assert_eq!(frame_request((800, 600), Orientation::Rotate90, 750, FIREFOX), Some(None));
    }

    #[test]
    fn a_frames_orientation_is_decided_from_what_it_is() {
        let exif6 = header((2000, 1500), Orientation::Rotate90);
        // Chromium: the stored pixels, with the rotation to show them.
        assert_eq!(
            frame_layout(facts((750, 563), Some(90.0), Some(false)), &exif6, 750, CHROMIUM.orientation),
            Some(false)
        );
        // Firefox asked in the stored aspect (the old request) squeezes the upright picture into it and
        // reports no rotation: refused, not rotated a further 90°.
        assert_eq!(frame_layout(facts((750, 563), None, None), &exif6, 750, FIREFOX.orientation), None);
        // Firefox asked in the upright aspect: upright pixels.
        assert_eq!(frame_layout(facts((563, 750), None, None), &exif6, 750, FIREFOX.orientation), Some(true));
        // An engine not probed: only an aspect that can only be the upright one tells.
        assert_eq!(frame_layout(facts((563, 750), None, None), &exif6, 750, None), Some(true));
        assert_eq!(frame_layout(facts((750, 563), None, None), &exif6, 750, None), None);
        // An engine that ignores the orientation and says nothing: the stored pixels.
        assert_eq!(
            frame_layout(facts((750, 563), Some(0.0), Some(false)), &exif6, 750, CHROMIUM.orientation),
            Some(false)
        );
        // A rotation that does not fit the header's orientation.
        assert_eq!(frame_layout(facts((750, 563), Some(180.0), None), &exif6, 750, CHROMIUM.orientation), None);
        assert_eq!(frame_layout(facts((750, 563), Some(-270.0), None), &exif6, 750, CHROMIUM.orientation), Some(false));
        // A transform asked for a file that declares none.
        let plain = header((2000, 1500), Orientation::NoTransforms);
        assert_eq!(frame_layout(facts((750, 563), Some(90.0), None), &plain, 750, CHROMIUM.orientation), None);
        assert_eq!(frame_layout(facts((750, 563), None, None), &plain, 750, FIREFOX.orientation), Some(false));
        // Not the picture at a usable scale: the full size, or another aspect.
        assert_eq!(frame_layout(facts((2000, 1500), Some(90.0), None), &exif6, 750, CHROMIUM.orientation), None);
        assert_eq!(frame_layout(facts((750, 750), Some(90.0), None), &exif6, 750, CHROMIUM.orientation), None);
        assert_eq!(frame_layout(facts((0, 0), None, None), &plain, 750, FIREFOX.orientation), None);
        // A square rotated file: its frame has both aspects, so the frame's transform or the probed
        // engine decides, and with neither it is refused.
        let square = header((1200, 1200), Orientation::Rotate90);
        assert_eq!(frame_layout(facts((600, 600), Some(90.0), None), &square, 750, CHROMIUM.orientation), Some(false));
        assert_eq!(frame_layout(facts((600, 600), None, None), &square, 750, FIREFOX.orientation), Some(true));
        assert_eq!(frame_layout(facts((600, 600), None, None), &square, 750, None), None);
        // A 180° file has one aspect: only the engine's behaviour tells.
        let upside = header((2000, 1500), Orientation::Rotate180);
        assert_eq!(frame_layout(facts((750, 563), None, None), &upside, 750, FIREFOX.orientation), Some(true));
        assert_eq!(frame_layout(facts((750, 563), None, None), &upside, 750, None), None);
        assert_eq!(frame_layout(facts((750, 563), Some(180.0), None), &upside, 750, None), Some(false));
    }

    #[test]
    fn large_reductions_halve_first_so_the_last_draw_is_at_most_two_fold() {
        assert_eq!(halvings((3000, 4000), (750, 1000)), 1);
        assert_eq!(halvings((1080, 1440), (750, 1000)), 0);
        assert_eq!(halvings((6000, 8000), (750, 1000)), 2);
        assert_eq!(halvings((4001, 3001), (1000, 750)), 2);
        for (from, to) in [((3000, 4000), (750, 1000)), ((12000, 9000), (1000, 750)), ((2001, 2001), (1000, 1000))] {
            let n = halvings(from, to);
            let long = (0..n).fold(from.0.max(from.1), |l, _| l.div_ceil(2));
            assert!(
                long <= 2 * to.0.max(to.1) && long >= to.0.max(to.1),
                "{from:?} -> {to:?}: {n} halvings leave {long}"
            );
        }
    }

    #[test]
    fn the_orientation_probe_tells_stored_from_upright_frames() {
        let jpeg = orientation_probe_jpeg();
        // The rules read the segment: EXIF orientation 6, stored 32×16.
        let d = decode::decode(&jpeg, &DecodeLimits::DEFAULT).expect("decodes");
        assert_eq!((d.header.orientation, d.raw.dimensions()), (Orientation::Rotate90, (32, 16)));
        let rgba = |img: &image::RgbImage| -> Vec<u8> { img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect() };
        assert_eq!(classify_orientation_probe((32, 16), &rgba(&d.raw)), Some(FrameOrientation::Stored));
        let upright = image::imageops::rotate90(&d.raw);
        assert_eq!(classify_orientation_probe((16, 32), &rgba(&upright)), Some(FrameOrientation::Upright));
        // Squeezed, mirrored or the wrong length: not told.
        let squeezed = image::imageops::resize(&upright, 32, 16, image::imageops::FilterType::Triangle);
        assert_eq!(classify_orientation_probe((32, 16), &rgba(&squeezed)), None);
        let wrong_way = image::imageops::rotate270(&d.raw);
        assert_eq!(classify_orientation_probe((16, 32), &rgba(&wrong_way)), None);
        assert_eq!(classify_orientation_probe((32, 16), &[0; 8]), None);
        for support in [FrameSupport::NONE, CHROMIUM, FIREFOX, UNKNOWN] {
            assert_eq!(
                FrameSupport::from_js(support.to_js()),
                if support.scaled { support } else { FrameSupport::NONE }
            );
        }
    }
}
