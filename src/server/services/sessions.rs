//! Logging in, refreshing with rotation, resolving an access token, logging out.

use std::net::IpAddr;

use secrecy::SecretString;

use super::{
    Services,
    activity::{self, Event},
    devices::Client,
    factors::{self, Challenge},
    passkeys,
    session_cache::Change,
    throttles::{self, LoginBuckets},
};
use crate::{
    domain::check_typed,
    error::{AppError, FieldError, FieldErrors},
    server::{
        auth::{
            passwords::Verdict,
            tokens::{
                AccessFacts, Claims, Method, Proof, Signed, TokenError, TokenType, random_id,
            },
        },
        config::EmailVerification,
        db::{self, users::User},
        now,
    },
};

/// Longer than any username (150) or email address (254).
const MAX_LOGIN_CHARS: usize = 254;

/// Tokens handed out by a log-in or refresh.
pub struct Issued {
    pub access: Signed,
    pub refresh: Signed,
}

/// Where a right password leads.
pub enum LogIn {
    /// Signed in.
    Done(Box<User>, Box<Issued>),
    /// The account has a second factor: the log-in finishes with a code and this challenge
    /// ([`finish_login`]). No session exists yet.
    SecondStep(Challenge),
}

/// What an access token turned out to be.
pub enum Access {
    Valid(Box<User>, Claims),
    Expired,
    Invalid,
}

/// Checks credentials and starts a session, or, for an account with a second factor, opens
/// the code step instead. Unknown user, wrong password and inactive account
/// get the same answer, after the same work; failures are counted per account and per client
/// address, and past a few of them both are throttled.
///
/// # Errors
/// [`AppError::Validation`] for input no account could match (over-long, NUL characters);
/// [`AppError::InvalidCredentials`] for any failed log-in; [`AppError::Throttled`] during a
/// back-off; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn login(
    services: &Services,
    login: &str,
    password: &str,
    client: &Client,
) -> Result<LogIn, AppError> {
    let mut errors = FieldErrors::default();
    if login.contains('\0') || login.chars().count() > MAX_LOGIN_CHARS {
        errors.add(
            "login",
            FieldError::new("Enter the email or username you signed up with."),
        );
    }
    errors.check("password", check_typed(password));
    errors.into_result()?;
    let login = crate::domain::fold(login);
    let buckets = LoginBuckets::new(&login, client.ip);
    buckets.check(services).await?;
    let found = db::users::find_for_login(&services.db, &login).await?;
    let verdict = services
        .passwords
        .verify(
            found.as_ref().map(|(_, hash)| hash.as_str()),
            SecretString::from(password),
        )
        .await?;
    let user = found.map(|(user, _)| user);
    let Some(user) = user.clone().filter(|u| verdict.is_right() && u.is_active) else {
        tracing::info!(target: "security", "log-in refused");
        buckets.failed(services).await?;
        if let Some(user) = user.filter(|u| u.is_active) {
            activity::record(services, user.id, Event::LogInFailed, Some(client)).await?;
        }
        return Err(AppError::InvalidCredentials);
    };
    buckets.succeeded(services).await?;
    verified_if_required(services, &user)?;
    if verdict == Verdict::RightButOutdated {
        let upgraded = services
            .passwords
            .hash(SecretString::from(password))
            .await?;
        db::users::rehash_password(&services.db, user.id, &upgraded).await?;
        tracing::info!(
            user_id = user.id,
            "password hash upgraded to the current parameters"
        );
    }
    if factors::required(services, user.id).await? {
        tracing::info!(user_id = user.id, "password accepted; a code is next");
        return Ok(LogIn::SecondStep(
            factors::open_challenge(services, user.id).await?,
        ));
    }
    let (user, issued) = signed_in(services, user, Proof::password(now()), client).await?;
    Ok(LogIn::Done(Box::new(user), Box::new(issued)))
}

