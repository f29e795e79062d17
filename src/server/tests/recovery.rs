//! Password reset by mailed link, with mail delivered over SMTP to a sink on loopback.

use reqwest::{StatusCode, header};
use serde_json::Value;

use super::{
    helpers::{
        Backend, PASSWORD, TestApp, browser, location, logged_in, me_as, on_both_backends, post,
        spawn_with_mail,
    },
    mail_sink::{Mail, MailSink},
};
use crate::server::{auth::links, db::testing};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// `(uid, token)` of the reset link in a mail.
fn reset_link(app: &TestApp, mail: &Mail) -> (String, String) {
    let prefix = format!("{}/reset-password?", app.state.settings.site.url);
    (
        mail.link_param(&prefix, "uid"),
        mail.link_param(&prefix, "token"),
    )
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_form("/fn/forgot_password", &[("email", email)])
        .await
}

async fn reset(app: &TestApp, uid: &str, token: &str, password: &str) -> reqwest::Response {
    app.post_form(
        "/fn/reset_password",
        &[("uid", uid), ("token", token), ("new_password", password)],
    )
    .await
}

/// The `nth` reset mail to `email`.
async fn reset_mail(sink: &MailSink, email: &str, nth: usize) -> Mail {
    sink.nth_about(email, "Reset your", nth).await
}

