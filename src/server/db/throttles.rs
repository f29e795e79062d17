//! Throttle counters: one row per bucket, updated with one upsert so concurrent hits on any
//! instance all count.

use super::Db;

/// A bucket after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Count {
    pub hits: i64,
    pub window_start: i64,
}

/// Counts one hit in `bucket`, starting a fresh window when the current one is `window` seconds
/// old.
///
/// # Errors
/// The database error.
pub async fn hit(db: &Db, bucket: &str, now: i64, window: i64) -> Result<Count, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO throttles (bucket, hits, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (bucket) DO UPDATE SET \
         hits = CASE WHEN throttles.window_start + $3 <= $2 THEN 1 ELSE throttles.hits + 1 END, \
         window_start = CASE WHEN throttles.window_start + $3 <= $2 THEN $2 \
                        ELSE throttles.window_start END \
         RETURNING hits, window_start",
    )
    .bind(bucket)
    .bind(now)
    .bind(window)
    .fetch_one(db)
    .await
}

/// Blocks `bucket` until `until` (never shortening a longer block).
///
/// # Errors
/// The database error.
pub async fn block(db: &Db, bucket: &str, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE throttles SET blocked_until = $2 WHERE bucket = $1 AND blocked_until < $2")
        .bind(bucket)
        .bind(until)
        .execute(db)
        .await
        .map(drop)
}

/// The latest time any of `buckets` is blocked until (0 when none is).
///
/// # Errors
/// The database error.
pub async fn blocked_until(db: &Db, first: &str, second: &str) -> Result<i64, sqlx::Error> {
    let until: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(blocked_until) FROM throttles WHERE bucket = $1 OR bucket = $2",
    )
    .bind(first)
    .bind(second)
    .fetch_one(db)
    .await?;
    Ok(until.unwrap_or(0))
}

/// Forgets a bucket (a successful log-in clears the account's failures).
///
/// # Errors
/// The database error.
pub async fn clear(db: &Db, bucket: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttles WHERE bucket = $1")
        .bind(bucket)
        .execute(db)
        .await
        .map(drop)
}
