//! `spawn_app()`: a real server per test, its own port and database, a cookie-aware client
//! with redirects off.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use reqwest::{Response, StatusCode, cookie::CookieStore, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinSet};

use super::mail_sink::MailSink;

use crate::server::{
    auth::tokens::TokenType, config::Settings, db::testing, now, services::admin::Status,
    startup::Application, state::AppState,
};

/// The origin the test client claims; the app is configured to allow it.
pub const ORIGIN: &str = "http://app.test";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` as two tests: `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$test(super::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$test(super::Backend::Postgres).await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Runs each named `async fn(Backend)` once, on SQLite: for behaviour no database takes part in
/// (key sets, documents, HTTP plumbing).
macro_rules! backend_independent {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn once() {
                super::$test(super::Backend::Sqlite).await;
            }
        }
    )*};
}
pub(crate) use backend_independent;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub state: AppState,
    _dir: tempfile::TempDir,
    postgres_db: Option<String>,
}

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts the app with extra environment-style settings layered over the test defaults.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            spawn_on(url, None, dir, extra).await
        }
        Backend::Postgres => {
            let (url, name) = fresh_postgres_database().await;
            spawn_at(url, name, extra).await
        }
    }
}

/// Creates an empty PostgreSQL database for one test; returns its URL and name.
pub async fn fresh_postgres_database() -> (String, String) {
    let name = format!(
        "latchkey_test_{}",
        crate::server::auth::tokens::random_id()
            .to_lowercase()
            .replace('-', "_")
    );
    testing::create_postgres_database(&admin_url(), &name).await;
    let base = admin_url();
    let url = format!(
        "{}/{name}",
        base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b)
    );
    (url, name)
}

/// Starts the app on `database_url`, a PostgreSQL database named `name` that is dropped with
/// the app.
pub async fn spawn_at(database_url: String, name: String, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_on(database_url, Some(name), dir, extra).await
}

/// Another instance on `app`'s database, as a second process behind a load balancer.
pub async fn spawn_peer(app: &TestApp) -> TestApp {
    spawn_peer_with(app, &[]).await
}

/// [`spawn_peer`] with extra settings.
pub async fn spawn_peer_with(app: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    spawn_on(
        app.state.settings.database.expose().to_string(),
        None,
        dir,
        extra,
    )
    .await
}

/// The app with its mail going to a fresh SMTP sink on loopback, and that sink.
pub async fn spawn_with_mail(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, MailSink) {
    let sink = MailSink::start();
    let mut settings = vec![("SMTP_URL", sink.url.as_str())];
    settings.extend_from_slice(extra);
    (spawn_app_with(backend, &settings).await, sink)
}

/// A TCP relay in front of a server (PostgreSQL, an SMTP sink) that a test can cut and
/// restore: to the app, exactly that server going away (every connection dropped, new ones
/// refused) and coming back.
pub struct Relay {
    pub addr: SocketAddr,
    target: String,
    tasks: JoinSet<()>,
}

