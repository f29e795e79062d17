//! The admin API under `/api/admin/`, in Django REST Framework's shapes: accounts, their
//! sessions, groups and the audit log. Every handler states the permission it needs in its
//! signature ([`RequirePermission`]); the services check again, whoever calls them.

use std::marker::PhantomData;

use axum::{
    Json,
    extract::{
        FromRequestParts, Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::{StatusCode, request::Parts},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError,
    errors::{BadRequest, Detail},
    handlers::{BearerUser, Body, fields_or, id_of, required},
};
use crate::{
    domain::{
        DeviceView,
        admin::{AdminGroup, AdminUser, AuditEntry, Listing},
        fold, permissions as perm,
    },
    error::{AppError, FieldError, FieldErrors},
    server::{
        db::users::{User, listing},
        http::client::ClientAddr,
        services::{
            accounts::{PasswordCheck, ProfileInput},
            admin::{self, Actor, Changes, Status},
        },
        state::AppState,
    },
};

/// Rows per page unless `page_size` says otherwise, and the most it may say.
const PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 500;

/// A permission a handler needs, named by a type.
pub trait Permission {
    const CODENAME: &'static str;
}

macro_rules! permissions {
    ($($name:ident = $codename:path),* $(,)?) => {$(
        pub struct $name;
        impl Permission for $name {
            const CODENAME: &'static str = $codename;
        }
    )*};
}

permissions!(
    ViewUser = perm::VIEW_USER,
    AddUser = perm::ADD_USER,
    ChangeUser = perm::CHANGE_USER,
    DeleteUser = perm::DELETE_USER,
    ViewGroup = perm::VIEW_GROUP,
    AddGroup = perm::ADD_GROUP,
    ChangeGroup = perm::CHANGE_GROUP,
    DeleteGroup = perm::DELETE_GROUP,
    ViewAuditLog = perm::VIEW_AUDIT_LOG,
);

/// An active staff member holding `P`, with what they hold read at this moment: 401 without
/// a good token, 403 for anyone else.
pub struct RequirePermission<P>(pub Actor, PhantomData<P>);

impl<P: Permission> FromRequestParts<AppState> for RequirePermission<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let BearerUser(identity) = BearerUser::from_request_parts(parts, state).await?;
        let ClientAddr(address) = ClientAddr::from_request_parts(parts, state).await?;
        let actor = Actor::staff(&state.services, &identity.user, &identity.proof, address)
            .await?
            .ok_or(AppError::PermissionDenied)?;
        actor.require(P::CODENAME)?;
        Ok(Self(actor, PhantomData))
    }
}

/// The filters, search, order and page of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Accounts whose username, address, first or last name starts with this (any case).
    search: Option<String>,
    /// `true` or `false`.
    is_active: Option<String>,
    /// `true` or `false`.
    is_staff: Option<String>,
    /// `true` or `false`.
    email_verified: Option<String>,
    /// `username`, `email`, `date_joined` or `id`; `-` before it for descending.
    ordering: Option<String>,
    /// From a `next` or `previous` link.
    cursor: Option<String>,
    /// Rows per page, 1 to 500 (50 unless given).
    page_size: Option<String>,
}

fn flag(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<bool> {
    match raw?.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            errors.add(field, FieldError::new("Enter true or false."));
            None
        }
    }
}

fn page_size(errors: &mut FieldErrors, raw: Option<&str>) -> i64 {
    match raw.map(str::parse::<i64>) {
        None => PAGE_SIZE,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => {
            errors.add(
                "page_size",
                FieldError::new(format!("Enter a whole number from 1 to {MAX_PAGE_SIZE}.")),
            );
            PAGE_SIZE
        }
    }
}

fn sorting(errors: &mut FieldErrors, raw: Option<&str>) -> (listing::SortKey, bool) {
    let raw = raw.unwrap_or("username");
    let (descending, field) = raw.strip_prefix('-').map_or((false, raw), |f| (true, f));
    let key = match field {
        "username" => listing::SortKey::Username,
        "email" => listing::SortKey::Email,
        "date_joined" => listing::SortKey::DateJoined,
        "id" => listing::SortKey::Id,
        _ => {
            errors.add(
                "ordering",
                FieldError::new(
                    "Order by username, email, date_joined or id (- first to reverse).",
                ),
            );
            listing::SortKey::Username
        }
    };
    (key, descending)
}

/// A link to this list with `cursor` in place of the one asked with.
fn link(state: &AppState, path: &str, pairs: &[(&str, String)], cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    query.append_pair("cursor", cursor);
    format!("{}{path}?{}", state.settings.site.url, query.finish())
}

fn rejected(rejection: QueryRejection) -> ApiError {
    ApiError::App(AppError::BadRequest(format!(
        "The query string cannot be read: {}",
        rejection.body_text()
    )))
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserQuery),
    responses((status = 200, description = "A page of accounts (needs accounts.view_user)", body = Listing<AdminUser>),
              (status = 400, description = "A bad filter, order, cursor or page size", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail)))]
