//! Throttling policy. Failed log-ins are counted per account and per client address, a few
//! free then exponential back-off; registration, refresh and password change have plain rate
//! limits. Counters live in the database, so the limits hold across instances.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::Services;
use crate::{
    error::AppError,
    server::{db::throttles, now},
};

/// A plain rate limit: at most `max` hits per `window` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    name: &'static str,
    max: i64,
    window: i64,
}

/// Sign-ups per client address.
pub const SIGN_UP: Limit = Limit {
    name: "register",
    max: 30,
    window: 600,
};
/// Refreshes per session (a tab refreshes about once per access-token lifetime), or per client
/// address for tokens that do not verify.
pub const REFRESH: Limit = Limit {
    name: "refresh",
    max: 120,
    window: 60,
};
/// Password changes per account.
pub const PASSWORD_CHANGE: Limit = Limit {
    name: "password",
    max: 5,
    window: 900,
};

/// Passkey sign-ins begun per client address: the login page begins one on every visit (for
/// autofill), so the limit is generous; it bounds the ceremonies a flood can store.
pub const PASSKEY_SIGN_IN: Limit = Limit {
    name: "passkey",
    max: 300,
    window: 600,
};

/// Mails with a link (verification, password reset, email change) per account, and per
/// address typed (a hash of it): a person can ask a few times, nobody can flood an inbox.
pub const LINK_MAIL: Limit = Limit {
    name: "mail",
    max: 5,
    window: 900,
};
/// Password-reset and verification requests per client address (many people can share one).
pub const MAIL_REQUEST: Limit = Limit {
    name: "mail-request",
    max: 30,
    window: 900,
};

/// Failed log-ins allowed per account before back-off starts.
const FREE_ACCOUNT_FAILURES: i64 = 5;
/// Failed log-ins allowed per client address (many people can share one) before back-off.
const FREE_ADDRESS_FAILURES: i64 = 20;
/// Failures are forgotten an hour after the first of a run.
const FAILURE_WINDOW: i64 = 3600;
/// The longest window of any bucket: older counters are spent.
pub const LONGEST_WINDOW: i64 = FAILURE_WINDOW;
/// The first back-off, doubled with each further failure...
const FIRST_BACKOFF: i64 = 15;
/// ...up to this.
const MAX_BACKOFF: i64 = 900;

/// Counts a hit against `limit` for `subject`.
///
/// # Errors
/// [`AppError::Throttled`] past the limit; [`AppError::Internal`] on storage failure.
pub async fn take(services: &Services, limit: Limit, subject: &str) -> Result<(), AppError> {
    let now = now();
    let count = throttles::hit(
        &services.db,
        &format!("{}:{subject}", limit.name),
        now,
        limit.window,
    )
    .await?;
    if count.hits > limit.max {
        let retry_after = (count.window_start + limit.window - now).max(1);
        tracing::info!(target: "security", limit = limit.name, "rate limit reached");
        return Err(throttled(retry_after));
    }
    Ok(())
}

/// The subject a typed email address is counted under: a hash of its folded form, so what a
/// person typed is never stored.
pub fn typed_address(email_key: &str) -> String {
    format!("address:{}", hex::encode(Sha256::digest(email_key)))
}

/// The buckets a log-in attempt is counted in. The account is named by a hash of what was
/// typed, so an unknown account is throttled exactly like a real one (nothing is revealed) and
/// no typed text (which may be a mistyped password) is stored.
pub struct LoginBuckets {
    account: String,
    address: String,
}

impl LoginBuckets {
    pub fn new(login_key: &str, client: IpAddr) -> Self {
        Self {
            account: format!("login:account:{}", hex::encode(Sha256::digest(login_key))),
            address: format!("login:address:{client}"),
        }
    }

    /// The buckets of second-step codes: per account (by id, the password having named it)
    /// and per client address, under the same free attempts and back-off as passwords.
    pub fn second_step(user_id: i64, client: IpAddr) -> Self {
        Self {
            account: format!("code:account:{user_id}"),
            address: format!("code:address:{client}"),
        }
    }

    /// Refuses an attempt while either bucket is in back-off.
    ///
    /// # Errors
    /// [`AppError::Throttled`] while blocked; [`AppError::Internal`] on storage failure.
    pub async fn check(&self, services: &Services) -> Result<(), AppError> {
        let until = throttles::blocked_until(&services.db, &self.account, &self.address).await?;
        let now = now();
        if until > now {
            return Err(throttled(until - now));
        }
        Ok(())
    }

    /// Counts a failure in both buckets, blocking each past its free attempts.
    ///
    /// # Errors
    /// [`AppError::Internal`] on storage failure.
    pub async fn failed(&self, services: &Services) -> Result<(), AppError> {
        let now = now();
        for (bucket, free) in [
            (&self.account, FREE_ACCOUNT_FAILURES),
            (&self.address, FREE_ADDRESS_FAILURES),
        ] {
            let count = throttles::hit(&services.db, bucket, now, FAILURE_WINDOW).await?;
            if let Some(backoff) = backoff(count.hits, free) {
                tracing::warn!(target: "security", failures = count.hits, "log-in back-off");
                throttles::block(&services.db, bucket, now + backoff).await?;
            }
        }
        Ok(())
    }

    /// A good log-in clears the account's failures (the address keeps its count).
    ///
    /// # Errors
    /// [`AppError::Internal`] on storage failure.
    pub async fn succeeded(&self, services: &Services) -> Result<(), AppError> {
        Ok(throttles::clear(&services.db, &self.account).await?)
    }
}

/// Forgets an account's failed log-ins and back-off (staff unlocking it): under either name a
/// person may log in with, and for second-step codes.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn unlock(
    services: &Services,
    user: &crate::server::db::users::User,
) -> Result<(), AppError> {
    for key in [
        crate::domain::fold(&user.username),
        crate::domain::fold(&user.email),
    ] {
        let buckets = LoginBuckets::new(&key, std::net::Ipv4Addr::UNSPECIFIED.into());
        buckets.succeeded(services).await?;
    }
    LoginBuckets::second_step(user.id, std::net::Ipv4Addr::UNSPECIFIED.into())
        .succeeded(services)
        .await
}

/// Seconds to block after `failures`, once past `free`: 15, 30, 60, ... up to [`MAX_BACKOFF`].
fn backoff(failures: i64, free: i64) -> Option<i64> {
    let over = failures - free;
    (over > 0).then(|| {
        let exponent = u32::try_from(over - 1).unwrap_or(u32::MAX).min(20);
        (FIRST_BACKOFF << exponent).min(MAX_BACKOFF)
    })
}

fn throttled(seconds: i64) -> AppError {
    AppError::Throttled {
        retry_after: u64::try_from(seconds.max(1)).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_BACKOFF, backoff};

    #[test]
    fn back_off_starts_after_the_free_attempts_and_doubles_up_to_a_cap() {
        assert_eq!(backoff(5, 5), None);
        assert_eq!(backoff(6, 5), Some(15));
        assert_eq!(backoff(7, 5), Some(30));
        assert_eq!(backoff(10, 5), Some(240));
        assert_eq!(backoff(100, 5), Some(MAX_BACKOFF));
    }
}
