//! A new password that meets the policy: length, not all digits, not like the user's own names.

use crate::error::FieldError;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Passwords longer than this are refused before hashing, so nobody can make the server hash
/// megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Django's `UserAttributeSimilarityValidator` default.
const MAX_SIMILARITY: f64 = 0.7;

/// A password chosen by a user that passed the policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks a new password against the policy; `attributes` are the user's own values
    /// (username, email, names) it must not resemble.
    ///
    /// # Errors
    /// A [`FieldError`] naming the first rule the password breaks.
    pub fn parse(raw: &str, attributes: &[&str]) -> Result<Self, FieldError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(FieldError::new("Passwords are at most 1024 bytes."));
        }
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(FieldError::new(
                "This password is too short: use at least 8 characters.",
            ));
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new("This password is entirely numeric."));
        }
        let lowered = raw.to_lowercase();
        for attribute in attributes.iter().filter(|a| !a.trim().is_empty()) {
            let attribute = attribute.to_lowercase();
            let mut parts: Vec<&str> = attribute
                .split(|c: char| !c.is_alphanumeric())
                .filter(|p| !p.is_empty())
                .collect();
            parts.push(&attribute);
            if parts
                .iter()
                .any(|p| similarity(&lowered, p) >= MAX_SIMILARITY)
            {
                return Err(FieldError::new(
                    "This password is too similar to your username or email.",
                ));
            }
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Ratcliff/Obershelp similarity (the measure behind Python's `difflib.SequenceMatcher.ratio`,
/// which Django uses): twice the matched characters over the total length.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    (2 * matching_chars(&a, &b)) as f64 / total as f64
}

fn matching_chars(a: &[char], b: &[char]) -> usize {
    let (start_a, start_b, len) = longest_common_run(a, b);
    if len == 0 {
        return 0;
    }
    len + matching_chars(&a[..start_a], &b[..start_b])
        + matching_chars(&a[start_a + len..], &b[start_b + len..])
}

fn longest_common_run(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut previous = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                current[j + 1] = previous[j] + 1;
                if current[j + 1] > best.2 {
                    best = (
                        i + 1 - current[j + 1],
                        j + 1 - current[j + 1],
                        current[j + 1],
                    );
                }
            }
        }
        previous = current;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::{Password, similarity};

    #[test]
    fn similarity_matches_difflib() {
        // Figures from Python: difflib.SequenceMatcher(None, a, b).ratio()
        assert!((similarity("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((similarity("lovelace", "lovelace1") - 16.0 / 17.0).abs() < 1e-9);
        assert_eq!(similarity("abc", "xyz"), 0.0);
    }

    #[test]
    fn good_passwords_are_accepted() {
        for pw in [
            "correct horse battery",
            "Tr0ub4dor&3",
            "12345678a",
            &"é".repeat(8),
        ] {
            assert!(
                Password::parse(pw, &["ada", "ada@example.com"]).is_ok(),
                "{pw}"
            );
        }
    }

    #[test]
    fn passwords_breaking_the_policy_are_refused() {
        let huge = "a".repeat(1025);
        let attrs = ["ada_lovelace", "ada.lovelace@example.com"];
        let cases = [
            ("", "empty"),
            ("short1!", "seven characters"),
            ("12345678901", "all digits"),
            ("ada_lovelace", "the username itself"),
            ("Lovelace1", "like a part of the username"),
            ("ada.lovelace@example.org", "like the email"),
            (huge.as_str(), "over 1024 bytes"),
        ];
        for (input, why) in cases {
            assert!(
                Password::parse(input, &attrs).is_err(),
                "{why} was accepted"
            );
        }
    }

    #[test]
    fn the_byte_limit_counts_bytes_not_characters() {
        // 342 three-byte characters are 1026 bytes.
        assert!(Password::parse(&"€".repeat(342), &[]).is_err());
        assert!(Password::parse(&"€".repeat(341), &[]).is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let pw = Password::parse("correct horse battery", &[]).expect("valid");
        assert!(!format!("{pw:?}").contains("horse"));
    }
}