pub async fn list_users(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewUser>,
    query: Result<Query<UserQuery>, QueryRejection>,
) -> Result<Json<Listing<AdminUser>>, ApiError> {
    let Query(params) = query.map_err(rejected)?;
    let mut errors = FieldErrors::default();
    let (sort, descending) = sorting(&mut errors, params.ordering.as_deref());
    let cursor = match params.cursor.as_deref() {
        Some(raw) => match admin::decode_cursor(raw, sort) {
            Ok(cursor) => Some(cursor),
            Err(_) => {
                errors.add("cursor", FieldError::new("Invalid cursor"));
                None
            }
        },
        None => None,
    };
    let query = listing::Query {
        search: params.search.as_deref().map(fold),
        is_active: flag(&mut errors, "is_active", params.is_active.as_deref()),
        is_staff: flag(&mut errors, "is_staff", params.is_staff.as_deref()),
        email_verified: flag(
            &mut errors,
            "email_verified",
            params.email_verified.as_deref(),
        ),
        sort,
        descending,
        cursor,
        limit: page_size(&mut errors, params.page_size.as_deref()),
    };
    fields_or(errors)?;
    let (page, count) = admin::users(&state.services, &actor, &query).await?;
    let (next, previous) = admin::neighbours(&page, sort);
    let kept: Vec<(&str, String)> = [
        ("search", params.search),
        ("is_active", params.is_active),
        ("is_staff", params.is_staff),
        ("email_verified", params.email_verified),
        ("ordering", params.ordering),
        ("page_size", params.page_size),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let path = "/api/admin/users";
    Ok(Json(Listing {
        count,
        results: page.users.iter().map(admin::summary).collect(),
        next: next.map(|c| link(&state, path, &kept, &c)),
        previous: previous.map(|c| link(&state, path, &kept, &c)),
    }))
}

/// A new account. Absent required fields get DRF's "This field is required."
#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 150)]
    username: Option<String>,
    #[schema(required = true, nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
    /// Checked against the password policy.
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    password: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
    /// Superusers only.
    #[serde(default)]
    is_staff: bool,
    /// Superusers only.
    #[serde(default)]
    is_superuser: bool,
    /// Count the address as verified (no verification mail is sent).
    #[serde(default)]
    email_verified: bool,
}

#[utoipa::path(post, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    request_body = NewUser,
    responses((status = 201, description = "Created (needs accounts.add_user; staff status needs a superuser)", body = AdminUser),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail)))]
pub async fn create_user(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<AddUser>,
    body: Body<NewUser>,
) -> Result<(StatusCode, Json<AdminUser>), ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let input = ProfileInput {
        username: required(&mut errors, "username", body.username),
        email: required(&mut errors, "email", body.email),
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
    };
    let password = required(&mut errors, "password", body.password);
    fields_or(errors)?;
    let status = Status {
        is_staff: body.is_staff,
        is_superuser: body.is_superuser,
    };
    let user = admin::create_user(
        &state.services,
        &actor,
        &input,
        &password,
        PasswordCheck::Policy,
        status,
        body.email_verified,
    )
    .await?;
    let details = admin::details(&state.services, &actor, &user).await?;
    Ok((StatusCode::CREATED, Json(details)))
}

async fn target(state: &AppState, actor: &Actor, id: i64) -> Result<User, ApiError> {
    Ok(admin::user(&state.services, actor, id).await?)
}

#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 200, description = "The account with its groups and permissions (needs accounts.view_user)", body = AdminUser),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn show_user(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewUser>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<AdminUser>, ApiError> {
    let id = id_of(id)?;
    let user = target(&state, &actor, id).await?;
    Ok(Json(admin::details(&state.services, &actor, &user).await?))
}

