//! Sign-up, log-in, log-out and the session as the browser sees it.

use leptos::prelude::*;

use crate::{domain::CurrentUser, error::AppError};

/// Creates an account, signs the person in and sends them to /profile.
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn signup(email: String, username: String, password: String) -> Result<(), AppError> {
    use super::support::{client, set_issued, state, with_status};
    use crate::server::services::{accounts, sessions};

    with_status(
        async {
            let state = state()?;
            let input = accounts::ProfileInput {
                username,
                email,
                ..Default::default()
            };
            let user = accounts::register(&state, &input, &password, client()?).await?;
            let issued = sessions::start(&state, user.id).await?;
            set_issued(&state, &issued);
            leptos_axum::redirect("/profile");
            Ok(())
        }
        .await,
    )
}

/// Signs in with email or username, then goes to `next` (same-site paths only) or /profile.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(login: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::support::{client, set_issued, state, with_status};
    use crate::{domain::safe_next_path, server::services::sessions};

    with_status(
        async {
            let state = state()?;
            let (_, issued) = sessions::login(&state, &login, &password, client()?).await?;
            set_issued(&state, &issued);
            leptos_axum::redirect(&safe_next_path(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Ends this session on the server and clears the cookies.
#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::support::{identity, set_cookies, state, with_status};
    use crate::server::services::sessions;

    with_status(
        async {
            let state = state()?;
            if let Some(identity) = identity().await? {
                sessions::logout(&state, &identity.session_id).await?;
            }
            set_cookies(&state.cookies.cleared());
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

/// Ends every session of the signed-in user, in every browser and API client, this one
/// included, and clears the cookies here.
#[server(prefix = "/fn", endpoint = "logout_all")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    use super::support::{set_cookies, signed_in, state, with_status};
    use crate::server::services::sessions;

    with_status(
        async {
            let state = state()?;
            let identity = signed_in().await?;
            sessions::logout_everywhere(&state, identity.user.id).await?;
            set_cookies(&state.cookies.cleared());
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

/// The signed-in user, if any.
#[server(prefix = "/fn", endpoint = "me")]
pub async fn session_user() -> Result<Option<CurrentUser>, AppError> {
    use super::support::{identity, with_status};

    with_status(identity().await.map(|i| i.map(|i| i.current_user())))
}

/// Rotates the session before the access token runs out (called by the session keeper).
#[server(prefix = "/fn", endpoint = "refresh")]
pub async fn refresh_session() -> Result<CurrentUser, AppError> {
    use super::support::{client, refresh_cookie, session, set_issued, state, with_status};
    use crate::server::{auth::Identity, services::sessions};

    with_status(
        async {
            let state = state()?;
            let session = session()?;
            if session.refreshed {
                // The middleware already rotated the session for this very request.
                return session
                    .identity
                    .map(|i| i.current_user())
                    .ok_or(AppError::Unauthorized);
            }
            let refresh = refresh_cookie(&state)?.ok_or(AppError::Unauthorized)?;
            let (user, issued) = sessions::refresh(&state, &refresh, client()?).await?;
            set_issued(&state, &issued);
            Ok(Identity::new(user, &issued.access.claims).current_user())
        }
        .await,
    )
}
