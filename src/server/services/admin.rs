//! What staff do to accounts and groups, from the admin site, the admin API or the command
//! line: each action checked against what the actor holds, and recorded in the audit log in
//! the transaction that does it (so there is never one without the other).
//!
//! Nobody hands out what they do not hold: only a superuser grants staff or superuser status
//! or changes a superuser's account, and a permission (to a person, to a group, or by putting a person in a group) can only be
//! given by someone who has it.

use std::{collections::BTreeSet, net::IpAddr};

use super::{
    Services,
    accounts::{self, NewAccount, PasswordCheck, ProfileInput},
    activity::{self, Event},
    devices, factors, recovery,
    session_cache::Change,
    throttles,
};
use crate::{
    domain::{
        DeviceView, Email,
        admin::{AdminGroup, AdminUser, AuditEntry, Listing},
        fold,
        permissions::{self as perm, Grants},
    },
    error::{AppError, FieldError, FieldErrors},
    server::{
        auth::tokens::Proof,
        db::{
            self, Tx,
            audit::NewEntry,
            users::{User, listing},
        },
        mail::templates,
        now,
        services::outbox::Outbox,
    },
};

/// Longest group name, as in Django.
const MAX_GROUP_NAME_CHARS: usize = 150;

/// Who acts, with what they hold and where they act from.
#[derive(Debug, Clone)]
pub struct Actor {
    id: Option<i64>,
    name: String,
    address: String,
    grants: Grants,
}

impl Actor {
    /// Whoever runs the command line on the server: they could edit the database, so they
    /// hold everything. Recorded as the system user's name.
    pub fn operator() -> Self {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "operator".to_string());
        Self {
            id: None,
            name: format!("{user} (command line)"),
            address: "cli".to_string(),
            grants: Grants {
                superuser: true,
                permissions: BTreeSet::new(),
            },
        }
    }

    /// A signed-in staff member, with what they hold at this moment (read now, never cached:
    /// a permission taken away is gone on every instance at once). `None` for anyone else.
    /// With `REQUIRE_MFA_FOR_STAFF`, the session must have proved a second factor.
    ///
    /// # Errors
    /// [`AppError::SecondFactorRequired`] for staff whose session did not (with
    /// `REQUIRE_MFA_FOR_STAFF`); [`AppError::Internal`] on storage failure.
    pub async fn staff(
        services: &Services,
        user: &User,
        proof: &Proof,
        address: IpAddr,
    ) -> Result<Option<Self>, AppError> {
        if !(user.is_active && user.is_staff) {
            return Ok(None);
        }
        if services.config.require_mfa_for_staff && !proof.multi_factor() {
            return Err(AppError::SecondFactorRequired);
        }
        let grants = db::permissions::grants_of(&services.db, user.id, user.is_superuser).await?;
        Ok(Some(Self {
            id: Some(user.id),
            name: user.username.clone(),
            address: address.to_string(),
            grants,
        }))
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// # Errors
    /// [`AppError::PermissionDenied`] without `codename`.
    pub fn require(&self, codename: &str) -> Result<(), AppError> {
        if self.grants.has(codename) {
            Ok(())
        } else {
            Err(AppError::PermissionDenied)
        }
    }

    /// # Errors
    /// [`AppError::PermissionDenied`] without `accounts.change_user`, or for a superuser's
    /// account unless the actor is a superuser too.
    fn may_change(&self, user: &User) -> Result<(), AppError> {
        self.require(perm::CHANGE_USER)?;
        if user.is_superuser && !self.grants.superuser {
            return Err(AppError::PermissionDenied);
        }
        Ok(())
    }

    fn is(&self, user: &User) -> bool {
        self.id == Some(user.id)
    }

    async fn record(&self, tx: &mut Tx, action: &str, target: &str) -> Result<(), AppError> {
        db::audit::record(
            tx,
            &NewEntry {
                at: now(),
                actor_id: self.id,
                actor: &self.name,
                action,
                target,
                address: &self.address,
            },
        )
        .await?;
        Ok(())
    }
}

/// How an account is named in the audit log.
fn target(user: &User) -> String {
    format!("user {} (#{})", user.username, user.id)
}

fn refused(field: &str, message: impl Into<String>) -> AppError {
    let mut errors = FieldErrors::default();
    errors.add(field, FieldError::new(message));
    AppError::Validation(errors)
}

