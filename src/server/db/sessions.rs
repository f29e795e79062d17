//! Login sessions and their refresh tokens (stored only as hashes).

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

const INSERT_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)";

/// A session about to start, with its first refresh token and where it runs.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub now: i64,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
}

/// Starts a session with its first refresh token.
///
/// # Errors
/// The database error.
pub async fn create(db: &Db, session: &NewSession<'_>) -> Result<(), DbError> {
    on_db!(db, "sessions.create", pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, authenticated_at, \
             client_ip, user_agent) VALUES ($1, $2, $3, $3, $3, $4, $5)",
        )
        .bind(session.id)
        .bind(session.user_id)
        .bind(Timestamp(session.now))
        .bind(session.client_ip)
        .bind(session.user_agent)
        .execute(&mut *tx)
        .await?;
        sqlx::query(INSERT_TOKEN)
            .bind(session.token_hash)
            .bind(session.id)
            .bind(Timestamp(session.expires_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

/// A live session as its owner's device list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub client_ip: String,
    pub user_agent: String,
}

#[derive(sqlx::FromRow)]
struct LiveSessionRow {
    id: String,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    client_ip: String,
    user_agent: String,
}

/// The user's sessions that are not revoked and still have a refresh token that works, most
/// recently used first.
///
/// # Errors
/// The database error.
pub async fn live_of(db: &Db, user_id: i64, now: i64) -> Result<Vec<LiveSession>, DbError> {
    let rows: Vec<LiveSessionRow> = on_db!(db, "sessions.live_of", pool => {
        sqlx::query_as(
            "SELECT id, created_at, last_used_at, client_ip, user_agent FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens \
               WHERE refresh_tokens.session_id = sessions.id AND expires_at > $2) \
             ORDER BY COALESCE(last_used_at, created_at) DESC, id",
        )
        .bind(user_id)
        .bind(Timestamp(now))
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| LiveSession {
            id: row.id,
            created_at: row.created_at.0,
            last_used_at: row.last_used_at.map_or(row.created_at.0, i64::from),
            client_ip: row.client_ip,
            user_agent: row.user_agent,
        })
        .collect())
}

/// When a session last proved the password, if it is live.
///
/// # Errors
/// The database error.
pub async fn authenticated_at(db: &Db, session_id: &str) -> Result<Option<i64>, DbError> {
    let at: Option<Option<Timestamp>> = on_db!(db, "sessions.authenticated_at", pool => {
        sqlx::query_scalar(
            "SELECT authenticated_at FROM sessions WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(at.flatten().map(i64::from))
}

/// Records that a session just proved the password again.
///
/// # Errors
/// The database error.
pub async fn reauthenticated(db: &Db, session_id: &str, now: i64) -> Result<(), DbError> {
    on_db!(db, "sessions.reauthenticated", pool => {
        sqlx::query("UPDATE sessions SET authenticated_at = $1 WHERE id = $2")
            .bind(Timestamp(now))
            .bind(session_id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Records that a session was just used (called at most about once a minute per session).
///
/// # Errors
/// The database error.
pub async fn touch(db: &Db, session_id: &str, now: i64) -> Result<(), DbError> {
    on_db!(db, "sessions.touch", pool => {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
            .bind(Timestamp(now))
            .bind(session_id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// The session a refresh token was live in, as `(user_id, session_id)`.
pub type Owner = (i64, String);

/// Marks the refresh token `old_hash` used and stores `new_hash` as its successor, atomically,
/// if it is live (unused, unexpired, its session not revoked): the conditional update lets
/// exactly one of several concurrent callers win. `None` for every loser.
///
/// # Errors
/// The database error.
pub async fn use_refresh_token(
    db: &Db,
    old_hash: &str,
    new_hash: &str,
    new_expires_at: i64,
    now: i64,
) -> Result<Option<Owner>, DbError> {
    on_db!(db, "sessions.use_refresh_token", pool => {
        let mut tx = pool.begin().await?;
        let won: Option<(String, i64)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             AND EXISTS (SELECT 1 FROM sessions \
                         WHERE sessions.id = refresh_tokens.session_id AND revoked_at IS NULL) \
             RETURNING session_id, (SELECT user_id FROM sessions WHERE sessions.id = session_id)",
        )
        .bind(Timestamp(now))
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session_id, user_id)) = won else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(INSERT_TOKEN)
            .bind(new_hash)
            .bind(&session_id)
            .bind(Timestamp(new_expires_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((user_id, session_id)))
    })
}

/// A stored refresh token, whatever its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub session_id: String,
    pub user_id: i64,
    /// When it was rotated, if it was.
    pub used_at: Option<i64>,
    pub expires_at: i64,
    pub session_revoked: bool,
}

#[derive(sqlx::FromRow)]
struct StoredTokenRow {
    session_id: String,
    user_id: i64,
    used_at: Option<Timestamp>,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

/// The refresh token stored under `token_hash`, with its session's state.
///
/// # Errors
/// The database error.
pub async fn find_refresh_token(db: &Db, token_hash: &str) -> Result<Option<StoredToken>, DbError> {
    let row: Option<StoredTokenRow> = on_db!(db, "sessions.find_refresh_token", pool => {
        sqlx::query_as(
            "SELECT refresh_tokens.session_id, sessions.user_id, refresh_tokens.used_at, \
             refresh_tokens.expires_at, sessions.revoked_at \
             FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id \
             WHERE refresh_tokens.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|row| StoredToken {
        session_id: row.session_id,
        user_id: row.user_id,
        used_at: row.used_at.map(i64::from),
        expires_at: row.expires_at.0,
        session_revoked: row.revoked_at.is_some(),
    }))
}

/// Whether a refresh token is known and not yet used.
///
/// # Errors
/// The database error.
pub async fn refresh_token_unused(db: &Db, token_hash: &str) -> Result<bool, DbError> {
    let found: Option<String> = on_db!(db, "sessions.refresh_token_unused", pool => {
        sqlx::query_scalar(
            "SELECT token_hash FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}

/// Ends one session of `user_id`'s (a device signed out from the device list). Returns whether
/// it was live and theirs.
///
/// # Errors
/// The database error.
pub async fn revoke_of(db: &Db, user_id: i64, session_id: &str, now: i64) -> Result<bool, DbError> {
    on_db!(db, "sessions.revoke_of", pool => {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(Timestamp(now))
        .bind(session_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Ends one session: its access tokens stop passing and its refresh tokens stop working.
///
/// # Errors
/// The database error.
pub async fn revoke(db: &Db, session_id: &str, now: i64) -> Result<(), DbError> {
    on_db!(db, "sessions.revoke", pool => {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Timestamp(now))
            .bind(session_id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Ends every session of a user (log-out everywhere, deactivation). Returns how many.
///
/// # Errors
/// The database error.
pub async fn revoke_all(tx: &mut Tx, user_id: i64, now: i64) -> Result<u64, DbError> {
    in_tx!(tx, "sessions.revoke_all", conn => {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(Timestamp(now))
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
    })
}

/// Ends every session of a user but `keep`. Returns how many.
///
/// # Errors
/// The database error.
pub async fn revoke_others(
    tx: &mut Tx,
    user_id: i64,
    keep: &str,
    now: i64,
) -> Result<u64, DbError> {
    in_tx!(tx, "sessions.revoke_others", conn => {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
        )
        .bind(Timestamp(now))
        .bind(user_id)
        .bind(keep)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
    })
}

/// Deletes sessions that can never be used again and refresh tokens past their expiry, at most
/// `batch` of each kind per call, in one transaction: revoked sessions (their tokens go with
/// them, ON DELETE CASCADE), expired tokens (a used token is kept until it expires, so its reuse
/// is still recognised as theft), and the sessions those tokens leave without an unexpired one.
/// Every statement is an index range or key look-up, so a sweep costs what it deletes, not what
/// the tables hold, and small batches keep each transaction short. Returns `(refresh_tokens,
/// sessions)` deleted.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, now: i64, batch: i64) -> Result<(u64, u64), DbError> {
    on_db!(db, "sessions.sweep", pool => {
        let mut tx = pool.begin().await?;
        let revoked = sqlx::query(
            "DELETE FROM sessions WHERE id IN \
             (SELECT id FROM sessions WHERE revoked_at IS NOT NULL LIMIT $1)",
        )
        .bind(batch)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let expired: Vec<(String,)> = sqlx::query_as(
            "DELETE FROM refresh_tokens WHERE token_hash IN \
             (SELECT token_hash FROM refresh_tokens WHERE expires_at <= $1 LIMIT $2) \
             RETURNING session_id",
        )
        .bind(Timestamp(now))
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let tokens = u64::try_from(expired.len()).unwrap_or(u64::MAX);
        let mut touched: Vec<String> = expired.into_iter().map(|(id,)| id).collect();
        touched.sort_unstable();
        touched.dedup();
        let mut ended = 0;
        if !touched.is_empty() {
            let ids = (2..touched.len() + 2)
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "DELETE FROM sessions WHERE id IN ({ids}) AND NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens \
                  WHERE refresh_tokens.session_id = sessions.id AND expires_at > $1)"
            );
            // Its text changes with the number of sessions: not one for the statement cache.
            let mut query = sqlx::query(&sql).persistent(false).bind(Timestamp(now));
            for id in &touched {
                query = query.bind(id);
            }
            ended = query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok((tokens, revoked + ended))
    })
}
