//! Passkeys (public keys, with their counters) and WebAuthn ceremonies waiting to finish
//! (hashed tokens).

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

/// A passkey as the profile lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A passkey as a sign-in checks it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Stored {
    pub id: i64,
    pub user_id: i64,
    pub user_handle: String,
    pub passkey: String,
}

/// A passkey to store.
pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    pub name: &'a str,
    pub passkey: &'a str,
    pub now: i64,
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to the account named with it.
    Register,
    /// Signing in (the passkey names the account).
    SignIn,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
        }
    }
}

/// The user's passkeys, oldest first.
///
/// # Errors
/// The database error.
pub async fn of_user(db: &Db, user_id: i64) -> Result<Vec<Listed>, DbError> {
    on_db!(db, "passkeys.of_user", pool => {
        sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM passkeys \
             WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await
    })
}

/// The credential ids of the user's passkeys, and the WebAuthn user handle they share.
///
/// # Errors
/// The database error.
pub async fn credentials_of(
    db: &Db,
    user_id: i64,
) -> Result<(Vec<String>, Option<String>), DbError> {
    let rows: Vec<(String, String)> = on_db!(db, "passkeys.credentials_of", pool => {
        sqlx::query_as("SELECT credential_id, user_handle FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(pool)
            .await
    })?;
    let handle = rows.first().map(|(_, handle)| handle.clone());
    Ok((rows.into_iter().map(|(id, _)| id).collect(), handle))
}

/// How many passkeys the user has.
///
/// # Errors
/// The database error.
pub async fn count(db: &Db, user_id: i64) -> Result<i64, DbError> {
    on_db!(db, "passkeys.count", pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await
    })
}

/// The passkey with this credential id, if any.
///
/// # Errors
/// The database error.
pub async fn by_credential(db: &Db, credential_id: &str) -> Result<Option<Stored>, DbError> {
    on_db!(db, "passkeys.by_credential", pool => {
        sqlx::query_as(
            "SELECT id, user_id, user_handle, passkey FROM passkeys WHERE credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(pool)
        .await
    })
}

/// Stores a passkey; its id. A credential id registered before is a unique violation.
///
/// # Errors
/// The database error.
pub async fn insert(tx: &mut Tx, new: &NewPasskey<'_>) -> Result<i64, DbError> {
    in_tx!(tx, "passkeys.insert", conn => {
        sqlx::query_scalar(
            "INSERT INTO passkeys (user_id, credential_id, user_handle, name, passkey, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.user_id)
        .bind(new.credential_id)
        .bind(new.user_handle)
        .bind(new.name)
        .bind(new.passkey)
        .bind(Timestamp(new.now))
        .fetch_one(&mut *conn)
        .await
    })
}

/// Records a sign-in with passkey `id`: when, and its moved-on counter and flags if they
/// changed.
///
/// # Errors
/// The database error.
pub async fn used(db: &Db, id: i64, passkey: Option<&str>, now: i64) -> Result<(), DbError> {
    on_db!(db, "passkeys.used", pool => {
        sqlx::query(
            "UPDATE passkeys SET last_used_at = $1, passkey = COALESCE($2, passkey) WHERE id = $3",
        )
        .bind(Timestamp(now))
        .bind(passkey)
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Renames the user's passkey `id`; the passkey renamed, or `None` if the user has no such
/// passkey.
///
/// # Errors
/// The database error.
pub async fn rename(db: &Db, user_id: i64, id: i64, name: &str) -> Result<Option<Listed>, DbError> {
    on_db!(db, "passkeys.rename", pool => {
        sqlx::query_as(
            "UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3 \
             RETURNING id, name, created_at, last_used_at",
        )
        .bind(name)
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await
    })
}

/// Removes the user's passkey `id`; its name, or `None` if the user has no such passkey.
///
/// # Errors
/// The database error.
pub async fn remove(tx: &mut Tx, user_id: i64, id: i64) -> Result<Option<String>, DbError> {
    in_tx!(tx, "passkeys.remove", conn => {
        sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await
    })
}

/// Removes every passkey of the user; how many there were.
///
/// # Errors
/// The database error.
pub async fn remove_all(tx: &mut Tx, user_id: i64) -> Result<u64, DbError> {
    in_tx!(tx, "passkeys.remove_all", conn => {
        sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
    })
}

/// Keeps a ceremony's state until `expires_at`.
///
/// # Errors
/// The database error.
pub async fn begin(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    on_db!(db, "passkeys.begin", pool => {
        sqlx::query(
            "INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(state)
        .bind(Timestamp(now))
        .bind(Timestamp(expires_at))
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Takes a live ceremony's state, ending it: only one of several concurrent callers gets it.
/// A registration is found only for the user who began it.
///
/// # Errors
/// The database error.
pub async fn take(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
    user_id: Option<i64>,
    now: i64,
) -> Result<Option<String>, DbError> {
    on_db!(db, "passkeys.take", pool => {
        sqlx::query_scalar(
            "DELETE FROM passkey_ceremonies WHERE token_hash = $1 AND purpose = $2 \
             AND user_id IS NOT DISTINCT FROM $3 AND expires_at > $4 RETURNING state",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(Timestamp(now))
        .fetch_optional(pool)
        .await
    })
}

/// Deletes at most `batch` expired ceremonies; returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, now: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "passkeys.sweep", pool => {
        sqlx::query(
            "DELETE FROM passkey_ceremonies WHERE token_hash IN \
             (SELECT token_hash FROM passkey_ceremonies WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(Timestamp(now))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
