//! Logging in, refreshing with rotation, resolving an access token, logging out.

use std::net::IpAddr;

use secrecy::SecretString;

use crate::{
    domain::check_typed,
    error::{AppError, FieldError, FieldErrors},
    server::{
        auth::{
            live::Change,
            passwords::Verdict,
            tokens::{Claims, Signed, TokenError, TokenType, random_id},
        },
        db::{self, sessions::Rotation, users::UserRow},
        now,
        services::throttle::{self, LoginBuckets},
        state::AppState,
    },
};

/// Longer than any username (150) or email address (254).
const MAX_LOGIN_CHARS: usize = 254;

/// Tokens handed out by a log-in or refresh.
pub struct Issued {
    pub access: Signed,
    pub refresh: Signed,
}

/// What an access token turned out to be.
pub enum Access {
    Valid(Box<UserRow>, Claims),
    Expired,
    Invalid,
}

/// Checks credentials and starts a session. Unknown user, wrong password and inactive account
/// get the same answer, after the same work; failures are counted per account and per client
/// address, and past a few of them both are throttled.
///
/// # Errors
/// [`AppError::Validation`] for input no account could match (over-long, NUL characters);
/// [`AppError::InvalidCredentials`] for any failed log-in; [`AppError::Throttled`] during a
/// back-off; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    client: IpAddr,
) -> Result<(UserRow, Issued), AppError> {
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
    let buckets = LoginBuckets::new(&login, client);
    buckets.check(state).await?;
    let user = db::users::find_by_login(&state.db, &login).await?;
    let verdict = state
        .passwords
        .verify(
            user.as_ref().map(|u| u.password_hash.as_str()),
            SecretString::from(password),
        )
        .await?;
    let Some(user) = user.filter(|u| verdict.is_right() && u.is_active.0) else {
        tracing::info!(target: "security", "log-in refused");
        buckets.failed(state).await?;
        return Err(AppError::InvalidCredentials);
    };
    buckets.succeeded(state).await?;
    if verdict == Verdict::RightButOutdated {
        let upgraded = state.passwords.hash(SecretString::from(password)).await?;
        db::users::set_password_hash(&state.db, user.id, &upgraded).await?;
        tracing::info!(
            user_id = user.id,
            "password hash upgraded to the current parameters"
        );
    }
    let issued = start(state, user.id).await?;
    tracing::info!(user_id = user.id, "logged in");
    Ok((
        UserRow {
            last_login: Some(issued.access.claims.iat),
            ..user
        },
        issued,
    ))
}

/// Starts a new session for `user_id` with a fresh token pair (a log-in: sign-up and log-in
/// both record it as the user's last login).
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn start(state: &AppState, user_id: i64) -> Result<Issued, AppError> {
    let now = now();
    let session_id = random_id();
    let access = sign(state, TokenType::Access, user_id, &session_id, now)?;
    let refresh = sign(state, TokenType::Refresh, user_id, &session_id, now)?;
    db::sessions::create(
        &state.db,
        &session_id,
        user_id,
        &refresh.claims.jti_hash(),
        refresh.claims.exp,
        now,
    )
    .await?;
    db::users::set_last_login(&state.db, user_id, now).await?;
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
    state: &AppState,
    refresh_token: &str,
    client: IpAddr,
) -> Result<(UserRow, Issued), AppError> {
    let verified = state.tokens.verify(refresh_token, TokenType::Refresh);
    let subject = match &verified {
        Ok(claims) => format!("session:{}", claims.sid),
        Err(_) => format!("address:{client}"),
    };
    throttle::take(state, throttle::REFRESH, &subject).await?;
    let claims = verified.map_err(|_| AppError::Unauthorized)?;
    let now = now();
    let successor_id = claims.successor_id();
    let successor = sign_with_id(state, &claims, successor_id.clone(), now)?;
    let rotation = db::sessions::rotate(
        &state.db,
        &claims.jti_hash(),
        &successor.claims.jti_hash(),
        successor.claims.exp,
        now,
        state.settings.refresh_reuse_grace,
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
            sign_with_id(state, &claims, successor_id, rotated_at)?,
        ),
        Rotation::Reused { session_id } => {
            state
                .live
                .publish(&state.db, Change::Session(session_id))
                .await;
            return Err(AppError::Unauthorized);
        }
        Rotation::Refused => return Err(AppError::Unauthorized),
    };
    let user = db::users::find_by_session(&state.db, user_id, &session_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let access = sign(state, TokenType::Access, user_id, &session_id, now)?;
    tracing::debug!(user_id, "session refreshed");
    Ok((user, Issued { access, refresh }))
}

