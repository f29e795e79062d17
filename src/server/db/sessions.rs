//! Login sessions and their refresh tokens (stored only as hashes).

use super::Db;

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now used and its successor stored.
    Rotated { user_id: i64, session_id: String },
    /// The token was rotated `rotated_at`, within the grace window, by a concurrent request
    /// of the same browser (or a retry whose answer was lost). The session is still good.
    AlreadyRotated {
        user_id: i64,
        session_id: String,
        rotated_at: i64,
    },
    /// Reused after the grace window: someone kept a copy, so the session is now revoked.
    Reused { session_id: String },
    /// Unknown, expired or revoked.
    Refused,
}

/// Starts a session with its first refresh token.
///
/// # Errors
/// The database error.
pub async fn create(
    db: &Db,
    session_id: &str,
    user_id: i64,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(session_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    insert_token(&mut tx, token_hash, session_id, expires_at).await?;
    tx.commit().await
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token_hash: &str,
    session_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(expires_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Uses the refresh token `old_hash` and stores `new_hash` as its successor, atomically: the
/// conditional update lets exactly one of several concurrent callers win.
///
/// # Errors
/// The database error.
pub async fn rotate(
    db: &Db,
    old_hash: &str,
    new_hash: &str,
    new_expires_at: i64,
    now: i64,
    grace_secs: u64,
) -> Result<Rotation, sqlx::Error> {
    let mut tx = db.begin().await?;
    let won: Option<(String, i64)> = sqlx::query_as(
        "UPDATE refresh_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL) \
         RETURNING session_id, (SELECT user_id FROM sessions WHERE sessions.id = session_id)",
    )
    .bind(now)
    .bind(old_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((session_id, user_id)) = won {
        insert_token(&mut tx, new_hash, &session_id, new_expires_at).await?;
        tx.commit().await?;
        return Ok(Rotation::Rotated {
            user_id,
            session_id,
        });
    }
    tx.rollback().await?;

    let seen: Option<SeenToken> = sqlx::query_as(
        "SELECT refresh_tokens.session_id, sessions.user_id, refresh_tokens.used_at, \
         refresh_tokens.expires_at, sessions.revoked_at \
         FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id \
         WHERE refresh_tokens.token_hash = $1",
    )
    .bind(old_hash)
    .fetch_optional(db)
    .await?;
    let Some(seen) = seen.filter(|s| s.revoked_at.is_none()) else {
        return Ok(Rotation::Refused);
    };
    Ok(match seen.used_at {
        Some(used_at)
            if seen.expires_at > now
                && now - used_at <= i64::try_from(grace_secs).unwrap_or(i64::MAX) =>
        {
            Rotation::AlreadyRotated {
                user_id: seen.user_id,
                session_id: seen.session_id,
                rotated_at: used_at,
            }
        }
        Some(_) => {
            // A rotated token came back after the grace window: someone kept a copy.
            tracing::warn!(
                target: "security",
                user_id = seen.user_id,
                "refresh token reused after its grace window; session revoked"
            );
            revoke(db, &seen.session_id, now).await?;
            Rotation::Reused {
                session_id: seen.session_id,
            }
        }
        None => Rotation::Refused,
    })
}

/// A refresh token that lost the conditional update, and why.
#[derive(sqlx::FromRow)]
struct SeenToken {
    session_id: String,
    user_id: i64,
    used_at: Option<i64>,
    expires_at: i64,
    revoked_at: Option<i64>,
}

/// Whether a refresh token is known and not yet used.
///
/// # Errors
/// The database error.
pub async fn refresh_token_unused(db: &Db, token_hash: &str) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT token_hash FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Ends one session: its access tokens stop passing and its refresh tokens stop working.
///
/// # Errors
/// The database error.
pub async fn revoke(db: &Db, session_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(session_id)
        .execute(db)
        .await
        .map(drop)
}

/// Ends every session of a user (log-out everywhere, deactivation).
///
/// # Errors
/// The database error.
pub async fn revoke_all(db: &Db, user_id: i64, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Ends every session of a user but `keep`.
///
/// # Errors
/// The database error.
pub async fn revoke_others(
    db: &Db,
    user_id: i64,
    keep: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub throttles: u64,
}

/// Deletes at most `batch` rows of each kind that can never be used again: refresh tokens past
/// their expiry or of revoked sessions (a used token is kept until it expires, so its reuse is
/// still recognised as theft), sessions revoked or without a live refresh token, and throttle
/// counters whose window and back-off are over. Small batches keep each statement short, so
/// the sweep never holds locks that requests wait on.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, now: i64, batch: i64, max_window: i64) -> Result<Swept, sqlx::Error> {
    let refresh_tokens = sqlx::query(
        "DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens \
         WHERE expires_at <= $1 \
         OR session_id IN (SELECT id FROM sessions WHERE revoked_at IS NOT NULL) LIMIT $2)",
    )
    .bind(now)
    .bind(batch)
    .execute(db)
    .await?
    .rows_affected();
    let sessions = sqlx::query(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE revoked_at IS NOT NULL \
         OR NOT EXISTS (SELECT 1 FROM refresh_tokens \
                        WHERE refresh_tokens.session_id = sessions.id AND expires_at > $1) \
         LIMIT $2)",
    )
    .bind(now)
    .bind(batch)
    .execute(db)
    .await?
    .rows_affected();
    let throttles = sqlx::query(
        "DELETE FROM throttles WHERE bucket IN (SELECT bucket FROM throttles \
         WHERE window_start <= $1 AND blocked_until <= $2 LIMIT $3)",
    )
    .bind(now - max_window)
    .bind(now)
    .bind(batch)
    .execute(db)
    .await?
    .rows_affected();
    Ok(Swept {
        refresh_tokens,
        sessions,
        throttles,
    })
}
