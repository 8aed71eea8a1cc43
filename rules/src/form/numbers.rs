//! Certificate, organisation and contact numbers (rules.md §4).
//!
//! Pure parsing and validation, shared by the widget and the backend:
//!
//! * certificate numbers: resident ID card (GB 11643-1999), Hong Kong / Macau /
//!   Taiwan residence permit, foreign permanent resident ID (2017 and 2023
//!   forms) and passport (ICAO 9303 document number);
//! * the unified social credit code of a unit (GB 32100-2015);
//! * mainland mobile numbers and e-mail addresses;
//! * masking for logs and display.
//!
//! Every function accepts any string (empty, non-ASCII, huge) without
//! panicking. Input is normalised first (see [`normalize`]), so full-width
//! digits and letters, surrounding whitespace and a lowercase `x` check
//! character are accepted.
//!
//! When a number has several faults, the first one in this order is reported:
//! [`NumberError::Empty`], [`NumberError::Length`], [`NumberError::Characters`],
//! [`NumberError::Region`], [`NumberError::BirthDate`], [`NumberError::CheckDigit`].
//! The specific faults (wrong region, impossible birth date) come before the
//! check digit because they tell the person what is wrong.

use std::fmt;

use super::regions::is_known_region;

/// Certificate types accepted by the collection (rules.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateType {
    /// Resident identity card of the People's Republic of China (GB 11643-1999).
    ResidentId,
    /// Residence permit for Hong Kong, Macau and Taiwan residents
    /// (18 digits, region 810000 / 820000 / 830000).
    ResidencePermit,
    /// Foreign permanent resident ID card (2023 18-digit form or 2017 15-character form).
    ForeignPermanentResident,
    /// Passport (ICAO 9303 document number).
    Passport,
}

impl CertificateType {
    /// Every certificate type, in display order.
    pub const ALL: [CertificateType; 4] = [
        CertificateType::ResidentId,
        CertificateType::ResidencePermit,
        CertificateType::ForeignPermanentResident,
        CertificateType::Passport,
    ];

    /// The stable identifier, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateType::ResidentId => "resident_id",
            CertificateType::ResidencePermit => "residence_permit",
            CertificateType::ForeignPermanentResident => "foreign_permanent_resident",
            CertificateType::Passport => "passport",
        }
    }

    /// The name shown to people, zh-CN and English.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            CertificateType::ResidentId => ("居民身份证", "Resident ID card"),
            CertificateType::ResidencePermit => ("港澳台居民居住证", "Hong Kong, Macao and Taiwan residence permit"),
            CertificateType::ForeignPermanentResident => ("外国人永久居留身份证", "Foreign permanent resident ID card"),
            CertificateType::Passport => ("护照", "Passport"),
        }
    }

    /// Parses the identifier returned by [`CertificateType::as_str`]
    /// (surrounding whitespace and ASCII case are ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(s))
    }
}

/// Gender as encoded in an 18-digit certificate number (odd sequence digit: male).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    /// Odd 17th digit.
    Male,
    /// Even 17th digit.
    Female,
}

/// A calendar date (proleptic Gregorian, years 1 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, 1 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31 depending on the month.
    pub day: u8,
}

impl Date {
    /// The date, if it exists in the calendar (leap years included) and the
    /// year is between 1 and 9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD` (ASCII digits, zero-padded).
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = u16::try_from(digits_value(&b[0..4])?).ok()?;
        let month = u8::try_from(digits_value(&b[5..7])?).ok()?;
        let day = u8::try_from(digits_value(&b[8..10])?).ok()?;
        Date::new(year, month, day)
    }

    /// Whole years from `self` to `later`, with age semantics: the count goes
    /// up on the anniversary (for 29 February, on 1 March in common years).
    /// Returns 0 when `later` is not after `self`.
    pub fn years_between(self, later: Date) -> u32 {
        if later <= self {
            return 0;
        }
        let years = u32::from(later.year).saturating_sub(u32::from(self.year));
        if (later.month, later.day) < (self.month, self.day) { years.saturating_sub(1) } else { years }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// What an 18-digit number tells (resident ID, residence permit, 2023 foreign
/// permanent resident ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdFacts {
    /// The first six digits as a number (for the 2023 foreign permanent
    /// resident ID: `9`, the province code and the nationality code).
    pub region: u32,
    /// Birth date (digits 7 to 14).
    pub birth_date: Date,
    /// Gender (digit 17: odd is male).
    pub gender: Gender,
}

