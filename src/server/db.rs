//! The only place SQL appears: the pool, migrations, and one module per table.
//!
//! One binary serves SQLite and PostgreSQL: sqlx's `Any` driver picks the backend from
//! DATABASE_URL at run time. Queries use `$n` placeholders, which both backends accept, and
//! store times as Unix seconds (BIGINT) so no type differs between them.

pub mod sessions;
pub mod throttles;
pub mod users;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Executor,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::Migrator,
    sqlite::SqliteConnectOptions,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a writer waits for SQLite's lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How long a request waits for a database connection before it is answered 503: long enough
/// to ride out a burst, short enough that an outage is reported well within REQUEST_TIMEOUT.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

pub type Db = AnyPool;

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

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Connects, creating a SQLite file (and its directory) on first run, and applies migrations.
///
/// # Errors
/// [`DbInitError`] when the directory, connection or migrations fail.
pub async fn connect(url: &str) -> Result<Db, DbInitError> {
    install_default_drivers();
    let sqlite = is_sqlite(url);
    if sqlite {
        create_sqlite_file(url)?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite { 8 } else { 16 })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if sqlite {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"
                        )
                        .as_str(),
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(DbInitError::Connect)?;
    let migrator = if sqlite {
        &SQLITE_MIGRATIONS
    } else {
        &POSTGRES_MIGRATIONS
    };
    migrator.run(&pool).await.map_err(DbInitError::Migrate)?;
    Ok(pool)
}

/// sqlx opens SQLite files read-write but does not create them; do that (and the directory).
fn create_sqlite_file(url: &str) -> Result<(), DbInitError> {
    let Ok(options) = SqliteConnectOptions::from_str(url) else {
        return Ok(()); // let connect() report the malformed URL
    };
    let file = options.get_filename();
    if file == Path::new(":memory:") || file.exists() {
        return Ok(());
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbInitError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|source| DbInitError::Directory {
            path: file.display().to_string(),
            source,
        })?;
    Ok(())
}

/// Whether the database answers, for /readyz.
pub async fn ping(db: &Db) -> bool {
    sqlx::query("SELECT 1").execute(db).await.is_ok()
}

/// Whether an error is a unique-constraint violation (the same kind on both backends).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation))
}
