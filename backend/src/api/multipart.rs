//! A streaming `multipart/form-data` reader (RFC 7578 / RFC 2046 §5.1) with
//! every buffer bounded, fed the body chunk by chunk as it arrives.
//!
//! warp 0.4's multipart filter (`multer` inside) exposes no limit on a part's
//! header block: a header that never ends was buffered until the body ended
//! (256 MiB cost the server 260 MB). Here the preamble, each part's header
//! block (`max_header_bytes`) and its number of lines (`max_header_lines`) are
//! bounded, so such a body is refused after a few KiB. Part bodies are
//! appended to the part as they arrive; the caller checks their sizes after
//! each [`Parser::push`] (the parser holds back at most one delimiter's
//! length of bytes). The caller also decides what a size overrun is.

use memchr::memmem::Finder;

/// The bounds of the framing (the part bodies are bounded by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest header block of one part (and the largest preamble), bytes.
    pub max_header_bytes: usize,
    /// The most header lines of one part.
    pub max_header_lines: usize,
}

/// Why a body is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A part's header block (or the preamble) is over `max_header_bytes`, or has more than
    /// `max_header_lines` lines.
    HeaderTooLarge,
    /// Not a well-formed multipart body.
    Malformed(String),
}

/// One part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `name` of its `Content-Disposition: form-data`.
    pub name: String,
    /// `filename`, if given.
    pub filename: Option<String>,
    /// Its `Content-Type`, if given.
    pub content_type: Option<String>,
    /// Its body.
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: `--` (the end), or transport padding and CRLF (a part follows).
    AfterDelimiter,
    /// Reading a part's header block.
    Headers,
    /// Reading a part's body up to the next delimiter.
    Body,
    /// After the close delimiter: the epilogue is ignored.
    End,
}

/// The reader. Feed it with [`Parser::push`], end with [`Parser::finish`].
pub struct Parser {
    /// `CRLF -- boundary`.
    delimiter: Vec<u8>,
    finder: Finder<'static>,
    limits: Limits,
    state: State,
    /// Bytes not yet consumed (bounded: a delimiter's length in `Body`, `max_header_bytes` else).
    buf: Vec<u8>,
    /// Preamble bytes seen.
    preamble: usize,
    current: Option<Part>,
    done: Vec<Part>,
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parser").field("state", &self.state).field("parts", &self.done.len()).finish()
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    for (name, value) in params_of(params)? {
        if name.eq_ignore_ascii_case("boundary") {
            // RFC 2046: 1 to 70 characters, no trailing space.
            let ok = (1..=70).contains(&value.len())
                && !value.ends_with(' ')
                && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
            return ok.then_some(value);
        }
    }
    None
}

impl Parser {
    /// A reader for parts separated by `boundary`.
    pub fn new(boundary: &str, limits: Limits) -> Parser {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let finder = Finder::new(&delimiter).into_owned();
        // The body starts as if after a line break, so a first delimiter at offset 0 is found.
        Parser {
            delimiter,
            finder,
            limits,
            state: State::Preamble,
            buf: b"\r\n".to_vec(),
            preamble: 0,
            current: None,
            done: Vec::new(),
        }
    }

    /// The part being read, if any (its bytes so far).
    pub fn current(&self) -> Option<&Part> {
        self.current.as_ref()
    }

    /// Parts completed since the last call.
    pub fn take_done(&mut self) -> Vec<Part> {
        std::mem::take(&mut self.done)
    }

    /// Parts completed so far and not taken, plus the current one.
    pub fn parts_seen(&self) -> usize {
        self.done.len() + usize::from(self.current.is_some())
    }

    /// True once the close delimiter was read.
    pub fn is_done(&self) -> bool {
        self.state == State::End
    }