/// Why a number is refused. Each variant maps to a stable problem code elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Nothing was entered (only whitespace).
    Empty,
    /// Wrong number of characters (also: e-mail local part, label or total too long).
    Length,
    /// A character that is not allowed here, or a pattern that does not fit
    /// (mobile prefix, e-mail syntax, passport without digits).
    Characters,
    /// The check digit / check character does not match.
    CheckDigit,
    /// The encoded birth date does not exist, is in the future or before 1900.
    BirthDate,
    /// The region (or province, or country code for mobiles) is not accepted
    /// for this kind of number.
    Region,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberError::Empty => "the number is empty",
            NumberError::Length => "the number has the wrong length",
            NumberError::Characters => "the number contains characters that are not allowed here",
            NumberError::CheckDigit => "the check character does not match",
            NumberError::BirthDate => "the birth date in the number is not valid",
            NumberError::Region => "the region code in the number is not valid for this type",
        })
    }
}

impl std::error::Error for NumberError {}

/// Normalises: maps full-width ASCII forms (U+FF01..U+FF5E, e.g. `１` `Ｘ` `ｘ`)
/// and the ideographic space to ASCII, trims, and uppercases ASCII letters
/// (so a resident ID's lowercase `x` becomes `X`).
pub fn normalize(input: &str) -> String {
    map_full_width(input).trim().to_ascii_uppercase()
}

/// Parses a certificate number of the given type; `today` bounds the birth
/// date (not after `today`, not before 1900-01-01).
///
/// * `ResidentId`: 17 digits and a check character (digit or `X`, ISO 7064
///   MOD 11-2), birth date `YYYYMMDD` at positions 7-14, a known GB/T 2260
///   region that is not 810000 / 820000 / 830000 (those are permits). The
///   legacy 15-digit form is refused with [`NumberError::Length`].
/// * `ResidencePermit`: the same format, region exactly 810000, 820000 or 830000.
/// * `ForeignPermanentResident`: the 2023 form (18 digits, starting with `9`,
///   digits 2-3 a mainland province code, same check and birth date) returns
///   its facts; the 2017 form (3 letters, 2-digit province code, `YYMMDD`,
///   3-digit sequence, check digit) is validated without the check digit,
///   whose algorithm is not published, and returns `Ok(None)` because it
///   encodes no gender. For `YY` the century is 20 unless that date would be
///   after `today`, then 19.
/// * `Passport`: 5 to 9 characters `A-Z` / `0-9`, at least one digit; returns `Ok(None)`.
pub fn parse_certificate(kind: CertificateType, input: &str, today: Date) -> Result<Option<IdFacts>, NumberError> {
    let s = normalize(input);
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    match kind {
        CertificateType::ResidentId => {
            parse_18(&s, today, |region| is_known_region(region) && !is_permit_region(region)).map(Some)
        }
        CertificateType::ResidencePermit => parse_18(&s, today, is_permit_region).map(Some),
        CertificateType::ForeignPermanentResident => match s.chars().count() {
            18 => parse_18(&s, today, |region| region / 100_000 == 9 && is_mainland_province(region / 1000 % 100))
                .map(Some),
            15 => parse_foreign_2017(&s, today).map(|()| None),
            _ => Err(NumberError::Length),
        },
        CertificateType::Passport => parse_passport(&s).map(|()| None),
    }
}

/// Checks a unified social credit code (GB 32100-2015): 18 characters from
/// `0-9` and `A-Y` without `I O S V Z`, positions 3-8 six digits (the region
/// code; the table is not consulted), and the MOD 31 check character.
pub fn check_uscc(input: &str) -> Result<(), NumberError> {
    let s = normalize(input);
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    if s.chars().count() != 18 {
        return Err(NumberError::Length);
    }
    let b = s.as_bytes();
    if !b.iter().all(|&c| uscc_value(c).is_some()) {
        return Err(NumberError::Characters);
    }
    if !b[2..8].iter().all(u8::is_ascii_digit) {
        return Err(NumberError::Region);
    }
    match uscc_check_char(&s[..17]) {
        Some(check) if u32::from(b[17]) == u32::from(check) => Ok(()),
        _ => Err(NumberError::CheckDigit),
    }
}

/// The ISO 7064 MOD 11-2 check character (`0`-`9` or `X`) for the first 17
/// digits of an 18-digit certificate number; `None` unless `first17` is
/// exactly 17 ASCII digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b.iter().zip(WEIGHTS).map(|(&c, w)| u32::from(c - b'0') * w).sum();
    CHECK.get(usize::try_from(sum % 11).ok()?).map(|&c| char::from(c))
}

/// The GB 32100-2015 check character for the first 17 characters of a unified
/// social credit code; `None` unless `first17` is exactly 17 characters of the
/// code's alphabet (uppercase, not normalised).
pub fn uscc_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let b = first17.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&c, w) in b.iter().zip(WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.get(usize::try_from(check).ok()?).map(|&c| char::from(c))
}

