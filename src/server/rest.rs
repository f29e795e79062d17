//! The JSON API for non-browser clients, shaped like Django REST Framework + Simple JWT so
//! clients written for such a backend work unchanged. Same services as the browser app:
//! one implementation of every rule, two transports.

mod errors;
mod handlers;

use axum::{
    Router,
    routing::{MethodRouter, get, post},
};

use super::state::AppState;
pub use errors::ApiError;

/// Every path answers with and without a trailing slash, as Django's do.
fn both(router: Router<AppState>, path: &str, method: MethodRouter<AppState>) -> Router<AppState> {
    router
        .route(path, method.clone())
        .route(&format!("{path}/"), method)
}

/// The routes, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    let routes = [
        ("/register", post(handlers::register)),
        ("/token", post(handlers::obtain)),
        ("/token/refresh", post(handlers::refresh)),
        ("/token/verify", post(handlers::verify)),
        ("/token/blacklist", post(handlers::blacklist)),
        ("/me", get(handlers::me).patch(handlers::update_me)),
        ("/me/password", post(handlers::change_password)),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, method)| {
            both(router, path, method)
        })
        .fallback(|| async { ApiError::NotFound })
}
