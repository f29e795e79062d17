//! Passkeys in the API: a person's own (register, list, rename, remove) and signing in with
//! one. WebAuthn's JSON is what browsers make: the options are read by
//! `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, and a
//! credential is sent back as its `toJSON()` gives it.

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    ApiError,
    errors::{BadRequest, Detail},
    factors::Password,
    handlers::{BearerUser, Body, Pair, fields_or, id_of, required, sudo_password},
};
use crate::{
    domain::PasskeyView,
    error::{FieldError, FieldErrors},
    server::{
        http::client::RequestClient,
        services::{
            passkeys::{self, Ceremony},
            sessions,
        },
        state::AppState,
    },
};

/// A ceremony begun: its token, to send back with the credential, and WebAuthn's options.
#[derive(Serialize, ToSchema)]
pub struct PasskeyOptions {
    /// Single use, for five minutes.
    ceremony: String,
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: Value,
}

impl From<Ceremony> for PasskeyOptions {
    fn from(ceremony: Ceremony) -> Self {
        let public_key = match ceremony.options {
            Value::Object(mut options) => options.remove("publicKey").unwrap_or_default(),
            other => other,
        };
        Self {
            ceremony: ceremony.token,
            public_key,
        }
    }
}

#[utoipa::path(post, path = "/api/me/passkeys/options", tag = "passkeys", security(("bearer" = [])), request_body = Password,
    responses((status = 200, description = "Options for `navigator.credentials.create()`; the ceremony finishes with `POST /api/me/passkeys`", body = PasskeyOptions),
              (status = 400, description = "Missing or wrong password, the most passkeys an account keeps, or passkeys not available on this site", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 429, description = "Too many attempts; try again after Retry-After seconds", body = Detail)))]
pub async fn registration_options(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    body: Body<Password>,
) -> Result<Json<PasskeyOptions>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let password = sudo_password(&mut errors, body.password);
    fields_or(errors)?;
    let ceremony = passkeys::begin_registration(
        &state.services,
        &identity.user,
        &identity.session_id,
        &password,
    )
    .await?;
    Ok(Json(ceremony.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewPasskey {
    /// From `POST /api/me/passkeys/options`.
    #[schema(required = true, nullable = false, max_length = 128)]
    ceremony: Option<String>,
    /// What to call it ("Work laptop"); "Passkey" when blank.
    #[schema(max_length = 64)]
    name: Option<String>,
    /// The new credential, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(required = true, nullable = false, value_type = Object)]
    credential: Option<Value>,
}

#[utoipa::path(post, path = "/api/me/passkeys", tag = "passkeys", security(("bearer" = [])), request_body = NewPasskey,
    responses((status = 201, description = "The passkey is registered; the owner is mailed", body = PasskeyView),
              (status = 400, description = "Missing fields, a ceremony that expired or was used, a credential that was refused or is registered already, or a bad name", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn register(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    RequestClient(client): RequestClient,
    body: Body<NewPasskey>,
) -> Result<(StatusCode, Json<PasskeyView>), ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let ceremony = required(&mut errors, "ceremony", body.ceremony);
    let credential = credential(&mut errors, body.credential);
    fields_or(errors)?;
    let passkey = passkeys::finish_registration(
        &state.services,
        &identity.user,
        &ceremony,
        body.name.as_deref().unwrap_or_default(),
        &credential,
        &client,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(passkey)))
}

#[utoipa::path(get, path = "/api/me/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, description = "The account's passkeys, oldest first", body = [PasskeyView]),
              (status = 401, description = "Missing, invalid or expired token", body = Detail)))]
pub async fn list(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    Ok(Json(
        passkeys::list(&state.services, identity.user.id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeyName {
    #[schema(required = true, nullable = false, max_length = 64)]
    name: Option<String>,
}

#[utoipa::path(patch, path = "/api/me/passkeys/{id}", tag = "passkeys", security(("bearer" = [])), request_body = PasskeyName,
    params(("id" = i64, Path, description = "The passkey's id")),
    responses((status = 200, description = "Renamed", body = PasskeyView),
              (status = 400, description = "A missing or bad name", body = BadRequest),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 404, description = "No such passkey of this account", body = Detail)))]
pub async fn rename(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    id: Result<Path<i64>, PathRejection>,
    body: Body<PasskeyName>,
) -> Result<Json<PasskeyView>, ApiError> {
    let id = id_of(id)?;
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let name = required(&mut errors, "name", body.name);
    fields_or(errors)?;
    Ok(Json(
        passkeys::rename(&state.services, &identity.user, id, &name).await?,
    ))
}

#[utoipa::path(delete, path = "/api/me/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The passkey's id")),
    responses((status = 204, description = "Removed; the owner is mailed"),
              (status = 401, description = "Missing, invalid or expired token", body = Detail),
              (status = 404, description = "No such passkey of this account", body = Detail)))]
pub async fn remove(
    State(state): State<AppState>,
    BearerUser(identity): BearerUser,
    RequestClient(client): RequestClient,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_of(id)?;
    passkeys::remove(&state.services, &identity.user, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/token/passkey/options", tag = "tokens",
    responses((status = 200, description = "Options for `navigator.credentials.get()` (any passkey of this site; no username needed); the ceremony finishes with `POST /api/token/passkey`", body = PasskeyOptions),
              (status = 400, description = "Passkeys are not available on this site", body = BadRequest),
              (status = 429, description = "Too many sign-ins begun from this address; try again after Retry-After seconds", body = Detail)))]
pub async fn sign_in_options(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
) -> Result<Json<PasskeyOptions>, ApiError> {
    Ok(Json(
        passkeys::begin_sign_in(&state.services, &client)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeySignIn {
    /// From `POST /api/token/passkey/options`.
    #[schema(required = true, nullable = false, max_length = 128)]
    ceremony: Option<String>,
    /// The assertion, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(required = true, nullable = false, value_type = Object)]
    credential: Option<Value>,
}

#[utoipa::path(post, path = "/api/token/passkey", tag = "tokens", request_body = PasskeySignIn,
    responses((status = 200, description = "A token pair whose access token says `amr: [\"hwk\"]` (a device-bound passkey) or `[\"swk\"]` (a synced one)", body = Pair),
              (status = 400, description = "Missing fields, a ceremony that expired or was used, or a passkey that was not accepted", body = BadRequest),
              (status = 401, description = "The account is deactivated", body = Detail),
              (status = 403, description = "The email address must be verified first", body = Detail)))]
pub async fn sign_in(
    State(state): State<AppState>,
    RequestClient(client): RequestClient,
    body: Body<PasskeySignIn>,
) -> Result<Json<Pair>, ApiError> {
    let Json(body) = body?;
    let mut errors = FieldErrors::default();
    let ceremony = required(&mut errors, "ceremony", body.ceremony);
    let credential = credential(&mut errors, body.credential);
    fields_or(errors)?;
    let (_, issued) =
        sessions::passkey_login(&state.services, &ceremony, &credential, &client).await?;
    Ok(Json(issued.into()))
}

/// A credential must be a JSON object.
fn credential(errors: &mut FieldErrors, value: Option<Value>) -> Value {
    match value {
        Some(value @ Value::Object(_)) => value,
        Some(_) => {
            errors.add(
                "credential",
                FieldError::new("Send the credential as the JSON object toJSON() gives."),
            );
            Value::Null
        }
        None => {
            errors.add("credential", FieldError::new("This field is required."));
            Value::Null
        }
    }
}
