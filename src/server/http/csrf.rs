//! Cross-site request refusal. Leptos server functions accept form posts, which a browser
//! sends cross-site without a preflight; so every state-changing request must come from an
//! allowed origin, judged by `Origin` (or, failing that, `Referer`). A request carrying neither
//! is allowed only without session cookies: that is a non-browser client, which cannot ride on a
//! victim's cookies. An opaque `Origin: null` is refused, except when the browser itself says
//! the request is same-origin (`Sec-Fetch-Site`, which no page can set): a form on a page
//! under `Referrer-Policy: no-referrer` (the password-reset page) is posted with `Origin: null`.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{error::AppError, server::state::AppState};

pub async fn require_same_origin(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let allowed = match source_origin(req.headers()) {
        Some(origin) if origin == "null" => browser_says_same_origin(req.headers()),
        Some(origin) => state.settings.site.allowed_origins.contains(&origin),
        None => !state.cookies.present(req.headers()),
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(method = %req.method(), path = req.uri().path(), "cross-site request refused");
        AppError::Forbidden.into_response()
    }
}

fn browser_says_same_origin(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin")
}

/// The origin a request says it came from: `Origin`, else the origin of `Referer`.
/// An opaque `Origin: null` counts as present and matches nothing.
fn source_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return Some(origin.to_str().unwrap_or("null").to_string());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    Some(
        url::Url::parse(referer)
            .map_or_else(|_| "null".to_string(), |u| u.origin().ascii_serialization()),
    )
}
