//! PDFs, parsed structurally and written out fresh (issue 11).
//!
//! A small, strict, bounded parser of our own (why not `lopdf`: see ARCHITECTURE.md):
//! header, `startxref`, cross-reference tables *and* streams with their `/Prev` chain,
//! trailer, object streams, the page tree. It refuses what it cannot read (a ZIP or
//! a stub behind a `%PDF-` header has no readable cross-reference and trailer), refuses
//! encrypted files (the trailer's `/Encrypt` entry, whatever escapes spell its name:
//! names are decoded as they are read), refuses active and embedded content, strips
//! document metadata and automatic actions, and writes the stored copy from the parsed
//! objects: only what the catalog reaches, renumbered, a classic cross-reference table,
//! nothing after the one `%%EOF`. Every cost has a limit ([`MAX_PAGES`], [`MAX_OBJECTS`],
//! [`MAX_ELEMENTS`], [`MAX_DEPTH`], [`MAX_STREAM_DECODED`], [`MAX_TOTAL_DECODED`],
//! [`MAX_XREF_SECTIONS`]; the file itself is capped by `attachment::MAX_BYTES`), so
//! checking a PDF never costs more than about [`MEMORY_BOUND`] (`tests/pdf_corpus.rs`
//! measures it).
//!
//! Refused (`file.pdf_active_content`; a work certificate needs none of them and no
//! rewrite makes their intent harmless): JavaScript (`/JS`, `/S /JavaScript`, the
//! `/JavaScript` name tree), `/Launch`, `/SubmitForm`, `/ImportData`, `/GoToE` and
//! multimedia actions, embedded files (`/EmbeddedFiles`, `/EF`, file attachment
//! annotations), `/RichMedia` and other multimedia annotations, XFA forms (`/XFA`),
//! `/URI` actions to `javascript:`, `vbscript:`, `data:` or `file:`; this holds
//! anywhere the catalog reaches, also behind an `/OpenAction` or `/AA`.
//! Stripped (office software writes them into ordinary files: Word's `/OpenAction` is a
//! "fit page" destination, and Office keeps its private `/PieceInfo`): `/OpenAction`, `/AA`,
//! `/Metadata` (XMP) and `/PieceInfo` wherever they are, the trailer's `/Info`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// Most pages a PDF may have.
pub const MAX_PAGES: usize = 200;
/// Most objects: cross-reference entries in use, objects in one object stream, objects the catalog reaches.
pub const MAX_OBJECTS: usize = 20_000;
/// Most values (numbers, names, strings, array and dictionary entries) parsed in one file.
pub const MAX_ELEMENTS: usize = 400_000;
/// Deepest nesting of arrays and dictionaries, and of the page tree.
pub const MAX_DEPTH: usize = 32;
/// Most bytes one stream may decompress to.
pub const MAX_STREAM_DECODED: usize = 8 * 1024 * 1024;
/// Most bytes all streams of one file may decompress to together.
pub const MAX_TOTAL_DECODED: usize = 32 * 1024 * 1024;
/// Most cross-reference sections (incremental updates) followed through `/Prev`.
pub const MAX_XREF_SECTIONS: usize = 32;
/// What checking one PDF within `attachment::MAX_BYTES` may allocate at most, as stated
/// (and measured by `tests/pdf_corpus.rs` with a counting allocator): the input, one
/// decoded stream, the parsed values and the output.
pub const MEMORY_BOUND: usize = 96 * 1024 * 1024;

/// Which bound a file exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_PAGES`].
    Pages,
    /// [`MAX_OBJECTS`].
    Objects,
    /// [`MAX_ELEMENTS`].
    Elements,
    /// [`MAX_DEPTH`].
    Depth,
    /// [`MAX_STREAM_DECODED`].
    StreamDecoded,
    /// [`MAX_TOTAL_DECODED`].
    TotalDecoded,
    /// [`MAX_XREF_SECTIONS`].
    XrefSections,
}

impl Limit {
    /// The limit's value.
    pub fn max(self) -> usize {
        match self {
            Limit::Pages => MAX_PAGES,
            Limit::Objects => MAX_OBJECTS,
            Limit::Elements => MAX_ELEMENTS,
            Limit::Depth => MAX_DEPTH,
            Limit::StreamDecoded => MAX_STREAM_DECODED,
            Limit::TotalDecoded => MAX_TOTAL_DECODED,
            Limit::XrefSections => MAX_XREF_SECTIONS,
        }
    }

    /// What is counted, zh-CN and English.
    pub fn what(self) -> (&'static str, &'static str) {
        match self {
            Limit::Pages => ("页数", "pages"),
            Limit::Objects => ("对象数", "objects"),
            Limit::Elements => ("数据项数", "values"),
            Limit::Depth => ("嵌套层数", "nesting depth"),
            Limit::StreamDecoded => ("单个数据流解压后字节数", "bytes one stream decompresses to"),
            Limit::TotalDecoded => ("数据流解压后总字节数", "bytes all streams decompress to"),
            Limit::XrefSections => ("增量更新次数", "incremental updates"),
        }
    }
}

/// Why a PDF is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a readable PDF (what failed, for logs and tests).
    Invalid(&'static str),
    /// The trailer has an `/Encrypt` entry.
    Encrypted,
    /// Active or embedded content (each kind found, once).
    Active(Vec<&'static str>),
    /// No page with a non-empty content stream.
    NoPages,
    /// A bound was exceeded.
    TooMuch(Limit),
}

/// A PDF that passed: the fresh copy to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The rewritten file.
    pub bytes: Vec<u8>,
    /// Its pages.
    pub pages: usize,
    /// What was removed (`/OpenAction`, `/AA`, `/Metadata`, `/PieceInfo`, `/Info`), each once.
    pub stripped: Vec<&'static str>,
}

