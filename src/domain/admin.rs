//! What the admin site and the admin API show of accounts, groups and the audit log, in
//! Django's field names.

use serde::{Deserialize, Serialize};

/// An account as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub email_verified: bool,
    /// Unix seconds.
    pub date_joined: i64,
    /// Unix seconds.
    pub last_login: Option<i64>,
    /// Ids of the groups the account is in (empty in lists).
    pub groups: Vec<i64>,
    /// Codenames given to the account directly (empty in lists).
    pub user_permissions: Vec<String>,
}

/// A group and the codenames it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminGroup {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
}

/// One recorded admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The username of who did it, or the operator at the command line.
    pub actor: String,
    pub action: String,
    pub target: String,
    /// The client address it came from (`cli` for the command line).
    pub address: String,
}

/// A page of a long list: the rows, how many there are in all, and opaque cursors to the
/// pages before and after (absent at either end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Listing<T> {
    pub count: i64,
    pub results: Vec<T>,
    pub next: Option<String>,
    pub previous: Option<String>,
}
