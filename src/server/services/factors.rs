//! Second factors: an authenticator app (enrolled, confirmed, turned off), recovery codes,
//! and the code step of a log-in. A factor gates log-in only once a code confirmed it; a new
//! enrolment replaces the active one only when its own code confirms it.

use super::{
    Services,
    accounts::sudo,
    activity::{self, Event},
    devices::Client,
    outbox::Outbox,
    passkeys,
    throttles::LoginBuckets,
};
use crate::{
    domain::{Enrolment, FactorStatus},
    error::AppError,
    server::{
        auth::{
            links::{LinkToken, hash},
            otp::{Totp, Typed, recovery_codes, recovery_hash},
        },
        db::{
            self, Tx,
            factors::{State, TotpFactor},
            users::User,
        },
        mail::templates::{self, FactorChange},
        now,
    },
};

/// How long the code step of a log-in waits, in seconds.
pub const CHALLENGE_TTL: i64 = 300;

/// A password accepted for an account whose log-in needs a code next.
pub struct Challenge {
    /// Shown to the client once (the API's `mfa_token`, the page's cookie); stored hashed.
    pub token: String,
    pub expires_in: i64,
}

/// Which factors the user has.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn status(services: &Services, user_id: i64) -> Result<FactorStatus, AppError> {
    let totp = db::factors::totp(&services.db, user_id, State::Active)
        .await?
        .is_some();
    Ok(FactorStatus {
        totp,
        recovery_codes_left: db::factors::recovery_codes_left(&services.db, user_id).await?,
        passkeys: passkeys::count(services, user_id).await?,
    })
}

/// Whether a log-in of this user needs a code after the password.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn required(services: &Services, user_id: i64) -> Result<bool, AppError> {
    Ok(db::factors::totp(&services.db, user_id, State::Active)
        .await?
        .is_some())
}

/// Starts enrolling an authenticator app (the password asked again, as for every sensitive
/// change): a new key, pending until a code from it confirms it.
///
/// # Errors
/// [`AppError::Validation`] on `password` when it is wrong or needed;
/// [`AppError::Throttled`] past the account's limit; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn start_app(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
) -> Result<Enrolment, AppError> {
    sudo(services, user, session_id, password).await?;
    let totp = Totp::generate();
    let sealed = services
        .sealer
        .seal(&context(user.id), totp.key())
        .map_err(|e| {
            tracing::error!(error = %e, "sealing an authenticator key failed");
            AppError::Internal
        })?;
    db::factors::start_totp(&services.db, user.id, &sealed, now()).await?;
    tracing::info!(target: "security", "authenticator enrolment started");
    Ok(enrolment(services, user, &totp))
}

/// The enrolment waiting for its first code, if any (the page shows it again).
///
/// # Errors
/// [`AppError::Internal`] on storage failure or a key that does not open.
pub async fn pending_app(services: &Services, user: &User) -> Result<Option<Enrolment>, AppError> {
    let Some(factor) = db::factors::totp(&services.db, user.id, State::Pending).await? else {
        return Ok(None);
    };
    let totp = open(services, user.id, &factor)?;
    Ok(Some(enrolment(services, user, &totp)))
}

/// Confirms the pending enrolment with a code from the app: the factor is on from now (an
/// earlier one is replaced), the code counts as used, and ten recovery codes are made and
/// returned, the only time they are shown.
///
/// # Errors
/// [`AppError::Validation`] on `code` when it is wrong or nothing is pending;
/// [`AppError::Throttled`] after repeated wrong codes; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn confirm_app(
    services: &Services,
    user: &User,
    code: &str,
    client: &Client,
) -> Result<Vec<String>, AppError> {
    let buckets = LoginBuckets::second_step(user.id, client.ip);
    buckets.check(services).await?;
    let Some(factor) = db::factors::totp(&services.db, user.id, State::Pending).await? else {
        return Err(AppError::on_field(
            "code",
            "Start again: there is no authenticator app waiting for a code.",
        ));
    };
    let totp = open(services, user.id, &factor)?;
    let step = match Typed::parse(code) {
        Typed::App(code) => totp.matching_step(&code, unix_now()),
        _ => None,
    };
    let Some(step) = step.and_then(|s| i64::try_from(s).ok()) else {
        failed(services, &buckets, user.id, client).await?;
        return Err(wrong_code());
    };
    let codes = recovery_codes();
    let mut tx = services.db.begin().await?;
    if !db::factors::activate_totp(&mut tx, user.id, factor.id, step, now()).await? {
        return Err(AppError::on_field(
            "code",
            "That enrolment was already confirmed.",
        ));
    }
    store_recovery_codes(&mut tx, user.id, &codes).await?;
    notify(services, &mut tx, user, FactorChange::AppTurnedOn).await?;
    tx.commit().await?;
    services.outbox.wake();
    buckets.succeeded(services).await?;
    activity::record(services, user.id, Event::AuthenticatorAdded, Some(client)).await?;
    tracing::info!(target: "security", "authenticator turned on");
    Ok(codes)
}

