//! The receipt number a person keeps (rules.md §5, issue 13 item 7): 12 characters in three
//! groups of four (`7Q2M-4F8D-K3XT`), from Crockford's base-32 alphabet (no I, L, O or U, so
//! nothing reads as another character), the last one a check character. 11 payload characters
//! carry 55 random bits. The id of the API stays the UUID; the number is for people, and the
//! server still authorises every lookup, so knowing a number alone gives nothing.
//!
//! The check character is a weighted sum over GF(32) with the weights α¹…α¹¹ (α a primitive
//! element). Every weight is non-zero, so every single wrong character is caught; weights of
//! neighbours differ by a factor α ≠ 1 (and α² ≠ 1 two apart), so every swap of two adjacent
//! characters, or of two characters one apart, is caught too.

use std::fmt;

/// The alphabet (Crockford base 32): digits, then letters without I, L, O and U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Payload characters.
pub const PAYLOAD: usize = 11;
/// Characters in all, the check character included.
pub const LENGTH: usize = PAYLOAD + 1;
/// Random bits carried.
pub const BITS: u32 = 5 * PAYLOAD as u32;

/// A receipt number with a valid check character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptNumber([u8; LENGTH]);

/// Multiplication in GF(2⁵) modulo x⁵ + x² + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut out = 0;
    while b != 0 {
        if b & 1 != 0 {
            out ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0x25;
        }
    }
    out
}

/// The check value of the payload values (each 0..32).
fn check_value(payload: &[u8]) -> u8 {
    let mut weight = 1u8;
    let mut sum = 0u8;
    for &d in payload {
        weight = gf_mul(weight, 2);
        sum ^= gf_mul(weight, d);
    }
    sum
}

fn value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET.iter().position(|&a| char::from(a) == c).and_then(|p| u8::try_from(p).ok())
}

impl ReceiptNumber {
    /// The number carrying the low [`BITS`] bits of `bits` (the server passes random bits).
    pub fn from_bits(bits: u64) -> ReceiptNumber {
        let mut values = [0u8; LENGTH];
        for (i, v) in values.iter_mut().take(PAYLOAD).enumerate() {
            let shift = 5 * (PAYLOAD - 1 - i);
            *v = u8::try_from((bits >> shift) & 31).unwrap_or(0);
        }
        values[PAYLOAD] = check_value(&values[..PAYLOAD]);
        ReceiptNumber(values.map(|v| ALPHABET[usize::from(v)]))
    }

    /// Reads a number as a person types it: any case, with or without the hyphens or spaces, O
    /// for 0 and I or L for 1. `None` when the length or the check character is wrong.
    pub fn parse(s: &str) -> Option<ReceiptNumber> {
        let values: Vec<u8> = s.chars().filter(|c| !matches!(c, '-' | ' ')).map(value).collect::<Option<Vec<u8>>>()?;
        if values.len() != LENGTH || check_value(&values[..PAYLOAD]) != values[PAYLOAD] {
            return None;
        }
        let mut out = [0u8; LENGTH];
        for (o, v) in out.iter_mut().zip(&values) {
            *o = ALPHABET[usize::from(*v)];
        }
        Some(ReceiptNumber(out))
    }

    /// The receipt number of a submission id (a UUID): its last 55 bits, random in a UUIDv7
    /// (the `rand_b` field). `None` when `id` is not a UUID.
    pub fn for_id(id: &str) -> Option<ReceiptNumber> {
        let hex: String = id.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(&hex[16..], 16).ok().map(ReceiptNumber::from_bits)
    }

    /// The payload bits (the inverse of [`ReceiptNumber::from_bits`] on its low [`BITS`] bits).
    pub fn bits(&self) -> u64 {
        self.0[..PAYLOAD].iter().fold(0u64, |acc, c| (acc << 5) | u64::from(value(char::from(*c)).unwrap_or(0)))
    }

    /// The 12 characters without hyphens (what a store keeps under a unique constraint).
    pub fn compact(&self) -> String {
        self.0.iter().map(|&c| char::from(c)).collect()
    }
}

