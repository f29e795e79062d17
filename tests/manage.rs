//! The management commands as an operator meets them: processes, answered at a
//! pseudo-terminal where they ask, against SQLite and PostgreSQL, beside a running server.
#![cfg(feature = "ssr")]

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

const SECRET: &str = "manage-test-secret-manage-test-secret-0123";
const PASSWORD: &str = "correct horse battery";

/// A deployment's data: a folder, and a database (a SQLite file in it, or a fresh PostgreSQL
/// database dropped at the end).
struct Site {
    dir: tempfile::TempDir,
    database_url: String,
    postgres: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_admin() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .args([postgres_admin().as_str(), "-qAtc", sql])
        .stdout(Stdio::null())
        .status()
        .expect("run psql");
    assert!(status.success(), "psql: {sql}");
}

impl Site {
    fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Self {
                database_url: format!("sqlite://{}/site.db", dir.path().display()),
                dir,
                postgres: None,
            },
            Backend::Postgres => {
                let name = format!("latchkey_manage_{}_{}", std::process::id(), rand_u32());
                psql(&format!("CREATE DATABASE {name}"));
                let base = postgres_admin();
                let url = format!(
                    "{}/{name}",
                    base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b)
                );
                Self {
                    dir,
                    database_url: url,
                    postgres: Some(name),
                }
            }
        }
    }

    /// `latchkey ARGS` with this site's settings and nothing else from the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("DATA_DIR", self.dir.path())
            .env("DATABASE_URL", &self.database_url)
            .env("JWT_SECRET", SECRET)
            .current_dir(self.dir.path());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run latchkey")
    }

    /// A superuser made without questions, as a container's entry point would.
    fn superuser(&self, name: &str) {
        let output = self
            .command(&[
                "createsuperuser",
                "--no-input",
                "--username",
                name,
                "--email",
                &format!("{name}@example.com"),
            ])
            .env("LATCHKEY_SUPERUSER_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run latchkey");
        assert_eq!(code(&output), 0, "{}", text(&output));
    }

    /// The command at a pseudo-terminal, for answering its questions.
    fn at_terminal(&self, args: &[&str]) -> rexpect::session::PtySession {
        rexpect::session::spawn_command(self.command(args), Some(30_000)).expect("spawn at a pty")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn rand_u32() -> u32 {
    let mut bytes = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    u32::from_le_bytes(bytes)
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn text(output: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output))
}

#[test]
fn createsuperuser_asks_as_django_does_at_a_terminal() {
    let site = Site::new(Backend::Sqlite);
    let mut session = site.at_terminal(&["createsuperuser"]);
    session.exp_string("Username: ").expect("asks the username");
    session.send_line("root").expect("type");
    session
        .exp_string("Email address: ")
        .expect("asks the address");
    session.send_line("root@example.com").expect("type");
    session.exp_string("Password: ").expect("asks the password");
    session.send_line("one thing").expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line("another thing").expect("type");
    session
        .exp_string("Error: Your passwords didn't match.")
        .expect("a mismatch is refused");
    session.exp_string("Password: ").expect("asks once more");
    session.send_line("password").expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line("password").expect("type");
    session
        .exp_string("Bypass password validation and create user anyway? [y/N]: ")
        .expect("a weak password is questioned");
    session.send_line("N").expect("type");
    session
        .exp_string("Password: ")
        .expect("N asks for another password");
    session.send_line(PASSWORD).expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line(PASSWORD).expect("type");
    session
        .exp_string("Superuser root created successfully.")
        .expect("created");
    session.exp_eof().expect("exits");

    let shown = site.run(&["user", "show", "root"]);
    assert_eq!(code(&shown), 0, "{}", text(&shown));
    let shown = stdout(&shown);
    assert!(shown.contains("status: active, superuser"), "{shown}");
    assert!(shown.contains("root@example.com (verified)"), "{shown}");

    // Answering y keeps a weak password, as Django's question offers.
    let mut session = site.at_terminal(&[
        "createsuperuser",
        "--username",
        "weak",
        "--email",
        "weak@example.com",
    ]);
    session.exp_string("Password: ").expect("asks the password");
    session.send_line("password").expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line("password").expect("type");
    session
        .exp_string("[y/N]: ")
        .expect("a weak password is questioned");
    session.send_line("y").expect("type");
    session
        .exp_string("Superuser weak created successfully.")
        .expect("created anyway");
    session.exp_eof().expect("exits");
}

