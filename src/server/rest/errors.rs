//! Every API error as JSON with a stable shape, in Simple JWT's words where it has them.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::error::AppError;

#[derive(Debug)]
pub enum ApiError {
    /// 400 `{"field": ["message", ...]}`, as DRF serializers answer.
    Fields(std::collections::BTreeMap<String, Vec<String>>),
    /// 400 `{"detail": ...}` for a body that is not the JSON expected.
    BadRequest(String),
    /// 401 for a failed token request.
    NoActiveAccount,
    /// 401: no credentials were sent.
    NotAuthenticated,
    /// 401: a token was sent but is not good; `expired` tells why.
    TokenNotValid {
        expired: bool,
    },
    NotFound,
    Internal,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(fields) => Self::Fields(fields.errors),
            AppError::InvalidCredentials => Self::NoActiveAccount,
            AppError::Unauthorized => Self::TokenNotValid { expired: false },
            AppError::Forbidden | AppError::Internal | AppError::Network => Self::Internal,
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::BadRequest(match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send the body as JSON with Content-Type: application/json.".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.".to_string(),
            JsonRejection::JsonDataError(e) => {
                format!("The JSON has the wrong shape: {}", e.body_text())
            }
            _ => "The request body could not be read.".to_string(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Fields(fields) => (StatusCode::BAD_REQUEST, json!(fields)),
            Self::BadRequest(detail) => (StatusCode::BAD_REQUEST, json!({ "detail": detail })),
            Self::NoActiveAccount => (
                StatusCode::UNAUTHORIZED,
                json!({ "detail": "No active account found with the given credentials", "code": "no_active_account" }),
            ),
            Self::NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                json!({ "detail": "Authentication credentials were not provided.", "code": "not_authenticated" }),
            ),
            Self::TokenNotValid { expired } => (
                StatusCode::UNAUTHORIZED,
                // Simple JWT's top-level code, which clients test to decide to refresh; the
                // message's own code says whether the token expired or is invalid.
                json!({
                    "detail": "Given token not valid for any token type",
                    "code": "token_not_valid",
                    "messages": [{
                        "message": if expired { "Token is expired" } else { "Token is invalid" },
                        "code": if expired { "token_expired" } else { "token_invalid" },
                    }],
                }),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, json!({ "detail": "Not found." })),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "detail": "Something went wrong on our side. Please try again." }),
            ),
        };
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let mut response = (status, Json(body)).into_response();
        if unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        response
    }
}
