//! Reliability: many writers at once, and the database going away under load and coming back.
//! (The limits on requests and graceful shutdown are tested on the binary: tests/cli.rs.)

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::helpers::{
    Backend, PASSWORD, Relay, TestApp, fresh_postgres_database, logged_in, on_both_backends, post,
    registered, spawn_app_with, spawn_at, with_token,
};
use crate::server::{
    auth::tokens::Proof,
    db::testing::{self, Table},
    now,
    services::sessions,
};

fn test_client() -> crate::server::services::devices::Client {
    crate::server::services::devices::Client::new([127, 0, 0, 1].into(), Some("reliability test"))
}

/// Behind a trusted proxy, each test client can claim its own address, so the per-address
/// registration limit does not stand in for the behaviour under test.
const BEHIND_PROXY: &[(&str, &str)] = &[("TRUSTED_PROXIES", "127.0.0.1")];

async fn sign_up_from(app: &TestApp, forwarded: &str, name: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/api/register"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({
            "email": format!("{name}@example.com"),
            "username": name,
            "password": PASSWORD,
        }))
        .send()
        .await
        .map_or(StatusCode::BAD_GATEWAY, |r| r.status())
}

async fn count_users(app: &TestApp) -> i64 {
    testing::count(&app.state.services.db, Table::Users).await
}

async fn a_hundred_concurrent_writers_lose_nothing(backend: Backend) {
    // Sign-ups wait for one of the two argon2 hashers (at most 2 s, then 503): 30 of them fit
    // that bound even with the rest of the suite running; refreshes hash nothing.
    const SIGN_UPS: usize = 30;
    const REFRESHES: usize = 70;
    let app = Arc::new(spawn_app_with(backend, BEHIND_PROXY).await);
    registered(&app, "ada").await;
    let before = count_users(&app).await;
    let ada = testing::user(&app.state.services.db, "ada").await;
    let mut refresh_tokens = Vec::new();
    for _ in 0..REFRESHES {
        let issued = sessions::start(
            &app.state.services,
            &ada,
            &Proof::password(now()),
            &test_client(),
        )
        .await
        .expect("a session");
        refresh_tokens.push(issued.refresh.token.expose_secret().to_string());
    }

    let mut writers = JoinSet::new();
    for i in 0..SIGN_UPS {
        let app = Arc::clone(&app);
        writers.spawn(async move {
            let status = sign_up_from(&app, &format!("10.1.0.{i}"), &format!("writer{i}")).await;
            ("sign-up", status, Value::Null)
        });
    }
    for refresh in refresh_tokens {
        let app = Arc::clone(&app);
        writers.spawn(async move {
            let (status, pair) =
                post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
            ("refresh", status, pair)
        });
    }
    let mut successors = Vec::new();
    while let Some(joined) = writers.join_next().await {
        let (what, status, pair) = joined.expect("writer");
        assert!(status.is_success(), "a {what} answered {status}: {pair}");
        if what == "refresh" {
            successors.push(pair["refresh"].as_str().expect("refresh").to_string());
        }
    }

    assert_eq!(
        count_users(&app).await,
        before + i64::try_from(SIGN_UPS).expect("small"),
        "every sign-up stored"
    );
    for successor in successors {
        let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": successor })).await;
        assert_eq!(status, StatusCode::OK, "every rotation stored");
    }
}

/// SQLite's outage: another process holding the write lock past the busy timeout (5 s).
/// Writes answer 503 with Retry-After meanwhile, never "database is locked", and work again
/// once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_past_its_busy_timeout_answers_503_then_recovers() {
    let app = spawn_app_with(Backend::Sqlite, BEHIND_PROXY).await;
    let lock = testing::lock_sqlite(app.state.settings.database.expose()).await;

    let blocked = reqwest::Client::new()
        .post(app.url("/api/register"))
        .header("x-forwarded-for", "10.3.0.1")
        .json(
            &json!({ "email": "blocked@example.com", "username": "blocked", "password": PASSWORD }),
        )
        .send()
        .await
        .expect("POST");
    assert!(is_503_with_retry_after(&blocked), "{}", blocked.status());
    assert!(
        !blocked.text().await.unwrap_or_default().contains("locked"),
        "no database message reaches the client"
    );

    lock.release().await;
    assert_eq!(
        sign_up_from(&app, "10.3.0.2", "blocked").await,
        StatusCode::CREATED,
        "the same sign-up works once the lock is gone"
    );
}

/// Clients refreshing `tokens` concurrently as fast as they can, until they have made 20
/// refreshes each; then every one of them hangs up at once, mid-request.
async fn hang_up_mid_refresh(app: &Arc<TestApp>, tokens: &[String]) {
    let goal = 20 * tokens.len();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let enough = Arc::new(tokio::sync::Notify::new());
    let mut clients = JoinSet::new();
    for refresh in tokens {
        let mut refresh = refresh.clone();
        let (app, done, enough) = (Arc::clone(app), Arc::clone(&done), Arc::clone(&enough));
        clients.spawn(async move {
            loop {
                let (status, pair) =
                    post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
                assert_eq!(status, StatusCode::OK, "{pair}");
                refresh = pair["refresh"].as_str().expect("refresh").to_string();
                if done.fetch_add(1, Ordering::Relaxed) + 1 == goal {
                    enough.notify_one();
                }
            }
        });
    }
    enough.notified().await;
    clients.shutdown().await;
}

