//! The API's handlers: parse JSON, call the shared services, answer in Simple JWT's shapes.

use axum::{
    Json,
    extract::{FromRequestParts, State, rejection::JsonRejection},
    http::{StatusCode, header, request::Parts},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiError,
    errors::{BadRequest, Detail, LogInRefused},
};
use crate::{
    domain::{ActivityView, DeviceView, UserView, fold},
    error::{AppError, FieldError, FieldErrors},
    server::{
        http::{
            Identity,
            client::{ClientAddr, RequestClient},
        },
        services::{
            accounts::{self, ProfileInput},
            activity, devices,
            factors::Challenge,
            sessions::{self, Access, Issued, LogIn},
        },
        state::AppState,
    },
};

pub(super) type Body<T> = Result<Json<T>, JsonRejection>;

/// `{}`: Simple JWT's answer when there is nothing to say.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

const REQUIRED: &str = "This field is required.";

/// A required string field: absent or null gets DRF's "This field is required."
pub(super) fn required(errors: &mut FieldErrors, field: &str, value: Option<String>) -> String {
    value.unwrap_or_else(|| {
        errors.add(field, FieldError::new(REQUIRED));
        String::new()
    })
}

/// The password of a sensitive change: the API always asks for it (the pages' recent-log-in
/// window is theirs).
pub(super) fn sudo_password(errors: &mut FieldErrors, password: Option<String>) -> String {
    let password = required(errors, "password", password);
    if password.is_empty() && errors.first("password").is_none() {
        errors.add("password", FieldError::new("This field may not be blank."));
    }
    password
}

/// The id in the path; anything but a whole number names nothing here (Django's `<int:id>`).
pub(super) fn id_of(
    path: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    path.map(|axum::extract::Path(id)| id)
        .map_err(|_| ApiError::NotFound)
}

pub(super) fn fields_or(errors: FieldErrors) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors.errors))
    }
}

/// Absent fields stay `None` in Rust so the answer can say "This field is required." in DRF's
/// words; the schema still marks them required.
#[derive(Deserialize, ToSchema)]
pub struct Register {
    #[schema(required = true, nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 150)]
    username: Option<String>,
    /// At least 8 characters and at most 1024 bytes (UTF-8), hard to guess.
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    password: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
}

