//! One-time codes: RFC 6238 codes from an authenticator app (SHA-1, six digits, 30-second
//! steps: what every app reads from an `otpauth://` URI), and recovery codes.

use rand::{Rng, RngCore, rngs::OsRng};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a new key: 160 bits, RFC 4226's recommendation.
const KEY_BYTES: usize = 20;
/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;
/// Characters per recovery code (5 bits each: 80 bits), shown in groups of four.
const RECOVERY_CHARS: usize = 16;
/// Crockford's base 32: no I, L, O or U to misread.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// An authenticator app's key.
pub struct Totp(TOTP);

impl Totp {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = vec![0u8; KEY_BYTES];
        OsRng.fill_bytes(&mut key);
        Self::from_key(key).expect("a 160-bit key is long enough")
    }

    /// The key stored for a factor; `None` if it is too short to be one of ours.
    pub fn from_key(key: Vec<u8>) -> Option<Self> {
        TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, key)
            .ok()
            .map(Self)
    }

    /// The raw key, to seal for storage.
    pub fn key(&self) -> &[u8] {
        &self.0.secret
    }

    /// The key as apps take it typed in: base 32, no padding.
    pub fn base32(&self) -> String {
        self.0.get_secret_base32()
    }

    /// The code of `step`.
    pub fn code_at(&self, step: u64) -> String {
        self.0.generate(step * STEP)
    }

    /// The newest step, from one before `now`'s to one after (clock drift), whose code is
    /// `code`.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<u64> {
        let current = now / STEP;
        (current.saturating_sub(1)..=current + 1)
            .rev()
            .find(|step| same(self.code_at(*step).as_bytes(), code.as_bytes()))
    }

    /// The `otpauth://` URI an app reads from the QR code: the site as issuer, the account
    /// name after it.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let issuer = urlencoded(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            account = urlencoded(account),
            secret = self.base32(),
        )
    }
}

fn urlencoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Equal bytes, compared in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// What a person typed as a code: six digits from an app, or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    App(String),
    Recovery(String),
    Malformed,
}

impl Typed {
    /// Spaces and dashes are ignored; letters in any case; I and L read as 1, O as 0.
    pub fn parse(raw: &str) -> Self {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if cleaned.len() == DIGITS && cleaned.bytes().all(|b| b.is_ascii_digit()) {
            return Self::App(cleaned);
        }
        let read: String = cleaned
            .chars()
            .map(|c| match c {
                'i' | 'l' => '1',
                'o' => '0',
                other => other,
            })
            .collect();
        if read.len() == RECOVERY_CHARS && read.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            Self::Recovery(read)
        } else {
            Self::Malformed
        }
    }
}

/// A fresh set of recovery codes, as shown (`xxxx-xxxx-xxxx-xxxx`).
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..RECOVERY_CHARS)
                .map(|_| char::from(RECOVERY_ALPHABET[OsRng.gen_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            chars
                .chunks(4)
                .map(|group| group.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code (shown or typed): a SHA-256 of its normalised form.
pub fn recovery_hash(code: &str) -> Option<String> {
    match Typed::parse(code) {
        Typed::Recovery(normal) => Some(hex::encode(Sha256::digest(normal.as_bytes()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{RECOVERY_CODES, STEP, Totp, Typed, recovery_codes, recovery_hash};

    /// RFC 6238, appendix B, for SHA-1 (eight digits there; our six are its last six).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let totp = Totp::from_key(b"12345678901234567890".to_vec()).expect("key");
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.code_at(time / STEP), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let totp = Totp::generate();
        let now = 1_700_000_000;
        let step = now / STEP;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = step.checked_add_signed(offset).expect("step");
            let code = totp.code_at(at);
            let matched = totp.matching_step(&code, now);
            assert_eq!(matched.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(totp.code_at(matched.expect("step")), code);
            }
        }
        assert_eq!(totp.matching_step("12345", now), None);
    }

    #[test]
    fn the_uri_names_the_site_and_account_and_carries_the_key() {
        let totp = Totp::generate();
        let uri = totp.uri("Latch Key", "ada@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Latch%20Key:ada%40example.com?secret="),
            "{uri}"
        );
        assert!(uri.contains(&totp.base32()));
        assert!(uri.contains("&issuer=Latch%20Key&"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_forgivingly() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19, "{code}");
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(recovery_hash(&typed), recovery_hash(code));
        assert_eq!(
            Typed::parse("0o1l-iabc-defg-hjkm"),
            Typed::Recovery("0011 1abc defg hjkm".replace(' ', ""))
        );
        assert_eq!(Typed::parse(" 123 456 "), Typed::App("123456".into()));
        assert_eq!(Typed::parse("12345"), Typed::Malformed);
        assert_eq!(Typed::parse("uuuu-uuuu-uuuu-uuuu"), Typed::Malformed);
        assert_eq!(recovery_hash("123456"), None);
    }
}
