//! Sign-up, log-in, log-out and the session as the browser sees it.

use leptos::prelude::*;

use crate::{domain::CurrentUser, error::AppError};

/// Creates an account and mails a verification link; signs the person in and sends them to
/// /profile, or, when verification is mandatory, to the log-in page saying to verify first.
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn sign_up(email: String, username: String, password: String) -> Result<(), AppError> {
    use super::support::{client, client_info, serve, set_issued};
    use crate::server::{
        auth::tokens::Proof,
        config::EmailVerification,
        services::{accounts, sessions},
    };

    serve(|state| async move {
        let input = accounts::ProfileInput {
            username,
            email,
            ..Default::default()
        };
        let user = accounts::sign_up(&state.services, &input, &password, client()?).await?;
        if state.settings.accounts.email_verification == EmailVerification::Mandatory {
            leptos_axum::redirect("/login?reason=verify");
            return Ok(());
        }
        let issued = sessions::start(
            &state.services,
            &user,
            &Proof::password(crate::server::now()),
            &client_info()?,
        )
        .await?;
        set_issued(&state, &issued);
        leptos_axum::redirect("/profile");
        Ok(())
    })
    .await
}

/// Signs in with email or username, then goes to `next` (same-site paths only) or /profile.
/// For an account with a second factor, goes to the code step instead, the log-in held in a
/// short-lived HttpOnly cookie.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(login: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::support::{client_info, serve, set_cookies, set_issued};
    use crate::{
        domain::{encode_query_value, safe_next_path},
        server::{
            auth::cookies::Carried,
            services::sessions::{self, LogIn},
        },
    };

    serve(|state| async move {
        let next = safe_next_path(next.as_deref());
        match sessions::login(&state.services, &login, &password, &client_info()?).await? {
            LogIn::Done(_, issued) => {
                set_issued(&state, &issued);
                leptos_axum::redirect(&next);
            }
            LogIn::SecondStep(challenge) => {
                set_cookies(&[state.cookies.carry(
                    Carried::Challenge,
                    challenge.token,
                    challenge.expires_in,
                )]);
                leptos_axum::redirect(&format!("/login/code?next={}", encode_query_value(&next)));
            }
        }
        Ok(())
    })
    .await
}

/// The code step of a log-in: a code from the authenticator app, or a recovery code.
#[server(prefix = "/fn", endpoint = "login_code")]
pub async fn login_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::support::{carried_cookie, client_info, serve, set_cookies, set_issued};
    use crate::{
        domain::safe_next_path,
        error::{FieldError, FieldErrors},
        server::{auth::cookies::Carried, services::sessions},
    };

    serve(|state| async move {
        let Some(token) = carried_cookie(&state, Carried::Challenge)? else {
            let mut errors = FieldErrors::default();
            errors.add(
                "mfa_token",
                FieldError::new("This log-in has expired: enter your password again."),
            );
            return Err(AppError::Validation(errors));
        };
        let (_, issued) =
            sessions::finish_login(&state.services, &token, &code, &client_info()?).await?;
        set_cookies(&[state.cookies.drop_carried(Carried::Challenge)]);
        set_issued(&state, &issued);
        leptos_axum::redirect(&safe_next_path(next.as_deref()));
        Ok(())
    })
    .await
}

/// Ends this session on the server and clears the cookies.
#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::support::{identity, serve, set_cookies};
    use crate::server::services::sessions;

    serve(|state| async move {
        if let Some(identity) = identity().await? {
            sessions::logout(&state.services, &identity.session_id).await?;
        }
        set_cookies(&state.cookies.cleared());
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Ends every session of the signed-in user, in every browser and API client, this one
/// included, and clears the cookies here.
#[server(prefix = "/fn", endpoint = "logout_all")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    use super::support::{serve, set_cookies, signed_in};
    use crate::server::services::sessions;

    serve(|state| async move {
        let identity = signed_in().await?;
        sessions::logout_everywhere(&state.services, identity.user.id).await?;
        set_cookies(&state.cookies.cleared());
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The signed-in user, if any.
#[server(prefix = "/fn", endpoint = "me")]
pub async fn session_user() -> Result<Option<CurrentUser>, AppError> {
    use super::support::{identity, serve};

    serve(|_| async { Ok(identity().await?.map(|i| i.current_user())) }).await
}

/// The user the request being rendered carries, as the session middleware found it, without
/// a round trip through a server function; nobody outside a request (the route list is
/// rendered without one).
#[cfg(feature = "ssr")]
pub fn request_user() -> Option<CurrentUser> {
    use crate::server::http::RequestAuth;

    with_context::<axum::http::request::Parts, _>(|parts| {
        let auth = parts.extensions.get::<RequestAuth>()?;
        auth.identity.as_ref().map(|i| i.current_user())
    })
    .flatten()
}

/// Rotates the session before the access token runs out (called by the session keeper).
#[server(prefix = "/fn", endpoint = "refresh")]
pub async fn refresh_session() -> Result<CurrentUser, AppError> {
    use super::support::{client, refresh_cookie, request_auth, serve, set_issued};
    use crate::server::{http::Identity, services::sessions};

    serve(|state| async move {
        let auth = request_auth()?;
        if auth.refreshed {
            // The middleware already rotated the session for this very request.
            return auth
                .identity
                .map(|i| i.current_user())
                .ok_or(AppError::Unauthorized);
        }
        let refresh = refresh_cookie(&state)?.ok_or(AppError::Unauthorized)?;
        let (user, issued) = sessions::refresh(&state.services, &refresh, client()?).await?;
        set_issued(&state, &issued);
        Ok(Identity::new(user, &issued.access.claims).current_user())
    })
    .await
}