/// Turns the authenticator app off: the password asked again and a current code (or a
/// recovery code); its recovery codes go with it, and the owner is mailed.
///
/// # Errors
/// [`AppError::Validation`] on `password` or `code`; [`AppError::Throttled`] past the limits;
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn remove_app(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
    code: &str,
    client: &Client,
) -> Result<(), AppError> {
    sudo(services, user, session_id, password).await?;
    if !required(services, user.id).await? {
        return Err(AppError::on_field("code", "No authenticator app is on."));
    }
    spend(services, user.id, code, client).await?;
    let mut tx = services.db.begin().await?;
    db::factors::remove_totp(&mut tx, user.id).await?;
    notify(services, &mut tx, user, FactorChange::AppTurnedOff).await?;
    tx.commit().await?;
    services.outbox.wake();
    activity::record(services, user.id, Event::AuthenticatorRemoved, Some(client)).await?;
    tracing::info!(target: "security", "authenticator turned off");
    Ok(())
}

/// New recovery codes (the password asked again): the old ones stop working.
///
/// # Errors
/// [`AppError::Validation`] on `password`, or when no factor is on; [`AppError::Throttled`];
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn regenerate_recovery_codes(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
    client: &Client,
) -> Result<Vec<String>, AppError> {
    sudo(services, user, session_id, password).await?;
    if !required(services, user.id).await? {
        return Err(AppError::on_field(
            "password",
            "Recovery codes come with an authenticator app: turn one on first.",
        ));
    }
    let codes = recovery_codes();
    let mut tx = services.db.begin().await?;
    store_recovery_codes(&mut tx, user.id, &codes).await?;
    tx.commit().await?;
    activity::record(services, user.id, Event::RecoveryCodesRenewed, Some(client)).await?;
    tracing::info!(target: "security", "recovery codes regenerated");
    Ok(codes)
}

/// Staff removing every second factor and passkey of a user who lost them (the caller checks
/// the permission and writes the audit entry in `tx`); the user is mailed. `true` if there
/// was one to remove.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn remove_all(services: &Services, tx: &mut Tx, user: &User) -> Result<bool, AppError> {
    let app = db::factors::remove_totp(tx, user.id).await?;
    let removed = passkeys::remove_all(tx, user.id).await? > 0 || app;
    if removed {
        notify(services, tx, user, FactorChange::RemovedByStaff).await?;
    }
    Ok(removed)
}

/// Opens the code step of a log-in for `user_id`.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn open_challenge(services: &Services, user_id: i64) -> Result<Challenge, AppError> {
    let token = LinkToken::generate();
    let now = now();
    db::factors::open_challenge(&services.db, &token.hash, user_id, now, now + CHALLENGE_TTL)
        .await?;
    Ok(Challenge {
        token: token.token,
        expires_in: CHALLENGE_TTL,
    })
}

/// The code step of a log-in: the challenge must be live, the code good (a code from the
/// app not used before in its step, or an unused recovery code). The challenge is closed
/// then, once; a wrong code leaves it open for another try, throttled like passwords.
/// Returns the user.
///
/// # Errors
/// [`AppError::Validation`] on `mfa_token` for a challenge that is unknown, expired or
/// finished, on `code` for a wrong code; [`AppError::Throttled`]; [`AppError::Internal`].
pub async fn finish_challenge(
    services: &Services,
    token: &str,
    code: &str,
    client: &Client,
) -> Result<i64, AppError> {
    let token_hash = hash(token);
    let expired = || {
        AppError::on_field(
            "mfa_token",
            "This log-in has expired or was already finished: enter your password again.",
        )
    };
    let Some(user_id) = db::factors::challenge(&services.db, &token_hash, now()).await? else {
        return Err(expired());
    };
    spend(services, user_id, code, client).await?;
    if !db::factors::close_challenge(&services.db, &token_hash, now()).await? {
        return Err(expired());
    }
    Ok(user_id)
}

