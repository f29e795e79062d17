//! dj-rest-auth's API under /api/auth/: the shapes its clients send and expect.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, TestApp, on_both_backends, post, spawn_app, spawn_with_mail, with_token,
};

const NEW: &str = "a brand new passphrase";

async fn register(app: &TestApp, name: &str) -> (StatusCode, Value) {
    post(
        app,
        "/api/auth/registration/",
        json!({ "username": name, "email": format!("{name}@example.com"),
                "password1": PASSWORD, "password2": PASSWORD }),
    )
    .await
}

async fn registration_login_user_and_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = register(&app, "ada").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["access"].is_string() && body["refresh"].is_string(),
        "{body}"
    );
    assert_eq!(body["user"]["username"], "ada");
    assert!(body["user"]["pk"].is_i64());

    let (status, body) = post(&app, "/api/auth/registration", json!({
        "username": "grace", "email": "grace@example.com", "password1": PASSWORD, "password2": "other words here",
    }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["non_field_errors"][0],
        "The two password fields didn't match."
    );
    let (status, body) = post(&app, "/api/auth/registration", json!({
        "username": "ada2", "email": "ADA@example.com", "password1": PASSWORD, "password2": PASSWORD,
    }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["email"].is_array(), "a duplicate email: {body}");
    let (status, body) = post(&app, "/api/auth/registration", json!({
        "username": "weak", "email": "weak@example.com", "password1": "password", "password2": "password",
    }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["password1"].is_array(), "{body}");

    for (login, why) in [
        (
            json!({ "username": "ada", "password": "wrong" }),
            "wrong password",
        ),
        (
            json!({ "username": "nobody", "password": PASSWORD }),
            "unknown user",
        ),
    ] {
        let (status, body) = post(&app, "/api/auth/login/", login).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(
            body,
            json!({ "non_field_errors": ["Unable to log in with provided credentials."] }),
            "{why}"
        );
    }
    let (status, body) = post(
        &app,
        "/api/auth/login",
        json!({ "email": "ada@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bearer = format!("Bearer {}", body["access"].as_str().expect("access"));
    let refresh = body["refresh"].as_str().expect("refresh").to_string();

    let me = with_token(&app, Method::GET, "/api/auth/user/", &bearer, None).await;
    let me: Value = me.json().await.expect("json");
    assert_eq!(
        me.as_object().map(|o| {
            let mut keys: Vec<String> = o.keys().cloned().collect();
            keys.sort();
            keys
        }),
        Some(vec![
            "email".into(),
            "first_name".into(),
            "last_name".into(),
            "pk".into(),
            "username".into()
        ])
    );
    let put = with_token(
        &app,
        Method::PUT,
        "/api/auth/user",
        &bearer,
        Some(json!({ "username": "ada", "email": "elsewhere@example.com", "first_name": "Ada" })),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK, "one's own username is fine");
    let put: Value = put.json().await.expect("json");
    assert_eq!(put["first_name"], "Ada");
    assert_eq!(put["email"], "ada@example.com", "email is read-only here");
    let patch = with_token(
        &app,
        Method::PATCH,
        "/api/auth/user/",
        &bearer,
        Some(json!({ "last_name": "Lovelace" })),
    )
    .await;
    assert_eq!(patch.status(), StatusCode::OK);

    let (status, _) = post(
        &app,
        "/api/auth/token/verify/",
        json!({ "token": bearer[7..] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(&app, "/api/auth/logout/", json!({ "refresh": refresh })).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "detail": "Successfully logged out." })
        )
    );
    let (status, _) = post(
        &app,
        "/api/auth/token/refresh/",
        json!({ "refresh": refresh }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the logged-out refresh token is dead"
    );
}

async fn password_change_checks_the_old_one_and_both_copies(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, body) = register(&app, "linus").await;
    let bearer = format!("Bearer {}", body["access"].as_str().expect("access"));
    let change = |old: &'static str, one: &'static str, two: &'static str| {
        let (app, bearer) = (&app, bearer.clone());
        async move {
            let response = with_token(
                app,
                Method::POST,
                "/api/auth/password/change/",
                &bearer,
                Some(json!({ "old_password": old, "new_password1": one, "new_password2": two })),
            )
            .await;
            (
                response.status(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = change(PASSWORD, NEW, "something else entirely").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["new_password2"][0],
        "The two password fields didn't match."
    );
    let (status, body) = change("wrong old password", NEW, NEW).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["old_password"].is_array(), "{body}");
    let (status, body) = change(PASSWORD, "password", "password").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["new_password2"].is_array(), "a weak one: {body}");
    let (status, body) = change(PASSWORD, NEW, NEW).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "detail": "New password has been saved." })
        )
    );
}

async fn reset_and_verification_by_api(backend: Backend) {
    let (app, sink) = spawn_with_mail(backend, &[("EMAIL_VERIFICATION", "mandatory")]).await;
    let (status, body) = register(&app, "ken").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CREATED,
            json!({ "detail": "Verification e-mail sent." })
        )
    );
    let (status, body) = post(
        &app,
        "/api/auth/login/",
        json!({ "username": "ken", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "non_field_errors": ["E-mail is not verified."] })
    );

    for email in ["ken@example.com", "nobody@example.com"] {
        let (status, body) = post(
            &app,
            "/api/auth/registration/resend-email/",
            json!({ "email": email }),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({ "detail": "ok" })),
            "{email}"
        );
    }
    let mail = sink.nth_to("ken@example.com", 2).await;
    let key = mail.link_param(
        &format!("{}/verify-email?", app.state.settings.site.url),
        "key",
    );
    let (status, body) = post(
        &app,
        "/api/auth/registration/verify-email/",
        json!({ "key": "no-such-key" }),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "detail": "Not found." }))
    );
    let (status, body) = post(
        &app,
        "/api/auth/registration/verify-email/",
        json!({ "key": key }),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "detail": "ok" })));
    let (status, _) = post(
        &app,
        "/api/auth/login/",
        json!({ "username": "ken", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    for email in ["ken@example.com", "nobody-here@example.com"] {
        let (status, body) =
            post(&app, "/api/auth/password/reset/", json!({ "email": email })).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({ "detail": "Password reset e-mail has been sent." })
            ),
            "{email}"
        );
    }
    let mail = sink.about("ken@example.com", "Reset your").await;
    let prefix = format!("{}/reset-password?", app.state.settings.site.url);
    let (uid, token) = (
        mail.link_param(&prefix, "uid"),
        mail.link_param(&prefix, "token"),
    );
    let confirm = |uid: String, one: &'static str, two: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            post(
                app,
                "/api/auth/password/reset/confirm/",
                json!({
                    "uid": uid, "token": token, "new_password1": one, "new_password2": two,
                }),
            )
            .await
        }
    };
    let (status, body) = confirm("OTk5".into(), NEW, NEW).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "token": ["Invalid value"] })
        ),
        "a wrong uid"
    );
    let (status, body) = confirm(uid.clone(), NEW, "not the same at all").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["new_password2"][0],
        "The two password fields didn't match."
    );
    let (status, body) = confirm(uid.clone(), NEW, NEW).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({ "detail": "Password has been reset with the new password." })
        )
    );
    let (status, body) = confirm(uid, NEW, NEW).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "token": ["Invalid value"] })
        ),
        "used"
    );
    let (status, _) = post(
        &app,
        "/api/auth/login/",
        json!({ "username": "ken", "password": NEW }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

on_both_backends!(
    registration_login_user_and_logout,
    password_change_checks_the_old_one_and_both_copies,
    reset_and_verification_by_api,
);
