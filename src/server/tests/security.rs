//! Cross-site refusal, what never reaches the page, forms without JavaScript, probes.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use super::helpers::{
    Backend, ORIGIN, PASSWORD, TestApp, browser, location, on_both_backends, spawn_app,
    spawn_app_with,
};
use crate::server::{
    db::testing::{self, Table},
    http::headers::policy_nonce,
};

async fn cross_site_posts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let cases: [(&str, &[(&str, &str)]); 6] = [
        ("foreign Origin", &[("origin", "http://evil.test")]),
        ("opaque Origin", &[("origin", "null")]),
        (
            "opaque Origin, cross-site by the browser's word",
            &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        ),
        (
            "opaque Origin from a sibling subdomain",
            &[("origin", "null"), ("sec-fetch-site", "same-site")],
        ),
        ("foreign Referer", &[("referer", "http://evil.test/form")]),
        ("neither, with session cookies", &[]),
    ];
    for (why, headers) in cases {
        // A client without the default Origin, carrying the victim's cookies.
        let jar = app.jar.clone();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .build()
            .expect("client");
        let mut request = client.post(app.url("/fn/profile")).form(&[
            ("username", "pwned"),
            ("email", "evil@evil.test"),
            ("first_name", ""),
            ("last_name", ""),
        ]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("POST");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{why}");
    }
    let me: serde_json::Value = app
        .post_form("/fn/me", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["username"], "ada", "nothing changed");

    let same_site_referer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(app.jar.clone())
        .build()
        .expect("client")
        .post(app.url("/fn/me"))
        .header(header::REFERER, format!("{ORIGIN}/profile"))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        same_site_referer.status(),
        StatusCode::OK,
        "a same-site Referer is enough"
    );
    // A form on a no-referrer page: the browser sends `Origin: null` and vouches for it.
    let no_referrer_page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(app.jar.clone())
        .build()
        .expect("client")
        .post(app.url("/fn/me"))
        .header(header::ORIGIN, "null")
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("POST");
    assert_eq!(no_referrer_page.status(), StatusCode::OK);
}

