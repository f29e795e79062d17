//! Second factors in the API: the code step of a log-in, and a person's own authenticator
//! app and recovery codes.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiError,
    errors::{BadRequest, Detail},
    handlers::{BearerUser, Body, Pair, fields_or, required, sudo_password},
};
use crate::{
    domain::FactorStatus,
    error::FieldErrors,
    server::{
        http::client::RequestClient,
        services::{factors, sessions},
        state::AppState,
    },
};

#[derive(Deserialize, ToSchema)]
pub struct MfaLogin {
    /// From the `mfa_required` answer of `POST /api/token`.
    #[schema(required = true, nullable = false, max_length = 128)]
    mfa_token: Option<String>,
    /// Six digits from the app, or a recovery code.
    #[schema(required = true, nullable = false, max_length = 64)]
    code: Option<String>,
}

#[utoipa::path(post, path = "/api/token/mfa", tag = "tokens", request_body = MfaLogin,
    responses((status = 200, description = "A token pair whose access token says `amr: [\"pwd\", \"otp\"]`", body = Pair),
              (status = 400, description = "Missing fields, a wrong or used `code`, or an `mfa_token` that expired, was used or is unknown", body = BadRequest),
              (status = 401, description = "The account was deactivated meanwhile", body = Detail),
              (status = 429, description = "Too many wrong codes; try again after Retry-After seconds", body = Detail)))]
pub async fn finish_login(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    body: Body<MfaLogin>,
) -> Result<Json<Pair>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let token = required(&mut errors, "mfa_token", body.mfa_token);
    let code = required(&mut errors, "code", body.code);
    fields_or(errors)?;
    let (_, issued) = sessions::finish_login(&state.services, &token, &code, &client).await?;
    Ok(Json(issued.into()))
}

#[utoipa::path(get, path = "/api/me/mfa", tag = "second factors", security(("bearer" = [])),
    responses((status = 200, description = "Which second factors are on", body = FactorStatus),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn status(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
) -> Result<Json<FactorStatus>, ApiError> {
    Ok(Json(
        factors::status(&state.services, identity.user.id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Password {
    #[schema(required = true, nullable = false, max_length = 1024)]
    pub(super) password: Option<String>,
}

/// `{"secret", "otpauth_uri"}`: what an authenticator app needs.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The key in base 32, to type into an app.
    secret: String,
    /// The `otpauth://` URI, for a QR code.
    otpauth_uri: String,
}

#[utoipa::path(post, path = "/api/me/mfa/totp", tag = "second factors", security(("bearer" = [])), request_body = Password,
    responses((status = 201, description = "A new key, pending until `POST /api/me/mfa/totp/confirm` sends a code from it; an app already on stays on until then", body = TotpEnrolment),
              (status = 400, description = "Missing or wrong password", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail)))]
pub async fn start_totp(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<Password>,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = sudo_password(&mut errors, body.password);
    fields_or(errors)?;
    let enrolment = factors::start_app(
        &state.services,
        &identity.user,
        &identity.session_id,
        &password,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolment {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Code {
    /// Six digits from the app.
    #[schema(required = true, nullable = false, max_length = 64)]
    code: Option<String>,
}

/// `{"recovery_codes": [...]}`: shown this once; each works once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/me/mfa/totp/confirm", tag = "second factors", security(("bearer" = [])), request_body = Code,
    responses((status = 200, description = "The app is on (replacing an earlier one); its ten recovery codes, shown only now", body = RecoveryCodes),
              (status = 400, description = "A wrong code, or nothing pending", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many wrong codes; try again after Retry-After seconds", body = Detail)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    RequestClient(client): RequestClient,
    body: Body<Code>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let code = required(&mut errors, "code", body.code);
    fields_or(errors)?;
    let recovery_codes =
        factors::confirm_app(&state.services, &identity.user, &code, &client).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[derive(Deserialize, ToSchema)]
pub struct RemoveTotp {
    #[schema(required = true, nullable = false, max_length = 1024)]
    password: Option<String>,
    /// A current code from the app, or a recovery code.
    #[schema(required = true, nullable = false, max_length = 64)]
    code: Option<String>,
}

#[utoipa::path(delete, path = "/api/me/mfa/totp", tag = "second factors", security(("bearer" = [])), request_body = RemoveTotp,
    responses((status = 204, description = "The app is off and its recovery codes gone; the owner is mailed"),
              (status = 400, description = "Missing or wrong password or code, or no app on", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    RequestClient(client): RequestClient,
    body: Body<RemoveTotp>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = sudo_password(&mut errors, body.password);
    let code = required(&mut errors, "code", body.code);
    fields_or(errors)?;
    factors::remove_app(
        &state.services,
        &identity.user,
        &identity.session_id,
        &password,
        &code,
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/me/mfa/recovery-codes", tag = "second factors", security(("bearer" = [])), request_body = Password,
    responses((status = 200, description = "Ten new recovery codes; the old ones no longer work", body = RecoveryCodes),
              (status = 400, description = "Missing or wrong password, or no app on", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    RequestClient(client): RequestClient,
    body: Body<Password>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = sudo_password(&mut errors, body.password);
    fields_or(errors)?;
    let recovery_codes = factors::regenerate_recovery_codes(
        &state.services,
        &identity.user,
        &identity.session_id,
        &password,
        &client,
    )
    .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}
