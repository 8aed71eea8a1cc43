//! The image pipeline in headless Chromium, in a dedicated worker as in production:
//! `cargo test --target wasm32-unknown-unknown -p intake-widget` (runner: wasm-bindgen-test-runner,
//! `.cargo/config.toml`; CHROMEDRIVER=/usr/bin/chromedriver).
//!
//! The worker-side function (`imaging::worker::answer`) runs on the fixture corpus with the
//! browser's decoder (`createImageBitmap` + `OffscreenCanvas`) and must give the codes of
//! `tests/fixtures/expected.json`, upload-ready bytes whose rules verdict is the one shown, and the
//! same picture as the rules' own decoder would produce.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeSet;

use intake_rules::decode::{self, DecodeLimits};
use intake_rules::submission::Part;
use intake_rules::{Code, attachment, document, photo};
use intake_widget::imaging::pipeline;
use intake_widget::imaging::worker::{Answer, Decoder, Route, answer, scaled_request};
use intake_widget::imaging::{ImageOutput, ImageResult, pair_problems};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const EXPECTED: &str = include_str!("../../tests/fixtures/expected.json");

static FIXTURES: &[(&str, &[u8])] = &[
    ("document/id_back.jpg", include_bytes!("../../tests/fixtures/document/id_back.jpg")),
    ("document/id_front.jpg", include_bytes!("../../tests/fixtures/document/id_front.jpg")),
    ("document/id_front_blurred.jpg", include_bytes!("../../tests/fixtures/document/id_front_blurred.jpg")),
    ("document/id_front_copy_resized.jpg", include_bytes!("../../tests/fixtures/document/id_front_copy_resized.jpg")),
    ("document/id_front_dark.jpg", include_bytes!("../../tests/fixtures/document/id_front_dark.jpg")),
    ("document/id_front_glare.jpg", include_bytes!("../../tests/fixtures/document/id_front_glare.jpg")),
    ("document/id_front_small_640x480.jpg", include_bytes!("../../tests/fixtures/document/id_front_small_640x480.jpg")),
    ("document/passport_info.jpg", include_bytes!("../../tests/fixtures/document/passport_info.jpg")),
    ("document/passport_validity.jpg", include_bytes!("../../tests/fixtures/document/passport_validity.jpg")),
    ("file/empty.jpg", include_bytes!("../../tests/fixtures/file/empty.jpg")),
    ("file/encrypted.pdf", include_bytes!("../../tests/fixtures/file/encrypted.pdf")),
    ("file/gif_named.jpg", include_bytes!("../../tests/fixtures/file/gif_named.jpg")),
    ("file/jpeg_bomb.jpg", include_bytes!("../../tests/fixtures/file/jpeg_bomb.jpg")),
    ("file/png_bomb.png", include_bytes!("../../tests/fixtures/file/png_bomb.png")),
    ("file/random.jpg", include_bytes!("../../tests/fixtures/file/random.jpg")),
    ("file/truncated.jpg", include_bytes!("../../tests/fixtures/file/truncated.jpg")),
    ("file/work_certificate.jpg", include_bytes!("../../tests/fixtures/file/work_certificate.jpg")),
    ("file/work_certificate.pdf", include_bytes!("../../tests/fixtures/file/work_certificate.pdf")),
    ("photo/blue_background.jpg", include_bytes!("../../tests/fixtures/photo/blue_background.jpg")),
    ("photo/blurred.jpg", include_bytes!("../../tests/fixtures/photo/blurred.jpg")),
    ("photo/bright.jpg", include_bytes!("../../tests/fixtures/photo/bright.jpg")),
    ("photo/camera_exif6_gps.jpg", include_bytes!("../../tests/fixtures/photo/camera_exif6_gps.jpg")),
    ("photo/camera_white.jpg", include_bytes!("../../tests/fixtures/photo/camera_white.jpg")),
    ("photo/dark.jpg", include_bytes!("../../tests/fixtures/photo/dark.jpg")),
    ("photo/gradient_background.jpg", include_bytes!("../../tests/fixtures/photo/gradient_background.jpg")),
    ("photo/grayscale.jpg", include_bytes!("../../tests/fixtures/photo/grayscale.jpg")),
    ("photo/grey_background.jpg", include_bytes!("../../tests/fixtures/photo/grey_background.jpg")),
    ("photo/head_too_big_295x413.jpg", include_bytes!("../../tests/fixtures/photo/head_too_big_295x413.jpg")),
    ("photo/no_subject.jpg", include_bytes!("../../tests/fixtures/photo/no_subject.jpg")),
    ("photo/off_centre_295x413.jpg", include_bytes!("../../tests/fixtures/photo/off_centre_295x413.jpg")),
    ("photo/off_centre_camera.jpg", include_bytes!("../../tests/fixtures/photo/off_centre_camera.jpg")),
    ("photo/pattern_background.jpg", include_bytes!("../../tests/fixtures/photo/pattern_background.jpg")),
    ("photo/portrait.png", include_bytes!("../../tests/fixtures/photo/portrait.png")),
    ("photo/standard_295x413.jpg", include_bytes!("../../tests/fixtures/photo/standard_295x413.jpg")),
    ("photo/tiny_200x280.jpg", include_bytes!("../../tests/fixtures/photo/tiny_200x280.jpg")),
];

