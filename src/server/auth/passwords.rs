//! argon2id hashing on the blocking pool, with a dummy hash so unknown users cost the same.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use crate::error::AppError;

/// Hashes with argon2id at the crate's defaults, which are OWASP's (m=19456 KiB, t=2, p=1).
#[derive(Clone)]
pub struct Passwords {
    /// Verified against when the account does not exist, so the answer takes as long.
    dummy_hash: String,
}

impl Passwords {
    /// # Errors
    /// [`AppError::Internal`] if hashing fails.
    pub async fn new() -> Result<Self, AppError> {
        let dummy = SecretString::from("latchkey dummy password for absent accounts");
        Ok(Self {
            dummy_hash: hash(dummy).await?,
        })
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the blocking task fails.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: SecretString,
    ) -> Result<bool, AppError> {
        let stored = stored.unwrap_or(&self.dummy_hash).to_string();
        let real = stored != self.dummy_hash;
        let ok = blocking(move || verify_sync(&stored, &password)).await?;
        Ok(ok && real)
    }
}

/// # Errors
/// [`AppError::Internal`] if hashing or the blocking task fails.
pub async fn hash(password: SecretString) -> Result<String, AppError> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                AppError::Internal
            })
    })
    .await?
}

fn verify_sync(stored: &str, password: &SecretString) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

/// Runs CPU-heavy work off the async runtime, keeping the caller's tracing span.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let span = tracing::Span::current();
    Ok(tokio::task::spawn_blocking(move || span.in_scope(work))
        .instrument(tracing::Span::current())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::{Passwords, hash};
    use secrecy::SecretString;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let stored = hash(secret("correct horse battery")).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            passwords
                .verify(Some(&stored), secret("correct horse battery"))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify(Some(&stored), secret("correct horse battatt"))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let a = hash(secret("correct horse battery")).await.expect("hash");
        let b = hash(secret("correct horse battery")).await.expect("hash");
        assert_ne!(a, b, "salts must differ");
    }

    #[tokio::test]
    async fn an_absent_account_never_verifies_even_with_the_dummy_password() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let dummy = secret("latchkey dummy password for absent accounts");
        assert!(!passwords.verify(None, dummy).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_does_not_verify() {
        let passwords = Passwords::new().await.expect("dummy hash");
        assert!(
            !passwords
                .verify(Some("not a hash"), secret("whatever1"))
                .await
                .expect("verify")
        );
    }
}