/// The code step of a log-in ([`LogIn::SecondStep`]): with a good code (from the app, or a
/// recovery code) for a live challenge, the session starts, its tokens saying both factors.
///
/// # Errors
/// [`AppError::Validation`] on `mfa_token` (expired, finished or unknown) or `code` (wrong
/// or used); [`AppError::InvalidCredentials`] when the account was deactivated meanwhile;
/// [`AppError::Throttled`] past the limits; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn finish_login(
    services: &Services,
    mfa_token: &str,
    code: &str,
    client: &Client,
) -> Result<(User, Issued), AppError> {
    let user_id = factors::finish_challenge(services, mfa_token, code, client).await?;
    let user = db::users::find(&services.db, user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AppError::InvalidCredentials)?;
    let proof = Proof {
        amr: vec![Method::Pwd, Method::Otp],
        auth_time: now(),
    };
    signed_in(services, user, proof, client).await
}

/// Signs in with a passkey ([`passkeys::finish_sign_in`]): one step, both factors (the
/// authenticator verified its user), the tokens saying `hwk` or `swk`.
///
/// # Errors
/// [`AppError::Validation`] on `ceremony` or `credential`; [`AppError::InvalidCredentials`]
/// for a deactivated account; [`AppError::EmailNotVerified`] where verification is mandatory;
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn passkey_login(
    services: &Services,
    ceremony: &str,
    credential: &serde_json::Value,
    client: &Client,
) -> Result<(User, Issued), AppError> {
    let (user_id, method) =
        passkeys::finish_sign_in(services, ceremony, credential, client).await?;
    let user = db::users::find(&services.db, user_id)
        .await?
        .filter(|u| u.is_active)
        .ok_or(AppError::InvalidCredentials)?;
    verified_if_required(services, &user)?;
    let proof = Proof {
        amr: vec![method],
        auth_time: now(),
    };
    signed_in(services, user, proof, client).await
}

/// With `EMAIL_VERIFICATION=mandatory`, an unverified address logs in by no means.
fn verified_if_required(services: &Services, user: &User) -> Result<(), AppError> {
    if services.config.accounts.email_verification == EmailVerification::Mandatory
        && !user.email_verified
    {
        tracing::info!(target: "security", user_id = user.id, "log-in refused: address not verified");
        return Err(AppError::EmailNotVerified);
    }
    Ok(())
}

/// Starts the session of a finished log-in and records it.
async fn signed_in(
    services: &Services,
    user: User,
    proof: Proof,
    client: &Client,
) -> Result<(User, Issued), AppError> {
    let issued = start(services, &user, &proof, client).await?;
    activity::record(services, user.id, Event::LoggedIn, Some(client)).await?;
    tracing::info!(user_id = user.id, "logged in");
    Ok((
        User {
            last_login: Some(issued.access.claims.iat),
            ..user
        },
        issued,
    ))
}

/// Starts a new session for `user` with a fresh token pair (a log-in: sign-up and log-in
/// both record it as the user's last login), authenticated as `proof` says.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn start(
    services: &Services,
    user: &User,
    proof: &Proof,
    client: &Client,
) -> Result<Issued, AppError> {
    let now = now();
    let user_id = user.id;
    let session_id = random_id();
    let access = sign_access(services, user, &session_id, proof, now).await?;
    let refresh = services
        .tokens
        .sign(TokenType::Refresh, user_id, &session_id, proof, now)
        .map_err(signing_failed)?;
    db::sessions::create(
        &services.db,
        &db::sessions::NewSession {
            id: &session_id,
            user_id,
            token_hash: &refresh.claims.jti_hash(),
            expires_at: refresh.claims.exp,
            now,
            client_ip: &client.ip.to_string(),
            user_agent: &client.user_agent,
        },
    )
    .await?;
    db::users::set_last_login(&services.db, user_id, now).await?;
    Ok(Issued { access, refresh })
}