fn fixture(rel: &str) -> &'static [u8] {
    FIXTURES.iter().find(|(n, _)| *n == rel).map(|(_, b)| *b).unwrap_or_else(|| panic!("no fixture {rel}"))
}

fn blob(bytes: &[u8], name: &str) -> web_sys::Blob {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).expect("file").into()
}

async fn run(part: Part, rel: &str, profile: &str, route: Route) -> Answer {
    answer(part, &blob(fixture(rel), rel), profile, route).await.expect("answer")
}

fn part_of(kind: &str) -> Part {
    match kind {
        "photo" => Part::Photo,
        "id-front" => Part::IdFront,
        "id-back" => Part::IdBack,
        "passport-info" => Part::PassportInfo,
        "passport-validity" => Part::PassportValidity,
        "work-certificate" => Part::WorkCertificate,
        other => panic!("kind {other}"),
    }
}

fn codes(r: &intake_rules::Report) -> BTreeSet<String> {
    r.codes().iter().map(|c| c.as_str().to_owned()).collect()
}

/// Runs the whole corpus through `route` and checks the codes and the verdicts; returns how many
/// files each decoder took.
async fn corpus_through(route: Route) -> (usize, usize) {
    let expected: serde_json::Value = serde_json::from_str(EXPECTED).expect("json");
    let mut failures = Vec::new();
    let (mut frames, mut bitmaps) = (0, 0);
    for case in expected["files"].as_array().expect("files") {
        let rel = case["file"].as_str().unwrap();
        let part = part_of(case["kind"].as_str().unwrap());
        let profile = case["profile"].as_str().unwrap_or("");
        let mut want: BTreeSet<String> =
            case["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        // The widget's own module has no PDF parser, and here no PDF module is loaded (no
        // `intakePdf`, see `pdfs_go_to_the_pdf_module_and_are_never_accepted_without_it`): every PDF is
        // refused. tests/e2e/corpus.test.mjs runs the same corpus through the real worker, PDF module
        // included, and gets the expected codes.
        let pdf_refused = !attachment::READS_PDF && rel.ends_with(".pdf");
        if pdf_refused {
            want = BTreeSet::from([Code::FilePdfCheckerUnavailable.as_str().to_owned()]);
        }
        let a = run(part, rel, profile, route).await;
        match a.decoder {
            Decoder::Frame => frames += 1,
            Decoder::Bitmap => bitmaps += 1,
            Decoder::Rules => {}
        }
        let got = codes(&a.processed.before);
        if got != want {
            failures.push(format!("{rel} as {part:?} ({:?}): expected {want:?}, found {got:?}", a.decoder));
        }
        // The verdict is the rules' check of the output bytes; a passing verdict always has bytes.
        if let Some(out) = &a.processed.output {
            let server = match part {
                Part::Photo => photo::check(&out.bytes, pipeline::profile(profile)),
                Part::WorkCertificate => intake_rules::attachment::check("work_certificate", &out.bytes).report,
                p => document::check(p.document_kind().unwrap(), &out.bytes).report,
            };
            assert_eq!(server, a.processed.verdict, "{rel}");
        } else {
            assert!(!a.processed.verdict.passes(), "{rel}: a passing verdict without bytes");
        }
        if case["fix"].as_str() == Some("passes") && !pdf_refused {
            assert!(a.processed.verdict.passes(), "{rel} ({:?}): {:?}", a.decoder, a.processed.verdict);
        }
    }
    assert!(failures.is_empty(), "{} disagreement(s):\n{}", failures.len(), failures.join("\n"));
    (frames, bitmaps)
}

#[wasm_bindgen_test]
async fn the_corpus_gets_its_expected_codes_through_the_browsers_scaled_decoder() {
    let (frames, bitmaps) = corpus_through(Route::Best).await;
    // Every readable JPEG goes through ImageDecoder; PNGs through the bitmap.
    assert!(frames >= 24, "only {frames} files went through ImageDecoder ({bitmaps} through the bitmap)");
    assert!(bitmaps >= 1, "the PNG went through {bitmaps} bitmaps");
}

#[wasm_bindgen_test]
async fn the_corpus_gets_its_expected_codes_through_create_image_bitmap() {
    // What browsers without ImageDecoder (WebKit/Safari) do.
    let (frames, bitmaps) = corpus_through(Route::Bitmap).await;
    assert_eq!(frames, 0);
    assert!(bitmaps >= 25, "only {bitmaps} files went through createImageBitmap");
}

#[wasm_bindgen_test]
fn the_scaled_request_is_an_exact_eighth_step_at_or_over_the_working_size() {
    assert_eq!(scaled_request((4000, 3000), 1000), Some((1000, 750)));
    assert_eq!(scaled_request((1440, 1080), 1000), Some((1080, 810)));
    assert_eq!(scaled_request((5000, 3750), 1000), Some((1250, 938)));
    assert_eq!(scaled_request((1100, 800), 1000), None);
    assert_eq!(scaled_request((0, 0), 1000), None);
    for (w, h) in [(4000, 3000), (4032, 3024), (1440, 1080), (6000, 4000), (3001, 2999), (12000, 200)] {
        let (dw, dh) = scaled_request((w, h), 1000).expect("reducible");
        // Chromium's choice, ⌊8·desired/stored⌋, is the same eighth on both sides and reaches 1000.
        let n = 8 * dw / w;
        assert_eq!(n, 8 * dh / h, "{w}x{h}");
        assert!((w * n).div_ceil(8).max((h * n).div_ceil(8)) >= 1000, "{w}x{h}");
    }
}

/// Mean absolute difference per channel of two same-sized JPEGs, decoded by the rules.
fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    let a = decode::decode(a, &DecodeLimits::DEFAULT).expect("a").raw;
    let b = decode::decode(b, &DecodeLimits::DEFAULT).expect("b").raw;
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    sum as f64 / a.as_raw().len() as f64
}

