//! The device list, signing devices out, and the activity log.

use reqwest::{StatusCode, header};
use serde_json::Value;

use super::helpers::{
    Backend, PASSWORD, TestApp, browser, logged_in, me_as, on_both_backends, spawn_app, with_token,
};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn sessions_of(app: &TestApp, bearer: &str) -> Vec<Value> {
    let response = me_as(app, "/api/me/sessions", bearer).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

pub(super) async fn each_device_is_listed_and_can_be_signed_out(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let (laptop, _) = browser();
    let logged = laptop
        .post(app.url("/fn/login"))
        .header(header::USER_AGENT, FIREFOX)
        .form(&[("login", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_eq!(logged.status(), StatusCode::OK);
    let (access, refresh) = logged_in(&app, "ada").await;
    let bearer = format!("Bearer {access}");

    let devices = sessions_of(&app, &bearer).await;
    assert_eq!(devices.len(), 3, "{devices:?}");
    let current: Vec<_> = devices.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1, "this API client's own session is marked");
    let firefox = devices
        .iter()
        .find(|d| d["device"] == "Firefox on Linux")
        .expect("the laptop, as a person reads it");
    assert_eq!(firefox["client_ip"], "127.0.0.1");
    assert!(firefox["last_used_at"].as_i64() >= firefox["created_at"].as_i64());
    let page = app.get("/sessions").await.text().await.expect("html");
    assert!(
        page.contains("Firefox on Linux") && page.contains("this device"),
        "{page}"
    );

    let id = firefox["id"].as_str().expect("id");
    let signed_out = with_token(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/me/sessions/{id}"),
        &bearer,
        None,
    )
    .await;
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    let laptop_me: Value = laptop
        .post(app.url("/fn/me"))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(laptop_me, Value::Null, "the laptop is signed out at once");
    let again = with_token(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/me/sessions/{id}"),
        &bearer,
        None,
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // "Sign out everywhere else" from the browser: only the browser's session is left.
    let others = app.post_form("/fn/sign_out_others", &[]).await;
    assert_eq!(others.status(), StatusCode::OK);
    let (status, _) = super::helpers::post(
        &app,
        "/api/token/refresh/",
        serde_json::json!({ "refresh": refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let left: Value = app
        .post_form("/fn/sessions", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    assert_eq!(left[0]["current"], true);
}

async fn another_accounts_session_cannot_be_signed_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, _) = super::helpers::registered(&app, "ada").await;
    let (grace, _) = super::helpers::registered(&app, "grace").await;
    let ada_sessions = sessions_of(&app, &format!("Bearer {ada}")).await;
    let id = ada_sessions[0]["id"].as_str().expect("id");
    let refused = with_token(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/me/sessions/{id}"),
        &format!("Bearer {grace}"),
        None,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(sessions_of(&app, &format!("Bearer {ada}")).await.len(), 1);
}

pub(super) async fn the_activity_log_lists_security_events(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("linus").await;
    let (attacker, _) = browser();
    let failed = attacker
        .post(app.url("/fn/login"))
        .header(header::USER_AGENT, FIREFOX)
        .form(&[("login", "linus"), ("password", "not the password")])
        .send()
        .await
        .expect("POST");
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("linus", PASSWORD).await.status(), StatusCode::OK);
    let changed = app
        .post_form(
            "/fn/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    let events: Value = app
        .post_form("/fn/activity", &[])
        .await
        .json()
        .await
        .expect("json");
    let kinds: Vec<_> = events
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["password_changed", "login", "login_failed"],
        "{events}"
    );
    assert_eq!(events[2]["device"], "Firefox on Linux");
    assert_eq!(events[2]["client_ip"], "127.0.0.1");
    let page = app.get("/activity").await.text().await.expect("html");
    assert!(page.contains("Failed log-in"), "{page}");
}

on_both_backends!(
    each_device_is_listed_and_can_be_signed_out,
    another_accounts_session_cannot_be_signed_out,
    the_activity_log_lists_security_events,
);
