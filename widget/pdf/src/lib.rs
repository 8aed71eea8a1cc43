//! # intake-pdf
//!
//! The widget's PDF check, loaded by the image worker (`www/intake-worker.js`) only when a PDF
//! is chosen: the widget's first load is built without the rules' PDF parser (the `pdf` feature
//! of `intake-rules`), and this module is those same rules built with it. It runs exactly what
//! the server runs on an attachment, [`intake_rules::attachment::check`], then the same check on
//! the bytes it would store (the rewrite), which is the verdict the page shows.

use intake_rules::attachment::{self, Attachment};
use intake_rules::report::Report;
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

/// What the worker gets for one PDF.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Problems of the file as chosen.
    pub before: Report,
    /// The server's check of `output` (of the file as chosen when there is no output).
    pub verdict: Report,
    /// What is uploaded: the rules' rewrite.
    pub output: Option<Attachment>,
}

/// The server's attachment check of `bytes` under `field`, and of what it would store.
pub fn check(field: &str, bytes: &[u8]) -> Checked {
    let outcome = attachment::check(field, bytes);
    match outcome.output {
        Some(a) => {
            Checked { verdict: attachment::check(field, &a.bytes).report, before: outcome.report, output: Some(a) }
        }
        None => Checked { verdict: outcome.report.clone(), before: outcome.report, output: None },
    }
}

/// Called by the worker: `{before, verdict, output, mediaType}` (reports as the JSON the worker
/// replies with; `output` an `ArrayBuffer` or null).
#[wasm_bindgen(js_name = checkAttachment)]
pub fn check_attachment(field: &str, bytes: &[u8]) -> Result<JsValue, JsValue> {
    let c = check(field, bytes);
    let json = |r: &Report| serde_json::to_string(r).map(JsValue::from).map_err(|e| JsValue::from_str(&e.to_string()));
    let o = Object::new();
    Reflect::set(&o, &"before".into(), &json(&c.before)?)?;
    Reflect::set(&o, &"verdict".into(), &json(&c.verdict)?)?;
    match &c.output {
        Some(a) => {
            Reflect::set(&o, &"output".into(), &Uint8Array::from(a.bytes.as_slice()).buffer())?;
            Reflect::set(&o, &"mediaType".into(), &a.media_type.into())?;
        }
        None => {
            Reflect::set(&o, &"output".into(), &JsValue::NULL)?;
        }
    }
    Ok(o.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use intake_rules::Code;

    const CERTIFICATE: &[u8] = include_bytes!("../../../tests/fixtures/file/work_certificate.pdf");

    #[test]
    fn this_module_reads_pdfs_with_the_servers_check() {
        assert!(attachment::READS_PDF && !attachment::needs_pdf_module(CERTIFICATE));
        let c = check("work_certificate", CERTIFICATE);
        let server = attachment::check("work_certificate", CERTIFICATE);
        let out = c.output.expect("accepted");
        assert_eq!(Some(&out), server.output.as_ref());
        assert_eq!(out.media_type, "application/pdf");
        assert_ne!(out.bytes, CERTIFICATE, "the rewrite, not the file as given");
        assert!(c.before.passes() && c.verdict.passes());
        assert_eq!(c.verdict, attachment::check("work_certificate", &out.bytes).report);

        let enc = include_bytes!("../../../tests/fixtures/file/encrypted.pdf");
        let c = check("work_certificate", enc);
        assert!(c.output.is_none());
        assert_eq!((c.before.codes(), c.verdict.codes()), (vec![Code::FilePdfEncrypted], vec![Code::FilePdfEncrypted]));
        let stub = check("supporting", b"%PDF-1.7 %%EOF");
        assert_eq!(stub.verdict.codes(), vec![Code::FilePdfInvalid]);
    }
}