#[wasm_bindgen_test]
async fn a_rotated_camera_photo_is_decoded_upright_and_fixed_like_the_rules_do() {
    let rel = "photo/camera_exif6_gps.jpg";
    let rules = run(Part::Photo, rel, "", Route::Rules).await;
    assert_eq!(rules.decoder, Decoder::Rules);
    let r = rules.processed.output.expect("fixed");
    for (route, decoder) in [(Route::Best, Decoder::Frame), (Route::Bitmap, Decoder::Bitmap)] {
        let browser = run(Part::Photo, rel, "", route).await;
        assert_eq!(browser.decoder, decoder);
        let b = browser.processed.output.expect("fixed");
        assert_eq!((b.width, b.height), (295, 413));
        assert!(browser.processed.verdict.passes(), "{decoder:?}: {:?}", browser.processed.verdict);
        let diff = mean_diff(&b.bytes, &r.bytes);
        // A wrong orientation or crop gives tens; two decoders and resamplers of the same picture a few.
        assert!(diff < 8.0, "{decoder:?} and rules outputs differ by {diff:.1} per channel");
        let d = decode::decode(&b.bytes, &DecodeLimits::DEFAULT).unwrap();
        assert!(!d.metadata.any(), "no metadata in the output");
    }
}

#[wasm_bindgen_test]
async fn the_warm_up_runs_the_whole_path_and_leaves_the_worker_answering_right() {
    // Its picture goes the way a chosen file goes: through ImageDecoder, then the fix and check;
    // its crop is short of pixels at the first size, so it takes the second decode as well.
    let jpeg = pipeline::warm_up_jpeg();
    let a = answer(Part::Photo, &blob(&jpeg, "warm.jpg"), "", Route::Best).await.expect("answer");
    assert_eq!((a.decoder, a.decodes), (Decoder::Frame, 2));
    assert!(a.processed.verdict.passes(), "{:?}", a.processed.verdict);
    let ms = intake_widget::imaging::worker::imaging_warm_up().await;
    assert!(ms > 0.0);
    let r = run(Part::Photo, "photo/camera_exif6_gps.jpg", "", Route::Best).await;
    assert!(r.processed.verdict.passes(), "{:?}", r.processed.verdict);
}