#[test]
fn createsuperuser_without_input_takes_the_password_from_the_environment() {
    let site = Site::new(Backend::Sqlite);
    let missing = site.run(&[
        "createsuperuser",
        "--no-input",
        "--username",
        "root",
        "--email",
        "root@example.com",
    ]);
    assert_eq!(code(&missing), 2, "{}", text(&missing));
    assert!(
        stderr(&missing).contains("LATCHKEY_SUPERUSER_PASSWORD"),
        "{}",
        text(&missing)
    );
    let no_terminal = site.run(&["createsuperuser"]);
    assert_eq!(code(&no_terminal), 2, "{}", text(&no_terminal));
    assert!(
        stderr(&no_terminal).contains("--no-input"),
        "{}",
        text(&no_terminal)
    );

    site.superuser("root");
    let again = site
        .command(&[
            "createsuperuser",
            "--no-input",
            "--username",
            "ROOT",
            "--email",
            "other@example.com",
        ])
        .env("LATCHKEY_SUPERUSER_PASSWORD", PASSWORD)
        .output()
        .expect("run");
    assert_eq!(code(&again), 1, "{}", text(&again));
    assert!(
        stderr(&again).contains("username: That username is taken."),
        "{}",
        text(&again)
    );
    let weak = site
        .command(&[
            "createsuperuser",
            "--no-input",
            "--username",
            "weak",
            "--email",
            "weak@example.com",
        ])
        .env("LATCHKEY_SUPERUSER_PASSWORD", "password")
        .output()
        .expect("run");
    assert_eq!(
        code(&weak),
        1,
        "no bypass without a question: {}",
        text(&weak)
    );
    assert!(stderr(&weak).starts_with("password: "), "{}", text(&weak));
}

fn user_commands_report_and_refuse_clearly(backend: Backend) {
    let site = Site::new(backend);
    site.superuser("root");
    site.superuser("rosa");
    site.superuser("alan");

    let listed = site.run(&["user", "list", "--search", "RO"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed));
    let listed = stdout(&listed);
    assert!(
        listed.contains("root") && listed.contains("rosa"),
        "{listed}"
    );
    assert!(!listed.contains("alan"), "{listed}");
    assert!(listed.contains("2 of 2 account(s)"), "{listed}");

    for args in [
        &["user", "show", "nobody"][..],
        &["user", "deactivate", "nobody"],
        &["user", "delete", "nobody", "--yes"],
        &["user", "sessions", "nobody"],
        &["user", "unlock", "nobody"],
    ] {
        let output = site.run(args);
        assert_eq!(code(&output), 1, "{args:?}: {}", text(&output));
        assert_eq!(stderr(&output).trim(), "error: no such user", "{args:?}");
    }
    for args in [
        &["user", "list", "--limit", "0"][..],
        &["user", "frobnicate", "root"],
        &["user", "show"],
        &["keys", "generate", "--algorithm", "HS512", "--out", "keys"],
        &["--no-such-flag"],
    ] {
        let output = site.run(args);
        assert_eq!(code(&output), 2, "{args:?}: {}", text(&output));
        assert!(!stderr(&output).is_empty(), "{args:?} says why");
    }

    let done = site.run(&["user", "deactivate", "rosa"]);
    assert_eq!(code(&done), 0, "{}", text(&done));
    assert!(
        stdout(&done).contains("rosa is inactive"),
        "{}",
        text(&done)
    );
    let shown = stdout(&site.run(&["user", "show", "rosa"]));
    assert!(shown.contains("status: inactive, superuser"), "{shown}");
    let done = site.run(&["user", "activate", "rosa"]);
    assert_eq!(code(&done), 0, "{}", text(&done));
    let shown = stdout(&site.run(&["user", "show", "rosa"]));
    assert!(shown.contains("status: active, superuser"), "{shown}");

    let sessions = site.run(&["user", "sessions", "rosa"]);
    assert_eq!(code(&sessions), 0, "{}", text(&sessions));
    assert!(
        stdout(&sessions).contains("0 live session(s)"),
        "{}",
        text(&sessions)
    );
    let revoked = site.run(&["user", "sessions", "rosa", "--revoke-all"]);
    assert_eq!(code(&revoked), 0, "{}", text(&revoked));
    assert!(stdout(&revoked).contains("0 session(s) of rosa ended."));
    let unlocked = site.run(&["user", "unlock", "rosa"]);
    assert_eq!(code(&unlocked), 0, "{}", text(&unlocked));
    assert!(stdout(&unlocked).contains("rosa can log in again at once."));

    let unconfirmed = site.run(&["user", "delete", "alan"]);
    assert_eq!(
        code(&unconfirmed),
        2,
        "asks, or needs --yes: {}",
        text(&unconfirmed)
    );
    assert!(
        stderr(&unconfirmed).contains("--yes"),
        "{}",
        text(&unconfirmed)
    );
    let mut session = site.at_terminal(&["user", "delete", "alan"]);
    session.exp_string("[y/N]: ").expect("asks to confirm");
    session.send_line("n").expect("type");
    session.exp_string("Nothing deleted.").expect("kept");
    session.exp_eof().expect("exits");
    assert_eq!(code(&site.run(&["user", "show", "alan"])), 0, "still there");
    let deleted = site.run(&["user", "delete", "alan", "--yes"]);
    assert_eq!(code(&deleted), 0, "{}", text(&deleted));
    assert_eq!(code(&site.run(&["user", "show", "alan"])), 1, "gone");

    let mut session = site.at_terminal(&["user", "set-password", "rosa"]);
    session.exp_string("Password: ").expect("asks");
    session.send_line("short").expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line("short").expect("type");
    session
        .exp_string("Password: ")
        .expect("a refused password asks again");
    session.send_line("another good passphrase").expect("type");
    session
        .exp_string("Password (again): ")
        .expect("asks again");
    session.send_line("another good passphrase").expect("type");
    session
        .exp_string("Password changed for rosa; 0 session(s) ended.")
        .expect("changed");
    session.exp_eof().expect("exits");
}

