//! Sign-up, log-in, profile and password, over HTTP.

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{Backend, PASSWORD, location, on_both_backends, spawn_app};
use crate::server::db::testing::{self, Table};

/// Asserts that the first message for `field` mentions `needle`.
fn assert_field_error(errors: &Value, field: &str, needle: &str) {
    let message = errors[field][0].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{field}: expected {needle:?} in {errors}"
    );
}

async fn error_fields(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.expect("JSON error");
    body["Validation"]["errors"].clone()
}

async fn signing_up_creates_the_account_and_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.signup("Ada@Example.com", "ada", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(location(&response).as_deref(), Some("/profile"));

    let profile = app.get("/profile").await;
    assert_eq!(
        profile.status(),
        StatusCode::OK,
        "signed in straight after sign-up"
    );
    let html = profile.text().await.expect("html");
    assert!(
        html.contains("Ada@example.com"),
        "the profile shows the email, domain lower-cased"
    );

    let me: Value = app
        .post_form("/fn/me", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["username"], "ada");
    assert_eq!(me["user"]["first_name"], "");
    assert!(
        me["user"]["last_login"].is_i64(),
        "signing up is a log-in: {me}"
    );
}

async fn invalid_sign_ups_get_an_error_per_field_and_keep_what_was_typed(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.signup("not-an-email", "bad name", "1234567890").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    let errors = &body["Validation"]["errors"];
    assert_field_error(errors, "email", "valid email");
    assert_field_error(errors, "username", "letters");
    assert_field_error(errors, "password", "numeric");
    let values = &body["Validation"]["values"];
    assert_eq!(values["email"], "not-an-email");
    assert_eq!(values["username"], "bad name");
    assert!(
        values.get("password").is_none(),
        "the password is never echoed"
    );
}