/// Checks a Chinese mainland mobile number and returns its 11 digits.
///
/// After [`normalize`], spaces (any whitespace) and dashes are removed, and a
/// leading `+86`, `0086` or `86` country code is dropped; what remains must be
/// `1[3-9]` followed by 9 digits. Errors: any other character, or a wrong
/// prefix, is [`NumberError::Characters`]; another `+` country code is
/// [`NumberError::Region`]; a wrong digit count is [`NumberError::Length`].
pub fn check_mobile(input: &str) -> Result<String, NumberError> {
    let s: String = normalize(input).chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    let digits = match s.strip_prefix('+') {
        Some(rest) => {
            if !rest.bytes().all(|c| c.is_ascii_digit()) {
                return Err(NumberError::Characters);
            }
            rest.strip_prefix("86").ok_or(NumberError::Region)?
        }
        None => {
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(NumberError::Characters);
            }
            match s.len() {
                13 => s.strip_prefix("86").unwrap_or(&s),
                15 => s.strip_prefix("0086").unwrap_or(&s),
                _ => &s,
            }
        }
    };
    let b = digits.as_bytes();
    if b.len() != 11 {
        return Err(NumberError::Length);
    }
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(NumberError::Characters);
    }
    Ok(digits.to_owned())
}

/// Pragmatic e-mail check; returns the address trimmed (full-width forms such
/// as `＠` mapped to ASCII, case kept).
///
/// One `@`; a local part of 1 to 64 characters from RFC 5322 `atext` and dots
/// (no leading, trailing or double dot); a domain with at least one dot, labels
/// of `A-Z a-z 0-9 -` (1 to 63, not starting or ending with `-`) and a
/// top-level label of at least 2 letters or a punycode `xn--` label; at most
/// 254 characters. Internationalised domains are accepted in punycode only.
/// Too long is [`NumberError::Length`], everything else [`NumberError::Characters`].
pub fn check_email(input: &str) -> Result<String, NumberError> {
    let mapped = map_full_width(input);
    let s = mapped.trim();
    if s.is_empty() {
        return Err(NumberError::Empty);
    }
    if s.chars().count() > 254 {
        return Err(NumberError::Length);
    }
    if !s.is_ascii() {
        return Err(NumberError::Characters);
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(NumberError::Characters);
    };
    if domain.contains('@') || local.is_empty() {
        return Err(NumberError::Characters);
    }
    if local.len() > 64 {
        return Err(NumberError::Length);
    }
    let local_ok = local.split('.').all(|atom| {
        !atom.is_empty() && atom.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c))
    });
    if !local_ok {
        return Err(NumberError::Characters);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(NumberError::Characters);
    }
    if labels.iter().any(|label| label.len() > 63) {
        return Err(NumberError::Length);
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    });
    let tld = labels.last().copied().unwrap_or_default();
    let tld_ok = (tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()))
        || (tld.len() >= 5 && tld[..4].eq_ignore_ascii_case("xn--"));
    if !labels_ok || !tld_ok {
        return Err(NumberError::Characters);
    }
    Ok(s.to_owned())
}

/// Masks a number for logs and display: the surrounding whitespace is trimmed,
/// then numbers of 11 characters or more keep their first 3 and last 4
/// characters (`350***********1234`, `138****5678`); shorter ones of 3 to 10
/// characters keep only the first and last (`E*******8`); 1 or 2 characters
/// are masked completely. Every hidden character becomes one `*`.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        11.. => (3, 4),
        3..=10 => (1, 1),
        _ => (0, 0),
    };
    chars.iter().enumerate().map(|(i, &c)| if i < head || i + tail >= n { c } else { '*' }).collect()
}

/// The unified social credit code alphabet; a character's value is its index.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn uscc_value(c: u8) -> Option<u32> {
    let index = USCC_ALPHABET.iter().position(|&a| a == c)?;
    u32::try_from(index).ok()
}

fn map_full_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The value of a run of ASCII digits (at most 9, so it fits); `None` if any
/// byte is not a digit or the run is empty or too long.
fn digits_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_permit_region(region: u32) -> bool {
    matches!(region, 810_000 | 820_000 | 830_000)
}

/// Two-digit GB/T 2260 province codes of the mainland (where foreign permanent
/// resident IDs are issued).
fn is_mainland_province(code: u32) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65)
}

/// A birth date that exists, is not before 1900-01-01 and not after `today`.
fn birth_date(year: u32, month: u32, day: u32, today: Date) -> Result<Date, NumberError> {
    const EARLIEST: Date = Date { year: 1900, month: 1, day: 1 };
    let date = match (u16::try_from(year), u8::try_from(month), u8::try_from(day)) {
        (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d),
        _ => None,
    };
    match date {
        Some(date) if date >= EARLIEST && date <= today => Ok(date),
        _ => Err(NumberError::BirthDate),
    }
}

