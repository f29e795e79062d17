//! The users table.

use super::Db;

/// A user as stored, hash included. Deliberately not `Serialize`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    #[sqlx(try_from = "i64")]
    pub is_active: Active,
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

/// Stored as 0/1: sqlx's Any driver has no boolean type that SQLite and PostgreSQL share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active(pub bool);

impl From<i64> for Active {
    fn from(value: i64) -> Self {
        Self(value != 0)
    }
}

const COLUMNS: &str = "users.id, users.username, users.email, users.password_hash, \
    users.first_name, users.last_name, users.is_active, users.date_joined, users.last_login";

/// The values a new or edited account is stored with, keys already folded.
pub struct UserFields<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// # Errors
/// The database error; a race on a taken name surfaces as a unique violation.
pub async fn insert(
    db: &Db,
    fields: &UserFields<'_>,
    password_hash: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, \
         password_hash, is_active, date_joined) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(fields.username)
    .bind(fields.username_key)
    .bind(fields.email)
    .bind(fields.email_key)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(password_hash)
    .bind(1_i64)
    .bind(now)
    .fetch_one(db)
    .await
}

/// # Errors
/// The database error; a race on a taken name surfaces as a unique violation.
pub async fn update_profile(db: &Db, id: i64, fields: &UserFields<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET username = $1, username_key = $2, email = $3, email_key = $4, \
         first_name = $5, last_name = $6 WHERE id = $7",
    )
    .bind(fields.username)
    .bind(fields.username_key)
    .bind(fields.email)
    .bind(fields.email_key)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Which of the two keys another account already holds: `(username_taken, email_taken)`.
///
/// # Errors
/// The database error.
pub async fn taken(
    db: &Db,
    username_key: &str,
    email_key: &str,
    except_id: Option<i64>,
) -> Result<(bool, bool), sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT username_key, email_key FROM users \
         WHERE (username_key = $1 OR email_key = $2) AND id <> $3",
    )
    .bind(username_key)
    .bind(email_key)
    .bind(except_id.unwrap_or(0))
    .fetch_all(db)
    .await?;
    Ok((
        rows.iter().any(|(u, _)| u == username_key),
        rows.iter().any(|(_, e)| e == email_key),
    ))
}

/// Finds an account by username or email key; an email match wins if both match.
///
/// # Errors
/// The database error.
pub async fn find_by_login(db: &Db, key: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE email_key = $1 OR username_key = $1 \
         ORDER BY CASE WHEN email_key = $1 THEN 0 ELSE 1 END LIMIT 1"
    ))
    .bind(key)
    .fetch_optional(db)
    .await
}

/// The active user behind a live (not revoked) session.
///
/// # Errors
/// The database error.
pub async fn find_by_session(
    db: &Db,
    user_id: i64,
    session_id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users JOIN sessions ON sessions.user_id = users.id \
         WHERE users.id = $1 AND sessions.id = $2 AND sessions.revoked_at IS NULL \
         AND users.is_active = $3"
    ))
    .bind(user_id)
    .bind(session_id)
    .bind(1_i64)
    .fetch_optional(db)
    .await
}

/// # Errors
/// The database error.
pub async fn set_password_hash(db: &Db, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// # Errors
/// The database error.
pub async fn set_last_login(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Marks an account inactive or active again (admin and tests).
///
/// # Errors
/// The database error.
pub async fn set_active(db: &Db, id: i64, active: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
        .bind(i64::from(active))
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}