async fn email_and_username_are_unique_ignoring_case(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let (other, _) = super::helpers::browser();
    let again = app
        .post_from(
            &other,
            "/fn/signup",
            &[
                ("email", "ADA@example.com"),
                ("username", "ADA"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let errors = error_fields(again).await;
    assert_field_error(&errors, "email", "already exists");
    assert_field_error(&errors, "username", "taken");
}

async fn concurrent_sign_ups_with_one_email_create_one_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (client, _) = super::helpers::browser();
        let url = app.url("/fn/signup");
        attempts.spawn(async move {
            let username = format!("racer{i}");
            let form = [
                ("email", "race@example.com"),
                ("username", username.as_str()),
                ("password", PASSWORD),
            ];
            client
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("POST")
                .status()
        });
    }
    let statuses = attempts.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let count = testing::count(&app.state.services.db, Table::Users).await;
    assert_eq!(count, 1);
}

pub(super) async fn logging_in_works_with_email_or_username(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("grace").await;
    for login in ["grace", "GRACE@example.com", "Grace"] {
        let (client, _) = super::helpers::browser();
        let response = app
            .post_from(
                &client,
                "/fn/login",
                &[("login", login), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "log-in as {login}");
        assert_eq!(location(&response).as_deref(), Some("/profile"));
    }
}

async fn failed_log_ins_get_one_answer_whatever_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("linus").await;
    app.signed_up("inactive").await;
    let id = testing::user_id(&app.state.services.db, "inactive").await;
    testing::deactivate(&app.state.services.db, id).await;

    let mut bodies = Vec::new();
    for (login, password, why) in [
        ("linus", "wrong password!", "wrong password"),
        ("nobody", PASSWORD, "unknown user"),
        ("inactive", PASSWORD, "inactive account"),
    ] {
        let (client, _) = super::helpers::browser();
        let response = app
            .post_from(
                &client,
                "/fn/login",
                &[("login", login), ("password", password)],
            )
            .await;
        assert!(
            super::helpers::set_cookies(&response).is_empty(),
            "{why}: no cookies"
        );
        bodies.push((response.status(), response.text().await.expect("body")));
    }
    assert_eq!(bodies[0].0, StatusCode::UNAUTHORIZED);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    assert!(bodies[0].1.contains("InvalidCredentials"), "{bodies:?}");
}

async fn login_sends_to_next_only_within_the_site(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("margaret").await;
    for (next, expected) in [
        ("/profile?tab=2", "/profile?tab=2"),
        ("//evil.example", "/profile"),
        ("https://evil.example/", "/profile"),
    ] {
        let (client, _) = super::helpers::browser();
        let response = app
            .post_from(
                &client,
                "/fn/login",
                &[
                    ("login", "margaret"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(
            location(&response).as_deref(),
            Some(expected),
            "next={next}"
        );
    }
}

pub(super) async fn the_profile_form_saves_and_validates(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("alan").await;
    app.signed_up("taken").await;
    // `taken` signed up last in this client; log in as alan again.
    assert_eq!(app.login("alan", PASSWORD).await.status(), StatusCode::OK);

    let saved = app
        .post_form(
            "/fn/profile",
            &[
                ("username", "alan.t"),
                ("first_name", "Alan"),
                ("last_name", "<b>Turing</b>"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let me: Value = app
        .post_form("/fn/me", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["username"], "alan.t");
    assert_eq!(
        me["user"]["email"], "alan@example.com",
        "the address changes only through a confirmed link"
    );
    assert_eq!(me["user"]["last_name"], "<b>Turing</b>");
    let html = app.get("/profile").await.text().await.expect("html");
    assert!(
        html.contains("&lt;b&gt;Turing&lt;/b&gt;"),
        "names render as text"
    );
    assert!(!html.contains("<b>Turing</b>"));

    let clash = app
        .post_form(
            "/fn/profile",
            &[("username", "TAKEN"), ("first_name", ""), ("last_name", "")],
        )
        .await;
    let errors = error_fields(clash).await;
    assert_field_error(&errors, "username", "taken");
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("barbara").await;
    let (laptop, laptop_jar) = super::helpers::browser();
    let response = app
        .post_from(
            &laptop,
            "/fn/login",
            &[("login", "barbara"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let wrong = app
        .post_form(
            "/fn/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a new passphrase"),
            ],
        )
        .await;
    let errors = error_fields(wrong).await;
    assert!(errors["current_password"][0].is_string(), "{errors}");

    let changed = app
        .post_form(
            "/fn/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        app.get("/profile").await.status(),
        StatusCode::OK,
        "this session goes on"
    );

    let laptop_profile = laptop.get(app.url("/profile")).send().await.expect("GET");
    assert_eq!(
        laptop_profile.status(),
        StatusCode::SEE_OTHER,
        "the other session ended at once"
    );
    assert_eq!(
        location(&laptop_profile).as_deref(),
        Some("/login?next=%2Fprofile&reason=expired")
    );
    drop(laptop_jar);

    let (fresh, _) = super::helpers::browser();
    let old = app
        .post_from(
            &fresh,
            "/fn/login",
            &[("login", "barbara"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert!(
        old.text()
            .await
            .expect("body")
            .contains("InvalidCredentials")
    );
    let new = app
        .post_from(
            &fresh,
            "/fn/login",
            &[("login", "barbara"), ("password", "a new passphrase")],
        )
        .await;
    assert_eq!(new.status(), StatusCode::OK);
}

on_both_backends!(
    signing_up_creates_the_account_and_signs_in,
    invalid_sign_ups_get_an_error_per_field_and_keep_what_was_typed,
    email_and_username_are_unique_ignoring_case,
    concurrent_sign_ups_with_one_email_create_one_account,
    logging_in_works_with_email_or_username,
    failed_log_ins_get_one_answer_whatever_the_reason,
    login_sends_to_next_only_within_the_site,
    the_profile_form_saves_and_validates,
    changing_the_password_ends_the_other_sessions,
);

pub(super) async fn deleting_the_account_removes_every_row_and_mails_a_last_notice(
    backend: Backend,
) {
    let (app, sink) = super::helpers::spawn_with_mail(backend, &[]).await;
    let mut delivery = app.state.services.outbox.delivery();
    app.signed_up("ada").await;
    app.signed_up("grace").await;
    // Both verification mails delivered (and so gone from the queue) before rows are counted.
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        delivery.wait_for(|d| d.sent >= 2),
    )
    .await
    .expect("both verification mails delivered in time")
    .expect("sender alive");
    assert_eq!(app.login("ada", PASSWORD).await.status(), StatusCode::OK);
    let (access, refresh) = super::helpers::logged_in(&app, "ada").await;
    // Rows of every kind that belong to ada: sessions and refresh tokens, a mailed link, a
    // mail still waiting in the queue, throttle counters.
    let db = &app.state.services.db;
    let ada = testing::user_id(db, "ada").await;
    let grace = testing::user_id(db, "grace").await;
    testing::queue_held_mail(db, ada).await;
    let changed = app
        .post_form(
            "/fn/change_email",
            &[("password", PASSWORD), ("new_email", "ada@new.example")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(
        testing::rows_of(db, ada).await >= 6,
        "ada has rows of every kind"
    );
    let grace_rows = testing::rows_of(db, grace).await;

    let wrong = app
        .post_form("/fn/delete_account", &[("password", "not it")])
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let deleted = app
        .post_form("/fn/delete_account", &[("password", PASSWORD)])
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(location(&deleted).as_deref(), Some("/?deleted=1"));

    assert_eq!(
        testing::rows_of(db, ada).await,
        0,
        "no row of ada's is left"
    );
    assert_eq!(
        testing::rows_of(db, grace).await,
        grace_rows,
        "grace keeps hers"
    );
    let notice = sink.about("ada@example.com", "was deleted").await;
    assert!(
        notice.text.contains("everything stored with it"),
        "{}",
        notice.text
    );
    let (status, _) = super::helpers::post(
        &app,
        "/api/token/refresh/",
        serde_json::json!({ "refresh": refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        super::helpers::me_as(&app, "/api/me", &format!("Bearer {access}"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ada", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn the_api_deletes_the_account_with_its_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = super::helpers::registered(&app, "linus").await;
    let bearer = format!("Bearer {access}");
    let delete = |password: &'static str| {
        let (app, bearer) = (&app, bearer.clone());
        async move {
            super::helpers::with_token(
                app,
                reqwest::Method::DELETE,
                "/api/me/",
                &bearer,
                Some(serde_json::json!({ "password": password })),
            )
            .await
            .status()
        }
    };
    assert_eq!(delete("wrong").await, StatusCode::BAD_REQUEST);
    assert_eq!(delete(PASSWORD).await, StatusCode::NO_CONTENT);
    assert_eq!(
        testing::count(&app.state.services.db, Table::Users).await,
        0
    );
    assert_eq!(delete(PASSWORD).await, StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    deleting_the_account_removes_every_row_and_mails_a_last_notice,
    the_api_deletes_the_account_with_its_password,
);
