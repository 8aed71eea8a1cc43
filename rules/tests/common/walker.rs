//! An independent JPEG marker walker for tests (not the sanitizer's code): what every image
//! output of Intake must be. Shared by `rules/tests/hostile_corpus.rs` and, by path, by the
//! backend's `tests/hostile_api.rs` and `tests/hostile_cli.rs`.
#![allow(dead_code, unreachable_pub)]

/// A certificate-number-like string hidden in the corpus' EXIF blocks and COM: no output may contain it.
pub const SECRET: &[u8] = b"110101199003078515";
/// A GPS marker text hidden next to it.
pub const GPS_MARKER: &[u8] = b"GPS-HOME-39.9042N-116.4074E";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The independent walker: Ok when `b` is one clean JPEG image.
pub fn clean_jpeg(b: &[u8]) -> Result<(), String> {
    walk(b, false)
}

/// [`clean_jpeg`] for a JPEG inside a PDF (a `/DCTDecode` stream, whose colour space the PDF
/// gives): also one bare Adobe APP14 header (12 bytes: how to read the components) and four
/// components (CMYK, YCCK) are allowed.
pub fn clean_embedded_jpeg(b: &[u8]) -> Result<(), String> {
    walk(b, true)
}

#[allow(
    clippy::disallowed_methods,
    reason = "the `image` crate's own decoder as an independent oracle of the rules' output"
)]
fn walk(b: &[u8], embedded: bool) -> Result<(), String> {
    let mut adobe = 0;
    if b.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err("no SOI".into());
    }
    let (mut i, mut jfif, mut frames, mut scans) = (2usize, 0, 0, 0);
    loop {
        if b.get(i) != Some(&0xFF) {
            return Err(format!("no marker at {i}"));
        }
        while b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let m = *b.get(i + 1).ok_or("ends in a marker")?;
        i += 2;
        if m == 0xD9 {
            if i != b.len() {
                return Err(format!("{} bytes after EOI", b.len() - i));
            }
            if frames != 1 || scans == 0 {
                return Err(format!("{frames} frames, {scans} scans"));
            }
            break;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i).ok_or("short")?, *b.get(i + 1).ok_or("short")?]));
        let seg = b.get(i + 2..i + len).ok_or("segment past the end")?;
        match m {
            0xE0 if seg.starts_with(b"JFIF\0") && jfif == 0 => jfif += 1,
            0xEE if embedded && seg.len() == 12 && seg.starts_with(b"Adobe") && adobe == 0 => adobe += 1,
            0xE0..=0xEF => return Err(format!("APP{}", m - 0xE0)),
            0xFE => return Err("COM".into()),
            0xF0..=0xFD => return Err(format!("JPG{}", m - 0xF0)),
            0xC0..=0xC2 => {
                frames += 1;
                if seg[0] != 8 || !(matches!(seg[5], 1 | 3) || embedded && seg[5] == 4) {
                    return Err(format!("frame: precision {}, {} components", seg[0], seg[5]));
                }
            }
            0xC4 | 0xDB | 0xDD => {}
            0xDA => scans += 1,
            other => return Err(format!("marker FF{other:02X}")),
        }
        i += len;
        if m == 0xDA {
            // Entropy-coded data: FF00 stuffing and RSTn belong to it.
            loop {
                let at = i + b[i..].iter().position(|&x| x == 0xFF).ok_or("scan without an end")?;
                match b.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i = at + 2,
                    _ => {
                        i = at;
                        break;
                    }
                }
            }
        }
    }
    if contains(b, SECRET) || contains(b, GPS_MARKER) {
        return Err("a hidden string survived".into());
    }
    let img = image::load_from_memory(b).map_err(|e| format!("does not decode: {e}"))?;
    if !embedded && img.color().channel_count() != 3 && img.color().channel_count() != 1 {
        return Err("not RGB or grey".into());
    }
    Ok(())
}