/// What to change; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct UserChanges {
    #[schema(min_length = 1, max_length = 150)]
    username: Option<String>,
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
    /// `false` ends every session at once.
    is_active: Option<bool>,
    /// Superusers only.
    is_staff: Option<bool>,
    /// Superusers only.
    is_superuser: Option<bool>,
    email_verified: Option<bool>,
    /// Group ids: exactly the groups the account is in afterwards.
    groups: Option<Vec<i64>>,
    /// Codenames: exactly those given to the account directly afterwards.
    user_permissions: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UserChanges,
    responses((status = 200, description = "Changed (needs accounts.change_user; staff status needs a superuser; only permissions the actor holds can be given)", body = AdminUser),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn change_user(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ChangeUser>,
    id: Result<Path<i64>, PathRejection>,
    body: Body<UserChanges>,
) -> Result<Json<AdminUser>, ApiError> {
    let id = id_of(id)?;
    let Json(body) = body?;
    let user = target(&state, &actor, id).await?;
    let changes = Changes {
        username: body.username,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        is_active: body.is_active,
        is_staff: body.is_staff,
        is_superuser: body.is_superuser,
        email_verified: body.email_verified,
        groups: body.groups,
        user_permissions: body.user_permissions,
    };
    let changed = admin::change_user(&state.services, &actor, &user, &changes).await?;
    Ok(Json(
        admin::details(&state.services, &actor, &changed).await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 204, description = "Deleted with everything that belongs to it (needs accounts.delete_user)"),
              (status = 400, description = "The actor's own account", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn delete_user(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<DeleteUser>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(id)?;
    let user = target(&state, &actor, id).await?;
    admin::delete_user(&state.services, &actor, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 200, description = "The account's live sessions (needs accounts.view_user)", body = [DeviceView]),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn user_sessions(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewUser>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let id = id_of(id)?;
    let user = target(&state, &actor, id).await?;
    Ok(Json(admin::sessions(&state.services, &actor, &user).await?))
}

#[utoipa::path(delete, path = "/api/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 204, description = "Every session ended: refresh tokens at once, access tokens within a second (needs accounts.change_user)"),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn end_user_sessions(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ChangeUser>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(id)?;
    let user = target(&state, &actor, id).await?;
    admin::end_sessions(&state.services, &actor, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/admin/users/{id}/mfa", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses((status = 204, description = "Every second factor of the account removed (its owner lost them), recorded and mailed to the owner (needs accounts.change_user)"),
              (status = 400, description = "The account has no second factor", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such account", body = Detail)))]
pub async fn remove_user_factors(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ChangeUser>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(id)?;
    let user = target(&state, &actor, id).await?;
    admin::remove_factors(&state.services, &actor, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/admin/groups", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "Every group (needs accounts.view_group)", body = [AdminGroup]),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail)))]
pub async fn list_groups(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewGroup>,
) -> Result<Json<Vec<AdminGroup>>, ApiError> {
    Ok(Json(admin::groups(&state.services, &actor).await?))
}

/// A group's name and the codenames it gives.
#[derive(Deserialize, ToSchema)]
pub struct GroupFields {
    #[schema(min_length = 1, max_length = 150)]
    name: Option<String>,
    permissions: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/admin/groups", tag = "admin", security(("bearer" = [])),
    request_body = GroupFields,
    responses((status = 201, description = "Created (needs accounts.add_group, and every permission it gives)", body = AdminGroup),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail)))]
pub async fn create_group(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<AddGroup>,
    body: Body<GroupFields>,
) -> Result<(StatusCode, Json<AdminGroup>), ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let name = required(&mut errors, "name", body.name);
    fields_or(errors)?;
    let permissions = body.permissions.unwrap_or_default();
    let group = admin::create_group(&state.services, &actor, &name, &permissions).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

#[utoipa::path(get, path = "/api/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 200, description = "The group (needs accounts.view_group)", body = AdminGroup),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such group", body = Detail)))]
pub async fn show_group(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewGroup>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<AdminGroup>, ApiError> {
    let id = id_of(id)?;
    Ok(Json(admin::group(&state.services, &actor, id).await?))
}

#[utoipa::path(patch, path = "/api/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group's id")),
    request_body = GroupFields,
    responses((status = 200, description = "Changed (needs accounts.change_group, and every permission it adds); members' new tokens carry the change", body = AdminGroup),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such group", body = Detail)))]
pub async fn change_group(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ChangeGroup>,
    id: Result<Path<i64>, PathRejection>,
    body: Body<GroupFields>,
) -> Result<Json<AdminGroup>, ApiError> {
    let id = id_of(id)?;
    let Json(body) = body?;
    let group = admin::change_group(
        &state.services,
        &actor,
        id,
        body.name.as_deref(),
        body.permissions.as_deref(),
    )
    .await?;
    Ok(Json(group))
}

#[utoipa::path(delete, path = "/api/admin/groups/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 204, description = "Deleted; its members leave it (needs accounts.delete_group)"),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail),
              (status = 404, description = "No such group", body = Detail)))]
pub async fn delete_group(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<DeleteGroup>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(id)?;
    admin::delete_group(&state.services, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// From a `next` or `previous` link.
    cursor: Option<String>,
    /// Rows per page, 1 to 500 (50 unless given).
    page_size: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "The audit log, newest first (needs admin.view_logentry)", body = Listing<AuditEntry>),
              (status = 400, description = "A bad cursor or page size", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 403, description = "Not staff, or without the permission", body = Detail)))]
pub async fn audit_log(
    State(state): State<AppState>,
    RequirePermission(actor, _): RequirePermission<ViewAuditLog>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Listing<AuditEntry>>, ApiError> {
    let Query(params) = query.map_err(rejected)?;
    let mut errors = FieldErrors::default();
    let limit = page_size(&mut errors, params.page_size.as_deref());
    let (before, after) = match params.cursor.as_deref() {
        Some(raw) => admin::audit_cursor(raw).unwrap_or_else(|_| {
            errors.add("cursor", FieldError::new("Invalid cursor"));
            (None, None)
        }),
        None => (None, None),
    };
    fields_or(errors)?;
    let (entries, count) =
        admin::audit_log(&state.services, &actor, before, after, limit + 1).await?;
    let page = admin::audit_page(entries, count, before, after, limit);
    let kept: Vec<(&str, String)> = params
        .page_size
        .map(|v| vec![("page_size", v)])
        .unwrap_or_default();
    let path = "/api/admin/audit";
    Ok(Json(Listing {
        next: page.next.map(|c| link(&state, path, &kept, &c)),
        previous: page.previous.map(|c| link(&state, path, &kept, &c)),
        ..page
    }))
}
