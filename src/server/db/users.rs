//! The users table.
//!
//! [`User`] is an account without its password hash: what sessions, handlers and caches hold.
//! The hash is read only where a password is checked ([`find_for_login`], [`password_hash`]).

pub mod listing;

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db, tokens};
use crate::domain::UserView;

/// A stored account, password hash left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    /// Whether the person proved the address is theirs (by a mailed link).
    pub email_verified: bool,
    /// May use the admin site (with the permissions they hold).
    pub is_staff: bool,
    /// Holds every permission.
    pub is_superuser: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

impl User {
    /// What a password must not resemble (Django's UserAttributeSimilarityValidator).
    pub fn personal_words(&self) -> [&str; 4] {
        [
            self.username.as_str(),
            self.email.as_str(),
            self.first_name.as_str(),
            self.last_name.as_str(),
        ]
    }

    /// What the browser and API clients may see of the account.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email_verified: self.email_verified,
            is_staff: self.is_staff && self.is_active,
            date_joined: self.date_joined,
            last_login: self.last_login,
        }
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    email_verified: bool,
    is_staff: bool,
    is_superuser: bool,
    date_joined: Timestamp,
    last_login: Option<Timestamp>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            is_active: row.is_active,
            email_verified: row.email_verified,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            date_joined: row.date_joined.0,
            last_login: row.last_login.map(i64::from),
        }
    }
}

const COLUMNS: &str = "users.id, users.username, users.email, users.first_name, \
    users.last_name, users.is_active, users.email_verified, users.is_staff, users.is_superuser, \
    users.date_joined, users.last_login";

/// The values a new or edited account is stored with, keys already folded.
pub struct UserFields<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// Stores a new, active account with its address not yet verified; returns its id.
///
/// # Errors
/// The database error; a race on a taken name surfaces as a unique violation.
pub async fn insert(
    tx: &mut Tx,
    fields: &UserFields<'_>,
    password_hash: &str,
    now: i64,
) -> Result<i64, DbError> {
    in_tx!(tx, "users.insert", conn => {
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
        .bind(true)
        .bind(Timestamp(now))
        .fetch_one(&mut *conn)
        .await
    })
}

/// Saves the editable details: names, not the email address (which changes only through a
/// confirmed link, [`set_email`]).
///
/// # Errors
/// The database error; a race on a taken name surfaces as a unique violation.
pub async fn update_profile(tx: &mut Tx, id: i64, fields: &UserFields<'_>) -> Result<(), DbError> {
    in_tx!(tx, "users.update_profile", conn => {
        sqlx::query(
            "UPDATE users SET username = $1, username_key = $2, first_name = $3, last_name = $4 \
             WHERE id = $5",
        )
        .bind(fields.username)
        .bind(fields.username_key)
        .bind(fields.first_name)
        .bind(fields.last_name)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(drop)
    })
}

/// Moves an account to a confirmed new address (verified, since the link reached it).
///
/// # Errors
/// The database error; an address taken meanwhile surfaces as a unique violation.
pub async fn set_email(tx: &mut Tx, id: i64, email: &str, email_key: &str) -> Result<(), DbError> {
    in_tx!(tx, "users.set_email", conn => {
        sqlx::query(
            "UPDATE users SET email = $1, email_key = $2, email_verified = $3 WHERE id = $4",
        )
        .bind(email)
        .bind(email_key)
        .bind(true)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(drop)
    })
}

