//! One-time links mailed to a person, stored only as a SHA-256 of their token: at most one
//! live link per user and purpose (a newer replaces the older), deleted when used.

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the account's current address is theirs.
    VerifyEmail,
    /// Lets the person choose a new password.
    ResetPassword,
    /// Moves the account to the new address the link was sent to.
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
        }
    }
}

/// What a live link is for: whose account, and the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Link {
    pub user_id: i64,
    pub email: String,
}

/// The values of a new link.
pub struct NewLink<'a> {
    pub user_id: i64,
    pub purpose: Purpose,
    pub email: &'a str,
    pub token_hash: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Stores a link, replacing the user's older one for the same purpose.
///
/// # Errors
/// The database error.
pub async fn replace(tx: &mut Tx, link: &NewLink<'_>) -> Result<(), DbError> {
    in_tx!(tx, "tokens.replace", conn => {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id, purpose) DO UPDATE SET token_hash = excluded.token_hash, \
             email = excluded.email, created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(link.token_hash)
        .bind(link.user_id)
        .bind(link.purpose.as_str())
        .bind(link.email)
        .bind(Timestamp(link.now))
        .bind(Timestamp(link.expires_at))
        .execute(&mut *conn)
        .await
        .map(drop)
    })
}

/// The live link a token opens, leaving it unused (showing the page behind a link).
///
/// # Errors
/// The database error.
pub async fn find(
    db: &Db,
    purpose: Purpose,
    token_hash: &str,
    now: i64,
) -> Result<Option<Link>, DbError> {
    on_db!(db, "tokens.find", pool => {
        sqlx::query_as(
            "SELECT user_id, email FROM one_time_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(Timestamp(now))
        .fetch_optional(pool)
        .await
    })
}

/// Uses a live link: deletes it and returns what it was for. Only one of several concurrent
/// callers gets it. With `owner`, a link of another user is left alone.
///
/// # Errors
/// The database error.
pub async fn take(
    tx: &mut Tx,
    purpose: Purpose,
    token_hash: &str,
    owner: Option<i64>,
    now: i64,
) -> Result<Option<Link>, DbError> {
    in_tx!(tx, "tokens.take", conn => {
        sqlx::query_as(
            "DELETE FROM one_time_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
             AND user_id = COALESCE($4, user_id) RETURNING user_id, email",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(Timestamp(now))
        .bind(owner)
        .fetch_optional(&mut *conn)
        .await
    })
}

/// Deletes a user's link for `purpose`, if any (a reset link dies with a password change).
///
/// # Errors
/// The database error.
pub async fn revoke(tx: &mut Tx, user_id: i64, purpose: Purpose) -> Result<(), DbError> {
    in_tx!(tx, "tokens.revoke", conn => {
        sqlx::query("DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2")
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *conn)
            .await
            .map(drop)
    })
}

/// Deletes at most `batch` expired links; returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, now: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "tokens.sweep", pool => {
        sqlx::query(
            "DELETE FROM one_time_tokens WHERE token_hash IN \
             (SELECT token_hash FROM one_time_tokens WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(Timestamp(now))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