#[wasm_bindgen_test]
async fn a_photo_is_decoded_again_at_the_working_size_only_when_its_crop_needs_it() {
    // Both 1500×2000 upright: the first decode is 3/8 of the file (563×750 upright). The camera
    // photo's crop spans most of it; the off-centre one's does not, so it is decoded again at 1/2.
    for (rel, decodes, working) in
        [("photo/camera_exif6_gps.jpg", 1, (563, 750)), ("photo/off_centre_camera.jpg", 2, (750, 1000))]
    {
        let a = run(Part::Photo, rel, "", Route::Best).await;
        assert_eq!((a.decoder, a.decodes, a.working), (Decoder::Frame, decodes, working), "{rel}");
        let out = a.processed.output.as_ref().expect("fixed");
        assert_eq!(photo::check(&out.bytes, pipeline::profile("")), a.processed.verdict, "{rel}");
        assert!(a.processed.verdict.passes(), "{rel}: {:?}", a.processed.verdict);
        // The crop the output was rendered from had at least the rules' bar of pixels.
        assert!(!pipeline::crop_short_of_pixels(&a.processed, a.working.0, 1500, pipeline::profile("")), "{rel}");
    }
}

#[wasm_bindgen_test]
async fn hostile_files_are_refused_before_the_browser_decodes_them() {
    for (rel, code) in [
        ("file/jpeg_bomb.jpg", Code::ImageDimensionsOverLimit),
        ("file/png_bomb.png", Code::ImageDimensionsOverLimit),
        ("file/truncated.jpg", Code::ImageCorrupt),
        ("file/gif_named.jpg", Code::FileUnsupportedFormat),
        ("file/empty.jpg", Code::FileEmpty),
    ] {
        // Bombs, unsupported and empty files are refused by their first bytes and never reach
        // createImageBitmap; a truncated JPEG may be decoded by it, but its pixels are not used.
        let a = run(Part::Photo, rel, "", Route::Best).await;
        assert_eq!(a.decoder, Decoder::Rules, "{rel}: the rules decide");
        assert!(a.processed.before.has(code) && a.processed.output.is_none(), "{rel}: {:?}", a.processed.before);
        assert!(!a.previewable, "{rel}");
    }
}

#[wasm_bindgen_test]
async fn heic_the_browser_cannot_decode_explains_how_to_export_jpeg() {
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend(std::iter::repeat_n(0u8, 512));
    let a = answer(Part::Photo, &blob(&heic, "IMG_0001.HEIC"), "", Route::Best).await.expect("answer");
    assert_eq!(a.processed.before.codes(), vec![Code::FileHeicUnsupported]);
    assert!(!a.processed.verdict.passes() && a.processed.output.is_none() && !a.previewable);
    let hint = &a.processed.before.problems()[0].hint;
    assert!(hint.zh.contains("兼容性最佳") && hint.en.contains("Most Compatible"), "{hint:?}");
    // An oversized HEIC is refused by its size before the browser is asked to decode it.
    heic.resize(DecodeLimits::DEFAULT.max_file_bytes + 1, 0);
    let a = answer(Part::Photo, &blob(&heic, "IMG_0002.HEIC"), "", Route::Best).await.expect("answer");
    assert_eq!(a.processed.before.codes(), vec![Code::FileTooLarge]);
}

