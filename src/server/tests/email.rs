//! Email verification and email change, with mail delivered over SMTP to a sink on loopback.

use reqwest::StatusCode;
use serde_json::Value;

use super::{
    helpers::{Backend, PASSWORD, TestApp, browser, location, on_both_backends, spawn_with_mail},
    mail_sink::Mail,
};
use crate::server::{
    auth::links,
    db::testing::{self, Table},
};

const SITE: &[(&str, &str)] = &[("SITE_NAME", "Testsite")];

/// The key in a verification or email-change mail.
fn key_in(app: &TestApp, mail: &Mail) -> String {
    mail.link_param(
        &format!("{}/verify-email?", app.state.settings.site.url),
        "key",
    )
}

async fn me(app: &TestApp) -> Value {
    app.post_form("/fn/me", &[])
        .await
        .json()
        .await
        .expect("json")
}

async fn confirm(app: &TestApp, key: &str) -> reqwest::Response {
    app.post_form("/fn/verify_email", &[("key", key)]).await
}

async fn sign_up_mails_a_link_that_only_its_form_uses(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("ada").await;
    assert_eq!(me(&app).await["user"]["email_verified"], false);

    let mail = sink.first_to("ada@example.com").await;
    assert!(mail.subject.contains("Testsite"), "{}", mail.subject);
    assert!(mail.text.contains("Testsite"), "{}", mail.text);
    assert!(
        mail.html.contains("Confirm your email address"),
        "{}",
        mail.html
    );
    let key = key_in(&app, &mail);
    assert!(mail.html.contains(&key), "both parts carry the link");
    assert!(
        mail.message_id.starts_with("outbox."),
        "{}",
        mail.message_id
    );
    assert_eq!(
        testing::link_hashes(&app.state.services.db).await,
        vec![links::hash(&key)],
        "only a hash of the token is stored"
    );

    // Opening the link (a person, or a mail scanner) uses nothing.
    for _ in 0..2 {
        let page = app.get(&format!("/verify-email?key={key}")).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("html");
        assert!(
            html.contains("Confirm that ada@example.com is your address?"),
            "{html}"
        );
    }
    let used = confirm(&app, &key).await;
    assert_eq!(used.status(), StatusCode::OK);
    assert_eq!(
        location(&used).as_deref(),
        Some("/verify-email?done=verified")
    );
    assert_eq!(me(&app).await["user"]["email_verified"], true);

    let again = confirm(&app, &key).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "single use");
    let page = app.get(&format!("/verify-email?key={key}")).await;
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("expired or was already used")
    );
    let refreshed = app.post_form("/fn/refresh", &[]).await;
    let current: Value = refreshed.json().await.expect("json");
    assert_eq!(current["user"]["email_verified"], true);
    let access = app
        .cookie(app.state.cookies.access_name())
        .expect("access cookie");
    let claims = app
        .state
        .services
        .tokens
        .verify(&access, crate::server::auth::tokens::TokenType::Access)
        .expect("valid");
    assert_eq!(
        claims.email_verified,
        Some(true),
        "the access token says so"
    );
}

async fn a_newer_link_replaces_the_older_and_links_expire(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("grace").await;
    let first = key_in(&app, &sink.first_to("grace@example.com").await);
    assert_eq!(
        app.post_form("/fn/resend_verification", &[]).await.status(),
        StatusCode::OK
    );
    let second = key_in(&app, &sink.nth_to("grace@example.com", 2).await);
    assert_ne!(first, second);
    assert_eq!(
        confirm(&app, &first).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        testing::count(&app.state.services.db, Table::Links).await,
        1
    );

    testing::expire_links(&app.state.services.db).await;
    assert_eq!(
        confirm(&app, &second).await.status(),
        StatusCode::BAD_REQUEST,
        "expired"
    );
    assert_eq!(me(&app).await["user"]["email_verified"], false);
}

async fn asking_again_is_rate_limited(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("linus").await;
    for ask in 1..=5 {
        let response = app.post_form("/fn/resend_verification", &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "ask {ask}");
    }
    let sixth = app.post_form("/fn/resend_verification", &[]).await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth.headers().contains_key("retry-after"));
    sink.wait_for_count(6).await;
}

