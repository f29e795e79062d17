//! The audit log of admin actions: appended to, never changed (the database refuses).

use super::{Db, DbError, Timestamp, Tx, in_tx, on_db};

/// An action to record.
pub struct NewEntry<'a> {
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub address: &'a str,
}

/// Records an action in the transaction that does it, so one is never without the other.
///
/// # Errors
/// The database error.
pub async fn record(tx: &mut Tx, entry: &NewEntry<'_>) -> Result<(), DbError> {
    in_tx!(tx, "audit.record", conn => {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor, action, target, address) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Timestamp(entry.at))
        .bind(entry.actor_id)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.address)
        .execute(&mut *conn)
        .await
        .map(drop)
    })
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub address: String,
}

/// Up to `limit` entries older than entry `before` (the newest without it), newest first.
///
/// # Errors
/// The database error.
pub async fn page(db: &Db, before: Option<i64>, limit: i64) -> Result<Vec<Entry>, DbError> {
    on_db!(db, "audit.page", pool => {
        sqlx::query_as(
            "SELECT id, at, actor, action, target, address FROM audit_log \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Up to `limit` entries newer than entry `after`, oldest first (the page before a page).
///
/// # Errors
/// The database error.
pub async fn page_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Entry>, DbError> {
    on_db!(db, "audit.page_after", pool => {
        sqlx::query_as(
            "SELECT id, at, actor, action, target, address FROM audit_log \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// How many entries there are.
///
/// # Errors
/// The database error.
pub async fn count(db: &Db) -> Result<i64, DbError> {
    on_db!(db, "audit.count", pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(pool).await
    })
}