/// An account as staff see it, without its groups and permissions (lists).
pub fn summary(user: &User) -> AdminUser {
    AdminUser {
        id: user.id,
        username: user.username.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        is_active: user.is_active,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
        email_verified: user.email_verified,
        date_joined: user.date_joined,
        last_login: user.last_login,
        groups: Vec::new(),
        user_permissions: Vec::new(),
    }
}

/// The account with this id.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_user`; [`AppError::NotFound`];
/// [`AppError::Internal`] on storage failure.
pub async fn user(services: &Services, actor: &Actor, id: i64) -> Result<User, AppError> {
    actor.require(perm::VIEW_USER)?;
    db::users::find(&services.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The account with this username (as typed at the command line: folded like a log-in).
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_user`; [`AppError::NotFound`];
/// [`AppError::Internal`] on storage failure.
pub async fn user_named(services: &Services, actor: &Actor, name: &str) -> Result<User, AppError> {
    actor.require(perm::VIEW_USER)?;
    db::users::find_by_username(&services.db, &fold(name))
        .await?
        .ok_or(AppError::NotFound)
}

/// An account with its groups and direct permissions.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn details(
    services: &Services,
    actor: &Actor,
    user: &User,
) -> Result<AdminUser, AppError> {
    actor.require(perm::VIEW_USER)?;
    let groups = db::permissions::groups_of(&services.db, user.id).await?;
    let direct = db::permissions::direct_of(&services.db, user.id).await?;
    Ok(AdminUser {
        groups: groups.into_iter().map(|(id, _)| id).collect(),
        user_permissions: direct,
        ..summary(user)
    })
}

/// A page of accounts and how many match.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn users(
    services: &Services,
    actor: &Actor,
    query: &db::users::listing::Query,
) -> Result<(db::users::listing::Page, i64), AppError> {
    actor.require(perm::VIEW_USER)?;
    let page = db::users::listing::page(&services.db, query).await?;
    let count = db::users::listing::count(&services.db, query).await?;
    Ok((page, count))
}

/// Staff and superuser status for a new or changed account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    pub is_staff: bool,
    pub is_superuser: bool,
}

/// Creates an account, active; its address counted verified when `verified` (an operator
/// vouches for it) and otherwise sent a verification link.
///
/// # Errors
/// [`AppError::Validation`] for any field problem; [`AppError::PermissionDenied`] without
/// `accounts.add_user`, or for staff status from anyone but a superuser;
/// [`AppError::Internal`] on storage failure.
pub async fn create_user(
    services: &Services,
    actor: &Actor,
    input: &ProfileInput,
    password: &str,
    check: PasswordCheck,
    status: Status,
    verified: bool,
) -> Result<User, AppError> {
    actor.require(perm::ADD_USER)?;
    if status != Status::default() && !actor.grants.superuser {
        return Err(AppError::PermissionDenied);
    }
    let account = NewAccount::prepare(services, input, password, check).await?;
    let mut tx = services.db.begin().await?;
    let mut user = account.insert(services, &mut tx).await?;
    if status != Status::default() {
        db::users::set_staff(&mut tx, user.id, status.is_staff, status.is_superuser).await?;
        user.is_staff = status.is_staff;
        user.is_superuser = status.is_superuser;
    }
    if verified {
        db::users::set_email_verified(&mut tx, user.id, true).await?;
        user.email_verified = true;
    } else {
        super::email::queue_verification(services, &mut tx, &user).await?;
    }
    let action = if status.is_superuser {
        "superuser.create"
    } else {
        "user.create"
    };
    actor.record(&mut tx, action, &target(&user)).await?;
    tx.commit().await?;
    services.outbox.wake();
    tracing::info!(target: "security", user_id = user.id, action, "account created by staff");
    Ok(user)
}

/// What a change to an account sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
    pub email_verified: Option<bool>,
    pub groups: Option<Vec<i64>>,
    pub user_permissions: Option<Vec<String>>,
}

/// Changes an account's details, status, groups and direct permissions together.
///
/// # Errors
/// [`AppError::Validation`] for a bad value, an unknown group or codename;
/// [`AppError::PermissionDenied`] without `accounts.change_user`, for staff or superuser
/// status from anyone but a superuser, or for handing out a permission the actor lacks;
/// [`AppError::Internal`] on storage failure.
pub async fn change_user(
    services: &Services,
    actor: &Actor,
    user: &User,
    changes: &Changes,
) -> Result<User, AppError> {
    actor.may_change(user)?;
    let superuser_only = [
        changes.is_staff.filter(|s| *s != user.is_staff),
        changes.is_superuser.filter(|s| *s != user.is_superuser),
    ];
    if superuser_only.iter().any(Option::is_some) && !actor.grants.superuser {
        return Err(AppError::PermissionDenied);
    }
    if changes.is_active == Some(false) && actor.is(user) {
        return Err(refused(
            "is_active",
            "You cannot deactivate your own account here.",
        ));
    }
    let groups = match &changes.groups {
        Some(ids) => Some(checked_groups(services, actor, ids).await?),
        None => None,
    };
    let direct = match &changes.user_permissions {
        Some(codenames) => Some(checked_codenames(actor, codenames, "user_permissions")?),
        None => None,
    };
    let email = match &changes.email {
        Some(raw) if raw.trim() != user.email => Some(Email::parse(raw).map_err(|problem| {
            let mut errors = FieldErrors::default();
            errors.add("email", problem);
            AppError::Validation(errors)
        })?),
        _ => None,
    };
    let input = ProfileInput {
        username: changes
            .username
            .clone()
            .unwrap_or_else(|| user.username.clone()),
        email: user.email.clone(),
        first_name: changes
            .first_name
            .clone()
            .unwrap_or_else(|| user.first_name.clone()),
        last_name: changes
            .last_name
            .clone()
            .unwrap_or_else(|| user.last_name.clone()),
    };
    let details_changed = input.username != user.username
        || input.first_name != user.first_name
        || input.last_name != user.last_name;
    let mut tx = services.db.begin().await?;
    if details_changed {
        accounts::store_details(services, &mut tx, user, &input).await?;
    }
    if let Some(email) = &email {
        accounts::store_email(services, &mut tx, user, email).await?;
    }
    let verified = changes
        .email_verified
        .or(email.as_ref().map(|_| false))
        .filter(|v| *v != user.email_verified || email.is_some());
    if let Some(verified) = verified {
        db::users::set_email_verified(&mut tx, user.id, verified).await?;
    }
    let is_staff = changes.is_staff.unwrap_or(user.is_staff);
    let is_superuser = changes.is_superuser.unwrap_or(user.is_superuser);
    if (is_staff, is_superuser) != (user.is_staff, user.is_superuser) {
        db::users::set_staff(&mut tx, user.id, is_staff, is_superuser).await?;
    }
    if let Some(ids) = &groups {
        db::permissions::set_groups_of(&mut tx, user.id, ids).await?;
    }
    if let Some(codenames) = &direct {
        db::permissions::set_direct_of(&mut tx, user.id, codenames).await?;
    }
    let deactivating = changes.is_active == Some(false) && user.is_active;
    if let Some(active) = changes.is_active.filter(|a| *a != user.is_active) {
        db::users::set_active(&mut tx, user.id, active).await?;
        if !active {
            db::sessions::revoke_all(&mut tx, user.id, now()).await?;
        }
        let action = if active {
            "user.activate"
        } else {
            "user.deactivate"
        };
        actor.record(&mut tx, action, &target(user)).await?;
    }
    actor.record(&mut tx, "user.change", &target(user)).await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user.id));
    if deactivating {
        activity::record(services, user.id, Event::Deactivated, None).await?;
    }
    db::users::find(&services.db, user.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Activates or deactivates an account; deactivation ends every session at once.
///
/// # Errors
/// As [`change_user`].
pub async fn set_active(
    services: &Services,
    actor: &Actor,
    user: &User,
    active: bool,
) -> Result<User, AppError> {
    change_user(
        services,
        actor,
        user,
        &Changes {
            is_active: Some(active),
            ..Changes::default()
        },
    )
    .await
}

/// Sets an account's password: every session ends and the owner is mailed a notice.
///
/// # Errors
/// [`AppError::Validation`] for a password `check` refuses; [`AppError::PermissionDenied`]
/// without `accounts.change_user`; [`AppError::Internal`] on storage failure.
pub async fn set_password(
    services: &Services,
    actor: &Actor,
    user: &User,
    password: &str,
    check: PasswordCheck,
) -> Result<u64, AppError> {
    actor.may_change(user)?;
    let password = accounts::parse_password(password, &user.personal_words(), check, "password")?;
    let hash = services.passwords.hash(password).await?;
    let mut tx = services.db.begin().await?;
    let ended = accounts::store_password(services, &mut tx, user, &hash, None).await?;
    actor
        .record(&mut tx, "user.set_password", &target(user))
        .await?;
    tx.commit().await?;
    accounts::password_stored(services, user, Event::PasswordChanged).await?;
    Ok(ended)
}

/// Deletes an account and everything that belongs to it; the owner is mailed a last notice.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.delete_user`, or to delete a superuser
/// unless one; [`AppError::Validation`] for the actor's own account;
/// [`AppError::Internal`] on storage failure.
pub async fn delete_user(services: &Services, actor: &Actor, user: &User) -> Result<(), AppError> {
    actor.require(perm::DELETE_USER)?;
    if user.is_superuser && !actor.grants.superuser {
        return Err(AppError::PermissionDenied);
    }
    if actor.is(user) {
        return Err(refused("user", "You cannot delete your own account here."));
    }
    let mut tx = services.db.begin().await?;
    let notice = templates::account_deleted(&services.config.site);
    Outbox::queue(&mut tx, None, &user.email, &notice).await?;
    db::users::delete(&mut tx, user.id).await?;
    actor.record(&mut tx, "user.delete", &target(user)).await?;
    tx.commit().await?;
    services.outbox.wake();
    services.cache.apply(&Change::User(user.id));
    tracing::info!(target: "security", user_id = user.id, "account deleted by staff");
    Ok(())
}

/// An account's live sessions.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn sessions(
    services: &Services,
    actor: &Actor,
    user: &User,
) -> Result<Vec<DeviceView>, AppError> {
    actor.require(perm::VIEW_USER)?;
    devices::list(services, user.id, "").await
}

/// Ends one session of an account (named as [`sessions`] names it). Returns whether it was
/// live.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.change_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn end_session(
    services: &Services,
    actor: &Actor,
    user: &User,
    id: &str,
) -> Result<bool, AppError> {
    actor.may_change(user)?;
    let ended = devices::sign_out(services, user.id, id).await?;
    if ended {
        let mut tx = services.db.begin().await?;
        actor
            .record(&mut tx, "user.session.end", &target(user))
            .await?;
        tx.commit().await?;
    }
    Ok(ended)
}