/// The common 18-digit format (GB 11643-1999 layout): `region_ok` decides on
/// the first six digits.
fn parse_18(s: &str, today: Date, region_ok: impl Fn(u32) -> bool) -> Result<IdFacts, NumberError> {
    if s.chars().count() != 18 {
        return Err(NumberError::Length);
    }
    let b = s.as_bytes();
    if !s.is_ascii() || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(NumberError::Characters);
    }
    let field = |range: std::ops::Range<usize>| b.get(range).and_then(digits_value).unwrap_or(0);
    let region = field(0..6);
    if !region_ok(region) {
        return Err(NumberError::Region);
    }
    let birth_date = birth_date(field(6..10), field(10..12), field(12..14), today)?;
    if resident_id_check_char(&s[..17]).map(u32::from) != Some(u32::from(b[17])) {
        return Err(NumberError::CheckDigit);
    }
    let gender = if field(16..17) % 2 == 1 { Gender::Male } else { Gender::Female };
    Ok(IdFacts { region, birth_date, gender })
}

/// The 2017 foreign permanent resident ID: `AAA` + province `PP` + `YYMMDD`
/// + 3-digit sequence + check digit (not verified).
fn parse_foreign_2017(s: &str, today: Date) -> Result<(), NumberError> {
    let b = s.as_bytes();
    if b.len() != 15 || !b[..3].iter().all(u8::is_ascii_uppercase) || !b[3..].iter().all(u8::is_ascii_digit) {
        return Err(NumberError::Characters);
    }
    let field = |range: std::ops::Range<usize>| b.get(range).and_then(digits_value).unwrap_or(0);
    if !is_mainland_province(field(3..5)) {
        return Err(NumberError::Region);
    }
    let (yy, month, day) = (field(5..7), field(7..9), field(9..11));
    // 20YY unless that date is after `today` (or impossible), then 19YY.
    let century = if birth_date(2000 + yy, month, day, today).is_ok() { 2000 } else { 1900 };
    birth_date(century + yy, month, day, today).map(|_| ())
}

