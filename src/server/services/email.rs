//! Proving an address: the verification link sent at sign-up (and on request), and moving an
//! account to a new address, which changes only once a link sent there is used.

use super::{Services, activity, outbox::Outbox, session_cache::Change, throttles};
use crate::{
    domain::Email,
    error::{AppError, FieldError, FieldErrors},
    server::{
        auth::links::{self, LinkToken},
        config::EmailVerification,
        db::{
            self, Tx,
            tokens::{NewLink, Purpose},
            users::User,
        },
        mail::templates,
        now,
    },
};

/// What a verification or email-change link is for, shown before it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Confirms the account's address.
    Verify { email: String },
    /// Moves the account to this new address.
    Change { email: String },
}

/// What using a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Verified { user_id: i64, email: String },
    Changed { user_id: i64, email: String },
}

/// Stores a new link for `purpose` to `email` in `tx`, valid for `ttl`, replacing the user's
/// older one; returns `(token, lifetime in seconds)`, the token for the mail only.
pub(super) async fn issue_link(
    tx: &mut Tx,
    user_id: i64,
    purpose: Purpose,
    email: &str,
    ttl: std::time::Duration,
) -> Result<(String, u64), AppError> {
    let token = LinkToken::generate();
    let seconds = ttl.as_secs();
    let now = now();
    db::tokens::replace(
        tx,
        &NewLink {
            user_id,
            purpose,
            email,
            token_hash: &token.hash,
            now,
            expires_at: now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)),
        },
    )
    .await?;
    Ok((token.token, seconds))
}

/// Queues a verification link for `user`'s current address in `tx` (sign-up, or a request for
/// a new link), replacing any older link. Nothing is queued with `EMAIL_VERIFICATION=none`.
///
/// # Errors
/// The database error.
pub async fn queue_verification(
    services: &Services,
    tx: &mut Tx,
    user: &User,
) -> Result<(), AppError> {
    let config = &services.config;
    if config.accounts.email_verification == EmailVerification::None {
        return Ok(());
    }
    let (token, ttl) = issue_link(
        tx,
        user.id,
        Purpose::VerifyEmail,
        &user.email,
        config.accounts.verification_ttl,
    )
    .await?;
    let link = config.link(&format!("/verify-email?key={token}"));
    let mail = templates::verify_email(&config.site, link, ttl);
    Outbox::queue(tx, Some(user.id), &user.email, &mail).await?;
    Ok(())
}

/// Sends a signed-in person a new verification link (the profile's "send it again").
///
/// # Errors
/// [`AppError::Validation`] when the address is already verified or verification is off;
/// [`AppError::Throttled`] past the account's mail limit; [`AppError::Internal`] on storage
/// failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn resend_verification(services: &Services, user: &User) -> Result<(), AppError> {
    if user.email_verified || services.config.accounts.email_verification == EmailVerification::None
    {
        let mut errors = FieldErrors::default();
        errors.add(
            "email",
            FieldError::new("Your address needs no verification."),
        );
        return Err(AppError::Validation(errors));
    }
    throttles::take(services, throttles::LINK_MAIL, &format!("user:{}", user.id)).await?;
    let mut tx = services.db.begin().await?;
    queue_verification(services, &mut tx, user).await?;
    tx.commit().await?;
    services.outbox.wake();
    tracing::info!("verification link sent again");
    Ok(())
}

/// Sends a new verification link to whoever owns `email`, if anyone does and it is
/// unverified (the log-in page, when verification is mandatory). The answer is the same
/// either way.
///
/// # Errors
/// [`AppError::Validation`] for text that is no address; [`AppError::Throttled`] past the
/// limits per address typed, per account and per client; [`AppError::Internal`] on storage
/// failure.
#[tracing::instrument(skip_all)]
pub async fn resend_verification_to(
    services: &Services,
    email: &str,
    client: std::net::IpAddr,
) -> Result<(), AppError> {
    let key = admit_mail_request(services, email, client).await?.key();
    let Some(user) = db::users::find_by_email(&services.db, &key).await? else {
        return Ok(());
    };
    if user.email_verified
        || !user.is_active
        || services.config.accounts.email_verification == EmailVerification::None
    {
        return Ok(());
    }
    throttles::take(services, throttles::LINK_MAIL, &format!("user:{}", user.id)).await?;
    let mut tx = services.db.begin().await?;
    queue_verification(services, &mut tx, &user).await?;
    tx.commit().await?;
    services.outbox.wake();
    Ok(())
}

/// What a verification or email-change link would do, without using it (the page behind the
/// link, which mail scanners may open: only its form's POST uses the link).
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn pending(services: &Services, key: &str) -> Result<Option<Pending>, AppError> {
    let hash = links::hash(key);
    let now = now();
    if let Some(link) = db::tokens::find(&services.db, Purpose::VerifyEmail, &hash, now).await? {
        return Ok(Some(Pending::Verify { email: link.email }));
    }
    Ok(
        db::tokens::find(&services.db, Purpose::ChangeEmail, &hash, now)
            .await?
            .map(|link| Pending::Change { email: link.email }),
    )
}