/// Parses `bytes`, refuses or cleans, and writes the copy to store.
pub fn sanitize(bytes: &[u8]) -> Result<Cleaned, Refusal> {
    let mut doc = Doc::open(bytes)?;
    let root = doc.trailer.get(b"Root").cloned().ok_or(Refusal::Invalid("no /Root"))?;
    // Everything the catalog reaches, also behind what is stripped, is examined.
    let mut found = Vec::new();
    doc.walk(&root, false, &mut |d| active_in(d, &mut found))?;
    let catalog = match doc.resolve(&root)? {
        Obj::Dict(d) => d,
        _ => return Err(Refusal::Invalid("/Root is not a dictionary")),
    };
    let pages_root = catalog.get(b"Pages").cloned().ok_or(Refusal::Invalid("no /Pages"))?;
    let (pages, with_content) = doc.count_pages(&pages_root)?;
    if !found.is_empty() {
        return Err(Refusal::Active(found));
    }
    if with_content == 0 {
        return Err(Refusal::NoPages);
    }
    let mut stripped = Vec::new();
    if doc.trailer.get(b"Info").is_some() {
        stripped.push("/Info");
    }
    let order = doc.walk(&root, true, &mut |d| {
        for (key, label) in STRIPPED {
            if d.get(key).is_some() && !stripped.contains(&label) {
                stripped.push(label);
            }
        }
    })?;
    let bytes = doc.write(&root, &order)?;
    Ok(Cleaned { bytes, pages, stripped })
}

/// Keys removed wherever they are, and not followed into the output.
const STRIPPED: [(&[u8], &str); 4] =
    [(b"OpenAction", "/OpenAction"), (b"AA", "/AA"), (b"Metadata", "/Metadata"), (b"PieceInfo", "/PieceInfo")];

fn is_stripped(key: &[u8]) -> bool {
    STRIPPED.iter().any(|(k, _)| *k == key)
}

/// Active or embedded content in one dictionary.
fn active_in(d: &Dict, found: &mut Vec<&'static str>) {
    let mut add = |what: &'static str| {
        if !found.contains(&what) {
            found.push(what);
        }
    };
    let name = |key: &[u8]| match d.get(key) {
        Some(Obj::Name(n)) => Some(n.as_slice()),
        _ => None,
    };
    if d.get(b"JS").is_some() || d.get(b"JavaScript").is_some() {
        add("JavaScript");
    }
    match name(b"S") {
        Some(b"JavaScript") => add("JavaScript"),
        Some(b"Launch") => add("Launch"),
        Some(b"SubmitForm" | b"ImportData") => add("SubmitForm/ImportData"),
        Some(b"GoToE") => add("EmbeddedFiles"),
        Some(b"RichMediaExecute" | b"Rendition" | b"Movie" | b"Sound") => add("RichMedia"),
        _ => {}
    }
    if d.get(b"EmbeddedFiles").is_some() || d.get(b"EF").is_some() || name(b"Type") == Some(b"EmbeddedFile") {
        add("EmbeddedFiles");
    }
    match name(b"Subtype") {
        Some(b"FileAttachment") => add("EmbeddedFiles"),
        Some(b"RichMedia" | b"Screen" | b"Movie" | b"Sound" | b"3D") => add("RichMedia"),
        _ => {}
    }
    if d.get(b"RichMediaContent").is_some() || d.get(b"RichMediaSettings").is_some() {
        add("RichMedia");
    }
    if d.get(b"XFA").is_some() {
        add("XFA");
    }
    if let Some(Obj::Str(uri)) = d.get(b"URI") {
        let start = uri.iter().position(|&c| c > b' ').unwrap_or(uri.len());
        let uri: Vec<u8> =
            uri[start..].iter().filter(|c| !c.is_ascii_whitespace()).map(u8::to_ascii_lowercase).collect();
        if [&b"javascript:"[..], b"vbscript:", b"data:", b"file:"].iter().any(|p| uri.starts_with(p)) {
            add("URI javascript:");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Objects

#[derive(Debug, Clone, PartialEq)]
enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32),
}

/// A dictionary in file order; a repeated key keeps its last value only.
#[derive(Debug, Clone, PartialEq, Default)]
struct Dict(Vec<(Vec<u8>, Obj)>);

impl Dict {
    fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn insert(&mut self, key: Vec<u8>, value: Obj) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

/// An indirect object: a value, or a stream (its dictionary and its raw bytes).
#[derive(Debug)]
struct Indirect {
    obj: Obj,
    stream: Option<Vec<u8>>,
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

fn is_white(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}

fn is_delim(c: u8) -> bool {
    matches!(c, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(c: u8) -> bool {
    !is_white(c) && !is_delim(c)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    /// Values this parser may still create (the file's [`MAX_ELEMENTS`] budget).
    budget: usize,
}

impl<'a> Parser<'a> {
    fn new(b: &'a [u8], pos: usize, budget: usize) -> Parser<'a> {
        Parser { b, pos, budget }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_white(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The regular characters from here (a keyword or number), without consuming them.
    fn word(&self) -> &'a [u8] {
        let end = self.b[self.pos.min(self.b.len())..]
            .iter()
            .position(|&c| !is_regular(c))
            .map_or(self.b.len(), |n| self.pos + n);
        &self.b[self.pos.min(end)..end]
    }

    fn keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        if self.word() == kw {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn uint(&mut self) -> Option<u64> {
        self.skip_ws();
        let w = self.word();
        if w.is_empty() || w.len() > 15 || !w.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += w.len();
        Some(w.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
    }

    fn spend(&mut self) -> Result<(), Refusal> {
        self.budget = self.budget.checked_sub(1).ok_or(Refusal::TooMuch(Limit::Elements))?;
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Obj, Refusal> {
        if depth > MAX_DEPTH {
            return Err(Refusal::TooMuch(Limit::Depth));
        }
        self.spend()?;
        self.skip_ws();
        let c = self.peek().ok_or(Refusal::Invalid("unexpected end of file"))?;
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Obj::Name(self.name()))
            }
            b'(' => {
                self.pos += 1;
                self.literal().map(Obj::Str)
            }
            b'<' if self.b.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut d = Dict::default();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'>') if self.b.get(self.pos + 1) == Some(&b'>') => {
                            self.pos += 2;
                            return Ok(Obj::Dict(d));
                        }
                        Some(b'/') => {
                            self.pos += 1;
                            let key = self.name();
                            let value = self.object(depth + 1)?;
                            d.insert(key, value);
                        }
                        _ => return Err(Refusal::Invalid("bad dictionary")),
                    }
                }
            }
            b'<' => {
                self.pos += 1;
                self.hex_string().map(Obj::Str)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Obj::Array(items));
                        }
                        Some(_) => items.push(self.object(depth + 1)?),
                        None => return Err(Refusal::Invalid("unterminated array")),
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number(),
            _ => {
                let w = self.word();
                self.pos += w.len();
                match w {
                    b"true" => Ok(Obj::Bool(true)),
                    b"false" => Ok(Obj::Bool(false)),
                    b"null" => Ok(Obj::Null),
                    _ => Err(Refusal::Invalid("unexpected token")),
                }
            }
        }
    }

