//! Building the application from settings: secret, database, state, router, listener.

use std::{
    future::Future,
    io,
    net::SocketAddr,
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
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler, generate_route_list};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use super::{
    auth::{
        cookies::CookiePolicy,
        keys::{KeyError, KeySet},
        passkeys::RelyingParty,
        passwords::Passwords,
        sealed::Sealer,
        tokens::Tokens,
    },
    config::Settings,
    db,
    http::{
        self,
        assets::Assets,
        limits::{BoundedListener, Limits, Peer},
        pages::GuestPages,
    },
    mail::{MailError, Mailer, templates::Site},
    rest,
    services::{ServiceConfig, Services, cleanup, outbox::Outbox, session_cache::SessionCache},
    state::{AppState, Shared},
};
use crate::app::{App, shell};

/// Largest request body accepted: every form here fits in a few kilobytes (a password is at
/// most 1024 bytes), so anything bigger is refused with 413 before it is read.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbInitError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot listen for session changes: {0}")]
    Listener(#[source] db::DbError),
    #[error("cannot prepare the password hasher")]
    Passwords,
    #[error("signing key {0}")]
    Keys(#[from] KeyError),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("cannot read the site's files under {path}: {source}")]
    Assets { path: String, source: io::Error },
    #[error("WEBAUTHN_RP_ID: {0}")]
    Passkeys(String),
}

/// Whether a process follows the database's announcements of changes (a server, whose
/// session cache must), or only makes changes (the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcements {
    Listen,
    Ignore,
}

/// The use cases' dependencies, from settings: signing keys, the database (migrated), the
/// password hasher and the session cache.
///
/// # Errors
/// [`StartupError`] saying which part failed.
pub async fn services(
    settings: &Settings,
    announcements: Announcements,
) -> Result<Services, StartupError> {
    let keys = KeySet::load(&settings.keys, &settings.site.data_dir)?;
    let sealer = Sealer::load(
        settings.factors.encryption_key.as_ref(),
        &settings.site.data_dir,
    )?;
    let passkeys = settings
        .factors
        .passkeys
        .as_ref()
        .map(|rp| RelyingParty::new(&rp.id, &rp.origins, &settings.site.name).map(Arc::new))
        .transpose()
        .map_err(StartupError::Passkeys)?;
    let db = db::connect(&settings.database).await?;
    let cache = match announcements {
        Announcements::Listen => SessionCache::start(&db, settings.limits.session_cache)
            .await
            .map_err(StartupError::Listener)?,
        Announcements::Ignore => SessionCache::unshared(settings.limits.session_cache),
    };
    let passwords = Passwords::new()
        .await
        .map_err(|_| StartupError::Passwords)?;
    Ok(Services {
        db,
        tokens: Arc::new(Tokens::new(keys, settings.tokens.clone())),
        passwords,
        cache,
        outbox: Outbox::default(),
        sealer: Arc::new(sealer),
        passkeys,
        config: Arc::new(ServiceConfig {
            site: Site {
                name: settings.site.name.clone(),
                url: settings.site.url.clone(),
            },
            accounts: settings.accounts.clone(),
            require_mfa_for_staff: settings.factors.require_for_staff,
        }),
    })
}

/// A built application, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    address: SocketAddr,
    state: AppState,
    mailer: Mailer,
}

impl Application {
    /// Prepares everything; binding port 0 picks a free port, reported by [`Self::address`].
    ///
    /// # Errors
    /// [`StartupError`] saying which part failed.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let assets = Assets::load(&settings.site.root).map_err(|source| StartupError::Assets {
            path: settings.site.root.display().to_string(),
            source,
        })?;
        let mailer = Mailer::new(&settings.mail, &settings.site.data_dir)?;
        let services = services(&settings, Announcements::Listen).await?;
        let listener = TcpListener::bind(settings.site.addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.site.addr,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.site.addr,
            source,
        })?;
        let leptos_options = LeptosOptions::builder()
            .output_name("latchkey")
            .site_root(settings.site.root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .build();
        let state = AppState::new(Shared {
            leptos_options,
            services,
            cookies: CookiePolicy {
                secure: settings.site.cookie_secure,
            },
            settings,
        });
        Ok(Self {
            listener,
            router: router(state.clone(), assets),
            address,
            state,
            mailer,
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
        let services = &self.state.services;
        let sweeper = cleanup::spawn(services.clone());
        tracing::info!(to = self.mailer.destination(), "mail goes to");
        let sender = services.outbox.spawn(services.db.clone(), self.mailer);
        let listener =
            BoundedListener::new(self.listener, self.state.settings.limits.max_connections);
        let served = axum::serve(
            listener,
            self.router.into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        sender.abort();
        served
    }
}

/// Leptos's route-list generation renders the app once with resource loading suppressed by a
/// process-global flag, so a page rendering at that moment elsewhere in the process can hang
/// for good (leptos-rs/leptos#4773). Generate the list once per process, before any server of
/// this process can render: it is derived from the code alone, not state.
pub(crate) fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The routes, inside the middleware of `http` (outermost first, in the order it lists them).
///
/// The middleware wraps the whole router once, as one service, rather than through
/// `Router::layer`, which wraps every route and the fallback apart: axum then clones each
/// route's stack of layers, and every state they hold, for every request (bench/README.md:
/// a third of `GET /api/me`'s instructions).
fn router(state: AppState, assets: Assets) -> Router {
    let routes = route_list();
    let options = state.leptos_options.clone();
    let context_state = state.clone();
    let limits = Limits::new(
        state.settings.limits.max_in_flight,
        state.settings.limits.request_timeout,
        MAX_BODY_BYTES,
    );
    let app = Router::new()
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
        .with_state(state.clone());
    let layered = ServiceBuilder::new()
        .layer(from_fn(http::telemetry::trace_request))
        .layer(from_fn_with_state(state.clone(), http::headers::add))
        .layer(from_fn_with_state(limits, http::limits::bound))
        // A bug that panics answers 500 with the generic message, and the request is logged.
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            crate::error::AppError::Internal.into_response()
        }))
        .layer(from_fn_with_state(assets, http::assets::serve))
        .layer(from_fn_with_state(state.clone(), http::client::identify))
        .layer(from_fn_with_state(
            state.clone(),
            http::csrf::require_same_origin,
        ))
        .layer(from_fn(http::forms::require_utf8))
        .layer(from_fn_with_state(
            state,
            http::identity::authenticate_request,
        ))
        .layer(from_fn_with_state(
            GuestPages::default(),
            http::pages::serve,
        ))
        .service(app);
    Router::new().fallback_service(layered)
}

/// The public verification keys, so other services can check tokens offline.
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(state.services.tokens.jwks()),
    )
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if db::ping(&state.services.db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}
