//! The one error type both sides share. Its server half maps storage errors and turns
//! errors into HTTP responses; internal detail is logged, never sent.

use std::collections::BTreeMap;

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// A problem with one form field, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(String);

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Messages per field (the shape Django REST Framework uses: field -> list of messages), plus
/// the non-secret values the person typed, so a form re-rendered without JavaScript keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors {
    pub errors: BTreeMap<String, Vec<String>>,
    pub values: BTreeMap<String, String>,
}

impl FieldErrors {
    pub fn add(&mut self, field: &str, error: FieldError) {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(error.0);
    }

    /// Records what was typed into a field that is safe to echo (never a password).
    pub fn keep(&mut self, field: &str, value: &str) {
        self.values.insert(field.to_string(), value.to_string());
    }

    /// Parses one field, recording its error; `None` when it failed.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, FieldError>) -> Option<T> {
        parsed.map_err(|e| self.add(field, e)).ok()
    }

    pub fn first(&self, field: &str) -> Option<&str> {
        self.errors
            .get(field)
            .and_then(|m| m.first())
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when no field failed, else the validation error carrying them all.
    ///
    /// # Errors
    /// [`AppError::Validation`] with every recorded message.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }
}

/// Everything that can go wrong, as the person or client should see it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    /// 400: one or more fields are invalid.
    #[error("Please correct the highlighted fields.")]
    Validation(FieldErrors),
    /// 401: the one answer for unknown user, wrong password and inactive account.
    #[error("Invalid email/username or password.")]
    InvalidCredentials,
    /// 403: the password was right, but with EMAIL_VERIFICATION=mandatory the address must be
    /// verified before the account can log in.
    #[error(
        "Please confirm your email address first: open the link we sent you, or ask for a new one."
    )]
    EmailNotVerified,
    /// 401: no session, or the session has ended (refresh token expired or revoked).
    #[error("Please log in to continue.")]
    Unauthorized,
    /// 429: too many attempts from this address or at this account; try again after
    /// `retry_after` seconds.
    #[error("Too many attempts. Please wait {retry_after} seconds and try again.")]
    Throttled { retry_after: u64 },
    /// 503: the server is at a limit (password hashers, requests in flight, the request
    /// timeout) or its database is out of reach for now; try again in a moment.
    #[error("The server is busy. Please try again in a moment.")]
    Busy,
    /// 400: the request itself cannot be read (its body, its encoding); says what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the request came from a page on another site.
    #[error("This request was refused because it did not come from this site.")]
    Forbidden,
    /// 403: signed in, but without the permission this needs.
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    /// 403: staff whose session did not prove a second factor, with `REQUIRE_MFA_FOR_STAFF`.
    #[error(
        "The admin site needs two-factor authentication: set up an authenticator app or a passkey on your profile, then log in again with it."
    )]
    SecondFactorRequired,
    /// 404: no such thing (or nothing this person may know exists).
    #[error("Not found.")]
    NotFound,
    /// 413: the body is over the size limit.
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// 500: something failed on our side; the detail is in the server log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request could not reach the server or its answer could not be read (client side).
    #[error("Could not reach the server. Check your connection and try again.")]
    Network,
}

impl AppError {
    /// [`AppError::Validation`] with one message on one field.
    pub fn on_field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, FieldError::new(message));
        Self::Validation(errors)
    }

    /// What to tell a person in one line: a validation error's own messages, else the
    /// variant's.
    pub fn explain(&self) -> String {
        match self {
            Self::Validation(fields) if !fields.is_empty() => fields
                .errors
                .values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        }
    }

    /// The HTTP status that goes with each variant: the one mapping, used by the pages' server
    /// functions, the JSON API and the middleware alike.
    #[cfg(feature = "ssr")]
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidCredentials | Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::EmailNotVerified
            | Self::PermissionDenied
            | Self::SecondFactorRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Network => StatusCode::BAD_GATEWAY,
        }
    }

    /// Seconds to wait before trying again, for 429 and 503 answers (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after } => Some(*retry_after),
            Self::Busy => Some(1),
            _ => None,
        }
    }

    /// The field messages, when this is a validation error.
    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Self::Validation(fields) => Some(fields),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Malformed arguments are the client's fault, but their text may hold what was
            // typed: answer with a generic field error rather than echoing it.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                let mut fields = FieldErrors::default();
                fields.add(
                    "form",
                    FieldError::new("The form could not be read. Please try again."),
                );
                Self::Validation(fields)
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => Self::Network,
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    /// The operation and the driver's message go to the log; the client gets 503 (try again)
    /// or 500 (our fault), nothing more.
    impl From<crate::server::db::DbError> for AppError {
        fn from(error: crate::server::db::DbError) -> Self {
            let operation = error.operation;
            if is_transient(&error.source) {
                tracing::warn!(operation, error = %error.source, "database unavailable: answering 503");
                Self::Busy
            } else {
                tracing::error!(operation, error = %error.source, "database error");
                Self::Internal
            }
        }
    }

    /// Failures that pass by themselves: the database is unreachable, restarting, out of
    /// connections, or (SQLite) still locked after the busy timeout. Retrying later can work.
    fn is_transient(error: &sqlx::Error) -> bool {
        use sqlx::Error as E;
        match error {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => true,
            E::Database(db) => db.code().is_some_and(|code| {
                if code.len() == 5 {
                    // A PostgreSQL SQLSTATE: 08 connection exceptions, 57P01-57P03 shutting
                    // down or starting up, 53300 too many connections, 40001/40P01 retryable
                    // conflicts.
                    code.starts_with("08")
                        || matches!(
                            &*code,
                            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                        )
                } else {
                    // A SQLite result code: 5 BUSY and 6 LOCKED, and their extended codes
                    // (which keep the primary code in the low byte).
                    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
                }
            }),
            _ => false,
        }
    }

    impl From<tokio::task::JoinError> for AppError {
        fn from(error: tokio::task::JoinError) -> Self {
            tracing::error!(error = %error, "blocking task failed");
            Self::Internal
        }
    }
}

/// `{"detail": message}` with the variant's status and, for 429 and 503, `Retry-After`.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let mut response = (
            self.status(),
            axum::Json(serde_json::json!({ "detail": self.to_string() })),
        )
            .into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
