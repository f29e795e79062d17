//! dj-rest-auth's endpoints (with `USE_JWT`), under `/api/auth/`: the request and response
//! shapes its mobile and SPA clients send and expect, on the same use cases as everything else.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiError,
    errors::{BadRequest, Detail, LogInRefused},
    handlers::{BearerUser, Body, Pair, UpdateMe, fields_or, mfa_required, required},
};
use crate::{
    error::{AppError, FieldError, FieldErrors},
    server::{
        auth::tokens::Proof,
        config::EmailVerification,
        db::users::User,
        http::client::{ClientAddr, RequestClient},
        now,
        services::{
            accounts::{self, ProfileInput},
            email, recovery,
            sessions::{self, LogIn},
        },
        state::AppState,
    },
};

const MISMATCH: &str = "The two password fields didn't match.";
const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// `{"detail": "..."}` for a success, as dj-rest-auth answers.
#[derive(Serialize, ToSchema)]
pub struct Message {
    detail: &'static str,
}

fn message(detail: &'static str) -> Json<Message> {
    Json(Message { detail })
}

/// dj-rest-auth's `UserDetailsSerializer`.
#[derive(Serialize, ToSchema)]
pub struct UserDetails {
    pk: i64,
    username: String,
    /// Read-only here: the address changes through a link mailed to the new one.
    email: String,
    first_name: String,
    last_name: String,
}

impl From<&User> for UserDetails {
    fn from(user: &User) -> Self {
        Self {
            pk: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
        }
    }
}

/// `{"access", "refresh", "user"}`, dj-rest-auth's JWT answer to a log-in.
#[derive(Serialize, ToSchema)]
pub struct JwtLogin {
    #[serde(flatten)]
    pair: Pair,
    user: UserDetails,
}

/// Moves the messages of field `from` to `to` (the service's names to dj-rest-auth's).
fn rename(mut fields: FieldErrors, moves: &[(&str, &str)]) -> FieldErrors {
    for (from, to) in moves {
        if let Some(messages) = fields.errors.remove(*from) {
            fields
                .errors
                .entry((*to).to_string())
                .or_default()
                .extend(messages);
        }
    }
    fields
}

fn fields_error(error: AppError, moves: &[(&str, &str)]) -> ApiError {
    match error {
        AppError::Validation(fields) => ApiError::Fields(rename(fields, moves).errors),
        other => other.into(),
    }
}

fn non_field(message: &str) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.add("non_field_errors", FieldError::new(message));
    ApiError::Fields(errors.errors)
}

#[derive(Deserialize, ToSchema)]
pub struct Login {
    username: Option<String>,
    email: Option<String>,
    #[schema(required = true, nullable = false, max_length = 1024)]
    password: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/login", tag = "dj-rest-auth", request_body = Login,
    responses((status = 200, description = "A token pair and the user", body = JwtLogin),
              (status = 400, description = "Missing fields, wrong credentials, inactive or (with EMAIL_VERIFICATION=mandatory) unverified account: `non_field_errors`", body = BadRequest),
              (status = 401, description = "A right password of an account with a second factor (`mfa_required`, with the `mfa_token` for `POST /api/token/mfa`)", body = LogInRefused),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn login(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    body: Body<Login>,
) -> Result<Json<JwtLogin>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let login = body
        .username
        .filter(|u| !u.trim().is_empty())
        .or(body.email);
    let password = required(&mut errors, "password", body.password);
    let Some(login) = login else {
        return Err(non_field(
            "Must include \"username\" or \"email\" and \"password\".",
        ));
    };
    fields_or(errors)?;
    match sessions::login(&state.services, &login, &password, &client).await {
        Ok(LogIn::Done(user, issued)) => Ok(Json(JwtLogin {
            pair: (*issued).into(),
            user: UserDetails::from(&*user),
        })),
        Ok(LogIn::SecondStep(challenge)) => Err(mfa_required(challenge)),
        Err(AppError::InvalidCredentials | AppError::Validation(_)) => {
            Err(non_field(BAD_CREDENTIALS))
        }
        Err(AppError::EmailNotVerified) => Err(non_field("E-mail is not verified.")),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct Logout {
    refresh: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "dj-rest-auth", request_body = Logout,
    responses((status = 200, description = "The refresh token's session has ended", body = Message),
              (status = 400, description = "A body that is not the expected JSON", body = BadRequest),
              (status = 401, description = "No refresh token, or not a valid one", body = Detail)))]
pub async fn logout(
    State(state): State<AppState>,
    body: Body<Logout>,
) -> Result<Json<Message>, ApiError> {
    let Json(body) = body?;
    let Some(refresh) = body.refresh else {
        return Err(ApiError::App(AppError::Unauthorized));
    };
    sessions::revoke_by_refresh(&state.services, &refresh).await?;
    Ok(message("Successfully logged out."))
}

#[utoipa::path(get, path = "/api/auth/user", tag = "dj-rest-auth", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = UserDetails),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn user(BearerUser(identity): BearerUser) -> Json<UserDetails> {
    Json(UserDetails::from(&identity.user))
}

#[utoipa::path(patch, path = "/api/auth/user", tag = "dj-rest-auth", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, description = "The updated user", body = UserDetails),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn update_user(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<UpdateMe>,
) -> Result<Json<UserDetails>, ApiError> {
    let Json(body) = body?;
    let user = &identity.user;
    let view = accounts::update_profile(&state.services, user, &body.merged(user)).await?;
    Ok(Json(UserDetails {
        pk: view.id,
        username: view.username,
        email: view.email,
        first_name: view.first_name,
        last_name: view.last_name,
    }))
}

