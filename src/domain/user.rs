//! What the browser is told about a user: never a hash, never a token.

use serde::{Deserialize, Serialize};

/// A user as shown on the profile page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Whether the person proved the address is theirs.
    pub email_verified: bool,
    /// May use the admin site.
    pub is_staff: bool,
    /// Unix seconds.
    pub date_joined: i64,
    /// Unix seconds.
    pub last_login: Option<i64>,
}

/// One live session, as its owner's device list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeviceView {
    /// Names the session for signing it out; not the session id itself.
    pub id: String,
    /// The browser and system, as a person reads them ("Firefox on Linux").
    pub device: String,
    pub client_ip: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; updated about once a minute while the session is used.
    pub last_used_at: i64,
    /// The session this very request belongs to.
    pub current: bool,
}

/// One security event of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityView {
    /// `login`, `login_failed`, `password_changed`, `password_reset`,
    /// `email_change_requested`, `email_changed`, `session_ended`, `refresh_token_reused`,
    /// `deactivated`.
    pub kind: String,
    /// What happened, in words.
    pub summary: String,
    /// Unix seconds.
    pub at: i64,
    pub client_ip: String,
    pub device: String,
}

/// What a verification or email-change link is for, shown before it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLink {
    /// The address the link confirms.
    pub email: String,
    /// The link moves the account to this new address (rather than verifying its current one).
    pub change: bool,
}

/// The signed-in user plus how long their access token has left, so the client can refresh
/// shortly before it runs out (the token itself stays in an HttpOnly cookie). A duration rather
/// than a time, so the browser's clock does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub user: UserView,
    /// Milliseconds until the access token expires, as of the answer (to the millisecond, so
    /// that short-lived tokens are refreshed before, not after, they run out).
    pub access_expires_in_ms: i64,
}

/// Formats unix seconds as `YYYY-MM-DD HH:MM UTC`, identically on server and client so the
/// hydrated page matches the server's HTML.
pub fn format_timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_timestamp;

    #[test]
    fn timestamps_format_as_utc_dates() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_timestamp(1_795_350_637), "2026-11-22 12:30 UTC");
    }
}
