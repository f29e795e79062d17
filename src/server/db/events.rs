//! The security events an account's activity page lists.

use super::{Db, DbError, Timestamp, on_db};

/// An event to record.
pub struct NewEvent<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub at: i64,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
}

/// # Errors
/// The database error.
pub async fn record(db: &Db, event: &NewEvent<'_>) -> Result<(), DbError> {
    on_db!(db, "events.record", pool => {
        sqlx::query(
            "INSERT INTO security_events (user_id, kind, at, client_ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.user_id)
        .bind(event.kind)
        .bind(Timestamp(event.at))
        .bind(event.client_ip)
        .bind(event.user_agent)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Event {
    pub kind: String,
    pub at: Timestamp,
    pub client_ip: String,
    pub user_agent: String,
}

/// The user's events since `since`, newest first, at most `limit`.
///
/// # Errors
/// The database error.
pub async fn of_user(db: &Db, user_id: i64, since: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    on_db!(db, "events.of_user", pool => {
        sqlx::query_as(
            "SELECT kind, at, client_ip, user_agent FROM security_events \
             WHERE user_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(user_id)
        .bind(Timestamp(since))
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Deletes at most `batch` events older than `before`; returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, before: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "events.sweep", pool => {
        sqlx::query(
            "DELETE FROM security_events WHERE id IN \
             (SELECT id FROM security_events WHERE at < $1 LIMIT $2)",
        )
        .bind(Timestamp(before))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
