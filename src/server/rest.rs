//! The JSON API for non-browser clients, shaped like Django REST Framework + Simple JWT so
//! clients written for such a backend work unchanged. Same services as the browser app:
//! one implementation of every rule, two transports.

mod errors;
mod handlers;

use axum::{
    Json, Router,
    routing::{MethodRouter, get, post},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::state::AppState;
pub use errors::ApiError;

/// Every path answers with and without a trailing slash, as Django's do.
fn both(router: Router<AppState>, path: &str, method: MethodRouter<AppState>) -> Router<AppState> {
    router
        .route(path, method.clone())
        .route(&format!("{path}/"), method)
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "latchkey API", description = "JSON endpoints shaped like Django REST Framework + Simple JWT."),
    paths(
        handlers::register,
        handlers::obtain,
        handlers::refresh,
        handlers::verify,
        handlers::blacklist,
        handlers::me,
        handlers::update_me,
        handlers::change_password,
        handlers::logout_everywhere,
        handlers::deactivate,
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
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
        ("/me/logout-all", post(handlers::logout_everywhere)),
        ("/me/deactivate", post(handlers::deactivate)),
        ("/openapi.json", get(|| async { Json(ApiDoc::openapi()) })),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, method)| {
            both(router, path, method)
        })
        .fallback(|| async { ApiError::NotFound })
}