#[wasm_bindgen_test]
async fn pdfs_are_uploaded_as_the_rules_rewrite_and_documents_carry_their_fingerprint() {
    // A PDF is uploaded as the rules' rewrite of it (the server's own check), never as given.
    let pdf = run(Part::WorkCertificate, "file/work_certificate.pdf", "", Route::Best).await;
    if attachment::READS_PDF {
        let out = pdf.processed.output.expect("pdf rewritten");
        let given = fixture("file/work_certificate.pdf");
        let server = attachment::check("work_certificate", given).output.expect("the server accepts it");
        assert_eq!((out.media_type, out.bytes.as_slice()), ("application/pdf", server.bytes.as_slice()));
        assert_ne!(out.bytes.as_slice(), given, "written out fresh, not kept as given");
    } else {
        // The widget's own build: without the PDF module, refused (see the test below).
        assert!(pdf.processed.output.is_none());
        assert_eq!(pdf.processed.verdict.codes(), vec![Code::FilePdfCheckerUnavailable]);
    }

    let result = |part, a: Answer| {
        let out = a.processed.output.expect("document output");
        ImageResult {
            part,
            file_name: String::new(),
            before: a.processed.before,
            verdict: a.processed.verdict,
            output: Some(ImageOutput {
                bytes: out.bytes,
                media_type: out.media_type.into(),
                file_name: String::new(),
                width: out.width,
                height: out.height,
                url: String::new(),
            }),
            before_url: None,
            fingerprint: a.processed.fingerprint,
        }
    };
    let front = result(Part::IdFront, run(Part::IdFront, "document/id_front.jpg", "", Route::Best).await);
    let copy = result(Part::IdBack, run(Part::IdBack, "document/id_front_copy_resized.jpg", "", Route::Best).await);
    let back = result(Part::IdBack, run(Part::IdBack, "document/id_back.jpg", "", Route::Best).await);
    assert!(front.fingerprint.is_some() && front.verdict.passes());
    let codes = |v: Vec<intake_rules::Problem>| v.into_iter().map(|p| p.code).collect::<Vec<_>>();
    assert_eq!(codes(pair_problems(&front, &copy)), vec![Code::DocumentSameImageBothSides]);
    assert_eq!(codes(pair_problems(&front, &back)), vec![]);
    // Swapped: the emblem side chosen as the portrait side.
    let swapped_front = result(Part::IdFront, run(Part::IdFront, "document/id_back.jpg", "", Route::Best).await);
    let swapped_back = result(Part::IdBack, run(Part::IdBack, "document/id_front.jpg", "", Route::Best).await);
    assert_eq!(codes(pair_problems(&swapped_front, &swapped_back)), vec![Code::DocumentSidesSwapped]);
}

/// The main thread's side for real: `Imaging::process` posts to a module worker that loads this
/// very test module (the runner serves it as `/wasm-bindgen-test`) and answers like
/// `www/intake-worker.js`.
#[wasm_bindgen_test]
async fn imaging_process_goes_through_a_real_worker() {
    use intake_widget::imaging::Imaging;
    let origin = js_sys::eval("self.location.origin").unwrap().as_string().unwrap();
    let script = format!(
        "import init, * as w from '{origin}/wasm-bindgen-test';\n\
         const ready = init({{ module_or_path: '{origin}/wasm-bindgen-test_bg.wasm' }});\n\
         self.onmessage = async (e) => {{ await ready; const id = e.data.id;\n\
           try {{ const r = await w.imagingProcess(e.data); r.id = id; self.postMessage(r, r.output ? [r.output] : []); }}\n\
           catch (err) {{ self.postMessage({{ id, error: String(err) }}); }} }};"
    );
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/javascript");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&script));
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).unwrap();
    let url = web_sys::Url::create_object_url_with_blob(&blob).unwrap();
    let imaging = Imaging::new(&url);
    let file: web_sys::File = blob_file(fixture("photo/camera_exif6_gps.jpg"), "IMG_0001.JPG");
    let r = imaging.process(Part::Photo, file, "").await;
    assert!(r.verdict.passes(), "{:?}", r.verdict);
    assert!(r.before.has(Code::PhotoExifRotated));
    let out = r.output.as_ref().expect("output");
    assert_eq!((out.width, out.height, out.file_name.as_str()), (295, 413, "IMG_0001.jpg"));
    assert_eq!(photo::check(&out.bytes, pipeline::profile("")), r.verdict);
    assert!(r.before_url.as_deref().is_some_and(|u| u.starts_with("blob:")) && out.url.starts_with("blob:"));
    r.revoke_urls();
    let truncated = || blob_file(fixture("file/truncated.jpg"), "t.jpg");
    // A worker that stays small is kept (a fresh one is slower for its first pictures)...
    for _ in 0..3 {
        let r = imaging.process(Part::Photo, truncated(), "").await;
        assert_eq!(r.verdict.codes(), vec![Code::ImageCorrupt]);
        assert!(r.output.is_none() && r.before_url.is_none());
    }
    assert_eq!(imaging.workers_started(), 1);
    // ...one whose memory reached the bound is respawned once idle, and the next one answers right...
    imaging.set_recycling(intake_widget::imaging::RECYCLE_AFTER, 1.0);
    let r = imaging.process(Part::Photo, blob_file(fixture("photo/camera_exif6_gps.jpg"), "b.jpg"), "").await;
    assert!(r.verdict.passes(), "{:?}", r.verdict);
    assert_eq!(imaging.workers_started(), 2);
    // ...and so is one that handled the most images, whatever its memory.
    imaging.set_recycling(2, f64::INFINITY);
    for expected in [2, 3] {
        let r = imaging.process(Part::Photo, truncated(), "").await;
        assert_eq!(r.verdict.codes(), vec![Code::ImageCorrupt]);
        assert_eq!(imaging.workers_started(), expected);
    }
    let r = imaging.process(Part::Photo, blob_file(fixture("photo/camera_exif6_gps.jpg"), "c.jpg"), "").await;
    assert!(r.verdict.passes(), "{:?}", r.verdict);
    // A worker that cannot load fails the request with a code, it does not hang.
    let broken = Imaging::new(&format!("{origin}/no-such-worker.js"));
    let r = broken.process(Part::Photo, blob_file(fixture("photo/standard_295x413.jpg"), "a.jpg"), "").await;
    assert_eq!(r.verdict.codes(), vec![Code::FileProcessingFailed]);
}

