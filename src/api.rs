//! Server functions, grouped by feature. Each is a public HTTP endpoint under /fn and
//! authenticates inside itself; none takes the caller's identity as an argument.

pub mod account;
pub mod admin;
pub mod auth;
pub mod devices;
pub mod factors;
pub mod passkeys;
pub mod profile;

#[cfg(feature = "ssr")]
mod support {
    //! What every server function needs from the request: state, identity, cookies, and the
    //! status of its answer.

    use std::future::Future;

    use axum::{extract::FromRequestParts, http::header::SET_COOKIE, http::request::Parts};
    use leptos::prelude::{use_context, with_context};
    use leptos_axum::ResponseOptions;

    use crate::{
        error::AppError,
        server::{
            auth::cookies::{Carried, header_value},
            http::{
                AuthUser, Identity, MaybeAuthUser, RequestAuth, client::ClientAddr,
                identity::issued_cookies,
            },
            services::sessions::Issued,
            state::AppState,
        },
    };

    /// Runs a server function's body with the app's state, then gives a failure its proper
    /// status (400, 401, ...) instead of server_fn's blanket 500. A plain form post (no
    /// JavaScript) keeps the redirect back to its page, which carries the error for the
    /// re-render.
    pub async fn serve<T, F, Fut>(body: F) -> Result<T, AppError>
    where
        F: FnOnce(AppState) -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let result = match state() {
            Ok(state) => body(state).await,
            Err(e) => Err(e),
        };
        if let (Err(error), Some(response), Ok(parts)) =
            (&result, use_context::<ResponseOptions>(), parts())
        {
            if !plain_form(&parts) {
                response.set_status(error.status());
            }
            if let Some(seconds) = error.retry_after() {
                response.insert_header(axum::http::header::RETRY_AFTER, seconds.into());
            }
        }
        result
    }

    /// A failed plain form post (no JavaScript) from a page that sends no `Referer` (one whose
    /// URL holds a link token, under `Referrer-Policy: no-referrer`) goes back to `path` with
    /// `query`, carrying the error as server functions do for the page to show.
    pub fn return_to<T>(
        path: &str,
        query: &[(&str, &str)],
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        use leptos::server_fn::error::ServerFnUrlError;

        if let (Err(error), Ok(parts)) = (&result, parts())
            && plain_form(&parts)
            && !parts.headers.contains_key(axum::http::header::REFERER)
        {
            let mut base =
                url::Url::parse("http://page.invalid/").map_err(|_| AppError::Internal)?;
            base.set_path(path);
            base.query_pairs_mut().extend_pairs(query);
            if let Ok(url) =
                ServerFnUrlError::new(parts.uri.path(), error.clone()).to_url(base.as_str())
            {
                let relative = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                leptos_axum::redirect(&relative);
            }
        }
        result
    }

    fn plain_form(parts: &Parts) -> bool {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the server-function context");
            AppError::Internal
        })
    }

    fn parts() -> Result<Parts, AppError> {
        use_context::<Parts>().ok_or_else(|| {
            tracing::error!("request parts missing from the server-function context");
            AppError::Internal
        })
    }

    /// What the session middleware resolved for this request.
    pub fn request_auth() -> Result<RequestAuth, AppError> {
        with_context::<Parts, _>(|parts| parts.extensions.get::<RequestAuth>().cloned())
            .flatten()
            .ok_or_else(|| {
                tracing::error!("session middleware did not run for a server function");
                AppError::Internal
            })
    }

    /// The signed-in user, if any (the session middleware's verdict, through its extractor).
    pub async fn identity() -> Result<Option<Identity>, AppError> {
        let MaybeAuthUser(identity) = MaybeAuthUser::from_request_parts(&mut parts()?, &()).await?;
        Ok(identity)
    }

    /// The signed-in user, or [`AppError::Unauthorized`].
    pub async fn signed_in() -> Result<Identity, AppError> {
        let AuthUser(identity) = AuthUser::from_request_parts(&mut parts()?, &()).await?;
        Ok(identity)
    }

    /// The client's address (see [`ClientAddr`]).
    pub fn client() -> Result<std::net::IpAddr, AppError> {
        parts()?
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0)
            .ok_or_else(|| {
                tracing::error!("client address middleware did not run for a server function");
                AppError::Internal
            })
    }

    /// The client's address and User-Agent, for the session list and the activity log.
    pub fn client_info() -> Result<crate::server::services::devices::Client, AppError> {
        crate::server::http::client::RequestClient::of(&parts()?)
    }

    /// The refresh cookie the browser sent, if any.
    pub fn refresh_cookie(state: &AppState) -> Result<Option<String>, AppError> {
        Ok(state.cookies.read(&parts()?.headers).1)
    }

    /// A short-lived cookie the browser sent, if any.
    pub fn carried_cookie(state: &AppState, what: Carried) -> Result<Option<String>, AppError> {
        Ok(state.cookies.read_carried(&parts()?.headers, what))
    }

    /// Whether this call is a plain form post (no JavaScript), answered with a redirect.
    pub fn from_plain_form() -> Result<bool, AppError> {
        Ok(plain_form(&parts()?))
    }

    pub fn set_cookies<'a>(
        cookies: impl IntoIterator<Item = &'a axum_extra::extract::cookie::Cookie<'static>>,
    ) {
        if let Some(response) = use_context::<ResponseOptions>() {
            for cookie in cookies {
                if let Some(value) = header_value(cookie) {
                    response.append_header(SET_COOKIE, value);
                }
            }
        }
    }

    pub fn set_issued(state: &AppState, issued: &Issued) {
        set_cookies(&issued_cookies(state, issued));
    }
}