impl Relay {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut relay = Self {
            addr,
            target,
            tasks: JoinSet::new(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Drops every relayed connection and stops listening.
    pub async fn cut(&mut self) {
        self.tasks.shutdown().await;
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind");
        self.serve(listener);
    }
}

/// Starts the app on `database_url`; `postgres_db` is dropped with it.
async fn spawn_on(
    database_url: String,
    postgres_db: Option<String>,
    dir: tempfile::TempDir,
    extra: &[(&str, &str)],
) -> TestApp {
    super::plans::init_logging();
    let mut vars: HashMap<String, String> = [
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret!"),
        ("ALLOWED_ORIGINS", ORIGIN),
        ("LEPTOS_SITE_ROOT", "target/site"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.insert("DATABASE_URL".into(), database_url);
    vars.insert("DATA_DIR".into(), dir.path().display().to_string());
    for (k, v) in extra {
        vars.insert((*k).to_string(), (*v).to_string());
    }
    let settings =
        Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings are valid");
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://{}", app.address());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let (client, jar) = browser();
    TestApp {
        address,
        client,
        jar,
        state,
        _dir: dir,
        postgres_db,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.postgres_db.take() {
            // Dropping needs async I/O; do it on a thread of its own so Drop can wait.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(testing::drop_postgres_database(&admin_url(), &name));
            })
            .join();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A server function call as the hydrated page makes it (form-encoded, JSON answer).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_from(&self.client, path, form).await
    }

    /// The same call from another browser (see [`browser`]).
    pub async fn post_from(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// The same call as a browser without JavaScript makes it: it accepts HTML and says where
    /// the form was.
    pub async fn post_form_without_js(
        &self,
        path: &str,
        form: &[(&str, &str)],
        page: &str,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, format!("{ORIGIN}{page}"))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn signup(&self, email: &str, username: &str, password: &str) -> Response {
        self.post_form(
            "/fn/signup",
            &[
                ("email", email),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_form("/fn/login", &[("login", login), ("password", password)])
            .await
    }

    /// Signs up `name` (email `name@example.com`) and keeps the session cookies.
    pub async fn signed_up(&self, name: &str) {
        let response = self
            .signup(&format!("{name}@example.com"), name, PASSWORD)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "sign-up failed: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// The value of a cookie the client holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.address.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.address.parse().expect("url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// Replaces the access cookie with one for the same session that expired a minute ago.
    pub fn expire_access_token(&self) {
        let name = self.state.cookies.access_name();
        let current = self.cookie(name).expect("an access cookie");
        let claims = self
            .state
            .services
            .tokens
            .verify(&current, TokenType::Access)
            .expect("valid access token");
        let ttl =
            i64::try_from(self.state.services.tokens.settings().access_ttl.as_secs()).expect("ttl");
        let expired = self
            .state
            .services
            .tokens
            .sign(
                TokenType::Access,
                claims.user_id,
                &claims.sid,
                &claims.proof(),
                now() - ttl - 60,
            )
            .expect("sign");
        self.set_cookie(name, expired.token.expose_secret());
    }
}

/// A cookie-aware client that sends the allowed Origin and does not follow redirects: one
/// browser.
pub fn browser() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, header::HeaderValue::from_static(ORIGIN));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .default_headers(headers)
        .build()
        .expect("client");
    (client, jar)
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// The `Set-Cookie` header for `name`, if the response sets it.
pub fn set_cookie_for(response: &Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

pub fn location(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

// The JSON API as a non-browser client calls it.

/// A JSON POST from a client without cookies: the status and the body (`null` when not JSON).
pub async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(header::AUTHORIZATION, auth);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// `GET path` (`/api/me` or `/api/me/`) with this `Authorization` header.
pub async fn me_as(app: &TestApp, path: &str, authorization: &str) -> reqwest::Response {
    with_token(app, reqwest::Method::GET, path, authorization, None).await
}

/// The claims of an access token the API answered with (`pair["access"]`).
pub fn access_claims(app: &TestApp, access: &Value) -> crate::server::auth::tokens::Claims {
    app.state
        .services
        .tokens
        .verify(
            access.as_str().expect("an access token"),
            crate::server::auth::tokens::TokenType::Access,
        )
        .expect("a good token")
}

/// Registers `name` and returns `(access, refresh)`.
pub async fn registered(app: &TestApp, name: &str) -> (String, String) {
    let (status, user) = post(
        app,
        "/api/register",
        json!({ "email": format!("{name}@example.com"), "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    logged_in(app, name).await
}

/// Logs `name` in once more (a new session) and returns `(access, refresh)`.
pub async fn logged_in(app: &TestApp, name: &str) -> (String, String) {
    let (status, pair) = post(
        app,
        "/api/token/",
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    (
        pair["access"].as_str().expect("access").to_string(),
        pair["refresh"].as_str().expect("refresh").to_string(),
    )
}

/// Makes `name` an account with `status` holding `codenames` directly; returns an access
/// token of a new session.
pub async fn member(app: &TestApp, name: &str, status: Status, codenames: &[&str]) -> String {
    use crate::server::services::{
        accounts::{PasswordCheck, ProfileInput},
        admin::{self, Actor, Changes},
    };

    let services = &app.state.services;
    let operator = Actor::operator();
    let input = ProfileInput {
        username: name.to_string(),
        email: format!("{name}@example.com"),
        ..ProfileInput::default()
    };
    let user = admin::create_user(
        services,
        &operator,
        &input,
        PASSWORD,
        PasswordCheck::Policy,
        status,
        true,
    )
    .await
    .expect("create");
    if !codenames.is_empty() {
        let changes = Changes {
            user_permissions: Some(codenames.iter().map(ToString::to_string).collect()),
            ..Changes::default()
        };
        admin::change_user(services, &operator, &user, &changes)
            .await
            .expect("grant");
    }
    logged_in(app, name).await.0
}

pub const STAFF: Status = Status {
    is_staff: true,
    is_superuser: false,
};
pub const SUPERUSER: Status = Status {
    is_staff: true,
    is_superuser: true,
};
