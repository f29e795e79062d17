//! How the database itself tells every instance sharing it what changed, whoever made the
//! change (an instance, the CLI, or SQL typed by hand): triggers on the users and sessions
//! tables (migrations `*_staff_and_admin.sql`) announce each change. On PostgreSQL they
//! `pg_notify` a channel every instance LISTENs on, delivered when the transaction commits; on
//! SQLite, which has no notifications between processes, they append to `cache_changes`, which
//! each instance reads from where it left off every [`POLL_INTERVAL`].

use std::{collections::VecDeque, time::Duration};

use sqlx::{
    SqlitePool,
    postgres::{PgListener, PgPoolOptions},
};

use super::{Db, DbError, Timestamp, named};

/// How often an instance on SQLite reads the change log: a quarter of the one-second bound
/// on how long a change may take to reach every instance.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long SQLite's change log keeps a row. An instance that has not read it for longer
/// (suspended, say) may have missed rows, and is told so.
pub const CHANGES_KEPT: Duration = Duration::from_secs(600);
/// Rows read per poll; a longer backlog is read in several.
const POLL_BATCH: i64 = 512;

/// A connection listening for changes.
pub struct Listener(Source);

enum Source {
    Postgres(PgListener),
    Sqlite {
        pool: SqlitePool,
        /// The last change-log row read.
        seen: i64,
        /// Rows read but not yet handed out.
        pending: VecDeque<String>,
        last_read: tokio::time::Instant,
    },
}

impl Listener {
    /// The next change's payload, waiting for one. `Ok(None)`: changes may have been lost
    /// (the connection dropped and was re-established, or the log was not read for longer
    /// than it keeps rows). After an error, call again to retry.
    ///
    /// # Errors
    /// The error reconnecting or reading.
    pub async fn next(&mut self) -> Result<Option<String>, DbError> {
        match &mut self.0 {
            Source::Postgres(listener) => {
                named("notify.next", async {
                    Ok(listener.try_recv().await?.map(|n| n.payload().to_string()))
                })
                .await
            }
            Source::Sqlite {
                pool,
                seen,
                pending,
                last_read,
            } => loop {
                if let Some(change) = pending.pop_front() {
                    return Ok(Some(change));
                }
                tokio::time::sleep(POLL_INTERVAL).await;
                let rows: Vec<(i64, String)> = named("notify.poll", async {
                    sqlx::query_as(
                        "SELECT id, change FROM cache_changes WHERE id > $1 ORDER BY id LIMIT $2",
                    )
                    .bind(*seen)
                    .bind(POLL_BATCH)
                    .fetch_all(&*pool)
                    .await
                })
                .await?;
                let stale = last_read.elapsed() > CHANGES_KEPT / 2;
                *last_read = tokio::time::Instant::now();
                if let Some((id, _)) = rows.last() {
                    *seen = *id;
                }
                pending.extend(rows.into_iter().map(|(_, change)| change));
                if stale {
                    return Ok(None);
                }
            },
        }
    }
}

/// Starts listening on `channel` (PostgreSQL, on a connection of its own outside the request
/// pool, so a burst of requests never starves it), or from the end of SQLite's change log.
///
/// # Errors
/// The error connecting or reading.
pub async fn listen(db: &Db, channel: &str) -> Result<Listener, DbError> {
    match db {
        Db::Postgres(pool) => {
            named("notify.listen", async {
                let own = PgPoolOptions::new()
                    .max_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connect_with((*pool.connect_options()).clone())
                    .await?;
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen(channel).await?;
                Ok(Listener(Source::Postgres(listener)))
            })
            .await
        }
        Db::Sqlite(pool) => {
            let seen = named("notify.listen", async {
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cache_changes")
                    .fetch_one(pool)
                    .await
            })
            .await?;
            Ok(Listener(Source::Sqlite {
                pool: pool.clone(),
                seen,
                pending: VecDeque::new(),
                last_read: tokio::time::Instant::now(),
            }))
        }
    }
}

/// Deletes up to `batch` of SQLite's change-log rows written before `before` (nothing to do
/// on PostgreSQL).
///
/// # Errors
/// The database error.
pub async fn sweep(db: &Db, before: i64, batch: i64) -> Result<u64, DbError> {
    let Db::Sqlite(pool) = db else {
        return Ok(0);
    };
    named("notify.sweep", async {
        sqlx::query(
            "DELETE FROM cache_changes WHERE id IN \
             (SELECT id FROM cache_changes WHERE at < $1 ORDER BY at LIMIT $2)",
        )
        .bind(Timestamp(before))
        .bind(batch)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })
    .await
}
