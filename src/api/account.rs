//! Mailed links: verifying an address, changing it, resetting a forgotten password.

use leptos::prelude::*;

use crate::{domain::EmailLink, error::AppError};

/// What a verification or email-change link would do, without using it.
#[server(prefix = "/fn", endpoint = "email_link")]
pub async fn pending_email_link(key: String) -> Result<Option<EmailLink>, AppError> {
    use super::support::serve;
    use crate::server::services::email::{self, Pending};

    serve(|state| async move {
        Ok(email::pending(&state.services, &key)
            .await?
            .map(|pending| match pending {
                Pending::Verify { email } => EmailLink {
                    email,
                    change: false,
                },
                Pending::Change { email } => EmailLink {
                    email,
                    change: true,
                },
            }))
    })
    .await
}

/// Uses a verification or email-change link, then shows that it worked.
#[server(prefix = "/fn", endpoint = "verify_email")]
pub async fn confirm_email(key: String) -> Result<(), AppError> {
    use super::support::{return_to, serve};
    use crate::server::services::email::{self, Confirmed};

    let typed = key.clone();
    let result = serve(|state| async move {
        let confirmed = email::confirm(&state.services, &typed).await?;
        leptos_axum::redirect(match confirmed {
            Confirmed::Verified { .. } => "/verify-email?done=verified",
            Confirmed::Changed { .. } => "/verify-email?done=changed",
        });
        Ok(())
    })
    .await;
    return_to("/verify-email", &[("key", &key)], result)
}

/// Sends the signed-in person a new verification link, then says so on the profile.
#[server(prefix = "/fn", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::email;

    serve(|state| async move {
        let identity = signed_in().await?;
        email::resend_verification(&state.services, &identity.user).await?;
        leptos_axum::redirect("/profile?sent=verification");
        Ok(())
    })
    .await
}

/// Sends a new verification link to an unverified address, if an account has it (the log-in
/// page when verification is mandatory); the answer never says whether one does.
#[server(prefix = "/fn", endpoint = "resend_verification_to")]
pub async fn resend_verification_to(email: String) -> Result<(), AppError> {
    use super::support::{client, serve};
    use crate::server::services::email;

    serve(|state| async move {
        email::resend_verification_to(&state.services, &email, client()?).await?;
        leptos_axum::redirect("/login?reason=verify");
        Ok(())
    })
    .await
}

/// Starts moving the account to a new address (password required), then says so on the
/// profile (with or without JavaScript).
#[server(prefix = "/fn", endpoint = "change_email")]
pub async fn change_email(password: String, new_email: String) -> Result<(), AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::email;

    serve(|state| async move {
        let identity = signed_in().await?;
        email::request_change(
            &state.services,
            &identity.user,
            &identity.session_id,
            &password,
            &new_email,
        )
        .await?;
        leptos_axum::redirect("/profile?sent=email-change");
        Ok(())
    })
    .await
}

/// Mails a reset link (or, to an address no account has, a note saying so); the answer is the
/// same either way.
#[server(prefix = "/fn", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use super::support::{client, serve};
    use crate::server::services::recovery;

    serve(|state| async move {
        recovery::request(&state.services, &email, client()?).await?;
        leptos_axum::redirect("/forgot-password?sent=1");
        Ok(())
    })
    .await
}

/// The address of the account a reset link is for, if the link is live.
#[server(prefix = "/fn", endpoint = "reset_link")]
pub async fn reset_link(uid: String, token: String) -> Result<Option<String>, AppError> {
    use super::support::serve;
    use crate::server::services::recovery;

    serve(|state| async move {
        Ok(recovery::pending(&state.services, &uid, &token)
            .await?
            .map(|user| user.email))
    })
    .await
}

/// Sets a new password with a reset link; every session of the account ends.
#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn reset_password(
    uid: String,
    token: String,
    new_password: String,
) -> Result<(), AppError> {
    use super::support::{return_to, serve};
    use crate::server::services::recovery;

    let (typed_uid, typed_token) = (uid.clone(), token.clone());
    let result = serve(|state| async move {
        recovery::reset(&state.services, &typed_uid, &typed_token, &new_password).await?;
        leptos_axum::redirect("/login?reason=reset");
        Ok(())
    })
    .await;
    return_to(
        "/reset-password",
        &[("uid", &uid), ("token", &token)],
        result,
    )
}
