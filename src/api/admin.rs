//! The admin site's server functions. Each finds its caller among active staff first and
//! answers anyone else 404, as the admin pages do; what staff may do is checked by the
//! services against their permissions.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        ActivityView, DeviceView,
        admin::{AdminGroup, AdminUser, AuditEntry, Listing},
    },
    error::AppError,
};

/// What the signed-in staff member may do on the admin site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAbilities {
    pub change_users: bool,
    pub delete_users: bool,
    pub view_groups: bool,
    pub change_groups: bool,
    pub view_audit_log: bool,
    pub superuser: bool,
}

/// An account's admin page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub user: AdminUser,
    /// Every group, to offer those the account is not in.
    pub all_groups: Vec<AdminGroup>,
    pub sessions: Vec<DeviceView>,
    pub activity: Vec<ActivityView>,
    pub can: StaffAbilities,
}

#[cfg(feature = "ssr")]
mod staff {
    use super::StaffAbilities;
    use crate::{
        domain::permissions as perm,
        error::AppError,
        server::{services::admin::Actor, state::AppState},
    };

    /// The caller as staff, or the 404 anyone else gets.
    pub async fn actor(state: &AppState) -> Result<Actor, AppError> {
        let identity = crate::api::support::identity()
            .await?
            .ok_or(AppError::NotFound)?;
        let address = crate::api::support::client()?;
        Actor::staff(&state.services, &identity.user, &identity.proof, address)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub fn abilities(actor: &Actor) -> StaffAbilities {
        let grants = actor.grants();
        StaffAbilities {
            change_users: grants.has(perm::CHANGE_USER),
            delete_users: grants.has(perm::DELETE_USER),
            view_groups: grants.has(perm::VIEW_GROUP),
            change_groups: grants.has(perm::CHANGE_GROUP),
            view_audit_log: grants.has(perm::VIEW_AUDIT_LOG),
            superuser: grants.superuser,
        }
    }

    /// A checkbox or select's "true"/"false".
    pub fn yes(value: &str) -> bool {
        value == "true"
    }
}

/// What the signed-in staff member may do (the admin pages' navigation).
#[server(prefix = "/fn", endpoint = "admin_abilities")]
pub async fn admin_abilities() -> Result<StaffAbilities, AppError> {
    use super::support::serve;
    serve(|state| async move { Ok(staff::abilities(&staff::actor(&state).await?)) }).await
}

/// A page of accounts: `search`, filters (`"true"`, `"false"` or empty), `ordering`
/// (`username`, `-date_joined`, ...) and the `cursor` of a neighbouring page.
#[server(prefix = "/fn", endpoint = "admin_users")]
pub async fn admin_users(
    search: String,
    is_active: String,
    is_staff: String,
    email_verified: String,
    ordering: String,
    cursor: String,
) -> Result<Listing<AdminUser>, AppError> {
    use super::support::serve;
    use crate::server::{db::users::listing, services::admin};

    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        let filter = |raw: &str| match raw {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        let (descending, field) = ordering
            .strip_prefix('-')
            .map_or((false, ordering.as_str()), |f| (true, f));
        let sort = match field {
            "email" => listing::SortKey::Email,
            "date_joined" => listing::SortKey::DateJoined,
            "id" => listing::SortKey::Id,
            _ => listing::SortKey::Username,
        };
        let cursor = match cursor.as_str() {
            "" => None,
            raw => Some(admin::decode_cursor(raw, sort)?),
        };
        let query = listing::Query {
            search: Some(crate::domain::fold(&search)).filter(|s| !s.is_empty()),
            is_active: filter(&is_active),
            is_staff: filter(&is_staff),
            email_verified: filter(&email_verified),
            sort,
            descending,
            cursor,
            limit: 50,
        };
        let (page, count) = admin::users(&state.services, &actor, &query).await?;
        let (next, previous) = admin::neighbours(&page, sort);
        Ok(Listing {
            count,
            results: page.users.iter().map(admin::summary).collect(),
            next,
            previous,
        })
    })
    .await
}