async fn mandatory_verification_refuses_log_in_until_verified(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[("EMAIL_VERIFICATION", "mandatory")]).await;
    let signed_up = app.signup("alan@example.com", "alan", PASSWORD).await;
    assert_eq!(signed_up.status(), StatusCode::OK);
    assert_eq!(
        location(&signed_up).as_deref(),
        Some("/login?reason=verify")
    );
    assert!(
        app.cookie(app.state.cookies.access_name()).is_none(),
        "no session before verification"
    );
    let refused = app.login("alan", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("EmailNotVerified")
    );
    let wrong = app.login("alan", "not the password").await;
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "only the right password learns of the verification"
    );

    // The log-in page's "send a new link", for a known and an unknown address alike.
    for email in ["alan@example.com", "nobody@example.com"] {
        let response = app
            .post_form("/fn/resend_verification_to", &[("email", email)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{email}");
        assert_eq!(location(&response).as_deref(), Some("/login?reason=verify"));
    }
    let newest = sink.nth_to("alan@example.com", 2).await;
    assert_eq!(
        confirm(&app, &key_in(&app, &newest)).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.login("alan", PASSWORD).await.status(), StatusCode::OK);
    assert!(sink.to("nobody@example.com").is_empty());
}

async fn verification_off_sends_nothing(backend: Backend) {
    let (app, _sink) = spawn_with_mail(backend, &[("EMAIL_VERIFICATION", "none")]).await;
    app.signed_up("edsger").await;
    // The mail would have been queued in the sign-up's own transaction.
    assert_eq!(
        testing::count(&app.state.services.db, Table::Outbox).await,
        0
    );
    assert_eq!(
        testing::count(&app.state.services.db, Table::Links).await,
        0
    );
    assert_eq!(
        app.post_form("/fn/resend_verification", &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
}

pub(super) async fn changing_the_address_waits_for_the_new_one_to_confirm(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("barbara").await;
    let change = |password: &'static str, new_email: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                "/fn/change_email",
                &[("password", password), ("new_email", new_email)],
            )
            .await
        }
    };
    assert_eq!(
        change("wrong password", "liskov@example.org")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        change(PASSWORD, "not an address").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        change(PASSWORD, "liskov@example.org").await.status(),
        StatusCode::OK
    );

    let notice = sink.about("barbara@example.com", "being changed").await;
    assert!(
        notice.text.contains("liskov@example.org"),
        "{}",
        notice.text
    );
    assert!(
        !notice.text.contains("/verify-email"),
        "the old address gets no link: {}",
        notice.text
    );
    assert_eq!(
        me(&app).await["user"]["email"],
        "barbara@example.com",
        "not yet"
    );

    let key = key_in(&app, &sink.first_to("liskov@example.org").await);
    let page = app.get(&format!("/verify-email?key={key}")).await;
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("Use liskov@example.org as your account")
    );
    let used = confirm(&app, &key).await;
    assert_eq!(
        location(&used).as_deref(),
        Some("/verify-email?done=changed")
    );
    let user = me(&app).await["user"].clone();
    assert_eq!(user["email"], "liskov@example.org");
    assert_eq!(user["email_verified"], true, "the link reached it");
    assert_eq!(
        app.login("liskov@example.org", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn an_address_taken_meanwhile_is_refused_at_confirmation(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("ken").await;
    let changed = app
        .post_form(
            "/fn/change_email",
            &[("password", PASSWORD), ("new_email", "unix@example.org")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let key = key_in(&app, &sink.first_to("unix@example.org").await);

    let (other, _) = browser();
    let taken = app
        .post_from(
            &other,
            "/fn/signup",
            &[
                ("email", "Unix@example.org"),
                ("username", "dennis"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::OK);
    let refused = confirm(&app, &key).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Another account")
    );
    assert_eq!(me(&app).await["user"]["email"], "ken@example.com");
}

async fn a_recent_log_in_spares_the_password_for_a_few_minutes(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, SITE).await;
    app.signed_up("edsger").await;
    let change = |password: &'static str| {
        let app = &app;
        async move {
            app.post_form(
                "/fn/change_email",
                &[
                    ("password", password),
                    ("new_email", "dijkstra@example.org"),
                ],
            )
            .await
        }
    };
    assert_eq!(
        change("").await.status(),
        StatusCode::OK,
        "signed up just now"
    );
    sink.first_to("dijkstra@example.org").await;

    testing::age_authentications(&app.state.services.db).await;
    let asked = change("").await;
    assert_eq!(asked.status(), StatusCode::BAD_REQUEST);
    let body = asked.text().await.expect("body");
    assert!(
        body.contains("enter your password"),
        "the form says why: {body}"
    );
    assert_eq!(change(PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        change("").await.status(),
        StatusCode::OK,
        "typing the password opened the window again"
    );
}

on_both_backends!(
    a_recent_log_in_spares_the_password_for_a_few_minutes,
    sign_up_mails_a_link_that_only_its_form_uses,
    a_newer_link_replaces_the_older_and_links_expire,
    asking_again_is_rate_limited,
    mandatory_verification_refuses_log_in_until_verified,
    verification_off_sends_nothing,
    changing_the_address_waits_for_the_new_one_to_confirm,
    an_address_taken_meanwhile_is_refused_at_confirmation,
);
