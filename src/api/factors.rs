//! The profile's second factors: an authenticator app and its recovery codes.

use leptos::prelude::*;

use crate::{
    domain::{Enrolment, FactorOverview},
    error::AppError,
};

/// How long new recovery codes wait in their cookie for the page to show them, in seconds.
#[cfg(feature = "ssr")]
const CODES_SHOWN_WITHIN: i64 = 300;

/// Which factors are on, an enrolment waiting for its code, and recovery codes just made
/// (once: reading them drops their cookie).
#[server(prefix = "/fn", endpoint = "factors")]
pub async fn second_factors() -> Result<FactorOverview, AppError> {
    use super::support::{carried_cookie, serve, set_cookies, signed_in};
    use crate::server::{auth::cookies::Carried, services::factors};

    serve(|state| async move {
        let identity = signed_in().await?;
        let fresh_codes = match carried_cookie(&state, Carried::RecoveryCodes)? {
            Some(sealed) => {
                set_cookies(&[state.cookies.drop_carried(Carried::RecoveryCodes)]);
                state
                    .services
                    .sealer
                    .open(&codes_context(&identity.session_id), &sealed)
                    .ok()
                    .and_then(|plain| String::from_utf8(plain).ok())
                    .map(|codes| codes.split(' ').map(str::to_string).collect())
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        Ok(FactorOverview {
            status: factors::status(&state.services, identity.user.id).await?,
            pending: factors::pending_app(&state.services, &identity.user).await?,
            fresh_codes,
        })
    })
    .await
}

/// Starts setting up an authenticator app (the password asked again unless entered within
/// the last few minutes).
#[server(prefix = "/fn", endpoint = "start_authenticator")]
pub async fn start_authenticator(password: String) -> Result<Enrolment, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::factors;

    serve(|state| async move {
        let identity = signed_in().await?;
        factors::start_app(
            &state.services,
            &identity.user,
            &identity.session_id,
            &password,
        )
        .await
    })
    .await
}

/// Turns the app on with its first code; answers the recovery codes.
#[server(prefix = "/fn", endpoint = "confirm_authenticator")]
pub async fn confirm_authenticator(code: String) -> Result<Vec<String>, AppError> {
    use super::support::{client_info, serve, signed_in};
    use crate::server::services::factors;

    serve(|state| async move {
        let identity = signed_in().await?;
        let codes =
            factors::confirm_app(&state.services, &identity.user, &code, &client_info()?).await?;
        carry_codes(&state, &identity.session_id, &codes)?;
        Ok(codes)
    })
    .await
}

/// Turns the app off: the password and a current code (or a recovery code).
#[server(prefix = "/fn", endpoint = "remove_authenticator")]
pub async fn remove_authenticator(password: String, code: String) -> Result<(), AppError> {
    use super::support::{client_info, serve, signed_in};
    use crate::server::services::factors;

    serve(|state| async move {
        let identity = signed_in().await?;
        factors::remove_app(
            &state.services,
            &identity.user,
            &identity.session_id,
            &password,
            &code,
            &client_info()?,
        )
        .await
    })
    .await
}

/// New recovery codes; the old ones stop working.
#[server(prefix = "/fn", endpoint = "renew_recovery_codes")]
pub async fn renew_recovery_codes(password: String) -> Result<Vec<String>, AppError> {
    use super::support::{client_info, serve, signed_in};
    use crate::server::services::factors;

    serve(|state| async move {
        let identity = signed_in().await?;
        let codes = factors::regenerate_recovery_codes(
            &state.services,
            &identity.user,
            &identity.session_id,
            &password,
            &client_info()?,
        )
        .await?;
        carry_codes(&state, &identity.session_id, &codes)?;
        Ok(codes)
    })
    .await
}

/// Without JavaScript the form's answer is a redirect back to the page, so the codes go there
/// in a short-lived cookie, sealed for this session.
#[cfg(feature = "ssr")]
fn carry_codes(
    state: &crate::server::state::AppState,
    session_id: &str,
    codes: &[String],
) -> Result<(), AppError> {
    use super::support::{from_plain_form, set_cookies};
    use crate::server::auth::cookies::Carried;

    if !from_plain_form()? {
        return Ok(());
    }
    let sealed = state
        .services
        .sealer
        .seal(&codes_context(session_id), codes.join(" ").as_bytes())
        .map_err(|_| AppError::Internal)?;
    set_cookies(&[state
        .cookies
        .carry(Carried::RecoveryCodes, sealed, CODES_SHOWN_WITHIN)]);
    Ok(())
}

#[cfg(feature = "ssr")]
fn codes_context(session_id: &str) -> Vec<u8> {
    format!("recovery codes:{session_id}").into_bytes()
}
