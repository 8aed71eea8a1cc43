//! The one JPEG sanitizer: a full marker-segment parse of a JPEG (every
//! segment, the entropy-coded data of every scan with its RSTn markers, `FF00`
//! stuffing and fill bytes, up to EOI and beyond it), and a lossless rebuild of
//! the file from nothing but what decoding needs.
//!
//! Architecture Invariant: no image byte reaches the platform that the rules
//! did not write or re-validate. Every stored picture is either written by the
//! rules' encoder ([`crate::jpeg::encode`]) or rebuilt by [`rebuild`] from
//! SOI, a JFIF APP0 header written here, the tables (DQT/DHT/DRI, each checked
//! to hold exactly its tables), the frame (SOF0/SOF1/SOF2, 8-bit, one or three
//! YCbCr components), each scan with its entropy-coded data, and EOI. No other
//! APPn (EXIF, XMP, ICC, Adobe, JFXX, ...), no COM, no JPGn, nothing after
//! EOI, one image only.
//!
//! ICC profiles are dropped, never kept: a profile is an arbitrary-data channel
//! of up to megabytes, and the pictures Intake collects (an ID card, a
//! certificate, a head-and-shoulders photo) are judged for legibility, not
//! colour accuracy; an untagged JPEG is read as sRGB by every viewer, so a
//! wide-gamut (Display P3) phone picture loses a little saturation, nothing
//! else. CMYK, YCCK, Adobe-transformed and RGB-coded JPEGs are not rebuilt:
//! [`Audit::verdict`] says [`Verdict::Reencode`] and the checks re-encode their
//! decoded pixels to an sRGB baseline JPEG (or, for the photo as given, report a
//! fixable error).
//!
//! [`audit`] is the same parse, reported as counts: what the platform sandbox
//! records about what it receives, and what tests assert outputs are clean by.

/// Most images [`audit`] follows in one file (a file with more is still one
/// image plus trailing bytes as far as a rebuild is concerned).
const MAX_IMAGES: usize = 16;
/// Most scans a frame may have: a progressive JPEG has about ten; thousands of
/// tiny scans only cost decode time.
pub const MAX_SCANS: usize = 256;

/// What a JPEG's structure allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rebuildable losslessly by [`rebuild`].
    Clean,
    /// Decodable, but only its decoded pixels may leave (re-encode): CMYK, YCCK,
    /// an Adobe colour transform, RGB-coded components.
    Reencode(&'static str),
    /// A JPEG encoding Intake does not decode (12-bit, lossless, hierarchical,
    /// arithmetic coding): `image.unsupported_encoding`.
    Unsupported(&'static str),
    /// The segment structure is broken or carries segments a decoder must not
    /// see (bad lengths, unknown markers, JPGn): `image.malformed_segments`.
    Malformed(&'static str),
    /// The file ends before EOI: `image.corrupt`.
    Truncated,
}

/// The frame header (SOFn) of the first image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The SOF marker's second byte (`0xC0` baseline, `0xC1` extended, `0xC2` progressive, ...).
    pub marker: u8,
    /// Sample precision in bits.
    pub precision: u8,
    /// Declared width.
    pub width: u16,
    /// Declared height.
    pub height: u16,
    /// Component identifiers, in order.
    pub components: Vec<u8>,
}

/// Everything a full parse of a JPEG finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// SOI..EOI images found one after the other (the second and later ones are
    /// followed, up to 16).
    pub images: usize,
    /// The first image has a JFIF APP0 header.
    pub jfif: bool,
    /// APPn segments other than a JFIF APP0, in every image followed.
    pub app_segments: usize,
    /// COM segments.
    pub com: usize,
    /// JPGn (`FF F0`–`FF FD`) segments.
    pub jpgn: usize,
    /// Reserved or unknown markers.
    pub unknown_markers: usize,
    /// Bytes after the last EOI that are not another image.
    pub trailing_bytes: usize,
    /// An EXIF APP1 anywhere (also an `Exif\0\0` block in trailing bytes).
    pub has_exif: bool,
    /// An EXIF block with a GPS IFD.
    pub has_gps: bool,
    /// XMP (APP1) or IPTC (APP13).
    pub has_xmp: bool,
    /// Bytes of ICC profile (APP2 `ICC_PROFILE`) segments.
    pub icc_bytes: usize,
    /// An Adobe APP14 segment.
    pub adobe: bool,
    /// The first image's Adobe colour transform (0 none or CMYK, 1 YCbCr, 2 YCCK), when it has
    /// a well-formed APP14.
    pub adobe_transform: Option<u8>,
    /// The first image's frame.
    pub frame: Option<Frame>,
    /// Scans in the first image.
    pub scans: usize,
    /// What the first image's structure allows.
    pub verdict: Verdict,
    /// The byte ranges of the first image that [`rebuild`] keeps, in order.
    kept: Vec<(usize, usize)>,
}

