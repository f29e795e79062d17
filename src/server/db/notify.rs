//! Messages between the instances sharing one PostgreSQL database, over LISTEN/NOTIFY. On
//! SQLite there is one process, so nobody to tell: listening gives nothing, notifying does
//! nothing.

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::{Db, DbError, named};

/// A connection listening on one channel.
pub struct Listener(PgListener);

impl Listener {
    /// The next message's payload. `Ok(None)`: the connection dropped and was re-established,
    /// so whatever was sent meanwhile is lost. After an error, call again to reconnect.
    ///
    /// # Errors
    /// The error reconnecting.
    pub async fn next(&mut self) -> Result<Option<String>, DbError> {
        named("notify.next", async {
            Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
        })
        .await
    }
}

/// Starts listening on `channel`, on a connection of its own (outside the request pool, so a
/// burst of requests never starves it). `None` on SQLite.
///
/// # Errors
/// The error connecting.
pub async fn listen(db: &Db, channel: &str) -> Result<Option<Listener>, DbError> {
    let Db::Postgres(pool) = db else {
        return Ok(None);
    };
    named("notify.listen", async {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with((*pool.connect_options()).clone())
            .await?;
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(channel).await?;
        Ok(Some(Listener(listener)))
    })
    .await
}

/// Sends `payload` to every instance listening on `channel` (this one included).
///
/// # Errors
/// The database error.
pub async fn send(db: &Db, channel: &str, payload: &str) -> Result<(), DbError> {
    match db {
        Db::Sqlite(_) => Ok(()),
        Db::Postgres(pool) => {
            named("notify.send", async {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(channel)
                    .bind(payload)
                    .execute(pool)
                    .await
                    .map(drop)
            })
            .await
        }
    }
}
