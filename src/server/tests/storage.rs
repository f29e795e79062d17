//! What the database holds, as the people who read it with other tools see it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, TestApp, fresh_postgres_database, me_as, on_both_backends, post, registered,
    spawn_app, spawn_at,
};
use crate::server::{auth::passwords::hash_with_old_parameters, db::testing};

/// Flags are `boolean` and times `timestamptz` on PostgreSQL, so psql, BI tools and a Django
/// service sharing the database read them as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_columns_have_postgres_types() {
    let app = spawn_app(Backend::Postgres).await;
    let db = &app.state.services.db;
    assert_eq!(
        testing::postgres_column_type(db, "users", "is_active").await,
        "boolean"
    );
    for (table, column) in [
        ("users", "date_joined"),
        ("users", "last_login"),
        ("sessions", "created_at"),
        ("sessions", "revoked_at"),
        ("refresh_tokens", "expires_at"),
        ("refresh_tokens", "used_at"),
        ("throttles", "window_start"),
        ("throttles", "blocked_until"),
    ] {
        assert_eq!(
            testing::postgres_column_type(db, table, column).await,
            "timestamp with time zone",
            "{table}.{column}"
        );
    }
}

/// A log-in's status after an operator's `UPDATE` setting `is_active` to `flag`, as typed at
/// a `psql` or `sqlite3` prompt.
async fn log_in_after_setting_active(app: &TestApp, flag: &str) -> StatusCode {
    let sql = format!("UPDATE users SET is_active = {flag} WHERE username = 'ada'");
    testing::operator(&app.state.services.db, &sql).await;
    post(
        app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await
    .0
}

async fn an_operator_deactivating_an_account_in_sql_is_obeyed(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "ada").await;
    assert_eq!(
        log_in_after_setting_active(&app, "false").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        log_in_after_setting_active(&app, "true").await,
        StatusCode::OK
    );
}

on_both_backends!(an_operator_deactivating_an_account_in_sql_is_obeyed);

/// A database made by a latchkey that stored flags and times as integers is converted in
/// place at start, its accounts, flags, times and back-offs kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_postgres_database_is_converted_with_its_data() {
    let (url, name) = fresh_postgres_database().await;
    testing::apply_first_postgres_migrations(&url, 2).await;
    let hash = hash_with_old_parameters(PASSWORD);
    let legacy = testing::connect_postgres_without_migrating(&url).await;
    testing::operator(
        &legacy,
        &format!(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, \
             is_active, date_joined, last_login) VALUES \
             ('ada', 'ada', 'ada@example.com', 'ada@example.com', '{hash}', 1, 1700000000, NULL), \
             ('gone', 'gone', 'gone@example.com', 'gone@example.com', '{hash}', 0, 1700000100, 1700000200); \
             INSERT INTO throttles (bucket, hits, window_start, blocked_until) \
             VALUES ('kept', 2, 1700000000, 4102444800)"
        ),
    )
    .await;
    testing::close(&legacy).await;

    let app = spawn_at(url, name, &[]).await;
    let (status, pair) = post(
        &app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let bearer = format!("Bearer {}", pair["access"].as_str().expect("access"));
    let me: Value = me_as(&app, "/api/me", &bearer)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["date_joined"], 1_700_000_000);
    let (status, _) = post(
        &app,
        "/api/token",
        json!({ "username": "gone", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "still inactive");
    assert_eq!(
        crate::server::db::throttles::blocked_until(&app.state.services.db, "kept", "kept")
            .await
            .expect("read"),
        4_102_444_800,
        "a back-off keeps its end"
    );
}
