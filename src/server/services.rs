//! Use cases shared by the pages' server functions and the JSON API: one implementation of
//! every rule, two transports. Each takes the [`Services`] it works with, never the HTTP state.

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod cleanup;
pub mod devices;
pub mod email;
pub mod factors;
pub mod outbox;
pub mod passkeys;
pub mod recovery;
pub mod session_cache;
pub mod sessions;
pub mod throttles;

use std::sync::Arc;

use super::{
    auth::{passkeys::RelyingParty, passwords::Passwords, sealed::Sealer, tokens::Tokens},
    config::AccountSettings,
    db::Db,
    mail::templates::Site,
};
use outbox::Outbox;
use session_cache::SessionCache;

/// What the use cases work with: storage, signing keys (with the token settings), password
/// hashers, the session cache, the mail outbox and the account rules.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    /// Behind an `Arc`: cloned with every request's state, the keys are not.
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub cache: SessionCache,
    pub outbox: Outbox,
    /// Seals authenticator-app keys at rest (`ENCRYPTION_KEY`).
    pub sealer: Arc<Sealer>,
    /// The WebAuthn relying party; `None` where passkeys cannot work (an IP-address site).
    pub passkeys: Option<Arc<RelyingParty>>,
    pub config: Arc<ServiceConfig>,
}

/// The settings use cases read: what mail says about the site, and how accounts are verified
/// and recovered.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub site: Site,
    pub accounts: AccountSettings,
    /// `REQUIRE_MFA_FOR_STAFF`.
    pub require_mfa_for_staff: bool,
}

impl ServiceConfig {
    /// A link to `path` (with its query) on the public site.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.site.url)
    }
}
