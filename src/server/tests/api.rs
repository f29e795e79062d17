//! The JSON API, as a client written for Django REST Framework + Simple JWT uses it.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::helpers::{
    Backend, PASSWORD, TestApp, backend_independent, me_as, on_both_backends, post, registered,
    spawn_app, spawn_app_with, with_token,
};
use crate::server::{
    auth::tokens::TokenType,
    db::testing::{self, Table},
    now,
};
use secrecy::ExposeSecret;

async fn registration_answers_201_with_the_user_or_400_per_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, user) = post(
        &app,
        "/api/register/",
        json!({ "email": "ada@example.com", "username": "ada", "password": PASSWORD, "first_name": "Ada" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (user["username"].as_str(), user["first_name"].as_str()),
        (Some("ada"), Some("Ada"))
    );
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let (status, errors) = post(
        &app,
        "/api/register",
        json!({ "email": "ADA@example.com", "password": "123" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(errors["username"][0], "This field is required.");
    assert!(
        errors["email"].is_array() || errors["password"].is_array(),
        "{errors}"
    );

    let raw = reqwest::Client::new()
        .post(app.url("/api/register"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.expect("JSON error body");
    assert!(body["detail"].is_string(), "{body}");
}

async fn token_obtain_takes_username_or_email_and_one_answer_for_failure(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "grace").await;
    let (status, failed) = post(
        &app,
        "/api/token",
        json!({ "username": "grace", "password": "wrong password" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        failed["detail"],
        "No active account found with the given credentials"
    );
    let (status, by_email) = post(
        &app,
        "/api/token",
        json!({ "email": "grace@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{by_email}");
    assert!(by_email["access"].is_string() && by_email["refresh"].is_string());
}

async fn token_verify_accepts_both_types_and_says_why_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, refresh) = registered(&app, "grace").await;
    assert_eq!(
        post(&app, "/api/token/verify", json!({ "token": access })).await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        post(&app, "/api/token/verify/", json!({ "token": refresh }))
            .await
            .0,
        StatusCode::OK
    );
    let (status, bad) = post(&app, "/api/token/verify", json!({ "token": "garbage" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad["code"], "token_not_valid");
    assert_eq!(bad["messages"][0]["code"], "token_invalid");
}

pub(super) async fn token_refresh_rotates_and_the_used_token_stops_verifying(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, refresh) = registered(&app, "grace").await;
    let (status, pair) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let successor = pair["refresh"].as_str().expect("a rotated refresh token");
    assert_ne!(successor, refresh);
    assert_eq!(
        post(&app, "/api/token/verify", json!({ "token": refresh }))
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the used refresh token no longer verifies"
    );
}

pub(super) async fn token_blacklist_ends_the_session_and_its_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, refresh) = registered(&app, "grace").await;
    assert_eq!(
        post(&app, "/api/token/blacklist", json!({ "refresh": refresh })).await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        post(&app, "/api/token/refresh", json!({ "refresh": refresh }))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let me = me_as(&app, "/api/me", &format!("Bearer {access}")).await;
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the session's access tokens end with it"
    );
}

async fn concurrent_refreshes_share_one_successor_and_late_reuse_revokes_the_family(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (_, refresh) = registered(&app, "grace").await;

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let url = app.url("/api/token/refresh");
        let body = json!({ "refresh": refresh });
        calls.spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("POST");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        });
    }
    let answers = calls.join_all().await;
    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "every racing refresh succeeds: {answers:?}"
    );
    let successors: std::collections::HashSet<&str> = answers
        .iter()
        .map(|(_, pair)| pair["refresh"].as_str().expect("refresh"))
        .collect();
    assert_eq!(successors.len(), 1, "one successor for all: {successors:?}");
    let successor = successors.into_iter().next().expect("one").to_string();
    assert_ne!(successor, refresh);
    let stored = testing::count(&app.state.services.db, Table::RefreshTokens).await;
    assert_eq!(stored, 2, "one rotation happened, not fifty branches");

    // The family moves on; then the first token comes back after the grace window.
    let (status, newest) = post(&app, "/api/token/refresh", json!({ "refresh": successor })).await;
    assert_eq!(status, StatusCode::OK);
    let newest = newest["refresh"].as_str().expect("refresh").to_string();
    testing::age_rotations(&app.state.services.db, 11).await;
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "late reuse is refused");
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": newest })).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the family's newest token died with it"
    );
}

