//! One-time tokens, for links mailed to a person (verification, reset, email change) and for
//! the second step of a log-in: 256 random bits, URL-safe, of which the database keeps only a
//! SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh link token and the hash that is stored instead of it.
pub struct LinkToken {
    /// Goes into the mail, nowhere else (never a log line, never the database).
    pub token: String,
    pub hash: String,
}

impl LinkToken {
    pub fn generate() -> Self {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Self {
            hash: hash(&token),
            token,
        }
    }
}

/// What the database stores for a link token (and looks a presented one up by).
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Django's `uid` in reset links: the account id in URL-safe base64, as dj-rest-auth clients
/// expect to pass it back.
pub fn encode_uid(user_id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user_id.to_string())
}

/// The account id a `uid` names, if it names one.
pub fn decode_uid(uid: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(uid.trim_end_matches('='))
        .ok()?;
    let id: i64 = std::str::from_utf8(&bytes).ok()?.parse().ok()?;
    (id > 0 && uid.len() <= 32).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::{LinkToken, decode_uid, encode_uid, hash};

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let a = LinkToken::generate();
        let b = LinkToken::generate();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43, "256 bits in URL-safe base64");
        assert_eq!(a.hash, hash(&a.token));
        assert!(!a.hash.contains(&a.token));
    }

    #[test]
    fn uids_are_djangos() {
        assert_eq!(encode_uid(1), "MQ");
        assert_eq!(encode_uid(42), "NDI");
        assert_eq!(decode_uid("MQ"), Some(1));
        assert_eq!(decode_uid("MQ=="), Some(1));
        assert_eq!(decode_uid("NDI"), Some(42));
        for bad in ["", "!!", "LTE", "MA", "YWJj"] {
            assert_eq!(decode_uid(bad), None, "{bad}");
        }
    }
}
