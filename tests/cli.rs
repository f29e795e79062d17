//! The server binary as an operator meets it: configuration errors, a generated secret,
//! graceful shutdown.
#![cfg(feature = "ssr")]

use std::{
    io::{BufRead, BufReader},
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
