//! The only place SQL appears: the pools, migrations, and one module per table.
//!
//! One binary serves SQLite and PostgreSQL. [`Db`] holds a pool of one or the other; each
//! function runs its statement on whichever it is (the [`on_db!`] macro), so nothing outside
//! this module knows which backend runs. Each backend stores values in its own types: on
//! PostgreSQL flags are `BOOLEAN` and times `TIMESTAMPTZ`; on SQLite, which has neither, flags
//! are integers 0/1 and times Unix seconds, as SQLite's documentation suggests. [`Timestamp`]
//! carries a time across in both directions; Rust code sees Unix seconds everywhere.

pub mod audit;
pub mod events;
pub mod factors;
pub mod notify;
pub mod outbox;
pub mod passkeys;
pub mod permissions;
#[cfg(test)]
pub mod plans;
pub mod sessions;
#[cfg(test)]
pub mod testing;
pub mod throttles;
pub mod tokens;
pub mod users;

use std::{future::Future, path::Path, str::FromStr, time::Duration};

use crate::server::config::{Backend, DatabaseUrl};

use sqlx::{
    Decode, Encode, Postgres, Sqlite, Type,
    encode::IsNull,
    error::BoxDynError,
    migrate::Migrator,
    postgres::{PgArgumentBuffer, PgConnectOptions, PgPool, PgPoolOptions, PgTypeInfo, PgValueRef},
    sqlite::{
        SqliteArgumentValue, SqliteConnectOptions, SqliteJournalMode, SqlitePool,
        SqlitePoolOptions, SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
    },
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a writer waits for SQLite's lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a database connection before it is answered 503: long enough
/// to ride out a burst, short enough that an outage is reported well within REQUEST_TIMEOUT.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of connections to the one database this process uses. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Evaluates `$body` with `$pool` bound to the backend's own pool: the same statement text is
/// prepared for whichever backend runs (both accept `$n` placeholders).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs the statements of `$body` (an async block's contents, `?` on sqlx errors allowed) on
/// whichever backend runs, naming the operation in any error: `Result<T, DbError>`.
macro_rules! on_db {
    ($db:expr, $operation:literal, $pool:ident => $body:expr) => {
        $crate::server::db::on_pool!($db, $pool => {
            $crate::server::db::named($operation, async { $body }).await
        })
    };
}
pub(crate) use on_db;

/// A transaction on whichever backend runs: statements that must take effect together (an
/// account and the mail that confirms it) run in one, through functions taking `&mut Tx`.
/// Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Db {
    /// Starts a transaction. On SQLite the write lock is taken by the first write, so
    /// functions run in one write before they read where they can.
    ///
    /// # Errors
    /// The database error.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        named("transaction.begin", async {
            Ok(match self {
                Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
                Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            })
        })
        .await
    }
}

impl Tx {
    /// # Errors
    /// The database error; nothing of the transaction took effect.
    pub async fn commit(self) -> Result<(), DbError> {
        named("transaction.commit", async {
            match self {
                Self::Sqlite(tx) => tx.commit().await,
                Self::Postgres(tx) => tx.commit().await,
            }
        })
        .await
    }
}

/// Like [`on_db!`], inside a transaction: `$conn` is the backend's connection (use it as
/// `&mut *$conn`).
macro_rules! in_tx {
    ($tx:expr, $operation:literal, $conn:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $crate::server::db::named($operation, async { $body }).await
            }
            $crate::server::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $crate::server::db::named($operation, async { $body }).await
            }
        }
    };
}
pub(crate) use in_tx;

/// A failed statement and the operation it belonged to. The operation is for the log; a
/// client only ever learns that something failed (see `AppError`'s conversion).
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {source}")]
pub struct DbError {
    pub operation: &'static str,
    #[source]
    pub source: sqlx::Error,
}

/// Names the operation of the statements `work` runs.
///
/// # Errors
/// The statement's error, with `operation`.
pub async fn named<T>(
    operation: &'static str,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DbError> {
    work.await.map_err(|source| DbError { operation, source })
}

#[derive(Debug, thiserror::Error)]
pub enum DbInitError {
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Connects, creating a SQLite file (and its directory) on first run, and applies migrations.
///
/// # Errors
/// [`DbInitError`] when the directory, connection or migrations fail.
pub async fn connect(database: &DatabaseUrl) -> Result<Db, DbInitError> {
    let db = open(database).await?;
    on_pool!(&db, pool => migrator(&db).run(pool).await.map_err(DbInitError::Migrate))?;
    Ok(db)
}

fn migrator(db: &Db) -> &'static Migrator {
    match db {
        Db::Sqlite(_) => &SQLITE_MIGRATIONS,
        Db::Postgres(_) => &POSTGRES_MIGRATIONS,
    }
}

/// Connects without migrating (`latchkey check` looks, and changes nothing but a SQLite file
/// it has to create).
///
/// # Errors
/// [`DbInitError`] when the directory or connection fail.
pub async fn open(database: &DatabaseUrl) -> Result<Db, DbInitError> {
    let url = database.expose();
    Ok(if database.backend == Backend::Sqlite {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(DbInitError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        create_directory(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(DbInitError::Connect)?;
        Db::Sqlite(pool)
    } else {
        let options = PgConnectOptions::from_str(url).map_err(DbInitError::Connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(DbInitError::Connect)?;
        Db::Postgres(pool)
    })
}

/// How many of the migrations this binary carries the database has not had yet.
///
/// # Errors
/// The database error.
pub async fn pending_migrations(db: &Db) -> Result<usize, DbError> {
    let applied: Vec<i64> = on_db!(db, "migrations.applied", pool => {
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => {
                Ok(Vec::new())
            }
            other => other,
        }
    })?;
    Ok(migrator(db)
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count())
}

/// SQLite creates the file but not the directory it goes in.
fn create_directory(file: &Path) -> Result<(), DbInitError> {
    if file == Path::new(":memory:") {
        return Ok(());
    }
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| DbInitError::Directory {
            path: dir.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// Whether the database answers, for /readyz.
pub async fn ping(db: &Db) -> bool {
    on_pool!(db, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
}

/// Whether an error is a unique-constraint violation (the same kind on both backends).
pub fn is_unique_violation(error: &DbError) -> bool {
    error
        .source
        .as_database_error()
        .is_some_and(|e| matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

/// A point in time, Unix seconds in Rust: `TIMESTAMPTZ` on PostgreSQL, an integer on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl From<Timestamp> for i64 {
    fn from(time: Timestamp) -> Self {
        time.0
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<'r, Sqlite>>::decode(value).map(Self)
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <time::OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let time = time::OffsetDateTime::from_unix_timestamp(self.0)?;
        <time::OffsetDateTime as Encode<'_, Postgres>>::encode_by_ref(&time, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <time::OffsetDateTime as Decode<'r, Postgres>>::decode(value)
            .map(|time| Self(time.unix_timestamp()))
    }
}