async fn the_grace_window_is_configurable(backend: Backend) {
    let app = spawn_app_with(backend, &[("REFRESH_REUSE_GRACE", "0")]).await;
    let (_, refresh) = registered(&app, "grace").await;
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::OK);
    testing::age_rotations(&app.state.services.db, 1).await;
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "with no grace a second use is reuse"
    );
}

async fn me_needs_a_valid_bearer_token_and_says_why_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "linus").await;

    let me = me_as(&app, "/api/me/", &format!("Bearer {access}")).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["username"], "linus");

    let anonymous = reqwest::get(app.url("/api/me")).await.expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .is_some_and(|v| v.as_bytes().starts_with(b"Bearer"))
    );
    assert_eq!(
        anonymous.json::<Value>().await.expect("json")["code"],
        "not_authenticated"
    );

    let claims = app
        .state
        .services
        .tokens
        .verify(&access, TokenType::Access)
        .expect("valid");
    let expired = app
        .state
        .services
        .tokens
        .sign(
            TokenType::Access,
            claims.user_id,
            &claims.sid,
            &claims.proof(),
            now() - 3600,
        )
        .expect("sign");
    let response = with_token(
        &app,
        reqwest::Method::GET,
        "/api/me",
        &format!("Bearer {}", expired.token.expose_secret()),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        (body["code"].as_str(), body["messages"][0]["code"].as_str()),
        (Some("token_not_valid"), Some("token_expired"))
    );

    let (_, refresh) = registered(&app, "torvalds").await;
    let wrong_type = me_as(&app, "/api/me", &format!("Bearer {refresh}")).await;
    assert_eq!(
        wrong_type.status(),
        StatusCode::UNAUTHORIZED,
        "a refresh token is not an access token"
    );
    let jwt_prefix = me_as(&app, "/api/me", &format!("JWT {access}")).await;
    assert_eq!(
        jwt_prefix.status(),
        StatusCode::UNAUTHORIZED,
        "only Bearer by default"
    );
}

