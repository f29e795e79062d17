//! The signed-in user as the UI sees it, and the keeper that refreshes the session shortly
//! before the access token expires.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::{
    api::auth::{refresh_session, session_user},
    domain::{CurrentUser, login_url},
    error::AppError,
};

/// The current user. The first page's comes with the page: read from the request on the
/// server and from the hydration data in the browser, so rendering it waits for nothing. It is
/// reloaded on every later navigation so the UI never shows a stale session; refreshing the
/// session does not reload it, so a page's forms stay as the person left them.
#[derive(Clone, Copy)]
pub struct Session {
    /// The user as last loaded, with the visit (see [`SessionProvider`]) it was loaded for.
    loaded: RwSignal<(u64, Result<Option<CurrentUser>, AppError>)>,
    /// The user for the page shown; `None` while it reloads after a navigation.
    current: Memo<Option<Result<Option<CurrentUser>, AppError>>>,
}

impl Session {
    /// The user for the page shown, or `None` while it reloads after a navigation.
    pub fn user(&self) -> Option<Result<Option<CurrentUser>, AppError>> {
        self.current.get()
    }

    /// The user as last known, kept while a navigation reloads it (the site header stays as
    /// it is rather than flickering).
    pub fn last_known(&self) -> Option<CurrentUser> {
        self.loaded.with(|(_, user)| user.clone().ok().flatten())
    }
}

/// The session provided by [`SessionProvider`].
///
/// # Panics
/// Outside a [`SessionProvider`]: a programming error, caught by any render of the app.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The user the request that renders this page carries (the session middleware's verdict);
/// outside a request, nobody.
fn first_page_user() -> Option<CurrentUser> {
    #[cfg(feature = "ssr")]
    return crate::api::auth::request_user();
    #[cfg(not(feature = "ssr"))]
    None
}

/// Provides [`Session`] and keeps it alive while the page is open.
#[component]
pub fn SessionProvider(children: Children) -> impl IntoView {
    let location = use_location();
    let pathname = location.pathname;
    // The user alone travels in the hydration data: the browser knows the path, and a page
    // must not differ by it (the admin site's 404 is byte for byte an unknown page's).
    let user = SharedValue::new(first_page_user).into_inner();
    // Visits are counted, not told apart by path: after log-out, Back returns to the very
    // path the signed-in user was loaded for, and must not find it loaded. The path is read,
    // not only tracked: a memo nobody reads is never computed, so it would hear of no
    // navigation.
    let visit = Memo::new(move |previous: Option<&u64>| {
        pathname.with(|_| ());
        previous.map_or(0, |visit| visit + 1)
    });
    let loaded = RwSignal::new((0, Ok(user)));
    let current = Memo::new(move |_| {
        let shown = visit.get();
        loaded.with(|(at, user)| (*at == shown).then(|| user.clone()))
    });
    provide_context(Session { loaded, current });
    // Client only (effects do not run on the server): reload on each navigation; an answer for
    // a page already left is dropped.
    Effect::new(move |_| {
        let this_visit = visit.get();
        if loaded.with_untracked(|(at, _)| *at == this_visit) {
            return;
        }
        leptos::task::spawn_local(async move {
            let user = session_user().await;
            if visit.get_untracked() == this_visit {
                loaded.set((this_visit, user));
            }
        });
    });

    // Client only: refresh a little before expiry, one tab at a time; when another tab
    // refreshed, the shared cookies are fresh already. The keeper schedules from its own
    // signal, milliseconds until the access token expires, so that what it learns from a
    // refresh never makes the page re-render.
    let expires_in = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        if let (_, Ok(current)) = &*loaded.read() {
            expires_in.set(current.as_ref().map(|c| c.access_expires_in_ms));
        }
    });
    super::tabs::listen(move || leptos::task::spawn_local(recheck(expires_in)));
    let navigate = use_navigate();
    Effect::new(move |_| {
        let Some(expires_in_ms) = expires_in.get() else {
            return;
        };
        // Leave a fifth of the lifetime (at most 30 s) as margin.
        let margin_ms = (expires_in_ms / 5).min(30_000);
        let delay_ms = (expires_in_ms - margin_ms).max(500);
        let scheduled_at = super::tabs::now_ms();
        let navigate = navigate.clone();
        let handle = set_timeout_with_handle(
            move || {
                super::tabs::exclusively(keep_alive(scheduled_at, expires_in, move || {
                    let path = location.pathname.get_untracked();
                    navigate(&login_url(&path, true), Default::default());
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

/// Asks the server how long the current access token has left, and reschedules.
async fn recheck(expires_in: RwSignal<Option<i64>>) {
    if let Ok(current) = session_user().await {
        expires_in.set(current.map(|c| c.access_expires_in_ms));
    }
}

/// Refreshes the session, unless another tab did while this one waited its turn. Only a
/// session the server says has ended sends the person to log in; a lost race or a network blip
/// never does.
async fn keep_alive(scheduled_at: f64, expires_in: RwSignal<Option<i64>>, log_in_again: impl Fn()) {
    if super::tabs::heard_refresh_since(scheduled_at) {
        // Another tab refreshed the shared cookies while this one waited: just reschedule.
        recheck(expires_in).await;
        return;
    }
    match refresh_session().await {
        Ok(current) => {
            super::tabs::announce_refresh();
            expires_in.set(Some(current.access_expires_in_ms));
        }
        Err(AppError::Unauthorized) if matches!(session_user().await, Ok(None)) => {
            log_in_again();
        }
        // A network blip, or a race another request won: the next request refreshes through
        // the server's middleware.
        Err(_) => recheck(expires_in).await,
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
                &login_url(&location.pathname.get_untracked(), true),
                Default::default(),
            );
        }
    });
}