#[utoipa::path(put, path = "/api/auth/user", tag = "dj-rest-auth", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, description = "The updated user", body = UserDetails),
              (status = 400, description = "Invalid fields", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn replace_user(
    state: State<AppState>,
    identity: BearerUser,
    body: Body<UpdateMe>,
) -> Result<Json<UserDetails>, ApiError> {
    update_user(state, identity, body).await
}

/// Two copies of a new password; `None` (with the errors recorded) unless both are there and
/// equal.
fn new_password(
    errors: &mut FieldErrors,
    first: (&str, Option<String>),
    second: (&str, Option<String>),
    mismatch_on: &str,
) -> Option<String> {
    let one = required(errors, first.0, first.1);
    let two = required(errors, second.0, second.1);
    if errors.is_empty() && one != two {
        errors.add(mismatch_on, FieldError::new(MISMATCH));
    }
    errors.is_empty().then_some(one)
}

#[derive(Deserialize, ToSchema)]
pub struct AuthPasswordChange {
    #[schema(required = true, nullable = false, max_length = 1024)]
    old_password: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    new_password1: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    new_password2: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/password/change", tag = "dj-rest-auth", security(("bearer" = [])), request_body = AuthPasswordChange,
    responses((status = 200, description = "Changed; the user's other sessions ended", body = Message),
              (status = 400, description = "Wrong old password, passwords that differ, or a weak one", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn change_password(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<AuthPasswordChange>,
) -> Result<Json<Message>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let old = required(&mut errors, "old_password", body.old_password);
    let new = new_password(
        &mut errors,
        ("new_password1", body.new_password1),
        ("new_password2", body.new_password2),
        "new_password2",
    );
    let Some(new) = new else {
        return Err(ApiError::Fields(errors.errors));
    };
    accounts::change_password(
        &state.services,
        &identity.user,
        &identity.session_id,
        &old,
        &new,
    )
    .await
    .map_err(|e| {
        fields_error(
            e,
            &[
                ("current_password", "old_password"),
                ("new_password", "new_password2"),
            ],
        )
    })?;
    Ok(message("New password has been saved."))
}

#[derive(Deserialize, ToSchema)]
pub struct EmailBody {
    #[schema(required = true, nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
}

fn email_field(body: Body<EmailBody>) -> Result<String, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let email = required(&mut errors, "email", body.email);
    fields_or(errors)?;
    Ok(email)
}

#[utoipa::path(post, path = "/api/auth/password/reset", tag = "dj-rest-auth", request_body = EmailBody,
    responses((status = 200, description = "The same answer whether or not an account has the address", body = Message),
              (status = 400, description = "Not an email address", body = BadRequest),
              (status = 429, description = "Too many requests for this address, account or client; try again after Retry-After seconds", body = Detail)))]
