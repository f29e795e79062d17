//! What tests do to the database behind the app's back: count rows, move times, create and
//! drop whole PostgreSQL databases. Test builds only; SQL stays under `db/`.

use sqlx::{Connection, PgPool, SqliteConnection};

use super::{Db, Timestamp, on_pool};

/// The tables whose rows tests count.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Users,
    Sessions,
    RefreshTokens,
    Throttles,
    Links,
    Outbox,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Sessions => "sessions",
            Self::RefreshTokens => "refresh_tokens",
            Self::Throttles => "throttles",
            Self::Links => "one_time_tokens",
            Self::Outbox => "mail_outbox",
        }
    }
}

/// # Panics
/// When the database fails: a test that cannot look has failed.
pub async fn count(db: &Db, table: Table) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {}", table.name());
    on_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await.expect("count rows"))
}

/// Rows of `table` for which `condition` (SQL both backends read alike) holds.
///
/// # Panics
/// When the database fails: a test that cannot look has failed.
pub async fn count_where(db: &Db, table: Table, condition: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {condition}", table.name());
    on_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await.expect("count rows"))
}

/// The id of the account named `username` (as typed at sign-up).
///
/// # Panics
/// When there is none, or the database fails.
pub async fn user_id(db: &Db, username: &str) -> i64 {
    find_user_id(db, username).await.expect("the user exists")
}

/// The stored account named `username`.
///
/// # Panics
/// When it does not exist or the database fails.
pub async fn user(db: &Db, username: &str) -> super::users::User {
    let id = user_id(db, username).await;
    super::users::find(db, id)
        .await
        .expect("read the user")
        .expect("the user exists")
}

/// Marks an account inactive, as an operator would.
///
/// # Panics
/// When the database fails.
pub async fn deactivate(db: &Db, id: i64) {
    let mut tx = db.begin().await.expect("begin");
    super::users::set_active(&mut tx, id, false)
        .await
        .expect("deactivate");
    tx.commit().await.expect("commit");
}

/// # Panics
/// When the database fails.
pub async fn find_user_id(db: &Db, username: &str) -> Option<i64> {
    on_pool!(db, pool => {
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await
            .expect("find the user")
    })
}

/// Every account's password hash becomes `hash`.
///
/// # Panics
/// When the database fails.
pub async fn set_every_password_hash(db: &Db, hash: &str) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE users SET password_hash = $1")
            .bind(hash)
            .execute(pool)
            .await
            .expect("store the hash");
    });
}

/// The one account's password hash.
///
/// # Panics
/// When there is not exactly one account, or the database fails.
pub async fn only_password_hash(db: &Db) -> String {
    on_pool!(db, pool => {
        sqlx::query_scalar("SELECT password_hash FROM users")
            .fetch_one(pool)
            .await
            .expect("the hash")
    })
}

/// Moves every rotation `seconds` into the past, as the passing of time would.
///
/// # Panics
/// When the database fails.
pub async fn age_rotations(db: &Db, seconds: i64) {
    let used: Vec<(String, Timestamp)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT token_hash, used_at FROM refresh_tokens WHERE used_at IS NOT NULL")
            .fetch_all(pool)
            .await
            .expect("rotated tokens")
    });
    for (hash, used_at) in used {
        on_pool!(db, pool => {
            sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
                .bind(Timestamp(used_at.0 - seconds))
                .bind(&hash)
                .execute(pool)
                .await
                .expect("age the rotation");
        });
    }
}

/// Makes a session's refresh tokens long expired.
///
/// # Panics
/// When the database fails.
pub async fn expire_refresh_tokens(db: &Db, session_id: &str) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE refresh_tokens SET expires_at = $1 WHERE session_id = $2")
            .bind(Timestamp(0))
            .bind(session_id)
            .execute(pool)
            .await
            .expect("expire the tokens");
    });
}

/// Makes every session's last password check long past, as the passing of time would.
///
/// # Panics
/// When the database fails.
pub async fn age_authentications(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE sessions SET authenticated_at = $1")
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("age the sessions");
    });
}

/// Makes every mailed link expired, as the passing of time would.
///
/// # Panics
/// When the database fails.
pub async fn expire_challenges(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE mfa_challenges SET expires_at = $1")
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("expire challenges");
    });
}

pub async fn expire_links(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE one_time_tokens SET expires_at = $1")
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("expire the links");
    });
}

/// The hashes stored for mailed links.
///
/// # Panics
/// When the database fails.
pub async fn link_hashes(db: &Db) -> Vec<String> {
    on_pool!(db, pool => {
        sqlx::query_scalar("SELECT token_hash FROM one_time_tokens")
            .fetch_all(pool)
            .await
            .expect("read the links")
    })
}

/// Queues a mail for `user_id` that no sender will try for a day (a mail still waiting).
///
/// # Panics
/// When the database fails.
pub async fn queue_held_mail(db: &Db, user_id: i64) {
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO mail_outbox (user_id, recipient, subject, text_body, html_body, \
             created_at, next_attempt_at) VALUES ($1, 'held@example.com', 's', 't', 'h', $2, $3)",
        )
        .bind(user_id)
        .bind(Timestamp(crate::server::now()))
        .bind(Timestamp(crate::server::now() + 86_400))
        .execute(pool)
        .await
        .expect("queue a held mail");
    });
}