    fn number(&mut self) -> Result<Obj, Refusal> {
        let w = self.word();
        self.pos += w.len();
        if w.iter().all(u8::is_ascii_digit) && !w.is_empty() && w.len() <= 10 {
            // `N G R` is a reference.
            let save = self.pos;
            if let Some(g) = self.uint()
                && g <= 65_535
                && self.keyword(b"R")
            {
                let n: u64 = std::str::from_utf8(w).ok().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
                return u32::try_from(n).map(Obj::Ref).map_err(|_| Refusal::Invalid("object number"));
            }
            self.pos = save;
        }
        let s = std::str::from_utf8(w).map_err(|_| Refusal::Invalid("number"))?;
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Obj::Int(i));
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Obj::Real(f)),
            // Producers write odd numbers (`--1`, `1.2.3`); readers take them as 0.
            _ => Ok(Obj::Int(0)),
        }
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if !is_regular(c) {
                break;
            }
            self.pos += 1;
            if c == b'#'
                && let (Some(h), Some(l)) =
                    (self.b.get(self.pos).copied().and_then(hex), self.b.get(self.pos + 1).copied().and_then(hex))
            {
                out.push(h << 4 | l);
                self.pos += 2;
                continue;
            }
            out.push(c);
        }
        out
    }

    fn literal(&mut self) -> Result<Vec<u8>, Refusal> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        loop {
            let c = self.peek().ok_or(Refusal::Invalid("unterminated string"))?;
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' if depth == 0 => return Ok(out),
                b')' => {
                    depth -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek().ok_or(Refusal::Invalid("unterminated string"))?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xFF) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(c),
            }
        }
    }

    fn hex_string(&mut self) -> Result<Vec<u8>, Refusal> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let c = self.peek().ok_or(Refusal::Invalid("unterminated hex string"))?;
            self.pos += 1;
            if c == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_white(c) {
                continue;
            }
            let v = hex(c).ok_or(Refusal::Invalid("bad hex string"))?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The document: cross-reference, objects, streams

#[derive(Debug, Clone, Copy)]
enum Entry {
    Free,
    At(usize),
    InStream(u32),
}

struct Doc<'a> {
    b: &'a [u8],
    version: (u8, u8),
    xref: HashMap<u32, Entry>,
    trailer: Dict,
    cache: HashMap<u32, Option<Rc<Indirect>>>,
    /// Object streams already unpacked (or being unpacked).
    unpacked: HashSet<u32>,
    /// Objects being loaded (a `/Length` that refers to itself).
    loading: HashSet<u32>,
    budget: usize,
    decoded: usize,
}

