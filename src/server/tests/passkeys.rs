//! Passkeys with a software authenticator (1Password's passkey-rs) speaking WebAuthn's JSON
//! to the API, as a browser would: registration, sign-in, a ceremony finished on another
//! instance, single use, another origin, user verification, a cloned key, rename and remove.

use passkey::{
    authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod},
    client::{Client, DefaultClientData},
    crypto::rust_crypto::RustCryptoBackend,
    types::{
        Passkey,
        ctap2::{Aaguid, Ctap2Error},
        webauthn::{CredentialCreationOptions, CredentialRequestOptions},
    },
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::helpers::{
    Backend, PASSWORD, SUPERUSER, TestApp, access_claims, member, on_both_backends, post,
    registered, spawn_app_with, spawn_peer_with, with_token,
};
use crate::server::{auth::tokens::Method as Amr, db::testing};

/// The origin the test servers accept passkeys from (`WEBAUTHN_ORIGINS`).
const ORIGIN: &str = "http://localhost:4000";

/// A person at the authenticator who always consents and is verified (a fingerprint) when
/// asked.
struct Person;

#[async_trait::async_trait]
impl UserValidationMethod for Person {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type Device =
    Client<Option<Passkey>, Person, RustCryptoBackend, public_suffix::PublicSuffixList, ()>;

/// An authenticator holding `key` (none: a new one), counting signatures.
fn device(key: Option<Passkey>) -> Device {
    let mut authenticator = Authenticator::new(Aaguid::new_empty(), key, Person, RustCryptoBackend);
    authenticator.set_make_credentials_with_signature_counter(true);
    Client::new(authenticator).allows_insecure_localhost(true)
}

async fn spawn(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[("WEBAUTHN_ORIGINS", ORIGIN)]).await
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = with_token(app, method, path, &format!("Bearer {bearer}"), body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registration options for `bearer`'s account: `(ceremony, publicKey)`.
async fn registration_options(app: &TestApp, bearer: &str) -> (String, Value) {
    let (status, options) = call(
        app,
        Method::POST,
        "/api/me/passkeys/options",
        bearer,
        Some(json!({ "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    (
        options["ceremony"].as_str().expect("ceremony").to_string(),
        options["publicKey"].clone(),
    )
}

/// What the device makes for these options at `origin` (its `toJSON()`).
async fn created(device: &mut Device, options: Value, origin: &str) -> Value {
    let request = CredentialCreationOptions {
        public_key: serde_json::from_value(options).expect("creation options"),
    };
    let credential = device
        .register(
            &Url::parse(origin).expect("origin"),
            request,
            DefaultClientData,
        )
        .await
        .expect("the authenticator makes a passkey");
    serde_json::to_value(credential).expect("JSON")
}

/// Registers a passkey from `device` on `bearer`'s account.
async fn register(app: &TestApp, bearer: &str, device: &mut Device, name: &str) -> Value {
    let (ceremony, options) = registration_options(app, bearer).await;
    let credential = created(device, options, ORIGIN).await;
    let (status, passkey) = call(
        app,
        Method::POST,
        "/api/me/passkeys",
        bearer,
        Some(json!({ "ceremony": ceremony, "name": name, "credential": credential })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{passkey}");
    passkey
}

/// Sign-in options: `(ceremony, publicKey)`.
async fn sign_in_options(app: &TestApp) -> (String, Value) {
    let (status, options) = post(app, "/api/token/passkey/options", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    (
        options["ceremony"].as_str().expect("ceremony").to_string(),
        options["publicKey"].clone(),
    )
}

/// What the device answers to these sign-in options at `origin`.
async fn asserted(device: &mut Device, options: Value, origin: &str) -> Value {
    let request = CredentialRequestOptions {
        public_key: serde_json::from_value(options).expect("request options"),
    };
    let credential = device
        .authenticate(
            &Url::parse(origin).expect("origin"),
            request,
            DefaultClientData,
        )
        .await
        .expect("the authenticator signs");
    serde_json::to_value(credential).expect("JSON")
}

/// A whole sign-in from `device` at `origin`: the status and the answer.
async fn sign_in(app: &TestApp, device: &mut Device, origin: &str) -> (StatusCode, Value) {
    sign_in_verifying(app, device, origin, "required").await
}

/// [`sign_in`] from a client that asks the authenticator for `user_verification` whatever
/// the server said.
async fn sign_in_verifying(
    app: &TestApp,
    device: &mut Device,
    origin: &str,
    user_verification: &str,
) -> (StatusCode, Value) {
    let (ceremony, mut options) = sign_in_options(app).await;
    options["userVerification"] = json!(user_verification);
    let credential = asserted(device, options, origin).await;
    post(
        app,
        "/api/token/passkey",
        json!({ "ceremony": ceremony, "credential": credential }),
    )
    .await
}

pub(super) async fn a_passkey_registers_on_one_instance_and_signs_in_on_another(backend: Backend) {
    let app = spawn(backend).await;
    let peer = spawn_peer_with(&app, &[("WEBAUTHN_ORIGINS", ORIGIN)]).await;
    let (access, _) = registered(&app, "pia").await;
    let mut laptop = device(None);
    // Begun on one instance, finished on the other: the ceremony lives in the database.
    let (ceremony, options) = registration_options(&app, &access).await;
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let credential = created(&mut laptop, options, ORIGIN).await;
    let body = json!({ "ceremony": ceremony, "name": "Laptop", "credential": credential });
    let (status, passkey) = call(
        &peer,
        Method::POST,
        "/api/me/passkeys",
        &access,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{passkey}");
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["last_used_at"].is_null());
    let (status, again) = call(&app, Method::POST, "/api/me/passkeys", &access, Some(body)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a ceremony is single use: {again}"
    );
    assert!(again["ceremony"][0].is_string(), "{again}");

    let (ceremony, options) = sign_in_options(&peer).await;
    let credential = asserted(&mut laptop, options, ORIGIN).await;
    let body = json!({ "ceremony": ceremony, "credential": credential });
    let (status, pair) = post(&app, "/api/token/passkey", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    // passkey-rs flags its keys backup-eligible, as a synced passkey is.
    assert_eq!(access_claims(&app, &pair["access"]).amr, [Amr::Swk]);
    let (status, replayed) = post(&app, "/api/token/passkey", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{replayed}");

    let (status, refreshed) = post(
        &app,
        "/api/token/refresh",
        json!({ "refresh": pair["refresh"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(
        access_claims(&app, &refreshed["access"]).amr,
        [Amr::Swk],
        "a refresh keeps it"
    );

    let (_, listed) = call(&app, Method::GET, "/api/me/passkeys", &access, None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert!(listed[0]["last_used_at"].is_i64(), "{listed}");
    let (_, status) = call(&app, Method::GET, "/api/me/mfa", &access, None).await;
    assert_eq!(status["passkeys"], 1, "{status}");
    let (_, activity) = call(&app, Method::GET, "/api/me/activity", &access, None).await;
    let kinds: Vec<&str> = activity
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"passkey_added"), "{kinds:?}");
    assert!(kinds.contains(&"passkey_used"), "{kinds:?}");
}

async fn another_origin_or_an_unverified_person_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let (access, _) = registered(&app, "quinn").await;
    let mut phone = device(None);
    let (ceremony, options) = registration_options(&app, &access).await;
    let phished = created(&mut phone, options, "http://localhost:4001").await;
    let (status, refused) = call(
        &app,
        Method::POST,
        "/api/me/passkeys",
        &access,
        Some(json!({ "ceremony": ceremony, "credential": phished })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["credential"][0].is_string(), "{refused}");

    register(&app, &access, &mut phone, "Phone").await;
    let (status, refused) = sign_in(&app, &mut phone, "http://localhost:4001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another origin: {refused}");
    assert!(refused["credential"][0].is_string(), "{refused}");

    // A client that tells the authenticator not to verify the person: one factor only.
    let (status, refused) = sign_in_verifying(&app, &mut phone, ORIGIN, "discouraged").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no user verification: {refused}"
    );

    let (status, pair) = sign_in(&app, &mut phone, ORIGIN).await;
    assert_eq!(status, StatusCode::OK, "the right origin: {pair}");
}

async fn a_cloned_authenticator_is_refused_by_its_counter(backend: Backend) {
    let app = spawn(backend).await;
    let (access, _) = registered(&app, "rory").await;
    let mut key = device(None);
    register(&app, &access, &mut key, "Security key").await;
    let mut copy = device(key.authenticator().store().clone());
    let (status, pair) = sign_in(&app, &mut key, ORIGIN).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    // The copy signs with the counter the original already used.
    let (status, refused) = sign_in(&app, &mut copy, ORIGIN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (_, activity) = call(&app, Method::GET, "/api/me/activity", &access, None).await;
    assert!(
        activity
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "passkey_refused"),
        "{activity}"
    );
    let (status, pair) = sign_in(&app, &mut key, ORIGIN).await;
    assert_eq!(status, StatusCode::OK, "the original goes on: {pair}");
}

pub(super) async fn passkeys_are_renamed_and_removed_by_their_owner_only(backend: Backend) {
    let app = spawn(backend).await;
    let (owner, _) = registered(&app, "sam").await;
    let (other, _) = registered(&app, "tess").await;
    let (status, refused) = call(
        &app,
        Method::POST,
        "/api/me/passkeys/options",
        &owner,
        Some(json!({ "password": "wrong password" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["password"][0].is_string(), "{refused}");
    let mut key = device(None);
    let passkey = register(&app, &owner, &mut key, "Old name").await;
    let path = format!("/api/me/passkeys/{}", passkey["id"]);
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        &other,
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::DELETE, &path, &other, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let long = "x".repeat(65);
    let (status, refused) = call(
        &app,
        Method::PATCH,
        &path,
        &owner,
        Some(json!({ "name": long })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, renamed) = call(
        &app,
        Method::PATCH,
        &path,
        &owner,
        Some(json!({"name": " New name "})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "New name");
    let (status, _) = call(&app, Method::DELETE, &path, &owner, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, refused) = sign_in(&app, &mut key, ORIGIN).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a removed passkey: {refused}"
    );
    let (_, listed) = call(&app, Method::GET, "/api/me/passkeys", &owner, None).await;
    assert_eq!(listed, json!([]));
}

async fn a_passkey_is_two_factors_for_staff_and_staff_can_remove_it(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("WEBAUTHN_ORIGINS", ORIGIN),
            ("REQUIRE_MFA_FOR_STAFF", "true"),
        ],
    )
    .await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    let (status, _) = call(&app, Method::GET, "/api/admin/users", &root, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a password alone");
    let mut key = device(None);
    register(&app, &root, &mut key, "Root key").await;
    let (status, pair) = sign_in(&app, &mut key, ORIGIN).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let root = pair["access"].as_str().expect("access").to_string();
    let (status, listed) = call(&app, Method::GET, "/api/admin/users", &root, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a passkey is both factors: {listed}"
    );

    let (uma, _) = registered(&app, "uma").await;
    let mut lost = device(None);
    register(&app, &uma, &mut lost, "Lost phone").await;
    let id = testing::user(&app.state.services.db, "uma").await.id;
    let path = format!("/api/admin/users/{id}/mfa");
    let (status, _) = call(&app, Method::DELETE, &path, &root, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, refused) = sign_in(&app, &mut lost, ORIGIN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (_, listed) = call(&app, Method::GET, "/api/me/passkeys", &uma, None).await;
    assert_eq!(listed, json!([]));
}

on_both_backends!(
    a_passkey_registers_on_one_instance_and_signs_in_on_another,
    another_origin_or_an_unverified_person_is_refused,
    a_cloned_authenticator_is_refused_by_its_counter,
    passkeys_are_renamed_and_removed_by_their_owner_only,
    a_passkey_is_two_factors_for_staff_and_staff_can_remove_it,
);