/// How many rows of every kind still belong to account `user_id`.
///
/// # Panics
/// When the database fails.
pub async fn rows_of(db: &Db, user_id: i64) -> i64 {
    let mut total = 0;
    for sql in [
        "SELECT COUNT(*) FROM users WHERE id = $1",
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        "SELECT COUNT(*) FROM one_time_tokens WHERE user_id = $1",
        "SELECT COUNT(*) FROM mail_outbox WHERE user_id = $1",
    ] {
        let n: i64 = on_pool!(db, pool => {
            sqlx::query_scalar(sql).bind(user_id).fetch_one(pool).await.expect("count rows")
        });
        total += n;
    }
    let throttles: i64 = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM throttles WHERE bucket IN ($1, $2)")
            .bind(format!("mail:user:{user_id}"))
            .bind(format!("password:{user_id}"))
            .fetch_one(pool)
            .await
            .expect("count throttles")
    });
    total + throttles
}

/// Makes every queued mail due now, as the passing of its back-off would.
///
/// # Panics
/// When the database fails.
pub async fn mail_due_now(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE mail_outbox SET next_attempt_at = $1")
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("make mail due");
    });
}

/// Lifts every back-off, as the passing of time would.
///
/// # Panics
/// When the database fails.
pub async fn lift_back_offs(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("UPDATE throttles SET blocked_until = $1")
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("lift the back-offs");
    });
}

/// Forgets every throttle counter.
///
/// # Panics
/// When the database fails.
pub async fn clear_throttles(db: &Db) {
    on_pool!(db, pool => {
        sqlx::query("DELETE FROM throttles")
            .execute(pool)
            .await
            .expect("clear the counters");
    });
}

/// Stores a counter whose window ended long ago.
///
/// # Panics
/// When the database fails.
pub async fn insert_spent_throttle(db: &Db, bucket: &str) {
    on_pool!(db, pool => {
        sqlx::query("INSERT INTO throttles (bucket, hits, window_start) VALUES ($1, 3, $2)")
            .bind(bucket)
            .bind(Timestamp(0))
            .execute(pool)
            .await
            .expect("a spent counter");
    });
}

/// Whether the session is marked revoked, read on `db` (another pool, to see what is
/// committed).
///
/// # Panics
/// When the session does not exist, or the database fails.
pub async fn session_revoked(db: &Db, session_id: &str) -> bool {
    let revoked: Option<Timestamp> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT revoked_at FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_one(pool)
            .await
            .expect("the session")
    });
    revoked.is_some()
}

/// Runs a statement as an operator would at a `psql` or `sqlite3` prompt.
///
/// # Panics
/// When the statement fails.
pub async fn operator(db: &Db, sql: &str) {
    on_pool!(db, pool => {
        sqlx::raw_sql(sql).execute(pool).await.expect("the operator's statement");
    });
}

/// The type PostgreSQL reports for a column (`information_schema`'s `data_type`).
///
/// # Panics
/// On SQLite, or when the database fails.
pub async fn postgres_column_type(db: &Db, table: &str, column: &str) -> String {
    let Db::Postgres(pool) = db else {
        panic!("PostgreSQL only");
    };
    sqlx::query_scalar(
        "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
    )
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .expect("the column")
}

/// A SQLite connection of its own holding the write lock until [`SqliteLock::release`].
pub struct SqliteLock(SqliteConnection);

/// # Panics
/// When the database cannot be opened or locked.
pub async fn lock_sqlite(url: &str) -> SqliteLock {
    let mut connection = SqliteConnection::connect(url)
        .await
        .expect("another connection");
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut connection)
        .await
        .expect("lock");
    SqliteLock(connection)
}

impl SqliteLock {
    /// # Panics
    /// When the rollback fails.
    pub async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut self.0)
            .await
            .expect("unlock");
    }
}

/// Creates the PostgreSQL database `name` through the server at `admin_url`.
///
/// # Panics
/// When PostgreSQL is out of reach.
pub async fn create_postgres_database(admin_url: &str, name: &str) {
    let admin = PgPool::connect(admin_url)
        .await
        .expect("PostgreSQL reachable (see README: TEST_POSTGRES_URL)");
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
}

/// Drops the PostgreSQL database `name`, closing its connections; failures are ignored (the
/// database is a test's leftover at worst).
pub async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(admin) = PgPool::connect(admin_url).await {
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await;
    }
}

/// Applies only the first `count` PostgreSQL migrations to `url`, as a database created by an
/// older latchkey has them.
///
/// # Panics
/// When PostgreSQL is out of reach or a migration fails.
pub async fn apply_first_postgres_migrations(url: &str, count: usize) {
    let pool = PgPool::connect(url).await.expect("PostgreSQL reachable");
    let older = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            super::POSTGRES_MIGRATIONS.migrations[..count].to_vec(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    older.run(&pool).await.expect("the older migrations");
    pool.close().await;
}

/// Closes the pool, as a database that went away would look to the app.
pub async fn close(db: &Db) {
    on_pool!(db, pool => pool.close().await);
}

/// A pool on `url` that leaves its schema as it is (to prepare an older database).
///
/// # Panics
/// When the database is out of reach.
pub async fn connect_postgres_without_migrating(url: &str) -> Db {
    Db::Postgres(PgPool::connect(url).await.expect("PostgreSQL reachable"))
}

/// Runs `sql` on a connection of its own, as an operator typing into psql or sqlite3 would:
/// nothing of the app's pools or caches takes part.
pub async fn by_hand(database_url: &str, sql: &str) {
    try_by_hand(database_url, sql).await.expect(sql);
}

/// [`by_hand`], for SQL the database may refuse.
///
/// # Errors
/// The database's refusal.
pub async fn try_by_hand(database_url: &str, sql: &str) -> Result<(), sqlx::Error> {
    if database_url.starts_with("sqlite:") {
        let mut conn = SqliteConnection::connect(database_url).await?;
        sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
    }
}
