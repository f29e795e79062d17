//! Second factors: authenticator-app keys (sealed), recovery codes (hashed), and log-ins
//! waiting for their second step (hashed tokens).

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

/// An authenticator-app factor, active or pending.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TotpFactor {
    pub id: i64,
    /// Sealed with `ENCRYPTION_KEY` for this user (`auth::sealed`).
    pub secret: String,
    /// The newest step whose code was accepted (-1: none yet).
    pub last_step: i64,
}

/// Which of a user's two factor rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Pending,
}

/// The user's active or pending factor. Each statement repeats its partial index's predicate,
/// so the lookup (one per log-in) is an index probe, not a scan.
///
/// # Errors
/// The database error.
pub async fn totp(db: &Db, user_id: i64, state: State) -> Result<Option<TotpFactor>, DbError> {
    let sql = match state {
        State::Active => {
            "SELECT id, secret, last_step FROM totp_factors \
             WHERE user_id = $1 AND confirmed_at IS NOT NULL"
        }
        State::Pending => {
            "SELECT id, secret, last_step FROM totp_factors \
             WHERE user_id = $1 AND confirmed_at IS NULL"
        }
    };
    on_db!(db, "factors.totp", pool => {
        sqlx::query_as(sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
}

/// Starts an enrolment: the pending factor (an earlier pending one is dropped; the active one,
/// if any, stays until this one is confirmed).
///
/// # Errors
/// The database error.
pub async fn start_totp(db: &Db, user_id: i64, secret: &str, now: i64) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    in_tx!(&mut tx, "factors.start_totp", conn => {
        sqlx::query("DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(secret)
            .bind(Timestamp(now))
            .execute(&mut *conn)
            .await
            .map(drop)
    })?;
    tx.commit().await
}

/// Confirms the pending factor `id` with the code of `step`: it becomes the active one (the
/// old active one goes). `false` if it is no longer pending.
///
/// # Errors
/// The database error.
pub async fn activate_totp(
    tx: &mut Tx,
    user_id: i64,
    id: i64,
    step: i64,
    now: i64,
) -> Result<bool, DbError> {
    in_tx!(tx, "factors.activate_totp", conn => {
        sqlx::query("DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE totp_factors SET confirmed_at = $1, last_step = $2 \
             WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL",
        )
        .bind(Timestamp(now))
        .bind(step)
        .bind(id)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Spends the code of `step` on factor `id`: `false` if that step (or a later one) was
/// already used, so a code works once even when two requests race.
///
/// # Errors
/// The database error.
pub async fn use_step(db: &Db, id: i64, step: i64) -> Result<bool, DbError> {
    on_db!(db, "factors.use_step", pool => {
        sqlx::query(
            "UPDATE totp_factors SET last_step = $1 \
             WHERE id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
        )
        .bind(step)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Removes the user's authenticator factors and recovery codes. `true` if an active factor
/// was removed.
///
/// # Errors
/// The database error.
pub async fn remove_totp(tx: &mut Tx, user_id: i64) -> Result<bool, DbError> {
    in_tx!(tx, "factors.remove_totp", conn => {
        let active: Option<i64> = sqlx::query_scalar(
            "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL RETURNING id",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        Ok(active.is_some())
    })
}

/// Replaces the user's recovery codes with these hashes (the old codes stop working).
///
/// # Errors
/// The database error.
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    user_id: i64,
    hashes: &[String],
    now: i64,
) -> Result<(), DbError> {
    in_tx!(tx, "factors.replace_recovery_codes", conn => {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        for hash in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(hash)
            .bind(Timestamp(now))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    })
}

/// Spends a recovery code: `false` if it is not one of the user's unused codes.
///
/// # Errors
/// The database error.
pub async fn use_recovery_code(
    db: &Db,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<bool, DbError> {
    on_db!(db, "factors.use_recovery_code", pool => {
        sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(Timestamp(now))
        .bind(user_id)
        .bind(hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// How many of the user's recovery codes are unused.
///
/// # Errors
/// The database error.
pub async fn recovery_codes_left(db: &Db, user_id: i64) -> Result<i64, DbError> {
    on_db!(db, "factors.recovery_codes_left", pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await
    })
}

/// Records a log-in waiting for its second step.
///
/// # Errors
/// The database error.
pub async fn open_challenge(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    on_db!(db, "factors.open_challenge", pool => {
        sqlx::query(
            "INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(Timestamp(now))
        .bind(Timestamp(expires_at))
        .execute(pool)
        .await
        .map(drop)
    })
}

/// The user a live challenge belongs to, leaving it open (a wrong code can be typed again).
///
/// # Errors
/// The database error.
pub async fn challenge(db: &Db, token_hash: &str, now: i64) -> Result<Option<i64>, DbError> {
    on_db!(db, "factors.challenge", pool => {
        sqlx::query_scalar(
            "SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(Timestamp(now))
        .fetch_optional(pool)
        .await
    })
}

/// Closes a live challenge: only one of several concurrent callers gets `true`.
///
/// # Errors
/// The database error.
pub async fn close_challenge(db: &Db, token_hash: &str, now: i64) -> Result<bool, DbError> {
    on_db!(db, "factors.close_challenge", pool => {
        sqlx::query("DELETE FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash)
            .bind(Timestamp(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Deletes at most `batch` expired challenges; returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, now: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "factors.sweep", pool => {
        sqlx::query(
            "DELETE FROM mfa_challenges WHERE token_hash IN \
             (SELECT token_hash FROM mfa_challenges WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(Timestamp(now))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
