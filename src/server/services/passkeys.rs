//! Passkeys: adding one (the password asked again, as for every sensitive change), listing,
//! renaming and removing them, and signing in with one. Each ceremony is kept in the database
//! under a hashed token, finished once, within five minutes, on any instance.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::Uuid;

use super::{
    Services,
    accounts::sudo,
    activity::{self, Event},
    devices::Client,
    factors::notify,
    throttles::{self, PASSKEY_SIGN_IN},
};
use crate::{
    domain::{MAX_PASSKEY_NAME_CHARS, PasskeyCeremony, PasskeyView},
    error::AppError,
    server::{
        auth::{
            links::{LinkToken, hash},
            passkeys::{PasskeyError, RelyingParty},
            tokens::Method,
        },
        db::{
            self, Tx, is_unique_violation,
            passkeys::{NewPasskey, Purpose},
            users::User,
        },
        mail::templates::FactorChange,
        now,
    },
};

/// How long a begun ceremony waits for the browser, in seconds.
pub const CEREMONY_TTL: i64 = 300;
/// The most passkeys one account keeps.
pub const MAX_PER_ACCOUNT: i64 = 20;

/// A ceremony begun: the token that finishes it (stored hashed) and the options for the
/// browser.
pub struct Ceremony {
    pub token: String,
    pub options: Value,
}

impl From<Ceremony> for PasskeyCeremony {
    fn from(ceremony: Ceremony) -> Self {
        Self {
            ceremony: ceremony.token,
            options: ceremony.options.to_string(),
        }
    }
}

/// A registration's kept state: the user handle it was begun with, and webauthn-rs's state.
#[derive(Serialize, Deserialize)]
struct Kept {
    handle: String,
    state: String,
}

/// The user's passkeys, oldest first.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn list(services: &Services, user_id: i64) -> Result<Vec<PasskeyView>, AppError> {
    Ok(db::passkeys::of_user(&services.db, user_id)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

fn view(passkey: db::passkeys::Listed) -> PasskeyView {
    PasskeyView {
        id: passkey.id,
        name: passkey.name,
        created_at: passkey.created_at.0,
        last_used_at: passkey.last_used_at.map(|t| t.0),
    }
}

/// How many passkeys the user has.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn count(services: &Services, user_id: i64) -> Result<i64, AppError> {
    Ok(db::passkeys::count(&services.db, user_id).await?)
}

/// Begins adding a passkey (the password asked again unless proved within the sudo window).
///
/// # Errors
/// [`AppError::Validation`] on `password`; [`AppError::BadRequest`] when passkeys are not
/// available here or the account has the most it may; [`AppError::Throttled`];
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn begin_registration(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
) -> Result<Ceremony, AppError> {
    let party = party(services)?;
    sudo(services, user, session_id, password).await?;
    let (existing, handle) = db::passkeys::credentials_of(&services.db, user.id).await?;
    if i64::try_from(existing.len()).unwrap_or(i64::MAX) >= MAX_PER_ACCOUNT {
        return Err(AppError::BadRequest(format!(
            "An account keeps at most {MAX_PER_ACCOUNT} passkeys: remove one first."
        )));
    }
    let handle = handle
        .and_then(|h| Uuid::parse_str(&h).ok())
        .unwrap_or_else(Uuid::new_v4);
    let begun = party
        .begin_registration(handle, &user.username, &existing)
        .map_err(internal)?;
    let kept = serde_json::to_string(&Kept {
        handle: handle.to_string(),
        state: begun.state,
    })
    .map_err(|e| internal(PasskeyError::State(e.to_string())))?;
    let token = keep(services, Purpose::Register, Some(user.id), &kept).await?;
    Ok(Ceremony {
        token,
        options: begun.options,
    })
}