#[utoipa::path(post, path = "/api/register", tag = "accounts", request_body = Register,
    responses((status = 201, description = "Account created", body = UserView),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Body<Register>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let Json(body) = body?;
    // Absent fields are validated as empty, so every field's problem is reported at once; the
    // absent ones then get DRF's wording.
    let missing: Vec<&str> = [
        ("email", body.email.is_none()),
        ("username", body.username.is_none()),
        ("password", body.password.is_none()),
    ]
    .into_iter()
    .filter_map(|(field, absent)| absent.then_some(field))
    .collect();
    let input = ProfileInput {
        email: body.email.unwrap_or_default(),
        username: body.username.unwrap_or_default(),
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
    };
    let password = body.password.unwrap_or_default();
    match accounts::sign_up(&state.services, &input, &password, client).await {
        Ok(user) => Ok((StatusCode::CREATED, Json(user.view()))),
        Err(AppError::Validation(mut fields)) => {
            for field in missing {
                fields
                    .errors
                    .insert(field.to_string(), vec![REQUIRED.to_string()]);
            }
            Err(ApiError::Fields(fields.errors))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct Obtain {
    username: Option<String>,
    email: Option<String>,
    #[schema(required = true, nullable = false, max_length = 1024)]
    password: Option<String>,
}

/// `{"access", "refresh"}`.
#[derive(Serialize, ToSchema)]
pub struct Pair {
    access: String,
    refresh: String,
}

impl From<Issued> for Pair {
    fn from(issued: Issued) -> Self {
        Self {
            access: issued.access.token.expose_secret().to_string(),
            refresh: issued.refresh.token.expose_secret().to_string(),
        }
    }
}

#[utoipa::path(post, path = "/api/token", tag = "tokens", request_body = Obtain,
    responses((status = 200, description = "A token pair", body = Pair),
              (status = 400, description = "Missing fields", body = BadRequest),
              (status = 401, description = "Wrong credentials or inactive account (`no_active_account`), or a right password of an account with a second factor (`mfa_required`, with the `mfa_token` for `POST /api/token/mfa`)", body = LogInRefused),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn obtain(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    body: Body<Obtain>,
) -> Result<Json<Pair>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let login = body.username.or(body.email);
    let login = required(&mut errors, "username", login);
    let password = required(&mut errors, "password", body.password);
    fields_or(errors)?;
    match sessions::login(&state.services, &login, &password, &client).await {
        // The service names the typed login `login`; this API calls it `username`.
        Err(AppError::Validation(mut fields)) => {
            if let Some(messages) = fields.errors.remove("login") {
                fields.errors.insert("username".into(), messages);
            }
            Err(ApiError::Fields(fields.errors))
        }
        Err(other) => Err(other.into()),
        Ok(LogIn::Done(_, issued)) => Ok(Json((*issued).into())),
        Ok(LogIn::SecondStep(challenge)) => Err(mfa_required(challenge)),
    }
}

/// The code step's 401, for a right password of an account with a second factor.
pub(super) fn mfa_required(challenge: Challenge) -> ApiError {
    ApiError::MfaRequired {
        mfa_token: challenge.token,
        expires_in: challenge.expires_in,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    #[schema(required = true, nullable = false)]
    refresh: Option<String>,
}

fn refresh_field(body: Body<RefreshBody>) -> Result<String, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let refresh = required(&mut errors, "refresh", body.refresh);
    fields_or(errors)?;
    Ok(refresh)
}

#[utoipa::path(post, path = "/api/token/refresh", tag = "tokens", request_body = RefreshBody,
    responses((status = 200, description = "A new pair; the presented refresh token is dead", body = Pair),
              (status = 400, description = "Missing fields", body = BadRequest),
              (status = 401, description = "Invalid, expired, used or revoked refresh token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail)))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Body<RefreshBody>,
) -> Result<Json<Pair>, ApiError> {
    let token = refresh_field(body)?;
    let (_, issued) = sessions::refresh(&state.services, &token, client).await?;
    Ok(Json(issued.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    #[schema(required = true, nullable = false)]
    token: Option<String>,
}

#[utoipa::path(post, path = "/api/token/verify", tag = "tokens", request_body = VerifyBody,
    responses((status = 200, description = "The token is good", body = Empty),
              (status = 400, description = "Missing fields", body = BadRequest),
              (status = 401, description = "The token is not good", body = Detail)))]
pub async fn verify(
    State(state): State<AppState>,
    body: Body<VerifyBody>,
) -> Result<Json<Empty>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let token = required(&mut errors, "token", body.token);
    fields_or(errors)?;
    match sessions::check_any(&state.services, &token).await? {
        Access::Valid(..) => Ok(Json(Empty {})),
        Access::Expired => Err(ApiError::TokenNotValid { expired: true }),
        Access::Invalid => Err(ApiError::TokenNotValid { expired: false }),
    }
}

#[utoipa::path(post, path = "/api/token/blacklist", tag = "tokens", request_body = RefreshBody,
    responses((status = 200, description = "The refresh token's session has ended", body = Empty),
              (status = 400, description = "Missing fields", body = BadRequest),
              (status = 401, description = "Not a valid refresh token", body = Detail)))]
pub async fn blacklist(
    State(state): State<AppState>,
    body: Body<RefreshBody>,
) -> Result<Json<Empty>, ApiError> {
    let token = refresh_field(body)?;
    sessions::revoke_by_refresh(&state.services, &token).await?;
    Ok(Json(Empty {}))
}

/// The user behind `Authorization: <type> <access token>`, a type from AUTH_HEADER_TYPES.
pub struct BearerUser(pub(super) Identity);

impl FromRequestParts<AppState> for BearerUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::NotAuthenticated)?;
        let (kind, token) = value
            .trim()
            .split_once(' ')
            .ok_or(ApiError::NotAuthenticated)?;
        if !state
            .settings
            .site
            .auth_header_types
            .iter()
            .any(|t| t == kind)
        {
            return Err(ApiError::NotAuthenticated);
        }
        match sessions::authenticate(&state.services, token.trim()).await? {
            Access::Valid(user, claims) => Ok(Self(Identity::new(*user, &claims))),
            Access::Expired => Err(ApiError::TokenNotValid { expired: true }),
            Access::Invalid => Err(ApiError::TokenNotValid { expired: false }),
        }
    }
}

#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = UserView),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn me(BearerUser(identity): BearerUser) -> Json<UserView> {
    Json(identity.user.view())
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateMe {
    #[schema(min_length = 1, max_length = 150)]
    username: Option<String>,
    /// Read-only: the address changes only through a link mailed to the new one (the
    /// profile page's "Change email address"). `/api/me` refuses another address (sending the
    /// current one is accepted); `/api/auth/user` ignores it, as dj-rest-auth does.
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 150)]
    first_name: Option<String>,
    #[schema(max_length = 150)]
    last_name: Option<String>,
}

