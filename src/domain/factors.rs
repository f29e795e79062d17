//! Second factors as pages and API clients see them.

use serde::{Deserialize, Serialize};

/// Which second factors an account has (`GET /api/me/mfa`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FactorStatus {
    /// Whether an authenticator app is on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// Passkeys registered.
    pub passkeys: i64,
}

/// An authenticator-app enrolment waiting for its first code: what the app needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The key in base 32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG document (server-made, no script).
    pub qr_svg: String,
}

/// The second-factor part of the profile page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorOverview {
    pub status: FactorStatus,
    /// An enrolment started and not yet confirmed.
    pub pending: Option<Enrolment>,
    /// Recovery codes just made, shown this once (after a form posted without JavaScript).
    pub fresh_codes: Vec<String>,
}

/// A passkey as its owner sees it (`GET /api/me/passkeys`, the profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasskeyView {
    pub id: i64,
    /// The name the owner gave it ("Work laptop").
    pub name: String,
    /// When it was added, Unix seconds.
    pub created_at: i64,
    /// When it last signed in, Unix seconds; `null` if never.
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony begun for the page: its token and the options for the browser, as
/// JSON text (`{"publicKey": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: String,
}

/// The longest passkey name.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;