pub async fn password_reset(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Body<EmailBody>,
) -> Result<Json<Message>, ApiError> {
    let email = email_field(body)?;
    recovery::request(&state.services, &email, client).await?;
    Ok(message("Password reset e-mail has been sent."))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    /// The `uid` of the mailed link.
    #[schema(required = true, nullable = false, max_length = 64)]
    uid: Option<String>,
    /// The `token` of the mailed link.
    #[schema(required = true, nullable = false, max_length = 128)]
    token: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    new_password1: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    new_password2: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/password/reset/confirm", tag = "dj-rest-auth", request_body = ResetConfirm,
    responses((status = 200, description = "The password is set and every session of the account ended", body = Message),
              (status = 400, description = "A dead or mismatched link (`token`), passwords that differ or a weak one", body = BadRequest),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    body: Body<ResetConfirm>,
) -> Result<Json<Message>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let uid = required(&mut errors, "uid", body.uid);
    let token = required(&mut errors, "token", body.token);
    let new = new_password(
        &mut errors,
        ("new_password1", body.new_password1),
        ("new_password2", body.new_password2),
        "new_password2",
    );
    let Some(new) = new else {
        return Err(ApiError::Fields(errors.errors));
    };
    match recovery::reset(&state.services, &uid, &token, &new).await {
        Ok(_) => Ok(message("Password has been reset with the new password.")),
        Err(AppError::Validation(fields)) if fields.errors.contains_key("token") => {
            let mut errors = FieldErrors::default();
            errors.add("token", FieldError::new("Invalid value"));
            Err(ApiError::Fields(errors.errors))
        }
        Err(e) => Err(fields_error(e, &[("new_password", "new_password2")])),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct Registration {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 150)]
    username: Option<String>,
    #[schema(required = true, nullable = false, format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    password1: Option<String>,
    #[schema(required = true, nullable = false, min_length = 8, max_length = 1024)]
    password2: Option<String>,
}

/// Signed in at once, or (with `EMAIL_VERIFICATION=mandatory`) `{"detail"}` saying a
/// verification mail went out.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Registered {
    SignedIn(JwtLogin),
    VerifyFirst(Message),
}

#[utoipa::path(post, path = "/api/auth/registration", tag = "dj-rest-auth", request_body = Registration,
    responses((status = 201, description = "Created and signed in, or (verification mandatory) told to verify", body = Registered),
              (status = 400, description = "Invalid fields, a taken username or email, passwords that differ (`non_field_errors`)", body = BadRequest),
              (status = 429, description = "Too many sign-ups from this client; try again after Retry-After seconds", body = Detail),
              (status = 503, description = "Every password hasher busy; try again after Retry-After seconds", body = Detail)))]
pub async fn registration(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    body: Body<Registration>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let username = required(&mut errors, "username", body.username);
    let email = required(&mut errors, "email", body.email);
    let password = new_password(
        &mut errors,
        ("password1", body.password1),
        ("password2", body.password2),
        "non_field_errors",
    );
    let Some(password) = password else {
        return Err(ApiError::Fields(errors.errors));
    };
    let input = ProfileInput {
        username,
        email,
        ..Default::default()
    };
    let user = accounts::sign_up(&state.services, &input, &password, client.ip)
        .await
        .map_err(|e| fields_error(e, &[("password", "password1")]))?;
    if state.settings.accounts.email_verification == EmailVerification::Mandatory {
        return Ok((
            StatusCode::CREATED,
            Json(Registered::VerifyFirst(Message {
                detail: "Verification e-mail sent.",
            })),
        ));
    }
    let issued = sessions::start(&state.services, &user, &Proof::password(now()), &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered::SignedIn(JwtLogin {
            pair: issued.into(),
            user: UserDetails::from(&user),
        })),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyKey {
    /// The `key` of the mailed link.
    #[schema(required = true, nullable = false, max_length = 128)]
    key: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/registration/verify-email", tag = "dj-rest-auth", request_body = VerifyKey,
    responses((status = 200, description = "The address is verified (or, for an email-change link, changed)", body = Message),
              (status = 400, description = "Missing key", body = BadRequest),
              (status = 404, description = "No live link has that key", body = Detail)))]
pub async fn verify_email(
    State(state): State<AppState>,
    body: Body<VerifyKey>,
) -> Result<Json<Message>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let key = required(&mut errors, "key", body.key);
    fields_or(errors)?;
    match email::confirm(&state.services, &key).await {
        Ok(_) => Ok(message("ok")),
        Err(AppError::Validation(_)) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(post, path = "/api/auth/registration/resend-email", tag = "dj-rest-auth", request_body = EmailBody,
    responses((status = 200, description = "The same answer whether or not the address has an unverified account", body = Message),
              (status = 400, description = "Not an email address", body = BadRequest),
              (status = 429, description = "Too many requests for this address, account or client; try again after Retry-After seconds", body = Detail)))]
pub async fn resend_email(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Body<EmailBody>,
) -> Result<Json<Message>, ApiError> {
    let email = email_field(body)?;
    email::resend_verification_to(&state.services, &email, client).await?;
    Ok(message("ok"))
}
