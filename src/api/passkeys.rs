//! Passkeys for the pages: the profile's list (renamed, removed, added), and signing in with
//! one on the log-in page. The ceremonies run in the browser (`components::webauthn`); these
//! begin and finish them.

use leptos::prelude::*;

use crate::{
    domain::{PasskeyCeremony, PasskeyView},
    error::AppError,
};

/// The signed-in person's passkeys, oldest first.
#[server(prefix = "/fn", endpoint = "passkeys")]
pub async fn passkeys() -> Result<Vec<PasskeyView>, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::passkeys;

    serve(|state| async move {
        let identity = signed_in().await?;
        passkeys::list(&state.services, identity.user.id).await
    })
    .await
}

/// Begins adding a passkey (the password asked again unless entered within the last few
/// minutes).
#[server(prefix = "/fn", endpoint = "passkey_options")]
pub async fn passkey_options(password: String) -> Result<PasskeyCeremony, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::passkeys;

    serve(|state| async move {
        let identity = signed_in().await?;
        passkeys::begin_registration(
            &state.services,
            &identity.user,
            &identity.session_id,
            &password,
        )
        .await
        .map(PasskeyCeremony::from)
    })
    .await
}

/// Finishes adding a passkey with the credential the browser made (its `toJSON()`, as text).
#[server(prefix = "/fn", endpoint = "add_passkey")]
pub async fn add_passkey(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<PasskeyView, AppError> {
    use super::support::{client_info, serve, signed_in};
    use crate::server::services::passkeys;

    serve(|state| async move {
        let identity = signed_in().await?;
        let credential = parsed(&credential)?;
        passkeys::finish_registration(
            &state.services,
            &identity.user,
            &ceremony,
            &name,
            &credential,
            &client_info()?,
        )
        .await
    })
    .await
}

/// Renames one of the person's passkeys.
#[server(prefix = "/fn", endpoint = "rename_passkey")]
pub async fn rename_passkey(id: i64, name: String) -> Result<PasskeyView, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::passkeys;

    serve(|state| async move {
        let identity = signed_in().await?;
        passkeys::rename(&state.services, &identity.user, id, &name).await
    })
    .await
}

/// Removes one of the person's passkeys.
#[server(prefix = "/fn", endpoint = "remove_passkey")]
pub async fn remove_passkey(id: i64) -> Result<(), AppError> {
    use super::support::{client_info, serve, signed_in};
    use crate::server::services::passkeys;

    serve(|state| async move {
        let identity = signed_in().await?;
        passkeys::remove(&state.services, &identity.user, id, &client_info()?).await
    })
    .await
}

/// Begins a sign-in with a passkey (the log-in page's button, or the browser's autofill).
#[server(prefix = "/fn", endpoint = "passkey_sign_in_options")]
pub async fn passkey_sign_in_options() -> Result<PasskeyCeremony, AppError> {
    use super::support::{client_info, serve};
    use crate::server::services::passkeys;

    serve(|state| async move {
        passkeys::begin_sign_in(&state.services, &client_info()?)
            .await
            .map(PasskeyCeremony::from)
    })
    .await
}

/// Signs in with the passkey the browser chose; answers where to go next (`next` if it is a
/// path on this site, else /profile), the session's cookies set.
#[server(prefix = "/fn", endpoint = "passkey_sign_in")]
pub async fn passkey_sign_in(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use super::support::{client_info, serve, set_issued};
    use crate::{domain::safe_next_path, server::services::sessions};

    serve(|state| async move {
        let credential = parsed(&credential)?;
        let (_, issued) =
            sessions::passkey_login(&state.services, &ceremony, &credential, &client_info()?)
                .await?;
        set_issued(&state, &issued);
        Ok(safe_next_path(next.as_deref()))
    })
    .await
}

/// The credential's JSON text; not JSON is the same refusal as a credential that does not
/// verify.
#[cfg(feature = "ssr")]
fn parsed(credential: &str) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(credential).map_err(|_| crate::server::services::passkeys::not_accepted())
}