/// Exchanges a refresh token for a new pair; the presented token is dead afterwards.
///
/// # Errors
/// [`AppError::Unauthorized`] when the token is invalid, expired, revoked or reused, or its
/// user is inactive; [`AppError::Throttled`] past the session's (or, for a bad token, the
/// client's) refresh rate limit;
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn refresh(
    services: &Services,
    refresh_token: &str,
    client: IpAddr,
) -> Result<(User, Issued), AppError> {
    let verified = services.tokens.verify(refresh_token, TokenType::Refresh);
    let subject = match &verified {
        Ok(claims) => format!("session:{}", claims.sid),
        Err(_) => format!("address:{client}"),
    };
    throttles::take(services, throttles::REFRESH, &subject).await?;
    let claims = verified.map_err(|_| AppError::Unauthorized)?;
    let now = now();
    let successor_id = claims.successor_id();
    let successor = sign_with_id(services, &claims, successor_id.clone(), now)?;
    let rotation = rotate(
        services,
        &claims.jti_hash(),
        &successor.claims.jti_hash(),
        successor.claims.exp,
        now,
    )
    .await?;
    let (user_id, session_id, refresh) = match rotation {
        Rotation::Rotated {
            user_id,
            session_id,
        } => (user_id, session_id, successor),
        // The same successor, signed again as it was at the rotation: the same token.
        Rotation::AlreadyRotated {
            user_id,
            session_id,
            rotated_at,
        } => (
            user_id,
            session_id,
            sign_with_id(services, &claims, successor_id, rotated_at)?,
        ),
        Rotation::Refused => return Err(AppError::Unauthorized),
    };
    let user = live_user(services, user_id, &session_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let access = sign_access(services, &user, &session_id, &claims.proof(), now).await?;
    tracing::debug!(user_id, "session refreshed");
    Ok((user, Issued { access, refresh }))
}

/// What presenting a refresh token did.
enum Rotation {
    /// The token was live: it is now used and its successor stored.
    Rotated { user_id: i64, session_id: String },
    /// The token was rotated `rotated_at`, within the grace window, by a concurrent request
    /// of the same browser (or a retry whose answer was lost). The session is still good.
    AlreadyRotated {
        user_id: i64,
        session_id: String,
        rotated_at: i64,
    },
    /// Unknown, expired, revoked, or reused after the grace window (the session is then
    /// revoked: someone kept a copy).
    Refused,
}

/// Uses a refresh token, or decides what its earlier use means: within the grace window a
/// race of the same browser, after it theft.
async fn rotate(
    services: &Services,
    old_hash: &str,
    new_hash: &str,
    new_expires_at: i64,
    now: i64,
) -> Result<Rotation, AppError> {
    let db = &services.db;
    if let Some((user_id, session_id)) =
        db::sessions::use_refresh_token(db, old_hash, new_hash, new_expires_at, now).await?
    {
        return Ok(Rotation::Rotated {
            user_id,
            session_id,
        });
    }
    let Some(seen) = db::sessions::find_refresh_token(db, old_hash)
        .await?
        .filter(|t| !t.session_revoked)
    else {
        return Ok(Rotation::Refused);
    };
    let grace =
        i64::try_from(services.tokens.settings().refresh_reuse_grace.as_secs()).unwrap_or(i64::MAX);
    Ok(match seen.used_at {
        Some(used_at) if seen.expires_at > now && now - used_at <= grace => {
            Rotation::AlreadyRotated {
                user_id: seen.user_id,
                session_id: seen.session_id,
                rotated_at: used_at,
            }
        }
        Some(_) => {
            tracing::warn!(
                target: "security",
                user_id = seen.user_id,
                "refresh token reused after its grace window; session revoked"
            );
            db::sessions::revoke(db, &seen.session_id, now).await?;
            services.cache.apply(&Change::Session(seen.session_id));
            activity::record(services, seen.user_id, Event::RefreshTokenReused, None).await?;
            Rotation::Refused
        }
        None => Rotation::Refused,
    })
}

/// Resolves an access token to its user, if the token is good and its session is live.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn authenticate(services: &Services, access_token: &str) -> Result<Access, AppError> {
    user_for(
        services,
        services.tokens.verify(access_token, TokenType::Access),
    )
    .await
}

/// Checks a token of either type (the API's verify endpoint): signature, expiry, a live
/// session, and for a refresh token that it has not been used.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn check_any(services: &Services, token: &str) -> Result<Access, AppError> {
    let verified = match services.tokens.verify(token, TokenType::Access) {
        Err(TokenError::Invalid) => services.tokens.verify(token, TokenType::Refresh),
        other => other,
    };
    if let Ok(claims) = &verified
        && claims.token_type == TokenType::Refresh
        && !db::sessions::refresh_token_unused(&services.db, &claims.jti_hash()).await?
    {
        return Ok(Access::Invalid);
    }
    user_for(services, verified).await
}

