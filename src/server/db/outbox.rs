//! The mail queue (the outbox pattern): mail is inserted in the transaction of what it
//! confirms, and senders claim it with a lease, so each mail goes to one sender at a time.

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

/// A mail to queue.
pub struct NewMail<'a> {
    /// `None` for mail that must outlive its account (the deletion notice).
    pub user_id: Option<i64>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
}

/// Queues a mail, due at once; returns its id.
///
/// # Errors
/// The database error.
pub async fn enqueue(tx: &mut Tx, mail: &NewMail<'_>, now: i64) -> Result<i64, DbError> {
    in_tx!(tx, "outbox.enqueue", conn => {
        sqlx::query_scalar(
            "INSERT INTO mail_outbox (user_id, recipient, subject, text_body, html_body, \
             created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(mail.user_id)
        .bind(mail.recipient)
        .bind(mail.subject)
        .bind(mail.text_body)
        .bind(mail.html_body)
        .bind(Timestamp(now))
        .fetch_one(&mut *conn)
        .await
    })
}

/// A queued mail a sender has claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: Timestamp,
}

/// Claims the oldest due mail for `lease` seconds, if any, of those whose recipient has no
/// earlier mail still queued (being sent, or waiting to be tried again): mails in flight at
/// once go to different people, and each person's arrive in the order they were queued. Of
/// several senders racing, each gets a different mail: PostgreSQL skips rows another sender
/// has locked, SQLite runs one writer at a time, and the lease is checked again on the row
/// being updated.
///
/// # Errors
/// The database error.
pub async fn claim(db: &Db, now: i64, lease: i64) -> Result<Option<Claimed>, DbError> {
    let skip_locked = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE mail_outbox SET locked_until = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM mail_outbox AS m WHERE failed_at IS NULL \
                     AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
                     AND NOT EXISTS (SELECT 1 FROM mail_outbox AS earlier \
                                     WHERE earlier.recipient = m.recipient AND earlier.id < m.id \
                                     AND earlier.failed_at IS NULL) \
                     ORDER BY next_attempt_at, id LIMIT 1{skip_locked}) \
         AND failed_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
         RETURNING id, recipient, subject, text_body, html_body, attempts, created_at"
    );
    on_db!(db, "outbox.claim", pool => {
        sqlx::query_as(&sql)
        .bind(Timestamp(now))
        .bind(Timestamp(now + lease))
        .fetch_optional(pool)
        .await
    })
}

/// A delivered mail is deleted: its link holds a live token.
///
/// # Errors
/// The database error.
pub async fn delivered(db: &Db, id: i64) -> Result<(), DbError> {
    on_db!(db, "outbox.delivered", pool => {
        sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Releases a mail that failed for now, to be tried again at `at`.
///
/// # Errors
/// The database error.
pub async fn retry_at(db: &Db, id: i64, at: i64, error: &str) -> Result<(), DbError> {
    on_db!(db, "outbox.retry_at", pool => {
        sqlx::query(
            "UPDATE mail_outbox SET locked_until = NULL, next_attempt_at = $2, last_error = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(Timestamp(at))
        .bind(error)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Marks a mail the server refused for good; it stays for the operator to see until swept.
///
/// # Errors
/// The database error.
pub async fn failed(db: &Db, id: i64, now: i64, error: &str) -> Result<(), DbError> {
    on_db!(db, "outbox.failed", pool => {
        sqlx::query(
            "UPDATE mail_outbox SET locked_until = NULL, failed_at = $2, last_error = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(Timestamp(now))
        .bind(error)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Deletes at most `batch` mails refused before `before`; returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, before: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "outbox.sweep", pool => {
        sqlx::query(
            "DELETE FROM mail_outbox WHERE id IN \
             (SELECT id FROM mail_outbox WHERE failed_at <= $1 LIMIT $2)",
        )
        .bind(Timestamp(before))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
