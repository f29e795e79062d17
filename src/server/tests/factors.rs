//! Authenticator apps and recovery codes: enrolment, the code step of a log-in, replay,
//! drift, throttling, re-enrolment, turning it off.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, SUPERUSER, TestApp, access_claims, location, me_as, member,
    on_both_backends, post, registered, spawn_app, spawn_with_mail, with_token,
};
use crate::server::{
    auth::{
        otp::{STEP, Totp},
        tokens::Method as Amr,
    },
    db::testing,
    now,
};

/// The app a person would set up from `secret` (base 32, as the API gives it).
fn app_from(secret: &str) -> Totp {
    let key = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .expect("base 32");
    Totp::from_key(key).expect("a key")
}

fn step_now() -> u64 {
    u64::try_from(now()).expect("after 1970") / STEP
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = with_token(app, method, path, &format!("Bearer {bearer}"), Some(body)).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A call refused with 400 and a message on `field`.
async fn refused_on(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Value,
    field: &str,
) {
    let (status, answer) = call(app, method, path, bearer, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer[field][0].as_str().is_some(), "{answer}");
}

/// Starts and confirms an app for a signed-in account: the app, the step its confirming code
/// used, and the recovery codes.
async fn enrolled(app: &TestApp, access: &str) -> (Totp, u64, Vec<String>) {
    let (status, started) = call(
        app,
        Method::POST,
        "/api/me/mfa/totp",
        access,
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let totp = app_from(started["secret"].as_str().expect("secret"));
    let step = step_now();
    let (status, confirmed) = call(
        app,
        Method::POST,
        "/api/me/mfa/totp/confirm",
        access,
        json!({ "code": totp.code_at(step) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let codes = confirmed["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_string())
        .collect();
    (totp, step, codes)
}

/// The password step: the `mfa_token` of the code step.
async fn password_step(app: &TestApp, name: &str) -> String {
    let (status, answer) = post(
        app,
        "/api/token",
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["code"], "mfa_required");
    assert!(answer.get("access").is_none() && answer.get("refresh").is_none());
    assert_eq!(answer["expires_in"], 300);
    answer["mfa_token"].as_str().expect("mfa_token").to_string()
}

/// A password alone signs `name` in (no app on, or only a pending one).
async fn password_alone_logs_in(app: &TestApp, name: &str) {
    let (status, pair) = post(
        app,
        "/api/token",
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert!(pair["access"].is_string(), "{pair}");
}

async fn code_step(app: &TestApp, token: &str, code: &str) -> (StatusCode, Value) {
    post(
        app,
        "/api/token/mfa",
        json!({ "mfa_token": token, "code": code }),
    )
    .await
}

async fn factor_status(app: &TestApp, access: &str) -> Value {
    let response = me_as(app, "/api/me/mfa", &format!("Bearer {access}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn an_app_gates_log_in_only_once_a_code_confirmed_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let (status, started) = call(
        &app,
        Method::POST,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let uri = started["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/")
            && uri.contains(started["secret"].as_str().expect("secret")),
        "{uri}"
    );
    assert_eq!(
        factor_status(&app, &access).await,
        json!({ "totp": false, "recovery_codes_left": 0, "passkeys": 0 })
    );
    password_alone_logs_in(&app, "ada").await; // a pending enrolment gates nothing

    let totp = app_from(started["secret"].as_str().expect("secret"));
    let wrong = format!(
        "{:06}",
        (totp.code_at(step_now()).parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    refused_on(
        &app,
        Method::POST,
        "/api/me/mfa/totp/confirm",
        &access,
        json!({ "code": wrong }),
        "code",
    )
    .await;
    assert!(
        !factor_status(&app, &access).await["totp"]
            .as_bool()
            .expect("bool")
    );

    let step = step_now();
    let (status, confirmed) = call(
        &app,
        Method::POST,
        "/api/me/mfa/totp/confirm",
        &access,
        json!({ "code": totp.code_at(step) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(
        confirmed["recovery_codes"].as_array().expect("codes").len(),
        10
    );
    assert_eq!(
        factor_status(&app, &access).await,
        json!({ "totp": true, "recovery_codes_left": 10, "passkeys": 0 })
    );

    let token = password_step(&app, "ada").await;
    let (status, replayed) = code_step(&app, &token, &totp.code_at(step)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the confirming code counts as used: {replayed}"
    );
    let (status, pair) = code_step(&app, &token, &totp.code_at(step + 1)).await;
    assert_eq!(status, StatusCode::OK, "one step of drift: {pair}");
    let claims = access_claims(&app, &pair["access"]);
    assert_eq!(claims.amr, [Amr::Pwd, Amr::Otp]);
    let auth_time = claims.auth_time.expect("auth_time");
    assert!((now() - auth_time).abs() < 60);
    let (status, refreshed) = post(
        &app,
        "/api/token/refresh",
        json!({ "refresh": pair["refresh"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let claims = access_claims(&app, &refreshed["access"]);
    assert_eq!(
        (claims.amr, claims.auth_time),
        (vec![Amr::Pwd, Amr::Otp], Some(auth_time)),
        "a refresh keeps both"
    );
    let (status, again) = code_step(&app, &token, &totp.code_at(step + 1)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the challenge is single-use: {again}"
    );
    assert!(again["mfa_token"][0].as_str().is_some(), "{again}");
}

pub(super) async fn codes_work_once_within_a_step_of_drift_and_recovery_codes_once(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let (totp, confirmed_at, codes) = enrolled(&app, &access).await;

    let token = password_step(&app, "ada").await;
    // Two steps off either way is refused; the step is read again after the call so a clock
    // tick during it cannot turn two steps into one.
    for offset in [-2i64, 2] {
        loop {
            let step = step_now();
            let code = totp.code_at(step.checked_add_signed(offset).expect("step"));
            let (status, answer) = code_step(&app, &token, &code).await;
            if step_now() == step {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{offset} steps: {answer}");
                break;
            }
        }
    }
    let (status, pair) = code_step(&app, &token, &totp.code_at(confirmed_at + 1)).await;
    assert_eq!(status, StatusCode::OK, "{pair}");

    let token = password_step(&app, "ada").await;
    let (status, replayed) =
        code_step(&app, &token, &totp.code_at(step_now().saturating_sub(1))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a step at or before the last used one: {replayed}"
    );
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (status, pair) = code_step(&app, &token, &typed).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a recovery code, typed loosely: {pair}"
    );
    let access = pair["access"].as_str().expect("access").to_string();
    assert_eq!(factor_status(&app, &access).await["recovery_codes_left"], 9);
    let token = password_step(&app, "ada").await;
    let (status, reused) = code_step(&app, &token, &codes[0]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a recovery code works once: {reused}"
    );
    let events = me_as(&app, "/api/me/activity", &format!("Bearer {access}")).await;
    let events: Value = events.json().await.expect("json");
    let kinds: Vec<_> = events
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["authenticator_added", "recovery_code_used", "code_failed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

async fn the_code_step_cannot_be_skipped_or_outlived(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let (totp, confirmed_at, _) = enrolled(&app, &access).await;
    let token = password_step(&app, "ada").await;
    let me = me_as(&app, "/api/me", &format!("Bearer {token}")).await;
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "an mfa_token is no Bearer token"
    );
    let (status, answer) = post(
        &app,
        "/api/auth/login",
        json!({ "username": "ada", "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, &answer["code"]),
        (StatusCode::UNAUTHORIZED, &json!("mfa_required")),
        "{answer}"
    );

    // The pages: the password leads to the code page, with no session until the code.
    let logged = app.login("ada", PASSWORD).await;
    assert_eq!(logged.status(), StatusCode::OK);
    assert!(app.cookie("latchkey_access").is_none() && app.cookie("latchkey_refresh").is_none());
    assert!(
        app.cookie("latchkey_mfa").is_some(),
        "the challenge travels in its own cookie"
    );
    let profile = app.get("/profile").await;
    assert_eq!(
        location(&profile).as_deref(),
        Some("/login?next=%2Fprofile"),
        "no profile before the code"
    );
    let page = app.get("/login/code").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("name=\"code\"") && html.contains("autocomplete=\"one-time-code\""),
        "{html}"
    );
    let wrong = app.post_form("/fn/login_code", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let finished = app
        .post_form(
            "/fn/login_code",
            &[("code", &totp.code_at(confirmed_at + 1))],
        )
        .await;
    assert_eq!(
        finished.status(),
        StatusCode::OK,
        "{}",
        finished.text().await.unwrap_or_default()
    );
    assert!(
        app.cookie("latchkey_access").is_some(),
        "signed in after the code"
    );
    assert!(
        app.cookie("latchkey_mfa").is_none(),
        "the challenge cookie is dropped"
    );

    testing::expire_challenges(&app.state.services.db).await;
    let (status, expired) = code_step(&app, &token, &totp.code_at(step_now() + 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{expired}");
    assert!(expired["mfa_token"][0].as_str().is_some(), "{expired}");
}

async fn wrong_codes_are_throttled_like_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let (totp, _, _) = enrolled(&app, &access).await;
    let token = password_step(&app, "ada").await;
    for attempt in 1..=6 {
        let (status, answer) = code_step(&app, &token, "000000").await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "attempt {attempt}: {answer}"
        );
    }
    let response = reqwest::Client::new()
        .post(app.url("/api/token/mfa"))
        .json(&json!({ "mfa_token": token, "code": totp.code_at(step_now()) }))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );
    assert!(response.headers().contains_key(header::RETRY_AFTER));
}

async fn a_new_enrolment_replaces_the_active_app_only_once_confirmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let (old, _, old_codes) = enrolled(&app, &access).await;
    let (status, started) = call(
        &app,
        Method::POST,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let new = app_from(started["secret"].as_str().expect("secret"));
    assert_eq!(factor_status(&app, &access).await["totp"], true);
    let token = password_step(&app, "ada").await;
    let (status, pair) = code_step(&app, &token, &old.code_at(step_now() + 1)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the active app still works while another is pending: {pair}"
    );

    let (status, confirmed) = call(
        &app,
        Method::POST,
        "/api/me/mfa/totp/confirm",
        &access,
        json!({ "code": new.code_at(step_now()) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let token = password_step(&app, "ada").await;
    let (status, _) = code_step(&app, &token, &old_codes[1]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old recovery codes died with the old app"
    );
    let (status, _) = code_step(&app, &token, &old.code_at(step_now().saturating_sub(1))).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the old app no longer works"
    );
    let (status, pair) = code_step(&app, &token, &new.code_at(step_now() + 1)).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
}

async fn turning_it_off_takes_the_password_and_a_code_and_mails_the_owner(backend: Backend) {
    let (app, mail) = spawn_with_mail(backend, &[]).await;
    let (access, _) = registered(&app, "ada").await;
    let (totp, _, codes) = enrolled(&app, &access).await;
    mail.about("ada@example.com", "turned on").await;

    let (status, renewed) = call(
        &app,
        Method::POST,
        "/api/me/mfa/recovery-codes",
        &access,
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let renewed: Vec<String> =
        serde_json::from_value(renewed["recovery_codes"].clone()).expect("codes");
    assert_eq!(renewed.len(), 10);
    assert!(renewed.iter().all(|c| !codes.contains(c)));

    refused_on(
        &app,
        Method::DELETE,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": PASSWORD }),
        "code",
    )
    .await;
    refused_on(
        &app,
        Method::DELETE,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": "not it", "code": renewed[0] }),
        "password",
    )
    .await;
    let (status, refused) = call(
        &app,
        Method::DELETE,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": PASSWORD, "code": codes[0] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a recovery code from before the renewal: {refused}"
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/me/mfa/totp",
        &access,
        json!({ "password": PASSWORD, "code": totp.code_at(step_now() + 1) }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let notice = mail.about("ada@example.com", "turned off").await;
    assert!(
        notice.text.contains("no longer ask for a code"),
        "{}",
        notice.text
    );
    assert_eq!(
        factor_status(&app, &access).await,
        json!({ "totp": false, "recovery_codes_left": 0, "passkeys": 0 })
    );
    password_alone_logs_in(&app, "ada").await;
}

async fn staff_prove_a_second_factor_when_required_and_remove_a_lost_one(backend: Backend) {
    let (app, mail) = spawn_with_mail(backend, &[("REQUIRE_MFA_FOR_STAFF", "true")]).await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    let (status, refused) = call(&app, Method::GET, "/api/admin/users", &root, Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("two-factor"),
        "{refused}"
    );
    let (totp, step, _) = enrolled(&app, &root).await;
    let (status, _) = call(&app, Method::GET, "/api/admin/users", &root, Value::Null).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a session from before the app proved nothing more"
    );
    let token = password_step(&app, "root").await;
    let (status, pair) = code_step(&app, &token, &totp.code_at(step + 1)).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let root = pair["access"].as_str().expect("access").to_string();
    let (status, listed) = call(&app, Method::GET, "/api/admin/users", &root, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{listed}");

    let (ada, _) = registered(&app, "ada").await;
    enrolled(&app, &ada).await;
    let id = testing::user(&app.state.services.db, "ada").await.id;
    let path = format!("/api/admin/users/{id}/mfa");
    let (status, _) = call(&app, Method::DELETE, &path, &root, Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let notice = mail.about("ada@example.com", "removed").await;
    assert!(notice.text.contains("staff removed"), "{}", notice.text);
    password_alone_logs_in(&app, "ada").await;
    let (status, again) = call(&app, Method::DELETE, &path, &root, Value::Null).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "nothing left to remove: {again}"
    );
    let (_, audit) = call(&app, Method::GET, "/api/admin/audit", &root, Value::Null).await;
    assert!(
        audit["results"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "user.remove_factors" && e["actor"] == "root"),
        "{audit}"
    );
}

/// The text of the element marked `data-testid="{id}"` (up to its first child).
fn test_id_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{id}\"");
    let tag = &html[html.find(&marker)?..];
    let text = &tag[tag.find('>')? + 1..];
    Some(text[..text.find('<')?].to_string())
}

async fn the_profile_sets_an_app_up_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let started = app
        .post_form_without_js(
            "/fn/start_authenticator",
            &[("password", PASSWORD)],
            "/profile",
        )
        .await;
    assert_eq!(started.status(), StatusCode::FOUND);
    let page = app.get("/profile").await.text().await.expect("html");
    let secret = test_id_text(&page, "totp-secret").expect("the key on the page");
    assert!(
        page.contains("<svg") && page.contains("QR code holding your authenticator key"),
        "the QR code"
    );
    let totp = app_from(&secret);
    let confirmed = app
        .post_form_without_js(
            "/fn/confirm_authenticator",
            &[("code", &totp.code_at(step_now()))],
            "/profile",
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::FOUND);
    assert!(
        app.cookie("latchkey_codes").is_some(),
        "the codes wait in their cookie"
    );
    let page = app.get("/profile").await.text().await.expect("html");
    let shown = page.matches("<li><code>").count();
    assert_eq!(shown, 10, "the recovery codes, once: {page}");
    assert_eq!(test_id_text(&page, "codes-left").as_deref(), Some("10"));
    assert!(
        app.cookie("latchkey_codes").is_none(),
        "and their cookie is dropped"
    );
    let again = app.get("/profile").await.text().await.expect("html");
    assert_eq!(again.matches("<li><code>").count(), 0, "not shown twice");
}

on_both_backends!(
    an_app_gates_log_in_only_once_a_code_confirmed_it,
    codes_work_once_within_a_step_of_drift_and_recovery_codes_once,
    the_code_step_cannot_be_skipped_or_outlived,
    wrong_codes_are_throttled_like_passwords,
    a_new_enrolment_replaces_the_active_app_only_once_confirmed,
    turning_it_off_takes_the_password_and_a_code_and_mails_the_owner,
    staff_prove_a_second_factor_when_required_and_remove_a_lost_one,
    the_profile_sets_an_app_up_without_javascript,
);