async fn the_jwt_prefix_can_be_allowed_for_old_clients(backend: Backend) {
    let app = spawn_app_with(backend, &[("AUTH_HEADER_TYPES", "Bearer,JWT")]).await;
    let (access, _) = registered(&app, "old").await;
    let response = me_as(&app, "/api/me", &format!("JWT {access}")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

pub(super) async fn me_can_be_patched_and_the_password_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "barbara").await;
    let (other_access, other_refresh) = {
        let (_, pair) = post(
            &app,
            "/api/token",
            json!({ "username": "barbara", "password": PASSWORD }),
        )
        .await;
        (
            pair["access"].as_str().expect("a").to_string(),
            pair["refresh"].as_str().expect("r").to_string(),
        )
    };
    let bearer = format!("Bearer {access}");

    let patched = with_token(
        &app,
        reqwest::Method::PATCH,
        "/api/me",
        &bearer,
        Some(json!({ "first_name": "Barbara" })),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let user: Value = patched.json().await.expect("json");
    assert_eq!(
        (user["first_name"].as_str(), user["username"].as_str()),
        (Some("Barbara"), Some("barbara"))
    );
    let invalid = with_token(
        &app,
        reqwest::Method::PATCH,
        "/api/me",
        &bearer,
        Some(json!({ "email": "nope" })),
    )
    .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert!(invalid.json::<Value>().await.expect("json")["email"].is_array());

    let changed = with_token(
        &app,
        reqwest::Method::POST,
        "/api/me/password",
        &bearer,
        Some(json!({ "current_password": PASSWORD, "new_password": "a new passphrase" })),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let other = me_as(&app, "/api/me", &format!("Bearer {other_access}")).await;
    assert_eq!(
        other.status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        post(
            &app,
            "/api/token/refresh",
            json!({ "refresh": other_refresh })
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let still = me_as(&app, "/api/me", &bearer).await;
    assert_eq!(still.status(), StatusCode::OK, "this session goes on");
}

async fn unknown_api_routes_are_json_404s(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = reqwest::get(app.url("/api/nothing/here"))
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.expect("JSON 404"),
        json!({ "detail": "Not found." })
    );
}

async fn a_wrong_method_answers_a_json_405_naming_the_allowed_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/api/token", "/api/token/", "/api/me/password"] {
        let response = reqwest::Client::new()
            .delete(app.url(path))
            .send()
            .await
            .expect("DELETE");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(allow.contains("POST"), "{path}: Allow {allow:?}");
        assert_eq!(
            response.json::<Value>().await.expect("a JSON body"),
            json!({ "detail": "Method \"DELETE\" not allowed." }),
            "{path}"
        );
    }
}

async fn authenticated_api_answers_are_not_stored_by_caches(backend: Backend) {
    let app = spawn_app(backend).await;
    let (access, _) = registered(&app, "ada").await;
    let bearer = format!("Bearer {access}");
    let me = me_as(&app, "/api/me", &bearer).await;
    assert_eq!(me.status(), StatusCode::OK);
    let refused = me_as(&app, "/api/me", "Bearer not-a-token").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for response in [me, refused] {
        assert_eq!(
            response
                .headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
    }
}

async fn jwks_of(app: &TestApp) -> Value {
    let response = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cache.contains("max-age"), "JWKS is cacheable: {cache}");
    response.json().await.expect("json")
}

fn key_file(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn eddsa_tokens_verify_offline_against_the_published_jwks(backend: Backend) {
    use jwt_simple::prelude::{Ed25519PublicKey, EdDSAPublicKeyLike};
    let (private, public) = (key_file("ed25519.pem"), key_file("ed25519.pub.pem"));
    let app = spawn_app_with(
        backend,
        &[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", &private),
            ("JWT_PUBLIC_KEY_FILE", &public),
        ],
    )
    .await;
    let (access, _) = registered(&app, "offline").await;
    assert_eq!(
        me_as(&app, "/api/me", &format!("Bearer {access}"))
            .await
            .status(),
        StatusCode::OK
    );

    let jwks = jwks_of(&app).await;
    let jwk = &jwks["keys"][0];
    let x = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jwk["x"].as_str().expect("x"),
    )
    .expect("b64");
    let key = Ed25519PublicKey::from_bytes(&x)
        .expect("key")
        .with_key_id(jwk["kid"].as_str().expect("kid"));
    let claims = key
        .verify_token::<Value>(&access, None)
        .expect("an independent library accepts the token");
    assert_eq!(claims.custom["token_type"], "access");
    assert!(
        claims.custom["user_id"].is_i64(),
        "Simple JWT's user_id claim: {:?}",
        claims.custom
    );
}

async fn rs256_tokens_verify_offline_against_the_published_jwks(backend: Backend) {
    use jwt_simple::prelude::{RS256PublicKey, RSAPublicKeyLike};
    let (private, public) = (key_file("rsa.pem"), key_file("rsa.pub.pem"));
    let app = spawn_app_with(
        backend,
        &[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_PRIVATE_KEY_FILE", &private),
            ("JWT_PUBLIC_KEY_FILE", &public),
            ("USER_ID_CLAIM", "uid"),
        ],
    )
    .await;
    let (access, _) = registered(&app, "rsa").await;
    let jwks = jwks_of(&app).await;
    let jwk = &jwks["keys"][0];
    let b64 = |field: &str| {
        base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwk[field].as_str().expect("member"),
        )
        .expect("b64")
    };
    let key = RS256PublicKey::from_components(&b64("n"), &b64("e")).expect("key");
    let claims = key
        .verify_token::<Value>(&access, None)
        .expect("an independent library accepts the token");
    assert!(
        claims.custom["uid"].is_i64(),
        "the configured user id claim: {:?}",
        claims.custom
    );
    assert_eq!(
        me_as(&app, "/api/me", &format!("Bearer {access}"))
            .await
            .status(),
        StatusCode::OK
    );
}