pub(super) async fn a_reset_link_sets_a_new_password_and_ends_every_session(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("ada").await;
    let _ = sink.first_to("ada@example.com").await; // the verification mail
    let (api_access, api_refresh) = logged_in(&app, "ada").await;
    let bearer = format!("Bearer {api_access}");

    let asked = forgot(&app, "Ada@Example.com").await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert_eq!(location(&asked).as_deref(), Some("/forgot-password?sent=1"));
    let mail = reset_mail(&sink, "ada@example.com", 1).await;
    let (uid, token) = reset_link(&app, &mail);
    assert_eq!(
        uid,
        links::encode_uid(testing::user_id(&app.state.services.db, "ada").await)
    );
    let stored = testing::link_hashes(&app.state.services.db).await;
    assert!(stored.contains(&links::hash(&token)), "{stored:?}");
    assert!(
        !stored.iter().any(|h| h.contains(&token)),
        "only a hash of the token is stored"
    );

    let page = app
        .get(&format!("/reset-password?uid={uid}&token={token}"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"autocomplete="username""#), "{html}");
    assert!(
        html.contains("ada@example.com"),
        "the hidden username field"
    );

    let weak = reset(&app, &uid, &token, "password").await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let errors: Value = weak.json().await.expect("json");
    assert!(errors.to_string().contains("new_password"), "{errors}");

    let done = reset(&app, &uid, &token, NEW_PASSWORD).await;
    assert_eq!(
        done.status(),
        StatusCode::OK,
        "the weak try did not use the link"
    );
    assert_eq!(location(&done).as_deref(), Some("/login?reason=reset"));

    // Every session ended: the browser's, and the API client's refresh and access tokens.
    let (status, _) = post(
        &app,
        "/api/token/refresh/",
        serde_json::json!({ "refresh": api_refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me_as(&app, "/api/me", &bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let me: Value = app
        .post_form("/fn/me", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me, Value::Null, "the browser is signed out");

    assert_eq!(
        app.login("ada", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ada", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let notice = sink.nth_to("ada@example.com", 3).await;
    assert!(
        notice.subject.contains("password was changed"),
        "{}",
        notice.subject
    );

    let again = reset(&app, &uid, &token, "another new passphrase").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "single use");
    assert!(
        !testing::link_hashes(&app.state.services.db)
            .await
            .contains(&links::hash(&token)),
        "a used link is deleted"
    );
}

async fn unknown_and_known_addresses_get_the_same_answer(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("grace").await;
    let (anonymous, _) = browser();
    let mut answers = Vec::new();
    for email in ["grace@example.com", "nobody@example.com"] {
        let response = app
            .post_from(&anonymous, "/fn/forgot_password", &[("email", email)])
            .await;
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != header::DATE)
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        headers.sort();
        answers.push((
            response.status(),
            headers,
            response.text().await.expect("body"),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    let note = sink.first_to("nobody@example.com").await;
    assert!(note.text.contains("no account has it"), "{}", note.text);
    assert!(!note.text.contains("/reset-password"), "{}", note.text);
    reset_mail(&sink, "grace@example.com", 1).await;
}

async fn a_newer_link_or_another_password_change_kills_a_link(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("linus").await;
    assert_eq!(
        forgot(&app, "linus@example.com").await.status(),
        StatusCode::OK
    );
    let (uid, first) = reset_link(&app, &reset_mail(&sink, "linus@example.com", 1).await);
    assert_eq!(
        forgot(&app, "linus@example.com").await.status(),
        StatusCode::OK
    );
    let (_, second) = reset_link(&app, &reset_mail(&sink, "linus@example.com", 2).await);
    assert_eq!(
        reset(&app, &uid, &first, NEW_PASSWORD).await.status(),
        StatusCode::BAD_REQUEST,
        "the newer link replaced it"
    );
    let page = app
        .get(&format!("/reset-password?uid={uid}&token={first}"))
        .await;
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("expired or was already used")
    );

    // The password changes by another path: the link still out dies.
    let changed = app
        .post_form(
            "/fn/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        reset(&app, &uid, &second, "yet another passphrase")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    sink.about("linus@example.com", "password was changed")
        .await;

    assert_eq!(
        forgot(&app, "linus@example.com").await.status(),
        StatusCode::OK
    );
    let (_, third) = reset_link(&app, &reset_mail(&sink, "linus@example.com", 3).await);
    testing::expire_links(&app.state.services.db).await;
    assert_eq!(
        reset(&app, &uid, &third, "yet another passphrase")
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "expired"
    );
}

async fn a_link_works_only_with_its_own_uid(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("ken").await;
    app.signed_up("dennis").await;
    assert_eq!(
        forgot(&app, "ken@example.com").await.status(),
        StatusCode::OK
    );
    let (_, token) = reset_link(&app, &reset_mail(&sink, "ken@example.com", 1).await);
    let dennis = links::encode_uid(testing::user_id(&app.state.services.db, "dennis").await);
    for uid in [dennis.as_str(), "garbage", ""] {
        let refused = reset(&app, uid, &token, NEW_PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{uid}");
        assert!(refused.text().await.expect("body").contains("token"));
    }
    assert_eq!(app.login("dennis", PASSWORD).await.status(), StatusCode::OK);
}

async fn requests_are_throttled_per_address_with_retry_after(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("barbara").await;
    for ask in 1..=5 {
        assert_eq!(
            forgot(&app, "barbara@example.com").await.status(),
            StatusCode::OK,
            "ask {ask}"
        );
    }
    let refused = forgot(&app, "BARBARA@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    sink.nth_to("barbara@example.com", 6).await;
    assert_eq!(
        sink.to("barbara@example.com").len(),
        6,
        "every acknowledged request got its mail, the refused one none"
    );
}

async fn without_javascript_a_failed_reset_returns_to_its_page(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[]).await;
    app.signed_up("edsger").await;
    assert_eq!(
        forgot(&app, "edsger@example.com").await.status(),
        StatusCode::OK
    );
    let (uid, token) = reset_link(&app, &reset_mail(&sink, "edsger@example.com", 1).await);
    // The page sends no Referer (no-referrer): the form post still comes back to it.
    let response = app
        .client
        .post(app.url("/fn/reset_password"))
        .header(header::ACCEPT, "text/html")
        .form(&[
            ("uid", uid.as_str()),
            ("token", token.as_str()),
            ("new_password", "short"),
        ])
        .send()
        .await
        .expect("POST");
    assert!(response.status().is_redirection());
    let back = location(&response).expect("a redirect");
    assert!(
        back.starts_with(&format!("/reset-password?uid={uid}&token={token}&")),
        "{back}"
    );
    let page = app.get(&back).await.text().await.expect("html");
    assert!(
        page.contains("At least 8 characters") || page.contains("too short"),
        "{page}"
    );
}

on_both_backends!(
    a_reset_link_sets_a_new_password_and_ends_every_session,
    unknown_and_known_addresses_get_the_same_answer,
    a_newer_link_or_another_password_change_kills_a_link,
    a_link_works_only_with_its_own_uid,
    requests_are_throttled_per_address_with_retry_after,
    without_javascript_a_failed_reset_returns_to_its_page,
);
