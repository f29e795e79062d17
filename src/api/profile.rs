//! Editing the profile and changing the password.

use leptos::prelude::*;

use crate::{domain::UserView, error::AppError};

/// Saves username and names, with the sign-up form's validation (the address changes through
/// a confirmed link: `change_email`).
#[server(prefix = "/fn", endpoint = "profile")]
pub async fn update_profile(
    username: String,
    first_name: String,
    last_name: String,
) -> Result<UserView, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::accounts;

    serve(|state| async move {
        let identity = signed_in().await?;
        let input = accounts::ProfileInput {
            username,
            first_name,
            last_name,
            ..Default::default()
        };
        accounts::update_profile(&state.services, &identity.user, &input).await
    })
    .await
}

/// Changes the password after checking the current one; the user's other sessions end.
#[server(prefix = "/fn", endpoint = "password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::accounts;

    serve(|state| async move {
        let identity = signed_in().await?;
        accounts::change_password(
            &state.services,
            &identity.user,
            &identity.session_id,
            &current_password,
            &new_password,
        )
        .await
        .map(drop)
    })
    .await
}

/// Deletes the account (password required), clears the cookies and goes home.
#[server(prefix = "/fn", endpoint = "delete_account")]
pub async fn delete_account(password: String) -> Result<(), AppError> {
    use super::support::{serve, set_cookies, signed_in};
    use crate::server::services::accounts;

    serve(|state| async move {
        let identity = signed_in().await?;
        accounts::delete(&state.services, &identity.user, &password).await?;
        set_cookies(&state.cookies.cleared());
        leptos_axum::redirect("/?deleted=1");
        Ok(())
    })
    .await
}