/// An account's page: details, groups, sessions, recent activity, and what the caller may do.
#[server(prefix = "/fn", endpoint = "admin_account")]
pub async fn admin_account(id: i64) -> Result<UserPage, AppError> {
    use super::support::serve;
    use crate::server::services::{activity, admin};

    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        let services = &state.services;
        let user = admin::user(services, &actor, id).await?;
        let all_groups = if actor.grants().has(crate::domain::permissions::VIEW_GROUP) {
            admin::groups(services, &actor).await?
        } else {
            Vec::new()
        };
        let mut can = staff::abilities(&actor);
        // A superuser's account is a superuser's to change (the services refuse anyone else).
        if user.is_superuser && !can.superuser {
            can.change_users = false;
            can.delete_users = false;
        }
        Ok(UserPage {
            user: admin::details(services, &actor, &user).await?,
            all_groups,
            sessions: admin::sessions(services, &actor, &user).await?,
            activity: activity::list(services, user.id).await?,
            can,
        })
    })
    .await
}

/// Runs one admin action on account `id`, then sends a form without JavaScript back to its
/// page (or `to`, when the account is gone).
#[cfg(feature = "ssr")]
async fn on_user<F, Fut>(id: i64, to: Option<&str>, action: F) -> Result<(), AppError>
where
    F: FnOnce(
        crate::server::state::AppState,
        crate::server::services::admin::Actor,
        crate::server::db::users::User,
    ) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    use super::support::serve;
    use crate::server::services::admin;

    let to = to.map_or_else(|| format!("/admin/users/{id}"), str::to_string);
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        let user = admin::user(&state.services, &actor, id).await?;
        action(state, actor, user).await?;
        leptos_axum::redirect(&to);
        Ok(())
    })
    .await
}

/// Activates (`active` "true") or deactivates account `id`.
#[server(prefix = "/fn", endpoint = "admin_set_active")]
pub async fn admin_set_active(id: i64, active: String) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::set_active(
            &state.services,
            &actor,
            &user,
            staff::yes(&active),
        )
        .await
        .map(drop)
    })
    .await
}

/// Gives or takes staff and superuser status (superusers only).
#[server(prefix = "/fn", endpoint = "admin_set_status")]
pub async fn admin_set_status(
    id: i64,
    is_staff: String,
    is_superuser: String,
) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        let changes = crate::server::services::admin::Changes {
            is_staff: Some(staff::yes(&is_staff)),
            is_superuser: Some(staff::yes(&is_superuser)),
            ..Default::default()
        };
        crate::server::services::admin::change_user(&state.services, &actor, &user, &changes)
            .await
            .map(drop)
    })
    .await
}

/// Puts account `id` in group `group` (`join` "true") or takes it out.
#[server(prefix = "/fn", endpoint = "admin_set_group")]
pub async fn admin_set_group(id: i64, group: i64, join: String) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        use crate::server::services::admin;
        let current = admin::details(&state.services, &actor, &user).await?;
        let mut groups: Vec<i64> = current.groups.into_iter().filter(|g| *g != group).collect();
        if staff::yes(&join) {
            groups.push(group);
        }
        let changes = admin::Changes {
            groups: Some(groups),
            ..Default::default()
        };
        admin::change_user(&state.services, &actor, &user, &changes)
            .await
            .map(drop)
    })
    .await
}

/// Gives account `id` permission `codename` directly (`give` "true") or takes it away.
#[server(prefix = "/fn", endpoint = "admin_set_permission")]
pub async fn admin_set_permission(id: i64, codename: String, give: String) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        use crate::server::services::admin;
        let current = admin::details(&state.services, &actor, &user).await?;
        let mut codenames: Vec<String> = current
            .user_permissions
            .into_iter()
            .filter(|c| *c != codename)
            .collect();
        if staff::yes(&give) {
            codenames.push(codename);
        }
        let changes = admin::Changes {
            user_permissions: Some(codenames),
            ..Default::default()
        };
        admin::change_user(&state.services, &actor, &user, &changes)
            .await
            .map(drop)
    })
    .await
}

/// Ends one session of account `id` (`session` as its page names it).
#[server(prefix = "/fn", endpoint = "admin_end_session")]
pub async fn admin_end_session(id: i64, session: String) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::end_session(&state.services, &actor, &user, &session)
            .await
            .map(drop)
    })
    .await
}

/// Ends every session of account `id`.
#[server(prefix = "/fn", endpoint = "admin_end_sessions")]
pub async fn admin_end_sessions(id: i64) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::end_sessions(&state.services, &actor, &user)
            .await
            .map(drop)
    })
    .await
}

