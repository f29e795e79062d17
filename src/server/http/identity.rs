//! Resolves who is asking once per request, before Leptos renders anything: checks the access
//! cookie, refreshes an expired one (so cookies are set before streaming starts), guards the
//! protected and guest-only pages, and marks authenticated responses `no-store`.

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderValue, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::Cookie;

use super::client::ClientAddr;
use crate::{
    domain::{CurrentUser, login_url, safe_next_path},
    error::AppError,
    server::{
        auth::{
            cookies::header_value,
            tokens::{Claims, Proof},
        },
        db::users::User,
        now_ms,
        services::sessions::{self, Access, Issued},
        state::AppState,
    },
};

/// Pages only a signed-in person may see.
const PROTECTED: &[&str] = &["/profile", "/sessions", "/activity"];
/// Pages a signed-in person is sent away from.
const GUEST_ONLY: &[&str] = &["/login", "/signup"];

/// The signed-in user of this request and their session (never a password hash).
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub session_id: String,
    pub access_expires_at: i64,
    /// How the session was authenticated (the token's `amr` and `auth_time`).
    pub proof: Proof,
}

impl Identity {
    /// The user behind a verified access token, in the session that token names.
    pub fn new(user: User, access: &Claims) -> Self {
        Self {
            user,
            session_id: access.sid.clone(),
            access_expires_at: access.exp,
            proof: access.proof(),
        }
    }

    pub fn current_user(&self) -> CurrentUser {
        CurrentUser {
            user: self.user.view(),
            access_expires_in_ms: (self.access_expires_at.saturating_mul(1000) - now_ms()).max(0),
        }
    }
}

/// What [`authenticate_request`] found, put in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct RequestAuth {
    pub identity: Option<Identity>,
    /// Cookies came but no longer work (refresh token expired or revoked).
    pub ended: bool,
    /// This request already rotated the refresh token.
    pub refreshed: bool,
}

/// The middleware. See the module doc.
pub async fn authenticate_request(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_asset_or_probe(req.uri().path()) {
        return next.run(req).await;
    }
    let (access, refresh) = state.cookies.read(req.headers());
    let had_cookies = access.is_some() || refresh.is_some();
    let had_credentials = had_cookies || req.headers().contains_key(header::AUTHORIZATION);
    let mut session = RequestAuth::default();
    let mut set_cookies: Vec<Cookie<'static>> = Vec::new();

    if let Some(access) = access {
        match sessions::authenticate(&state.services, &access).await {
            Ok(Access::Valid(user, claims)) => {
                session.identity = Some(Identity::new(*user, &claims));
            }
            Ok(Access::Expired | Access::Invalid) => {}
            Err(e) => return e.into_response(),
        }
    }
    if session.identity.is_none() && had_cookies {
        match refresh {
            Some(refresh) => match sessions::refresh(&state.services, &refresh, client(&req)).await
            {
                Ok((user, issued)) => {
                    session.identity = Some(Identity::new(user, &issued.access.claims));
                    session.refreshed = true;
                    set_cookies = issued_cookies(&state, &issued).to_vec();
                }
                Err(AppError::Unauthorized) => session.ended = true,
                Err(e) => return e.into_response(),
            },
            None => session.ended = true,
        }
        if session.ended {
            set_cookies = state.cookies.cleared().to_vec();
        }
    }

    let mut response = match guard(req.method(), req.uri(), &session) {
        Some(redirect) => redirect.into_response(),
        None => {
            req.extensions_mut().insert(session.clone());
            next.run(req).await
        }
    };
    // A handler that set the session cookies itself (log-in, log-out) has the last word.
    if !state.cookies.set_by(response.headers()) {
        for cookie in &set_cookies {
            if let Some(value) = header_value(cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
    }
    // Whatever answers a request with credentials (an identity only ever comes from them), or
    // hands some out, is for this person only.
    if had_credentials || response.headers().contains_key(header::SET_COOKIE) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn client(req: &Request) -> std::net::IpAddr {
    req.extensions()
        .get::<ClientAddr>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
            c.0
        })
}

/// Requests that never need an identity, so never trigger a refresh of their own.
fn is_asset_or_probe(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.ico" | "/healthz" | "/readyz")
}

/// The cookies carrying freshly issued tokens.
pub fn issued_cookies(state: &AppState, issued: &Issued) -> [Cookie<'static>; 2] {
    [
        state
            .cookies
            .token_cookie(state.cookies.access_name(), &issued.access),
        state
            .cookies
            .token_cookie(state.cookies.refresh_name(), &issued.refresh),
    ]
}

fn guard(method: &Method, uri: &axum::http::Uri, session: &RequestAuth) -> Option<Redirect> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let path = uri.path();
    // The path itself or anything beneath it, without building a string per request.
    let under = |list: &[&str]| {
        list.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    };
    if under(PROTECTED) && session.identity.is_none() {
        let target = uri.path_and_query().map_or(path, |pq| pq.as_str());
        return Some(Redirect::to(&login_url(target, session.ended)));
    }
    if under(GUEST_ONLY) && session.identity.is_some() {
        let next = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned());
        return Some(Redirect::to(&safe_next_path(next.as_deref())));
    }
    None
}

/// A signed-in user, or 401.
pub struct AuthUser(pub Identity);

/// The signed-in user if any.
pub struct MaybeAuthUser(pub Option<Identity>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<RequestAuth>().ok_or_else(|| {
            tracing::error!("session middleware missing on an authenticated route");
            AppError::Internal
        })?;
        Ok(Self(session.identity.clone()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let MaybeAuthUser(identity) = MaybeAuthUser::from_request_parts(parts, state).await?;
        identity.map(Self).ok_or(AppError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, Uri};

    use super::{GUEST_ONLY, PROTECTED, RequestAuth, guard};
    use crate::server::startup::route_list;

    /// A protected page and what lies beneath it send a visitor to log in; a path that merely
    /// starts with the same letters does not.
    #[test]
    fn the_guard_covers_a_page_and_its_subpaths_only() {
        let redirected = |path: &'static str| {
            guard(
                &Method::GET,
                &Uri::from_static(path),
                &RequestAuth::default(),
            )
            .is_some()
        };
        assert!(redirected("/profile"));
        assert!(redirected("/sessions/abc"));
        assert!(!redirected("/profiles"));
        assert!(!redirected("/activityx"));
        assert!(!redirected("/login"));
        assert!(
            guard(
                &Method::POST,
                &Uri::from_static("/profile"),
                &RequestAuth::default()
            )
            .is_none()
        );
    }

    /// The guard lists name pages the router serves: a renamed route cannot leave a page
    /// unguarded without this failing.
    #[tokio::test]
    async fn every_guarded_path_is_a_route() {
        let routes: Vec<String> = route_list().iter().map(|r| r.path().to_string()).collect();
        for path in PROTECTED.iter().chain(GUEST_ONLY) {
            assert!(
                routes.iter().any(|r| r == path),
                "{path} is not among the routes {routes:?}"
            );
        }
    }
}
