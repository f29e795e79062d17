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

use super::{
    RequestAuth,
    headers::{page_policy, policy_nonce},
};
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
    policy_nonce(policy).map(str::to_string)
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

    /// The middleware over a `/login` that counts its renders; the requests carry what the
    /// session middleware would have put in for a visitor without a session.
    #[tokio::test]
    async fn a_guest_page_is_rendered_once_and_a_page_with_a_query_every_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use axum::{Router, middleware::from_fn_with_state, routing::get};
        use tower::Service;

        let renders = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&renders);
        let mut app = Router::new()
            .route(
                "/login",
                get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async {
                        (
                            [(header::CONTENT_SECURITY_POLICY, "script-src 'nonce-abc'")],
                            "<script nonce=\"abc\"></script>",
                        )
                    }
                }),
            )
            .layer(from_fn_with_state(GuestPages::default(), serve));
        let mut nonces = Vec::new();
        for uri in [
            "/login",
            "/login",
            "/login",
            "/login?next=/profile",
            "/login?next=/",
        ] {
            let mut req = Request::get(uri).body(Body::empty()).expect("request");
            req.extensions_mut().insert(RequestAuth::default());
            std::future::poll_fn(|cx| Service::<Request>::poll_ready(&mut app, cx))
                .await
                .expect("ready");
            let response = app.call(req).await.expect("response");
            let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii")
                .to_string();
            let nonce = policy_nonce(&policy).expect("a nonce").to_string();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            assert_eq!(body, format!("<script nonce=\"{nonce}\"></script>"));
            nonces.push(nonce);
        }
        assert_eq!(
            renders.load(Ordering::SeqCst),
            3,
            "one guest render, then one per query"
        );
        assert_ne!(nonces[1], nonces[2], "a fresh nonce per kept answer");
        assert_ne!(nonces[1], "abc");
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