fn blob_file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).expect("file")
}

/// Sets (or removes) the worker's `intakePdf`, the PDF module's entry that `www/intake-worker.js`
/// defines; `body` is the JavaScript of `(field, bytes) => …`.
fn pdf_hook(body: Option<&str>) {
    let f =
        body.map_or(wasm_bindgen::JsValue::UNDEFINED, |b| js_sys::Function::new_with_args("field, bytes", b).into());
    js_sys::Reflect::set(&js_sys::global(), &"intakePdf".into(), &f).expect("set intakePdf");
}

#[wasm_bindgen_test]
async fn pdfs_go_to_the_pdf_module_and_are_never_accepted_without_it() {
    if attachment::READS_PDF {
        return; // A build with the parser (features unified with another crate): nothing is routed.
    }
    let given = fixture("file/work_certificate.pdf");
    let refused = |a: &Answer| {
        a.processed.output.is_none() && a.processed.verdict.codes() == vec![Code::FilePdfCheckerUnavailable]
    };
    // No PDF module, one that fails to load, one that answers nonsense or another media type: refused.
    let ok = serde_json::to_string(&intake_rules::Report::new()).unwrap();
    for hook in [
        None,
        Some("return Promise.reject(new Error('offline'))".to_owned()),
        Some("return Promise.resolve(42)".to_owned()),
        Some(format!(
            "return {{before: '{ok}', verdict: '{ok}', output: bytes.slice().buffer, mediaType: 'image/jpeg'}}"
        )),
    ] {
        pdf_hook(hook.as_deref());
        let a = run(Part::WorkCertificate, "file/work_certificate.pdf", "", Route::Best).await;
        assert!(refused(&a), "{hook:?}: {:?}", a.processed);
    }
    // The PDF module's answer is what the worker replies: its reports and its bytes (here an echo of
    // what it was given, with the field name), a PDF for an attachment only.
    pdf_hook(Some(&format!(
        "self.pdfField = field; return Promise.resolve({{before: '{ok}', verdict: '{ok}', output: bytes.slice().buffer, mediaType: 'application/pdf'}})"
    )));
    let a = run(Part::Supporting, "file/work_certificate.pdf", "", Route::Best).await;
    let out = a.processed.output.as_ref().expect("the module's output");
    assert_eq!((out.media_type, out.bytes.as_slice()), ("application/pdf", given));
    assert!(a.processed.verdict.passes() && !a.previewable);
    let field = js_sys::Reflect::get(&js_sys::global(), &"pdfField".into()).unwrap().as_string();
    assert_eq!(field.as_deref(), Some("supporting"));
    // A module that accepts without bytes does not pass; a photo that is a PDF never reaches it.
    pdf_hook(Some(&format!("return {{before: '{ok}', verdict: '{ok}', output: null}}")));
    let a = run(Part::WorkCertificate, "file/work_certificate.pdf", "", Route::Best).await;
    assert_eq!(a.processed.verdict.codes(), vec![Code::FileProcessingFailed]);
    let a = run(Part::Photo, "file/work_certificate.pdf", "", Route::Best).await;
    assert!(a.processed.output.is_none() && !a.processed.verdict.passes());
    assert!(!a.processed.verdict.has(Code::FilePdfCheckerUnavailable), "{:?}", a.processed.verdict);
    pdf_hook(None);
}
