//! Logging in, refreshing with rotation, resolving an access token, logging out.

use secrecy::SecretString;

use crate::{
    domain::MAX_PASSWORD_BYTES,
    error::AppError,
    server::{
        auth::tokens::{Claims, Signed, TokenError, TokenType, random_id},
        db::{self, sessions::Rotation, users::UserRow},
        now,
        state::AppState,
    },
};

/// How long a just-rotated refresh token still works for requests that raced the rotation
/// (several tabs or parallel calls presenting the same cookie).
pub const REFRESH_REUSE_GRACE_SECS: i64 = 10;

/// Tokens handed out by a log-in or refresh. `refresh` is `None` when a concurrent request
/// already received the successor, so this response must not overwrite it.
pub struct Issued {
    pub access: Signed,
    pub refresh: Option<Signed>,
}

/// What an access token turned out to be.
pub enum Access {
    Valid(Box<UserRow>, Claims),
    Expired,
    Invalid,
}

/// Checks credentials and starts a session. Unknown user, wrong password and inactive account
/// get the same answer, after the same work.
///
/// # Errors
/// [`AppError::InvalidCredentials`] for any failed log-in; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
) -> Result<(UserRow, Issued), AppError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::InvalidCredentials);
    }
    let user = db::users::find_by_login(&state.db, &login.trim().to_lowercase()).await?;
    let verified = state
        .passwords
        .verify(
            user.as_ref().map(|u| u.password_hash.as_str()),
            SecretString::from(password),
        )
        .await?;
    let Some(user) = user.filter(|u| verified && u.is_active.0) else {
        tracing::info!("log-in refused");
        return Err(AppError::InvalidCredentials);
    };
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
    Ok(Issued {
        access,
        refresh: Some(refresh),
    })
}

/// Exchanges a refresh token for a new pair; the presented token is dead afterwards.
///
/// # Errors
/// [`AppError::Unauthorized`] when the token is invalid, expired, revoked or reused, or its
/// user is inactive; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<(UserRow, Issued), AppError> {
    let claims = state
        .tokens
        .verify(refresh_token, TokenType::Refresh)
        .map_err(|_| AppError::Unauthorized)?;
    let now = now();
    let successor = sign(state, TokenType::Refresh, claims.user_id, &claims.sid, now)?;
    let rotation = db::sessions::rotate(
        &state.db,
        &claims.jti_hash(),
        &successor.claims.jti_hash(),
        successor.claims.exp,
        now,
        REFRESH_REUSE_GRACE_SECS,
    )
    .await?;
    let (user_id, session_id, refresh) = match rotation {
        Rotation::Rotated {
            user_id,
            session_id,
        } => (user_id, session_id, Some(successor)),
        Rotation::AlreadyRotated {
            user_id,
            session_id,
        } => (user_id, session_id, None),
        Rotation::Refused => return Err(AppError::Unauthorized),
    };
    let user = db::users::find_by_session(&state.db, user_id, &session_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let access = sign(state, TokenType::Access, user_id, &session_id, now)?;
    tracing::debug!(user_id, rotated = refresh.is_some(), "session refreshed");
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
    Ok(
        match db::users::find_by_session(&state.db, claims.user_id, &claims.sid).await? {
            Some(user) => Access::Valid(Box::new(user), claims),
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
    tracing::info!("logged out");
    Ok(())
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
        .map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            AppError::Internal
        })
}
