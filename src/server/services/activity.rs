//! The account's security events, kept 90 days (the sweep deletes older ones): what the
//! activity page and `GET /api/me/activity` list.

use super::{
    Services,
    devices::{Client, describe},
};
use crate::{
    domain::ActivityView,
    error::AppError,
    server::{
        db::{self, events::NewEvent},
        now,
    },
};

/// How long events are kept.
pub const KEPT_SECONDS: i64 = 90 * 86_400;
/// Most events a page lists.
const LISTED: i64 = 200;

/// What happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LoggedIn,
    LogInFailed,
    PasswordChanged,
    PasswordReset,
    EmailChangeRequested,
    EmailChanged,
    SessionEnded,
    RefreshTokenReused,
    Deactivated,
    AuthenticatorAdded,
    AuthenticatorRemoved,
    RecoveryCodesRenewed,
    RecoveryCodeUsed,
    CodeFailed,
    FactorsRemovedByStaff,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeyUsed,
    PasskeyRefused,
}

impl Event {
    const ALL: [Self; 19] = [
        Self::LoggedIn,
        Self::LogInFailed,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::SessionEnded,
        Self::RefreshTokenReused,
        Self::Deactivated,
        Self::AuthenticatorAdded,
        Self::AuthenticatorRemoved,
        Self::RecoveryCodesRenewed,
        Self::RecoveryCodeUsed,
        Self::CodeFailed,
        Self::FactorsRemovedByStaff,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::PasskeyUsed,
        Self::PasskeyRefused,
    ];

    fn kind(self) -> &'static str {
        match self {
            Self::LoggedIn => "login",
            Self::LogInFailed => "login_failed",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::SessionEnded => "session_ended",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Deactivated => "deactivated",
            Self::AuthenticatorAdded => "authenticator_added",
            Self::AuthenticatorRemoved => "authenticator_removed",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::CodeFailed => "code_failed",
            Self::FactorsRemovedByStaff => "factors_removed_by_staff",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeyUsed => "passkey_used",
            Self::PasskeyRefused => "passkey_refused",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Self::LoggedIn => "Logged in",
            Self::LogInFailed => "Failed log-in (wrong password)",
            Self::PasswordChanged => "Password changed",
            Self::PasswordReset => "Password reset by mailed link",
            Self::EmailChangeRequested => "Email change requested",
            Self::EmailChanged => "Email address changed",
            Self::SessionEnded => "Signed out a session",
            Self::RefreshTokenReused => "A stolen session token was used; that session was ended",
            Self::Deactivated => "Account deactivated",
            Self::AuthenticatorAdded => "Authenticator app turned on",
            Self::AuthenticatorRemoved => "Authenticator app turned off",
            Self::RecoveryCodesRenewed => "New recovery codes made (the old ones stopped working)",
            Self::RecoveryCodeUsed => "Recovery code used",
            Self::CodeFailed => "Wrong second-factor code",
            Self::FactorsRemovedByStaff => "Second factors and passkeys removed by staff",
            Self::PasskeyAdded => "Passkey added",
            Self::PasskeyRemoved => "Passkey removed",
            Self::PasskeyUsed => "Signed in with a passkey",
            Self::PasskeyRefused => {
                "A passkey was refused: its counter shows it may have been copied"
            }
        }
    }
}

/// Records `event` for `user_id`, with the client it came from when there is one.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn record(
    services: &Services,
    user_id: i64,
    event: Event,
    client: Option<&Client>,
) -> Result<(), AppError> {
    let ip = client.map(|c| c.ip.to_string()).unwrap_or_default();
    db::events::record(
        &services.db,
        &NewEvent {
            user_id,
            kind: event.kind(),
            at: now(),
            client_ip: &ip,
            user_agent: client.map_or("", |c| c.user_agent.as_str()),
        },
    )
    .await?;
    Ok(())
}

/// The user's events of the last 90 days, newest first.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn list(services: &Services, user_id: i64) -> Result<Vec<ActivityView>, AppError> {
    let events = db::events::of_user(&services.db, user_id, now() - KEPT_SECONDS, LISTED).await?;
    Ok(events
        .into_iter()
        .map(|e| {
            let event = Event::ALL.into_iter().find(|k| k.kind() == e.kind);
            ActivityView {
                summary: event.map_or("Other", Event::summary).to_string(),
                kind: e.kind,
                at: e.at.0,
                device: if e.user_agent.is_empty() && e.client_ip.is_empty() {
                    String::new()
                } else {
                    describe(&e.user_agent)
                },
                client_ip: e.client_ip,
            }
        })
        .collect())
}