/// Checks and spends a code of the user's active factor, throttled per account and address;
/// failures, and recovery codes used, are recorded in the account's activity.
async fn spend(
    services: &Services,
    user_id: i64,
    code: &str,
    client: &Client,
) -> Result<(), AppError> {
    let buckets = LoginBuckets::second_step(user_id, client.ip);
    buckets.check(services).await?;
    let good = match Typed::parse(code) {
        Typed::App(code) => spend_app_code(services, user_id, &code).await?,
        Typed::Recovery(_) => spend_recovery_code(services, user_id, code, client).await?,
        Typed::Malformed => false,
    };
    if !good {
        failed(services, &buckets, user_id, client).await?;
        return Err(wrong_code());
    }
    buckets.succeeded(services).await
}

/// An unused recovery code of the user's.
async fn spend_recovery_code(
    services: &Services,
    user_id: i64,
    code: &str,
    client: &Client,
) -> Result<bool, AppError> {
    let Some(hash) = recovery_hash(code) else {
        return Ok(false);
    };
    if !db::factors::use_recovery_code(&services.db, user_id, &hash, now()).await? {
        return Ok(false);
    }
    activity::record(services, user_id, Event::RecoveryCodeUsed, Some(client)).await?;
    tracing::info!(target: "security", user_id, "recovery code used");
    Ok(true)
}

/// A code from the app, for a step after the last one used.
async fn spend_app_code(services: &Services, user_id: i64, code: &str) -> Result<bool, AppError> {
    let Some(factor) = db::factors::totp(&services.db, user_id, State::Active).await? else {
        return Ok(false);
    };
    let totp = open(services, user_id, &factor)?;
    let Some(step) = totp
        .matching_step(code, unix_now())
        .and_then(|s| i64::try_from(s).ok())
    else {
        return Ok(false);
    };
    Ok(db::factors::use_step(&services.db, factor.id, step).await?)
}

async fn failed(
    services: &Services,
    buckets: &LoginBuckets,
    user_id: i64,
    client: &Client,
) -> Result<(), AppError> {
    tracing::info!(target: "security", user_id, "wrong second-factor code");
    buckets.failed(services).await?;
    activity::record(services, user_id, Event::CodeFailed, Some(client)).await
}

async fn store_recovery_codes(tx: &mut Tx, user_id: i64, codes: &[String]) -> Result<(), AppError> {
    let hashes: Vec<String> = codes.iter().filter_map(|c| recovery_hash(c)).collect();
    db::factors::replace_recovery_codes(tx, user_id, &hashes, now()).await?;
    Ok(())
}

/// Queues the mail telling the owner their factors changed (sent when `tx` commits).
pub(super) async fn notify(
    services: &Services,
    tx: &mut Tx,
    user: &User,
    change: FactorChange,
) -> Result<(), AppError> {
    let notice = templates::factor_changed(&services.config.site, change);
    Outbox::queue(tx, Some(user.id), &user.email, &notice).await?;
    Ok(())
}

fn enrolment(services: &Services, user: &User, totp: &Totp) -> Enrolment {
    let uri = totp.uri(&services.config.site.name, &user.username);
    Enrolment {
        secret: totp.base32(),
        qr_svg: qr_svg(&uri),
        otpauth_uri: uri,
    }
}

/// The URI as a QR code, an SVG element to place in a page (no XML prolog).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build();
            match svg.find("<svg") {
                Some(start) => svg[start..].to_string(),
                None => svg,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "no QR code for an otpauth URI");
            String::new()
        }
    }
}

fn open(services: &Services, user_id: i64, factor: &TotpFactor) -> Result<Totp, AppError> {
    services
        .sealer
        .open(&context(user_id), &factor.secret)
        .ok()
        .and_then(Totp::from_key)
        .ok_or_else(|| {
            tracing::error!(
                user_id,
                "an authenticator key does not open: was ENCRYPTION_KEY changed?"
            );
            AppError::Internal
        })
}

/// What a sealed key is bound to: its user.
fn context(user_id: i64) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

fn unix_now() -> u64 {
    u64::try_from(now()).unwrap_or(0)
}

fn wrong_code() -> AppError {
    AppError::on_field(
        "code",
        "That code is not right, or was already used. Enter the newest code from your app, or a recovery code.",
    )
}