impl Audit {
    /// The length of [`rebuild`]'s output, when the verdict allows one.
    pub fn rebuilt_len(&self) -> Option<usize> {
        (self.verdict == Verdict::Clean && !self.kept.is_empty())
            .then(|| 2 + JFIF_APP0.len() + self.kept.iter().map(|(s, e)| e - s).sum::<usize>() + 2)
    }

    /// True when the file holds nothing but what decoding needs, in one image
    /// (what every output of the rules must satisfy; a JFIF APP0 is allowed).
    pub fn is_clean(&self) -> bool {
        self.images == 1
            && self.app_segments == 0
            && self.com == 0
            && self.jpgn == 0
            && self.unknown_markers == 0
            && self.trailing_bytes == 0
            && self.verdict == Verdict::Clean
    }
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?])))
}

/// Parses the whole file. Never panics, allocates only its small result.
pub fn audit(bytes: &[u8]) -> Audit {
    let mut a = Audit {
        images: 0,
        jfif: false,
        app_segments: 0,
        com: 0,
        jpgn: 0,
        unknown_markers: 0,
        trailing_bytes: 0,
        has_exif: false,
        has_gps: false,
        has_xmp: false,
        icc_bytes: 0,
        adobe: false,
        adobe_transform: None,
        frame: None,
        scans: 0,
        verdict: Verdict::Malformed("not a JPEG"),
        kept: Vec::new(),
    };
    if bytes.get(0..2) != Some(&[0xFF, 0xD8]) {
        a.trailing_bytes = bytes.len();
        return a;
    }
    let mut start = 0;
    loop {
        let first = a.images == 0;
        a.images += 1;
        let (verdict, end) = parse_image(bytes, start, &mut a, first);
        if first {
            a.verdict = verdict;
        }
        let Some(end) = end else { return a };
        let rest = &bytes[end..];
        if rest.is_empty() {
            return a;
        }
        if rest.starts_with(&[0xFF, 0xD8]) && a.images < MAX_IMAGES {
            start = end;
            continue;
        }
        a.trailing_bytes = rest.len();
        if let Some(at) = find(rest, b"Exif\0\0") {
            a.has_exif = true;
            a.has_gps |= crate::decode::has_gps_ifd(&rest[at + 6..]);
        }
        return a;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One image from its SOI at `start`: the verdict and where it ended (after
/// EOI), or None when the structure cannot be followed to an EOI.
fn parse_image(b: &[u8], start: usize, a: &mut Audit, first: bool) -> (Verdict, Option<usize>) {
    let mut i = start + 2;
    let mut soft: Option<Verdict> = None;
    let mut frame_seen = false;
    let mut scans = 0usize;
    let mut kept = Vec::new();
    let hard = |v: Verdict| (v, None);
    loop {
        if i >= b.len() {
            return hard(Verdict::Truncated);
        }
        if b[i] != 0xFF {
            return hard(Verdict::Malformed("no marker where a segment should start"));
        }
        // Fill bytes before a marker.
        while b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = b.get(i + 1) else { return hard(Verdict::Truncated) };
        let seg = i;
        i += 2;
        match marker {
            0xD9 => {
                if !frame_seen || scans == 0 {
                    return (Verdict::Malformed("an image without a frame or a scan"), Some(i));
                }
                if first {
                    a.kept = kept;
                    a.scans = scans;
                }
                return (soft.unwrap_or(Verdict::Clean), Some(i));
            }
            0xD8 => return hard(Verdict::Malformed("a second SOI inside the image")),
            0x00 | 0x01 | 0xD0..=0xD7 => return hard(Verdict::Malformed("a stand-alone marker outside a scan")),
            _ => {}
        }
        let Some(len) = be16(b, i) else { return hard(Verdict::Truncated) };
        if len < 2 {
            return hard(Verdict::Malformed("a segment length below 2"));
        }
        let end = i + len;
        if end > b.len() {
            return hard(Verdict::Truncated);
        }
        let payload = &b[i + 2..end];
        i = end;
        match marker {
            0xC0..=0xC2 => {
                if frame_seen {
                    return hard(Verdict::Malformed("a second frame header"));
                }
                frame_seen = true;
                let Some(frame) = parse_frame(marker, payload) else {
                    return hard(Verdict::Malformed("a frame header whose length does not match its components"));
                };
                if frame.precision != 8 {
                    return hard(Verdict::Unsupported("12-bit samples"));
                }
                if frame.width == 0 || frame.height == 0 {
                    return hard(Verdict::Unsupported("height defined by a DNL marker"));
                }
                if first {
                    let n = frame.components.len();
                    let reencode = match n {
                        1 => None,
                        3 if frame.components == [b'R', b'G', b'B'] => Some("RGB components"),
                        3 => None,
                        4 => Some("CMYK or YCCK"),
                        _ => return hard(Verdict::Malformed("an unusual number of components")),
                    };
                    if let Some(r) = reencode {
                        soft.get_or_insert(Verdict::Reencode(r));
                    }
                    a.frame = Some(frame);
                }
                kept.push((seg, end));
            }
            0xC3 => return hard(Verdict::Unsupported("lossless")),
            0xC5..=0xC7 | 0xDE | 0xDF => return hard(Verdict::Unsupported("hierarchical")),
            0xC9..=0xCF => return hard(Verdict::Unsupported("arithmetic coding")),
            0xDC => return hard(Verdict::Unsupported("height defined by a DNL marker")),
            0xC4 => {
                if !dht_is_exact(payload) {
                    return hard(Verdict::Malformed("a Huffman table segment that does not hold exactly its tables"));
                }
                kept.push((seg, end));
            }
            0xDB => {
                if !dqt_is_exact(payload) {
                    return hard(Verdict::Malformed(
                        "a quantisation table segment that does not hold exactly its tables",
                    ));
                }
                kept.push((seg, end));
            }
            0xDD => {
                if payload.len() != 2 {
                    return hard(Verdict::Malformed("a restart interval segment of the wrong length"));
                }
                kept.push((seg, end));
            }
            0xDA => {
                if !frame_seen {
                    return hard(Verdict::Malformed("a scan before the frame header"));
                }
                let ns = usize::from(payload.first().copied().unwrap_or(0));
                if ns == 0 || ns > 4 || payload.len() != 1 + 2 * ns + 3 {
                    return hard(Verdict::Malformed("a scan header whose length does not match its components"));
                }
                scans += 1;
                if scans > MAX_SCANS {
                    return hard(Verdict::Malformed("too many scans"));
                }
                match entropy_end(b, i) {
                    Some(e) => {
                        kept.push((seg, e));
                        i = e;
                    }
                    None => return hard(Verdict::Truncated),
                }
            }
            0xE0..=0xEF => {
                let is_jfif = marker == 0xE0 && payload.starts_with(b"JFIF\0");
                if is_jfif && first && !a.jfif {
                    a.jfif = true;
                } else {
                    a.app_segments += 1;
                }
                match marker {
                    0xE1 if payload.starts_with(b"Exif\0\0") => {
                        a.has_exif = true;
                        a.has_gps |= crate::decode::has_gps_ifd(&payload[6..]);
                    }
                    0xE1 if payload.starts_with(b"http://ns.adobe.com/") => a.has_xmp = true,
                    0xED => a.has_xmp = true,
                    0xE2 if payload.starts_with(b"ICC_PROFILE\0") => a.icc_bytes += payload.len(),
                    0xEE if payload.starts_with(b"Adobe") => {
                        a.adobe = true;
                        if first && payload.len() >= 12 {
                            a.adobe_transform.get_or_insert(payload[11]);
                        }
                        soft.get_or_insert(Verdict::Reencode("an Adobe colour transform"));
                    }
                    _ => {}
                }
            }
            0xFE => a.com += 1,
            0xF0..=0xFD => {
                a.jpgn += 1;
                soft = Some(Verdict::Malformed("a JPEG extension (JPGn) segment"));
            }
            _ => {
                a.unknown_markers += 1;
                soft = Some(Verdict::Malformed("an unknown marker"));
            }
        }
    }
}

/// Where the entropy-coded data that starts at `i` ends: the first byte of the
/// next marker (not `FF00` stuffing, not RSTn), fill bytes before it excluded.
fn entropy_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let at = i + b.get(i..)?.iter().position(|&x| x == 0xFF)?;
        let mut j = at + 1;
        while b.get(j) == Some(&0xFF) {
            j += 1;
        }
        match *b.get(j)? {
            0x00 | 0xD0..=0xD7 if j == at + 1 => i = j + 1,
            _ => return Some(at),
        }
    }
}

fn parse_frame(marker: u8, p: &[u8]) -> Option<Frame> {
    let precision = *p.first()?;
    let height = u16::try_from(be16(p, 1)?).ok()?;
    let width = u16::try_from(be16(p, 3)?).ok()?;
    let n = usize::from(*p.get(5)?);
    if p.len() != 6 + 3 * n || n == 0 {
        return None;
    }
    let components = (0..n).map(|c| p[6 + 3 * c]).collect();
    Some(Frame { marker, precision, width, height, components })
}

fn dqt_is_exact(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while let Some(&pq_tq) = p.first() {
        let size = if pq_tq >> 4 == 0 { 64 } else { 128 };
        if pq_tq >> 4 > 1 || pq_tq & 0x0F > 3 || p.len() < 1 + size {
            return false;
        }
        p = &p[1 + size..];
    }
    true
}

fn dht_is_exact(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while let Some(&tc_th) = p.first() {
        if tc_th >> 4 > 1 || tc_th & 0x0F > 3 || p.len() < 17 {
            return false;
        }
        let count: usize = p[1..17].iter().map(|&c| usize::from(c)).sum();
        if count > 256 || p.len() < 17 + count {
            return false;
        }
        p = &p[17 + count..];
    }
    true
}

/// The JFIF APP0 header every rebuilt file carries: version 1.01, no density
/// unit, 1:1 aspect, no thumbnail.
pub const JFIF_APP0: [u8; 18] =
    [0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];

/// The file rebuilt from its first image's decoding segments only, when its
/// [`Audit::verdict`] is [`Verdict::Clean`]; None otherwise (re-encode or refuse).
pub fn rebuild(bytes: &[u8]) -> Option<Vec<u8>> {
    rebuild_audited(bytes, &audit(bytes))
}

/// [`rebuild`] with the audit already made of `bytes`.
pub fn rebuild_audited(bytes: &[u8], a: &Audit) -> Option<Vec<u8>> {
    if a.verdict != Verdict::Clean || a.kept.is_empty() {
        return None;
    }
    assemble(bytes, a, &[&JFIF_APP0])
}

/// SOI, the `headers` written by the rules, the audited decoding segments of `bytes`, EOI.
fn assemble(bytes: &[u8], a: &Audit, headers: &[&[u8]]) -> Option<Vec<u8>> {
    let body: usize = a.kept.iter().map(|(s, e)| e - s).sum();
    let head: usize = headers.iter().map(|h| h.len()).sum();
    let mut out = Vec::with_capacity(2 + head + body + 2);
    out.extend_from_slice(&[0xFF, 0xD8]);
    for h in headers {
        out.extend_from_slice(h);
    }
    for &(s, e) in &a.kept {
        out.extend_from_slice(bytes.get(s..e)?);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
}

/// A JPEG inside a PDF (a `/DCTDecode` image stream), rebuilt like [`rebuild`] for a reader
/// that takes the colour space from the PDF: 1, 3 or 4 components (CMYK and YCCK included, as
/// PDFs carry them). The JFIF and Adobe headers decide how a decoder reads the components, so
/// each is written fresh here when the source had one (JFIF bare, Adobe with its colour transform
/// only): the pixels read the same, and no byte of the source's headers survives. None when the
/// structure does not allow a rebuild (unsupported encodings, malformed segments, truncation).
pub fn rebuild_embedded(bytes: &[u8]) -> Option<Vec<u8>> {
    let a = audit(bytes);
    if !matches!(a.verdict, Verdict::Clean | Verdict::Reencode(_)) || a.kept.is_empty() {
        return None;
    }
    // "Adobe", version 100, no flags, the transform.
    let adobe =
        a.adobe_transform.map(|t| [0xFF, 0xEE, 0x00, 0x0E, b'A', b'd', b'o', b'b', b'e', 0x00, 0x64, 0, 0, 0, 0, t]);
    let mut headers: Vec<&[u8]> = Vec::with_capacity(2);
    if a.jfif {
        headers.push(&JFIF_APP0);
    }
    if let Some(adobe) = &adobe {
        headers.push(adobe);
    }
    assemble(bytes, &a, &headers)
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    fn plain() -> Vec<u8> {
        crate::jpeg::encode(&RgbImage::from_fn(24, 16, |x, y| Rgb([x as u8 * 9, y as u8 * 13, 90])), 90)
    }

    #[test]
    fn the_encoders_output_is_clean_and_rebuilds_to_itself_modulo_jfif() {
        let p = plain();
        let a = audit(&p);
        assert!(a.is_clean(), "{a:?}");
        assert_eq!(a.frame.as_ref().map(|f| (f.marker, f.width, f.height)), Some((0xC0, 24, 16)));
        let r = rebuild(&p).expect("clean");
        assert!(audit(&r).is_clean());
        assert_eq!(rebuild(&r).as_deref(), Some(&r[..]), "a rebuild is a fixed point");
    }

    #[test]
    fn metadata_trailing_data_and_extensions_are_counted_and_never_rebuilt() {
        let p = plain();
        let mut meta = p[..2].to_vec();
        meta.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x0A]);
        meta.extend_from_slice(b"Exif\0\0ab");
        meta.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x05, b'h', b'i', b'!']);
        meta.extend_from_slice(&p[2..]);
        meta.extend_from_slice(b"PK\x03\x04 trailing zip");
        let a = audit(&meta);
        assert!(a.has_exif && a.com == 1 && a.app_segments == 1 && a.trailing_bytes == 17, "{a:?}");
        assert!(!a.is_clean());
        let r = rebuild(&meta).expect("rebuildable");
        assert!(audit(&r).is_clean());
        assert_eq!(rebuild(&p), Some(r));

        let mut jpgn = p.clone();
        jpgn.splice(2..2, [0xFF, 0xF5, 0x00, 0x04, 1, 2]);
        assert_eq!(audit(&jpgn).verdict, Verdict::Malformed("a JPEG extension (JPGn) segment"));
        assert_eq!(rebuild(&jpgn), None);

        let mut twelve = p.clone();
        let sof = twelve.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        twelve[sof + 4] = 12;
        assert_eq!(audit(&twelve).verdict, Verdict::Unsupported("12-bit samples"));
        twelve[sof + 4] = 8;
        twelve[sof + 1] = 0xC9;
        assert_eq!(audit(&twelve).verdict, Verdict::Unsupported("arithmetic coding"));
        assert_eq!(audit(&p[..p.len() - 2]).verdict, Verdict::Truncated);
        assert_eq!(audit(b"nope").verdict, Verdict::Malformed("not a JPEG"));
        assert_eq!(audit(b"\xFF\xD8\xFF\xE1\x00\x01").verdict, Verdict::Malformed("a segment length below 2"));
    }

    #[test]
    fn entropy_data_keeps_stuffing_and_restarts_and_ends_at_the_marker() {
        let b = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF, 0xD9];
        assert_eq!(entropy_end(&b, 0), Some(7));
        assert_eq!(entropy_end(&b[..6], 0), None);
    }

    #[test]
    #[allow(clippy::disallowed_methods, reason = "the `image` crate's own decoder as an independent oracle")]
    fn embedded_jpegs_keep_their_colour_headers_fresh_and_nothing_else() {
        for (name, bytes) in [
            ("cmyk", &include_bytes!("../../tests/fixtures/hostile/images/cmyk.jpg")[..]),
            ("ycck", &include_bytes!("../../tests/fixtures/hostile/images/ycck.jpg")[..]),
            ("gps", &include_bytes!("../../tests/fixtures/hostile/images/gps_between_scans.jpg")[..]),
        ] {
            let r = rebuild_embedded(bytes).expect(name);
            let (before, after) = (audit(bytes), audit(&r));
            assert_eq!(after.adobe_transform, before.adobe_transform, "{name}");
            assert!(!after.has_exif && after.com == 0 && after.trailing_bytes == 0 && after.images == 1, "{name}");
            assert_eq!(after.app_segments, usize::from(before.adobe_transform.is_some()), "{name}: only Adobe");
            assert_eq!(rebuild_embedded(&r).as_deref(), Some(&r[..]), "{name}: a fixed point");
            // The same pixels, by the image crate's decoder.
            let px = |b: &[u8]| image::load_from_memory(b).map(|i| i.to_rgb8().into_raw()).expect("decodes");
            assert!(px(bytes) == px(&r), "{name}: the pixels changed");
        }
        let jpgn = include_bytes!("../../tests/fixtures/hostile/images/jpgn_segments.jpg");
        assert_eq!(rebuild_embedded(jpgn), None);
    }
}
