//! Hand-written PDFs for the PDF tests and bench (correct offsets; objects numbered from 1).
#![allow(dead_code)]

/// A PDF of `objects` (bodies, numbered from 1) with a classic xref table and `trailer` (dict body).
pub(crate) fn build(objects: &[Vec<u8>], trailer: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let at = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<<{trailer}>>\nstartxref\n{at}\n%%EOF\n").as_bytes());
    out
}

/// A stream object body.
pub(crate) fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<<{dict}/Length {}>>stream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// A catalog (1), a page tree (2) and one page (3) whose content is object 4 (`content`),
/// then `more` (5, 6, …); `catalog_extra` goes into the catalog.
pub(crate) fn one_page(catalog_extra: &str, content: Vec<u8>, more: Vec<Vec<u8>>) -> Vec<u8> {
    let mut objects = vec![
        format!("<</Type/Catalog/Pages 2 0 R{catalog_extra}>>").into_bytes(),
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>".to_vec(),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>".to_vec(),
        content,
    ];
    objects.extend(more);
    build(&objects, &format!("/Size {}/Root 1 0 R", objects.len() + 1))
}

/// A multi-page PDF of about `target` bytes: `pages` pages, each with an incompressible
/// (uncompressed) content stream of drawing operators, as a scanner-less office export would be.
pub(crate) fn multi_page(pages: usize, target: usize) -> Vec<u8> {
    let per_page = target / pages.max(1);
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    let mut objects = vec![
        b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
        format!("<</Type/Pages/Kids[{}]/Count {pages}>>", kids.join(" ")).into_bytes(),
    ];
    let mut seed = 0x2545_F491u32;
    for i in 0..pages {
        objects
            .push(format!("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents {} 0 R>>", 4 + 2 * i).into_bytes());
        let mut content = Vec::with_capacity(per_page);
        while content.len() + 40 < per_page {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            content.extend_from_slice(
                format!("{} {} {} {} re f\n", seed % 595, (seed >> 10) % 842, seed % 97, seed % 89).as_bytes(),
            );
        }
        objects.push(stream("", &content));
    }
    build(&objects, &format!("/Size {}/Root 1 0 R", objects.len() + 1))
}
