//! The pages every visitor who is not signed in sees alike (home, log-in, sign-up, password
//! reset request), rendered once and then answered from memory.
//!
//! Such a page depends on its path and query alone, and differs between two answers only in
//! the Content-Security-Policy nonce on its scripts. The first plain `GET` of one (no query,
//! nobody signed in) is rendered as usual; its HTML is kept cut at each place the nonce
//! appears, and every later answer joins the pieces with a fresh nonce and carries the policy
//! for it. A render that set a cookie, answered anything but 200 or carries no nonce is not
//! kept. Leptos's render was 90% of such a page's instructions (bench/README.md).

use std::sync::{Arc, OnceLock};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;

use super::{RequestAuth, headers::page_policy};
use crate::error::AppError;

/// The paths whose guest page is kept.
const PATHS: [&str; 4] = ["/", "/login", "/signup", "/forgot-password"];

/// Larger than any page here; a render past it is answered but not kept.
const MAX_KEPT_BYTES: usize = 1024 * 1024;

/// The kept pages of one server, one slot per path of [`PATHS`].
#[derive(Clone, Default)]
pub struct GuestPages(Arc<[OnceLock<Kept>; PATHS.len()]>);

/// One page: its headers but the policy, and its HTML cut at the nonce.
struct Kept {
    headers: HeaderMap,
    pieces: Vec<Bytes>,
}

impl GuestPages {
    /// The slot for a request that can be answered from it.
    fn slot(&self, req: &Request) -> Option<&OnceLock<Kept>> {
        if req.method() != Method::GET || req.uri().query().is_some() {
            return None;
        }
        let signed_in = req
            .extensions()
            .get::<RequestAuth>()
            .is_none_or(|auth| auth.identity.is_some());
        if signed_in {
            return None;
        }
        let index = PATHS.iter().position(|path| *path == req.uri().path())?;
        Some(&self.0[index])
    }
}

impl Kept {
    /// Cuts a rendered page at `nonce`; `None` for a page that cannot be kept.
    fn cut(headers: &HeaderMap, html: &Bytes, nonce: &str) -> Option<Self> {
        let text = std::str::from_utf8(html).ok()?;
        if nonce.is_empty() || !text.contains(nonce) {
            return None;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        for (at, _) in text.match_indices(nonce) {
            pieces.push(html.slice(start..at));
            start = at + nonce.len();
        }
        pieces.push(html.slice(start..));
        let mut headers = headers.clone();
        for name in [header::CONTENT_SECURITY_POLICY, header::CONTENT_LENGTH] {
            headers.remove(name);
        }
        Some(Self { headers, pieces })
    }

    /// The page with `nonce` in its scripts and policy.
    fn with_nonce(&self, nonce: &str) -> Response {
        let html = self.pieces.join(nonce.as_bytes());
        let mut response = (StatusCode::OK, Body::from(html)).into_response();
        *response.headers_mut() = self.headers.clone();
        if let Ok(policy) = HeaderValue::from_str(&page_policy(nonce)) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        response
    }
}

/// The middleware. See the module doc.
pub async fn serve(State(pages): State<GuestPages>, req: Request, next: Next) -> Response {
    let Some(slot) = pages.slot(&req) else {
        return next.run(req).await;
    };
    if let Some(kept) = slot.get() {
        return kept.with_nonce(&Nonce::new());
    }
    let response = next.run(req).await;
    let Some(nonce) = keepable(&response) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let Ok(html) = axum::body::to_bytes(body, MAX_KEPT_BYTES).await else {
        tracing::error!("a guest page could not be read for keeping");
        return AppError::Internal.into_response();
    };
    if let Some(kept) = Kept::cut(&parts.headers, &html, &nonce) {
        let _ = slot.set(kept);
    }
    Response::from_parts(parts, Body::from(html))
}

/// The nonce of a rendered page that may be kept: 200, no cookie set, a page policy.
fn keepable(response: &Response) -> Option<String> {
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return None;
    }
    let policy = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let nonce = policy.split("'nonce-").nth(1)?.split('\'').next()?;
    Some(nonce.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Option<Kept> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'nonce-abc'"),
        );
        Kept::cut(&headers, &Bytes::from(html.to_string()), "abc")
    }

    #[tokio::test]
    async fn every_place_the_nonce_was_gets_the_new_one() {
        let kept = page("<script nonce=\"abc\">1</script><p>x</p><script nonce=\"abc\">2</script>")
            .expect("kept");
        let response = kept.with_nonce("XYZ");
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(policy.contains("'nonce-XYZ'"), "{policy}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(
            body,
            "<script nonce=\"XYZ\">1</script><p>x</p><script nonce=\"XYZ\">2</script>"
        );
    }

    #[test]
    fn a_page_without_its_nonce_is_not_kept() {
        assert!(page("<p>no scripts</p>").is_none());
    }

    #[test]
    fn only_a_plain_page_with_a_policy_nonce_is_keepable() {
        let with = |status: StatusCode, policy: &'static str, cookie: bool| {
            let mut response = status.into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(policy),
            );
            if cookie {
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
            }
            keepable(&response)
        };
        let policy = "default-src 'self'; script-src 'nonce-n0nce' 'strict-dynamic'";
        assert_eq!(
            with(StatusCode::OK, policy, false).as_deref(),
            Some("n0nce")
        );
        assert_eq!(with(StatusCode::OK, policy, true), None);
        assert_eq!(with(StatusCode::NOT_FOUND, policy, false), None);
        assert_eq!(with(StatusCode::OK, "default-src 'none'", false), None);
    }
}