/// ICAO 9303 document number: 5 to 9 of `A-Z 0-9`, at least one digit.
fn parse_passport(s: &str) -> Result<(), NumberError> {
    if !(5..=9).contains(&s.chars().count()) {
        return Err(NumberError::Length);
    }
    let b = s.as_bytes();
    if !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) || !b.iter().any(u8::is_ascii_digit) {
        return Err(NumberError::Characters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::CertificateType::{ForeignPermanentResident as F, Passport as P};
    use super::CertificateType::{ResidencePermit as H, ResidentId as R};
    use super::Gender::{Female, Male};
    use super::NumberError::{BirthDate, Characters, CheckDigit, Empty, Length, Region};
    use super::*;
    use proptest::prelude::*;

    const TODAY: Date = Date { year: 2025, month: 6, day: 30 };
    const OK: Result<(), NumberError> = Ok(());

    /// County-level codes that every GB/T 2260 revision knows.
    const REGIONS: [&str; 8] = ["110105", "350203", "350206", "310101", "440305", "330106", "510104", "420102"];

    /// Completes 17 digits with their MOD 11-2 check character.
    fn id(first17: &str) -> String {
        let check = resident_id_check_char(first17).expect("17 digits");
        format!("{first17}{check}")
    }

    /// Completes 17 characters with their GB 32100 check character.
    fn uscc(first17: &str) -> String {
        let check = uscc_check_char(first17).expect("17 code characters");
        format!("{first17}{check}")
    }

    /// Maps ASCII to full-width forms.
    fn wide(s: &str) -> String {
        s.chars().map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c)).collect()
    }

    fn date(s: &str) -> Date {
        Date::parse_iso(s).expect("test date")
    }

    fn check(kind: CertificateType, input: &str, expected: Result<(), NumberError>) {
        let got = parse_certificate(kind, input, TODAY).map(|_| ());
        assert_eq!(got, expected, "{kind:?} {input:?}");
    }

    fn facts(kind: CertificateType, input: &str, region: u32, birth: &str, gender: Gender) {
        let expected = IdFacts { region, birth_date: date(birth), gender };
        assert_eq!(parse_certificate(kind, input, TODAY), Ok(Some(expected)), "{kind:?} {input:?}");
    }

    #[test]
    fn resident_id() {
        check(R, "11010519491231002X", OK);
        check(R, "11010519491231002x", OK);
        check(R, "  11010519491231002X\t", OK);
        check(R, "１１０１０５１９４９１２３１００２Ｘ", OK);
        check(R, "１１０１０５１９４９１２３１００２ｘ", OK);
        check(R, "\u{3000}11010519491231002X\u{3000}", OK);
        check(R, &id("35020319900101123"), OK);
        check(R, &wide(&id("35020619851130456")), OK);
        check(R, &id("35020320250630001"), OK); // born today
        check(R, &id("35020319000101001"), OK); // earliest accepted
        check(R, &id("35020319920229123"), OK); // leap year
        check(R, &id("35020320000229123"), OK); // leap year (400)
        check(R, "", Err(Empty));
        check(R, " \t\u{3000} ", Err(Empty));
        check(R, "110105491231002", Err(Length)); // legacy 15-digit card
        check(R, "11010519491231002", Err(Length));
        check(R, "11010519491231002X0", Err(Length));
        check(R, "1101051949 1231002X", Err(Length));
        check(R, "11010519491231002A", Err(Characters));
        check(R, "1101051949123100X2", Err(Characters));
        check(R, "11010519491231002é", Err(Characters));
        check(R, "110105194912310021", Err(CheckDigit));
        check(R, "110105194912310020", Err(CheckDigit));
        check(R, &id("35020319930229123"), Err(BirthDate)); // common year
        check(R, &id("35020319000229123"), Err(BirthDate)); // 1900 is not leap
        check(R, &id("35020319901301123"), Err(BirthDate));
        check(R, &id("35020319900431123"), Err(BirthDate));
        check(R, &id("35020319900100123"), Err(BirthDate));
        check(R, &id("35020320250701123"), Err(BirthDate)); // tomorrow
        check(R, &id("35020318991231123"), Err(BirthDate));
        check(R, &id("81000019900101123"), Err(Region)); // Hong Kong permit
        check(R, &id("82000019900101123"), Err(Region));
        check(R, &id("83000019900101123"), Err(Region));
        check(R, &id("00000019900101123"), Err(Region));
        check(R, &id("99010119900101123"), Err(Region));
        check(R, &id("93515619900101123"), Err(Region)); // foreign 2023 form
    }

    #[test]
    fn resident_id_facts() {
        facts(R, "11010519491231002X", 110_105, "1949-12-31", Female);
        facts(R, &id("35020319920229123"), 350_203, "1992-02-29", Male);
        facts(R, &id("35020619851130456"), 350_206, "1985-11-30", Female);
        facts(H, &id("81000019900101001"), 810_000, "1990-01-01", Male);
        facts(F, &id("93515619800515002"), 935_156, "1980-05-15", Female);
    }

    #[test]
    fn residence_permit() {
        check(H, &id("81000019900101123"), OK);
        check(H, &id("82000019900101123"), OK);
        check(H, &wide(&id("83000019900101123")), OK);
        check(H, &id("35020319900101123"), Err(Region));
        check(H, &id("81000119900101123"), Err(Region));
        check(H, &id("71000019900101123"), Err(Region));
        check(H, "11010519491231002X", Err(Region));
        check(H, &id("81000019930229123"), Err(BirthDate));
        check(H, "810000199001011231", Err(CheckDigit));
        check(H, "81000019900101123", Err(Length));
        check(H, "", Err(Empty));
    }

    #[test]
    fn foreign_permanent_resident() {
        check(F, &id("93515619800515001"), OK); // 2023: Fujian, China
        check(F, &id("91184019800515001"), OK); // Beijing, USA
        check(F, &id("93515619800515001").to_lowercase(), OK);
        check(F, &id("35020319800515001"), Err(Region)); // a resident ID
        check(F, &id("99915619800515001"), Err(Region)); // no province 99
        check(F, &id("98115619800515001"), Err(Region)); // Hong Kong
        check(F, &id("93515619800231001"), Err(BirthDate));
        check(F, &id("93515620300101001"), Err(BirthDate));
        check(F, "93515619800515001A", Err(Characters));
        check(F, "USA358501011234", OK); // 2017: USA, Fujian, 1985-01-01
        check(F, "usa358501011234", OK);
        check(F, "ｕｓａ３５８５０１０１１２３４", OK);
        check(F, "USA350002291234", OK); // 2000-02-29
        check(F, "USA352506301234", OK); // 2025-06-30
        check(F, "USA352507011234", OK); // 1925-07-01
        check(F, "USA350102291234", Err(BirthDate)); // 2001-02-29
        check(F, "USA358513011234", Err(BirthDate));
        check(F, "USA998501011234", Err(Region));
        check(F, "USA818501011234", Err(Region));
        check(F, "US1358501011234", Err(Characters));
        check(F, "USA35850101123X", Err(Characters));
        check(F, "USÄ358501011234", Err(Characters));
        check(F, "USA35850101123", Err(Length));
        check(F, "USA3585010112345", Err(Length));
        check(F, "", Err(Empty));
        assert_eq!(parse_certificate(F, "USA358501011234", TODAY), Ok(None));
    }

    #[test]
    fn passport() {
        check(P, "E12345678", OK);
        check(P, "EA1234567", OK);
        check(P, "EB1234567", OK);
        check(P, "G12345678", OK);
        check(P, "D1234567", OK);
        check(P, "P1234567", OK);
        check(P, "S1234567", OK);
        check(P, " e12345678 ", OK);
        check(P, "Ｅ１２３４５６７８", OK);
        check(P, "12345", OK);
        check(P, "C03005988", OK);
        check(P, "", Err(Empty));
        check(P, "1234", Err(Length));
        check(P, "E123456789", Err(Length));
        check(P, "ABCDEFG", Err(Characters));
        check(P, "E1234-567", Err(Characters));
        check(P, "E1234 567", Err(Characters));
        check(P, "护照123456", Err(Characters));
        assert_eq!(parse_certificate(P, "E12345678", TODAY), Ok(None));
    }

    #[test]
    fn uscc_cases() {
        let cases: &[(&str, Result<(), NumberError>)] = &[
            ("91350100M000100Y43", OK),
            ("91110000600037341L", OK),
            ("91350100m000100y43", OK),
            (" ９１３５０１００Ｍ０００１００Ｙ４３ ", OK),
            (&uscc("91350203MA2Y0L0K1"), OK),
            (&uscc("12350200004100000"), OK),
            ("", Err(Empty)),
            ("91350100M000100Y4", Err(Length)),
            ("91350100M000100Y430", Err(Length)),
            ("91350100M000100Y4I", Err(Characters)),
            ("91350100O000100Y43", Err(Characters)),
            ("91350100M000100Y4中", Err(Characters)),
            ("9135A100M000100Y43", Err(Region)),
            ("91350100M000100Y44", Err(CheckDigit)),
            ("91350100M000100Y40", Err(CheckDigit)),
        ];
        for (input, expected) in cases {
            assert_eq!(check_uscc(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn check_char_helpers() {
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        assert_eq!(resident_id_check_char("1101051949123100"), None);
        assert_eq!(resident_id_check_char("1101051949123100A"), None);
        assert_eq!(resident_id_check_char("１１０１０５１９４９１２３１００２"), None);
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
        assert_eq!(uscc_check_char("91110000600037341"), Some('L'));
        assert_eq!(uscc_check_char("91350100M000100Y"), None);
        assert_eq!(uscc_check_char("91350100I000100Y4"), None);
        assert_eq!(uscc_check_char("91350100m000100y4"), None);
    }

    #[test]
    fn mobile() {
        let cases: &[(&str, Result<&str, NumberError>)] = &[
            ("13812345678", Ok("13812345678")),
            ("19912345678", Ok("19912345678")),
            (" 138 1234 5678 ", Ok("13812345678")),
            ("138-1234-5678", Ok("13812345678")),
            ("+8613812345678", Ok("13812345678")),
            ("+86 138 1234 5678", Ok("13812345678")),
            ("+86-138-1234-5678", Ok("13812345678")),
            ("8613812345678", Ok("13812345678")),
            ("008613812345678", Ok("13812345678")),
            ("１３８１２３４５６７８", Ok("13812345678")),
            ("＋８６　１３８１２３４５６７８", Ok("13812345678")),
            ("", Err(Empty)),
            (" - ", Err(Empty)),
            ("1381234567", Err(Length)),
            ("138123456789", Err(Length)),
            ("+86", Err(Length)),
            ("+861381234567", Err(Length)),
            ("12812345678", Err(Characters)),
            ("23812345678", Err(Characters)),
            ("1381234567a", Err(Characters)),
            ("(138)12345678", Err(Characters)),
            ("138+12345678", Err(Characters)),
            ("+8613812345678+", Err(Characters)),
            ("+15551234567", Err(Region)),
        ];
        for (input, expected) in cases {
            let expected = expected.map(str::to_owned);
            assert_eq!(check_mobile(input), expected, "{input:?}");
        }
    }

    #[test]
    fn email() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_total = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
        let cases: &[(&str, Result<&str, NumberError>)] = &[
            ("user@example.com", Ok("user@example.com")),
            (" First.Last+tag@Sub.Example.CN ", Ok("First.Last+tag@Sub.Example.CN")),
            ("a@b.co", Ok("a@b.co")),
            ("a@xn--fiqs8s.xn--fiqs8s", Ok("a@xn--fiqs8s.xn--fiqs8s")),
            ("a@my-mail.example.org", Ok("a@my-mail.example.org")),
            ("ｕｓｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ", Ok("user@example.com")),
            ("", Err(Empty)),
            ("   ", Err(Empty)),
            (&long_local, Err(Length)),
            (&long_label, Err(Length)),
            (&long_total, Err(Length)),
            ("userexample.com", Err(Characters)),
            ("a@b@example.com", Err(Characters)),
            ("@example.com", Err(Characters)),
            ("user@", Err(Characters)),
            ("user@localhost", Err(Characters)),
            ("user@example.c", Err(Characters)),
            ("user@example.c0m", Err(Characters)),
            ("user@-example.com", Err(Characters)),
            ("user@example-.com", Err(Characters)),
            ("user@exa_mple.com", Err(Characters)),
            ("user@example..com", Err(Characters)),
            ("user@example.com.", Err(Characters)),
            (".user@example.com", Err(Characters)),
            ("us..er@example.com", Err(Characters)),
            ("us er@example.com", Err(Characters)),
            ("用户@example.com", Err(Characters)),
            ("user@例子.中国", Err(Characters)),
        ];
        for (input, expected) in cases {
            let expected = expected.map(str::to_owned);
            assert_eq!(check_email(input), expected, "{input:?}");
        }
    }

    #[test]
    fn masking() {
        let cases = [
            ("35020319900101123X", "350***********123X"),
            ("13812345678", "138****5678"),
            ("E12345678", "E*******8"),
            ("USA358501011234", "USA********1234"),
            ("abc", "a*c"),
            ("ab", "**"),
            ("a", "*"),
            ("", ""),
            (" 13812345678 ", "138****5678"),
            ("王小明证件号码一二三四五", "王小明*****二三四五"),
        ];
        for (input, expected) in cases {
            assert_eq!(mask(input), expected, "{input:?}");
        }
    }

    #[test]
    fn normalize_cases() {
        assert_eq!(normalize("  １２ｘＸ-ab\u{3000}"), "12XX-AB");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("中文 x"), "中文 X");
    }

    #[test]
    fn certificate_type_names() {
        for kind in CertificateType::ALL {
            assert_eq!(CertificateType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(CertificateType::parse(" Resident_ID "), Some(R));
        assert_eq!(CertificateType::parse("id_card"), None);
        assert_eq!(CertificateType::parse(""), None);
    }

    #[test]
    fn dates() {
        assert_eq!(Date::new(2024, 2, 29), Some(date("2024-02-29")));
        assert_eq!(Date::new(2023, 2, 29), None);
        assert_eq!(Date::new(1900, 2, 29), None);
        assert_eq!(Date::new(2000, 2, 29).map(|d| d.to_string()).as_deref(), Some("2000-02-29"));
        assert_eq!(Date::new(2024, 4, 31), None);
        assert_eq!(Date::new(2024, 13, 1), None);
        assert_eq!(Date::new(2024, 1, 0), None);
        assert_eq!(Date::new(0, 1, 1), None);
        assert_eq!(Date::new(5, 1, 1).map(|d| d.to_string()).as_deref(), Some("0005-01-01"));
        for bad in ["", "2024-2-29", "2024/02/29", "2024-02-30", "２０２４-02-01", "2024-02-01 "] {
            assert_eq!(Date::parse_iso(bad), None, "{bad:?}");
        }
        let birth = date("1990-06-15");
        assert_eq!(birth.years_between(date("2025-06-14")), 34);
        assert_eq!(birth.years_between(date("2025-06-15")), 35);
        assert_eq!(birth.years_between(date("1990-06-15")), 0);
        assert_eq!(birth.years_between(date("1980-01-01")), 0);
        let leap = date("2000-02-29");
        assert_eq!(leap.years_between(date("2001-02-28")), 0);
        assert_eq!(leap.years_between(date("2001-03-01")), 1);
        assert_eq!(leap.years_between(date("2004-02-29")), 4);
    }

    #[test]
    fn serde_names_match_as_str() {
        for kind in CertificateType::ALL {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<CertificateType>(&json).expect("deserialize"), kind);
        }
        let names = CertificateType::ALL.map(CertificateType::as_str);
        assert_eq!(names, ["resident_id", "residence_permit", "foreign_permanent_resident", "passport"]);
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900u16..=2025, 1u8..=12, 1u8..=31)
            .prop_filter_map("real date, not after today", |(y, m, d)| Date::new(y, m, d).filter(|date| *date <= TODAY))
    }

    fn digits(date: Date) -> String {
        format!("{:04}{:02}{:02}", date.year, date.month, date.day)
    }

    /// Valid 18-digit numbers of the given type with their facts.
    fn valid_18(kind: CertificateType) -> impl Strategy<Value = (String, IdFacts)> {
        let prefix = match kind {
            R => prop::sample::select(REGIONS.to_vec()).prop_map(str::to_owned).boxed(),
            H => prop::sample::select(vec!["810000", "820000", "830000"]).prop_map(str::to_owned).boxed(),
            _ => (prop::sample::select(vec![11u32, 12, 15, 21, 31, 35, 37, 44, 46, 50, 54, 65]), 0u32..1000)
                .prop_map(|(p, n)| format!("9{p:02}{n:03}"))
                .boxed(),
        };
        (prefix, any_date(), 0u32..1000).prop_map(|(prefix, birth_date, seq)| {
            let number = id(&format!("{prefix}{}{seq:03}", digits(birth_date)));
            let facts = IdFacts {
                region: prefix.parse().unwrap_or(0),
                birth_date,
                gender: if seq % 2 == 1 { Male } else { Female },
            };
            (number, facts)
        })
    }

    fn valid_uscc() -> impl Strategy<Value = String> {
        "[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{9}".prop_map(|first17| uscc(&first17))
    }

    /// Every single-character substitution from `alphabet` must be refused.
    fn assert_substitutions_fail(
        valid: &str,
        alphabet: &str,
        accepts: impl Fn(&str) -> bool,
    ) -> Result<(), TestCaseError> {
        let chars: Vec<char> = valid.chars().collect();
        for i in 0..chars.len() {
            for c in alphabet.chars().filter(|&c| c != chars[i]) {
                let mut mutated = chars.clone();
                mutated[i] = c;
                let mutated: String = mutated.into_iter().collect();
                prop_assert!(!accepts(&mutated), "{valid} -> {mutated} accepted");
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn valid_18_digit_numbers_pass_and_substitutions_fail(
            (kind, (number, expected)) in prop_oneof![
                valid_18(R).prop_map(|v| (R, v)),
                valid_18(H).prop_map(|v| (H, v)),
                valid_18(F).prop_map(|v| (F, v)),
            ]
        ) {
            prop_assert_eq!(parse_certificate(kind, &number, TODAY), Ok(Some(expected.clone())));
            prop_assert_eq!(
                parse_certificate(kind, &wide(&number.to_lowercase()), TODAY),
                Ok(Some(expected))
            );
            assert_substitutions_fail(&number, "0123456789X", |s| {
                parse_certificate(kind, s, TODAY).is_ok()
            })?;
        }

        #[test]
        fn valid_uscc_pass_and_substitutions_fail(code in valid_uscc()) {
            prop_assert_eq!(check_uscc(&code), Ok(()));
            prop_assert_eq!(check_uscc(&wide(&code.to_lowercase())), Ok(()));
            assert_substitutions_fail(&code, std::str::from_utf8(USCC_ALPHABET).unwrap_or(""), |s| {
                check_uscc(s).is_ok()
            })?;
        }

        #[test]
        fn valid_2017_foreign_ids_pass(
            nationality in "[A-Z]{3}",
            province in prop::sample::select(vec![11u32, 31, 35, 44, 65]),
            birth in any_date(),
            rest in "[0-9]{4}",
        ) {
            let number = format!("{nationality}{province}{}{rest}", &digits(birth)[2..]);
            prop_assert_eq!(parse_certificate(F, &number, TODAY), Ok(None));
        }

        #[test]
        fn valid_passports_pass(number in "[A-Z0-9]{4,8}[0-9]") {
            prop_assert_eq!(parse_certificate(P, &number, TODAY), Ok(None));
        }

        #[test]
        fn valid_mobiles_pass(number in "1[3-9][0-9]{9}", prefix in "(\\+86 ?|86|0086)?") {
            prop_assert_eq!(check_mobile(&format!("{prefix}{number}")), Ok(number.clone()));
            prop_assert_eq!(check_mobile(&wide(&number)), Ok(number));
        }

        #[test]
        fn dates_round_trip(date in any_date()) {
            prop_assert_eq!(Date::parse_iso(&date.to_string()), Some(date));
            prop_assert_eq!(date.years_between(date), 0);
            prop_assert!(date.years_between(TODAY) <= 125);
        }

        #[test]
        fn arbitrary_strings_never_panic(
            s in prop_oneof![
                any::<String>(),
                "[0-9xX９Ｘ ＋+@.\\-é中]{0,20}",
                "[0-9]{15,18}[0-9Xx]?",
            ]
        ) {
            let today = Date::new(2025, 1, 1).unwrap_or(TODAY);
            for kind in CertificateType::ALL {
                let _ = parse_certificate(kind, &s, today);
            }
            let _ = check_uscc(&s);
            let _ = check_mobile(&s);
            let _ = check_email(&s);
            let _ = resident_id_check_char(&s);
            let _ = uscc_check_char(&s);
            let _ = Date::parse_iso(&s);
            let _ = CertificateType::parse(&s);
            let _ = normalize(&s);
            prop_assert_eq!(mask(&s).chars().count(), s.trim().chars().count());
        }
    }
}