impl fmt::Display for ReceiptNumber {
    /// `XXXX-XXXX-XXXX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.0.chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            for &c in group {
                write!(f, "{}", char::from(c))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// A small deterministic generator (SplitMix64), so the sample is the same on every run.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn format_is_three_groups_of_four_from_the_unambiguous_alphabet() {
        let mut seed = 1;
        for _ in 0..10_000 {
            let n = ReceiptNumber::from_bits(splitmix(&mut seed));
            let s = n.to_string();
            assert_eq!(s.len(), 14, "{s}");
            let groups: Vec<&str> = s.split('-').collect();
            assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![4, 4, 4], "{s}");
            assert!(s.chars().filter(|c| *c != '-').all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{s}");
            assert!(!s.contains(['I', 'L', 'O', 'U']), "{s}");
            assert_eq!(ReceiptNumber::parse(&s), Some(n));
            assert_eq!(ReceiptNumber::parse(&n.compact().to_ascii_lowercase()), Some(n), "typed without hyphens");
        }
        assert_eq!(ALPHABET.iter().collect::<HashSet<_>>().len(), 32);
        assert_eq!(ReceiptNumber::from_bits(0).to_string(), "0000-0000-0000");
    }

    #[test]
    fn the_payload_carries_55_bits_and_reads_back() {
        let mut seed = 2;
        for _ in 0..10_000 {
            let bits = splitmix(&mut seed);
            assert_eq!(ReceiptNumber::from_bits(bits).bits(), bits & ((1 << BITS) - 1));
        }
    }

    #[test]
    fn the_check_character_catches_every_single_error_and_every_swap_of_neighbours() {
        let mut seed = 3;
        for _ in 0..300 {
            let n = ReceiptNumber::from_bits(splitmix(&mut seed)).compact();
            let chars: Vec<char> = n.chars().collect();
            for i in 0..LENGTH {
                for &other in ALPHABET {
                    let other = char::from(other);
                    if other == chars[i] {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[i] = other;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(ReceiptNumber::parse(&typo), None, "{n} → {typo}");
                }
                for gap in [1, 2] {
                    if i + gap < LENGTH && chars[i] != chars[i + gap] {
                        let mut swapped = chars.clone();
                        swapped.swap(i, i + gap);
                        let swapped: String = swapped.into_iter().collect();
                        assert_eq!(ReceiptNumber::parse(&swapped), None, "{n} → {swapped}");
                    }
                }
            }
            assert_eq!(ReceiptNumber::parse(&n[..LENGTH - 1]), None, "a character short");
            assert_eq!(ReceiptNumber::parse(&format!("{n}0")), None, "a character long");
        }
        // O, I and L are read as 0 and 1, U is no character of the alphabet.
        let n = ReceiptNumber::from_bits(0);
        assert_eq!(ReceiptNumber::parse("oooo-OOOO-0000"), Some(n));
        assert_eq!(ReceiptNumber::parse("UUUU-UUUU-UUUU"), None);
    }

    #[test]
    fn a_large_sample_of_random_numbers_has_no_collision() {
        // 200 000 numbers of 55 bits: the chance of any collision is about 6 in 10 million.
        let mut seed = 4;
        let mut seen = HashSet::with_capacity(200_000);
        for _ in 0..200_000 {
            assert!(seen.insert(ReceiptNumber::from_bits(splitmix(&mut seed))), "collision");
        }
        // Distinct payloads are distinct numbers: the encoding is injective on 55 bits.
        let distinct: HashSet<String> = (0..50_000u64).map(|b| ReceiptNumber::from_bits(b << 20).compact()).collect();
        assert_eq!(distinct.len(), 50_000);
    }

    #[test]
    fn a_submission_id_gives_its_number_from_its_random_bits() {
        let id = "0193a5b2-7c1e-7d3f-9a4b-5c6d7e8f9012";
        let n = ReceiptNumber::for_id(id).expect("a UUID");
        assert_eq!(n.bits(), 0x9a4b_5c6d_7e8f_9012 & ((1 << BITS) - 1));
        assert_eq!(ReceiptNumber::for_id(&id.to_ascii_uppercase()), Some(n));
        assert_eq!(ReceiptNumber::for_id("not-a-uuid"), None);
        assert_eq!(ReceiptNumber::for_id("0193a5b2-7c1e-7d3f-9a4b-5c6d7e8f901"), None);
        // Ids that differ only in their time part share the number: the store's unique constraint refuses the second.
        assert_eq!(ReceiptNumber::for_id("0193a5b2-0000-7d3f-9a4b-5c6d7e8f9012"), Some(n));
    }

    #[test]
    fn gf32_multiplication_is_a_field() {
        // α = 2 generates all 31 non-zero elements (so no weight repeats within 11 positions).
        let mut x = 1u8;
        let mut seen = HashSet::new();
        for _ in 0..31 {
            x = gf_mul(x, 2);
            assert!(seen.insert(x));
        }
        assert_eq!(x, 1);
        for a in 1..32u8 {
            assert!((1..32u8).any(|b| gf_mul(a, b) == 1), "{a} has an inverse");
        }
    }
}