#[test]
fn user_commands_report_and_refuse_clearly_on_sqlite() {
    user_commands_report_and_refuse_clearly(Backend::Sqlite);
}

#[test]
fn user_commands_report_and_refuse_clearly_on_postgres() {
    user_commands_report_and_refuse_clearly(Backend::Postgres);
}

#[test]
fn help_says_what_each_command_does_and_the_exit_codes() {
    let site = Site::new(Backend::Sqlite);
    let help = site.run(&["--help"]);
    assert_eq!(code(&help), 0);
    let help = stdout(&help);
    for word in [
        "serve",
        "migrate",
        "check",
        "createsuperuser",
        "user",
        "sweep",
        "keys",
        "Exit codes: 0 done; 1 refused",
    ] {
        assert!(help.contains(word), "{word}: {help}");
    }
    let help = stdout(&site.run(&["user", "--help"]));
    for word in [
        "list",
        "show",
        "activate",
        "deactivate",
        "set-password",
        "delete",
        "sessions",
        "unlock",
    ] {
        assert!(help.contains(word), "{word}: {help}");
    }
}

#[test]
fn migrate_and_check_report_what_they_found() {
    let site = Site::new(Backend::Sqlite);
    let checked = site.run(&["check"]);
    assert_eq!(code(&checked), 0, "{}", text(&checked));
    assert!(
        stdout(&checked).contains("migration(s) to apply"),
        "a new database is reported unmigrated: {}",
        text(&checked)
    );
    let migrated = site.run(&["migrate"]);
    assert_eq!(code(&migrated), 0, "{}", text(&migrated));
    let checked = site.run(&["check"]);
    let out = stdout(&checked);
    assert!(
        out.contains("database: reachable, migrations up to date"),
        "{out}"
    );
    assert!(out.contains("signing keys: ok (HS256)"), "{out}");
    assert!(!out.contains(SECRET) && !stderr(&checked).contains(SECRET));

    let unreachable = site
        .command(&["check"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run");
    assert_eq!(code(&unreachable), 1, "{}", text(&unreachable));
    assert!(
        stderr(&unreachable).contains("database: cannot connect"),
        "{}",
        text(&unreachable)
    );
    let misconfigured = site
        .command(&["check"])
        .env("ACCESS_TOKEN_TTL", "soon")
        .output()
        .expect("run");
    assert_eq!(code(&misconfigured), 2, "{}", text(&misconfigured));
    assert!(stderr(&misconfigured).starts_with("configuration error: ACCESS_TOKEN_TTL: "));
}

/// Parses `KEY=VALUE` lines, skipping comments.
fn settings_from(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn keys_generate_writes_private_files_a_server_can_use_at_once() {
    let site = Site::new(Backend::Sqlite);
    for algorithm in ["HS256", "EdDSA", "RS256"] {
        let out = site.dir.path().join(format!("keys-{algorithm}"));
        let generated = site.run(&[
            "keys",
            "generate",
            "--algorithm",
            algorithm,
            "--out",
            out.to_str().expect("path"),
        ]);
        assert_eq!(code(&generated), 0, "{}", text(&generated));
        let settings = settings_from(&stdout(&generated));
        assert_eq!(
            settings[0],
            ("JWT_ALGORITHM".to_string(), algorithm.to_string())
        );
        for (var, path) in &settings[1..] {
            let mode = std::fs::metadata(path)
                .expect("key file")
                .permissions()
                .mode()
                & 0o777;
            if var == "JWT_PUBLIC_KEY_FILE" {
                assert_eq!(mode & 0o022, 0, "{var} is not writable by others: {mode:o}");
            } else {
                assert_eq!(mode, 0o600, "{var} is private: {mode:o}");
            }
            assert!(Path::new(path).starts_with(&out), "{path}");
        }
        let mut check = site.command(&["check"]);
        check.env_remove("JWT_SECRET");
        for (var, value) in &settings {
            check.env(var, value);
        }
        let checked = check.output().expect("run");
        assert_eq!(code(&checked), 0, "{algorithm}: {}", text(&checked));
        assert!(
            stdout(&checked).contains(&format!("signing keys: ok ({algorithm})")),
            "{}",
            text(&checked)
        );
    }
}

/// A running server on the site's database, stopped when dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start(site: &Site) -> Self {
        use std::io::BufRead;
        let mut child = site
            .command(&[])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server stopped before listening")
                .expect("log line");
            if let Some((_, address)) = line.split_once("listening on ") {
                break address.trim().to_string();
            }
        };
        // Keep reading its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `/api/me` answers 200 for `access` on the server.
fn me(client: &reqwest::blocking::Client, server: &Server, access: &str) -> u16 {
    client
        .get(format!("{}/api/me", server.base))
        .bearer_auth(access)
        .send()
        .expect("GET /api/me")
        .status()
        .as_u16()
}

fn refused_within_a_second_after_the_command_line_acts(backend: Backend) {
    let site = Site::new(backend);
    site.run(&["migrate"]);
    let server = Server::start(&site);
    let client = reqwest::blocking::Client::new();
    for name in ["ada", "bob"] {
        let registered = client
            .post(format!("{}/api/register", server.base))
            .json(&serde_json::json!({
                "username": name, "email": format!("{name}@example.com"), "password": PASSWORD,
            }))
            .send()
            .expect("register");
        assert!(registered.status().is_success(), "{}", registered.status());
    }
    let access = |name: &str| -> String {
        let pair: serde_json::Value = client
            .post(format!("{}/api/token", server.base))
            .json(&serde_json::json!({ "username": name, "password": PASSWORD }))
            .send()
            .expect("token")
            .json()
            .expect("json");
        pair["access"].as_str().expect("access").to_string()
    };
    let (ada, bob) = (access("ada"), access("bob"));
    for token in [&ada, &ada, &bob, &bob] {
        assert_eq!(me(&client, &server, token), 200, "cached after the first");
    }

    for (args, token) in [
        (&["user", "deactivate", "ada"][..], &ada),
        (&["user", "sessions", "bob", "--revoke-all"], &bob),
    ] {
        let done = site.run(args);
        assert_eq!(code(&done), 0, "{}", text(&done));
        let acted = Instant::now();
        let mut answers = 0;
        while me(&client, &server, token) == 200 {
            answers += 1;
            assert!(
                acted.elapsed() < Duration::from_secs(1),
                "{args:?}: still accepted after a second ({answers} answers)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "{args:?}: refused {:?} after the command exited",
            acted.elapsed()
        );
    }

    // Both ended sessions (and their refresh tokens, with them) are the sweep's, once.
    let swept = site.run(&["sweep"]);
    assert_eq!(code(&swept), 0, "{}", text(&swept));
    let out = stdout(&swept);
    assert!(out.contains("sessions: 2\n"), "{out}");
    assert!(out.contains("security events: 0\n"), "{out}");
    let again = stdout(&site.run(&["sweep"]));
    assert!(again.contains("sessions: 0\n"), "{again}");
}

#[test]
fn a_running_server_refuses_within_a_second_what_the_command_line_ended_on_sqlite() {
    refused_within_a_second_after_the_command_line_acts(Backend::Sqlite);
}

#[test]
fn a_running_server_refuses_within_a_second_what_the_command_line_ended_on_postgres() {
    refused_within_a_second_after_the_command_line_acts(Backend::Postgres);
}