    /// Feeds the next bytes of the body.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.state == State::End {
            return Ok(()); // the epilogue
        }
        self.buf.extend_from_slice(chunk);
        loop {
            let progressed = match self.state {
                State::Preamble => self.preamble_step()?,
                State::AfterDelimiter => self.after_delimiter_step()?,
                State::Headers => self.headers_step()?,
                State::Body => self.body_step(),
                State::End => {
                    self.buf = Vec::new();
                    return Ok(());
                }
            };
            if !progressed {
                return Ok(());
            }
        }
    }

    /// The body ended: it must have ended with the close delimiter.
    pub fn finish(&mut self) -> Result<(), Error> {
        if self.state == State::End {
            Ok(())
        } else {
            Err(Error::Malformed("the body ended before the closing boundary".into()))
        }
    }

    fn preamble_step(&mut self) -> Result<bool, Error> {
        match self.finder.find(&self.buf) {
            Some(at) => {
                self.buf.drain(..at + self.delimiter.len());
                self.state = State::AfterDelimiter;
                Ok(true)
            }
            None => {
                let keep = self.delimiter.len() - 1;
                if self.buf.len() > keep {
                    let n = self.buf.len() - keep;
                    self.preamble += n;
                    self.buf.drain(..n);
                }
                if self.preamble > self.limits.max_header_bytes {
                    return Err(Error::HeaderTooLarge);
                }
                Ok(false)
            }
        }
    }

    fn after_delimiter_step(&mut self) -> Result<bool, Error> {
        if self.buf.len() < 2 {
            return Ok(false);
        }
        if self.buf.starts_with(b"--") {
            self.state = State::End;
            self.buf = Vec::new();
            return Ok(true);
        }
        // Transport padding (spaces and tabs), then CRLF.
        let pad = self.buf.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        if pad > self.limits.max_header_bytes {
            return Err(Error::HeaderTooLarge);
        }
        if self.buf.len() < pad + 2 {
            return Ok(false);
        }
        if self.buf[pad..pad + 2] != *b"\r\n" {
            return Err(Error::Malformed("a boundary is not followed by a line break".into()));
        }
        self.buf.drain(..pad + 2);
        self.state = State::Headers;
        Ok(true)
    }

    fn headers_step(&mut self) -> Result<bool, Error> {
        // An empty header block is a bare CRLF.
        let end = if self.buf.starts_with(b"\r\n") {
            Some((0, 2))
        } else {
            memchr::memmem::find(&self.buf, b"\r\n\r\n").map(|at| (at, at + 4))
        };
        let Some((at, consumed)) = end else {
            if self.buf.len() > self.limits.max_header_bytes {
                return Err(Error::HeaderTooLarge);
            }
            return Ok(false);
        };
        if at > self.limits.max_header_bytes {
            return Err(Error::HeaderTooLarge);
        }
        let part = parse_headers(&self.buf[..at], self.limits.max_header_lines)?;
        // The body starts right after the empty line; the delimiter that ends it is
        // `CRLF--boundary`, so an empty body is immediately followed by it.
        self.buf.drain(..consumed);
        self.current = Some(part);
        self.state = State::Body;
        Ok(true)
    }

    fn body_step(&mut self) -> bool {
        match self.finder.find(&self.buf) {
            Some(at) => {
                let mut part = self.current.take();
                if let Some(p) = part.as_mut() {
                    p.bytes.extend_from_slice(&self.buf[..at]);
                }
                self.buf.drain(..at + self.delimiter.len());
                self.done.extend(part);
                self.state = State::AfterDelimiter;
                true
            }
            None => {
                // Everything but a tail that could be the start of the delimiter is body.
                let keep = self.delimiter.len() - 1;
                if self.buf.len() > keep {
                    let n = self.buf.len() - keep;
                    if let Some(p) = self.current.as_mut() {
                        p.bytes.extend_from_slice(&self.buf[..n]);
                    }
                    self.buf.drain(..n);
                }
                false
            }
        }
    }
}

/// The header block of one part: `Content-Disposition: form-data; name=…` required.
fn parse_headers(block: &[u8], max_lines: usize) -> Result<Part, Error> {
    let text = std::str::from_utf8(block).map_err(|_| Error::Malformed("a part header is not UTF-8".into()))?;
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    let mut lines = 0usize;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        lines += 1;
        if lines > max_lines {
            return Err(Error::HeaderTooLarge);
        }
        if line.starts_with([' ', '\t']) {
            return Err(Error::Malformed("folded part header lines are not accepted".into()));
        }
        let (key, value) =
            line.split_once(':').ok_or_else(|| Error::Malformed("a part header line has no colon".into()))?;
        let key = key.trim();
        let value = value.trim();
        if key.eq_ignore_ascii_case("content-disposition") {
            let (kind, params) = value.split_once(';').unwrap_or((value, ""));
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err(Error::Malformed("a part is not form-data".into()));
            }
            let params = params_of(params)
                .ok_or_else(|| Error::Malformed("a part's Content-Disposition cannot be read".into()))?;
            for (k, v) in params {
                if k.eq_ignore_ascii_case("name") {
                    name = Some(v);
                } else if k.eq_ignore_ascii_case("filename") {
                    filename = Some(v);
                }
            }
        } else if key.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
    }
    let name = name.filter(|n| !n.is_empty()).ok_or_else(|| Error::Malformed("a part has no name".into()))?;
    Ok(Part { name, filename, content_type, bytes: Vec::new() })
}