/// Ends every session of an account: refresh tokens at once, access tokens within the
/// revocation bound. Returns how many ended.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.change_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn end_sessions(
    services: &Services,
    actor: &Actor,
    user: &User,
) -> Result<u64, AppError> {
    actor.may_change(user)?;
    let mut tx = services.db.begin().await?;
    let ended = db::sessions::revoke_all(&mut tx, user.id, now()).await?;
    actor
        .record(&mut tx, "user.sessions.end_all", &target(user))
        .await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user.id));
    if ended > 0 {
        activity::record(services, user.id, Event::SessionEnded, None).await?;
    }
    Ok(ended)
}

/// Clears the account's log-in back-off, so its owner can try again at once.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.change_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn unlock(services: &Services, actor: &Actor, user: &User) -> Result<(), AppError> {
    actor.may_change(user)?;
    let mut tx = services.db.begin().await?;
    actor.record(&mut tx, "user.unlock", &target(user)).await?;
    tx.commit().await?;
    throttles::unlock(services, user).await
}

/// Removes every second factor of the account (a person who lost their phone and their
/// recovery codes): recorded in the audit log, mailed to the owner.
///
/// # Errors
/// [`AppError::Validation`] when the account has none; [`AppError::PermissionDenied`] without
/// `accounts.change_user`; [`AppError::Internal`] on storage failure.
pub async fn remove_factors(
    services: &Services,
    actor: &Actor,
    user: &User,
) -> Result<(), AppError> {
    actor.may_change(user)?;
    let mut tx = services.db.begin().await?;
    if !factors::remove_all(services, &mut tx, user).await? {
        return Err(refused("user", "This account has no second factor."));
    }
    actor
        .record(&mut tx, "user.remove_factors", &target(user))
        .await?;
    tx.commit().await?;
    services.outbox.wake();
    activity::record(services, user.id, Event::FactorsRemovedByStaff, None).await?;
    tracing::info!(target: "security", user_id = user.id, "second factors removed by staff");
    Ok(())
}