async fn login_csrf_is_refused_too(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("attacker").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .post(app.url("/fn/login"))
        .header(header::ORIGIN, "http://evil.test")
        .form(&[("login", "attacker"), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn no_token_appears_in_the_html(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    let access = app.cookie("latchkey_access").expect("access");
    let refresh = app.cookie("latchkey_refresh").expect("refresh");
    for (path, signed_in_shows) in [("/", ">ada</a>"), ("/profile", "ada@example.com")] {
        let page = app.get(path).await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "{path} rendered, not redirected"
        );
        let html = page.text().await.expect("html");
        assert!(
            html.contains(signed_in_shows),
            "{path} rendered signed in (shows {signed_in_shows:?})"
        );
        assert!(
            !html.contains(&access) && !html.contains(&refresh),
            "{path} leaks a token"
        );
        assert!(
            !html.contains("eyJ"),
            "{path} contains something JWT-shaped"
        );
    }
}

async fn forms_work_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    // A failed sign-up goes back to the form, carrying the errors and what was typed.
    let failed = app
        .post_form_without_js(
            "/fn/signup",
            &[
                ("email", "ada@example.com"),
                ("username", "ada"),
                ("password", "short"),
            ],
            "/signup",
        )
        .await;
    assert_eq!(failed.status(), StatusCode::FOUND);
    let back = location(&failed).expect("Location");
    assert!(
        back.starts_with(&format!("{ORIGIN}/signup?")) && back.contains("__err="),
        "{back}"
    );
    let path = back.trim_start_matches(ORIGIN);
    let form = app.get(path).await.text().await.expect("html");
    assert!(form.contains("too short"), "the error is on the page");
    assert!(
        form.contains("value=\"ada@example.com\""),
        "the email is kept"
    );
    assert!(!form.contains("value=\"short\""), "the password is not");

    let created = app
        .post_form_without_js(
            "/fn/signup",
            &[
                ("email", "ada@example.com"),
                ("username", "ada"),
                ("password", PASSWORD),
            ],
            "/signup",
        )
        .await;
    assert_eq!(created.status(), StatusCode::FOUND);
    assert_eq!(location(&created).as_deref(), Some("/profile"));

    let (other, _) = browser();
    let logged_in = other
        .post(app.url("/fn/login"))
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{ORIGIN}/login?next=%2Fprofile"))
        .form(&[
            ("login", "ada"),
            ("password", PASSWORD),
            ("next", "/profile"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(logged_in.status(), StatusCode::FOUND);
    assert_eq!(location(&logged_in).as_deref(), Some("/profile"));
}

async fn health_and_readiness_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    testing::close(&app.state.services.db).await;
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no database, not ready"
    );
}

async fn oversized_bodies_are_refused_before_they_are_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let huge = "x".repeat(100 * 1024);
    let response = app
        .post_form(
            "/fn/login",
            &[("login", huge.as_str()), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn malformed_input_gets_a_clear_400_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = reqwest::Client::new();
    let send_json = |path: &str, body: Vec<u8>| {
        api.post(app.url(path))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };
    for (what, body) in [
        ("invalid UTF-8", b"{\"username\": \"\xff\xfe\"}".to_vec()),
        ("truncated JSON", b"{\"username\": ".to_vec()),
        ("not an object", b"[1, 2]".to_vec()),
    ] {
        let response = send_json("/api/register", body).await.expect("POST");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = response.json().await.expect("json");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("JSON")),
            "{what}: {body}"
        );
    }

    let nul = json!({ "email": "ada@example.com", "username": "ada\u{0}", "password": "correct\u{0}horse battery" });
    let response = send_json("/api/register", nul.to_string().into_bytes())
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["username"].is_array() && body["password"].is_array(),
        "{body}"
    );

    let long_login = json!({ "username": "x".repeat(300), "password": "p".repeat(2000) });
    let response = send_json("/api/token", long_login.to_string().into_bytes())
        .await
        .expect("POST");
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "over-long fields"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["password"][0], "Passwords are at most 1024 bytes.");
    assert!(body["username"].is_array(), "{body}");

    // Forms: a body that is not valid form encoding of UTF-8, and a NUL in a field.
    let response = app
        .client
        .post(app.url("/fn/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("login=%ff%fe&password=x")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("could not be read")
    );
    let response = app.signup("ada@example.com", "ada\u{0}", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let users = testing::count(&app.state.services.db, Table::Users).await;
    assert_eq!(users, 0, "nothing was stored");
}

async fn look_alike_usernames_are_one_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada").await;
    for look_alike in ["ADA", "\u{ff41}\u{ff44}\u{ff41}"] {
        let (client, _) = browser();
        let response = app
            .post_from(
                &client,
                "/fn/signup",
                &[
                    ("email", "other@example.com"),
                    ("username", look_alike),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{look_alike}");
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("That username is taken.")
        );
    }
    let (client, _) = browser();
    let response = app
        .post_from(
            &client,
            "/fn/login",
            &[
                ("login", "\u{ff21}\u{ff24}\u{ff21}"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "logs in by a look-alike of the name"
    );
}

async fn pages_carry_a_nonce_csp_that_covers_their_scripts(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/login", "/no/such/page"] {
        let page = app.get(path).await;
        let csp = page
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let html = page.text().await.expect("html");
        let nonce = policy_nonce(&csp).unwrap_or_else(|| panic!("{path}: no nonce in {csp:?}"));
        assert!(
            !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} has its hydration script");
        for script in scripts {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: a script without the nonce: <script{tag}>"
            );
        }
    }
    let a = app
        .get("/login")
        .await
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .cloned();
    let b = app
        .get("/login")
        .await
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .cloned();
    assert_ne!(a, b, "a fresh nonce per response");
}

/// A page's HTML and the nonce of its policy.
async fn page_and_nonce(client: &reqwest::Client, app: &TestApp, path: &str) -> (String, String) {
    let page = client.get(app.url(path)).send().await.expect("GET");
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    let csp = page
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let nonce = policy_nonce(&csp)
        .unwrap_or_else(|| panic!("{path}: no nonce in {csp:?}"))
        .to_string();
    (page.text().await.expect("html"), nonce)
}

async fn a_guest_page_is_the_same_page_with_its_own_nonce_and_never_a_signed_in_one(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (guest, _) = browser();
    let (first, first_nonce) = page_and_nonce(&guest, &app, "/login").await;
    let (again, again_nonce) = page_and_nonce(&guest, &app, "/login").await;
    let (third, third_nonce) = page_and_nonce(&guest, &app, "/login").await;
    assert!(first.contains(&format!("nonce=\"{first_nonce}\"")));
    assert_ne!(again_nonce, third_nonce, "a fresh nonce per answer");
    for (html, nonce) in [(&again, &again_nonce), (&third, &third_nonce)] {
        assert_eq!(
            html.replace(nonce.as_str(), "NONCE"),
            first.replace(&first_nonce, "NONCE"),
            "the same page, its nonce aside"
        );
    }
    // A query is part of what a page shows: rendered for it.
    let (next, _) = page_and_nonce(&guest, &app, "/login?next=/profile").await;
    assert!(next.contains("value=\"/profile\""), "{next}");
    let (plain, _) = page_and_nonce(&guest, &app, "/login").await;
    assert!(!plain.contains("value=\"/profile\""));

    // Whoever is signed in gets their own page, before and after a guest's was kept, and a
    // guest never gets theirs.
    app.signed_up("ada").await;
    page_and_nonce(&guest, &app, "/").await;
    for path in ["/", "/forgot-password"] {
        let (own, _) = page_and_nonce(&app.client, &app, path).await;
        assert!(
            own.contains("ada"),
            "{path}: the header names who is signed in"
        );
        let (guests, _) = page_and_nonce(&guest, &app, path).await;
        assert!(
            !guests.contains("ada"),
            "{path}: a guest's page names nobody"
        );
    }
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/api/openapi.json", "/healthz", "/pkg/missing.css"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(
            headers
                .get(header::X_CONTENT_TYPE_OPTIONS)
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert_eq!(
            headers.get(header::REFERRER_POLICY).map(|v| v.as_bytes()),
            Some(&b"same-origin"[..]),
            "{path}"
        );
        let csp = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        // A missing file is answered by the 404 page: a page like any other.
        assert_eq!(html, matches!(path, "/" | "/pkg/missing.css"), "{path}");
        if html {
            assert!(
                csp.contains("script-src 'nonce-") && csp.contains("frame-ancestors 'none'"),
                "{path}: the page policy, got {csp:?}"
            );
        } else {
            assert_eq!(
                csp, "default-src 'none'; frame-ancestors 'none'",
                "{path}: anything but a page may load nothing"
            );
        }
        assert!(
            headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
            "no HSTS on plain http: {path}"
        );
    }
    let secure = spawn_app_with(backend, &[("COOKIE_SECURE", "true")]).await;
    assert!(
        secure
            .get("/")
            .await
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_some()
    );
}

async fn unknown_pages_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.get("/no/such/page").await.status(),
        StatusCode::NOT_FOUND
    );
}

on_both_backends!(
    cross_site_posts_are_refused,
    login_csrf_is_refused_too,
    no_token_appears_in_the_html,
    forms_work_without_javascript,
    health_and_readiness_answer,
    unknown_pages_are_404,
    oversized_bodies_are_refused_before_they_are_read,
    malformed_input_gets_a_clear_400_and_stores_nothing,
    look_alike_usernames_are_one_account,
    pages_carry_a_nonce_csp_that_covers_their_scripts,
    a_guest_page_is_the_same_page_with_its_own_nonce_and_never_a_signed_in_one,
    every_response_carries_the_security_headers,
);