impl<'a> Doc<'a> {
    fn open(b: &'a [u8]) -> Result<Doc<'a>, Refusal> {
        let version = header_version(b).ok_or(Refusal::Invalid("no %PDF-x.y header"))?;
        let mut doc = Doc {
            b,
            version,
            xref: HashMap::new(),
            trailer: Dict::default(),
            cache: HashMap::new(),
            unpacked: HashSet::new(),
            loading: HashSet::new(),
            budget: MAX_ELEMENTS,
            decoded: 0,
        };
        let start = startxref(b).ok_or(Refusal::Invalid("no startxref"))?;
        let mut next = Some(start);
        let mut seen = HashSet::new();
        let mut encrypted = false;
        let mut first = true;
        while let Some(at) = next.take() {
            if !seen.insert(at) {
                return Err(Refusal::Invalid("/Prev loop"));
            }
            if seen.len() > MAX_XREF_SECTIONS {
                return Err(Refusal::TooMuch(Limit::XrefSections));
            }
            let trailer = doc.section(at)?;
            encrypted |= trailer.get(b"Encrypt").is_some();
            if let Some(Obj::Int(stm)) = trailer.get(b"XRefStm") {
                let stm = usize::try_from(*stm).map_err(|_| Refusal::Invalid("/XRefStm"))?;
                if seen.insert(stm) {
                    let t = doc.section(stm)?;
                    encrypted |= t.get(b"Encrypt").is_some();
                }
            }
            next = match trailer.get(b"Prev") {
                Some(Obj::Int(p)) => Some(usize::try_from(*p).map_err(|_| Refusal::Invalid("/Prev"))?),
                _ => None,
            };
            if first {
                doc.trailer = trailer;
                first = false;
            }
        }
        if encrypted {
            return Err(Refusal::Encrypted);
        }
        Ok(doc)
    }

    fn add_entry(&mut self, num: u32, entry: Entry) -> Result<(), Refusal> {
        // Newer sections come first: an older entry for the same number is shadowed.
        if !self.xref.contains_key(&num) {
            if self.xref.len() >= MAX_OBJECTS {
                return Err(Refusal::TooMuch(Limit::Objects));
            }
            self.xref.insert(num, entry);
        }
        Ok(())
    }

    /// One cross-reference section (table or stream) at `at`; returns its trailer.
    fn section(&mut self, at: usize) -> Result<Dict, Refusal> {
        if at >= self.b.len() {
            return Err(Refusal::Invalid("startxref beyond the file"));
        }
        let mut p = Parser::new(self.b, at, self.budget);
        if p.keyword(b"xref") {
            loop {
                if p.keyword(b"trailer") {
                    break;
                }
                let (Some(first), Some(count)) = (p.uint(), p.uint()) else {
                    return Err(Refusal::Invalid("bad xref table"));
                };
                if count > MAX_OBJECTS as u64 {
                    return Err(Refusal::TooMuch(Limit::Objects));
                }
                for i in 0..count {
                    let (Some(offset), Some(_gen)) = (p.uint(), p.uint()) else {
                        return Err(Refusal::Invalid("bad xref entry"));
                    };
                    let kind = if p.keyword(b"n") {
                        true
                    } else if p.keyword(b"f") {
                        false
                    } else {
                        return Err(Refusal::Invalid("bad xref entry"));
                    };
                    let num = u32::try_from(first + i).map_err(|_| Refusal::Invalid("object number"))?;
                    let entry = match usize::try_from(offset) {
                        Ok(o) if kind && o > 0 => Entry::At(o),
                        _ => Entry::Free,
                    };
                    self.add_entry(num, entry)?;
                }
            }
            let trailer = p.object(0)?;
            self.budget = p.budget;
            match trailer {
                Obj::Dict(d) => Ok(d),
                _ => Err(Refusal::Invalid("bad trailer")),
            }
        } else {
            self.budget = p.budget;
            let (_, obj) = self.parse_indirect(at)?;
            let (Obj::Dict(dict), Some(raw)) = (&obj.obj, &obj.stream) else {
                return Err(Refusal::Invalid("startxref points at neither xref table nor stream"));
            };
            if dict.get(b"Type") != Some(&Obj::Name(b"XRef".to_vec())) {
                return Err(Refusal::Invalid("not an xref stream"));
            }
            let data = self.decode(dict, raw)?.ok_or(Refusal::Invalid("xref stream filter"))?;
            let w: Vec<usize> = match dict.get(b"W") {
                Some(Obj::Array(a)) if a.len() == 3 => a
                    .iter()
                    .map(|v| match v {
                        Obj::Int(n @ 0..=8) => Ok(*n as usize),
                        _ => Err(Refusal::Invalid("xref /W")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(Refusal::Invalid("xref /W")),
            };
            let size = match dict.get(b"Size") {
                Some(Obj::Int(n)) if *n >= 0 => *n as u64,
                _ => return Err(Refusal::Invalid("xref /Size")),
            };
            let index: Vec<u64> = match dict.get(b"Index") {
                Some(Obj::Array(a)) => a
                    .iter()
                    .map(|v| match v {
                        Obj::Int(n) if *n >= 0 => Ok(*n as u64),
                        _ => Err(Refusal::Invalid("xref /Index")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => vec![0, size],
            };
            let row = w[0] + w[1] + w[2];
            if row == 0 || !index.len().is_multiple_of(2) {
                return Err(Refusal::Invalid("xref stream layout"));
            }
            let field = |r: &[u8], from: usize, len: usize| {
                r[from..from + len].iter().fold(0u64, |n, &b| n << 8 | u64::from(b))
            };
            let mut rows = data.chunks_exact(row);
            for pair in index.chunks_exact(2) {
                if pair[1] > MAX_OBJECTS as u64 {
                    return Err(Refusal::TooMuch(Limit::Objects));
                }
                for i in 0..pair[1] {
                    let r = rows.next().ok_or(Refusal::Invalid("xref stream too short"))?;
                    let kind = if w[0] == 0 { 1 } else { field(r, 0, w[0]) };
                    let a = field(r, w[0], w[1]);
                    let num = u32::try_from(pair[0] + i).map_err(|_| Refusal::Invalid("object number"))?;
                    let entry = match kind {
                        1 => usize::try_from(a).map_or(Entry::Free, Entry::At),
                        2 => u32::try_from(a).map_or(Entry::Free, Entry::InStream),
                        _ => Entry::Free,
                    };
                    self.add_entry(num, entry)?;
                }
            }
            Ok(dict.clone())
        }
    }

    /// `N G obj … endobj` at `at`, with its stream if it has one.
    fn parse_indirect(&mut self, at: usize) -> Result<(u32, Indirect), Refusal> {
        let mut p = Parser::new(self.b, at, self.budget);
        let (Some(num), Some(_gen)) = (p.uint(), p.uint()) else {
            return Err(Refusal::Invalid("no object at its xref offset"));
        };
        if !p.keyword(b"obj") {
            return Err(Refusal::Invalid("no object at its xref offset"));
        }
        let num = u32::try_from(num).map_err(|_| Refusal::Invalid("object number"))?;
        let obj = p.object(0)?;
        self.budget = p.budget;
        if !p.keyword(b"stream") {
            return Ok((num, Indirect { obj, stream: None }));
        }
        let Obj::Dict(dict) = &obj else {
            return Err(Refusal::Invalid("stream without a dictionary"));
        };
        // The data starts after CRLF or LF.
        let mut start = p.pos;
        if self.b.get(start) == Some(&b'\r') {
            start += 1;
        }
        if self.b.get(start) == Some(&b'\n') {
            start += 1;
        }
        let declared = match dict.get(b"Length") {
            Some(Obj::Int(n)) => usize::try_from(*n).ok(),
            // An indirect length is read only a few objects deep (a chain of streams whose
            // lengths are the next stream would otherwise recurse through the whole file).
            Some(Obj::Ref(r)) if !self.loading.contains(r) && self.loading.len() < 4 => {
                self.loading.insert(num);
                let len = self.get(*r);
                self.loading.remove(&num);
                match len?.as_deref() {
                    Some(Indirect { obj: Obj::Int(n), stream: None }) => usize::try_from(*n).ok(),
                    _ => None,
                }
            }
            _ => None,
        };
        let ends_at = |end: usize| {
            let mut q = Parser::new(self.b, end, 0);
            q.keyword(b"endstream")
        };
        let end = match declared.and_then(|n| start.checked_add(n)) {
            Some(end) if end <= self.b.len() && ends_at(end) => end,
            // A wrong /Length: the data ends before the next `endstream`.
            _ => {
                let at = find(&self.b[start..], b"endstream").ok_or(Refusal::Invalid("unterminated stream"))? + start;
                let mut end = at;
                if end > start && self.b[end - 1] == b'\n' {
                    end -= 1;
                }
                if end > start && self.b[end - 1] == b'\r' {
                    end -= 1;
                }
                end
            }
        };
        Ok((num, Indirect { obj, stream: Some(self.b[start..end].to_vec()) }))
    }

    /// The object numbered `num` (None: free or missing, which reads as `null`).
    fn get(&mut self, num: u32) -> Result<Option<Rc<Indirect>>, Refusal> {
        if let Some(hit) = self.cache.get(&num) {
            return Ok(hit.clone());
        }
        let loaded = match self.xref.get(&num).copied() {
            None | Some(Entry::Free) => None,
            Some(Entry::At(at)) => {
                if self.loading.len() > 8 {
                    return Err(Refusal::TooMuch(Limit::Depth));
                }
                if !self.loading.insert(num) {
                    return Err(Refusal::Invalid("object refers to itself while loading"));
                }
                let parsed = self.parse_indirect(at);
                self.loading.remove(&num);
                let (found, obj) = parsed?;
                if found != num {
                    return Err(Refusal::Invalid("xref offset points at another object"));
                }
                Some(Rc::new(obj))
            }
            Some(Entry::InStream(stm)) => {
                self.unpack(stm)?;
                return Ok(self.cache.get(&num).cloned().flatten());
            }
        };
        self.cache.insert(num, loaded.clone());
        Ok(loaded)
    }

    /// Unpacks object stream `stm` into the cache (each of its objects the xref places there).
    fn unpack(&mut self, stm: u32) -> Result<(), Refusal> {
        if !self.unpacked.insert(stm) {
            return Ok(());
        }
        if !matches!(self.xref.get(&stm), Some(Entry::At(_))) {
            return Err(Refusal::Invalid("object stream not at an offset"));
        }
        let holder = self.get(stm)?.ok_or(Refusal::Invalid("missing object stream"))?;
        let (Obj::Dict(dict), Some(raw)) = (&holder.obj, &holder.stream) else {
            return Err(Refusal::Invalid("object stream is not a stream"));
        };
        let int = |k: &[u8]| match dict.get(k) {
            Some(Obj::Int(n)) if *n >= 0 => Ok(*n as usize),
            _ => Err(Refusal::Invalid("object stream /N or /First")),
        };
        let (n, first) = (int(b"N")?, int(b"First")?);
        if n > MAX_OBJECTS {
            return Err(Refusal::TooMuch(Limit::Objects));
        }
        let data = self.decode(dict, raw)?.ok_or(Refusal::Invalid("object stream filter"))?;
        let mut p = Parser::new(&data, 0, self.budget);
        let mut heads = Vec::with_capacity(n);
        for _ in 0..n {
            let (Some(num), Some(off)) = (p.uint(), p.uint()) else {
                return Err(Refusal::Invalid("object stream header"));
            };
            heads.push((num, off));
        }
        for (num, off) in heads {
            let Ok(num) = u32::try_from(num) else { continue };
            let placed_here = matches!(self.xref.get(&num), Some(Entry::InStream(s)) if *s == stm);
            let at = usize::try_from(off).ok().and_then(|o| first.checked_add(o)).filter(|&a| a < data.len());
            let (Some(at), true) = (at, placed_here) else { continue };
            if self.cache.contains_key(&num) {
                continue;
            }
            p.pos = at;
            let obj = p.object(0)?;
            self.cache.insert(num, Some(Rc::new(Indirect { obj, stream: None })));
        }
        self.budget = p.budget;
        Ok(())
    }

    /// A direct value, following references (a stream resolves to its dictionary).
    fn resolve(&mut self, obj: &Obj) -> Result<Obj, Refusal> {
        let mut obj = obj.clone();
        for _ in 0..MAX_DEPTH {
            let Obj::Ref(r) = obj else { return Ok(obj) };
            obj = match self.get(r)? {
                Some(ind) => ind.obj.clone(),
                None => Obj::Null,
            };
        }
        Err(Refusal::TooMuch(Limit::Depth))
    }

    /// Decodes a stream's data: None when a filter other than Flate is involved (the data
    /// is then kept as it is, undecoded). Every decoded byte counts against the limits.
    fn decode(&mut self, dict: &Dict, raw: &[u8]) -> Result<Option<Vec<u8>>, Refusal> {
        let filters = match self.resolve(dict.get(b"Filter").unwrap_or(&Obj::Null))? {
            Obj::Null => Vec::new(),
            Obj::Name(n) => vec![n],
            Obj::Array(a) => a.into_iter().map(|f| if let Obj::Name(n) = f { n } else { Vec::new() }).collect(),
            _ => return Ok(None),
        };
        let parms = match self.resolve(dict.get(b"DecodeParms").unwrap_or(&Obj::Null))? {
            Obj::Dict(d) => Some(d),
            Obj::Array(a) => match a.first() {
                Some(Obj::Dict(d)) => Some(d.clone()),
                _ => None,
            },
            _ => None,
        };
        match filters.as_slice() {
            [] => Ok(Some(raw.to_vec())),
            [f] if f == b"FlateDecode" || f == b"Fl" => {
                let left = MAX_TOTAL_DECODED - self.decoded;
                let cap = MAX_STREAM_DECODED.min(left);
                let out = match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(raw, cap) {
                    Ok(out) => out,
                    Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                        return Err(Refusal::TooMuch(if cap < MAX_STREAM_DECODED {
                            Limit::TotalDecoded
                        } else {
                            Limit::StreamDecoded
                        }));
                    }
                    // A damaged end (a missing checksum): what inflated is kept, as readers do.
                    Err(e) if !e.output.is_empty() => e.output,
                    Err(_) => return Err(Refusal::Invalid("bad Flate data")),
                };
                self.decoded += out.len();
                match parms {
                    Some(p) => unpredict(out, &p).map(Some),
                    None => Ok(Some(out)),
                }
            }
            _ => Ok(None),
        }
    }

    /// Visits every dictionary reachable from `root` (`output`: not through the stripped
    /// keys, and each stream decoded once against the limits); returns the indirect objects
    /// reached, in the order found.
    fn walk(&mut self, root: &Obj, output: bool, visit: &mut dyn FnMut(&Dict)) -> Result<Vec<u32>, Refusal> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::new();
        let mut refs = Vec::new();
        collect_refs(root, output, &mut refs);
        queue.extend(refs.drain(..));
        while let Some(num) = queue.pop_front() {
            if !seen.insert(num) {
                continue;
            }
            if seen.len() > MAX_OBJECTS {
                return Err(Refusal::TooMuch(Limit::Objects));
            }
            order.push(num);
            let Some(ind) = self.get(num)? else { continue };
            visit_dicts(&ind.obj, visit);
            collect_refs(&ind.obj, output, &mut refs);
            queue.extend(refs.drain(..));
            if output && let (Obj::Dict(d), Some(raw)) = (&ind.obj, &ind.stream) {
                let _ = self.decode(d, raw)?;
            }
        }
        Ok(order)
    }

    /// (pages, pages with a non-empty content stream) of the page tree at `node`.
    fn count_pages(&mut self, node: &Obj) -> Result<(usize, usize), Refusal> {
        let mut pages = 0;
        let mut with_content = 0;
        let mut seen = HashSet::new();
        let mut stack = vec![(node.clone(), 0usize)];
        while let Some((node, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(Refusal::TooMuch(Limit::Depth));
            }
            if let Obj::Ref(r) = node
                && !seen.insert(r)
            {
                return Err(Refusal::Invalid("page tree loop"));
            }
            let Obj::Dict(d) = self.resolve(&node)? else { continue };
            let kids = match d.get(b"Kids") {
                Some(k) => Some(self.resolve(k)?),
                None => None,
            };
            match (d.get(b"Type"), kids) {
                (Some(Obj::Name(t)), _) if t == b"Page" => {}
                (_, Some(Obj::Array(kids))) => {
                    stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
                    continue;
                }
                _ => continue,
            }
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Refusal::TooMuch(Limit::Pages));
            }
            if self.page_has_content(&d)? {
                with_content += 1;
            }
        }
        Ok((pages, with_content))
    }

    fn page_has_content(&mut self, page: &Dict) -> Result<bool, Refusal> {
        let contents = match page.get(b"Contents") {
            Some(Obj::Array(a)) => a.clone(),
            Some(Obj::Ref(r)) => match self.get(*r)? {
                Some(ind) if ind.stream.is_some() => vec![Obj::Ref(*r)],
                Some(ind) => match &ind.obj {
                    Obj::Array(a) => a.clone(),
                    _ => Vec::new(),
                },
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        for c in contents.iter().take(MAX_OBJECTS) {
            let Obj::Ref(r) = c else { continue };
            let Some(ind) = self.get(*r)? else { continue };
            let (Obj::Dict(d), Some(raw)) = (&ind.obj, &ind.stream) else { continue };
            let has = match self.decode(d, raw)? {
                Some(data) => data.iter().any(|&b| !is_white(b)),
                // Undecoded (another filter): present when it has bytes.
                None => !raw.is_empty(),
            };
            if has {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The fresh file: the objects of `order` renumbered 1.., a classic cross-reference table,
    /// a trailer with `/Root` and `/Size` only, one `%%EOF`.
    /// A `/DCTDecode` stream (a JPEG image) rebuilt by the rules' JPEG sanitizer, so that no
    /// EXIF, GPS, XMP, ICC, comment, second image or trailing byte inside it reaches the
    /// platform; None for other streams. A JPEG behind another filter, or one the sanitizer
    /// cannot rebuild, refuses the file.
    fn embedded_jpeg(&mut self, d: &Dict, raw: &[u8]) -> Result<Option<Vec<u8>>, Refusal> {
        let filters = match self.resolve(d.get(b"Filter").unwrap_or(&Obj::Null))? {
            Obj::Name(n) => vec![n],
            Obj::Array(a) => {
                let mut names = Vec::with_capacity(a.len());
                for f in &a {
                    if let Obj::Name(n) = self.resolve(f)? {
                        names.push(n);
                    }
                }
                names
            }
            _ => Vec::new(),
        };
        let dct = |n: &Vec<u8>| n.as_slice() == b"DCTDecode" || n.as_slice() == b"DCT";
        match filters.iter().position(dct) {
            None => Ok(None),
            Some(0) if filters.len() == 1 => crate::sanitize::rebuild_embedded(raw)
                .map(Some)
                .ok_or(Refusal::Invalid("an image stream that is not a well-formed JPEG")),
            Some(_) => Err(Refusal::Invalid("a JPEG image stream behind another filter")),
        }
    }

    fn write(&mut self, root: &Obj, order: &[u32]) -> Result<Vec<u8>, Refusal> {
        let renumber: HashMap<u32, u32> = order.iter().enumerate().map(|(i, &n)| (n, i as u32 + 1)).collect();
        let mut out = Vec::with_capacity(self.b.len().min(16 * 1024 * 1024) + 1024);
        out.extend_from_slice(
            format!("%PDF-{}.{}\n%\u{e2}\u{e3}\u{cf}\u{d3}\n", self.version.0, self.version.1).as_bytes(),
        );
        let mut offsets = Vec::with_capacity(order.len());
        for (i, &num) in order.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            match self.get(num)? {
                None => out.extend_from_slice(b"null"),
                Some(ind) => match (&ind.obj, &ind.stream) {
                    (Obj::Dict(d), Some(raw)) => {
                        let mut d = d.clone();
                        let jpeg = self.embedded_jpeg(&d, raw)?;
                        let raw = jpeg.as_deref().unwrap_or(raw);
                        d.0.retain(|(k, _)| k != b"Length");
                        d.0.push((b"Length".to_vec(), Obj::Int(raw.len() as i64)));
                        write_obj(&mut out, &Obj::Dict(d), &renumber);
                        out.extend_from_slice(b"\nstream\n");
                        out.extend_from_slice(raw);
                        out.extend_from_slice(b"\nendstream");
                    }
                    (obj, _) => write_obj(&mut out, obj, &renumber),
                },
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref_at = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", order.len() + 1).as_bytes());
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n\r\n").as_bytes());
        }
        out.extend_from_slice(format!("trailer\n<</Size {} /Root ", order.len() + 1).as_bytes());
        write_obj(&mut out, root, &renumber);
        out.extend_from_slice(format!(">>\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(out)
    }
}

/// Every dictionary inside `obj` (direct values only), outermost first.
fn visit_dicts(obj: &Obj, visit: &mut dyn FnMut(&Dict)) {
    match obj {
        Obj::Dict(d) => {
            visit(d);
            for (_, v) in &d.0 {
                visit_dicts(v, visit);
            }
        }
        Obj::Array(a) => a.iter().for_each(|v| visit_dicts(v, visit)),
        _ => {}
    }
}

/// The references inside `obj` (direct values only); `output`: not through stripped keys.
fn collect_refs(obj: &Obj, output: bool, out: &mut Vec<u32>) {
    match obj {
        Obj::Ref(r) => out.push(*r),
        Obj::Array(a) => a.iter().for_each(|v| collect_refs(v, output, out)),
        Obj::Dict(d) => {
            for (k, v) in &d.0 {
                if !(output && is_stripped(k)) {
                    collect_refs(v, output, out);
                }
            }
        }
        _ => {}
    }
}

fn write_obj(out: &mut Vec<u8>, obj: &Obj, renumber: &HashMap<u32, u32>) {
    match obj {
        Obj::Null => out.extend_from_slice(b"null"),
        Obj::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Obj::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Obj::Real(f) => {
            let s = format!("{f:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            // What rounds to zero is written `0` (not `-0`, which reads back as an integer).
            let zero = s.trim_start_matches('-').bytes().all(|c| c == b'0');
            out.extend_from_slice(if zero { b"0" } else { s.as_bytes() });
        }
        Obj::Str(s) => {
            out.push(b'<');
            for b in s {
                out.extend_from_slice(format!("{b:02X}").as_bytes());
            }
            out.push(b'>');
        }
        Obj::Name(n) => write_name(out, n),
        Obj::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_obj(out, v, renumber);
            }
            out.push(b']');
        }
        Obj::Dict(d) => {
            out.extend_from_slice(b"<<");
            for (k, v) in &d.0 {
                if is_stripped(k) {
                    continue;
                }
                write_name(out, k);
                out.push(b' ');
                write_obj(out, v, renumber);
            }
            out.extend_from_slice(b">>");
        }
        // A reference to nothing reachable (a free or missing object) reads as null.
        Obj::Ref(r) => match renumber.get(r) {
            Some(n) => out.extend_from_slice(format!("{n} 0 R").as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
    }
}

fn write_name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &c in n {
        if c == b'#' || !(0x21..=0x7E).contains(&c) || is_delim(c) {
            out.extend_from_slice(format!("#{c:02X}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

/// PNG predictors (10–15) of Flate data; no predictor (1) leaves it as it is.
fn unpredict(data: Vec<u8>, parms: &Dict) -> Result<Vec<u8>, Refusal> {
    let int = |k: &[u8], default: i64| match parms.get(k) {
        Some(Obj::Int(n)) => *n,
        _ => default,
    };
    let predictor = int(b"Predictor", 1);
    if predictor < 10 {
        return if predictor <= 1 { Ok(data) } else { Err(Refusal::Invalid("TIFF predictor")) };
    }
    let (colors, bpc, columns) = (int(b"Colors", 1), int(b"BitsPerComponent", 8), int(b"Columns", 1));
    if !(1..=32).contains(&colors) || ![1, 2, 4, 8, 16].contains(&bpc) || !(1..=1 << 20).contains(&columns) {
        return Err(Refusal::Invalid("predictor parameters"));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row = ((colors * bpc * columns + 7) / 8) as usize;
    // A row longer than the data is a lie (and would be allocated twice per row).
    if row > data.len() {
        return if data.is_empty() { Ok(data) } else { Err(Refusal::Invalid("predictor row longer than the data")) };
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let (kind, src) = (chunk[0], &chunk[1..]);
        let mut cur = vec![0u8; row];
        for i in 0..src.len() {
            let a = if i >= bpp { cur[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = src[i].wrapping_add(match kind {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => return Err(Refusal::Invalid("PNG predictor row type")),
            });
        }
        out.extend_from_slice(&cur[..src.len()]);
        prev = cur;
    }
    Ok(out)
}

/// `%PDF-x.y` at the start.
fn header_version(b: &[u8]) -> Option<(u8, u8)> {
    match b {
        [b'%', b'P', b'D', b'F', b'-', major @ b'1'..=b'2', b'.', minor @ b'0'..=b'9', ..] => {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// The offset after the last `startxref`.
fn startxref(b: &[u8]) -> Option<usize> {
    let at = rfind(b, b"startxref")?;
    let mut p = Parser::new(b, at + b"startxref".len(), 0);
    p.uint().and_then(|n| usize::try_from(n).ok())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF with correct offsets from object bodies (numbered from 1) and a trailer body.
    pub(crate) fn build(objects: &[&[u8]], trailer: &str) -> Vec<u8> {
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

    const CONTENT: &[u8] = b"<</Length 23>>stream\nBT /F1 12 Tf (x) Tj ET\nendstream";

    fn one_page(catalog_extra: &str, page_extra: &str) -> Vec<u8> {
        let catalog = format!("<</Type/Catalog/Pages 2 0 R{catalog_extra}>>");
        let page = format!("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R{page_extra}>>");
        build(
            &[catalog.as_bytes(), b"<</Type/Pages/Kids[3 0 R]/Count 1>>", page.as_bytes(), CONTENT],
            "/Size 5/Root 1 0 R",
        )
    }

    #[test]
    fn a_plain_pdf_is_rewritten_and_the_rewrite_is_a_fixpoint() {
        let pdf = one_page("", "");
        let c = sanitize(&pdf).expect("valid");
        assert_eq!(c.pages, 1);
        assert!(c.bytes.ends_with(b"%%EOF\n") && c.bytes.starts_with(b"%PDF-1.7\n"));
        let again = sanitize(&c.bytes).expect("its own output is valid");
        assert_eq!(again.bytes, c.bytes);
    }

    #[test]
    fn names_are_decoded_so_escaped_encrypt_is_seen() {
        let mut pdf = one_page("", "");
        let at = rfind(&pdf, b"/Root").unwrap();
        pdf.splice(at..at, b"/Encr#79pt 9 0 R".iter().copied());
        // The offsets before the trailer are unchanged; startxref still points at the table.
        assert_eq!(sanitize(&pdf), Err(Refusal::Encrypted));
    }

    #[test]
    fn active_content_is_refused_and_actions_stripped() {
        let js = one_page("/Names<</JavaScript<</Names[(a) <</S/JavaScript/JS(app.alert(1))>>]>>>>", "");
        assert_eq!(sanitize(&js), Err(Refusal::Active(vec!["JavaScript"])));
        let uri = one_page("", "/Annots[<</Subtype/Link/A<</S/URI/URI( JavaScript:alert(1))>>>>]");
        assert_eq!(sanitize(&uri), Err(Refusal::Active(vec!["URI javascript:"])));
        let goto = one_page("/OpenAction[3 0 R/Fit]/Metadata 4 0 R", "/AA<</O<</S/GoTo/D[3 0 R/Fit]>>>>");
        let c = sanitize(&goto).expect("a destination is stripped, not refused");
        assert_eq!(c.stripped, vec!["/OpenAction", "/Metadata", "/AA"]);
        assert!(find(&c.bytes, b"OpenAction").is_none() && find(&c.bytes, b"/AA").is_none());
        assert!(find(&c.bytes, b"Metadata").is_none());
        let openjs = one_page("/OpenAction<</S/JavaScript/JS(x)>>", "");
        assert_eq!(sanitize(&openjs), Err(Refusal::Active(vec!["JavaScript"])));
    }

    #[test]
    fn pages_need_content() {
        let empty = build(
            &[b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>", b"<</Type/Page/Parent 2 0 R>>"],
            "/Size 4/Root 1 0 R",
        );
        assert_eq!(sanitize(&empty), Err(Refusal::NoPages));
        let none = build(&[b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"], "/Size 3/Root 1 0 R");
        assert_eq!(sanitize(&none), Err(Refusal::NoPages));
    }

    #[test]
    fn what_is_not_a_pdf_is_invalid() {
        assert!(matches!(sanitize(b"%PDF-1.7 %%EOF"), Err(Refusal::Invalid(_))));
        assert!(matches!(sanitize(b"%PDF-1.4\nPK\x03\x04junk\nstartxref\n5\n%%EOF"), Err(Refusal::Invalid(_))));
        assert!(matches!(sanitize(b""), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn nesting_and_values_are_bounded() {
        let deep = format!("<</Type/Catalog/Pages 2 0 R/X {}{}>>", "[".repeat(100), "]".repeat(100));
        let pdf = build(&[deep.as_bytes(), b"<</Type/Pages/Kids[]>>"], "/Size 3/Root 1 0 R");
        assert_eq!(sanitize(&pdf), Err(Refusal::TooMuch(Limit::Depth)));
        let wide = format!("<</Type/Catalog/Pages 2 0 R/X [{}]>>", "0 ".repeat(MAX_ELEMENTS + 1));
        let pdf = build(&[wide.as_bytes(), b"<</Type/Pages/Kids[]>>"], "/Size 3/Root 1 0 R");
        assert_eq!(sanitize(&pdf), Err(Refusal::TooMuch(Limit::Elements)));
    }

    #[test]
    fn a_chain_of_indirect_lengths_does_not_recurse_through_the_file() {
        // Stream n's /Length is object n+1, itself a stream: 3000 deep.
        let mut objects: Vec<Vec<u8>> =
            vec![b"<</Type/Catalog/Pages 2 0 R/X 3 0 R>>".to_vec(), b"<</Type/Pages/Kids[]>>".to_vec()];
        for n in 3..3003 {
            objects.push(format!("<</Length {} 0 R>>stream\nx\nendstream", n + 1).into_bytes());
        }
        let refs: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
        let pdf = build(&refs, "/Size 3003/Root 1 0 R");
        assert!(sanitize(&pdf).is_err());
    }

    #[test]
    fn png_predictors_round_trip() {
        // Two rows of 3 bytes, "Up" predicted: the second row adds the first.
        let data = vec![2, 1, 2, 3, 2, 1, 1, 1];
        let mut parms = Dict::default();
        parms.insert(b"Predictor".to_vec(), Obj::Int(12));
        parms.insert(b"Columns".to_vec(), Obj::Int(3));
        assert_eq!(unpredict(data, &parms).unwrap(), vec![1, 2, 3, 2, 3, 4]);
    }

    #[test]
    fn names_and_strings_are_written_so_they_read_back() {
        let mut out = Vec::new();
        let obj = Obj::Array(vec![Obj::Name(b"A B#(".to_vec()), Obj::Str(b"(\\)".to_vec()), Obj::Real(-0.5)]);
        write_obj(&mut out, &obj, &HashMap::new());
        assert_eq!(out, b"[/A#20B#23#28 <285C29> -0.5]");
        let back = Parser::new(&out, 0, 100).object(0).unwrap();
        assert_eq!(back, obj);
    }
}
