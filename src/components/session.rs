//! The signed-in user as the UI sees it, and the keeper that refreshes the session shortly
//! before the access token expires.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::{
    api::auth::{refresh_session, session_user},
    domain::CurrentUser,
    error::AppError,
};

/// The current user, reloaded on every navigation so the UI never shows a stale session.
#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
}

/// The session provided by [`SessionProvider`].
///
/// # Panics
/// Outside a [`SessionProvider`]: a programming error, caught by any render of the app.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Where to send someone whose session ended, so they come back here after logging in.
fn login_again(path: &str) -> String {
    format!("/login?next={}&reason=expired", encode_query_value(path))
}

/// Percent-encodes a path for a query value (only what a path can contain needs it).
fn encode_query_value(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Provides [`Session`] and keeps it alive while the page is open.
#[component]
pub fn SessionProvider(children: Children) -> impl IntoView {
    let location = use_location();
    let user = Resource::new(move || location.pathname.get(), |_| session_user());
    provide_context(Session { user });

    // Client only (effects do not run on the server): refresh a little before expiry, one tab
    // at a time; when another tab refreshed, the shared cookies are fresh already.
    super::tabs::listen(move || user.refetch());
    let navigate = use_navigate();
    Effect::new(move |_| {
        let Some(Ok(Some(current))) = user.get() else {
            return;
        };
        let expires_in_ms = current.access_expires_in.max(1) * 1000;
        // Leave a fifth of the lifetime (at most 30 s) as margin.
        let margin_ms = (expires_in_ms / 5).min(30_000);
        let delay_ms = (expires_in_ms - margin_ms).max(500);
        let scheduled_at = super::tabs::now_ms();
        let navigate = navigate.clone();
        let handle = set_timeout_with_handle(
            move || {
                super::tabs::exclusively(keep_alive(user, scheduled_at, move || {
                    let path = location.pathname.get_untracked();
                    navigate(&login_again(&path), Default::default());
                }));
            },
            std::time::Duration::from_millis(u64::try_from(delay_ms).unwrap_or(500)),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    children()
}

/// Refreshes the session, unless another tab did while this one waited its turn. Only a
/// session the server says has ended sends the person to log in; a lost race or a network blip
/// never does.
async fn keep_alive(
    user: Resource<Result<Option<CurrentUser>, AppError>>,
    scheduled_at: f64,
    log_in_again: impl Fn(),
) {
    if super::tabs::heard_refresh_since(scheduled_at) {
        // Another tab refreshed the shared cookies while this one waited: just reschedule.
        user.refetch();
        return;
    }
    match refresh_session().await {
        Ok(_) => {
            super::tabs::announce_refresh();
            user.refetch();
        }
        Err(AppError::Unauthorized) if matches!(session_user().await, Ok(None)) => {
            log_in_again();
        }
        // A network blip, or a race another request won: the next request refreshes through
        // the server's middleware.
        Err(_) => user.refetch(),
    }
}

/// Sends the person to log in again when a server function says the session has ended.
pub fn redirect_when_signed_out<T: Send + Sync + 'static>(
    value: Signal<Option<Result<T, AppError>>>,
) {
    let navigate = use_navigate();
    let location = use_location();
    Effect::new(move |_| {
        if value.with(|v| matches!(v, Some(Err(AppError::Unauthorized)))) {
            navigate(
                &login_again(&location.pathname.get_untracked()),
                Default::default(),
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::login_again;

    #[test]
    fn the_login_link_carries_the_page_to_return_to() {
        assert_eq!(
            login_again("/profile"),
            "/login?next=/profile&reason=expired"
        );
        assert_eq!(
            login_again("/a b&c"),
            "/login?next=/a%20b%26c&reason=expired"
        );
    }
}