/// Mails the account a password-reset link.
///
/// # Errors
/// [`AppError::Validation`] for an inactive account (activate it first);
/// [`AppError::PermissionDenied`] without `accounts.change_user`; [`AppError::Internal`] on
/// storage failure.
pub async fn send_reset(services: &Services, actor: &Actor, user: &User) -> Result<(), AppError> {
    actor.may_change(user)?;
    if !user.is_active {
        return Err(refused(
            "user",
            "This account is inactive: activate it before sending a reset link.",
        ));
    }
    let mut tx = services.db.begin().await?;
    recovery::queue_reset(services, &mut tx, user).await?;
    actor
        .record(&mut tx, "user.password_reset_mail", &target(user))
        .await?;
    tx.commit().await?;
    services.outbox.wake();
    Ok(())
}

/// The group ids, each known, and giving nothing the actor lacks.
async fn checked_groups(
    services: &Services,
    actor: &Actor,
    ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    let groups = db::permissions::groups(&services.db).await?;
    let mut chosen = Vec::new();
    for id in ids {
        let Some(group) = groups.iter().find(|g| g.id == *id) else {
            return Err(refused("groups", format!("There is no group {id}.")));
        };
        if !actor
            .grants
            .covers(group.permissions.iter().map(String::as_str))
        {
            return Err(AppError::PermissionDenied);
        }
        if !chosen.contains(id) {
            chosen.push(*id);
        }
    }
    Ok(chosen)
}

