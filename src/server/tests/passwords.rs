//! Password hashing under load and over time: a bound on concurrent hashes (503, never an
//! exhausted machine) and hashes upgraded at log-in when the parameters change.

use reqwest::{StatusCode, header};
use serde_json::json;

use super::helpers::{Backend, PASSWORD, on_both_backends, post, registered, spawn_app};
use crate::server::{auth::passwords::hash_with_old_parameters, db::testing};

async fn an_old_hash_is_upgraded_at_log_in(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "ada").await;
    let weak = hash_with_old_parameters(PASSWORD);
    testing::set_every_password_hash(&app.state.services.db, &weak).await;

    let (status, _) = post(
        &app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the old hash still verifies");
    let stored = testing::only_password_hash(&app.state.services.db).await;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "upgraded: {stored}"
    );
    let (status, _) = post(
        &app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "and the new one verifies");
}

async fn with_every_hasher_busy_log_ins_get_503_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let _flood = app.state.services.passwords.occupy().await;
    let response = reqwest::Client::new()
        .post(app.url("/api/token"))
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
}

on_both_backends!(
    an_old_hash_is_upgraded_at_log_in,
    with_every_hasher_busy_log_ins_get_503_with_retry_after,
);
