//! The server binary as an operator meets it: configuration errors, a generated secret,
//! graceful shutdown, and its limits on requests.
#![cfg(feature = "ssr")]

use std::{
    io::{BufRead, BufReader, Lines, Read, Write},
    net::TcpStream,
    os::unix::fs::PermissionsExt,
    process::{Child, ChildStdout, Command, Stdio},
    time::Duration,
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
        ("REQUEST_TIMEOUT", "forever"),
        ("MAX_IN_FLIGHT", "0"),
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

/// Starts the server with `vars` and returns it, its base URL and the rest of its log.
fn started(
    dir: &std::path::Path,
    vars: &[(&str, &str)],
) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut command = server(dir);
    command.env("JWT_SECRET", "limits-test-secret-limits-test-secret");
    for (var, value) in vars {
        command.env(var, value);
    }
    let mut child = command.spawn().expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (base, _) = wait_until_listening(&mut lines);
    (child, base, lines)
}

const VERIFY_BODY: &str = r#"{"token":"not-a-token"}"#;

/// A raw HTTP/1.1 exchange on a fresh connection, read to its end.
fn connect(base: &str) -> TcpStream {
    let stream = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    // A bound, so a server that never answers fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream
}

fn get(base: &str, path: &str) -> String {
    let mut stream = connect(base);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: latchkey\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

/// A request the server is handling: sent with `Expect: 100-continue` but without its body,
/// and returned once the server has asked for the body, which proves it is in flight.
fn held_request(base: &str) -> TcpStream {
    let mut stream = connect(base);
    write!(
        stream,
        "POST /api/token/verify HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        VERIFY_BODY.len()
    )
    .expect("send the head");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("the interim answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// Sends the held request's body and reads the answer.
fn finish(mut stream: TcpStream) -> String {
    stream
        .write_all(VERIFY_BODY.as_bytes())
        .expect("send the body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

/// Reads log lines until one contains `needle`.
fn logged(lines: &mut Lines<BufReader<ChildStdout>>, needle: &str) {
    for line in lines {
        if line.expect("log line").contains(needle) {
            return;
        }
    }
    panic!("the server stopped without logging {needle:?}");
}

fn is_503_with_retry_after(response: &str) -> bool {
    response.starts_with("HTTP/1.1 503")
        && response
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1\r\n")
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_before_exiting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, base, mut log) = started(dir.path(), &[]);
    let held = held_request(&base);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    logged(&mut log, "shutting down");

    let response = finish(held);
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("token_not_valid"), "{response}");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

#[test]
fn past_max_in_flight_a_request_is_answered_503_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, base, _log) = started(dir.path(), &[("MAX_IN_FLIGHT", "1")]);
    let held = held_request(&base);

    let refused = get(&base, "/healthz");
    assert!(is_503_with_retry_after(&refused), "{refused}");

    let response = finish(held);
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "the held request completes: {response}"
    );
    let after = get(&base, "/healthz");
    assert!(
        after.starts_with("HTTP/1.1 200"),
        "capacity is back: {after}"
    );
    child.kill().expect("stop");
    child.wait().expect("wait");
}

#[test]
fn a_request_past_request_timeout_is_answered_503() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, base, _log) = started(dir.path(), &[("REQUEST_TIMEOUT", "1")]);
    let mut held = held_request(&base);

    // The body never comes: the server answers for itself when the timeout passes.
    let mut response = String::new();
    held.read_to_string(&mut response).expect("response");
    assert!(is_503_with_retry_after(&response), "{response}");
    child.kill().expect("stop");
    child.wait().expect("wait");
}

#[test]
fn a_chunked_body_past_the_limit_is_answered_413() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, base, _log) = started(dir.path(), &[]);
    let mut stream = connect(&base);
    let chunk = "x".repeat(100 * 1024);
    write!(
        stream,
        "POST /api/token/verify HTTP/1.1\r\nHost: latchkey\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    child.kill().expect("stop");
    child.wait().expect("wait");
}