/// The codenames, each known and held by the actor, sorted and without repeats.
fn checked_codenames(
    actor: &Actor,
    codenames: &[String],
    field: &str,
) -> Result<Vec<String>, AppError> {
    let mut chosen = BTreeSet::new();
    for codename in codenames {
        if !perm::ALL.contains(&codename.as_str()) {
            return Err(refused(
                field,
                format!("There is no permission {codename:?}."),
            ));
        }
        if !actor.grants.has(codename) {
            return Err(AppError::PermissionDenied);
        }
        chosen.insert(codename.clone());
    }
    Ok(chosen.into_iter().collect())
}

fn group_view(group: db::permissions::Group) -> AdminGroup {
    AdminGroup {
        id: group.id,
        name: group.name,
        permissions: group.permissions,
    }
}

fn parse_group_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(refused("name", "Enter a name."));
    }
    if name.chars().count() > MAX_GROUP_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(refused(
            "name",
            "Names are at most 150 characters, without control characters.",
        ));
    }
    Ok(name.to_string())
}

/// Every group.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_group`; [`AppError::Internal`] on
/// storage failure.
pub async fn groups(services: &Services, actor: &Actor) -> Result<Vec<AdminGroup>, AppError> {
    actor.require(perm::VIEW_GROUP)?;
    Ok(db::permissions::groups(&services.db)
        .await?
        .into_iter()
        .map(group_view)
        .collect())
}

/// One group.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.view_group`; [`AppError::NotFound`];
/// [`AppError::Internal`] on storage failure.
pub async fn group(services: &Services, actor: &Actor, id: i64) -> Result<AdminGroup, AppError> {
    actor.require(perm::VIEW_GROUP)?;
    db::permissions::group(&services.db, id)
        .await?
        .map(group_view)
        .ok_or(AppError::NotFound)
}

/// A taken name, reported as a field error.
fn name_taken(error: db::DbError) -> AppError {
    if db::is_unique_violation(&error) {
        refused("name", "A group with that name already exists.")
    } else {
        error.into()
    }
}

/// Creates a group giving `permissions`.
///
/// # Errors
/// [`AppError::Validation`] for a bad or taken name or an unknown codename;
/// [`AppError::PermissionDenied`] without `accounts.add_group` or for a permission the actor
/// lacks; [`AppError::Internal`] on storage failure.
pub async fn create_group(
    services: &Services,
    actor: &Actor,
    name: &str,
    permissions: &[String],
) -> Result<AdminGroup, AppError> {
    actor.require(perm::ADD_GROUP)?;
    let name = parse_group_name(name)?;
    let permissions = checked_codenames(actor, permissions, "permissions")?;
    let mut tx = services.db.begin().await?;
    let id = db::permissions::create_group(&mut tx, &name)
        .await
        .map_err(name_taken)?;
    db::permissions::update_group(&mut tx, id, &name, &permissions).await?;
    actor
        .record(&mut tx, "group.create", &format!("group {name}"))
        .await?;
    tx.commit().await?;
    Ok(AdminGroup {
        id,
        name,
        permissions,
    })
}