/// Mails account `id` a password-reset link.
#[server(prefix = "/fn", endpoint = "admin_send_reset")]
pub async fn admin_send_reset(id: i64) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::send_reset(&state.services, &actor, &user).await
    })
    .await
}

/// Removes every second factor of account `id` (its owner lost them).
#[server(prefix = "/fn", endpoint = "admin_remove_factors")]
pub async fn admin_remove_factors(id: i64) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::remove_factors(&state.services, &actor, &user).await
    })
    .await
}

/// Clears account `id`'s log-in back-off.
#[server(prefix = "/fn", endpoint = "admin_unlock")]
pub async fn admin_unlock(id: i64) -> Result<(), AppError> {
    on_user(id, None, |state, actor, user| async move {
        crate::server::services::admin::unlock(&state.services, &actor, &user).await
    })
    .await
}

/// Deletes account `id`; `confirm` must repeat its username (the confirmation step).
#[server(prefix = "/fn", endpoint = "admin_delete_user")]
pub async fn admin_delete_user(id: i64, confirm: String) -> Result<(), AppError> {
    on_user(
        id,
        Some("/admin?deleted=1"),
        |state, actor, user| async move {
            if confirm.trim() != user.username {
                let mut errors = crate::error::FieldErrors::default();
                errors.add(
                    "confirm",
                    crate::error::FieldError::new("Type the account's username to confirm."),
                );
                return Err(AppError::Validation(errors));
            }
            crate::server::services::admin::delete_user(&state.services, &actor, &user).await
        },
    )
    .await
}

/// Every group.
#[server(prefix = "/fn", endpoint = "admin_groups")]
pub async fn admin_groups() -> Result<Vec<AdminGroup>, AppError> {
    use super::support::serve;
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        crate::server::services::admin::groups(&state.services, &actor).await
    })
    .await
}

/// Creates a group.
#[server(prefix = "/fn", endpoint = "admin_create_group")]
pub async fn admin_create_group(name: String) -> Result<(), AppError> {
    use super::support::serve;
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        crate::server::services::admin::create_group(&state.services, &actor, &name, &[]).await?;
        leptos_axum::redirect("/admin/groups");
        Ok(())
    })
    .await
}

/// Renames group `id` (`name` non-empty), or gives (`give` "true") or takes away
/// `codename` from it.
#[server(prefix = "/fn", endpoint = "admin_change_group")]
pub async fn admin_change_group(
    id: i64,
    name: String,
    codename: String,
    give: String,
) -> Result<(), AppError> {
    use super::support::serve;
    use crate::server::services::admin;
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        let group = admin::group(&state.services, &actor, id).await?;
        let permissions = (!codename.is_empty()).then(|| {
            let mut codenames: Vec<String> = group
                .permissions
                .iter()
                .filter(|c| **c != codename)
                .cloned()
                .collect();
            if staff::yes(&give) {
                codenames.push(codename.clone());
            }
            codenames
        });
        let name = Some(name.as_str()).filter(|n| !n.trim().is_empty());
        admin::change_group(&state.services, &actor, id, name, permissions.as_deref()).await?;
        leptos_axum::redirect("/admin/groups");
        Ok(())
    })
    .await
}

/// Deletes group `id`.
#[server(prefix = "/fn", endpoint = "admin_delete_group")]
pub async fn admin_delete_group(id: i64) -> Result<(), AppError> {
    use super::support::serve;
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        crate::server::services::admin::delete_group(&state.services, &actor, id).await?;
        leptos_axum::redirect("/admin/groups");
        Ok(())
    })
    .await
}

/// A page of the audit log, newest first, from `cursor` (a neighbouring page's, or empty).
#[server(prefix = "/fn", endpoint = "admin_audit")]
pub async fn admin_audit(cursor: String) -> Result<Listing<AuditEntry>, AppError> {
    use super::support::serve;
    use crate::server::services::admin;

    const PAGE: i64 = 50;
    serve(|state| async move {
        let actor = staff::actor(&state).await?;
        let (before, after) = match cursor.as_str() {
            "" => (None, None),
            raw => admin::audit_cursor(raw)?,
        };
        let (entries, count) =
            admin::audit_log(&state.services, &actor, before, after, PAGE + 1).await?;
        Ok(admin::audit_page(entries, count, before, after, PAGE))
    })
    .await
}
