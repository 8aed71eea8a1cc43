//! The one bounded decoder. This module is the only code in Intake that
//! touches the `image` crate's decoders (Architecture Invariant): formats are
//! recognised by content, never by file name; dimensions and allocations are
//! checked against explicit limits before any pixel buffer is allocated; the
//! EXIF orientation is read so every check sees the picture upright.
//! `clippy.toml` refuses the decoders' entry points everywhere else.
#![allow(
    clippy::disallowed_methods,
    reason = "the one module that calls the image crate's decoders, each behind the limits of DecodeLimits"
)]

use std::borrow::Cow;
use std::io::Cursor;

#[cfg(any(feature = "png", test))]
use image::DynamicImage;
pub use image::metadata::Orientation;
use image::{ImageDecoder, ImageFormat, Limits, RgbImage};

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 PNG`).
    Png,
    /// PDF (`%PDF-`).
    Pdf,
    /// GIF.
    Gif,
    /// WebP (`RIFF....WEBP`).
    Webp,
    /// HEIC / HEIF / AVIF (ISO-BMFF `ftyp`).
    Heif,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
    /// Nothing we recognise.
    Unknown,
}

impl Sniffed {
    /// A short human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Sniffed::Jpeg => "JPEG",
            Sniffed::Png => "PNG",
            Sniffed::Pdf => "PDF",
            Sniffed::Gif => "GIF",
            Sniffed::Webp => "WebP",
            Sniffed::Heif => "HEIC/HEIF",
            Sniffed::Bmp => "BMP",
            Sniffed::Tiff => "TIFF",
            Sniffed::Unknown => "unknown",
        }
    }

    /// The media type stored and forwarded for this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Sniffed::Jpeg => "image/jpeg",
            Sniffed::Png => "image/png",
            Sniffed::Pdf => "application/pdf",
            Sniffed::Gif => "image/gif",
            Sniffed::Webp => "image/webp",
            Sniffed::Heif => "image/heic",
            Sniffed::Bmp => "image/bmp",
            Sniffed::Tiff => "image/tiff",
            Sniffed::Unknown => "application/octet-stream",
        }
    }
}

/// Recognises a file by its magic bytes.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Jpeg,
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Sniffed::Png,
        [b'%', b'P', b'D', b'F', b'-', ..] => Sniffed::Pdf,
        [b'G', b'I', b'F', b'8', ..] => Sniffed::Gif,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Sniffed::Webp,
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Sniffed::Heif,
        [b'B', b'M', ..] => Sniffed::Bmp,
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Sniffed::Tiff,
        _ => Sniffed::Unknown,
    }
}

/// Explicit decoding limits. A file over any of them is refused before the
/// pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Largest accepted width or height, in pixels.
    pub max_side: u32,
    /// Largest accepted pixel count.
    pub max_pixels: u64,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

impl DecodeLimits {
    /// Phone cameras reach 50 MP (8160×6144); anything over that is refused.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_file_bytes: 20 * 1024 * 1024,
        max_side: 12_000,
        max_pixels: 50_000_000,
        max_alloc: 256 * 1024 * 1024,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// Why a file could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Zero bytes.
    Empty,
    /// More bytes than [`DecodeLimits::max_file_bytes`].
    TooLarge {
        /// The file's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JPEG or PNG, by content.
    Unsupported(Sniffed),
    /// The header declares more pixels than the limits allow.
    DimensionsOverLimit {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The largest side accepted.
        max_side: u32,
    },
    /// The data is damaged or truncated.
    Corrupt,
    /// A JPEG encoding the decoder does not read (12-bit, lossless, hierarchical,
    /// arithmetic coding), named; recognised from the header before decoding.
    UnsupportedEncoding(&'static str),
    /// The JPEG's segment structure is broken or carries segments a decoder
    /// must not see (see [`crate::sanitize::Verdict::Malformed`]), described.
    MalformedSegments(&'static str),
}

/// What a file's header says, read without decoding its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The container format.
    pub format: Sniffed,
    /// Stored width (before the EXIF orientation).
    pub width: u32,
    /// Stored height (before the EXIF orientation).
    pub height: u32,
    /// The EXIF orientation the file declares.
    pub orientation: Orientation,
    /// Metadata the file carries.
    pub metadata: Metadata,
}

impl Header {
    /// Width and height as seen upright.
    pub fn upright_dimensions(&self) -> (u32, u32) {
        if transposes(self.orientation) { (self.height, self.width) } else { (self.width, self.height) }
    }
}

/// A decoded picture: the pixels, plus what is needed to see them upright, plus
/// the facts of the file they came from.
///
/// [`decode`] gives the file's own pixels (`raw` has the header's size, `orientation`
/// is the declared one). [`Decoded::from_pixels`] wraps pixels decoded elsewhere (the
/// browser's decoder in the widget's worker), possibly downscaled and already upright:
/// checks judge sizes and container facts by [`Decoded::header`], and render from `raw`.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The container format.
    pub format: Sniffed,
    /// The pixels (as stored in the file unless built by [`Decoded::from_pixels`]), 8-bit
    /// RGB; transparency is composited on white.
    pub raw: RgbImage,
    /// The EXIF orientation to apply to `raw` to see the picture upright.
    pub orientation: Orientation,
    /// Metadata the file carries (EXIF, GPS, ICC, XMP), for the report.
    pub metadata: Metadata,
    /// The file's header: its full size and declared orientation.
    pub header: Header,
    /// The full segment parse [`decode`] made of the JPEG, with the file's length, so the stored
    /// output is rebuilt from it without parsing the segments again (None from [`Decoded::from_pixels`]).
    pub audit: Option<(usize, crate::sanitize::Audit)>,
}

/// Metadata found in a file. Outputs never carry any of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata {
    /// An EXIF block is present.
    pub exif: bool,
    /// The EXIF block has a GPS IFD (location).
    pub gps: bool,
    /// An XMP or IPTC block is present.
    pub xmp: bool,
}

impl Metadata {
    /// True when any metadata is present.
    pub fn any(self) -> bool {
        self.exif || self.gps || self.xmp
    }
}

impl Decoded {
    /// Wraps pixels decoded outside the rules (e.g. by the browser) with the facts of the
    /// file's header. `raw` may be a downscaled copy; `upright` says whether the decoder
    /// already applied the EXIF orientation (then `raw` is upright, otherwise it is in
    /// the stored orientation). Size judgements use `header`, renders use `raw`.
    ///
    /// `raw` should be at least as large as what the checks render from it (photo: the
    /// profile's pixels within the crop, ~1000 px long side is plenty; documents and
    /// attachments: their output size, `fit_within(header size, OUTPUT_LONG_SIDE)`): a
    /// smaller `raw` is enlarged by those renders. The widget's worker decodes to these sizes.
    pub fn from_pixels(header: Header, raw: RgbImage, upright: bool) -> Decoded {
        let orientation = if upright { Orientation::NoTransforms } else { header.orientation };
        Decoded { format: header.format, raw, orientation, metadata: header.metadata, header, audit: None }
    }

    /// Wraps RGBA pixels (as `ImageData` gives them) composited on white, like [`decode`] does.
    /// None when `rgba` does not hold `width`×`height` pixels.
    pub fn from_rgba(header: Header, rgba: &[u8], width: u32, height: u32, upright: bool) -> Option<Decoded> {
        let n = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
        if rgba.len() != n.checked_mul(4)? {
            return None;
        }
        // Written in place (a 3-byte `extend_from_slice` per pixel is a `memcpy` call in WebAssembly).
        let mut rgb = vec![0u8; n * 3];
        for (d, p) in rgb.chunks_exact_mut(3).zip(rgba.chunks_exact(4)) {
            if p[3] == 255 {
                d.copy_from_slice(&p[..3]);
            } else {
                let a = u16::from(p[3]);
                for (d, c) in d.iter_mut().zip(&p[..3]) {
                    *d = composite_on_white(*c, a);
                }
            }
        }
        let raw = RgbImage::from_raw(width, height, rgb)?;
        Some(Decoded::from_pixels(header, raw, upright))
    }

    /// Width and height of `raw` as seen upright: the coordinates renders work in.
    pub fn upright_dimensions(&self) -> (u32, u32) {
        let (w, h) = self.raw.dimensions();
        if transposes(self.orientation) { (h, w) } else { (w, h) }
    }

    /// Width and height of the file as seen upright: what size rules judge.
    pub fn source_dimensions(&self) -> (u32, u32) {
        self.header.upright_dimensions()
    }

    /// True when `raw` is the file's own pixels at full size in the stored orientation (so
    /// the file's bytes may be kept as they are when nothing else needs changing).
    pub fn is_file_pixels(&self) -> bool {
        self.raw.dimensions() == (self.header.width, self.header.height) && self.orientation == self.header.orientation
    }
}

/// True when the orientation swaps width and height.
pub fn transposes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

/// Reads only the header: format and declared dimensions, with no pixel allocation.
pub fn probe(bytes: &[u8]) -> Result<(Sniffed, u32, u32), DecodeError> {
    let sniffed = precheck(bytes, &DecodeLimits::DEFAULT)?;
    let decoder = reader(bytes, sniffed, &DecodeLimits::DEFAULT)?.into_decoder().map_err(|_| DecodeError::Corrupt)?;
    let (w, h) = decoder.dimensions();
    Ok((sniffed, w, h))
}

/// Everything [`decode`] checks before it decodes pixels, and the header facts
/// (format, size, orientation, metadata), without allocating the picture: what a
/// caller that decodes the pixels elsewhere must ask first. Refuses exactly what
/// [`decode`] refuses by header (empty, too large, unsupported, dimension bombs,
/// implausibly small, truncated JPEG).
pub fn inspect(bytes: &[u8], limits: &DecodeLimits) -> Result<Header, DecodeError> {
    if !cfg!(feature = "png") && sniff(bytes) == Sniffed::Png {
        precheck(bytes, limits)?;
        return png_header(bytes, bytes.len(), limits, true);
    }
    open(bytes, limits).map(|(_, header, _)| header)
}

/// Reads a PNG's header and metadata chunks without its pixel decoder (the widget's build has
/// none: the browser decodes PNGs, and every output is JPEG). Checks the limits and the
/// plausibility of the declared size like the decoder path; with `whole`, also that the file
/// ends with its `IEND` chunk (a truncated PNG is refused).
pub fn png_header(bytes: &[u8], file_len: usize, limits: &DecodeLimits, whole: bool) -> Result<Header, DecodeError> {
    let be32 = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if sniff(bytes) != Sniffed::Png || bytes.get(12..16) != Some(b"IHDR") || be32(8) != Some(13) {
        return Err(DecodeError::Corrupt);
    }
    let (width, height) = (be32(16).unwrap_or(0), be32(20).unwrap_or(0));
    // RGBA at 8 bits: what the browser allocates for it.
    let alloc = u64::from(width) * u64::from(height) * 4;
    check_declared(bytes, file_len, Sniffed::Png, (width, height), alloc, limits)?;
    let mut metadata = Metadata::default();
    let mut orientation = Orientation::NoTransforms;
    let mut at = 8;
    let mut ended = false;
    while let (Some(len), Some(kind)) = (be32(at), bytes.get(at + 4..at + 8)) {
        let start = at + 8;
        let end = start.saturating_add(len as usize);
        let data = bytes.get(start..end.min(bytes.len())).unwrap_or_default();
        match kind {
            b"eXIf" => {
                metadata.exif = true;
                metadata.gps = has_gps_ifd(data);
                orientation = Orientation::from_exif_chunk(data).unwrap_or(Orientation::NoTransforms);
            }
            b"iTXt" if data.starts_with(b"XML:com.adobe.xmp") => metadata.xmp = true,
            b"IEND" => {
                ended = true;
                break;
            }
            _ => {}
        }
        // Chunk: length, type, data, CRC.
        at = end.saturating_add(4);
    }
    if whole && !ended {
        return Err(DecodeError::Corrupt);
    }
    Ok(Header { format: Sniffed::Png, width, height, orientation, metadata })
}

/// How many leading bytes [`inspect_prefix`] needs at most: EXIF (APP1) is at most 64 KiB, and
/// the frame header follows it.
pub const PREFIX_BYTES: usize = 128 * 1024;

/// The refusals of [`inspect`] that need only the first bytes of a file of `file_len` bytes:
/// empty, too large, unsupported format, dimensions over the limits, too small for the
/// declared pixels. Returns the format and the stored size. A header that does not fit in
/// `prefix` reads as [`DecodeError::Corrupt`]: callers then [`inspect`] the whole file. This is
/// what a caller asks before handing the file to another decoder (the widget's worker starts
/// the browser's decode on it while [`inspect`] checks the rest, e.g. truncation).
pub fn inspect_prefix(
    prefix: &[u8],
    file_len: usize,
    limits: &DecodeLimits,
) -> Result<(Sniffed, u32, u32), DecodeError> {
    if file_len == 0 {
        return Err(DecodeError::Empty);
    }
    if file_len > limits.max_file_bytes {
        return Err(DecodeError::TooLarge { size: file_len, limit: limits.max_file_bytes });
    }
    let sniffed = match sniff(prefix) {
        s @ (Sniffed::Jpeg | Sniffed::Png) => s,
        other => return Err(DecodeError::Unsupported(other)),
    };
    if !cfg!(feature = "png") && sniffed == Sniffed::Png {
        return png_header(prefix, file_len, limits, false).map(|h| (Sniffed::Png, h.width, h.height));
    }
    let decoder = match reader(prefix, sniffed, limits)?.into_decoder() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => return Err(over_limit(prefix, limits)),
        Err(_) => return Err(DecodeError::Corrupt),
    };
    let (width, height) = decoder.dimensions();
    check_declared(prefix, file_len, sniffed, (width, height), decoder.total_bytes(), limits)?;
    Ok((sniffed, width, height))
}

/// The checks on the size a header declares: not zero, within the limits (sides, pixels, the
/// decoder's allocation) and plausible for the file's length. One place for every reader.
fn check_declared(
    prefix: &[u8],
    file_len: usize,
    sniffed: Sniffed,
    (width, height): (u32, u32),
    alloc: u64,
    limits: &DecodeLimits,
) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt);
    }
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
        || alloc > limits.max_alloc
    {
        return Err(DecodeError::DimensionsOverLimit { width, height, max_side: limits.max_side });
    }
    if !plausible_len(prefix, file_len, sniffed, width, height) {
        return Err(DecodeError::Corrupt);
    }
    Ok(())
}

/// The decoder, the header facts and the JPEG's segment parse.
type Opened<'a> = (Dec<'a>, Header, Option<crate::sanitize::Audit>);

fn open<'a>(bytes: &'a [u8], limits: &DecodeLimits) -> Result<Opened<'a>, DecodeError> {
    let (sniffed, audit) = precheck_audited(bytes, limits)?;
    let mut decoder = match reader(bytes, sniffed, limits)?.into_decoder() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => return Err(over_limit(bytes, limits)),
        Err(_) => return Err(DecodeError::Corrupt),
    };
    let (width, height) = decoder.dimensions();
    check_declared(bytes, bytes.len(), sniffed, (width, height), decoder.total_bytes(), limits)?;
    // A JPEG's EXIF is found here, as the decoder would (the last `Exif` APP1 before the first scan):
    // asking the decoder re-parses the headers once per question, and instantiates its whole
    // parser a second time (for `&Vec<u8>`), 15 KB of the widget's first load.
    let (exif, xmp) = match &mut decoder {
        Dec::Jpeg(_) => (jpeg_header_exif(bytes).map(<[u8]>::to_vec), false),
        #[cfg(feature = "png")]
        Dec::Other(decoder) => {
            let xmp = matches!(decoder.xmp_metadata(), Ok(Some(_))) || matches!(decoder.iptc_metadata(), Ok(Some(_)));
            (decoder.exif_metadata().ok().flatten(), xmp)
        }
    };
    let orientation = exif.as_deref().and_then(Orientation::from_exif_chunk).unwrap_or(Orientation::NoTransforms);
    let mut metadata = Metadata { exif: exif.is_some(), gps: exif.as_deref().is_some_and(has_gps_ifd), xmp };
    if let Some(audit) = &audit {
        // The decoder reads metadata only before the first scan; the full parse sees all of it
        // (EXIF between progressive scans or after EOI).
        metadata.exif |= audit.has_exif;
        metadata.gps |= audit.has_gps;
        metadata.xmp |= audit.has_xmp;
    }
    if sniffed == Sniffed::Png {
        // Ancillary chunks are not given to the decoder (see `png_decoding_chunks`): read
        // their keywords here.
        if let Ok(h) = png_header(bytes, bytes.len(), limits, false) {
            metadata.exif |= h.metadata.exif;
            metadata.gps |= h.metadata.gps;
            metadata.xmp |= h.metadata.xmp;
        }
    }
    Ok((decoder, Header { format: sniffed, width, height, orientation, metadata }, audit))
}

fn precheck(bytes: &[u8], limits: &DecodeLimits) -> Result<Sniffed, DecodeError> {
    precheck_audited(bytes, limits).map(|(s, _)| s)
}

/// [`precheck`], with the full parse of a JPEG.
fn precheck_audited(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(Sniffed, Option<crate::sanitize::Audit>), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limits.max_file_bytes {
        return Err(DecodeError::TooLarge { size: bytes.len(), limit: limits.max_file_bytes });
    }
    match sniff(bytes) {
        Sniffed::Jpeg => jpeg_structure(bytes).map(|a| (Sniffed::Jpeg, Some(a))),
        Sniffed::Png => Ok((Sniffed::Png, None)),
        other => Err(DecodeError::Unsupported(other)),
    }
}

/// The full segment parse of a JPEG ([`crate::sanitize::audit`]), refusing what no
/// decoder may see: truncation (no EOI after the scans) is [`DecodeError::Corrupt`],
/// 12-bit/lossless/hierarchical/arithmetic-coded frames are
/// [`DecodeError::UnsupportedEncoding`], broken segments [`DecodeError::MalformedSegments`].
pub fn jpeg_structure(bytes: &[u8]) -> Result<crate::sanitize::Audit, DecodeError> {
    use crate::sanitize::Verdict;
    let audit = crate::sanitize::audit(bytes);
    match audit.verdict {
        Verdict::Clean | Verdict::Reencode(_) => Ok(audit),
        Verdict::Truncated => Err(DecodeError::Corrupt),
        Verdict::Unsupported(what) => Err(DecodeError::UnsupportedEncoding(what)),
        Verdict::Malformed(what) => Err(DecodeError::MalformedSegments(what)),
    }
}

/// True when a JPEG's main image has an end-of-image marker after its first
/// scan. The decoder pads a truncated file with grey instead of failing, so
/// truncation is caught here: walk the marker segments (skipping APPn blocks,
/// whose EXIF thumbnails carry their own EOI) to the first SOS, then look for
/// EOI (`FF D9`) after it. Entropy-coded data never contains `FF D9`.
pub fn jpeg_complete(bytes: &[u8]) -> bool {
    let mut i = 2;
    loop {
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else { return false };
        match marker {
            0xDA => break,
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let (Some(&hi), Some(&lo)) = (bytes.get(i + 2), bytes.get(i + 3)) else { return false };
                i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
    bytes.get(i..).is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// The EXIF block (after `Exif\0\0`) of the last `Exif` APP1 segment before a JPEG's first scan,
/// which is the one its decoder reports (zune-jpeg's `exif()`); `None` without one or when the
/// segments before the scan cannot be walked (the decoder then fails on them too).
fn jpeg_header_exif(bytes: &[u8]) -> Option<&[u8]> {
    let mut exif = None;
    let mut at = 2;
    loop {
        // Fill bytes (`FF FF …`) before a marker.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (&0xFF, &marker) = (bytes.get(at)?, bytes.get(at + 1)?) else { return exif };
        match marker {
            // SOS: the headers end here. EOI: no scan at all.
            0xDA | 0xD9 => return exif,
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => {
                at += 2;
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
        let payload = bytes.get(at + 4..at + 2 + len.max(2))?;
        if marker == 0xE1 && payload.len() > 6 && payload.starts_with(b"Exif\0\0") {
            exif = Some(&payload[6..]);
        }
        at += 2 + len.max(2);
    }
}

/// The image crate's decoder for one file. A JPEG's is built directly, not through [`image::ImageReader`]:
/// its format switch boxes every decoder as a trait object, which keeps every method of the JPEG
/// decoder (its metadata questions instantiate the whole header parser a second time, for
/// `&Vec<u8>`) in the widget's first load. What is done is the same: `JpegDecoder::new`, then
/// `set_limits`, as `ImageReader::into_decoder` does.
enum Dec<'a> {
    Jpeg(image::codecs::jpeg::JpegDecoder<Cursor<Cow<'a, [u8]>>>),
    /// PNG, through [`image::ImageReader`] (only built with the PNG decoder).
    #[cfg(feature = "png")]
    Other(Box<dyn ImageDecoder + 'a>),
}

impl ImageDecoder for Dec<'_> {
    fn dimensions(&self) -> (u32, u32) {
        match self {
            Dec::Jpeg(d) => d.dimensions(),
            #[cfg(feature = "png")]
            Dec::Other(d) => d.dimensions(),
        }
    }

    fn color_type(&self) -> image::ColorType {
        match self {
            Dec::Jpeg(d) => d.color_type(),
            #[cfg(feature = "png")]
            Dec::Other(d) => d.color_type(),
        }
    }

    fn original_color_type(&self) -> image::ExtendedColorType {
        match self {
            Dec::Jpeg(d) => d.original_color_type(),
            #[cfg(feature = "png")]
            Dec::Other(d) => d.original_color_type(),
        }
    }

    fn total_bytes(&self) -> u64 {
        match self {
            Dec::Jpeg(d) => d.total_bytes(),
            #[cfg(feature = "png")]
            Dec::Other(d) => d.total_bytes(),
        }
    }

    fn read_image(self, buf: &mut [u8]) -> image::ImageResult<()> {
        match self {
            Dec::Jpeg(d) => d.read_image(buf),
            #[cfg(feature = "png")]
            Dec::Other(d) => d.read_image_boxed(buf),
        }
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> image::ImageResult<()> {
        (*self).read_image(buf)
    }
}

/// [`image::ImageReader::with_format`] with its limits, for [`Dec`].
struct Reader<'a> {
    data: Cow<'a, [u8]>,
    format: ImageFormat,
    limits: Limits,
}

impl<'a> Reader<'a> {
    fn into_decoder(self) -> image::ImageResult<Dec<'a>> {
        if self.format == ImageFormat::Jpeg {
            let mut d = image::codecs::jpeg::JpegDecoder::new(Cursor::new(self.data))?;
            d.set_limits(self.limits)?;
            return Ok(Dec::Jpeg(d));
        }
        #[cfg(feature = "png")]
        {
            let mut reader = image::ImageReader::with_format(Cursor::new(self.data), self.format);
            reader.limits(self.limits);
            Ok(Dec::Other(Box::new(reader.into_decoder()?)))
        }
        #[cfg(not(feature = "png"))]
        Err(image::ImageError::Unsupported(image::error::UnsupportedError::from_format_and_kind(
            image::error::ImageFormatHint::Exact(self.format),
            image::error::UnsupportedErrorKind::Format(image::error::ImageFormatHint::Exact(self.format)),
        )))
    }
}

fn reader<'a>(bytes: &'a [u8], sniffed: Sniffed, limits: &DecodeLimits) -> Result<Reader<'a>, DecodeError> {
    if !cfg!(feature = "png") && sniffed == Sniffed::Png {
        // Built without the PNG decoder (the widget: the browser decodes PNGs).
        return Err(DecodeError::Unsupported(Sniffed::Png));
    }
    let (format, data) = if sniffed == Sniffed::Jpeg {
        (ImageFormat::Jpeg, Cow::Borrowed(bytes))
    } else {
        (ImageFormat::Png, Cow::Owned(png_decoding_chunks(bytes)))
    };
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    Ok(Reader { data, format, limits: image_limits })
}

/// Decodes a JPEG or PNG within `limits`.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, DecodeError> {
    if !cfg!(feature = "png") && sniff(bytes) == Sniffed::Png {
        // No PNG decoder in this build: still refuse what the header shows (bombs, truncation).
        inspect(bytes, limits)?;
        return Err(DecodeError::Unsupported(Sniffed::Png));
    }
    let (decoder, header, audit) = open(bytes, limits)?;
    let (width, height) = (header.width, header.height);
    let rgb = rgb_pixels(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => DecodeError::DimensionsOverLimit { width, height, max_side: limits.max_side },
        _ => DecodeError::Corrupt,
    })?;
    let mut decoded = Decoded::from_pixels(header, rgb, false);
    decoded.audit = audit.map(|a| (bytes.len(), a));
    Ok(decoded)
}

/// The chunks of a PNG that its pixel decoder is given: the signature, `IHDR`, `PLTE`, `tRNS`,
/// `IDAT`, `eXIf` (uncompressed: bounded by the file) and `IEND`, copied whole. Every other chunk,
/// above all the compressed ancillary ones (`iCCP`, `zTXt`, `iTXt`) and animation chunks, is left
/// out, so nothing is inflated but the pixels, which the decoder's limits bound: a PNG whose
/// `iCCP` inflates to 1 GiB costs its own size. Their keywords are read by [`png_header`].
/// A chunk whose length runs past the end is copied as it is (the decoder refuses it as truncated).
pub fn png_decoding_chunks(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..8).unwrap_or(bytes));
    let mut at = 8;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = at.saturating_add(12).saturating_add(len);
        let Some(chunk) = bytes.get(at..end) else {
            out.extend_from_slice(&bytes[at..]);
            break;
        };
        if matches!(&head[4..8], b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" | b"eXIf" | b"IEND") {
            out.extend_from_slice(chunk);
        }
        if &head[4..8] == b"IEND" {
            break;
        }
        at = end;
    }
    out
}

/// Deflate cannot compress better than about 1032:1.
const DEFLATE_MAX_RATIO: u64 = 1032;
/// A baseline or progressive JPEG spends at least one bit on every 8×8 block
/// of the luma plane: at most 512 pixels per byte.
const JPEG_MAX_PIXELS_PER_BYTE: u64 = 512;

/// A file too small to hold the pixels its header declares is truncated or crafted: refuse it
/// before the decoder allocates the declared picture. `len` is the file's length, `bytes` its
/// first bytes (at least the header).
fn plausible_len(bytes: &[u8], len: usize, sniffed: Sniffed, width: u32, height: u32) -> bool {
    let (w, h, len) = (u64::from(width), u64::from(height), len as u64);
    match sniffed {
        Sniffed::Jpeg => w * h <= JPEG_MAX_PIXELS_PER_BYTE * len,
        Sniffed::Png => {
            // IHDR: bit depth at byte 24, colour type at byte 25.
            let depth = u64::from(bytes.get(24).copied().unwrap_or(8));
            let channels = match bytes.get(25) {
                Some(0 | 3) => 1,
                Some(4) => 2,
                Some(2) => 3,
                _ => 4,
            };
            let raw = h * (1 + (w * channels * depth).div_ceil(8));
            raw <= DEFLATE_MAX_RATIO * len
        }
        _ => true,
    }
}

fn over_limit(bytes: &[u8], limits: &DecodeLimits) -> DecodeError {
    // The header parsed far enough to trip a limit: report the declared size when it can be read cheaply.
    let (format, data) = if sniff(bytes) == Sniffed::Jpeg {
        (ImageFormat::Jpeg, Cow::Borrowed(bytes))
    } else {
        (ImageFormat::Png, Cow::Owned(png_decoding_chunks(bytes)))
    };
    // `ImageReader::into_dimensions`: its default limits.
    let dims = Reader { data, format, limits: Limits::default() }.into_decoder().ok().map(|d| d.dimensions());
    let (width, height) = dims.unwrap_or((0, 0));
    DecodeError::DimensionsOverLimit { width, height, max_side: limits.max_side }
}

/// The decoder's pixels as [`to_rgb`] gives them. A JPEG's are read as `DynamicImage::from_decoder`
/// reads them (a buffer of `total_bytes`, then `read_image`) and converted by [`rgb8_from_raw`]:
/// its four 8-bit layouts are all the JPEG decoder gives, and `DynamicImage`'s converters for
/// every layout are 20 KB of the widget's module. A PNG's go through `DynamicImage`.
fn rgb_pixels(decoder: Dec<'_>) -> image::ImageResult<RgbImage> {
    match decoder {
        Dec::Jpeg(d) => {
            let (w, h) = d.dimensions();
            let color = d.color_type();
            let len =
                usize::try_from(d.total_bytes()).ok().filter(|&n| isize::try_from(n).is_ok()).ok_or_else(|| {
                    image::ImageError::Limits(image::error::LimitError::from_kind(
                        image::error::LimitErrorKind::InsufficientMemory,
                    ))
                })?;
            let mut buf = vec![0u8; len];
            d.read_image(&mut buf)?;
            rgb8_from_raw(w, h, color, buf).ok_or_else(|| {
                image::ImageError::Unsupported(image::error::UnsupportedError::from_format_and_kind(
                    image::error::ImageFormatHint::Exact(ImageFormat::Jpeg),
                    image::error::UnsupportedErrorKind::Color(color.into()),
                ))
            })
        }
        #[cfg(feature = "png")]
        Dec::Other(d) => DynamicImage::from_decoder(d).map(to_rgb),
    }
}

/// [`to_rgb`] of an 8-bit grey, grey + alpha, RGB or RGBA buffer (`None` for other layouts or a
/// buffer of the wrong length).
fn rgb8_from_raw(w: u32, h: u32, color: image::ColorType, raw: Vec<u8>) -> Option<RgbImage> {
    use image::ColorType as C;
    let n = usize::from(color.bytes_per_pixel());
    if !matches!(color, C::L8 | C::La8 | C::Rgb8 | C::Rgba8) || raw.len() != (w as usize) * (h as usize) * n {
        return None;
    }
    if color == C::Rgb8 {
        return RgbImage::from_raw(w, h, raw);
    }
    let mut out = Vec::with_capacity((w as usize) * (h as usize) * 3);
    for px in raw.chunks_exact(n) {
        let (rgb, a) = match color {
            C::L8 => ([px[0]; 3], None),
            C::La8 => ([px[0]; 3], Some(px[1])),
            _ => ([px[0], px[1], px[2]], Some(px[3])),
        };
        match a {
            None => out.extend_from_slice(&rgb),
            Some(a) => out.extend(rgb.iter().map(|&c| composite_on_white(c, u16::from(a)))),
        }
    }
    RgbImage::from_raw(w, h, out)
}

/// 8-bit RGB; alpha composited on white (a transparent background reads as white).
#[cfg(any(feature = "png", test))]
fn to_rgb(image: DynamicImage) -> RgbImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other if other.color().has_alpha() => {
            let rgba = other.into_rgba8();
            let (w, h) = rgba.dimensions();
            let mut out = RgbImage::new(w, h);
            for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
                let a = u16::from(src[3]);
                for c in 0..3 {
                    dst[c] = composite_on_white(src[c], a);
                }
            }
            out
        }
        other => other.into_rgb8(),
    }
}

/// One channel with alpha `a` (0–255) composited on white.
fn composite_on_white(c: u8, a: u16) -> u8 {
    let v = (u16::from(c) * a + 255 * (255 - a) + 127) / 255;
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// True when a raw EXIF block (TIFF header onwards, as `image` returns it) has a
/// GPS IFD pointer (tag 0x8825) in IFD0.
pub fn has_gps_ifd(exif: &[u8]) -> bool {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let little = match tiff.get(0..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return false,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = tiff.get(o..o + 2)?;
        Some(if little { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = tiff.get(o..o + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if little { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    };
    let Some(ifd0) = u32_at(4).and_then(|o| usize::try_from(o).ok()) else { return false };
    let Some(count) = u16_at(ifd0) else { return false };
    (0..usize::from(count.min(512))).any(|i| u16_at(ifd0 + 2 + i * 12) == Some(0x8825))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Sniffed::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Sniffed::Png);
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Pdf);
        assert_eq!(sniff(b"GIF89a"), Sniffed::Gif);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Webp);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), Sniffed::Heif);
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    /// Every JPEG of the fixture corpus (hostile ones included): the EXIF block found by walking the
    /// segments is the decoder's own (zune-jpeg through `image`), byte for byte.
    #[test]
    fn the_exif_walk_finds_what_the_decoder_reports_on_every_corpus_jpeg() {
        fn jpegs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    jpegs(&p, out);
                } else if std::fs::read(&p).is_ok_and(|b| sniff(&b) == Sniffed::Jpeg) {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        jpegs(&root.join("tests/fixtures"), &mut files);
        jpegs(&root.join("fuzz/corpus"), &mut files);
        assert!(files.len() > 40, "the corpus was found ({})", files.len());
        let mut cases: Vec<(String, Vec<u8>)> =
            files.iter().map(|f| (f.display().to_string(), std::fs::read(f).unwrap())).collect();
        // Made from the camera photo: a second EXIF APP1 (the decoder keeps the last), fill bytes
        // before a marker, an XMP APP1 between them, an APP1 that only starts like EXIF.
        let camera = std::fs::read(root.join("tests/fixtures/photo/camera_exif6_gps.jpg")).unwrap();
        let app1 = |payload: &[u8]| {
            let mut seg = vec![0xFF, 0xE1];
            seg.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
            seg.extend_from_slice(payload);
            seg
        };
        let with = |segs: &[Vec<u8>]| {
            let mut out = camera[..2].to_vec();
            for s in segs {
                out.extend_from_slice(s);
            }
            out.extend_from_slice(&camera[2..]);
            out
        };
        let other_exif = app1(b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0\0\0\0\0");
        let xmp = app1(b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
        cases.push(("two EXIF blocks".into(), with(std::slice::from_ref(&other_exif))));
        cases.push(("fill bytes and XMP".into(), with(&[vec![0xFF, 0xFF], xmp.clone(), other_exif])));
        cases.push(("an APP1 that is not EXIF".into(), with(&[app1(b"Exif\0"), xmp])));
        let mut with_exif = 0;
        for (name, bytes) in &cases {
            let Ok(mut d) = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&bytes[..])) else { continue };
            let theirs = d.exif_metadata().ok().flatten();
            with_exif += usize::from(theirs.is_some());
            assert_eq!(jpeg_header_exif(bytes).map(<[u8]>::to_vec), theirs, "{name}");
        }
        assert!(with_exif >= 4, "the corpus has EXIF to compare ({with_exif})");
    }

    #[test]
    fn rgb8_from_raw_equals_dynamic_image_conversion() {
        use image::{ColorType, ImageBuffer, Luma, LumaA, Rgba};
        let (w, h) = (7u32, 5u32);
        let bytes = |n: usize| {
            (0..w as usize * h as usize * n).map(|i| (i * 37 % 251) as u8 ^ (i / 3) as u8).collect::<Vec<u8>>()
        };
        let cases = [
            (ColorType::L8, DynamicImage::ImageLuma8(ImageBuffer::<Luma<u8>, _>::from_raw(w, h, bytes(1)).unwrap())),
            (ColorType::La8, DynamicImage::ImageLumaA8(ImageBuffer::<LumaA<u8>, _>::from_raw(w, h, bytes(2)).unwrap())),
            (ColorType::Rgb8, DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, bytes(3)).unwrap())),
            (ColorType::Rgba8, DynamicImage::ImageRgba8(ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, bytes(4)).unwrap())),
        ];
        for (color, image) in cases {
            let raw = image.as_bytes().to_vec();
            assert_eq!(rgb8_from_raw(w, h, color, raw).as_ref(), Some(&to_rgb(image)), "{color:?}");
        }
        assert_eq!(rgb8_from_raw(w, h, ColorType::Rgb16, vec![0; 7 * 5 * 6]), None);
        assert_eq!(rgb8_from_raw(w, h, ColorType::Rgb8, vec![0; 7 * 5 * 3 - 1]), None);
    }

    #[test]
    fn refuses_before_decoding() {
        assert_eq!(decode(b"", &DecodeLimits::DEFAULT).unwrap_err(), DecodeError::Empty);
        assert_eq!(decode(b"GIF89a....", &DecodeLimits::DEFAULT).unwrap_err(), DecodeError::Unsupported(Sniffed::Gif));
        let small = DecodeLimits { max_file_bytes: 4, ..DecodeLimits::DEFAULT };
        assert_eq!(decode(b"\xFF\xD8\xFF\xE0\0", &small).unwrap_err(), DecodeError::TooLarge { size: 5, limit: 4 });
        // A segment length below 2 is a broken structure (it was `Corrupt` before the full parse).
        assert_eq!(
            decode(b"\xFF\xD8\xFF\xE0\0\0", &DecodeLimits::DEFAULT).unwrap_err(),
            DecodeError::MalformedSegments("a segment length below 2")
        );
        assert_eq!(decode(b"\xFF\xD8\xFF\xE0\0\x10JF", &DecodeLimits::DEFAULT).unwrap_err(), DecodeError::Corrupt);
        assert!(jpeg_complete(b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xDA\x00\x02\x12\x34\xFF\xD9"));
        // An APP1 block carrying a thumbnail's EOI does not count; the scan has none.
        assert!(!jpeg_complete(b"\xFF\xD8\xFF\xE1\x00\x04\xFF\xD9\xFF\xDA\x00\x02\x12\x34"));
    }

    #[test]
    fn rgba_pixels_are_composited_on_white_and_keep_the_files_facts() {
        let header = Header {
            format: Sniffed::Png,
            width: 4000,
            height: 2,
            orientation: Orientation::Rotate90,
            metadata: Metadata::default(),
        };
        let rgba = [10, 20, 30, 255, 0, 0, 0, 0, 100, 100, 100, 128, 1, 2, 3, 255];
        let d = Decoded::from_rgba(header, &rgba, 2, 2, true).expect("2×2");
        assert_eq!(d.raw.as_raw(), &[10, 20, 30, 255, 255, 255, 177, 177, 177, 1, 2, 3]);
        assert_eq!((d.orientation, d.header.orientation), (Orientation::NoTransforms, Orientation::Rotate90));
        assert_eq!((d.upright_dimensions(), d.source_dimensions()), ((2, 2), (2, 4000)));
        assert!(!d.is_file_pixels());
        assert!(Decoded::from_rgba(header, &rgba[..12], 2, 2, true).is_none(), "too few bytes");
    }

    #[test]
    fn a_decoded_jpeg_carries_its_segment_parse_and_the_output_is_rebuilt_from_it() {
        let jpeg: &[u8] = include_bytes!("../../tests/fixtures/document/id_front.jpg");
        let d = decode(jpeg, &DecodeLimits::DEFAULT).expect("decodes");
        assert_eq!(d.audit, Some((jpeg.len(), crate::sanitize::audit(jpeg))));
        let out = d.raw.dimensions();
        let kept = crate::jpeg::keep_or_encode(jpeg, &d, out, || unreachable!("kept, not rendered"), 85);
        assert_eq!(Some(kept), crate::sanitize::rebuild(jpeg));
        // Pixels from elsewhere carry none.
        assert!(Decoded::from_pixels(d.header, d.raw, false).audit.is_none());
    }

    #[test]
    fn gps_pointer_is_found_in_both_byte_orders() {
        // IFD0 with one entry: tag 0x8825.
        let le = b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x25\x88\x04\x00\x01\x00\x00\x00\x1a\x00\x00\x00";
        let be = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x88\x25\x00\x04\x00\x00\x00\x01\x00\x00\x00\x1a";
        assert!(has_gps_ifd(le));
        assert!(has_gps_ifd(be));
        let mut other = le.to_vec();
        other[10] = 0x12; // tag 0x8812
        assert!(!has_gps_ifd(&other));
        assert!(!has_gps_ifd(b"II\x2a\x00\xff\xff\xff\xff"));
    }

    #[test]
    fn png_header_reads_what_the_decoder_reads_without_decoding() {
        let png: &[u8] = include_bytes!("../../tests/fixtures/photo/portrait.png");
        let limits = DecodeLimits::DEFAULT;
        let header = png_header(png, png.len(), &limits, true).expect("header");
        let decoded = decode(png, &limits).expect("decodes (png feature on in tests)");
        assert_eq!(header.format, Sniffed::Png);
        assert_eq!((header.width, header.height), decoded.raw.dimensions());
        assert_eq!(header.metadata, decoded.metadata);
        // A prefix is enough for the size; the whole file must end with IEND.
        let prefix = &png[..64.min(png.len())];
        let early = png_header(prefix, png.len(), &limits, false).expect("prefix");
        assert_eq!((early.width, early.height), (header.width, header.height));
        assert_eq!(png_header(&png[..png.len() - 20], png.len() - 20, &limits, true), Err(DecodeError::Corrupt));
        // A dimension bomb is refused from its header.
        let mut bomb = png.to_vec();
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(matches!(
            png_header(&bomb, bomb.len(), &limits, true),
            Err(DecodeError::DimensionsOverLimit { width: 100_000, .. })
        ));
        // Not a PNG.
        assert_eq!(png_header(b"GIF89a....", 10, &limits, true), Err(DecodeError::Corrupt));
    }
}