/// Renames a group or changes what it gives (`None` keeps either).
///
/// # Errors
/// As [`create_group`], with `accounts.change_group`; [`AppError::NotFound`].
pub async fn change_group(
    services: &Services,
    actor: &Actor,
    id: i64,
    name: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<AdminGroup, AppError> {
    actor.require(perm::CHANGE_GROUP)?;
    let current = db::permissions::group(&services.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = match name {
        Some(name) => parse_group_name(name)?,
        None => current.name.clone(),
    };
    let permissions = match permissions {
        Some(permissions) => {
            // Taking away is always allowed; only what is added must be held.
            let added: Vec<String> = permissions
                .iter()
                .filter(|p| !current.permissions.contains(p))
                .cloned()
                .collect();
            checked_codenames(actor, &added, "permissions")?;
            checked_codenames(&Actor::operator(), permissions, "permissions")?
        }
        None => current.permissions.clone(),
    };
    let mut tx = services.db.begin().await?;
    db::permissions::update_group(&mut tx, id, &name, &permissions)
        .await
        .map_err(name_taken)?;
    actor
        .record(&mut tx, "group.change", &format!("group {name}"))
        .await?;
    tx.commit().await?;
    Ok(AdminGroup {
        id,
        name,
        permissions,
    })
}

/// Deletes a group; its members leave it.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `accounts.delete_group`; [`AppError::NotFound`];
/// [`AppError::Internal`] on storage failure.
pub async fn delete_group(services: &Services, actor: &Actor, id: i64) -> Result<(), AppError> {
    actor.require(perm::DELETE_GROUP)?;
    let current = db::permissions::group(&services.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = services.db.begin().await?;
    db::permissions::delete_group(&mut tx, id).await?;
    actor
        .record(&mut tx, "group.delete", &format!("group {}", current.name))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A page of the audit log, newest first: entries older than `before`, or (going back up)
/// newer than `after`. Returns the entries and how many there are in all.
///
/// # Errors
/// [`AppError::PermissionDenied`] without `admin.view_logentry`; [`AppError::Internal`] on
/// storage failure.
pub async fn audit_log(
    services: &Services,
    actor: &Actor,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, i64), AppError> {
    actor.require(perm::VIEW_AUDIT_LOG)?;
    let entries = match after {
        Some(after) => {
            let mut entries = db::audit::page_after(&services.db, after, limit).await?;
            entries.reverse();
            entries
        }
        None => db::audit::page(&services.db, before, limit).await?,
    };
    let count = db::audit::count(&services.db).await?;
    Ok((
        entries
            .into_iter()
            .map(|e| AuditEntry {
                id: e.id,
                at: e.at.0,
                actor: e.actor,
                action: e.action,
                target: e.target,
                address: e.address,
            })
            .collect(),
        count,
    ))
}

/// Where an audit-log cursor points: entries older than one (`before`), or newer than one
/// (`after`, going back up).
///
/// # Errors
/// [`AppError::Validation`] on `cursor` for anything [`audit_page`] did not make.
pub fn audit_cursor(raw: &str) -> Result<(Option<i64>, Option<i64>), AppError> {
    match decode_cursor(raw, listing::SortKey::Id)? {
        listing::Cursor {
            forward: true,
            after: Some((_, id)),
        } => Ok((Some(id), None)),
        listing::Cursor {
            forward: false,
            after: Some((_, id)),
        } => Ok((None, Some(id))),
        listing::Cursor { after: None, .. } => Err(refused("cursor", "Invalid cursor")),
    }
}

/// A page of the audit log from the `limit + 1` entries [`audit_log`] read (the one beyond
/// tells whether more lie that way), with the cursors to its neighbours.
pub fn audit_page(
    entries: Vec<AuditEntry>,
    count: i64,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Listing<AuditEntry> {
    let more = i64::try_from(entries.len()).unwrap_or(i64::MAX) > limit;
    let going_back = after.is_some();
    let entries: Vec<AuditEntry> = if going_back && more {
        entries.into_iter().skip(1).collect()
    } else {
        entries
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .collect()
    };
    let cursor_at = |id: i64, forward: bool| {
        encode_cursor(&listing::Cursor {
            forward,
            after: Some((listing::Key::Int(id), id)),
        })
    };
    let next = (going_back || more)
        .then(|| entries.last().map(|e| cursor_at(e.id, true)))
        .flatten();
    let previous = (if going_back { more } else { before.is_some() })
        .then(|| entries.first().map(|e| cursor_at(e.id, false)))
        .flatten();
    Listing {
        count,
        results: entries,
        next,
        previous,
    }
}

/// A page cursor as clients carry it: opaque (URL-safe base64), naming the row a page starts
/// after or before.
pub fn encode_cursor(cursor: &listing::Cursor) -> String {
    use base64::Engine;
    let direction = if cursor.forward { 'n' } else { 'p' };
    let text = match &cursor.after {
        None => direction.to_string(),
        Some((key, id)) => {
            let key = match key {
                listing::Key::Text(text) => text.clone(),
                listing::Key::Time(n) | listing::Key::Int(n) => n.to_string(),
            };
            format!("{direction}{id}:{key}")
        }
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// Reads a cursor made by [`encode_cursor`] for a list sorted by `sort`.
///
/// # Errors
/// [`AppError::Validation`] on `cursor` for anything else.
pub fn decode_cursor(raw: &str, sort: listing::SortKey) -> Result<listing::Cursor, AppError> {
    use base64::Engine;
    let invalid = || refused("cursor", "Invalid cursor");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut chars = text.chars();
    let forward = match chars.next() {
        Some('n') => true,
        Some('p') => false,
        _ => return Err(invalid()),
    };
    let rest = chars.as_str();
    if rest.is_empty() {
        return if forward {
            Err(invalid())
        } else {
            Ok(listing::Cursor {
                forward,
                after: None,
            })
        };
    }
    let (id, key) = rest.split_once(':').ok_or_else(invalid)?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    let key = match sort {
        listing::SortKey::Username | listing::SortKey::Email => listing::Key::Text(key.to_string()),
        listing::SortKey::DateJoined => listing::Key::Time(key.parse().map_err(|_| invalid())?),
        listing::SortKey::Id => listing::Key::Int(key.parse().map_err(|_| invalid())?),
    };
    Ok(listing::Cursor {
        forward,
        after: Some((key, id)),
    })
}

/// The cursors to the pages after and before `page` (`None` at either end).
pub fn neighbours(
    page: &listing::Page,
    sort: listing::SortKey,
) -> (Option<String>, Option<String>) {
    let cursor = |user: &User, forward: bool| {
        encode_cursor(&listing::Cursor {
            forward,
            after: Some((sort.key_of(user), user.id)),
        })
    };
    let next = page
        .more_after
        .then(|| page.users.last().map(|u| cursor(u, true)))
        .flatten();
    let previous = page
        .more_before
        .then(|| page.users.first().map(|u| cursor(u, false)))
        .flatten();
    (next, previous)
}

#[cfg(test)]
mod tests {
    use super::{decode_cursor, encode_cursor, listing};

    #[test]
    fn cursors_read_back_as_written_and_nothing_else_reads() {
        let cursors = [
            (
                listing::SortKey::Username,
                Some((listing::Key::Text("ada:x".into()), 7)),
            ),
            (
                listing::SortKey::DateJoined,
                Some((listing::Key::Time(1_700_000_000), 9)),
            ),
            (listing::SortKey::Id, Some((listing::Key::Int(3), 3))),
            (listing::SortKey::Email, None),
        ];
        for (sort, after) in cursors {
            for forward in [true, false] {
                if after.is_none() && forward {
                    continue;
                }
                let cursor = listing::Cursor {
                    forward,
                    after: after.clone(),
                };
                assert_eq!(decode_cursor(&encode_cursor(&cursor), sort), Ok(cursor));
            }
        }
        for bad in ["", "!!", "bg", "eDE6YQ"] {
            assert!(decode_cursor(bad, listing::SortKey::Id).is_err(), "{bad:?}");
        }
    }
}
