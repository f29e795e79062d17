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

    // Client only (effects do not run on the server): refresh a little before expiry.
    let navigate = use_navigate();
    Effect::new(move |_| {
        let Some(Ok(Some(current))) = user.get() else {
            return;
        };
        let expires_in_ms = current.access_expires_in.max(1) * 1000;
        // Leave a fifth of the lifetime (at most 30 s) as margin.
        let delay_ms = (expires_in_ms - (expires_in_ms / 5).min(30_000)).max(500);
        let navigate = navigate.clone();
        let handle = set_timeout_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    match refresh_session().await {
                        Ok(_) => user.refetch(),
                        Err(AppError::Unauthorized) => {
                            let path = location.pathname.get_untracked();
                            navigate(&login_again(&path), Default::default());
                        }
                        // A network blip: the next request refreshes through the middleware.
                        Err(_) => {}
                    }
                });
            },
            std::time::Duration::from_millis(u64::try_from(delay_ms).unwrap_or(500)),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    children()
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