/// `; key=value; key="quoted \" value"` → pairs; `None` when it cannot be read.
fn params_of(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        rest = rest.strip_prefix(';').unwrap_or(rest).trim_start();
        if rest.is_empty() {
            break;
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        if key.is_empty() || key.contains([';', '"', ' ']) {
            return None;
        }
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => v.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = q[end?..].trim_start();
            if !(rest.is_empty() || rest.starts_with(';')) {
                return None;
            }
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        out.push((key, value));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_header_bytes: 1024, max_header_lines: 8 };

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, bytes) in parts {
            b.extend_from_slice(format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n").as_bytes());
            b.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
            b.extend_from_slice(bytes);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    fn parse_in_chunks(body: &[u8], chunk: usize) -> Result<Vec<Part>, Error> {
        let mut p = Parser::new("XyZ", LIMITS);
        let mut parts = Vec::new();
        for c in body.chunks(chunk.max(1)) {
            p.push(c)?;
            parts.extend(p.take_done());
        }
        p.finish()?;
        parts.extend(p.take_done());
        Ok(parts)
    }

    #[test]
    fn parts_come_out_whole_whatever_the_chunking() {
        // Bodies that contain CR, LF, dashes and near-delimiters.
        let tricky: Vec<u8> = b"\r\n--XyX\r\n-\r\n--Xy\r\r\n\r\n--".iter().copied().cycle().take(3000).collect();
        let parts: Vec<(&str, &[u8])> =
            vec![("bundle", &b"{\"a\":1}"[..]), ("photo", &tricky[..]), ("empty", &b""[..]), ("x", &b"-"[..])];
        let b = body(&parts);
        for chunk in [1, 2, 3, 5, 7, 13, 64, 1000, b.len()] {
            let got = parse_in_chunks(&b, chunk).unwrap_or_else(|e| panic!("chunk {chunk}: {e:?}"));
            assert_eq!(got.len(), parts.len(), "chunk {chunk}");
            for (g, (name, bytes)) in got.iter().zip(&parts) {
                assert_eq!(&g.name, name, "chunk {chunk}");
                assert_eq!(&g.bytes[..], *bytes, "chunk {chunk}: part {name}");
                assert_eq!(g.content_type.as_deref(), Some("application/octet-stream"));
            }
        }
    }

    #[test]
    fn quoted_names_filenames_padding_and_preamble() {
        let b = b"preamble text\r\n--XyZ  \r\ncontent-disposition: form-data; name=\"a;b \\\"q\\\"\"; filename=\"f.jpg\"\r\n\r\nhi\r\n--XyZ--epilogue";
        let got = parse_in_chunks(b, 4).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "a;b \"q\"");
        assert_eq!(got[0].filename.as_deref(), Some("f.jpg"));
        assert_eq!(got[0].bytes, b"hi");
    }

    #[test]
    fn a_header_that_never_ends_is_refused_after_the_limit() {
        let mut p = Parser::new("XyZ", LIMITS);
        p.push(b"--XyZ\r\nContent-Disposition: form-data; name=\"photo\"\r\nX-Pad: ").unwrap();
        let mut fed = 0;
        let err = loop {
            match p.push(&[b'a'; 100]) {
                Ok(()) => fed += 100,
                Err(e) => break e,
            }
            assert!(fed < 10_000, "never refused");
        };
        assert_eq!(err, Error::HeaderTooLarge);
        assert!(fed <= LIMITS.max_header_bytes, "refused once over the limit, after {fed}");
    }

    #[test]
    fn too_many_header_lines_and_a_long_preamble_are_refused() {
        let mut b = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n".to_vec();
        for i in 0..9 {
            b.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        b.extend_from_slice(b"\r\nx\r\n--XyZ--");
        assert_eq!(parse_in_chunks(&b, 10), Err(Error::HeaderTooLarge));
        let long = vec![b'p'; 5000];
        assert_eq!(parse_in_chunks(&long, 100), Err(Error::HeaderTooLarge));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for bad in [
            &b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--"[..], // no name
            b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ", // never closed
            b"--XyZjunk\r\n",
            b"",
        ] {
            assert!(matches!(parse_in_chunks(bad, 3), Err(Error::Malformed(_))), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(boundary("multipart/form-data; boundary=abc").as_deref(), Some("abc"));
        assert_eq!(boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"").as_deref(), Some("a b:c"));
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/mixed; boundary=abc"), None);
        assert_eq!(boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))), None);
    }
}