/// Clients that hang up in the middle of their requests must not leave a pooled connection
/// inside a transaction (sqlx is not cancel-safe while one begins): every later rotation, on
/// whichever connection, is committed where another connection sees it.
async fn clients_hanging_up_mid_request_leave_no_transaction_open(backend: Backend) {
    const CLIENTS: usize = 64;
    const ROUNDS: usize = 3;
    let app = Arc::new(spawn_app_with(backend, BEHIND_PROXY).await);
    registered(&app, "ada").await;
    let ada = testing::user(&app.state.services.db, "ada").await;
    let mut tokens = Vec::new();
    for _ in 0..ROUNDS * CLIENTS + 40 {
        let issued = sessions::start(
            &app.state.services,
            &ada,
            &Proof::password(now()),
            &test_client(),
        )
        .await
        .expect("a session");
        tokens.push(issued.refresh.token.expose_secret().to_string());
    }
    let checked = tokens.split_off(ROUNDS * CLIENTS);

    // 64 clients refresh as fast as they can, then all hang up at once, mid-request; thrice.
    for round in tokens.chunks(CLIENTS) {
        hang_up_mid_refresh(&app, round).await;
    }

    // Log-outs are single statements, outside any transaction of their own: on a connection
    // left inside a stale transaction they would be acknowledged and never committed.
    let other = crate::server::db::connect(&app.state.settings.database)
        .await
        .expect("a second pool");
    for refresh in checked {
        let (status, _) = post(
            &app,
            "/api/token/blacklist",
            json!({ "refresh": refresh.clone() }),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let claims = app
            .state
            .services
            .tokens
            .verify(&refresh, crate::server::auth::tokens::TokenType::Refresh)
            .expect("claims");
        assert!(
            testing::session_revoked(&other, &claims.sid).await,
            "an acknowledged log-out is committed, visible to another connection"
        );
    }
}

/// Where the test PostgreSQL listens (host and port of TEST_POSTGRES_URL).
fn postgres_addr() -> String {
    let url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let url = url::Url::parse(&url).expect("TEST_POSTGRES_URL is a URL");
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
}

fn is_503_with_retry_after(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::SERVICE_UNAVAILABLE
        && response.headers().contains_key(header::RETRY_AFTER)
}

/// Asks `/readyz` until it answers 200; fails after `limit`.
async fn ready_within(app: &TestApp, limit: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if app.get("/readyz").await.status() == StatusCode::OK {
            return started.elapsed();
        }
    }
    panic!("not ready {limit:?} after the database came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_under_load_gives_503_then_recovers_losing_nothing_acknowledged() {
    let mut relay = Relay::start(postgres_addr()).await;
    let (url, name) = fresh_postgres_database().await;
    let mut through_relay = url::Url::parse(&url).expect("url");
    through_relay
        .set_port(Some(relay.addr.port()))
        .expect("a port");
    let app = Arc::new(spawn_at(through_relay.to_string(), name, BEHIND_PROXY).await);

    let (access, refresh) = registered(&app, "ada").await;
    let (_, revoked) = logged_in(&app, "ada").await;
    let (status, _) = post(&app, "/api/token/blacklist", json!({ "refresh": revoked })).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a revocation acknowledged before the outage"
    );

    // Sign-ups keep arriving throughout: before, during and after the outage.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let load = {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("load{i}");
                let status =
                    sign_up_from(&app, &format!("10.2.{}.{}", i / 250, i % 250), &name).await;
                if answered.send((name, status)).is_err() {
                    return;
                }
                i += 1;
            }
        })
    };
    let mut seen = Vec::new();
    let mut acknowledged = async |seen: &mut Vec<(String, StatusCode)>, wanted: usize| {
        let mut created = 0;
        while created < wanted {
            let answer = answers.recv().await.expect("the load goes on");
            created += usize::from(answer.1 == StatusCode::CREATED);
            seen.push(answer);
        }
    };
    acknowledged(&mut seen, 3).await;

    relay.cut().await;
    let login = reqwest::Client::new()
        .post(app.url("/api/token"))
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .expect("POST");
    assert!(
        is_503_with_retry_after(&login),
        "log-in during the outage: {}",
        login.status()
    );
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "refresh during the outage"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "/readyz reports the outage"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::OK,
        "the process is alive"
    );

    relay.restore().await;
    let recovered = ready_within(&app, Duration::from_secs(30)).await;
    eprintln!("ready again {recovered:?} after PostgreSQL came back");
    acknowledged(&mut seen, 3).await;
    stop.store(true, Ordering::Relaxed);
    load.await.expect("load");
    while let Ok(answer) = answers.try_recv() {
        seen.push(answer);
    }

    let mut stored = 0;
    for (name, status) in &seen {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::SERVICE_UNAVAILABLE,
            "{name}: only 201 or 503, got {status}"
        );
        if *status == StatusCode::CREATED {
            stored += 1;
            let found = testing::find_user_id(&app.state.services.db, name).await;
            assert!(found.is_some(), "{name} was acknowledged, so it is stored");
        }
    }
    let refused = seen.len() - stored;
    eprintln!("sign-ups under load: {stored} acknowledged and stored, {refused} answered 503");
    assert!(refused > 0, "the outage was seen by the load");

    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": revoked })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the revocation survived");
    let (status, _) = post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::OK, "the live session survived");
    let me = with_token(
        &app,
        reqwest::Method::GET,
        "/api/me",
        &format!("Bearer {access}"),
        None,
    )
    .await;
    assert_eq!(me.status(), StatusCode::OK);
    logged_in(&app, "ada").await;
}

on_both_backends!(
    a_hundred_concurrent_writers_lose_nothing,
    clients_hanging_up_mid_request_leave_no_transaction_open,
);
