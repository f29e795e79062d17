//! The JSON API for non-browser clients, shaped like Django REST Framework + Simple JWT so
//! clients written for such a backend work unchanged. Same services as the browser app:
//! one implementation of every rule, two transports.

mod admin;
mod dj_rest_auth;
mod errors;
mod factors;
mod handlers;
mod passkeys;

use axum::{
    Json, Router,
    routing::{MethodRouter, delete, get, post},
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
        handlers::delete_me,
        handlers::my_sessions,
        handlers::sign_out_session,
        handlers::my_activity,
        factors::finish_login,
        factors::status,
        factors::start_totp,
        factors::confirm_totp,
        factors::remove_totp,
        factors::regenerate_recovery_codes,
        passkeys::registration_options,
        passkeys::register,
        passkeys::list,
        passkeys::rename,
        passkeys::remove,
        passkeys::sign_in_options,
        passkeys::sign_in,
        dj_rest_auth::login,
        dj_rest_auth::logout,
        dj_rest_auth::user,
        dj_rest_auth::update_user,
        dj_rest_auth::replace_user,
        dj_rest_auth::change_password,
        dj_rest_auth::password_reset,
        dj_rest_auth::password_reset_confirm,
        dj_rest_auth::registration,
        dj_rest_auth::verify_email,
        dj_rest_auth::resend_email,
        admin::list_users,
        admin::create_user,
        admin::show_user,
        admin::change_user,
        admin::delete_user,
        admin::user_sessions,
        admin::end_user_sessions,
        admin::remove_user_factors,
        admin::list_groups,
        admin::create_group,
        admin::show_group,
        admin::change_group,
        admin::delete_group,
        admin::audit_log,
    ),
    modifiers(&BearerScheme, &DjRestAuthAliases)
)]
struct ApiDoc;

struct BearerScheme;

/// dj-rest-auth's token paths are Simple JWT's under `/api/auth/`: the same operations.
struct DjRestAuthAliases;