/// Finishes adding a passkey with what the browser made; the owner is mailed.
///
/// # Errors
/// [`AppError::Validation`] on `name`, `ceremony` (expired, used, someone else's) or
/// `credential` (refused, or registered already); [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn finish_registration(
    services: &Services,
    user: &User,
    ceremony: &str,
    name: &str,
    credential: &Value,
    client: &Client,
) -> Result<PasskeyView, AppError> {
    let party = party(services)?;
    let name = checked_name(name)?;
    let kept = db::passkeys::take(
        &services.db,
        &hash(ceremony),
        Purpose::Register,
        Some(user.id),
        now(),
    )
    .await?
    .ok_or_else(expired)?;
    let kept: Kept =
        serde_json::from_str(&kept).map_err(|e| internal(PasskeyError::State(e.to_string())))?;
    let registered = party
        .finish_registration(credential, &kept.state)
        .map_err(refused)?;
    let now = now();
    let mut tx = services.db.begin().await?;
    let id = match db::passkeys::insert(
        &mut tx,
        &NewPasskey {
            user_id: user.id,
            credential_id: &registered.credential_id,
            user_handle: &kept.handle,
            name: &name,
            passkey: &registered.passkey,
            now,
        },
    )
    .await
    {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::on_field(
                "credential",
                "This passkey is registered already.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    notify(services, &mut tx, user, FactorChange::PasskeyAdded).await?;
    tx.commit().await?;
    services.outbox.wake();
    activity::record(services, user.id, Event::PasskeyAdded, Some(client)).await?;
    tracing::info!(target: "security", "passkey added");
    Ok(PasskeyView {
        id,
        name,
        created_at: now,
        last_used_at: None,
    })
}

/// Renames one of the user's passkeys.
///
/// # Errors
/// [`AppError::Validation`] on `name`; [`AppError::NotFound`] for a passkey the user does
/// not have; [`AppError::Internal`] on storage failure.
pub async fn rename(
    services: &Services,
    user: &User,
    id: i64,
    name: &str,
) -> Result<PasskeyView, AppError> {
    let name = checked_name(name)?;
    db::passkeys::rename(&services.db, user.id, id, &name)
        .await?
        .map(view)
        .ok_or(AppError::NotFound)
}

/// Removes one of the user's passkeys; the owner is mailed.
///
/// # Errors
/// [`AppError::NotFound`] for a passkey the user does not have; [`AppError::Internal`] on
/// storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn remove(
    services: &Services,
    user: &User,
    id: i64,
    client: &Client,
) -> Result<(), AppError> {
    let mut tx = services.db.begin().await?;
    if db::passkeys::remove(&mut tx, user.id, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    notify(services, &mut tx, user, FactorChange::PasskeyRemoved).await?;
    tx.commit().await?;
    services.outbox.wake();
    activity::record(services, user.id, Event::PasskeyRemoved, Some(client)).await?;
    tracing::info!(target: "security", "passkey removed");
    Ok(())
}

/// Staff removing every passkey of a user (inside their transaction); how many there were.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn remove_all(tx: &mut Tx, user_id: i64) -> Result<u64, AppError> {
    Ok(db::passkeys::remove_all(tx, user_id).await?)
}

/// Begins a sign-in with whichever passkey of this site the person's authenticator offers.
///
/// # Errors
/// [`AppError::BadRequest`] when passkeys are not available here; [`AppError::Throttled`]
/// past the address's limit; [`AppError::Internal`] on storage failure.
pub async fn begin_sign_in(services: &Services, client: &Client) -> Result<Ceremony, AppError> {
    let party = party(services)?;
    throttles::take(services, PASSKEY_SIGN_IN, &client.ip.to_string()).await?;
    let begun = party.begin_sign_in().map_err(internal)?;
    let token = keep(services, Purpose::SignIn, None, &begun.state).await?;
    Ok(Ceremony {
        token,
        options: begun.options,
    })
}

/// Finishes a sign-in: the ceremony live (it ends now, whatever follows), the passkey known
/// and made for the handle it carries, its signature good with user verification, its counter
/// moving forward. Returns the user id and how the key is kept (`hwk` or `swk`).
///
/// # Errors
/// [`AppError::Validation`] on `ceremony` or `credential`; [`AppError::Internal`] on storage
/// failure.
pub async fn finish_sign_in(
    services: &Services,
    ceremony: &str,
    credential: &Value,
    client: &Client,
) -> Result<(i64, Method), AppError> {
    let party = party(services)?;
    let state = db::passkeys::take(&services.db, &hash(ceremony), Purpose::SignIn, None, now())
        .await?
        .ok_or_else(expired)?;
    let (handle, credential_id) = party.identify(credential).map_err(refused)?;
    let stored = db::passkeys::by_credential(&services.db, &credential_id)
        .await?
        .filter(|s| Uuid::parse_str(&s.user_handle).is_ok_and(|h| h == handle));
    let Some(stored) = stored else {
        tracing::info!(target: "security", "passkey sign-in with an unknown passkey");
        return Err(not_accepted());
    };
    let verified = match party.finish_sign_in(credential, &state, &stored.passkey) {
        Ok(verified) => verified,
        Err(PasskeyError::PossibleClone) => {
            tracing::warn!(target: "security", user_id = stored.user_id, "passkey refused: its counter did not move forward (a copied key?)");
            activity::record(
                services,
                stored.user_id,
                Event::PasskeyRefused,
                Some(client),
            )
            .await?;
            return Err(not_accepted());
        }
        Err(e) => return Err(refused(e)),
    };
    db::passkeys::used(&services.db, stored.id, verified.updated.as_deref(), now()).await?;
    activity::record(services, stored.user_id, Event::PasskeyUsed, Some(client)).await?;
    Ok((stored.user_id, verified.method))
}

fn party(services: &Services) -> Result<&RelyingParty, AppError> {
    services.passkeys.as_deref().ok_or_else(|| {
        AppError::BadRequest(
            "Passkeys are not available on this site: it is served at an IP address (set WEBAUTHN_RP_ID to its domain).".to_string(),
        )
    })
}

async fn keep(
    services: &Services,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &str,
) -> Result<String, AppError> {
    let token = LinkToken::generate();
    let now = now();
    db::passkeys::begin(
        &services.db,
        &token.hash,
        purpose,
        user_id,
        state,
        now,
        now + CEREMONY_TTL,
    )
    .await?;
    Ok(token.token)
}

/// A name to show: trimmed, "Passkey" when blank, at most [`MAX_PASSKEY_NAME_CHARS`].
fn checked_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.chars().count() > MAX_PASSKEY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::on_field(
            "name",
            format!(
                "Give the passkey a name of at most {MAX_PASSKEY_NAME_CHARS} characters, on one line."
            ),
        ));
    }
    Ok(if name.is_empty() { "Passkey" } else { name }.to_string())
}

fn refused(error: PasskeyError) -> AppError {
    match error {
        PasskeyError::State(_) => internal(error),
        other => {
            tracing::info!(target: "security", reason = %other, "passkey refused");
            not_accepted()
        }
    }
}

fn internal(error: PasskeyError) -> AppError {
    tracing::error!(error = %error, "passkey ceremony state");
    AppError::Internal
}

/// The one answer for a passkey that did not sign in or register, whatever the reason (the
/// reason goes to the security log).
pub fn not_accepted() -> AppError {
    AppError::on_field(
        "credential",
        "This passkey was not accepted. Try again, or log in with your password.",
    )
}

fn expired() -> AppError {
    AppError::on_field(
        "ceremony",
        "This passkey request expired or was already used: start again.",
    )
}