/// Uses a verification or email-change link.
///
/// # Errors
/// [`AppError::Validation`] on `key` when the link is unknown, used or expired, or (for a
/// change) another account took the address meanwhile; [`AppError::Internal`] on storage
/// failure.
#[tracing::instrument(skip_all)]
pub async fn confirm(services: &Services, key: &str) -> Result<Confirmed, AppError> {
    let hash = links::hash(key);
    let now = now();
    let mut tx = services.db.begin().await?;
    let confirmed = if let Some(link) =
        db::tokens::take(&mut tx, Purpose::VerifyEmail, &hash, None, now).await?
    {
        if !db::users::verify_email(&mut tx, link.user_id, &link.email).await? {
            return Err(link_error(
                "This link is for an address your account no longer uses.",
            ));
        }
        Confirmed::Verified {
            user_id: link.user_id,
            email: link.email,
        }
    } else if let Some(link) =
        db::tokens::take(&mut tx, Purpose::ChangeEmail, &hash, None, now).await?
    {
        let email = Email::parse(&link.email).map_err(|_| link_error(EXPIRED))?;
        // Uniqueness is checked again here, by the constraint: the address may have been
        // taken since the link was sent.
        match db::users::set_email(&mut tx, link.user_id, email.as_str(), &email.key()).await {
            Err(e) if db::is_unique_violation(&e) => {
                return Err(link_error("Another account uses that address now."));
            }
            other => other?,
        }
        // A verification link for the old address means nothing now.
        db::tokens::revoke(&mut tx, link.user_id, Purpose::VerifyEmail).await?;
        Confirmed::Changed {
            user_id: link.user_id,
            email: link.email,
        }
    } else {
        return Err(link_error(EXPIRED));
    };
    tx.commit().await?;
    let (Confirmed::Verified { user_id, .. } | Confirmed::Changed { user_id, .. }) = &confirmed;
    services.cache.apply(&Change::User(*user_id));
    if let Confirmed::Changed { user_id, .. } = &confirmed {
        activity::record(services, *user_id, activity::Event::EmailChanged, None).await?;
    }
    tracing::info!(target: "security", user_id, "email address confirmed");
    Ok(confirmed)
}

/// Starts moving an account to `new_email` (the password asked again, see
/// `accounts::reauthenticate`): a link to confirm goes there, and a notice without a link to
/// the current address. Nothing changes until the link is used.
///
/// # Errors
/// [`AppError::Validation`] for a wrong password or an unusable or taken address;
/// [`AppError::Throttled`] past the account's limit; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn request_change(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
    new_email: &str,
) -> Result<(), AppError> {
    throttles::take(services, throttles::LINK_MAIL, &format!("user:{}", user.id)).await?;
    let mut errors = FieldErrors::default();
    errors.keep("new_email", new_email);
    let email = errors.check("new_email", Email::parse(new_email));
    if let Some(problem) =
        super::accounts::reauthenticate(services, user, session_id, password).await?
    {
        errors.add("password", problem);
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let key = email.key();
    if key == crate::domain::fold(&user.email) {
        errors.add(
            "new_email",
            FieldError::new("That is already your address."),
        );
        return Err(AppError::Validation(errors));
    }
    let (_, taken) = db::users::taken(&services.db, "", &key, Some(user.id)).await?;
    if taken {
        errors.add(
            "new_email",
            FieldError::new("An account with that email already exists."),
        );
        return Err(AppError::Validation(errors));
    }
    let config = &services.config;
    let mut tx = services.db.begin().await?;
    let (token, ttl) = issue_link(
        &mut tx,
        user.id,
        Purpose::ChangeEmail,
        email.as_str(),
        config.accounts.verification_ttl,
    )
    .await?;
    let link = config.link(&format!("/verify-email?key={token}"));
    let confirm = templates::confirm_new_email(&config.site, link, ttl);
    Outbox::queue(&mut tx, Some(user.id), email.as_str(), &confirm).await?;
    let notice = templates::email_change_requested(&config.site, email.as_str());
    Outbox::queue(&mut tx, Some(user.id), &user.email, &notice).await?;
    tx.commit().await?;
    services.outbox.wake();
    activity::record(
        services,
        user.id,
        activity::Event::EmailChangeRequested,
        None,
    )
    .await?;
    tracing::info!(target: "security", "email change requested");
    Ok(())
}

pub(super) const EXPIRED: &str = "This link has expired or was already used. Ask for a new one.";

/// A link that cannot be used, reported on its form field (`key`, or a reset's `token`).
pub(super) fn dead_link(field: &str, message: &str) -> AppError {
    let mut errors = FieldErrors::default();
    errors.add(field, FieldError::new(message));
    AppError::Validation(errors)
}

fn link_error(message: &str) -> AppError {
    dead_link("key", message)
}

/// A request for mail to an address typed by someone not signed in (a reset, a new
/// verification link): the address parsed, and the request counted per client and per address.
///
/// # Errors
/// [`AppError::Validation`] for text that is no address; [`AppError::Throttled`] past either
/// limit; [`AppError::Internal`] on storage failure.
pub(super) async fn admit_mail_request(
    services: &Services,
    typed: &str,
    client: std::net::IpAddr,
) -> Result<Email, AppError> {
    let email = typed_email(typed)?;
    throttles::take(services, throttles::MAIL_REQUEST, &client.to_string()).await?;
    throttles::take(
        services,
        throttles::LINK_MAIL,
        &throttles::typed_address(&email.key()),
    )
    .await?;
    Ok(email)
}

/// An address as typed into a request form.
fn typed_email(raw: &str) -> Result<Email, AppError> {
    Email::parse(raw).map_err(|e| {
        let mut errors = FieldErrors::default();
        errors.keep("email", raw);
        errors.add("email", e);
        AppError::Validation(errors)
    })
}
