//! A new password that meets the policy: Django's validators (length, not all digits, not like
//! the user's own names) and a zxcvbn strength of at least [`MIN_STRENGTH`], which also refuses
//! common passwords. The same check runs in the browser (the live meter) and on the server.

use crate::error::FieldError;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Passwords longer than this are refused before hashing, so nobody can make the server hash
/// megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// zxcvbn's "safely unguessable" (about 10^8 guesses): good against online attacks, and with
/// argon2 expensive offline.
pub const MIN_STRENGTH: u8 = 3;
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
        check_typed(raw)?;
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
        let strength = Strength::of(raw, attributes);
        if strength.score < MIN_STRENGTH {
            return Err(FieldError::new(format!(
                "This password is too easy to guess. {}",
                strength.advice
            )));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// How hard a password is to guess, as zxcvbn estimates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very hard).
    pub score: u8,
    /// What would make it stronger, in a sentence or two.
    pub advice: String,
}

impl Strength {
    /// Rates `raw`, counting the user's own `attributes` as easy to guess.
    pub fn of(raw: &str, attributes: &[&str]) -> Self {
        let entropy = zxcvbn::zxcvbn(raw, attributes);
        let feedback = entropy.feedback();
        let warning = feedback.and_then(zxcvbn::feedback::Feedback::warning);
        let suggestion = feedback.and_then(|f| f.suggestions().first());
        let advice = match (warning, suggestion) {
            (Some(w), Some(s)) => format!("{w} {s}"),
            (Some(w), None) => w.to_string(),
            (None, Some(s)) => s.to_string(),
            (None, None) => "Add another word or two. Uncommon words are better.".to_string(),
        };
        Self {
            score: u8::from(entropy.score()),
            advice,
        }
    }

    /// The score in a word.
    pub fn label(&self) -> &'static str {
        match self.score {
            0 | 1 => "Weak",
            2 => "Fair",
            3 => "Good",
            _ => "Strong",
        }
    }
}

/// What any typed password must be, new or not: at most [`MAX_PASSWORD_BYTES`] (checked
/// before any hashing) and free of NUL characters.
///
/// # Errors
/// A [`FieldError`] saying which.
pub fn check_typed(raw: &str) -> Result<(), FieldError> {
    if raw.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new("Passwords are at most 1024 bytes."));
    }
    if raw.contains('\0') {
        return Err(FieldError::new("Null characters are not allowed."));
    }
    Ok(())
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
    use super::{MIN_STRENGTH, Password, Strength, similarity};

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
            "purple monkey dishwasher 42",
            "Zürich ünd Köln sind schön",
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
        // 22 bytes, then three-byte characters: 1021 bytes pass, 1024 + 2 do not.
        let base = "correct horse battery ";
        assert!(Password::parse(&format!("{base}{}", "€".repeat(333)), &[]).is_ok());
        assert!(Password::parse(&format!("{base}{}", "€".repeat(335)), &[]).is_err());
    }

    #[test]
    fn common_and_guessable_passwords_are_refused_with_advice() {
        for pw in [
            "password123",
            "qwertyuiop",
            "iloveyou1",
            "abcdefgh",
            "aaaaaaaaaa",
        ] {
            let refused = Password::parse(pw, &[]).expect_err(pw);
            assert!(
                refused
                    .message()
                    .starts_with("This password is too easy to guess. "),
                "{pw}: {}",
                refused.message()
            );
            assert!(refused.message().len() > 40, "{pw}: advice included");
        }
    }

    #[test]
    fn strength_rises_with_length_and_rareness() {
        let weak = Strength::of("password", &[]);
        let strong = Strength::of("purple monkey dishwasher 42", &[]);
        assert!(weak.score < MIN_STRENGTH && weak.label() == "Weak");
        assert!(strong.score >= MIN_STRENGTH, "{strong:?}");
        assert!(
            Strength::of("ada_lovelace_1815", &["ada_lovelace"]).score
                < Strength::of("ada_lovelace_1815", &[]).score,
            "the user's own names count as guessable"
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let pw = Password::parse("correct horse battery", &[]).expect("valid");
        assert!(!format!("{pw:?}").contains("horse"));
    }
}
