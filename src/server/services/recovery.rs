//! Password reset by mailed link. Asking answers the same whether or not an account has the
//! address, after the same work: a mail is queued either way (to an unknown address it says
//! no account has it), and nothing is sent inline.

use std::net::IpAddr;

use secrecy::SecretString;

use super::{
    Services, accounts, activity,
    email::{EXPIRED, admit_mail_request, dead_link, issue_link},
    outbox::Outbox,
    throttles,
};
use crate::{
    domain::Password,
    error::{AppError, FieldErrors},
    server::{
        auth::links,
        db::{self, Tx, tokens::Purpose, users::User},
        mail::templates,
        now,
    },
};

/// Queues a reset link for the account with `email`, or a note that none has it.
///
/// # Errors
/// [`AppError::Validation`] for text that is no address; [`AppError::Throttled`] past the
/// limits per address typed, per account and per client; [`AppError::Internal`] on storage
/// failure.
#[tracing::instrument(skip_all)]
pub async fn request(services: &Services, email: &str, client: IpAddr) -> Result<(), AppError> {
    let email = admit_mail_request(services, email, client).await?;
    let key = email.key();
    let config = &services.config;
    let user = db::users::find_by_email(&services.db, &key).await?;
    if let Some(user) = user.as_ref().filter(|u| u.is_active) {
        throttles::take(services, throttles::LINK_MAIL, &format!("user:{}", user.id)).await?;
    }
    let mut tx = services.db.begin().await?;
    match user {
        Some(user) if user.is_active => queue_reset(services, &mut tx, &user).await?,
        // A deactivated account cannot be taken back by mail; it gets no link.
        Some(user) => {
            tracing::info!(target: "security", user_id = user.id, "password reset refused: inactive");
        }
        None => {
            let mail = templates::reset_unknown_account(&config.site);
            Outbox::queue(&mut tx, None, email.as_str(), &mail).await?;
        }
    }
    tx.commit().await?;
    services.outbox.wake();
    Ok(())
}

/// Queues a reset link for an active account in `tx` (asked for by its owner, or sent by
/// staff).
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub(super) async fn queue_reset(
    services: &Services,
    tx: &mut Tx,
    user: &User,
) -> Result<(), AppError> {
    let config = &services.config;
    let (token, ttl) = issue_link(
        tx,
        user.id,
        Purpose::ResetPassword,
        &user.email,
        config.accounts.reset_ttl,
    )
    .await?;
    let link = config.link(&format!(
        "/reset-password?uid={}&token={token}",
        links::encode_uid(user.id),
    ));
    let mail = templates::reset_password(&config.site, link, ttl);
    Outbox::queue(tx, Some(user.id), &user.email, &mail).await?;
    tracing::info!(target: "security", user_id = user.id, "password reset link queued");
    Ok(())
}

/// The account a reset link is for, if the link is live and its `uid` matches (the page with
/// the new-password form; the link is not used by looking).
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn pending(
    services: &Services,
    uid: &str,
    token: &str,
) -> Result<Option<User>, AppError> {
    let Some(user_id) = links::decode_uid(uid) else {
        return Ok(None);
    };
    let link = db::tokens::find(
        &services.db,
        Purpose::ResetPassword,
        &links::hash(token),
        now(),
    )
    .await?
    .filter(|link| link.user_id == user_id);
    let Some(link) = link else {
        return Ok(None);
    };
    Ok(db::users::find(&services.db, link.user_id)
        .await?
        .filter(|user| user.is_active))
}

/// Sets a new password with a reset link: the link is used up, every session of the account
/// ends (refresh tokens at once, access tokens as any revocation), and a notice is mailed.
///
/// # Errors
/// [`AppError::Validation`] on `token` for a dead or mismatched link, on `new_password` for a
/// password the policy refuses; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn reset(
    services: &Services,
    uid: &str,
    token: &str,
    new_password: &str,
) -> Result<User, AppError> {
    let Some(user) = pending(services, uid, token).await? else {
        return Err(dead_link("token", EXPIRED));
    };
    let mut errors = FieldErrors::default();
    let new = errors.check(
        "new_password",
        Password::parse(new_password, &user.personal_words()),
    );
    let Some(new) = new else {
        return Err(AppError::Validation(errors));
    };
    let hash = services
        .passwords
        .hash(SecretString::from(new.expose()))
        .await?;
    let now = now();
    let mut tx = services.db.begin().await?;
    let taken = db::tokens::take(
        &mut tx,
        Purpose::ResetPassword,
        &links::hash(token),
        Some(user.id),
        now,
    )
    .await?;
    if taken.is_none() {
        // Used by a concurrent request between the check and here.
        return Err(dead_link("token", EXPIRED));
    }
    let ended = accounts::store_password(services, &mut tx, &user, &hash, None).await?;
    tx.commit().await?;
    accounts::password_stored(services, &user, activity::Event::PasswordReset).await?;
    tracing::info!(target: "security", user_id = user.id, sessions_ended = ended, "password reset");
    Ok(user)
}
