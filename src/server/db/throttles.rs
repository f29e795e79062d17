//! Throttle counters: one row per bucket, updated with one upsert so concurrent hits on any
//! instance all count.

use super::{Db, DbError, Timestamp, on_db};

/// A bucket after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub hits: i64,
    pub window_start: i64,
}

/// Counts one hit in `bucket`, starting a fresh window when the current one is `window` seconds
/// old.
///
/// # Errors
/// The database error.
pub async fn hit(db: &Db, bucket: &str, now: i64, window: i64) -> Result<Count, DbError> {
    let (hits, window_start): (i64, Timestamp) = on_db!(db, "throttles.hit", pool => {
        sqlx::query_as(
            "INSERT INTO throttles (bucket, hits, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN throttles.window_start <= $3 THEN 1 ELSE throttles.hits + 1 END, \
             window_start = CASE WHEN throttles.window_start <= $3 THEN $2 \
                            ELSE throttles.window_start END \
             RETURNING hits, window_start",
        )
        .bind(bucket)
        .bind(Timestamp(now))
        .bind(Timestamp(now - window))
        .fetch_one(pool)
        .await
    })?;
    Ok(Count {
        hits,
        window_start: window_start.0,
    })
}

/// Blocks `bucket` until `until` (never shortening a longer block).
///
/// # Errors
/// The database error.
pub async fn block(db: &Db, bucket: &str, until: i64) -> Result<(), DbError> {
    on_db!(db, "throttles.block", pool => {
        sqlx::query(
            "UPDATE throttles SET blocked_until = $2 WHERE bucket = $1 AND blocked_until < $2",
        )
        .bind(bucket)
        .bind(Timestamp(until))
        .execute(pool)
        .await
        .map(drop)
    })
}

/// The latest time either bucket is blocked until (0 when neither is).
///
/// # Errors
/// The database error.
pub async fn blocked_until(db: &Db, first: &str, second: &str) -> Result<i64, DbError> {
    let until: Option<Timestamp> = on_db!(db, "throttles.blocked_until", pool => {
        sqlx::query_scalar(
            "SELECT MAX(blocked_until) FROM throttles WHERE bucket = $1 OR bucket = $2",
        )
        .bind(first)
        .bind(second)
        .fetch_one(pool)
        .await
    })?;
    Ok(until.map_or(0, i64::from))
}

/// Forgets a bucket (a successful log-in clears the account's failures).
///
/// # Errors
/// The database error.
pub async fn clear(db: &Db, bucket: &str) -> Result<(), DbError> {
    on_db!(db, "throttles.clear", pool => {
        sqlx::query("DELETE FROM throttles WHERE bucket = $1")
            .bind(bucket)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Deletes at most `batch` counters whose window started at or before `spent_before` and whose
/// back-off is over at `now`. Returns how many.
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, spent_before: i64, now: i64, batch: i64) -> Result<u64, DbError> {
    on_db!(db, "throttles.sweep", pool => {
        sqlx::query(
            "DELETE FROM throttles WHERE bucket IN (SELECT bucket FROM throttles \
             WHERE window_start <= $1 AND blocked_until <= $2 LIMIT $3)",
        )
        .bind(Timestamp(spent_before))
        .bind(Timestamp(now))
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })
}