/// Resolves an access token to its user, if the token is good and its session is live.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn authenticate(state: &AppState, access_token: &str) -> Result<Access, AppError> {
    resolve(state, state.tokens.verify(access_token, TokenType::Access)).await
}

/// Checks a token of either type (the API's verify endpoint): signature, expiry, a live
/// session, and for a refresh token that it has not been used.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn check_any(state: &AppState, token: &str) -> Result<Access, AppError> {
    let verified = match state.tokens.verify(token, TokenType::Access) {
        Err(TokenError::Invalid) => state.tokens.verify(token, TokenType::Refresh),
        other => other,
    };
    if let Ok(claims) = &verified
        && claims.token_type == TokenType::Refresh
        && !db::sessions::refresh_token_unused(&state.db, &claims.jti_hash()).await?
    {
        return Ok(Access::Invalid);
    }
    resolve(state, verified).await
}

async fn resolve(
    state: &AppState,
    verified: Result<Claims, TokenError>,
) -> Result<Access, AppError> {
    let claims = match verified {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Ok(Access::Expired),
        Err(TokenError::Invalid) => return Ok(Access::Invalid),
    };
    let read_at = state.live.generation();
    if let Some(user) = state.live.get(&claims.sid, claims.user_id) {
        return Ok(Access::Valid(Box::new(user), claims));
    }
    Ok(
        match db::users::find_by_session(&state.db, claims.user_id, &claims.sid).await? {
            Some(user) => {
                state.live.put(read_at, &claims.sid, user.clone());
                Access::Valid(Box::new(user), claims)
            }
            None => Access::Invalid,
        },
    )
}

/// Ends the session a refresh token belongs to (the API's blacklist endpoint).
///
/// # Errors
/// [`AppError::Unauthorized`] for a token that is not a valid refresh token;
/// [`AppError::Internal`] on storage failure.
pub async fn revoke_by_refresh(state: &AppState, refresh_token: &str) -> Result<(), AppError> {
    let claims = state
        .tokens
        .verify(refresh_token, TokenType::Refresh)
        .map_err(|_| AppError::Unauthorized)?;
    logout(state, &claims.sid).await
}

/// Ends a session (log-out): its refresh token and access tokens stop working.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn logout(state: &AppState, session_id: &str) -> Result<(), AppError> {
    db::sessions::revoke(&state.db, session_id, now()).await?;
    state
        .live
        .publish(&state.db, Change::Session(session_id.to_string()))
        .await;
    tracing::info!("logged out");
    Ok(())
}

/// Ends every session of a user, this one included (log-out everywhere). Returns how many.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn logout_everywhere(state: &AppState, user_id: i64) -> Result<u64, AppError> {
    let ended = db::sessions::revoke_all(&state.db, user_id, now()).await?;
    state.live.publish(&state.db, Change::User(user_id)).await;
    tracing::info!(target: "security", user_id, sessions_ended = ended, "logged out everywhere");
    Ok(ended)
}

/// The successor of a refresh token, issued at `now`.
fn sign_with_id(
    state: &AppState,
    previous: &Claims,
    jti: String,
    now: i64,
) -> Result<Signed, AppError> {
    state
        .tokens
        .sign_with_id(
            TokenType::Refresh,
            previous.user_id,
            &previous.sid,
            jti,
            now,
        )
        .map_err(signing_failed)
}

fn signing_failed(e: TokenError) -> AppError {
    tracing::error!(error = %e, "token signing failed");
    AppError::Internal
}

fn sign(
    state: &AppState,
    kind: TokenType,
    user_id: i64,
    session_id: &str,
    now: i64,
) -> Result<Signed, AppError> {
    state
        .tokens
        .sign(kind, user_id, session_id, now)
        .map_err(signing_failed)
}
