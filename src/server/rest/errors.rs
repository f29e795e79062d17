//! Every API error as JSON with a stable shape, in Simple JWT's words where it has them.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

#[derive(Debug)]
pub enum ApiError {
    /// 400 `{"field": ["message", ...]}`, as DRF serializers answer.
    Fields(BTreeMap<String, Vec<String>>),
    /// 401 for a failed token request.
    NoActiveAccount,
    /// 401: no credentials were sent.
    NotAuthenticated,
    /// 401: a token was sent but is not good; `expired` tells why.
    TokenNotValid {
        expired: bool,
    },
    NotFound,
    /// 405 for a path that exists with other methods (axum adds `Allow`).
    MethodNotAllowed(axum::http::Method),
    /// 401 for a right password of an account with a second factor: the code step finishes
    /// the log-in with this `mfa_token`.
    MfaRequired {
        mfa_token: String,
        expires_in: i64,
    },
    /// 429 with `Retry-After`, in DRF's throttling words.
    Throttled(u64),
    /// Anything else, answered as [`AppError`] answers everywhere: its status, `Retry-After`
    /// for 503, and `{"detail"}` (with `"code": "busy"` for 503).
    App(AppError),
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(fields) => Self::Fields(fields.errors),
            AppError::InvalidCredentials => Self::NoActiveAccount,
            AppError::Unauthorized => Self::TokenNotValid { expired: false },
            AppError::Throttled { retry_after } => Self::Throttled(retry_after),
            AppError::NotFound => Self::NotFound,
            other => Self::App(other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::App(AppError::BadRequest(match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "Send the body as JSON with Content-Type: application/json.".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.".to_string(),
            JsonRejection::JsonDataError(e) => {
                format!("The JSON has the wrong shape: {}", e.body_text())
            }
            _ => "The request body could not be read.".to_string(),
        }))
    }
}

/// 400: DRF's field errors, or a `detail` for a body that is not the JSON expected.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BadRequest {
    Fields(BTreeMap<String, Vec<String>>),
    Detail(Detail),
}

/// `{"detail", "code"?, "messages"?}`: every API error but a field error.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<TokenMessage>,
}

/// 401 of a log-in: `{"detail", "code": "no_active_account"}` for failed credentials, or
/// `{"detail", "code": "mfa_required", "mfa_token", "expires_in"}` for a right password of an
/// account with a second factor (send a code with the token to `POST /api/token/mfa`).
#[derive(Serialize, ToSchema)]
pub struct LogInRefused {
    detail: &'static str,
    code: &'static str,
    /// With `mfa_required`: single use, for the code step only (never a Bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<String>,
    /// With `mfa_required`: seconds the token works.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<i64>,
}

/// Why a token was not accepted: `code` is `token_expired` or `token_invalid`.
#[derive(Serialize, ToSchema)]
pub struct TokenMessage {
    message: &'static str,
    code: &'static str,
}

fn detail(detail: impl Into<String>, code: Option<&'static str>) -> Detail {
    Detail {
        detail: detail.into(),
        code,
        messages: Vec::new(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::Throttled(seconds) => Some(*seconds),
            _ => None,
        };
        let (status, body) = match self {
            Self::Fields(fields) => {
                return (StatusCode::BAD_REQUEST, Json(BadRequest::Fields(fields))).into_response();
            }
            Self::NoActiveAccount => (
                StatusCode::UNAUTHORIZED,
                detail(
                    "No active account found with the given credentials",
                    Some("no_active_account"),
                ),
            ),
            Self::NotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                detail(
                    "Authentication credentials were not provided.",
                    Some("not_authenticated"),
                ),
            ),
            // Simple JWT's top-level code, which clients test to decide to refresh; the
            // message's own code says whether the token expired or is invalid.
            Self::TokenNotValid { expired } => (
                StatusCode::UNAUTHORIZED,
                Detail {
                    detail: "Given token not valid for any token type".into(),
                    code: Some("token_not_valid"),
                    messages: vec![if expired {
                        TokenMessage {
                            message: "Token is expired",
                            code: "token_expired",
                        }
                    } else {
                        TokenMessage {
                            message: "Token is invalid",
                            code: "token_invalid",
                        }
                    }],
                },
            ),
            Self::MfaRequired {
                mfa_token,
                expires_in,
            } => {
                let body = LogInRefused {
                    detail: "Enter a code from your authenticator app (or a recovery code) to finish logging in.",
                    code: "mfa_required",
                    mfa_token: Some(mfa_token),
                    expires_in: Some(expires_in),
                };
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\""),
                );
                return response;
            }
            Self::NotFound => (StatusCode::NOT_FOUND, detail("Not found.", None)),
            Self::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail(format!("Method \"{method}\" not allowed."), None),
            ),
            Self::Throttled(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                detail(
                    format!("Request was throttled. Expected available in {seconds} seconds."),
                    Some("throttled"),
                ),
            ),
            Self::App(error) => {
                let code = matches!(error, AppError::Busy).then_some("busy");
                let body = detail(error.to_string(), code);
                let mut response = if matches!(error, AppError::BadRequest(_)) {
                    (error.status(), Json(BadRequest::Detail(body))).into_response()
                } else {
                    (error.status(), Json(body)).into_response()
                };
                if let Some(seconds) = error.retry_after() {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                return response;
            }
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
