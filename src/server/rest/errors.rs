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
    /// 429 with `Retry-After`, in DRF's throttling words.
    Throttled(u64),
    /// 503 with `Retry-After`.
    Busy,
    Internal,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(fields) => Self::Fields(fields.errors),
            AppError::InvalidCredentials => Self::NoActiveAccount,
            AppError::Unauthorized => Self::TokenNotValid { expired: false },
            AppError::Throttled { retry_after } => Self::Throttled(retry_after),
            AppError::Busy => Self::Busy,
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
        let (status, body) = match self {
            Self::Fields(fields) => {
                return (StatusCode::BAD_REQUEST, Json(BadRequest::Fields(fields))).into_response();
            }
            Self::BadRequest(text) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(BadRequest::Detail(detail(text, None))),
                )
                    .into_response();
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
            Self::NotFound => (StatusCode::NOT_FOUND, detail("Not found.", None)),
            Self::Throttled(seconds) => {
                return retry_after(
                    seconds,
                    StatusCode::TOO_MANY_REQUESTS,
                    detail(
                        format!("Request was throttled. Expected available in {seconds} seconds."),
                        Some("throttled"),
                    ),
                );
            }
            Self::Busy => {
                return retry_after(
                    1,
                    StatusCode::SERVICE_UNAVAILABLE,
                    detail(AppError::Busy.to_string(), Some("busy")),
                );
            }
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("Something went wrong on our side. Please try again.", None),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        response
    }
}

fn retry_after(seconds: u64, status: StatusCode, body: Detail) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}