/// The user of verified claims whose session is live (from the cache when it can).
async fn user_for(
    services: &Services,
    verified: Result<Claims, TokenError>,
) -> Result<Access, AppError> {
    let claims = match verified {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Ok(Access::Expired),
        Err(TokenError::Invalid) => return Ok(Access::Invalid),
    };
    let read_at = services.cache.generation();
    if let Some(user) = services.cache.get(&claims.sid, claims.user_id) {
        return Ok(Access::Valid(Box::new(user), claims));
    }
    Ok(
        match live_user(services, claims.user_id, &claims.sid).await? {
            Some(user) => {
                services.cache.put(read_at, &claims.sid, user.clone());
                Access::Valid(Box::new(user), claims)
            }
            None => Access::Invalid,
        },
    )
}

/// The active user of a live session, read from the database, which also records that the
/// session was just used: this runs when the session cache misses (at most about once a
/// minute per session and instance, [`super::session_cache::MAX_AGE`]) and on refresh, so
/// "last used" costs no write per request.
async fn live_user(
    services: &Services,
    user_id: i64,
    session_id: &str,
) -> Result<Option<User>, AppError> {
    let user = db::users::find_by_session(&services.db, user_id, session_id).await?;
    if user.is_some() {
        db::sessions::touch(&services.db, session_id, now()).await?;
    }
    Ok(user)
}

/// Ends the session a refresh token belongs to (the API's blacklist endpoint).
///
/// # Errors
/// [`AppError::Unauthorized`] for a token that is not a valid refresh token;
/// [`AppError::Internal`] on storage failure.
pub async fn revoke_by_refresh(services: &Services, refresh_token: &str) -> Result<(), AppError> {
    let claims = services
        .tokens
        .verify(refresh_token, TokenType::Refresh)
        .map_err(|_| AppError::Unauthorized)?;
    logout(services, &claims.sid).await
}

/// Ends a session (log-out): its refresh token and access tokens stop working.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn logout(services: &Services, session_id: &str) -> Result<(), AppError> {
    db::sessions::revoke(&services.db, session_id, now()).await?;
    services
        .cache
        .apply(&Change::Session(session_id.to_string()));
    tracing::info!("logged out");
    Ok(())
}

/// Ends every session of a user, this one included (log-out everywhere). Returns how many.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn logout_everywhere(services: &Services, user_id: i64) -> Result<u64, AppError> {
    let mut tx = services.db.begin().await?;
    let ended = db::sessions::revoke_all(&mut tx, user_id, now()).await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user_id));
    activity::record(services, user_id, Event::SessionEnded, None).await?;
    tracing::info!(target: "security", user_id, sessions_ended = ended, "logged out everywhere");
    Ok(ended)
}

/// The successor of a refresh token, issued at `now`.
fn sign_with_id(
    services: &Services,
    previous: &Claims,
    jti: String,
    now: i64,
) -> Result<Signed, AppError> {
    services
        .tokens
        .sign_with_id(
            TokenType::Refresh,
            previous.user_id,
            &previous.sid,
            jti,
            &previous.proof(),
            now,
        )
        .map_err(signing_failed)
}

fn signing_failed(e: TokenError) -> AppError {
    tracing::error!(error = %e, "token signing failed");
    AppError::Internal
}

/// Signs an access token, with the claims `TOKEN_CLAIMS` asks for read from the database now
/// (so the next token after a change of groups or permissions carries the change).
async fn sign_access(
    services: &Services,
    user: &User,
    session_id: &str,
    proof: &Proof,
    now: i64,
) -> Result<Signed, AppError> {
    let wanted = services.tokens.settings().claims;
    let mut facts = AccessFacts {
        email_verified: user.email_verified,
        is_staff: wanted.is_staff.then_some(user.is_staff),
        ..AccessFacts::default()
    };
    if wanted.groups {
        let groups = db::permissions::groups_of(&services.db, user.id).await?;
        facts.groups = Some(groups.into_iter().map(|(_, name)| name).collect());
    }
    if wanted.permissions {
        let grants = db::permissions::grants_of(&services.db, user.id, user.is_superuser).await?;
        facts.permissions = Some(grants.codenames());
    }
    services
        .tokens
        .sign_access(user.id, session_id, facts, proof, now)
        .map_err(signing_failed)
}
