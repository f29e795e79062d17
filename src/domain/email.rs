//! An email address that passed validation, with its case-folded uniqueness key.

use crate::error::FieldError;

pub const MAX_EMAIL_CHARS: usize = 254;
const MAX_LOCAL_CHARS: usize = 64;

/// A syntactically valid email address. The domain is lower-cased (it is case-insensitive);
/// the local part keeps its case for display, while [`Email::key`] folds it for uniqueness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// A [`FieldError`] saying what is wrong with the address.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new("Enter your email address."));
        }
        if raw.chars().count() > MAX_EMAIL_CHARS {
            return Err(FieldError::new(
                "Email addresses are at most 254 characters.",
            ));
        }
        let invalid = || FieldError::new("Enter a valid email address, like name@example.com.");
        let (local, domain) = raw.rsplit_once('@').ok_or_else(invalid)?;
        if !valid_local(local) || !valid_domain(domain) {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: two addresses differing only in case belong to one account.
    pub fn key(&self) -> String {
        super::fold(&self.0)
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_CHARS
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    (labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok) || domain == "localhost"
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn valid_addresses_are_accepted_and_the_domain_is_lowercased() {
        let cases = [
            ("ada@example.com", "ada@example.com"),
            ("  Ada.Lovelace@Example.COM ", "Ada.Lovelace@example.com"),
            ("a+tag@sub.example.org", "a+tag@sub.example.org"),
            ("root@localhost", "root@localhost"),
            ("josé@exämple.de", "josé@exämple.de"),
        ];
        for (input, expected) in cases {
            let email = Email::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(email.as_str(), expected);
        }
    }

    #[test]
    fn the_key_ignores_case() {
        let a = Email::parse("Ada@Example.com").expect("valid");
        let b = Email::parse("ada@example.COM").expect("valid");
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn invalid_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        let cases = [
            ("", "empty"),
            ("   ", "blank"),
            ("ada", "no @"),
            ("ada@", "no domain"),
            ("@example.com", "no local part"),
            ("ada@example", "domain without a dot"),
            ("ada@example.c", "one-letter TLD"),
            ("ada@exa mple.com", "space in domain"),
            ("a da@example.com", "space in local part"),
            (".ada@example.com", "leading dot"),
            ("ada..l@example.com", "double dot"),
            ("ada@-example.com", "label starting with a hyphen"),
            ("ada@example..com", "empty label"),
            ("<script>@example.com", "markup"),
            (long.as_str(), "too long"),
        ];
        for (input, why) in cases {
            assert!(
                Email::parse(input).is_err(),
                "{why}: {input:?} was accepted"
            );
        }
    }
}