impl Modify for DjRestAuthAliases {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (simple_jwt, dj_rest_auth) in [
            ("/api/token/verify", "/api/auth/token/verify"),
            ("/api/token/refresh", "/api/auth/token/refresh"),
        ] {
            let Some(mut item) = openapi.paths.paths.get(simple_jwt).cloned() else {
                continue;
            };
            if let Some(operation) = item.post.as_mut() {
                operation.operation_id =
                    operation.operation_id.take().map(|id| format!("auth_{id}"));
                operation.tags = Some(vec!["dj-rest-auth".to_string()]);
            }
            openapi.paths.paths.insert(dj_rest_auth.to_string(), item);
        }
    }
}

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
        ("/token/mfa", post(factors::finish_login)),
        ("/token/passkey/options", post(passkeys::sign_in_options)),
        ("/token/passkey", post(passkeys::sign_in)),
        (
            "/me",
            get(handlers::me)
                .patch(handlers::update_me)
                .delete(handlers::delete_me),
        ),
        ("/me/password", post(handlers::change_password)),
        ("/me/logout-all", post(handlers::logout_everywhere)),
        ("/me/deactivate", post(handlers::deactivate)),
        ("/me/sessions", get(handlers::my_sessions)),
        ("/me/sessions/{id}", delete(handlers::sign_out_session)),
        ("/me/activity", get(handlers::my_activity)),
        ("/me/mfa", get(factors::status)),
        (
            "/me/mfa/totp",
            post(factors::start_totp).delete(factors::remove_totp),
        ),
        ("/me/mfa/totp/confirm", post(factors::confirm_totp)),
        (
            "/me/mfa/recovery-codes",
            post(factors::regenerate_recovery_codes),
        ),
        ("/me/passkeys", get(passkeys::list).post(passkeys::register)),
        ("/me/passkeys/options", post(passkeys::registration_options)),
        (
            "/me/passkeys/{id}",
            axum::routing::patch(passkeys::rename).delete(passkeys::remove),
        ),
        // dj-rest-auth's paths (with USE_JWT), for its clients.
        ("/auth/login", post(dj_rest_auth::login)),
        ("/auth/logout", post(dj_rest_auth::logout)),
        (
            "/auth/user",
            get(dj_rest_auth::user)
                .put(dj_rest_auth::replace_user)
                .patch(dj_rest_auth::update_user),
        ),
        ("/auth/password/change", post(dj_rest_auth::change_password)),
        ("/auth/password/reset", post(dj_rest_auth::password_reset)),
        (
            "/auth/password/reset/confirm",
            post(dj_rest_auth::password_reset_confirm),
        ),
        ("/auth/registration", post(dj_rest_auth::registration)),
        (
            "/auth/registration/verify-email",
            post(dj_rest_auth::verify_email),
        ),
        (
            "/auth/registration/resend-email",
            post(dj_rest_auth::resend_email),
        ),
        ("/auth/token/verify", post(handlers::verify)),
        ("/auth/token/refresh", post(handlers::refresh)),
        // The admin API, for staff.
        (
            "/admin/users",
            get(admin::list_users).post(admin::create_user),
        ),
        (
            "/admin/users/{id}",
            get(admin::show_user)
                .patch(admin::change_user)
                .delete(admin::delete_user),
        ),
        (
            "/admin/users/{id}/sessions",
            get(admin::user_sessions).delete(admin::end_user_sessions),
        ),
        ("/admin/users/{id}/mfa", delete(admin::remove_user_factors)),
        (
            "/admin/groups",
            get(admin::list_groups).post(admin::create_group),
        ),
        (
            "/admin/groups/{id}",
            get(admin::show_group)
                .patch(admin::change_group)
                .delete(admin::delete_group),
        ),
        ("/admin/audit", get(admin::audit_log)),
        ("/openapi.json", get(|| async { Json(ApiDoc::openapi()) })),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, method)| {
            both(router, path, method)
        })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method)
        })
        .fallback(|| async { ApiError::NotFound })
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::ApiDoc;
    use crate::{
        domain::{MAX_EMAIL_CHARS, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS, MIN_PASSWORD_CHARS},
        server::services::accounts::MAX_NAME_CHARS,
    };

    /// The document's length limits are literals (utoipa takes no constants): they must say
    /// what the validators enforce.
    #[test]
    fn the_documented_limits_are_the_enforced_ones() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
        let property = |schema: &str, field: &str, key: &str| {
            doc["components"]["schemas"][schema]["properties"][field][key].as_u64()
        };
        let mut expected = Vec::new();
        for schema in ["Register", "UpdateMe"] {
            expected.push((schema, "email", "maxLength", MAX_EMAIL_CHARS));
            expected.push((schema, "username", "maxLength", MAX_USERNAME_CHARS));
            expected.push((schema, "first_name", "maxLength", MAX_NAME_CHARS));
            expected.push((schema, "last_name", "maxLength", MAX_NAME_CHARS));
        }
        expected.push(("Registration", "email", "maxLength", MAX_EMAIL_CHARS));
        expected.push(("Registration", "username", "maxLength", MAX_USERNAME_CHARS));
        let new_passwords = [
            ("Register", "password"),
            ("PasswordChange", "new_password"),
            ("AuthPasswordChange", "new_password1"),
            ("AuthPasswordChange", "new_password2"),
            ("ResetConfirm", "new_password1"),
            ("ResetConfirm", "new_password2"),
            ("Registration", "password1"),
            ("Registration", "password2"),
        ];
        for (schema, field) in new_passwords {
            expected.push((schema, field, "minLength", MIN_PASSWORD_CHARS));
        }
        for (schema, field) in new_passwords.into_iter().chain([
            ("Obtain", "password"),
            ("PasswordChange", "current_password"),
            ("Deactivate", "password"),
            ("Password", "password"),
            ("RemoveTotp", "password"),
            ("Login", "password"),
            ("AuthPasswordChange", "old_password"),
        ]) {
            expected.push((schema, field, "maxLength", MAX_PASSWORD_BYTES));
        }
        for (schema, field, key, limit) in expected {
            assert_eq!(
                property(schema, field, key),
                u64::try_from(limit).ok(),
                "{schema}.{field} {key}"
            );
        }
    }
}
