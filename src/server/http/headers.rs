//! Security headers on every response, and the per-page Content-Security-Policy.
//!
//! Pages get a CSP whose `script-src` allows only scripts carrying this response's nonce (which
//! Leptos puts on its hydration and resource scripts) and what they load (`'strict-dynamic'`),
//! plus WebAssembly compilation; no inline script without the nonce, no framing. Any other
//! response gets a deny-everything policy.

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::server::state::AppState;

/// The policy for an HTML page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The nonce a page policy allows scripts by, if it names one.
pub fn policy_nonce(policy: &str) -> Option<&str> {
    policy.split("'nonce-").nth(1)?.split('\'').next()
}

/// Sets the page policy on the response being rendered (called while rendering the app).
pub fn set_page_policy() {
    use leptos::prelude::use_context;
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = HeaderValue::from_str(&page_policy(&nonce.to_string()))
    {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// For a page whose URL holds a link token (a password reset): no `Referer` leaves it, not
/// even to this site, and no cache keeps it.
pub fn set_private_link_page() {
    use leptos::prelude::use_context;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

const FALLBACK_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn add(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, FALLBACK_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // same-origin keeps the Referer that forms without JavaScript rely on, and sends none
    // to other sites.
    set(headers, header::REFERRER_POLICY, "same-origin");
    if state.settings.site.cookie_secure {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    response
}
