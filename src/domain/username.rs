//! A username by Django's rule: 1-150 letters, digits and `@.+-_`, NFKC-normalised as Django
//! does, and compared case-folded so look-alikes (`ａｄａ`, `ADA`, `ada`) are one account.

use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;

pub const MAX_USERNAME_CHARS: usize = 150;

/// A valid username. [`Username::key`] is its case-folded uniqueness key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// # Errors
    /// A [`FieldError`] saying which part of the rule the name breaks.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let normalized: String = raw.trim().nfkc().collect();
        let raw = normalized.as_str();
        if raw.is_empty() {
            return Err(FieldError::new("Choose a username."));
        }
        if raw.chars().count() > MAX_USERNAME_CHARS {
            return Err(FieldError::new("Usernames are at most 150 characters."));
        }
        if !raw
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(FieldError::new(
                "Use only letters, digits and the characters @ . + - _",
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: `Ada` and `ada` are the same account.
    pub fn key(&self) -> String {
        fold(&self.0)
    }
}

/// What a typed login (username or email) is compared by: NFKC, lower-cased, NFKC again
/// (lower-casing can leave text that is not normalised).
pub fn fold(raw: &str) -> String {
    raw.trim()
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn look_alike_usernames_share_one_key() {
        let plain = Username::parse("ada").expect("plain");
        for look_alike in ["ADA", "\u{ff41}\u{ff44}\u{ff41}", "Ａｄａ"] {
            let other = Username::parse(look_alike).expect("valid");
            assert_eq!(other.key(), plain.key(), "{look_alike}");
        }
        assert_eq!(
            Username::parse("\u{ff41}da").expect("valid").as_str(),
            "ada",
            "stored NFKC-normalised"
        );
    }

    #[test]
    fn usernames_by_djangos_rule_are_accepted() {
        for name in [
            "ada",
            "Ada.Lovelace",
            "a@b+c-d_e",
            "a",
            "Jürgen",
            &"x".repeat(150),
        ] {
            assert!(Username::parse(name).is_ok(), "{name} was refused");
        }
    }

    #[test]
    fn usernames_breaking_the_rule_are_refused() {
        let too_long = "x".repeat(151);
        let cases = [
            ("", "empty"),
            ("ada lovelace", "space"),
            ("ada/admin", "slash"),
            ("<b>ada</b>", "markup"),
            ("ada\u{0}", "NUL"),
            (too_long.as_str(), "151 characters"),
        ];
        for (input, why) in cases {
            assert!(
                Username::parse(input).is_err(),
                "{why}: {input:?} was accepted"
            );
        }
    }

    #[test]
    fn the_key_ignores_case() {
        assert_eq!(
            Username::parse("Ada").expect("valid").key(),
            Username::parse("aDA").expect("valid").key()
        );
    }
}
