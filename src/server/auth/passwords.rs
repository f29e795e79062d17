//! argon2id hashing on the blocking pool, a bounded number at a time, with a dummy hash so
//! unknown users cost the same, and old parameters upgraded at log-in.

use std::{sync::Arc, time::Duration};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::AppError;

/// How long a hash waits for a free hasher before the request gets 503.
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Hashes with argon2id at the crate's defaults, which are OWASP's (m=19456 KiB, t=2, p=1).
/// Each hash takes 19 MiB for a few tens of milliseconds; at most one per core runs at once,
/// so a flood of log-ins queues briefly and then gets 503 rather than exhausting memory.
#[derive(Clone)]
pub struct Passwords {
    /// Verified against when the account does not exist, so the answer takes as long.
    dummy_hash: Arc<str>,
    hashers: Arc<Semaphore>,
}

/// What checking a password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, but stored with older parameters: hash it again.
    RightButOutdated,
}

impl Verdict {
    pub fn is_right(self) -> bool {
        self != Self::Wrong
    }
}

impl Passwords {
    /// # Errors
    /// [`AppError::Internal`] if hashing fails.
    pub async fn new() -> Result<Self, AppError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut passwords = Self {
            dummy_hash: Arc::from(""),
            hashers: Arc::new(Semaphore::new(cores)),
        };
        let dummy = SecretString::from("latchkey dummy password for absent accounts");
        passwords.dummy_hash = Arc::from(passwords.hash(dummy).await?);
        Ok(passwords)
    }

    /// Hashes a new password with the current parameters.
    ///
    /// # Errors
    /// [`AppError::Busy`] when no hasher came free in time; [`AppError::Internal`] if hashing
    /// or the blocking task fails.
    pub async fn hash(&self, password: SecretString) -> Result<String, AppError> {
        self.blocking(move || {
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

    /// Checks `password` against `stored`, or against the dummy hash when there is no account.
    ///
    /// # Errors
    /// [`AppError::Busy`] when no hasher came free in time; [`AppError::Internal`] if the
    /// blocking task fails.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: SecretString,
    ) -> Result<Verdict, AppError> {
        let real = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_string);
        let verdict = self
            .blocking(move || verify_sync(&stored, &password))
            .await?;
        Ok(if real { verdict } else { Verdict::Wrong })
    }

    /// Runs CPU-heavy work off the async runtime once a hasher is free, keeping the caller's
    /// tracing span.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = tokio::time::timeout(MAX_WAIT, self.hashers.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("every password hasher busy; answering 503");
                AppError::Busy
            })?
            .map_err(|_| AppError::Internal)?;
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || {
            let result = span.in_scope(work);
            drop(permit);
            result
        })
        .instrument(tracing::Span::current())
        .await?;
        Ok(result)
    }

    /// Takes every hasher, as a flood would (tests of the 503 path).
    #[cfg(test)]
    pub async fn occupy(&self) -> tokio::sync::OwnedSemaphorePermit {
        let all = u32::try_from(self.hashers.available_permits()).unwrap_or(u32::MAX);
        self.hashers
            .clone()
            .acquire_many_owned(all)
            .await
            .expect("semaphore open")
    }
}

/// A hash of `password` made with weaker parameters than today's (tests of the upgrade).
#[cfg(test)]
pub fn hash_with_old_parameters(password: &str) -> String {
    use argon2::{Algorithm, Params, Version};
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).expect("params"),
    )
    .hash_password(
        password.as_bytes(),
        &SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("salt"),
    )
    .expect("hash")
    .to_string()
}

fn verify_sync(stored: &str, password: &SecretString) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Wrong;
    };
    let hasher = Argon2::default();
    if hasher
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_err()
    {
        return Verdict::Wrong;
    }
    let current = argon2::Params::default();
    let outdated = parsed.algorithm != argon2::Algorithm::Argon2id.ident()
        || parsed.version != Some(argon2::Version::V0x13.into())
        || argon2::Params::try_from(&parsed).map_or(true, |p| {
            p.m_cost() != current.m_cost()
                || p.t_cost() != current.t_cost()
                || p.p_cost() != current.p_cost()
        });
    if outdated {
        Verdict::RightButOutdated
    } else {
        Verdict::Right
    }
}

#[cfg(test)]
mod tests {
    use super::{Passwords, Verdict};
    use secrecy::SecretString;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let stored = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(
            passwords
                .verify(Some(&stored), secret("correct horse battery"))
                .await
                .expect("verify"),
            Verdict::Right
        );
        assert_eq!(
            passwords
                .verify(Some(&stored), secret("correct horse battatt"))
                .await
                .expect("verify"),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let a = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        let b = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        assert_ne!(a, b, "salts must differ");
    }

    #[tokio::test]
    async fn an_absent_account_never_verifies_even_with_the_dummy_password() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let dummy = secret("latchkey dummy password for absent accounts");
        assert_eq!(
            passwords.verify(None, dummy).await.expect("verify"),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_does_not_verify() {
        let passwords = Passwords::new().await.expect("dummy hash");
        assert_eq!(
            passwords
                .verify(Some("not a hash"), secret("whatever1"))
                .await
                .expect("verify"),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn a_hash_with_weaker_parameters_is_flagged_for_upgrade() {
        let weak = super::hash_with_old_parameters("correct horse battery");
        let passwords = Passwords::new().await.expect("dummy hash");
        assert_eq!(
            passwords
                .verify(Some(&weak), secret("correct horse battery"))
                .await
                .expect("verify"),
            Verdict::RightButOutdated
        );
    }

    #[tokio::test]
    async fn with_every_hasher_busy_a_hash_gives_up_with_busy() {
        let passwords = Passwords::new().await.expect("dummy hash");
        let _all = passwords.occupy().await;
        assert_eq!(
            passwords.verify(None, secret("whatever1")).await,
            Err(crate::error::AppError::Busy)
        );
    }
}
