//! Revocation is immediate: log-out, log-out everywhere, password change and deactivation end
//! sessions at once, on this instance and on the others, while a live session costs no
//! database read per request.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, TestApp, logged_in, me_as, on_both_backends, post, registered, spawn_app,
    spawn_peer, with_token,
};
use crate::server::{
    db::testing::{self, Table},
    services::session_cache::Change,
};

async fn me(app: &TestApp, access: &str) -> StatusCode {
    me_as(app, "/api/me", &format!("Bearer {access}"))
        .await
        .status()
}

async fn a_live_session_is_checked_in_memory_after_its_first_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    assert_eq!(me(&app, &access).await, StatusCode::OK);
    let misses = app.state.services.cache.misses();
    for _ in 0..20 {
        assert_eq!(me(&app, &access).await, StatusCode::OK);
    }
    assert_eq!(
        app.state.services.cache.misses(),
        misses,
        "no database read for a cached session"
    );
}

async fn log_out_everywhere_ends_every_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (phone_access, phone_refresh) = registered(&app, "ada").await;
    let (laptop_access, _) = logged_in(&app, "ada").await;
    // The browser session too.
    app.login("ada", PASSWORD).await;
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(me(&app, &phone_access).await, StatusCode::OK, "cached");

    let response = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/logout-all",
        &format!("Bearer {laptop_access}"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["sessions_ended"], 3);

    assert_eq!(me(&app, &phone_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &laptop_access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        &app,
        "/api/token/refresh",
        json!({ "refresh": phone_refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/profile").await.status(),
        StatusCode::SEE_OTHER,
        "the browser is signed out too"
    );
}

async fn the_profile_button_logs_out_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    app.login("ada", PASSWORD).await;
    let response = app.post_form("/fn/logout_all", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(app.cookie("latchkey_access").is_none(), "cookies cleared");
    assert_eq!(me(&app, &access).await, StatusCode::UNAUTHORIZED);
}

async fn deactivation_ends_every_session_and_log_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, refresh) = registered(&app, "ada").await;
    assert_eq!(me(&app, &access).await, StatusCode::OK);
    let bearer = format!("Bearer {access}");
    let wrong = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/deactivate",
        &bearer,
        Some(json!({ "password": "not my password" })),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&app, &access).await, StatusCode::OK, "nothing changed");

    let done = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/deactivate",
        &bearer,
        Some(json!({ "password": PASSWORD })),
    )
    .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(
        &app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "no_active_account");
}

async fn a_password_change_ends_the_other_sessions_access_tokens_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (old_access, _) = registered(&app, "ada").await;
    let (current, _) = logged_in(&app, "ada").await;
    assert_eq!(me(&app, &old_access).await, StatusCode::OK, "cached");
    let changed = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/password",
        &format!("Bearer {current}"),
        Some(json!({ "current_password": PASSWORD, "new_password": "another good passphrase" })),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &old_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, &current).await,
        StatusCode::OK,
        "this session stays"
    );
}