async fn the_openapi_document_describes_every_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = [
        ("/api/register", "post"),
        ("/api/token", "post"),
        ("/api/token/refresh", "post"),
        ("/api/token/verify", "post"),
        ("/api/token/blacklist", "post"),
        ("/api/me", "get"),
        ("/api/me", "patch"),
        ("/api/me/password", "post"),
        ("/api/me/logout-all", "post"),
        ("/api/me/deactivate", "post"),
        ("/api/me", "delete"),
        ("/api/me/sessions", "get"),
        ("/api/me/sessions/{id}", "delete"),
        ("/api/me/activity", "get"),
        ("/api/token/mfa", "post"),
        ("/api/me/mfa", "get"),
        ("/api/me/mfa/totp", "post"),
        ("/api/me/mfa/totp", "delete"),
        ("/api/me/mfa/totp/confirm", "post"),
        ("/api/me/mfa/recovery-codes", "post"),
        ("/api/me/passkeys/options", "post"),
        ("/api/me/passkeys", "post"),
        ("/api/me/passkeys", "get"),
        ("/api/me/passkeys/{id}", "patch"),
        ("/api/me/passkeys/{id}", "delete"),
        ("/api/token/passkey/options", "post"),
        ("/api/token/passkey", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/user", "get"),
        ("/api/auth/user", "put"),
        ("/api/auth/user", "patch"),
        ("/api/auth/password/change", "post"),
        ("/api/auth/password/reset", "post"),
        ("/api/auth/password/reset/confirm", "post"),
        ("/api/auth/registration", "post"),
        ("/api/auth/registration/verify-email", "post"),
        ("/api/auth/registration/resend-email", "post"),
        ("/api/auth/token/verify", "post"),
        ("/api/auth/token/refresh", "post"),
        ("/api/admin/users", "get"),
        ("/api/admin/users", "post"),
        ("/api/admin/users/{id}", "get"),
        ("/api/admin/users/{id}", "patch"),
        ("/api/admin/users/{id}", "delete"),
        ("/api/admin/users/{id}/sessions", "get"),
        ("/api/admin/users/{id}/sessions", "delete"),
        ("/api/admin/users/{id}/mfa", "delete"),
        ("/api/admin/groups", "get"),
        ("/api/admin/groups", "post"),
        ("/api/admin/groups/{id}", "get"),
        ("/api/admin/groups/{id}", "patch"),
        ("/api/admin/groups/{id}", "delete"),
        ("/api/admin/audit", "get"),
    ]
    .iter()
    .map(|(p, m)| ((*p).to_string(), (*m).to_string()))
    .collect();
    served.sort();
    assert_eq!(documented, served, "every endpoint, and nothing else");
    for (path, method) in &served {
        let operation = &doc["paths"][path][method];
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} documents its responses"
        );
        // A served method really answers: not 404 or 405 (the body may be refused).
        let answer = reqwest::Client::new()
            .request(
                method.to_uppercase().parse().expect("method"),
                app.url(path),
            )
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert!(
            !matches!(
                answer.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{method} {path} answered {}",
            answer.status()
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

async fn with_hs256_the_jwks_is_empty(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(jwks_of(&app).await, json!({ "keys": [] }));
}

backend_independent!(
    eddsa_tokens_verify_offline_against_the_published_jwks,
    rs256_tokens_verify_offline_against_the_published_jwks,
    with_hs256_the_jwks_is_empty,
    the_openapi_document_describes_every_endpoint,
    a_wrong_method_answers_a_json_405_naming_the_allowed_ones,
);

on_both_backends!(
    registration_answers_201_with_the_user_or_400_per_field,
    token_obtain_takes_username_or_email_and_one_answer_for_failure,
    token_verify_accepts_both_types_and_says_why_not,
    token_refresh_rotates_and_the_used_token_stops_verifying,
    token_blacklist_ends_the_session_and_its_access_tokens,
    concurrent_refreshes_share_one_successor_and_late_reuse_revokes_the_family,
    the_grace_window_is_configurable,
    me_needs_a_valid_bearer_token_and_says_why_not,
    the_jwt_prefix_can_be_allowed_for_old_clients,
    me_can_be_patched_and_the_password_changed,
    unknown_api_routes_are_json_404s,
    authenticated_api_answers_are_not_stored_by_caches,
);
