//! Cookies, transparent refresh, rotation, log-out and the page guards.

use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::server::db::testing;

use super::helpers::{
    Backend, browser, location, on_both_backends, set_cookie_for, spawn_app, spawn_app_with,
};

async fn session_cookies_are_httponly_lax_and_live_as_long_as_their_tokens(backend: Backend) {
    let app = spawn_app_with(backend, &[("COOKIE_SECURE", "true")]).await;
    let response = app
        .signup("ada@example.com", "ada", super::helpers::PASSWORD)
        .await;
    let access = set_cookie_for(&response, "__Host-latchkey_access").expect("access cookie");
    let refresh = set_cookie_for(&response, "__Host-latchkey_refresh").expect("refresh cookie");
    for (cookie, max_age) in [(&access, "Max-Age=300"), (&refresh, "Max-Age=604800")] {
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", max_age] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}

async fn plain_http_on_loopback_gets_cookies_without_secure(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .signup("ada@example.com", "ada", super::helpers::PASSWORD)
        .await;
    let access = set_cookie_for(&response, "latchkey_access").expect("access cookie");
    assert!(!access.contains("Secure"), "{access}");
    assert!(access.contains("HttpOnly"), "{access}");
}

async fn an_expired_access_token_is_refreshed_before_the_page_renders(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let refresh_before = app.cookie("latchkey_refresh").expect("refresh cookie");
    app.expire_access_token();

    let page = app.get("/profile").await;
    assert_eq!(page.status(), StatusCode::OK, "no redirect to log-in");
    assert!(
        set_cookie_for(&page, "latchkey_access").is_some(),
        "a new access cookie"
    );
    assert!(
        set_cookie_for(&page, "latchkey_refresh").is_some(),
        "a rotated refresh cookie"
    );
    assert_eq!(
        page.headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let html = page.text().await.expect("html");
    assert!(
        html.contains("ada@example.com"),
        "the page renders signed in"
    );
    assert_ne!(
        app.cookie("latchkey_refresh").expect("refresh cookie"),
        refresh_before
    );
}

async fn a_server_function_call_with_an_expired_access_token_succeeds(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    app.expire_access_token();
    let saved = app
        .post_form(
            "/fn/profile",
            &[
                ("username", "ada"),
                ("email", "ada@example.com"),
                ("first_name", "Ada"),
                ("last_name", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(set_cookie_for(&saved, "latchkey_access").is_some());
    let view: Value = saved.json().await.expect("json");
    assert_eq!(view["first_name"], "Ada");
}

async fn parallel_calls_with_one_expired_token_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    app.expire_access_token();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        calls.spawn(app.client.post(app.url("/fn/me")).send());
    }
    for response in calls.join_all().await {
        let response = response.expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.expect("json");
        assert_eq!(
            me["user"]["username"], "ada",
            "nobody is logged out by a refresh race"
        );
    }
    assert_eq!(
        app.get("/profile").await.status(),
        StatusCode::OK,
        "the session survives"
    );
}

async fn a_used_refresh_token_is_refused_after_the_grace_window(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let first = app.cookie("latchkey_refresh").expect("refresh cookie");
    app.expire_access_token();
    assert_eq!(
        app.get("/profile").await.status(),
        StatusCode::OK,
        "rotates"
    );

    // Age the used token past the grace window, then present it from another browser.
    testing::age_rotations(&app.state.services.db, 60).await;
    let (thief, thief_jar) = browser();
    thief_jar.add_cookie_str(
        &format!("latchkey_refresh={first}; Path=/"),
        &app.address.parse().expect("url"),
    );
    let stolen = thief.get(app.url("/profile")).send().await.expect("GET");
    assert_eq!(
        stolen.status(),
        StatusCode::SEE_OTHER,
        "the old refresh token is dead"
    );

    app.expire_access_token();
    let owner = app.get("/profile").await;
    assert_eq!(
        owner.status(),
        StatusCode::SEE_OTHER,
        "reuse revoked the whole session"
    );
}

async fn logging_out_clears_the_cookies_and_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let access = app.cookie("latchkey_access").expect("access");
    let refresh = app.cookie("latchkey_refresh").expect("refresh");

    let out = app.post_form("/fn/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(location(&out).as_deref(), Some("/login"));
    let cleared = set_cookie_for(&out, "latchkey_access").expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(app.cookie("latchkey_access").is_none());

    // Replaying the old cookies does not work: the session is revoked on the server.
    let (replay, jar) = browser();
    let url = app.address.parse().expect("url");
    jar.add_cookie_str(&format!("latchkey_access={access}; Path=/"), &url);
    jar.add_cookie_str(&format!("latchkey_refresh={refresh}; Path=/"), &url);
    let page = replay.get(app.url("/profile")).send().await.expect("GET");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page).as_deref(),
        Some("/login?next=%2Fprofile&reason=expired")
    );
}

async fn anonymous_visits_to_profile_go_to_login_with_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.get("/profile").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&page).as_deref(), Some("/login?next=%2Fprofile"));
}

async fn signed_in_visits_to_login_and_signup_go_to_profile(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    for path in ["/login", "/signup"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&page).as_deref(), Some("/profile"), "{path}");
    }
    let next = app.get("/login?next=%2Fprofile%3Fx%3D1").await;
    assert_eq!(location(&next).as_deref(), Some("/profile?x=1"));
}

async fn protected_pages_are_not_stored_by_caches(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let page = app.get("/profile").await;
    assert_eq!(
        page.headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

on_both_backends!(
    session_cookies_are_httponly_lax_and_live_as_long_as_their_tokens,
    plain_http_on_loopback_gets_cookies_without_secure,
    an_expired_access_token_is_refreshed_before_the_page_renders,
    a_server_function_call_with_an_expired_access_token_succeeds,
    parallel_calls_with_one_expired_token_all_succeed,
    a_used_refresh_token_is_refused_after_the_grace_window,
    logging_out_clears_the_cookies_and_revokes_the_session,
    anonymous_visits_to_profile_go_to_login_with_next,
    signed_in_visits_to_login_and_signup_go_to_profile,
    protected_pages_are_not_stored_by_caches,
);
