//! The server binary as an operator meets it: configuration errors, a generated secret,
//! graceful shutdown.
#![cfg(feature = "ssr")]

use std::{
    io::{BufRead, BufReader, Read},
    os::unix::fs::PermissionsExt,
    process::{Command, Stdio},
};

fn server(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "info")
        .current_dir(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn bad_configuration_exits_non_zero_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        ("JWT_SECRET", "short"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("COOKIE_SECURE", "perhaps"),
        ("ALLOWED_ORIGINS", "not an origin"),
        ("DATABASE_URL", "mysql://localhost/db"),
    ];
    for (var, value) in cases {
        let output = server(dir.path())
            .env(var, value)
            .output()
            .expect("run the server");
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}: {stderr}");
        assert!(
            lines[0].starts_with(&format!("configuration error: {var}: ")),
            "{stderr}"
        );
        assert!(
            !stderr.contains(value) || var != "JWT_SECRET",
            "the secret is not echoed"
        );
    }
}

#[test]
fn an_unreachable_database_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = server(dir.path())
        .env("JWT_SECRET", "0123456789abcdef0123456789abcdef")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run the server");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("startup error: cannot connect to the database"),
        "{stderr}"
    );
}

#[test]
fn without_jwt_secret_a_private_secret_file_is_made_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = server(dir.path()).spawn().expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut log = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("log line");
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    assert!(log.contains("JWT_SECRET is not set"), "{log}");
    let secret = dir.path().join("jwt_secret");
    let mode = std::fs::metadata(&secret)
        .expect("secret file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&secret).expect("secret").len(), 64);
    assert!(
        !log.contains(&std::fs::read_to_string(&secret).expect("secret")),
        "the secret is not logged"
    );
    assert!(
        dir.path().join("latchkey.db").exists(),
        "the SQLite file was created"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0), "graceful shutdown exits 0");
}

/// Reads log lines until the server says where it listens; returns that address and the lines.
fn wait_until_listening(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> (String, String) {
    let mut log = String::new();
    for line in lines {
        let line = line.expect("log line");
        log.push_str(&line);
        log.push('\n');
        if let Some((_, address)) = line.split_once("listening on ") {
            return (address.trim().to_string(), log);
        }
    }
    panic!("the server stopped before listening:\n{log}");
}

#[test]
fn a_full_flow_logged_at_debug_shows_no_token_password_or_secret() {
    const SECRET: &str = "log-test-secret-log-test-secret-log-test";
    const PASSWORD: &str = "correct horse battery";
    const NEW_PASSWORD: &str = "another good passphrase";
    const ORIGIN: &str = "http://app.test";
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = server(dir.path())
        .env("RUST_LOG", "debug")
        .env("JWT_SECRET", SECRET)
        .env("ALLOWED_ORIGINS", ORIGIN)
        .spawn()
        .expect("start the server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (base, mut log) = wait_until_listening(&mut lines);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let secrets: Vec<String> = runtime.block_on(async {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let form = |path: &str, fields: &[(&str, &str)]| {
            browser
                .post(format!("{base}{path}"))
                .header("Origin", ORIGIN)
                .form(fields)
                .send()
        };
        let mut seen = vec![
            SECRET.to_string(),
            PASSWORD.to_string(),
            NEW_PASSWORD.to_string(),
        ];
        let mut keep_cookies = |response: &reqwest::Response| {
            for cookie in response.cookies() {
                seen.push(cookie.value().to_string());
            }
        };
        let signup = form(
            "/fn/signup",
            &[
                ("email", "ada@example.com"),
                ("username", "ada"),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect("sign up");
        assert!(signup.status().is_success(), "{}", signup.status());
        keep_cookies(&signup);
        let page = browser
            .get(format!("{base}/profile"))
            .send()
            .await
            .expect("GET");
        assert_eq!(page.status(), 200);
        keep_cookies(&form("/fn/refresh", &[]).await.expect("refresh"));
        keep_cookies(
            &form(
                "/fn/login",
                &[("login", "ada"), ("password", "wrong password")],
            )
            .await
            .expect("log in"),
        );
        let changed = form(
            "/fn/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await
        .expect("change password");
        assert!(changed.status().is_success(), "{}", changed.status());
        keep_cookies(&changed);
        keep_cookies(&form("/fn/logout", &[]).await.expect("log out"));

        let api = reqwest::Client::new();
        let pair: serde_json::Value = api
            .post(format!("{base}/api/token"))
            .json(&serde_json::json!({ "username": "ada", "password": NEW_PASSWORD }))
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let access = pair["access"].as_str().expect("access").to_string();
        let refresh = pair["refresh"].as_str().expect("refresh").to_string();
        let me = api
            .get(format!("{base}/api/me"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("me");
        assert_eq!(me.status(), 200);
        let rotated: serde_json::Value = api
            .post(format!("{base}/api/token/refresh"))
            .json(&serde_json::json!({ "refresh": refresh }))
            .send()
            .await
            .expect("refresh")
            .json()
            .await
            .expect("json");
        api.post(format!("{base}/api/token/verify"))
            .json(&serde_json::json!({ "token": "not.a.token" }))
            .send()
            .await
            .expect("verify");
        for token in [&rotated["access"], &rotated["refresh"]] {
            seen.push(token.as_str().expect("token").to_string());
        }
        seen.extend([access, refresh]);
        seen
    });

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    for line in lines {
        log.push_str(&line.expect("log line"));
        log.push('\n');
    }
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut log).expect("stderr");
    }
    child.wait().expect("wait");

    assert!(
        log.contains("/api/token/refresh") && log.contains("/fn/signup"),
        "the log was captured:\n{log}"
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !log.contains(secret.as_str()),
            "leaked into the log: {secret}\n{log}"
        );
        // A JWT's signature alone would identify it too.
        if let Some((_, signature)) = secret.rsplit_once('.') {
            assert!(!log.contains(signature), "a token signature leaked");
        }
    }
}