impl UpdateMe {
    /// The profile with what was sent over what `user` has; the address stays the user's.
    pub(super) fn merged(self, user: &crate::server::db::users::User) -> ProfileInput {
        ProfileInput {
            username: self.username.unwrap_or_else(|| user.username.clone()),
            email: user.email.clone(),
            first_name: self.first_name.unwrap_or_else(|| user.first_name.clone()),
            last_name: self.last_name.unwrap_or_else(|| user.last_name.clone()),
        }
    }
}

#[utoipa::path(patch, path = "/api/me", tag = "accounts", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, description = "The updated user", body = UserView),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn update_me(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<UpdateMe>,
) -> Result<Json<UserView>, ApiError> {
    let Json(body) = body?;
    let user = &identity.user;
    if let Some(email) = body.email.clone().filter(|e| fold(e) != fold(&user.email)) {
        let mut errors = FieldErrors::default();
        errors.keep("email", &email);
        errors.add(
            "email",
            FieldError::new("The address changes only through a link mailed to the new one."),
        );
        return Err(AppError::Validation(errors).into());
    }
    let input = body.merged(user);
    Ok(Json(
        accounts::update_profile(&state.services, user, &input).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(required = true, nullable = false, max_length = 1024)]
    current_password: Option<String>,
    /// At least 8 characters and at most 1024 bytes (UTF-8), hard to guess.
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    new_password: Option<String>,
}

#[utoipa::path(post, path = "/api/me/password", tag = "accounts", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204, description = "Changed; the user's other sessions ended"),
              (status = 400, description = "Wrong current password or a weak new one", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn change_password(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let current = required(&mut errors, "current_password", body.current_password);
    let new = required(&mut errors, "new_password", body.new_password);
    fields_or(errors)?;
    accounts::change_password(
        &state.services,
        &identity.user,
        &identity.session_id,
        &current,
        &new,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"sessions_ended": n}`.
#[derive(Serialize, ToSchema)]
pub struct Ended {
    sessions_ended: u64,
}

#[utoipa::path(post, path = "/api/me/logout-all", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Every session of the user ended, this one included; their access and refresh tokens stop working at once", body = Ended),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn logout_everywhere(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
) -> Result<Json<Ended>, ApiError> {
    let sessions_ended = sessions::logout_everywhere(&state.services, identity.user.id).await?;
    Ok(Json(Ended { sessions_ended }))
}

#[derive(Deserialize, ToSchema)]
pub struct Deactivate {
    #[schema(required = true, nullable = false, max_length = 1024)]
    password: Option<String>,
}

#[utoipa::path(post, path = "/api/me/deactivate", tag = "accounts", security(("bearer" = [])), request_body = Deactivate,
    responses((status = 204, description = "The account is inactive and every session of it ended"),
              (status = 400, description = "Wrong password", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn deactivate(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<Deactivate>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = sudo_password(&mut errors, body.password);
    fields_or(errors)?;
    accounts::deactivate(
        &state.services,
        &identity.user,
        &identity.session_id,
        &password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/me", tag = "accounts", security(("bearer" = [])), request_body = Deactivate,
    responses((status = 204, description = "The account and everything stored with it are deleted; a last mail confirms it"),
              (status = 400, description = "Wrong password", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn delete_me(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<Deactivate>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = required(&mut errors, "password", body.password);
    fields_or(errors)?;
    accounts::delete(&state.services, &identity.user, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The live sessions of the account, this one marked `current`", body = [DeviceView]),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn my_sessions(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    Ok(Json(
        devices::list(&state.services, identity.user.id, &identity.session_id).await?,
    ))
}

#[utoipa::path(delete, path = "/api/me/sessions/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session's `id` from GET /api/me/sessions")),
    responses((status = 204, description = "That session is signed out"),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 404, description = "No live session of this account has that id", body = Detail)))]
pub async fn sign_out_session(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    if devices::sign_out(&state.services, identity.user.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(get, path = "/api/me/activity", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The account's security events of the last 90 days, newest first", body = [ActivityView]),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn my_activity(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
) -> Result<Json<Vec<ActivityView>>, ApiError> {
    Ok(Json(
        activity::list(&state.services, identity.user.id).await?,
    ))
}