pub(super) async fn dead_rows_are_swept_in_small_batches(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "ada").await;
    let mut refresh_tokens = Vec::new();
    for _ in 0..9 {
        refresh_tokens.push(logged_in(&app, "ada").await.1);
    }
    for token in &refresh_tokens[0..3] {
        post(&app, "/api/token/blacklist", json!({ "refresh": token })).await;
    }
    for token in &refresh_tokens[3..6] {
        let sid = app
            .state
            .services
            .tokens
            .verify(token, crate::server::auth::tokens::TokenType::Refresh)
            .expect("valid")
            .sid;
        testing::expire_refresh_tokens(&app.state.services.db, &sid).await;
    }
    let (status, rotated) = post(
        &app,
        "/api/token/refresh",
        json!({ "refresh": refresh_tokens[6] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    testing::insert_spent_throttle(&app.state.services.db, "spent").await;
    let count = |table| testing::count(&app.state.services.db, table);
    let sessions_before = count(Table::Sessions).await;
    let swept = crate::server::services::cleanup::sweep(&app.state.services, 2)
        .await
        .expect("sweep");
    // Tokens go either by themselves or with their session (ON DELETE CASCADE).
    assert!(swept.refresh_tokens <= 6, "{swept:?}");
    assert_eq!(swept.sessions, 6);
    assert_eq!(swept.throttles, 1);
    assert_eq!(count(Table::Sessions).await, sessions_before - 6);
    assert_eq!(
        count(Table::RefreshTokens).await,
        1 + 2 + 2,
        "the first session's, two live ones, and the rotated one's used token and successor"
    );

    // What is left still works, including theft detection on the kept used token.
    let (status, _) = post(
        &app,
        "/api/token/refresh",
        json!({ "refresh": rotated["refresh"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        crate::server::services::cleanup::sweep(&app.state.services, 2)
            .await
            .expect("sweep"),
        crate::server::services::cleanup::Swept::default(),
        "nothing more to sweep"
    );
}

/// Waits for `peer` to hear of a change made elsewhere.
async fn heard(changes: &mut tokio::sync::broadcast::Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("the change reaches the other instance within 5 s")
        .expect("change")
}

async fn two_instances_on_postgres_share_sessions_and_revocations() {
    let first = spawn_app(Backend::Postgres).await;
    let second = spawn_peer(&first).await;
    let (access, refresh) = registered(&first, "ada").await;

    assert_eq!(
        me(&second, &access).await,
        StatusCode::OK,
        "one session, two instances"
    );
    let (status, pair) = post(&second, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::OK, "refreshed on the other instance");
    let access = pair["access"].as_str().expect("access").to_string();
    let refresh = pair["refresh"].as_str().expect("refresh").to_string();
    assert_eq!(me(&first, &access).await, StatusCode::OK);
    assert_eq!(
        me(&second, &access).await,
        StatusCode::OK,
        "now cached there"
    );

    let mut changes = second.state.services.cache.subscribe();
    let started = std::time::Instant::now();
    let (status, _) = post(
        &first,
        "/api/token/blacklist",
        json!({ "refresh": refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(matches!(heard(&mut changes).await, Change::Session(_)));
    eprintln!(
        "revocation reached the other instance in {:?}",
        started.elapsed()
    );
    assert_eq!(
        me(&second, &access).await,
        StatusCode::UNAUTHORIZED,
        "revoked on the other instance too"
    );

    // A throttle counted on one instance holds on the other.
    for _ in 0..6 {
        post(
            &first,
            "/api/token",
            json!({ "username": "ada", "password": "wrong" }),
        )
        .await;
    }
    let (status, _) = post(
        &second,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// What an operator changes by hand in the database is refused by every instance within a
/// second: the database itself announces it (see `db::notify`).
pub(super) async fn every_instance_refuses_within_a_second_what_an_operator_changed_by_hand(
    backend: Backend,
) {
    let first = spawn_app(backend).await;
    let second = spawn_peer(&first).await;
    let (ada, _) = registered(&first, "ada").await;
    let (bob, _) = registered(&first, "bob").await;
    let (cyd, _) = registered(&first, "cyd").await;
    for access in [&ada, &bob, &cyd] {
        for app in [&first, &second] {
            assert_eq!(me(app, access).await, StatusCode::OK, "cached on both");
        }
    }
    let url = first.state.settings.database.expose().to_string();
    for (sql, access) in [
        (
            "UPDATE users SET is_active = FALSE WHERE username = 'ada'",
            &ada,
        ),
        ("DELETE FROM users WHERE username = 'bob'", &bob),
        (
            "UPDATE sessions SET revoked_at = created_at \
             WHERE user_id = (SELECT id FROM users WHERE username = 'cyd')",
            &cyd,
        ),
    ] {
        let mut heard_first = first.state.services.cache.subscribe();
        let mut heard_second = second.state.services.cache.subscribe();
        let changed = std::time::Instant::now();
        testing::by_hand(&url, sql).await;
        for changes in [&mut heard_first, &mut heard_second] {
            tokio::time::timeout(Duration::from_secs(1), changes.recv())
                .await
                .unwrap_or_else(|_| panic!("{sql}: not heard within a second"))
                .expect("change");
        }
        eprintln!("{sql}: heard by both instances in {:?}", changed.elapsed());
        for app in [&first, &second] {
            assert_eq!(me(app, access).await, StatusCode::UNAUTHORIZED, "{sql}");
        }
    }
    assert_eq!(
        me(&second, &registered(&first, "dee").await.0).await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_revocations_on_postgres() {
    two_instances_on_postgres_share_sessions_and_revocations().await;
}

on_both_backends!(
    a_live_session_is_checked_in_memory_after_its_first_request,
    log_out_everywhere_ends_every_session_at_once,
    the_profile_button_logs_out_everywhere,
    deactivation_ends_every_session_and_log_in,
    a_password_change_ends_the_other_sessions_access_tokens_at_once,
    dead_rows_are_swept_in_small_batches,
    every_instance_refuses_within_a_second_what_an_operator_changed_by_hand,
);
