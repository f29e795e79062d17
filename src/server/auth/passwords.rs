//! argon2id hashing on the blocking pool, a bounded number at a time, each in memory it reuses,
//! with a dummy hash so unknown users cost the same, and old parameters upgraded at log-in.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, Salt, SaltString, rand_core::OsRng},
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
/// Those 19 MiB are allocated once per hasher and reused: allocating them per hash on
/// whichever blocking thread runs it leaves freed blocks held in glibc's per-thread arenas,
/// and resident memory climbs with the number of threads that ever hashed.
#[derive(Clone)]
pub struct Passwords {
    /// Verified against when the account does not exist, so the answer takes as long.
    dummy_hash: Arc<str>,
    hashers: Arc<Semaphore>,
    /// Working memory of the hashers not running now (at most one per permit).
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
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
            memory: Arc::new(Mutex::new(Vec::with_capacity(cores))),
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
        self.blocking(move |memory| {
            hash_sync(&password, memory).map_err(|e| {
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
            .blocking(move |memory| verify_sync(&stored, &password, memory))
            .await?;
        Ok(if real { verdict } else { Verdict::Wrong })
    }

    /// Runs CPU-heavy work off the async runtime once a hasher is free, with that hasher's
    /// memory, keeping the caller's tracing span.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = tokio::time::timeout(MAX_WAIT, self.hashers.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("every password hasher busy; answering 503");
                AppError::Busy
            })?
            .map_err(|_| AppError::Internal)?;
        let span = tracing::Span::current();
        let pool = Arc::clone(&self.memory);
        let result = tokio::task::spawn_blocking(move || {
            // A poisoned lock only means a hash panicked; the list of buffers is still whole.
            let mut memory = pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let result = span.in_scope(|| work(&mut memory));
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(memory);
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
    use argon2::PasswordHasher;
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

/// argon2 of `password` with `salt`, computed in `memory` (grown to the parameters' size if
/// needed): the crate's own `hash_password` would allocate that memory anew for every hash.
fn hash_in(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<Output> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            out,
            &mut memory[..blocks],
        )?)
    })
}

/// A new PHC string for `password` with today's parameters and a random salt.
fn hash_sync(
    password: &SecretString,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let hash = hash_in(
        &Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
        password.expose_secret().as_bytes(),
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
        memory,
    )?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    }
    .to_string())
}

fn verify_sync(stored: &str, password: &SecretString, memory: &mut Vec<Block>) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Wrong;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Verdict::Wrong;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Version::try_from(parsed.version.unwrap_or(Version::V0x13.into())),
        Params::try_from(&parsed),
    ) else {
        return Verdict::Wrong;
    };
    let computed = hash_in(
        &Argon2::new(algorithm, version, params.clone()),
        password.expose_secret().as_bytes(),
        salt,
        expected.len(),
        memory,
    );
    // `Output`'s equality is constant-time.
    if computed.ok() != Some(expected) {
        return Verdict::Wrong;
    }
    let current = Params::default();
    let outdated = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || params.m_cost() != current.m_cost()
        || params.t_cost() != current.t_cost()
        || params.p_cost() != current.p_cost();
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
    async fn hashes_agree_with_the_argon2_crates_own_hashing_both_ways() {
        use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new().await.expect("dummy hash");
        let ours = passwords
            .hash(secret("correct horse battery"))
            .await
            .expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let salt = argon2::password_hash::SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("salt");
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .expect("hash")
            .to_string();
        // Twice: the second check reuses the memory the first one filled.
        for _ in 0..2 {
            assert_eq!(
                passwords
                    .verify(Some(&theirs), secret("correct horse battery"))
                    .await
                    .expect("verify"),
                Verdict::Right
            );
        }
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
