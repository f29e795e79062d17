//! Secrets the server must read back (an authenticator app's key), kept sealed at rest:
//! AES-256-GCM under a key derived (HKDF-SHA256) from `ENCRYPTION_KEY`, bound to what they
//! belong to, so a copied database reveals nothing and a sealed value moved to another row
//! does not open.

use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf::{HKDF_SHA256, Salt},
    rand::{SecureRandom, SystemRandom},
};
use secrecy::{ExposeSecret, SecretString};

use super::keys::{KeyError, load_or_create_secret};

/// The format of what [`Sealer::seal`] returns, so a later format can tell the two apart.
const VERSION: &str = "v1.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret could not be opened (another ENCRYPTION_KEY, or damaged)")]
pub struct SealError;

/// Seals and opens with one key.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl Sealer {
    /// The sealer for `ENCRYPTION_KEY`, or for the key generated under `data_dir` when unset.
    ///
    /// # Errors
    /// [`KeyError`] naming the key file that cannot be read or created.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> Result<Self, KeyError> {
        let secret = match configured {
            Some(secret) => secret.clone(),
            None => load_or_create_secret(&data_dir.join("encryption_key"), "ENCRYPTION_KEY")?,
        };
        Ok(Self::new(&secret))
    }

    pub fn new(secret: &SecretString) -> Self {
        let okm = Salt::new(HKDF_SHA256, b"latchkey")
            .extract(secret.expose_secret().as_bytes())
            .expand(&[b"sealed secrets v1"], &AES_256_GCM)
            .map(UnboundKey::from);
        // HKDF fails only for an output longer than 255 hash lengths; 32 bytes never is.
        let key = okm.expect("HKDF-SHA256 yields a 32-byte key");
        Self {
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        }
    }

    /// `plain`, sealed for `context` (what it belongs to: only the same context opens it).
    ///
    /// # Errors
    /// [`SealError`] if the system's random source fails.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| SealError)?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| SealError)?;
        Ok(format!(
            "{VERSION}{}",
            URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat())
        ))
    }

    /// What [`Self::seal`] sealed for `context`.
    ///
    /// # Errors
    /// [`SealError`] for another key, another context, or a damaged value.
    pub fn open(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(SealError)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut body)
            .map_err(|_| SealError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::Sealer;

    fn sealer(key: &str) -> Sealer {
        Sealer::new(&SecretString::from(key))
    }

    #[test]
    fn only_the_same_key_and_context_open_a_sealed_value() {
        let one = sealer("one-key-one-key-one-key-one-key-one-key");
        let sealed = one.seal(b"user:1", b"the secret").expect("sealed");
        assert!(!sealed.contains("the secret"));
        assert_eq!(one.open(b"user:1", &sealed).expect("opens"), b"the secret");
        assert!(
            one.open(b"user:2", &sealed).is_err(),
            "another row's context"
        );
        let other = sealer("two-key-two-key-two-key-two-key-two-key");
        assert!(other.open(b"user:1", &sealed).is_err(), "another key");
        let mut damaged = sealed.clone();
        damaged.push('A');
        assert!(one.open(b"user:1", &damaged).is_err());
        assert!(one.open(b"user:1", "v1.").is_err());
        assert!(one.open(b"user:1", "").is_err());
        assert_ne!(
            one.seal(b"user:1", b"the secret").expect("sealed"),
            sealed,
            "a fresh nonce each time"
        );
    }
}
