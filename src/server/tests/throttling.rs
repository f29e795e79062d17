//! Brute force: failed log-ins back off per account and per client address; registration,
//! refresh and password change are rate-limited. Counted in the database.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, TestApp, on_both_backends, post, registered, spawn_app, spawn_app_with,
    with_token,
};
use crate::server::db::testing;

/// `POST /api/token` claiming to come from `forwarded` (honoured only behind a trusted proxy).
async fn login_from(
    app: &TestApp,
    forwarded: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/token"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("POST")
}

/// Lifts every back-off, as the passing of time would.
async fn wait_out_back_off(app: &TestApp) {
    testing::lift_back_offs(&app.state.services.db).await;
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds")
}

pub(super) async fn failed_log_ins_back_off_per_account_known_or_not(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "ada").await;
    for account in ["ada", "nobody"] {
        for attempt in 1..=6 {
            let (status, _) = post(
                &app,
                "/api/token",
                json!({ "username": account, "password": "wrong password" }),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{account} attempt {attempt}"
            );
        }
        let blocked = login_from(&app, "", account, PASSWORD).await;
        assert_eq!(
            blocked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{account}: even the right password waits out the back-off"
        );
        assert!(retry_after(&blocked) >= 1);
        let body: Value = blocked.json().await.expect("json");
        assert_eq!(body["code"], "throttled");
    }
    // Another account from the same address is not affected (the address has 12 failures of
    // its 20 free ones).
    registered(&app, "grace").await;

    wait_out_back_off(&app).await;
    let (status, _) = post(
        &app,
        "/api/token",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "after the back-off the right password works"
    );
}

async fn failed_log_ins_back_off_per_client_address(backend: Backend) {
    let app = spawn_app_with(backend, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    registered(&app, "ada").await;
    for n in 0..21 {
        let response = login_from(&app, "203.0.113.7", &format!("guess{n}"), "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let blocked = login_from(&app, "203.0.113.7", "ada", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = login_from(&app, "198.51.100.4", "ada", PASSWORD).await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::OK,
        "another client address is not blocked"
    );
    // A client cannot pick its own address: entries left of the proxy's are ignored.
    let spoofed = login_from(&app, "198.51.100.4, 203.0.113.7", "ada", PASSWORD).await;
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn forwarded_addresses_are_ignored_without_trusted_proxies(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..21 {
        let forwarded = format!("203.0.113.{n}");
        let response = login_from(&app, &forwarded, &format!("guess{n}"), "wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let blocked = login_from(&app, "198.51.100.99", "anyone", "wrong").await;
    assert_eq!(
        blocked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the socket address counted every attempt"
    );
}

async fn the_login_form_is_throttled_like_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..6 {
        let response = app.login("nobody", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let blocked = app.login("nobody", "wrong password").await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&blocked) >= 1);
    let error: crate::error::AppError = blocked.json().await.expect("an AppError");
    assert!(
        error
            .to_string()
            .starts_with("Too many attempts. Please wait "),
        "a message a person can act on: {error}"
    );
}

async fn registration_refresh_and_password_change_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    for n in 1..30 {
        let (status, body) = post(
            &app,
            "/api/register",
            json!({ "email": format!("u{n}@example.com"), "username": format!("u{n}"), "password": PASSWORD }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{n}: {body}");
    }
    let (status, _) = post(
        &app,
        "/api/register",
        json!({ "email": "late@example.com", "username": "late", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the 31st sign-up");

    for n in 0..120 {
        let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": "x" })).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "refresh {n}");
    }
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": "x" })).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the 121st refresh in a minute"
    );

    let bearer = format!("Bearer {access}");
    for n in 0..5 {
        let response = with_token(
            &app,
            reqwest::Method::POST,
            "/api/me/password",
            &bearer,
            Some(json!({ "current_password": "wrong", "new_password": "another good passphrase" })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "change {n}");
    }
    let response = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/password",
        &bearer,
        Some(json!({ "current_password": PASSWORD, "new_password": "another good passphrase" })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Median and interquartile range of `samples` (milliseconds).
fn median_and_iqr(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.75) - at(0.25))
}

/// One failed log-in as `login`, timed from the client (throttles cleared first, outside the
/// timing, so every try does the full work).
async fn timed_failure(app: &TestApp, login: &str) -> f64 {
    testing::clear_throttles(&app.state.services.db).await;
    let started = std::time::Instant::now();
    let response = login_from(app, "203.0.113.50", login, "wrong password").await;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_and_wrong_passwords_take_the_same_time() {
    use rand::Rng;
    let app = spawn_app_with(Backend::Sqlite, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    registered(&app, "ada").await;
    // Pairs, each in a random order, so other work on the machine (other tests run alongside)
    // cannot line up with one kind; the paired differences cancel slow drift.
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    let mut differences = Vec::new();
    for n in 0..60 {
        let unknown_first = rand::thread_rng().gen_bool(0.5);
        let (u, w) = if unknown_first {
            let u = timed_failure(&app, &format!("nobody{n}")).await;
            (u, timed_failure(&app, "ada").await)
        } else {
            let w = timed_failure(&app, "ada").await;
            (timed_failure(&app, &format!("nobody{n}")).await, w)
        };
        unknown.push(u);
        wrong.push(w);
        differences.push(u - w);
    }
    let (unknown_median, unknown_iqr) = median_and_iqr(unknown);
    let (wrong_median, wrong_iqr) = median_and_iqr(wrong);
    let (difference, difference_iqr) = median_and_iqr(differences);
    let noise = difference_iqr.max(0.1 * wrong_median);
    eprintln!(
        "log-in timing, 60 pairs: unknown user median {unknown_median:.2} ms (IQR {unknown_iqr:.2}), \
         wrong password median {wrong_median:.2} ms (IQR {wrong_iqr:.2}); \
         paired difference median {difference:.2} ms, noise {noise:.2} ms"
    );
    assert!(
        difference.abs() <= noise,
        "an unknown user answers measurably faster or slower: {difference:.2} ms vs noise {noise:.2} ms"
    );
}

on_both_backends!(
    failed_log_ins_back_off_per_account_known_or_not,
    failed_log_ins_back_off_per_client_address,
    forwarded_addresses_are_ignored_without_trusted_proxies,
    the_login_form_is_throttled_like_the_api,
    registration_refresh_and_password_change_are_rate_limited,
);