/// Marks the account's address verified if it is still `email` (a link for an address the
/// account has since left verifies nothing). Returns whether it did.
///
/// # Errors
/// The database error.
pub async fn verify_email(tx: &mut Tx, id: i64, email: &str) -> Result<bool, DbError> {
    in_tx!(tx, "users.verify_email", conn => {
        sqlx::query("UPDATE users SET email_verified = $1 WHERE id = $2 AND email = $3")
            .bind(true)
            .bind(id)
            .bind(email)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// An account by id, active or not.
///
/// # Errors
/// The database error.
pub async fn find(db: &Db, id: i64) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = on_db!(db, "users.find", pool => {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(User::from))
}

/// The account holding an address (by its folded key), active or not.
///
/// # Errors
/// The database error.
pub async fn find_by_email(db: &Db, email_key: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = on_db!(db, "users.find_by_email", pool => {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email_key = $1"))
            .bind(email_key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(User::from))
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
) -> Result<(bool, bool), DbError> {
    let rows: Vec<(String, String)> = on_db!(db, "users.taken", pool => {
        sqlx::query_as(
            "SELECT username_key, email_key FROM users \
             WHERE (username_key = $1 OR email_key = $2) AND id <> $3",
        )
        .bind(username_key)
        .bind(email_key)
        .bind(except_id.unwrap_or(0))
        .fetch_all(pool)
        .await
    })?;
    Ok((
        rows.iter().any(|(u, _)| u == username_key),
        rows.iter().any(|(_, e)| e == email_key),
    ))
}

/// The account a log-in names by username or email key (an email match wins if both match),
/// with its password hash.
///
/// # Errors
/// The database error.
pub async fn find_for_login(db: &Db, key: &str) -> Result<Option<(User, String)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let found: Option<WithHash> = on_db!(db, "users.find_for_login", pool => {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS}, users.password_hash FROM users \
             WHERE email_key = $1 OR username_key = $1 \
             ORDER BY CASE WHEN email_key = $1 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(key)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.map(|f| (f.user.into(), f.password_hash)))
}

/// A user's password hash, to confirm a sensitive change.
///
/// # Errors
/// The database error.
pub async fn password_hash(db: &Db, id: i64) -> Result<Option<String>, DbError> {
    on_db!(db, "users.password_hash", pool => {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
    })
}

/// The active user behind a live (not revoked) session.
///
/// # Errors
/// The database error.
pub async fn find_by_session(
    db: &Db,
    user_id: i64,
    session_id: &str,
) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = on_db!(db, "users.find_by_session", pool => {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM users JOIN sessions ON sessions.user_id = users.id \
             WHERE users.id = $1 AND sessions.id = $2 AND sessions.revoked_at IS NULL \
             AND users.is_active"
        ))
        .bind(user_id)
        .bind(session_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(User::from))
}

/// Sets a new password. A password-reset link still out dies with the old password, whichever
/// way the password changed.
///
/// # Errors
/// The database error.
pub async fn set_password_hash(tx: &mut Tx, id: i64, hash: &str) -> Result<(), DbError> {
    in_tx!(tx, "users.set_password_hash", conn => {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    })?;
    tokens::revoke(tx, id, tokens::Purpose::ResetPassword).await
}

/// Stores the same password hashed with today's parameters (after a log-in with it).
///
/// # Errors
/// The database error.
pub async fn rehash_password(db: &Db, id: i64, hash: &str) -> Result<(), DbError> {
    on_db!(db, "users.rehash_password", pool => {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// # Errors
/// The database error.
pub async fn set_last_login(db: &Db, id: i64, now: i64) -> Result<(), DbError> {
    on_db!(db, "users.set_last_login", pool => {
        sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
            .bind(Timestamp(now))
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Marks an account inactive or active again.
///
/// # Errors
/// The database error.
pub async fn set_active(tx: &mut Tx, id: i64, active: bool) -> Result<(), DbError> {
    in_tx!(tx, "users.set_active", conn => {
        sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
            .bind(active)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    })
}

/// Deletes an account and, by the schema's cascades, every row that belongs to it: sessions
/// and their refresh tokens, mailed links, mail still queued for it; with the throttle counters
/// kept under its id. Returns whether it existed.
///
/// # Errors
/// The database error.
pub async fn delete(tx: &mut Tx, id: i64) -> Result<bool, DbError> {
    in_tx!(tx, "users.delete", conn => {
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM throttles WHERE bucket IN ($1, $2)")
            .bind(format!("mail:user:{id}"))
            .bind(format!("password:{id}"))
            .execute(&mut *conn)
            .await?;
        Ok(deleted == 1)
    })
}

/// The account with this username (by its folded key), active or not.
///
/// # Errors
/// The database error.
pub async fn find_by_username(db: &Db, username_key: &str) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = on_db!(db, "users.find_by_username", pool => {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username_key = $1"))
            .bind(username_key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(User::from))
}

/// Sets what an account may do on the admin site.
///
/// # Errors
/// The database error.
pub async fn set_staff(
    tx: &mut Tx,
    id: i64,
    is_staff: bool,
    is_superuser: bool,
) -> Result<(), DbError> {
    in_tx!(tx, "users.set_staff", conn => {
        sqlx::query("UPDATE users SET is_staff = $1, is_superuser = $2 WHERE id = $3")
            .bind(is_staff)
            .bind(is_superuser)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    })
}

/// Marks an account's address verified (an administrator vouches for it).
///
/// # Errors
/// The database error.
pub async fn set_email_verified(tx: &mut Tx, id: i64, verified: bool) -> Result<(), DbError> {
    in_tx!(tx, "users.set_email_verified", conn => {
        sqlx::query("UPDATE users SET email_verified = $1 WHERE id = $2")
            .bind(verified)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    })
}
