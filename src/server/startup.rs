//! Building the application from settings: secret, database, state, router, listener.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    path::Path,
    sync::{Arc, OnceLock},
};

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::get,
};
use jsonwebtoken::Algorithm;
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler, generate_route_list};
use rand::RngCore;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower_http::{catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer};

use super::{
    assets::{self, Assets},
    auth::{
        client,
        cookies::CookiePolicy,
        csrf,
        keys::{KeyError, KeySet},
        live::LiveSessions,
        passwords::Passwords,
        session,
        tokens::{TokenOptions, Tokens},
    },
    config::{MIN_SECRET_BYTES, Settings},
    db, forms, headers,
    limits::{self, BoundedListener, Limits, Peer},
    rest,
    services::cleanup,
    state::AppState,
    telemetry,
};
use crate::app::{App, shell};

/// Largest request body accepted: every form here fits in a few kilobytes (a password is at
/// most 1024 bytes), so anything bigger is refused with 413 before it is read.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbInitError),
    #[error("JWT secret file {path}: {message}")]
    Secret { path: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot listen for session changes: {0}")]
    Listener(#[source] sqlx::Error),
    #[error("cannot prepare the password hasher")]
    Passwords,
    #[error("signing key {0}")]
    Keys(#[from] KeyError),
    #[error("cannot read the site's files under {path}: {source}")]
    Assets { path: String, source: io::Error },
}

/// A built application, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    /// Prepares everything; binding port 0 picks a free port, reported by [`Self::address`].
    ///
    /// # Errors
    /// [`StartupError`] saying which part failed.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let keys = load_keys(&settings)?;
        let assets = Assets::load(Path::new(&settings.site_root)).map_err(|source| {
            StartupError::Assets {
                path: settings.site_root.clone(),
                source,
            }
        })?;
        let db = db::connect(&settings.database_url).await?;
        let live = LiveSessions::start(&settings.database_url)
            .await
            .map_err(StartupError::Listener)?;
        let passwords = Passwords::new()
            .await
            .map_err(|_| StartupError::Passwords)?;
        let listener = TcpListener::bind(settings.site_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.site_addr,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.site_addr,
            source,
        })?;
        let leptos_options = LeptosOptions::builder()
            .output_name("latchkey")
            .site_root(settings.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .build();
        let state = AppState {
            leptos_options,
            db,
            tokens: Arc::new(Tokens::new(
                keys,
                TokenOptions {
                    access_ttl: settings.access_ttl,
                    refresh_ttl: settings.refresh_ttl,
                    issuer: settings.jwt_issuer.clone(),
                    audience: settings.jwt_audience.clone(),
                    leeway: settings.jwt_leeway,
                    user_id_claim: settings.user_id_claim.clone(),
                },
            )),
            passwords,
            cookies: CookiePolicy {
                secure: settings.cookie_secure,
            },
            live,
            settings: Arc::new(settings),
        };
        Ok(Self {
            listener,
            router: router(state.clone(), assets),
            address,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    ///
    /// # Errors
    /// The I/O error that stopped the server.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let sweeper = cleanup::spawn(self.state.clone());
        let listener = BoundedListener::new(self.listener, self.state.settings.max_connections);
        let served = axum::serve(
            listener,
            self.router.into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        served
    }
}

/// Leptos's route-list generation renders the app once with resource loading suppressed by a
/// process-global flag, so a page rendering at that moment elsewhere in the process can hang
/// for good (leptos-rs/leptos#4773). Generate the list once per process, before any server of
/// this process can render: it is derived from the code alone, not state.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn router(state: AppState, assets: Assets) -> Router {
    let routes = route_list();
    let options = state.leptos_options.clone();
    let context_state = state.clone();
    let limits = Limits::new(state.settings.max_in_flight, state.settings.request_timeout);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest("/api", rest::router())
        .route("/.well-known/jwks.json", get(jwks))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(state.clone(), session::resolve))
        .layer(from_fn(forms::require_utf8))
        .layer(from_fn_with_state(state.clone(), csrf::require_same_origin))
        .layer(from_fn_with_state(state.clone(), client::identify))
        .layer(from_fn_with_state(assets, assets::serve))
        // A bug that panics answers 500 with the generic message, and the request is logged.
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            crate::error::AppError::Internal.into_response()
        }))
        .layer(from_fn_with_state(limits, limits::bound))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), headers::add))
        .layer(from_fn(telemetry::log_request))
        .with_state(state)
}

/// The public verification keys, so other services can check tokens offline.
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(state.tokens.jwks()),
    )
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if db::ping(&state.db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// The configured keys: HS256 from JWT_SECRET (or the generated secret file), or EdDSA/RS256
/// from PEM files.
fn load_keys(settings: &Settings) -> Result<KeySet, StartupError> {
    if settings.jwt_algorithm == Algorithm::HS256 {
        let current = match &settings.jwt_secret {
            Some(secret) => secret.clone(),
            None => load_or_create_secret(&settings.data_dir.join("jwt_secret"))?,
        };
        return Ok(KeySet::hmac(&current, &settings.jwt_previous_secrets));
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|pem| (path.display().to_string(), pem))
            .map_err(|e| {
                StartupError::Keys(KeyError {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            })
    };
    let (Some(private), Some(public)) = (
        &settings.jwt_private_key_file,
        &settings.jwt_public_key_file,
    ) else {
        return Err(StartupError::Keys(KeyError {
            path: String::new(),
            message: "JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE are required".into(),
        }));
    };
    let private = read(private)?;
    let public = std::iter::once(public)
        .chain(&settings.jwt_previous_public_key_files)
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let public: Vec<(&str, &str)> = public
        .iter()
        .map(|(p, k)| (p.as_str(), k.as_str()))
        .collect();
    Ok(KeySet::asymmetric(
        settings.jwt_algorithm,
        (&private.0, &private.1),
        &public,
    )?)
}

/// Reads the generated secret, or creates it (0600) on first run.
fn load_or_create_secret(path: &Path) -> Result<SecretString, StartupError> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let fail = |message: String| StartupError::Secret {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(secret) if secret.trim().len() >= MIN_SECRET_BYTES => {
            return Ok(SecretString::from(secret.trim()));
        }
        Ok(_) => {
            return Err(fail(format!(
                "holds fewer than {MIN_SECRET_BYTES} bytes; delete it or set JWT_SECRET"
            )));
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(e.to_string())),
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    tracing::warn!(
        path = %path.display(),
        "JWT_SECRET is not set: generated a random secret and saved it (mode 0600); set JWT_SECRET to share one key between instances"
    );
    Ok(SecretString::from(secret))
}
